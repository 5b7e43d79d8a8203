// Unit tests of the PTE format, the page-walk stepping core, the golden checker's functional walk,
// VMAs and the sparse store. (TLB arrays and the hierarchy: test_tlb_array.cpp.)
#include <gtest/gtest.h>

#include <map>

#include "firmware/vm/vma.hpp"
#include "common/pte.hpp"
#include "models/memory/sparse_store.hpp"
#include "models/mmu/golden_checker.hpp"
#include "models/mmu/page_walk.hpp"

namespace vmsim {
namespace {

TEST(Pte, EncodesAndDecodesEveryField) {
  Pte p = Pte::make(Pfn{0x12345}, pte_bit::kPresent | pte_bit::kWritable | pte_bit::kUser | pte_bit::kGlobal |
                                      pte_bit::kNoExecute | pte_bit::kDirty);
  EXPECT_EQ(p.raw(), 0x8000000012345000ull | 0x1 | 0x2 | 0x4 | 0x100 | 0x40);
  EXPECT_TRUE(p.present());
  EXPECT_TRUE(p.writable());
  EXPECT_TRUE(p.user());
  EXPECT_TRUE(p.global());
  EXPECT_TRUE(p.dirty());
  EXPECT_TRUE(p.no_execute());
  EXPECT_FALSE(p.accessed());
  EXPECT_FALSE(p.huge());
  EXPECT_EQ(p.pfn(), Pfn{0x12345});
  EXPECT_EQ(p.frame_addr(), PhysAddr{0x12345000});
  // The PFN field is bits 51:12: higher frame bits do not leak into flags.
  EXPECT_EQ(Pte::make(Pfn{(1ull << 40) - 1}, 0).raw(), 0x000FFFFFFFFFF000ull);
}

TEST(Pte, IndicesAndCanonicalForm) {
  VirtAddr va{0x00007F123456789Aull};
  EXPECT_EQ(pt_index(va, 4), (0x00007F123456789Aull >> 39) & 511);
  EXPECT_EQ(pt_index(va, 3), (0x00007F123456789Aull >> 30) & 511);
  EXPECT_EQ(pt_index(va, 2), (0x00007F123456789Aull >> 21) & 511);
  EXPECT_EQ(pt_index(va, 1), (0x00007F123456789Aull >> 12) & 511);
  EXPECT_TRUE(is_canonical(VirtAddr{0x00007FFFFFFFFFFFull}, 4));
  EXPECT_TRUE(is_canonical(VirtAddr{0xFFFF800000000000ull}, 4));
  EXPECT_FALSE(is_canonical(VirtAddr{0x0000800000000000ull}, 4));
  EXPECT_TRUE(is_canonical(VirtAddr{0x0000800000000000ull}, 5));
}

// A tiny physical memory of 8-byte words for walking hand-built tables.
struct Words {
  std::map<uint64_t, uint64_t> m;
  uint64_t read(uint64_t pa) const {
    auto it = m.find(pa);
    return it == m.end() ? 0 : it->second;
  }
};

constexpr uint64_t kTable = pte_bit::kPresent | pte_bit::kWritable | pte_bit::kUser;

// Tables: PML4 at frame 1, PDPT at 2, PD at 3, PT at 4; va 0x40201000 -> frame 0x99 (rw user).
Words build_tables(uint64_t leaf_flags) {
  Words w;
  VirtAddr va{0x40201000};
  w.m[0x1000 + 8 * pt_index(va, 4)] = Pte::make(Pfn{2}, kTable).raw();
  w.m[0x2000 + 8 * pt_index(va, 3)] = Pte::make(Pfn{3}, kTable).raw();
  w.m[0x3000 + 8 * pt_index(va, 2)] = Pte::make(Pfn{4}, kTable).raw();
  w.m[0x4000 + 8 * pt_index(va, 1)] = Pte::make(Pfn{0x99}, leaf_flags).raw();
  return w;
}

mmu::WalkResult run_walk(const Words& w, VirtAddr va, AccessKind kind, bool user, std::vector<uint64_t>* addrs = nullptr) {
  mmu::PageWalk walk(PhysAddr{0x1000}, 4, mmu::WalkRequest{va, kind, user});
  while (!walk.done()) {
    if (addrs) addrs->push_back(walk.pte_address().value());
    walk.feed(Pte{w.read(walk.pte_address().value())});
  }
  return walk.result();
}

TEST(PageWalk, FourLevelWalkReadsOneEntryPerLevel) {
  Words w = build_tables(pte_bit::kPresent | pte_bit::kWritable | pte_bit::kUser);
  std::vector<uint64_t> addrs;
  mmu::WalkResult r = run_walk(w, VirtAddr{0x40201ABC}, AccessKind::Write, true, &addrs);
  EXPECT_FALSE(r.fault);
  EXPECT_EQ(r.pfn, Pfn{0x99});
  EXPECT_EQ(r.pte_reads, 4u);
  EXPECT_EQ(r.level, 1u);
  EXPECT_EQ(addrs, (std::vector<uint64_t>{0x1000, 0x2000 + 8 * 1, 0x3000 + 8 * 1, 0x4000 + 8 * 1}));
}

TEST(PageWalk, FaultErrorCodes) {
  Words ro = build_tables(pte_bit::kPresent | pte_bit::kUser | pte_bit::kNoExecute);
  mmu::WalkResult r = run_walk(ro, VirtAddr{0x40201000}, AccessKind::Write, true);
  EXPECT_TRUE(r.fault);
  EXPECT_EQ(r.error_code, pf_err::kPresent | pf_err::kWrite | pf_err::kUser);
  r = run_walk(ro, VirtAddr{0x40201000}, AccessKind::Fetch, true);
  EXPECT_EQ(r.error_code, pf_err::kPresent | pf_err::kFetch | pf_err::kUser);
  EXPECT_FALSE(run_walk(ro, VirtAddr{0x40201000}, AccessKind::Read, true).fault);
  Words sup = build_tables(pte_bit::kPresent | pte_bit::kWritable);
  r = run_walk(sup, VirtAddr{0x40201000}, AccessKind::Read, true);
  EXPECT_EQ(r.error_code, pf_err::kPresent | pf_err::kUser);
  EXPECT_FALSE(run_walk(sup, VirtAddr{0x40201000}, AccessKind::Read, false).fault);
  // Not present at the PT level: P=0, stopped at level 1 after 4 reads.
  r = run_walk(ro, VirtAddr{0x40202000}, AccessKind::Read, true);
  EXPECT_TRUE(r.fault);
  EXPECT_EQ(r.error_code, pf_err::kUser);
  EXPECT_EQ(r.pte_reads, 4u);
  // Not present at the PML4 level: one read.
  r = run_walk(ro, VirtAddr{0x7F0000000000ull}, AccessKind::Write, true);
  EXPECT_EQ(r.error_code, pf_err::kUser | pf_err::kWrite);
  EXPECT_EQ(r.pte_reads, 1u);
}

TEST(PageWalk, HugeLeavesAndReservedBits) {
  Words w;
  VirtAddr va{0x40212345};  // PD entry of 0x40200000 maps a 2 MiB page at frame 0x400
  w.m[0x1000 + 8 * pt_index(va, 4)] = Pte::make(Pfn{2}, kTable).raw();
  w.m[0x2000 + 8 * pt_index(va, 3)] = Pte::make(Pfn{3}, kTable).raw();
  w.m[0x3000 + 8 * pt_index(va, 2)] = Pte::make(Pfn{0x400}, kTable | pte_bit::kPageSize).raw();
  mmu::WalkResult r = run_walk(w, va, AccessKind::Read, true);
  EXPECT_FALSE(r.fault);
  EXPECT_EQ(r.level, 2u);
  EXPECT_EQ(r.pte_reads, 3u);
  EXPECT_EQ(r.pfn, Pfn{0x400 + 0x12});
  // A 2 MiB leaf whose frame is not 2 MiB aligned has reserved bits set.
  w.m[0x3000 + 8 * pt_index(va, 2)] = Pte::make(Pfn{0x401}, kTable | pte_bit::kPageSize).raw();
  r = run_walk(w, va, AccessKind::Read, true);
  EXPECT_TRUE(r.fault);
  EXPECT_TRUE(r.error_code & pf_err::kReserved);
  // PS in a PML4E is reserved.
  w.m[0x1000 + 8 * pt_index(va, 4)] = Pte::make(Pfn{2}, kTable | pte_bit::kPageSize).raw();
  r = run_walk(w, va, AccessKind::Read, true);
  EXPECT_TRUE(r.error_code & pf_err::kReserved);
}

TEST(PageWalk, NonCanonicalAddressFaultsWithoutReads) {
  Words w = build_tables(kTable);
  mmu::WalkResult r = run_walk(w, VirtAddr{0x0000800000000000ull}, AccessKind::Read, true);
  EXPECT_TRUE(r.fault);
  EXPECT_EQ(r.pte_reads, 0u);
}

TEST(GoldenChecker, AgreesWithStepperAndFlagsStaleTranslations) {
  Words w = build_tables(pte_bit::kPresent | pte_bit::kWritable | pte_bit::kUser);
  mmu::GoldenChecker g([&](uint64_t pa) { return w.read(pa); }, 4);
  auto t = g.translate(0x1000, 0x40201ABC);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->pfn, 0x99u);
  EXPECT_EQ(g.check(0x1000, 0x40201ABC, AccessKind::Write, true, false, 0x99, "test"), "");
  std::string wrong = g.check(0x1000, 0x40201ABC, AccessKind::Write, true, false, 0x98, "the TLB");
  EXPECT_NE(wrong.find("page tables say pfn 0x99"), std::string::npos) << wrong;
  std::string stale = g.check(0x1000, 0x40202000, AccessKind::Read, true, false, 0x77, "the TLB");
  EXPECT_NE(stale.find("stale translation"), std::string::npos) << stale;
  std::string bogus_fault = g.check(0x1000, 0x40201000, AccessKind::Read, true, true, 0, "the walker");
  EXPECT_NE(bogus_fault.find("raised a page fault"), std::string::npos) << bogus_fault;
  EXPECT_EQ(g.check(0x1000, 0x40202000, AccessKind::Read, true, true, 0, "the walker"), "");
}

// x86's rules spelled out case by case (Intel SDM vol. 3A, 4.6, CR0.WP = 1): what the walker, the MMU's
// TLB-hit check and the golden checker must all agree with.
bool x86_denies(bool user_mode, AccessKind kind, bool u, bool w, bool nx, bool smep, bool smap, bool ac) {
  if (kind == AccessKind::Write && !w) return true;   // WP=1: supervisor writes obey R/W too
  if (kind == AccessKind::Fetch && nx) return true;   // XD in either mode
  if (user_mode) return !u;                           // CPL 3 needs U at every level
  if (u && kind == AccessKind::Fetch) return smep;    // SMEP: no supervisor fetch from a user page
  if (u) return smap && !ac;                          // SMAP: no supervisor data access unless AC
  return false;
}

TEST(PageWalk, UserSupervisorSmepSmapEveryCombination) {
  unsigned cases = 0, denied = 0;
  for (unsigned bits = 0; bits < 64; ++bits) {
    const bool u = bits & 1, w = bits & 2, nx = bits & 4, smep = bits & 8, smap = bits & 16, ac = bits & 32;
    Words t = build_tables(pte_bit::kPresent | (u ? pte_bit::kUser : 0) | (w ? pte_bit::kWritable : 0) |
                           (nx ? pte_bit::kNoExecute : 0));
    mmu::GoldenChecker g([&](uint64_t pa) { return t.read(pa); }, 4);
    g.set_supervisor_protection(smep, smap);
    for (bool user_mode : {true, false}) {
      for (AccessKind kind : {AccessKind::Read, AccessKind::Write, AccessKind::Fetch}) {
        mmu::WalkRequest req{VirtAddr{0x40201000}, kind, user_mode};
        req.smep = smep;
        req.smap = smap;
        req.ac = ac;
        mmu::PageWalk walk(PhysAddr{0x1000}, 4, req);
        while (!walk.done()) walk.feed(Pte{t.read(walk.pte_address().value())});
        const bool expect = x86_denies(user_mode, kind, u, w, nx, smep, smap, ac);
        const std::string what = "u=" + std::to_string(u) + " w=" + std::to_string(w) + " nx=" + std::to_string(nx) +
                                 " smep=" + std::to_string(smep) + " smap=" + std::to_string(smap) +
                                 " ac=" + std::to_string(ac) + " user=" + std::to_string(user_mode) + " " +
                                 to_string(kind);
        ASSERT_EQ(walk.result().fault, expect) << what;
        EXPECT_EQ(mmu::access_denied(req, w, u, nx), expect) << what;
        if (expect) {
          // A protection fault: P set, U/S from the mode, W/R and I/D from the access.
          uint32_t code = pf_err::kPresent | (user_mode ? pf_err::kUser : 0) |
                          (kind == AccessKind::Write ? pf_err::kWrite : 0) |
                          (kind == AccessKind::Fetch ? pf_err::kFetch : 0);
          EXPECT_EQ(walk.result().error_code, code) << what;
          ++denied;
        }
        // The checker agrees with the walker's answer and flags the opposite one.
        EXPECT_EQ(g.check(0x1000, 0x40201000, kind, user_mode, expect, expect ? 0 : 0x99, "walk", 0, ac), "") << what;
        EXPECT_NE(g.check(0x1000, 0x40201000, kind, user_mode, !expect, expect ? 0x99 : 0, "walk", 0, ac), "") << what;
        ++cases;
      }
    }
  }
  EXPECT_EQ(cases, 384u);
  EXPECT_GT(denied, 0u);
  EXPECT_LT(denied, cases);
  // Spot checks of the rules themselves.
  EXPECT_FALSE(x86_denies(false, AccessKind::Read, true, true, false, true, true, true));   // stac'd copy
  EXPECT_TRUE(x86_denies(false, AccessKind::Read, true, true, false, false, true, false));  // SMAP
  EXPECT_FALSE(x86_denies(false, AccessKind::Read, true, true, false, true, false, false)); // SMEP only
  EXPECT_TRUE(x86_denies(false, AccessKind::Fetch, true, true, false, true, false, true));  // AC does not lift SMEP
  EXPECT_TRUE(x86_denies(false, AccessKind::Write, false, false, false, false, false, false)); // WP
}

TEST(PageWalk, SupervisorBitIsAndedOverEveryLevel) {
  // U=0 in the PDPT entry alone makes the page supervisor: a user read faults, a supervisor read with SMAP
  // works (the page is not a user page).
  Words t = build_tables(pte_bit::kPresent | pte_bit::kUser | pte_bit::kWritable);
  VirtAddr va{0x40201000};
  t.m[0x2000 + 8 * pt_index(va, 3)] = Pte::make(Pfn{3}, pte_bit::kPresent | pte_bit::kWritable).raw();
  EXPECT_TRUE(run_walk(t, va, AccessKind::Read, true).fault);
  mmu::WalkRequest req{va, AccessKind::Read, false};
  req.smap = true;
  mmu::PageWalk walk(PhysAddr{0x1000}, 4, req);
  while (!walk.done()) walk.feed(Pte{t.read(walk.pte_address().value())});
  EXPECT_FALSE(walk.result().fault);
  EXPECT_FALSE(walk.result().user);
}

TEST(GoldenChecker, KnowsTheKernelsDirectMap) {
  // A 2 MiB supervisor global leaf at the direct map's base maps physical 0..2 MiB.
  const uint64_t base = 0xffff888000000000ull;
  const uint64_t kKernel = pte_bit::kPresent | pte_bit::kWritable;
  Words w;
  VirtAddr va{base};
  w.m[0x1000 + 8 * pt_index(va, 4)] = Pte::make(Pfn{2}, kKernel).raw();
  w.m[0x2000 + 8 * pt_index(va, 3)] = Pte::make(Pfn{3}, kKernel).raw();
  const uint64_t pde = 0x3000 + 8 * pt_index(va, 2);
  w.m[pde] = Pte::make(Pfn{0}, kKernel | pte_bit::kPageSize | pte_bit::kGlobal | pte_bit::kNoExecute).raw();
  mmu::GoldenChecker g([&](uint64_t pa) { return w.read(pa); }, 4);
  g.set_direct_map(base, 2ull << 20);
  EXPECT_EQ(g.check(0x1000, base + 0x5000, AccessKind::Write, false, false, 5, "the TLB"), "");
  // A user access must fault there.
  EXPECT_EQ(g.check(0x1000, base + 0x5000, AccessKind::Read, true, true, 0, "the TLB"), "");
  EXPECT_NE(g.check(0x1000, base + 0x5000, AccessKind::Read, true, false, 5, "the TLB"), "");
  // The tables map the direct map somewhere else, or without G, or executable: reported even though
  // the MMU agrees with the tables.
  for (uint64_t bad : {Pte::make(Pfn{512}, kKernel | pte_bit::kPageSize | pte_bit::kGlobal | pte_bit::kNoExecute).raw(),
                       Pte::make(Pfn{0}, kKernel | pte_bit::kPageSize | pte_bit::kNoExecute).raw(),
                       Pte::make(Pfn{0}, kKernel | pte_bit::kPageSize | pte_bit::kGlobal).raw()}) {
    w.m[pde] = bad;
    const uint64_t pfn = Pte{bad}.pfn().value() + 5;
    const std::string r = g.check(0x1000, base + 0x5000, AccessKind::Read, false, false, pfn, "the TLB");
    EXPECT_NE(r.find("the kernel's direct map must map it to pfn 0x5"), std::string::npos) << r;
  }
}

TEST(Vma, LookupInsertOverlapAndRemoveSplits) {
  fw::VmaSet s;
  s.insert({VirtAddr{0x10000}, VirtAddr{0x20000}, fw::prot::kRead | fw::prot::kWrite, "heap"});
  s.insert({VirtAddr{0x40000}, VirtAddr{0x41000}, fw::prot::kRead, "ro"});
  EXPECT_EQ(s.find(VirtAddr{0x10000})->name, "heap");
  EXPECT_EQ(s.find(VirtAddr{0x1FFFF})->name, "heap");
  EXPECT_EQ(s.find(VirtAddr{0x20000}), nullptr);
  EXPECT_EQ(s.find(VirtAddr{0xFFFF}), nullptr);
  EXPECT_EQ(s.find(VirtAddr{0x40FFF})->name, "ro");
  EXPECT_THROW(s.insert({VirtAddr{0x1F000}, VirtAddr{0x21000}, 0, "x"}), std::invalid_argument);
  EXPECT_THROW(s.insert({VirtAddr{0x30000}, VirtAddr{0x30001}, 0, "x"}), std::invalid_argument);
  EXPECT_TRUE(s.find(VirtAddr{0x10000})->allows(AccessKind::Write));
  EXPECT_FALSE(s.find(VirtAddr{0x40000})->allows(AccessKind::Write));
  EXPECT_FALSE(s.find(VirtAddr{0x40000})->allows(AccessKind::Fetch));
  // Punch a hole in the middle of heap: two VMAs remain.
  EXPECT_EQ(s.remove(VirtAddr{0x14000}, VirtAddr{0x16000}), 0x2000u);
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.find(VirtAddr{0x14000}), nullptr);
  EXPECT_EQ(s.find(VirtAddr{0x13FFF})->end, VirtAddr{0x14000});
  EXPECT_EQ(s.find(VirtAddr{0x16000})->start, VirtAddr{0x16000});
  EXPECT_EQ(s.remove(VirtAddr{0x0}, VirtAddr{0x100000}), 0x10000u - 0x2000u + 0x1000u);
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(fw::prot_string(fw::prot::kRead | fw::prot::kExec), "r-x");
}

