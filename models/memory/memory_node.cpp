// NUMA node memory: TLM shell over the DRAM timing core.
#include "models/memory/memory_node.hpp"
#include "models/memory/timing_only.hpp"

#include <algorithm>
#include <array>

#include "common/error.hpp"
#include "common/units.hpp"
#include "models/dram/energy.hpp"

namespace vmsim::mem {

std::vector<NodeRange> MemoryConfig::ranges() const {
  std::vector<NodeRange> r;
  uint64_t next = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    uint64_t base = (i > 0 && nodes[i].base.value == 0) ? next : nodes[i].base.value;
    const bool slow = nodes[i].tier == NodeTier::Slow || (nodes[i].tier == NodeTier::Auto && nodes[i].attach == NodeAttach::Cxl);
    r.push_back({base, nodes[i].size.value, nodes[i].cpus, slow});
    next = base + nodes[i].size.value;
  }
  return r;
}

uint64_t MemoryConfig::total_bytes() const {
  uint64_t end = 0;
  for (const NodeRange& r : ranges()) end = std::max(end, r.end());
  return end;
}

bool MemoryConfig::heterogeneous() const {
  for (const NodeConfig& n : nodes) {
    if (!n.cpus || n.attach != NodeAttach::Direct || n.dram.preset != nodes.front().dram.preset) return true;
  }
  return false;
}

void MemoryConfig::validate(const std::string& path) const {
  if (model == MemoryModel::Dram) dram.validate(path + ".dram");
  if (nodes.empty()) throw InputError(path + ".nodes: must list at least one node");
  const std::vector<NodeRange> r = ranges();
  for (size_t i = 0; i < nodes.size(); ++i) {
    const std::string np = path + ".nodes[" + std::to_string(i) + "]";
    // A node's DRAM starts as system.memory.dram (checked above); only what the node changed can fail here.
    if (model == MemoryModel::Dram) nodes[i].dram.validate(np + ".dram");
    if (nodes[i].attach == NodeAttach::Cxl) {
      config::require(!nodes[i].cpus, np, "cpus", "true",
                      "a CXL-attached node (attach: cxl) is a memory expander without cores: set cpus: false");
      nodes[i].cxl.validate(np + ".cxl");
    }
    const uint64_t capacity = nodes[i].dram.organisation.capacity_bytes();
    const bool own = nodes[i].dram.preset != dram.preset || capacity != dram.organisation.capacity_bytes();
    config::require(r[i].size >= (16ull << 20), np, "size", format_bytes(nodes[i].size), "must be at least 16MiB");
    config::require(r[i].size % kPageSize == 0, np, "size", format_bytes(nodes[i].size), "must be a multiple of 4KiB");
    config::require(r[i].base % kPageSize == 0, np, "base", format_hex(r[i].base), "must be 4KiB aligned");
    config::require(r[i].base <= (1ull << 52) && r[i].size <= (1ull << 52) - r[i].base, np, "size",
                    format_bytes(nodes[i].size), "the node must end below 2^52 (52 physical address bits)");
    if (model == MemoryModel::Dram) {
      config::require(r[i].size <= capacity, np, "size", format_bytes(nodes[i].size),
                      "exceeds the capacity of the DRAM organisation (" + format_bytes(Bytes{capacity}) + ", " +
                          (own ? np : path) + ".dram.organisation): the address map does not cover it");
    }
  }
  // Ranges must not overlap and must tile [0, total) (the firmware's allocator needs contiguous memory).
  std::vector<size_t> order(r.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return r[a].base < r[b].base; });
  uint64_t expect = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    const std::string np = path + ".nodes[" + std::to_string(i) + "]";
    if (k > 0 && r[i].base < r[order[k - 1]].end()) {
      throw InputError(np + ".base: bad value '" + format_hex(r[i].base) + "' (range [" + format_hex(r[i].base) +
                       ", " + format_hex(r[i].end()) + ") overlaps node " + std::to_string(order[k - 1]) + " [" +
                       format_hex(r[order[k - 1]].base) + ", " + format_hex(r[order[k - 1]].end()) + "))");
    }
    if (r[i].base != expect) {
      throw InputError(np + ".base: bad value '" + format_hex(r[i].base) + "' (nodes must tile physical memory " +
                       "without holes; expected " + format_hex(expect) + ")");
    }
    expect = r[i].end();
  }
}

