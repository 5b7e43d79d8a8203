// Google Benchmark microbenchmarks of the functional cores (no SystemC): TLB lookups, page-walk
// stepping, buddy allocation, workload generation.
#include <benchmark/benchmark.h>

#include <map>
#include <vector>

#include "firmware/mm/buddy.hpp"
#include "firmware/mm/slab.hpp"
#include "firmware/mm/zones.hpp"
#include "common/pte.hpp"
#include "models/mmu/page_walk.hpp"
#include "models/mmu/tlb_array.hpp"
#include "models/workload/generators.hpp"

namespace vmsim {
namespace {

// L1 DTLB hit through the hierarchy (64 entries, 4 ways, 4K/2M/1G in one array, LRU), with counters.
void BM_TlbHierarchyL1Hit(benchmark::State& state) {
  mmu::TlbHierarchy tlb(mmu::TlbHierarchyConfig{});
  for (uint64_t v = 0; v < 32; ++v) {
    VirtAddr va{v << kPageShift};
    mmu::TlbArrayEntry e = mmu::TlbArrayEntry::make(va, mmu::PageSize::k4K, Pfn{v + 1000}, 1);
    e.writable = e.user = true;
    tlb.fill(va, AccessKind::Read, e);
  }
  uint64_t v = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(tlb.lookup(VirtAddr{v << kPageShift}, 1, AccessKind::Read));
    v = (v + 1) & 31;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TlbHierarchyL1Hit);

void BM_PageWalkStepping(benchmark::State& state) {
  // Four-level tables for 512 pages held in a flat host array (no memory model): stepping cost only.
  std::vector<uint64_t> mem(5 * 512, 0);
  const uint64_t kT = pte_bit::kPresent | pte_bit::kWritable | pte_bit::kUser;
  mem[0 * 512 + 0] = Pte::make(Pfn{1}, kT).raw();
  mem[1 * 512 + 0] = Pte::make(Pfn{2}, kT).raw();
  mem[2 * 512 + 0] = Pte::make(Pfn{3}, kT).raw();
  for (uint64_t i = 0; i < 512; ++i) mem[3 * 512 + i] = Pte::make(Pfn{100 + i}, kT).raw();
  uint64_t i = 0;
  for (auto _ : state) {
    mmu::PageWalk w(PhysAddr{0}, 4, mmu::WalkRequest{VirtAddr{(i & 511) << 12}, AccessKind::Read, true});
    while (!w.done()) w.feed(Pte{mem[w.pte_address().value() / 8]});
    benchmark::DoNotOptimize(w.result().pfn);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PageWalkStepping);

void BM_BuddyAllocFreeOrder0(benchmark::State& state) {
  fw::BuddyAllocator b(Pfn{256}, 1ull << 20);  // 4 GiB of frames
  std::vector<Pfn> held;
  held.reserve(1024);
  for (auto _ : state) {
    for (int k = 0; k < 1024; ++k) held.push_back(*b.alloc(0));
    for (Pfn p : held) b.free(p, 0);
    held.clear();
  }
  state.SetItemsProcessed(state.iterations() * 2048);
}
BENCHMARK(BM_BuddyAllocFreeOrder0);

void BM_BuddyConstruct1TiB(benchmark::State& state) {
  for (auto _ : state) {
    fw::BuddyAllocator b(Pfn{0}, uint64_t{1} << 28);
    benchmark::DoNotOptimize(b.free_frames());
  }
}
BENCHMARK(BM_BuddyConstruct1TiB)->Unit(benchmark::kMillisecond);

// Order-0 allocate+free of a 64-frame working set: through the per-CPU lists (arg 1) or straight to the
// zoned buddy (arg 0).
void BM_ZonedOrder0(benchmark::State& state) {
  fw::PhysMemConfig cfg;
  if (state.range(0) == 0) cfg.pcp_high = 0;
  fw::PhysicalMemoryManager m({{Pfn{256}, 1 << 18}}, cfg);
  const fw::Gfp gfp = fw::kGfpKernel;
  std::vector<Pfn> held(64);
  for (auto _ : state) {
    for (auto& p : held) p = state.range(0) ? m.alloc_page(0, gfp)->pfn : m.alloc(0, gfp)->pfn;
    for (Pfn p : held) {
      if (state.range(0)) {
        m.free_page(0, p);
      } else {
        m.free(p, 0);
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * 128);
}
BENCHMARK(BM_ZonedOrder0)->Arg(0)->Arg(1);

// Kernel objects: allocate+free of 64 vm_area_struct-sized (192 B) objects from a slab cache over the
// zoned manager (the kernel's path for its own objects).
void BM_SlabObjects(benchmark::State& state) {
  fw::PhysicalMemoryManager m({{Pfn{256}, 1 << 18}});
  fw::PmmPageSource src(m);
  fw::SlabAllocator slab(src);
  fw::SlabCache& cache = slab.create_cache("vm_area_struct", 192);
  std::vector<PhysAddr> held(64, PhysAddr{0});
  for (auto _ : state) {
    for (auto& o : held) o = *cache.alloc();
    for (PhysAddr o : held) cache.free(o);
  }
  state.SetItemsProcessed(state.iterations() * 128);
}
BENCHMARK(BM_SlabObjects);

// 2 MiB blocks (order 9, transparent huge pages): allocate+free of 16 blocks on a 4-node manager.
void BM_ZonedOrder9(benchmark::State& state) {
  fw::PhysicalMemoryManager m({{Pfn{0}, 1 << 18}, {Pfn{1 << 18}, 1 << 18}, {Pfn{2 << 18}, 1 << 18}, {Pfn{3 << 18}, 1 << 18}});
  std::vector<Pfn> held(16);
  for (auto _ : state) {
    for (auto& p : held) p = m.alloc(9, fw::kGfpKernel, {2})->pfn;
    for (Pfn p : held) m.free(p, 9);
  }
  state.SetItemsProcessed(state.iterations() * 32);
}
BENCHMARK(BM_ZonedOrder9);

void BM_GeneratorRandom(benchmark::State& state) {
  workload::GeneratorParams p;
  p.pattern = workload::Pattern::Random;
  p.accesses = UINT64_MAX;
  auto src = workload::make_generator(p);
  std::vector<workload::MemOp> ops(1024);
  for (auto _ : state) benchmark::DoNotOptimize(src->next_batch(ops.data(), ops.size()));
  state.SetItemsProcessed(state.iterations() * 1024);
}
BENCHMARK(BM_GeneratorRandom);

}  // namespace
}  // namespace vmsim

BENCHMARK_MAIN();
