// Physical memory of one NUMA node: a TLM-2.0 target in front of the cycle-level DRAM timing core of
// models/dram (or a fixed latency + bandwidth model), holding the node's contents in the system's
// sparse store. Blocking transport serves the LT mode, the non-blocking 4-phase base protocol the AT
// mode, DMI the functional mode; no process runs per cycle.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <systemc>
#include <type_traits>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>
#include <vector>

#include "common/config.hpp"
#include "common/mode.hpp"
#include "common/stats.hpp"
#include "models/dram/dram_config.hpp"
#include "models/dram/memory_system.hpp"
#include "models/memory/cxl_link.hpp"
#include "models/memory/sparse_store.hpp"

namespace vmsim::mem {

enum class MemoryModel { Dram, Fixed };

// How a node's memory controller reaches the sockets: on a socket's own memory interface (DDR channels,
// on-package HBM) or behind a CXL link (a Type-3 memory expander).
enum class NodeAttach { Direct, Cxl };

// A node's memory tier for the firmware's tiering (firmware.tiering): fast memory is where pages are placed
// and promoted to, slow memory where cold pages are demoted. auto: CXL-attached nodes are slow, every other
// node (DDR or HBM on a socket's own interface) fast, as Linux puts dax/kmem CXL memory below the DRAM tier.
enum class NodeTier { Auto, Fast, Slow };

// One NUMA node: its physical address range (an ACPI SRAT memory-affinity entry), whether cores sit on it,
// how it is attached and the DRAM behind its controller.
struct NodeConfig {
  config::Address base{0};
  Bytes size{4ull << 30};
  bool cpus = true;
  NodeAttach attach = NodeAttach::Direct;
  NodeTier tier = NodeTier::Auto;
  dram::DramConfig dram;
  CxlLinkConfig cxl;

  template <class V>
  void visit(V& v) {
    v("base", base, "address",
      "First physical address of the node; 0 on a node after the first means right after the previous node");
    v("size", size, "bytes", "Capacity of the node (at most the DRAM organisation's capacity)");
    v("cpus", cpus, "",
      "Whether the node has cores (is local to a socket). false: a memory-only (CPU-less) NUMA node, as Linux "
      "presents CXL expanders and flat-mode HBM: at distance > 10 from every socket, attached to the socket "
      "nearest it in system.interconnect.distance; first-touch never places pages there");
    v("attach", attach, "",
      "direct: the controller sits on a socket's memory interface (DDR channels, on-package HBM); cxl: behind "
      "a CXL link (a Type-3 memory expander; needs cpus: false), timed by `cxl`");
    v("tier", tier, "",
      "Memory tier for firmware.tiering: fast (pages are placed and promoted here), slow (cold pages are demoted "
      "here) or auto (attach cxl: slow, else fast)");
    v.section("dram", dram,
              "dram: the DRAM behind this node's controller; starts as system.memory.dram, so a node names only "
              "what differs (e.g. {preset: HBM2-2000})");
    v.section("cxl", cxl, "attach cxl: the CXL link between the node's socket and its controller");
  }
};

// A node's resolved range [base, base + size) and whether cores sit on it.
struct NodeRange {
  uint64_t base = 0;
  uint64_t size = 0;
  bool cpus = true;
  bool slow = false;  // the resolved tier (NodeConfig::tier)
  uint64_t end() const { return base + size; }
};

struct MemoryConfig {
  MemoryModel model = MemoryModel::Dram;
  Duration latency = Duration::ns(60);
  uint64_t bandwidth_mbps = 12800;  // MB/s (decimal megabytes per second)
  bool bank_stats = true;
  dram::DramConfig dram;
  std::vector<NodeConfig> nodes{NodeConfig{}};

