// Sweep specifications: parsing with one-line errors, expansion into runs, FNV-1a run hashes.
#include "apps/vmsim/sweep_spec.hpp"

#include <yaml-cpp/yaml.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/config.hpp"
#include "common/error.hpp"
#include "common/units.hpp"

namespace vmsim::study {

namespace {

const char* const kSpecKeys[] = {"base", "set", "grid", "zip", "seeds", "metrics"};

// "FILE:LINE: KEY: MSG" (LINE only when the node has a position).
[[noreturn]] void fail(const std::string& file, const YAML::Node& node, const std::string& key, const std::string& msg) {
  std::string where = file;
  if (node.IsDefined() && node.Mark().line >= 0) where += ":" + std::to_string(node.Mark().line + 1);
  throw InputError(where + ": " + key + ": " + msg);
}

// A value as --set text: scalars as written, lists and maps in YAML flow syntax.
std::string value_text(const std::string& file, const YAML::Node& v, const std::string& key) {
  if (v.IsScalar() || v.IsSequence() || v.IsMap()) return config::flow_text(v);
  fail(file, v, key, "empty value (write a value)");
}

std::vector<std::pair<std::string, YAML::Node>> map_entries(const std::string& file, const YAML::Node& n,
                                                            const std::string& key) {
  if (n.IsNull()) fail(file, n, key, "empty value (write a map of config keys, or leave the key out)");
  if (!n.IsMap()) fail(file, n, key, "expected a map of config keys (key.path: value)");
  std::vector<std::pair<std::string, YAML::Node>> out;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar() || kv.first.Scalar().empty()) fail(file, kv.first, key, "expected a config key path");
    out.emplace_back(kv.first.Scalar(), kv.second);
  }
  return out;
}

std::vector<Param> param_lists(const std::string& file, const YAML::Node& n, const std::string& section) {
  std::vector<Param> out;
  for (const auto& [k, v] : map_entries(file, n, section)) {
    const std::string key = section + "." + k;
    if (!v.IsSequence()) fail(file, v, key, "expected a list of values");
    if (v.size() == 0) fail(file, v, key, "empty list");
    Param p{k, {}};
    for (const auto& item : v) p.values.push_back(value_text(file, item, key));
    out.push_back(std::move(p));
  }
  return out;
}

std::string dir_of(const std::string& file) {
  const size_t slash = file.find_last_of('/');
  return slash == std::string::npos ? "" : file.substr(0, slash + 1);
}

}  // namespace

std::vector<std::string> SweepSpec::swept_keys() const {
  std::vector<std::string> keys;
  for (const Param& p : grid) keys.push_back(p.key);
  for (const Param& p : zip) keys.push_back(p.key);
  return keys;
}

size_t SweepSpec::points() const {
  size_t n = 1;
  for (const Param& p : grid) n *= p.values.size();
  if (!zip.empty()) n *= zip.front().values.size();
  return n;
}

