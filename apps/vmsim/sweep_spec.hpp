// Sweep specifications (`vmsim sweep SPEC.yaml`): parsing, expansion into runs, and the stable run hash.
// Plain C++ without SystemC, so unit tests link it directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vmsim::study {

// One swept or fixed parameter: a config key path and its values as --set text ("1024", "[{size: 1GiB}]").
struct Param {
  std::string key;
  std::vector<std::string> values;
};

// A parsed spec. Keys of `set`, `grid` and `zip` are distinct.
struct SweepSpec {
  std::string file;                                       // the spec file as given
  std::string base;                                       // base config path, resolved against the spec's folder
  std::vector<std::pair<std::string, std::string>> sets;  // fixed overrides, spec order
  std::vector<Param> grid;                                // every combination (last key varies fastest)
  std::vector<Param> zip;                                 // advanced together: all lists have one length
  std::vector<uint64_t> seeds;                            // empty: the base config's sim.seed, no --seed
  std::vector<std::string> metrics;                       // summary statistics to put first

  // Column names of the swept parameters: the grid keys, then the zip keys.
  std::vector<std::string> swept_keys() const;
  // Number of parameter points (grid combinations x zip length; 1 if neither).
  size_t points() const;
};

// Parses spec text. `file` names the spec in errors and anchors a relative `base`. Throws InputError
// "FILE:LINE: KEY: reason" (one line) for unknown keys, wrong types, empty lists, zip lists of unequal
// length, a key given twice, a missing base or seeds that are not unsigned integers. Does not open the base.
SweepSpec parse_sweep_spec(const std::string& text, const std::string& file);
// Reads and parses FILE; also checks that the base config can be opened. Throws InputError.
SweepSpec load_sweep_spec(const std::string& file);

// One run of a sweep: a parameter point and a seed.
struct SweepRun {
  size_t index = 0;  // position in the expansion
  size_t point = 0;  // parameter point (runs differing only in seed share it)
  std::vector<std::pair<std::string, std::string>> params;  // swept key -> value, swept_keys() order
  std::optional<uint64_t> seed;                             // nullopt: the base config's own seed
  // Every --set assignment of the run: the fixed sets, then the swept parameters ("key=value").
  std::vector<std::string> overrides;
};

// Expands a spec: for each grid combination (first key slowest), for each zip position, for each seed.
std::vector<SweepRun> expand_sweep(const SweepSpec& spec);

// FNV-1a, 64 bits, over the bytes of text.
uint64_t fnv1a64(const std::string& text);
// The identity of a run: 16 lower-case hex digits of FNV-1a 64 over the resolved config text (as
// `vmsim run` writes config.resolved.yaml) followed by "\nseed=<seed>\n". Same inputs, same hash, on every
// host and build.
std::string run_hash(const std::string& resolved_yaml, uint64_t seed);

}  // namespace vmsim::study
