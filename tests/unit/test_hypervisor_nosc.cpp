// Unit test: the hypervisor (firmware/hv) with no SystemC, over a flat-memory HAL that records the VMX
// calls. EPT violations back guest memory with EPT leaves of the configured size written in (flat) memory,
// the guest kernels' accesses land at the host frames the EPT names, the guests' tables walked by hand
// through the EPT reach the data frames, pids stay unique across guests, mirror placement, the MMU notifier
// on host swap-out, prefaulting and the configuration checks.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/ept.hpp"
#include "common/error.hpp"
#include "common/pte.hpp"
#include "common/stats.hpp"
#include "firmware/hv/hypervisor.hpp"
#include "firmware/kernel/kernel.hpp"
#include "firmware/vm/page_table.hpp"
#include "models/memory/sparse_store.hpp"

namespace vmsim {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;

// A HAL over a flat memory with VMX: no time; the VMX calls are recorded; a swap device held in a map.
class VmxFlatHal final : public fw::Hal {
 public:
  mem::SparseStore store;
  CoreId core = 0;
  PhysAddr root{0};
  uint64_t cycles = 0;
  bool guest = false;
  fw::VmEntry entry;
  PhysAddr guest_root{0};
  uint64_t vm_enters = 0, vm_exits = 0, guest_root_writes = 0, invepts = 0, ept_shootdowns = 0, guest_invalidations = 0;
  uint64_t swap_writes = 0;
  std::vector<CoreId> last_ept_targets;
  std::map<uint64_t, std::vector<uint8_t>> swap;

  uint64_t read64(PhysAddr pa) override {
    uint64_t v = 0;
    store.read(pa, reinterpret_cast<uint8_t*>(&v), 8);
    return v;
  }
  void write64(PhysAddr pa, uint64_t value) override { store.write(pa, reinterpret_cast<const uint8_t*>(&value), 8); }
  void read_block(PhysAddr pa, uint8_t* data, uint64_t len) override { check(pa, len), store.read(pa, data, len); }
  void write_block(PhysAddr pa, const uint8_t* data, uint64_t len) override { check(pa, len), store.write(pa, data, len); }
  void dma_read(PhysAddr pa, uint8_t* data, uint64_t len) override { read_block(pa, data, len); }
  void dma_write(PhysAddr pa, const uint8_t* data, uint64_t len) override { write_block(pa, data, len); }
  void zero_frame(Pfn pfn) override {
    const std::vector<uint8_t> zero(kPageSize, 0);
    write_block(addr_of(pfn), zero.data(), kPageSize);
  }
  void set_direct_map(uint64_t, uint64_t) override {}
  void invlpg(VirtAddr) override {}
  void set_root(PhysAddr r, uint16_t) override {
    EXPECT_FALSE(guest) << "a host root write in guest mode";
    root = r;
  }
  void invalidate_pcid(uint16_t) override {}
  void invalidate_all_pcids() override {}
  void invalidate_space(PhysAddr, uint16_t) override {}
  void kernel_enter() override {}
  void kernel_exit() override {}
  void shootdown_begin(const std::vector<CoreId>&) override {}
  void shootdown_end(const std::vector<CoreId>&, PhysAddr, uint16_t, const std::vector<VirtAddr>&, uint64_t) override {}
  void shootdown_resume(const std::vector<CoreId>&) override {}
  void charge(uint64_t c) override { cycles += c; }
  CoreId core_id() const override { return core; }
  uint64_t now_ps() const override { return 0; }
  void swap_read(uint64_t off, uint8_t* page) override {
    auto it = swap.find(off);
    ASSERT_NE(it, swap.end()) << "swap-in of a slot never written";
    std::copy(it->second.begin(), it->second.end(), page);
  }
  void swap_write(uint64_t off, const uint8_t* page) override {
    ++swap_writes;
    swap[off].assign(page, page + kPageSize);
  }
  uint64_t swap_submit(bool write, uint64_t off, uint8_t* page) override {
    if (write) {
      swap_write(off, page);
    } else {
      swap_read(off, page);
    }
    return 0;
  }
  void invalidate_page(PhysAddr, uint16_t, VirtAddr) override {}
  bool wake_background(CoreId) override { return false; }
  void wait_until(uint64_t) override {}
  uint64_t memory_ops() const override { return 0; }

