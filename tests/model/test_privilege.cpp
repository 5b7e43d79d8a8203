// Model test: user/supervisor, SMEP and SMAP outcomes of the MMU for every combination of the page's U,
// R/W and XD, the access's mode and kind and RFLAGS.AC, both on a walk and on a TLB hit (checker on, so the
// golden checker agrees with each); and global entries surviving a root write without PCID.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "models/mmu/mmu.hpp"
#include "tests/model/recording_memory.hpp"

namespace vmsim {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

// x86's rules case by case (Intel SDM vol. 3A, 4.6, CR0.WP = 1), written apart from the model's.
bool x86_denies(bool user_mode, AccessKind kind, bool u, bool w, bool nx, bool smep, bool smap, bool ac) {
  if (kind == AccessKind::Write && !w) return true;
  if (kind == AccessKind::Fetch && nx) return true;
  if (user_mode) return !u;
  if (u && kind == AccessKind::Fetch) return smep;
  if (u) return smap && !ac;
  return false;
}

mmu::MmuConfig config(bool protect) {
  mmu::MmuConfig c;
  c.smep = protect;
  c.smap = protect;
  return c;
}

constexpr uint64_t kBase = 0x40201000;

struct Bench : sc_core::sc_module {
  test::RecordingMemory mem_plain{"mem_plain", sc_time(50, SC_NS)};
  test::RecordingMemory mem_guarded{"mem_guarded", sc_time(50, SC_NS)};
  mmu::Mmu plain{"plain", config(false), sc_time(1, SC_NS), true, true};
  mmu::Mmu guarded{"guarded", config(true), sc_time(1, SC_NS), true, true};
  std::vector<std::string> failures;
  unsigned checked = 0, denied = 0, hits = 0;
  uint64_t global_walks = 0, local_walks = 0;

  explicit Bench(const sc_core::sc_module_name& n) : sc_core::sc_module(n) {
    plain.walker().mem.bind(mem_plain.in);
    guarded.walker().mem.bind(mem_guarded.in);
    SC_HAS_PROCESS(Bench);
    SC_THREAD(run);
  }
  // Page i: U = bit 0, R/W = bit 1, XD = bit 2 (A and D set, so a write never walks again for D).
  static void map_pages(test::RecordingMemory& m) {
    for (uint64_t i = 0; i < 8; ++i) {
      const uint64_t flags = pte_bit::kAccessed | pte_bit::kDirty | ((i & 1) ? pte_bit::kUser : 0) |
                             ((i & 2) ? pte_bit::kWritable : 0) | ((i & 4) ? pte_bit::kNoExecute : 0);
      test::map_one_page(m, kBase + i * kPageSize, 0x100 + i, flags);
    }
  }
  // True if the access faulted; a checker disagreement is recorded as a failure.
  bool attempt(mmu::Mmu& m, uint64_t va, AccessKind kind, bool user_mode, const std::string& what) {
    sc_time d = sc_core::SC_ZERO_TIME;
    try {
      const mmu::Translation t = m.translate(VirtAddr{va}, kind, user_mode, d);
      if (t.fault) {
        const uint32_t code = pf_err::kPresent | (user_mode ? pf_err::kUser : 0) |
                              (kind == AccessKind::Write ? pf_err::kWrite : 0) |
                              (kind == AccessKind::Fetch ? pf_err::kFetch : 0);
        if (t.error_code != code) failures.push_back(what + ": error code " + std::to_string(t.error_code));
      } else if (t.pa.value() != ((0x100 + (va - kBase) / kPageSize) << kPageShift)) {
        failures.push_back(what + ": wrong frame");
      }
      return t.fault;
    } catch (const SimulationError& e) {
      failures.push_back(what + ": " + e.what());
      return false;
    }
  }
  void combinations(mmu::Mmu& m, bool protect) {
    for (uint64_t i = 0; i < 8; ++i) {
      const uint64_t va = kBase + i * kPageSize;
      for (bool user_mode : {true, false}) {
        for (AccessKind kind : {AccessKind::Read, AccessKind::Write, AccessKind::Fetch}) {
          for (bool ac : {false, true}) {
            const bool expect = x86_denies(user_mode, kind, i & 1, i & 2, i & 4, protect, protect, ac);
            const std::string what = std::string(m.name()) + " page " + std::to_string(i) + (user_mode ? " user " : " supervisor ") +
                                     to_string(kind) + " ac=" + std::to_string(ac);
            // On a walk.
            m.invlpg(VirtAddr{va});
            m.set_ac(ac);
            if (attempt(m, va, kind, user_mode, what + " (walk)") != expect) failures.push_back(what + " (walk)");
            // On a TLB hit: a supervisor read with AC set is allowed on every page and fills the TLB.
            m.invlpg(VirtAddr{va});
            m.set_ac(true);
            if (attempt(m, va, AccessKind::Read, false, what + " (fill)")) failures.push_back(what + " (fill)");
            m.set_ac(ac);
            const uint64_t walks = m.walker().walks();
            if (attempt(m, va, kind, user_mode, what + " (hit)") != expect) failures.push_back(what + " (hit)");
            if (m.walker().walks() == walks) ++hits;
            ++checked;
            denied += expect ? 1 : 0;
          }
        }
      }
    }
    m.set_ac(false);
  }
  void run() {
    map_pages(mem_plain);
    map_pages(mem_guarded);
    plain.set_root(PhysAddr{0x1000}, 0);
    guarded.set_root(PhysAddr{0x1000}, 0);
    combinations(plain, false);
    combinations(guarded, true);
    // A global supervisor page and a non-global one; a root write without PCID keeps only the global entry.
    const uint64_t g = kBase + 8 * kPageSize, l = kBase + 9 * kPageSize;
    test::map_one_page(mem_plain, g, 0x108, pte_bit::kWritable | pte_bit::kGlobal | pte_bit::kAccessed | pte_bit::kDirty);
    test::map_one_page(mem_plain, l, 0x109, pte_bit::kWritable | pte_bit::kAccessed | pte_bit::kDirty);
    attempt(plain, g, AccessKind::Read, false, "global fill");
    attempt(plain, l, AccessKind::Read, false, "local fill");
    plain.set_root(PhysAddr{0x1000}, 0);
    uint64_t w0 = plain.walker().walks();
    attempt(plain, g, AccessKind::Read, false, "global after root write");
    global_walks = plain.walker().walks() - w0;
    w0 = plain.walker().walks();
    attempt(plain, l, AccessKind::Read, false, "local after root write");
    local_walks = plain.walker().walks() - w0;
    // A full flush (INVPCID all contexts including globals) drops the global entry too.
    plain.invpcid(mmu::InvpcidType::AllContextsInclGlobal, 0, VirtAddr{0});
    w0 = plain.walker().walks();
    attempt(plain, g, AccessKind::Read, false, "global after full flush");
    global_walks += 10 * (plain.walker().walks() - w0);
  }
};

TEST(Privilege, UserSupervisorSmepSmapOnWalksAndTlbHitsAndGlobalEntriesSurviveRootWrites) {
  Bench b("bench");
  sc_core::sc_start();
  for (const std::string& f : b.failures) ADD_FAILURE() << f;
  EXPECT_EQ(b.checked, 2u * 8 * 2 * 3 * 2);
  EXPECT_EQ(b.hits, b.checked);  // every second access was a TLB hit
  EXPECT_GT(b.denied, 0u);
  EXPECT_LT(b.denied, b.checked);
  EXPECT_EQ(b.global_walks, 10u);  // no walk after the root write, one after the full flush
  EXPECT_EQ(b.local_walks, 1u);
}

}  // namespace
}  // namespace vmsim
