// Configuration of the cache hierarchy: one LevelConfig per level (L1I, L1D, L2 per core, LLC per socket)
// and the HierarchyConfig that holds them with the coherence parameters.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/config.hpp"
#include "common/units.hpp"
#include "models/mmu/replacement.hpp"

namespace vmsim::cache {

// Hardware prefetcher of a level (prefetcher.hpp describes each).
enum class Prefetch : uint8_t { None, NextLine, IpStride, Stream };
// How the LLC relates to the private caches of its socket (hierarchy.hpp describes each).
enum class Inclusion : uint8_t { Inclusive, NonInclusive, Exclusive };

// Geometry, timing and policies of one cache level. size = sets * ways * line with sets a power of two.
struct LevelConfig {
  bool present = true;
  Bytes size{32 * 1024};
  uint64_t ways = 8;
  uint64_t line = 64;
  uint64_t latency = 4;
  uint64_t mshrs = 8;
  mmu::ReplacementPolicy replacement = mmu::ReplacementPolicy::Lru;
  uint64_t seed = 1;
  Prefetch prefetcher = Prefetch::None;
  uint64_t prefetch_degree = 1;
  Inclusion inclusion = Inclusion::Inclusive;
  uint64_t banks = 1;
  uint64_t bank_cycles = 0;

  static constexpr uint64_t kMaxPrefetchDegree = 8;
  static constexpr uint64_t kMaxBanks = 1024;
  static constexpr uint64_t kMaxBankCycles = 1000;

  template <class V>
  void visit(V& v) {
    v("present", present, "", "false: the level does not exist (accesses skip it)");
    v("size", size, "bytes", "Capacity: sets x ways x line, with sets a power of two");
    v("ways", ways, "ways", "Associativity (1..64; need not be a power of two)");
    v("line", line, "bytes", "Line size: a power of two >= 8 and <= 4096, the same at every level");
    v("latency", latency, "core cycles",
      "Load-to-use latency of a hit in this level, counted from the core (not on top of the levels above)");
    v("mshrs", mshrs, "misses",
      "sim.mode at: line fills the level tracks at once (miss-status holding registers): the first present level "
      "of a core bounds its demand fills in flight, the LLC's bound the memory reads of its socket (demand and "
      "prefetch); a fill that finds none free waits");
    v("replacement", replacement, "",
      "Victim choice: lru, plru (tree pseudo-LRU, ways a power of two), fifo, random (seeded xorshift64), "
      "srrip, brrip (2-bit RRIP)");
    v("seed", seed, "", "Seed of the random replacement generator (nonzero)");
    v("prefetcher", prefetcher, "",
      "Hardware prefetcher trained by demand accesses at this level: none, next_line, ip_stride, stream");
    v("prefetch_degree", prefetch_degree, "lines", "Lines a prefetcher trigger asks for (1..8)");
    v("inclusion", inclusion, "",
      "LLC only: inclusive (back-invalidates private copies on eviction), non_inclusive (fills on misses, no "
      "back-invalidation), exclusive (a victim cache of the L2s)");
    v("banks", banks, "banks",
      "LLC only: independent banks (slices) of each socket's LLC, lines interleaved over them (line number modulo "
      "banks); 1..1024");
    v("bank_cycles", bank_cycles, "core cycles",
      "LLC only, sim.mode at: cycles a bank is busy with one request (tag lookup and data array); a request to a "
      "busy bank waits for it, first come first served. 0: banks are never busy (no queueing); 0..1000");
  }
  // Throws InputError naming path.key and the value: size 0 or not ways * line * (a power of two); ways 0 or
  // > 64; line not a power of two in [8, 4096]; plru with ways not a power of two; seed 0; mshrs 0;
  // prefetch_degree 0 or > 8; banks 0 or > 1024; bank_cycles > 1000. An absent level is not checked.
  void validate(const std::string& path) const;
  // Sets (size / (ways * line)). Requires a validated config.
  uint64_t sets() const { return size.value / (ways * line); }
};

// The home directories of a multi-socket system (hierarchy.hpp, "Across sockets"): each socket's directory
// for the lines homed there has `banks` banks (lines interleaved, line number modulo banks), each serving one
// request every `cycles` core cycles in sim.mode at; requests that consult a busy bank wait for it.
struct DirectoryConfig {
  uint64_t banks = 1;
  uint64_t cycles = 0;

  template <class V>
  void visit(V& v) {
    v("banks", banks, "banks", "Banks of each socket's home directory, lines interleaved over them; 1..1024");
    v("cycles", cycles, "core cycles",
      "sim.mode at: cycles a directory bank is busy with one request (a read-for-share from a socket holding no "
      "copy, a read-for-ownership from a socket not owning the line); requests to a busy bank wait. 0: never busy; "
      "0..1000. Single-socket systems consult no directory");
  }
  // Throws InputError naming path.key: banks 0 or > 1024, cycles > 1000.
  void validate(const std::string& path) const;
};

// Where the page walker's PTE reads and A/D writes enter the hierarchy.
enum class WalkEntry : uint8_t { L1d, L2, Llc, Memory };

// The cache hierarchy of a system: per core L1I, L1D, L2; per socket an LLC. `preset` refills every other
// key from a named part (set_preset; figures and sources there and in docs/CONFIG.md); keys written after
// it override single values. A default-constructed config is preset custom (the generic Skylake-like
// levels below); the platform's default is none (named()): every level absent, every access goes to memory
// exactly as in a machine without caches. `system.caches: NAME` is short for `system.caches.preset: NAME`.
struct HierarchyConfig {
  std::string preset = "custom";
  bool preset_known = true;  // derived from preset; validate() reports an unknown name
  LevelConfig l1i = default_l1i();
  LevelConfig l1d = default_l1d();
  LevelConfig l2 = default_l2();
  LevelConfig llc = default_llc();
  WalkEntry walk_entry = WalkEntry::L1d;
  uint64_t c2c_latency = 30;
  uint64_t writeback_buffer = 16;
  DirectoryConfig directory;

