// Validation of the cache hierarchy configuration.
#include "models/cache/cache_config.hpp"

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
}

uint64_t HierarchyConfig::line_bytes() const {
  for (const LevelConfig* l : {&l1i, &l1d, &l2, &llc}) {
    if (l->present) return l->line;
  }
  return 64;
}

void HierarchyConfig::validate(const std::string& path) const {
  using config::require;
  const std::pair<const char*, const LevelConfig*> levels[] = {{"l1i", &l1i}, {"l1d", &l1d}, {"l2", &l2}, {"llc", &llc}};
  for (const auto& [name, l] : levels) l->validate(join(path, name));
  for (const auto& [name, l] : levels) {
    if (l != &llc && l->present) {
      require(l->inclusion == Inclusion::Inclusive, join(path, name), "inclusion", config::enum_name(l->inclusion),
              "only the llc takes an inclusion policy");
    }
  }
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