  void vm_enter(const fw::VmEntry& e) override {
    EXPECT_FALSE(guest) << "VM entry in guest mode";
    guest = true;
    entry = e;
    ++vm_enters;
  }
  void vm_exit() override {
    EXPECT_TRUE(guest) << "VM exit in root mode";
    guest = false;
    ++vm_exits;
  }
  bool in_guest() const override { return guest; }
  void set_guest_root(PhysAddr r, uint16_t) override {
    EXPECT_TRUE(guest) << "a guest root write in root mode";
    guest_root = r;
    ++guest_root_writes;
  }
  void invept(uint64_t) override { ++invepts; }
  void invalidate_guest(uint16_t vpid, PhysAddr, uint16_t, const std::vector<VirtAddr>&) override {
    EXPECT_NE(vpid, 0u);
    ++guest_invalidations;
  }
  void shootdown_end_guest(const std::vector<CoreId>&, uint16_t, PhysAddr, uint16_t, const std::vector<VirtAddr>&,
                           uint64_t) override {}
  void shootdown_end_ept(const std::vector<CoreId>& cores, uint64_t, uint64_t) override {
    ++ept_shootdowns;
    last_ept_targets = cores;
  }

 private:
  static void check(PhysAddr pa, uint64_t len) {
    EXPECT_LE((pa.value() & kPageMask) + len, kPageSize) << "a transfer crosses a 4 KiB boundary at " << pa.value();
  }
};

double stat(stats::Group& g, const std::string& name) {
  std::vector<stats::Record> records;
  g.dump("", records);
  for (const stats::Record& r : records) {
    if (r.name == name) return r.value;
  }
  ADD_FAILURE() << "no statistic " << name;
  return 0;
}

// The EPT leaf for gpa, walked by hand in flat memory: (entry, level), or nullopt.
std::optional<std::pair<EptEntry, unsigned>> ept_leaf(VmxFlatHal& hal, uint64_t eptp, uint64_t gpa) {
  const Eptp p{eptp};
  PhysAddr table = p.root();
  for (unsigned l = p.levels(); l >= 1; --l) {
    const EptEntry e{hal.read64(PhysAddr{table.value() + ((gpa >> (12 + 9 * (l - 1))) & 511) * 8})};
    if (!e.present()) return std::nullopt;
    EXPECT_EQ(ept_misconfig(e, l), nullptr) << "level " << l;
    if (e.is_leaf(l)) return std::make_pair(e, l);
    table = e.addr();
  }
  return std::nullopt;
}

// The address of the EPT leaf entry for gpa (walked by hand), or nullopt.
std::optional<PhysAddr> ept_leaf_address(VmxFlatHal& hal, uint64_t eptp, uint64_t gpa) {
  const Eptp p{eptp};
  PhysAddr table = p.root();
  for (unsigned l = p.levels(); l >= 1; --l) {
    const PhysAddr ea{table.value() + ((gpa >> (12 + 9 * (l - 1))) & 511) * 8};
    const EptEntry e{hal.read64(ea)};
    if (!e.present()) return std::nullopt;
    if (e.is_leaf(l)) return ea;
    table = e.addr();
  }
  return std::nullopt;
}

std::optional<uint64_t> ept_translate(VmxFlatHal& hal, uint64_t eptp, uint64_t gpa) {
  auto leaf = ept_leaf(hal, eptp, gpa);
  if (!leaf) return std::nullopt;
  const uint64_t size = 1ull << (12 + 9 * (leaf->second - 1));
  return leaf->first.addr().value() + (gpa & (size - 1));
}

fw::ProcessSpec process(const std::string& name, CoreId core = 0) {
  fw::ProcessSpec s;
  s.name = name;
  s.core = core;
  s.vmas.push_back(fw::Vma(VirtAddr{0x10000000}, VirtAddr{0x10400000}));
  return s;
}

std::vector<fw::ProcessSpec> indexed(std::vector<fw::ProcessSpec> v) {
  for (size_t i = 0; i < v.size(); ++i) v[i].index = i;
  return v;
}

fw::VmExitInfo violation(uint64_t gpa, AccessKind kind = AccessKind::Write) {
  fw::VmExitInfo e;
  e.gpa = gpa;
  e.kind = kind;
  e.qualification = (kind == AccessKind::Write ? ept_qual::kWrite : ept_qual::kRead) | ept_qual::kGlaValid |
                    ept_qual::kGlaTranslation;
  return e;
}

TEST(Hypervisor, EptViolationInstallsALeafOfTheConfiguredSize) {
  struct Case {
    fw::EptPageSize size;
    unsigned levels;
    bool ad;
    unsigned want_level;
  };
  for (const Case& c : {Case{fw::EptPageSize::K4, 4, true, 1}, Case{fw::EptPageSize::M2, 5, false, 2},
                        Case{fw::EptPageSize::G1, 4, true, 3}}) {
    SCOPED_TRACE(c.want_level);
    fw::HypervisorConfig hv;
    hv.enabled = true;
    hv.ept_page_size = c.size;
    hv.ept_levels = c.levels;
    hv.ept_accessed_dirty = c.ad;
    fw::GuestConfig g;
    g.memory = Bytes{kGiB};
    g.processes = "0";
    hv.guests.push_back(g);
    fw::KernelConfig k;
    k.hugepages_1g = c.size == fw::EptPageSize::G1 ? 1 : 0;
    fw::Hypervisor h(hv, k, {fw::NodeRange{Pfn{0}, (3 * kGiB) >> kPageShift}}, {0}, indexed({process("p")}));
    VmxFlatHal hal;
    std::optional<Pid> pid = h.create_process(hal, 0);
    ASSERT_TRUE(pid);
    EXPECT_TRUE(hal.guest);
    EXPECT_EQ(hal.entry.vpid, 1u);
    const Eptp p{h.eptp(0)};
    EXPECT_EQ(p.invalid(), nullptr);
    EXPECT_EQ(p.levels(), c.levels);
    EXPECT_EQ(p.ad_enabled(), c.ad);
    EXPECT_EQ(hal.entry.eptp, h.eptp(0));
    // A guest process's access to an unbacked guest-physical page exits.
    const uint64_t gpa = 700 * kMiB + 0x5123;
    if (c.want_level == 3) {
      // The guest kernel's first access (its root table) backed the whole GiB with one leaf.
      EXPECT_TRUE(h.backing_of(0, gpa));
      EXPECT_EQ(stat(h.stats(), "ept_violations.guest_kernel_access"), 1);
    } else {
      ASSERT_FALSE(h.backing_of(0, gpa));
      const uint64_t exits = hal.vm_exits;
      EXPECT_EQ(h.handle_vm_exit(hal, *pid, violation(gpa)), fw::FaultOutcome::Retry);
      EXPECT_TRUE(hal.guest) << "back in guest mode";
      EXPECT_EQ(hal.vm_exits, exits + 1);
      EXPECT_EQ(stat(h.stats(), "ept_violations.guest_access"), 1);
    }
    auto leaf = ept_leaf(hal, h.eptp(0), gpa);
    ASSERT_TRUE(leaf);
    EXPECT_EQ(leaf->second, c.want_level);
    EXPECT_EQ(leaf->first.rwx(), ept_bit::kRwx);
    EXPECT_EQ(leaf->first.mem_type(), ept_memtype::kWriteBack);
    EXPECT_EQ(ept_translate(hal, h.eptp(0), gpa), h.backing_of(0, gpa)->value());
    EXPECT_EQ(stat(h.stats(), "vm_exits.ept_violation"), stat(h.stats(), "ept_violations.guest_access") +
                                                             stat(h.stats(), "ept_violations.guest_kernel_access"));
    const char* leaves = c.want_level == 1 ? "ept.leaves_4k" : c.want_level == 2 ? "ept.leaves_2m" : "ept.leaves_1g";
    EXPECT_GE(stat(h.stats(), leaves), 1);
    EXPECT_GE(stat(h.stats(), "ept.table_frames"), c.levels - c.want_level + 1);
    EXPECT_GE(hal.cycles, hv.costs.vm_exit + hv.costs.ept_violation);
    // The host took the fault for its VM process and maps the page there.
    EXPECT_GE(stat(h.stats(), "host_faults"), 1);
    EXPECT_GE(h.host().resident_pages(h.vm_pid(0)), 1u);
  }
}

TEST(Hypervisor, GuestKernelWritesLandAtTheHostFramesAndTheTwoDimensionalWalkFindsTheData) {
  fw::HypervisorConfig hv;
  hv.enabled = true;
  fw::KernelConfig k;
  fw::Hypervisor h(hv, k, {fw::NodeRange{Pfn{0}, (256 * kMiB) >> kPageShift}}, {0}, indexed({process("p")}));
  VmxFlatHal hal;
  std::optional<Pid> pid = h.create_process(hal, 0);
  ASSERT_TRUE(pid);
  const PhysAddr host_root = hal.root;
  h.switch_to(hal, *pid);
  EXPECT_TRUE(hal.guest);
  ASSERT_NE(hal.guest_root.value(), 0u) << "the guest kernel's CR3 write became a guest root write";
  EXPECT_EQ(hal.root, host_root) << "no host root write for a guest's switch";
  EXPECT_GT(stat(h.stats(), "ept_violations.guest_kernel_access"), 0) << "the guest's root table was backed";
  // The guest process faults (a guest page fault: no VM exit), its kernel maps the page.
  const uint64_t exits = hal.vm_exits;
  const double kernel_violations = stat(h.stats(), "ept_violations.guest_kernel_access");
  const VirtAddr va{0x10003008};
  EXPECT_EQ(h.handle_page_fault(hal, *pid, va, AccessKind::Write, pf_err::kUser | pf_err::kWrite),
            fw::FaultOutcome::Retry);
  // The guest's fault handler runs in guest mode; only its accesses to unbacked guest memory (new table
  // pages, the zeroed data frame) exit.
  EXPECT_EQ(hal.vm_exits - exits, stat(h.stats(), "ept_violations.guest_kernel_access") - kernel_violations);
  EXPECT_GE(hal.vm_exits - exits, 2u);
  EXPECT_TRUE(hal.guest);
  // Walk the guest's tables by hand: each guest-physical entry address through the EPT.
  uint64_t table_gpa = hal.guest_root.value();
  Pte e;
  for (unsigned l = 4; l >= 1; --l) {
    const uint64_t entry_gpa = table_gpa + ((va.value() >> (12 + 9 * (l - 1))) & 511) * 8;
    std::optional<uint64_t> hpa = ept_translate(hal, h.eptp(0), entry_gpa);
    ASSERT_TRUE(hpa) << "level " << l << ": the guest's table is not backed";
    EXPECT_EQ(*hpa, h.backing_of(0, entry_gpa)->value());
    e = Pte{hal.read64(PhysAddr{*hpa})};
    ASSERT_TRUE(e.present()) << "level " << l;
    table_gpa = e.frame_addr().value();
  }
  const uint64_t data_gpa = e.frame_addr().value() + (va.value() & kPageMask);
  std::optional<uint64_t> data_hpa = ept_translate(hal, h.eptp(0), data_gpa);
  ASSERT_TRUE(data_hpa) << "the guest kernel zeroed the frame: it is backed";
  // The frame the guest kernel zeroed through its HAL is the host frame: write a word there in the host's
  // memory, read it through the guest kernel's HAL.
  hal.write64(PhysAddr{*data_hpa}, 0xfeedface);
  EXPECT_EQ(fw::lookup_page(hal, PhysAddr{0}, 4, VirtAddr{0}).raw(), 0u);
  // The host maps the same frame for its VM process at kHvaBase + gpa.
  std::optional<fw::Kernel::PageMapping> m =
      h.host().mapping(hal, h.vm_pid(0), VirtAddr{fw::Hypervisor::kHvaBase + (data_gpa & ~kPageMask)});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->first.value(), *data_hpa >> kPageShift);
  // Exit of the process: its guest frames go back to the guest kernel, the host keeps backing them.
  const uint64_t backed = h.pages_backed(0);
  h.exit_process(hal, *pid);
  EXPECT_FALSE(h.alive(*pid));
  EXPECT_EQ(h.pages_backed(0), backed);
}

