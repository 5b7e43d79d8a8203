// Helpers shared by the model tests that drive TLM targets directly: one blocking access, one statistic.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>
#include <systemc>
#include <tlm>

#include "common/stats.hpp"

namespace vmsim::model_test {

// One blocking 64-byte access through initiator socket `sock` at the current time. Returns the latency
// seen: the time waited inside the call (at) plus the annotation it left (lt). The annotation and the
// response status are written out when asked for.
template <class Socket>
sc_core::sc_time blocking_access(Socket& sock, uint64_t addr, tlm::tlm_command cmd, uint8_t* data,
                                 sc_core::sc_time* annotated = nullptr, tlm::tlm_response_status* status = nullptr) {
  tlm::tlm_generic_payload p;
  p.set_command(cmd);
  p.set_address(addr);
  p.set_data_ptr(data);
  p.set_data_length(64);
  p.set_streaming_width(64);
  p.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  const sc_core::sc_time start = sc_core::sc_time_stamp();
  sc_core::sc_time d = sc_core::SC_ZERO_TIME;
  sock->b_transport(p, d);
  if (annotated != nullptr) *annotated = d;
  if (status != nullptr) *status = p.get_response_status();
  return sc_core::sc_time_stamp() + d - start;
}

// The value of statistic `name` as the stats tree reports it now (a test failure if there is none).
inline double stat_value(const std::string& name) {
  for (const stats::Record& r : stats::collect_all()) {
    if (r.name == name) return r.value;
  }
  ADD_FAILURE() << "no statistic " << name;
  return 0;
}

// The value of statistic `name` among `records` (a test failure if there is none).
inline uint64_t stat_in(const std::vector<stats::Record>& records, const std::string& name) {
  for (const stats::Record& r : records) {
    if (r.name == name) return static_cast<uint64_t>(r.value);
  }
  ADD_FAILURE() << "no statistic " << name;
  return 0;
}

}  // namespace vmsim::model_test
