// Golden checker: independent functional page-table walk.
#include "models/mmu/golden_checker.hpp"

#include "common/hashed_pt.hpp"
#include "common/units.hpp"

#include <cstdio>

namespace vmsim::mmu {
namespace {


}  // namespace

GoldenChecker::GoldenChecker(std::function<uint64_t(uint64_t)> read64, unsigned levels, uint64_t hash_buckets)
    : m_read64(std::move(read64)), m_levels(levels), m_hash_buckets(hash_buckets) {}

std::optional<GoldenTranslation> GoldenChecker::translate_hashed(uint64_t base, uint64_t va, uint16_t asid,
                                                                 std::string* trace) const {
  const uint64_t vpn = va >> 12;
  const uint64_t want = hpt::make_tag(asid, vpn);
  uint64_t entry = base + hpt::bucket_of(asid, vpn, m_hash_buckets) * 32;
  for (unsigned n = 0; n < hpt::kMaxChain; ++n) {
    const uint64_t tag = m_read64(entry);
    const uint64_t pte = m_read64(entry + 8);
    const uint64_t next = m_read64(entry + 16);
    if (trace != nullptr) {
      *trace += " [" + format_hex(entry) + "] tag=" + format_hex(tag) + " pte=" + format_hex(pte) +
                " next=" + format_hex(next);
    }
    if (tag == want) {
      if ((pte & 1) == 0 || ((pte >> 7) & 1)) return std::nullopt;  // not present, or PS (reserved here)
      return GoldenTranslation{(pte & 0x000FFFFFFFFFF000ull) >> 12, (pte & 2) != 0, (pte & 4) != 0, (pte >> 63) != 0,
                               false, 1};
    }
    if (next == 0) return std::nullopt;
    entry = next;
  }
  return std::nullopt;
}

std::optional<GoldenTranslation> GoldenChecker::translate(uint64_t root, uint64_t va, std::string* trace,
                                                          uint16_t asid) const {
  constexpr uint64_t kAddrBits = 0x000FFFFFFFFFF000ull;
  unsigned top_bit = 12 + 9 * m_levels - 1;
  uint64_t upper = va >> top_bit;
  if (upper != 0 && upper != (~0ull >> top_bit)) return std::nullopt;  // non-canonical
  if (m_hash_buckets != 0) return translate_hashed(root, va, asid, trace);
  uint64_t table = root & kAddrBits;
  bool w = true, u = true, nx = false;
  for (unsigned level = m_levels; level >= 1; --level) {
    unsigned shift = 12 + 9 * (level - 1);
    uint64_t entry_pa = table + ((va >> shift) & 511) * 8;
    uint64_t e = m_read64(entry_pa);
    if (trace != nullptr) {
      *trace += " L" + std::to_string(level) + "[" + format_hex(entry_pa) + "]=" + format_hex(e);
    }
    if ((e & 1) == 0) return std::nullopt;
    w = w && (e & 2);
    u = u && (e & 4);
    nx = nx || (e >> 63);
    bool ps = (e >> 7) & 1;
    if (level == 1 || (ps && level <= 3)) {
      if (ps && level >= 4) return std::nullopt;
      uint64_t frame = (e & kAddrBits) >> 12;
      uint64_t page_in_leaf = (va >> 12) & ((1ull << (9 * (level - 1))) - 1);
      if (frame & ((1ull << (9 * (level - 1))) - 1)) return std::nullopt;
      return GoldenTranslation{frame + page_in_leaf, w, u, nx, ((e >> 8) & 1) != 0, level};
    }
    if (ps) return std::nullopt;  // PS in PML4E/PML5E is reserved
    table = e & kAddrBits;
  }
  return std::nullopt;
}

std::string GoldenChecker::check(uint64_t root, uint64_t va, AccessKind kind, bool user_mode, bool mmu_fault,
                                 uint64_t mmu_pfn, const char* source, uint16_t asid, bool ac) const {
  ++m_checks;
  auto g = translate(root, va, nullptr, asid);
  bool allowed = false;
  if (g) {
    // Written apart from page_walk.hpp's rule on purpose: WP=1, U/S, XD, SMEP, SMAP with AC.
    const bool write = kind == AccessKind::Write, fetch = kind == AccessKind::Fetch;
    allowed = !(write && !g->writable) && !(fetch && g->no_execute);
    if (user_mode) {
      allowed = allowed && g->user;
    } else if (g->user) {
      allowed = allowed && !(fetch && m_smep) && !(!fetch && m_smap && !ac);
    }
  }
  // The kernel's direct map must map va - base with a global (not global under KPTI) supervisor leaf.
  // (Under KPTI user code runs under the user copy, which does not map it: no rule for user accesses.)
  const bool in_direct_map =
      m_dm_bytes != 0 && va >= m_dm_base && va - m_dm_base < m_dm_bytes && !(m_kpti && user_mode);
  const bool direct_map_ok =
      !in_direct_map || (g && g->pfn == (va - m_dm_base) >> 12 && g->global != m_kpti && !g->user && g->no_execute);
  // KPTI: user code never runs under a root that maps kernel memory (beyond the entry trampoline).
  if (m_kpti && user_mode && m_dm_bytes != 0 && translate(root, m_dm_base, nullptr, asid)) {
    return "golden checker: " + std::string(to_string(kind)) + " (user) of va " + format_hex(va) + " (root " +
           format_hex(root) + "): KPTI: user code runs under a root that maps the kernel's direct map";
  }
  if (direct_map_ok && (mmu_fault ? !allowed : (g && g->pfn == mmu_pfn && allowed))) return "";  // consistent
  std::string trace;
  translate(root, va, &trace, asid);
  std::string what = std::string(to_string(kind)) + (user_mode ? " (user)" : " (supervisor)") + " of va " +
                     format_hex(va) + " (root " + format_hex(root) + ")";
  if (!direct_map_ok) {
    return "golden checker: " + what + ": the kernel's direct map must map it to pfn " +
           format_hex((va - m_dm_base) >> 12) + " with a " + (m_kpti ? "non-global (KPTI)" : "global") +
           ", supervisor, no-execute leaf; walk:" + trace;
  }
  if (mmu_fault) {
    return "golden checker: " + what + ": " + source + " raised a page fault but the page tables map it to pfn " +
           format_hex(g->pfn) + " with the access allowed; walk:" + trace;
  }
  if (!g) {
    return "golden checker: " + what + ": " + source + " translated it to pfn " + format_hex(mmu_pfn) +
           " but the page tables do not map it (stale translation); walk:" + trace;
  }
  if (g->pfn != mmu_pfn) {
    return "golden checker: " + what + ": " + source + " translated it to pfn " + format_hex(mmu_pfn) +
           " but the page tables say pfn " + format_hex(g->pfn) + "; walk:" + trace;
  }
  return "golden checker: " + what + ": " + source + " allowed the access but the page tables forbid it (w=" +
         std::to_string(g->writable) + " u=" + std::to_string(g->user) + " nx=" + std::to_string(g->no_execute) +
         "); walk:" + trace;
}

}  // namespace vmsim::mmu
