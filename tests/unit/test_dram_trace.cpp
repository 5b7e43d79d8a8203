// Unit tests for the DRAM trace-replay driver: both trace formats, malformed lines as InputError with
// file and line, replay results (requests, cycles, latency, bandwidth) and synthetic traces.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "models/dram/trace_replay.hpp"

namespace vmsim::dram {
namespace {

std::vector<TraceRecord> read_all(const std::string& text, const std::string& name = "trace.txt") {
  std::istringstream in(text);
  TraceFileReader reader(in, name);
  std::vector<TraceRecord> out;
  TraceRecord r;
  while (reader.next(r)) out.push_back(r);
  return out;
}

std::string temp_file(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

DramConfig ddr4() {
  DramConfig c;
  c.set_preset("DDR4-3200AA");
  c.controller.timing_checker = true;
  c.controller.refresh = RefreshMode::Off;
  c.controller.address_mapping = "ro:ra:ba:bg:co:ch";
  return c;
}

TEST(DramTrace, ReadsBothFormatsCommentsAndBlankLines) {
  const std::vector<TraceRecord> r = read_all(
      "0x1000 READ 5\n"
      "# a comment\n"
      "\n"
      "LD 0x40\n"
      "  st 128   # trailing comment\n"
      "0x80 write 0x10\n");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].address, 0x1000u);
  EXPECT_FALSE(r[0].is_write);
  EXPECT_TRUE(r[0].timed);
  EXPECT_EQ(r[0].cycle, 5u);
  EXPECT_EQ(r[1].address, 0x40u);
  EXPECT_FALSE(r[1].timed);
  EXPECT_FALSE(r[1].is_write);
  EXPECT_EQ(r[2].address, 128u);
  EXPECT_TRUE(r[2].is_write);
  EXPECT_TRUE(r[3].is_write);
  EXPECT_EQ(r[3].cycle, 16u);
}

TEST(DramTrace, MalformedLinesAreInputErrorsWithFileAndLine) {
  const struct {
    const char* line;
    const char* needle;
  } cases[] = {
      {"0xZZ READ 5", "bad address '0xZZ'"},
      {"0x10 FETCH 5", "bad operation 'FETCH'"},
      {"0x10 READ -1", "bad cycle '-1'"},
      {"0x10 READ", "bad operation '0x10'"},
      {"LD", "got 1 fields"},
      {"LD 0x10 5 6", "got 4+ fields"},
      {"LD zz", "bad address 'zz'"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.line);
    try {
      read_all(std::string("LD 0x0\n# ok\n") + tc.line + "\n", "t.trace");
      ADD_FAILURE() << "expected InputError";
    } catch (const InputError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind("t.trace:3: ", 0), 0u) << msg;
      EXPECT_NE(msg.find(tc.needle), std::string::npos) << msg;
    }
  }
  EXPECT_THROW(TraceFileReader("/nonexistent/dir/trace.txt"), InputError);
}

TEST(DramTrace, ReplayOfATimedFileReportsLatencyCyclesAndBandwidth) {
  // Four reads of one row: a miss (tRCD + CL + BL/2 = 48) then hits (CL + BL/2 = 26) 100 cycles apart.
  const std::string path = temp_file("dram_timed.trace",
                                     "0x0 READ 0\n0x40 READ 100\n0x80 READ 200\n0xc0 READ 300\n");
  const ReplayResult r = replay_trace_file(ddr4(), path);
  EXPECT_EQ(r.requests, 4u);
  EXPECT_EQ(r.reads, 4u);
  EXPECT_EQ(r.cycles, 326u);
  EXPECT_DOUBLE_EQ(r.avg_read_latency, (48.0 + 3 * 26.0) / 4);
  EXPECT_NEAR(r.bandwidth_gbs, 4 * 64 / (326 * 0.625), 1e-9);
  EXPECT_EQ(r.violations, 0u);
  EXPECT_EQ(r.stats.row_hits, 3u);
  const std::string text = format_result(r, ddr4());
  EXPECT_NE(text.find("requests             4 (4 reads, 0 writes)"), std::string::npos) << text;
  EXPECT_NE(text.find("avg read latency     31.50 cycles"), std::string::npos) << text;
  std::remove(path.c_str());
}

