// Unit test: the firmware kernel boots and handles faults with no SystemC at all, over a HAL made of a
// flat memory (the kernel is part of the SystemC-free functional library); and fw::Processes creates, forks
// and tears processes down on its own, over a host standing in for the kernel façade.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/stats.hpp"
#include "firmware/kernel/kernel.hpp"
#include "firmware/kernel/swapper.hpp"
#include "firmware/mm/slab.hpp"
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
  // No MMU here: the firmware's accesses stay physical; the call is recorded.
  void set_direct_map(uint64_t base, uint64_t bytes) override {
    direct_map_base = base;
    direct_map_bytes = bytes;
  }
  uint64_t direct_map_base = 0;
  uint64_t direct_map_bytes = 0;
  void dma_read(PhysAddr pa, uint8_t* data, uint64_t len) override { read_block(pa, data, len); }
  void dma_write(PhysAddr pa, const uint8_t* data, uint64_t len) override { write_block(pa, data, len); }
  void invlpg(VirtAddr) override {}
  void set_root(PhysAddr r, uint16_t) override { root = r; }
  void invalidate_pcid(uint16_t) override {}
  void invalidate_all_pcids() override {}
  void invalidate_space(PhysAddr, uint16_t) override {}
  void kernel_enter() override {}
  void kernel_exit() override {}
  void shootdown_begin(const std::vector<CoreId>&) override {}
  void shootdown_end(const std::vector<CoreId>&, PhysAddr, uint16_t, const std::vector<VirtAddr>&, uint64_t) override {}
  void shootdown_resume(const std::vector<CoreId>&) override {}
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

double stat(stats::Group& g, const std::string& name) {
  std::vector<stats::Record> records;
  g.dump("os.", records);
  for (const stats::Record& r : records) {
    if (r.name == name) return r.value;
  }
  ADD_FAILURE() << "no statistic " << name;
  return 0;
}

double stat(fw::Kernel& k, const std::string& name) { return stat(k.stats(), name); }

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

// The façade's services for fw::Processes, reduced to a frame manager, slab caches and a record of what was
// asked: frame references by pfn, invalidated pages, PCID shootdowns, kernel objects outstanding.
class FacadeStandIn final : public fw::ProcessesHost {
 public:
  fw::PhysicalMemoryManager pmm{{fw::NodeRange{Pfn{256}, 4096}}};
  fw::PmmPageSource pages{pmm};
  fw::SlabAllocator slab{pages};
  fw::SlabCache& task_cache = slab.create_cache("task_struct", fw::kTaskBytes, 64);
  fw::SlabCache& mm_cache = slab.create_cache("mm_struct", fw::kMmBytes, 64);
  fw::SlabCache& vma_cache = slab.create_cache("vm_area_struct", fw::kVmaBytes, 8);
  std::map<uint64_t, uint32_t> extra_refs;
  uint64_t data_freed = 0;
  uint64_t invalidated = 0;
  std::vector<uint16_t> pcids_shot_down;
  int64_t objects = 0;

