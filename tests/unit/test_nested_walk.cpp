// Unit tests of nested paging: the EPT formats (common/ept.hpp), the two-dimensional walk stepping core
// and its caches (models/mmu/nested_walk.hpp, nested_caches.hpp) and the nested golden checker, over
// hand-built guest and EPT tables in a plain memory of 8-byte words.
#include <gtest/gtest.h>

#include <map>

#include "common/ept.hpp"
#include "common/units.hpp"
#include "models/mmu/golden_nested.hpp"
#include "models/mmu/nested_walk.hpp"
#include "models/mmu/tlb_array.hpp"
#include "tests/nested_tables.hpp"

namespace vmsim::mmu {
namespace {

using test::kGuestTable;

// A plain memory of 8-byte words.
struct Words {
  std::map<uint64_t, uint64_t> m;
  uint64_t read(uint64_t a) const {
    auto it = m.find(a);
    return it == m.end() ? 0 : it->second;
  }
  void write(uint64_t a, uint64_t v) { m[a] = v; }
};

struct Nested : test::NestedTables<Words> {
  Words words;
  Nested(unsigned g, unsigned e, bool ad = false) : test::NestedTables<Words>(words, g, e, ad) {}
  NestedResult walk(VirtAddr va, AccessKind kind = AccessKind::Read, NestedCaches* caches = nullptr,
                    uint16_t vpid = 1) {
    NestedWalk w(ctx(vpid), WalkRequest{va, kind, true}, caches);
    while (!w.done()) {
      const uint64_t v = read(w.next().hpa.value());
      w.feed(v);
      if (w.has_write()) words.write(w.write_addr().value(), w.write_value());
    }
    return w.result();
  }
};

const VirtAddr kVa{0x00007F12345ABCDEull};

TEST(Ept, EntryAndPointerFormats) {
  const EptEntry e = EptEntry::leaf(PhysAddr{0x12345000}, ept_bit::kRead | ept_bit::kWrite, 1);
  EXPECT_EQ(e.raw(), 0x12345000ull | 3 | (6ull << 3));
  EXPECT_TRUE(e.present() && e.readable() && e.writable() && !e.executable());
  EXPECT_EQ(e.mem_type(), ept_memtype::kWriteBack);
  EXPECT_TRUE(EptEntry::leaf(PhysAddr{0x40000000}, 7, 3).is_leaf(3));
  EXPECT_FALSE(EptEntry::make(PhysAddr{0x5000}, 7).is_leaf(2));
  EXPECT_TRUE(EptEntry{4}.present());  // execute-only is present
  const Eptp p = Eptp::make(PhysAddr{0xABC000}, 5, true);
  EXPECT_EQ(p.raw(), 0xABC000ull | (4ull << 3) | (1ull << 6) | 6);
  EXPECT_EQ(p.levels(), 5u);
  EXPECT_TRUE(p.ad_enabled());
  EXPECT_EQ(p.root(), PhysAddr{0xABC000});
  EXPECT_EQ(p.invalid(), nullptr);
  EXPECT_NE(Eptp::make(PhysAddr{0x1000}, 3, false).invalid(), nullptr);   // walk length 3
  EXPECT_NE(Eptp{0x1000 | (3 << 3) | 2}.invalid(), nullptr);               // memory type 2
  EXPECT_NE(Eptp{0x1000 | (3 << 3) | 6 | (1 << 8)}.invalid(), nullptr);    // reserved bit 8
  EXPECT_NE(Eptp{0x1000 | (3 << 3) | 6}.invalid(40), Eptp{(1ull << 45) | (3 << 3) | 6}.invalid(40));
}

TEST(Ept, MisconfigurationChecks) {
  EXPECT_EQ(ept_misconfig(EptEntry::leaf(PhysAddr{0x1000}, 7, 1), 1), nullptr);
  EXPECT_NE(ept_misconfig(EptEntry{0x1000 | 2 | (6 << 3)}, 1), nullptr);  // write-only
  EXPECT_NE(ept_misconfig(EptEntry{0x1000 | 6 | (6 << 3)}, 1), nullptr);  // write+execute without read
  EXPECT_EQ(ept_misconfig(EptEntry{0x1000 | 4 | (6 << 3)}, 1), nullptr);  // execute-only, supported
  EXPECT_NE(ept_misconfig(EptEntry{0x1000 | 4 | (6 << 3)}, 1, 52, false), nullptr);
  for (unsigned t : {2u, 3u, 7u}) EXPECT_NE(ept_misconfig(EptEntry::leaf(PhysAddr{0x1000}, 7, 1, t), 1), nullptr);
  EXPECT_NE(ept_misconfig(EptEntry{0x1000 | 7 | (1 << 7)}, 4), nullptr);  // PS in a PML4E
  EXPECT_NE(ept_misconfig(EptEntry{0x1000 | 7 | (1 << 3)}, 3), nullptr);  // bits 7:3 in a non-leaf
  EXPECT_NE(ept_misconfig(EptEntry::leaf(PhysAddr{0x201000}, 7, 2), 2), nullptr);  // unaligned 2 MiB
  EXPECT_EQ(ept_misconfig(EptEntry::leaf(PhysAddr{0x200000}, 7, 2), 2), nullptr);
  EXPECT_NE(ept_misconfig(EptEntry::leaf(PhysAddr{1ull << 46}, 7, 1), 1, 46), nullptr);  // above MAXPHYADDR
}

TEST(NestedWalk, FourOverFourReads24Entries) {
  Nested n(4, 4);
  const uint64_t hpa = n.build(kVa);
  const NestedResult r = n.walk(kVa);
  ASSERT_EQ(r.outcome, NestedOutcome::Success);
  EXPECT_EQ(r.references(), 24u);
  EXPECT_EQ(r.guest_reads, 4u);
  EXPECT_EQ(r.ept_reads, 20u);
  EXPECT_EQ(r.ept_translations, 5u);
  EXPECT_EQ(r.pfn.value(), hpa >> kPageShift);
  EXPECT_EQ(r.gpa.value(), n.data_gpa().value() + page_offset(kVa));
  EXPECT_TRUE(r.writable && r.user && r.readable && !r.no_execute);
  EXPECT_EQ(r.effective_level(), 1u);
}

TEST(NestedWalk, FiveOverFiveReads35Entries) {
  Nested n(5, 5);
  const VirtAddr va{0x00FF123456789000ull};
  const uint64_t hpa = n.build(va);
  const NestedResult r = n.walk(va);
  ASSERT_EQ(r.outcome, NestedOutcome::Success);
  EXPECT_EQ(r.references(), 35u);
  EXPECT_EQ(r.guest_reads, 5u);
  EXPECT_EQ(r.pfn.value(), hpa >> kPageShift);
}

TEST(NestedWalk, MixedDepthsCountReferences) {
  // 4-level guest over 5-level EPT: 4 x (1 + 5) + 5 = 29; 5 over 4: 5 x 5 + 4 = 29.
  Nested a(4, 5), b(5, 4);
  a.build(kVa);
  b.build(kVa);
  EXPECT_EQ(a.walk(kVa).references(), 29u);
  EXPECT_EQ(b.walk(kVa).references(), 29u);
}

TEST(NestedWalk, EveryPageSizeInBothDimensions) {
  for (unsigned gl = 1; gl <= 3; ++gl) {
    for (unsigned el = 1; el <= 3; ++el) {
      SCOPED_TRACE("guest leaf " + std::to_string(gl) + ", EPT leaf " + std::to_string(el));
      Nested n(4, 4);
      const VirtAddr va{0x00007F1234567ABCull};
      const uint64_t hpa = n.build(va, gl, el);
      const NestedResult r = n.walk(va);
      ASSERT_EQ(r.outcome, NestedOutcome::Success);
      EXPECT_EQ(r.pfn.value(), hpa >> kPageShift);
      EXPECT_EQ(r.guest_level, gl);
      EXPECT_EQ(r.ept_level, el);
      EXPECT_EQ(r.effective_level(), std::min(gl, el));
      // Guest tables sit in 4 KiB EPT pages (5 references each); the final translation ends at el.
      EXPECT_EQ(r.references(), (4 - gl + 1) * 5 + (4 - el + 1));
      EXPECT_EQ(r.gpa, n.final_gpa(va, gl));
    }
  }
}

TEST(NestedWalk, GuestFaultAtEveryGuestLevel) {
  for (unsigned levels : {4u, 5u}) {
    for (unsigned fault_level = 1; fault_level <= levels; ++fault_level) {
      Nested n(levels, levels);
      n.build(kVa);
      n.guest_write(GuestPhysAddr{n.table_gpa(fault_level).value() + 8ull * pt_index(kVa, fault_level)}, 0);
      const NestedResult r = n.walk(kVa, AccessKind::Write);
      ASSERT_EQ(r.outcome, NestedOutcome::GuestFault) << levels << " " << fault_level;
      EXPECT_EQ(r.guest_level, fault_level);
      EXPECT_EQ(r.error_code, pf_err::kWrite | pf_err::kUser);
      EXPECT_EQ(r.references(), (levels - fault_level + 1) * (levels + 1));
    }
  }
  // A protection fault at the leaf (read-only page written).
  Nested n(4, 4);
  n.build(kVa, 1, 1, pte_bit::kPresent | pte_bit::kUser);
  const NestedResult r = n.walk(kVa, AccessKind::Write);
  ASSERT_EQ(r.outcome, NestedOutcome::GuestFault);
  EXPECT_EQ(r.error_code, pf_err::kPresent | pf_err::kWrite | pf_err::kUser);
}

TEST(NestedWalk, EptViolationOnEveryGuestTableAtEveryEptLevel) {
  for (unsigned levels : {4u, 5u}) {
  for (unsigned guest_level = 1; guest_level <= levels; ++guest_level) {
    for (unsigned ept_level = 1; ept_level <= levels; ++ept_level) {
      SCOPED_TRACE(std::to_string(levels) + " levels, guest table " + std::to_string(guest_level) + ", EPT level " +
                   std::to_string(ept_level));
      Nested n(levels, levels);
      n.build(kVa);
      const GuestPhysAddr table = n.table_gpa(guest_level);
      n.mem.write(n.ept_slot(table, ept_level), 0);
      const NestedResult r = n.walk(kVa);
      ASSERT_EQ(r.outcome, NestedOutcome::EptViolation);
      EXPECT_FALSE(r.final_translation);
      EXPECT_EQ(r.ept_level, ept_level);
      EXPECT_EQ(r.gpa.value(), table.value() + 8ull * pt_index(kVa, guest_level));
      EXPECT_EQ(r.qualification, ept_qual::kRead | ept_qual::kGlaValid);
      EXPECT_EQ(r.guest_reads, levels - guest_level);
      EXPECT_EQ(r.ept_reads, (levels - guest_level) * levels + (levels - ept_level + 1));
    }
  }
  }
}

TEST(NestedWalk, EptViolationOnTheFinalAddressAtEveryEptLevel) {
  for (unsigned ept_level = 1; ept_level <= 5; ++ept_level) {
    Nested n(5, 5);
    n.build(kVa);
    n.mem.write(n.ept_slot(n.final_gpa(kVa), ept_level), 0);
    const NestedResult r = n.walk(kVa, AccessKind::Fetch);
    ASSERT_EQ(r.outcome, NestedOutcome::EptViolation) << ept_level;
    EXPECT_TRUE(r.final_translation);
    EXPECT_EQ(r.ept_level, ept_level);
    EXPECT_EQ(r.gpa.value(), n.data_gpa().value() + page_offset(kVa));
    EXPECT_EQ(r.qualification, ept_qual::kFetch | ept_qual::kGlaValid | ept_qual::kGlaTranslation);
  }
  // A permission violation at the leaf reports the entries' permissions.
  Nested n(4, 4);
  n.build(kVa, 1, 1, kGuestTable, ept_bit::kRead | ept_bit::kExecute);
  const NestedResult r = n.walk(kVa, AccessKind::Write);
  ASSERT_EQ(r.outcome, NestedOutcome::EptViolation);
  EXPECT_EQ(r.qualification, ept_qual::kWrite | ept_qual::kReadable | ept_qual::kExecutable | ept_qual::kGlaValid |
                                 ept_qual::kGlaTranslation);
  // Reads of that page are fine; the combined rights forbid writes.
  const NestedResult rd = n.walk(kVa, AccessKind::Read);
  ASSERT_EQ(rd.outcome, NestedOutcome::Success);
  EXPECT_FALSE(rd.writable);
}

TEST(NestedWalk, MisconfigurationAtEveryLevelOfBothPurposes) {
  for (bool final_gpa : {false, true}) {
    for (unsigned ept_level = 1; ept_level <= 5; ++ept_level) {
      Nested n(5, 5);
      n.build(kVa);
      const GuestPhysAddr gpa = final_gpa ? n.data_gpa() : n.table_gpa(2);
      const uint64_t slot = n.ept_slot(gpa, ept_level);
      // Leaves get a reserved memory type, tables reserved bits 7:3 (a PML5E: PS).
      n.mem.write(slot, n.read(slot) | (ept_level == 1 ? (7ull << 3) : ept_level == 5 ? (1ull << 7) : (1ull << 4)));
      const NestedResult r = n.walk(kVa);
      ASSERT_EQ(r.outcome, NestedOutcome::EptMisconfig) << final_gpa << ept_level;
      EXPECT_EQ(r.final_translation, final_gpa);
      EXPECT_EQ(r.ept_level, ept_level);
      EXPECT_NE(r.misconfig_reason, nullptr);
    }
  }
  Nested n(4, 4);
  n.build(kVa, 1, 1, kGuestTable, ept_bit::kWrite);  // write-only leaf
  EXPECT_EQ(n.walk(kVa).outcome, NestedOutcome::EptMisconfig);
}

TEST(NestedWalk, AddressBeyondTheEptWalkIsAViolation) {
  Nested n(4, 4);
  n.build(kVa);
  n.guest_write(GuestPhysAddr{n.table_gpa(1).value() + 8ull * pt_index(kVa, 1)}, (1ull << 48) | kGuestTable);
  const NestedResult r = n.walk(kVa);
  ASSERT_EQ(r.outcome, NestedOutcome::EptViolation);
  EXPECT_TRUE(r.final_translation);
}

TEST(NestedWalk, GuestAccessedDirtyAndEptAccessedDirty) {
  Nested n(4, 4, /*ad=*/true);
  n.build(kVa);
  const NestedResult r = n.walk(kVa, AccessKind::Read);
  ASSERT_EQ(r.outcome, NestedOutcome::Success);
  EXPECT_EQ(r.guest_ad_writes, 4u);  // A in every guest entry
  EXPECT_FALSE(r.dirty);
  // Guest tables are written (their EPT leaves get A and D); the data page is only read (A).
  for (unsigned l = 1; l <= 4; ++l) {
    const EptEntry t{n.read(n.ept_slot(n.table_gpa(l), 1))};
    EXPECT_TRUE(t.accessed() && t.dirty()) << l;
    EXPECT_TRUE(Pte{n.guest_read(GuestPhysAddr{n.table_gpa(l).value() + 8ull * pt_index(kVa, l)})}.accessed());
  }
  const EptEntry d{n.read(n.ept_slot(n.data_gpa(), 1))};
  EXPECT_TRUE(d.accessed());
  EXPECT_FALSE(d.dirty());
  EXPECT_TRUE(EptEntry{n.read(n.ept_slot(n.data_gpa(), 4))}.accessed());
  const NestedResult w = n.walk(kVa, AccessKind::Write);
  ASSERT_EQ(w.outcome, NestedOutcome::Success);
  EXPECT_TRUE(w.dirty);
  EXPECT_TRUE(EptEntry{n.read(n.ept_slot(n.data_gpa(), 1))}.dirty());
  EXPECT_TRUE(Pte{n.guest_read(GuestPhysAddr{n.table_gpa(1).value() + 8ull * pt_index(kVa, 1)})}.dirty());
}

TEST(NestedWalk, GuestTableWriteNeedsEptWriteWithoutEptAd) {
  // Without EPT A/D the guest table is read as a read; setting the guest A bit is a write to a page EPT
  // maps read-only: an EPT violation (data write) on the guest paging-structure entry.
  Nested n(4, 4, /*ad=*/false);
  n.build(kVa);
  const PhysAddr table_page{n.gpa_to_hpa.at(n.table_gpa(2).value() & ~kPageMask)};
  n.mem.write(n.ept_slot(n.table_gpa(2), 1), EptEntry::leaf(table_page, ept_bit::kRead, 1).raw());
  const NestedResult r = n.walk(kVa);
  ASSERT_EQ(r.outcome, NestedOutcome::EptViolation);
  EXPECT_FALSE(r.final_translation);
  EXPECT_EQ(r.qualification, ept_qual::kWrite | ept_qual::kReadable | ept_qual::kGlaValid);
  EXPECT_EQ(r.gpa.value(), n.table_gpa(2).value() + 8ull * pt_index(kVa, 2));
  // With EPT A/D the same table read is itself a write (qualification read and write).
  Nested m(4, 4, /*ad=*/true);
  m.build(kVa);
  const PhysAddr m_page{m.gpa_to_hpa.at(m.table_gpa(2).value() & ~kPageMask)};
  m.mem.write(m.ept_slot(m.table_gpa(2), 1), EptEntry::leaf(m_page, ept_bit::kRead, 1).raw());
  const NestedResult s = m.walk(kVa);
  ASSERT_EQ(s.outcome, NestedOutcome::EptViolation);
  EXPECT_EQ(s.qualification, ept_qual::kRead | ept_qual::kWrite | ept_qual::kReadable | ept_qual::kGlaValid);
}

TEST(NestedWalk, CachesCutReferences) {
  Nested n(4, 4);
  const uint64_t hpa = n.build(kVa);
  NestedCaches c;
  EXPECT_EQ(n.walk(kVa, AccessKind::Read, &c).references(), 24u);
  // Again: the guest PDE cache gives the page table's host address, the nested TLB the final page.
  NestedResult r = n.walk(kVa, AccessKind::Read, &c);
  ASSERT_EQ(r.outcome, NestedOutcome::Success);
  EXPECT_EQ(r.pfn.value(), hpa >> kPageShift);
  EXPECT_EQ(r.guest_pwc_level, 2u);
  EXPECT_EQ(r.references(), 1u);
  EXPECT_EQ(r.ntlb_hits, 1u);
  // Another VPID shares no guest page-walk-cache entry but the same EPT: every guest-physical address hits
  // the nested TLB, leaving the 4 guest reads.
  r = n.walk(kVa, AccessKind::Read, &c, 2);
  EXPECT_EQ(r.guest_pwc_level, 0u);
  EXPECT_EQ(r.references(), 4u);
  EXPECT_EQ(r.ntlb_hits, 5u);
  // INVVPID drops VPID 1's guest entries only.
  EXPECT_GT(c.invalidate_vpid(1), 0u);
  EXPECT_EQ(n.walk(kVa, AccessKind::Read, &c, 1).references(), 4u);
  EXPECT_EQ(n.walk(kVa, AccessKind::Read, &c, 2).references(), 1u);
  // INVEPT single-context drops everything derived from this EPT: a full 2D walk again.
  EXPECT_GT(c.invalidate_ep4ta(n.eptp().root().value()), 0u);
  EXPECT_EQ(c.tlb_entries() + c.ept_entries() + c.guest_entries(), 0u);
  EXPECT_EQ(n.walk(kVa, AccessKind::Read, &c, 1).references(), 24u);
  // Another EPT (other EP4TA) is untouched by INVEPT of this one.
  EXPECT_EQ(c.invalidate_ep4ta(0x777000), 0u);
}

TEST(NestedWalk, EptPageWalkCacheResumesBelowTheCachedLevel) {
  Nested n(4, 4);
  n.build(kVa);
  NestedCacheSizes sizes;
  sizes.nested_tlb = 0;
  sizes.guest_pde = sizes.guest_pdpte = sizes.guest_pml4e = sizes.guest_pml5e = 0;
  NestedCaches c(sizes);
  EXPECT_EQ(n.walk(kVa, AccessKind::Read, &c).references(), 24u);
  // Every EPT translation now resumes below its cached EPT PDE: 1 EPT read each, plus the 4 guest reads.
  const NestedResult r = n.walk(kVa, AccessKind::Read, &c);
  EXPECT_EQ(r.ept_pwc_hits, 5u);
  EXPECT_EQ(r.ntlb_hits, 0u);
  EXPECT_EQ(r.references(), 9u);
  // Only the EPT PDPTE level kept: 2 EPT reads per translation.
  sizes.ept_pde = 0;
  NestedCaches d(sizes);
  n.walk(kVa, AccessKind::Read, &d);
  EXPECT_EQ(n.walk(kVa, AccessKind::Read, &d).references(), 4u + 5 * 2);
}

TEST(NestedGolden, AgreesWithTheWalkAndCatchesAStaleNestedTlbEntry) {
  Nested n(4, 4);
  n.build(kVa);
  GoldenNestedChecker g([&n](uint64_t a) { return n.read(a); });
  NestedCaches c;
  const NestedResult r = n.walk(kVa, AccessKind::Read, &c);
  ASSERT_EQ(r.outcome, NestedOutcome::Success);
  const uint64_t eptp = n.eptp().raw();
  EXPECT_EQ(g.check(eptp, n.guest_root.value(), 4, kVa.value(), AccessKind::Read, true, false, r.pfn.value(), "walk"),
            "");
  // The hypervisor remaps the data page in EPT without INVEPT: the nested TLB still has the old page.
  const PhysAddr fresh = n.host_page(1);
  n.mem.write(n.ept_slot(n.data_gpa(), 1), EptEntry::leaf(fresh, ept_bit::kRwx, 1).raw());
  const NestedResult stale = n.walk(kVa, AccessKind::Read, &c);
  ASSERT_EQ(stale.outcome, NestedOutcome::Success);
  EXPECT_EQ(stale.pfn, r.pfn);  // served by the nested TLB
  const std::string report =
      g.check(eptp, n.guest_root.value(), 4, kVa.value(), AccessKind::Read, true, false, stale.pfn.value(), "walk");
  EXPECT_NE(report.find("tables say host pfn " + format_hex(fresh.value() >> kPageShift)), std::string::npos) << report;
  // After INVEPT the walk agrees again.
  c.invalidate_ep4ta(n.eptp().root().value());
  const NestedResult again = n.walk(kVa, AccessKind::Read, &c);
  EXPECT_EQ(again.pfn, pfn_of(fresh));
  EXPECT_EQ(g.check(eptp, n.guest_root.value(), 4, kVa.value(), AccessKind::Read, true, false, again.pfn.value(), "w"),
            "");
  // Faults agree too: an unmapped guest page, an EPT hole.
  n.mem.write(n.ept_slot(n.data_gpa(), 2), 0);
  c.invalidate_all();
  EXPECT_EQ(n.walk(kVa, AccessKind::Read, &c).outcome, NestedOutcome::EptViolation);
  EXPECT_EQ(g.translate(eptp, n.guest_root.value(), 4, kVa.value()).kind, GoldenNested::Kind::EptNotMapped);
  EXPECT_EQ(g.check(eptp, n.guest_root.value(), 4, kVa.value(), AccessKind::Read, true, true, 0, "walk"), "");
  EXPECT_NE(g.check(eptp, n.guest_root.value(), 4, kVa.value(), AccessKind::Read, true, false, 5, "walk"), "");
}

}  // namespace
}  // namespace vmsim::mmu