TEST(SparseStore, ReadsZeroGrowsWithWrittenPagesAndReleasesZeroPages) {
  mem::SparseStore s;
  uint8_t buf[16] = {1};
  s.read(PhysAddr{1ull << 40}, buf, 16);
  EXPECT_EQ(buf[0], 0);
  EXPECT_EQ(s.resident_pages(), 0u);
  uint64_t v = 0x1122334455667788ull;
  s.write(PhysAddr{0x1FFC}, reinterpret_cast<uint8_t*>(&v), 8);  // crosses a page boundary
  EXPECT_EQ(s.resident_pages(), 2u);
  uint64_t back = 0;
  s.read(PhysAddr{0x1FFC}, reinterpret_cast<uint8_t*>(&back), 8);
  EXPECT_EQ(back, v);
  std::vector<uint8_t> zeros(kPageSize, 0);
  s.write(PhysAddr{0x1000}, zeros.data(), kPageSize);
  EXPECT_EQ(s.resident_pages(), 1u);
  s.read(PhysAddr{0x1FFC}, reinterpret_cast<uint8_t*>(&back), 8);
  EXPECT_EQ(back, v & 0xFFFFFFFF00000000ull);
  s.write(PhysAddr{0x5000}, zeros.data(), 64);  // zero bytes to an untouched page allocate nothing
  EXPECT_EQ(s.resident_pages(), 1u);
}

}  // namespace
}  // namespace vmsim