TEST(Hypervisor, PidsAreUniqueAcrossGuestsAndEachRunsInItsOwnVpid) {
  fw::HypervisorConfig hv;
  hv.enabled = true;
  for (const char* list : {"0,2", "1"}) {
    fw::GuestConfig g;
    g.memory = Bytes{64 * kMiB};
    g.processes = list;
    hv.guests.push_back(g);
  }
  fw::KernelConfig k;
  fw::Hypervisor h(hv, k, {fw::NodeRange{Pfn{0}, (256 * kMiB) >> kPageShift}}, {0},
                   indexed({process("a"), process("b"), process("c")}));
  ASSERT_EQ(h.guest_count(), 2u);
  EXPECT_EQ(h.guest_name(0), "vm0");
  EXPECT_EQ(h.guest_name(1), "vm1");
  EXPECT_EQ(h.guest_of_index(2), std::make_pair(size_t{0}, size_t{1}));
  VmxFlatHal hal;
  std::vector<Pid> pids;
  for (size_t i = 0; i < 3; ++i) {
    std::optional<Pid> p = h.create_process(hal, i);
    ASSERT_TRUE(p);
    pids.push_back(*p);
  }
  EXPECT_NE(pids[0], pids[1]);
  EXPECT_NE(pids[0], pids[2]);
  EXPECT_NE(pids[1], pids[2]);
  // Both guests' kernels gave their first process pid 1.
  EXPECT_EQ(h.guest_of_pid(pids[0]), std::make_pair(size_t{0}, Pid{1}));
  EXPECT_EQ(h.guest_of_pid(pids[1]), std::make_pair(size_t{1}, Pid{1}));
  EXPECT_EQ(h.guest_of_pid(pids[2]), std::make_pair(size_t{0}, Pid{2}));
  h.switch_to(hal, pids[1]);
  EXPECT_EQ(hal.entry.vpid, 2u);
  EXPECT_EQ(hal.entry.eptp, h.eptp(1));
  h.switch_to(hal, pids[0]);
  EXPECT_EQ(hal.entry.vpid, 1u);
  EXPECT_NE(h.eptp(0), h.eptp(1));
  // Each guest's kernel works in its own guest-physical memory, backed by different host frames.
  EXPECT_NE(h.backing_of(0, hal.guest_root.value()), std::nullopt);
}

