// Model test of the core's VMX side: a process runs in guest mode over hand-built guest tables and EPT
// (tests/nested_tables.hpp) whose data pages have no EPT leaf yet. Each page's first access is a VM exit
// the core hands to Trap::handle_vm_exit (here a minimal hypervisor that installs the leaf with a timed
// host-physical write and resumes), never a page fault; the golden checker verifies both dimensions and
// the data checker every read. Built twice: lt, and at with four operations in flight (VMSIM_VMX_AT),
// where the window's translations in flight finish before the handler runs and none starts until it
// returns (the handler waits in simulated time, as a host swap-in does).
#include <gtest/gtest.h>

#include <tlm_utils/simple_target_socket.h>

#include <map>

#include "common/stats.hpp"
#include "firmware/fixed/fixed_firmware.hpp"
#include "models/cpu/core.hpp"
#include "tests/model/tlm_test_util.hpp"
#include "models/memory/sparse_store.hpp"
#include "models/workload/generators.hpp"
#include "tests/nested_tables.hpp"

namespace vmsim {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

#ifdef VMSIM_VMX_AT
constexpr SimMode kMode = SimMode::At;
constexpr uint64_t kOutstanding = 4;
#else
constexpr SimMode kMode = SimMode::Lt;
constexpr uint64_t kOutstanding = 1;
#endif
constexpr uint64_t kPages = 8;
constexpr uint64_t kBase = 0x10000000;

class TwoPortMemory : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<TwoPortMemory> data_in{"data_in"};
  tlm_utils::simple_target_socket<TwoPortMemory> walk_in{"walk_in"};
  mem::SparseStore store;

  explicit TwoPortMemory(const sc_core::sc_module_name& n) : sc_core::sc_module(n) {
    for (auto* s : {&data_in, &walk_in}) {
      s->register_b_transport(this, &TwoPortMemory::b_transport);
      s->register_transport_dbg(this, &TwoPortMemory::transport_dbg);
    }
  }
  uint64_t read(uint64_t a) const {
    uint64_t v = 0;
    store.read(PhysAddr{a}, reinterpret_cast<uint8_t*>(&v), 8);
    return v;
  }
  void write(uint64_t a, uint64_t v) { store.write(PhysAddr{a}, reinterpret_cast<const uint8_t*>(&v), 8); }

 private:
  void b_transport(tlm::tlm_generic_payload& t, sc_time& delay) {
    transport_dbg(t);
    delay += sc_time(50, SC_NS);
  }
  unsigned transport_dbg(tlm::tlm_generic_payload& t) {
    if (t.is_read()) store.read(PhysAddr{t.get_address()}, t.get_data_ptr(), t.get_data_length());
    if (t.is_write()) store.write(PhysAddr{t.get_address()}, t.get_data_ptr(), t.get_data_length());
    t.set_response_status(tlm::TLM_OK_RESPONSE);
    return t.get_data_length();
  }
};

fw::ProcessSpec spec() {
  fw::ProcessSpec s;
  s.name = "guest-process";
  return s;
}

// A minimal hypervisor: the fixed firmware runs the process, which switch_to puts in guest mode; an EPT
// violation installs the missing leaf.
class MiniHypervisor : public fw::Trap {
 public:
  MiniHypervisor(test::NestedTables<TwoPortMemory>& tables, std::map<uint64_t, uint64_t> missing)
      : m_tables(tables), m_missing(std::move(missing)) {}
  uint64_t exits = 0, page_faults = 0;
  bool always_in_guest = true;
  std::vector<uint64_t> exit_gpas;

  std::pair<uint64_t, uint64_t> local_range(CoreId core) const override { return m_inner.local_range(core); }
  std::unique_ptr<fw::Scheduler> make_scheduler(std::vector<fw::Scheduler::Entry> e) const override {
    return m_inner.make_scheduler(std::move(e));
  }
  uint64_t context_switch_cycles() const override { return 0; }
  std::optional<Pid> create_process(fw::Hal& hal, size_t index) override { return m_inner.create_process(hal, index); }
  fw::SpawnState spawn_state(size_t index) const override { return m_inner.spawn_state(index); }
  Pid spawned_pid(size_t index) const override { return m_inner.spawned_pid(index); }
  void switch_to(fw::Hal& hal, Pid pid) override {
    m_inner.switch_to(hal, pid);
    fw::VmEntry e;
    e.eptp = m_tables.eptp().raw();
    e.vpid = 3;
    e.guest_root = PhysAddr{m_tables.guest_root.value()};
    hal.vm_enter(e);
  }
  uint64_t* access_counters(Pid pid) override { return m_inner.access_counters(pid); }
  bool alive(Pid pid) const override { return m_inner.alive(pid); }
  const bool* alive_flag(Pid pid) const override { return m_inner.alive_flag(pid); }
  uint64_t blocked_until(Pid pid) const override { return m_inner.blocked_until(pid); }
  void exit_process(fw::Hal& hal, Pid pid) override {
    if (hal.in_guest()) hal.vm_exit();
    m_inner.exit_process(hal, pid);
  }
  fw::FaultOutcome handle_page_fault(fw::Hal&, Pid, VirtAddr, AccessKind, uint32_t) override {
    ++page_faults;
    return fw::FaultOutcome::Killed;
  }
  fw::SyscallResult syscall(fw::Hal& hal, Pid pid, const fw::Syscall& call) override {
    return m_inner.syscall(hal, pid, call);
  }
  void run_background(fw::Hal&) override {}
  void migrate(fw::Hal&, size_t, Pid, CoreId) override {}
  fw::FaultOutcome handle_vm_exit(fw::Hal& hal, Pid, const fw::VmExitInfo& exit) override {
    ++exits;
    exit_gpas.push_back(exit.gpa);
    always_in_guest = always_in_guest && hal.in_guest() && exit.reason == fw::VmExitReason::EptViolation;
    hal.vm_exit();
    hal.charge(1000);
    // Host work that waits (as a host swap-in does): other operations' threads run meanwhile, and must not
    // translate while the core is in host mode.
    hal.wait_until(hal.now_ps() + 500000);
    const uint64_t page = exit.gpa & ~kPageMask;
    const auto it = m_missing.find(page);
    if (it == m_missing.end()) return fw::FaultOutcome::Killed;
    hal.write64(PhysAddr{m_tables.ept_slot(GuestPhysAddr{page}, 1)}, it->second);  // host-physical, timed
    hal.invept(m_tables.eptp().raw());
    switch_to(hal, 1);
    return fw::FaultOutcome::Retry;
  }

