// Hardware abstraction layer: the firmware OS's only door to the modeled hardware. A HAL belongs to the
// core the firmware is running on; every call charges that core's simulated time.
#pragma once

#include <cstdint>
#include <vector>

#include "common/error.hpp"
#include "common/types.hpp"

namespace vmsim::fw {

// What a VM entry loads (the VMCS's EPTP and VPID, the guest's CR3 and paging mode): from then on the
// core's user accesses and walks are the guest's, through its tables and the EPT (nested paging).
struct VmEntry {
  uint64_t eptp = 0;          // EPT pointer (common/ept.hpp Eptp): root, page-walk length, A/D enable
  uint16_t vpid = 1;          // 1..65535 (0 is the host's)
  PhysAddr guest_root{0};     // guest CR3: a guest-physical address
  uint16_t guest_pcid = 0;    // ignored, as the host's, when system.core.mmu.pcid is off
  unsigned guest_levels = 4;  // 4 or 5
};

// Result of Hal::user_access: fault false once the access was made; else error_code holds the x86 page-fault
// error code of the translation fault (U/S clear: a supervisor access), the access not made.
struct UserAccess {
  bool fault = false;
  uint32_t error_code = 0;
};

class Hal {
 public:
  virtual ~Hal() = default;
  // Timed 8-byte physical read/write (page-table entries).
  virtual uint64_t read64(PhysAddr pa) = 0;
  virtual void write64(PhysAddr pa, uint64_t value) = 0;
  // Timed physical read of len bytes (one transaction; len <= 4096, within one page).
  virtual void read_block(PhysAddr pa, uint8_t* data, uint64_t len) = 0;
  // Timed physical write of len bytes (one transaction; len <= 4096, within one page).
  virtual void write_block(PhysAddr pa, const uint8_t* data, uint64_t len) = 0;
  // The same transfers made by a device rather than the CPU (the swap device's or the file store's DMA into
  // or out of a frame): timed like read_block/write_block, but always physical, never translated through the
  // kernel's direct map (set_direct_map).
  virtual void dma_read(PhysAddr pa, uint8_t* data, uint64_t len) = 0;
  virtual void dma_write(PhysAddr pa, const uint8_t* data, uint64_t len) = 0;
  // Fills the 4 KiB frame with zeros (one timed 4 KiB write).
  virtual void zero_frame(Pfn pfn) = 0;
  // The kernel's direct map (firmware.kernel_virtual_access): from this call on, every memory access of
  // the firmware on this core (read64, write64, read_block, write_block, zero_frame) at physical address pa
  // is a supervisor access to virtual address base + pa, translated by this core's MMU under the root
  // loaded now (TLB lookup, walk on a miss) before it reaches memory; the tables map physical [0, bytes).
  // The caller loads a root holding the kernel half first. A translation fault there stops the run (a
  // kernel oops). Never called: the accesses stay physical.
  virtual void set_direct_map(uint64_t base, uint64_t bytes) = 0;
  // A supervisor access of the kernel to user virtual address va of the address space loaded now (Linux's
  // copy_to_user / copy_from_user, one page's part of it): translated by this core's MMU with user = false
  // (TLB lookup, walk on a miss; U/S, SMEP and SMAP apply) with RFLAGS.AC set for the access when stac (stac
  // before it, clac after it), then made through the caches like read_block/write_block. kind: Read reads
  // len bytes into data, Write writes them, Fetch reads them as an instruction fetch. len <= 4096, within one
  // page. A translation fault is returned (nothing moved), for the kernel to resolve as a fault on a user
  // address. A HAL without an MMU (the unit tests' fakes) throws SimulationError unless it models one.
  virtual UserAccess user_access(AccessKind kind, VirtAddr va, uint8_t* data, uint64_t len, bool stac) {
    (void)kind, (void)va, (void)data, (void)len, (void)stac;
    throw SimulationError("Hal::user_access: this HAL makes no user accesses");
  }
  // INVLPG on this core's TLB.
  virtual void invlpg(VirtAddr va) = 0;
  // Writes this core's root-table register (CR3) with a PCID. With PCID off in the hardware this
  // flushes the core's non-global TLB entries.
  virtual void set_root(PhysAddr root, uint16_t pcid) = 0;
  // INVPCID single-context on this core: drops every non-global translation of pcid.
  virtual void invalidate_pcid(uint16_t pcid) = 0;
  // INVPCID all contexts except global on this core: drops every non-global translation of every PCID
  // and the page-walk caches (the kernel's PCID roll-over).
  virtual void invalidate_all_pcids() = 0;
  // Kernel entry/exit: the kernel is one critical section across cores (a big kernel lock, re-entrant
  // on one core). Only matters in the AT mode, where a memory access waits and other cores run meanwhile.
  virtual void kernel_enter() = 0;
  virtual void kernel_exit() = 0;
  // TLB shootdown, in two steps around a page-table change. begin: an IPI to each core in `cores`
  // (never this core); returns once each is stopped at an instruction boundary (or idle), so none walks
  // the tables while they change. end: each drops the translations of `pages` in the address space
  // (root, pcid) -- every translation of it if pages is empty --, is charged receiver_cycles before
  // its next operation, and resumes. The sender's own cost is the caller's to charge.
  virtual void shootdown_begin(const std::vector<CoreId>& cores) = 0;
  virtual void shootdown_end(const std::vector<CoreId>& cores, PhysAddr root, uint16_t pcid,
                             const std::vector<VirtAddr>& pages, uint64_t receiver_cycles) = 0;
  // The end of a stopped section that changed no translation: each core in `cores` resumes with its TLBs
  // as they were, charged nothing (no IPI was sent for an invalidation).
  virtual void shootdown_resume(const std::vector<CoreId>& cores) = 0;
  // Charges `cycles` core cycles of kernel CPU work.
  virtual void charge(uint64_t cycles) = 0;
  // The core this HAL belongs to.
  virtual CoreId core_id() const = 0;
  // Current simulated time on this core, in picoseconds (including not-yet-synchronized local time).
  virtual uint64_t now_ps() const = 0;
  // Timed 4 KiB block I/O on the swap device at byte offset `device_offset` (4 KiB aligned, inside the
  // device). The caller blocks until the device completes the request (queueing, seek and transfer
  // included); other cores run meanwhile. Throws SimulationError if the system has no swap device or the
  // device rejects the request.
  virtual void swap_read(uint64_t device_offset, uint8_t* page) = 0;
  virtual void swap_write(uint64_t device_offset, const uint8_t* page) = 0;
  // The same request without waiting: the data moves at once (the device holds page contents), the
  // request occupies the device like any other, and the call returns its completion time in picoseconds
  // (the caller decides who waits for it). Functional mode: the current time.
  virtual uint64_t swap_submit(bool write, uint64_t device_offset, uint8_t* page) = 0;
  // Drops the translation of va in address space (root, pcid) on this core, whether that address space is
  // loaded now (INVLPG) or only cached under its PCID (INVPCID individual-address).
  virtual void invalidate_page(PhysAddr root, uint16_t pcid, VirtAddr va) = 0;
  // Drops every non-global translation of address space (root, pcid) on this core, whether it is loaded
  // now or only cached under its PCID (with PCIDs off only the loaded address space can be cached).
  virtual void invalidate_space(PhysAddr root, uint16_t pcid) = 0;
  // Asks `core` to run Kernel::run_background at its next instruction boundary, as a woken kernel thread
  // (kswapd) running there; its time is that core's kernel time. False if that core has stopped for good
  // (its processes all ended), so it cannot run anything.
  virtual bool wake_background(CoreId core) = 0;
  // Kernel code waiting for an event at simulated time ps (a swap-in another process started): the
  // caller sleeps until then; other cores run meanwhile. Functional mode: returns at once.
  virtual void wait_until(uint64_t ps) = 0;
  // Memory operations completed by all cores so far: the kernel's virtual time for page replacement.
  virtual uint64_t memory_ops() const = 0;

