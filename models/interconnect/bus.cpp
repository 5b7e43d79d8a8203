// Memory bus.
#include "models/interconnect/bus.hpp"

namespace vmsim::interconnect {

Bus::Bus(const sc_core::sc_module_name& name, const BusConfig& cfg)
    : sc_core::sc_module(name), in("in"), out("out") {
  in.register_b_transport(this, &Bus::b_transport);
  in.register_transport_dbg(this, &Bus::transport_dbg);
  m_latency = sc_core::sc_time(static_cast<double>(cfg.latency.fs), sc_core::SC_FS);
}

void Bus::b_transport(int /*id*/, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  ++m_requests;
  m_bytes += trans.get_data_length();
  delay += m_latency;
  out->b_transport(trans, delay);
}

unsigned Bus::transport_dbg(int /*id*/, tlm::tlm_generic_payload& trans) { return out->transport_dbg(trans); }

}  // namespace vmsim::interconnect
