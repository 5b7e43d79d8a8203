// Swap block device: a TLM-2.0 target over storage::SwapMedium (contents + timing). Blocking transport
// (LT) annotates the request's completion, the 4-phase base protocol (AT) answers END_REQ at admission
// (backpressure beyond the queue depth) and BEGIN_RESP at completion, debug transport moves data untimed.
// Addresses are device byte offsets.
#pragma once

#include <cstdint>
#include <deque>
#include <systemc>
#include <tlm>
#include <tlm_utils/peq_with_cb_and_phase.h>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <unordered_map>
#include <vector>

#include "common/config.hpp"
#include "common/stats.hpp"
#include "models/storage/swap_device_core.hpp"

namespace vmsim::storage {

class SwapDevice : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(SwapDevice);
  // One binding per initiator (every core's `io` socket); responses go back on the binding a request came in.
  tlm_utils::multi_passthrough_target_socket<SwapDevice> in;

  // Every transport works in every mode; the functional mode's cores use debug transport only.
  SwapDevice(const sc_core::sc_module_name& name, const SwapDeviceConfig& cfg);

  SwapMedium& medium() { return m_medium; }
  const SwapDeviceConfig& config() const { return m_cfg; }

 private:
  void b_transport(int id, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  tlm::tlm_sync_enum nb_transport_fw(int id, tlm::tlm_generic_payload& trans, tlm::tlm_phase& phase,
                                     sc_core::sc_time& t);
  unsigned transport_dbg(int id, tlm::tlm_generic_payload& trans);
  // Checks the payload (range, byte enables, streaming width); sets an error response and returns false.
  bool check(tlm::tlm_generic_payload& trans);
  // Moves the data and charges the timing core; returns the request's times.
  BlockTimes serve(tlm::tlm_generic_payload& trans, uint64_t arrival_fs);
  void peq_cb(tlm::tlm_generic_payload& trans, const tlm::tlm_phase& phase);
  // Sends queued BEGIN_RESPs on every binding whose response channel is free.
  void send_responses();
  static sc_core::sc_time fs(uint64_t v) { return sc_core::sc_time::from_value(v); }

  SwapDeviceConfig m_cfg;
  SwapMedium m_medium;
  tlm_utils::peq_with_cb_and_phase<SwapDevice> m_peq;
  std::unordered_map<tlm::tlm_generic_payload*, int> m_binding;  // AT: binding of each open transaction
  struct Port {
    std::deque<tlm::tlm_generic_payload*> responses;  // completed, waiting for the response channel
    bool busy = false;                                 // BEGIN_RESP sent, END_RESP not yet received
  };
  std::vector<Port> m_ports;
  sc_core::sc_event m_resp_event;

  stats::Group m_stats{*this};
  stats::Scalar m_reads{m_stats, "reads", "count", "Read requests"};
  stats::Scalar m_writes{m_stats, "writes", "count", "Write requests"};
  stats::Scalar m_bytes_read{m_stats, "bytes_read", "bytes", "Bytes read from the device"};
  stats::Scalar m_bytes_written{m_stats, "bytes_written", "bytes", "Bytes written to the device"};
  stats::Scalar m_debug{m_stats, "debug_accesses", "count", "Untimed (debug transport) accesses"};
  stats::Histogram m_latency;
  stats::Average m_queue_wait{m_stats, "queue_wait", "ns",
                              "Average time a request waited in the host queue for a command slot (queue depth)"};
  stats::Scalar m_seeks{m_stats, "seeks", "count", "hdd: requests that paid a seek and rotational latency"};
  stats::Counter m_busy{m_stats, "busy_time", "ns", "Time with at least one command in the device",
                        [this] { return m_medium.timing().busy_fs() / 1000000; }};
  stats::Ratio m_utilization{m_stats, "utilization", "ratio",
                             "busy_time / simulated time up to the device's last completion",
                             [this] { return static_cast<double>(m_medium.timing().busy_fs()); },
                             [this] { return static_cast<double>(m_medium.timing().last_done_fs()); }};
  stats::Formula m_stored{m_stats, "stored_pages", "pages", "4 KiB pages of the device holding non-zero data",
                          [this] { return static_cast<double>(m_medium.stored_pages()); }, true};
};

}  // namespace vmsim::storage
