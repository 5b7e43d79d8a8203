// The kernel's accesses to user memory (Linux's copy_to_user / copy_from_user): page by page through
// Hal::user_access with RFLAGS.AC set (stac/clac), a fault on a user address resolved as the process's page
// fault and the copy retried (Linux's exception-table fixup), or the copy stopped (EFAULT); a SMAP or SMEP
// violation is a kernel oops that stops the run. Owns the statistics group system.os.user_copy.
#pragma once

#include <cstdint>
#include <string>

#include "firmware/hal/hal.hpp"
#include "firmware/kernel/kernel_types.hpp"
#include "common/stats.hpp"

namespace vmsim::fw {

struct KernelConfig;
class Faults;

class UserCopy {
 public:
  // Creates system.os.user_copy under `parent`. cfg's smap/smep are CR4's bits, which the fault handler
  // reads; inject_missing_stac and inject_user_fetch are the test-only injections.
  UserCopy(stats::Group& parent, const KernelConfig& cfg, Faults& faults);
  UserCopy(const UserCopy&) = delete;
  UserCopy& operator=(const UserCopy&) = delete;

  // How a copy ended: all bytes moved (Done), or stopped at the first bad user address (Efault: outside
  // the user half or every VMA, or the VMA forbids the access) or for want of a frame (NoMemory).
  enum class End : uint8_t { Done, Efault, NoMemory };
  struct Result {
    uint64_t bytes = 0;  // bytes moved before the copy ended
    End end = End::Done;
  };
  // copy_to_user: len bytes from src to user address dst of p, whose address space is loaded on the HAL's
  // core (the caller runs p's system call). `what` names the caller in an oops report. Throws
  // SimulationError for a kernel oops (a SMAP violation: the copy ran without stac, under SMAP).
  Result to_user(Hal& hal, Process& p, VirtAddr dst, const uint8_t* src, uint64_t len, const std::string& what);
  // copy_from_user: len bytes from user address src of p to dst.
  Result from_user(Hal& hal, Process& p, uint8_t* dst, VirtAddr src, uint64_t len, const std::string& what);
  // Test only (sim.inject_user_fetch): the kernel fetches an instruction at that user address of p, as a
  // kernel bug calling through a user-controlled pointer. A not-present page is faulted in first; under SMEP
  // the fetch is a kernel oops that stops the run; without it the run goes on if a VMA lets the page execute
  // (else an oops too). Does nothing when off.
  void inject_fetch(Hal& hal, Process& p, const std::string& what);

 private:
  Result copy(Hal& hal, Process& p, AccessKind kind, VirtAddr va, uint8_t* buf, uint64_t len, const std::string& what);
  [[noreturn]] void oops(Hal& hal, const Process& p, AccessKind kind, VirtAddr va, uint32_t error_code,
                         const std::string& what, const std::string& cause) const;

  const KernelConfig& m_cfg;
  Faults& m_faults;

  stats::Group m_group;  // system.os.user_copy
  stats::Scalar m_to_user{m_group, "bytes_to_user", "bytes", "Bytes the kernel copied into user buffers (copy_to_user)"};
  stats::Scalar m_from_user{m_group, "bytes_from_user", "bytes",
                            "Bytes the kernel copied from user buffers (copy_from_user)"};
  stats::Scalar m_accesses{m_group, "accesses", "count",
                           "Supervisor accesses to user pages made for copies (one per page part, retries included)"};
  stats::Scalar m_fixups{m_group, "fault_fixups", "count",
                         "Kernel faults on user addresses resolved as the process's page fault, the copy retried"};
  stats::Scalar m_efaults{m_group, "efaults", "count", "Copies stopped at a bad user address (EFAULT)"};
  stats::Scalar m_fetches{m_group, "injected_fetches", "count",
                          "Test only (sim.inject_user_fetch): kernel instruction fetches from user pages"};
};

}  // namespace vmsim::fw
