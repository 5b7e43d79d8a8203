// The kernel half: the direct map's shared upper-level tables.
#include "firmware/vm/kernel_half.hpp"

#include <string>

#include "common/error.hpp"
#include "common/units.hpp"

namespace vmsim::fw {
namespace {

// Kernel tables and leaves: supervisor (U=0), writable, Accessed and Dirty set (Linux's _KERNPG_TABLE and
// __PAGE_KERNEL), so the walker never writes them back.
constexpr uint64_t kTable = pte_bit::kPresent | pte_bit::kWritable | pte_bit::kAccessed | pte_bit::kDirty;
constexpr uint64_t kLeaf = kTable | pte_bit::kGlobal | pte_bit::kNoExecute;
// The entry trampoline (KPTI): global, supervisor, read-only, executable (Linux maps its entry text so).
constexpr uint64_t kTrampolineLeaf = pte_bit::kPresent | pte_bit::kAccessed | pte_bit::kDirty | pte_bit::kGlobal;

}  // namespace

KernelHalf::KernelHalf(unsigned levels, uint64_t phys_bytes, bool gbpages, Pfn first, Pfn limit, bool kpti)
    : m_levels(levels), m_bytes(phys_bytes), m_root(first), m_next(first), m_limit(limit), m_kpti(kpti) {
  const uint64_t leaf_flags = kpti ? kLeaf & ~pte_bit::kGlobal : kLeaf;
  slot(base(), levels);  // the root table exists even with nothing mapped
  uint64_t pa = 0;
  while (pa < phys_bytes) {
    unsigned level = 1;
    if (gbpages && pa % level_span(3) == 0 && phys_bytes - pa >= level_span(3)) {
      level = 3;
    } else if (pa % level_span(2) == 0 && phys_bytes - pa >= level_span(2)) {
      level = 2;
    }
    slot(base() + pa, level) =
        Pte::make(pfn_of(PhysAddr{pa}), leaf_flags | (level > 1 ? pte_bit::kPageSize : 0)).raw();
    ++m_leaves[level - 1];
    pa += level_span(level);
  }
  if (kpti) {
    uint64_t& e = slot(kTrampolineVa, 1);  // its tables first, then the page after them
    m_trampoline = m_next;
    if (m_trampoline.value() >= m_limit.value()) {
      throw InputError("firmware.reserved_low: bad value '" + format_bytes(Bytes{m_limit.value() << kPageShift}) +
                       "' (the kernel half's tables and the KPTI entry trampoline do not fit below it; raise it)");
    }
    e = Pte::make(m_trampoline, kTrampolineLeaf).raw();
  }
}

uint64_t& KernelHalf::slot(uint64_t va, unsigned level) {
  Pfn table = m_root;
  for (unsigned l = m_levels;; --l) {
    if (m_tables.find(table.value()) == m_tables.end()) {
      if (table.value() >= m_limit.value()) {
        throw InputError("firmware.reserved_low: bad value '" + format_bytes(Bytes{m_limit.value() << kPageShift}) +
                         "' (the kernel half's tables of the direct map of " + format_bytes(Bytes{m_bytes}) +
                         " do not fit below it; raise it or set firmware.kernel_virtual_access: false)");
      }
      m_tables[table.value()].fill(0);
      m_next = Pfn{table.value() + 1};
    }
    uint64_t& e = m_tables[table.value()][pt_index(VirtAddr{va}, l)];
    if (l == level) return e;
    if (!Pte{e}.present()) e = Pte::make(m_next, kTable).raw();
    table = Pte{e}.pfn();
  }
}

void KernelHalf::build(Hal& hal) {
  for (const auto& [pfn, entries] : m_tables) {
    hal.write_block(addr_of(Pfn{pfn}), reinterpret_cast<const uint8_t*>(entries.data()), kPageSize);
  }
  m_built = true;
}

void KernelHalf::install_user(Hal& hal, PhysAddr user_root) const {
  const unsigned top = pt_index(VirtAddr{kTrampolineVa}, m_levels);
  hal.write64(PhysAddr{user_root.value() + 8ull * top}, m_tables.at(m_root.value())[top]);
}

void KernelHalf::install(Hal& hal, PhysAddr root) const {
  const auto& top = m_tables.at(m_root.value());
  hal.write_block(PhysAddr{root.value() + 256 * 8}, reinterpret_cast<const uint8_t*>(top.data() + 256), 256 * 8);
}

}  // namespace vmsim::fw
