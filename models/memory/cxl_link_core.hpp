// Functional core of a CXL link (no SystemC): its configuration and the timing of the two directions of
// the link, each a serial lane that carries one message after another at the link's bandwidth and adds
// the link's latency. A CXL.mem read sends a request header to the device and gets a data response back;
// a write sends header + data and gets a completion header back.
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "common/config.hpp"

namespace vmsim::mem {

// system.memory.nodes[i].cxl. Defaults (sources in docs/CONFIG.md, "CXL link defaults"): one-way latency of
// a first-generation Type-3 expander's port, PHY and controller pipeline, and an x8 PCIe 5.0 link's rate
// after 128b/130b encoding and 68-byte flit framing.
struct CxlLinkConfig {
  Duration latency = Duration::ns(85);
  uint64_t bandwidth_mbps = 29655;
  uint64_t header_bytes = 16;

  template <class V>
  void visit(V& v) {
    v("latency", latency, "time",
      "Added in each direction (host to device and back), so a transaction's round trip gains 2 x latency "
      "plus serialization and queueing");
    v("bandwidth_mbps", bandwidth_mbps, "MB/s",
      "Rate of each direction of the link; every message occupies its direction for bytes / bandwidth, in "
      "order (default: x8 PCIe 5.0, 32 GT/s x 8 lanes x 128/130 x 64/68 for the flit's CRC and protocol id)");
    v("header_bytes", header_bytes, "bytes",
      "Bytes of a message header on the link (a 16-byte flit slot): a read is a header to the device and a "
      "header + data back, a write a header + data to the device and a header back");
  }
  // Throws InputError naming path.key: bandwidth 0, header 0 or above 4096 bytes, latency above 1 ms.
  void validate(const std::string& path) const;
};

// One direction of a link: messages occupy it one after another. Exact mode (window 0) keeps a busy-until
// time and serves messages in the order they are offered (the at mode, where they come in time order).
// Windowed mode (the lt mode, whose temporally decoupled cores offer messages out of time order) books the
// lane's capacity in windows of `window_fs`: a message starts in the first window from its arrival that
// has capacity left, so cores see each other's load rather than each other's skew.
class LinkLane {
 public:
  // bandwidth_mbps > 0; window_fs 0 = exact.
  LinkLane(uint64_t bandwidth_mbps, uint64_t window_fs);
  // Femtoseconds `bytes` occupy the lane (rounded to the nearest fs).
  uint64_t serialize_fs(uint64_t bytes) const { return (bytes * 1000000000ull + m_mbps / 2) / m_mbps; }
  // A message of `bytes` offered at `arrival_fs`: books it and returns the time its transfer starts
  // (>= arrival_fs); it occupies the lane for serialize_fs(bytes) from there.
  uint64_t book(uint64_t arrival_fs, uint64_t bytes);

 private:
  uint64_t m_mbps;
  uint64_t m_window_fs;
  uint64_t m_window_bytes = 0;  // capacity of one window
  uint64_t m_busy_until = 0;    // exact mode
  std::deque<uint64_t> m_used;  // windowed mode: bytes booked per window from m_first on
  uint64_t m_first = 0;
};

// Timing of one transaction through the link, in femtoseconds of absolute time.
struct LinkLeg {
  uint64_t start = 0;   // the message's transfer starts
  uint64_t arrive = 0;  // it has crossed: start + serialization + latency
  uint64_t wait = 0;    // start - offered
  uint64_t busy = 0;    // serialization time
  uint64_t bytes = 0;   // bytes on the link
};

class CxlLinkTiming {
 public:
  CxlLinkTiming(const CxlLinkConfig& cfg, uint64_t window_fs);
  // The request of a transaction with `len` data bytes offered at the host side at `offered_fs`.
  LinkLeg to_device(uint64_t offered_fs, bool is_write, uint64_t len) {
    return leg(m_down, offered_fs, m_header + (is_write ? len : 0));
  }
  // Its response, ready at the device side at `offered_fs`.
  LinkLeg to_host(uint64_t offered_fs, bool is_write, uint64_t len) {
    return leg(m_up, offered_fs, m_header + (is_write ? 0 : len));
  }
  uint64_t latency_fs() const { return m_latency; }
  // What an idle link adds to such a transaction: 2 x latency + both messages' serialization.
  uint64_t idle_round_trip_fs(bool is_write, uint64_t len) const {
    return 2 * m_latency + m_down.serialize_fs(m_header + (is_write ? len : 0)) +
           m_up.serialize_fs(m_header + (is_write ? 0 : len));
  }

 private:
  LinkLeg leg(LinkLane& lane, uint64_t offered, uint64_t bytes);
  uint64_t m_latency;
  uint64_t m_header;
  LinkLane m_down;  // host to device
  LinkLane m_up;    // device to host
};

}  // namespace vmsim::mem
