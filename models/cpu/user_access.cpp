// The core's HAL port for the kernel's accesses to user memory (fw::Hal::user_access): copy_to_user and
// copy_from_user as supervisor accesses through the MMU, bracketed by stac/clac, timed like the firmware's
// other accesses.
#include "common/error.hpp"
#include "models/cpu/core.hpp"

namespace vmsim::cpu {

fw::UserAccess Core::user_access(AccessKind kind, VirtAddr va, uint8_t* buf, uint64_t len, bool stac) {
  if (len == 0 || len > kPageSize || (va.value() & kPageMask) + len > kPageSize) {
    throw SimulationError(std::string(name()) + ": kernel access of " + std::to_string(len) + " bytes at user address " +
                          format_hex(va.value()) + " crosses a page");
  }
  sc_core::sc_time delay = m_timed ? m_qk.get_local_time() : sc_core::SC_ZERO_TIME;
  if (stac) m_mmu.set_ac(true);
  m_kernel_translating = true;
  const mmu::Translation t = m_mmu.translate(va, kind, false, delay);
  m_kernel_translating = false;
  m_mmu.set_ac(false);  // clac
  if (m_timed) m_qk.set(delay);
  fw::UserAccess r;
  if (t.fault) {
    r.fault = true;
    r.error_code = t.error_code;
    return r;
  }
  // Translated already: the transfer is physical (not again through the direct map).
  if (kind == AccessKind::Write) {
    ++mmu::firmware_write_epoch();
    kernel_transport(tlm::TLM_WRITE_COMMAND, t.pa, buf, len, false);
    ++mmu::firmware_write_epoch();
  } else {
    kernel_transport(tlm::TLM_READ_COMMAND, t.pa, buf, len, false);
  }
  return r;
}

}  // namespace vmsim::cpu
