// Lock-step scoreboard of the RTL TLB against the model's TlbArray.
#include "testbench/scoreboard.hpp"

#include <algorithm>
#include <sstream>

namespace vmsim::rtl {

namespace {

// Fields that differ between two entries ("pfn, perm"), empty if equal.
std::string entry_diff(const mmu::TlbArrayEntry& a, const mmu::TlbArrayEntry& b) {
  std::string d;
  auto add = [&d](bool differ, const char* name) {
    if (differ) d += d.empty() ? name : std::string(", ") + name;
  };
  add(a.vpn != b.vpn, "vpn");
  add(a.pfn != b.pfn, "frame");
  add(a.size != b.size, "page size");
  add(a.leaf_size != b.leaf_size, "leaf size");
  add(a.pcid != b.pcid, "pcid");
  add(a.global != b.global, "global");
  add(a.writable != b.writable || a.user != b.user || a.no_execute != b.no_execute || a.dirty != b.dirty,
      "permissions");
  return d;
}

// What differs between the model's and the RTL's answers to an operation of kind k, empty if nothing.
std::string answer_diff(OpKind k, const Answer& m, const Answer& r) {
  std::string d;
  auto add = [&d](bool differ, const std::string& name) {
    if (differ) d += d.empty() ? name : ", " + name;
  };
  switch (k) {
    case OpKind::Lookup:
      add(m.hit != r.hit, "hit/miss");
      if (m.hit && r.hit) {
        add(m.set != r.set, "set");
        add(m.way != r.way, "way");
        const std::string e = entry_diff(m.entry, r.entry);
        add(!e.empty(), e);
      }
      break;
    case OpKind::Fill:
      add(m.fill.set != r.fill.set, "set");
      add(m.fill.way != r.fill.way, "victim way");
      add(m.fill.replaced != r.fill.replaced, "same-page replace");
      add(m.fill.evicted != r.fill.evicted, "eviction");
      add(m.fill.dropped != r.fill.dropped, "duplicates dropped");
      if (m.fill.evicted && r.fill.evicted) {
        const std::string e = entry_diff(m.fill.victim, r.fill.victim);
        add(!e.empty(), "victim " + e);
      }
      break;
    default:
      for (mmu::PageSize s : mmu::kAllPageSizes) {
        add(m.removed.by_size[mmu::size_index(s)] != r.removed.by_size[mmu::size_index(s)],
            std::string(mmu::to_string(s)) + " entries removed");
      }
      break;
  }
  return d;
}

// Fast check that the answers agree (answer_diff explains a disagreement).
bool answers_equal(OpKind k, const Answer& m, const Answer& r) {
  switch (k) {
    case OpKind::Lookup:
      return m.hit == r.hit && (!m.hit || (m.set == r.set && m.way == r.way && m.entry == r.entry));
    case OpKind::Fill:
      return m.fill.set == r.fill.set && m.fill.way == r.fill.way && m.fill.replaced == r.fill.replaced &&
             m.fill.evicted == r.fill.evicted && m.fill.dropped == r.fill.dropped &&
             (!m.fill.evicted || m.fill.victim == r.fill.victim);
    default:
      return m.removed.by_size == r.removed.by_size;
  }
}

}  // namespace

std::string describe(OpKind k, const Answer& a) {
  std::ostringstream s;
  switch (k) {
    case OpKind::Lookup:
      if (!a.hit) return "miss";
      s << "hit set " << a.set << " way " << a.way << ": " << describe(a.entry);
      break;
    case OpKind::Fill:
      s << "set " << a.fill.set << " way " << a.fill.way;
      if (a.fill.replaced) s << ", same page replaced";
      if (a.fill.dropped) s << ", " << a.fill.dropped << " duplicates dropped";
      if (a.fill.evicted) s << ", evicted " << describe(a.fill.victim);
      if (!a.fill.replaced && !a.fill.evicted) s << ", free way";
      break;
    default:
      s << "removed 4K " << a.removed.by_size[0] << ", 2M " << a.removed.by_size[1] << ", 1G "
        << a.removed.by_size[2];
      break;
  }
  return s.str();
}

Scoreboard::Scoreboard(RtlTlb& rtl, uint64_t seed, std::string reproduce)
    : m_rtl(rtl),
      m_model(rtl.params().model_config(), "cosim.model"),
      m_seed(seed),
      m_reproduce(std::move(reproduce)),
      m_coverage(rtl.params().ways, rtl.params().page_sizes, rtl.params().replacement) {}

Answer Scoreboard::run_model(const TlbOp& op) {
  Answer a;
  switch (op.kind) {
    case OpKind::Lookup: {
      const mmu::TlbHit h = m_model.lookup(op.va, op.pcid);
      a.hit = static_cast<bool>(h);
      if (h) {
        a.set = h.set;
        a.way = h.way;
        a.entry = *h.entry;
      }
      break;
    }
    case OpKind::Fill:
      a.fill = m_model.fill(op.entry);
      a.set = a.fill.set;
      a.way = a.fill.way;
      break;
    case OpKind::Invlpg:
      a.removed = m_model.invlpg(op.va, op.pcid);
      break;
    case OpKind::InvAddr:
      a.removed = m_model.invpcid(mmu::InvpcidType::IndividualAddress, op.pcid, op.va);
      break;
    case OpKind::InvPcid:
      a.removed = m_model.invpcid(mmu::InvpcidType::SingleContext, op.pcid);
      break;
    case OpKind::FlushNonGlobal:
      a.removed = m_model.flush_non_global();
      break;
    case OpKind::FlushAll:
      a.removed = m_model.flush_all();
      break;
  }
  return a;
}

Answer Scoreboard::run_rtl(const TlbOp& op) {
  Answer a;
  m_rtl.stall_next(op.stall);
  switch (op.kind) {
    case OpKind::Lookup: {
      const RtlLookup l = m_rtl.lookup(op.va, op.pcid);
      a.hit = l.hit;
      a.set = l.set;
      a.way = l.way;
      a.entry = l.entry;
      break;
    }
    case OpKind::Fill:
      a.fill = m_rtl.fill(op.entry);
      a.set = a.fill.set;
      a.way = a.fill.way;
      break;
    case OpKind::Invlpg:
      a.removed = m_rtl.invlpg(op.va, op.pcid);
      break;
    case OpKind::InvAddr:
      a.removed = m_rtl.invpcid(mmu::InvpcidType::IndividualAddress, op.pcid, op.va);
      break;
    case OpKind::InvPcid:
      a.removed = m_rtl.invpcid(mmu::InvpcidType::SingleContext, op.pcid);
      break;
    case OpKind::FlushNonGlobal:
      a.removed = m_rtl.flush_non_global();
      break;
    case OpKind::FlushAll:
      a.removed = m_rtl.flush_all();
      break;
  }
  return a;
}

Answer Scoreboard::step(const TlbOp& op) {
  if (m_op_limit != 0 && m_ops >= m_op_limit) throw OpLimitReached();
  if (!m_wave_path.empty() && m_ops == m_wave_from && !m_rtl.tracing()) m_rtl.open_trace(m_wave_path);

  // Coverage inputs that depend on the state before the operation.
  uint64_t plru_before = 0;
  bool splinter_removed = false;
  int rank = -1;
  if (op.kind == OpKind::Fill) {
    plru_before = m_model.replacement().plru_bits(m_model.set_index(addr_of(op.entry.vpn), op.entry.size));
  } else if (op.kind == OpKind::Lookup && m_model.replacement().policy() != mmu::ReplacementPolicy::Plru) {
    const mmu::TlbHit h = m_model.peek(op.va, op.pcid);
    if (h) rank = static_cast<int>(m_model.replacement().rank(h.set, h.way));
  } else if (op.kind == OpKind::Invlpg || op.kind == OpKind::InvAddr) {
    for (uint32_t s = 0; s < m_model.sets() && !splinter_removed; ++s) {
      for (uint32_t w = 0; w < m_model.ways(); ++w) {
        const mmu::TlbArrayEntry& e = m_model.at(s, w);
        const bool pcid_ok = op.kind == OpKind::Invlpg ? (e.global || e.pcid == op.pcid) : (!e.global && e.pcid == op.pcid);
        if (e.valid && e.leaf_size != e.size && e.leaf_covers(op.va) && pcid_ok) splinter_removed = true;
      }
    }
  }

  const uint64_t cycle = m_rtl.cycles();
  const Answer model = run_model(op);
  Answer rtl;
  try {
    rtl = run_rtl(op);
  } catch (const RtlAssertionError& e) {
    fail(op, model, nullptr, e.what());
  }
  if (!answers_equal(op.kind, model, rtl)) fail(op, model, &rtl, "differs in " + answer_diff(op.kind, model, rtl));

  sample_coverage(op, model, plru_before, splinter_removed, rank);
  m_recent[m_ops % m_recent.size()] = Record{m_ops, cycle, op, model};
  ++m_ops;
  return model;
}

void Scoreboard::sample_coverage(const TlbOp& op, const Answer& model, uint64_t plru_bits_before,
                                 bool splinter_removed, int rank) {
  const bool has_pcid = op.kind != OpKind::FlushAll && op.kind != OpKind::FlushNonGlobal;
  const bool reused = has_pcid && m_last_pcid == static_cast<int>(op.pcid);
  switch (op.kind) {
    case OpKind::Lookup:
      m_coverage.lookup(model.hit, model.entry.size, model.hit && model.entry.global && model.entry.pcid != op.pcid,
                        reused, rank);
      break;
    case OpKind::Fill:
      m_coverage.fill(op.entry, model.fill, plru_bits_before);
      break;
    default:
      m_coverage.invalidate(op.kind, model.removed, splinter_removed);
      break;
  }
  m_coverage.stall(op.stall);
  if (has_pcid) m_last_pcid = op.pcid;
}

void Scoreboard::fail(const TlbOp& op, const Answer& model, const Answer* rtl, const std::string& what) {
  std::ostringstream s;
  const RtlTlbParams& p = m_rtl.params();
  s << "MISMATCH at operation " << m_ops << " (RTL cycle " << m_rtl.cycles() - 1 << "), seed " << m_seed
    << ", variant " << p.describe() << "\n";
  s << "  operation: " << describe(op) << "\n";
  s << "  model:     " << describe(op.kind, model) << "\n";
  if (rtl) {
    s << "  rtl:       " << describe(op.kind, *rtl) << "\n";
  } else {
    s << "  rtl:       no answer\n";
  }
  s << "  " << what << "\n";
  s << "  recent operations (oldest first; model answers):\n";
  const uint64_t n = std::min<uint64_t>(m_ops, m_recent.size());
  for (uint64_t i = m_ops - n; i < m_ops; ++i) {
    const Record& r = m_recent[i % m_recent.size()];
    s << "    #" << r.index << " cycle " << r.cycle << ": " << describe(r.op) << " -> " << describe(r.op.kind, r.answer)
      << "\n";
  }
  s << "  reproduce: " << m_reproduce << " --ops " << m_ops + 1 << "\n";
  m_report = s.str();
  m_failed_op = m_ops;
  throw Divergence(what);
}

}  // namespace vmsim::rtl
