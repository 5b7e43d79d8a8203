// The core's HAL port: the hardware side of fw::Hal on this core (the firmware's timed memory accesses,
// frame zeroing, swap-device I/O, time), charged to the core the firmware runs on.
#include <algorithm>
#include <cstring>

#include "common/error.hpp"
#include "models/cpu/core.hpp"

namespace vmsim::cpu {

uint64_t Core::now_ps() const {
  sc_core::sc_time t = sc_core::sc_time_stamp() + m_qk.get_local_time();
  return static_cast<uint64_t>(t.to_seconds() * 1e12 + 0.5);
}

void Core::charge(uint64_t cycles) {
  if (m_timed) m_qk.inc(m_period * static_cast<double>(cycles));
}

void Core::set_direct_map(uint64_t base, uint64_t bytes) {
  m_kmap = true;
  m_kmap_base = base;
  m_kmap_bytes = bytes;
  m_mmu.set_direct_map(base, bytes);
}

PhysAddr Core::kernel_translate(tlm::tlm_command cmd, PhysAddr pa, uint64_t len) {
  const bool write = cmd == tlm::TLM_WRITE_COMMAND;
  if (pa.value() + len > m_kmap_bytes) {
    throw SimulationError(std::string(name()) + ": firmware access to physical address " + format_hex(pa.value()) +
                          " lies outside the kernel's direct map (" + format_hex(m_kmap_bytes) + " bytes)");
  }
  const VirtAddr va{m_kmap_base + pa.value()};
  sc_core::sc_time delay = m_timed ? m_qk.get_local_time() : sc_core::SC_ZERO_TIME;
  m_kernel_translating = true;
  const mmu::Translation t = m_mmu.translate(va, write ? AccessKind::Write : AccessKind::Read, false, delay);
  m_kernel_translating = false;
  if (m_timed) m_qk.set(delay);
  if (t.fault || t.pa != pa) {
    throw SimulationError(std::string(name()) + ": kernel page fault (oops): supervisor " + (write ? "write" : "read") +
                          " of " + format_hex(va.value()) + " (physical " + format_hex(pa.value()) +
                          ") through the direct map under root " + format_hex(m_mmu.root().value()) +
                          (t.fault ? ", error code " + format_hex(t.error_code)
                                   : " translated to " + format_hex(t.pa.value())));
  }
  return t.pa;
}

void Core::kernel_transport(tlm::tlm_command cmd, PhysAddr pa, uint8_t* buf, uint64_t len, bool translate) {
  // In guest mode the MMU holds the guest's context: the firmware's accesses stay host-physical.
  if (m_kmap && translate && !m_mmu.in_guest()) pa = kernel_translate(cmd, pa, len);
  if (m_caches.hierarchy != nullptr) {
    kernel_transport_cached(cmd, pa, buf, len);
    return;
  }
  tlm::tlm_generic_payload& t = m_kernel_trans;
  t.set_command(cmd);
  t.set_address(pa.value());
  t.set_data_ptr(buf);
  t.set_data_length(static_cast<unsigned>(len));
  t.set_streaming_width(static_cast<unsigned>(len));
  t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  if (m_timed) {
    sc_core::sc_time delay = m_qk.get_local_time();
    data->b_transport(t, delay);
    m_qk.set(delay);
  } else {
    data->transport_dbg(t);
    t.set_response_status(tlm::TLM_OK_RESPONSE);
  }
  if (!t.is_response_ok()) {
    throw SimulationError(std::string(name()) + ": firmware access to physical address " + std::to_string(pa.value()) +
                          " failed: " + t.get_response_string());
  }
}

uint64_t Core::read64(PhysAddr pa) {
  uint64_t v = 0;
  kernel_transport(tlm::TLM_READ_COMMAND, pa, reinterpret_cast<uint8_t*>(&v), 8);
  return v;
}

void Core::write64(PhysAddr pa, uint64_t value) {
  ++mmu::firmware_write_epoch();  // before and after: walks overlapping the write see a change
  kernel_transport(tlm::TLM_WRITE_COMMAND, pa, reinterpret_cast<uint8_t*>(&value), 8);
  ++mmu::firmware_write_epoch();
}

void Core::read_block(PhysAddr pa, uint8_t* buf, uint64_t len) { kernel_transport(tlm::TLM_READ_COMMAND, pa, buf, len); }

void Core::write_block(PhysAddr pa, const uint8_t* buf, uint64_t len) {
  ++mmu::firmware_write_epoch();
  // TLM payloads take a non-const pointer; a write never modifies the buffer.
  kernel_transport(tlm::TLM_WRITE_COMMAND, pa, const_cast<uint8_t*>(buf), len);
  ++mmu::firmware_write_epoch();
}

void Core::dma_read(PhysAddr pa, uint8_t* buf, uint64_t len) { kernel_transport(tlm::TLM_READ_COMMAND, pa, buf, len, false); }

void Core::dma_write(PhysAddr pa, const uint8_t* buf, uint64_t len) {
  ++mmu::firmware_write_epoch();
  kernel_transport(tlm::TLM_WRITE_COMMAND, pa, const_cast<uint8_t*>(buf), len, false);
  ++mmu::firmware_write_epoch();
}

uint64_t Core::swap_transport(tlm::tlm_command cmd, uint64_t device_offset, uint8_t* page, bool wait) {
  const char* what = cmd == tlm::TLM_READ_COMMAND ? "read" : "write";
  if (io.size() == 0) {
    throw SimulationError(std::string(name()) + ": swap " + what + " at device offset " + format_hex(device_offset) +
                          ", but the system has no swap device (system.swap.enabled is false)");
  }
  if (device_offset % kPageSize != 0) {
    throw SimulationError(std::string(name()) + ": swap " + what + " at device offset " + format_hex(device_offset) +
                          " is not 4 KiB aligned");
  }
  tlm::tlm_generic_payload& t = m_swap_trans;
  t.set_command(cmd);
  t.set_address(device_offset);
  t.set_data_ptr(page);
  t.set_data_length(static_cast<unsigned>(kPageSize));
  t.set_streaming_width(static_cast<unsigned>(kPageSize));
  t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  uint64_t done_ps = now_ps();
  if (m_timed) {
    // The device annotates the request's completion (it never waits inside b_transport).
    const sc_core::sc_time before = m_qk.get_current_time();
    sc_core::sc_time delay = m_qk.get_local_time();
    io->b_transport(t, delay);
    const sc_core::sc_time done = sc_core::sc_time_stamp() + delay;
    done_ps = static_cast<uint64_t>(done.to_seconds() * 1e12 + 0.5);
    if (wait) {
      m_qk.set(delay);
      m_qk.sync();  // the requester blocks until the device completes; other cores run meanwhile
      m_fs_swap += (m_qk.get_current_time() - before).value();
    }
  } else {
    io->transport_dbg(t);
  }
  if (!t.is_response_ok()) {
    throw SimulationError(std::string(name()) + ": swap " + what + " at device offset " + format_hex(device_offset) +
                          " failed: " + t.get_response_string());
  }
  ++(cmd == tlm::TLM_READ_COMMAND ? m_swap_reads : m_swap_writes);
  return done_ps;
}

void Core::swap_read(uint64_t device_offset, uint8_t* page) {
  swap_transport(tlm::TLM_READ_COMMAND, device_offset, page, true);
}

void Core::swap_write(uint64_t device_offset, const uint8_t* page) {
  // TLM payloads take a non-const pointer; a write never modifies the buffer.
  swap_transport(tlm::TLM_WRITE_COMMAND, device_offset, const_cast<uint8_t*>(page), true);
}

uint64_t Core::swap_submit(bool write, uint64_t device_offset, uint8_t* page) {
  return swap_transport(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND, device_offset, page, false);
}

void Core::wait_until(uint64_t ps) {
  if (!m_timed) return;
  m_qk.sync();
  const uint64_t now = now_ps();
  if (ps > now) sc_core::wait(sc_core::sc_time(static_cast<double>(ps - now), sc_core::SC_PS));
}

bool Core::wake_background(CoreId core) { return m_smp->wake_background(core); }

void Core::zero_frame(Pfn pfn) { write_block(addr_of(pfn), m_zero_page.data(), kPageSize); }

}  // namespace vmsim::cpu
