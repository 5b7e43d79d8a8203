// Swap block device: TLM shell over the functional core.
#include "models/storage/swap_device.hpp"

#include "common/error.hpp"

namespace vmsim::storage {

SwapDevice::SwapDevice(const sc_core::sc_module_name& name, const SwapDeviceConfig& cfg)
    : sc_core::sc_module(name),
      in("in"),
      m_cfg(cfg),
      m_medium(cfg),
      m_peq(this, &SwapDevice::peq_cb),
      m_latency(m_stats, "latency", "ns", "Request latency: arrival to completion (queue wait included)",
                cfg.latency_bin.fs / 1000000, 64) {
  in.register_b_transport(this, &SwapDevice::b_transport);
  in.register_nb_transport_fw(this, &SwapDevice::nb_transport_fw);
  in.register_transport_dbg(this, &SwapDevice::transport_dbg);
  SC_METHOD(send_responses);
  sensitive << m_resp_event;
  dont_initialize();
}

bool SwapDevice::check(tlm::tlm_generic_payload& trans) {
  const uint64_t len = trans.get_data_length();
  if (trans.get_byte_enable_ptr() != nullptr) {
    trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    return false;
  }
  if (trans.get_streaming_width() < len) {
    trans.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
    return false;
  }
  if (len == 0 || !m_medium.contains(trans.get_address(), len) || !(trans.is_read() || trans.is_write())) {
    trans.set_response_status(trans.is_read() || trans.is_write() ? tlm::TLM_ADDRESS_ERROR_RESPONSE
                                                                  : tlm::TLM_COMMAND_ERROR_RESPONSE);
    return false;
  }
  return true;
}

BlockTimes SwapDevice::serve(tlm::tlm_generic_payload& trans, uint64_t arrival_fs) {
  const uint64_t len = trans.get_data_length();
  BlockTimes t;
  if (trans.is_read()) {
    t = m_medium.read(arrival_fs, trans.get_address(), trans.get_data_ptr(), len);
    ++m_reads;
    m_bytes_read += len;
  } else {
    t = m_medium.write(arrival_fs, trans.get_address(), trans.get_data_ptr(), len);
    ++m_writes;
    m_bytes_written += len;
  }
  if (t.seek != 0) ++m_seeks;
  m_latency.sample(t.latency() / 1000000);
  m_queue_wait.sample(static_cast<double>(t.queue_wait()) / 1e6);
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
  return t;
}

void SwapDevice::b_transport(int /*id*/, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  if (!check(trans)) return;
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  const BlockTimes t = serve(trans, (now + delay).value());
  delay = fs(t.done) - now;
}

tlm::tlm_sync_enum SwapDevice::nb_transport_fw(int id, tlm::tlm_generic_payload& trans, tlm::tlm_phase& phase,
                                               sc_core::sc_time& t) {
  if (m_ports.size() < in.size()) m_ports.resize(in.size());
  if (phase == tlm::END_RESP) {
    m_ports.at(static_cast<size_t>(id)).busy = false;
    m_resp_event.notify(sc_core::SC_ZERO_TIME);
    return tlm::TLM_COMPLETED;
  }
  if (phase != tlm::BEGIN_REQ) {
    SC_REPORT_ERROR(name(), "nb_transport_fw: unexpected phase");
    return tlm::TLM_COMPLETED;
  }
  if (!check(trans)) return tlm::TLM_COMPLETED;  // error response, completed early
  // Data moves at BEGIN_REQ (arrival order), like the memory nodes; END_REQ when a command slot is free,
  // BEGIN_RESP at completion.
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  const BlockTimes bt = serve(trans, (now + t).value());
  m_binding[&trans] = id;
  m_peq.notify(trans, tlm::END_REQ, fs(bt.admit) - now);
  m_peq.notify(trans, tlm::BEGIN_RESP, fs(bt.done) - now);
  return tlm::TLM_ACCEPTED;
}

void SwapDevice::peq_cb(tlm::tlm_generic_payload& trans, const tlm::tlm_phase& phase) {
  const int id = m_binding.at(&trans);
  if (phase == tlm::END_REQ) {
    tlm::tlm_phase p = tlm::END_REQ;
    sc_core::sc_time t = sc_core::SC_ZERO_TIME;
    in[id]->nb_transport_bw(trans, p, t);
    return;
  }
  m_binding.erase(&trans);
  m_ports.at(static_cast<size_t>(id)).responses.push_back(&trans);
  send_responses();
}

void SwapDevice::send_responses() {
  for (size_t id = 0; id < m_ports.size(); ++id) {
    Port& port = m_ports[id];
    while (!port.busy && !port.responses.empty()) {
      tlm::tlm_generic_payload* trans = port.responses.front();
      port.responses.pop_front();
      tlm::tlm_phase phase = tlm::BEGIN_RESP;
      sc_core::sc_time t = sc_core::SC_ZERO_TIME;
      port.busy = true;
      const tlm::tlm_sync_enum s = in[static_cast<int>(id)]->nb_transport_bw(*trans, phase, t);
      if (s == tlm::TLM_COMPLETED || (s == tlm::TLM_UPDATED && phase == tlm::END_RESP)) port.busy = false;
    }
  }
}

unsigned SwapDevice::transport_dbg(int /*id*/, tlm::tlm_generic_payload& trans) {
  if (!check(trans)) return 0;
  const uint64_t len = trans.get_data_length();
  if (trans.is_read()) {
    m_medium.peek(trans.get_address(), trans.get_data_ptr(), len);
  } else {
    m_medium.poke(trans.get_address(), trans.get_data_ptr(), len);
  }
  ++m_debug;
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
  return static_cast<unsigned>(len);
}

}  // namespace vmsim::storage
