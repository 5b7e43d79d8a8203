// Unit test: the firmware kernel boots and handles faults with no SystemC at all, over a HAL made of a
// flat memory (the kernel is part of the SystemC-free functional library); its read and write system calls
// copy between files and user buffers (fault fix-ups, EFAULT, EBADF, SMAP and SMEP oopses); and
// fw::Processes creates, forks and tears processes down on its own, over a host standing in for the kernel
// façade.
#include <gtest/gtest.h>

#include <cerrno>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/stats.hpp"
#include "firmware/kernel/kernel.hpp"
#include "firmware/kernel/swapper.hpp"
#include "firmware/mm/slab.hpp"
#include "firmware/vm/page_table.hpp"
#include "models/memory/sparse_store.hpp"

namespace vmsim {
namespace {

// A HAL over a flat memory: no time, one core, no other cores to stop.
class FlatHal final : public fw::Hal {
 public:
  mem::SparseStore store;
  PhysAddr root{0};
  uint64_t cycles = 0;
  uint64_t writes = 0;

  uint64_t read64(PhysAddr pa) override {
    uint64_t v = 0;
    store.read(pa, reinterpret_cast<uint8_t*>(&v), 8);
    return v;
  }
  void write64(PhysAddr pa, uint64_t value) override {
    ++writes;
    store.write(pa, reinterpret_cast<const uint8_t*>(&value), 8);
  }
  void read_block(PhysAddr pa, uint8_t* data, uint64_t len) override { store.read(pa, data, len); }
  void write_block(PhysAddr pa, const uint8_t* data, uint64_t len) override {
    ++writes;
    store.write(pa, data, len);
  }
  void zero_frame(Pfn pfn) override {
    const std::vector<uint8_t> zero(kPageSize, 0);
    write_block(addr_of(pfn), zero.data(), kPageSize);
  }
  // No MMU here: the firmware's accesses stay physical; the call is recorded.
  void set_direct_map(uint64_t base, uint64_t bytes) override {
    direct_map_base = base;
    direct_map_bytes = bytes;
  }
  uint64_t direct_map_base = 0;
  uint64_t direct_map_bytes = 0;
  void dma_read(PhysAddr pa, uint8_t* data, uint64_t len) override { read_block(pa, data, len); }
  void dma_write(PhysAddr pa, const uint8_t* data, uint64_t len) override { write_block(pa, data, len); }
  void invlpg(VirtAddr) override {}
  void set_root(PhysAddr r, uint16_t) override { root = r; }
  void invalidate_pcid(uint16_t) override {}
  void invalidate_all_pcids() override {}
  void invalidate_space(PhysAddr, uint16_t) override {}
  void kernel_enter() override {}
  void kernel_exit() override {}
  void shootdown_begin(const std::vector<CoreId>&) override {}
  void shootdown_end(const std::vector<CoreId>&, PhysAddr, uint16_t, const std::vector<VirtAddr>&, uint64_t) override {}
  void shootdown_resume(const std::vector<CoreId>&) override {}
  void charge(uint64_t c) override { cycles += c; }
  CoreId core_id() const override { return 0; }
  uint64_t now_ps() const override { return 0; }
  void swap_read(uint64_t, uint8_t*) override { ADD_FAILURE() << "no swap device"; }
  void swap_write(uint64_t, const uint8_t*) override { ADD_FAILURE() << "no swap device"; }
  uint64_t swap_submit(bool, uint64_t, uint8_t*) override { return 0; }
  void invalidate_page(PhysAddr, uint16_t, VirtAddr) override {}
  bool wake_background(CoreId) override { return false; }
  void wait_until(uint64_t) override {}
  uint64_t memory_ops() const override { return 0; }
  // The user accesses of a core with CR4.SMAP/SMEP as set here, walking the tables in the flat memory (4 KiB
  // leaves, as this test maps): x86's rules for a supervisor access (CR0.WP = 1).
  bool smap = false;
  bool smep = false;
  uint64_t user_accesses = 0;
  fw::UserAccess user_access(AccessKind kind, VirtAddr va, uint8_t* data, uint64_t len, bool stac) override {
    ++user_accesses;
    EXPECT_LE((va.value() & kPageMask) + len, kPageSize) << "a user access crosses a page";
    const Pte e = fw::lookup_page(*this, root, 4, va);
    const uint32_t wr = kind == AccessKind::Write ? pf_err::kWrite : 0, id = kind == AccessKind::Fetch ? pf_err::kFetch : 0;
    if (!e.present()) return {true, wr | id};
    const bool denied = (kind == AccessKind::Write && !e.writable()) || (kind == AccessKind::Fetch && e.no_execute()) ||
                        (e.user() && kind == AccessKind::Fetch && smep) ||
                        (e.user() && kind != AccessKind::Fetch && smap && !stac);
    if (denied) return {true, pf_err::kPresent | wr | id};
    const PhysAddr pa{addr_of(e.pfn()).value() + (va.value() & kPageMask)};
    if (kind == AccessKind::Write) {
      store.write(pa, data, len);
    } else {
      store.read(pa, data, len);
    }
    return {};
  }
};

double stat(stats::Group& g, const std::string& name) {
  std::vector<stats::Record> records;
  g.dump("os.", records);
  for (const stats::Record& r : records) {
    if (r.name == name) return r.value;
  }
  ADD_FAILURE() << "no statistic " << name;
  return 0;
}

double stat(fw::Kernel& k, const std::string& name) { return stat(k.stats(), name); }

TEST(KernelWithoutSystemC, DemandZeroFaultMapsAPageAndAStrayAccessKills) {
  fw::ProcessSpec spec;
  spec.name = "p";
  spec.vmas.push_back(fw::Vma(VirtAddr{0x10000000}, VirtAddr{0x10010000}));
  fw::Kernel kernel(fw::KernelConfig{}, {fw::NodeRange{Pfn{0}, 16384}}, {0}, {spec});
  FlatHal hal;
  std::optional<Pid> pid = kernel.create_process(hal, 0);
  ASSERT_TRUE(pid);
  kernel.switch_to(hal, *pid);
  ASSERT_NE(hal.root.value(), 0u);

  const VirtAddr va{0x10003008};
  EXPECT_EQ(fw::lookup_page(hal, hal.root, 4, va).present(), false);
  EXPECT_EQ(kernel.handle_page_fault(hal, *pid, va, AccessKind::Write, /*W|U*/ 0x6), fw::FaultOutcome::Retry);
  const Pte leaf = fw::lookup_page(hal, hal.root, 4, va);
  EXPECT_TRUE(leaf.present());
  EXPECT_TRUE(leaf.writable());
  EXPECT_TRUE(leaf.user());
  EXPECT_EQ(kernel.frame_refs(leaf.pfn()), 1u);
  EXPECT_EQ(stat(kernel, "os.faults.demand_zero"), 1.0);
  EXPECT_GE(hal.cycles, kernel.config().costs.fault_entry);

  // Outside every VMA: SIGSEGV, one kill report, the process is gone.
  EXPECT_EQ(kernel.handle_page_fault(hal, *pid, VirtAddr{0x20000000}, AccessKind::Read, 0x4),
            fw::FaultOutcome::Killed);
  EXPECT_FALSE(kernel.alive(*pid));
  ASSERT_EQ(kernel.kills().size(), 1u);
  EXPECT_EQ(kernel.kills()[0].signal, "SIGSEGV");
  EXPECT_EQ(stat(kernel, "os.faults.segv_no_vma"), 1.0);
}

// The file store's contents, written apart from the kernel's: xorshift64 per page from seed * 2^64/phi + page.
std::vector<uint8_t> file_bytes(uint64_t seed, uint64_t offset, uint64_t len) {
  std::vector<uint8_t> out;
  for (uint64_t page = offset / kPageSize; out.size() < len + offset % kPageSize; ++page) {
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + page;
    for (int i = 0; i < 512; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      for (int b = 0; b < 8; ++b) out.push_back(static_cast<uint8_t>(x >> (8 * b)));
    }
  }
  return std::vector<uint8_t>(out.begin() + static_cast<long>(offset % kPageSize),
                              out.begin() + static_cast<long>(offset % kPageSize + len));
}

// A kernel with one 64 KiB file (seed 7) and one process: a read-write area of 16 pages at 0x10000000 and
// an executable one at 0x400000.
struct FileIoBench {
  static fw::KernelConfig config() {
    fw::KernelConfig c;
    c.user_copies = true;
    fw::FileConfig f;
    f.name = "data.bin";
    f.size = Bytes{64 * 1024};
    f.seed = 7;
    c.files.push_back(f);
    return c;
  }
  static std::vector<fw::ProcessSpec> specs() {
    fw::ProcessSpec spec;
    spec.name = "p";
    spec.vmas.push_back(fw::Vma(VirtAddr{0x10000000}, VirtAddr{0x10010000}));
    spec.vmas.push_back(fw::Vma(VirtAddr{0x400000}, VirtAddr{0x401000}, fw::prot::kRead | fw::prot::kExec, "text"));
    return {spec};
  }
  explicit FileIoBench(const fw::KernelConfig& c = config()) : kernel(c, {fw::NodeRange{Pfn{0}, 16384}}, {0}, specs()) {
    hal.smap = c.smap;
    hal.smep = c.smep;
    pid = *kernel.create_process(hal, 0);
    kernel.switch_to(hal, pid);
  }
  fw::SyscallResult call(fw::SyscallKind kind, int file, uint64_t addr, uint64_t length, uint64_t offset) {
    fw::Syscall c;
    c.call = kind;
    c.file = file;
    c.addr = addr;
    c.length = length;
    c.offset = offset;
    return kernel.syscall(hal, pid, c);
  }
  std::vector<uint8_t> user_bytes(uint64_t va, uint64_t len) {
    std::vector<uint8_t> out(len);
    for (uint64_t i = 0; i < len; ++i) {
      const Pte e = fw::lookup_page(hal, hal.root, 4, VirtAddr{va + i});
      EXPECT_TRUE(e.present()) << std::hex << va + i;
      hal.store.read(PhysAddr{addr_of(e.pfn()).value() + ((va + i) & kPageMask)}, &out[i], 1);
    }
    return out;
  }
  FlatHal hal;
  fw::Kernel kernel;
  Pid pid = 0;
};

TEST(KernelWithoutSystemC, ReadAndWriteCopyBetweenAFileAndUserBuffersFixingUpFaults) {
  FileIoBench b;
  // 6000 bytes from offset 100 into a buffer over three pages nobody touched (8 + 4096 + 1896 bytes): each is a kernel
  // fault on a user address, resolved as the process's demand-zero fault, and the copy retried.
  fw::SyscallResult r = b.call(fw::SyscallKind::Read, 0, 0x10000ff8, 6000, 100);
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.value, 6000u);
  EXPECT_EQ(b.user_bytes(0x10000ff8, 6000), file_bytes(7, 100, 6000));
  EXPECT_EQ(stat(b.kernel, "os.user_copy.fault_fixups"), 3.0);
  EXPECT_EQ(stat(b.kernel, "os.faults.demand_zero"), 3.0);
  EXPECT_EQ(stat(b.kernel, "os.user_copy.bytes_to_user"), 6000.0);
  EXPECT_EQ(stat(b.kernel, "os.syscalls.bytes_read"), 6000.0);
  EXPECT_EQ(stat(b.kernel, "os.syscalls.read"), 1.0);
  EXPECT_EQ(stat(b.kernel, "os.frames.page_cache"), 2.0);  // file pages 0 and 1

