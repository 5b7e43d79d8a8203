// Model test of nested paging through the real MMU and walker over TLM: a guest-mode TLB miss makes 24
// timed reads (4-level guest over 4-level EPT), the TLB entry is VPID-tagged, INVVPID keeps the nested TLB
// and INVEPT drops it, the golden checker catches a deliberately stale nested-TLB entry, EPT violations
// come back as VM exits, host translations work again after VM exit, guest-mode statistics appear only
// once guest mode is entered, and the RTL TLB refuses guest mode naming its key.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "models/mmu/mmu.hpp"
#include "tests/model/recording_memory.hpp"
#include "tests/model/tlm_test_util.hpp"
#include "tests/nested_tables.hpp"
#if VMSIM_HAVE_RTL
#include "testbench/rtl_tlb_backend.hpp"
#endif

namespace vmsim {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

struct MemWords {
  test::RecordingMemory& m;
  uint64_t read(uint64_t a) const { return m.peek64(a); }
  void write(uint64_t a, uint64_t v) { m.poke64(a, v); }
};

mmu::MmuConfig rtl_config() {
  mmu::MmuConfig c;
  c.tlb.dtlb[0].impl = mmu::TlbImpl::Rtl;
  return c;
}

mmu::TlbBackendFactory rtl_factory() {
#if VMSIM_HAVE_RTL
  return [](const mmu::TlbArrayConfig& cfg, const std::string& path, const char* name) {
    mmu::ExternalTlb ext;
    ext.backend = rtl::make_rtl_tlb_backend(cfg, path, name);
    ext.operations = [] { return uint64_t{0}; };
    ext.cycles = [] { return uint64_t{0}; };
    return ext;
  };
#else
  return {};
#endif
}

struct Bench : sc_core::sc_module {
  test::RecordingMemory mem{"mem", sc_time(50, SC_NS)};
  mmu::Mmu mmu{"mmu", mmu::MmuConfig{}, sc_time(1, SC_NS), true, true};
  MemWords words{mem};
  test::NestedTables<MemWords> tables{words, 4, 4, false};
  const VirtAddr va{0x00007F12345ABCDEull};
  uint64_t hpa = 0;
  bool stats_before_guest = false;
  // Results, checked by the tests after sc_start.
  struct Step {
    std::string what;  // "ok <pa>", "fault", "ept violation", or a checker report
    size_t reads = 0;  // timed reads issued by this translation
    sc_time delay;
  };
  std::vector<Step> steps;
  // An MMU whose L1 data TLB is the RTL TLB (impl: rtl), with its own memory.
#if VMSIM_HAVE_RTL
  test::RecordingMemory rtl_mem{"rtl_mem", sc_time(50, SC_NS)};
#endif
  std::unique_ptr<mmu::Mmu> rtl_mmu;

