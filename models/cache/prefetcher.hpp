// Hardware prefetchers of a cache level: next-line, IP-stride and L2 stream, behind one interface.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "models/cache/cache_config.hpp"

namespace vmsim::cache {

// A prefetcher is trained by every demand access of its level and answers with the lines (line addresses)
// it wants brought in. It is deterministic and knows nothing of the cache's contents: the cache drops
// requests for lines it already holds.
class Prefetcher {
 public:
  virtual ~Prefetcher() = default;
  // A demand access to line by instruction ip, hit or miss at this level. Appends candidate lines to out
  // (never clears it), nearest first.
  virtual void on_access(uint64_t line, uint64_t ip, bool hit, std::vector<uint64_t>& out) = 0;
};

// Next-line: every access asks for line+1 .. line+degree.
class NextLinePrefetcher final : public Prefetcher {
 public:
  explicit NextLinePrefetcher(uint64_t degree) : m_degree(degree) {}
  void on_access(uint64_t line, uint64_t ip, bool hit, std::vector<uint64_t>& out) override;

 private:
  uint64_t m_degree;
};

// IP-stride (Chen and Baer's reference prediction table, reduced): 64 entries, direct mapped on ip & 63,
// tagged with the full ip. An entry holds the last line, a stride (signed lines) and a 2-bit confidence.
// On an access by ip:
//   * entry of another ip (or empty): replaced by {ip, line, stride 0, confidence 0}; nothing issued.
//   * same line as last: nothing changes, nothing issued.
//   * delta == stride: confidence + 1 (saturating at 3). Otherwise: if confidence > 0 it drops by 1, else
//     the stride becomes delta. last = line.
//   * confidence >= 2: asks for line + stride * k, k = 1..degree (skipping any below line 0).
class IpStridePrefetcher final : public Prefetcher {
 public:
  static constexpr unsigned kEntries = 64;
  static constexpr uint8_t kConfident = 2;
  explicit IpStridePrefetcher(uint64_t degree) : m_degree(degree) {}
  // Inline: the L1D's prefetcher runs on every slow L1D access (called through the final type).
  void on_access(uint64_t line, uint64_t ip, bool /*hit*/, std::vector<uint64_t>& out) override {
    Entry& e = m_table[ip % kEntries];
    if (!e.valid || e.ip != ip) {
      e = Entry{true, ip, line, 0, 0};
      return;
    }
    if (line == e.last) return;
    const int64_t delta = static_cast<int64_t>(line - e.last);
    if (delta == e.stride) {
      if (e.confidence < 3) ++e.confidence;
    } else if (e.confidence > 0) {
      --e.confidence;
    } else {
      e.stride = delta;
    }
    e.last = line;
    if (e.confidence < kConfident) return;
    for (uint64_t k = 1; k <= m_degree; ++k) {
      const int64_t off = e.stride * static_cast<int64_t>(k);
      if (off < 0 && static_cast<uint64_t>(-off) > line) break;
      out.push_back(line + static_cast<uint64_t>(off));
    }
  }
  // True if on_access(line, ip, ...) would change nothing and ask for nothing (ip's entry saw line last).
  bool quiet(uint64_t line, uint64_t ip) const {
    const Entry& e = m_table[ip % kEntries];
    return e.valid && e.ip == ip && e.last == line;
  }

 private:
  struct Entry {
    bool valid = false;
    uint64_t ip = 0;
    uint64_t last = 0;
    int64_t stride = 0;
    uint8_t confidence = 0;
  };
  uint64_t m_degree;
  std::array<Entry, kEntries> m_table{};
};

// Stream (the L2 streamer's idea): up to 16 streams, one per 4 KiB page, replaced least recently used.
// An access to a page without a stream allocates one {last = line, direction 0, confidence 0}. Otherwise,
// with delta = line - last (0: nothing happens): if the sign of delta equals the stream's direction,
// confidence + 1 (saturating at 3), else direction = sign(delta) and confidence = 1; last = line. With
// confidence >= 2 (two steps the same way) it asks for line + direction * k, k = 1..degree, stopping at
// the page boundary (a 4 KiB page is 4096 / line_bytes lines).
class StreamPrefetcher final : public Prefetcher {
 public:
  static constexpr unsigned kStreams = 16;
  static constexpr uint8_t kConfident = 2;
  StreamPrefetcher(uint64_t degree, uint64_t line_bytes);
  void on_access(uint64_t line, uint64_t ip, bool hit, std::vector<uint64_t>& out) override;

 private:
  struct Stream {
    bool valid = false;
    uint64_t page = 0;
    uint64_t last = 0;
    int direction = 0;
    uint8_t confidence = 0;
    uint64_t used = 0;  // LRU stamp
  };
  uint64_t m_degree;
  unsigned m_page_shift;  // log2(lines per 4 KiB page)
  uint64_t m_clock = 0;
  std::vector<Stream> m_streams;
};

// The prefetcher of a kind, or nullptr for Prefetch::None. Requires degree >= 1 and a power-of-two
// line_bytes <= 4096 (LevelConfig::validate checks both).
std::unique_ptr<Prefetcher> make_prefetcher(Prefetch kind, uint64_t degree, uint64_t line_bytes = 64);

}  // namespace vmsim::cache