  void leave_mm(fw::Hal&, const fw::Mm&) override { ++left_mms; }
  uint64_t left_mms = 0;
  std::optional<Pfn> alloc_root_table(fw::Hal& hal) override {
    std::optional<fw::PageAlloc> a = pmm.alloc_page(0, fw::kGfpKernel | fw::Gfp::Zero, {0});
    if (!a) return std::nullopt;
    hal.zero_frame(a->pfn);
    return a->pfn;
  }
  std::optional<Pfn> alloc_user_root_table(fw::Hal&) override {
    ADD_FAILURE() << "no KPTI here";
    return std::nullopt;
  }
  std::optional<Pfn> alloc_table_frame(fw::Hal& hal, fw::Mm& mm) override {
    std::optional<Pfn> f = alloc_root_table(hal);
    if (f) ++mm.tables;
    return f;
  }
  void get_frame(Pfn pfn) override { ++extra_refs[pfn.value()]; }
  void put_frame(fw::Hal&, Pfn pfn) override {
    auto it = extra_refs.find(pfn.value());
    if (it != extra_refs.end()) {
      if (--it->second == 0) extra_refs.erase(it);
      return;
    }
    pmm.free_page(0, pfn);
    ++data_freed;
  }
  void free_frame(fw::Hal&, Pfn pfn) override { pmm.free_page(0, pfn); }
  void free_huge_leaf(fw::Hal&, Pfn, unsigned) override { ADD_FAILURE() << "no huge pages here"; }
  void invalidate(fw::Hal&, fw::Mm&, const std::vector<VirtAddr>& p) override { invalidated += p.size(); }
  void shootdown_pcid(fw::Hal&, fw::Mm& mm) override { pcids_shot_down.push_back(mm.pcid.id); }
  void harvest_file_dirty(fw::Hal&, fw::Mm&, VirtAddr, VirtAddr) override {}
  void release_segments(fw::Hal&) override {}
  std::optional<PhysAddr> kobj_alloc(fw::Hal&, fw::SlabCache& cache) override {
    std::optional<PhysAddr> o = cache.alloc();
    if (o) ++objects;
    return o;
  }
  void kobj_free(fw::Hal&, fw::SlabCache& cache, PhysAddr obj) override {
    cache.free(obj);
    --objects;
  }
  bool sync_vma_objects(fw::Hal& hal, fw::Mm& mm) override {
    while (mm.vma_objs.size() > mm.vmas.size()) {
      kobj_free(hal, vma_cache, mm.vma_objs.back());
      mm.vma_objs.pop_back();
    }
    while (mm.vma_objs.size() < mm.vmas.size()) {
      std::optional<PhysAddr> o = kobj_alloc(hal, vma_cache);
      if (!o) return false;
      mm.vma_objs.push_back(*o);
    }
    return true;
  }
  void shrink_slabs() override { slab.shrink_all(); }
};

// The swapper a disabled swap gives (no slots): it tracks nothing; fw::Processes only asks whether it is on.
class NoSwapHost final : public fw::SwapperHost {
 public:
  std::optional<Pfn> alloc_user_frame(fw::Hal&, fw::Process&, const fw::Vma&, VirtAddr, bool) override {
    ADD_FAILURE() << "swapper disabled";
    return std::nullopt;
  }
  void get_frame(Pfn) override { ADD_FAILURE() << "swapper disabled"; }
  void release_moved_frame(fw::Hal&, Pfn) override { ADD_FAILURE() << "swapper disabled"; }
  void finish_shootdown(fw::Hal&, const std::vector<CoreId>&, PhysAddr, uint16_t, const std::vector<VirtAddr>&) override {
    ADD_FAILURE() << "swapper disabled";
  }
  void kill(fw::Hal&, fw::Process&, VirtAddr, AccessKind, uint32_t, const std::string&, const char*) override {
    ADD_FAILURE() << "swapper disabled";
  }
};

