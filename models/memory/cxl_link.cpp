// CXL link: TLM shell over CxlLinkTiming.
#include "models/memory/cxl_link.hpp"

namespace vmsim::mem {

CxlLink::CxlLink(const sc_core::sc_module_name& name, const CxlLinkConfig& cfg, SimMode mode, Duration lt_window)
    : sc_core::sc_module(name),
      in("in"),
      out("out"),
      m_timing(cfg, mode == SimMode::Lt ? lt_window.fs : 0),
      m_mode(mode) {
  in.register_b_transport(this, &CxlLink::b_transport);
  in.register_nb_transport_fw(this, &CxlLink::nb_transport_fw);
  in.register_transport_dbg(this, &CxlLink::transport_dbg);
  in.register_get_direct_mem_ptr(this, &CxlLink::get_direct_mem_ptr);
  out.register_nb_transport_bw(this, &CxlLink::nb_transport_bw);
  out.register_invalidate_direct_mem_ptr(this, &CxlLink::invalidate_direct_mem_ptr);
  if (mode == SimMode::At) {
    SC_METHOD(send_requests);
    sensitive << m_down_event;
    dont_initialize();
    SC_METHOD(send_responses);
    sensitive << m_up_event;
    dont_initialize();
  }
}

sc_core::sc_time CxlLink::idle_round_trip(bool is_write, uint64_t len) const {
  return sc_core::sc_time::from_value(m_timing.idle_round_trip_fs(is_write, len));
}

void CxlLink::wake(sc_core::sc_event& e, uint64_t at_fs) {
  const uint64_t now = sc_core::sc_time_stamp().value();
  e.notify(at_fs > now ? sc_core::sc_time::from_value(at_fs - now) : sc_core::SC_ZERO_TIME);
}

uint64_t CxlLink::request(tlm::tlm_generic_payload& trans, uint64_t host_fs, Flight& f) {
  const LinkLeg l = m_timing.to_device(host_fs, trans.is_write(), trans.get_data_length());
  m_bytes_down += l.bytes;
  m_busy_down += (l.busy + 500) / 1000;
  f.host_arrival_fs = host_fs;
  f.device_arrival_fs = l.arrive;
  f.wait_fs = l.wait;
  return l.arrive;
}

uint64_t CxlLink::response(tlm::tlm_generic_payload& trans, uint64_t device_fs, const Flight& f) {
  const uint64_t len = trans.get_data_length();
  const LinkLeg l = m_timing.to_host(device_fs, trans.is_write(), len);
  m_bytes_up += l.bytes;
  m_busy_up += (l.busy + 500) / 1000;
  ++m_transfers;
  ++(trans.is_write() ? m_writes : m_reads);
  m_data_bytes += len;
  m_queue_wait.sample(static_cast<double>(f.wait_fs + l.wait) / 1e6);
  // The whole round trip less the time the device held the transaction.
  const uint64_t added = (l.arrive - f.host_arrival_fs) - (device_fs - f.device_arrival_fs);
  m_added.sample(static_cast<double>(added) / 1e6);
  return l.arrive;
}

void CxlLink::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const uint64_t now = sc_core::sc_time_stamp().value();  // lt: nothing below waits
  Flight f;
  const uint64_t device = request(trans, now + delay.value(), f);
  delay = sc_core::sc_time::from_value(device - now);
  out->b_transport(trans, delay);
  const uint64_t host = response(trans, now + delay.value(), f);
  delay = sc_core::sc_time::from_value(host - now);
}

tlm::tlm_sync_enum CxlLink::nb_transport_fw(tlm::tlm_generic_payload& trans, tlm::tlm_phase& phase,
                                            sc_core::sc_time& t) {
  if (phase == tlm::BEGIN_REQ) {
    Flight f;
    const uint64_t device = request(trans, sc_core::sc_time_stamp().value() + t.value(), f);
    m_flights[&trans] = f;
    m_down.push_back(Pending{&trans, device});
    wake(m_down_event, m_down.front().ready_fs);
    phase = tlm::END_REQ;  // buffered in the link
    return tlm::TLM_UPDATED;
  }
  if (phase == tlm::END_RESP) {
    m_host_busy = false;
    m_up_event.notify(sc_core::SC_ZERO_TIME);
    return tlm::TLM_COMPLETED;
  }
  SC_REPORT_ERROR(name(), "nb_transport_fw: unexpected phase");
  return tlm::TLM_COMPLETED;
}

