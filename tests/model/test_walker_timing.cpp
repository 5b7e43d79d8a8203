// Model test: the walker's PTE reads and A/D write-backs happen at the expected simulated times, the
// page-walk cache saves upper-level reads, and A/D bits land in memory. Core clock 1 GHz (1 ns cycles);
// L1 DTLB hit latency 2 cycles, STLB 3, page-walk-cache probe 1, walker step 1; memory latency 50 ns.
#include <gtest/gtest.h>

#include "common/hashed_pt.hpp"
#include <tlm_utils/simple_target_socket.h>

#include <array>

#include "common/stats.hpp"
#include "models/mmu/mmu.hpp"
#include "tests/model/recording_memory.hpp"

namespace vmsim {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

mmu::MmuConfig config(bool ad) {
  mmu::MmuConfig c;
  c.tlb.dtlb[0].hit_latency = 2;
  c.tlb.stlb[0].hit_latency = 3;
  c.walker.step_latency = 1;
  c.walker.pwc.latency = 1;
  c.walker.ad_updates = ad;
  return c;
}

struct Bench : sc_core::sc_module {
  test::RecordingMemory mem{"mem", sc_time(50, SC_NS)};
  mmu::Mmu mmu;
  bool ad;
  std::vector<std::pair<mmu::Translation, sc_time>> results;  // translation and its total delay

  Bench(const sc_core::sc_module_name& n, bool with_ad)
      : sc_core::sc_module(n), mmu("mmu", config(with_ad), sc_time(1, SC_NS), true, true), ad(with_ad) {
    mmu.walker().mem.bind(mem.in);
    SC_HAS_PROCESS(Bench);
    SC_THREAD(run);
  }
  void translate(uint64_t va, AccessKind k) {
    sc_time d = sc_core::SC_ZERO_TIME;
    mmu::Translation t = mmu.translate(VirtAddr{va}, k, true, d);
    results.emplace_back(t, d);
    wait(d);  // synchronize so the next translation starts at a known time
  }
  void run() {
    test::map_one_page(mem, 0x40201000, 0x99, pte_bit::kWritable | pte_bit::kUser);
    mmu.set_root(PhysAddr{0x1000}, 0);
    if (!ad) {
      translate(0x40201ABC, AccessKind::Read);   // miss: full walk at t = 0
      translate(0x40201ABC, AccessKind::Write);  // L1 hit
      translate(0x40202000, AccessKind::Read);   // miss, PDE cache hit, PT entry not present
    } else {
      translate(0x40201000, AccessKind::Read);   // walk sets A in all four entries
      translate(0x40201008, AccessKind::Write);  // hit on a clean entry: walks again to set D
      translate(0x40201010, AccessKind::Write);  // hit on a dirty entry: no walk
    }
  }
};

// Hashed page table (2 anchors at 0x10000, address-space id 5): the target page is third on its chain
// (anchor -> 0x9000 -> 0x9020). Each entry is one 32-byte read, one step apart; no page-walk caches.
struct HashedBench : sc_core::sc_module {
  test::RecordingMemory mem{"mem", sc_time(50, SC_NS)};
  mmu::Mmu mmu;
  std::vector<std::pair<mmu::Translation, sc_time>> results;
  uint64_t target_vpn = 0;