TEST(ProcessesOnTheirOwn, ForkSharesPagesCopyOnWriteAndTheLastUserFreesTheAddressSpace) {
  const VirtAddr base{0x10000000};
  std::vector<fw::ProcessSpec> specs(3);
  specs[0].name = "parent";
  specs[0].vmas.push_back(fw::Vma(base, VirtAddr{base.value() + 16 * kPageSize}));
  specs[1].name = "copy";
  specs[1].index = 1;
  specs[1].parent = 0;
  specs[2].name = "thread";
  specs[2].index = 2;
  specs[2].parent = 0;

  fw::KernelConfig cfg;
  FacadeStandIn host;
  const uint64_t free_at_start = host.pmm.free_frames();
  stats::Group root;
  fw::Processes procs(root, specs);
  const uint64_t user_top = 1ull << 47;
  std::vector<std::unique_ptr<fw::ProcStats>> pstats;
  std::map<uint64_t, std::unique_ptr<fw::Segment>> segments;
  std::unordered_map<uint64_t, uint32_t> refs;
  stats::Scalar freed(root, "freed", "count", ""), major(root, "major", "count", ""),
      invlpg(root, "invlpg", "count", ""), writebacks(root, "writebacks", "count", ""),
      cow_shared(root, "cow_shared", "count", "");
  const std::vector<fw::NodeId> core_node{0};
  NoSwapHost swap_host;
  fw::Swapper swapper(root,
                      fw::SwapperContext{cfg, 4, user_top, 1, core_node, host.pmm, procs.all(), procs.live_mms(), pstats,
                                         segments, refs, freed, major, invlpg, writebacks},
                      swap_host);
  ASSERT_FALSE(swapper.enabled());
  fw::HugePages huge(root, 4, user_top);  // never connected: no huge areas
  procs.connect(fw::ProcessesContext{cfg, 4, user_top, 1, nullptr, swapper, huge, host.task_cache, host.mm_cache,
                                     pstats, cow_shared},
                host);
  FlatHal hal;

  const std::optional<Pid> parent = procs.create(hal, 0);
  ASSERT_EQ(parent, std::optional<Pid>(1));
  fw::Mm& pmm = *procs.get(*parent).mm;
  ASSERT_EQ(procs.live_mms().size(), 1u);
  // Four writable pages, as faults would have mapped them.
  for (uint64_t i = 0; i < 4; ++i) {
    std::optional<fw::PageAlloc> a = host.pmm.alloc_page(0, fw::kGfpKernel | fw::Gfp::Zero, {0});
    ASSERT_TRUE(a);
    ASSERT_TRUE(fw::map_page(hal, pmm.root, 4, VirtAddr{base.value() + i * kPageSize}, a->pfn,
                             pte_bit::kUser | pte_bit::kWritable, [&]() { return host.alloc_table_frame(hal, pmm); }));
    ++pmm.resident;
  }

  // A copy: a new address space mapping the same frames read-only on both sides.
  const std::optional<Pid> copy = procs.fork(hal, procs.get(*parent), 1, false);
  ASSERT_EQ(copy, std::optional<Pid>(2));
  fw::Mm& cmm = *procs.get(*copy).mm;
  EXPECT_NE(&cmm, &pmm);
  EXPECT_NE(cmm.pcid.id, pmm.pcid.id);
  EXPECT_EQ(cmm.resident, 4u);
  for (uint64_t i = 0; i < 4; ++i) {
    const VirtAddr va{base.value() + i * kPageSize};
    const Pte p = fw::lookup_page(hal, pmm.root, 4, va), c = fw::lookup_page(hal, cmm.root, 4, va);
    ASSERT_TRUE(p.present() && c.present());
    EXPECT_EQ(p.pfn(), c.pfn());
    EXPECT_FALSE(p.writable());
    EXPECT_FALSE(c.writable());
    EXPECT_EQ(host.extra_refs.at(p.pfn().value()), 1u);
  }
  EXPECT_EQ(host.invalidated, 4u);  // the parent's PTEs lost W
  EXPECT_EQ(cow_shared.value(), 4u);
  EXPECT_EQ(procs.spawn_state(1), fw::SpawnState::Ready);
  EXPECT_EQ(procs.spawned_pid(1), *copy);
  EXPECT_FALSE(procs.may_fork(procs.get(*parent), 1));  // forked once only

  // A thread: the same address space.
  const std::optional<Pid> thread = procs.fork(hal, procs.get(*parent), 2, true);
  ASSERT_EQ(thread, std::optional<Pid>(3));
  EXPECT_EQ(procs.get(*thread).mm.get(), &pmm);
  EXPECT_EQ(pmm.users, 2u);
  EXPECT_EQ(procs.live_mms().size(), 2u);

  // The copy ends: its references go, the frames stay with the parent's address space.
  const uint16_t copy_pcid = cmm.pcid.id, parent_pcid = pmm.pcid.id;
  procs.exit(hal, *copy);
  EXPECT_FALSE(procs.alive(*copy));
  EXPECT_TRUE(host.extra_refs.empty());
  EXPECT_EQ(host.data_freed, 0u);
  EXPECT_EQ(host.pcids_shot_down, std::vector<uint16_t>{copy_pcid});

  // The parent ends while its thread runs on: nothing is freed yet.
  procs.exit(hal, *parent);
  EXPECT_EQ(host.data_freed, 0u);
  EXPECT_EQ(procs.live_mms().size(), 1u);
  // The last user ends: the pages, the tables and every kernel object go.
  procs.exit(hal, *thread);
  EXPECT_EQ(host.data_freed, 4u);
  EXPECT_EQ((host.pcids_shot_down), (std::vector<uint16_t>{copy_pcid, parent_pcid}));
  EXPECT_TRUE(procs.live_mms().empty());
  EXPECT_EQ(host.objects, 0);
  EXPECT_EQ(host.pmm.free_frames(), free_at_start);
  EXPECT_EQ(stat(root, "os.processes.created"), 3.0);
  EXPECT_EQ(stat(root, "os.processes.forks"), 2.0);
  EXPECT_EQ(stat(root, "os.processes.exited"), 3.0);
}

}  // namespace
}  // namespace vmsim
