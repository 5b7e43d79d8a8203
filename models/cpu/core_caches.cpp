// The core's side of the cache hierarchy: data accesses, fetches, page-walk PTE accesses and the firmware's
// memory traffic look up the (functional) hierarchy, charge its load-to-use latency, and only what leaves the
// caches becomes a timed memory transaction. Contents stay in the backing store and move through DMI.
#define SC_INCLUDE_DYNAMIC_PROCESSES  // sc_spawn for the at mode's write-back buffer
#include <algorithm>
#include <cstring>

#include "common/error.hpp"
#include "models/cache/cache_system.hpp"
#include "models/cpu/core.hpp"
#include "models/memory/timing_only.hpp"

namespace vmsim::cpu {

void Core::set_caches(const CachePort& port) {
  m_caches = port;
  // The coherence checker looks at every access's line: it needs the out-of-line path.
  m_inline_caches = m_caches.check ? nullptr : m_caches.hierarchy;
  m_untimed_l1d_hits = m_inline_caches != nullptr && m_caches.inject_drop_at == 0;
  if (m_caches.hierarchy == nullptr) return;
  m_line_buf.assign(m_caches.hierarchy->line_bytes(), 0);
  m_l1d_hit_fs = m_caches.hierarchy->l1d_latency() * m_period_fs;
  const cache::HierarchyConfig& hc = m_caches.hierarchy->config();
  m_mshrs = hc.l1d.present ? hc.l1d.mshrs : hc.l2.present ? hc.l2.mshrs : hc.llc.present ? hc.llc.mshrs : 1;
  if (m_waits) {
    m_bg_buf.assign(m_line_buf.size(), 0);
    m_bg_trans.set_byte_enable_ptr(nullptr);
    m_bg_trans.set_dmi_allowed(false);
    m_bg_trans.set_data_ptr(m_bg_buf.data());
    m_bg_trans.set_data_length(static_cast<unsigned>(m_bg_buf.size()));
    m_bg_trans.set_streaming_width(static_cast<unsigned>(m_bg_buf.size()));
    m_bg_trans.set_extension(new mem::TimingOnly);
    // Spawned while the platform elaborates (its module is the parent): named after this core.
    sc_core::sc_spawn([this] { background_loop(); }, (std::string(basename()) + "_writeback_buffer").c_str());
  }
  m_l1_miss_latency = std::make_unique<stats::Average>(m_stats, "l1d_miss_latency", "core cycles",
                                                       "Data accesses that missed the L1D: cycles until the data (average)");
  m_l2_miss_latency = std::make_unique<stats::Average>(m_stats, "l2_miss_latency", "core cycles",
                                                       "Data accesses that missed the L1D and L2: cycles until the data (average)");
  m_llc_miss_latency = std::make_unique<stats::Average>(m_stats, "llc_miss_latency", "core cycles",
                                                        "Data accesses served by memory: cycles until the data (average)");
  m_mmu.walker().set_cached_path(
      [this](tlm::tlm_generic_payload& t, unsigned level, sc_core::sc_time& delay) {
        walker_transport_cached(t, level, delay);
      });
  // Where the time of cached accesses went (core cycles): data accesses and walk memory separately.
  static const char* const kPart[kCtParts] = {"l1", "l2", "llc", "interconnect_local", "interconnect_remote", "dram"};
  static const char* const kWhat[kCtParts] = {
      "in the L1 caches", "in the L2 (its latency beyond the L1's)", "in the LLC (beyond the L2's; cache-to-cache transfers included)",
      "in the interconnect to a local node (line fills)", "in the interconnect to remote nodes and cross-socket coherence messages",
      "in DRAM (line fills, beyond the interconnect)"};
  for (auto [group, ct, whose] : {std::tuple<const char*, CacheTime*, const char*>{"data_time", &m_ct_data, "data accesses and fetches"},
                                  {"walk_time", &m_ct_walk, "page-walk PTE reads and A/D writes"}}) {
    m_cache_groups.push_back(std::make_unique<stats::Group>(m_stats, group));
    for (int p = 0; p < kCtParts; ++p) {
      m_cache_stats.push_back(std::make_unique<stats::Counter>(
          *m_cache_groups.back(), kPart[p], "core cycles", std::string("Cycles of ") + whose + " " + kWhat[p],
          [this, ct, p] { return cycles_of(ct->fs[p]); }));
    }
  }
  // Misses in flight (at mode; zero in the other modes, where a miss completes before the next access).
  m_cache_groups.push_back(std::make_unique<stats::Group>(m_stats, "mshr"));
  stats::Group& mg = *m_cache_groups.back();
  auto counter = [&](const char* n, const char* unit, const char* what, std::function<uint64_t()> f) {
    m_cache_stats.push_back(std::make_unique<stats::Counter>(mg, n, unit, what, std::move(f)));
  };
  counter("merged", "count",
          "Accesses whose line's fill (another operation's miss or a prefetch) was in flight: they waited for it",
          [this] { return m_mshr_merged; });
  counter("full", "count", "Line fills that waited for a free MSHR of the core's first cache level",
          [this] { return m_mshr_full; });
  counter("llc_full", "count", "Line fills that waited for a free LLC MSHR of the socket",
          [this] { return m_llc_mshr_full; });
  counter("wait", "core cycles", "Cycles accesses waited for MSHRs and for fills in flight",
          [this] { return cycles_of(m_mshr_wait_fs); });
  counter("peak", "misses", "Most demand line fills of the core in flight at once", [this] { return m_mshr_peak; });
  counter("writeback_buffer_full", "count",
          "Accesses that waited for room in the write-back buffer (system.caches.writeback_buffer)",
          [this] { return m_wb_full; });
}

void Core::line_transport(tlm::tlm_command cmd, uint64_t line_pa, sc_core::sc_time& delay) {
  if (m_line_free.empty()) {
    auto t = std::make_unique<tlm::tlm_generic_payload>();
    t->set_byte_enable_ptr(nullptr);
    t->set_dmi_allowed(false);
    t->set_data_ptr(m_line_buf.data());  // never written: the transaction is timing only
    t->set_data_length(static_cast<unsigned>(m_line_buf.size()));
    t->set_streaming_width(static_cast<unsigned>(m_line_buf.size()));
    t->set_extension(new mem::TimingOnly);  // contents stay in the backing store (the payload owns it)
    m_line_free.push_back(t.get());
    m_line_pool.push_back(std::move(t));
  }
  tlm::tlm_generic_payload& t = *m_line_free.back();
  m_line_free.pop_back();
  t.set_command(cmd);
  t.set_address(line_pa);
  t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  data->b_transport(t, delay);
  m_line_free.push_back(&t);
  if (!t.is_response_ok()) {
    throw SimulationError(std::string(name()) + ": cache line " + (cmd == tlm::TLM_READ_COMMAND ? "fill" : "write-back") +
                          " at physical address " + format_hex(line_pa) + " failed: " + t.get_response_string());
  }
}

cache::Served Core::cache_access(cache::AccessClass cls, uint64_t pa, uint64_t ip, unsigned walk_level,
                                 bool full_line_write, sc_core::sc_time& delay, CacheTime& ct) {
  cache::Hierarchy& h = *m_caches.hierarchy;
  if ((cls == cache::AccessClass::Load || cls == cache::AccessClass::Store) && !m_caches.check &&
      (m_fills.empty() || fill_in_flight(pa & ~(m_line_buf.size() - 1)) == nullptr) &&
      h.try_l1d_hit(m_id, cls == cache::AccessClass::Store, pa, ip)) {
    // The inline path: a hit on the line this core's L1D used last builds nothing.
    if (m_timed) {
      const uint64_t fs = h.l1d_latency() * m_period_fs;
      ct.fs[kCtL1] += fs;
      delay += sc_core::sc_time::from_value(fs);
    }
    return cache::Served::L1;
  }
  return cache_access_slow(cls, pa, ip, walk_level, full_line_write, delay, ct);
}

cache::Served Core::cache_access_slow(cache::AccessClass cls, uint64_t pa, uint64_t ip, unsigned walk_level,
                                      bool full_line_write, sc_core::sc_time& delay, CacheTime& ct) {
  cache::Hierarchy& h = *m_caches.hierarchy;
  if (m_caches.inject_drop_at != 0 && ++m_slow_cache_accesses == m_caches.inject_drop_at) {
    h.inject_drop_next_invalidation();
  }
  // The 5-argument access(): no second inline L1D hit test (the callers made it, or may not take it).
  const cache::AccessResult r = full_line_write ? h.write_full_line(m_id, pa) : h.access(m_id, cls, pa, ip, walk_level);
  if (m_caches.check) {
    const std::string why = h.check_line(pa);
    if (!why.empty()) {
      throw SimulationError(std::string(name()) + ": coherence check failed after a " + cache::to_string(cls) +
                            " at physical address " + format_hex(pa) + ": " + why);
    }
  }
  if (!m_timed) return r.served;  // functional: states and counts only
  uint32_t messages = r.remote_messages;
  bool fill_registered = false;  // at: the line's fill is listed in m_fills already (queued_hierarchy_time)
  if (full_line_write) {
    // A whole-line store needs no data: it retires through the store buffer at the L1's pace while the
    // ownership request completes behind it (fast-string stores), so only the L1 latency is charged.
    ct.fs[kCtL1] += r.l1_cycles * m_period_fs;
    delay += m_period * static_cast<double>(r.l1_cycles);
  } else {
    ct.fs[kCtL1] += r.l1_cycles * m_period_fs;
    ct.fs[kCtL2] += r.l2_cycles * m_period_fs;
    ct.fs[kCtLlc] += r.llc_cycles * m_period_fs;
    if (m_caches.queues != nullptr && (r.llc_lookup || r.directory_home >= 0)) {
      // The hierarchy holds the line already (tags change at the lookup): from now on it is a fill in
      // flight, so this core's other operations on the line wait for it while this one queues.
      if (r.memory_read) {
        m_fills.push_back({r.line_pa, false});
        fill_registered = true;
      }
      messages = queued_hierarchy_time(r, delay, ct);
    } else {
      delay += m_period * static_cast<double>(r.cycles);
    }
  }
  if (messages != 0) {
    const sc_core::sc_time t = m_caches.remote_message * static_cast<double>(messages);
    ct.fs[kCtIcRemote] += t.value();
    delay += t;
  }
  // Write-backs and prefetch fills leave the critical path: in lt they reach memory at this time (and
  // occupy its queues) but the core does not wait for them; in at they drain through the write-back
  // buffer's thread, competing with demand misses in the memory's queues. The buffer holds
  // system.caches.writeback_buffer dirty victims: an access whose victims do not fit waits; prefetch fills
  // queue behind them and never stall the core.
  if (!m_waits) {
    for (uint32_t i = 0; i < r.n_writebacks; ++i) {
      sc_core::sc_time side = delay;
      line_transport(tlm::TLM_WRITE_COMMAND, r.writebacks[i], side);
    }
    for (uint32_t i = 0; i < r.n_prefetch_reads; ++i) {
      sc_core::sc_time side = delay;
      line_transport(tlm::TLM_READ_COMMAND, r.prefetch_reads[i], side);
      if (m_prefetch_ready.size() >= 4096) {  // forget fills long completed: they can no longer be late
        const uint64_t now = (sc_core::sc_time_stamp() + delay).value();
        for (auto it = m_prefetch_ready.begin(); it != m_prefetch_ready.end();) {
          it = it->second <= now ? m_prefetch_ready.erase(it) : std::next(it);
        }
      }
      m_prefetch_ready[r.prefetch_reads[i]] = (sc_core::sc_time_stamp() + side).value();
    }
  } else if (r.n_writebacks + r.n_prefetch_reads != 0) {
    if (r.n_writebacks != 0) {
      const uint64_t n = r.n_writebacks;
      const uint64_t waited = stall_while(delay, m_bg_drained, [&] {
        return m_bg_writebacks != 0 && m_bg_writebacks + n > m_caches.writeback_buffer;
      });
      if (waited != 0) {
        ++m_wb_full;
        ct.fs[kCtDram] += waited;
      }
      m_bg_writebacks += n;
    }
    for (uint32_t i = 0; i < r.n_writebacks; ++i) m_bg_queue.emplace_back(true, r.writebacks[i]);
    for (uint32_t i = 0; i < r.n_prefetch_reads; ++i) {
      m_bg_queue.emplace_back(false, r.prefetch_reads[i]);
      m_fills.push_back({r.prefetch_reads[i], true});
    }
    m_bg_event.notify(sc_core::SC_ZERO_TIME);
  }
  // A write of the whole line (the firmware zeroing or copying a page) needs no data: it never waits for a fill.
  if (r.prefetch_used != cache::Level::Count && !m_waits && !full_line_write && !m_prefetch_ready.empty()) {
    // The first demand use of a prefetched line: late if its fill from memory had not completed.
    const auto it = m_prefetch_ready.find(r.line_pa);
    if (it != m_prefetch_ready.end()) {
      const uint64_t at = (sc_core::sc_time_stamp() + delay).value();
      if (it->second > at) {
        h.count_prefetch_late_of(m_id, r.prefetch_used);
        delay += sc_core::sc_time::from_value(it->second - at);
        ct.fs[kCtDram] += it->second - at;
      }
      m_prefetch_ready.erase(it);
    }
  }
  if (m_waits && !r.memory_read && !full_line_write && !m_fills.empty()) {
    // The line's fill is in flight (another operation's miss, or a prefetch): wait for its data, as a
    // secondary miss merged into the MSHR does.
    const Fill* f = fill_in_flight(r.line_pa);
    if (f != nullptr && delay != sc_core::SC_ZERO_TIME) {
      // The core runs ahead of SystemC time by delay: the fill may complete before the core gets there.
      sc_core::wait(delay);
      delay = sc_core::SC_ZERO_TIME;
      f = fill_in_flight(r.line_pa);
    }
    if (f != nullptr) {
      if (f->prefetch && r.prefetch_used != cache::Level::Count) h.count_prefetch_late_of(m_id, r.prefetch_used);
      ++m_mshr_merged;
      const uint64_t line_pa = r.line_pa;
      const uint64_t waited = stall_while(delay, m_fill_done, [&] { return fill_in_flight(line_pa) != nullptr; });
      m_mshr_wait_fs += waited;
      ct.fs[kCtDram] += waited;
    }
  }
  if (r.memory_read && !full_line_write) {
    const sc_core::sc_time now0 = sc_core::sc_time_stamp();
    const sc_core::sc_time before = now0 + delay;
    uint64_t queued = 0;
    if (m_waits) {
      queued = demand_fill(r.line_pa, delay, fill_registered);
    } else {
      line_transport(tlm::TLM_READ_COMMAND, r.line_pa, delay);
    }
    const uint64_t spent = ((m_waits ? sc_core::sc_time_stamp() : now0) + delay - before).value() - queued;
    const uint64_t path = std::min<uint64_t>(m_caches.path(r.line_pa).value(), spent);
    ct.fs[m_caches.remote(r.line_pa) ? kCtIcRemote : kCtIcLocal] += path;
    ct.fs[kCtDram] += spent - path + queued;
  }
  return r.served;
}

uint32_t Core::queued_hierarchy_time(const cache::AccessResult& r, sc_core::sc_time& delay, CacheTime& ct) {
  // The request reaches its LLC bank after the private levels' latency and waits there while the bank
  // serves earlier requests; the LLC's latency runs from the start of its service. A request the home
  // directory serves then travels there (one cross-socket message if the home is another socket) and waits
  // for its directory bank; its other messages follow (the caller charges them).
  uint32_t messages = r.remote_messages;
  delay += sc_core::sc_time::from_value((r.l1_cycles + r.l2_cycles) * m_period_fs);
  if (r.llc_lookup) ct.fs[kCtLlc] += m_caches.queues->wait_llc_bank(m_caches.socket, r.line_pa, delay);
  delay += sc_core::sc_time::from_value(r.llc_cycles * m_period_fs);
  if (r.directory_home >= 0) {
    const uint32_t home = static_cast<uint32_t>(r.directory_home);
    const bool remote_home = home != m_caches.socket;
    if (remote_home && messages != 0) {
      ct.fs[kCtIcRemote] += m_caches.remote_message.value();
      delay += m_caches.remote_message;
      --messages;
    }
    // Waiting at a remote home is cross-socket coherence time; at the local one, the socket's own.
    ct.fs[remote_home ? kCtIcRemote : kCtLlc] += m_caches.queues->wait_directory(home, r.line_pa, delay);
  }
  return messages;
}

template <class Cond>
uint64_t Core::stall_while(sc_core::sc_time& delay, sc_core::sc_event& ev, Cond cond) {
  if (!cond()) return 0;
  if (delay != sc_core::SC_ZERO_TIME) {
    sc_core::wait(delay);
    delay = sc_core::SC_ZERO_TIME;
  }
  const sc_core::sc_time t0 = sc_core::sc_time_stamp();
  while (cond()) sc_core::wait(ev);
  return (sc_core::sc_time_stamp() - t0).value();
}

uint64_t Core::demand_fill(uint64_t line_pa, sc_core::sc_time& delay, bool registered) {
  uint64_t waited = stall_while(delay, m_fill_done, [&] { return m_demand_fills >= m_mshrs; });
  if (waited != 0) ++m_mshr_full;
  CachePort::MissSlots* llc = m_caches.llc_mshrs;
  if (llc != nullptr) {
    const uint64_t w = stall_while(delay, llc->freed, [&] { return llc->in_use >= llc->capacity; });
    if (w != 0) ++m_llc_mshr_full;
    waited += w;
    ++llc->in_use;
  }
  ++m_demand_fills;
  m_mshr_peak = std::max(m_mshr_peak, m_demand_fills);
  if (!registered) m_fills.push_back({line_pa, false});
  m_mshr_wait_fs += waited;
  line_transport(tlm::TLM_READ_COMMAND, line_pa, delay);  // at: waits inside for the data
  --m_demand_fills;
  if (llc != nullptr) {
    --llc->in_use;
    llc->freed.notify(sc_core::SC_ZERO_TIME);
  }
  end_fill(line_pa);
  return waited;
}

void Core::end_fill(uint64_t line_pa) {
  for (auto it = m_fills.begin(); it != m_fills.end(); ++it) {
    if (it->line_pa == line_pa) {
      m_fills.erase(it);
      break;
    }
  }
  m_fill_done.notify(sc_core::SC_ZERO_TIME);
}

void Core::background_loop() {
  try {
    for (;;) {
      while (m_bg_queue.empty()) sc_core::wait(m_bg_event);
      const auto [write, pa] = m_bg_queue.front();
      m_bg_queue.pop_front();
      tlm::tlm_generic_payload& t = m_bg_trans;
      t.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
      t.set_address(pa);
      t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
      sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
      CachePort::MissSlots* llc = write ? nullptr : m_caches.llc_mshrs;  // a prefetch fill takes an LLC MSHR
      if (llc != nullptr) {
        while (llc->in_use >= llc->capacity) sc_core::wait(llc->freed);
        ++llc->in_use;
      }
      data->b_transport(t, delay);  // at: waits inside for the memory's answer
      if (!t.is_response_ok()) {
        throw SimulationError(std::string(name()) + ": background line " + (write ? "write-back" : "prefetch fill") +
                              " at physical address " + format_hex(pa) + " failed: " + t.get_response_string());
      }
      if (delay != sc_core::SC_ZERO_TIME) sc_core::wait(delay);
      if (llc != nullptr) {
        --llc->in_use;
        llc->freed.notify(sc_core::SC_ZERO_TIME);
      }
      if (write) {
        --m_bg_writebacks;
      } else {
        end_fill(pa);
      }
      m_bg_drained.notify(sc_core::SC_ZERO_TIME);
    }
  } catch (...) {
    m_control.fail(std::current_exception());
  }
}

void Core::move_data(const workload::MemOp& op, PhysAddr pa) {
  const uint32_t size = op.size == 0 ? 1 : op.size;
  const bool write = op.kind == AccessKind::Write;
  const uint64_t pfn = pa.value() >> kPageShift;
  const DmiSlot& slot = m_dmi[pfn % kDmiSlots];
  uint8_t* page = slot.pfn == pfn && (slot.writable || !write) ? slot.page : dmi_page(pa, write);
  if (write) {
    // Each written word holds its own virtual address, so memory contents are checkable.
    const uint64_t pattern = op.va.value();
    if (size == 8) {
      std::memcpy(m_buf.data(), &pattern, 8);
    } else {
      for (uint32_t off = 0; off < size; off += 8) std::memcpy(&m_buf[off], &pattern, std::min<uint32_t>(8, size - off));
    }
  }
  if (page != nullptr) {
    uint8_t* p = page + (pa.value() & kPageMask);  // MemOps never cross a page
    if (size == 8) {  // the common word access, without a library call
      std::memcpy(write ? p : m_buf.data(), write ? m_buf.data() : p, 8);
    } else if (write) {
      std::memcpy(p, m_buf.data(), size);
    } else {
      std::memcpy(m_buf.data(), p, size);
    }
    return;
  }
  m_trans.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
  m_trans.set_address(pa.value());
  m_trans.set_data_length(size);
  m_trans.set_streaming_width(size);
  if (data->transport_dbg(m_trans) != size) {
    throw SimulationError(std::string(name()) + ": data access to physical address " + format_hex(pa.value()) +
                          " failed (no memory there)");
  }
}

void Core::count_functional_cached(Pid pid, const workload::MemOp& op, PhysAddr pa) {
  if (op.kind == AccessKind::Write) {
    ++m_writes;
  } else {
    ++(op.kind == AccessKind::Fetch ? m_fetches : m_reads);
    if (m_check_data) check_read(pid, op, m_buf.data());
  }
  ++m_accesses;
  count_numa(pa);
  m_control.count_access();
}

bool Core::access_cached(Pid pid, const workload::MemOp& op, const mmu::Translation& tr, sc_core::sc_time access_time,
                         sc_core::sc_time delay) {
  const cache::AccessClass cls = op.kind == AccessKind::Write   ? cache::AccessClass::Store
                                 : op.kind == AccessKind::Fetch ? cache::AccessClass::Fetch
                                                                : cache::AccessClass::Load;
  if (!m_timed) {  // functional: states and counts, no time (access_functional tried the inline hit)
    cache_access_slow(cls, tr.pa.value(), op.ip, 0, false, delay, m_ct_data);
    move_data(op, tr.pa);
    count_functional_cached(pid, op, tr.pa);
    return true;
  }
  if (m_inline_caches != nullptr && cls != cache::AccessClass::Fetch &&
      (m_fills.empty() || fill_in_flight(tr.pa.value() & ~(m_line_buf.size() - 1)) == nullptr) &&
      m_inline_caches->try_l1d_hit(m_id, cls == cache::AccessClass::Store, tr.pa.value(), op.ip)) {
    // An L1D hit counted inline: its latency, the data, the counts; no miss latency, nothing in flight.
    m_ct_data.fs[kCtL1] += m_l1d_hit_fs;
    const sc_core::sc_time spent = sc_core::sc_time::from_value(m_l1d_hit_fs);
    delay += spent;
    move_data(op, tr.pa);
    if (op.kind == AccessKind::Write) {
      ++m_writes;
    } else {
      ++m_reads;
      if (m_check_data) check_read(pid, op, m_buf.data());
    }
    m_fs_data += m_l1d_hit_fs;
    access_time += spent;
    m_qk.set(delay);
    m_access_latency.sample(static_cast<double>(access_time.value()) / static_cast<double>(m_period_fs));
    ++m_accesses;
    count_numa(tr.pa);
    m_control.count_access();
    return true;
  }
  const sc_core::sc_time spent = cached_data_timed(pid, op, tr.pa, delay);
  if (op.kind == AccessKind::Write) {
    ++m_writes;
  } else {
    ++(op.kind == AccessKind::Fetch ? m_fetches : m_reads);
  }
  access_time += spent;
  m_qk.set(delay);
  m_access_latency.sample(static_cast<double>(access_time.value()) / static_cast<double>(m_period_fs));
  ++m_accesses;
  count_numa(tr.pa);
  m_control.count_access();
  return true;
}

sc_core::sc_time Core::cached_data_timed(Pid pid, const workload::MemOp& op, PhysAddr pa, sc_core::sc_time& delay) {
  const cache::AccessClass cls = op.kind == AccessKind::Write   ? cache::AccessClass::Store
                                 : op.kind == AccessKind::Fetch ? cache::AccessClass::Fetch
                                                                : cache::AccessClass::Load;
  const sc_core::sc_time now0 = sc_core::sc_time_stamp();
  const sc_core::sc_time before = now0 + delay;
  const uint64_t l2_before = m_ct_data.fs[kCtL2];
  const uint64_t mem_before = m_ct_data.fs[kCtDram] + m_ct_data.fs[kCtIcLocal] + m_ct_data.fs[kCtIcRemote];
  const uint64_t llc_before = m_ct_data.fs[kCtLlc];
  cache_access_slow(cls, pa.value(), op.ip, 0, false, delay, m_ct_data);  // access_cached tried the inline hit
  move_data(op, pa);
  if (op.kind != AccessKind::Write && m_check_data) check_read(pid, op, m_buf.data());
  const sc_core::sc_time spent = (m_waits ? sc_core::sc_time_stamp() : now0) + delay - before;
  if (cls != cache::AccessClass::Fetch &&
      (m_ct_data.fs[kCtL2] != l2_before || m_ct_data.fs[kCtLlc] != llc_before ||
       m_ct_data.fs[kCtDram] + m_ct_data.fs[kCtIcLocal] + m_ct_data.fs[kCtIcRemote] != mem_before)) {
    // Missed the L1D: the whole access's cache and memory time, by the deepest level it missed.
    const double cycles = static_cast<double>(spent.value()) / static_cast<double>(m_period_fs);
    m_l1_miss_latency->sample(cycles);
    if (m_ct_data.fs[kCtLlc] != llc_before ||
        m_ct_data.fs[kCtDram] + m_ct_data.fs[kCtIcLocal] + m_ct_data.fs[kCtIcRemote] != mem_before) {
      m_l2_miss_latency->sample(cycles);
    }
    if (m_ct_data.fs[kCtDram] + m_ct_data.fs[kCtIcLocal] + m_ct_data.fs[kCtIcRemote] != mem_before) {
      m_llc_miss_latency->sample(cycles);
    }
  }
  m_fs_data += spent.value();
  return spent;
}

void Core::kernel_transport_cached(tlm::tlm_command cmd, PhysAddr pa, uint8_t* buf, uint64_t len) {
  const bool write = cmd == tlm::TLM_WRITE_COMMAND;
  const uint64_t line = m_line_buf.size();
  sc_core::sc_time delay = m_timed ? m_qk.get_local_time() : sc_core::SC_ZERO_TIME;
  for (uint64_t a = pa.value() & ~(line - 1); a < pa.value() + len; a += line) {
    const bool full = write && a >= pa.value() && a + line <= pa.value() + len;
    cache_access(write ? cache::AccessClass::Store : cache::AccessClass::Load, a, 0, 0, full, delay, m_ct_kernel);
  }
  tlm::tlm_generic_payload& t = m_kernel_trans;
  t.set_command(cmd);
  t.set_address(pa.value());
  t.set_data_ptr(buf);
  t.set_data_length(static_cast<unsigned>(len));
  t.set_streaming_width(static_cast<unsigned>(len));
  if (data->transport_dbg(t) != len) {
    throw SimulationError(std::string(name()) + ": firmware access to physical address " + std::to_string(pa.value()) +
                          " failed (no memory there)");
  }
  if (m_timed) m_qk.set(delay);
}

void Core::walker_transport_cached(tlm::tlm_generic_payload& t, unsigned level, sc_core::sc_time& delay) {
  const bool write = t.is_write();
  const cache::Served served = cache_access(write ? cache::AccessClass::AdWrite : cache::AccessClass::PteRead,
                                            t.get_address(), 0, write ? 0 : level, false, delay, m_ct_walk);
  if (m_events != nullptr && !write && !m_ttrace.reads.empty() && !m_kernel_translating) {
    // The event trace: where this PTE read (logged by the walker just before) was served. A walk for the
    // kernel's own access logs nothing (Mmu::translate_supervisor), so it must not touch the last record.
    static const char* const kServed[] = {"l1d", "l2", "llc", "peer_cache", "remote_cache"};
    m_ttrace.reads.back().served = served == cache::Served::Memory ? memory_served(t.get_address())
                                   : static_cast<size_t>(served) < 5 ? kServed[static_cast<size_t>(served)]
                                                                     : "?";
  }
  if (data->transport_dbg(t) != t.get_data_length()) {
    throw SimulationError(std::string(name()) + ": PTE access at physical address " + format_hex(t.get_address()) +
                          " failed (no memory there)");
  }
  t.set_response_status(tlm::TLM_OK_RESPONSE);
}

}  // namespace vmsim::cpu
