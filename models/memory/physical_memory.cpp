// Physical memory TLM target.
#include "models/memory/physical_memory.hpp"

#include <array>

namespace vmsim::mem {

void MemoryConfig::validate(const std::string& path) const {
  config::require(size.value >= (16ull << 20), path, "size", format_bytes(size), "must be at least 16MiB");
  config::require(size.value % kPageSize == 0, path, "size", format_bytes(size), "must be a multiple of 4KiB");
  config::require(size.value <= (1ull << 52), path, "size", format_bytes(size), "must fit in 52 physical address bits");
}

PhysicalMemory::PhysicalMemory(const sc_core::sc_module_name& name, const MemoryConfig& cfg)
    : sc_core::sc_module(name), in("in"), m_cfg(cfg) {
  in.register_b_transport(this, &PhysicalMemory::b_transport);
  in.register_transport_dbg(this, &PhysicalMemory::transport_dbg);
  in.register_get_direct_mem_ptr(this, &PhysicalMemory::get_direct_mem_ptr);
  m_store.set_change_listener([this](uint64_t pfn) {
    in->invalidate_direct_mem_ptr(pfn << kPageShift, (pfn << kPageShift) + kPageSize - 1);
  });
  m_latency = sc_core::sc_time(static_cast<double>(cfg.latency.fs), sc_core::SC_FS);
  // 1 MB/s = 1e6 bytes per 1e15 fs -> 1e9 fs per byte.
  m_fs_per_byte = cfg.bandwidth_mbps ? 1e9 / static_cast<double>(cfg.bandwidth_mbps) : 0.0;
}

bool PhysicalMemory::access(tlm::tlm_generic_payload& trans) {
  uint64_t addr = trans.get_address();
  uint64_t len = trans.get_data_length();
  if (trans.get_byte_enable_ptr() != nullptr) {
    trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    return false;
  }
  if (addr >= m_cfg.size.value || len > m_cfg.size.value - addr) {
    trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return false;
  }
  if (trans.is_read()) {
    m_store.read(PhysAddr{addr}, trans.get_data_ptr(), len);
  } else if (trans.is_write()) {
    m_store.write(PhysAddr{addr}, trans.get_data_ptr(), len);
  }
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
  return true;
}

void PhysicalMemory::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  if (!access(trans)) return;
  uint64_t len = trans.get_data_length();
  if (trans.is_read()) {
    ++m_reads;
    m_bytes_read += len;
  } else if (trans.is_write()) {
    ++m_writes;
    m_bytes_written += len;
  }
  delay += m_latency;
  if (m_fs_per_byte > 0) delay += sc_core::sc_time(m_fs_per_byte * static_cast<double>(len), sc_core::SC_FS);
}

bool PhysicalMemory::get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
  uint64_t addr = trans.get_address();
  if (addr >= m_cfg.size.value) return false;
  uint64_t start = addr & ~kPageMask;
  uint64_t pfn = addr >> kPageShift;
  dmi.set_start_address(start);
  dmi.set_end_address(start + kPageSize - 1);
  if (trans.is_write() || m_store.resident(pfn)) {
    dmi.set_dmi_ptr(m_store.page_pointer(pfn));
    dmi.allow_read_write();
  } else {
    // Never written: read-only view of a shared zero page, so reads cost no host memory. Creating the
    // page later revokes this grant.
    static const std::array<uint8_t, kPageSize> kZeroPage{};
    dmi.set_dmi_ptr(const_cast<uint8_t*>(kZeroPage.data()));  // read-only grant: never written through
    dmi.allow_read();
  }
  dmi.set_read_latency(m_latency);
  dmi.set_write_latency(m_latency);
  ++m_dmi_grants;
  return true;
}

unsigned PhysicalMemory::transport_dbg(tlm::tlm_generic_payload& trans) {
  return access(trans) ? trans.get_data_length() : 0;
}

}  // namespace vmsim::mem
