// The kernel's user copies (fw::UserCopy): supervisor accesses to user pages with stac/clac, their faults
// fixed up as the process's page faults, and the SMAP/SMEP oops.
#include "firmware/kernel/user_copy.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "common/pte.hpp"
#include "firmware/kernel/faults.hpp"
#include "firmware/kernel/kernel_config.hpp"

namespace vmsim::fw {

namespace {

// A copy that faults again after this many fix-ups of one page makes no progress: a kernel bug.
constexpr unsigned kMaxFixups = 8;

}  // namespace

UserCopy::UserCopy(stats::Group& parent, const KernelConfig& cfg, Faults& faults)
    : m_cfg(cfg), m_faults(faults), m_group(parent, "user_copy") {}

UserCopy::Result UserCopy::to_user(Hal& hal, Process& p, VirtAddr dst, const uint8_t* src, uint64_t len,
                                   const std::string& what) {
  // A write never modifies the buffer.
  const Result r = copy(hal, p, AccessKind::Write, dst, const_cast<uint8_t*>(src), len, what);
  m_to_user += r.bytes;
  return r;
}

UserCopy::Result UserCopy::from_user(Hal& hal, Process& p, uint8_t* dst, VirtAddr src, uint64_t len,
                                     const std::string& what) {
  const Result r = copy(hal, p, AccessKind::Read, src, dst, len, what);
  m_from_user += r.bytes;
  return r;
}

void UserCopy::inject_fetch(Hal& hal, Process& p, const std::string& what) {
  if (m_cfg.inject_user_fetch == 0) return;
  ++m_fetches;
  uint8_t insn[16];
  const VirtAddr va{m_cfg.inject_user_fetch};
  copy(hal, p, AccessKind::Fetch, va, insn, std::min<uint64_t>(sizeof insn, kPageSize - (va.value() & kPageMask)),
       what + " (injected: sim.inject_user_fetch)");
}

UserCopy::Result UserCopy::copy(Hal& hal, Process& p, AccessKind kind, VirtAddr va, uint8_t* buf, uint64_t len,
                                const std::string& what) {
  // Test only: the copy without stac, as a kernel bug that forgot it.
  const bool stac = kind != AccessKind::Fetch && !m_cfg.inject_missing_stac;
  Result r;
  // KPTI: the kernel's root caches these user translations under the kernel PCID, which the kernel's
  // invalidations of user pages (made for the user copy's PCID) do not reach: they go when the copy ends.
  const bool kpti = p.mm->user_root.value() != 0;
  uint64_t first_page = UINT64_MAX, last_page = 0;
  auto drop_kernel_translations = [&] {
    if (!kpti) return;
    for (uint64_t pg = first_page; pg <= last_page && first_page != UINT64_MAX; pg += kPageSize) {
      hal.invalidate_page(p.mm->root, p.mm->pcid.id, VirtAddr{pg});
    }
  };
  while (r.bytes < len) {
    const VirtAddr at{va.value() + r.bytes};
    const uint64_t n = std::min(len - r.bytes, kPageSize - (at.value() & kPageMask));
    first_page = std::min(first_page, at.value() & ~kPageMask);
    last_page = std::max(last_page, at.value() & ~kPageMask);
    for (unsigned tries = 0;; ++tries) {
      ++m_accesses;
      const UserAccess a = hal.user_access(kind, at, buf + r.bytes, n, stac);
      if (!a.fault) break;
      const uint32_t ec = a.error_code;
      // Linux's do_user_addr_fault checks these first: a supervisor fault on a user address with AC clear
      // under SMAP, and a supervisor instruction fetch the page denied, are kernel bugs (oops).
      if (kind != AccessKind::Fetch && m_cfg.smap && !stac && !(ec & pf_err::kUser)) {
        oops(hal, p, kind, at, ec, what, "SMAP violation: supervisor access to a user page with RFLAGS.AC clear");
      }
      if (kind == AccessKind::Fetch && (ec & pf_err::kPresent)) {
        oops(hal, p, kind, at, ec, what,
             m_cfg.smep ? "SMEP violation: supervisor instruction fetch from a user page"
                        : "supervisor instruction fetch from a no-execute user page");
      }
      if (tries == kMaxFixups) oops(hal, p, kind, at, ec, what, "the fault persists after it was resolved");
      const UserFault f = m_faults.user_fault(hal, p, at, kind, ec);
      if (f == UserFault::Retry) {
        ++m_fixups;
        // A copy-on-write break changed a present translation, invalidated for the user copy's PCID only
        // under KPTI: the kernel PCID's goes too before the retry.
        if ((ec & pf_err::kPresent) && kpti) hal.invalidate_page(p.mm->root, p.mm->pcid.id, at);
        continue;
      }
      // No exception-table entry covers an instruction fetch: one the fault handler cannot resolve is an oops.
      if (kind == AccessKind::Fetch) {
        oops(hal, p, kind, at, ec, what, "supervisor instruction fetch from a user address no VMA lets execute");
      }
      ++m_efaults;
      r.end = f == UserFault::Efault ? End::Efault : End::NoMemory;
      drop_kernel_translations();
      return r;
    }
    r.bytes += n;
  }
  drop_kernel_translations();
  return r;
}

void UserCopy::oops(Hal& hal, const Process& p, AccessKind kind, VirtAddr va, uint32_t error_code, const std::string& what,
                    const std::string& cause) const {
  std::string ec = (error_code & pf_err::kPresent) ? "protection" : "not-present";
  ec += (error_code & pf_err::kWrite) ? ", write" : ", read";
  ec += (error_code & pf_err::kUser) ? ", user" : ", supervisor";
  if (error_code & pf_err::kFetch) ec += ", instruction-fetch";
  throw SimulationError("kernel page fault (oops) on core " + std::to_string(hal.core_id()) + ": supervisor " +
                        to_string(kind) + " of user address " + format_hex(va.value()) + " in " + what +
                        " of process " + std::to_string(p.pid) + " '" + p.name + "' (error code " +
                        format_hex(error_code) + ": " + ec + "): " + cause);
}

}  // namespace vmsim::fw
