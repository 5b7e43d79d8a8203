// Free-area reports in the shape of Linux /proc/buddyinfo, and the two Linux fragmentation indices over them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "firmware/mm/buddy.hpp"

namespace vmsim::fw {

constexpr unsigned kOrderCount = BuddyAllocator::kMaxOrder + 1;

// Free blocks per order 0..kMaxOrder of one zone (or a sum of zones): one /proc/buddyinfo row.
using FreeAreaCounts = std::array<uint64_t, kOrderCount>;

// One report line: a zone of a node and its free blocks per order.
struct FreeAreaRow {
  unsigned node = 0;
  std::string zone;  // "DMA", "Normal"
  FreeAreaCounts free_blocks{};
};

// Formats rows exactly like Linux's /proc/buddyinfo (mm/vmstat.c frag_show_print): per row
// "Node %d, zone %8s " followed by "%6lu " for every order, then '\n'. Empty input gives "".
std::string format_buddyinfo(const std::vector<FreeAreaRow>& rows);

// Sum of the counts of several rows (e.g. all zones of a node).
FreeAreaCounts sum_free_area(const std::vector<FreeAreaRow>& rows);

// Total free frames: sum over k of count[k] * 2^k.
uint64_t free_pages(const FreeAreaCounts& counts);
// Total free blocks of any order.
uint64_t free_blocks_total(const FreeAreaCounts& counts);
// Free blocks able to serve a request of `order`, in units of 2^order frames:
// sum over k >= order of count[k] * 2^(k - order) (Linux's free_blocks_suitable).
uint64_t free_blocks_suitable(const FreeAreaCounts& counts, unsigned order);

// External fragmentation index of Mel Gorman (Linux mm/vmstat.c __fragmentation_index, shown in
// /sys/kernel/debug/extfrag/extfrag_index). For a request of 2^order frames:
//   -1                                                   if a suitable free block exists (no failure);
//    0                                                   if there are no free blocks at all;
//    1 - (1 + free_pages / 2^order) / free_blocks_total  otherwise.
// Near 0: the request fails for lack of memory; near 1: it fails because of fragmentation. (With very few
// free blocks the formula can dip below 0, e.g. a single free block of half the requested size gives -0.5;
// Linux reports that value as is, and so does this function.)
// Exact real arithmetic. Throws std::invalid_argument if order > kMaxOrder.
double extfrag_index(const FreeAreaCounts& counts, unsigned order);
// The same index in thousandths with Linux's integer arithmetic (-1000 when a suitable block exists):
// 1000 - (1000 + free_pages * 1000 / 2^order) / free_blocks_total, each division truncating.
int extfrag_index_milli(const FreeAreaCounts& counts, unsigned order);

// Unusable free space index (Gorman & Whitcroft 2006; Linux mm/vmstat.c unusable_free_index, shown in
// /sys/kernel/debug/extfrag/unusable_index): the fraction of free memory that cannot serve a request of
// 2^order frames, (free_pages - free_blocks_suitable(order) * 2^order) / free_pages; 1 if nothing is free
// ("no free memory is interpreted as all free memory is unusable", as in Linux). 0: no fragmentation.
// Throws std::invalid_argument if order > kMaxOrder.
double unusable_free_index(const FreeAreaCounts& counts, unsigned order);
// The same index in thousandths with Linux's integer arithmetic (1000 when nothing is free).
int unusable_free_index_milli(const FreeAreaCounts& counts, unsigned order);

// Per-row, per-order index tables shaped like Linux's /sys/kernel/debug/extfrag/extfrag_index and
// .../unusable_index (mm/vmstat.c extfrag_show_print / unusable_show_print): "Node %d, zone %8s " then
// per order "%2d.%03d " (extfrag) or "%d.%03d " (unusable) of the milli value, then '\n'. Identical to
// Linux for values in 0..1000 and -1000; other negative extfrag values print as "-0.500" where Linux's
// format would give " 0.-500".
std::string format_extfrag_index(const std::vector<FreeAreaRow>& rows);
std::string format_unusable_index(const std::vector<FreeAreaRow>& rows);

}  // namespace vmsim::fw
