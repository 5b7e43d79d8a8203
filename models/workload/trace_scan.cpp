// The trace pre-scan: touched pages and their rights, merged into regions.
#include "models/workload/trace_scan.hpp"

#include <algorithm>
#include <unordered_map>
#include <utility>

#include "models/workload/champsim.hpp"
#include "models/workload/lackey.hpp"
#include "models/workload/vmsim_trace.hpp"

namespace vmsim::workload {

TraceScan scan_source(Source& src, uint64_t merge_gap_pages) {
  constexpr uint8_t kRead = 1, kWrite = 2, kExec = 4;
  std::unordered_map<uint64_t, uint8_t> page_rights;  // touched page number -> rights seen (stable nodes)

  // Small direct-mapped cache of recently touched pages, pointing into page_rights.
  struct CacheEntry {
    uint64_t page = ~uint64_t{0};
    uint8_t* rights = nullptr;
  };
  constexpr size_t kCacheSize = 256;
  std::vector<CacheEntry> cache(kCacheSize);

  TraceScan scan{};
  std::vector<MemOp> batch(4096);
  while (const size_t got = src.next_batch(batch.data(), batch.size())) {
    scan.ops += got;
    for (size_t i = 0; i < got; ++i) {
      const MemOp& op = batch[i];
      const uint8_t bits = op.kind == AccessKind::Fetch ? kExec : op.kind == AccessKind::Read ? kRead : kRead | kWrite;
      const uint64_t page = op.va.value() >> kPageShift;
      CacheEntry& entry = cache[page % kCacheSize];
      if (entry.page != page) {
        entry.page = page;
        entry.rights = &page_rights[page];
      }
      *entry.rights |= bits;
    }
  }
  scan.distinct_pages = page_rights.size();

  std::vector<std::pair<uint64_t, uint8_t>> pages(page_rights.begin(), page_rights.end());
  std::sort(pages.begin(), pages.end());
  for (size_t i = 0; i < pages.size();) {
    const uint64_t first = pages[i].first;
    uint64_t last = first;
    uint8_t rights = pages[i].second;
    for (++i; i < pages.size() && pages[i].first - last - 1 <= merge_gap_pages; ++i) {
      last = pages[i].first;
      rights |= pages[i].second;
    }
    scan.regions.push_back(Region{addr_of(Vpn{first}), addr_of(Vpn{last + 1}), (rights & kRead) != 0,
                                  (rights & kWrite) != 0, (rights & kExec) != 0});
  }
  return scan;
}

std::unique_ptr<Source> open_trace(TraceKind kind, const std::string& path, TraceOptions opt) {
  switch (kind) {
    case TraceKind::Lackey: return std::make_unique<LackeyReader>(path, opt);
    case TraceKind::Champsim: return std::make_unique<ChampsimReader>(path, opt);
    case TraceKind::Vmsim: break;
  }
  return std::make_unique<VmsimTraceReader>(path, opt);
}

TraceScan scan_trace(TraceKind kind, const std::string& path, TraceOptions opt, uint64_t merge_gap_pages) {
  auto instructions_of = [](Source& s) {
    if (auto* r = dynamic_cast<LackeyReader*>(&s)) return r->instructions();
    if (auto* r = dynamic_cast<ChampsimReader*>(&s)) return r->instructions();
    return static_cast<VmsimTraceReader&>(s).instructions();
  };
  std::unique_ptr<Source> src = open_trace(kind, path, opt);
  TraceScan scan = scan_source(*src, merge_gap_pages);
  scan.instructions = instructions_of(*src);
  return scan;
}

}  // namespace vmsim::workload
