// CXL link timing (functional core).
#include "models/memory/cxl_link_core.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "common/units.hpp"

namespace vmsim::mem {

void CxlLinkConfig::validate(const std::string& path) const {
  config::require(bandwidth_mbps > 0, path, "bandwidth_mbps", std::to_string(bandwidth_mbps), "must be > 0");
  config::require(bandwidth_mbps <= 100000000, path, "bandwidth_mbps", std::to_string(bandwidth_mbps),
                  "must be at most 100000000 (100 TB/s)");
  config::require(header_bytes > 0 && header_bytes <= 4096, path, "header_bytes", std::to_string(header_bytes),
                  "must be 1..4096");
  config::require(latency.fs <= Duration::ns(1000000).fs, path, "latency", format_duration(latency),
                  "must be at most 1ms");
}

LinkLane::LinkLane(uint64_t bandwidth_mbps, uint64_t window_fs) : m_mbps(bandwidth_mbps), m_window_fs(window_fs) {
  // MB/s x fs: 1e6 bytes per 1e15 fs.
  if (m_window_fs > 0) {
    m_window_bytes = std::max<uint64_t>(1, static_cast<uint64_t>(double(m_mbps) * double(m_window_fs) / 1e9));
  }
}

uint64_t LinkLane::book(uint64_t arrival_fs, uint64_t bytes) {
  if (m_window_fs == 0) {
    const uint64_t start = std::max(arrival_fs, m_busy_until);
    m_busy_until = start + serialize_fs(bytes);
    return start;
  }
  auto at = [&](uint64_t win) -> uint64_t& {
    while (m_first + m_used.size() <= win) m_used.push_back(0);
    return m_used[win - m_first];
  };
  uint64_t w = std::max<uint64_t>(arrival_fs / m_window_fs, m_first);
  while (at(w) >= m_window_bytes) ++w;
  const uint64_t start = std::max<uint64_t>(arrival_fs, w * m_window_fs);
  for (uint64_t left = bytes; left > 0; ++w) {
    uint64_t& u = at(w);
    const uint64_t take = std::min(left, m_window_bytes - std::min(u, m_window_bytes));
    u += take;
    left -= take;
  }
  // Windows far in the past are forgotten (a quantum spans far fewer than 65536 windows).
  while (m_used.size() > 65536) {
    m_used.pop_front();
    ++m_first;
  }
  return start;
}

CxlLinkTiming::CxlLinkTiming(const CxlLinkConfig& cfg, uint64_t window_fs)
    : m_latency(cfg.latency.fs),
      m_header(cfg.header_bytes),
      m_down(cfg.bandwidth_mbps, window_fs),
      m_up(cfg.bandwidth_mbps, window_fs) {}

LinkLeg CxlLinkTiming::leg(LinkLane& lane, uint64_t offered, uint64_t bytes) {
  LinkLeg l;
  l.bytes = bytes;
  l.start = lane.book(offered, bytes);
  l.wait = l.start - offered;
  l.busy = lane.serialize_fs(bytes);
  l.arrive = l.start + l.busy + m_latency;
  return l;
}

}  // namespace vmsim::mem
