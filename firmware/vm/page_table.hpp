// Page-table manipulation by the firmware: x86-64 4- or 5-level tables in modeled memory, read and written
// through the HAL with timed transactions.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "firmware/hal/hal.hpp"
#include "common/pte.hpp"

namespace vmsim::fw {

// Software PTE bit (ignored by the walker): a PROT_NONE page, kept with P clear so its frame stays mapped
// (a 4 KiB leaf, or a 1 GiB PS leaf in the PDPT; the functions below treat both as mapped leaves).
constexpr uint64_t kSoftProtNone = 1ull << 9;
// Software PTE bit: a swap entry. P is clear and the PFN field holds the swap slot (Linux keeps its swap
// type and offset in a not-present PTE the same way); the walker faults on it like any not-present entry.
constexpr uint64_t kSoftSwap = 1ull << 10;
constexpr bool is_swap_entry(Pte e) { return !e.present() && (e.raw() & kSoftSwap); }
constexpr uint64_t swap_entry(uint64_t slot) { return (slot << kPageShift) | kSoftSwap; }
constexpr uint64_t swap_slot_of(Pte e) { return (e.raw() & pte_bit::kPfnMask) >> kPageShift; }

// KPTI (firmware.kpti): a process has two roots, as with Linux's page-table isolation. The kernel copy maps
// the whole address space; the user copy, loaded while user code runs, holds only the user-half top-level
// entries (0..255, pointing at the same lower tables as the kernel copy's) plus the entry-trampoline entry
// (KernelHalf::install_user). The functions below that may link a new top-level table take the user copy
// as `user_root` (PhysAddr{0}: none) and mirror each user top-level entry they write into it (one more
// timed 8-byte write), as Linux's pti_set_user_pgtbl does.
void write_top_entry(Hal& hal, PhysAddr root, PhysAddr user_root, unsigned index, uint64_t value);

// Allocates a zeroed frame for a new page table, or nullopt when memory is exhausted.
using TableAllocator = std::function<std::optional<Pfn>()>;

// Maps the 4 KiB page at va to pfn with leaf flags (pte_bit::*; P is added). Missing intermediate
// tables come from alloc_table and are linked with P|RW|US (the leaf decides permissions). Returns false
// if a table could not be allocated (nothing is left half-linked).
// If `leaf` is given it receives the PTE's address.
bool map_page(Hal& hal, PhysAddr root, unsigned levels, VirtAddr va, Pfn pfn, uint64_t leaf_flags, const TableAllocator& alloc_table,
              PhysAddr* leaf = nullptr, PhysAddr user_root = PhysAddr{0});

// Writes the raw 4 KiB leaf value at va (a swap entry, a PROT_NONE page), creating missing tables like
// map_page. False if a table could not be allocated.
bool set_leaf(Hal& hal, PhysAddr root, unsigned levels, VirtAddr va, uint64_t raw, const TableAllocator& alloc_table,
              PhysAddr user_root = PhysAddr{0});

// Maps a huge page at va (aligned to level_span(level)) to the naturally aligned block at pfn with a PS
// leaf at `level` (2: 2 MiB in the PD, 3: 1 GiB in the PDPT). Returns false if a table could not be
// allocated or the entry at `level` is already present (a table of 4 KiB pages or another leaf), in
// which case nothing was mapped.
bool map_huge(Hal& hal, PhysAddr root, unsigned levels, VirtAddr va, unsigned level, Pfn pfn, uint64_t leaf_flags,
              const TableAllocator& alloc_table, PhysAddr user_root = PhysAddr{0});

// Replaces the 2 MiB leaf mapping va with a page table (from alloc_table) of 512 4 KiB entries with the
// same flags over the same frames. Returns the new table, or nullopt if va is not mapped by a 2 MiB leaf
// or no table frame was available.
std::optional<Pfn> split_huge(Hal& hal, PhysAddr root, unsigned levels, VirtAddr va, const TableAllocator& alloc_table);

// Start addresses of the huge leaves at `level` (2: 2 MiB, 3: 1 GiB) intersecting [start, end).
std::vector<VirtAddr> huge_leaves(Hal& hal, PhysAddr root, unsigned levels, VirtAddr start, VirtAddr end,
                                  unsigned level = 2);

// The leaf PTE for va's 4 KiB page, or Pte{0} if any level is not present.
Pte lookup_page(Hal& hal, PhysAddr root, unsigned levels, VirtAddr va);

// Visits every present 4 KiB leaf PTE (huge leaves are skipped: split them first) mapping an address in [start, end), in address order. Each table
// on the way is read with one 4 KiB timed read. fn(va, pte_address, pte) returns the new raw PTE value
// to write (one timed 8-byte write) or nullopt to leave it. Returns the number of leaves visited.
using LeafVisitor = std::function<std::optional<uint64_t>(VirtAddr, PhysAddr, Pte)>;
uint64_t for_each_leaf(Hal& hal, PhysAddr root, unsigned levels, VirtAddr start, VirtAddr end, const LeafVisitor& fn);
// The same over the swap entries (kSoftSwap, P clear) in [start, end), which for_each_leaf skips.
uint64_t for_each_swap_entry(Hal& hal, PhysAddr root, unsigned levels, VirtAddr start, VirtAddr end,
                             const LeafVisitor& fn);

// Address of va's leaf PTE (level 1) if every upper level is present, else nullopt; for a page inside a
// huge leaf, the huge leaf's address.
std::optional<PhysAddr> leaf_entry(Hal& hal, PhysAddr root, unsigned levels, VirtAddr va);

// Address of va's entry at `level` (1 = PTE .. levels = root entry) if every level above is present and
// not a huge leaf, else nullopt. Reads one 8-byte entry per level above.
std::optional<PhysAddr> entry_at(Hal& hal, PhysAddr root, unsigned levels, VirtAddr va, unsigned level);

// Counts of what destroy_tables freed.
struct TeardownCounts {
  uint64_t data_frames = 0;
  uint64_t table_frames = 0;
};

// Frees the user half of the tree under root (the upper half's tables are the kernel's, shared by every
// root): every mapped data frame through free_data, every table (root included) through free_table. Each table is read with one 4 KiB timed read.
// Huge leaves go to free_huge(first frame, level) if given (else free_data with the first frame); swap
// entries to free_swap(raw entry) if given (else they are ignored).
TeardownCounts destroy_tables(Hal& hal, PhysAddr root, unsigned levels, const std::function<void(Pfn)>& free_data,
                              const std::function<void(Pfn)>& free_table,
                              const std::function<void(Pfn, unsigned)>& free_huge = {},
                              const std::function<void(uint64_t)>& free_swap = {});

}  // namespace vmsim::fw
