// `vmsim refs`: reference-string replay through every page-replacement policy over a range of frame counts.
#include "apps/vmsim/refs.hpp"
#include "apps/vmsim/options.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "common/units.hpp"

namespace vmsim::study {

namespace {

constexpr uint64_t kMaxFrameCounts = 4096;

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

uint64_t frame_count(const std::string& text, const std::string& item) {
  std::optional<uint64_t> v = parse_uint(text);
  if (!v) throw InputError("--frames: bad value '" + item + "' (expected N, A..B or a comma list of those)");
  if (*v == 0) throw InputError("--frames: bad value '" + item + "' (frame counts start at 1)");
  return *v;
}

}  // namespace

std::vector<uint64_t> parse_frames(const std::string& text) {
  std::set<uint64_t> frames;
  for (const std::string& item : split(text, ',')) {
    const size_t dots = item.find("..");
    if (dots == std::string::npos) {
      frames.insert(frame_count(item, item));
      continue;
    }
    const uint64_t lo = frame_count(item.substr(0, dots), item);
    const uint64_t hi = frame_count(item.substr(dots + 2), item);
    if (hi < lo) throw InputError("--frames: bad value '" + item + "' (range from high to low)");
    if (hi - lo >= kMaxFrameCounts) {
      throw InputError("--frames: bad value '" + item + "' (more than " + std::to_string(kMaxFrameCounts) +
                       " frame counts)");
    }
    for (uint64_t f = lo; f <= hi; ++f) frames.insert(f);
  }
  if (frames.size() > kMaxFrameCounts) {
    throw InputError("--frames: bad value '" + text + "' (more than " + std::to_string(kMaxFrameCounts) +
                     " frame counts)");
  }
  return {frames.begin(), frames.end()};
}

std::vector<fw::ReplacementKind> parse_policies(const std::string& text) {
  std::vector<fw::ReplacementKind> kinds;
  if (text == "all") {
    for (const auto& [kind, name] : config::EnumNames<fw::ReplacementKind>::table()) kinds.push_back(kind);
    return kinds;
  }
  for (const std::string& name : split(text, ',')) {
    fw::ReplacementKind k{};
    if (!config::parse_value(name, k)) {
      throw InputError("--policy: unknown policy '" + name + "' (expected all or a comma list of " +
                       config::enum_choices<fw::ReplacementKind>() + ")");
    }
    if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
  }
  return kinds;
}

RefsTable run_refs(const std::vector<fw::Reference>& refs, const std::vector<fw::ReplacementKind>& policies,
                   const std::vector<uint64_t>& frames, uint64_t tau, uint64_t seed) {
  if (tau == 0) throw InputError("--tau: bad value '0' (must be > 0)");
  RefsTable t;
  t.policies = policies;
  t.frames = frames;
  for (fw::ReplacementKind k : policies) {
    fw::ReplacementConfig cfg;
    cfg.policy = k;
    cfg.tau = tau;
    cfg.seed = seed;
    std::vector<uint64_t> row;
    for (uint64_t f : frames) {
      fw::RefSimOptions o;
      o.frames = f;
      o.info = fw::RefSimInfo::Exact;
      row.push_back(fw::simulate_reference_string(cfg, refs, o).faults);
    }
    t.faults.push_back(std::move(row));
  }
  return t;
}

std::vector<BeladyAnomaly> belady_anomalies(const RefsTable& table) {
  std::vector<BeladyAnomaly> out;
  for (size_t p = 0; p < table.policies.size(); ++p) {
    for (size_t i = 0; i + 1 < table.frames.size(); ++i) {
      if (table.faults[p][i + 1] > table.faults[p][i]) {
        out.push_back({table.policies[p], table.frames[i], table.faults[p][i], table.frames[i + 1],
                       table.faults[p][i + 1]});
      }
    }
  }
  return out;
}

std::string format_refs_table(const RefsTable& table, const std::vector<fw::Reference>& refs, uint64_t tau) {
  std::set<fw::PageId> distinct;
  for (const fw::Reference& r : refs) distinct.insert(r.page);
  const std::vector<BeladyAnomaly> anomalies = belady_anomalies(table);
  std::ostringstream os;
  os << "refs: " << refs.size() << " references, " << distinct.size()
     << " distinct pages; page faults per policy (rows) and number of frames (columns)";
  bool windowed = false;
  for (fw::ReplacementKind k : table.policies) {
    windowed = windowed || k == fw::ReplacementKind::Ws || k == fw::ReplacementKind::WsClock;
  }
  if (windowed) os << "; ws/wsclock window tau " << tau;
  os << "\n";
  char cell[64];
  std::snprintf(cell, sizeof cell, "  %-16s", "frames");
  os << cell;
  for (uint64_t f : table.frames) {
    std::snprintf(cell, sizeof cell, "%7llu ", static_cast<unsigned long long>(f));
    os << cell;
  }
  os << "\n";
  for (size_t p = 0; p < table.policies.size(); ++p) {
    std::snprintf(cell, sizeof cell, "  %-16s", config::enum_name(table.policies[p]));
    os << cell;
    for (size_t i = 0; i < table.frames.size(); ++i) {
      const bool anomalous = i > 0 && table.faults[p][i] > table.faults[p][i - 1];
      std::snprintf(cell, sizeof cell, "%7llu%c", static_cast<unsigned long long>(table.faults[p][i]),
                    anomalous ? '!' : ' ');
      os << cell;
    }
    os << "\n";
  }
  if (anomalies.empty()) {
    os << "no Belady's anomaly: no policy faults more with more frames\n";
  } else {
    os << "Belady's anomaly (marked !: more faults with more frames):\n";
    for (const BeladyAnomaly& a : anomalies) {
      os << "  " << config::enum_name(a.policy) << ": " << a.frames_before << " frames " << a.faults_before
         << " faults, " << a.frames_after << " frames " << a.faults_after << " faults\n";
    }
  }
  // No trailing blanks (the anomaly mark column).
  std::string text;
  for (char c : os.str()) {
    if (c == '\n') {
      while (!text.empty() && text.back() == ' ') text.pop_back();
    }
    text += c;
  }
  return text;
}

std::string format_refs_csv(const RefsTable& table) {
  std::ostringstream os;
  os << "policy,frames,faults\n";
  for (size_t p = 0; p < table.policies.size(); ++p) {
    for (size_t i = 0; i < table.frames.size(); ++i) {
      os << config::enum_name(table.policies[p]) << "," << table.frames[i] << "," << table.faults[p][i] << "\n";
    }
  }
  return os.str();
}

CLI::App* add_refs_command(CLI::App& app, RefsOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "refs",
      "Replay a page reference string through the kernel's page-replacement policies (OPT included) and "
      "print faults per policy and number of frames, flagging Belady's anomaly");
  cmd->add_option("references", o.references,
                  "Page numbers separated by commas or spaces, e.g. \"7,0,1,2,0,3\" (a trailing w marks a write)");
  cmd->add_option("--file", o.file, "Read the reference string from this file instead");
  cmd->add_option("--frames", o.frames, "Frame counts: N, A..B or a comma list of those")->capture_default_str();
  cmd->add_option("--policy", o.policy,
                  "all, or a comma list of " + config::enum_choices<fw::ReplacementKind>())
      ->capture_default_str();
  cmd->add_flag("--csv", o.csv, "Print policy,frames,faults rows instead of the table");
  add_uint_option(cmd, "--tau", o.tau, "Working-set window of ws and wsclock, in references")
      ->default_str(std::to_string(o.tau));
  add_uint_option(cmd, "--seed", o.seed, "Seed of the random policy")->default_str(std::to_string(o.seed));
  cmd->add_option("--plot", o.plot,
                  "Also draw the fault curves (faults against frames, one line per policy) to this file: PNG or SVG "
                  "by its extension (python3-matplotlib, as vmsim plot)");
  return cmd;
}