  explicit Bench(const sc_core::sc_module_name& n) : sc_core::sc_module(n) {
    mmu.walker().mem.bind(mem.in);
#if VMSIM_HAVE_RTL
    rtl_mmu = std::make_unique<mmu::Mmu>("rtl_mmu", rtl_config(), sc_time(1, SC_NS), true, false, false, rtl_factory());
    rtl_mmu->walker().mem.bind(rtl_mem.in);
#endif
    SC_HAS_PROCESS(Bench);
    SC_THREAD(run);
  }
  void attempt(AccessKind kind = AccessKind::Read) {
    sc_time d = sc_core::SC_ZERO_TIME;
    size_t before = 0;
    for (const test::Arrival& a : mem.log) before += a.write ? 0 : 1;
    Step s;
    try {
      const mmu::Translation t = mmu.translate(va, kind, true, d);
      s.what = !t.fault                                          ? "ok " + std::to_string(t.pa.value())
               : mmu.last_vm_exit() == mmu::VmExit::EptViolation ? "ept violation"
                                                                  : "fault";
    } catch (const SimulationError& e) {
      s.what = e.what();
    }
    for (const test::Arrival& a : mem.log) s.reads += a.write ? 0 : 1;
    s.reads -= before;
    s.delay = d;
    steps.push_back(s);
  }
  void run() {
    for (const stats::Record& r : stats::collect_all()) stats_before_guest |= r.name.find(".nested.") != std::string::npos;
    hpa = tables.build(va);
    test::map_one_page(mem, 0x40201000, 0x99, pte_bit::kWritable | pte_bit::kUser);  // a host mapping
    mmu.set_root(PhysAddr{0x1000}, 0);
    mmu::GuestMode g;
    g.eptp = tables.eptp();
    g.vpid = 5;
    g.root = tables.guest_root;
    mmu.enter_guest(g);
    attempt();  // 0: the full 2D walk
    attempt();  // 1: TLB hit
    mmu.invvpid(mmu::InvvpidType::SingleContext, 5);
    attempt();  // 2: guest reads only; every gPA from the nested TLB
    // Remap the data page in EPT without INVEPT; INVVPID drops the TLB entry but not the nested TLB.
    const PhysAddr fresh = tables.host_page(1);
    words.write(tables.ept_slot(tables.data_gpa(), 1), EptEntry::leaf(fresh, ept_bit::kRwx, 1).raw());
    mmu.invvpid(mmu::InvvpidType::IndividualAddress, 5, va);
    attempt();  // 3: the stale nested-TLB entry: the checker reports it
    mmu.invept(mmu::InveptType::SingleContext, tables.eptp());
    attempt();  // 4: consistent again, on the fresh page
    words.write(tables.ept_slot(tables.data_gpa(), 1), 0);
    mmu.invept(mmu::InveptType::AllContexts, tables.eptp());
    attempt();  // 5: EPT violation on the final address
    violation = mmu.last_nested();
    mmu.exit_guest();
    sc_time d = sc_core::SC_ZERO_TIME;
    const mmu::Translation h = mmu.translate(VirtAddr{0x40201000}, AccessKind::Read, true, d);
    steps.push_back(Step{h.fault ? "fault" : "ok " + std::to_string(h.pa.value()), 0, d});  // 6: host
    // Invalidations of a given VPID whatever the mode (shootdowns reaching a core in the other mode).
    words.write(tables.ept_slot(tables.data_gpa(), 1), EptEntry::leaf(tables.host_page(1), ept_bit::kRwx, 1).raw());
    mmu.enter_guest(g);
    attempt();  // 7: walks again (the guest entry was dropped by INVEPT)
    mmu.invalidate_vpid_page(0, 0, VirtAddr{0x40201000});  // the host's page, from guest mode
    attempt();  // 8: the guest's entry survived: a TLB hit
    mmu.set_root(PhysAddr{0x1000}, 0);  // a host CR3 write in guest mode flushes the host's entries only
    attempt();  // 9: still a hit
    guest_cached_same = mmu.guest_space_cached(5, tables.guest_root);
    guest_cached_other = mmu.guest_space_cached(5, GuestPhysAddr{0x5000});
    guest_cached_vpid7 = mmu.guest_space_cached(7, tables.guest_root);
    mmu.exit_guest();
    host_root_after = mmu.root().value();
    host_attempt();  // 10: the host's entry is gone: a walk
    host_attempt();  // 11: a hit
    mmu.invalidate_vpid_page(5, 0, va);  // the guest's page, from host mode
    host_attempt();  // 12: the host's entry stays
    mmu.enter_guest(g);
    attempt();  // 13: walks (4 guest reads: the nested TLB still holds every gPA)
    mmu.exit_guest();
    mmu.invalidate_vpid_space(5, 0);  // the guest's address space, from host mode
    mmu.enter_guest(g);
    attempt();  // 14: walks again
    mmu.exit_guest();
  }
  void host_attempt() {
    size_t before = 0;
    for (const test::Arrival& a : mem.log) before += a.write ? 0 : 1;
    sc_time d = sc_core::SC_ZERO_TIME;
    const mmu::Translation h = mmu.translate(VirtAddr{0x40201000}, AccessKind::Read, true, d);
    Step s{h.fault ? "fault" : "ok " + std::to_string(h.pa.value()), 0, d};
    for (const test::Arrival& a : mem.log) s.reads += a.write ? 0 : 1;
    s.reads -= before;
    steps.push_back(s);
  }
  mmu::NestedResult violation;
  bool guest_cached_same = false, guest_cached_other = true, guest_cached_vpid7 = true;
  uint64_t host_root_after = 0;
};

class NestedWalker : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    bench = new Bench("bench");
    sc_core::sc_start();
  }
  static Bench* bench;
};
Bench* NestedWalker::bench = nullptr;

TEST_F(NestedWalker, MissMakes24TimedReads) {
  const Bench::Step& s = bench->steps.at(0);
  EXPECT_EQ(s.what, "ok " + std::to_string(bench->hpa));
  EXPECT_EQ(s.reads, 24u);
  // Each read costs the memory's 50 ns and a 1 ns walker step, plus the page-walk-cache probe and the
  // TLB lookups; the guest A-bit write-backs cost 50 ns each (4 of them).
  EXPECT_GE(s.delay, sc_time(24 * 51 + 4 * 50, SC_NS));
  EXPECT_LT(s.delay, sc_time(24 * 51 + 4 * 50 + 20, SC_NS));
  // Walks 0, 2, 3, 4 and 5: 24 + 4 + 4 + 24 + 24 references; then 7, 13 and 14.
  EXPECT_EQ(model_test::stat_value("bench.mmu.walker.nested.references"),
            80 + static_cast<double>(bench->steps.at(7).reads + bench->steps.at(13).reads + bench->steps.at(14).reads));
}

