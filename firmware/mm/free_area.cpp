// Free-area report formatting (/proc/buddyinfo shape) and the extfrag / unusable-free-space indices.
#include "firmware/mm/free_area.hpp"

#include <cstdio>
#include <stdexcept>

namespace vmsim::fw {
namespace {

void check_order(unsigned order, const char* fn) {
  if (order > BuddyAllocator::kMaxOrder) {
    throw std::invalid_argument(std::string(fn) + ": order " + std::to_string(order) + " exceeds kMaxOrder " +
                                std::to_string(BuddyAllocator::kMaxOrder));
  }
}

}  // namespace

std::string format_buddyinfo(const std::vector<FreeAreaRow>& rows) {
  std::string out;
  char buf[64];
  for (const FreeAreaRow& row : rows) {
    std::snprintf(buf, sizeof buf, "Node %u, zone %8s ", row.node, row.zone.c_str());
    out += buf;
    for (uint64_t n : row.free_blocks) {
      std::snprintf(buf, sizeof buf, "%6llu ", static_cast<unsigned long long>(n));
      out += buf;
    }
    out += '\n';
  }
  return out;
}

FreeAreaCounts sum_free_area(const std::vector<FreeAreaRow>& rows) {
  FreeAreaCounts sum{};
  for (const FreeAreaRow& row : rows) {
    for (unsigned k = 0; k < kOrderCount; ++k) sum[k] += row.free_blocks[k];
  }
  return sum;
}

uint64_t free_pages(const FreeAreaCounts& counts) {
  uint64_t sum = 0;
  for (unsigned k = 0; k < kOrderCount; ++k) sum += counts[k] << k;
  return sum;
}

uint64_t free_blocks_total(const FreeAreaCounts& counts) {
  uint64_t sum = 0;
  for (uint64_t n : counts) sum += n;
  return sum;
}

uint64_t free_blocks_suitable(const FreeAreaCounts& counts, unsigned order) {
  check_order(order, "free_blocks_suitable");
  uint64_t sum = 0;
  for (unsigned k = order; k < kOrderCount; ++k) sum += counts[k] << (k - order);
  return sum;
}

double extfrag_index(const FreeAreaCounts& counts, unsigned order) {
  check_order(order, "extfrag_index");
  const uint64_t blocks = free_blocks_total(counts);
  if (blocks == 0) return 0.0;
  if (free_blocks_suitable(counts, order) > 0) return -1.0;
  const double requested = static_cast<double>(uint64_t{1} << order);
  return 1.0 - (1.0 + static_cast<double>(free_pages(counts)) / requested) / static_cast<double>(blocks);
}

int extfrag_index_milli(const FreeAreaCounts& counts, unsigned order) {
  check_order(order, "extfrag_index_milli");
  const uint64_t blocks = free_blocks_total(counts);
  if (blocks == 0) return 0;
  if (free_blocks_suitable(counts, order) > 0) return -1000;
  const uint64_t requested = uint64_t{1} << order;
  return static_cast<int>(1000 - static_cast<int64_t>((1000 + free_pages(counts) * 1000 / requested) / blocks));
}

int unusable_free_index_milli(const FreeAreaCounts& counts, unsigned order) {
  check_order(order, "unusable_free_index_milli");
  const uint64_t total = free_pages(counts);
  if (total == 0) return 1000;
  const uint64_t usable = free_blocks_suitable(counts, order) << order;
  return static_cast<int>((total - usable) * 1000 / total);
}

namespace {

template <class Index>
std::string format_index_table(const std::vector<FreeAreaRow>& rows, Index index, bool width2) {
  std::string out;
  char buf[64];
  for (const FreeAreaRow& row : rows) {
    std::snprintf(buf, sizeof buf, "Node %u, zone %8s ", row.node, row.zone.c_str());
    out += buf;
    for (unsigned k = 0; k < kOrderCount; ++k) {
      const int v = index(row.free_blocks, k);
      if (v < 0 && v > -1000) {
        std::snprintf(buf, sizeof buf, "-0.%03d ", -v);
      } else if (width2) {
        std::snprintf(buf, sizeof buf, "%2d.%03d ", v / 1000, v % 1000 < 0 ? -(v % 1000) : v % 1000);
      } else {
        std::snprintf(buf, sizeof buf, "%d.%03d ", v / 1000, v % 1000);
      }
      out += buf;
    }
    out += '\n';
  }
  return out;
}

}  // namespace

std::string format_extfrag_index(const std::vector<FreeAreaRow>& rows) {
  return format_index_table(rows, extfrag_index_milli, true);
}

std::string format_unusable_index(const std::vector<FreeAreaRow>& rows) {
  return format_index_table(rows, unusable_free_index_milli, false);
}

double unusable_free_index(const FreeAreaCounts& counts, unsigned order) {
  check_order(order, "unusable_free_index");
  const uint64_t total = free_pages(counts);
  if (total == 0) return 1.0;
  const uint64_t usable = free_blocks_suitable(counts, order) << order;
  return static_cast<double>(total - usable) / static_cast<double>(total);
}

}  // namespace vmsim::fw
