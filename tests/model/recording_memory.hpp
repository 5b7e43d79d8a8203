// Test target: physical memory that records the arrival time of every timed transaction.
#pragma once

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include <vector>

#include "common/pte.hpp"
#include "models/memory/sparse_store.hpp"

namespace vmsim::test {

struct Arrival {
  uint64_t address;
  sc_core::sc_time time;  // sc_time_stamp() + annotated delay when the transaction arrived
  bool write;
};

class RecordingMemory : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<RecordingMemory> in{"in"};
  std::vector<Arrival> log;
  mem::SparseStore store;
  sc_core::sc_time latency;

  RecordingMemory(const sc_core::sc_module_name& name, sc_core::sc_time lat) : sc_core::sc_module(name), latency(lat) {
    in.register_b_transport(this, &RecordingMemory::b_transport);
    in.register_transport_dbg(this, &RecordingMemory::transport_dbg);
  }
  void poke64(uint64_t pa, uint64_t v) { store.write(PhysAddr{pa}, reinterpret_cast<uint8_t*>(&v), 8); }
  uint64_t peek64(uint64_t pa) const {
    uint64_t v = 0;
    store.read(PhysAddr{pa}, reinterpret_cast<uint8_t*>(&v), 8);
    return v;
  }

 private:
  void b_transport(tlm::tlm_generic_payload& t, sc_core::sc_time& delay) {
    log.push_back({t.get_address(), sc_core::sc_time_stamp() + delay, t.is_write()});
    transport_dbg(t);
    delay += latency;
  }
  unsigned transport_dbg(tlm::tlm_generic_payload& t) {
    if (t.is_read()) store.read(PhysAddr{t.get_address()}, t.get_data_ptr(), t.get_data_length());
    if (t.is_write()) store.write(PhysAddr{t.get_address()}, t.get_data_ptr(), t.get_data_length());
    t.set_response_status(tlm::TLM_OK_RESPONSE);
    return t.get_data_length();
  }
};

// Builds 4-level tables for one 4 KiB page: PML4 at 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000.
inline void map_one_page(RecordingMemory& m, uint64_t va, uint64_t pfn, uint64_t leaf_flags) {
  constexpr uint64_t kT = pte_bit::kPresent | pte_bit::kWritable | pte_bit::kUser;
  VirtAddr v{va};
  m.poke64(0x1000 + 8 * pt_index(v, 4), Pte::make(Pfn{2}, kT).raw());
  m.poke64(0x2000 + 8 * pt_index(v, 3), Pte::make(Pfn{3}, kT).raw());
  m.poke64(0x3000 + 8 * pt_index(v, 2), Pte::make(Pfn{4}, kT).raw());
  m.poke64(0x4000 + 8 * pt_index(v, 1), Pte::make(Pfn{pfn}, leaf_flags | pte_bit::kPresent).raw());
}

}  // namespace vmsim::test