TEST(Hypervisor, MirrorPlacementPutsEachGuestNodeOnItsHostNode) {
  fw::HypervisorConfig hv;
  hv.enabled = true;
  hv.placement = fw::GuestPlacement::Mirror;
  fw::GuestConfig g;
  g.memory = Bytes{128 * kMiB};
  g.processes = "0";
  hv.guests.push_back(g);
  fw::KernelConfig k;
  const uint64_t node = (256 * kMiB) >> kPageShift;
  fw::Hypervisor h(hv, k, {fw::NodeRange{Pfn{0}, node}, fw::NodeRange{Pfn{node}, node}}, {0, 1},
                   indexed({process("p")}));
  EXPECT_EQ(h.guest(0).frames().total_frames() > 0, true);
  VmxFlatHal hal;
  std::optional<Pid> pid = h.create_process(hal, 0);
  ASSERT_TRUE(pid);
  // Guest node 1 is the upper 64 MiB of guest-physical memory.
  for (uint64_t gpa : {70 * kMiB, 127 * kMiB}) {
    ASSERT_EQ(h.handle_vm_exit(hal, *pid, violation(gpa)), fw::FaultOutcome::Retry);
    EXPECT_GE(h.backing_of(0, gpa)->value() >> kPageShift, node) << gpa;
  }
  for (uint64_t gpa : {5 * kMiB, 63 * kMiB}) {
    ASSERT_EQ(h.handle_vm_exit(hal, *pid, violation(gpa)), fw::FaultOutcome::Retry);
    EXPECT_LT(h.backing_of(0, gpa)->value() >> kPageShift, node) << gpa;
  }
  const std::vector<fw::NodeRange> gn = fw::guest_nodes({fw::NodeRange{Pfn{0}, node}, fw::NodeRange{Pfn{node}, node}},
                                                        128 * kMiB, 2 * kMiB);
  ASSERT_EQ(gn.size(), 2u);
  EXPECT_EQ(gn[1].base.value(), (64 * kMiB) >> kPageShift);
  EXPECT_EQ(gn[1].frames, (64 * kMiB) >> kPageShift);
}