// Per-channel DRAM statistics, read from the channel's counters (warm-up aware through Counter/Ratio).
struct MemoryNode::ChannelGroup {
  ChannelGroup(stats::Group& parent, const std::string& name, dram::Channel& ch, double tck_ps, bool banks,
               const dram::DramConfig& dc)
      : energy(dram::command_energy(dc)),
        group(parent, name),
        read_latency(group, "read_latency", "DRAM cycles",
                     "Read latency: arrival at the controller to the last data beat", dc.controller.latency_bin,
                     static_cast<unsigned>(dc.controller.latency_bins)) {
    const dram::ChannelStats* s = &ch.stats();
    auto counter = [&](stats::Group& g, const char* n, const char* unit, const char* d, std::function<uint64_t()> f) {
      owned.push_back(std::make_unique<stats::Counter>(g, n, unit, d, std::move(f)));
    };
    counter(group, "reads", "count", "Read requests completed", [s] { return s->reads; });
    counter(group, "writes", "count", "Write requests completed", [s] { return s->writes; });
    counter(group, "row_hits", "count", "Requests served from the open row", [s] { return s->row_hits; });
    counter(group, "row_misses", "count", "Requests that activated a precharged bank", [s] { return s->row_misses; });
    counter(group, "row_conflicts", "count", "Requests that precharged another row first",
            [s] { return s->row_conflicts; });
    counter(group, "activates", "count", "ACT commands", [s] { return s->activates; });
    counter(group, "precharges", "count", "Banks closed (PRE, PREA, auto-precharge)", [s] { return s->precharges; });
    counter(group, "refreshes", "count", "All-bank REF commands", [s] { return s->refreshes; });
    counter(group, "per_bank_refreshes", "count", "Per-bank refresh commands", [s] { return s->per_bank_refreshes; });
    counter(group, "bytes_read", "bytes", "Bytes read from the devices", [s] { return s->bytes_read; });
    counter(group, "bytes_written", "bytes", "Bytes written to the devices", [s] { return s->bytes_written; });
    for (unsigned k = 0; k < dram::kCommandKinds; ++k) {
      const std::string cmd = dram::to_string(static_cast<dram::CommandKind>(k));
      owned.push_back(std::make_unique<stats::Counter>(group, "cmd_" + cmd, "count", cmd + " commands issued",
                                                       [s, k] { return s->commands[k]; }));
    }
    auto ratio = [&](const char* n, const char* unit, const char* d, std::function<double()> num,
                     std::function<double()> den, double scale) {
      owned.push_back(std::make_unique<stats::Ratio>(group, n, unit, d, std::move(num), std::move(den), scale));
    };
    ratio("avg_read_latency", "DRAM cycles", "Average read latency (arrival at the controller to last data beat)",
          [s] { return double(s->read_latency_sum); }, [s] { return double(s->reads); }, 1.0);
    ratio("avg_read_queue", "entries", "Average read-queue occupancy per DRAM cycle",
          [s] { return double(s->read_queue_occupancy_sum); }, [s] { return double(s->cycles); }, 1.0);
    ratio("avg_write_queue", "entries", "Average write-queue occupancy per DRAM cycle",
          [s] { return double(s->write_queue_occupancy_sum); }, [s] { return double(s->cycles); }, 1.0);
    ratio("bandwidth_gbps", "GB/s", "Data moved per second of simulated time (bytes read + written)",
          [s] { return double(s->bytes_read + s->bytes_written); }, [s] { return double(s->cycles); }, 1000.0 / tck_ps);
    ratio("row_hit_rate", "ratio", "Row hits per completed request", [s] { return double(s->row_hits); },
          [s] { return double(s->reads + s->writes); }, 1.0);
    // Live counters (not the sync_stats snapshot), so a warm-up reset takes a current baseline.
    const dram::CommandEnergy* e = &energy;
    const dram::Channel* chp = &ch;
    const uint32_t ranks = static_cast<uint32_t>(dc.organisation.ranks);
    add_energy(group, tck_ps,
               [e, chp, ranks] {
                 dram::EnergyBreakdown b;
                 for (uint32_t r = 0; r < ranks; ++r) b.add(dram::rank_energy(*e, chp->rank_counters(r)));
                 return b;
               },
               [s] { return double(s->cycles); }, [s] { return double(s->reads + s->writes); });
    for (uint32_t r = 0; r < ranks; ++r) {
      rank_groups.push_back(std::make_unique<stats::Group>(group, "rank" + std::to_string(r)));
      add_energy(*rank_groups.back(), tck_ps, [e, chp, r] { return dram::rank_energy(*e, chp->rank_counters(r)); },
                 [s] { return double(s->cycles); }, nullptr);
    }
    if (!banks) return;
    for (size_t b = 0; b < s->banks.size(); ++b) {
      bank_groups.push_back(std::make_unique<stats::Group>(group, "bank" + std::to_string(b)));
      stats::Group& g = *bank_groups.back();
      counter(g, "reads", "count", "Read requests completed by this bank", [s, b] { return s->banks[b].reads; });
      counter(g, "writes", "count", "Write requests completed by this bank", [s, b] { return s->banks[b].writes; });
      counter(g, "row_hits", "count", "Row hits in this bank", [s, b] { return s->banks[b].row_hits; });
      counter(g, "row_misses", "count", "Row misses in this bank", [s, b] { return s->banks[b].row_misses; });
      counter(g, "row_conflicts", "count", "Row conflicts in this bank", [s, b] { return s->banks[b].row_conflicts; });
      counter(g, "activates", "count", "ACTs to this bank", [s, b] { return s->banks[b].activates; });
      counter(g, "refreshes", "count", "Refreshes covering this bank", [s, b] { return s->banks[b].refreshes; });
    }
  }
  // Energy statistics (models/dram/energy.hpp) of a channel or one of its ranks: components, total,
  // average power over `cycles` and, given `accesses`, energy per completed request.
  void add_energy(stats::Group& g, double tck_ps, std::function<dram::EnergyBreakdown()> f,
                  std::function<double()> cycles, std::function<double()> accesses) {
    auto amount = [&](const char* n, const char* d, std::function<double(const dram::EnergyBreakdown&)> part) {
      owned.push_back(std::make_unique<stats::Amount>(g, n, "pJ", d, [f, part] { return part(f()); }));
    };
    amount("energy_act", "ACT energy: (IDD0 - IDD3N) x tRAS per ACT, both rails",
           [](const dram::EnergyBreakdown& b) { return b.act; });
    amount("energy_pre", "PRE energy: (IDD0 - IDD2N) x tRP per bank precharged",
           [](const dram::EnergyBreakdown& b) { return b.pre; });
    amount("energy_rd", "Read burst energy: (IDD4R - IDD3N) x tBL per RD",
           [](const dram::EnergyBreakdown& b) { return b.rd; });
    amount("energy_wr", "Write burst energy: (IDD4W - IDD3N) x tBL per WR",
           [](const dram::EnergyBreakdown& b) { return b.wr; });
    amount("energy_ref", "Refresh energy: (IDD5B - IDD2N) x tRFC per REF (per-bank: its share of the banks)",
           [](const dram::EnergyBreakdown& b) { return b.ref; });
    amount("energy_act_standby", "Active standby energy: IDD3N over the cycles with a bank open",
           [](const dram::EnergyBreakdown& b) { return b.active_standby; });
    amount("energy_pre_standby", "Precharged standby energy: IDD2N over the cycles with every bank closed",
           [](const dram::EnergyBreakdown& b) { return b.precharged_standby; });
    amount("energy_background", "Background energy: active plus precharged standby",
           [](const dram::EnergyBreakdown& b) { return b.background(); });
    amount("energy_total", "DRAM energy: commands plus background",
           [](const dram::EnergyBreakdown& b) { return b.total(); });
    owned.push_back(std::make_unique<stats::Ratio>(g, "avg_power", "mW", "Average DRAM power over the simulated time",
                                                   [f] { return f().total(); }, cycles, 1000.0 / tck_ps));
    if (accesses) {
      owned.push_back(std::make_unique<stats::Ratio>(g, "energy_per_access", "pJ",
                                                     "DRAM energy per completed request (reads + writes)",
                                                     [f] { return f().total(); }, accesses, 1.0));
    }
  }

