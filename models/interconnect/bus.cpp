// Memory bus.
#include "models/interconnect/bus.hpp"

namespace vmsim::interconnect {

Bus::Bus(const sc_core::sc_module_name& name, const BusConfig& cfg)
    : sc_core::sc_module(name), in("in"), out("out") {
  in.register_b_transport(this, &Bus::b_transport);
  in.register_transport_dbg(this, &Bus::transport_dbg);
  in.register_get_direct_mem_ptr(this, &Bus::get_direct_mem_ptr);
  out.register_invalidate_direct_mem_ptr(this, &Bus::invalidate_direct_mem_ptr);
  m_latency = sc_core::sc_time(static_cast<double>(cfg.latency.fs), sc_core::SC_FS);
}

void Bus::b_transport(int /*id*/, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  ++m_requests;
  m_bytes += trans.get_data_length();
  delay += m_latency;
  out->b_transport(trans, delay);
}

unsigned Bus::transport_dbg(int /*id*/, tlm::tlm_generic_payload& trans) { return out->transport_dbg(trans); }

bool Bus::get_direct_mem_ptr(int /*id*/, tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
  // A direct pointer bypasses the bus: its latency is added to the target's.
  if (!out->get_direct_mem_ptr(trans, dmi)) return false;
  dmi.set_read_latency(dmi.get_read_latency() + m_latency);
  dmi.set_write_latency(dmi.get_write_latency() + m_latency);
  return true;
}

void Bus::invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end) {
  for (unsigned i = 0; i < in.size(); ++i) in[i]->invalidate_direct_mem_ptr(start, end);
}

}  // namespace vmsim::interconnect
