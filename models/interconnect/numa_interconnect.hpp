// NUMA interconnect: routes every transaction by physical address to its node's memory, adds the
// latency of the distance between the requester's socket and that node (an ACPI SLIT-like matrix), and
// queues remote traffic on a bandwidth-limited link per (socket, node) pair, so remote traffic can
// congest. A CPU-less node (NodeRange::cpus false) hangs off the socket nearest it: only the distance
// beyond that attachment adds latency, and only other sockets' requests take a link. LT: blocking transport passes through with the latency added to the annotation. AT: the
// interconnect buffers requests (END_REQ to the initiator at once), offers each to its node when it
// gets there (path latency later; one outstanding BEGIN_REQ per node socket) and passes responses
// back; a blocking call from a core or walker runs as a 4-phase transaction, waiting in SystemC time.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <unordered_map>
#include <vector>

#include "common/config.hpp"
#include "common/mode.hpp"
#include "common/stats.hpp"
#include "models/memory/memory_node.hpp"

namespace vmsim::interconnect {

struct InterconnectConfig {
  Duration latency = Duration::ns(5);
  Duration hop_latency = Duration::ns(40);
  uint64_t link_bandwidth_mbps = 25600;
  config::Matrix distance{{{10}}};
  Duration lt_link_window = Duration::ns(50);

  template <class V>
  void visit(V& v) {
    v("latency", latency, "time", "Added to every transaction's round trip (local or remote)");
    v("hop_latency", hop_latency, "time",
      "Added per 10 units of distance beyond the local 10: distance d adds (d - 10) / 10 * hop_latency");
    v("link_bandwidth_mbps", link_bandwidth_mbps, "MB/s",
      "Bandwidth of each remote (socket, node) link; transactions queue for it (0 = infinite)");
    v("distance", distance, "",
      "SLIT-like matrix, one row per socket, one column per node: 10 = local, larger = farther");
    v("lt_link_window", lt_link_window, "time",
      "lt: remote-link bandwidth is booked in windows of this length, so requests of cores that run "
      "apart under temporal decoupling see each other's load, not each other's skew (at: exact order)");
  }
  // Throws InputError naming the key: wrong shape, a distance below 10, no local node for a socket.
  void validate(const std::string& path, uint64_t sockets, uint64_t nodes) const;
};

class NumaInterconnect : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(NumaInterconnect);
  tlm_utils::multi_passthrough_target_socket<NumaInterconnect> in;    // initiators (core data, walkers)
  tlm_utils::multi_passthrough_initiator_socket<NumaInterconnect> out;  // one per node, in node order

  NumaInterconnect(const sc_core::sc_module_name& name, const InterconnectConfig& cfg, SimMode mode,
                   std::vector<mem::NodeRange> nodes, uint64_t sockets);
  ~NumaInterconnect() override;

  // Binds an initiator socket to `in` and records the socket it sits on; call in port order.
  template <class Socket>
  void connect(Socket& initiator, uint64_t socket) {
    initiator.bind(in);
    m_port_socket.push_back(static_cast<unsigned>(socket));
  }
  // Node holding `pa`, or -1.
  int node_of(uint64_t pa) const;
  // Round-trip latency added between socket s and node n, link queueing excluded.
  sc_core::sc_time path_latency(unsigned s, unsigned n) const { return m_path[s * m_nodes.size() + n]; }
  bool is_local(unsigned s, unsigned n) const { return m_cfg.distance.rows[s][n] == 10; }
  // The socket node n belongs to: the first at distance 10, or for a CPU-less node the first nearest one.
  unsigned home_socket(unsigned n) const { return static_cast<unsigned>(m_home[n]); }

 private:
  struct Route {
    int port = 0;
    unsigned node = 0;
    sc_core::sc_time start;
    bool blocking = false;
  };
  struct Queued {
    tlm::tlm_generic_payload* trans;
    sc_core::sc_time ready;  // absolute time the request reaches the node
  };
  struct PairStats;