int run_refs_command(const RefsOptions& o, const std::function<int(const RefsTable&, const std::string&)>& plot) {
  if (o.references.empty() == o.file.empty()) {
    throw InputError("refs: give the reference string or --file FILE (one of the two)");
  }
  if (!o.plot.empty()) {
    const auto ends_with = [&](const char* ext) {
      const std::string e(ext);
      return o.plot.size() > e.size() && o.plot.compare(o.plot.size() - e.size(), e.size(), e) == 0;
    };
    if (!ends_with(".png") && !ends_with(".svg")) {
      throw InputError("--plot: bad value '" + o.plot + "' (the file name must end in .png or .svg)");
    }
    if (!plot) throw InputError("--plot: this program cannot draw plots");
  }
  std::string text = o.references;
  std::string source = "references";
  if (!o.file.empty()) {
    text = config::read_input_file(o.file);
    source = o.file;
  }
  const std::vector<fw::Reference> refs = fw::parse_reference_string(text, source);
  if (refs.empty()) throw InputError(source + ": no references");
  const std::vector<uint64_t> frames = parse_frames(o.frames);
  const std::vector<fw::ReplacementKind> policies = parse_policies(o.policy);
  const RefsTable table = run_refs(refs, policies, frames, o.tau, o.seed);
  std::cout << (o.csv ? format_refs_csv(table) : format_refs_table(table, refs, o.tau));
  if (!o.plot.empty()) {
    std::cout.flush();
    return plot(table, o.plot);
  }
  return 0;
}

}  // namespace vmsim::study