  dram::CommandEnergy energy;
  stats::Group group;
  stats::Histogram read_latency;
  std::vector<std::unique_ptr<stats::Group>> rank_groups;
  std::vector<std::unique_ptr<stats::Group>> bank_groups;
  std::vector<std::unique_ptr<stats::Stat>> owned;
};

MemoryNode::MemoryNode(const sc_core::sc_module_name& name, unsigned index, NodeRange range, const MemoryConfig& cfg,
                       SimMode mode, SparseStore& store)
    : sc_core::sc_module(name),
      in("in"),
      m_index(index),
      m_range(range),
      m_cfg(cfg),
      m_dram_cfg(index < cfg.nodes.size() ? cfg.nodes[index].dram : cfg.dram),
      m_mode(mode),
      m_store(store) {
  in.register_b_transport(this, &MemoryNode::b_transport);
  in.register_nb_transport_fw(this, &MemoryNode::nb_transport_fw);
  in.register_transport_dbg(this, &MemoryNode::transport_dbg);
  in.register_get_direct_mem_ptr(this, &MemoryNode::get_direct_mem_ptr);
  m_latency = sc_core::sc_time::from_value(cfg.latency.fs);
  // 1 MB/s = 1e6 bytes per 1e15 fs -> 1e9 fs per byte.
  m_fs_per_byte = cfg.bandwidth_mbps ? 1e9 / static_cast<double>(cfg.bandwidth_mbps) : 0.0;
  if (cfg.model == MemoryModel::Dram) {
    m_dram = std::make_unique<dram::MemorySystem>(m_dram_cfg);
    m_tck_fs = m_dram_cfg.timing.tCK_ps * 1000;
    m_line = m_dram_cfg.controller.request_bytes;
    m_outstanding.assign(m_dram->channel_count(), 0);
    build_dram_stats();
    if (mode == SimMode::At) {
      SC_METHOD(at_process);
      sensitive << m_wake;
      dont_initialize();
    }
  }
}

