// Physical memory: a TLM-2.0 target with a sparse backing store and a fixed-latency +
// bandwidth timing model (the cycle-level DRAM of issue B replaces the timing, not the storage).
#pragma once

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "models/common/config.hpp"
#include "models/common/stats.hpp"
#include "models/memory/sparse_store.hpp"

namespace vmsim::mem {

struct MemoryConfig {
  Bytes size{4ull << 30};
  Duration latency = Duration::ns(60);
  uint64_t bandwidth_mbps = 12800;  // MB/s (decimal megabytes per second)

  template <class V>
  void visit(V& v) {
    v("size", size, "bytes", "Physical memory capacity; addresses [0, size) are backed");
    v("latency", latency, "time", "Fixed access latency added to every transaction");
    v("bandwidth_mbps", bandwidth_mbps, "MB/s",
      "Transfer rate: a transaction of N bytes also takes N / bandwidth (0 = infinite)");
  }
  void validate(const std::string& path) const;
};

class PhysicalMemory : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<PhysicalMemory> in;

  PhysicalMemory(const sc_core::sc_module_name& name, const MemoryConfig& cfg);

  // Direct access for the golden checker and tests (no timing, no statistics).
  const SparseStore& store() const { return m_store; }
  SparseStore& store() { return m_store; }
  uint64_t size() const { return m_cfg.size.value; }

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  unsigned transport_dbg(tlm::tlm_generic_payload& trans);
  // Grants a direct pointer to the 4 KiB page containing the address, with the configured latency:
  // read-write to the page's host memory if it exists or the request is a write, else read-only to a
  // shared zero page. Grants are revoked when a page's host memory is created or released.
  bool get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);
  bool access(tlm::tlm_generic_payload& trans);

  MemoryConfig m_cfg;
  SparseStore m_store;
  sc_core::sc_time m_latency;
  double m_fs_per_byte = 0;

  stats::Group m_stats{*this};
  stats::Scalar m_reads{m_stats, "reads", "count", "Read transactions"};
  stats::Scalar m_writes{m_stats, "writes", "count", "Write transactions"};
  stats::Scalar m_bytes_read{m_stats, "bytes_read", "bytes", "Bytes read"};
  stats::Scalar m_bytes_written{m_stats, "bytes_written", "bytes", "Bytes written"};
  stats::Scalar m_dmi_grants{m_stats, "dmi_grants", "count", "Direct-memory pointers granted (functional mode)"};
  stats::Formula m_resident{m_stats, "resident_pages", "pages",
                            "4 KiB pages of modeled memory holding non-zero data (host memory in use)",
                            [this] { return static_cast<double>(m_store.resident_pages()); }, true};
};

}  // namespace vmsim::mem