SweepSpec parse_sweep_spec(const std::string& text, const std::string& file) {
  // One document; no key twice in any map; no tags.
  const YAML::Node root = config::parse_yaml(text, file);
  if (!root.IsMap()) throw InputError(file + ": expected a map with keys base, set, grid, zip, seeds, metrics");
  for (const auto& kv : root) {
    const std::string k = kv.first.as<std::string>("");
    bool known = false;
    for (const char* s : kSpecKeys) known = known || k == s;
    if (!known) fail(file, kv.first, printable(k), "unknown key (expected base, set, grid, zip, seeds, metrics)");
    if (kv.second.IsNull()) fail(file, kv.first, k, "empty value (write a value, or leave the key out)");
  }

  SweepSpec spec;
  spec.file = file;
  const YAML::Node base = root["base"];
  if (!base.IsDefined() || base.IsNull()) fail(file, root, "base", "missing (the config every run starts from)");
  if (!base.IsScalar() || base.Scalar().empty()) fail(file, base, "base", "expected a config file path");
  spec.base = base.Scalar();
  if (spec.base[0] != '/') {
    spec.base = std::filesystem::path(dir_of(file) + spec.base).lexically_normal().string();
  }

  if (root["set"]) {
    for (const auto& [k, v] : map_entries(file, root["set"], "set")) {
      spec.sets.emplace_back(k, value_text(file, v, "set." + k));
    }
  }
  if (root["grid"]) spec.grid = param_lists(file, root["grid"], "grid");
  if (root["zip"]) spec.zip = param_lists(file, root["zip"], "zip");
  for (size_t i = 1; i < spec.zip.size(); ++i) {
    if (spec.zip[i].values.size() != spec.zip[0].values.size()) {
      fail(file, root["zip"][spec.zip[i].key], "zip." + spec.zip[i].key,
           std::to_string(spec.zip[i].values.size()) + " values but zip." + spec.zip[0].key + " has " +
               std::to_string(spec.zip[0].values.size()) + " (zip lists advance together: equal lengths)");
    }
  }
  std::set<std::string> seen;
  auto once = [&](const std::string& section, const std::string& key) {
    if (!seen.insert(key).second) {
      fail(file, root[section][key], section + "." + key, "key given twice (set, grid and zip keys must differ)");
    }
  };
  for (const auto& s : spec.sets) once("set", s.first);
  for (const Param& p : spec.grid) once("grid", p.key);
  for (const Param& p : spec.zip) once("zip", p.key);

  if (const YAML::Node seeds = root["seeds"]) {
    if (!seeds.IsSequence()) fail(file, seeds, "seeds", "expected a list of unsigned integers");
    if (seeds.size() == 0) fail(file, seeds, "seeds", "empty list");
    std::set<uint64_t> distinct;
    for (const auto& s : seeds) {
      std::optional<uint64_t> v = s.IsScalar() ? parse_uint(s.Scalar()) : std::nullopt;
      if (!v) fail(file, s, "seeds", "bad value '" + (s.IsScalar() ? s.Scalar() : std::string("?")) + "' (expected an unsigned integer)");
      if (!distinct.insert(*v).second) fail(file, s, "seeds", "seed " + std::to_string(*v) + " listed twice");
      spec.seeds.push_back(*v);
    }
  }
  if (const YAML::Node metrics = root["metrics"]) {
    if (!metrics.IsSequence()) fail(file, metrics, "metrics", "expected a list of summary statistic names");
    if (metrics.size() == 0) fail(file, metrics, "metrics", "empty list");
    for (const auto& m : metrics) {
      if (!m.IsScalar() || m.Scalar().empty()) fail(file, m, "metrics", "expected a summary statistic name");
      spec.metrics.push_back(m.Scalar());
    }
  }
  return spec;
}

SweepSpec load_sweep_spec(const std::string& file) {
  SweepSpec spec = parse_sweep_spec(config::read_input_file(file), file);
  struct stat st {};
  if (::stat(spec.base.c_str(), &st) != 0) {
    throw InputError(file + ": base: cannot open '" + printable(spec.base) + "': " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) throw InputError(file + ": base: '" + printable(spec.base) + "' is a directory (expected a config file)");
  return spec;
}

std::vector<SweepRun> expand_sweep(const SweepSpec& spec) {
  std::vector<SweepRun> runs;
  const size_t zip_len = spec.zip.empty() ? 1 : spec.zip.front().values.size();
  size_t grid_combos = 1;
  for (const Param& p : spec.grid) grid_combos *= p.values.size();
  std::vector<std::optional<uint64_t>> seeds;
  for (uint64_t s : spec.seeds) seeds.emplace_back(s);
  if (seeds.empty()) seeds.emplace_back(std::nullopt);

  size_t point = 0;
  for (size_t g = 0; g < grid_combos; ++g) {
    // Mixed-radix digits of g, the last grid key the fastest.
    std::vector<size_t> digit(spec.grid.size());
    size_t rest = g;
    for (size_t i = spec.grid.size(); i-- > 0;) {
      digit[i] = rest % spec.grid[i].values.size();
      rest /= spec.grid[i].values.size();
    }
    for (size_t z = 0; z < zip_len; ++z, ++point) {
      std::vector<std::pair<std::string, std::string>> params;
      for (size_t i = 0; i < spec.grid.size(); ++i) params.emplace_back(spec.grid[i].key, spec.grid[i].values[digit[i]]);
      for (const Param& p : spec.zip) params.emplace_back(p.key, p.values[z]);
      for (const auto& seed : seeds) {
        SweepRun r;
        r.index = runs.size();
        r.point = point;
        r.params = params;
        r.seed = seed;
        for (const auto& s : spec.sets) r.overrides.push_back(s.first + "=" + s.second);
        for (const auto& p : params) r.overrides.push_back(p.first + "=" + p.second);
        runs.push_back(std::move(r));
      }
    }
  }
  return runs;
}

uint64_t fnv1a64(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string run_hash(const std::string& resolved_yaml, uint64_t seed) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(fnv1a64(resolved_yaml + "\nseed=" + std::to_string(seed) + "\n")));
  return buf;
}

}  // namespace vmsim::study