 private:
  test::NestedTables<TwoPortMemory>& m_tables;
  std::map<uint64_t, uint64_t> m_missing;  // guest page -> its EPT leaf
  fw::FixedFirmware m_inner{fw::FixedFirmwareConfig{}, {fw::NodeRange{Pfn{0}, 4096}}, {0}, {spec()}};
};

// The guest's tables map kPages pages from kBase, each to its own guest page; their EPT leaves are
// written, saved and cleared (the hypervisor puts them back on the violations).
std::map<uint64_t, uint64_t> build_guest(test::NestedTables<TwoPortMemory>& t) {
  std::map<uint64_t, uint64_t> missing;
  t.build(VirtAddr{kBase});
  for (uint64_t i = 0; i < kPages; ++i) {
    const GuestPhysAddr gpa{t.data_gpa().value() + i * kPageSize};
    if (i > 0) {
      t.ept_map(gpa, 1);
      t.guest_write(GuestPhysAddr{t.table_gpa(1).value() + 8ull * pt_index(VirtAddr{kBase + i * kPageSize}, 1)},
                    gpa.value() | test::kGuestTable);
    }
    const uint64_t slot = t.ept_slot(gpa, 1);
    missing[gpa.value()] = t.mem.read(slot);
    t.mem.write(slot, 0);
  }
  return missing;
}

cpu::CoreConfig core_config() {
  cpu::CoreConfig c;
  c.outstanding = kOutstanding;
  return c;
}

struct Bench : sc_core::sc_module {
  TwoPortMemory mem{"mem"};
  test::NestedTables<TwoPortMemory> tables{mem, 4, 4, true};
  MiniHypervisor hv{tables, build_guest(tables)};
  cpu::RunControl control{0, cpu::Progress::Off, 0};
  cpu::Core core{"core", 0, core_config(), kMode, /*golden_checker=*/true, hv, control};
  smp::Domain smp;

  explicit Bench(const sc_core::sc_module_name& n) : sc_core::sc_module(n) {
    core.data.bind(mem.data_in);
    core.mmu().walker().mem.bind(mem.walk_in);
    core.join(smp);
    core.set_check_data(true);
    core.set_virtualization(mmu::NestedCacheSizes{});
    workload::GeneratorParams g;
    g.pattern = workload::Pattern::Random;
    g.base = VirtAddr{kBase};
    g.footprint = kPages * kPageSize;
    g.accesses = 2000;
    g.read_fraction = 0.5;
    g.gap = 0;
    g.seed = 7;
    cpu::CoreTask task;
    task.spec = spec();
    task.source = workload::make_generator(g);
    core.add_task(std::move(task));
  }
};

uint64_t stat(const std::vector<stats::Record>& records, const std::string& name) {
  return model_test::stat_in(records, name);
}

TEST(CoreVmx, EachMissingEptLeafIsOneVmExitNeverAPageFault) {
  Bench bench("bench");
  sc_core::sc_start();
  if (bench.control.error()) {
    try {
      std::rethrow_exception(bench.control.error());
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
  }
  ASSERT_TRUE(bench.core.finished());
  const std::vector<stats::Record> records = stats::collect_all();
  EXPECT_EQ(stat(records, "bench.core.accesses"), 2000u);
  EXPECT_EQ(bench.hv.exits, kPages) << "one exit per guest page";
  EXPECT_EQ(stat(records, "bench.core.vm_exits"), kPages);
  EXPECT_EQ(bench.hv.page_faults, 0u);
  EXPECT_EQ(stat(records, "bench.core.page_faults"), 0u);
  EXPECT_TRUE(bench.hv.always_in_guest);
  for (uint64_t gpa : bench.hv.exit_gpas) {
    EXPECT_GE(gpa, bench.tables.data_gpa().value());
    EXPECT_LT(gpa, bench.tables.data_gpa().value() + kPages * kPageSize);
  }
  // The handler's time (its charge, the timed EPT write) is the VM exit's, not the fault's.
  EXPECT_GE(stat(records, "bench.core.time.vm_exit"), kPages * 1000);
  EXPECT_EQ(stat(records, "bench.core.time.fault"), 0u);
  EXPECT_GT(stat(records, "bench.core.mmu.walker.nested.walks"), 0u);
  EXPECT_EQ(stat(records, "bench.core.mmu.walker.nested.ept_violations"), kPages);
  // Every translation was the guest's: none started while the handler had the core in host mode.
  EXPECT_EQ(stat(records, "bench.core.mmu.walker.walks"), stat(records, "bench.core.mmu.walker.nested.walks"));
}

}  // namespace
}  // namespace vmsim