  static mmu::MmuConfig hashed_config() {
    mmu::MmuConfig c = config(true);
    c.walker.format = mmu::PageTableFormat::Hashed;
    c.walker.hash_buckets = 2;
    return c;
  }
  explicit HashedBench(const sc_core::sc_module_name& n)
      : sc_core::sc_module(n), mmu("mmu", hashed_config(), sc_time(1, SC_NS), true, true) {
    mmu.walker().mem.bind(mem.in);
    SC_HAS_PROCESS(HashedBench);
    SC_THREAD(run);
  }
  void put(uint64_t at, uint64_t vpn, uint64_t pfn, uint64_t next) {
    mem.poke64(at, hpt::make_tag(5, vpn));
    mem.poke64(at + 8, Pte::make(Pfn{pfn}, pte_bit::kPresent | pte_bit::kUser).raw());  // read-only
    mem.poke64(at + 16, next);
  }
  void translate(uint64_t va, AccessKind k) {
    sc_time d = sc_core::SC_ZERO_TIME;
    results.emplace_back(mmu.translate(VirtAddr{va}, k, true, d), d);
    wait(d);
  }
  void run() {
    // Three pages of address space 5 that hash to the same anchor.
    std::vector<uint64_t> same;
    for (uint64_t vpn = 0x40200; same.size() < 3; ++vpn) {
      if (hpt::bucket_of(5, vpn, 2) == hpt::bucket_of(5, 0x40200, 2)) same.push_back(vpn);
    }
    target_vpn = same[2];
    const uint64_t anchor = 0x10000 + 32 * hpt::bucket_of(5, 0x40200, 2);
    put(anchor, same[0], 0x70, 0x9000);
    put(0x9000, same[1], 0x71, 0x9020);
    put(0x9020, same[2], 0x72, 0);
    mmu.set_root(PhysAddr{0x10000}, 5);
    translate((target_vpn << 12) | 0x123, AccessKind::Read);   // three entries read
    translate((target_vpn << 12) | 0x123, AccessKind::Write);  // TLB hit, read-only: protection fault
    translate(((target_vpn + 0x100000) << 12), AccessKind::Read);  // not in the table: chain end
  }
};

// Several walks in flight (at mode: the memory waits in SystemC time): four requesters share one MMU
// with max_walks = 2. A (t=0) and B (t=1) miss on the same page: B waits for A's walk and takes its
// result. C (t=2) walks another page on the second walker. D (t=3) finds both walkers busy and waits
// for one; it then resumes from the page-walk caches A and C filled.
struct WaitingMemory : sc_core::sc_module {
  tlm_utils::simple_target_socket<WaitingMemory> in{"in"};
  std::vector<test::Arrival> log;
  mem::SparseStore store;
  explicit WaitingMemory(const sc_core::sc_module_name& n) : sc_core::sc_module(n) {
    in.register_b_transport(this, &WaitingMemory::b_transport);
    in.register_transport_dbg(this, &WaitingMemory::transport_dbg);
  }
  void b_transport(tlm::tlm_generic_payload& t, sc_time& delay) {
    log.push_back({t.get_address(), sc_core::sc_time_stamp() + delay, t.is_write()});
    wait(delay + sc_time(50, SC_NS));
    delay = sc_core::SC_ZERO_TIME;
    transport_dbg(t);
  }
  unsigned transport_dbg(tlm::tlm_generic_payload& t) {
    if (t.is_read()) store.read(PhysAddr{t.get_address()}, t.get_data_ptr(), t.get_data_length());
    if (t.is_write()) store.write(PhysAddr{t.get_address()}, t.get_data_ptr(), t.get_data_length());
    t.set_response_status(tlm::TLM_OK_RESPONSE);
    return t.get_data_length();
  }
};

struct ConcurrentBench : sc_core::sc_module {
  WaitingMemory mem{"mem"};
  mmu::Mmu mmu;
  std::array<sc_time, 4> end{};
  std::array<mmu::Translation, 4> result{};
  static mmu::MmuConfig cfg() {
    mmu::MmuConfig c = config(false);
    c.walker.max_walks = 2;
    return c;
  }
  explicit ConcurrentBench(const sc_core::sc_module_name& n)
      : sc_core::sc_module(n), mmu("mmu", cfg(), sc_time(1, SC_NS), true, true, true) {
    mmu.walker().mem.bind(mem.in);
    constexpr uint64_t kT = pte_bit::kPresent | pte_bit::kWritable | pte_bit::kUser;
    auto poke = [&](uint64_t pa, uint64_t v) { mem.store.write(PhysAddr{pa}, reinterpret_cast<uint8_t*>(&v), 8); };
    for (uint64_t va : {0x40201000ull, 0x40202000ull, 0x40203000ull}) {
      VirtAddr v{va};
      poke(0x1000 + 8 * pt_index(v, 4), Pte::make(Pfn{2}, kT).raw());
      poke(0x2000 + 8 * pt_index(v, 3), Pte::make(Pfn{3}, kT).raw());
      poke(0x3000 + 8 * pt_index(v, 2), Pte::make(Pfn{4}, kT).raw());
      poke(0x4000 + 8 * pt_index(v, 1), Pte::make(Pfn{0x90 + ((va >> 12) & 0xF)}, kT).raw());
    }
    mmu.set_root(PhysAddr{0x1000}, 0);
    for (int i = 0; i < 4; ++i) {
      sc_core::sc_spawn([this, i] { requester(i); }, ("req" + std::to_string(i)).c_str());
    }
  }
  void requester(int i) {
    const uint64_t va[] = {0x40201010, 0x40201020, 0x40202000, 0x40203000};
    wait(sc_time(i, SC_NS));
    sc_time d = sc_core::SC_ZERO_TIME;
    result[i] = mmu.translate(VirtAddr{va[i]}, AccessKind::Read, true, d);
    end[i] = sc_core::sc_time_stamp() + d;
  }
};

void check_concurrent(const ConcurrentBench& b) {
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(b.result[i].fault) << i;
  EXPECT_EQ(b.result[0].pa, PhysAddr{0x91010});
  EXPECT_EQ(b.result[1].pa, PhysAddr{0x91020});
  EXPECT_EQ(b.result[2].pa, PhysAddr{0x92000});
  EXPECT_EQ(b.result[3].pa, PhysAddr{0x93000});
  // A: lookups 5, probe 1, four reads one step + 50 apart: 7, 58, 109, 160 -> 210.
  EXPECT_EQ(b.end[0], sc_time(210, SC_NS));
  // B merged into A's walk: done when A's walk is, no reads of its own.
  EXPECT_EQ(b.end[1], sc_time(210, SC_NS));
  // C on the second walker from t=2: reads at 9, 60, 111, 162 -> 212.
  EXPECT_EQ(b.end[2], sc_time(212, SC_NS));
  // D waited for a walker until 210, probed the caches (PDE hit) and read the PT entry at 212 -> 262.
  EXPECT_EQ(b.end[3], sc_time(262, SC_NS));
  ASSERT_EQ(b.mem.log.size(), 9u) << "4 reads for A, 4 for C, 1 for D; none for B";
  EXPECT_EQ(b.mem.log[8].time, sc_time(212, SC_NS));
  EXPECT_EQ(b.mem.log[8].address, 0x4000u + 8 * 3);
}

void check_hashed(const HashedBench& b);

TEST(WalkerTiming, PteReadsAtExpectedTimesAndPageWalkCacheHits) {
  Bench b("timing", false);
  Bench a("ad", true);
  HashedBench h("hashed");
  ConcurrentBench c("concurrent");
  sc_core::sc_start();
  check_hashed(h);
  check_concurrent(c);
  // Statistics of the concurrent bench: one merge, one wait for a walker, two walks at once.
  auto value = [](const std::string& name) {
    for (const stats::Record& r : stats::collect_all()) {
      if (r.name == name) return r.value;
    }
    ADD_FAILURE() << "no statistic " << name;
    return -1.0;
  };
  EXPECT_EQ(value("concurrent.mmu.tlb.merged_misses"), 1);
  EXPECT_EQ(value("concurrent.mmu.walker.walks"), 3);
  EXPECT_EQ(value("concurrent.mmu.walker.busy_waits"), 1);
  EXPECT_EQ(value("concurrent.mmu.walker.peak_in_flight"), 2);
  EXPECT_EQ(value("concurrent.mmu.tlb.misses"), 4);

  ASSERT_EQ(b.results.size(), 3u);
  // Walk 1 at 0: L1 miss 2 + STLB miss 3 + PWC probe 1 = 6; each level: step 1, read returns 50 later.
  ASSERT_EQ(b.mem.log.size(), 5u);
  const uint64_t expected_addr[] = {0x1000 + 8 * 0, 0x2000 + 8 * 1, 0x3000 + 8 * 1, 0x4000 + 8 * 1};
  const double expected_ns[] = {7, 58, 109, 160};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(b.mem.log[i].address, expected_addr[i]) << "read " << i;
    EXPECT_EQ(b.mem.log[i].time, sc_time(expected_ns[i], SC_NS)) << "read " << i;
    EXPECT_FALSE(b.mem.log[i].write);
  }
  EXPECT_FALSE(b.results[0].first.fault);
  EXPECT_EQ(b.results[0].first.pa, PhysAddr{0x99ABC});
  EXPECT_EQ(b.results[0].second, sc_time(210, SC_NS));
  // The hit costs the L1 latency only and reads no memory (A/D updates are off here).
  EXPECT_FALSE(b.results[1].first.fault);
  EXPECT_EQ(b.results[1].second, sc_time(2, SC_NS));
  // Walk 3 starts at 212 ns: 5 + 1, then the PDE cache resumes the walk at the PT: one read at 219 ns.
  EXPECT_EQ(b.mem.log[4].address, 0x4000u + 8 * 2);
  EXPECT_EQ(b.mem.log[4].time, sc_time(219, SC_NS));
  EXPECT_TRUE(b.results[2].first.fault);
  EXPECT_EQ(b.results[2].first.error_code, pf_err::kUser);
  EXPECT_EQ(b.results[2].second, sc_time(5 + 1 + 1 + 50, SC_NS));

