// Sweep result tables: flattening run summaries, CSV quoting, Student-t confidence intervals, results and
// summary tables.
#include "apps/vmsim/study_results.hpp"

#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

namespace vmsim::study {

namespace {

void flatten_into(const nlohmann::ordered_json& node, const std::string& prefix, nlohmann::ordered_json& out) {
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_object()) {
      flatten_into(*it, key, out);
    } else if (it->is_number()) {
      out[key] = *it;
    }
  }
}

std::string format_double(double v, const char* fmt) {
  if (std::isnan(v)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string seed_text(const RunResult& r) { return r.seed ? std::to_string(*r.seed) : ""; }

// Statistic names: the spec's metrics first, then every other statistic of the results in first-seen order.
std::vector<std::string> stat_names(const SweepSpec& spec, const std::vector<RunResult>& results) {
  std::vector<std::string> names = spec.metrics;
  std::set<std::string> seen(names.begin(), names.end());
  for (const RunResult& r : results) {
    for (auto it = r.stats.begin(); it != r.stats.end(); ++it) {
      if (seen.insert(it.key()).second) names.push_back(it.key());
    }
  }
  return names;
}

const char* const kRunColumns[] = {"seed", "status", "exit_code", "host_seconds", "run", "error"};

}  // namespace

nlohmann::ordered_json flatten_summary(const nlohmann::ordered_json& summary) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  if (summary.is_object()) flatten_into(summary, "", out);
  return out;
}

std::string csv_field(const std::string& text) {
  bool quote = !text.empty() && (text.front() == ' ' || text.back() == ' ');
  for (char c : text) quote = quote || c == ',' || c == '"' || c == '\n' || c == '\r';
  if (!quote) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_row(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i != 0) line += ',';
    line += csv_field(fields[i]);
  }
  return line + "\n";
}

double student_t975(uint64_t df) {
  static const double kTable[] = {12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
                                  2.2010,  2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
                                  2.0796,  2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423};
  if (df == 0) throw std::invalid_argument("student_t975: df must be > 0");
  if (df <= 30) return kTable[df - 1];
  if (df < 40) return kTable[29];
  if (df < 60) return 2.0211;
  if (df < 120) return 2.0003;
  if (df < 1000) return 1.9799;  // df >= 1000 differs from the normal quantile by < 0.002
  return 1.9600;
}

MeanCi mean_ci95(const std::vector<double>& values) {
  MeanCi r;
  r.n = values.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (r.n == 0) {
    r.mean = r.half_width = nan;
    return r;
  }
  double sum = 0;
  for (double v : values) sum += v;
  r.mean = sum / static_cast<double>(r.n);
  if (r.n < 2) {
    r.half_width = nan;
    return r;
  }
  double ss = 0;
  for (double v : values) ss += (v - r.mean) * (v - r.mean);
  const double s = std::sqrt(ss / static_cast<double>(r.n - 1));
  r.half_width = student_t975(r.n - 1) * s / std::sqrt(static_cast<double>(r.n));
  return r;
}

std::vector<std::string> result_columns(const SweepSpec& spec, const std::vector<RunResult>& results) {
  std::vector<std::string> cols = spec.swept_keys();
  const std::vector<std::string> stats = stat_names(spec, results);
  cols.insert(cols.end(), stats.begin(), stats.begin() + static_cast<long>(spec.metrics.size()));
  for (const char* c : kRunColumns) cols.emplace_back(c);
  cols.insert(cols.end(), stats.begin() + static_cast<long>(spec.metrics.size()), stats.end());
  return cols;
}

std::string results_csv(const SweepSpec& spec, const std::vector<RunResult>& results) {
  const std::vector<std::string> swept = spec.swept_keys();
  const std::vector<std::string> stats = stat_names(spec, results);
  std::string text = csv_row(result_columns(spec, results));
  for (const RunResult& r : results) {
    std::vector<std::string> row;
    for (const auto& p : r.run.params) row.push_back(p.second);
    auto stat = [&](const std::string& name) { return r.stats.contains(name) ? r.stats[name].dump() : std::string(); };
    for (size_t i = 0; i < spec.metrics.size(); ++i) row.push_back(stat(stats[i]));
    row.push_back(seed_text(r));
    row.push_back(r.ok ? "ok" : "failed");
    row.push_back(std::to_string(r.exit_code));
    row.push_back(format_double(r.host_seconds, "%.3f"));
    row.push_back(r.hash);
    row.push_back(r.error);
    for (size_t i = spec.metrics.size(); i < stats.size(); ++i) row.push_back(stat(stats[i]));
    text += csv_row(row);
  }
  return text;
}

nlohmann::ordered_json results_json(const SweepSpec& spec, const std::vector<RunResult>& results) {
  nlohmann::ordered_json j;
  j["spec"] = spec.file;
  j["base"] = spec.base;
  j["columns"] = result_columns(spec, results);
  nlohmann::ordered_json runs = nlohmann::ordered_json::array();
  for (const RunResult& r : results) {
    nlohmann::ordered_json e;
    nlohmann::ordered_json params = nlohmann::ordered_json::object();
    for (const auto& p : r.run.params) params[p.first] = p.second;
    e["params"] = params;
    e["seed"] = r.seed ? nlohmann::ordered_json(*r.seed) : nlohmann::ordered_json();
    e["status"] = r.ok ? "ok" : "failed";
    e["exit_code"] = r.exit_code;
    e["host_seconds"] = r.host_seconds;
    e["run"] = r.hash;
    e["error"] = r.error;
    e["stats"] = r.stats;
    runs.push_back(e);
  }
  j["runs"] = runs;
  return j;
}

std::string summary_csv(const SweepSpec& spec, const std::vector<RunResult>& results) {
  const std::vector<std::string> stats = stat_names(spec, results);
  std::vector<std::string> header = spec.swept_keys();
  header.emplace_back("runs");
  header.emplace_back("ok");
  for (const std::string& s : stats) {
    header.push_back(s + ".mean");
    header.push_back(s + ".ci95");
  }
  std::string text = csv_row(header);
  std::map<size_t, std::vector<const RunResult*>> by_point;
  for (const RunResult& r : results) by_point[r.run.point].push_back(&r);
  for (const auto& [point, runs] : by_point) {
    std::vector<std::string> row;
    for (const auto& p : runs.front()->run.params) row.push_back(p.second);
    size_t ok = 0;
    for (const RunResult* r : runs) ok += r->ok ? 1 : 0;
    row.push_back(std::to_string(runs.size()));
    row.push_back(std::to_string(ok));
    for (const std::string& s : stats) {
      std::vector<double> values;
      for (const RunResult* r : runs) {
        if (r->ok && r->stats.contains(s)) values.push_back(r->stats[s].get<double>());
      }
      const MeanCi ci = mean_ci95(values);
      row.push_back(format_double(ci.mean, "%.10g"));
      row.push_back(format_double(ci.half_width, "%.10g"));
    }
    text += csv_row(row);
  }
  return text;
}

std::vector<std::string> unknown_metrics(const SweepSpec& spec, const std::vector<RunResult>& results) {
  std::vector<std::string> unknown;
  bool any_ok = false;
  for (const RunResult& r : results) any_ok = any_ok || r.ok;
  if (!any_ok) return unknown;
  for (const std::string& m : spec.metrics) {
    bool found = false;
    for (const RunResult& r : results) found = found || (r.ok && r.stats.contains(m));
    if (!found) unknown.push_back(m);
  }
  return unknown;
}

}  // namespace vmsim::study
