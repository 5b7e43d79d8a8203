// The event trace (sim.event_trace).
#include "models/cpu/event_trace.hpp"

#include "common/error.hpp"

namespace vmsim::cpu {

namespace {

const char* kind_name(AccessKind k) {
  switch (k) {
    case AccessKind::Write: return "store";
    case AccessKind::Fetch: return "fetch";
    default: return "load";
  }
}

const char* tlb_name(mmu::TlbHitLevel l) {
  switch (l) {
    case mmu::TlbHitLevel::L1: return "l1";
    case mmu::TlbHitLevel::L2: return "l2";
    default: return "miss";
  }
}

}  // namespace

EventTrace::EventTrace(const std::string& path, uint64_t from, uint64_t count)
    : m_path(path), m_out(path, std::ios::trunc), m_from(from), m_count(count) {
  if (!m_out) throw InputError(path + ": cannot write");
  m_out << "access,core,pid,kind,va,pa,tlb,lookups,walks,pte_reads,pte_served,faults,fault,core_cycles,"
           "translation_core_cycles,fault_core_cycles,data_core_cycles\n";
}

void EventTrace::write(const AccessEvent& e) {
  const mmu::TranslationTrace& t = *e.translation;
  m_out << e.index << ',' << e.core << ',' << e.pid << ',' << kind_name(e.kind) << ',' << format_hex(e.va) << ','
        << format_hex(e.pa) << ',' << tlb_name(t.first) << ',' << t.lookups << ',' << t.walks << ','
        << t.reads.size() << ',' << e.pte_served << ',' << e.faults << ',' << e.fault << ','
        << e.translation_cycles + e.fault_cycles + e.data_cycles << ',' << e.translation_cycles << ','
        << e.fault_cycles << ',' << e.data_cycles << '\n';
  if (!m_out) throw InputError(m_path + ": cannot write");
  ++m_rows;
}

}  // namespace vmsim::cpu
