// Hardware page walker shell.
#include "models/mmu/walker.hpp"

#include <stdexcept>

namespace vmsim::mmu {

void WalkerConfig::validate(const std::string& path) const {
  config::require(levels == 4, path, "levels", std::to_string(levels),
                  "only 4-level paging is implemented so far");
}

Walker::Walker(const sc_core::sc_module_name& name, const WalkerConfig& cfg, sc_core::sc_time core_period, bool timed)
    : sc_core::sc_module(name), mem("mem"), m_cfg(cfg), m_core_period(core_period), m_timed(timed) {
  m_step = core_period * static_cast<double>(cfg.step_latency);
  m_trans.set_data_ptr(reinterpret_cast<unsigned char*>(&m_buf));
  m_trans.set_data_length(8);
  m_trans.set_streaming_width(8);
  m_trans.set_byte_enable_ptr(nullptr);
  m_trans.set_dmi_allowed(false);
}

uint64_t Walker::read_pte(PhysAddr pa, sc_core::sc_time& delay) {
  m_trans.set_command(tlm::TLM_READ_COMMAND);
  m_trans.set_address(pa.value());
  m_trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  ++m_pte_reads;
  if (m_timed) {
    delay += m_step;
    mem->b_transport(m_trans, delay);
  } else {
    mem->transport_dbg(m_trans);
    m_trans.set_response_status(tlm::TLM_OK_RESPONSE);
  }
  if (!m_trans.is_response_ok()) {
    throw std::runtime_error(std::string(name()) + ": PTE read at physical address " + std::to_string(pa.value()) +
                             " failed: " + m_trans.get_response_string());
  }
  return m_buf;  // x86 and the host are both little-endian
}

uint64_t Walker::debug_read64(uint64_t pa) {
  uint64_t v = 0;
  m_dbg_trans.set_command(tlm::TLM_READ_COMMAND);
  m_dbg_trans.set_address(pa);
  m_dbg_trans.set_data_ptr(reinterpret_cast<unsigned char*>(&v));
  m_dbg_trans.set_data_length(8);
  m_dbg_trans.set_streaming_width(8);
  if (mem->transport_dbg(m_dbg_trans) != 8) {
    throw std::runtime_error(std::string(name()) + ": debug read at physical address " + std::to_string(pa) +
                             " failed");
  }
  return v;
}

WalkResult Walker::walk(PhysAddr root, const WalkRequest& req, sc_core::sc_time& delay) {
  ++m_walks;
  sc_core::sc_time start = delay;
  PageWalk w(root, static_cast<unsigned>(m_cfg.levels), req);
  while (!w.done()) w.feed(Pte{read_pte(w.pte_address(), delay)});
  if (w.result().fault) ++m_faults;
  if (m_timed) m_latency.sample(static_cast<uint64_t>((delay - start) / m_core_period));
  return w.result();
}

}  // namespace vmsim::mmu
