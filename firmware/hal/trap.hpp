// The trap interface: what the hardware asks of the operating system (page faults, system calls,
// context switches, process creation and exit, background work), the other half of the hardware/software
// contract beside fw::Hal. A core holds a Trap&, never a concrete kernel; the platform chooses which
// firmware stands behind it (firmware.kind: full = fw::Kernel, fixed = fw::FixedFirmware).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/types.hpp"
#include "firmware/hal/hal.hpp"
#include "firmware/hal/scheduler.hpp"
#include "firmware/vm/vma.hpp"

namespace vmsim::fw {

// System calls a process script can make (Linux semantics, anonymous memory, shared segments and the file
// store's files: read and write copy between a file's page cache and a user buffer).
enum class SyscallKind : uint8_t { Mmap, Munmap, Mprotect, Mlock, Munlock, Brk, Fork, Exit, ShmAttach, Mbind, Read, Write };
const char* to_string(SyscallKind k);

struct Syscall {
  uint64_t at = 0;  // executed before the process's memory operation number `at` (0-based)
  SyscallKind call = SyscallKind::Mmap;
  uint64_t addr = 0;
  uint64_t length = 0;
  uint8_t prot = prot::kRead | prot::kWrite;
  bool fixed = false;     // mmap: MAP_FIXED
  bool shared = false;    // mmap: MAP_SHARED
  bool huge = false;      // mmap: the area may get 2 MiB pages
  bool huge_1g = false;   // mmap: 1 GiB pages from the pool (area aligned to 1 GiB)
  bool share_vm = false;  // fork: CLONE_VM (a thread sharing the address space)
  int child = -1;         // fork: process index of the child
  std::string key;        // shm_attach: segment key
  int file = -1;          // mmap: index in KernelConfig::files (-1: anonymous); read/write: the file descriptor
                          // (an index with no file is EBADF)
  uint64_t offset = 0;    // mmap, read, write: byte offset in the file
  NumaPolicy policy;      // mbind
  std::string name;       // mmap / shm_attach: VMA label
};

// Result of a system call: errno 0 on success, with value (mmap/brk address; read/write: bytes copied).
struct SyscallResult {
  int error = 0;
  uint64_t value = 0;
  bool exited = false;  // the process no longer runs (exit)
};

// What the firmware knows about a process before it exists.
struct ProcessSpec {
  std::string name;
  CoreId core = 0;
  size_t index = 0;     // position in the run's process list (stats are per index)
  int parent = -1;      // index of the process whose fork creates this one; -1 = created at start
  std::vector<Vma> vmas;
  NumaPolicy policy;
  uint64_t heap_base = 0;
  uint64_t mmap_base = 0;
};

// Retry: the page is mapped, retry the access. Killed: the process is gone. Blocked: a swap-in is in
// flight; the process sleeps until Trap::blocked_until(pid), then retries the access.
enum class FaultOutcome { Retry, Killed, Blocked };

// Forked processes: Pending until the parent's fork call, then Ready (spawned_pid), or Aborted when the
// parent ended without forking it.
enum class SpawnState { Pending, Ready, Aborted };

// A VM exit a guest-mode access raised (nested paging), as the hardware reports it to the hypervisor.
enum class VmExitReason : uint8_t { EptViolation, EptMisconfig };
const char* to_string(VmExitReason r);
struct VmExitInfo {
  VmExitReason reason = VmExitReason::EptViolation;
  uint64_t gpa = 0;             // the guest-physical address whose EPT translation failed
  uint64_t qualification = 0;   // the exit qualification (common/ept.hpp ept_qual bits; 0 for a misconfiguration)
  VirtAddr guest_linear{0};     // the guest-linear address of the access
  AccessKind kind = AccessKind::Read;
};

class Trap {
 public:
  virtual ~Trap() = default;

  // Physical byte range [first, second) of the NUMA node local to `core` (boot-time topology).
  virtual std::pair<uint64_t, uint64_t> local_range(CoreId core) const = 0;
  // The scheduler of one core's processes (entries in the order the core runs them by default).
  virtual std::unique_ptr<Scheduler> make_scheduler(std::vector<Scheduler::Entry> entries) const = 0;
  // Core cycles a switch between two processes costs (the root-register write apart).
  virtual uint64_t context_switch_cycles() const = 0;

  // Creates process `index` (its spec has no parent). Returns its pid, or nullopt when memory is exhausted.
  virtual std::optional<Pid> create_process(Hal& hal, size_t index) = 0;
  virtual SpawnState spawn_state(size_t index) const = 0;
  virtual Pid spawned_pid(size_t index) const = 0;
  // Makes pid current on the HAL's core (writes the root-table register with the PCID).
  virtual void switch_to(Hal& hal, Pid pid) = 0;
  // The running process's [local, remote] access counters; valid for the firmware's lifetime.
  virtual uint64_t* access_counters(Pid pid) = 0;
  virtual bool alive(Pid pid) const = 0;
  // The flag alive(pid) reads, for the core's per-operation check without a call; valid for the
  // firmware's lifetime (also after the process ended).
  virtual const bool* alive_flag(Pid pid) const = 0;
  // After a Blocked fault: the simulated time (ps) at which pid may retry.
  virtual uint64_t blocked_until(Pid pid) const = 0;
  // Normal exit of pid (its workload ended).
  virtual void exit_process(Hal& hal, Pid pid) = 0;

  // The page-fault exception (x86 error code). Retry after mapping the page, Killed after killing the
  // process, Blocked while I/O is in flight.
  virtual FaultOutcome handle_page_fault(Hal& hal, Pid pid, VirtAddr va, AccessKind kind, uint32_t error_code) = 0;
  // One system call of pid's script. Never throws for bad arguments: they give an errno.
  virtual SyscallResult syscall(Hal& hal, Pid pid, const Syscall& call) = 0;
  // Background work a core runs when woken through Hal::wake_background (kswapd).
  virtual void run_background(Hal& hal) = 0;
  // Process `index` (pid, or 0 if not created yet) leaves the HAL's core for core `to` (a scheduled
  // migration or the load balancer), at an instruction boundary of the HAL's core. The firmware updates its
  // records and charges the move; when no other live process on the HAL's core shares pid's address space,
  // it drops that core's translations of it (Hal::invalidate_pcid) and stops sending it that address
  // space's shootdowns.
  virtual void migrate(Hal& hal, size_t index, Pid pid, CoreId to) = 0;
  // A VM exit raised by process pid's access (the HAL's core was in guest mode, loaded by this firmware's
  // switch_to): Retry once the hypervisor fixed the EPT, Killed, or Blocked (host swap-in in flight;
  // blocked_until(pid) says until when). A firmware without a hypervisor never loads guest mode.
  virtual FaultOutcome handle_vm_exit(Hal& hal, Pid pid, const VmExitInfo& exit) {
    (void)hal, (void)pid;
    throw SimulationError(std::string("VM exit (") + to_string(exit.reason) + ") under a firmware without a hypervisor");
  }
};

}  // namespace vmsim::fw