MemoryNode::~MemoryNode() = default;

void MemoryNode::build_dram_stats() {
  m_dram_group = std::make_unique<stats::Group>(m_stats, "dram");
  for (uint32_t c = 0; c < m_dram->channel_count(); ++c) {
    m_channel_stats.push_back(std::make_unique<ChannelGroup>(*m_dram_group, "ch" + std::to_string(c),
                                                             m_dram->channel(c),
                                                             static_cast<double>(m_dram_cfg.timing.tCK_ps),
                                                             m_cfg.bank_stats, m_dram_cfg));
  }
}

bool MemoryNode::access(tlm::tlm_generic_payload& trans) {
  uint64_t addr = trans.get_address();
  uint64_t len = trans.get_data_length();
  if (trans.get_byte_enable_ptr() != nullptr) {
    trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    return false;
  }
  if (!contains(addr) || len > m_range.end() - addr) {
    trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return false;
  }
  if (trans.get_extension<TimingOnly>() != nullptr) {
    // A cache's line fill or write-back: timed and counted, the contents stay where they are.
  } else if (trans.is_read()) {
    m_store.read(PhysAddr{addr}, trans.get_data_ptr(), len);
  } else if (trans.is_write()) {
    m_store.write(PhysAddr{addr}, trans.get_data_ptr(), len);
  }
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
  return true;
}

void MemoryNode::count(const tlm::tlm_generic_payload& trans) {
  const uint64_t len = trans.get_data_length();
  if (trans.is_read()) {
    ++m_reads;
    m_bytes_read += len;
  } else if (trans.is_write()) {
    ++m_writes;
    m_bytes_written += len;
  }
}

sc_core::sc_time MemoryNode::dram_blocking(uint64_t address, unsigned length, bool is_write,
                                           sc_core::sc_time arrival) {
  const uint64_t local = address - m_range.base;
  const uint64_t first = local & ~(m_line - 1);
  const uint64_t last = (local + (length ? length : 1) - 1) & ~(m_line - 1);
  const dram::Cycle arr = cycle_ceil(arrival);
  // With temporal decoupling another core may already have moved a channel past this arrival: the
  // request is then served from the channel's present, and charged only the service time from there
  // (the skew between decoupled cores is not contention). A single core's arrivals are never late.
  dram::Cycle a0 = arr;
  for (uint64_t line = first;; line += m_line) {
    // floor() - 1: the channel has decided that cycle's commands; arriving then is still on time.
    const dram::Cycle f = m_dram->channel(m_dram->channel_of(line)).floor();
    a0 = std::max(a0, f > 0 ? f - 1 : 0);
    if (line == last) break;
  }
  const uint64_t id = m_next_id++;
  dram::Cycle finish = a0;
  // Enqueue every line (waiting for queue space where needed); writes are posted: they complete
  // when the write queue accepts them.
  std::vector<uint32_t>& out = m_outstanding;  // reads per channel, all zero between calls
  const uint32_t nch = m_dram->channel_count();
  for (uint64_t line = first;; line += m_line) {
    const uint32_t c = m_dram->channel_of(line);
    dram::Channel& ch = m_dram->channel(c);
    dram::Cycle a = a0;
    if (!ch.can_accept(is_write)) a = std::max(a, ch.issue_until_space(is_write));
    ch.enqueue(dram::Request{id, line, is_write, a});
    if (is_write) {
      finish = std::max(finish, a);
      ch.advance_to(a, m_done);  // delivers completions due by now so nothing piles up
      m_done.clear();
    } else {
      ++out[c];
    }
    if (line == last) break;
  }
  if (!is_write) {
    for (uint32_t c = 0; c < nch; ++c) {
      dram::Channel& ch = m_dram->channel(c);
      ChannelGroup& g = *m_channel_stats[c];
      while (out[c] > 0) {
        ch.advance_to(ch.next_event(), m_done);
        for (const dram::Completion& d : m_done) {
          if (d.id != id || d.is_write) continue;
          --out[c];
          finish = std::max(finish, d.cycle);
          g.read_latency.sample(d.cycle - a0);
        }
        m_done.clear();
      }
    }
  }
  m_last_cycle = std::max(m_last_cycle, finish);
  // Arrival rounded up to the DRAM clock edge, plus the service time.
  return time_of(arr) + time_of(finish - a0);
}

