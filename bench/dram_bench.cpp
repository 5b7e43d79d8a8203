// Host-speed benchmark of the DRAM timing core (bench/, never a test). Usage:
//   dram_bench PATTERN [N] [MAPPING] [check]
// PATTERN: rand | stream (saturated), idle-rand | idle-stream (one read per 200 DRAM cycles),
// refresh-only (no requests, advance 1e11 cycles with refresh on). CPU time via std::clock.
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "models/dram/trace_replay.hpp"

using namespace vmsim::dram;

int main(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "rand";
  const uint64_t n = argc > 2 ? std::stoull(argv[2]) : 1000000;
  DramConfig c;  // DDR4-3200AA, 1 channel, 1 rank, open page, FR-FCFS, all-bank refresh
  c.controller.address_mapping = argc > 3 ? argv[3] : "ro:ra:ba:bg:co:ch";
  c.controller.timing_checker = argc > 4 && std::string(argv[4]) == "check";
  if (what == "refresh-only") {
    Channel ch(c);
    std::vector<Completion> done;
    const std::clock_t c0 = std::clock();
    ch.advance_to(100000000000ull, done);
    const double s = double(std::clock() - c0) / CLOCKS_PER_SEC;
    std::printf("refresh-only: 1e11 cycles in %.3f s = %.1f G DRAM cycles/s (%llu REF)\n", s, 1e11 / s / 1e9,
                static_cast<unsigned long long>(ch.stats().refreshes));
    return 0;
  }
  MemorySystem sys(c);
  SyntheticTraceConfig t;
  t.count = n;
  t.capacity = sys.mapper().capacity();
  t.seed = 42;
  t.pattern = what.find("stream") != std::string::npos ? TracePattern::Stream : TracePattern::Random;
  t.interval = what.find("idle") != std::string::npos ? 200 : 0;
  SyntheticTrace src(t);
  const std::clock_t c0 = std::clock();
  const ReplayResult r = replay(sys, src);
  const double s = double(std::clock() - c0) / CLOCKS_PER_SEC;
  std::printf("%-12s n=%llu: %.3f s, %.3f M req/s, %.1f M DRAM cycles/s, %.3f GB/s, avg read latency %.2f, violations %llu\n",
              what.c_str(), static_cast<unsigned long long>(n), s, n / s / 1e6, r.cycles / s / 1e6, r.bandwidth_gbs,
              r.avg_read_latency, static_cast<unsigned long long>(r.violations));
  return 0;
}
