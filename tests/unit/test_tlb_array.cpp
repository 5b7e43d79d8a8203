// Unit tests for the TLB functional core: replacement tables per policy, page sizes, PCIDs, every
// invalidation form, the ITLB/DTLB/STLB hierarchy and its counters, config errors, and randomized
// differential runs against simple reference models.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "common/config.hpp"
#include "common/error.hpp"
#include "models/mmu/tlb_array.hpp"

namespace vmsim::mmu {
namespace {

TlbArrayConfig make_cfg(uint64_t entries, uint64_t ways, ReplacementPolicy policy = ReplacementPolicy::Lru,
                        const std::string& sizes = "4K", uint64_t seed = 1) {
  TlbArrayConfig c;
  c.entries = entries;
  c.ways = ways;
  c.replacement = policy;
  c.page_sizes = sizes;
  c.seed = seed;
  return c;
}

// A 4 KiB entry for virtual page `vpn` -> frame `pfn`.
TlbArrayEntry page4k(uint64_t vpn, uint64_t pfn, Pcid pcid = 0, bool global = false) {
  TlbArrayEntry e = TlbArrayEntry::make(VirtAddr{vpn << kPageShift}, PageSize::k4K, Pfn{pfn}, pcid);
  e.global = global;
  return e;
}

// An entry of `size` for the page containing va, whose first frame is `base_pfn`.
TlbArrayEntry page_of(uint64_t va, PageSize size, uint64_t base_pfn, Pcid pcid = 0, bool global = false) {
  const uint64_t offset_frames = (va >> kPageShift) & (page_frames(size) - 1);
  TlbArrayEntry e = TlbArrayEntry::make(VirtAddr{va}, size, Pfn{base_pfn + offset_frames}, pcid);
  e.global = global;
  return e;
}

// Expects fn to throw InputError whose message contains every needle.
template <class Fn>
void expect_input_error(Fn fn, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "expected InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    for (const auto& n : needles) {
      EXPECT_NE(msg.find(n), std::string::npos) << "message '" << msg << "' lacks '" << n << "'";
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Replacement tables. One set (entries == ways), so every page competes for the same ways. Pages are
// named by VPN; the frame is vpn + 0x1000.

enum class Op { Fill, Hit, Inval };
struct Step {
  Op op;
  uint64_t page;
  int way;           // Fill: way filled; Hit: way that hit
  int64_t evicted;   // Fill: page evicted, -1 if none
  int64_t bits;      // PLRU bits after the step, -1 unchecked
};

void run_table(TlbArray& tlb, const std::vector<Step>& steps) {
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    SCOPED_TRACE("step " + std::to_string(i) + " page " + std::to_string(s.page));
    switch (s.op) {
      case Op::Fill: {
        if (!tlb.peek(VirtAddr{s.page << kPageShift}, 0)) {  // next_victim is for pages not present
          EXPECT_EQ(tlb.next_victim(0), static_cast<uint32_t>(s.way)) << "next_victim disagrees with the fill";
        }
        TlbFillResult r = tlb.fill(page4k(s.page, s.page + 0x1000));
        EXPECT_EQ(r.set, 0u);
        EXPECT_EQ(r.way, static_cast<uint32_t>(s.way));
        EXPECT_EQ(r.evicted, s.evicted >= 0);
        if (s.evicted >= 0) {
          EXPECT_EQ(r.victim.vpn.value(), static_cast<uint64_t>(s.evicted));
          EXPECT_TRUE(r.victim.valid);
        }
        break;
      }
      case Op::Hit: {
        TlbHit h = tlb.lookup(VirtAddr{s.page << kPageShift}, 0);
        ASSERT_TRUE(h);
        EXPECT_EQ(h.way, static_cast<uint32_t>(s.way));
        EXPECT_EQ(h.entry->pfn.value(), s.page + 0x1000);
        break;
      }
      case Op::Inval:
        EXPECT_EQ(tlb.invlpg(VirtAddr{s.page << kPageShift}, 0).total(), 1u);
        break;
    }
    if (s.bits >= 0) {
      EXPECT_EQ(tlb.replacement().plru_bits(0), static_cast<uint64_t>(s.bits));
    }
  }
}

constexpr uint64_t A = 0xA, B = 0xB, C = 0xC, D = 0xD, E = 0xE, F = 0xF, G = 0x10, H = 0x11, I = 0x12;

TEST(TlbReplacement, LruTable) {
  TlbArray tlb(make_cfg(4, 4, ReplacementPolicy::Lru));
  run_table(tlb, {
                     {Op::Fill, A, 0, -1, -1},
                     {Op::Fill, B, 1, -1, -1},
                     {Op::Fill, C, 2, -1, -1},
                     {Op::Fill, D, 3, -1, -1},
                     {Op::Hit, A, 0, -1, -1},
                     {Op::Hit, C, 2, -1, -1},
                     {Op::Fill, E, 1, B, -1},  // LRU is B
                     {Op::Hit, D, 3, -1, -1},
                     {Op::Fill, F, 0, A, -1},  // A (hit at t5) older than C (t6), E, D
                     {Op::Fill, G, 2, C, -1},
                     {Op::Inval, E, 0, -1, -1},
                     {Op::Fill, H, 1, -1, -1},  // the invalid way first, no eviction
                     {Op::Fill, I, 3, D, -1},
                 });
  EXPECT_EQ(tlb.replacement().order(0), (std::vector<uint32_t>{3, 1, 2, 0}));  // I, H, G, F
}

TEST(TlbReplacement, FifoTable) {
  TlbArray tlb(make_cfg(4, 4, ReplacementPolicy::Fifo));
  run_table(tlb, {
                     {Op::Fill, A, 0, -1, -1},
                     {Op::Fill, B, 1, -1, -1},
                     {Op::Fill, C, 2, -1, -1},
                     {Op::Fill, D, 3, -1, -1},
                     {Op::Hit, A, 0, -1, -1},  // hits do not matter
                     {Op::Hit, B, 1, -1, -1},
                     {Op::Fill, E, 0, A, -1},
                     {Op::Fill, F, 1, B, -1},
                     {Op::Hit, C, 2, -1, -1},
                     {Op::Fill, G, 2, C, -1},
                     {Op::Fill, E, 0, -1, -1},  // refill of E: in place, becomes the newest
                     {Op::Fill, H, 3, D, -1},
                     {Op::Fill, I, 1, F, -1},
                 });
  EXPECT_EQ(tlb.replacement().order(0), (std::vector<uint32_t>{1, 3, 0, 2}));  // I, H, E, G
}

// 4 ways: bit 0 = root (0: victim in ways 0-1, 1: in ways 2-3), bit 1 = ways 0/1, bit 2 = ways 2/3.
TEST(TlbReplacement, Plru4Table) {
  TlbArray tlb(make_cfg(4, 4, ReplacementPolicy::Plru));
  EXPECT_EQ(tlb.replacement().plru_bits(0), 0u);
  run_table(tlb, {
                     {Op::Fill, A, 0, -1, 0b011},
                     {Op::Fill, B, 1, -1, 0b001},
                     {Op::Fill, C, 2, -1, 0b100},
                     {Op::Fill, D, 3, -1, 0b000},
                     {Op::Hit, A, 0, -1, 0b011},
                     {Op::Fill, E, 2, C, 0b110},  // true LRU would evict B (way 1) here
                     {Op::Hit, B, 1, -1, 0b101},
                     {Op::Fill, F, 3, D, 0b000},
                     {Op::Fill, G, 0, A, 0b011},
                     {Op::Hit, E, 2, -1, 0b110},
                     {Op::Fill, H, 1, B, 0b101},
                 });
}

// 8 ways: nodes 0 (root), 1 (ways 0-3), 2 (ways 4-7), 3 (0/1), 4 (2/3), 5 (4/5), 6 (6/7).
TEST(TlbReplacement, Plru8Table) {
  TlbArray tlb(make_cfg(8, 8, ReplacementPolicy::Plru));
  std::vector<Step> steps;
  for (int w = 0; w < 8; ++w) steps.push_back({Op::Fill, 0x100u + static_cast<uint64_t>(w), w, -1, -1});
  steps.back().bits = 0;  // filling ways 0..7 in order leaves every bit 0
  steps[0].bits = 0b0001011;  // after way 0: nodes 0, 1, 3 point right
  steps.push_back({Op::Hit, 0x100, 0, -1, 0b0001011});
  steps.push_back({Op::Hit, 0x105, 5, -1, 0b0001110});  // nodes 1, 2, 3
  steps.push_back({Op::Hit, 0x102, 2, -1, 0b0011101});  // nodes 0, 2, 3, 4
  steps.push_back({Op::Fill, 0x200, 6, 0x106, 0b1011000});
  steps.push_back({Op::Fill, 0x201, 1, 0x101, 0b1010011});
  steps.push_back({Op::Fill, 0x202, 4, 0x104, 0b1110110});
  steps.push_back({Op::Fill, 0x203, 3, 0x103, 0b1100101});
  run_table(tlb, steps);
}

// Naive PLRU model: explicit tree of nodes, walked recursively.
struct NaivePlru {
  explicit NaivePlru(unsigned ways) : m_ways(ways), m_nodes(ways > 1 ? ways - 1 : 0, 0) {}
  unsigned victim() const {
    unsigned node = 0, lo = 0, hi = m_ways;
    while (hi - lo > 1) {
      const unsigned mid = (lo + hi) / 2;
      if (m_nodes[node]) {
        lo = mid;
        node = 2 * node + 2;
      } else {
        hi = mid;
        node = 2 * node + 1;
      }
    }
    return lo;
  }
  void touch(unsigned way) {
    unsigned node = 0, lo = 0, hi = m_ways;
    while (hi - lo > 1) {
      const unsigned mid = (lo + hi) / 2;
      if (way < mid) {
        m_nodes[node] = 1;
        hi = mid;
        node = 2 * node + 1;
      } else {
        m_nodes[node] = 0;
        lo = mid;
        node = 2 * node + 2;
      }
    }
  }
  unsigned m_ways;
  std::vector<int> m_nodes;
};

TEST(TlbReplacement, PlruMatchesNaiveTreeForAllWidths) {
  for (unsigned ways : {1u, 2u, 4u, 8u, 16u, 32u, 64u}) {
    SCOPED_TRACE("ways " + std::to_string(ways));
    TlbArray tlb(make_cfg(ways, ways, ReplacementPolicy::Plru));
    NaivePlru ref(ways);
    std::mt19937_64 rng(ways);
    std::vector<uint64_t> resident(ways, 0);
    uint64_t next_page = 1;
    for (unsigned w = 0; w < ways; ++w) {
      resident[w] = next_page++;
      ASSERT_EQ(tlb.fill(page4k(resident[w], 0)).way, w);
      ref.touch(w);
    }
    for (int i = 0; i < 5000; ++i) {
      if (rng() % 2) {
        const unsigned w = static_cast<unsigned>(rng() % ways);
        TlbHit h = tlb.lookup(VirtAddr{resident[w] << kPageShift}, 0);
        ASSERT_TRUE(h);
        ASSERT_EQ(h.way, w);
        ref.touch(w);
      } else {
        const unsigned expect = ref.victim();
        TlbFillResult r = tlb.fill(page4k(next_page, 0));
        ASSERT_EQ(r.way, expect);
        ASSERT_EQ(r.evicted, true);
        ASSERT_EQ(r.victim.vpn.value(), resident[expect]);
        resident[expect] = next_page++;
        ref.touch(expect);
      }
      uint64_t bits = 0;
      for (size_t n = 0; n < ref.m_nodes.size(); ++n) bits |= static_cast<uint64_t>(ref.m_nodes[n]) << n;
      ASSERT_EQ(tlb.replacement().plru_bits(0), bits);
    }
  }
}

TEST(TlbReplacement, RandomIsSeededXorshift) {
  // xorshift64 from seed 1: 0x40822041, 0x100041060c011441, ...; way = (x >> 32) % 4.
  EXPECT_EQ(ReplacementState::xorshift64(1), 0x40822041u);
  EXPECT_EQ(ReplacementState::xorshift64(0x40822041u), 0x100041060c011441u);
  const std::vector<int> seed1 = {0, 2, 3, 3, 0, 2, 0, 1, 2, 1, 3, 0};
  const std::vector<int> seed12345 = {2, 0, 2, 2, 0, 3, 0, 3, 3, 0, 2, 1};
  for (auto [seed, expected] : {std::make_pair(uint64_t{1}, seed1), std::make_pair(uint64_t{12345}, seed12345)}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    TlbArray tlb(make_cfg(4, 4, ReplacementPolicy::Random, "4K", seed));
    for (uint32_t w = 0; w < 4; ++w) EXPECT_EQ(tlb.fill(page4k(0x100u + w, 0)).way, w);
    EXPECT_EQ(tlb.replacement().rng_state(), seed) << "invalid ways are filled without drawing";
    for (size_t i = 0; i < expected.size(); ++i) {
      tlb.lookup(VirtAddr{uint64_t{0x100} << kPageShift}, 0);  // hits do not draw (page may be gone: fine)
      EXPECT_EQ(tlb.next_victim(0), static_cast<uint32_t>(expected[i]));
      TlbFillResult r = tlb.fill(page4k(0x200 + i, 0));
      EXPECT_EQ(r.way, static_cast<uint32_t>(expected[i])) << "draw " << i;
      EXPECT_TRUE(r.evicted);
    }
    // An invalid way is taken without a draw.
    const uint64_t state = tlb.replacement().rng_state();
    ASSERT_EQ(tlb.invlpg(VirtAddr{tlb.at(0, 3).vpn.value() << kPageShift}, 0).total(), 1u);
    TlbFillResult r = tlb.fill(page4k(0x300, 0));
    EXPECT_EQ(r.way, 3u);
    EXPECT_FALSE(r.evicted);
    EXPECT_EQ(tlb.replacement().rng_state(), state);
  }
}

TEST(TlbReplacement, RandomIsDeterministicAcrossInstances) {
  auto victims = [](uint64_t seed) {
    TlbArray tlb(make_cfg(64, 8, ReplacementPolicy::Random, "4K", seed));
    std::vector<uint32_t> out;
    for (uint64_t p = 0; p < 2000; ++p) out.push_back(tlb.fill(page4k(p * 3, p)).way);
    return out;
  };
  EXPECT_EQ(victims(7), victims(7));
  EXPECT_NE(victims(7), victims(8));
}

TEST(TlbReplacement, SetAssociativeSetsAreIndependent) {
  // 8 entries, 2 ways: 4 sets, set = vpn % 4.
  TlbArray tlb(make_cfg(8, 2, ReplacementPolicy::Lru));
  EXPECT_EQ(tlb.sets(), 4u);
  EXPECT_EQ(tlb.fill(page4k(0x10, 1)).set, 0u);
  EXPECT_EQ(tlb.fill(page4k(0x11, 1)).set, 1u);
  EXPECT_EQ(tlb.fill(page4k(0x14, 1)).way, 1u);  // set 0, way 1
  TlbFillResult r = tlb.fill(page4k(0x18, 1));  // set 0 full: LRU 0x10 in way 0
  EXPECT_EQ(r.set, 0u);
  EXPECT_EQ(r.way, 0u);
  EXPECT_EQ(r.victim.vpn.value(), 0x10u);
  EXPECT_TRUE(tlb.peek(VirtAddr{0x11000}, 0));  // set 1 untouched
  // Direct mapped: one way, the victim is always way 0 of the set.
  TlbArray dm(make_cfg(4, 1, ReplacementPolicy::Plru));
  EXPECT_FALSE(dm.fill(page4k(1, 1)).evicted);
  TlbFillResult d = dm.fill(page4k(5, 2));
  EXPECT_TRUE(d.evicted);
  EXPECT_EQ(d.set, 1u);
  EXPECT_EQ(d.victim.vpn.value(), 1u);
}

TEST(TlbReplacement, NonPowerOfTwoSetsUseModulo) {
  TlbArray tlb(make_cfg(12, 4, ReplacementPolicy::Lru, "4K,2M"));  // 3 sets
  EXPECT_EQ(tlb.set_index(VirtAddr{uint64_t{7} << 12}, PageSize::k4K), 1u);
  EXPECT_EQ(tlb.set_index(VirtAddr{uint64_t{8} << 21}, PageSize::k2M), 2u);
  EXPECT_EQ(tlb.fill(page4k(7, 70)).set, 1u);
  EXPECT_EQ(tlb.fill(page_of(uint64_t{8} << 21, PageSize::k2M, 0x400)).set, 2u);
}

// ---------------------------------------------------------------------------------------------------
// Page sizes.

TEST(TlbPageSizes, ParseAndFormat) {
  PageSizeMask m = 0;
  EXPECT_TRUE(parse_page_sizes("4K", m));
  EXPECT_EQ(m, mask_of(PageSize::k4K));
  EXPECT_TRUE(parse_page_sizes(" 1G , 4K", m));
  EXPECT_EQ(m, mask_of(PageSize::k4K) | mask_of(PageSize::k1G));
  EXPECT_EQ(format_page_sizes(m), "4K,1G");
  for (const char* bad : {"", "8K", "4K,", "4K,4K", "4k", "2M;1G", ","}) {
    PageSizeMask keep = 0x7;
    EXPECT_FALSE(parse_page_sizes(bad, keep)) << bad;
    EXPECT_EQ(keep, 0x7) << bad;
  }
  EXPECT_EQ(page_size_of_level(1), PageSize::k4K);
  EXPECT_EQ(page_size_of_level(3), PageSize::k1G);
  EXPECT_EQ(page_bytes(PageSize::k2M), uint64_t{2} << 20);
}

TEST(TlbPageSizes, MakeEntryFromWalkerFrame) {
  // The walker reports the frame of va's own 4 KiB page; the entry keeps the huge page's first frame.
  TlbArrayEntry e = TlbArrayEntry::make(VirtAddr{0x40123456}, PageSize::k2M, Pfn{0x80123}, 5);
  EXPECT_EQ(e.vpn.value(), 0x40000u);
  EXPECT_EQ(e.pfn.value(), 0x80000u);
  EXPECT_EQ(e.size, PageSize::k2M);
  EXPECT_EQ(e.leaf_size, PageSize::k2M);
  EXPECT_EQ(e.pcid, 5);
  EXPECT_TRUE(e.valid);
  EXPECT_EQ(e.translate(VirtAddr{0x40123456}).value(), 0x80123456u);
}

TEST(TlbPageSizes, TwoMegAnswersForEveryInnerPage) {
  TlbArray tlb(make_cfg(16, 4, ReplacementPolicy::Lru, "2M"));
  const uint64_t base_va = 0x7f0040000000;  // 2 MiB aligned
  const uint64_t base_pfn = 0x12200;        // 512-frame aligned
  TlbFillResult r = tlb.fill(page_of(base_va, PageSize::k2M, base_pfn, 3));
  EXPECT_EQ(r.set, tlb.set_index(VirtAddr{base_va}, PageSize::k2M));
  EXPECT_EQ(r.set, (base_va >> 21) % 4);
  for (uint64_t page = 0; page < 512; ++page) {
    const uint64_t va = base_va + page * kPageSize + (page * 37 % kPageSize);
    TlbHit h = tlb.lookup(VirtAddr{va}, 3);
    ASSERT_TRUE(h) << page;
    EXPECT_EQ(h.entry->size, PageSize::k2M);
    EXPECT_EQ(h.entry->translate(VirtAddr{va}).value(), (base_pfn << kPageShift) + (va - base_va));
  }
  EXPECT_FALSE(tlb.lookup(VirtAddr{base_va - 1}, 3));
  EXPECT_FALSE(tlb.lookup(VirtAddr{base_va + (2u << 20)}, 3));
}

TEST(TlbPageSizes, OneGigAnswersAcrossItsRange) {
  TlbArray tlb(make_cfg(4, 4, ReplacementPolicy::Lru, "1G"));
  const uint64_t base_va = uint64_t{5} << 30;
  const uint64_t base_pfn = uint64_t{3} << 18;
  tlb.fill(page_of(base_va, PageSize::k1G, base_pfn));
  for (uint64_t off : {uint64_t{0}, uint64_t{0x1234}, uint64_t{0x200000}, uint64_t{0x3fffffff}}) {
    TlbHit h = tlb.lookup(VirtAddr{base_va + off}, 0);
    ASSERT_TRUE(h);
    EXPECT_EQ(h.entry->translate(VirtAddr{base_va + off}).value(), (base_pfn << kPageShift) + off);
  }
  EXPECT_FALSE(tlb.lookup(VirtAddr{base_va + (uint64_t{1} << 30)}, 0));
}

TEST(TlbPageSizes, FillRejectsContractViolations) {
  TlbArray tlb(make_cfg(16, 4, ReplacementPolicy::Lru, "4K,2M"));
  EXPECT_THROW(tlb.fill(page_of(0, PageSize::k1G, 0)), std::invalid_argument);  // size not held
  TlbArrayEntry misaligned = page_of(0x200000, PageSize::k2M, 0x200);
  misaligned.pfn = Pfn{0x201};
  EXPECT_THROW(tlb.fill(misaligned), std::invalid_argument);
  TlbArrayEntry bad_leaf = page_of(0x200000, PageSize::k2M, 0x200);
  bad_leaf.leaf_size = PageSize::k4K;
  EXPECT_THROW(tlb.fill(bad_leaf), std::invalid_argument);
  EXPECT_THROW(tlb.fill(page4k(1, 1, 0x1000)), std::invalid_argument);  // PCID above 12 bits
  EXPECT_EQ(tlb.valid_entries(), 0u);
}

TEST(TlbPageSizes, MixedSizesInOneArray) {
  // 64 entries, 4 ways: 16 sets. Set of a size-S page: (va >> shift(S)) % 16.
  TlbArray tlb(make_cfg(64, 4, ReplacementPolicy::Lru, "4K,2M,1G"));
  const uint64_t va4k = 0x5000;             // 4K set 5
  const uint64_t va2m = 0x40200000;         // 2M tag 0x201: set 1
  const uint64_t va1g = uint64_t{7} << 30;  // 1G tag 7: set 7
  TlbFillResult r4 = tlb.fill(page_of(va4k, PageSize::k4K, 0x111));
  TlbFillResult r2 = tlb.fill(page_of(va2m, PageSize::k2M, 0x400));
  TlbFillResult r1 = tlb.fill(page_of(va1g, PageSize::k1G, 0x40000));
  EXPECT_EQ(r4.set, 5u);
  EXPECT_EQ(r2.set, 1u);
  EXPECT_EQ(r1.set, 7u);
  EXPECT_EQ(tlb.at(1, r2.way).size, PageSize::k2M);
  EXPECT_EQ(tlb.valid_entries(), 3u);

  TlbHit h4 = tlb.lookup(VirtAddr{va4k + 0x10}, 0);
  TlbHit h2 = tlb.lookup(VirtAddr{va2m + 0x1ff010}, 0);
  TlbHit h1 = tlb.lookup(VirtAddr{va1g + 0x3ff00010}, 0);
  ASSERT_TRUE(h4 && h2 && h1);
  EXPECT_EQ(h4.entry->size, PageSize::k4K);
  EXPECT_EQ(h2.entry->size, PageSize::k2M);
  EXPECT_EQ(h1.entry->size, PageSize::k1G);
  EXPECT_EQ(h4.entry->translate(VirtAddr{va4k + 0x10}).value(), 0x111010u);
  EXPECT_EQ(h2.entry->translate(VirtAddr{va2m + 0x1ff010}).value(), 0x5ff010u);
  EXPECT_EQ(h1.entry->translate(VirtAddr{va1g + 0x3ff00010}).value(), 0x7ff00010u);

  // 4K page 0x1000 indexes set 1 too: it shares the set with the 2M entry without matching it.
  EXPECT_FALSE(tlb.lookup(VirtAddr{0x1000}, 0));
  TlbFillResult r = tlb.fill(page_of(0x1000, PageSize::k4K, 0x999));
  EXPECT_EQ(r.set, 1u);
  EXPECT_FALSE(r.evicted);
  EXPECT_FALSE(r.replaced);

  // A stale 4K entry inside a 2M entry: the 4K probe comes first.
  tlb.fill(page_of(va2m + 0x3000, PageSize::k4K, 0x777));
  TlbHit stale = tlb.lookup(VirtAddr{va2m + 0x3000}, 0);
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale.entry->size, PageSize::k4K);
  EXPECT_EQ(stale.entry->pfn.value(), 0x777u);
}

TEST(TlbPageSizes, SplinterKeepsOffsetsAndLeaf) {
  TlbArrayEntry big = page_of(uint64_t{3} << 30, PageSize::k1G, uint64_t{9} << 18, 4);
  const uint64_t va = (uint64_t{3} << 30) + 0x12345678;
  TlbArrayEntry s2m = splinter(big, VirtAddr{va}, PageSize::k2M);
  TlbArrayEntry s4k = splinter(big, VirtAddr{va}, PageSize::k4K);
  EXPECT_EQ(s2m.size, PageSize::k2M);
  EXPECT_EQ(s2m.leaf_size, PageSize::k1G);
  EXPECT_EQ(s2m.vpn.value(), (va >> 21) << 9);
  EXPECT_EQ(s4k.vpn.value(), va >> 12);
  EXPECT_EQ(s2m.translate(VirtAddr{va}), big.translate(VirtAddr{va}));
  EXPECT_EQ(s4k.translate(VirtAddr{va}), big.translate(VirtAddr{va}));
  EXPECT_THROW(splinter(s4k, VirtAddr{va}, PageSize::k2M), std::invalid_argument);
  EXPECT_THROW(splinter(big, VirtAddr{0}, PageSize::k4K), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------------
// PCIDs.

TEST(TlbPcid, SameVaDifferentPcidsAreIsolated) {
  TlbArray tlb(make_cfg(16, 4));
  const uint64_t vpn = 0x400;
  tlb.fill(page4k(vpn, 0x100, 1));
  TlbFillResult r = tlb.fill(page4k(vpn, 0x200, 2));
  EXPECT_FALSE(r.replaced) << "another PCID's page is a different translation";
  tlb.fill(page4k(vpn, 0x300, kMaxPcid));
  EXPECT_EQ(tlb.valid_entries(), 3u);
  const VirtAddr va{(vpn << kPageShift) + 0x42};
  EXPECT_EQ(tlb.lookup(va, 1).entry->pfn.value(), 0x100u);
  EXPECT_EQ(tlb.lookup(va, 2).entry->pfn.value(), 0x200u);
  EXPECT_EQ(tlb.lookup(va, kMaxPcid).entry->pfn.value(), 0x300u);
  EXPECT_FALSE(tlb.lookup(va, 3));
  // Refilling PCID 2's page replaces it in place.
  TlbFillResult again = tlb.fill(page4k(vpn, 0x222, 2));
  EXPECT_TRUE(again.replaced);
  EXPECT_EQ(again.way, r.way);
  EXPECT_EQ(tlb.lookup(va, 2).entry->pfn.value(), 0x222u);
  EXPECT_EQ(tlb.valid_entries(), 3u);
}

TEST(TlbPcid, GlobalPagesMatchEveryPcid) {
  TlbArray tlb(make_cfg(16, 4));
  tlb.fill(page4k(0x500, 0x55, 1, true));
  for (Pcid p : {Pcid{0}, Pcid{1}, Pcid{2}, kMaxPcid}) {
    TlbHit h = tlb.lookup(VirtAddr{0x500000}, p);
    ASSERT_TRUE(h) << p;
    EXPECT_TRUE(h.entry->global);
    EXPECT_EQ(h.entry->pfn.value(), 0x55u);
  }
}

TEST(TlbPcid, GlobalFillReplacesEveryPcidsCopy) {
  TlbArray tlb(make_cfg(8, 8));
  tlb.fill(page4k(0x600, 0x1, 1));                    // way 0
  tlb.fill(page4k(0x601, 0x2, 1));                    // way 1, another page
  tlb.fill(page4k(0x600, 0x3, 2));                    // way 2
  TlbFillResult r = tlb.fill(page4k(0x600, 0x9, 3, true));
  EXPECT_TRUE(r.replaced);
  EXPECT_EQ(r.way, 0u) << "the lowest way of the same page is reused";
  EXPECT_EQ(r.dropped, 1u) << "PCID 2's copy is dropped so that at most one way matches";
  EXPECT_EQ(tlb.valid_entries(), 2u);
  EXPECT_EQ(tlb.lookup(VirtAddr{0x600000}, 2).entry->pfn.value(), 0x9u);
  // A non-global fill over a global entry of the same page replaces it too.
  TlbFillResult back = tlb.fill(page4k(0x600, 0x4, 1));
  EXPECT_TRUE(back.replaced);
  EXPECT_FALSE(tlb.lookup(VirtAddr{0x600000}, 2));
}

// ---------------------------------------------------------------------------------------------------
// Invalidations. Fixture: named entries in a 4K,2M array, checked by name before and after each form.

struct Named {
  const char* name;
  uint64_t va;
  PageSize size;
  Pcid pcid;
  bool global;
};

const std::vector<Named> kNamed = {
    {"a1", 0x10000, PageSize::k4K, 1, false},    {"a2", 0x10000, PageSize::k4K, 2, false},
    {"g", 0x20000, PageSize::k4K, 1, true},      {"c1", 0x30000, PageSize::k4K, 1, false},
    {"c2", 0x30000, PageSize::k4K, 2, false},    {"h1", 0x40000000, PageSize::k2M, 1, false},
    {"hg", 0x40200000, PageSize::k2M, 2, true},
};

TlbArray named_tlb() {
  TlbArray tlb(make_cfg(64, 8, ReplacementPolicy::Lru, "4K,2M"));
  uint64_t pfn = 0x1000;
  for (const Named& n : kNamed) {
    tlb.fill(page_of(n.va, n.size, pfn, n.pcid, n.global));
    pfn += 0x1000;
  }
  return tlb;
}

std::set<std::string> present(const TlbArray& tlb) {
  std::set<std::string> out;
  for (const Named& n : kNamed) {
    TlbHit h = tlb.peek(VirtAddr{n.va}, n.pcid);
    if (h && h.entry->pcid == n.pcid && h.entry->global == n.global) out.insert(n.name);
  }
  return out;
}

TEST(TlbInvalidate, EveryForm) {
  using Names = std::set<std::string>;
  const Names all = {"a1", "a2", "g", "c1", "c2", "h1", "hg"};
  struct Case {
    const char* what;
    std::function<TlbRemoved(TlbArray&)> op;
    Names left;
  };
  const std::vector<Case> cases = {
      {"invlpg a for PCID 1", [](TlbArray& t) { return t.invlpg(VirtAddr{0x10123}, 1); },
       {"a2", "g", "c1", "c2", "h1", "hg"}},
      {"invlpg g from PCID 7 (global)", [](TlbArray& t) { return t.invlpg(VirtAddr{0x20000}, 7); },
       {"a1", "a2", "c1", "c2", "h1", "hg"}},
      {"invlpg inside 2M h for PCID 1", [](TlbArray& t) { return t.invlpg(VirtAddr{0x401ff000}, 1); },
       {"a1", "a2", "g", "c1", "c2", "hg"}},
      {"invlpg h for PCID 2 misses it", [](TlbArray& t) { return t.invlpg(VirtAddr{0x40000000}, 2); }, all},
      {"invpcid individual c for PCID 2", [](TlbArray& t) {
         return t.invpcid(InvpcidType::IndividualAddress, 2, VirtAddr{0x30000});
       },
       {"a1", "a2", "g", "c1", "h1", "hg"}},
      {"invpcid individual keeps globals", [](TlbArray& t) {
         return t.invpcid(InvpcidType::IndividualAddress, 1, VirtAddr{0x20000});
       },
       all},
      {"invpcid single context 1", [](TlbArray& t) { return t.invpcid(InvpcidType::SingleContext, 1); },
       {"a2", "g", "c2", "hg"}},
      {"invpcid single context 2 (keeps PCID 2's global hg)",
       [](TlbArray& t) { return t.invpcid(InvpcidType::SingleContext, 2); }, {"a1", "g", "c1", "h1", "hg"}},
      {"invpcid all incl. globals", [](TlbArray& t) { return t.invpcid(InvpcidType::AllContextsInclGlobal, 0); },
       {}},
      {"invpcid all excl. globals", [](TlbArray& t) { return t.invpcid(InvpcidType::AllContextsExclGlobal, 0); },
       {"g", "hg"}},
      {"flush_all", [](TlbArray& t) { return t.flush_all(); }, {}},
      {"flush_non_global (root switch without PCID)", [](TlbArray& t) { return t.flush_non_global(); },
       {"g", "hg"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    TlbArray tlb = named_tlb();
    ASSERT_EQ(present(tlb), all);
    TlbRemoved removed = c.op(tlb);
    EXPECT_EQ(present(tlb), c.left);
    EXPECT_EQ(removed.total(), all.size() - c.left.size());
    EXPECT_EQ(tlb.valid_entries(), c.left.size());
    uint64_t left_2m = 0;
    for (const Named& n : kNamed) left_2m += (c.left.count(n.name) && n.size == PageSize::k2M) ? 1 : 0;
    EXPECT_EQ(removed.by_size[size_index(PageSize::k2M)], 2 - left_2m);
  }
}

TEST(TlbInvalidate, AddressFormsRemoveEverySplinterOfTheLeaf) {
  // A 4K-only array holding three 4K pieces of one 2 MiB leaf (SDM 4.10.2.3), in different sets.
  TlbArray tlb(make_cfg(16, 2, ReplacementPolicy::Lru, "4K"));
  const uint64_t leaf_va = 0x600000;
  TlbArrayEntry leaf = page_of(leaf_va, PageSize::k2M, 0x800, 1);
  for (uint64_t off : {0x1000u, 0x5000u, 0x1ff000u}) tlb.fill(splinter(leaf, VirtAddr{leaf_va + off}, PageSize::k4K));
  tlb.fill(page4k(0x602, 0x33, 1));  // an ordinary 4K page inside the same 2 MiB range is not a splinter
  tlb.fill(page4k(0x800, 0x44, 1));  // outside
  EXPECT_EQ(tlb.valid_entries(), 5u);
  TlbHit h = tlb.lookup(VirtAddr{leaf_va + 0x5abc}, 1);
  ASSERT_TRUE(h);
  EXPECT_EQ(h.entry->leaf_size, PageSize::k2M);
  EXPECT_EQ(h.entry->translate(VirtAddr{leaf_va + 0x5abc}).value(), 0x805abcu);

  // Another PCID leaves them alone; an address of the leaf with no entry of its own removes all three.
  EXPECT_EQ(tlb.invlpg(VirtAddr{leaf_va + 0x100000}, 2).total(), 0u);
  EXPECT_EQ(tlb.invlpg(VirtAddr{leaf_va + 0x100000}, 1).total(), 3u);
  EXPECT_EQ(tlb.valid_entries(), 2u);
  EXPECT_TRUE(tlb.peek(VirtAddr{0x602000}, 1));
  EXPECT_TRUE(tlb.peek(VirtAddr{0x800000}, 1));

  // INVPCID individual-address does the same for non-global splinters.
  for (uint64_t off : {0x0u, 0x3000u}) tlb.fill(splinter(leaf, VirtAddr{leaf_va + off}, PageSize::k4K));
  EXPECT_EQ(tlb.invpcid(InvpcidType::IndividualAddress, 1, VirtAddr{leaf_va + 0x1fffff}).total(), 2u);
  EXPECT_EQ(tlb.valid_entries(), 2u);
}

// ---------------------------------------------------------------------------------------------------
// Hierarchy.

TlbHierarchyConfig small_hierarchy() {
  TlbHierarchyConfig c;
  c.itlb = {make_cfg(8, 2, ReplacementPolicy::Lru, "4K")};
  c.itlb[0].hit_latency = 1;
  c.dtlb = {make_cfg(4, 4, ReplacementPolicy::Lru, "4K,2M")};
  c.dtlb[0].hit_latency = 2;
  c.stlb = {make_cfg(32, 4, ReplacementPolicy::Lru, "4K,2M,1G")};
  c.stlb[0].hit_latency = 7;
  return c;
}

void expect_level(const TlbLevelCounters& c, uint64_t lookups, uint64_t hits, uint64_t misses, uint64_t fills,
                  uint64_t evictions, uint64_t invalidations) {
  EXPECT_EQ(c.lookups, lookups);
  EXPECT_EQ(c.hits, hits);
  EXPECT_EQ(c.misses, misses);
  EXPECT_EQ(c.fills, fills);
  EXPECT_EQ(c.evictions, evictions);
  EXPECT_EQ(c.invalidations, invalidations);
  EXPECT_EQ(c.lookups, c.hits + c.misses);
  TlbSizeCounters sum;
  for (const TlbSizeCounters& s : c.by_size) {
    sum.hits += s.hits;
    sum.fills += s.fills;
    sum.evictions += s.evictions;
    sum.invalidations += s.invalidations;
  }
  EXPECT_EQ(sum.hits, c.hits);
  EXPECT_EQ(sum.fills, c.fills);
  EXPECT_EQ(sum.evictions, c.evictions);
  EXPECT_EQ(sum.invalidations, c.invalidations);
}

TEST(TlbHierarchy, LookupPathsLatenciesAndCountersWithoutDoubleCounting) {
  TlbHierarchy h(small_hierarchy());
  const VirtAddr va{0x7000123};
  const TlbArrayEntry e = page_of(va.value(), PageSize::k4K, 0x9000, 1);

  TlbLookup r = h.lookup(va, 1, AccessKind::Fetch);  // cold: ITLB miss, STLB miss
  EXPECT_EQ(r.level, TlbHitLevel::Miss);
  EXPECT_EQ(r.latency, 1u + 7u);
  EXPECT_EQ(r.entry, nullptr);
  TlbHierarchyFill f = h.fill(va, AccessKind::Fetch, e);  // after the walk: ITLB and STLB
  EXPECT_TRUE(f.l1.filled);
  EXPECT_TRUE(f.l2.filled);

  r = h.lookup(va, 1, AccessKind::Fetch);  // ITLB hit
  EXPECT_EQ(r.level, TlbHitLevel::L1);
  EXPECT_EQ(r.latency, 1u);
  EXPECT_EQ(r.pa.value(), 0x9000123u);

  r = h.lookup(va, 1, AccessKind::Read);  // DTLB miss, STLB hit: fills the DTLB
  EXPECT_EQ(r.level, TlbHitLevel::L2);
  EXPECT_EQ(r.latency, 2u + 7u);
  EXPECT_EQ(r.pa.value(), 0x9000123u);
  TlbHit in_stlb = h.stlb().array(0).peek(va, 1);
  ASSERT_TRUE(in_stlb);
  EXPECT_EQ(*r.entry, *in_stlb.entry);

  r = h.lookup(va, 1, AccessKind::Write);  // DTLB hit
  EXPECT_EQ(r.level, TlbHitLevel::L1);
  EXPECT_EQ(r.latency, 2u);

  const TlbHierarchyCounters c = h.counters();
  expect_level(c.itlb, 2, 1, 1, 1, 0, 0);
  expect_level(c.dtlb, 2, 1, 1, 1, 0, 0);
  expect_level(c.stlb, 2, 1, 1, 1, 0, 0);
  EXPECT_EQ(c.stlb.by_size[0].hits, 1u);
  EXPECT_EQ(c.dtlb.by_size[0].fills, 1u);

  // Invalidations reach every level and are counted where the entries were.
  EXPECT_EQ(h.invlpg(va, 1), 3u);
  const TlbHierarchyCounters after = h.counters();
  expect_level(after.itlb, 2, 1, 1, 1, 0, 1);
  expect_level(after.dtlb, 2, 1, 1, 1, 0, 1);
  expect_level(after.stlb, 2, 1, 1, 1, 0, 1);
  EXPECT_EQ(h.lookup(va, 1, AccessKind::Read).level, TlbHitLevel::Miss);

  h.reset_counters();
  expect_level(h.counters().dtlb, 0, 0, 0, 0, 0, 0);
}

TEST(TlbHierarchy, NonInclusiveEvictions) {
  TlbHierarchy h(small_hierarchy());
  // DTLB: 4 entries fully associative. Five data pages: the first is evicted from the DTLB only.
  for (uint64_t p = 0; p < 5; ++p) {
    const VirtAddr va{(0x100 + p) << kPageShift};
    EXPECT_EQ(h.lookup(va, 0, AccessKind::Read).level, TlbHitLevel::Miss);
    h.fill(va, AccessKind::Read, page4k(0x100 + p, 0x500 + p));
  }
  TlbHierarchyCounters c = h.counters();
  expect_level(c.dtlb, 5, 0, 5, 5, 1, 0);
  expect_level(c.stlb, 5, 0, 5, 5, 0, 0);
  EXPECT_EQ(c.dtlb.by_size[0].evictions, 1u);
  EXPECT_EQ(h.lookup(VirtAddr{0x100000}, 0, AccessKind::Read).level, TlbHitLevel::L2);  // still in the STLB

  // STLB set 0 (8 sets, 4 ways): pages 0x100, 0x108, ... Evict 0x100's STLB entry via fetch fills of other
  // pages of set 0; the DTLB copy (refilled above) survives.
  for (uint64_t k = 1; k <= 4; ++k) h.fill(VirtAddr{(0x100 + 8 * k) << kPageShift}, AccessKind::Fetch,
                                          page4k(0x100 + 8 * k, 0x900 + k));
  EXPECT_FALSE(h.stlb().array(0).peek(VirtAddr{0x100000}, 0));
  EXPECT_EQ(h.lookup(VirtAddr{0x100000}, 0, AccessKind::Read).level, TlbHitLevel::L1);
  EXPECT_EQ(h.counters().stlb.evictions, 1u);
}

TEST(TlbHierarchy, SplintersIntoSmallerLevelsAndInvalidatesThem) {
  TlbHierarchy h(small_hierarchy());  // ITLB holds 4K only; STLB holds all sizes
  const uint64_t base = 0x40000000;
  const TlbArrayEntry big = page_of(base, PageSize::k2M, 0x20000, 3);
  TlbHierarchyFill f = h.fill(VirtAddr{base + 0x1000}, AccessKind::Fetch, big);
  ASSERT_TRUE(f.l1.filled);
  EXPECT_EQ(f.l1.stored.size, PageSize::k4K);
  EXPECT_EQ(f.l1.stored.leaf_size, PageSize::k2M);
  EXPECT_EQ(f.l1.stored.pfn.value(), 0x20001u);
  EXPECT_EQ(f.l2.stored.size, PageSize::k2M);

  TlbLookup r = h.lookup(VirtAddr{base + 0x5004}, 3, AccessKind::Fetch);  // other 4K piece: from the STLB
  EXPECT_EQ(r.level, TlbHitLevel::L2);
  EXPECT_EQ(r.pa.value(), 0x20005004u);
  EXPECT_EQ(h.lookup(VirtAddr{base + 0x5008}, 3, AccessKind::Fetch).level, TlbHitLevel::L1);
  TlbHierarchyCounters c = h.counters();
  EXPECT_EQ(c.itlb.by_size[size_index(PageSize::k4K)].fills, 2u);
  EXPECT_EQ(c.stlb.by_size[size_index(PageSize::k2M)].fills, 1u);
  EXPECT_EQ(c.stlb.by_size[size_index(PageSize::k2M)].hits, 1u);

  EXPECT_EQ(h.invlpg(VirtAddr{base + 0x1ff000}, 3), 3u);  // two ITLB pieces + the STLB entry
  c = h.counters();
  EXPECT_EQ(c.itlb.by_size[size_index(PageSize::k4K)].invalidations, 2u);
  EXPECT_EQ(c.stlb.by_size[size_index(PageSize::k2M)].invalidations, 1u);
  EXPECT_EQ(h.itlb().valid_entries(), 0u);
}

TEST(TlbHierarchy, SeparateArraysPerSize) {
  TlbHierarchyConfig cfg = small_hierarchy();
  cfg.dtlb = {make_cfg(16, 4, ReplacementPolicy::Lru, "4K"), make_cfg(8, 8, ReplacementPolicy::Plru, "2M"),
              make_cfg(4, 4, ReplacementPolicy::Fifo, "1G")};
  cfg.dtlb[0].hit_latency = 1;
  cfg.dtlb[1].hit_latency = 2;
  cfg.dtlb[2].hit_latency = 3;
  TlbHierarchy h(cfg);
  EXPECT_EQ(h.dtlb().num_arrays(), 3u);
  EXPECT_EQ(h.dtlb().miss_latency(), 3u);
  const uint64_t va2m = 0x40200000;
  h.fill(VirtAddr{va2m}, AccessKind::Write, page_of(va2m, PageSize::k2M, 0x400));
  h.fill(VirtAddr{0x3000}, AccessKind::Write, page_of(0x3000, PageSize::k4K, 0x33));
  EXPECT_EQ(h.dtlb().array(1).valid_entries(), 1u);
  EXPECT_EQ(h.dtlb().array(0).valid_entries(), 1u);
  TlbLookup r = h.lookup(VirtAddr{va2m + 0x1234}, 0, AccessKind::Read);
  EXPECT_EQ(r.level, TlbHitLevel::L1);
  EXPECT_EQ(r.latency, 2u);
  EXPECT_EQ(h.lookup(VirtAddr{0x3000}, 0, AccessKind::Read).latency, 1u);
  EXPECT_EQ(h.lookup(VirtAddr{0x9000}, 0, AccessKind::Read).latency, 3u + 7u);  // miss: max L1 + STLB

  // A level that holds no size <= the entry's caches nothing.
  TlbLevel only_big({make_cfg(4, 4, ReplacementPolicy::Lru, "2M,1G")}, "x");
  EXPECT_FALSE(only_big.stored_size(PageSize::k4K));
  EXPECT_FALSE(only_big.fill(VirtAddr{0x3000}, page_of(0x3000, PageSize::k4K, 0x33)).filled);
  EXPECT_EQ(only_big.counters().fills, 0u);
  EXPECT_THROW(only_big.fill(VirtAddr{0x5000}, page_of(0x3000, PageSize::k4K, 0x33)), std::invalid_argument);
}

TEST(TlbHierarchy, EveryInvalidationFormReachesAllLevels) {
  auto loaded = [] {
    TlbHierarchy h(small_hierarchy());
    h.fill(VirtAddr{0x1000}, AccessKind::Fetch, page4k(1, 11, 1));        // ITLB + STLB
    h.fill(VirtAddr{0x2000}, AccessKind::Read, page4k(2, 12, 2));         // DTLB + STLB
    h.fill(VirtAddr{0x3000}, AccessKind::Read, page4k(3, 13, 1, true));  // DTLB + STLB, global
    return h;
  };
  struct Case {
    const char* what;
    std::function<uint64_t(TlbHierarchy&)> op;
    uint64_t removed;
  };
  const std::vector<Case> cases = {
      {"invlpg", [](TlbHierarchy& h) { return h.invlpg(VirtAddr{0x1000}, 1); }, 2},
      {"invpcid individual", [](TlbHierarchy& h) {
         return h.invpcid(InvpcidType::IndividualAddress, 2, VirtAddr{0x2000});
       }, 2},
      {"invpcid single context", [](TlbHierarchy& h) { return h.invpcid(InvpcidType::SingleContext, 1); }, 2},
      {"invpcid all incl", [](TlbHierarchy& h) { return h.invpcid(InvpcidType::AllContextsInclGlobal, 0); }, 6},
      {"invpcid all excl", [](TlbHierarchy& h) { return h.invpcid(InvpcidType::AllContextsExclGlobal, 0); }, 4},
      {"flush_all", [](TlbHierarchy& h) { return h.flush_all(); }, 6},
      {"flush_non_global", [](TlbHierarchy& h) { return h.flush_non_global(); }, 4},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    TlbHierarchy h = loaded();
    EXPECT_EQ(c.op(h), c.removed);
    const TlbHierarchyCounters k = h.counters();
    EXPECT_EQ(k.itlb.invalidations + k.dtlb.invalidations + k.stlb.invalidations, c.removed);
    EXPECT_EQ(h.itlb().valid_entries() + h.dtlb().valid_entries() + h.stlb().valid_entries(), 6 - c.removed);
  }
}

// ---------------------------------------------------------------------------------------------------
// Configuration.

TEST(TlbConfigValidation, ErrorsNameTheKey) {
  auto bad = [](std::function<void(TlbArrayConfig&)> edit, const std::vector<std::string>& needles) {
    TlbArrayConfig c;
    edit(c);
    expect_input_error([&] { c.validate("mmu.dtlb[0]"); }, needles);
    expect_input_error([&] { TlbArray a(c, "mmu.dtlb[0]"); }, needles);
  };
  bad([](TlbArrayConfig& c) { c.entries = 0; }, {"mmu.dtlb[0].entries", "'0'"});
  bad([](TlbArrayConfig& c) { c.entries = uint64_t{1} << 21; }, {"mmu.dtlb[0].entries"});
  bad([](TlbArrayConfig& c) { c.ways = 0; }, {"mmu.dtlb[0].ways"});
  bad([](TlbArrayConfig& c) { c.ways = 3; }, {"mmu.dtlb[0].ways", "'3'", "divide entries (64)"});
  bad([](TlbArrayConfig& c) { c.ways = 128; }, {"mmu.dtlb[0].ways"});
  bad([](TlbArrayConfig& c) {
        c.entries = 48;
        c.ways = 12;
        c.replacement = ReplacementPolicy::Plru;
      },
      {"mmu.dtlb[0].ways", "'12'", "plru"});
  bad([](TlbArrayConfig& c) {
        c.entries = 128;
        c.ways = 128;
        c.replacement = ReplacementPolicy::Plru;
      },
      {"mmu.dtlb[0].ways", "plru"});
  bad([](TlbArrayConfig& c) { c.page_sizes = "8K"; }, {"mmu.dtlb[0].page_sizes", "'8K'"});
  bad([](TlbArrayConfig& c) { c.page_sizes = "4K,4K"; }, {"mmu.dtlb[0].page_sizes"});
  bad([](TlbArrayConfig& c) { c.page_sizes = ""; }, {"mmu.dtlb[0].page_sizes"});
  bad([](TlbArrayConfig& c) { c.seed = 0; }, {"mmu.dtlb[0].seed"});

  TlbArrayConfig ok;
  ok.entries = 48;
  ok.ways = 12;  // 4 sets; fine for LRU
  ok.page_sizes = "2M, 4K";
  EXPECT_NO_THROW(ok.validate("t"));
  ok.entries = 64;
  ok.ways = 64;
  ok.replacement = ReplacementPolicy::Plru;  // fully associative PLRU up to 64 ways
  EXPECT_NO_THROW(ok.validate("t"));
  ok.ways = 1;  // direct mapped
  EXPECT_NO_THROW(ok.validate("t"));
}

TEST(TlbConfigValidation, HierarchyLevels) {
  TlbHierarchyConfig c;
  EXPECT_NO_THROW(c.validate("mmu"));
  c.dtlb = {make_cfg(16, 4, ReplacementPolicy::Lru, "4K,2M"), make_cfg(4, 4, ReplacementPolicy::Lru, "2M,1G")};
  expect_input_error([&] { c.validate("mmu"); }, {"mmu.dtlb[1].page_sizes", "2M", "already held"});
  expect_input_error([&] { TlbHierarchy h(c, "mmu"); }, {"mmu.dtlb[1].page_sizes"});
  c = TlbHierarchyConfig{};
  c.stlb.clear();
  expect_input_error([&] { c.validate("mmu"); }, {"mmu.stlb", "at least one array"});
  c = TlbHierarchyConfig{};
  c.itlb[0].ways = 5;
  expect_input_error([&] { c.validate("mmu"); }, {"mmu.itlb[0].ways"});
}

TEST(TlbConfigValidation, LoadsFromYamlWithEnumNames) {
  YAML::Node n = YAML::Load(
      "itlb: [{entries: 32, ways: 8, replacement: plru, page_sizes: 4K}]\n"
      "dtlb:\n"
      "  - {entries: 64, ways: 4, page_sizes: 4K}\n"
      "  - {entries: 32, ways: 32, replacement: random, seed: 99, page_sizes: '2M,1G', hit_latency: 2}\n");
  TlbHierarchyConfig c;
  config::Loader loader(n, "mmu", "test.yaml");
  c.visit(loader);
  loader.finish();
  ASSERT_EQ(c.itlb.size(), 1u);
  EXPECT_EQ(c.itlb[0].replacement, ReplacementPolicy::Plru);
  ASSERT_EQ(c.dtlb.size(), 2u);
  EXPECT_EQ(c.dtlb[1].replacement, ReplacementPolicy::Random);
  EXPECT_EQ(c.dtlb[1].seed, 99u);
  EXPECT_EQ(c.dtlb[1].hit_latency, 2u);
  EXPECT_EQ(c.stlb.size(), 1u);  // absent: the default
  EXPECT_EQ(c.stlb[0].entries, 1024u);
  EXPECT_NO_THROW(c.validate("mmu"));
  TlbHierarchy h(c, "mmu");
  EXPECT_EQ(h.dtlb().array(1).hit_latency(), 2u);

  YAML::Emitter out;
  out << YAML::BeginMap;
  config::Writer w(out);
  c.visit(w);
  out << YAML::EndMap;
  const std::string dumped = out.c_str();
  EXPECT_NE(dumped.find("replacement: plru"), std::string::npos) << dumped;
  EXPECT_NE(dumped.find("replacement: random"), std::string::npos) << dumped;

  YAML::Node badn = YAML::Load("dtlb: [{replacement: mru}]\n");
  TlbHierarchyConfig b;
  config::Loader bl(badn, "mmu", "test.yaml");
  expect_input_error([&] { b.visit(bl); }, {"mmu.dtlb[0].replacement", "mru", "lru | plru | fifo | random"});
}

// One default per key: an array written with some keys takes the rest from its level's default array,
// exactly as when the level is left out (stlb: [{entries: 2048}] keeps 8 ways, 7 cycles, every page size).
TEST(TlbConfigValidation, PartialArraysTakeTheirLevelsDefaults) {
  TlbHierarchyConfig c;
  config::Loader loader(YAML::Load("stlb: [{entries: 2048}]\ndtlb: [{entries: 32}]\n"), "mmu", "test.yaml");
  c.visit(loader);
  loader.finish();
  const TlbArrayConfig stlb = TlbHierarchyConfig::default_stlb();
  EXPECT_EQ(c.stlb[0].entries, 2048u);
  EXPECT_EQ(c.stlb[0].ways, stlb.ways);
  EXPECT_EQ(c.stlb[0].hit_latency, stlb.hit_latency);
  EXPECT_EQ(c.stlb[0].page_sizes, stlb.page_sizes);
  EXPECT_EQ(stlb.ways, 8u);
  EXPECT_EQ(stlb.hit_latency, 7u);
  EXPECT_EQ(stlb.page_sizes, "4K,2M,1G");
  EXPECT_EQ(c.dtlb[0].entries, 32u);
  EXPECT_EQ(c.dtlb[0].page_sizes, "4K,2M,1G");
  EXPECT_EQ(c.itlb[0].entries, 64u);
  // The key reference documents the same defaults.
  std::vector<config::KeyDoc> rows;
  TlbHierarchyConfig d;
  config::Documenter doc(rows);
  d.visit(doc);
  auto default_of = [&](const std::string& path) {
    for (const auto& r : rows) {
      if (r.path == path) return r.default_value;
    }
    return std::string("?");
  };
  EXPECT_EQ(default_of("stlb[].entries"), "1024");
  EXPECT_EQ(default_of("stlb[].ways"), "8");
  EXPECT_EQ(default_of("stlb[].hit_latency"), "7");
  EXPECT_EQ(default_of("stlb[].page_sizes"), "4K,2M,1G");
  EXPECT_EQ(default_of("dtlb[].entries"), "64");
  EXPECT_EQ(default_of("dtlb[].page_sizes"), "4K,2M,1G");
}

// ---------------------------------------------------------------------------------------------------
// Randomized differential test against a reference model written independently of TlbArray: per set, a
// std::map from last-use sequence number to entry (LRU: begin() is the victim; FIFO: the sequence number
// is set at insertion only); lookups scan the set; invalidations scan everything.

class RefTlb {
 public:
  RefTlb(uint64_t sets, uint64_t ways, PageSizeMask sizes, bool fifo)
      : m_sets(sets), m_ways(ways), m_sizes(sizes), m_fifo(fifo), m_data(sets) {}

  // touch = false: a probe that leaves the recency order alone.
  std::optional<TlbArrayEntry> lookup(uint64_t va, Pcid pcid, bool touch = true) {
    for (PageSize s : kAllPageSizes) {
      if (!(m_sizes & mask_of(s))) continue;
      auto& set = m_data[(va >> page_shift(s)) % m_sets];
      for (auto it = set.begin(); it != set.end(); ++it) {
        const TlbArrayEntry& e = it->second;
        const uint64_t base = e.vpn.value() << kPageShift;
        if (e.size == s && va >= base && va - base < page_bytes(s) && (e.global || e.pcid == pcid)) {
          TlbArrayEntry copy = e;
          if (touch && !m_fifo) {
            set.erase(it);
            set.emplace(++m_seq, copy);
          }
          return copy;
        }
      }
    }
    return std::nullopt;
  }

  struct FillOutcome {
    bool evicted = false;
    bool replaced = false;
    uint32_t dropped = 0;
    TlbArrayEntry victim;
  };
  FillOutcome fill(const TlbArrayEntry& e) {
    FillOutcome out;
    auto& set = m_data[(e.vpn.value() >> (9 * size_index(e.size))) % m_sets];
    uint32_t same = 0;
    for (auto it = set.begin(); it != set.end();) {
      const TlbArrayEntry& o = it->second;
      if (o.size == e.size && o.vpn == e.vpn && (o.global || e.global || o.pcid == e.pcid)) {
        ++same;
        it = set.erase(it);
      } else {
        ++it;
      }
    }
    out.replaced = same > 0;
    out.dropped = same > 0 ? same - 1 : 0;
    if (same == 0 && set.size() == m_ways) {
      out.evicted = true;
      out.victim = set.begin()->second;
      set.erase(set.begin());
    }
    TlbArrayEntry stored = e;
    stored.valid = true;
    set.emplace(++m_seq, stored);
    return out;
  }

  TlbRemoved remove_if(const std::function<bool(const TlbArrayEntry&)>& pred) {
    TlbRemoved r;
    for (auto& set : m_data) {
      for (auto it = set.begin(); it != set.end();) {
        if (pred(it->second)) {
          ++r.by_size[size_index(it->second.size)];
          it = set.erase(it);
        } else {
          ++it;
        }
      }
    }
    return r;
  }

  std::vector<TlbArrayEntry> contents() const {
    std::vector<TlbArrayEntry> all;
    for (const auto& set : m_data) {
      for (const auto& kv : set) all.push_back(kv.second);
    }
    return all;
  }

 private:
  uint64_t m_sets;
  uint64_t m_ways;
  PageSizeMask m_sizes;
  bool m_fifo;
  uint64_t m_seq = 0;
  std::vector<std::map<uint64_t, TlbArrayEntry>> m_data;
};

bool leaf_contains(const TlbArrayEntry& e, uint64_t va) {
  const uint64_t leaf_base = (e.vpn.value() << kPageShift) & ~(page_bytes(e.leaf_size) - 1);
  return va >= leaf_base && va - leaf_base < page_bytes(e.leaf_size);
}

std::vector<TlbArrayEntry> sorted(std::vector<TlbArrayEntry> v) {
  auto key = [](const TlbArrayEntry& e) {
    return std::make_tuple(e.vpn.value(), size_index(e.size), e.pcid, e.global, e.pfn.value());
  };
  std::sort(v.begin(), v.end(), [&](const TlbArrayEntry& a, const TlbArrayEntry& b) { return key(a) < key(b); });
  return v;
}

void run_differential(const TlbArrayConfig& cfg, uint64_t ops, uint64_t seed) {
  TlbArray tlb(cfg, "diff");
  RefTlb ref(tlb.sets(), tlb.ways(), tlb.page_sizes(), cfg.replacement == ReplacementPolicy::Fifo);
  std::mt19937_64 rng(seed);
  auto pick = [&](uint64_t n) { return rng() % n; };
  std::vector<PageSize> held;
  for (PageSize s : kAllPageSizes) {
    if (tlb.holds(s)) held.push_back(s);
  }
  // Addresses from a small pool so that pages, sets and PCIDs collide often: 3 GiB regions x 6 2 MiB
  // regions x 24 4 KiB pages, plus a random offset.
  auto random_va = [&] {
    return (pick(3) << 30) | (pick(6) << 21) | (pick(24) << 12) | pick(kPageSize);
  };
  uint64_t hits = 0, evictions = 0, replaced = 0, dropped = 0, removed = 0, splinters = 0;
  for (uint64_t i = 0; i < ops; ++i) {
    const uint64_t dice = pick(1000);
    const uint64_t va = random_va();
    const Pcid pcid = static_cast<Pcid>(pick(4));
    if (dice < 450) {
      TlbHit h = tlb.lookup(VirtAddr{va}, pcid);
      std::optional<TlbArrayEntry> r = ref.lookup(va, pcid);
      ASSERT_EQ(static_cast<bool>(h), r.has_value()) << "op " << i << " lookup va " << std::hex << va;
      if (h) {
        ASSERT_EQ(*h.entry, *r) << "op " << i;
        ++hits;
      }
    } else if (dice < 850) {
      const PageSize size = held[pick(held.size())];
      // A leaf of size >= size; if larger, the entry is its splinter at `size`.
      const uint64_t larger = pick(8) == 0 ? pick(kNumPageSizes - size_index(size)) : 0;
      const PageSize leaf = static_cast<PageSize>(size_index(size) + larger);
      const uint64_t frame = (pick(1u << 20) << 18) + ((va >> kPageShift) & (page_frames(leaf) - 1));
      TlbArrayEntry e = TlbArrayEntry::make(VirtAddr{va}, leaf, Pfn{frame}, pcid);
      e.global = pick(10) == 0;
      e.writable = pick(2);
      e.user = pick(2);
      e.no_execute = pick(2);
      e.dirty = pick(2);
      if (leaf != size) {
        e = splinter(e, VirtAddr{va}, size);
        ++splinters;
      }
      TlbFillResult f = tlb.fill(e);
      RefTlb::FillOutcome o = ref.fill(e);
      ASSERT_EQ(f.evicted, o.evicted) << "op " << i;
      ASSERT_EQ(f.replaced, o.replaced) << "op " << i;
      ASSERT_EQ(f.dropped, o.dropped) << "op " << i;
      if (f.evicted) {
        ASSERT_EQ(f.victim, o.victim) << "op " << i;
      }
      TlbHit now = tlb.peek(VirtAddr{va}, pcid);
      std::optional<TlbArrayEntry> ref_now = ref.lookup(va, pcid, false);
      ASSERT_TRUE(now && ref_now) << "op " << i;
      ASSERT_EQ(*now.entry, *ref_now) << "op " << i;
      evictions += f.evicted;
      replaced += f.replaced;
      dropped += f.dropped;
    } else {
      TlbRemoved got;
      TlbRemoved want;
      if (dice < 920) {
        got = tlb.invlpg(VirtAddr{va}, pcid);
        want = ref.remove_if(
            [&](const TlbArrayEntry& e) { return leaf_contains(e, va) && (e.global || e.pcid == pcid); });
      } else if (dice < 990) {
        got = tlb.invpcid(InvpcidType::IndividualAddress, pcid, VirtAddr{va});
        want = ref.remove_if(
            [&](const TlbArrayEntry& e) { return leaf_contains(e, va) && !e.global && e.pcid == pcid; });
      } else if (dice < 996) {
        got = tlb.invpcid(InvpcidType::SingleContext, pcid);
        want = ref.remove_if([&](const TlbArrayEntry& e) { return !e.global && e.pcid == pcid; });
      } else if (dice < 998) {
        got = tlb.flush_non_global();
        want = ref.remove_if([](const TlbArrayEntry& e) { return !e.global; });
      } else {
        got = tlb.flush_all();
        want = ref.remove_if([](const TlbArrayEntry&) { return true; });
      }
      ASSERT_EQ(got.by_size, want.by_size) << "op " << i;
      removed += got.total();
    }
    if (i % 4096 == 0 || i + 1 == ops) {
      std::vector<TlbArrayEntry> mine;
      for (uint32_t s = 0; s < tlb.sets(); ++s) {
        for (uint32_t w = 0; w < tlb.ways(); ++w) {
          if (tlb.at(s, w).valid) mine.push_back(tlb.at(s, w));
        }
      }
      ASSERT_EQ(sorted(mine), sorted(ref.contents())) << "op " << i;
    }
  }
  // The run must have exercised every path.
  EXPECT_GT(hits, ops / 20);
  EXPECT_GT(evictions, ops / 100);
  EXPECT_GT(replaced, 0u);
  EXPECT_GT(dropped, 0u);
  EXPECT_GT(removed, 0u);
  EXPECT_GT(splinters, 0u);
}

TEST(TlbDifferential, FullyAssociativeLruMixedSizes) {
  run_differential(make_cfg(32, 32, ReplacementPolicy::Lru, "4K,2M,1G"), 1000000, 1);
}

TEST(TlbDifferential, SetAssociativeLruMixedSizes) {
  run_differential(make_cfg(64, 4, ReplacementPolicy::Lru, "4K,2M,1G"), 1000000, 2);
}

TEST(TlbDifferential, NonPowerOfTwoSetsFifo) {
  run_differential(make_cfg(48, 4, ReplacementPolicy::Fifo, "4K,2M"), 1000000, 3);
}

// rank(set, way) is the way's position in order(set), stamp ties included (never-used ways).
TEST(TlbReplacement, RankIsPositionInOrder) {
  for (ReplacementPolicy policy : {ReplacementPolicy::Lru, ReplacementPolicy::Fifo}) {
    ReplacementState st(policy, 2, 8, 1);
    std::mt19937_64 rng(5);
    for (int i = 0; i < 2000; ++i) {
      const uint32_t set = static_cast<uint32_t>(rng() % 2);
      const std::vector<uint32_t> order = st.order(set);
      for (uint32_t pos = 0; pos < order.size(); ++pos) ASSERT_EQ(st.rank(set, order[pos]), pos);
      const uint32_t way = static_cast<uint32_t>(rng() % 8);
      if (rng() % 2) {
        st.on_fill(set, way);
      } else {
        st.on_hit(set, way);
      }
    }
  }
  EXPECT_EQ(ReplacementState(ReplacementPolicy::Plru, 1, 4, 1).rank(0, 3), 0u);
}

// The per-level memo of the last hit must be invisible: a level whose memo is defeated before every
// lookup (the mutable array() accessor forgets it) sees the same hits, entries, counters and victim
// choices over a random mix of repeated lookups, fills and invalidations, for every policy.
TEST(TlbLevelMemo, InvisibleAgainstAFullSearch) {
  for (ReplacementPolicy pol : {ReplacementPolicy::Lru, ReplacementPolicy::Plru, ReplacementPolicy::Fifo,
                                 ReplacementPolicy::Random, ReplacementPolicy::Srrip, ReplacementPolicy::Brrip}) {
    std::vector<TlbArrayConfig> arrays = {make_cfg(16, 4, pol, "4K"), make_cfg(8, 2, pol, "2M,1G")};
    TlbLevel memo(arrays, "memo");
    TlbLevel full(arrays, "full");
    std::mt19937_64 rng(7 + static_cast<unsigned>(pol));
    uint64_t memo_hits = 0;  // lookups the memo answers: a hit on the same page and PCID, nothing changed since
    uint64_t last_page = ~0ull;
    Pcid last_pcid = 0;
    VirtAddr va{0};
    for (int i = 0; i < 200000; ++i) {
      const uint64_t dice = rng() % 100;
      const Pcid pcid = static_cast<Pcid>(1 + rng() % 2);
      if (dice < 60 || i == 0) {
        // Mostly repeats of the previous page (the memo's case), else a new page in a small space.
        if (rng() % 4 != 0) va = VirtAddr{((rng() % 64) << kPageShift) | (rng() % 4096) | (uint64_t{1} << 30)};
      }
      if (dice < 80) {
        for (size_t a = 0; a < full.num_arrays(); ++a) full.array(a);  // defeat full's memo
        const bool repeat = (va.value() >> kPageShift) == last_page && pcid == last_pcid;
        TlbLevelHit m = memo.lookup(va, pcid);
        TlbLevelHit f = full.lookup(va, pcid);
        ASSERT_EQ(static_cast<bool>(m), static_cast<bool>(f)) << i;
        if (m) {
          ASSERT_EQ(*m.hit.entry, *f.hit.entry) << i;
          ASSERT_EQ(m.hit.set, f.hit.set);
          ASSERT_EQ(m.hit.way, f.hit.way);
          ASSERT_EQ(m.array, f.array);
          memo_hits += repeat;
          last_page = va.value() >> kPageShift;
          last_pcid = pcid;
        } else {
          last_page = ~0ull;
        }
      } else if (dice < 95) {
        const bool big = rng() % 4 == 0;
        const PageSize s = big ? PageSize::k2M : PageSize::k4K;
        TlbArrayEntry e = TlbArrayEntry::make(
            va, s, Pfn{big ? ((rng() % 1024) << 9) + ((va.value() >> kPageShift) & 511) : rng() % 1024}, pcid);
        e.global = rng() % 16 == 0;
        last_page = ~0ull;
        TlbLevelFill fm = memo.fill(va, e);
        TlbLevelFill ff = full.fill(va, e);
        ASSERT_EQ(fm.result.set, ff.result.set) << i;
        ASSERT_EQ(fm.result.way, ff.result.way) << i;  // same victim choice
      } else if (dice < 98) {
        last_page = ~0ull;
        ASSERT_EQ(memo.invlpg(va, pcid).total(), full.invlpg(va, pcid).total());
      } else {
        last_page = ~0ull;
        ASSERT_EQ(memo.invpcid(InvpcidType::SingleContext, pcid).total(),
                  full.invpcid(InvpcidType::SingleContext, pcid).total());
      }
    }
    const TlbLevelCounters& a = memo.counters();
    const TlbLevelCounters& b = full.counters();
    EXPECT_EQ(a.lookups, b.lookups);
    EXPECT_EQ(a.hits, b.hits);
    EXPECT_EQ(a.misses, b.misses);
    EXPECT_EQ(a.evictions, b.evictions);
    for (unsigned s = 0; s < kNumPageSizes; ++s) EXPECT_EQ(a.by_size[s].hits, b.by_size[s].hits);
    for (size_t k = 0; k < memo.num_arrays(); ++k) {
      for (uint32_t set = 0; set < memo.array(k).sets(); ++set) {
        EXPECT_EQ(memo.array(k).replacement().order(set), full.array(k).replacement().order(set));
        EXPECT_EQ(memo.array(k).replacement().plru_bits(set), full.array(k).replacement().plru_bits(set));
        EXPECT_EQ(memo.array(k).next_victim(set), full.array(k).next_victim(set)) << "random state too";
      }
    }
    EXPECT_GT(memo_hits, 10000u) << "the memo path was exercised";
  }
}

}  // namespace
}  // namespace vmsim::mmu