void MemoryNode::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  if (!access(trans)) return;
  count(trans);
  const uint64_t len = trans.get_data_length();
  if (!m_dram) {
    sc_core::sc_time lat = m_latency;
    if (m_fs_per_byte > 0) lat += sc_core::sc_time::from_value(static_cast<uint64_t>(m_fs_per_byte * double(len)));
    delay += lat;
    m_node_latency.sample(lat.value() / 1000000);
    return;
  }
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  const sc_core::sc_time arrival = now + delay;
  const sc_core::sc_time done = dram_blocking(trans.get_address(), static_cast<unsigned>(len), trans.is_write(), arrival);
  m_node_latency.sample((done - arrival).value() / 1000000);
  delay = done - now;
}

tlm::tlm_sync_enum MemoryNode::nb_transport_fw(tlm::tlm_generic_payload& trans, tlm::tlm_phase& phase,
                                               sc_core::sc_time& t) {
  if (phase == tlm::END_RESP) {
    m_resp_busy = false;
    m_wake.notify(sc_core::SC_ZERO_TIME);
    return tlm::TLM_COMPLETED;
  }
  if (phase != tlm::BEGIN_REQ) {
    SC_REPORT_ERROR(name(), "nb_transport_fw: unexpected phase");
    return tlm::TLM_COMPLETED;
  }
  if (!access(trans)) return tlm::TLM_COMPLETED;  // error response, completed early
  count(trans);
  const uint64_t len = trans.get_data_length();
  if (!m_dram) {
    sc_core::sc_time lat = m_latency;
    if (m_fs_per_byte > 0) lat += sc_core::sc_time::from_value(static_cast<uint64_t>(m_fs_per_byte * double(len)));
    t += lat;
    m_node_latency.sample(lat.value() / 1000000);
    return tlm::TLM_COMPLETED;
  }
  uint32_t slot;
  if (!m_free_txns.empty()) {
    slot = m_free_txns.back();
    m_free_txns.pop_back();
  } else {
    slot = static_cast<uint32_t>(m_txns.size());
    m_txns.emplace_back();
  }
  Txn& x = m_txns[slot];
  const uint64_t local = trans.get_address() - m_range.base;
  const uint64_t first = local & ~(m_line - 1);
  const uint64_t last = (local + (len ? len : 1) - 1) & ~(m_line - 1);
  x.trans = &trans;
  x.next_line = first;
  x.lines_left = static_cast<uint32_t>((last - first) / m_line + 1);
  x.outstanding = 0;
  x.arrival = cycle_ceil(sc_core::sc_time_stamp() + t);
  x.is_write = trans.is_write();
  // Keep arrivals in (cycle, call) order.
  auto pos = m_arrivals.end();
  while (pos != m_arrivals.begin() && m_txns[*(pos - 1)].arrival > x.arrival) --pos;
  m_arrivals.insert(pos, slot);
  m_wake.notify(time_of(x.arrival) - sc_core::sc_time_stamp());
  return tlm::TLM_ACCEPTED;
}

bool MemoryNode::enqueue_line(Txn& x, dram::Cycle now) {
  const uint32_t slot = static_cast<uint32_t>(&x - m_txns.data());
  while (x.lines_left > 0) {
    dram::Channel& ch = m_dram->channel(m_dram->channel_of(x.next_line));
    if (!ch.can_accept(x.is_write)) return false;
    ch.enqueue(dram::Request{slot, x.next_line, x.is_write, now});
    if (!x.is_write) ++x.outstanding;
    x.next_line += m_line;
    --x.lines_left;
  }
  return true;
}