  // ---- Hardware virtualization (VMX with EPT and VPID). Only the hypervisor (firmware/hv) calls these;
  // a kernel never does. A HAL without the hardware (the unit tests' fakes) throws SimulationError. ----
  // VM entry on this core: e's context is loaded (no cost: the caller charges entries and exits). While in
  // guest mode, invlpg, set_root's guest counterpart set_guest_root, invalidate_pcid and
  // invalidate_all_pcids act on e.vpid's translations; the memory accesses of this HAL (read64 .. dma_write)
  // stay host-physical and are never translated through the kernel's direct map.
  virtual void vm_enter(const VmEntry& e) { (void)e, no_vmx("vm_enter"); }
  // VM exit on this core: host translations (VPID 0, the host's root) again; the guest's stay cached.
  virtual void vm_exit() { no_vmx("vm_exit"); }
  virtual bool in_guest() const { return false; }
  // A guest CR3 write (guest mode only): as set_root, within the current VPID.
  virtual void set_guest_root(PhysAddr root, uint16_t pcid) { (void)root, (void)pcid, no_vmx("set_guest_root"); }
  // INVEPT single-context on this core: drops every translation derived from eptp's EPT (combined
  // guest-linear ones of every VPID using it, the nested TLB's and the nested page-walk caches').
  virtual void invept(uint64_t eptp) { (void)eptp, no_vmx("invept"); }
  // On this core, whatever mode it is in: drops the translations of `pages` in guest address space
  // (vpid, root, pcid), every non-global translation of it if pages is empty (INVVPID / INVPCID within
  // the VPID).
  virtual void invalidate_guest(uint16_t vpid, PhysAddr root, uint16_t pcid, const std::vector<VirtAddr>& pages) {
    (void)vpid, (void)root, (void)pcid, (void)pages, no_vmx("invalidate_guest");
  }
  // shootdown_end for a guest address space: each core in `cores` (stopped by shootdown_begin) runs
  // invalidate_guest(vpid, root, pcid, pages), is charged receiver_cycles, and resumes.
  virtual void shootdown_end_guest(const std::vector<CoreId>& cores, uint16_t vpid, PhysAddr root, uint16_t pcid,
                                   const std::vector<VirtAddr>& pages, uint64_t receiver_cycles) {
    (void)cores, (void)vpid, (void)root, (void)pcid, (void)pages, (void)receiver_cycles, no_vmx("shootdown_end_guest");
  }
  // shootdown_end after an EPT change: each core in `cores` runs invept(eptp), is charged receiver_cycles,
  // and resumes.
  virtual void shootdown_end_ept(const std::vector<CoreId>& cores, uint64_t eptp, uint64_t receiver_cycles) {
    (void)cores, (void)eptp, (void)receiver_cycles, no_vmx("shootdown_end_ept");
  }

 private:
  [[noreturn]] static void no_vmx(const char* what) {
    throw SimulationError(std::string("Hal::") + what + ": this HAL has no hardware virtualization");
  }
};

}  // namespace vmsim::fw