  // write: the same 6000 bytes go to offset 40000 (pages 9 and 10 of the file); a read of them into
  // another buffer returns them, not the file's own contents there.
  r = b.call(fw::SyscallKind::Write, 0, 0x10000ff8, 6000, 40000);
  EXPECT_EQ(r.value, 6000u);
  EXPECT_EQ(stat(b.kernel, "os.syscalls.bytes_written"), 6000.0);
  r = b.call(fw::SyscallKind::Read, 0, 0x10008000, 6000, 40000);
  EXPECT_EQ(r.value, 6000u);
  EXPECT_EQ(b.user_bytes(0x10008000, 6000), file_bytes(7, 100, 6000));
  EXPECT_NE(file_bytes(7, 100, 6000), file_bytes(7, 40000, 6000));

  // At the file's end the transfer is short; from there on it moves nothing.
  EXPECT_EQ(b.call(fw::SyscallKind::Read, 0, 0x10008000, 4096, 65536 - 10).value, 10u);
  EXPECT_EQ(b.call(fw::SyscallKind::Read, 0, 0x10008000, 4096, 65536).value, 0u);
  // A buffer running past its VMA: the bytes up to the bad address (Linux's short count).
  EXPECT_EQ(b.call(fw::SyscallKind::Read, 0, 0x1000f000, 8192, 0).value, 4096u);
  // No VMA at all, a kernel address, or a read-only area written by read: EFAULT, the process lives.
  EXPECT_EQ(b.call(fw::SyscallKind::Read, 0, 0x20000000, 100, 0).error, EFAULT);
  EXPECT_EQ(b.call(fw::SyscallKind::Read, 0, 0xffff888000000000ull, 100, 0).error, EFAULT);
  EXPECT_EQ(b.call(fw::SyscallKind::Read, 0, 0x400000, 100, 0).error, EFAULT);
  EXPECT_EQ(stat(b.kernel, "os.syscalls.errno_EFAULT"), 3.0);
  // A file descriptor with no file.
  EXPECT_EQ(b.call(fw::SyscallKind::Write, 1, 0x10000000, 100, 0).error, EBADF);
  EXPECT_EQ(stat(b.kernel, "os.syscalls.errno_EBADF"), 1.0);
  EXPECT_TRUE(b.kernel.alive(b.pid));
  EXPECT_TRUE(b.kernel.kills().empty());
}

TEST(KernelWithoutSystemC, UserCopyWithoutStacIsASmapOopsOnlyUnderSmap) {
  fw::KernelConfig c = FileIoBench::config();
  c.inject_missing_stac = true;
  {
    FileIoBench off(c);  // no SMAP: the copy without AC goes through
    EXPECT_EQ(off.call(fw::SyscallKind::Read, 0, 0x10000000, 64, 0).value, 64u);
  }
  c.smap = true;
  FileIoBench on(c);
  try {
    on.call(fw::SyscallKind::Read, 0, 0x10000010, 64, 0);
    ADD_FAILURE() << "no oops";
  } catch (const SimulationError& e) {
    EXPECT_NE(std::string(e.what()).find("supervisor write of user address 0x10000010 in copy_to_user (read system call)"),
              std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("SMAP violation"), std::string::npos) << e.what();
  }
  // With stac, SMAP allows the copy.
  c.inject_missing_stac = false;
  FileIoBench stac(c);
  EXPECT_EQ(stac.call(fw::SyscallKind::Read, 0, 0x10000000, 64, 0).value, 64u);
}

TEST(KernelWithoutSystemC, KernelFetchFromAUserPageIsASmepOopsOnlyUnderSmep) {
  fw::KernelConfig c = FileIoBench::config();
  c.inject_user_fetch = 0x400010;
  {
    FileIoBench off(c);  // no SMEP: the page is faulted in and the fetch goes through
    EXPECT_EQ(off.call(fw::SyscallKind::Read, 0, 0x10000000, 64, 0).value, 64u);
    EXPECT_EQ(stat(off.kernel, "os.user_copy.injected_fetches"), 1.0);
  }
  c.smep = true;
  FileIoBench on(c);
  try {
    on.call(fw::SyscallKind::Write, 0, 0x10000000, 64, 0);
    ADD_FAILURE() << "no oops";
  } catch (const SimulationError& e) {
    EXPECT_NE(std::string(e.what()).find("supervisor fetch of user address 0x400010"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("SMEP violation"), std::string::npos) << e.what();
  }
}

// The façade's services for fw::Processes, reduced to a frame manager, slab caches and a record of what was
// asked: frame references by pfn, invalidated pages, PCID shootdowns, kernel objects outstanding.
class FacadeStandIn final : public fw::ProcessesHost {
 public:
  fw::PhysicalMemoryManager pmm{{fw::NodeRange{Pfn{256}, 4096}}};
  fw::PmmPageSource pages{pmm};
  fw::SlabAllocator slab{pages};
  fw::SlabCache& task_cache = slab.create_cache("task_struct", fw::kTaskBytes, 64);
  fw::SlabCache& mm_cache = slab.create_cache("mm_struct", fw::kMmBytes, 64);
  fw::SlabCache& vma_cache = slab.create_cache("vm_area_struct", fw::kVmaBytes, 8);
  std::map<uint64_t, uint32_t> extra_refs;
  uint64_t data_freed = 0;
  uint64_t invalidated = 0;
  std::vector<uint16_t> pcids_shot_down;
  int64_t objects = 0;

  void leave_mm(fw::Hal&, const fw::Mm&) override { ++left_mms; }
  uint64_t left_mms = 0;
  std::optional<Pfn> alloc_root_table(fw::Hal& hal) override {
    std::optional<fw::PageAlloc> a = pmm.alloc_page(0, fw::kGfpKernel | fw::Gfp::Zero, {0});
    if (!a) return std::nullopt;
    hal.zero_frame(a->pfn);
    return a->pfn;
  }
  std::optional<Pfn> alloc_user_root_table(fw::Hal&) override {
    ADD_FAILURE() << "no KPTI here";
    return std::nullopt;
  }
  std::optional<Pfn> alloc_table_frame(fw::Hal& hal, fw::Mm& mm) override {
    std::optional<Pfn> f = alloc_root_table(hal);
    if (f) ++mm.tables;
    return f;
  }
  void get_frame(Pfn pfn) override { ++extra_refs[pfn.value()]; }
  void put_frame(fw::Hal&, Pfn pfn) override {
    auto it = extra_refs.find(pfn.value());
    if (it != extra_refs.end()) {
      if (--it->second == 0) extra_refs.erase(it);
      return;
    }
    pmm.free_page(0, pfn);
    ++data_freed;
  }
  void free_frame(fw::Hal&, Pfn pfn) override { pmm.free_page(0, pfn); }
  void free_huge_leaf(fw::Hal&, Pfn, unsigned) override { ADD_FAILURE() << "no huge pages here"; }
  void invalidate(fw::Hal&, fw::Mm&, const std::vector<VirtAddr>& p) override { invalidated += p.size(); }
  void shootdown_pcid(fw::Hal&, fw::Mm& mm) override { pcids_shot_down.push_back(mm.pcid.id); }
  void harvest_file_dirty(fw::Hal&, fw::Mm&, VirtAddr, VirtAddr) override {}
  void release_segments(fw::Hal&) override {}
  std::optional<PhysAddr> kobj_alloc(fw::Hal&, fw::SlabCache& cache) override {
    std::optional<PhysAddr> o = cache.alloc();
    if (o) ++objects;
    return o;
  }
  void kobj_free(fw::Hal&, fw::SlabCache& cache, PhysAddr obj) override {
    cache.free(obj);
    --objects;
  }
  bool sync_vma_objects(fw::Hal& hal, fw::Mm& mm) override {
    while (mm.vma_objs.size() > mm.vmas.size()) {
      kobj_free(hal, vma_cache, mm.vma_objs.back());
      mm.vma_objs.pop_back();
    }
    while (mm.vma_objs.size() < mm.vmas.size()) {
      std::optional<PhysAddr> o = kobj_alloc(hal, vma_cache);
      if (!o) return false;
      mm.vma_objs.push_back(*o);
    }
    return true;
  }
  void shrink_slabs() override { slab.shrink_all(); }
};

// The swapper a disabled swap gives (no slots): it tracks nothing; fw::Processes only asks whether it is on.
class NoSwapHost final : public fw::SwapperHost {
 public:
  std::optional<Pfn> alloc_user_frame(fw::Hal&, fw::Process&, const fw::Vma&, VirtAddr, bool) override {
    ADD_FAILURE() << "swapper disabled";
    return std::nullopt;
  }
  void get_frame(Pfn) override { ADD_FAILURE() << "swapper disabled"; }
  void release_moved_frame(fw::Hal&, Pfn) override { ADD_FAILURE() << "swapper disabled"; }
  void finish_shootdown(fw::Hal&, const std::vector<CoreId>&, PhysAddr, uint16_t, const std::vector<VirtAddr>&) override {
    ADD_FAILURE() << "swapper disabled";
  }
  void kill(fw::Hal&, fw::Process&, VirtAddr, AccessKind, uint32_t, const std::string&, const char*) override {
    ADD_FAILURE() << "swapper disabled";
  }
};

TEST(ProcessesOnTheirOwn, ForkSharesPagesCopyOnWriteAndTheLastUserFreesTheAddressSpace) {
  const VirtAddr base{0x10000000};
  std::vector<fw::ProcessSpec> specs(3);
  specs[0].name = "parent";
  specs[0].vmas.push_back(fw::Vma(base, VirtAddr{base.value() + 16 * kPageSize}));
  specs[1].name = "copy";
  specs[1].index = 1;
  specs[1].parent = 0;
  specs[2].name = "thread";
  specs[2].index = 2;
  specs[2].parent = 0;

  fw::KernelConfig cfg;
  FacadeStandIn host;
  const uint64_t free_at_start = host.pmm.free_frames();
  stats::Group root;
  fw::Processes procs(root, specs);
  const uint64_t user_top = 1ull << 47;
  std::vector<std::unique_ptr<fw::ProcStats>> pstats;
  std::map<uint64_t, std::unique_ptr<fw::Segment>> segments;
  std::unordered_map<uint64_t, uint32_t> refs;
  stats::Scalar freed(root, "freed", "count", ""), major(root, "major", "count", ""),
      invlpg(root, "invlpg", "count", ""), writebacks(root, "writebacks", "count", ""),
      cow_shared(root, "cow_shared", "count", "");
  const std::vector<fw::NodeId> core_node{0};
  NoSwapHost swap_host;
  fw::Swapper swapper(root,
                      fw::SwapperContext{cfg, 4, user_top, 1, core_node, host.pmm, procs.all(), procs.live_mms(), pstats,
                                         segments, refs, freed, major, invlpg, writebacks},
                      swap_host);
  ASSERT_FALSE(swapper.enabled());
  fw::HugePages huge(root, 4, user_top);  // never connected: no huge areas
  procs.connect(fw::ProcessesContext{cfg, 4, user_top, 1, nullptr, swapper, huge, host.task_cache, host.mm_cache,
                                     pstats, cow_shared},
                host);
  FlatHal hal;

  const std::optional<Pid> parent = procs.create(hal, 0);
  ASSERT_EQ(parent, std::optional<Pid>(1));
  fw::Mm& pmm = *procs.get(*parent).mm;
  ASSERT_EQ(procs.live_mms().size(), 1u);
  // Four writable pages, as faults would have mapped them.
  for (uint64_t i = 0; i < 4; ++i) {
    std::optional<fw::PageAlloc> a = host.pmm.alloc_page(0, fw::kGfpKernel | fw::Gfp::Zero, {0});
    ASSERT_TRUE(a);
    ASSERT_TRUE(fw::map_page(hal, pmm.root, 4, VirtAddr{base.value() + i * kPageSize}, a->pfn,
                             pte_bit::kUser | pte_bit::kWritable, [&]() { return host.alloc_table_frame(hal, pmm); }));
    ++pmm.resident;
  }

  // A copy: a new address space mapping the same frames read-only on both sides.
  const std::optional<Pid> copy = procs.fork(hal, procs.get(*parent), 1, false);
  ASSERT_EQ(copy, std::optional<Pid>(2));
  fw::Mm& cmm = *procs.get(*copy).mm;
  EXPECT_NE(&cmm, &pmm);
  EXPECT_NE(cmm.pcid.id, pmm.pcid.id);
  EXPECT_EQ(cmm.resident, 4u);
  for (uint64_t i = 0; i < 4; ++i) {
    const VirtAddr va{base.value() + i * kPageSize};
    const Pte p = fw::lookup_page(hal, pmm.root, 4, va), c = fw::lookup_page(hal, cmm.root, 4, va);
    ASSERT_TRUE(p.present() && c.present());
    EXPECT_EQ(p.pfn(), c.pfn());
    EXPECT_FALSE(p.writable());
    EXPECT_FALSE(c.writable());
    EXPECT_EQ(host.extra_refs.at(p.pfn().value()), 1u);
  }
  EXPECT_EQ(host.invalidated, 4u);  // the parent's PTEs lost W
  EXPECT_EQ(cow_shared.value(), 4u);
  EXPECT_EQ(procs.spawn_state(1), fw::SpawnState::Ready);
  EXPECT_EQ(procs.spawned_pid(1), *copy);
  EXPECT_FALSE(procs.may_fork(procs.get(*parent), 1));  // forked once only

  // A thread: the same address space.
  const std::optional<Pid> thread = procs.fork(hal, procs.get(*parent), 2, true);
  ASSERT_EQ(thread, std::optional<Pid>(3));
  EXPECT_EQ(procs.get(*thread).mm.get(), &pmm);
  EXPECT_EQ(pmm.users, 2u);
  EXPECT_EQ(procs.live_mms().size(), 2u);

  // The copy ends: its references go, the frames stay with the parent's address space.
  const uint16_t copy_pcid = cmm.pcid.id, parent_pcid = pmm.pcid.id;
  procs.exit(hal, *copy);
  EXPECT_FALSE(procs.alive(*copy));
  EXPECT_TRUE(host.extra_refs.empty());
  EXPECT_EQ(host.data_freed, 0u);
  EXPECT_EQ(host.pcids_shot_down, std::vector<uint16_t>{copy_pcid});

  // The parent ends while its thread runs on: nothing is freed yet.
  procs.exit(hal, *parent);
  EXPECT_EQ(host.data_freed, 0u);
  EXPECT_EQ(procs.live_mms().size(), 1u);
  // The last user ends: the pages, the tables and every kernel object go.
  procs.exit(hal, *thread);
  EXPECT_EQ(host.data_freed, 4u);
  EXPECT_EQ((host.pcids_shot_down), (std::vector<uint16_t>{copy_pcid, parent_pcid}));
  EXPECT_TRUE(procs.live_mms().empty());
  EXPECT_EQ(host.objects, 0);
  EXPECT_EQ(host.pmm.free_frames(), free_at_start);
  EXPECT_EQ(stat(root, "os.processes.created"), 3.0);
  EXPECT_EQ(stat(root, "os.processes.forks"), 2.0);
  EXPECT_EQ(stat(root, "os.processes.exited"), 3.0);
}

}  // namespace
}  // namespace vmsim