  // A/D: the first walk reads and writes back each of the four entries (read, then write with A set).
  ASSERT_EQ(a.results.size(), 3u);
  for (const auto& r : a.results) EXPECT_FALSE(r.first.fault);
  ASSERT_EQ(a.mem.log.size(), 8u + 2u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(a.mem.log[2 * i].write);
    EXPECT_TRUE(a.mem.log[2 * i + 1].write);
    EXPECT_EQ(a.mem.log[2 * i].address, a.mem.log[2 * i + 1].address);
    EXPECT_EQ(a.mem.log[2 * i + 1].time, a.mem.log[2 * i].time + sc_time(50, SC_NS));
  }
  // The write through the clean entry walked again from the PDE cache: PT read and write-back with D.
  EXPECT_EQ(a.mem.log[8].address, 0x4000u + 8 * 1);
  EXPECT_TRUE(a.mem.log[9].write);
  VirtAddr va{0x40201000};
  EXPECT_EQ(a.mem.peek64(0x1000 + 8 * pt_index(va, 4)) & (pte_bit::kAccessed | pte_bit::kDirty), pte_bit::kAccessed);
  EXPECT_EQ(a.mem.peek64(0x2000 + 8 * pt_index(va, 3)) & (pte_bit::kAccessed | pte_bit::kDirty), pte_bit::kAccessed);
  EXPECT_EQ(a.mem.peek64(0x3000 + 8 * pt_index(va, 2)) & (pte_bit::kAccessed | pte_bit::kDirty), pte_bit::kAccessed);
  EXPECT_EQ(a.mem.peek64(0x4000 + 8 * pt_index(va, 1)) & (pte_bit::kAccessed | pte_bit::kDirty),
            pte_bit::kAccessed | pte_bit::kDirty);
  EXPECT_EQ(a.results[2].second, sc_time(2, SC_NS));  // dirty entry: a plain L1 hit
}

