// A CXL link in front of one memory node (a CXL Type-3 memory expander): a TLM component between the
// interconnect and the node's controller. Every transaction crosses it twice: its request (a header, plus
// the data of a write) towards the device, its response (a header, plus the data of a read) back; each
// direction carries one message after another at the link's bandwidth and adds the link's latency
// (CxlLinkTiming). LT: blocking transport with the link's time added to the annotation (lanes booked in
// windows, as the interconnect's remote links). AT: requests are buffered (END_REQ at once), offered to the
// node when they have crossed (one BEGIN_REQ outstanding), responses taken from the node at once and handed
// to the interconnect when they have crossed back (one BEGIN_RESP outstanding). Functional: debug
// transport and DMI pass through (DMI latency grows by the round trip).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <unordered_map>

#include "common/mode.hpp"
#include "common/stats.hpp"
#include "models/memory/cxl_link_core.hpp"

namespace vmsim::mem {

class CxlLink : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(CxlLink);
  tlm_utils::simple_target_socket<CxlLink> in;      // from the interconnect (host side)
  tlm_utils::simple_initiator_socket<CxlLink> out;  // to the node's controller (device side)

  // lt_window: the lt mode's booking window (system.interconnect.lt_link_window).
  CxlLink(const sc_core::sc_module_name& name, const CxlLinkConfig& cfg, SimMode mode, Duration lt_window);

  // Round trip the link adds to an idle transaction of `len` data bytes (2 x latency + serialization).
  sc_core::sc_time idle_round_trip(bool is_write, uint64_t len) const;

 private:
  struct Pending {
    tlm::tlm_generic_payload* trans;
    uint64_t ready_fs;  // absolute time the message has crossed
  };
  struct Flight {
    uint64_t host_arrival_fs = 0;
    uint64_t device_arrival_fs = 0;
    uint64_t wait_fs = 0;
  };
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  tlm::tlm_sync_enum nb_transport_fw(tlm::tlm_generic_payload& trans, tlm::tlm_phase& phase, sc_core::sc_time& t);
  tlm::tlm_sync_enum nb_transport_bw(tlm::tlm_generic_payload& trans, tlm::tlm_phase& phase, sc_core::sc_time& t);
  unsigned transport_dbg(tlm::tlm_generic_payload& trans);
  bool get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);
  void invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end);
  // Books the request leg of a transaction offered at `host_fs`; returns when it reaches the device.
  uint64_t request(tlm::tlm_generic_payload& trans, uint64_t host_fs, Flight& f);
  // Books the response leg of a transaction the device answered at `device_fs`; returns when it reaches
  // the host, and records the transaction's statistics.
  uint64_t response(tlm::tlm_generic_payload& trans, uint64_t device_fs, const Flight& f);
  // AT: the device answered `trans` at `device_fs` (a BEGIN_RESP, or a completed BEGIN_REQ).
  void device_done(tlm::tlm_generic_payload& trans, uint64_t device_fs);
  void send_requests();   // AT: SC_METHOD offering crossed requests to the node
  void send_responses();  // AT: SC_METHOD handing crossed responses to the interconnect
  static void wake(sc_core::sc_event& e, uint64_t at_fs);

  CxlLinkTiming m_timing;
  SimMode m_mode;
  std::unordered_map<tlm::tlm_generic_payload*, Flight> m_flights;
  std::deque<Pending> m_down;  // AT: requests crossing (ready times in order)
  std::deque<Pending> m_up;    // AT: responses crossing
  tlm::tlm_generic_payload* m_node_busy = nullptr;  // BEGIN_REQ sent to the node, END_REQ not seen
  bool m_host_busy = false;  // BEGIN_RESP sent to the interconnect, END_RESP not seen
  sc_core::sc_event m_down_event;
  sc_core::sc_event m_up_event;

  stats::Group m_stats{*this};
  stats::Scalar m_transfers{m_stats, "transfers", "count", "Transactions carried (each a request and a response)"};
  stats::Scalar m_reads{m_stats, "reads", "count", "Read transactions"};
  stats::Scalar m_writes{m_stats, "writes", "count", "Write transactions"};
  stats::Scalar m_data_bytes{m_stats, "data_bytes", "bytes", "Data bytes carried (reads and writes)"};
  stats::Scalar m_bytes_down{m_stats, "bytes_to_device", "bytes",
                             "Bytes sent towards the device: headers and write data"};
  stats::Scalar m_bytes_up{m_stats, "bytes_to_host", "bytes", "Bytes sent towards the host: headers and read data"};
  stats::Scalar m_busy_down{m_stats, "busy_to_device", "ps", "Time the host-to-device direction was transferring"};
  stats::Scalar m_busy_up{m_stats, "busy_to_host", "ps", "Time the device-to-host direction was transferring"};
  stats::Average m_queue_wait{m_stats, "queue_wait", "ns",
                              "Per transaction: time its request and its response waited for the link (average)"};
  stats::Average m_added{m_stats, "added_latency", "ns",
                         "Per transaction: time spent on the link, both ways: 2 x latency, serialization and "
                         "queueing (average)"};
};

}  // namespace vmsim::mem
