// Unit tests of the CXL link's functional core: serialization, latency each way, busy-until queueing in
// the exact mode and windowed booking in the lt mode, one femtosecond early and on time.
#include <gtest/gtest.h>

#include "models/memory/cxl_link_core.hpp"

namespace vmsim::mem {
namespace {

constexpr uint64_t kNs = 1000000;  // fs

TEST(LinkLane, ExactModeSerializesInOrder) {
  LinkLane lane(16000, 0);  // 62.5 ps a byte
  EXPECT_EQ(lane.serialize_fs(16), 1 * kNs);
  EXPECT_EQ(lane.serialize_fs(80), 5 * kNs);
  EXPECT_EQ(lane.book(100 * kNs, 80), 100 * kNs);      // idle: starts on arrival
  EXPECT_EQ(lane.book(101 * kNs, 16), 105 * kNs);      // behind the first until 105 ns
  EXPECT_EQ(lane.book(106 * kNs - 1, 16), 106 * kNs);  // one fs before the lane frees: waits 1 fs
  EXPECT_EQ(lane.book(200 * kNs, 16), 200 * kNs);
}

TEST(LinkLane, WindowedModeBooksCapacityPerWindow) {
  LinkLane lane(16000, 50 * kNs);  // 800 bytes per 50 ns window
  EXPECT_EQ(lane.book(10 * kNs, 800), 10 * kNs);  // fills window 0
  // Window 0 is full: a message arriving in it starts at window 1; one arriving before it (a core behind
  // in time) is not held up by later traffic beyond the windows that are full.
  EXPECT_EQ(lane.book(20 * kNs, 16), 50 * kNs);
  EXPECT_EQ(lane.book(60 * kNs, 16), 60 * kNs);
  // A message larger than a window spills into the following ones.
  EXPECT_EQ(lane.book(100 * kNs, 2000), 100 * kNs);
  EXPECT_EQ(lane.book(120 * kNs, 16), 200 * kNs);  // windows 2 and 3 full, window 4 has 400 bytes booked
}

TEST(CxlLinkTiming, ReadAndWriteLegs) {
  CxlLinkConfig cfg;
  cfg.latency = Duration::ns(85);
  cfg.bandwidth_mbps = 16000;
  CxlLinkTiming t(cfg, 0);
  const LinkLeg req = t.to_device(0, false, 64);
  EXPECT_EQ(req.bytes, 16u);
  EXPECT_EQ(req.arrive, 86 * kNs);
  const LinkLeg resp = t.to_host(141 * kNs, false, 64);
  EXPECT_EQ(resp.bytes, 80u);
  EXPECT_EQ(resp.arrive, 141 * kNs + 5 * kNs + 85 * kNs);
  EXPECT_EQ(t.idle_round_trip_fs(false, 64), 176 * kNs);
  EXPECT_EQ(t.idle_round_trip_fs(true, 64), 176 * kNs);
  // A write's request carries the data; the next request waits for it.
  const LinkLeg w = t.to_device(0, true, 4096);
  EXPECT_EQ(w.bytes, 4112u);
  EXPECT_EQ(w.wait, 1 * kNs);  // the read's header still occupied the lane
  EXPECT_EQ(w.arrive, 1 * kNs + 257 * kNs + 85 * kNs);
}

TEST(CxlLinkConfig, ValidateNamesTheKey) {
  CxlLinkConfig cfg;
  cfg.bandwidth_mbps = 0;
  try {
    cfg.validate("system.memory.nodes[2].cxl");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("system.memory.nodes[2].cxl.bandwidth_mbps: bad value '0'"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace vmsim::mem