void CxlLink::send_requests() {
  const uint64_t now = sc_core::sc_time_stamp().value();
  while (m_node_busy == nullptr && !m_down.empty() && m_down.front().ready_fs <= now) {
    tlm::tlm_generic_payload* trans = m_down.front().trans;
    m_down.pop_front();
    tlm::tlm_phase phase = tlm::BEGIN_REQ;
    sc_core::sc_time t = sc_core::SC_ZERO_TIME;
    m_node_busy = trans;
    const tlm::tlm_sync_enum s = out->nb_transport_fw(*trans, phase, t);
    if (s == tlm::TLM_COMPLETED || (s == tlm::TLM_UPDATED && phase == tlm::BEGIN_RESP)) {
      m_node_busy = nullptr;  // answered at once (the fixed model, an address error)
      device_done(*trans, now + t.value());
    } else if (s == tlm::TLM_UPDATED && phase == tlm::END_REQ) {
      m_node_busy = nullptr;
    }
  }
  if (m_node_busy == nullptr && !m_down.empty()) wake(m_down_event, m_down.front().ready_fs);
}

tlm::tlm_sync_enum CxlLink::nb_transport_bw(tlm::tlm_generic_payload& trans, tlm::tlm_phase& phase,
                                            sc_core::sc_time& t) {
  if (phase == tlm::END_REQ) {
    if (m_node_busy == &trans) m_node_busy = nullptr;
    m_down_event.notify(sc_core::SC_ZERO_TIME);
    return tlm::TLM_ACCEPTED;
  }
  if (phase == tlm::BEGIN_RESP) {
    if (m_node_busy == &trans) {  // BEGIN_RESP implies END_REQ
      m_node_busy = nullptr;
      m_down_event.notify(sc_core::SC_ZERO_TIME);
    }
    device_done(trans, sc_core::sc_time_stamp().value() + t.value());
    return tlm::TLM_COMPLETED;  // taken into the link: the node may send its next response
  }
  SC_REPORT_ERROR(name(), "nb_transport_bw: unexpected phase");
  return tlm::TLM_COMPLETED;
}

void CxlLink::device_done(tlm::tlm_generic_payload& trans, uint64_t device_fs) {
  auto it = m_flights.find(&trans);
  if (it == m_flights.end()) {
    SC_REPORT_ERROR(name(), "response for an unknown transaction");
    return;
  }
  const uint64_t host = response(trans, device_fs, it->second);
  m_flights.erase(it);
  m_up.push_back(Pending{&trans, host});
  wake(m_up_event, m_up.front().ready_fs);
}

void CxlLink::send_responses() {
  const uint64_t now = sc_core::sc_time_stamp().value();
  while (!m_host_busy && !m_up.empty() && m_up.front().ready_fs <= now) {
    tlm::tlm_generic_payload* trans = m_up.front().trans;
    m_up.pop_front();
    tlm::tlm_phase phase = tlm::BEGIN_RESP;
    sc_core::sc_time t = sc_core::SC_ZERO_TIME;
    m_host_busy = true;
    const tlm::tlm_sync_enum s = in->nb_transport_bw(*trans, phase, t);
    if (s == tlm::TLM_COMPLETED || (s == tlm::TLM_UPDATED && phase == tlm::END_RESP)) m_host_busy = false;
  }
  if (!m_host_busy && !m_up.empty()) wake(m_up_event, m_up.front().ready_fs);
}

unsigned CxlLink::transport_dbg(tlm::tlm_generic_payload& trans) { return out->transport_dbg(trans); }

bool CxlLink::get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
  if (!out->get_direct_mem_ptr(trans, dmi)) return false;
  const sc_core::sc_time rt = sc_core::sc_time::from_value(2 * m_timing.latency_fs());
  dmi.set_read_latency(dmi.get_read_latency() + rt);
  dmi.set_write_latency(dmi.get_write_latency() + rt);
  return true;
}

void CxlLink::invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end) {
  in->invalidate_direct_mem_ptr(start, end);
}

}  // namespace vmsim::mem
