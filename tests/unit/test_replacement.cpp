// Unit tests of the firmware page-replacement policies and the reference-string simulator: Belady's anomaly,
// hand-computed victim orders, working sets, mlock, config errors, and cross-checks against brute force.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "firmware/swap/policies.hpp"
#include "firmware/swap/ref_sim.hpp"
#include "firmware/swap/replacement.hpp"
#include "firmware/swap/working_set.hpp"
#include "common/error.hpp"

namespace vmsim::fw {
namespace {

using Pages = std::vector<PageId>;

const std::vector<ReplacementKind>& all_kinds() {
  static const std::vector<ReplacementKind> kinds = {
      ReplacementKind::Fifo, ReplacementKind::Lru,   ReplacementKind::Clock,   ReplacementKind::EClock,
      ReplacementKind::Lfu,  ReplacementKind::Ws,    ReplacementKind::WsClock, ReplacementKind::ActiveInactive,
      ReplacementKind::Opt,  ReplacementKind::Random};
  return kinds;
}

ReplacementConfig config_of(ReplacementKind k, uint64_t tau = 10000) {
  ReplacementConfig cfg;
  cfg.policy = k;
  cfg.tau = tau;
  return cfg;
}

RefSimResult run(ReplacementKind k, const std::vector<Reference>& refs, uint64_t frames, uint64_t tau = 10000) {
  RefSimOptions o;
  o.frames = frames;
  return simulate_reference_string(config_of(k, tau), refs, o);
}

RefSimResult run(ReplacementKind k, const Pages& pages, uint64_t frames, uint64_t tau = 10000) {
  return run(k, reads_of(pages), frames, tau);
}

// Builds a reference string from "1 2 3w ..." text.
std::vector<Reference> refs_of(const std::string& text) { return parse_reference_string(text); }

// Pages from a skewed distribution with phases of locality, deterministic.
Pages random_trace(uint64_t n, uint64_t pages, uint32_t seed) {
  std::mt19937 rng(seed);
  Pages out;
  out.reserve(n);
  uint64_t base = 0;
  for (uint64_t i = 0; i < n; ++i) {
    if (i % 1000 == 0) base = rng() % pages;
    uint64_t r = rng() % 100;
    uint64_t p = r < 70 ? (base + rng() % 8) % pages : rng() % pages;
    out.push_back(p);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Belady's anomaly and stack properties on 1,2,3,4,1,2,5,1,2,3,4,5.

const Pages kBelady = {1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5};

TEST(Replacement, FifoShowsBeladysAnomaly) {
  RefSimResult three = run(ReplacementKind::Fifo, kBelady, 3);
  RefSimResult four = run(ReplacementKind::Fifo, kBelady, 4);
  EXPECT_EQ(three.faults, 9u);
  EXPECT_EQ(four.faults, 10u);
  // 3 frames: fill 1,2,3; 4 evicts 1; 1 evicts 2; 2 evicts 3; 5 evicts 4; 1,2 hit; 3 evicts 1; 4 evicts 2; 5 hits.
  EXPECT_EQ(three.victims, (Pages{1, 2, 3, 4, 1, 2}));
  // 4 frames: fill 1..4; 1,2 hit; 5 evicts 1; 1 evicts 2; 2 evicts 3; 3 evicts 4; 4 evicts 5; 5 evicts 1.
  EXPECT_EQ(four.victims, (Pages{1, 2, 3, 4, 5, 1}));
}

TEST(Replacement, LruAndOptAreMonotoneAndOptIsBest) {
  for (ReplacementKind k : {ReplacementKind::Lru, ReplacementKind::Opt}) {
    uint64_t prev = UINT64_MAX;
    for (uint64_t frames = 1; frames <= 6; ++frames) {
      uint64_t f = run(k, kBelady, frames).faults;
      EXPECT_LE(f, prev) << config::enum_name(k) << " with " << frames << " frames";
      prev = f;
    }
  }
  // Known values: LRU 10 (3 frames) / 8 (4 frames), OPT 7 / 6; 12 with one frame, 5 (compulsory) with 5+.
  EXPECT_EQ(run(ReplacementKind::Lru, kBelady, 3).faults, 10u);
  EXPECT_EQ(run(ReplacementKind::Lru, kBelady, 4).faults, 8u);
  EXPECT_EQ(run(ReplacementKind::Opt, kBelady, 3).faults, 7u);
  EXPECT_EQ(run(ReplacementKind::Opt, kBelady, 4).faults, 6u);
  EXPECT_EQ(run(ReplacementKind::Opt, kBelady, 1).faults, 12u);
  EXPECT_EQ(run(ReplacementKind::Opt, kBelady, 5).faults, 5u);

  for (uint64_t frames = 1; frames <= 6; ++frames) {
    uint64_t opt = run(ReplacementKind::Opt, kBelady, frames).faults;
    for (ReplacementKind k : all_kinds()) {
      for (uint64_t tau : {1, 3, 100}) {
        EXPECT_LE(opt, run(k, kBelady, frames, tau).faults) << config::enum_name(k) << " frames " << frames;
      }
    }
  }
}

TEST(Replacement, OptIsBestOnRandomTraces) {
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    Pages trace = random_trace(3000, 40, seed);
    for (uint64_t frames : {4, 12, 30}) {
      uint64_t opt = run(ReplacementKind::Opt, trace, frames).faults;
      for (ReplacementKind k : all_kinds()) {
        EXPECT_LE(opt, run(k, trace, frames, 50).faults) << config::enum_name(k) << " frames " << frames;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Hand-computed victim orders.

TEST(Replacement, LruVictimOrder) {
  // 3 frames. Recency lists (LRU first): 1 | 1 2 | 1 2 3 | 4 evicts 1: 2 3 4 | 1 evicts 2: 3 4 1 |
  // 2 evicts 3: 4 1 2 | 5 evicts 4: 1 2 5 | 1 hit: 2 5 1 | 2 hit: 5 1 2 | 3 evicts 5: 1 2 3 |
  // 4 evicts 1: 2 3 4 | 5 evicts 2.
  RefSimResult r = run(ReplacementKind::Lru, kBelady, 3);
  EXPECT_EQ(r.victims, (Pages{1, 2, 3, 4, 5, 1, 2}));
}

TEST(Replacement, OptVictimOrder) {
  // 3 frames, next uses counted from the faulting reference (index t):
  // t3 (4): 1@4, 2@5, 3@9 -> evict 3.       t6 (5): 1@7, 2@8, 4@10 -> evict 4.
  // t9 (3): 1 never, 2 never, 5@11 -> tie between never-used pages: earliest mapped, 1 (t0) -> evict 1.
  // t10 (4): 2 never (mapped t1), 5@11, 3 never (mapped t9) -> evict 2.   t11: 5 hits.
  RefSimResult r = run(ReplacementKind::Opt, kBelady, 3);
  EXPECT_EQ(r.victims, (Pages{3, 4, 1, 2}));
  EXPECT_EQ(r.fault_times, (std::vector<uint64_t>{0, 1, 2, 3, 6, 9, 10}));
}

TEST(Replacement, ClockVictimOrder) {
  // 3 frames; every reference (fault or hit) sets A. Ring listed from the hand, (A) after each page; a new
  // page goes just behind the hand.
  //   t0 1 F: 1(1)            t1 2 F: 1(1) 2(1)            t2 3 F: 1(1) 2(1) 3(1)
  //   t3 2 hit (A already 1)
  //   t4 4 F: 1 A1->0, 2 A1->0, 3 A1->0, 1 A0 -> victim 1 (4 visits); hand at 2: 2(0) 3(0) 4(1)
  //   t5 2 hit: 2(1) 3(0) 4(1)
  //   t6 5 F: 2 A1->0, 3 A0 -> victim 3 (2 visits); hand at 4: 4(1) 2(0) 5(1)
  //   t7 1 F: 4 A1->0, 2 A0 -> victim 2 (2 visits); hand at 5: 5(1) 4(0) 1(1)
  //   t8 3 F: 5 A1->0, 4 A0 -> victim 4 (2 visits); hand at 1: 1(1) 5(0) 3(1)
  // FIFO would evict 1, 2, 3, 4: page 2's reference at t5 earns it a second chance at t6.
  Pages refs = {1, 2, 3, 2, 4, 2, 5, 1, 3};
  RefSimResult r = run(ReplacementKind::Clock, refs, 3);
  EXPECT_EQ(r.victims, (Pages{1, 3, 2, 4}));
  EXPECT_EQ(r.faults, 7u);
  EXPECT_EQ(r.scanned, 10u);
  EXPECT_EQ(run(ReplacementKind::Fifo, refs, 3).victims, (Pages{1, 2, 3, 4}));
}

TEST(Replacement, EnhancedClockVictimOrder) {
  // 3 frames; (A,D) after each page, ring from the hand. Passes: 1 = find (0,0) read-only; 2 = find A=0,
  // clearing A of pages passed over; 3 = pass 1; 4 = pass 2.
  //   t0 1w: 1(1,1)   t1 2: 1(1,1) 2(1,0)   t2 3w: 1(1,1) 2(1,0) 3(1,1)
  //   t3 4: pass 1: none. pass 2: clears all -> 1(0,1) 2(0,0) 3(0,1). pass 3: 1 no, 2 (0,0) -> victim 2.
  //         visits 3+3+2 = 8. hand at 3: 3(0,1) 1(0,1) 4(1,0)
  //   t4 2: pass 1: 3 no, 1 no, 4 no. pass 2: 3 A=0 -> victim 3 (class (0,1) beats 4's (1,0)). visits 3+1.
  //         hand at 1: 1(0,1) 4(1,0) 2(1,0)
  //   t5 5w: pass 1: none. pass 2: 1 A=0 -> victim 1. visits 3+1. hand at 4: 4(1,0) 2(1,0) 5(1,1)
  //   t6 1: pass 1: none. pass 2: clears -> 4(0,0) 2(0,0) 5(0,1). pass 3: 4 -> victim 4. visits 3+3+1.
  //         hand at 2: 2(0,0) 5(0,1) 1(1,0)
  //   t7 3: pass 1: 2 (0,0) -> victim 2. visits 1. hand at 5: 5(0,1) 1(1,0) 3(1,0)
  //   t8 6: pass 1: none. pass 2: 5 A=0 -> victim 5. visits 3+1.
  // Dirty victims: 3, 1, 5. Visits: 8+4+4+7+1+4 = 28.
  RefSimResult r = run(ReplacementKind::EClock, refs_of("1w 2 3w 4 2 5w 1 3 6"), 3);
  EXPECT_EQ(r.victims, (Pages{2, 3, 1, 4, 2, 5}));
  EXPECT_EQ(r.dirty_evictions, 3u);
  EXPECT_EQ(r.scanned, 28u);

  // All four passes: every page (1,1). Pass 1 none, pass 2 clears all to (0,1), pass 3 none, pass 4 takes 1.
  RefSimResult four = run(ReplacementKind::EClock, refs_of("1w 2w 3w 4"), 3);
  EXPECT_EQ(four.victims, (Pages{1}));
  EXPECT_EQ(four.scanned, 10u);  // 3 + 3 + 3 + 1
}

TEST(Replacement, LfuVictimOrderAndTieBreak) {
  // 3 frames, exact information; {count, last reference}. Counts start at 0 on mapping.
  //   t0 1:{0,0} t1 2:{0,1} t2 3:{0,2} t3 2 hit:{1,3} t4 1 hit:{1,4} t5 3 hit:{1,5}
  //   t6 4 F: all counts 1 -> least recently referenced: 2 (t3) -> evict 2.  4:{0,6}
  //   t7 5 F: 4 has count 0 -> evict 4 (LFU's weakness: the newcomer goes first).  5:{0,7}
  //   t8 2 F: 5 has count 0 -> evict 5.
  RefSimResult r = run(ReplacementKind::Lfu, Pages{1, 2, 3, 2, 1, 3, 4, 5, 2}, 3);
  EXPECT_EQ(r.victims, (Pages{2, 4, 5}));
}

TEST(Replacement, LfuCountsFromSampling) {
  std::unique_ptr<ReplacementPolicy> lfu = make_lfu_policy();
  SimulatedPageBits bits;
  for (PageId p : {1, 2, 3}) {
    lfu->on_map(p, 0);
    bits.reference(p, false);
  }
  lfu->sample(bits, 10);  // all three referenced: counts 1, 1, 1 at time 10
  bits.reference(3, false);
  bits.reference(1, false);
  lfu->sample(bits, 20);  // 1 and 3 referenced: counts 1:2, 2:1, 3:2
  EXPECT_EQ(lfu->choose_victim(bits, 21), PageId{2});
  lfu->on_unmap(2);
  // 1 and 3 tie at count 2 and last reference 20: the earlier mapped (1) goes first.
  EXPECT_EQ(lfu->choose_victim(bits, 22), PageId{1});
  EXPECT_FALSE(bits.accessed(1));  // sampling cleared the A bits
}

TEST(Replacement, ActiveInactiveVictimOrder) {
  // 3 frames, inactive_ratio 1. Lists tail..head; [r] = referenced flag, A = hardware bit.
  //   t0-t2 1 2 3 F: I = 1 2 3 (all A=1, r=0)
  //   t3 4 F: round 1 shrink (budget 3): 1 A=1 r=0 -> r=1, rotate; same for 2, 3 -> I = 1 2 3 (A=0, r=1).
  //           round 2: 1 A=0 -> victim 1 (4 visits). I = 2 3 4
  //   t4 2 hit (A=1)
  //   t5 5 F: shrink: 2 A=1 r=1 -> promote: Act = 2; 3 A=0 -> victim 3 (2 visits). I = 4 5
  //   t6 2 hit (A=1, in the active list)
  //   t7 6 F: shrink: 4 A=1 r=0 -> r=1 rotate; 5 likewise; round 2: 4 A=0 -> victim 4 (3 visits). I = 5 6
  //   t8 1 F: shrink: 5 A=0 -> victim 5 (1 visit). I = 6 1
  //   t9 7 F: shrink: 6, 1 A=1 r=0 -> r=1 rotate; round 2: 6 A=0 -> victim 6 (3 visits). I = 1[r=1] 7
  //   t10 1 hit (A=1)
  //   t11 8 F: round 1 shrink: 1 A=1 r=1 -> promote: Act = 2 1; 7 A=1 r=0 -> r=1 rotate. I = 7
  //            round 2 balance (1 < 2): 2 A=1 (from t6) -> clear, rotate: Act = 1 2; 1 A=0 -> demote:
  //            Act = 2, I = 7 1. shrink: 7 A=0 -> victim 7. (2 + 2 + 1 visits)
  // Visits: 4+2+3+1+3+5 = 18. Page 2, referenced twice, survives throughout in the active list.
  RefSimResult r = run(ReplacementKind::ActiveInactive, Pages{1, 2, 3, 4, 2, 5, 2, 6, 1, 7, 1, 8}, 3);
  EXPECT_EQ(r.victims, (Pages{1, 3, 4, 5, 6, 7}));
  EXPECT_EQ(r.scanned, 18u);
  EXPECT_EQ(r.faults, 9u);
}

TEST(Replacement, RandomIsSeededAndDeterministic) {
  Pages trace = random_trace(2000, 30, 7);
  ReplacementConfig a = config_of(ReplacementKind::Random);
  ReplacementConfig b = a;
  b.seed = 2;
  RefSimOptions o;
  o.frames = 8;
  RefSimResult r1 = simulate_reference_string(a, reads_of(trace), o);
  RefSimResult r2 = simulate_reference_string(a, reads_of(trace), o);
  RefSimResult r3 = simulate_reference_string(b, reads_of(trace), o);
  EXPECT_EQ(r1.victims, r2.victims);
  EXPECT_NE(r1.victims, r3.victims);
}

// ---------------------------------------------------------------------------------------------------------
// Working set and WSClock.

TEST(Replacement, WorkingSetSizesByHand) {
  // tau = 3: W(t) = distinct pages among references t-2..t.
  //   t: 0    1      2      3        4        5      6    7      8
  //  ref 1    2      1      3        4        4      4    2      1
  //   W {1} {1,2}  {1,2}  {1,2,3}  {1,3,4}  {3,4}  {4}  {2,4}  {1,2,4}
  const Pages trace = {1, 2, 1, 3, 4, 4, 4, 2, 1};
  const std::vector<uint64_t> expected = {1, 2, 2, 3, 3, 2, 1, 2, 3};
  EXPECT_EQ(working_set_sizes(trace, 3), expected);

  // The ws policy reports the same sizes with enough frames (nothing evicted).
  WorkingSetPolicy ws(3);
  std::vector<uint64_t> seen;
  RefSimOptions o;
  o.frames = 10;
  o.observer = [&](uint64_t t, const ReplacementPolicy& p) {
    seen.push_back(static_cast<const WorkingSetPolicy&>(p).working_set_size(t));
  };
  run_reference_string(ws, reads_of(trace), o);
  EXPECT_EQ(seen, expected);

  // Variable allocation: pages leave memory as they leave the window, so the resident set is W(t).
  // Released: 2 at t4 (last use 1), 1 at t5 (last use 2), 3 at t6 (last use 3). Faults: t0 t1 t3 t4 t7 t8.
  WorkingSetPolicy trimmed(3);
  std::vector<uint64_t> resident;
  o.trim_working_set = true;
  o.observer = [&](uint64_t, const ReplacementPolicy& p) { resident.push_back(p.resident()); };
  RefSimResult r = run_reference_string(trimmed, reads_of(trace), o);
  EXPECT_EQ(resident, expected);
  EXPECT_EQ(r.released, (Pages{2, 1, 3}));
  EXPECT_EQ(r.fault_times, (std::vector<uint64_t>{0, 1, 3, 4, 7, 8}));
  EXPECT_EQ(r.resident_sum, 19u);
  EXPECT_TRUE(r.victims.empty());
}

TEST(Replacement, WorkingSetSizesMatchPolicyOnRandomTrace) {
  Pages trace = random_trace(20000, 64, 11);
  for (uint64_t tau : {1, 7, 50, 400}) {
    std::vector<uint64_t> expected = working_set_sizes(trace, tau);
    WorkingSetPolicy ws(tau);
    std::vector<uint64_t> resident;
    RefSimOptions o;
    o.frames = 64;
    o.trim_working_set = true;
    o.observer = [&](uint64_t, const ReplacementPolicy& p) { resident.push_back(p.resident()); };
    run_reference_string(ws, reads_of(trace), o);
    EXPECT_EQ(resident, expected) << "tau " << tau;
  }
}

TEST(Replacement, WorkingSetVictimAndFallback) {
  // 3 frames, refs 1 2 3 1 4: at t4 the last uses are 1:3, 2:1, 3:2.
  // tau 3: 2 is outside the window (4-1 >= 3), 3 is inside (4-2 < 3): victim 2, no fallback.
  WorkingSetPolicy ws(3);
  RefSimOptions o;
  o.frames = 3;
  RefSimResult r = run_reference_string(ws, reads_of(Pages{1, 2, 3, 1, 4}), o);
  EXPECT_EQ(r.victims, (Pages{2}));
  EXPECT_EQ(ws.fallbacks(), 0u);
  // tau 10: every page is inside the working set: fallback to the oldest last use, still 2, counted.
  WorkingSetPolicy wide(10);
  r = run_reference_string(wide, reads_of(Pages{1, 2, 3, 1, 4}), o);
  EXPECT_EQ(r.victims, (Pages{2}));
  EXPECT_EQ(wide.fallbacks(), 1u);
  EXPECT_EQ(wide.out_of_working_set(4).size(), 0u);
  // Resident now: 3 (last use 2), 1 (3), 4 (4). At time 13 the first two are outside, oldest first.
  EXPECT_EQ(wide.out_of_working_set(13), (Pages{3, 1}));
}

TEST(Replacement, WsClockVictimOrder) {
  // tau 3, 3 frames; per page (A,D,TLU), ring from the hand.
  //   t0 1w, t1 2w, t2 3: 1(1,1,0) 2(1,1,1) 3(1,0,2)
  //   t3 4 F: sweep: every A=1 -> cleared, TLU=3. No write started -> fallback: first clean page from the
  //           hand: 1 dirty, 2 dirty, 3 clean -> victim 3 (3 + 3 visits). hand at 1: 1(0,1,3) 2(0,1,3) 4(1,0,3)
  //   t4 4, t5 4, t6 2 hits: 2 gets A=1
  //   t7 5 F: 1 A=0, age 7-3=4 >= 3, dirty -> start write-back (completes: D=0); 2 A=1 -> TLU=7;
  //           4 A=1 -> TLU=7. A write was started -> second sweep: 1 A=0, old, now clean -> victim 1
  //           (3 + 1 visits). hand at 2: 2(0,1,7) 4(0,0,7) 5(1,0,7)
  //   t8 3 F: 2 age 1 in WS; 4 age 1 in WS; 5 A=1 -> TLU=8. No write -> first clean from the hand: 2 dirty,
  //           4 clean -> victim 4 (3 + 2 visits). hand at 5: 5(0,0,8) 2(0,1,7) 3(1,0,8)
  //   t9 3, t10 3 hits
  //   t11 6 F: 5 A=0, age 11-8=3 >= 3, clean -> victim 5 (1 visit).
  RefSimResult r = run(ReplacementKind::WsClock, refs_of("1w 2w 3 4 4 4 2 5 3 3 3 6"), 3, 3);
  EXPECT_EQ(r.victims, (Pages{3, 1, 4, 5}));
  EXPECT_EQ(r.writebacks, 1u);
  EXPECT_EQ(r.dirty_evictions, 0u);
  EXPECT_EQ(r.scanned, 16u);
  EXPECT_EQ(r.faults, 7u);
}

// ---------------------------------------------------------------------------------------------------------
// Information modes.

TEST(Replacement, SamplingEveryReferenceEqualsExactInformation) {
  // With a sample after every reference, the A bits found set are exactly the page just referenced, so the
  // sampling policies make the exact-information choices (LFU counts shift by one uniformly).
  Pages trace = random_trace(20000, 48, 5);
  for (ReplacementKind k : {ReplacementKind::Lru, ReplacementKind::Lfu, ReplacementKind::Ws}) {
    RefSimOptions exact;
    exact.frames = 16;
    RefSimOptions sampled = exact;
    sampled.info = RefSimInfo::Sampled;
    sampled.sample_interval = 1;
    RefSimResult a = simulate_reference_string(config_of(k, 20), reads_of(trace), exact);
    RefSimResult b = simulate_reference_string(config_of(k, 20), reads_of(trace), sampled);
    EXPECT_EQ(a.victims, b.victims) << config::enum_name(k);
  }
}

TEST(Replacement, LruWithoutInformationIsFifo) {
  Pages trace = random_trace(5000, 32, 9);
  RefSimOptions none;
  none.frames = 10;
  none.info = RefSimInfo::Sampled;  // sample_interval 0: never sampled, only faults
  RefSimResult lru = simulate_reference_string(config_of(ReplacementKind::Lru), reads_of(trace), none);
  RefSimResult fifo = run(ReplacementKind::Fifo, trace, 10);
  EXPECT_EQ(lru.victims, fifo.victims);
  // Coarse sampling lies between: it must differ from FIFO on this trace and still be valid.
  none.sample_interval = 5;  // (at 50 nearly every resident page is referenced between samples: no reordering)
  RefSimResult coarse = simulate_reference_string(config_of(ReplacementKind::Lru), reads_of(trace), none);
  EXPECT_NE(coarse.victims, fifo.victims);
  EXPECT_THROW(simulate_reference_string(config_of(ReplacementKind::Opt), reads_of(trace), none),
               std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------------------
// mlock.

TEST(Replacement, LockedPagesAreNeverChosen) {
  for (ReplacementKind k : all_kinds()) {
    SCOPED_TRACE(config::enum_name(k));
    // Direct use: four pages, two locked.
    Pages future = {1, 2, 3, 4, 5, 6};
    std::unique_ptr<ReplacementPolicy> p = make_policy(config_of(k, 2), &future);
    SimulatedPageBits bits;
    for (PageId page : {1, 2, 3, 4}) {
      p->on_map(page, page);
      bits.reference(page, page % 2 == 0);
    }
    p->set_locked(1, true);
    p->set_locked(3, true);
    EXPECT_TRUE(p->is_locked(1));
    for (int i = 0; i < 2; ++i) {
      std::optional<PageId> v = p->choose_victim(bits, 10 + i);
      ASSERT_TRUE(v);
      EXPECT_TRUE(*v == 2 || *v == 4) << *v;
      p->on_unmap(*v);
      bits.forget(*v);
    }
    EXPECT_EQ(p->choose_victim(bits, 20), std::nullopt);  // everything left is locked
    EXPECT_EQ(p->resident(), 2u);
    p->set_locked(3, false);
    EXPECT_EQ(p->choose_victim(bits, 21), PageId{3});
    p->on_unmap(1);  // unmapping a locked page forgets its lock
    EXPECT_FALSE(p->is_locked(1));
    EXPECT_FALSE(p->is_resident(1));

    // Replay: locked pages stay resident through a long trace.
    Pages trace = random_trace(5000, 40, 3);
    RefSimOptions o;
    o.frames = 10;
    o.locked = {trace[0], trace[1], trace[2]};
    RefSimResult r = simulate_reference_string(config_of(k, 30), reads_of(trace), o);
    for (PageId v : r.victims) EXPECT_EQ(o.locked.count(v), 0u) << "evicted locked page " << v;
  }
}

TEST(Replacement, AllFramesLockedIsAnInputError) {
  RefSimOptions o;
  o.frames = 2;
  o.locked = {1, 2};
  EXPECT_THROW(simulate_reference_string(config_of(ReplacementKind::Clock), reads_of(Pages{1, 2, 3}), o), InputError);
}

// ---------------------------------------------------------------------------------------------------------
// Contract and configuration errors.

TEST(Replacement, ContractViolationsThrow) {
  std::unique_ptr<ReplacementPolicy> p = make_clock_policy();
  p->on_map(1, 0);
  EXPECT_THROW(p->on_map(1, 1), std::logic_error);
  EXPECT_THROW(p->on_unmap(2), std::logic_error);
  EXPECT_THROW(p->on_access(2, 1), std::logic_error);
  EXPECT_THROW(p->set_locked(2, true), std::logic_error);
  // opt checks the driver against the future string.
  std::unique_ptr<ReplacementPolicy> opt = make_opt_policy({1, 2});
  opt->on_map(1, 0);
  EXPECT_THROW(opt->on_map(3, 1), std::logic_error);
  EXPECT_FALSE(opt->is_resident(3));
  opt->on_map(2, 1);
  EXPECT_THROW(opt->on_access(2, 2), std::logic_error);  // beyond the end
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Replacement, ConfigErrorsNameTheKey) {
  // Unknown policy name through the YAML loader and through the name lookup.
  std::string e = error_of([] {
    ReplacementConfig cfg;
    config::Loader l(YAML::Load("policy: lruu\n"), "replacement", "test.yaml");
    cfg.visit(l);
    l.finish();
  });
  EXPECT_NE(e.find("replacement.policy: bad value 'lruu'"), std::string::npos) << e;
  EXPECT_NE(e.find("fifo | lru | clock | eclock | lfu | ws | wsclock | active_inactive | opt | random"),
            std::string::npos)
      << e;
  e = error_of([] { replacement_kind_from_name("belady", "replacement.policy"); });
  EXPECT_NE(e.find("replacement.policy: unknown policy 'belady'"), std::string::npos) << e;
  EXPECT_EQ(replacement_kind_from_name("wsclock"), ReplacementKind::WsClock);

  // tau 0.
  ReplacementConfig cfg;
  config::Loader l(YAML::Load("policy: ws\ntau: 0\n"), "replacement", "test.yaml");
  cfg.visit(l);
  l.finish();
  EXPECT_EQ(cfg.policy, ReplacementKind::Ws);
  e = error_of([&] { cfg.validate("replacement"); });
  EXPECT_NE(e.find("replacement.tau: bad value '0'"), std::string::npos) << e;
  EXPECT_THROW(make_policy(cfg), std::invalid_argument);
  cfg.tau = 5;
  cfg.inactive_ratio = 0;
  e = error_of([&] { cfg.validate("replacement"); });
  EXPECT_NE(e.find("replacement.inactive_ratio: bad value '0'"), std::string::npos) << e;

  // opt outside replay.
  e = error_of([] { make_policy(config_of(ReplacementKind::Opt)); });
  EXPECT_NE(e.find("opt needs the complete future reference string"), std::string::npos) << e;

  // Every name builds a policy that reports it.
  Pages future = {1};
  for (ReplacementKind k : all_kinds()) {
    EXPECT_STREQ(make_policy(config_of(k), &future)->name(), config::enum_name(k));
  }
}

TEST(Replacement, ParsesReferenceStrings) {
  std::vector<Reference> r = parse_reference_string("1 2 3w,0x10  4W\n5");
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(pages_of(r), (Pages{1, 2, 3, 16, 4, 5}));
  EXPECT_TRUE(r[2].write);
  EXPECT_TRUE(r[4].write);
  EXPECT_FALSE(r[0].write);
  std::string e = error_of([] { parse_reference_string("1 2 x3", "refs.txt"); });
  EXPECT_NE(e.find("refs.txt: reference 2: bad token 'x3'"), std::string::npos) << e;
  EXPECT_THROW(parse_reference_string("w"), InputError);
  RefSimOptions o;  // frames 0
  EXPECT_THROW(simulate_reference_string(config_of(ReplacementKind::Fifo), r, o), InputError);
}

// ---------------------------------------------------------------------------------------------------------
// Cross-checks against brute-force reference implementations.

TEST(Replacement, LruMatchesBruteForceOver100kReferences) {
  Pages trace = random_trace(100000, 96, 42);
  for (uint64_t frames : {7, 32}) {
    std::list<PageId> lru;  // front = most recent
    Pages victims;
    uint64_t faults = 0;
    for (PageId p : trace) {
      auto it = std::find(lru.begin(), lru.end(), p);
      if (it != lru.end()) {
        lru.erase(it);
      } else {
        ++faults;
        if (lru.size() == frames) {
          victims.push_back(lru.back());
          lru.pop_back();
        }
      }
      lru.push_front(p);
    }
    RefSimResult r = run(ReplacementKind::Lru, trace, frames);
    EXPECT_EQ(r.faults, faults);
    EXPECT_EQ(r.victims, victims);
  }
}

TEST(Replacement, OptMatchesBruteForce) {
  Pages trace = random_trace(2000, 24, 8);
  const uint64_t frames = 6;
  std::vector<std::pair<PageId, uint64_t>> resident;  // (page, map time), in mapping order
  Pages victims;
  for (uint64_t t = 0; t < trace.size(); ++t) {
    auto it = std::find_if(resident.begin(), resident.end(), [&](auto& e) { return e.first == trace[t]; });
    if (it != resident.end()) continue;
    if (resident.size() == frames) {
      size_t best = 0;
      uint64_t best_next = 0;
      for (size_t i = 0; i < resident.size(); ++i) {
        uint64_t next = t;
        while (next < trace.size() && trace[next] != resident[i].first) ++next;
        if (next > best_next) {  // strict: the earliest mapped wins ties
          best_next = next;
          best = i;
        }
      }
      victims.push_back(resident[best].first);
      resident.erase(resident.begin() + static_cast<long>(best));
    }
    resident.emplace_back(trace[t], t);
  }
  EXPECT_EQ(run(ReplacementKind::Opt, trace, frames).victims, victims);
}

TEST(Replacement, FifoClockAndEnhancedClockMatchFrameArrayTextbookVersions) {
  std::mt19937 rng(3);
  Pages pages = random_trace(30000, 40, 13);
  std::vector<Reference> refs;
  for (PageId p : pages) refs.push_back(Reference{p, rng() % 4 == 0});
  const uint64_t n = 9;

  // Frame arrays as in the textbooks: frames fill in order, the hand starts at frame 0.
  struct Frame {
    PageId page;
    bool a, d;
  };
  auto simulate = [&](int kind) {  // 0 fifo, 1 clock, 2 enhanced clock
    std::vector<Frame> f;
    uint64_t hand = 0;
    Pages victims;
    for (const Reference& r : refs) {
      auto it = std::find_if(f.begin(), f.end(), [&](const Frame& x) { return x.page == r.page; });
      if (it != f.end()) {
        it->a = true;
        it->d = it->d || r.write;
        continue;
      }
      if (f.size() < n) {
        f.push_back(Frame{r.page, true, r.write});
        continue;
      }
      uint64_t v = 0;
      if (kind == 0) {
        v = hand;
      } else if (kind == 1) {
        while (f[hand].a) {
          f[hand].a = false;
          hand = (hand + 1) % n;
        }
        v = hand;
      } else {
        bool found = false;
        for (int pass = 0; pass < 4 && !found; ++pass) {
          for (uint64_t i = 0; i < n && !found; ++i) {
            Frame& x = f[(hand + i) % n];
            if (pass % 2 == 0 ? (!x.a && !x.d) : !x.a) {
              v = (hand + i) % n;
              found = true;
            } else if (pass % 2 == 1) {
              x.a = false;
            }
          }
        }
      }
      victims.push_back(f[v].page);
      f[v] = Frame{r.page, true, r.write};
      hand = (v + 1) % n;
    }
    return victims;
  };
  RefSimOptions o;
  o.frames = n;
  EXPECT_EQ(simulate_reference_string(config_of(ReplacementKind::Fifo), refs, o).victims, simulate(0));
  EXPECT_EQ(simulate_reference_string(config_of(ReplacementKind::Clock), refs, o).victims, simulate(1));
  EXPECT_EQ(simulate_reference_string(config_of(ReplacementKind::EClock), refs, o).victims, simulate(2));
}

}  // namespace
}  // namespace vmsim::fw
