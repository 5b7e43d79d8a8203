// Next-line, IP-stride and stream prefetchers.
#include "models/cache/prefetcher.hpp"

namespace vmsim::cache {

void NextLinePrefetcher::on_access(uint64_t line, uint64_t /*ip*/, bool /*hit*/, std::vector<uint64_t>& out) {
  for (uint64_t k = 1; k <= m_degree; ++k) out.push_back(line + k);
}

StreamPrefetcher::StreamPrefetcher(uint64_t degree, uint64_t line_bytes)
    : m_degree(degree), m_page_shift(0), m_streams(kStreams) {
  while ((line_bytes << m_page_shift) < 4096) ++m_page_shift;
}

void StreamPrefetcher::on_access(uint64_t line, uint64_t /*ip*/, bool /*hit*/, std::vector<uint64_t>& out) {
  const uint64_t page = line >> m_page_shift;
  ++m_clock;
  Stream* s = nullptr;
  Stream* lru = &m_streams[0];
  for (Stream& c : m_streams) {
    if (c.valid && c.page == page) {
      s = &c;
      break;
    }
    if (!c.valid ? lru->valid : (lru->valid && c.used < lru->used)) lru = &c;
  }
  if (s == nullptr) {
    *lru = Stream{true, page, line, 0, 0, m_clock};
    return;
  }
  s->used = m_clock;
  if (line == s->last) return;
  const int dir = line > s->last ? 1 : -1;
  if (dir == s->direction) {
    if (s->confidence < 3) ++s->confidence;
  } else {
    s->direction = dir;
    s->confidence = 1;
  }
  s->last = line;
  if (s->confidence < kConfident) return;
  for (uint64_t k = 1; k <= m_degree; ++k) {
    const uint64_t target = dir > 0 ? line + k : line - k;
    if (dir < 0 && k > line) break;
    if ((target >> m_page_shift) != page) break;
    out.push_back(target);
  }
}

std::unique_ptr<Prefetcher> make_prefetcher(Prefetch kind, uint64_t degree, uint64_t line_bytes) {
  switch (kind) {
    case Prefetch::None: return nullptr;
    case Prefetch::NextLine: return std::make_unique<NextLinePrefetcher>(degree);
    case Prefetch::IpStride: return std::make_unique<IpStridePrefetcher>(degree);
    case Prefetch::Stream: return std::make_unique<StreamPrefetcher>(degree, line_bytes);
  }
  return nullptr;
}

}  // namespace vmsim::cache
