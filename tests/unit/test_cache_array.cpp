// Unit tests of the cache tag array (hand-worked victim sequences per replacement policy, states, sharer
// masks, invalidation) and of the cache configuration (defaults, errors naming the key, YAML names).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/cache/cache_array.hpp"
#include "models/cache/cache_config.hpp"
#include "common/config.hpp"
#include "common/error.hpp"

namespace vmsim::cache {
namespace {

using mmu::ReplacementPolicy;

// One set of 4 ways: lines 4k land in set 0 of a 4-set array.
constexpr uint64_t L(uint64_t k) { return k * 4; }

TEST(CacheArray, LruHandWorkedWithStatesAndSharers) {
  CacheArray a(4, 4, ReplacementPolicy::Lru, 1);
  EXPECT_EQ(a.set_of(L(3) + 1), 1u);
  for (uint64_t k = 1; k <= 4; ++k) {
    Victim v = a.insert(L(k), State::S, k << 8);
    EXPECT_FALSE(v.valid);
    EXPECT_EQ(a.find(L(k)), static_cast<int>(k - 1));
  }
  EXPECT_EQ(a.valid_lines(), 4u);
  EXPECT_EQ(a.find(L(5)), CacheArray::kMiss);
  EXPECT_EQ(a.find(L(1) + 1), CacheArray::kMiss);  // other set
  a.touch(0, 0);                                    // line 1 most recent
  EXPECT_TRUE(a.set_state(L(2), State::M));
  Victim v = a.insert(L(5), State::E);              // LRU: line 2 (way 1)
  ASSERT_TRUE(v.valid);
  EXPECT_EQ(v.line, L(2));
  EXPECT_EQ(v.state, State::M);
  EXPECT_EQ(v.sharers, uint64_t{2} << 8);
  EXPECT_EQ(a.find(L(5)), 1);
  EXPECT_EQ(a.state(L(5)), State::E);
  EXPECT_EQ(a.sharers_at(a.slot(0, 1)), 0u);
  // Invalidate line 3 (way 2): the next insert takes that way without evicting.
  EXPECT_EQ(a.invalidate(L(3)), State::S);
  EXPECT_EQ(a.invalidate(L(3)), State::I);
  EXPECT_EQ(a.valid_lines(), 3u);
  v = a.insert(L(6), State::S, 0, true);
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(a.find(L(6)), 2);
  EXPECT_TRUE(a.prefetched_at(a.slot(0, 2)));
  // Order now (oldest first): 4 (fill t4), 1 (touch t5), 5 (t6), 6 (t7).
  v = a.insert(L(7), State::S);
  EXPECT_EQ(v.line, L(4));
  v = a.insert(L(8), State::S);
  EXPECT_EQ(v.line, L(1));
  v = a.insert(L(9), State::S);
  EXPECT_EQ(v.line, L(5));
  v = a.insert(L(10), State::S);
  EXPECT_EQ(v.line, L(6));
  EXPECT_TRUE(v.prefetched);
  EXPECT_FALSE(a.set_state(L(1), State::M));
  EXPECT_EQ(a.state(L(1)), State::I);
  std::vector<uint64_t> seen;
  a.for_each_valid([&](uint64_t line, State, uint64_t) { seen.push_back(line); });
  EXPECT_EQ(seen, (std::vector<uint64_t>{L(8), L(9), L(10), L(7)}));  // slot order: ways 0..3
}

TEST(CacheArray, PlruHandWorked) {
  CacheArray a(1, 4, ReplacementPolicy::Plru, 1);
  for (uint64_t k = 0; k < 4; ++k) a.insert(10 + k, State::E);
  // Fill order 0,1,2,3 leaves bits pointing at way 0: root left(0), node1 (ways 0/1) -> 0.
  a.touch(0, 0);  // root now points right; node 2 (ways 2/3) points at way 2 since way 3 filled last
  Victim v = a.insert(20, State::E);
  EXPECT_EQ(v.line, 12u);
  v = a.insert(21, State::E);  // root now left; node 1 points away from way 0 -> way 1
  EXPECT_EQ(v.line, 11u);
}

TEST(CacheArray, SrripThroughTheArray) {
  CacheArray a(1, 4, ReplacementPolicy::Srrip, 1);
  for (uint64_t k = 0; k < 4; ++k) a.insert(100 + k, State::S);
  a.touch(0, 0);
  a.touch(0, 2);
  EXPECT_EQ(a.insert(200, State::S).line, 101u);  // way 1
  EXPECT_EQ(a.insert(201, State::S).line, 103u);  // way 3
  EXPECT_EQ(a.replacement().rrpv(0, 0), 1);
}

TEST(CacheArray, RandomIsDeterministicAndFifoIgnoresHits) {
  auto victims = [](ReplacementPolicy p, uint64_t seed) {
    CacheArray a(2, 4, p, seed);
    std::vector<uint64_t> out;
    for (uint64_t i = 0; i < 200; ++i) {
      const uint64_t line = (i * 7919) % 64;
      const int w = a.find(line);
      if (w >= 0) {
        a.touch(a.set_of(line), static_cast<uint32_t>(w));
      } else {
        Victim v = a.insert(line, State::S);
        if (v.valid) out.push_back(v.line);
      }
    }
    return out;
  };
  EXPECT_EQ(victims(ReplacementPolicy::Random, 5), victims(ReplacementPolicy::Random, 5));
  EXPECT_NE(victims(ReplacementPolicy::Random, 5), victims(ReplacementPolicy::Random, 6));
  CacheArray f(1, 2, ReplacementPolicy::Fifo, 1);
  f.insert(1, State::S);
  f.insert(2, State::S);
  f.touch(0, 0);
  EXPECT_EQ(f.insert(3, State::S).line, 1u);  // oldest insertion despite the hit
}

TEST(CacheArray, RejectsBadGeometry) {
  EXPECT_THROW(CacheArray(3, 4, ReplacementPolicy::Lru, 1), std::invalid_argument);
  EXPECT_THROW(CacheArray(4, 0, ReplacementPolicy::Lru, 1), std::invalid_argument);
  EXPECT_THROW(CacheArray(4, 65, ReplacementPolicy::Lru, 1), std::invalid_argument);
  EXPECT_THROW(CacheArray(4, 6, ReplacementPolicy::Plru, 1), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------------------
// Configuration.

template <class Fn>
void expect_input_error(Fn fn, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "expected InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << msg << "' lacks '" << n << "'";
  }
}

TEST(CacheConfig, DefaultsAreSkylakeLikeAndValid) {
  HierarchyConfig c;
  EXPECT_NO_THROW(c.validate("cache"));
  EXPECT_EQ(c.l1d.size.value, 32u * 1024);
  EXPECT_EQ(c.l1d.sets(), 64u);
  EXPECT_EQ(c.l1d.latency, 5u);
  EXPECT_EQ(c.l1i.latency, 4u);
  EXPECT_EQ(c.l2.sets(), 1024u);
  EXPECT_EQ(c.l2.latency, 14u);
  EXPECT_EQ(c.llc.ways, 11u);
  EXPECT_EQ(c.llc.sets(), 16384u);
  EXPECT_EQ(c.llc.size.value, 11u * 1024 * 1024);
  EXPECT_EQ(c.llc.inclusion, Inclusion::Inclusive);
  EXPECT_EQ(c.walk_entry, WalkEntry::L1d);
  EXPECT_EQ(c.line_bytes(), 64u);
}

TEST(CacheConfig, ErrorsNameTheKeyAndValue) {
  auto bad = [](std::function<void(HierarchyConfig&)> edit, const std::vector<std::string>& needles) {
    HierarchyConfig c;
    edit(c);
    expect_input_error([&] { c.validate("system.cache"); }, needles);
  };
  bad([](HierarchyConfig& c) { c.l1d.size = Bytes{48 * 1024}; }, {"system.cache.l1d.size", "48KiB", "power of two"});
  bad([](HierarchyConfig& c) { c.l2.ways = 0; }, {"system.cache.l2.ways", "'0'"});
  bad([](HierarchyConfig& c) { c.l2.ways = 65; }, {"system.cache.l2.ways", "'65'"});
  bad([](HierarchyConfig& c) { c.l1i.line = 48; }, {"system.cache.l1i.line", "'48'"});
  bad([](HierarchyConfig& c) { c.l1i.line = 4; }, {"system.cache.l1i.line", "'4'"});
  bad([](HierarchyConfig& c) { c.llc.replacement = mmu::ReplacementPolicy::Plru; }, {"system.cache.llc.ways", "'11'", "plru"});
  bad([](HierarchyConfig& c) { c.l1d.seed = 0; }, {"system.cache.l1d.seed"});
  bad([](HierarchyConfig& c) { c.l1d.mshrs = 0; }, {"system.cache.l1d.mshrs"});
  bad([](HierarchyConfig& c) { c.l2.prefetch_degree = 9; }, {"system.cache.l2.prefetch_degree", "'9'"});
  bad([](HierarchyConfig& c) { c.l2.inclusion = Inclusion::Exclusive; }, {"system.cache.l2.inclusion", "'exclusive'", "llc"});
  bad([](HierarchyConfig& c) {
        c.l2.line = 128;
        c.l2.size = Bytes{2 * 1024 * 1024};
      },
      {"system.cache.l2.line", "'128'", "same line size (64)"});
  bad([](HierarchyConfig& c) { c.l2.latency = 3; }, {"system.cache.l2.latency", "'3'", "l1i"});
  bad([](HierarchyConfig& c) { c.llc.latency = 10; }, {"system.cache.llc.latency", "'10'", "l2 (14)"});
  bad([](HierarchyConfig& c) {
        c.l2.present = false;
        c.llc.latency = 4;
      },
      {"system.cache.llc.latency", "'4'", "l1d (5)"});

  HierarchyConfig ok;
  ok.l2.present = false;
  ok.l2.size = Bytes{0};  // an absent level is not checked
  ok.llc.inclusion = Inclusion::Exclusive;
  EXPECT_NO_THROW(ok.validate("c"));
  HierarchyConfig none;
  none.l1i.present = none.l1d.present = none.l2.present = none.llc.present = false;
  EXPECT_FALSE(none.any_present());
  EXPECT_NO_THROW(none.validate("c"));
}

TEST(CacheConfig, LoadsFromYaml) {
  YAML::Node n = YAML::Load(
      "l1d: {size: 16KiB, ways: 4, prefetcher: ip_stride, prefetch_degree: 2}\n"
      "l2: {present: false}\n"
      "llc: {size: 2MiB, ways: 16, inclusion: non_inclusive, replacement: brrip, latency: 40}\n"
      "walk_entry: llc\n"
      "c2c_latency: 25\n");
  HierarchyConfig c;
  config::Loader loader(n, "cache", "t.yaml");
  c.visit(loader);
  loader.finish();
  EXPECT_EQ(c.l1d.sets(), 64u);
  EXPECT_EQ(c.l1d.prefetcher, Prefetch::IpStride);
  EXPECT_EQ(c.l1d.prefetch_degree, 2u);
  EXPECT_FALSE(c.l2.present);
  EXPECT_EQ(c.llc.inclusion, Inclusion::NonInclusive);
  EXPECT_EQ(c.llc.replacement, mmu::ReplacementPolicy::Brrip);
  EXPECT_EQ(c.walk_entry, WalkEntry::Llc);
  EXPECT_EQ(c.c2c_latency, 25u);
  EXPECT_NO_THROW(c.validate("cache"));

  YAML::Node typo = YAML::Load("l1d: {sise: 16KiB}\n");
  HierarchyConfig t;
  expect_input_error(
      [&] {
        config::Loader l(typo, "cache", "t.yaml");
        t.visit(l);
        l.finish();
      },
      {"cache.l1d.sise"});
}

}  // namespace
}  // namespace vmsim::cache
