// sim.stats_interval: the statistics time series, OUTDIR/timeseries.csv. One row per interval of accesses
// with the change of every count statistic since the previous row and the value of every other statistic
// at the row's end; the format is described in docs/STATS.md.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/stats.hpp"

namespace vmsim::platform {

class StatsTimeSeries {
 public:
  // Creates (truncates) path. Throws InputError if it cannot be written.
  explicit StatsTimeSeries(const std::string& path);

  // Writes the header: its columns are the statistics that exist now, less histogram buckets. The first
  // row's changes count from zero (what the boot counted is in it). Call once before the simulation starts.
  void start();
  // After the warm-up reset: the counts start again from zero.
  void restart();
  // Appends one row ending at `accesses` (all cores) and simulated time `time_ps`; the row becomes the
  // baseline of the next.
  void row(uint64_t accesses, uint64_t time_ps);
  // Rows written so far.
  uint64_t rows() const { return m_rows; }

 private:
  // The current values of the columns.
  std::vector<double> snapshot() const;

  std::string m_path;
  std::ofstream m_out;
  std::vector<std::string> m_names;  // column statistics, in the order of the first collection
  std::vector<bool> m_count;         // per column: a count (delta written) or a value (sampled)
  std::vector<bool> m_integral;
  std::unordered_map<std::string, size_t> m_index;
  std::vector<double> m_base;
  uint64_t m_rows = 0;
};

}  // namespace vmsim::platform