  // The config of a preset (none, custom, skylake_sp, zen3); throws std::invalid_argument if unknown.
  static HierarchyConfig named(const std::string& preset);
  // Fills every level from the named preset: none, custom, skylake_sp, zen3. False (nothing changed) if
  // unknown.
  bool set_preset(const std::string& name);

  template <class V>
  void visit(V& v) {
    const std::string before = preset;
    v("preset", preset, "",
      "The hierarchy of a real part, refilling every key below (which may then override single values): none "
      "(no caches: every access and PTE read goes to memory), skylake_sp (Intel Xeon Scalable, Skylake-SP), "
      "zen3 (AMD Zen 3, one 8-core CCX), custom (generic Skylake-like levels, inclusive LLC, no prefetchers)");
    if (preset != before) preset_known = set_preset(preset);
    v.section("l1i", l1i, "Private L1 instruction cache of each core (fetches)");
    v.section("l1d", l1d, "Private L1 data cache of each core (loads, stores)");
    v.section("l2", l2, "Private unified L2 of each core, inclusive of the core's L1s");
    v.section("llc", llc, "Shared last-level cache of each socket; its core-valid bits are the snoop filter");
    v("walk_entry", walk_entry, "",
      "Where page-walk PTE reads and A/D writes enter: l1d, l2, llc or memory (counted, nothing cached)");
    v("c2c_latency", c2c_latency, "core cycles",
      "Extra cycles of a cache-to-cache transfer inside a socket, on top of the LLC latency");
    v("writeback_buffer", writeback_buffer, "lines",
      "sim.mode at: dirty victims each core's write-back buffer holds while they drain to memory in the background "
      "(prefetch fills queue behind them without a bound); an access whose victims do not fit waits for room");
    v.section("directory", directory, "Home directories across sockets: banks and occupancy (sim.mode at)");
  }
  // Throws InputError naming path.level.key: an invalid present level; inclusion other than inclusive
  // below the LLC; banks other than 1 or bank_cycles other than 0 below the LLC; an invalid directory; present levels with different line sizes; load-to-use latencies decreasing along a
  // path (l1i/l1d latency > l2 latency > llc latency, present levels only).
  void validate(const std::string& path) const;
  // Line size of the present levels (64 if none is present).
  uint64_t line_bytes() const;
  bool any_present() const { return l1i.present || l1d.present || l2.present || llc.present; }

  static LevelConfig default_l1i() { return level(32 * 1024, 8, 4, 8); }
  static LevelConfig default_l1d() { return level(32 * 1024, 8, 5, 12); }
  static LevelConfig default_l2() { return level(1024 * 1024, 16, 14, 32); }
  static LevelConfig default_llc() { return level(16384ull * 11 * 64, 11, 50, 64); }

 private:
  static LevelConfig level(uint64_t bytes, uint64_t ways, uint64_t latency, uint64_t mshrs) {
    LevelConfig c;
    c.size = Bytes{bytes};
    c.ways = ways;
    c.latency = latency;
    c.mshrs = mshrs;
    return c;
  }
};

}  // namespace vmsim::cache

template <>
struct vmsim::config::EnumNames<vmsim::cache::Prefetch> {
  static const std::vector<std::pair<vmsim::cache::Prefetch, const char*>>& table() {
    static const std::vector<std::pair<vmsim::cache::Prefetch, const char*>> t = {
        {vmsim::cache::Prefetch::None, "none"},
        {vmsim::cache::Prefetch::NextLine, "next_line"},
        {vmsim::cache::Prefetch::IpStride, "ip_stride"},
        {vmsim::cache::Prefetch::Stream, "stream"}};
    return t;
  }
};

template <>
struct vmsim::config::EnumNames<vmsim::cache::Inclusion> {
  static const std::vector<std::pair<vmsim::cache::Inclusion, const char*>>& table() {
    static const std::vector<std::pair<vmsim::cache::Inclusion, const char*>> t = {
        {vmsim::cache::Inclusion::Inclusive, "inclusive"},
        {vmsim::cache::Inclusion::NonInclusive, "non_inclusive"},
        {vmsim::cache::Inclusion::Exclusive, "exclusive"}};
    return t;
  }
};

template <>
struct vmsim::config::EnumNames<vmsim::cache::WalkEntry> {
  static const std::vector<std::pair<vmsim::cache::WalkEntry, const char*>>& table() {
    static const std::vector<std::pair<vmsim::cache::WalkEntry, const char*>> t = {
        {vmsim::cache::WalkEntry::L1d, "l1d"},
        {vmsim::cache::WalkEntry::L2, "l2"},
        {vmsim::cache::WalkEntry::Llc, "llc"},
        {vmsim::cache::WalkEntry::Memory, "memory"}};
    return t;
  }
};
