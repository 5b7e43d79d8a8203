// Unit tests of the trace readers: instruction addresses, split and trailing counts, ChampSim (raw, gzip, xz;
// truncated and corrupt), the vmsim trace format and its converter.
#include <gtest/gtest.h>
#include <lzma.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "models/workload/champsim.hpp"
#include "models/workload/generators.hpp"
#include "models/workload/lackey.hpp"
#include "models/workload/trace_scan.hpp"
#include "models/workload/vmsim_trace.hpp"

namespace vmsim::workload {
namespace {

using Bytes8 = std::vector<uint8_t>;

// A path under /tmp with a unique name, removed on destruction.
class TempPath {
 public:
  TempPath() {
    char name[] = "/tmp/vmsim_test_traces_XXXXXX";
    const int fd = mkstemp(name);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    close(fd);
    m_path = name;
  }
  ~TempPath() { std::remove(m_path.c_str()); }
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;
  const std::string& path() const { return m_path; }
  void write(const Bytes8& data) const {
    std::ofstream f(m_path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  }
  void write(const std::string& text) const { write(Bytes8(text.begin(), text.end())); }

 private:
  std::string m_path;
};

Bytes8 gzip(const Bytes8& in) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes8 out(deflateBound(&zs, in.size()) + 64);
  zs.next_in = const_cast<uint8_t*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(out.size() - zs.avail_out);
  deflateEnd(&zs);
  return out;
}

Bytes8 xz(const Bytes8& in) {
  Bytes8 out(lzma_stream_buffer_bound(in.size()));
  size_t pos = 0;
  EXPECT_EQ(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, nullptr, in.data(), in.size(), out.data(), &pos, out.size()),
            LZMA_OK);
  out.resize(pos);
  return out;
}

struct Record {
  uint64_t ip;
  uint64_t dst[2];
  uint64_t src[4];
};

Bytes8 champsim(const std::vector<Record>& records) {
  Bytes8 out;
  for (const Record& r : records) {
    uint8_t b[64] = {};
    auto put = [&](size_t off, uint64_t v) {
      for (int i = 0; i < 8; ++i) b[off + i] = static_cast<uint8_t>(v >> (8 * i));
    };
    put(0, r.ip);
    b[8] = 1;  // is_branch, registers: ignored
    b[10] = 7;
    b[12] = 3;
    put(16, r.dst[0]);
    put(24, r.dst[1]);
    for (int i = 0; i < 4; ++i) put(32 + 8 * i, r.src[i]);
    out.insert(out.end(), b, b + 64);
  }
  return out;
}

std::vector<MemOp> drain(Source& src) {
  std::vector<MemOp> ops;
  MemOp op;
  while (src.next(op)) ops.push_back(op);
  return ops;
}

// Drains with next_batch in batches of n (exercises the pending split across batch ends).
std::vector<MemOp> drain_batches(Source& src, size_t n) {
  std::vector<MemOp> ops;
  std::vector<MemOp> buf(n);
  while (const size_t got = src.next_batch(buf.data(), n)) ops.insert(ops.end(), buf.begin(), buf.begin() + got);
  return ops;
}

bool same(const MemOp& a, const MemOp& b) {
  return a.va == b.va && a.size == b.size && a.kind == b.kind && a.gap == b.gap && a.dependent == b.dependent &&
         a.tail == b.tail && a.ip == b.ip;
}

void expect_same_stream(const std::vector<MemOp>& a, const std::vector<MemOp>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(same(a[i], b[i])) << "op " << i;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

const char* kLackey =
    "==1== Lackey\n"
    " L 00000500,8\n"        // before any instruction: ip 0
    "I  00401000,4\n"
    " L 7FF000100,8\n"
    " S 7FF000FFC,8\n"      // crosses a page: two ops, the second a tail
    "I  00401004,3\n"
    "I  00401FFE,4\n"       // a fetch crossing a page
    " M 00602000,4\n"
    "I  00402002,2\n"       // trailing instructions
    "I  00402004,2\n";

// ---------------------------------------------------------------------------------------------------------

TEST(TraceIp, LackeyWithFetches) {
  TempPath f;
  f.write(std::string(kLackey));
  LackeyReader r(f.path());
  const auto ops = drain(r);
  ASSERT_EQ(ops.size(), 11u);
  EXPECT_EQ(ops[0].ip, 0u);
  EXPECT_EQ(ops[1].kind, AccessKind::Fetch);
  EXPECT_EQ(ops[1].ip, 0x401000u);
  EXPECT_EQ(ops[2].ip, 0x401000u);
  EXPECT_EQ(ops[3].ip, 0x401000u);
  EXPECT_FALSE(ops[3].tail);
  EXPECT_TRUE(ops[4].tail);
  EXPECT_EQ(ops[4].ip, 0x401000u);
  EXPECT_EQ(ops[4].va.value(), 0x7FF001000u);
  EXPECT_EQ(ops[6].ip, 0x401FFEu);   // the crossing fetch, both parts
  EXPECT_TRUE(ops[7].tail);
  EXPECT_EQ(ops[7].kind, AccessKind::Fetch);
  EXPECT_EQ(ops[8].ip, 0x401FFEu);  // the M line
  EXPECT_EQ(ops[10].ip, 0x402004u);
  EXPECT_EQ(r.instructions(), 5u);
  EXPECT_EQ(r.trailing_instructions(), 0u);  // every instruction is a fetch op
  for (const MemOp& op : ops) EXPECT_EQ(op.gap, 0u);
}

TEST(TraceIp, LackeyWithoutFetchesStillSetsIp) {
  TempPath f;
  f.write(std::string(kLackey));
  LackeyReader r(f.path(), LackeyOptions{false});
  const auto ops = drain(r);
  ASSERT_EQ(ops.size(), 5u);
  EXPECT_EQ(ops[0].ip, 0u);
  EXPECT_EQ(ops[0].gap, 0u);
  EXPECT_EQ(ops[1].ip, 0x401000u);
  EXPECT_EQ(ops[1].gap, 1u);
  EXPECT_EQ(ops[2].ip, 0x401000u);
  EXPECT_EQ(ops[2].gap, 0u);
  EXPECT_TRUE(ops[3].tail);
  EXPECT_EQ(ops[3].gap, 0u);
  EXPECT_EQ(ops[4].ip, 0x401FFEu);
  EXPECT_EQ(ops[4].gap, 2u);
  EXPECT_EQ(r.instructions(), 5u);
  // Gaps plus trailing instructions: every I line once.
  EXPECT_EQ(r.trailing_instructions(), 2u);
}

TEST(TraceIp, GeneratorsLeaveZero) {
  GeneratorParams p;
  p.base = VirtAddr{0x10000000};
  p.footprint = 1 << 20;
  p.accesses = 100;
  auto g = make_generator(p);
  for (const MemOp& op : drain(*g)) {
    EXPECT_EQ(op.ip, 0u);
    EXPECT_FALSE(op.tail);
  }
}

TEST(TraceIp, BatchesMatchNext) {
  TempPath f;
  f.write(std::string(kLackey));
  LackeyReader a(f.path());
  const auto ref = drain(a);
  for (size_t n : {1u, 2u, 3u, 5u, 64u}) {
    LackeyReader b(f.path());
    expect_same_stream(drain_batches(b, n), ref);
  }
}

TEST(TraceScan, LackeyScanCountsBothPagesOfASplit) {
  TempPath f;
  f.write(std::string(kLackey));
  const TraceScan s = scan_lackey(f.path(), LackeyOptions{false}, 0);
  EXPECT_EQ(s.ops, 5u);
  EXPECT_EQ(s.instructions, 5u);
  EXPECT_EQ(s.distinct_pages, 4u);  // 0x0, 0x7FF000, 0x7FF001, 0x602
}

// ---------------------------------------------------------------------------------------------------------
// ChampSim

const std::vector<Record> kRecords = {
    {0x400000, {0, 0}, {0, 0, 0, 0}},                        // no memory
    {0x400004, {0x9000, 0}, {0x8000, 0, 0x8FFC, 0}},         // two reads (one crossing), one write
    {0x400FFE, {0, 0x7000}, {0, 0, 0, 0}},                   // crossing fetch (4 bytes), a write
    {0x401002, {0, 0}, {0, 0, 0, 0}},                        // trailing
};

void check_champsim_ops(const std::vector<MemOp>& ops) {
  ASSERT_EQ(ops.size(), 10u);
  EXPECT_EQ(ops[0].kind, AccessKind::Fetch);
  EXPECT_EQ(ops[0].va.value(), 0x400000u);
  EXPECT_EQ(ops[0].size, 4u);
  EXPECT_EQ(ops[1].kind, AccessKind::Fetch);
  EXPECT_EQ(ops[2].kind, AccessKind::Read);
  EXPECT_EQ(ops[2].va.value(), 0x8000u);
  EXPECT_EQ(ops[2].size, 8u);
  EXPECT_EQ(ops[2].ip, 0x400004u);
  EXPECT_EQ(ops[3].va.value(), 0x8FFCu);
  EXPECT_EQ(ops[3].size, 4u);
  EXPECT_TRUE(ops[4].tail);
  EXPECT_EQ(ops[4].va.value(), 0x9000u);
  EXPECT_EQ(ops[5].kind, AccessKind::Write);
  EXPECT_EQ(ops[5].va.value(), 0x9000u);
  EXPECT_EQ(ops[6].kind, AccessKind::Fetch);
  EXPECT_EQ(ops[6].size, 2u);
  EXPECT_TRUE(ops[7].tail);
  EXPECT_EQ(ops[8].kind, AccessKind::Write);
  EXPECT_EQ(ops[8].ip, 0x400FFEu);
  EXPECT_EQ(ops[9].ip, 0x401002u);
}

TEST(Champsim, RawGzipAndXzGiveTheSameOps) {
  const Bytes8 raw = champsim(kRecords);
  for (const Bytes8& data : {raw, gzip(raw), xz(raw)}) {
    TempPath f;
    f.write(data);
    ChampsimReader r(f.path());
    check_champsim_ops(drain(r));
    EXPECT_EQ(r.instructions(), 4u);
  }
}

TEST(Champsim, WithoutFetchesOneInstructionPerRecord) {
  TempPath f;
  f.write(champsim(kRecords));
  ChampsimReader r(f.path(), TraceOptions{false});
  const auto ops = drain(r);
  ASSERT_EQ(ops.size(), 5u);
  EXPECT_EQ(ops[0].gap, 2u);  // record 1 (no memory) and record 2
  EXPECT_EQ(ops[1].gap, 0u);
  EXPECT_EQ(ops[4].gap, 1u);
  EXPECT_EQ(ops[4].ip, 0x400FFEu);
  EXPECT_EQ(r.trailing_instructions(), 1u);
}

TEST(Champsim, ScanMakesRegions) {
  TempPath f;
  f.write(xz(champsim(kRecords)));
  const TraceScan s = scan_trace(TraceKind::Champsim, f.path(), {}, 0);
  EXPECT_EQ(s.instructions, 4u);
  EXPECT_EQ(s.ops, 10u);
  ASSERT_EQ(s.regions.size(), 2u);  // 0x7000-0xA000 (rw), 0x400000-0x402000 (x)
  EXPECT_EQ(s.regions[0].start.value(), 0x7000u);
  EXPECT_EQ(s.regions[0].end.value(), 0xA000u);
  EXPECT_TRUE(s.regions[0].write);
  EXPECT_TRUE(s.regions[1].exec);
  EXPECT_FALSE(s.regions[1].write);
}

TEST(Champsim, TruncatedRecordNamesFileAndRecord) {
  Bytes8 raw = champsim(kRecords);
  raw.resize(64 * 2 + 10);
  for (const Bytes8& data : {raw, gzip(raw), xz(raw)}) {
    TempPath f;
    f.write(data);
    const std::string msg = error_of([&] {
      ChampsimReader r(f.path());
      drain(r);
    });
    EXPECT_NE(msg.find(f.path() + ": record 3: truncated record (10 of 64 bytes"), std::string::npos) << msg;
  }
}

TEST(Champsim, CorruptStreamsAreErrors) {
  std::vector<Record> many;
  for (uint64_t i = 0; i < 5000; ++i) many.push_back({0x400000 + 4 * i, {0, 0}, {0x10000 + 8 * (i * 7919 % 4096), 0, 0, 0}});
  const Bytes8 raw = champsim(many);
  Bytes8 gz = gzip(raw);
  gz[gz.size() / 2] ^= 0x55;
  gz[gz.size() / 2 + 1] ^= 0xAA;
  Bytes8 x = xz(raw);
  x[x.size() / 2] ^= 0x55;
  Bytes8 gz_cut = gzip(raw);
  gz_cut.resize(gz_cut.size() / 2);
  Bytes8 xz_cut = xz(raw);
  xz_cut.resize(xz_cut.size() / 2);
  for (const Bytes8& data : {gz, x, gz_cut, xz_cut}) {
    TempPath f;
    f.write(data);
    const std::string msg = error_of([&] {
      ChampsimReader r(f.path());
      drain(r);
    });
    EXPECT_EQ(msg.rfind(f.path() + ": record ", 0), 0u) << msg;
    EXPECT_TRUE(msg.find("corrupt") != std::string::npos || msg.find("truncated") != std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}

TEST(Champsim, MissingFile) {
  EXPECT_NE(error_of([] { ChampsimReader r("/nonexistent/trace.xz"); }).find("cannot open"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------------------
// vmsim trace format

TEST(VmsimTrace, ConvertedLackeyReplaysTheSameOps) {
  TempPath in, out;
  std::string text = kLackey;
  text += " L 00000008,4096\n I FFFFFFFFFFF00000,8\n";  // a big size (varint), a far jump (negative delta)
  text.replace(text.find(" I FFFF"), 2, "I ");
  in.write(text);
  const ConvertResult r = convert_trace(in.path(), out.path());
  EXPECT_EQ(r.header.source, TraceFormat::Lackey);
  EXPECT_EQ(r.header.instructions, 6u);
  EXPECT_EQ(r.header.data, 5u);
  for (bool fetches : {true, false}) {
    LackeyReader a(in.path(), LackeyOptions{fetches});
    VmsimTraceReader b(out.path(), TraceOptions{fetches});
    expect_same_stream(drain(b), drain(a));
    EXPECT_EQ(a.instructions(), b.instructions());
    EXPECT_EQ(a.trailing_instructions(), b.trailing_instructions());
  }
}

TEST(VmsimTrace, ConvertedChampsimReplaysTheSameOps) {
  TempPath in, out;
  in.write(gzip(champsim(kRecords)));
  EXPECT_EQ(detect_trace_format(in.path()), TraceFormat::Champsim);
  convert_trace(in.path(), out.path());
  EXPECT_EQ(detect_trace_format(out.path()), TraceFormat::Vmsim);
  ChampsimReader a(in.path());
  VmsimTraceReader b(out.path());
  expect_same_stream(drain(b), drain(a));
}

TEST(VmsimTrace, HeaderAndTruncationErrors) {
  TempPath in, out;
  in.write(std::string(kLackey));
  convert_trace(in.path(), out.path());
  std::ifstream f(out.path(), std::ios::binary);
  Bytes8 bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 64u);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 8), "VMSIMTRC");

  TempPath bad;
  Bytes8 v = bytes;
  v[8] = 9;  // version
  bad.write(v);
  EXPECT_NE(error_of([&] { VmsimTraceReader r(bad.path()); }).find("unsupported vmsim trace version 9"), std::string::npos);
  bad.write(std::string("I  1000,4\n"));
  EXPECT_NE(error_of([&] { VmsimTraceReader r(bad.path()); }).find("not a vmsim trace"), std::string::npos);
  Bytes8 cut = bytes;
  cut.resize(64 + (bytes.size() - 64) / 2);
  bad.write(cut);
  const std::string msg = error_of([&] {
    VmsimTraceReader r(bad.path());
    drain(r);
  });
  EXPECT_EQ(msg.rfind(bad.path() + ": ", 0), 0u) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

}  // namespace
}  // namespace vmsim::workload
