// Page-table manipulation by the firmware: x86-64 4- or 5-level tables in modeled memory, read and written
// through the HAL with timed transactions.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "firmware/hal/hal.hpp"
#include "models/common/pte.hpp"

namespace vmsim::fw {

// Allocates a zeroed frame for a new page table, or nullopt when memory is exhausted.
using TableAllocator = std::function<std::optional<Pfn>()>;

// Maps the 4 KiB page at va to pfn with leaf flags (pte_bit::*; P is added). Missing intermediate
// tables come from alloc_table and are linked with P|RW|US (the leaf decides permissions). Returns false
// if a table could not be allocated (nothing is left half-linked).
bool map_page(Hal& hal, PhysAddr root, unsigned levels, VirtAddr va, Pfn pfn, uint64_t leaf_flags, const TableAllocator& alloc_table);

// The leaf PTE for va's 4 KiB page, or Pte{0} if any level is not present.
Pte lookup_page(Hal& hal, PhysAddr root, unsigned levels, VirtAddr va);

// Counts of what destroy_tables freed.
struct TeardownCounts {
  uint64_t data_frames = 0;
  uint64_t table_frames = 0;
};

// Frees the whole tree under root: every mapped data frame through free_data, every table (root
// included) through free_table. Each table is read with one 4 KiB timed read.
TeardownCounts destroy_tables(Hal& hal, PhysAddr root, unsigned levels, const std::function<void(Pfn)>& free_data,
                              const std::function<void(Pfn)>& free_table);

}  // namespace vmsim::fw