// One guest of 64 MiB running process 0: twice the 32 MiB host of the swap tests.
fw::HypervisorConfig overcommitted_guest() {
  fw::HypervisorConfig hv;
  hv.enabled = true;
  fw::GuestConfig g;
  g.memory = Bytes{64 * kMiB};
  g.processes = "0";
  hv.guests.push_back(g);
  return hv;
}

TEST(Hypervisor, HostSwapOutOfGuestMemoryClearsTheEptThroughTheNotifier) {
  const fw::HypervisorConfig hv = overcommitted_guest();
  fw::KernelConfig k;
  k.swap_slots = 65536;
  // Host: 32 MiB, two cores; the guest has twice that.
  fw::Hypervisor h(hv, k, {fw::NodeRange{Pfn{0}, (32 * kMiB) >> kPageShift}}, {0, 0}, indexed({process("p")}));
  VmxFlatHal hal;
  std::optional<Pid> pid = h.create_process(hal, 0);
  ASSERT_TRUE(pid);
  // The guest ran on core 1 too: its INVEPT shootdowns go there.
  hal.core = 1;
  h.switch_to(hal, *pid);
  hal.core = 0;
  h.switch_to(hal, *pid);
  std::vector<uint64_t> touched;
  for (uint64_t gpa = 16 * kMiB; gpa < 60 * kMiB; gpa += kPageSize) {
    const fw::FaultOutcome out = h.handle_vm_exit(hal, *pid, violation(gpa));
    ASSERT_NE(out, fw::FaultOutcome::Killed) << gpa;
    touched.push_back(gpa);
  }
  EXPECT_GT(hal.swap_writes, 0u) << "the host swapped guest memory out";
  EXPECT_GT(stat(h.stats(), "notifier_invalidations"), 0);
  EXPECT_GT(stat(h.stats(), "invept_shootdowns"), 0);
  EXPECT_GT(hal.invepts, 0u);
  EXPECT_GT(hal.ept_shootdowns, 0u);
  EXPECT_EQ(hal.last_ept_targets, std::vector<CoreId>{1});
  // Every page the host evicted has no EPT entry; every backed one maps the host's frame.
  uint64_t unbacked = 0;
  for (uint64_t gpa : touched) {
    const std::optional<uint64_t> hpa = ept_translate(hal, h.eptp(0), gpa);
    const std::optional<fw::Kernel::PageMapping> m =
        h.host().mapping(hal, h.vm_pid(0), VirtAddr{fw::Hypervisor::kHvaBase + gpa});
    if (!hpa) {
      ++unbacked;
      continue;
    }
    ASSERT_TRUE(m) << "EPT maps " << gpa << " but the host does not: a stale EPT entry";
    EXPECT_EQ(*hpa >> kPageShift, m->first.value()) << gpa;
  }
  EXPECT_GT(unbacked, 0u);
  // A swapped-out page comes back on its next violation (host swap-in).
  const uint64_t gpa = touched.front();
  if (!h.backing_of(0, gpa)) {
    fw::FaultOutcome out = h.handle_vm_exit(hal, *pid, violation(gpa, AccessKind::Read));
    if (out == fw::FaultOutcome::Blocked) out = h.handle_vm_exit(hal, *pid, violation(gpa, AccessKind::Read));
    EXPECT_EQ(out, fw::FaultOutcome::Retry);
    EXPECT_TRUE(h.backing_of(0, gpa));
  }
}