  void b_transport(int port, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  tlm::tlm_sync_enum nb_transport_fw(int port, tlm::tlm_generic_payload& trans, tlm::tlm_phase& phase,
                                     sc_core::sc_time& t);
  tlm::tlm_sync_enum nb_transport_bw(int node, tlm::tlm_generic_payload& trans, tlm::tlm_phase& phase,
                                     sc_core::sc_time& t);
  unsigned transport_dbg(int port, tlm::tlm_generic_payload& trans);
  bool get_direct_mem_ptr(int port, tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);
  void invalidate_direct_mem_ptr(int node, sc_dt::uint64 start, sc_dt::uint64 end);

  // Latency of a request from `port` to `node` arriving at absolute time `arrival`, link queueing
  // included (and booked).
  sc_core::sc_time request_latency(int port, unsigned node, const tlm::tlm_generic_payload& trans,
                                   const sc_core::sc_time& arrival);
  tlm::tlm_sync_enum begin_request(int port, tlm::tlm_generic_payload& trans, sc_core::sc_time& t, bool blocking);
  tlm::tlm_sync_enum forward(unsigned node, tlm::tlm_generic_payload& trans, sc_core::sc_time& t);
  void forward_queued();
  // Notifies the forwarding method for the earliest queued request a free node socket can take.
  void schedule_forward();
  void finish(const Route& r, const sc_core::sc_time& end);  // latency statistics
  // AT: a blocking call run as a 4-phase transaction.
  void blocking_over_nb(int port, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  void address_error(tlm::tlm_generic_payload& trans);

  InterconnectConfig m_cfg;
  SimMode m_mode;
  std::vector<mem::NodeRange> m_nodes;
  uint64_t m_sockets;
  std::vector<unsigned> m_port_socket;
  std::vector<sc_core::sc_time> m_path;       // [socket * nodes + node]
  std::vector<sc_core::sc_time> m_link_free;  // [socket * nodes + node], remote pairs only
  std::vector<uint64_t> m_home;               // per node: home_socket()
  std::vector<bool> m_linked;                 // [socket * nodes + node]: the pair crosses an inter-socket link
  // LT: bytes booked per window of each remote link, from window index m_window_first[pair] on.
  std::vector<std::deque<uint64_t>> m_window_used;
  std::vector<uint64_t> m_window_first;
  uint64_t m_window_fs = 1;
  uint64_t m_window_bytes = 0;  // link capacity per window
  sc_core::sc_time book_windows(size_t pair, const sc_core::sc_time& arrival, uint64_t len);
  double m_fs_per_byte = 0;

  std::unordered_map<tlm::tlm_generic_payload*, Route> m_routes;
  std::vector<tlm::tlm_generic_payload*> m_busy;  // per node: BEGIN_REQ sent, END_REQ not yet seen
  std::vector<std::deque<Queued>> m_queue;        // per node: requests waiting for the node
  sc_core::sc_event m_forward_event;
  // AT blocking callers, per transaction (an initiator may have several in flight from several threads):
  // the caller's completion flag and event, on its stack.
  struct BlockingWait {
    bool* done;
    sc_core::sc_event* event;
  };
  std::unordered_map<tlm::tlm_generic_payload*, BlockingWait> m_blocking;
  void complete_blocking(tlm::tlm_generic_payload& trans, const sc_core::sc_time& t);

  stats::Group m_stats{*this};
  stats::Scalar m_requests{m_stats, "requests", "count", "Transactions routed"};
  stats::Scalar m_bytes{m_stats, "bytes", "bytes", "Bytes carried"};
  stats::Scalar m_local{m_stats, "local_requests", "count", "Transactions to a node at distance 10 (local)"};
  stats::Scalar m_remote{m_stats, "remote_requests", "count", "Transactions to a farther node (remote)"};
  stats::Scalar m_address_errors{m_stats, "address_errors", "count", "Transactions to an address outside every node"};
  std::vector<std::unique_ptr<PairStats>> m_pair;  // [socket * nodes + node]
};

}  // namespace vmsim::interconnect
