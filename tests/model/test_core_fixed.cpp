// Model test: a core and its MMU run a workload with no operating system, over the fixed firmware
// (firmware.kind: fixed): every first touch of a page traps, the fixed handler maps a zeroed frame
// through the HAL (timed zeroing and PTE writes), the walker finds it on the retry, the golden checker
// verifies every translation.
#include <gtest/gtest.h>

#include <tlm_utils/simple_target_socket.h>

#include "common/stats.hpp"
#include "firmware/fixed/fixed_firmware.hpp"
#include "models/cpu/core.hpp"
#include "tests/model/tlm_test_util.hpp"
#include "models/memory/sparse_store.hpp"
#include "models/workload/generators.hpp"

namespace vmsim {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

// Flat memory with a fixed latency and two ports (the core's data port and its walker).
class TwoPortMemory : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<TwoPortMemory> data_in{"data_in"};
  tlm_utils::simple_target_socket<TwoPortMemory> walk_in{"walk_in"};
  mem::SparseStore store;
  uint64_t reads = 0, writes = 0;

  explicit TwoPortMemory(const sc_core::sc_module_name& n) : sc_core::sc_module(n) {
    for (auto* s : {&data_in, &walk_in}) {
      s->register_b_transport(this, &TwoPortMemory::b_transport);
      s->register_transport_dbg(this, &TwoPortMemory::transport_dbg);
    }
  }

 private:
  void b_transport(tlm::tlm_generic_payload& t, sc_time& delay) {
    ++(t.is_write() ? writes : reads);
    transport_dbg(t);
    delay += sc_time(50, SC_NS);
  }
  unsigned transport_dbg(tlm::tlm_generic_payload& t) {
    if (t.is_read()) store.read(PhysAddr{t.get_address()}, t.get_data_ptr(), t.get_data_length());
    if (t.is_write()) store.write(PhysAddr{t.get_address()}, t.get_data_ptr(), t.get_data_length());
    t.set_response_status(tlm::TLM_OK_RESPONSE);
    return t.get_data_length();
  }
};

fw::ProcessSpec spec() {
  fw::ProcessSpec s;
  s.name = "p";
  return s;
}

fw::FixedFirmwareConfig fixed_config() {
  fw::FixedFirmwareConfig c;
  c.fault_cycles = 1000;
  return c;
}

struct Bench : sc_core::sc_module {
  TwoPortMemory mem{"mem"};
  fw::FixedFirmware firmware{fixed_config(), {fw::NodeRange{Pfn{0}, 4096}}, {0}, {spec()}};
  cpu::RunControl control{0, cpu::Progress::Off, 0};
  cpu::Core core{"core", 0, cpu::CoreConfig{}, SimMode::Lt, /*golden_checker=*/true, firmware, control};
  smp::Domain smp;

  explicit Bench(const sc_core::sc_module_name& n) : sc_core::sc_module(n) {
    core.data.bind(mem.data_in);
    core.mmu().walker().mem.bind(mem.walk_in);
    core.join(smp);
    workload::GeneratorParams g;
    g.pattern = workload::Pattern::Sequential;
    g.footprint = 16 * kPageSize;
    g.accesses = 1024;
    g.access_size = 64;
    g.read_fraction = 0.0;  // every operation writes its own virtual address into each of its words
    g.gap = 0;
    cpu::CoreTask task;
    task.spec = spec();
    task.source = workload::make_generator(g);
    core.add_task(std::move(task));
  }
};

uint64_t stat(const std::vector<stats::Record>& records, const std::string& name) {
  return model_test::stat_in(records, name);
}

TEST(CoreOverFixedFirmware, EveryPageFaultsOnceAndEveryTranslationIsChecked) {
  Bench bench("bench");
  sc_core::sc_start();
  ASSERT_FALSE(bench.control.error());
  ASSERT_TRUE(bench.core.finished());
  const std::vector<stats::Record> records = stats::collect_all();
  // 1024 operations of 64 bytes sweep 16 pages four times; each page faults on its first touch only.
  EXPECT_EQ(stat(records, "bench.core.accesses"), 1024u);
  EXPECT_EQ(stat(records, "bench.core.page_faults"), 16u);
  EXPECT_EQ(bench.firmware.faults(), 16u);
  EXPECT_EQ(bench.firmware.killed(), 0u);
  // Frames: the root, one PDPT, PD and PT for the region, and 16 data frames.
  EXPECT_EQ(bench.firmware.frames_used(), 20u);
  EXPECT_EQ(stat(records, "bench.core.mmu.checker_checks"), stat(records, "bench.core.mmu.translations"));
  // Each fault charges its fixed cost on top of its timed zeroing and PTE writes.
  const uint64_t fault_cycles = stat(records, "bench.core.time.fault");
  EXPECT_GT(fault_cycles, 16u * 1000u);
  EXPECT_LT(fault_cycles, 16u * (1000u + 2000u));
  // Data written by the workload is where the firmware mapped it: frames come in order from above the
  // reserved 1 MiB (frame 256 the root, 257 the first data page, 258-260 its tables, 261 the second page).
  uint64_t word = 0;
  bench.mem.store.read(PhysAddr{257 * kPageSize + 8}, reinterpret_cast<uint8_t*>(&word), 8);
  EXPECT_EQ(word, 0x10000000u);  // a 64-byte write stores its own address in each of its words
  bench.mem.store.read(PhysAddr{261 * kPageSize + 64}, reinterpret_cast<uint8_t*>(&word), 8);
  EXPECT_EQ(word, 0x10001040u);
}

}  // namespace
}  // namespace vmsim
