// Golden checker of nested paging: independent two-dimensional walk.
#include "models/mmu/golden_nested.hpp"

#include "common/units.hpp"

namespace vmsim::mmu {
namespace {

constexpr uint64_t kAddr = 0x000FFFFFFFFFF000ull;

struct EptAnswer {
  int status = 0;  // 0 mapped, 1 not mapped, 2 misconfigured
  uint64_t hpa = 0;
  unsigned rwx = 0;
};

// The EPT translation of gpa under eptp, read from memory; trace gets the entries.
EptAnswer ept_lookup(const std::function<uint64_t(uint64_t)>& rd, uint64_t eptp, uint64_t gpa, std::string* trace) {
  const unsigned levels = static_cast<unsigned>((eptp >> 3) & 7) + 1;
  if (gpa >> (12 + 9 * levels)) return EptAnswer{1, 0, 0};
  uint64_t table = eptp & kAddr;
  unsigned rwx = 7;
  for (unsigned level = levels; level >= 1; --level) {
    const unsigned shift = 12 + 9 * (level - 1);
    const uint64_t at = table + ((gpa >> shift) & 511) * 8;
    const uint64_t e = rd(at);
    if (trace != nullptr) *trace += " E" + std::to_string(level) + "[" + format_hex(at) + "]=" + format_hex(e);
    const unsigned p = static_cast<unsigned>(e & 7);
    if (p == 0) return EptAnswer{1, 0, 0};
    if ((p & 2) && !(p & 1)) return EptAnswer{2, 0, 0};
    const bool ps = (e >> 7) & 1;
    if (ps && level >= 4) return EptAnswer{2, 0, 0};
    rwx &= p;
    if (level == 1 || ps) {
      const unsigned type = static_cast<unsigned>((e >> 3) & 7);
      if (type == 2 || type == 3 || type == 7) return EptAnswer{2, 0, 0};
      const uint64_t span = 1ull << shift;
      if ((e & kAddr) & (span - 1)) return EptAnswer{2, 0, 0};
      return EptAnswer{0, (e & kAddr) + (gpa & (span - 1)), rwx};
    }
    if (e & 0xF8) return EptAnswer{2, 0, 0};
    table = e & kAddr;
  }
  return EptAnswer{1, 0, 0};
}

}  // namespace

GoldenNested GoldenNestedChecker::translate(uint64_t eptp, uint64_t guest_root, unsigned guest_levels, uint64_t va,
                                            std::string* trace) const {
  GoldenNested g;
  const unsigned top = 12 + 9 * guest_levels - 1;
  const uint64_t upper = va >> top;
  if (upper != 0 && upper != (~0ull >> top)) return g;
  auto ept_fail = [&](const EptAnswer& a, uint64_t gpa) {
    g.kind = a.status == 1 ? GoldenNested::Kind::EptNotMapped : GoldenNested::Kind::EptMisconfig;
    g.fault_gpa = gpa;
    return g;
  };
  uint64_t table_gpa = guest_root & kAddr;
  bool w = true, u = true, nx = false;
  for (unsigned level = guest_levels; level >= 1; --level) {
    const unsigned shift = 12 + 9 * (level - 1);
    const uint64_t entry_gpa = table_gpa + ((va >> shift) & 511) * 8;
    const EptAnswer t = ept_lookup(m_read64, eptp, entry_gpa, trace);
    if (t.status != 0) return ept_fail(t, entry_gpa);
    const uint64_t e = m_read64(t.hpa);
    if (trace != nullptr) *trace += " G" + std::to_string(level) + "[" + format_hex(entry_gpa) + "]=" + format_hex(e);
    if ((e & 1) == 0) return g;
    w = w && (e & 2);
    u = u && (e & 4);
    nx = nx || (e >> 63);
    const bool ps = (e >> 7) & 1;
    if (ps && level >= 4) return g;
    if (level == 1 || ps) {
      const uint64_t span = 1ull << shift;
      if ((e & kAddr) & (span - 1)) return g;
      const uint64_t gpa = (e & kAddr) + (va & (span - 1));
      const EptAnswer f = ept_lookup(m_read64, eptp, gpa, trace);
      if (f.status != 0) return ept_fail(f, gpa);
      g.kind = GoldenNested::Kind::Mapped;
      g.hpfn = f.hpa >> 12;
      g.writable = w && (f.rwx & 2);
      g.user = u;
      g.no_execute = nx || !(f.rwx & 4);
      g.readable = (f.rwx & 1) != 0;
      return g;
    }
    table_gpa = e & kAddr;
  }
  return g;
}

std::string GoldenNestedChecker::check(uint64_t eptp, uint64_t guest_root, unsigned guest_levels, uint64_t va,
                                       AccessKind kind, bool user_mode, bool mmu_fault, uint64_t mmu_hpfn,
                                       const char* source) const {
  ++m_checks;
  const GoldenNested g = translate(eptp, guest_root, guest_levels, va);
  const bool mapped = g.kind == GoldenNested::Kind::Mapped;
  const bool allowed = mapped && !(user_mode && !g.user) && !(kind == AccessKind::Write && !g.writable) &&
                       !(kind == AccessKind::Fetch && g.no_execute) && !(kind == AccessKind::Read && !g.readable);
  if (mmu_fault ? !allowed : (allowed && g.hpfn == mmu_hpfn)) return "";
  std::string trace;
  translate(eptp, guest_root, guest_levels, va, &trace);
  std::string what = std::string("golden checker (nested): ") + to_string(kind) + " of guest va " + format_hex(va) +
                     " (guest root " + format_hex(guest_root) + ", EPTP " + format_hex(eptp) + "): " + source;
  if (mmu_fault) {
    return what + " faulted but the tables map it to host pfn " + format_hex(g.hpfn) + " with the access allowed; walk:" +
           trace;
  }
  if (!mapped) return what + " translated it to host pfn " + format_hex(mmu_hpfn) + " but the tables do not map it; walk:" + trace;
  if (g.hpfn != mmu_hpfn) {
    return what + " translated it to host pfn " + format_hex(mmu_hpfn) + " but the tables say host pfn " +
           format_hex(g.hpfn) + "; walk:" + trace;
  }
  return what + " allowed the access but the tables forbid it; walk:" + trace;
}

}  // namespace vmsim::mmu
