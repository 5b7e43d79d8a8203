// Memory bus: routes transactions from any number of initiators (core data ports, page walkers) to
// physical memory, adding a fixed hop latency. Issue B grows this into the NUMA interconnect.
#pragma once

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>

#include "models/common/config.hpp"
#include "models/common/stats.hpp"

namespace vmsim::interconnect {

struct BusConfig {
  Duration latency = Duration::ns(5);

  template <class V>
  void visit(V& v) {
    v("latency", latency, "time", "Latency added to every transaction crossing the bus");
  }
  void validate(const std::string& /*path*/) const {}
};

class Bus : public sc_core::sc_module {
 public:
  tlm_utils::multi_passthrough_target_socket<Bus> in;
  tlm_utils::simple_initiator_socket<Bus> out;

  Bus(const sc_core::sc_module_name& name, const BusConfig& cfg);

 private:
  void b_transport(int id, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  unsigned transport_dbg(int id, tlm::tlm_generic_payload& trans);
  bool get_direct_mem_ptr(int id, tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);
  void invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end);

  sc_core::sc_time m_latency;

  stats::Group m_stats{*this};
  stats::Scalar m_requests{m_stats, "requests", "count", "Transactions routed"};
  stats::Scalar m_bytes{m_stats, "bytes", "bytes", "Bytes carried"};
};

}  // namespace vmsim::interconnect
