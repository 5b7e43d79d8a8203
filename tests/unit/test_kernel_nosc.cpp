// Unit test: the firmware kernel boots and handles faults with no SystemC at all, over a HAL made of a
// flat memory (the kernel is part of the SystemC-free functional library).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/stats.hpp"
#include "firmware/kernel/kernel.hpp"
#include "firmware/vm/page_table.hpp"
#include "models/memory/sparse_store.hpp"

namespace vmsim {
namespace {

// A HAL over a flat memory: no time, one core, no other cores to stop.
class FlatHal final : public fw::Hal {
 public:
  mem::SparseStore store;
  PhysAddr root{0};
  uint64_t cycles = 0;
  uint64_t writes = 0;

  uint64_t read64(PhysAddr pa) override {
    uint64_t v = 0;
    store.read(pa, reinterpret_cast<uint8_t*>(&v), 8);
    return v;
  }
  void write64(PhysAddr pa, uint64_t value) override {
    ++writes;
    store.write(pa, reinterpret_cast<const uint8_t*>(&value), 8);
  }
  void read_block(PhysAddr pa, uint8_t* data, uint64_t len) override { store.read(pa, data, len); }
  void write_block(PhysAddr pa, const uint8_t* data, uint64_t len) override {
    ++writes;
    store.write(pa, data, len);
  }
  void zero_frame(Pfn pfn) override {
    const std::vector<uint8_t> zero(kPageSize, 0);
    write_block(addr_of(pfn), zero.data(), kPageSize);
  }
  void invlpg(VirtAddr) override {}
  void set_root(PhysAddr r, uint16_t) override { root = r; }
  void invalidate_pcid(uint16_t) override {}
  void kernel_enter() override {}
  void kernel_exit() override {}
  void shootdown_begin(const std::vector<CoreId>&) override {}
  void shootdown_end(const std::vector<CoreId>&, PhysAddr, uint16_t, const std::vector<VirtAddr>&, uint64_t) override {}
  void charge(uint64_t c) override { cycles += c; }
  CoreId core_id() const override { return 0; }
  uint64_t now_ps() const override { return 0; }
  void swap_read(uint64_t, uint8_t*) override { ADD_FAILURE() << "no swap device"; }
  void swap_write(uint64_t, const uint8_t*) override { ADD_FAILURE() << "no swap device"; }
  uint64_t swap_submit(bool, uint64_t, uint8_t*) override { return 0; }
  void invalidate_page(PhysAddr, uint16_t, VirtAddr) override {}
  bool wake_background(CoreId) override { return false; }
  void wait_until(uint64_t) override {}
  uint64_t memory_ops() const override { return 0; }
};

double stat(fw::Kernel& k, const std::string& name) {
  std::vector<stats::Record> records;
  k.stats().dump("os.", records);
  for (const stats::Record& r : records) {
    if (r.name == name) return r.value;
  }
  ADD_FAILURE() << "no statistic " << name;
  return 0;
}

TEST(KernelWithoutSystemC, DemandZeroFaultMapsAPageAndAStrayAccessKills) {
  fw::ProcessSpec spec;
  spec.name = "p";
  spec.vmas.push_back(fw::Vma(VirtAddr{0x10000000}, VirtAddr{0x10010000}));
  fw::Kernel kernel(fw::KernelConfig{}, {fw::NodeRange{Pfn{0}, 16384}}, {0}, {spec});
  FlatHal hal;
  std::optional<Pid> pid = kernel.create_process(hal, 0);
  ASSERT_TRUE(pid);
  kernel.switch_to(hal, *pid);
  ASSERT_NE(hal.root.value(), 0u);

  const VirtAddr va{0x10003008};
  EXPECT_EQ(fw::lookup_page(hal, hal.root, 4, va).present(), false);
  EXPECT_EQ(kernel.handle_page_fault(hal, *pid, va, AccessKind::Write, /*W|U*/ 0x6), fw::FaultOutcome::Retry);
  const Pte leaf = fw::lookup_page(hal, hal.root, 4, va);
  EXPECT_TRUE(leaf.present());
  EXPECT_TRUE(leaf.writable());
  EXPECT_TRUE(leaf.user());
  EXPECT_EQ(kernel.frame_refs(leaf.pfn()), 1u);
  EXPECT_EQ(stat(kernel, "os.faults.demand_zero"), 1.0);
  EXPECT_GE(hal.cycles, kernel.config().costs.fault_entry);

  // Outside every VMA: SIGSEGV, one kill report, the process is gone.
  EXPECT_EQ(kernel.handle_page_fault(hal, *pid, VirtAddr{0x20000000}, AccessKind::Read, 0x4),
            fw::FaultOutcome::Killed);
  EXPECT_FALSE(kernel.alive(*pid));
  ASSERT_EQ(kernel.kills().size(), 1u);
  EXPECT_EQ(kernel.kills()[0].signal, "SIGSEGV");
  EXPECT_EQ(stat(kernel, "os.faults.segv_no_vma"), 1.0);
}

}  // namespace
}  // namespace vmsim