// Host reclaim asks the EPT's accessed flags about guest pages (the host never walks the VM process's own
// tables): pages the guest keeps using (A set in their EPT leaves, as the walker sets it) survive while
// the host evicts the others.
TEST(Hypervisor, HostReclaimKeepsGuestPagesWhoseEptAccessedFlagIsSet) {
  const fw::HypervisorConfig hv = overcommitted_guest();
  fw::KernelConfig k;
  k.swap_slots = 65536;
  fw::Hypervisor h(hv, k, {fw::NodeRange{Pfn{0}, (32 * kMiB) >> kPageShift}}, {0}, indexed({process("p")}));
  VmxFlatHal hal;
  std::optional<Pid> pid = h.create_process(hal, 0);
  ASSERT_TRUE(pid);
  std::vector<uint64_t> hot;
  for (uint64_t i = 0; i < 64; ++i) hot.push_back(16 * kMiB + i * kPageSize);
  for (uint64_t gpa : hot) ASSERT_EQ(h.handle_vm_exit(hal, *pid, violation(gpa)), fw::FaultOutcome::Retry);
  uint64_t hot_lost = 0, cold_lost = 0;
  std::vector<uint64_t> cold;
  for (uint64_t gpa = 20 * kMiB; gpa < 60 * kMiB; gpa += kPageSize) {
    // The guest uses its hot pages between any two host allocations: their EPT leaves get A.
    for (uint64_t hg : hot) {
      std::optional<PhysAddr> ea = ept_leaf_address(hal, h.eptp(0), hg);
      if (!ea) {
        ++hot_lost;
        ASSERT_NE(h.handle_vm_exit(hal, *pid, violation(hg)), fw::FaultOutcome::Killed);
        continue;
      }
      hal.write64(*ea, hal.read64(*ea) | ept_bit::kAccessed);
    }
    ASSERT_NE(h.handle_vm_exit(hal, *pid, violation(gpa)), fw::FaultOutcome::Killed);
    cold.push_back(gpa);
  }
  for (uint64_t gpa : cold) cold_lost += !h.backing_of(0, gpa);
  EXPECT_GT(hal.swap_writes, 0u);
  EXPECT_GT(stat(h.stats(), "notifier_young_tests"), 0);
  EXPECT_GT(cold_lost, 1000u) << "the host evicted cold guest pages";
  EXPECT_EQ(hot_lost, 0u) << "pages with the EPT A flag set were evicted";
}