  template <class V>
  void visit(V& v) {
    v("model", model, "", "Timing of every node: dram (cycle-level controller and devices) or fixed");
    v("latency", latency, "time", "fixed: latency added to every transaction");
    v("bandwidth_mbps", bandwidth_mbps, "MB/s",
      "fixed: transfer rate, a transaction of N bytes also takes N / bandwidth (0 = infinite)");
    v("bank_stats", bank_stats, "", "dram: keep statistics per bank besides per channel");
    v.section("dram", dram,
              "dram: the DRAM behind every node's memory controller (same keys as `vmsim dram`); a node may "
              "override it (nodes[].dram)");
    // A node's DRAM starts as the section above: in the list's prototype, and in the default list when
    // the file lists no nodes.
    if constexpr (std::is_same_v<V, config::Loader>) {
      for (NodeConfig& n : nodes) n.dram = dram;
    }
    NodeConfig prototype;
    prototype.dram = dram;
    v.list("nodes", nodes, "NUMA nodes in physical-address order; together they tile [0, total)", prototype);
  }
  // Throws InputError naming the key: overlapping or non-contiguous ranges, a node larger than its DRAM
  // organisation, a bad DRAM table, a CXL node with cores, a bad CXL link.
  void validate(const std::string& path) const;
  // Node ranges with automatic bases resolved (no validation).
  std::vector<NodeRange> ranges() const;
  uint64_t total_bytes() const;
  // True when the nodes are not all alike (a DRAM preset of their own, a CPU-less or a CXL node): the
  // summary then lists them.
  bool heterogeneous() const;
};

class MemoryNode : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(MemoryNode);
  tlm_utils::simple_target_socket<MemoryNode> in;

  // `store` holds all of physical memory and is shared by the nodes; this node serves [range).
  MemoryNode(const sc_core::sc_module_name& name, unsigned index, NodeRange range, const MemoryConfig& cfg,
             SimMode mode, SparseStore& store);
  ~MemoryNode() override;

  unsigned index() const { return m_index; }
  const NodeRange& range() const { return m_range; }
  bool contains(uint64_t pa) const { return pa >= m_range.base && pa < m_range.end(); }
  // Grant direct pointers in the lt and at modes too: for a system whose caches charge every access's time
  // themselves and move contents through DMI (only line fills and write-backs are timed transactions).
  void allow_dmi(bool on) { m_dmi_timed = on; }
  // Revokes DMI grants of [start, end] (called when the store creates or releases a page of this node).
  void invalidate_dmi(uint64_t start, uint64_t end) { in->invalidate_direct_mem_ptr(start, end); }
  // End of run: extends occupancy statistics to now and runs the timing checker's final checks.
  // Returns the checker's violation count (0 with the checker off or the fixed model).
  uint64_t finish();
  std::string violation_report() const;
  // The DRAM timing core (nullptr for the fixed model), for tests.
  dram::MemorySystem* dram() { return m_dram.get(); }