TEST_F(NestedWalker, TlbHitThenNestedTlbAfterInvvpid) {
  EXPECT_EQ(bench->steps.at(1).what, bench->steps.at(0).what);
  EXPECT_EQ(bench->steps.at(1).reads, 0u);
  EXPECT_EQ(bench->steps.at(2).what, bench->steps.at(0).what);
  EXPECT_EQ(bench->steps.at(2).reads, 4u);  // guest PWC dropped by INVVPID, nested TLB kept
}

TEST_F(NestedWalker, CheckerCatchesStaleNestedTlbEntry) {
  const std::string& r = bench->steps.at(3).what;
  EXPECT_NE(r.find("golden checker (nested)"), std::string::npos) << r;
  EXPECT_NE(r.find("but the tables say host pfn"), std::string::npos) << r;
  EXPECT_EQ(bench->steps.at(4).what.rfind("ok ", 0), 0u) << bench->steps.at(4).what;
  EXPECT_NE(bench->steps.at(4).what, bench->steps.at(0).what);
  EXPECT_EQ(bench->steps.at(4).reads, 24u);  // INVEPT dropped everything
}

TEST_F(NestedWalker, EptViolationIsAVmExit) {
  EXPECT_EQ(bench->steps.at(5).what, "ept violation");
  const mmu::NestedResult& r = bench->violation;
  EXPECT_EQ(r.outcome, mmu::NestedOutcome::EptViolation);
  EXPECT_TRUE(r.final_translation);
  EXPECT_EQ(r.qualification, ept_qual::kRead | ept_qual::kGlaValid | ept_qual::kGlaTranslation);
  EXPECT_EQ(model_test::stat_value("bench.mmu.walker.nested.ept_violations"), 1);
}

TEST_F(NestedWalker, HostTranslationsAfterVmExit) {
  EXPECT_EQ(bench->steps.at(6).what, "ok " + std::to_string(0x99000));
}

TEST_F(NestedWalker, InvalidationsOfAGivenVpidWhateverTheMode) {
  EXPECT_EQ(bench->steps.at(7).what.rfind("ok ", 0), 0u) << bench->steps.at(7).what;
  EXPECT_GT(bench->steps.at(7).reads, 0u);
  // A host page invalidated and the host's CR3 rewritten while in guest mode: the guest's entry stays.
  EXPECT_EQ(bench->steps.at(8).what, bench->steps.at(7).what);
  EXPECT_EQ(bench->steps.at(8).reads, 0u);
  EXPECT_EQ(bench->steps.at(9).what, bench->steps.at(7).what);
  EXPECT_EQ(bench->steps.at(9).reads, 0u);
  EXPECT_TRUE(bench->guest_cached_same);
  EXPECT_FALSE(bench->guest_cached_other);
  EXPECT_FALSE(bench->guest_cached_vpid7);
  EXPECT_EQ(bench->host_root_after, 0x1000u);  // VM exit restores the host root written in guest mode
  // ... and the host's entry is gone.
  EXPECT_EQ(bench->steps.at(10).what, "ok " + std::to_string(0x99000));
  EXPECT_GT(bench->steps.at(10).reads, 0u);
  EXPECT_EQ(bench->steps.at(11).reads, 0u);
  // The guest's page invalidated from host mode: the host's entry stays, the guest walks again.
  EXPECT_EQ(bench->steps.at(12).reads, 0u);
  EXPECT_EQ(bench->steps.at(13).what, bench->steps.at(7).what);
  EXPECT_EQ(bench->steps.at(13).reads, 4u);
  EXPECT_EQ(bench->steps.at(14).what, bench->steps.at(7).what);
  EXPECT_GT(bench->steps.at(14).reads, 0u);
}

TEST_F(NestedWalker, GuestStatisticsOnlyInGuestMode) {
  EXPECT_FALSE(bench->stats_before_guest);
  EXPECT_EQ(model_test::stat_value("bench.mmu.walker.nested.walks"), 8);
  EXPECT_GT(model_test::stat_value("bench.mmu.walker.nested.time.ept"),
            model_test::stat_value("bench.mmu.walker.nested.time.guest"));
}

TEST_F(NestedWalker, RtlTlbRefusesGuestModeNamingTheKey) {
#if VMSIM_HAVE_RTL
  mmu::GuestMode g;
  g.eptp = bench->tables.eptp();
  try {
    bench->rtl_mmu->enter_guest(g);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("system.core.mmu.tlb.dtlb[0].impl"), std::string::npos) << e.what();
  }
#else
  FAIL() << "this test needs the RTL TLB (configure with -DVMSIM_RTL=ON)";
#endif
}

}  // namespace
}  // namespace vmsim
