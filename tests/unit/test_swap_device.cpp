// Unit tests of the swap device's functional core: preset figures, exact request timing (flash latency,
// shared bandwidth, queue depth; disk seek curve, rotation, sequential streaming), busy time, contents and
// the configuration errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "models/storage/swap_device_core.hpp"

namespace vmsim::storage {
namespace {

constexpr uint64_t kUs = 1000000000ull;  // fs per microsecond
constexpr uint64_t kMs = 1000 * kUs;
constexpr uint64_t kXferNvme = 1280000000ull;  // 4096 B at 3200 MB/s = 1.28 us
constexpr uint64_t kXferHdd = 20480000000ull;  // 4096 B at 200 MB/s = 20.48 us
constexpr uint64_t kHalfTurn = 30000000000000000ull / 7200;  // 4.1667 ms

SwapDeviceConfig preset(const std::string& name) {
  SwapDeviceConfig c;
  EXPECT_TRUE(c.set_preset(name));
  return c;
}

SwapDeviceConfig load(const std::string& yaml) {
  SwapDeviceConfig c;
  config::Loader l(YAML::Load(yaml), "system.swap.device", "test.yaml");
  c.visit(l);
  l.finish();
  return c;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(SwapDevice, PresetFigures) {
  SwapDeviceConfig n = preset("nvme");
  EXPECT_EQ(n.kind, MediumKind::Flash);
  EXPECT_EQ(n.read_latency.fs, 77 * kUs);
  EXPECT_EQ(n.write_latency.fs, 18 * kUs);
  EXPECT_EQ(n.bandwidth_mbps, 3200u);
  EXPECT_EQ(n.queue_depth, 64u);
  SwapDeviceConfig h = preset("hdd");
  EXPECT_EQ(h.kind, MediumKind::Disk);
  EXPECT_EQ(h.rpm, 7200u);
  EXPECT_EQ(h.bandwidth_mbps, 200u);
  EXPECT_EQ(h.queue_depth, 32u);
  SwapDeviceConfig x;
  EXPECT_FALSE(x.set_preset("floppy"));
  // The default is the nvme preset.
  EXPECT_EQ(x.read_latency.fs, n.read_latency.fs);
}

TEST(SwapDevice, FlashIdleLatencies) {
  BlockTiming t(preset("nvme"));
  EXPECT_EQ(t.transfer_fs(4096), kXferNvme);
  // Read: media latency, then the transfer. Write: transfer, then program.
  BlockTimes r = t.submit(0, 0, 4096, false);
  EXPECT_EQ(r.done, 77 * kUs + kXferNvme);
  EXPECT_EQ(r.queue_wait(), 0u);
  const uint64_t a = 1 * kMs;
  BlockTimes w = t.submit(a, 4096, 4096, true);
  EXPECT_EQ(w.latency(), kXferNvme + 18 * kUs);
  EXPECT_EQ(w.seek, 0u);
  EXPECT_EQ(t.busy_fs(), r.latency() + w.latency());
  EXPECT_EQ(t.last_done_fs(), w.done);
}

TEST(SwapDevice, FlashSharesBandwidthAndQueuesBeyondDepth) {
  BlockTiming t(preset("nvme"));
  // 65 reads at time 0: 64 are admitted at once, their media reads overlap and the link serializes the
  // transfers (read i completes at 77 us + (i + 1) * 1.28 us). The 65th waits for the first slot to free.
  std::vector<BlockTimes> r;
  for (uint64_t i = 0; i < 65; ++i) r.push_back(t.submit(0, i * 4096, 4096, false));
  for (uint64_t i = 0; i < 64; ++i) {
    EXPECT_EQ(r[i].admit, 0u) << i;
    EXPECT_EQ(r[i].done, 77 * kUs + (i + 1) * kXferNvme) << i;
  }
  const uint64_t first_done = 77 * kUs + kXferNvme;
  EXPECT_EQ(r[64].admit, first_done);
  EXPECT_EQ(r[64].queue_wait(), first_done);
  // Its media read ends at first_done + 77 us = 155.28 us, before the link has moved the 64 earlier pages
  // (77 us + 64 * 1.28 us = 158.92 us): its transfer follows them.
  EXPECT_EQ(r[64].done, 77 * kUs + 65 * kXferNvme);
  EXPECT_GT(77 * kUs + 64 * kXferNvme, first_done + 77 * kUs);
  EXPECT_EQ(t.busy_fs(), r[64].done);
}

TEST(SwapDevice, QueueDepthOneSerializesOneEarlyOneOnTime) {
  SwapDeviceConfig c = preset("nvme");
  c.queue_depth = 1;
  BlockTiming t(c);
  const BlockTimes a = t.submit(0, 0, 4096, false);
  // Arriving one femtosecond before the slot frees: admitted at the completion; at it: no wait.
  const BlockTimes b = t.submit(a.done - 1, 4096, 4096, false);
  EXPECT_EQ(b.admit, a.done);
  EXPECT_EQ(b.queue_wait(), 1u);
  const BlockTimes c2 = t.submit(b.done, 8192, 4096, false);
  EXPECT_EQ(c2.queue_wait(), 0u);
  EXPECT_EQ(c2.latency(), 77 * kUs + kXferNvme);
}

TEST(SwapDevice, DiskSeekCurveRotationAndSequentialStreaming) {
  SwapDeviceConfig c = preset("hdd");
  BlockTiming t(c);
  const uint64_t cap = c.capacity.value;
  EXPECT_EQ(t.transfer_fs(4096), kXferHdd);
  EXPECT_EQ(t.positioning_fs(0, 0), 0u);
  // sqrt curve: a quarter of the stroke costs 1 ms + 14 ms * 0.5 = 8 ms, plus half a turn.
  EXPECT_EQ(t.positioning_fs(0, cap / 4), 8 * kMs + kHalfTurn);
  EXPECT_EQ(t.positioning_fs(cap, 0), 15 * kMs + kHalfTurn);
  // Shortest seek: one page away is nearly the track-to-track time.
  EXPECT_NEAR(static_cast<double>(t.positioning_fs(0, 4096)), static_cast<double>(kMs + kHalfTurn), 0.001 * kMs);
  // Average over uniformly random positions: 1 + 8/15 * 14 ms = 8.47 ms (the datasheet class's 8.5 ms).
  double sum = 0;
  const int n = 200;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      sum += static_cast<double>(t.positioning_fs(cap / n * i + cap / (2 * n), cap / n * j + cap / (2 * n)) -
                                 (i == j ? 0 : kHalfTurn));
    }
  }
  EXPECT_NEAR(sum / (n * n) / kMs, 1.0 + 8.0 / 15.0 * 14.0, 0.1);

