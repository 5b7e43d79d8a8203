// Trace-replay driver for the DRAM core (`vmsim dram --trace FILE`): trace readers, a synthetic
// generator and a loop that feeds a MemorySystem and reports latency and bandwidth.
#pragma once

#include <cstdint>
#include <fstream>
#include <functional>
#include <istream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "models/dram/energy.hpp"
#include "models/dram/memory_system.hpp"

namespace vmsim::dram {

// One trace request. Untimed records are issued as soon as the controller accepts them.
struct TraceRecord {
  uint64_t address = 0;
  bool is_write = false;
  bool timed = false;
  Cycle cycle = 0;  // DRAM cycle of arrival when timed
};

class TraceSource {
 public:
  virtual ~TraceSource() = default;
  // Fills `rec` with the next record; false at the end.
  virtual bool next(TraceRecord& rec) = 0;
};

// The last DRAM cycle a timed trace record may name: 2^48 - 1 (about 24 hours of DRAM time even at a
// 3.2 GHz command clock), far beyond any run yet far from the 64-bit cycle arithmetic's limits.
constexpr Cycle kMaxTraceCycle = (Cycle{1} << 48) - 1;

// Reads text traces, one request per line, in either format:
//   ADDR READ|WRITE CYCLE     (timed; CYCLE in DRAM cycles, at most kMaxTraceCycle)
//   LD|ST ADDR                (untimed)
// Addresses and cycles are 0x hex (0x1f40) or decimal (8000): both forms are accepted everywhere, so
// a decimal address is not a typo of a hex one; keywords are case-insensitive; '#' starts a comment;
// blank lines are skipped. Timed records whose cycle is already past (the queue was full) are
// issued late, in order.
class TraceFileReader : public TraceSource {
 public:
  // Throws InputError "FILE: cannot open" if the file cannot be read.
  explicit TraceFileReader(const std::string& path);
  // Reads from `in`; `name` is used in error messages.
  TraceFileReader(std::istream& in, std::string name);
  // Throws InputError(file, line, msg) for a malformed line.
  bool next(TraceRecord& rec) override;
  // Name and line number of the record last returned (for errors about its contents).
  const std::string& name() const { return m_name; }
  uint64_t line() const { return m_line; }

 private:
  // Next line without its newline; false at the end. Reads the stream in large blocks.
  bool read_line(std::string_view& line);

  std::unique_ptr<std::ifstream> m_file;
  std::istream* m_in;
  std::vector<char> m_buf;  // block being scanned: [m_pos, m_end)
  size_t m_pos = 0;
  size_t m_end = 0;
  bool m_eof = false;
  std::string m_name;
  uint64_t m_line = 0;
  std::string m_text;
};

enum class TracePattern { Random, Stream };

struct SyntheticTraceConfig {
  TracePattern pattern = TracePattern::Random;
  uint64_t count = 1000;
  Cycle interval = 0;          // cycles between arrivals; 0 = as fast as accepted (saturated)
  uint64_t seed = 1;
  double write_fraction = 0.0;
  uint64_t capacity = 0;       // random: uniform over [0, capacity), request-aligned
  uint64_t stride = 64;        // stream: bytes between consecutive requests
  uint64_t start = 0;          // stream: first address
  uint64_t request_bytes = 64;
};

// Deterministic synthetic traces: uniform random (mt19937_64 with a fixed seed) or a linear stream.
class SyntheticTrace : public TraceSource {
 public:
  explicit SyntheticTrace(const SyntheticTraceConfig& cfg);
  bool next(TraceRecord& rec) override;

 private:
  SyntheticTraceConfig m_cfg;
  std::mt19937_64 m_rng;
  uint64_t m_emitted = 0;
};

struct ReplayResult {
  uint64_t requests = 0;
  uint64_t reads = 0;
  uint64_t writes = 0;
  Cycle cycles = 0;                // cycle at which the last request completed
  double avg_read_latency = 0.0;   // DRAM cycles, arrival at the controller to end of data burst
  double bandwidth_gbs = 0.0;      // bytes moved / (cycles * tCK), in GB/s (1e9 bytes per second)
  uint64_t violations = 0;         // timing checker violations (0 if the checker is off)
  std::string violation_report;
  ChannelStats stats;              // totals over channels
  EnergyBreakdown energy;          // pJ, totals over channels and ranks (energy.hpp)
  double avg_power_mw = 0.0;       // energy / (cycles * tCK)
  double energy_per_access_pj = 0.0;
};

// Feeds every record of `src` to `sys` (in order; a record waits while its channel's queue is full)
// and runs until all requests completed.
ReplayResult replay(MemorySystem& sys, TraceSource& src);

// One NUMA node's memory for a replay: physical addresses [base, base + size) go to `sys` as
// node-local addresses (address - base).
struct ReplayNode {
  uint64_t base = 0;
  uint64_t size = 0;
  MemorySystem* sys = nullptr;
};
// As above over several nodes (all with the same tCK). `outside(address)` is called for an address in
// no node and must throw. Results are totals over the nodes.
ReplayResult replay(const std::vector<ReplayNode>& nodes, TraceSource& src,
                    const std::function<void(uint64_t)>& outside);
// Builds a MemorySystem from `cfg` and replays the trace file at `path`.
// Throws InputError for a bad config or a malformed/unreadable trace.
ReplayResult replay_trace_file(const DramConfig& cfg, const std::string& path);
// Multi-line human-readable summary: requests, simulated cycles, average read latency, bandwidth.
std::string format_result(const ReplayResult& r, const DramConfig& cfg);

}  // namespace vmsim::dram
