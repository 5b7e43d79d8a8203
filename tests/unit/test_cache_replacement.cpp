// Unit tests of the SRRIP and BRRIP policies of the shared replacement library (hand-worked sequences), and
// of their use by TLB arrays (victims, configuration, the RTL restriction).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/error.hpp"
#include "models/mmu/replacement.hpp"
#include "models/mmu/tlb_array.hpp"

namespace vmsim::mmu {
namespace {

std::vector<int> rrpvs(const ReplacementState& r, uint32_t set, uint32_t ways) {
  std::vector<int> v;
  for (uint32_t w = 0; w < ways; ++w) v.push_back(r.rrpv(set, w));
  return v;
}

TEST(CacheReplacement, SrripHandWorked) {
  ReplacementState r(ReplacementPolicy::Srrip, 2, 4, 1);
  // Fill A, B, C, D into ways 0..3 (the array fills invalid ways first): each at RRPV 2.
  for (uint32_t w = 0; w < 4; ++w) r.on_fill(0, w);
  EXPECT_EQ(rrpvs(r, 0, 4), (std::vector<int>{2, 2, 2, 2}));
  r.on_hit(0, 0);  // A
  r.on_hit(0, 2);  // C
  EXPECT_EQ(rrpvs(r, 0, 4), (std::vector<int>{0, 2, 0, 2}));
  // Fill E: no RRPV 3, age all by 1 -> [1,3,1,3], victim way 1 (first 3), filled at 2.
  EXPECT_EQ(r.peek_victim(0), 1u);
  EXPECT_EQ(rrpvs(r, 0, 4), (std::vector<int>{0, 2, 0, 2}));  // peek does not age
  EXPECT_EQ(r.choose_victim(0), 1u);
  EXPECT_EQ(rrpvs(r, 0, 4), (std::vector<int>{1, 3, 1, 3}));
  r.on_fill(0, 1);
  EXPECT_EQ(rrpvs(r, 0, 4), (std::vector<int>{1, 2, 1, 3}));
  // Fill F: way 3 already at 3, no aging.
  EXPECT_EQ(r.choose_victim(0), 3u);
  r.on_fill(0, 3);
  EXPECT_EQ(rrpvs(r, 0, 4), (std::vector<int>{1, 2, 1, 2}));
  r.on_hit(0, 1);  // E
  EXPECT_EQ(rrpvs(r, 0, 4), (std::vector<int>{1, 0, 1, 2}));
  // Fill G: age by 1 -> [2,1,2,3], victim 3.
  EXPECT_EQ(r.choose_victim(0), 3u);
  r.on_fill(0, 3);
  EXPECT_EQ(rrpvs(r, 0, 4), (std::vector<int>{2, 1, 2, 2}));
  // Fill H: age by 1 -> [3,2,3,3], victim 0 (the first 3 from way 0).
  EXPECT_EQ(r.choose_victim(0), 0u);
  r.on_fill(0, 0);
  EXPECT_EQ(rrpvs(r, 0, 4), (std::vector<int>{2, 2, 3, 3}));
  // Fill I: way 2 is the first at 3.
  EXPECT_EQ(r.choose_victim(0), 2u);
  r.on_fill(0, 2);
  EXPECT_EQ(rrpvs(r, 0, 4), (std::vector<int>{2, 2, 2, 3}));
  // The other set was never touched: its ways start at 3 (victim way 0).
  EXPECT_EQ(rrpvs(r, 1, 4), (std::vector<int>{3, 3, 3, 3}));
  EXPECT_EQ(r.peek_victim(1), 0u);
  EXPECT_TRUE(r.order(0).empty());
  EXPECT_EQ(r.fill_count(), 0u);  // Srrip keeps no bimodal counter
}

TEST(CacheReplacement, BrripHandWorked) {
  ReplacementState r(ReplacementPolicy::Brrip, 1, 2, 1);
  r.on_fill(0, 0);  // fill 1: distant
  r.on_fill(0, 1);  // fill 2
  EXPECT_EQ(rrpvs(r, 0, 2), (std::vector<int>{3, 3}));
  r.on_hit(0, 0);
  EXPECT_EQ(rrpvs(r, 0, 2), (std::vector<int>{0, 3}));
  // A scan of new lines keeps replacing way 1; the reused line in way 0 survives.
  for (int fill = 3; fill <= 31; ++fill) {
    EXPECT_EQ(r.choose_victim(0), 1u) << fill;
    r.on_fill(0, 1);
    EXPECT_EQ(rrpvs(r, 0, 2), (std::vector<int>{0, 3})) << fill;
  }
  // Fill 32 inserts at 2 ("long").
  EXPECT_EQ(r.choose_victim(0), 1u);
  r.on_fill(0, 1);
  EXPECT_EQ(r.fill_count(), 32u);
  EXPECT_EQ(rrpvs(r, 0, 2), (std::vector<int>{0, 2}));
  // Fill 33: max RRPV 2 at way 1 -> age by 1 -> [1,3], victim 1, inserted at 3.
  EXPECT_EQ(r.choose_victim(0), 1u);
  EXPECT_EQ(rrpvs(r, 0, 2), (std::vector<int>{1, 3}));
  r.on_fill(0, 1);
  EXPECT_EQ(rrpvs(r, 0, 2), (std::vector<int>{1, 3}));
  r.on_hit(0, 1);
  EXPECT_EQ(rrpvs(r, 0, 2), (std::vector<int>{1, 0}));
  // Fill 34: age by 2 -> [3,2], victim 0.
  EXPECT_EQ(r.peek_victim(0), 0u);
  EXPECT_EQ(r.choose_victim(0), 0u);
  EXPECT_EQ(rrpvs(r, 0, 2), (std::vector<int>{3, 2}));
  r.on_fill(0, 0);
  EXPECT_EQ(rrpvs(r, 0, 2), (std::vector<int>{3, 2}));
  // Fills 35..64: the 64th inserts at 2 again.
  for (int fill = 35; fill <= 63; ++fill) r.on_fill(0, 0);
  EXPECT_EQ(r.rrpv(0, 0), 3);
  r.on_fill(0, 0);
  EXPECT_EQ(r.fill_count(), 64u);
  EXPECT_EQ(r.rrpv(0, 0), 2);
}

TEST(CacheReplacement, RripNeedsNoPowerOfTwoWays) {
  ReplacementState r(ReplacementPolicy::Srrip, 1, 11, 1);
  for (uint32_t w = 0; w < 11; ++w) r.on_fill(0, w);
  r.on_hit(0, 0);
  EXPECT_EQ(r.choose_victim(0), 1u);
  EXPECT_EQ(r.rrpv(0, 10), 3);
  EXPECT_EQ(r.rrpv(0, 0), 1);
}

TEST(CacheReplacement, TlbArraysAcceptSrripAndBrrip) {
  TlbArrayConfig c;
  c.entries = 4;
  c.ways = 4;
  c.replacement = ReplacementPolicy::Srrip;
  EXPECT_NO_THROW(c.validate("mmu.dtlb[0]"));
  TlbArray tlb(c, "mmu.dtlb[0]");
  auto page = [](uint64_t vpn) { return TlbArrayEntry::make(VirtAddr{vpn << kPageShift}, PageSize::k4K, Pfn{vpn + 0x100}, 0); };
  for (uint64_t p = 1; p <= 4; ++p) EXPECT_EQ(tlb.fill(page(p)).way, p - 1);
  ASSERT_TRUE(tlb.lookup(VirtAddr{1 << kPageShift}, 0));
  ASSERT_TRUE(tlb.lookup(VirtAddr{3 << kPageShift}, 0));
  // RRPVs [0,2,0,2]: the next fill ages to [1,3,1,3] and evicts page 2 (way 1).
  EXPECT_EQ(tlb.next_victim(0), 1u);
  TlbFillResult r = tlb.fill(page(5));
  EXPECT_EQ(r.way, 1u);
  ASSERT_TRUE(r.evicted);
  EXPECT_EQ(r.victim.vpn.value(), 2u);
  r = tlb.fill(page(6));  // way 3 (RRPV 3) next
  EXPECT_EQ(r.way, 3u);
  EXPECT_EQ(r.victim.vpn.value(), 4u);
  EXPECT_TRUE(tlb.lookup(VirtAddr{1 << kPageShift}, 0));

  // The RTL TLB implements lru, plru and fifo only.
  c.impl = TlbImpl::Rtl;
  try {
    c.validate("mmu.dtlb[0]");
    ADD_FAILURE() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("mmu.dtlb[0].replacement"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'srrip'"), std::string::npos) << e.what();
  }
}

TEST(CacheReplacement, ConfigNamesLoadFromYaml) {
  YAML::Node n = YAML::Load("dtlb: [{entries: 16, ways: 4, replacement: brrip}]\nstlb: [{replacement: srrip}]\n");
  TlbHierarchyConfig c;
  config::Loader loader(n, "mmu", "t.yaml");
  c.visit(loader);
  loader.finish();
  EXPECT_EQ(c.dtlb[0].replacement, ReplacementPolicy::Brrip);
  EXPECT_EQ(c.stlb[0].replacement, ReplacementPolicy::Srrip);
  EXPECT_STREQ(config::enum_name(ReplacementPolicy::Srrip), "srrip");
  EXPECT_NO_THROW(c.validate("mmu"));
  TlbHierarchy h(c, "mmu");
  EXPECT_EQ(h.dtlb().array(0).replacement().policy(), ReplacementPolicy::Brrip);
}

}  // namespace
}  // namespace vmsim::mmu
