// Validation of the cache hierarchy configuration.
#include "models/cache/cache_config.hpp"

#include <stdexcept>

#include "common/error.hpp"

namespace vmsim::cache {

namespace {

bool is_pow2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

std::string join(const std::string& path, const char* key) { return path.empty() ? key : path + "." + key; }

}  // namespace

void LevelConfig::validate(const std::string& path) const {
  using config::require;
  if (!present) return;
  require(is_pow2(line) && line >= 8 && line <= 4096, path, "line", std::to_string(line),
          "must be a power of two in [8, 4096]");
  require(ways > 0 && ways <= 64, path, "ways", std::to_string(ways), "must be in [1, 64]");
  const uint64_t way_bytes = ways * line;
  require(size.value > 0 && size.value % way_bytes == 0 && is_pow2(size.value / way_bytes), path, "size",
          format_bytes(size),
          "must be ways x line (" + std::to_string(way_bytes) + " B) times a power of two (the sets)");
  require(size.value / way_bytes <= (uint64_t{1} << 31), path, "size", format_bytes(size), "too many sets");
  if (replacement == mmu::ReplacementPolicy::Plru) {
    require(is_pow2(ways), path, "ways", std::to_string(ways), "replacement plru needs a power of two");
  }
  require(seed != 0, path, "seed", std::to_string(seed), "must be nonzero (xorshift64 state)");
  require(mshrs > 0, path, "mshrs", std::to_string(mshrs), "must be > 0");
  require(prefetch_degree > 0 && prefetch_degree <= kMaxPrefetchDegree, path, "prefetch_degree",
          std::to_string(prefetch_degree), "must be in [1, 8]");
  require(banks > 0 && banks <= kMaxBanks, path, "banks", std::to_string(banks), "must be in [1, 1024]");
  require(bank_cycles <= kMaxBankCycles, path, "bank_cycles", std::to_string(bank_cycles), "must be in [0, 1000]");
}

void DirectoryConfig::validate(const std::string& path) const {
  using config::require;
  require(banks > 0 && banks <= LevelConfig::kMaxBanks, path, "banks", std::to_string(banks), "must be in [1, 1024]");
  require(cycles <= LevelConfig::kMaxBankCycles, path, "cycles", std::to_string(cycles), "must be in [0, 1000]");
}

uint64_t HierarchyConfig::line_bytes() const {
  for (const LevelConfig* l : {&l1i, &l1d, &l2, &llc}) {
    if (l->present) return l->line;
  }
  return 64;
}

HierarchyConfig HierarchyConfig::named(const std::string& preset) {
  HierarchyConfig c;
  if (!c.set_preset(preset)) throw std::invalid_argument("unknown cache preset " + preset);
  c.preset = preset;
  return c;
}

bool HierarchyConfig::set_preset(const std::string& name) {
  auto level = [](uint64_t bytes, uint64_t ways, uint64_t latency, uint64_t mshrs) {
    LevelConfig c;
    c.size = Bytes{bytes};
    c.ways = ways;
    c.latency = latency;
    c.mshrs = mshrs;
    return c;
  };
  constexpr uint64_t KiB = 1024, MiB = 1024 * 1024;
  if (name == "none" || name == "custom") {
    // custom: the generic levels; none: the same, absent (a level's present: true brings it back).
    l1i = default_l1i();
    l1d = default_l1d();
    l2 = default_l2();
    llc = default_llc();
    if (name == "none") {
      for (LevelConfig* l : {&l1i, &l1d, &l2, &llc}) l->present = false;
    }
    walk_entry = WalkEntry::L1d;
    c2c_latency = 30;
    directory = DirectoryConfig{};
    return true;
  }
  if (name == "skylake_sp") {
    // Intel Xeon Scalable (Skylake-SP). Intel 64 and IA-32 Architectures Optimization Reference Manual,
    // Skylake Server cache parameters: L1 I and D 32 KiB 8-way, 64 B lines, L1D load-to-use 4-5 cycles
    // (5 taken: complex addressing); L2 1 MiB 16-way, 14 cycles, inclusive of L1; L3 1.375 MiB per core
    // 11-way, non-inclusive, 50-70 cycles (60 taken), here 8 slices (11 MiB) per socket. L2 streamer and
    // L1 IP-based stride prefetchers as described in the same manual.
    l1i = level(32 * KiB, 8, 4, 8);
    l1d = level(32 * KiB, 8, 5, 12);
    l1d.prefetcher = Prefetch::IpStride;
    l2 = level(1 * MiB, 16, 14, 32);
    l2.prefetcher = Prefetch::Stream;
    l2.prefetch_degree = 2;
    llc = level(11 * MiB, 11, 60, 64);
    llc.inclusion = Inclusion::NonInclusive;
    // One LLC slice with its caching/home agent (CHA, which also holds the slice's snoop filter) per core
    // on the mesh, lines hashed over the slices (same manual, Skylake Server microarchitecture): 8 banks. A
    // slice moves 32 bytes a cycle on the mesh, so a 64-byte line occupies it 2 cycles. The CHA is also the
    // home agent of its addresses: the directory is banked the same way; its occupancy per request (4
    // cycles) is not published and is an assumption.
    llc.banks = 8;
    llc.bank_cycles = 2;
    directory.banks = 8;
    directory.cycles = 4;
    walk_entry = WalkEntry::L1d;
    c2c_latency = 30;
    return true;
  }
  if (name == "zen3") {
    // AMD Zen 3 (Ryzen 5000, EPYC 7003). Software Optimization Guide for AMD Family 19h Processors: L1I 32 KiB
    // 8-way; L1D 32 KiB 8-way, 4-cycle load-to-use for integer loads (5 taken: address through a complex
    // mode); L2 512 KiB 8-way, 12 cycles, inclusive of L1; L3 32 MiB 16-way shared by the 8 cores of a CCX,
    // a victim cache of the L2s, about 46 cycles average. L1 stride and L2 stream prefetchers.
    l1i = level(32 * KiB, 8, 4, 8);
    l1d = level(32 * KiB, 8, 5, 22);
    l1d.prefetcher = Prefetch::IpStride;
    l2 = level(512 * KiB, 8, 12, 24);
    l2.prefetcher = Prefetch::Stream;
    l2.prefetch_degree = 2;
    llc = level(32 * MiB, 16, 46, 64);
    llc.inclusion = Inclusion::Exclusive;
    // The CCX's L3 is 8 slices of 4 MiB, one beside each core, lines interleaved over them (AMD, "Zen 3",
    // ISSCC 2021 and Hot Chips 32), each returning 32 bytes a cycle (the same guide): a 64-byte line
    // occupies a slice 2 cycles. Cross-socket coherence (EPYC 7003) is kept in the I/O die, in front of its
    // memory channels (four quadrants): 4 directory banks and 4 cycles each are assumptions, not published.
    llc.banks = 8;
    llc.bank_cycles = 2;
    directory.banks = 4;
    directory.cycles = 4;
    walk_entry = WalkEntry::L1d;
    c2c_latency = 30;
    return true;
  }
  return false;
}

void HierarchyConfig::validate(const std::string& path) const {
  using config::require;
  require(preset_known, path, "preset", preset, "expected none, custom, skylake_sp or zen3");
  require(writeback_buffer > 0 && writeback_buffer <= 4096, path, "writeback_buffer", std::to_string(writeback_buffer),
          "must be in [1, 4096]");
  const std::pair<const char*, const LevelConfig*> levels[] = {{"l1i", &l1i}, {"l1d", &l1d}, {"l2", &l2}, {"llc", &llc}};
  for (const auto& [name, l] : levels) l->validate(join(path, name));
  for (const auto& [name, l] : levels) {
    if (l != &llc && l->present) {
      require(l->inclusion == Inclusion::Inclusive, join(path, name), "inclusion", config::enum_name(l->inclusion),
              "only the llc takes an inclusion policy");
      require(l->banks == 1, join(path, name), "banks", std::to_string(l->banks), "only the llc is banked");
      require(l->bank_cycles == 0, join(path, name), "bank_cycles", std::to_string(l->bank_cycles),
              "only the llc is banked");
    }
  }
  directory.validate(join(path, "directory"));
  const uint64_t line = line_bytes();
  for (const auto& [name, l] : levels) {
    if (l->present) {
      require(l->line == line, join(path, name), "line", std::to_string(l->line),
              "every level must use the same line size (" + std::to_string(line) + ")");
    }
  }
  // Load-to-use latencies must not decrease along a lookup path (L1 -> L2 -> LLC, present levels only).
  for (const LevelConfig* l1 : {&l1i, &l1d}) {
    const char* l1_name = l1 == &l1i ? "l1i" : "l1d";
    uint64_t prev = l1->present ? l1->latency : 0;
    std::string prev_name = l1->present ? l1_name : "";
    for (const auto& [name, l] : {levels[2], levels[3]}) {
      if (!l->present) continue;
      require(l->latency >= prev, join(path, name), "latency", std::to_string(l->latency),
              "load-to-use latency must be >= that of " + prev_name + " (" + std::to_string(prev) + ")");
      prev = l->latency;
      prev_name = name;
    }
  }
}

}  // namespace vmsim::cache