void MemoryNode::at_process() {
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  const dram::Cycle c = now.value() / m_tck_fs;
  auto complete = [&](dram::Cycle upto) {
    for (uint32_t ch = 0; ch < m_dram->channel_count(); ++ch) {
      m_dram->channel(ch).advance_to(upto, m_done);
      for (const dram::Completion& d : m_done) {
        m_last_cycle = std::max(m_last_cycle, d.cycle);
        if (d.is_write) continue;
        Txn& x = m_txns[d.id];
        m_channel_stats[ch]->read_latency.sample(d.cycle - x.arrival);
        if (--x.outstanding == 0 && x.lines_left == 0) m_responses.push_back(static_cast<uint32_t>(d.id));
      }
      m_done.clear();
    }
  };
  if (c > 0) complete(c - 1);
  // Admit arrivals in order; the head blocks the rest while its channel's queue is full.
  while (!m_arrivals.empty()) {
    Txn& x = m_txns[m_arrivals.front()];
    if (x.arrival > c || !enqueue_line(x, c)) break;
    const uint32_t slot = m_arrivals.front();
    m_arrivals.pop_front();
    tlm::tlm_phase phase = tlm::END_REQ;
    sc_core::sc_time t = sc_core::SC_ZERO_TIME;
    in->nb_transport_bw(*x.trans, phase, t);
    if (x.is_write) m_responses.push_back(slot);  // posted write
  }
  complete(c);
  send_responses();
  dram::Cycle next = m_dram->next_event();
  if (!m_arrivals.empty() && m_txns[m_arrivals.front()].arrival > c) {
    next = std::min(next, m_txns[m_arrivals.front()].arrival);
  }
  if (next != dram::kNever) {
    if (next <= c) next = c + 1;
    next_trigger(time_of(next) - now, m_wake);
  } else {
    next_trigger(m_wake);
  }
}

void MemoryNode::send_responses() {
  while (!m_resp_busy && !m_responses.empty()) {
    const uint32_t slot = m_responses.front();
    m_responses.pop_front();
    tlm::tlm_generic_payload* trans = m_txns[slot].trans;
    const dram::Cycle arrival = m_txns[slot].arrival;
    m_txns[slot].trans = nullptr;
    m_free_txns.push_back(slot);
    const sc_core::sc_time now = sc_core::sc_time_stamp();
    m_node_latency.sample((now - time_of(std::min<dram::Cycle>(arrival, now.value() / m_tck_fs))).value() / 1000000);
    trans->set_response_status(tlm::TLM_OK_RESPONSE);
    tlm::tlm_phase phase = tlm::BEGIN_RESP;
    sc_core::sc_time t = sc_core::SC_ZERO_TIME;
    m_resp_busy = true;
    const tlm::tlm_sync_enum s = in->nb_transport_bw(*trans, phase, t);
    if (s == tlm::TLM_COMPLETED || (s == tlm::TLM_UPDATED && phase == tlm::END_RESP)) m_resp_busy = false;
  }
}

unsigned MemoryNode::transport_dbg(tlm::tlm_generic_payload& trans) {
  return access(trans) ? trans.get_data_length() : 0;
}

bool MemoryNode::get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
  // Direct pointers bypass timing: only the functional mode gets them, or a system whose caches time every
  // access themselves (allow_dmi).
  uint64_t addr = trans.get_address();
  if ((m_mode != SimMode::Functional && !m_dmi_timed) || !contains(addr)) return false;
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

uint64_t MemoryNode::finish() {
  if (!m_dram) return 0;
  // The run ends at the later of SystemC time and the last completion (LT runs ahead of SystemC time).
  const dram::Cycle now = std::max<dram::Cycle>(m_last_cycle, sc_core::sc_time_stamp().value() / m_tck_fs);
  for (uint32_t c = 0; c < m_dram->channel_count(); ++c) {
    m_dram->channel(c).advance_to(now, m_done);  // refreshes of idle periods, posted writes
    m_done.clear();
    m_dram->channel(c).sync_stats(now);
  }
  m_dram->finish_checkers(now);
  return m_dram->violation_count();
}

std::string MemoryNode::violation_report() const { return m_dram ? m_dram->violation_report() : ""; }

}  // namespace vmsim::mem
