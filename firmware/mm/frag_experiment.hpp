// Steady-state fragmentation experiment over the partition allocator: seeded random sizes and lifetimes,
// periodic samples of holes, blocks and wasted memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "firmware/mm/partitions.hpp"
#include "common/config.hpp"

namespace vmsim::fw {

enum class SizeDistribution : uint8_t { Uniform, Exponential };
enum class CompactionMode : uint8_t { Never, OnFailure };

// The experiment. Each step t = 1..steps first frees every block whose lifetime ends at t, then requests
// one block:
//   size      uniform: integer uniform in [min_size, max_size];
//             exponential: min_size + floor(X), X exponential with mean (mean_size - min_size), redrawn
//             while the size exceeds max_size (a truncated exponential);
//   rounding  the block takes size rounded up to a multiple of granule (the excess is internal waste);
//   lifetime  max(1, round(Y)) steps, Y exponential with mean mean_lifetime.
// A request that finds no hole is dropped and counted as a failure; with compaction on-failure the arena
// is compacted first and the request retried once. Expected load = mean_lifetime * mean block size; the
// live population reaches steady state after a few mean lifetimes. Deterministic for a given config
// (std::mt19937_64 and the distributions above, implemented here).
struct FragExperimentConfig {
  Placement policy = Placement::FirstFit;
  uint64_t arena = 1ull << 20;  // bytes
  uint64_t steps = 100000;
  uint64_t seed = 1;
  SizeDistribution distribution = SizeDistribution::Uniform;
  uint64_t min_size = 64;
  uint64_t max_size = 4096;
  uint64_t mean_size = 1024;  // exponential only
  uint64_t mean_lifetime = 400;  // with the default sizes: ~80% nominal load
  uint64_t granule = 16;
  uint64_t sample_every = 1000;
  CompactionMode compaction = CompactionMode::Never;

  template <class V>
  void visit(V& v) {
    v("policy", policy, "", "Placement policy: first-fit | best-fit | worst-fit | next-fit");
    v("arena", arena, "bytes", "Size of the managed range");
    v("steps", steps, "steps", "Number of steps (one request per step)");
    v("seed", seed, "", "Random seed");
    v("distribution", distribution, "", "Request size distribution: uniform | exponential");
    v("min_size", min_size, "bytes", "Smallest request");
    v("max_size", max_size, "bytes", "Largest request");
    v("mean_size", mean_size, "bytes", "Mean request size (exponential distribution only)");
    v("mean_lifetime", mean_lifetime, "steps", "Mean block lifetime (exponential)");
    v("granule", granule, "bytes", "Allocation unit: requests are rounded up to a multiple");
    v("sample_every", sample_every, "steps", "Steps between samples of the time series");
    v("compaction", compaction, "", "never | on-failure (compact and retry a failing request once)");
  }
  // Throws InputError naming path.key and the value for inconsistent settings.
  void validate(const std::string& path) const;
};

// The arena after step `step`.
struct FragSample {
  uint64_t step = 0;
  uint64_t blocks = 0;
  uint64_t holes = 0;
  uint64_t used_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t largest_hole = 0;
  double external_fragmentation = 0;  // 1 - largest_hole / free_bytes
  uint64_t internal_waste = 0;        // rounding to granule, summed over live blocks
  uint64_t unusable_free = 0;         // free bytes in holes smaller than the smallest possible block
  uint64_t failures = 0;              // cumulative
  uint64_t compactions = 0;           // cumulative
};

struct FragExperimentResult {
  uint64_t requests = 0;
  uint64_t allocations = 0;
  uint64_t failures = 0;
  uint64_t frees = 0;
  uint64_t compactions = 0;
  uint64_t moved_bytes = 0;
  uint64_t holes_examined = 0;  // placement search cost
  // Means over the samples.
  double mean_blocks = 0;
  double mean_holes = 0;
  double mean_utilization = 0;  // used / arena
  double mean_external_fragmentation = 0;
  double mean_internal_waste = 0;
  double mean_unusable_free = 0;
  std::vector<FragSample> samples;  // every sample_every steps and after the last step
};

// Runs the experiment. Throws std::invalid_argument if cfg fails validate().
FragExperimentResult run_frag_experiment(const FragExperimentConfig& cfg);

// CSV header and one row per sample: policy,step,blocks,holes,used_bytes,free_bytes,largest_hole,
// external_fragmentation,internal_waste,unusable_free,failures,compactions
std::string frag_csv_header();
std::string frag_csv_row(const char* policy, const FragSample& s);

}  // namespace vmsim::fw

template <>
struct vmsim::config::EnumNames<vmsim::fw::SizeDistribution> {
  static const std::vector<std::pair<vmsim::fw::SizeDistribution, const char*>>& table() {
    static const std::vector<std::pair<vmsim::fw::SizeDistribution, const char*>> t = {
        {vmsim::fw::SizeDistribution::Uniform, "uniform"}, {vmsim::fw::SizeDistribution::Exponential, "exponential"}};
    return t;
  }
};

template <>
struct vmsim::config::EnumNames<vmsim::fw::CompactionMode> {
  static const std::vector<std::pair<vmsim::fw::CompactionMode, const char*>>& table() {
    static const std::vector<std::pair<vmsim::fw::CompactionMode, const char*>> t = {
        {vmsim::fw::CompactionMode::Never, "never"}, {vmsim::fw::CompactionMode::OnFailure, "on-failure"}};
    return t;
  }
};