// A guest page swapped back in stays in the host's swap cache (clean, its swap copy kept); the guest then
// writes it through the EPT only (the host PTE's D bit never changes). When the host evicts it again the
// write must reach swap: the EPT's D flag is the page's.
TEST(Hypervisor, GuestWritesThroughTheEptReachSwapWhenTheHostEvictsAgain) {
  const fw::HypervisorConfig hv = overcommitted_guest();
  fw::KernelConfig k;
  k.swap_slots = 65536;
  fw::Hypervisor h(hv, k, {fw::NodeRange{Pfn{0}, (32 * kMiB) >> kPageShift}}, {0}, indexed({process("p")}));
  VmxFlatHal hal;
  std::optional<Pid> pid = h.create_process(hal, 0);
  ASSERT_TRUE(pid);
  const uint64_t x = 16 * kMiB;
  uint64_t next = 17 * kMiB;
  auto evict_x = [&] {
    for (int i = 0; i < 20000 && h.backing_of(0, x); ++i, next += kPageSize) {
      if (next >= 64 * kMiB) next = 17 * kMiB;
      ASSERT_NE(h.handle_vm_exit(hal, *pid, violation(next)), fw::FaultOutcome::Killed);
    }
    ASSERT_FALSE(h.backing_of(0, x)) << "the host never evicted the page";
  };
  auto read_x = [&] {
    fw::FaultOutcome out = h.handle_vm_exit(hal, *pid, violation(x, AccessKind::Read));
    if (out == fw::FaultOutcome::Blocked) out = h.handle_vm_exit(hal, *pid, violation(x, AccessKind::Read));
    EXPECT_EQ(out, fw::FaultOutcome::Retry);
    return hal.read64(*h.backing_of(0, x));
  };
  ASSERT_EQ(h.handle_vm_exit(hal, *pid, violation(x)), fw::FaultOutcome::Retry);
  hal.write64(*h.backing_of(0, x), 0x1111);
  std::optional<PhysAddr> ea = ept_leaf_address(hal, h.eptp(0), x);
  hal.write64(*ea, hal.read64(*ea) | ept_bit::kAccessed | ept_bit::kDirty);  // the walker's A/D
  evict_x();
  EXPECT_EQ(read_x(), 0x1111u);
  // The guest writes the swapped-in page: the walker sets the EPT leaf's A and D, the host PTE is untouched.
  ea = ept_leaf_address(hal, h.eptp(0), x);
  ASSERT_TRUE(ea);
  EXPECT_TRUE(EptEntry{hal.read64(*ea)}.writable());
  hal.write64(*h.backing_of(0, x), 0x2222);
  hal.write64(*ea, hal.read64(*ea) | ept_bit::kAccessed | ept_bit::kDirty);
  evict_x();
  EXPECT_EQ(read_x(), 0x2222u) << "the guest's write was dropped with a clean-looking page";
}