// Checks of the hashed bench (elaborated with the others: SystemC elaborates once per process).
void check_hashed(const HashedBench& b) {
  ASSERT_EQ(b.results.size(), 3u);
  // L1 miss 2 + STLB miss 3 = 5; each entry: step 1, then 50 in memory. A/D on: the leaf gets A
  // (written back right after the third read).
  ASSERT_GE(b.mem.log.size(), 4u);
  const uint64_t anchor = 0x10000 + 32 * hpt::bucket_of(5, 0x40200, 2);
  const uint64_t addr[] = {anchor, 0x9000, 0x9020};
  const double at_ns[] = {6, 57, 108};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(b.mem.log[i].address, addr[i]) << i;
    EXPECT_EQ(b.mem.log[i].time, sc_time(at_ns[i], SC_NS)) << i;
    EXPECT_FALSE(b.mem.log[i].write);
  }
  EXPECT_TRUE(b.mem.log[3].write);
  EXPECT_EQ(b.mem.log[3].address, 0x9020u + 8);
  EXPECT_EQ(b.mem.log[3].time, sc_time(158, SC_NS));
  EXPECT_EQ(b.mem.peek64(0x9020 + 8) & pte_bit::kAccessed, pte_bit::kAccessed);
  EXPECT_FALSE(b.results[0].first.fault);
  EXPECT_EQ(b.results[0].first.pa, PhysAddr{0x72123});
  EXPECT_EQ(b.results[0].second, sc_time(208, SC_NS));
  EXPECT_TRUE(b.results[1].first.fault);
  EXPECT_EQ(b.results[1].first.error_code, pf_err::kPresent | pf_err::kWrite | pf_err::kUser);
  EXPECT_TRUE(b.results[2].first.fault);
  EXPECT_EQ(b.results[2].first.error_code, pf_err::kUser);

}

}  // namespace
}  // namespace vmsim
