// Steady-state fragmentation experiment: request generation, lifetimes, compaction on failure, sampling.
#include "firmware/mm/frag_experiment.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <queue>
#include <random>
#include <stdexcept>
#include <unordered_map>

#include "common/error.hpp"

namespace vmsim::fw {
namespace {

constexpr uint64_t kMaxArena = uint64_t{1} << 40;

// Uniform double in [0, 1) from the top 53 bits.
double unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Exponential with the given mean (inverse transform).
double exponential(std::mt19937_64& rng, double mean) { return -mean * std::log1p(-unit(rng)); }

uint64_t round_up(uint64_t v, uint64_t g) { return (v + g - 1) / g * g; }

struct Live {
  uint64_t start = 0;
  uint64_t size = 0;       // rounded
  uint64_t requested = 0;
};

}  // namespace

void FragExperimentConfig::validate(const std::string& path) const {
  using config::require;
  require(arena > 0 && arena <= kMaxArena, path, "arena", std::to_string(arena), "must be 1..2^40");
  require(steps > 0, path, "steps", std::to_string(steps), "must be > 0");
  require(min_size > 0, path, "min_size", std::to_string(min_size), "must be > 0");
  require(max_size >= min_size, path, "max_size", std::to_string(max_size),
          "must be >= min_size (" + std::to_string(min_size) + ")");
  require(granule > 0, path, "granule", std::to_string(granule), "must be > 0");
  require(round_up(max_size, granule) <= arena, path, "max_size", std::to_string(max_size),
          "rounded to the granule it must fit the arena (" + std::to_string(arena) + ")");
  if (distribution == SizeDistribution::Exponential) {
    require(mean_size >= min_size && mean_size <= max_size, path, "mean_size", std::to_string(mean_size),
            "must lie in [min_size, max_size] = [" + std::to_string(min_size) + ", " + std::to_string(max_size) + "]");
  }
  require(mean_lifetime > 0, path, "mean_lifetime", std::to_string(mean_lifetime), "must be > 0");
  require(sample_every > 0, path, "sample_every", std::to_string(sample_every), "must be > 0");
}

FragExperimentResult run_frag_experiment(const FragExperimentConfig& cfg) {
  try {
    cfg.validate("");
  } catch (const InputError& e) {
    throw std::invalid_argument(std::string("run_frag_experiment: ") + e.what());
  }
  PartitionAllocator arena(0, cfg.arena, cfg.policy);
  std::mt19937_64 rng(cfg.seed);
  FragExperimentResult r;

  std::vector<Live> live;        // by id
  std::vector<uint32_t> free_ids;
  using Death = std::pair<uint64_t, uint32_t>;  // (step at which it is freed, id)
  std::priority_queue<Death, std::vector<Death>, std::greater<Death>> deaths;
  uint64_t internal_waste = 0;
  const uint64_t smallest_block = round_up(cfg.min_size, cfg.granule);
  const double exp_mean = static_cast<double>(cfg.mean_size - cfg.min_size);

  auto draw_size = [&]() -> uint64_t {
    if (cfg.distribution == SizeDistribution::Uniform) return cfg.min_size + rng() % (cfg.max_size - cfg.min_size + 1);
    for (;;) {
      const double x = std::floor(exponential(rng, exp_mean));
      if (x <= static_cast<double>(cfg.max_size - cfg.min_size)) return cfg.min_size + static_cast<uint64_t>(x);
    }
  };

  auto compact = [&]() {
    CompactionResult c = arena.compact();
    ++r.compactions;
    r.moved_bytes += c.moved_bytes;
    if (c.relocations.empty()) return;
    std::unordered_map<uint64_t, uint64_t> new_start;
    new_start.reserve(c.relocations.size());
    for (const auto& d : c.relocations) new_start.emplace(d.from, d.to);
    for (Live& b : live) {
      if (b.size == 0) continue;  // a free id
      auto it = new_start.find(b.start);
      if (it != new_start.end()) b.start = it->second;
    }
  };

  auto sample = [&](uint64_t step) {
    FragSample s;
    s.step = step;
    s.blocks = arena.blocks();
    s.holes = arena.holes();
    s.used_bytes = arena.used_bytes();
    s.free_bytes = arena.free_bytes();
    s.largest_hole = arena.largest_hole();
    s.external_fragmentation = arena.external_fragmentation();
    s.internal_waste = internal_waste;
    s.unusable_free = arena.free_bytes_in_holes_below(smallest_block);
    s.failures = r.failures;
    s.compactions = r.compactions;
    r.samples.push_back(s);
  };

  for (uint64_t step = 1; step <= cfg.steps; ++step) {
    while (!deaths.empty() && deaths.top().first <= step) {
      const uint32_t id = deaths.top().second;
      deaths.pop();
      arena.free(live[id].start);
      internal_waste -= live[id].size - live[id].requested;
      live[id] = Live{};
      free_ids.push_back(id);
      ++r.frees;
    }

    const uint64_t requested = draw_size();
    const uint64_t size = round_up(requested, cfg.granule);
    const auto lifetime =
        std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(exponential(rng, static_cast<double>(cfg.mean_lifetime)))));
    ++r.requests;
    std::optional<uint64_t> at = arena.allocate(size);
    if (!at && cfg.compaction == CompactionMode::OnFailure && arena.free_bytes() >= size) {
      compact();
      at = arena.allocate(size);
    }
    if (at) {
      uint32_t id;
      if (free_ids.empty()) {
        id = static_cast<uint32_t>(live.size());
        live.emplace_back();
      } else {
        id = free_ids.back();
        free_ids.pop_back();
      }
      live[id] = Live{*at, size, requested};
      internal_waste += size - requested;
      deaths.emplace(step + lifetime, id);
      ++r.allocations;
    } else {
      ++r.failures;
    }

    if (step % cfg.sample_every == 0 || step == cfg.steps) sample(step);
  }

  r.holes_examined = arena.holes_examined();
  const double n = static_cast<double>(r.samples.size());
  for (const FragSample& s : r.samples) {
    r.mean_blocks += static_cast<double>(s.blocks) / n;
    r.mean_holes += static_cast<double>(s.holes) / n;
    r.mean_utilization += static_cast<double>(s.used_bytes) / static_cast<double>(cfg.arena) / n;
    r.mean_external_fragmentation += s.external_fragmentation / n;
    r.mean_internal_waste += static_cast<double>(s.internal_waste) / n;
    r.mean_unusable_free += static_cast<double>(s.unusable_free) / n;
  }
  return r;
}

std::string frag_csv_header() {
  return "policy,step,blocks,holes,used_bytes,free_bytes,largest_hole,external_fragmentation,internal_waste,"
         "unusable_free,failures,compactions\n";
}

std::string frag_csv_row(const char* policy, const FragSample& s) {
  char buf[320];
  std::snprintf(buf, sizeof buf, "%s,%llu,%llu,%llu,%llu,%llu,%llu,%.6f,%llu,%llu,%llu,%llu\n", policy,
                static_cast<unsigned long long>(s.step), static_cast<unsigned long long>(s.blocks),
                static_cast<unsigned long long>(s.holes), static_cast<unsigned long long>(s.used_bytes),
                static_cast<unsigned long long>(s.free_bytes), static_cast<unsigned long long>(s.largest_hole),
                s.external_fragmentation, static_cast<unsigned long long>(s.internal_waste),
                static_cast<unsigned long long>(s.unusable_free), static_cast<unsigned long long>(s.failures),
                static_cast<unsigned long long>(s.compactions));
  return buf;
}

}  // namespace vmsim::fw