TEST(Hypervisor, PrefaultBacksAllGuestMemoryAtBoot) {
  fw::HypervisorConfig hv;
  hv.enabled = true;
  hv.prefault = true;
  hv.ept_page_size = fw::EptPageSize::M2;
  fw::GuestConfig g;
  g.memory = Bytes{64 * kMiB};
  g.processes = "0";
  hv.guests.push_back(g);
  fw::KernelConfig k;
  fw::Hypervisor h(hv, k, {fw::NodeRange{Pfn{0}, (256 * kMiB) >> kPageShift}}, {0}, indexed({process("p")}));
  VmxFlatHal hal;
  ASSERT_TRUE(h.create_process(hal, 0));
  EXPECT_EQ(h.pages_backed(0), (64 * kMiB) >> kPageShift);
  EXPECT_EQ(stat(h.stats(), "ept_violations.guest_kernel_access"), 0);
  EXPECT_EQ(stat(h.stats(), "vm_exits.ept_violation"), 0);
  EXPECT_EQ(stat(h.stats(), "ept_violations.prefault"), 32);  // 32 THP-backed 2 MiB leaves
  EXPECT_EQ(stat(h.stats(), "ept.leaves_2m"), 32);
  EXPECT_EQ(stat(h.stats(), "vm0.pages_backed"), (64 * kMiB) >> kPageShift);
}

void expect_input_error(const fw::HypervisorConfig& hv, size_t processes, const fw::KernelConfig& k,
                        const std::string& want, const std::vector<int>& parents = {}) {
  try {
    fw::validate(hv, processes, k, {fw::NodeRange{Pfn{0}, (4 * kGiB) >> kPageShift}}, parents);
    ADD_FAILURE() << "no error; wanted " << want;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
  }
}

TEST(Hypervisor, BadGuestConfigurationsNameTheKey) {
  fw::KernelConfig k;
  fw::HypervisorConfig hv;
  hv.enabled = true;
  fw::GuestConfig a, b;
  a.processes = "0-1";
  b.processes = "1";
  hv.guests = {a, b};
  expect_input_error(hv, 3, k, "virtualization.guests[1].processes: bad value '1' (process 1 is already in guest 0");
  hv.guests = {a};
  expect_input_error(hv, 3, k, "process 2 is in no guest");
  hv.guests[0].processes = "0-5";
  expect_input_error(hv, 3, k, "virtualization.guests[0].processes: bad value '0-5' (process 5 does not exist");
  hv.guests[0].processes = "0;1";
  expect_input_error(hv, 2, k, "virtualization.guests[0].processes: bad value '0;1'");
  hv.guests[0].processes = "0-1";
  hv.guests[0].memory = Bytes{3 * kMiB};
  expect_input_error(hv, 2, k, "virtualization.guests[0].memory: bad value '3MiB' (must be a multiple of 2MiB)");
  hv.guests[0].memory = Bytes{2 * kGiB};
  hv.ept_page_size = fw::EptPageSize::G1;
  expect_input_error(hv, 2, k, "virtualization.ept_page_size: bad value '1g' (guest memory takes 2 1GiB pages");
  hv.guests[0].memory = Bytes{kGiB + 2 * kMiB};
  expect_input_error(hv, 2, k, "virtualization.guests[0].memory: bad value");
  hv.ept_page_size = fw::EptPageSize::K4;
  hv.ept_levels = 3;
  expect_input_error(hv, 2, k, "virtualization.ept_levels: bad value '3'");
  hv.ept_levels = 4;
  // A forked child in another guest than its parent.
  a.processes = "0";
  b.processes = "1";
  b.memory = Bytes{0};
  a.memory = Bytes{0};
  hv.guests = {a, b};
  expect_input_error(hv, 2, k, "process 1 is forked by process 0", {-1, 0});
  fw::validate(hv, 2, k, {fw::NodeRange{Pfn{0}, (4 * kGiB) >> kPageShift}}, {-1, -1});  // fine
  fw::KernelConfig hashed = k;
  hashed.hash_buckets = 1024;
  expect_input_error(hv, 2, hashed, "virtualization.enabled: bad value 'true' (nested paging needs radix page tables");
  fw::KernelConfig fixed = k;
  fixed.kind = fw::FirmwareKind::Fixed;
  expect_input_error(hv, 2, fixed, "firmware.kind must be full");
  // The constructor checks too.
  hv.guests[1].processes = "0";
  EXPECT_THROW(fw::Hypervisor(hv, k, {fw::NodeRange{Pfn{0}, (256 * kMiB) >> kPageShift}}, {0},
                              indexed({process("a"), process("b")})),
               InputError);
}

}  // namespace
}  // namespace vmsim
