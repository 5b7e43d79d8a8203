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
                   const std::function<void(Pfn)>& free_table, TeardownCounts& counts) {
  std::array<uint64_t, 512> entries;
  hal.read_block(table, reinterpret_cast<uint8_t*>(entries.data()), kPageSize);
  for (uint64_t raw : entries) {
    Pte e{raw};
    if (!e.present()) continue;
    if (level == 1) {
      free_data(e.pfn());
      ++counts.data_frames;
    } else {
      destroy_level(hal, e.frame_addr(), level - 1, free_data, free_table, counts);
    }
  }
  free_table(pfn_of(table));
  ++counts.table_frames;
}

}  // namespace

bool map_page(Hal& hal, PhysAddr root, unsigned levels, VirtAddr va, Pfn pfn, uint64_t leaf_flags, const TableAllocator& alloc_table) {
  PhysAddr table = root;
  for (unsigned level = levels; level > 1; --level) {
    PhysAddr ea = entry_addr(table, va, level);
    Pte e{hal.read64(ea)};
    if (!e.present()) {
      std::optional<Pfn> t = alloc_table();
      if (!t) return false;
      e = Pte::make(*t, kTableFlags);
      hal.write64(ea, e.raw());
    }
    table = e.frame_addr();
  }
  hal.write64(entry_addr(table, va, 1), Pte::make(pfn, leaf_flags | pte_bit::kPresent).raw());
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
                              const std::function<void(Pfn)>& free_table) {
  TeardownCounts counts;
  destroy_level(hal, root, levels, free_data, free_table, counts);
  return counts;
}

}  // namespace vmsim::fw
