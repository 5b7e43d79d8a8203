// Hardware page walker shell.
#include "models/mmu/walker.hpp"

#include "models/mmu/hashed_walk.hpp"

#include <algorithm>
#include <stdexcept>

namespace vmsim::mmu {

void WalkerConfig::validate(const std::string& path) const {
  config::require(levels == 4 || levels == 5, path, "levels", std::to_string(levels), "must be 4 or 5");
  config::require(hash_buckets >= 2 && hash_buckets <= (1ull << 26) && (hash_buckets & (hash_buckets - 1)) == 0, path,
                  "hash_buckets", std::to_string(hash_buckets), "must be a power of two from 2 to 67108864");
  config::require(max_walks >= 1 && max_walks <= 16, path, "max_walks", std::to_string(max_walks),
                  "must be between 1 and 16");
  config::require(pwc.pml5e <= 4096 && pwc.pml4e <= 4096 && pwc.pdpte <= 4096 && pwc.pde <= 4096, path, "pwc",
                  "", "page-walk caches hold at most 4096 entries each");
}

Walker::Walker(const sc_core::sc_module_name& name, const WalkerConfig& cfg, sc_core::sc_time core_period, bool timed,
               bool waits)
    : sc_core::sc_module(name),
      mem("mem"),
      m_cfg(cfg),
      m_core_period(core_period),
      m_timed(timed),
      m_waits(waits),
      m_period_fs(static_cast<uint64_t>(core_period.value())) {
  m_step = core_period * static_cast<double>(cfg.step_latency);
  m_pwc_time = core_period * static_cast<double>(cfg.pwc.latency);
  for (uint64_t i = 0; i < (waits ? cfg.max_walks : 1); ++i) {
    m_slots.push_back(std::make_unique<Slot>());
    Slot& sl = *m_slots.back();
    sl.trans.set_data_ptr(reinterpret_cast<unsigned char*>(&sl.buf));
    sl.trans.set_data_length(8);
    sl.trans.set_streaming_width(8);
    sl.entry_trans.set_data_ptr(reinterpret_cast<unsigned char*>(sl.entry.data()));
    sl.entry_trans.set_data_length(hpt::kEntryBytes);
    sl.entry_trans.set_streaming_width(hpt::kEntryBytes);
    for (tlm::tlm_generic_payload* t : {&sl.trans, &sl.entry_trans}) {
      t->set_byte_enable_ptr(nullptr);
      t->set_dmi_allowed(false);
    }
  }
  const uint64_t sizes[] = {cfg.pwc.pde, cfg.pwc.pdpte, cfg.pwc.pml4e, cfg.levels == 5 ? cfg.pwc.pml5e : 0};
  const char* names[] = {"pde_hits", "pdpte_hits", "pml4e_hits", "pml5e_hits"};
  for (unsigned i = 0; i < 4; ++i) {
    m_pwc.push_back(std::make_unique<PageWalkCache>(i + 2, sizes[i]));
    m_pwc_hits[i] = std::make_unique<stats::Scalar>(
        m_pwc_stats, names[i], "count", std::string("Walks resumed from the ") + (names[i]) + " cache level");
  }
}

void Walker::transport(tlm::tlm_generic_payload& t, tlm::tlm_command cmd, PhysAddr pa, sc_core::sc_time& delay,
                       uint64_t& fs_memory) {
  t.set_command(cmd);
  t.set_address(pa.value());
  t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  if (m_cached) {
    const sc_core::sc_time before = sc_core::sc_time_stamp() + delay;
    m_cached(t, m_level, delay);
    if (m_timed) fs_memory += (sc_core::sc_time_stamp() + delay - before).value();
  } else if (m_timed) {
    // Absolute times: in the AT mode the call waits and returns a smaller annotation.
    const sc_core::sc_time before = sc_core::sc_time_stamp() + delay;
    mem->b_transport(t, delay);
    fs_memory += (sc_core::sc_time_stamp() + delay - before).value();
  } else {
    mem->transport_dbg(t);
    t.set_response_status(tlm::TLM_OK_RESPONSE);
  }
  if (!t.is_response_ok()) {
    throw std::runtime_error(std::string(name()) + ": PTE access at physical address " + std::to_string(pa.value()) +
                             " failed: " + t.get_response_string());
  }
}

uint64_t Walker::read_pte(Slot& s, PhysAddr pa, sc_core::sc_time& delay) {
  ++m_pte_reads;
  if (s.supervisor) ++m_supervisor_pte_reads;
  if (m_read_log != nullptr) m_read_log->push_back({static_cast<uint8_t>(m_level), pa.value(), nullptr});
  if (m_timed) {
    delay += m_step;
    (s.supervisor ? m_fs_supervisor : m_fs_steps) += m_step.value();
  }
  transport(s.trans, tlm::TLM_READ_COMMAND, pa, delay, s.supervisor ? m_fs_supervisor : m_fs_memory);
  return s.buf;  // x86 and the host are both little-endian
}

void Walker::write_pte(Slot& s, PhysAddr pa, uint64_t value, sc_core::sc_time& delay) {
  ++m_ad_updates;
  s.buf = value;
  transport(s.trans, tlm::TLM_WRITE_COMMAND, pa, delay, s.supervisor ? m_fs_supervisor : m_fs_memory);
}

Walker::Slot* Walker::in_flight(uint64_t vpn, uint16_t asid) {
  for (auto& s : m_slots) {
    if (s->busy && s->vpn == vpn && s->asid == asid) return s.get();
  }
  return nullptr;
}

Walker::Slot& Walker::acquire(uint64_t vpn, uint16_t asid) {
  for (bool waited = false;; waited = true) {
    for (auto& s : m_slots) {
      if (s->busy) continue;
      s->busy = true;
      s->vpn = vpn;
      s->asid = asid;
      m_peak_value = std::max(m_peak_value, ++m_busy);
      if (waited) ++m_slot_waits;
      return *s;
    }
    if (!m_waits) throw std::logic_error(std::string(name()) + ": a second walk started while one is in flight");
    sc_core::wait(m_slot_freed);
  }
}

void Walker::release(Slot& s) {
  s.busy = false;
  --m_busy;
  s.done.notify(sc_core::SC_ZERO_TIME);
  m_slot_freed.notify(sc_core::SC_ZERO_TIME);
}

WalkResult Walker::walk(PhysAddr root, uint16_t pcid, const WalkRequest& req, sc_core::sc_time& delay) {
  Slot& s = acquire(req.va.value() >> kPageShift, pcid);
  WalkResult r = walk(s, root, pcid, req, delay);
  release(s);
  return r;
}

uint64_t Walker::debug_read64(uint64_t pa) {
  uint64_t v = 0;
  m_dbg_trans.set_command(tlm::TLM_READ_COMMAND);
  m_dbg_trans.set_address(pa);
  m_dbg_trans.set_data_ptr(reinterpret_cast<unsigned char*>(&v));
  m_dbg_trans.set_data_length(8);
  m_dbg_trans.set_streaming_width(8);
  if (mem->transport_dbg(m_dbg_trans) != 8) {
    throw std::runtime_error(std::string(name()) + ": debug read at physical address " + std::to_string(pa) +
                             " failed");
  }
  return v;
}

void Walker::flush_pcid(uint16_t pcid) {
  for (auto& c : m_pwc) c->flush_pcid(pcid);
}

void Walker::flush_all() {
  for (auto& c : m_pwc) c->flush_all();
}

void Walker::count_fault(const WalkResult& r) {
  if (!r.fault) return;
  ++m_faults;
  if (r.pte_reads == 0) {
    ++m_f_noncanonical;
  } else if (r.error_code & pf_err::kReserved) {
    ++m_f_reserved;
  } else if (r.error_code & pf_err::kPresent) {
    ++m_f_protection;
  } else {
    ++m_f_not_present;
  }
}

WalkResult Walker::walk_hashed(Slot& s, PhysAddr base, uint16_t asid, const WalkRequest& req,
                               sc_core::sc_time& delay) {
  const sc_core::sc_time start = sc_core::sc_time_stamp() + delay;
  HashedWalk w(base, m_cfg.hash_buckets, asid, static_cast<unsigned>(m_cfg.levels), req, m_cfg.ad_updates);
  while (!w.done()) {
    const PhysAddr addr = w.entry_address();
    ++m_pte_reads;
    if (m_read_log != nullptr) m_read_log->push_back({0, addr.value(), nullptr});
    if (m_timed) {
      delay += m_step;
      m_fs_steps += m_step.value();
    }
    transport(s.entry_trans, tlm::TLM_READ_COMMAND, addr, delay, m_fs_memory);
    w.feed(s.entry);
    if (w.has_ad_update()) write_pte(s, PhysAddr{addr.value() + hpt::kPteOffset}, w.ad_update(), delay);
  }
  const WalkResult& r = w.result();
  count_fault(r);
  if (m_timed) m_latency.sample(static_cast<uint64_t>((sc_core::sc_time_stamp() + delay - start) / m_core_period));
  return r;
}

WalkResult Walker::walk(Slot& slot, PhysAddr root, uint16_t pcid, const WalkRequest& req, sc_core::sc_time& delay) {
  ++m_walks;
  if (hashed()) {
    m_level = 0;
    return walk_hashed(slot, root, pcid, req, delay);
  }
  const sc_core::sc_time start = sc_core::sc_time_stamp() + delay;  // absolute: AT transactions wait
  const unsigned levels = static_cast<unsigned>(m_cfg.levels);
  // Probe the page-walk caches, lowest level first: the deepest hit saves the most reads.
  PageWalk w(root, levels, req, m_cfg.ad_updates);
  slot.supervisor = !req.user;
  if (slot.supervisor) ++m_supervisor_walks;
  if (m_timed) {
    delay += m_pwc_time;
    (slot.supervisor ? m_fs_supervisor : m_fs_pwc) += m_pwc_time.value();
  }
  bool resumed = false;
  if (is_canonical(req.va, levels)) {
    for (unsigned lvl = 2; lvl <= levels && !resumed; ++lvl) {
      if (const PageWalkCache::Hit* h = m_pwc[lvl - 2]->lookup(req.va, pcid)) {
        ++*m_pwc_hits[lvl - 2];
        w = PageWalk(h->table, lvl - 1, levels, req, h->rights, m_cfg.ad_updates);
        resumed = true;
      }
    }
  }
  if (!resumed) ++m_pwc_misses;
  while (!w.done()) {
    PhysAddr addr = w.pte_address();
    unsigned lvl = w.level();
    m_level = lvl;
    Pte pte{read_pte(slot, addr, delay)};
    w.feed(pte);
    if (w.has_ad_update()) write_pte(slot, addr, w.ad_update(), delay);
    // A present non-leaf entry: remember it (the walk continues in the table it points to).
    if (!w.done() && lvl >= 2) m_pwc[lvl - 2]->insert(req.va, pcid, PhysAddr{pte.frame_addr()}, w.rights());
  }
  const WalkResult& r = w.result();
  count_fault(r);
  if (m_timed) m_latency.sample(static_cast<uint64_t>((sc_core::sc_time_stamp() + delay - start) / m_core_period));
  return r;
}

}  // namespace vmsim::mmu
