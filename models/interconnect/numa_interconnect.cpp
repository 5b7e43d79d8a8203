// NUMA interconnect.
#include "models/interconnect/numa_interconnect.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "common/units.hpp"

namespace vmsim::interconnect {

void InterconnectConfig::validate(const std::string& path, uint64_t sockets, uint64_t nodes) const {
  config::require(lt_link_window.fs > 0, path, "lt_link_window", format_duration(lt_link_window), "must be > 0");
  config::require(link_bandwidth_mbps == 0 || double(link_bandwidth_mbps) * double(lt_link_window.fs) / 1e9 >= 64,
                  path, "lt_link_window", format_duration(lt_link_window),
                  "a window must carry at least one 64-byte line at link_bandwidth_mbps");
  const std::string key = path + ".distance";
  const std::string shape = std::to_string(sockets) + " x " + std::to_string(nodes);
  if (distance.rows.size() != sockets) {
    throw InputError(key + ": bad value '" + config::format_value(distance) + "' (" +
                     std::to_string(distance.rows.size()) + " rows; expected one per socket, " + shape + ")");
  }
  for (size_t s = 0; s < sockets; ++s) {
    const auto& row = distance.rows[s];
    if (row.size() != nodes) {
      throw InputError(key + ": bad value '" + config::format_value(distance) + "' (row " + std::to_string(s) +
                       " has " + std::to_string(row.size()) + " entries; expected one per node, " + shape + ")");
    }
    for (size_t n = 0; n < nodes; ++n) {
      if (row[n] < 10 || row[n] > 254) {
        throw InputError(key + ": bad value '" + std::to_string(row[n]) + "' at [" + std::to_string(s) + "][" +
                         std::to_string(n) + "] (distances run from 10, local, to 254)");
      }
    }
  }
}

// Statistics of one (socket, node) pair.
struct NumaInterconnect::PairStats {
  PairStats(stats::Group& parent, const std::string& name)
      : group(parent, name),
        requests(group, "requests", "count", "Transactions from this socket to this node"),
        bytes(group, "bytes", "bytes", "Bytes carried"),
        latency(group, "latency", "ns",
                "Round trip from the interconnect to the node and back, memory included", 10, 64),
        link_wait(group, "link_wait", "ns", "Time queued for the remote link (average)") {}
  stats::Group group;
  stats::Scalar requests;
  stats::Scalar bytes;
  stats::Histogram latency;
  stats::Average link_wait;
};

NumaInterconnect::NumaInterconnect(const sc_core::sc_module_name& name, const InterconnectConfig& cfg, SimMode mode,
                                   std::vector<mem::NodeRange> nodes, uint64_t sockets)
    : sc_core::sc_module(name),
      in("in"),
      out("out"),
      m_cfg(cfg),
      m_mode(mode),
      m_nodes(std::move(nodes)),
      m_sockets(sockets) {
  in.register_b_transport(this, &NumaInterconnect::b_transport);
  in.register_nb_transport_fw(this, &NumaInterconnect::nb_transport_fw);
  in.register_transport_dbg(this, &NumaInterconnect::transport_dbg);
  in.register_get_direct_mem_ptr(this, &NumaInterconnect::get_direct_mem_ptr);
  out.register_nb_transport_bw(this, &NumaInterconnect::nb_transport_bw);
  out.register_invalidate_direct_mem_ptr(this, &NumaInterconnect::invalidate_direct_mem_ptr);
  const size_t n = m_nodes.size();
  m_path.resize(sockets * n);
  m_link_free.assign(sockets * n, sc_core::SC_ZERO_TIME);
  // A node with CPUs is attached at distance 10 (its own socket). A CPU-less node hangs off the socket
  // nearest it (the first at its smallest distance): the hops counted are those beyond that attachment
  // (the attachment itself, a CXL link or on-package HBM, is timed by the node's own model), and only
  // requests from other sockets cross an inter-socket link.
  std::vector<uint64_t> attach(n, 10);
  std::vector<uint64_t>& home = m_home;
  home.assign(n, 0);
  for (size_t k = 0; k < n; ++k) {
    if (m_nodes[k].cpus) {
      for (uint64_t s = 0; s < sockets; ++s) {
        if (cfg.distance.rows[s][k] == 10) {
          home[k] = s;
          break;
        }
      }
      continue;
    }
    attach[k] = cfg.distance.rows[0][k];
    for (uint64_t s = 1; s < sockets; ++s) {
      if (cfg.distance.rows[s][k] < attach[k]) {
        attach[k] = cfg.distance.rows[s][k];
        home[k] = s;
      }
    }
  }
  m_linked.assign(sockets * n, false);
  for (uint64_t s = 0; s < sockets; ++s) {
    for (size_t k = 0; k < n; ++k) {
      const uint64_t d = cfg.distance.rows[s][k];
      m_linked[s * n + k] = m_nodes[k].cpus ? d != 10 : s != home[k];
      // (d - attach) / 10 hops of hop_latency, exact in femtoseconds.
      m_path[s * n + k] = sc_core::sc_time::from_value(cfg.latency.fs + (d - attach[k]) * cfg.hop_latency.fs / 10);
      m_pair.push_back(std::make_unique<PairStats>(m_stats, "s" + std::to_string(s) + "_n" + std::to_string(k)));
    }
  }
  m_fs_per_byte = cfg.link_bandwidth_mbps ? 1e9 / static_cast<double>(cfg.link_bandwidth_mbps) : 0.0;
  m_window_fs = std::max<uint64_t>(1, cfg.lt_link_window.fs);
  // MB/s * fs: 1e6 bytes per 1e15 fs.
  m_window_bytes = std::max<uint64_t>(1, static_cast<uint64_t>(double(cfg.link_bandwidth_mbps) * double(m_window_fs) / 1e9));
  m_window_used.resize(sockets * n);
  m_window_first.assign(sockets * n, 0);
  m_busy.assign(n, nullptr);
  m_queue.resize(n);
  if (mode == SimMode::At) {
    SC_METHOD(forward_queued);
    sensitive << m_forward_event;
    dont_initialize();
  }
}

NumaInterconnect::~NumaInterconnect() = default;

int NumaInterconnect::node_of(uint64_t pa) const {
  for (size_t k = 0; k < m_nodes.size(); ++k) {
    if (pa >= m_nodes[k].base && pa < m_nodes[k].end()) return static_cast<int>(k);
  }
  return -1;
}

void NumaInterconnect::address_error(tlm::tlm_generic_payload& trans) {
  ++m_address_errors;
  trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
}

sc_core::sc_time NumaInterconnect::request_latency(int port, unsigned node, const tlm::tlm_generic_payload& trans,
                                                   const sc_core::sc_time& arrival) {
  const unsigned s = m_port_socket.at(static_cast<size_t>(port));
  const size_t pair = s * m_nodes.size() + node;
  PairStats& ps = *m_pair[pair];
  const uint64_t len = trans.get_data_length();
  ++m_requests;
  m_bytes += len;
  ++ps.requests;
  ps.bytes += len;
  sc_core::sc_time lat = m_path[pair];
  if (is_local(s, node)) {
    ++m_local;
    return lat;
  }
  ++m_remote;
  if (!m_linked[pair]) {
    ps.link_wait.sample(0);  // a CPU-less node from the socket it hangs off: no inter-socket link
    return lat;
  }
  if (m_fs_per_byte > 0) {
    // The link carries one transaction at a time, in arrival order: busy-until queueing.
    const sc_core::sc_time occupancy =
        sc_core::sc_time::from_value(static_cast<uint64_t>(m_fs_per_byte * static_cast<double>(len) + 0.5));
    sc_core::sc_time wait;
    if (m_mode == SimMode::Lt) {
      wait = book_windows(pair, arrival, len);
    } else {
      const sc_core::sc_time start = std::max(arrival, m_link_free[pair]);
      m_link_free[pair] = start + occupancy;
      wait = start - arrival;
    }
    ps.link_wait.sample(static_cast<double>(wait.value()) / 1e6);
    lat += wait + occupancy;
  } else {
    ps.link_wait.sample(0);
  }
  return lat;
}

sc_core::sc_time NumaInterconnect::book_windows(size_t pair, const sc_core::sc_time& arrival, uint64_t len) {
  std::deque<uint64_t>& used = m_window_used[pair];
  uint64_t& first = m_window_first[pair];
  uint64_t w = std::max<uint64_t>(arrival.value() / m_window_fs, first);
  // The first window with room takes the transaction (spilling into the following ones if it is larger).
  auto at = [&](uint64_t win) -> uint64_t& {
    while (first + used.size() <= win) used.push_back(0);
    return used[win - first];
  };
  while (at(w) >= m_window_bytes) ++w;
  const uint64_t start_fs = std::max<uint64_t>(arrival.value(), w * m_window_fs);
  for (uint64_t left = len; left > 0; ++w) {
    uint64_t& u = at(w);
    const uint64_t take = std::min(left, m_window_bytes - std::min(u, m_window_bytes));
    u += take;
    left -= take;
  }
  // Forget windows far in the past (a quantum is far shorter than 65536 windows).
  while (used.size() > 65536) {
    used.pop_front();
    ++first;
  }
  return sc_core::sc_time::from_value(start_fs - arrival.value());
}

void NumaInterconnect::finish(const Route& r, const sc_core::sc_time& end) {
  const unsigned s = m_port_socket[static_cast<size_t>(r.port)];
  m_pair[s * m_nodes.size() + r.node]->latency.sample((end - r.start).value() / 1000000);
}

void NumaInterconnect::b_transport(int port, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  if (m_mode == SimMode::At) {
    blocking_over_nb(port, trans, delay);
    return;
  }
  const int node = node_of(trans.get_address());
  if (node < 0) return address_error(trans);
  const sc_core::sc_time now = sc_core::sc_time_stamp();  // lt: nothing below waits
  const sc_core::sc_time arrival = now + delay;
  delay += request_latency(port, static_cast<unsigned>(node), trans, arrival);
  out[node]->b_transport(trans, delay);
  finish(Route{port, static_cast<unsigned>(node), arrival, true}, now + delay);
}

tlm::tlm_sync_enum NumaInterconnect::begin_request(int port, tlm::tlm_generic_payload& trans, sc_core::sc_time& t,
                                                   bool blocking) {
  const int node = node_of(trans.get_address());
  if (node < 0) {
    address_error(trans);
    return tlm::TLM_COMPLETED;
  }
  const unsigned n = static_cast<unsigned>(node);
  const sc_core::sc_time arrival = sc_core::sc_time_stamp() + t;
  const sc_core::sc_time lat = request_latency(port, n, trans, arrival);
  m_routes[&trans] = Route{port, n, arrival, blocking};
  // The request travels for `lat` and then offers itself to the node (one BEGIN_REQ outstanding per
  // node socket); the queue is ordered by the time requests reach the node.
  std::deque<Queued>& q = m_queue[n];
  auto pos = q.end();
  while (pos != q.begin() && (pos - 1)->ready > arrival + lat) --pos;
  q.insert(pos, Queued{&trans, arrival + lat});
  schedule_forward();
  return tlm::TLM_ACCEPTED;
}

void NumaInterconnect::schedule_forward() {
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  for (unsigned n = 0; n < m_queue.size(); ++n) {
    if (m_busy[n] != nullptr || m_queue[n].empty()) continue;
    const sc_core::sc_time ready = m_queue[n].front().ready;
    m_forward_event.notify(ready > now ? ready - now : sc_core::SC_ZERO_TIME);
  }
}

tlm::tlm_sync_enum NumaInterconnect::forward(unsigned n, tlm::tlm_generic_payload& trans, sc_core::sc_time& t) {
  tlm::tlm_phase phase = tlm::BEGIN_REQ;
  m_busy[n] = &trans;
  const tlm::tlm_sync_enum s = out[static_cast<int>(n)]->nb_transport_fw(trans, phase, t);
  if (s == tlm::TLM_COMPLETED || (s == tlm::TLM_UPDATED && phase != tlm::BEGIN_REQ)) {
    m_busy[n] = nullptr;  // END_REQ (or the response) came back at once
  }
  if (s == tlm::TLM_COMPLETED) {
    auto it = m_routes.find(&trans);
    finish(it->second, sc_core::sc_time_stamp() + t);
    Route r = it->second;
    m_routes.erase(it);
    if (r.blocking) {
      complete_blocking(trans, t);
    } else {
      // The initiator already has END_REQ: the response follows.
      tlm::tlm_phase resp = tlm::BEGIN_RESP;
      in[r.port]->nb_transport_bw(trans, resp, t);
    }
  }
  return s;
}

void NumaInterconnect::forward_queued() {
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  for (unsigned n = 0; n < m_queue.size(); ++n) {
    while (m_busy[n] == nullptr && !m_queue[n].empty() && m_queue[n].front().ready <= now) {
      Queued q = m_queue[n].front();
      m_queue[n].pop_front();
      sc_core::sc_time t = sc_core::SC_ZERO_TIME;
      forward(n, *q.trans, t);
    }
  }
  schedule_forward();
}

void NumaInterconnect::complete_blocking(tlm::tlm_generic_payload& trans, const sc_core::sc_time& t) {
  auto it = m_blocking.find(&trans);
  if (it == m_blocking.end()) return;
  *it->second.done = true;
  it->second.event->notify(t);
  m_blocking.erase(it);
}

void NumaInterconnect::blocking_over_nb(int port, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  if (delay != sc_core::SC_ZERO_TIME) wait(delay);
  delay = sc_core::SC_ZERO_TIME;
  bool done = false;
  sc_core::sc_event event;
  m_blocking[&trans] = BlockingWait{&done, &event};
  sc_core::sc_time t = sc_core::SC_ZERO_TIME;
  const tlm::tlm_sync_enum s = begin_request(port, trans, t, true);
  if (s == tlm::TLM_COMPLETED && !done) {  // an address error: no response phase follows
    m_blocking.erase(&trans);
    if (t != sc_core::SC_ZERO_TIME) wait(t);
    return;
  }
  while (!done) wait(event);
}

tlm::tlm_sync_enum NumaInterconnect::nb_transport_fw(int port, tlm::tlm_generic_payload& trans,
                                                     tlm::tlm_phase& phase, sc_core::sc_time& t) {
  if (phase == tlm::BEGIN_REQ) {
    const tlm::tlm_sync_enum s = begin_request(port, trans, t, false);
    if (s == tlm::TLM_COMPLETED) return s;  // address error
    phase = tlm::END_REQ;  // buffered here: the initiator may send its next request
    return tlm::TLM_UPDATED;
  }
  if (phase == tlm::END_RESP) {
    auto it = m_routes.find(&trans);
    if (it == m_routes.end()) return tlm::TLM_COMPLETED;
    const unsigned n = it->second.node;
    m_routes.erase(it);
    return out[static_cast<int>(n)]->nb_transport_fw(trans, phase, t);
  }
  SC_REPORT_ERROR(name(), "nb_transport_fw: unexpected phase");
  return tlm::TLM_COMPLETED;
}

tlm::tlm_sync_enum NumaInterconnect::nb_transport_bw(int node, tlm::tlm_generic_payload& trans,
                                                     tlm::tlm_phase& phase, sc_core::sc_time& t) {
  auto it = m_routes.find(&trans);
  if (it == m_routes.end()) {
    SC_REPORT_ERROR(name(), "nb_transport_bw: unknown transaction");
    return tlm::TLM_COMPLETED;
  }
  Route& r = it->second;
  const unsigned n = static_cast<unsigned>(node);
  if (phase == tlm::END_REQ) {
    // The initiator had END_REQ from the interconnect already; the node's socket is free again.
    if (m_busy[n] == &trans) m_busy[n] = nullptr;
    schedule_forward();
    return tlm::TLM_ACCEPTED;
  }
  if (phase == tlm::BEGIN_RESP) {
    if (m_busy[n] == &trans) {  // BEGIN_RESP implies END_REQ
      m_busy[n] = nullptr;
      schedule_forward();
    }
    finish(r, sc_core::sc_time_stamp() + t);
    if (r.blocking) {
      m_routes.erase(it);
      complete_blocking(trans, t);
      return tlm::TLM_COMPLETED;
    }
    const int port = r.port;
    const tlm::tlm_sync_enum s = in[port]->nb_transport_bw(trans, phase, t);
    if (s == tlm::TLM_COMPLETED || (s == tlm::TLM_UPDATED && phase == tlm::END_RESP)) m_routes.erase(&trans);
    return s;
  }
  SC_REPORT_ERROR(name(), "nb_transport_bw: unexpected phase");
  return tlm::TLM_COMPLETED;
}

unsigned NumaInterconnect::transport_dbg(int /*port*/, tlm::tlm_generic_payload& trans) {
  const int node = node_of(trans.get_address());
  if (node < 0) {
    trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return 0;
  }
  return out[node]->transport_dbg(trans);
}

bool NumaInterconnect::get_direct_mem_ptr(int port, tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
  const int node = node_of(trans.get_address());
  if (node < 0 || !out[node]->get_direct_mem_ptr(trans, dmi)) return false;
  // A direct pointer bypasses the interconnect: its path latency is added to the node's.
  const sc_core::sc_time lat = path_latency(m_port_socket.at(static_cast<size_t>(port)), static_cast<unsigned>(node));
  dmi.set_read_latency(dmi.get_read_latency() + lat);
  dmi.set_write_latency(dmi.get_write_latency() + lat);
  return true;
}

void NumaInterconnect::invalidate_direct_mem_ptr(int /*node*/, sc_dt::uint64 start, sc_dt::uint64 end) {
  for (unsigned i = 0; i < in.size(); ++i) in[i]->invalidate_direct_mem_ptr(start, end);
}

}  // namespace vmsim::interconnect
