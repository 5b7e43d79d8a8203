// Swap block device, functional core (no SystemC): the configuration with its presets (an NVMe SSD and a
// hard disk), the request timing (queue depth, shared bandwidth, flash latency or disk seek + rotation)
// and the device's contents (sparse 4 KiB pages). The TLM shell is storage::SwapDevice (swap_device.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "models/memory/sparse_store.hpp"

namespace vmsim::storage {

// How the medium serves requests; derived from the preset, not a key.
enum class MediumKind : uint8_t {
  Flash,  // every admitted command is served in parallel (flash dies), fixed read/write latency
  Disk,   // one head serves admitted commands one at a time: seek + rotational latency + media transfer
};

// Device parameters. `preset` refills every other key from the preset table (nvme, hdd); keys written after
// it in the YAML override single values. Figures and their sources: see set_preset() in the .cpp.
struct SwapDeviceConfig {
  std::string preset = "nvme";
  MediumKind kind = MediumKind::Flash;  // derived from preset
  bool preset_known = true;             // derived from preset; validate() reports an unknown name
  Bytes capacity;
  Duration read_latency;
  Duration write_latency;
  uint64_t bandwidth_mbps = 0;
  uint64_t queue_depth = 0;
  Duration seek_min;
  Duration seek_max;
  uint64_t rpm = 0;
  Duration latency_bin;

  SwapDeviceConfig() { set_preset(preset); }
  // Fills every parameter from the named preset; false (parameters unchanged) if the name is unknown.
  bool set_preset(const std::string& name);

  template <class V>
  void visit(V& v) {
    const std::string before = preset;
    v("preset", preset, "", "Device type and its parameters: nvme (PCIe NAND SSD) or hdd (7200 rpm disk)");
    if (preset != before) preset_known = set_preset(preset);
    v("capacity", capacity, "bytes", "Size of the device (the swap area must fit in it)");
    v("read_latency", read_latency, "time",
      "nvme: media latency of a read command (before its data transfer); hdd: controller overhead per command");
    v("write_latency", write_latency, "time",
      "nvme: program latency of a write command (after its data transfer); hdd: controller overhead per command");
    v("bandwidth_mbps", bandwidth_mbps, "MB/s",
      "Transfer rate shared by all commands (nvme: the PCIe link; hdd: the media rate under the head)");
    v("queue_depth", queue_depth, "commands",
      "Commands the device holds at once; further requests wait in the host queue until one completes");
    v("seek_min", seek_min, "time", "hdd: track-to-track seek (shortest non-zero seek)");
    v("seek_max", seek_max, "time", "hdd: full-stroke seek (across the whole capacity)");
    v("rpm", rpm, "rev/min", "hdd: spindle speed; a non-sequential request waits half a revolution on average");
    v("latency_bin", latency_bin, "time", "Bucket width of the latency histogram (64 buckets)");
  }
  // Throws InputError "<path>.<key>: bad value ..." for an unknown preset, zero bandwidth or queue depth, a
  // capacity that is not a positive multiple of 4KiB, and (hdd) rpm 0 or seek_min > seek_max.
  void validate(const std::string& path) const;
};

// The swap section of the platform: whether the system has a swap device, the swap area the firmware may
// use on it, and the device itself.
struct SwapConfig {
  bool enabled = false;
  Bytes size{4ull << 30};
  SwapDeviceConfig device;