namespace vmsim::mmu {
namespace {

TlbArrayEntry entry(uint64_t va, uint64_t pfn, Pcid pcid, Vpid vpid, bool global = false) {
  TlbArrayEntry e = TlbArrayEntry::make(VirtAddr{va}, PageSize::k4K, Pfn{pfn}, pcid);
  e.vpid = vpid;
  e.global = global;
  return e;
}

TEST(TlbVpid, EntriesMatchOnlyTheirVpidGlobalOnesIncluded) {
  TlbArray a(TlbArrayConfig{});
  const uint64_t lo = 0x401000, hi = 0xFFFF800000001000ull;
  a.fill(entry(lo, 0x10, 3, 0));
  a.fill(entry(lo, 0x20, 3, 1));
  a.fill(entry(hi, 0x30, 0, 1, true));
  a.fill(entry(hi, 0x40, 0, 0, true));
  EXPECT_EQ(a.valid_entries(), 4u);  // same page and PCID under two VPIDs: two entries
  EXPECT_EQ(a.lookup(VirtAddr{lo}, 3).entry->pfn, Pfn{0x10});
  EXPECT_EQ(a.lookup(VirtAddr{hi}, 9).entry->pfn, Pfn{0x40});
  a.set_vpid(1);
  EXPECT_EQ(a.lookup(VirtAddr{lo}, 3).entry->pfn, Pfn{0x20});
  EXPECT_EQ(a.lookup(VirtAddr{hi}, 9).entry->pfn, Pfn{0x30});  // global within VPID 1
  a.set_vpid(2);
  EXPECT_FALSE(a.lookup(VirtAddr{lo}, 3));
  EXPECT_FALSE(a.lookup(VirtAddr{hi}, 0));
  // Every VPID against both halves: the XOR-folded key never aliases.
  for (Vpid v : {Vpid{0x7F}, Vpid{0x80}, Vpid{0xFF80}, Vpid{0xFFFF}}) {
    a.set_vpid(v);
    EXPECT_FALSE(a.lookup(VirtAddr{lo}, 3)) << v;
    EXPECT_FALSE(a.lookup(VirtAddr{hi}, 0)) << v;
  }
}

TEST(TlbVpid, InvlpgAndInvpcidStayInTheCurrentVpid) {
  TlbArray a(TlbArrayConfig{});
  a.fill(entry(0x401000, 0x10, 3, 0));
  a.fill(entry(0x401000, 0x20, 3, 1));
  a.set_vpid(1);
  EXPECT_EQ(a.invlpg(VirtAddr{0x401000}, 3).total(), 1u);
  EXPECT_EQ(a.invpcid(InvpcidType::AllContextsInclGlobal, 0).total(), 0u);
  a.set_vpid(0);
  EXPECT_TRUE(a.lookup(VirtAddr{0x401000}, 3));
}

TEST(TlbVpid, InvpcidInAGivenVpidWhateverTheCurrentOne) {
  TlbArray a(TlbArrayConfig{});
  a.fill(entry(0x401000, 0x10, 3, 0));        // host, PCID 3
  a.fill(entry(0x401000, 0x20, 3, 1));        // VPID 1, PCID 3
  a.fill(entry(0x401000, 0x21, 4, 1));        // VPID 1, PCID 4
  a.fill(entry(0x402000, 0x22, 3, 1));        // VPID 1, PCID 3, other page
  a.fill(entry(0x403000, 0x23, 0, 1, true));  // VPID 1, global
  a.set_vpid(2);                              // another guest is current
  EXPECT_EQ(a.invpcid_in(1, InvpcidType::IndividualAddress, 3, VirtAddr{0x401000}).total(), 1u);
  EXPECT_EQ(a.invpcid_in(1, InvpcidType::SingleContext, 3).total(), 1u);           // 0x402000; not the global
  EXPECT_EQ(a.invpcid_in(0, InvpcidType::IndividualAddress, 3, VirtAddr{0x401000}).total(), 1u);  // the host's
  EXPECT_EQ(a.invpcid_in(1, InvpcidType::AllContextsExclGlobal, 0).total(), 1u);   // PCID 4's
  EXPECT_EQ(a.valid_entries(), 1u);
  a.set_vpid(1);
  EXPECT_TRUE(a.lookup(VirtAddr{0x403000}, 9));
  TlbHierarchy h(TlbHierarchyConfig{});
  h.fill(VirtAddr{0x401000}, AccessKind::Read, entry(0x401000, 0x20, 3, 1));
  EXPECT_EQ(h.invpcid_in(0, InvpcidType::SingleContext, 3), 0u);
  EXPECT_GE(h.invpcid_in(1, InvpcidType::SingleContext, 3), 1u);
}

TEST(TlbVpid, InvvpidAndInveptSemantics) {
  auto setup = [](TlbArray& a) {
    a.fill(entry(0x401000, 0x10, 3, 0));        // host
    a.fill(entry(0x401000, 0x20, 3, 1));        // VPID 1, PCID 3
    a.fill(entry(0x401000, 0x21, 4, 1));        // VPID 1, PCID 4, same address
    a.fill(entry(0x402000, 0x22, 3, 1));        // VPID 1, other address
    a.fill(entry(0x403000, 0x23, 0, 1, true));  // VPID 1, global
    a.fill(entry(0x401000, 0x30, 3, 2));        // VPID 2
  };
  {
    TlbArray a(TlbArrayConfig{});
    setup(a);
    EXPECT_EQ(a.invvpid(InvvpidType::IndividualAddress, 1, VirtAddr{0x401000}).total(), 2u);  // both PCIDs
    EXPECT_EQ(a.invvpid(InvvpidType::IndividualAddress, 1, VirtAddr{0x403000}).total(), 1u);  // global too
  }
  {
    TlbArray a(TlbArrayConfig{});
    setup(a);
    EXPECT_EQ(a.invvpid(InvvpidType::SingleContext, 1).total(), 4u);
    EXPECT_EQ(a.valid_entries(), 2u);
  }
  {
    TlbArray a(TlbArrayConfig{});
    setup(a);
    EXPECT_EQ(a.invvpid(InvvpidType::SingleContextRetainGlobals, 1).total(), 3u);
    a.set_vpid(1);
    EXPECT_TRUE(a.lookup(VirtAddr{0x403000}, 7));
  }
  {
    TlbArray a(TlbArrayConfig{});
    setup(a);
    EXPECT_EQ(a.invvpid(InvvpidType::AllContexts, 0).total(), 5u);  // never VPID 0
    EXPECT_TRUE(a.lookup(VirtAddr{0x401000}, 3));
  }
  {
    TlbArray a(TlbArrayConfig{});
    setup(a);
    EXPECT_EQ(a.invept().total(), 5u);
    EXPECT_EQ(a.valid_entries(), 1u);
  }
}

TEST(TlbVpid, HierarchyMemoForgetsAVpidSwitch) {
  TlbHierarchy h(TlbHierarchyConfig{});
  TlbArrayEntry e = entry(0x401000, 0x10, 0, 0);
  h.fill(VirtAddr{0x401000}, AccessKind::Read, e);
  EXPECT_EQ(h.lookup(VirtAddr{0x401000}, 0, AccessKind::Read).level, TlbHitLevel::L1);
  h.set_vpid(1);
  EXPECT_EQ(h.lookup(VirtAddr{0x401000}, 0, AccessKind::Read).level, TlbHitLevel::Miss);
  EXPECT_EQ(h.invvpid(InvvpidType::AllContexts, 0), 0u);
  h.set_vpid(0);
  EXPECT_EQ(h.lookup(VirtAddr{0x401000}, 0, AccessKind::Read).level, TlbHitLevel::L1);
  EXPECT_EQ(h.invept(), 0u);
}

}  // namespace
}  // namespace vmsim::mmu