TEST(DramTrace, UntimedRecordsIssueAsFastAsTheControllerAccepts) {
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "LD 0x" + [&] {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%x", i * 64);
    return std::string(buf);
  }() + "\n";
  const std::string path = temp_file("dram_untimed.trace", text);
  const ReplayResult file = replay_trace_file(ddr4(), path);
  std::remove(path.c_str());
  MemorySystem sys(ddr4());
  SyntheticTraceConfig t;
  t.pattern = TracePattern::Stream;
  t.count = 5000;
  SyntheticTrace src(t);
  const ReplayResult synthetic = replay(sys, src);
  EXPECT_EQ(file.cycles, synthetic.cycles);
  EXPECT_DOUBLE_EQ(file.bandwidth_gbs, synthetic.bandwidth_gbs);
  EXPECT_GT(file.bandwidth_gbs, 12.0);  // saturated: limited by tCCD_L within one bank group
  EXPECT_EQ(file.violations, 0u);
  EXPECT_EQ(synthetic.violations, 0u);
}

TEST(DramTrace, TimedRecordsWaitInOrderWhenTheQueueIsFull) {
  DramConfig c = ddr4();
  c.controller.read_queue = 2;
  std::string text;
  for (int i = 0; i < 6; ++i) text += "0x" + std::to_string(i) + "0000000 READ 0\n";  // six row conflicts at 0
  std::istringstream in(text);
  TraceFileReader reader(in, "burst");
  MemorySystem sys(c);
  const ReplayResult r = replay(sys, reader);
  EXPECT_EQ(r.requests, 6u);
  EXPECT_EQ(r.stats.reads, 6u);
  EXPECT_EQ(r.violations, 0u);
  EXPECT_GT(r.avg_read_latency, 70.0);  // later records waited for queue space
}

TEST(DramTrace, SyntheticTracesAreDeterministicAlignedAndInRange) {
  SyntheticTraceConfig t;
  t.count = 1000;
  t.capacity = uint64_t{8} << 30;
  t.seed = 77;
  t.write_fraction = 0.25;
  SyntheticTrace a(t), b(t);
  TraceRecord ra, rb;
  uint64_t writes = 0;
  while (a.next(ra)) {
    ASSERT_TRUE(b.next(rb));
    EXPECT_EQ(ra.address, rb.address);
    EXPECT_EQ(ra.is_write, rb.is_write);
    EXPECT_EQ(ra.address % 64, 0u);
    EXPECT_LT(ra.address, t.capacity);
    writes += ra.is_write;
  }
  EXPECT_FALSE(b.next(rb));
  EXPECT_GT(writes, 200u);
  EXPECT_LT(writes, 300u);
  t.pattern = TracePattern::Stream;
  t.interval = 10;
  SyntheticTrace s(t);
  for (uint64_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(s.next(ra));
    EXPECT_EQ(ra.address, i * 64);
    EXPECT_TRUE(ra.timed);
    EXPECT_EQ(ra.cycle, i * 10);
  }
}

}  // namespace
}  // namespace vmsim::dram

namespace vmsim::dram {
namespace {

// The reader scans 1 MiB blocks: lines that straddle a block boundary, CRLF endings and a last line
// without a newline all parse, and line numbers stay right.
TEST(DramTrace, LinesAcrossReadBlocksAndALastLineWithoutNewline) {
  std::string text;
  const uint64_t n = 150000;  // about 2.3 MB: two block boundaries
  for (uint64_t i = 0; i < n; ++i) {
    char line[64];
    std::snprintf(line, sizeof line, i % 3 == 0 ? "LD 0x%llx\r\n" : "0x%llx WRITE 7\n",
                  static_cast<unsigned long long>(i * 64));
    text += line;
  }
  text += "ST 0xabc0";  // no newline
  const std::vector<TraceRecord> recs = read_all(text);
  ASSERT_EQ(recs.size(), n + 1);
  for (uint64_t i = 0; i < n; ++i) {
    ASSERT_EQ(recs[i].address, i * 64) << i;
    ASSERT_EQ(recs[i].timed, i % 3 != 0) << i;
  }
  EXPECT_EQ(recs.back().address, 0xabc0u);
  EXPECT_TRUE(recs.back().is_write);
  try {
    read_all(text + "\nLD zz\n");
    FAIL() << "malformed line accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("trace.txt:" + std::to_string(n + 2) + ": bad address 'zz'"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace vmsim::dram