  template <class V>
  void visit(V& v) {
    v("enabled", enabled, "", "Attach a swap block device (each core reaches it through its `io` socket)");
    v("size", size, "bytes", "Swap area: the part of the device the firmware swaps to, from offset 0");
    v.section("device", device, "The swap block device");
  }
  // Throws InputError naming the key: a bad device, a size that is not a positive multiple of 4KiB, or a
  // swap area larger than its device.
  void validate(const std::string& path) const;
};

// Timing of one request, absolute simulated times in femtoseconds.
struct BlockTimes {
  uint64_t arrival = 0;  // the request reached the device's host queue
  uint64_t admit = 0;    // it got one of the queue_depth command slots
  uint64_t start = 0;    // its media work began (flash: at admission; disk: when the head was free)
  uint64_t done = 0;     // completion (data delivered / written)
  uint64_t seek = 0;     // disk: seek + rotational latency paid (0 for a sequential request and for flash)
  uint64_t latency() const { return done - arrival; }
  uint64_t queue_wait() const { return admit - arrival; }
};

// Request timing. Requests are served in the order submit() is called (FIFO admission, no reordering).
//   admit  = max(arrival, earliest time one of the queue_depth slots is free); the slot is held until done.
//   xfer   = ceil(bytes * 1e9 / bandwidth_mbps) fs, on one shared transfer resource (busy-until, FIFO).
//   flash read:  media = [admit, admit + read_latency), then the transfer at max(media end, link free).
//   flash write: transfer at max(admit, link free), then program for write_latency.
//   disk:  start = max(admit, head free); positioning = 0 if offset == head position (sequential), else
//          seek_min + (seek_max - seek_min) * sqrt(|offset - head| / capacity) + 30e15 / rpm (half a
//          revolution); done = start + read/write_latency + positioning + xfer; the head moves to
//          offset + bytes. The head is also the transfer resource.
class BlockTiming {
 public:
  explicit BlockTiming(const SwapDeviceConfig& cfg);
  BlockTimes submit(uint64_t arrival_fs, uint64_t offset, uint64_t bytes, bool write);

  uint64_t transfer_fs(uint64_t bytes) const;
  // Disk positioning cost from `from` to `to` (0 for flash or when from == to).
  uint64_t positioning_fs(uint64_t from, uint64_t to) const;
  // Time during which at least one command was in the device (exact when arrivals come in time order).
  uint64_t busy_fs() const { return m_busy_fs; }
  // Latest completion so far.
  uint64_t last_done_fs() const { return m_busy_until; }
  uint64_t seeks() const { return m_seeks; }  // disk requests that paid positioning
  uint64_t head_position() const { return m_head_pos; }

 private:
  MediumKind m_kind;
  uint64_t m_capacity;
  uint64_t m_read_fs;
  uint64_t m_write_fs;
  uint64_t m_mbps;
  uint64_t m_seek_min_fs;
  uint64_t m_seek_max_fs;
  uint64_t m_half_turn_fs;
  std::priority_queue<uint64_t, std::vector<uint64_t>, std::greater<uint64_t>> m_slots;  // free times
  uint64_t m_link_free = 0;
  uint64_t m_head_pos = 0;
  uint64_t m_busy_until = 0;
  uint64_t m_busy_fs = 0;
  uint64_t m_seeks = 0;
};

// Contents plus timing: what the TLM shell wraps, and what functional tests and benchmarks drive directly.
// Offsets are device byte offsets; a request must lie inside the capacity (std::out_of_range otherwise).
// Pages written all-zero hold no host memory.
class SwapMedium {
 public:
  explicit SwapMedium(const SwapDeviceConfig& cfg) : m_capacity(cfg.capacity.value), m_timing(cfg) {}

  BlockTimes read(uint64_t arrival_fs, uint64_t offset, uint8_t* dst, uint64_t len);
  BlockTimes write(uint64_t arrival_fs, uint64_t offset, const uint8_t* src, uint64_t len);
  // Untimed access (debug transport, functional mode).
  void peek(uint64_t offset, uint8_t* dst, uint64_t len) const;
  void poke(uint64_t offset, const uint8_t* src, uint64_t len);
  // Whether [offset, offset + len) lies inside the device.
  bool contains(uint64_t offset, uint64_t len) const { return len <= m_capacity && offset <= m_capacity - len; }

  uint64_t capacity() const { return m_capacity; }
  uint64_t stored_pages() const { return m_store.resident_pages(); }
  const BlockTiming& timing() const { return m_timing; }

 private:
  void check(uint64_t offset, uint64_t len) const;
  uint64_t m_capacity;
  BlockTiming m_timing;
  mem::SparseStore m_store;
};

}  // namespace vmsim::storage
