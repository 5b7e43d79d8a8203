// Firmware page-table code.
#include "firmware/vm/page_table.hpp"

#include <array>

namespace vmsim::fw {
namespace {

constexpr uint64_t kTableFlags = pte_bit::kPresent | pte_bit::kWritable | pte_bit::kUser;

PhysAddr entry_addr(PhysAddr table, VirtAddr va, unsigned level) {
  return PhysAddr{table.value() + 8ull * pt_index(va, level)};
}

void destroy_level(Hal& hal, PhysAddr table, unsigned level, const std::function<void(Pfn)>& free_data,
                   const std::function<void(Pfn)>& free_table, const std::function<void(Pfn, unsigned)>& free_huge,
                   const std::function<void(uint64_t)>& free_swap, TeardownCounts& counts, bool root = false) {
  std::array<uint64_t, 512> entries;
  hal.read_block(table, reinterpret_cast<uint8_t*>(entries.data()), kPageSize);
  // The root's upper half is the kernel's, shared by every address space: only the user half is freed.
  const unsigned end = root ? 256 : 512;
  for (unsigned i = 0; i < end; ++i) {
    const uint64_t raw = entries[i];
    Pte e{raw};
    if (level == 1 && is_swap_entry(e)) {
      if (free_swap) free_swap(raw);
      continue;
    }
    // A PROT_NONE page (4 KiB, or a 1 GiB leaf) keeps its frame with P clear.
    if (!e.present() && !((raw & kSoftProtNone) && e.pfn().value() != 0 && (level == 1 || e.huge()))) continue;
    if (level == 1) {
      free_data(e.pfn());
      ++counts.data_frames;
    } else if (e.huge()) {
      if (free_huge) {
        free_huge(e.pfn(), level);
      } else {
        free_data(e.pfn());
      }
      counts.data_frames += level_span(level) >> kPageShift;
    } else {
      destroy_level(hal, e.frame_addr(), level - 1, free_data, free_table, free_huge, free_swap, counts);
    }
  }
  free_table(pfn_of(table));
  ++counts.table_frames;
}

// Visits the level-1 entries in [start, end) that are mapped leaves (swap == false) or swap entries (true).
uint64_t leaf_level(Hal& hal, PhysAddr table, unsigned level, uint64_t table_base, uint64_t start, uint64_t end,
                    const LeafVisitor& fn, bool swap) {
  std::array<uint64_t, 512> entries;
  hal.read_block(table, reinterpret_cast<uint8_t*>(entries.data()), kPageSize);
  const uint64_t span = level_span(level);
  uint64_t visited = 0;
  for (unsigned i = 0; i < 512; ++i) {
    const uint64_t lo = table_base + i * span;
    if (lo + span <= start || lo >= end) continue;
    Pte e{entries[i]};
    if (level == 1) {
      const bool protnone = (entries[i] & kSoftProtNone) && e.pfn().value() != 0;
      if (swap ? !is_swap_entry(e) : (!e.present() && !protnone)) continue;
      ++visited;
      PhysAddr ea{table.value() + 8ull * i};
      std::optional<uint64_t> nv = fn(VirtAddr{lo}, ea, e);
      if (nv && *nv != e.raw()) hal.write64(ea, *nv);
    } else if (e.present() && !e.huge()) {
      visited += leaf_level(hal, e.frame_addr(), level - 1, lo, start, end, fn, swap);
    }
  }
  return visited;
}

}  // namespace

void write_top_entry(Hal& hal, PhysAddr root, PhysAddr user_root, unsigned index, uint64_t value) {
  hal.write64(PhysAddr{root.value() + 8ull * index}, value);
  if (user_root.value() != 0 && index < 256) hal.write64(PhysAddr{user_root.value() + 8ull * index}, value);
}

uint64_t for_each_leaf(Hal& hal, PhysAddr root, unsigned levels, VirtAddr start, VirtAddr end, const LeafVisitor& fn) {
  if (end.value() <= start.value()) return 0;
  return leaf_level(hal, root, levels, 0, start.value(), end.value(), fn, false);
}

uint64_t for_each_swap_entry(Hal& hal, PhysAddr root, unsigned levels, VirtAddr start, VirtAddr end,
                             const LeafVisitor& fn) {
  if (end.value() <= start.value()) return 0;
  return leaf_level(hal, root, levels, 0, start.value(), end.value(), fn, true);
}

std::optional<PhysAddr> leaf_entry(Hal& hal, PhysAddr root, unsigned levels, VirtAddr va) {
  PhysAddr table = root;
  for (unsigned level = levels; level > 1; --level) {
    PhysAddr ea = entry_addr(table, va, level);
    Pte e{hal.read64(ea)};
    if (e.huge() && (e.present() || (e.raw() & kSoftProtNone))) return ea;  // a huge leaf, maybe PROT_NONE
    if (!e.present()) return std::nullopt;
    table = e.frame_addr();
  }
  return entry_addr(table, va, 1);
}

std::optional<PhysAddr> entry_at(Hal& hal, PhysAddr root, unsigned levels, VirtAddr va, unsigned level) {
  PhysAddr table = root;
  for (unsigned l = levels; l > level; --l) {
    Pte e{hal.read64(entry_addr(table, va, l))};
    if (!e.present() || e.huge()) return std::nullopt;
    table = e.frame_addr();
  }
  return entry_addr(table, va, level);
}

bool map_huge(Hal& hal, PhysAddr root, unsigned levels, VirtAddr va, unsigned level, Pfn pfn, uint64_t leaf_flags,
              const TableAllocator& alloc_table, PhysAddr user_root) {
  PhysAddr table = root;
  for (unsigned l = levels; l > level; --l) {
    PhysAddr ea = entry_addr(table, va, l);
    Pte e{hal.read64(ea)};
    if (!e.present()) {
      std::optional<Pfn> t = alloc_table();
      if (!t) return false;
      e = Pte::make(*t, kTableFlags);
      if (l == levels) {
        write_top_entry(hal, root, user_root, pt_index(va, l), e.raw());
      } else {
        hal.write64(ea, e.raw());
      }
    } else if (e.huge()) {
      return false;
    }
    table = e.frame_addr();
  }
  PhysAddr ea = entry_addr(table, va, level);
  const Pte old{hal.read64(ea)};
  if (old.present() || (old.raw() & kSoftProtNone)) return false;
  hal.write64(ea, Pte::make(pfn, leaf_flags | pte_bit::kPresent | pte_bit::kPageSize).raw());
  return true;
}

std::optional<Pfn> split_huge(Hal& hal, PhysAddr root, unsigned levels, VirtAddr va, const TableAllocator& alloc_table) {
  std::optional<PhysAddr> ea = leaf_entry(hal, root, levels, va);
  if (!ea) return std::nullopt;
  Pte e{hal.read64(*ea)};
  if (!e.huge()) return std::nullopt;
  std::optional<Pfn> t = alloc_table();
  if (!t) return std::nullopt;
  const uint64_t flags = e.raw() & ~pte_bit::kPfnMask & ~pte_bit::kPageSize;
  std::array<uint64_t, 512> entries;
  for (unsigned i = 0; i < 512; ++i) entries[i] = Pte::make(Pfn{e.pfn().value() + i}, flags).raw();
  hal.write_block(addr_of(*t), reinterpret_cast<const uint8_t*>(entries.data()), kPageSize);
  hal.write64(*ea, Pte::make(*t, kTableFlags).raw());
  return t;
}

namespace {

void huge_level(Hal& hal, PhysAddr table, unsigned level, uint64_t base, uint64_t start, uint64_t end,
                unsigned want, std::vector<VirtAddr>& out) {
  std::array<uint64_t, 512> entries;
  hal.read_block(table, reinterpret_cast<uint8_t*>(entries.data()), kPageSize);
  const uint64_t span = level_span(level);
  for (unsigned i = 0; i < 512; ++i) {
    const uint64_t lo = base + i * span;
    if (lo + span <= start || lo >= end) continue;
    Pte e{entries[i]};
    if (!e.present() && !(e.huge() && (entries[i] & kSoftProtNone))) continue;
    if (e.huge()) {
      if (level == want) out.push_back(VirtAddr{lo});
    } else if (level > want) {
      huge_level(hal, e.frame_addr(), level - 1, lo, start, end, want, out);
    }
  }
}

}  // namespace

std::vector<VirtAddr> huge_leaves(Hal& hal, PhysAddr root, unsigned levels, VirtAddr start, VirtAddr end,
                                  unsigned level) {
  std::vector<VirtAddr> out;
  if (end.value() > start.value()) huge_level(hal, root, levels, 0, start.value(), end.value(), level, out);
  return out;
}

namespace {

// Address of va's level-1 entry, linking missing tables from alloc_table; nullopt if one was unavailable.
std::optional<PhysAddr> leaf_slot(Hal& hal, PhysAddr root, unsigned levels, VirtAddr va,
                                  const TableAllocator& alloc_table, PhysAddr user_root) {
  PhysAddr table = root;
  for (unsigned level = levels; level > 1; --level) {
    PhysAddr ea = entry_addr(table, va, level);
    Pte e{hal.read64(ea)};
    if (!e.present()) {
      std::optional<Pfn> t = alloc_table();
      if (!t) return std::nullopt;
      e = Pte::make(*t, kTableFlags);
      if (level == levels) {
        write_top_entry(hal, root, user_root, pt_index(va, level), e.raw());
      } else {
        hal.write64(ea, e.raw());
      }
    }
    table = e.frame_addr();
  }
  return entry_addr(table, va, 1);
}

}  // namespace

bool map_page(Hal& hal, PhysAddr root, unsigned levels, VirtAddr va, Pfn pfn, uint64_t leaf_flags, const TableAllocator& alloc_table,
              PhysAddr* leaf, PhysAddr user_root) {
  const std::optional<PhysAddr> ea = leaf_slot(hal, root, levels, va, alloc_table, user_root);
  if (!ea) return false;
  if (leaf != nullptr) *leaf = *ea;
  hal.write64(*ea, Pte::make(pfn, leaf_flags | pte_bit::kPresent).raw());
  return true;
}

bool set_leaf(Hal& hal, PhysAddr root, unsigned levels, VirtAddr va, uint64_t raw, const TableAllocator& alloc_table,
              PhysAddr user_root) {
  const std::optional<PhysAddr> ea = leaf_slot(hal, root, levels, va, alloc_table, user_root);
  if (!ea) return false;
  hal.write64(*ea, raw);
  return true;
}

Pte lookup_page(Hal& hal, PhysAddr root, unsigned levels, VirtAddr va) {
  PhysAddr table = root;
  for (unsigned level = levels; level >= 1; --level) {
    Pte e{hal.read64(entry_addr(table, va, level))};
    if (!e.present()) return Pte{0};
    if (level == 1) return e;
    table = e.frame_addr();
  }
  return Pte{0};
}

TeardownCounts destroy_tables(Hal& hal, PhysAddr root, unsigned levels, const std::function<void(Pfn)>& free_data,
                              const std::function<void(Pfn)>& free_table,
                              const std::function<void(Pfn, unsigned)>& free_huge,
                              const std::function<void(uint64_t)>& free_swap) {
  TeardownCounts counts;
  destroy_level(hal, root, levels, free_data, free_table, free_huge, free_swap, counts, true);
  return counts;
}

}  // namespace vmsim::fw
