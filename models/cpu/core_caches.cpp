// The core's side of the cache hierarchy: data accesses, fetches, page-walk PTE accesses and the firmware's
// memory traffic look up the (functional) hierarchy, charge its load-to-use latency, and only what leaves the
// caches becomes a timed memory transaction. Contents stay in the backing store and move through DMI.
#define SC_INCLUDE_DYNAMIC_PROCESSES  // sc_spawn for the at mode's write-back buffer
#include <algorithm>
#include <cstring>

#include "common/error.hpp"
#include "models/cpu/core.hpp"
#include "models/memory/timing_only.hpp"

namespace vmsim::cpu {

void Core::set_caches(const CachePort& port) {
  m_caches = port;
  if (m_caches.hierarchy == nullptr) return;
  m_line_buf.assign(m_caches.hierarchy->line_bytes(), 0);
  m_line_trans.set_byte_enable_ptr(nullptr);
  m_line_trans.set_dmi_allowed(false);
  m_line_trans.set_data_ptr(m_line_buf.data());
  m_line_trans.set_data_length(static_cast<unsigned>(m_line_buf.size()));
  m_line_trans.set_streaming_width(static_cast<unsigned>(m_line_buf.size()));
  m_line_trans.set_extension(new mem::TimingOnly);  // contents stay in the backing store (the payload owns it)
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
}

void Core::line_transport(tlm::tlm_command cmd, uint64_t line_pa, sc_core::sc_time& delay) {
  tlm::tlm_generic_payload& t = m_line_trans;
  t.set_command(cmd);
  t.set_address(line_pa);
  t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  data->b_transport(t, delay);
  if (!t.is_response_ok()) {
    throw SimulationError(std::string(name()) + ": cache line " + (cmd == tlm::TLM_READ_COMMAND ? "fill" : "write-back") +
                          " at physical address " + format_hex(line_pa) + " failed: " + t.get_response_string());
  }
}

void Core::cache_access(cache::AccessClass cls, uint64_t pa, uint64_t ip, unsigned walk_level, bool full_line_write,
                        sc_core::sc_time& delay, CacheTime& ct) {
  cache::Hierarchy& h = *m_caches.hierarchy;
  if ((cls == cache::AccessClass::Load || cls == cache::AccessClass::Store) && !m_caches.check &&
      h.try_l1d_hit(m_id, cls == cache::AccessClass::Store, pa, ip)) {
    // The inline path: a hit on the line this core's L1D used last builds nothing.
    if (m_timed) {
      const uint64_t fs = h.l1d_latency() * m_period_fs;
      ct.fs[kCtL1] += fs;
      delay += sc_core::sc_time::from_value(fs);
    }
    return;
  }
  if (m_caches.inject_drop_at != 0 && ++m_slow_cache_accesses == m_caches.inject_drop_at) {
    h.inject_drop_next_invalidation();
  }
  const cache::AccessResult r =
      walk_level != 0 ? h.access(m_id, cls, pa, ip, walk_level) : h.access(m_id, cls, pa, ip);
  if (m_caches.check) {
    const std::string why = h.check_line(pa);
    if (!why.empty()) {
      throw SimulationError(std::string(name()) + ": coherence check failed after a " + cache::to_string(cls) +
                            " at physical address " + format_hex(pa) + ": " + why);
    }
  }
  if (!m_timed) return;  // functional: states and counts only
  ct.fs[kCtL1] += r.l1_cycles * m_period_fs;
  ct.fs[kCtL2] += r.l2_cycles * m_period_fs;
  ct.fs[kCtLlc] += r.llc_cycles * m_period_fs;
  delay += m_period * static_cast<double>(r.cycles);
  if (r.remote_messages != 0) {
    const sc_core::sc_time t = m_caches.remote_message * static_cast<double>(r.remote_messages);
    ct.fs[kCtIcRemote] += t.value();
    delay += t;
  }
  // Write-backs and prefetch fills leave the critical path: in lt they reach memory at this time (and
  // occupy its queues) but the core does not wait for them; in at they drain through the write-back
  // buffer's thread, competing with demand misses in the memory's queues.
  if (!m_waits) {
    for (uint32_t i = 0; i < r.n_writebacks; ++i) {
      sc_core::sc_time side = delay;
      line_transport(tlm::TLM_WRITE_COMMAND, r.writebacks[i], side);
    }
    for (uint32_t i = 0; i < r.n_prefetch_reads; ++i) {
      sc_core::sc_time side = delay;
      line_transport(tlm::TLM_READ_COMMAND, r.prefetch_reads[i], side);
    }
  } else if (r.n_writebacks + r.n_prefetch_reads != 0) {
    for (uint32_t i = 0; i < r.n_writebacks; ++i) m_bg_queue.emplace_back(true, r.writebacks[i]);
    for (uint32_t i = 0; i < r.n_prefetch_reads; ++i) m_bg_queue.emplace_back(false, r.prefetch_reads[i]);
    m_bg_event.notify(sc_core::SC_ZERO_TIME);
  }
  if (r.memory_read && !full_line_write) {
    const sc_core::sc_time now0 = sc_core::sc_time_stamp();
    const sc_core::sc_time before = now0 + delay;
    line_transport(tlm::TLM_READ_COMMAND, r.line_pa, delay);
    const uint64_t spent = ((m_waits ? sc_core::sc_time_stamp() : now0) + delay - before).value();
    const uint64_t path = std::min<uint64_t>(m_caches.path(r.line_pa).value(), spent);
    ct.fs[m_caches.remote(r.line_pa) ? kCtIcRemote : kCtIcLocal] += path;
    ct.fs[kCtDram] += spent - path;
  }
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
      data->b_transport(t, delay);  // at: waits inside for the memory's answer
      if (!t.is_response_ok()) {
        throw SimulationError(std::string(name()) + ": background line " + (write ? "write-back" : "prefetch fill") +
                              " at physical address " + format_hex(pa) + " failed: " + t.get_response_string());
      }
      if (delay != sc_core::SC_ZERO_TIME) sc_core::wait(delay);
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

bool Core::access_cached(Pid pid, const workload::MemOp& op, const mmu::Translation& tr, sc_core::sc_time access_time,
                         sc_core::sc_time delay) {
  const cache::AccessClass cls = op.kind == AccessKind::Write   ? cache::AccessClass::Store
                                 : op.kind == AccessKind::Fetch ? cache::AccessClass::Fetch
                                                                : cache::AccessClass::Load;
  if (!m_timed) {  // functional: states and counts, no time
    cache_access(cls, tr.pa.value(), op.ip, 0, false, delay, m_ct_data);
    move_data(op, tr.pa);
    if (op.kind == AccessKind::Write) {
      ++m_writes;
    } else {
      ++(op.kind == AccessKind::Fetch ? m_fetches : m_reads);
      if (m_check_data) check_read(pid, op, m_buf.data());
    }
    ++m_accesses;
    count_numa(tr.pa);
    m_control.count_access();
    return true;
  }
  const sc_core::sc_time now0 = sc_core::sc_time_stamp();
  const sc_core::sc_time before = now0 + delay;
  const uint64_t l2_before = m_ct_data.fs[kCtL2];
  const uint64_t mem_before = m_ct_data.fs[kCtDram] + m_ct_data.fs[kCtIcLocal] + m_ct_data.fs[kCtIcRemote];
  const uint64_t llc_before = m_ct_data.fs[kCtLlc];
  cache_access(cls, tr.pa.value(), op.ip, 0, false, delay, m_ct_data);
  move_data(op, tr.pa);
  if (cls != cache::AccessClass::Fetch &&
      (m_ct_data.fs[kCtL2] != l2_before || m_ct_data.fs[kCtLlc] != llc_before ||
       m_ct_data.fs[kCtDram] + m_ct_data.fs[kCtIcLocal] + m_ct_data.fs[kCtIcRemote] != mem_before)) {
    // Missed the L1D: the whole access's cache and memory time, by the deepest level it missed.
    const double cycles = static_cast<double>(((m_waits ? sc_core::sc_time_stamp() : now0) + delay - before).value()) /
                          static_cast<double>(m_period_fs);
    m_l1_miss_latency->sample(cycles);
    if (m_ct_data.fs[kCtLlc] != llc_before ||
        m_ct_data.fs[kCtDram] + m_ct_data.fs[kCtIcLocal] + m_ct_data.fs[kCtIcRemote] != mem_before) {
      m_l2_miss_latency->sample(cycles);
    }
    if (m_ct_data.fs[kCtDram] + m_ct_data.fs[kCtIcLocal] + m_ct_data.fs[kCtIcRemote] != mem_before) {
      m_llc_miss_latency->sample(cycles);
    }
  }
  if (op.kind == AccessKind::Write) {
    ++m_writes;
  } else {
    ++(op.kind == AccessKind::Fetch ? m_fetches : m_reads);
    if (m_check_data) check_read(pid, op, m_buf.data());
  }
  if (m_timed) {
    const sc_core::sc_time spent = (m_waits ? sc_core::sc_time_stamp() : now0) + delay - before;
    m_fs_data += spent.value();
    access_time += spent;
    m_qk.set(delay);
    m_access_latency.sample(static_cast<double>(access_time.value()) / static_cast<double>(m_period_fs));
  }
  ++m_accesses;
  count_numa(tr.pa);
  m_control.count_access();
  return true;
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
  cache_access(write ? cache::AccessClass::AdWrite : cache::AccessClass::PteRead, t.get_address(), 0,
               write ? 0 : level, false, delay, m_ct_walk);
  if (data->transport_dbg(t) != t.get_data_length()) {
    throw SimulationError(std::string(name()) + ": PTE access at physical address " + format_hex(t.get_address()) +
                          " failed (no memory there)");
  }
  t.set_response_status(tlm::TLM_OK_RESPONSE);
}

}  // namespace vmsim::cpu