  // The head starts at offset 0: pages 0, 1, 2 stream with no positioning, one after another.
  for (uint64_t i = 0; i < 3; ++i) {
    BlockTimes r = t.submit(0, i * 4096, 4096, false);
    EXPECT_EQ(r.seek, 0u);
    EXPECT_EQ(r.done, (i + 1) * kXferHdd) << i;
  }
  EXPECT_EQ(t.head_position(), 3 * 4096u);
  // A jump to a quarter of the disk waits for the head, then seeks and rotates.
  BlockTimes far = t.submit(0, cap / 4 + 3 * 4096, 4096, true);
  EXPECT_EQ(far.start, 3 * kXferHdd);
  EXPECT_EQ(far.seek, 8 * kMs + kHalfTurn);
  EXPECT_EQ(far.done, 3 * kXferHdd + far.seek + kXferHdd);
  EXPECT_EQ(t.seeks(), 1u);
}

TEST(SwapDevice, BusyTimeIsTheUnionOfServiceIntervals) {
  BlockTiming t(preset("nvme"));
  const BlockTimes a = t.submit(0, 0, 4096, false);
  const BlockTimes b = t.submit(kUs, 4096, 4096, false);  // overlaps a
  const BlockTimes c = t.submit(10 * kMs, 8192, 4096, false);  // after an idle gap
  EXPECT_EQ(t.busy_fs(), b.done - a.admit + c.latency());
  EXPECT_EQ(t.last_done_fs(), c.done);
}

TEST(SwapDevice, MediumKeepsContentsSparse) {
  SwapDeviceConfig c = preset("nvme");
  c.capacity = Bytes{1ull << 20};
  SwapMedium m(c);
  std::vector<uint8_t> page(4096), back(4096);
  for (size_t i = 0; i < page.size(); ++i) page[i] = static_cast<uint8_t>(i * 7 + 3);
  m.write(0, 8192, page.data(), page.size());
  EXPECT_EQ(m.stored_pages(), 1u);
  m.read(0, 8192, back.data(), back.size());
  EXPECT_EQ(back, page);
  std::vector<uint8_t> zero(4096, 0);
  m.poke(8192, zero.data(), zero.size());  // an all-zero page holds no host memory
  EXPECT_EQ(m.stored_pages(), 0u);
  m.peek(8192, back.data(), back.size());
  EXPECT_EQ(back, zero);
  EXPECT_THROW(m.read(0, (1ull << 20) - 4095, back.data(), 4096), std::out_of_range);
  EXPECT_TRUE(m.contains((1ull << 20) - 4096, 4096));
  EXPECT_FALSE(m.contains(UINT64_MAX - 10, 4096));
}

TEST(SwapDevice, ConfigPresetThenOverrides) {
  SwapDeviceConfig c = load("preset: hdd\nrpm: 5400\n");
  EXPECT_EQ(c.kind, MediumKind::Disk);
  EXPECT_EQ(c.rpm, 5400u);
  EXPECT_EQ(c.bandwidth_mbps, 200u);  // from the preset
  c.validate("system.swap.device");
  BlockTiming t(c);
  EXPECT_EQ(t.positioning_fs(0, c.capacity.value), 15 * kMs + 30000000000000000ull / 5400);
}

TEST(SwapDevice, ConfigErrorsNameTheKey) {
  std::string e = error_of([] { load("preset: floppy\n").validate("system.swap.device"); });
  EXPECT_NE(e.find("system.swap.device.preset: bad value 'floppy' (expected nvme or hdd)"), std::string::npos) << e;
  e = error_of([] { load("bandwidth_mbps: 0\n").validate("system.swap.device"); });
  EXPECT_NE(e.find("system.swap.device.bandwidth_mbps: bad value '0'"), std::string::npos) << e;
  e = error_of([] { load("queue_depth: 0\n").validate("system.swap.device"); });
  EXPECT_NE(e.find("system.swap.device.queue_depth: bad value '0'"), std::string::npos) << e;
  e = error_of([] { load("preset: hdd\nseek_min: 20ms\n").validate("system.swap.device"); });
  EXPECT_NE(e.find("system.swap.device.seek_min: bad value '20ms'"), std::string::npos) << e;
  e = error_of([] { load("preset: hdd\nrpm: 0\n").validate("system.swap.device"); });
  EXPECT_NE(e.find("system.swap.device.rpm: bad value '0'"), std::string::npos) << e;

  // The swap area must fit in its device.
  SwapConfig s;
  s.size = Bytes{128ull << 30};
  e = error_of([&] { s.validate("system.swap"); });
  EXPECT_NE(e.find("system.swap.size: bad value '128GiB' (the swap area is larger than its device "
                   "(system.swap.device.capacity = 64GiB))"),
            std::string::npos)
      << e;
  s.size = Bytes{64ull << 30};
  EXPECT_EQ(error_of([&] { s.validate("system.swap"); }), "");
  s.size = Bytes{4097};
  e = error_of([&] { s.validate("system.swap"); });
  EXPECT_NE(e.find("system.swap.size: bad value"), std::string::npos) << e;
}

}  // namespace
}  // namespace vmsim::storage