 private:
  struct Txn;  // a transaction in the AT path
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  tlm::tlm_sync_enum nb_transport_fw(tlm::tlm_generic_payload& trans, tlm::tlm_phase& phase, sc_core::sc_time& t);
  unsigned transport_dbg(tlm::tlm_generic_payload& trans);
  bool get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);
  // Moves the data; false (and an error response) for an address outside the node or byte enables.
  bool access(tlm::tlm_generic_payload& trans);
  void count(const tlm::tlm_generic_payload& trans);
  // LT: runs the DRAM core for one transaction arriving at absolute time `arrival`; returns the time at
  // which it completes (reads: last data beat; writes: accepted by the write queue).
  sc_core::sc_time dram_blocking(uint64_t address, unsigned length, bool is_write, sc_core::sc_time arrival);
  // AT: the controller process, woken by arrivals, END_RESP and the DRAM core's next event.
  void at_process();
  bool enqueue_line(Txn& t, dram::Cycle now);
  void send_responses();
  dram::Cycle cycle_ceil(const sc_core::sc_time& t) const {
    return (t.value() + m_tck_fs - 1) / m_tck_fs;
  }
  sc_core::sc_time time_of(dram::Cycle c) const { return sc_core::sc_time::from_value(c * m_tck_fs); }
  void build_dram_stats();

  unsigned m_index;
  NodeRange m_range;
  MemoryConfig m_cfg;
  dram::DramConfig m_dram_cfg;  // this node's DRAM (system.memory.nodes[index].dram)
  SimMode m_mode;
  bool m_dmi_timed = false;  // grant DMI in the timed modes too (allow_dmi)
  SparseStore& m_store;
  sc_core::sc_time m_latency;
  double m_fs_per_byte = 0;

  std::unique_ptr<dram::MemorySystem> m_dram;
  uint64_t m_tck_fs = 1;
  uint64_t m_line = 64;
  std::vector<dram::Completion> m_done;
  uint64_t m_next_id = 0;
  dram::Cycle m_last_cycle = 0;  // latest completion seen
  std::vector<uint32_t> m_outstanding;  // LT: reads of the current transaction per channel

  // AT state.
  struct Txn {
    tlm::tlm_generic_payload* trans = nullptr;
    uint64_t next_line = 0;   // node-local address of the next line to enqueue
    uint32_t lines_left = 0;  // lines not yet enqueued
    uint32_t outstanding = 0; // reads enqueued and not completed
    dram::Cycle arrival = 0;
    bool is_write = false;
  };
  std::vector<Txn> m_txns;              // slots, indexed by DRAM request id (the slot number)
  std::vector<uint32_t> m_free_txns;
  std::deque<uint32_t> m_arrivals;      // transactions waiting to enter the controller, in order
  std::deque<uint32_t> m_responses;     // transactions ready for BEGIN_RESP, in order
  bool m_resp_busy = false;             // BEGIN_RESP sent, END_RESP not yet received
  sc_core::sc_event m_wake;

  stats::Group m_stats{*this};
  stats::Scalar m_reads{m_stats, "reads", "count", "Read transactions"};
  stats::Scalar m_writes{m_stats, "writes", "count", "Write transactions"};
  stats::Scalar m_bytes_read{m_stats, "bytes_read", "bytes", "Bytes read"};
  stats::Scalar m_bytes_written{m_stats, "bytes_written", "bytes", "Bytes written"};
  stats::Scalar m_dmi_grants{m_stats, "dmi_grants", "count", "Direct-memory pointers granted (functional mode)"};
  stats::Histogram m_node_latency{m_stats, "latency", "ns",
                             "Transaction latency inside the node: arrival to last data beat (reads) or to "
                             "acceptance by the write queue (writes)",
                             10, 64};
  // Per channel (and bank) DRAM statistics: built in the constructor for the dram model.
  struct ChannelGroup;
  std::vector<std::unique_ptr<ChannelGroup>> m_channel_stats;
  std::unique_ptr<stats::Group> m_dram_group;
};

}  // namespace vmsim::mem

template <>
struct vmsim::config::EnumNames<vmsim::mem::MemoryModel> {
  static const std::vector<std::pair<vmsim::mem::MemoryModel, const char*>>& table() {
    static const std::vector<std::pair<vmsim::mem::MemoryModel, const char*>> t = {
        {vmsim::mem::MemoryModel::Dram, "dram"}, {vmsim::mem::MemoryModel::Fixed, "fixed"}};
    return t;
  }
};

template <>
struct vmsim::config::EnumNames<vmsim::mem::NodeTier> {
  static const std::vector<std::pair<vmsim::mem::NodeTier, const char*>>& table() {
    static const std::vector<std::pair<vmsim::mem::NodeTier, const char*>> t = {
        {vmsim::mem::NodeTier::Auto, "auto"}, {vmsim::mem::NodeTier::Fast, "fast"}, {vmsim::mem::NodeTier::Slow, "slow"}};
    return t;
  }
};

template <>
struct vmsim::config::EnumNames<vmsim::mem::NodeAttach> {
  static const std::vector<std::pair<vmsim::mem::NodeAttach, const char*>>& table() {
    static const std::vector<std::pair<vmsim::mem::NodeAttach, const char*>> t = {
        {vmsim::mem::NodeAttach::Direct, "direct"}, {vmsim::mem::NodeAttach::Cxl, "cxl"}};
    return t;
  }
};
