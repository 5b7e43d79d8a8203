// Swap block device functional core: presets, request timing, contents.
#include "models/storage/swap_device_core.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "common/error.hpp"

namespace vmsim::storage {

// Preset figures. Citations are to the vendors' public datasheets/product specifications of each class of
// device; they are typical values, not guarantees, and every one can be overridden by its key.
//  nvme: a PCIe 3.0 x4 data-centre NAND (TLC) SSD, e.g. Intel SSD DC P4510: typical latency 77 us read and
//        18 us write (the write lands in the controller's power-protected buffer, hence faster than a NAND
//        read), sequential transfer about 3.2 GB/s. NVMe allows 64K queues of 64K commands; the device's
//        useful internal parallelism is far smaller, 64 outstanding commands here (77 us / 64 slots and the
//        4 KiB link time of 1.28 us give about 780K IOPS, the link-bound class of such drives).
//        3D XPoint (Optane) drives reach < 10 us: set read_latency / write_latency for them.
//  hdd:  a 7200 rpm 3.5" SATA disk (e.g. Seagate Exos 7E / WD Ultrastar class): 4.17 ms average rotational
//        latency (half of 8.33 ms per revolution), average seek about 8.5 ms (the sqrt seek curve from 1 ms
//        track-to-track to 15 ms full stroke averages 1 + 8/15 * 14 = 8.47 ms over uniformly random
//        positions), sustained media rate about 200 MB/s, NCQ depth 32 (commands are not reordered here).
bool SwapDeviceConfig::set_preset(const std::string& name) {
  if (name == "nvme") {
    kind = MediumKind::Flash;
    capacity = Bytes{64ull << 30};
    read_latency = Duration::ns(77000);
    write_latency = Duration::ns(18000);
    bandwidth_mbps = 3200;
    queue_depth = 64;
    seek_min = Duration{0};
    seek_max = Duration{0};
    rpm = 0;
    latency_bin = Duration::ns(10000);
    return true;
  }
  if (name == "hdd") {
    kind = MediumKind::Disk;
    capacity = Bytes{1ull << 40};
    read_latency = Duration{0};
    write_latency = Duration{0};
    bandwidth_mbps = 200;
    queue_depth = 32;
    seek_min = Duration::ns(1000000);
    seek_max = Duration::ns(15000000);
    rpm = 7200;
    latency_bin = Duration::ns(1000000);
    return true;
  }
  return false;
}

void SwapDeviceConfig::validate(const std::string& path) const {
  using config::require;
  require(preset_known, path, "preset", preset, "expected nvme or hdd");
  require(capacity.value > 0 && capacity.value % kPageSize == 0, path, "capacity", format_bytes(capacity),
          "must be a positive multiple of 4KiB");
  require(bandwidth_mbps > 0, path, "bandwidth_mbps", std::to_string(bandwidth_mbps), "must be > 0");
  require(queue_depth >= 1 && queue_depth <= 65536, path, "queue_depth", std::to_string(queue_depth),
          "must be between 1 and 65536");
  require(latency_bin.fs >= 1000000, path, "latency_bin", format_duration(latency_bin), "must be at least 1ns");
  if (kind == MediumKind::Disk) {
    require(rpm > 0, path, "rpm", std::to_string(rpm), "a disk must spin (hdd preset)");
    require(seek_min.fs <= seek_max.fs, path, "seek_min", format_duration(seek_min),
            "must not exceed " + path + ".seek_max (" + format_duration(seek_max) + ")");
  }
}

void SwapConfig::validate(const std::string& path) const {
  device.validate(path + ".device");
  config::require(size.value > 0 && size.value % kPageSize == 0, path, "size", format_bytes(size),
                  "must be a positive multiple of 4KiB");
  config::require(size.value <= device.capacity.value, path, "size", format_bytes(size),
                  "the swap area is larger than its device (" + path + ".device.capacity = " +
                      format_bytes(device.capacity) + ")");
}

BlockTiming::BlockTiming(const SwapDeviceConfig& cfg)
    : m_kind(cfg.kind),
      m_capacity(cfg.capacity.value),
      m_read_fs(cfg.read_latency.fs),
      m_write_fs(cfg.write_latency.fs),
      m_mbps(cfg.bandwidth_mbps),
      m_seek_min_fs(cfg.seek_min.fs),
      m_seek_max_fs(cfg.seek_max.fs),
      m_half_turn_fs(cfg.rpm ? 30000000000000000ull / cfg.rpm : 0) {
  if (cfg.bandwidth_mbps == 0 || cfg.queue_depth == 0 || cfg.capacity.value == 0) {
    throw std::invalid_argument("BlockTiming: bandwidth, queue depth and capacity must be > 0");
  }
  for (uint64_t i = 0; i < cfg.queue_depth; ++i) m_slots.push(0);
}

uint64_t BlockTiming::transfer_fs(uint64_t bytes) const {
  // 1 MB/s moves one byte per 1e9 fs.
  return (bytes * 1000000000ull + m_mbps - 1) / m_mbps;
}

uint64_t BlockTiming::positioning_fs(uint64_t from, uint64_t to) const {
  if (m_kind != MediumKind::Disk || from == to) return 0;
  const double d = static_cast<double>(from > to ? from - to : to - from) / static_cast<double>(m_capacity);
  const double seek = static_cast<double>(m_seek_min_fs) +
                      static_cast<double>(m_seek_max_fs - m_seek_min_fs) * std::sqrt(std::min(d, 1.0));
  return static_cast<uint64_t>(std::llround(seek)) + m_half_turn_fs;
}

BlockTimes BlockTiming::submit(uint64_t arrival_fs, uint64_t offset, uint64_t bytes, bool write) {
  BlockTimes t;
  t.arrival = arrival_fs;
  t.admit = std::max(arrival_fs, m_slots.top());
  m_slots.pop();
  const uint64_t xfer = transfer_fs(bytes);
  if (m_kind == MediumKind::Flash) {
    t.start = t.admit;
    if (write) {
      const uint64_t x0 = std::max(t.admit, m_link_free);
      m_link_free = x0 + xfer;
      t.done = m_link_free + m_write_fs;
    } else {
      const uint64_t x0 = std::max(t.admit + m_read_fs, m_link_free);
      m_link_free = x0 + xfer;
      t.done = m_link_free;
    }
  } else {
    t.start = std::max(t.admit, m_link_free);
    t.seek = positioning_fs(m_head_pos, offset);
    if (t.seek != 0) ++m_seeks;
    t.done = t.start + (write ? m_write_fs : m_read_fs) + t.seek + xfer;
    m_link_free = t.done;
    m_head_pos = offset + bytes;
  }
  m_slots.push(t.done);
  // Busy time: the union of [admit, done) intervals, exact while admissions come in time order.
  const uint64_t from = std::max(t.admit, m_busy_until);
  if (t.done > from) m_busy_fs += t.done - from;
  m_busy_until = std::max(m_busy_until, t.done);
  return t;
}

void SwapMedium::check(uint64_t offset, uint64_t len) const {
  if (!contains(offset, len)) {
    throw std::out_of_range("swap device: request [" + format_hex(offset) + ", +" + std::to_string(len) +
                            ") outside the device (capacity " + format_bytes(Bytes{m_capacity}) + ")");
  }
}

BlockTimes SwapMedium::read(uint64_t arrival_fs, uint64_t offset, uint8_t* dst, uint64_t len) {
  check(offset, len);
  m_store.read(PhysAddr{offset}, dst, len);
  return m_timing.submit(arrival_fs, offset, len, false);
}

BlockTimes SwapMedium::write(uint64_t arrival_fs, uint64_t offset, const uint8_t* src, uint64_t len) {
  check(offset, len);
  m_store.write(PhysAddr{offset}, src, len);
  return m_timing.submit(arrival_fs, offset, len, true);
}

void SwapMedium::peek(uint64_t offset, uint8_t* dst, uint64_t len) const {
  check(offset, len);
  m_store.read(PhysAddr{offset}, dst, len);
}

void SwapMedium::poke(uint64_t offset, const uint8_t* src, uint64_t len) {
  check(offset, len);
  m_store.write(PhysAddr{offset}, src, len);
}

}  // namespace vmsim::storage
