// Unit tests for the workload sources: synthetic generators and the Valgrind lackey trace reader/scanner.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "models/workload/generators.hpp"
#include "models/workload/lackey.hpp"
#include "models/workload/page_count.hpp"

namespace vmsim::workload {
namespace {

constexpr uint64_t kBase = 0x10000000;

// Drains a source through next().
std::vector<MemOp> drain(Source& src) {
  std::vector<MemOp> ops;
  MemOp op{};
  while (src.next(op)) ops.push_back(op);
  return ops;
}

std::vector<MemOp> generate(const GeneratorParams& p) {
  auto src = make_generator(p);
  return drain(*src);
}

bool same_ops(const std::vector<MemOp>& a, const std::vector<MemOp>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].va != b[i].va || a[i].size != b[i].size || a[i].kind != b[i].kind || a[i].gap != b[i].gap) return false;
  }
  return true;
}

GeneratorParams small_params(Pattern pattern) {
  GeneratorParams p;
  p.pattern = pattern;
  p.base = VirtAddr{kBase};
  p.footprint = 16 * kPageSize;
  p.accesses = 2000;
  return p;
}

// Distinct pages as a run counts them: every operation taken through a CountingSource.
uint64_t counted_pages(const GeneratorParams& p) {
  CountingSource src(make_generator(p));
  drain(src);
  return src.pages();
}

uint64_t brute_force_pages(const GeneratorParams& p) {
  std::set<uint64_t> pages;
  for (const MemOp& op : generate(p)) pages.insert(op.va.value() >> kPageShift);
  return pages.size();
}

__extension__ typedef unsigned __int128 Uint128;  // GCC/Clang extension

// floor(r * range / 2^64), the documented mapping.
uint64_t scale(uint64_t r, uint64_t range) {
  return static_cast<uint64_t>((static_cast<Uint128>(r) * range) >> 64);
}

// A file under /tmp with a unique name, removed on destruction.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/vmsim_test_workload_XXXXXX";
    const int fd = mkstemp(name);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    m_path = name;
    size_t done = 0;
    while (done < content.size()) {
      const ssize_t n = write(fd, content.data() + done, content.size() - done);
      if (n <= 0) throw std::runtime_error("write failed");
      done += static_cast<size_t>(n);
    }
    close(fd);
  }
  ~TempFile() { std::remove(m_path.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return m_path; }

 private:
  std::string m_path;
};

std::vector<MemOp> read_trace(const std::string& text, LackeyOptions opt = {}) {
  TempFile file(text);
  LackeyReader reader(file.path(), opt);
  return drain(reader);
}

void expect_op(const MemOp& op, uint64_t va, uint32_t size, AccessKind kind, uint32_t gap) {
  EXPECT_EQ(op.va.value(), va);
  EXPECT_EQ(op.size, size);
  EXPECT_EQ(op.kind, kind);
  EXPECT_EQ(op.gap, gap);
}

// ---------------------------------------------------------------------------------------------------------
// Generators

TEST(Generator, SequentialFirstAddresses) {
  GeneratorParams p = small_params(Pattern::Sequential);
  p.accesses = 5;
  p.access_size = 8;
  p.gap = 7;
  const auto ops = generate(p);
  ASSERT_EQ(ops.size(), 5u);
  for (size_t i = 0; i < ops.size(); ++i) {
    EXPECT_EQ(ops[i].va.value(), kBase + 8 * i);
    EXPECT_EQ(ops[i].size, 8u);
    EXPECT_EQ(ops[i].gap, 7u);
  }
}

TEST(Generator, SequentialWrapsAtFootprint) {
  GeneratorParams p = small_params(Pattern::Sequential);
  p.footprint = kPageSize;
  p.access_size = 64;
  p.accesses = 130;  // two laps of 64 ops plus two
  const auto ops = generate(p);
  ASSERT_EQ(ops.size(), 130u);
  EXPECT_EQ(ops[63].va.value(), kBase + 4032);
  EXPECT_EQ(ops[64].va.value(), kBase);
  EXPECT_EQ(ops[65].va.value(), kBase + 64);
  EXPECT_EQ(ops[128].va.value(), kBase);
  EXPECT_EQ(ops[129].va.value(), kBase + 64);
}

TEST(Generator, StridedFirstAddressesAlignAndWrap) {
  GeneratorParams p = small_params(Pattern::Strided);
  p.footprint = kPageSize;
  p.stride = 100;
  p.access_size = 8;
  p.accesses = 45;
  const auto ops = generate(p);
  ASSERT_EQ(ops.size(), 45u);
  EXPECT_EQ(ops[0].va.value(), kBase + 0);
  EXPECT_EQ(ops[1].va.value(), kBase + 96);   // 100 aligned down to 8
  EXPECT_EQ(ops[2].va.value(), kBase + 200);
  EXPECT_EQ(ops[3].va.value(), kBase + 296);  // 300 -> 296
  EXPECT_EQ(ops[40].va.value(), kBase + 4000);
  EXPECT_EQ(ops[41].va.value(), kBase + 0);   // 4100 mod 4096 = 4 -> 0
  EXPECT_EQ(ops[42].va.value(), kBase + 104);  // 4200 mod 4096 = 104
  for (const MemOp& op : ops) EXPECT_EQ(op.va.value() % 8, 0u);
}

TEST(Generator, StridedLargerThanFootprint) {
  GeneratorParams p = small_params(Pattern::Strided);
  p.footprint = 2 * kPageSize;
  p.stride = kPageSize + 64;
  p.accesses = 4;
  const auto ops = generate(p);
  ASSERT_EQ(ops.size(), 4u);
  EXPECT_EQ(ops[0].va.value(), kBase);
  EXPECT_EQ(ops[1].va.value(), kBase + 4160);
  EXPECT_EQ(ops[2].va.value(), kBase + 128);   // 8320 mod 8192
  EXPECT_EQ(ops[3].va.value(), kBase + 4288);  // 12480 mod 8192
}

TEST(Generator, RandomMatchesDocumentedMapping) {
  GeneratorParams p = small_params(Pattern::Random);
  p.access_size = 16;
  p.seed = 42;
  p.accesses = 10000;
  const auto ops = generate(p);
  ASSERT_EQ(ops.size(), 10000u);
  std::mt19937_64 rng(42);
  const uint64_t slots = p.footprint / 16;
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(ops[i].va.value(), kBase + 16 * scale(rng(), slots)) << i;
  for (const MemOp& op : ops) {
    EXPECT_GE(op.va.value(), kBase);
    EXPECT_LT(op.va.value(), kBase + p.footprint);
    EXPECT_EQ(op.va.value() % 16, 0u);
    EXPECT_EQ(op.size, 16u);
  }
}

TEST(Generator, StandardEngineIsPortable) {
  // The C++ standard fixes the 10000th output of a default-seeded mt19937_64.
  std::mt19937_64 rng;
  rng.discard(9999);
  EXPECT_EQ(rng(), 9981545732273789042ull);
}

TEST(Generator, PointerChaseVisitsEveryLineOncePerLap) {
  GeneratorParams p = small_params(Pattern::PointerChase);
  p.footprint = 8 * kPageSize;
  p.read_fraction = 0.0;  // ignored: pointer chase only reads
  const uint64_t lines = p.footprint / 64;
  p.accesses = 3 * lines;
  const auto ops = generate(p);
  ASSERT_EQ(ops.size(), 3 * lines);
  EXPECT_EQ(ops[0].va.value(), kBase);
  std::set<uint64_t> lap;
  for (uint64_t i = 0; i < lines; ++i) {
    EXPECT_EQ(ops[i].va.value() % 64, 0u);
    EXPECT_TRUE(lap.insert(ops[i].va.value()).second) << "line visited twice in lap 1 at op " << i;
  }
  EXPECT_EQ(lap.size(), lines);
  EXPECT_EQ(*lap.begin(), kBase);
  EXPECT_EQ(*lap.rbegin(), kBase + p.footprint - 64);
  for (uint64_t i = lines; i < 3 * lines; ++i) EXPECT_EQ(ops[i].va, ops[i % lines].va) << i;
  for (const MemOp& op : ops) EXPECT_EQ(op.kind, AccessKind::Read);
}

TEST(Generator, PointerChaseMatchesDocumentedCycle) {
  GeneratorParams p = small_params(Pattern::PointerChase);
  p.footprint = kPageSize;
  p.seed = 9;
  p.accesses = 64;
  std::vector<uint32_t> next(64);
  for (uint32_t i = 0; i < 64; ++i) next[i] = i;
  std::mt19937_64 rng(9);
  for (uint64_t i = 63; i >= 1; --i) std::swap(next[i], next[scale(rng(), i)]);
  const auto ops = generate(p);
  ASSERT_EQ(ops.size(), 64u);
  uint64_t line = 0;
  for (const MemOp& op : ops) {
    EXPECT_EQ(op.va.value(), kBase + 64 * line);
    line = next[line];
  }
}

TEST(Generator, ReadFractionHonoured) {
  for (Pattern pattern : {Pattern::Sequential, Pattern::Strided, Pattern::Random}) {
    for (double fraction : {0.8, 0.25}) {
      GeneratorParams p = small_params(pattern);
      p.accesses = 100000;
      p.read_fraction = fraction;
      p.seed = 7;
      uint64_t reads = 0;
      for (const MemOp& op : generate(p)) {
        ASSERT_NE(op.kind, AccessKind::Fetch);
        reads += op.kind == AccessKind::Read;
      }
      EXPECT_NEAR(static_cast<double>(reads) / 100000.0, fraction, 0.01) << to_string(pattern);
    }
  }
}

TEST(Generator, ReadFractionExtremesAreExact) {
  GeneratorParams p = small_params(Pattern::Random);
  p.read_fraction = 1.0;
  for (const MemOp& op : generate(p)) EXPECT_EQ(op.kind, AccessKind::Read);
  p.read_fraction = 0.0;
  for (const MemOp& op : generate(p)) EXPECT_EQ(op.kind, AccessKind::Write);
}

TEST(Generator, ReadFractionDoesNotChangeAddresses) {
  GeneratorParams p = small_params(Pattern::Random);
  const auto a = generate(p);
  p.read_fraction = 0.3;
  const auto b = generate(p);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].va, b[i].va);
}

TEST(Generator, SameSeedSameStream) {
  for (Pattern pattern : {Pattern::Sequential, Pattern::Strided, Pattern::Random, Pattern::PointerChase}) {
    GeneratorParams p = small_params(pattern);
    p.seed = 123;
    EXPECT_TRUE(same_ops(generate(p), generate(p))) << to_string(pattern);
  }
}

TEST(Generator, DifferentSeedDifferentStream) {
  for (Pattern pattern : {Pattern::Sequential, Pattern::Strided, Pattern::Random, Pattern::PointerChase}) {
    GeneratorParams p = small_params(pattern);
    p.seed = 1;
    const auto a = generate(p);
    p.seed = 2;
    EXPECT_FALSE(same_ops(a, generate(p))) << to_string(pattern);
  }
  // Random and PointerChase addresses themselves depend on the seed.
  for (Pattern pattern : {Pattern::Random, Pattern::PointerChase}) {
    GeneratorParams p = small_params(pattern);
    p.seed = 1;
    const auto a = generate(p);
    p.seed = 2;
    const auto b = generate(p);
    size_t differ = 0;
    for (size_t i = 0; i < a.size(); ++i) differ += a[i].va != b[i].va;
    EXPECT_GT(differ, a.size() / 2) << to_string(pattern);
  }
}

TEST(Generator, NextBatchMatchesNextAndStopsAtAccesses) {
  for (Pattern pattern : {Pattern::Sequential, Pattern::Strided, Pattern::Random, Pattern::PointerChase}) {
    GeneratorParams p = small_params(pattern);
    p.accesses = 1001;
    const auto reference = generate(p);
    ASSERT_EQ(reference.size(), 1001u);
    auto src = make_generator(p);
    std::vector<MemOp> mixed;
    std::vector<MemOp> buf(300);
    bool use_batch = true;
    for (;;) {
      if (use_batch) {
        const size_t got = src->next_batch(buf.data(), buf.size());
        if (got == 0) break;
        EXPECT_TRUE(got == buf.size() || mixed.size() + got == 1001u);
        mixed.insert(mixed.end(), buf.begin(), buf.begin() + static_cast<long>(got));
      } else {
        MemOp op{};
        if (!src->next(op)) break;
        mixed.push_back(op);
      }
      use_batch = !use_batch;
    }
    EXPECT_TRUE(same_ops(reference, mixed)) << to_string(pattern);
    MemOp op{};
    EXPECT_FALSE(src->next(op));
    EXPECT_EQ(src->next_batch(buf.data(), buf.size()), 0u);
  }
}

TEST(Generator, ZeroAccessesIsEmpty) {
  GeneratorParams p = small_params(Pattern::Random);
  p.accesses = 0;
  EXPECT_TRUE(generate(p).empty());
  EXPECT_EQ(counted_pages(p), 0u);
}

TEST(Generator, DistinctPagesMatchesBruteForce) {
  struct Case {
    Pattern pattern;
    uint64_t footprint_pages;
    uint64_t accesses;
    uint32_t access_size;
    uint64_t stride;
  };
  const std::vector<Case> cases = {
      {Pattern::Sequential, 16, 1, 8, 0},       {Pattern::Sequential, 16, 512, 8, 0},
      {Pattern::Sequential, 16, 513, 8, 0},     {Pattern::Sequential, 16, 5000, 64, 0},
      {Pattern::Sequential, 16, 100000, 1, 0},  {Pattern::Strided, 16, 10, 8, 4096 * 3},
      {Pattern::Strided, 16, 100, 8, 4096 * 3}, {Pattern::Strided, 16, 100, 8, 8192},
      {Pattern::Strided, 16, 100, 8, 65536},    {Pattern::Strided, 16, 100, 8, 65536 + 16384},
      {Pattern::Strided, 16, 300, 4, 100},      {Pattern::Strided, 16, 50000, 4, 100},
      {Pattern::Strided, 64, 7, 8, 12288 + 8},  {Pattern::Strided, 64, 40000, 8, 12288 + 8},
      {Pattern::Strided, 16, 3, 8, 4096 * 5},   {Pattern::Strided, 12, 100, 8, 8192},
      {Pattern::Random, 16, 5, 8, 0},           {Pattern::Random, 16, 50, 8, 0},
      {Pattern::Random, 1024, 300, 8, 0},       {Pattern::Random, 64, 5000, 32, 0},
      {Pattern::Random, 100000, 10, 8, 0},      {Pattern::PointerChase, 16, 10, 8, 0},
      {Pattern::PointerChase, 16, 500, 8, 0},   {Pattern::PointerChase, 16, 1024, 8, 0},
      {Pattern::PointerChase, 16, 5000, 8, 0},
  };
  for (const Case& c : cases) {
    GeneratorParams p;
    p.pattern = c.pattern;
    p.base = VirtAddr{kBase};
    p.footprint = c.footprint_pages * kPageSize;
    p.accesses = c.accesses;
    p.access_size = c.access_size;
    p.stride = c.stride == 0 ? 64 : c.stride;
    EXPECT_EQ(counted_pages(p), brute_force_pages(p))
        << to_string(c.pattern) << " pages=" << c.footprint_pages << " accesses=" << c.accesses
        << " stride=" << p.stride;
  }
}

// The run takes the operations in batches or one by one: they are the generator's own, and the count is
// that of the operations taken so far.
TEST(Generator, CountingSourcePassesOpsAndCountsThem) {
  GeneratorParams p = small_params(Pattern::Random);
  p.footprint = 4096 * kPageSize;
  p.accesses = 10000;
  const std::vector<MemOp> reference = generate(p);
  CountingSource src(make_generator(p));
  std::vector<MemOp> taken(3000);
  ASSERT_EQ(src.next_batch(taken.data(), 2000), 2000u);
  ASSERT_TRUE(src.next(taken[2000]));
  taken.resize(2001);
  EXPECT_TRUE(same_ops(std::vector<MemOp>(reference.begin(), reference.begin() + 2001), taken));
  std::set<uint64_t> pages;
  for (const MemOp& op : taken) pages.insert(op.va.value() >> kPageShift);
  EXPECT_EQ(src.pages(), pages.size());
  drain(src);
  EXPECT_EQ(src.pages(), brute_force_pages(p));
  MemOp op{};
  EXPECT_FALSE(src.next(op));
}

// Issue K item 9: counting a workload's pages costs host memory in proportion to the pages touched, not
// to the footprint. Random accesses over 1 PiB (2^38 pages): the old pre-pass sized a bitmap of the
// footprint (32 GiB) or a vector of every access, and replayed the workload, before the first access ran.
// The counter holds one 64-byte bitmap per 2 MiB chunk touched: at most one per access.
TEST(Generator, PageCountMemoryFollowsPagesTouched) {
  GeneratorParams p = small_params(Pattern::Random);
  p.footprint = uint64_t{1} << 50;
  p.accesses = 20000;
  CountingSource src(make_generator(p));
  drain(src);
  const uint64_t pages = src.pages();
  EXPECT_LE(src.chunks(), p.accesses);
  EXPECT_GE(pages, p.accesses - 5);  // 20000 draws from 2^38 pages barely collide
  // A sequential walk over the same footprint touches 8 pages per 4096 accesses of 8 bytes: one chunk.
  p.pattern = Pattern::Sequential;
  CountingSource seq(make_generator(p));
  drain(seq);
  EXPECT_EQ(seq.pages(), 40u);
  EXPECT_EQ(seq.chunks(), 1u);
}

TEST(Generator, RegionCoversFootprint) {
  GeneratorParams p = small_params(Pattern::Random);
  const Region r = generator_region(p);
  EXPECT_EQ(r.start.value(), kBase);
  EXPECT_EQ(r.end.value(), kBase + p.footprint);
  EXPECT_TRUE(r.read);
  EXPECT_TRUE(r.write);
  EXPECT_FALSE(r.exec);
}

TEST(Generator, RejectsBadParams) {
  const auto bad = [](auto mutate) {
    GeneratorParams p = small_params(Pattern::Strided);
    mutate(p);
    EXPECT_THROW(make_generator(p), std::invalid_argument);
    EXPECT_THROW(generator_region(p), std::invalid_argument);
  };
  bad([](GeneratorParams& p) { p.base = VirtAddr{kBase + 8}; });
  bad([](GeneratorParams& p) { p.footprint = 0; });
  bad([](GeneratorParams& p) { p.footprint = 5000; });
  bad([](GeneratorParams& p) { p.base = VirtAddr{~uint64_t{0} - kPageMask}; p.footprint = 2 * kPageSize; });
  bad([](GeneratorParams& p) { p.access_size = 0; });
  bad([](GeneratorParams& p) { p.access_size = 12; });
  bad([](GeneratorParams& p) { p.access_size = 128; });
  bad([](GeneratorParams& p) { p.read_fraction = -0.1; });
  bad([](GeneratorParams& p) { p.read_fraction = 1.5; });
  bad([](GeneratorParams& p) { p.read_fraction = std::nan(""); });
  bad([](GeneratorParams& p) { p.stride = 0; });
  bad([](GeneratorParams& p) {
    p.pattern = Pattern::PointerChase;
    p.footprint = uint64_t{1} << 40;
  });
  bad([](GeneratorParams& p) {  // one page beyond the 16 GiB the cycle may take (1 GiB of host memory)
    p.pattern = Pattern::PointerChase;
    p.footprint = (uint64_t{1} << 34) + kPageSize;
  });
  bad([](GeneratorParams& p) { p.base = VirtAddr{~uint64_t{0} - kPageMask}; p.footprint = kPageSize; });
  // The region may end at 0xFFFFFFFFFFFFF000 (the last page is kept free so that Region::end fits).
  GeneratorParams p = small_params(Pattern::Sequential);
  p.base = VirtAddr{~uint64_t{0} - 2 * kPageSize + 1};
  p.footprint = kPageSize;
  EXPECT_NO_THROW(make_generator(p));
  EXPECT_EQ(generator_region(p).end.value(), 0xFFFFFFFFFFFFF000ull);
}

TEST(Generator, PatternNamesRoundTrip) {
  for (Pattern pattern : {Pattern::Sequential, Pattern::Strided, Pattern::Random, Pattern::PointerChase}) {
    EXPECT_EQ(pattern_from_string(to_string(pattern)), pattern);
  }
  EXPECT_EQ(pattern_from_string("Sequential"), std::nullopt);
  EXPECT_EQ(pattern_from_string(""), std::nullopt);
}

// ---------------------------------------------------------------------------------------------------------
// Lackey reader

TEST(Lackey, ParsesAllLineKinds) {
  const auto ops = read_trace(
      "I  0023C790,2\n"
      " S BE80199C,4\n"
      " L BE801950,4\n"
      " M 0025747C,4\n"
      "I  0023c792,16\n");
  ASSERT_EQ(ops.size(), 5u);
  expect_op(ops[0], 0x0023C790, 2, AccessKind::Fetch, 0);
  expect_op(ops[1], 0xBE80199C, 4, AccessKind::Write, 0);
  expect_op(ops[2], 0xBE801950, 4, AccessKind::Read, 0);
  expect_op(ops[3], 0x0025747C, 4, AccessKind::Write, 0);  // modify: one Write
  expect_op(ops[4], 0x0023C792, 16, AccessKind::Fetch, 0);
}

TEST(Lackey, AcceptsLooseSpacingAndLineEndings) {
  const auto ops = read_trace(
      "I 1000,1\r\n"
      " L    2000,8  \n"
      " S\t3000,4\t\n"
      "I  FFFFFFFFFFFFE000,4096\n"
      " L 0000000000004000,0004");  // no final newline
  ASSERT_EQ(ops.size(), 5u);
  expect_op(ops[0], 0x1000, 1, AccessKind::Fetch, 0);
  expect_op(ops[1], 0x2000, 8, AccessKind::Read, 0);
  expect_op(ops[2], 0x3000, 4, AccessKind::Write, 0);
  expect_op(ops[3], 0xFFFFFFFFFFFFE000, 4096, AccessKind::Fetch, 0);
  expect_op(ops[4], 0x4000, 4, AccessKind::Read, 0);
}

TEST(Lackey, DropsFetchesAndCountsGap) {
  const std::string trace =
      "I  1000,4\n"
      " L 2000,4\n"  // gap 1
      "I  1004,4\n"
      "I  1008,4\n"
      " S 2008,4\n"  // gap 2
      " M 2010,4\n"  // same instruction: gap 0
      "I  100c,4\n"
      "I  1010,4\n"
      " L 2018,8\n"  // gap 2
      "I  1014,4\n";
  TempFile file(trace);
  LackeyReader reader(file.path(), LackeyOptions{false});
  const auto ops = drain(reader);
  ASSERT_EQ(ops.size(), 4u);
  expect_op(ops[0], 0x2000, 4, AccessKind::Read, 1);
  expect_op(ops[1], 0x2008, 4, AccessKind::Write, 2);
  expect_op(ops[2], 0x2010, 4, AccessKind::Write, 0);
  expect_op(ops[3], 0x2018, 8, AccessKind::Read, 2);
  EXPECT_EQ(reader.instructions(), 6u);
  EXPECT_EQ(reader.lines(), 10u);

  LackeyReader with_fetches(file.path());
  const auto all = drain(with_fetches);
  ASSERT_EQ(all.size(), 10u);
  for (const MemOp& op : all) EXPECT_EQ(op.gap, 0u);
  EXPECT_EQ(with_fetches.instructions(), 6u);
}

TEST(Lackey, SplitsPageCrossingAccess) {
  const std::string trace =
      "I  00001FFE,4\n"
      " L 00002FFC,8\n"
      " S 00003000,4096\n"
      " M 00004001,4096\n"
      " L 00005FFC,4\n";  // ends exactly at the boundary: no split
  const auto ops = read_trace(trace);
  ASSERT_EQ(ops.size(), 8u);
  expect_op(ops[0], 0x1FFE, 2, AccessKind::Fetch, 0);
  expect_op(ops[1], 0x2000, 2, AccessKind::Fetch, 0);
  expect_op(ops[2], 0x2FFC, 4, AccessKind::Read, 0);
  expect_op(ops[3], 0x3000, 4, AccessKind::Read, 0);
  expect_op(ops[4], 0x3000, 4096, AccessKind::Write, 0);
  expect_op(ops[5], 0x4001, 4095, AccessKind::Write, 0);
  expect_op(ops[6], 0x5000, 1, AccessKind::Write, 0);
  expect_op(ops[7], 0x5FFC, 4, AccessKind::Read, 0);

  const auto data = read_trace("I  1000,4\nI  1004,4\n L 00002FFC,8\n", LackeyOptions{false});
  ASSERT_EQ(data.size(), 2u);
  expect_op(data[0], 0x2FFC, 4, AccessKind::Read, 2);
  expect_op(data[1], 0x3000, 4, AccessKind::Read, 0);  // second half: gap 0
}

TEST(Lackey, SkipsValgrindMessagesAndBlankLines) {
  const auto ops = read_trace(
      "==12345== Lackey, an example Valgrind tool\n"
      "==12345== Copyright (C) 2002-2017, and GNU GPL'd, by Nicholas Nethercote.\n"
      "\n"
      "   \n"
      "\t\n"
      "I  1000,4\n"
      "==12345== \n"
      " L 2000,4\n"
      "\n"
      "==12345== Counted 1 call to main()\n");
  ASSERT_EQ(ops.size(), 2u);
  expect_op(ops[0], 0x1000, 4, AccessKind::Fetch, 0);
  expect_op(ops[1], 0x2000, 4, AccessKind::Read, 0);
  EXPECT_TRUE(read_trace("").empty());
  EXPECT_TRUE(read_trace("==1== only messages\n\n").empty());
}

TEST(Lackey, MalformedLineThrowsWithLineNumber) {
  const std::vector<std::string> bad_lines = {
      "X 1234,4",
      "L 1234,4",
      " L1234,4",
      " X 1234,4",
      "  L 1234,4",
      "I",
      "I  ",
      " L 1234",
      " L 1234,",
      " L ,4",
      " L 0x1234,4",
      " L 12g4,4",
      " L 1234,4x",
      " L 1234,-4",
      " L 1234,0",
      " L 1234,4097",
      " L 1234,99999999999",
      " L 1234 ,4",
      " L 1234,4 5",
      "I  12345678901234567,4",
      "I  FFFFFFFFFFFFF000,1",
      "I  FFFFFFFFFFFFEFFF,2",
      "= 1 =",
      "hello world",
  };
  for (const std::string& line : bad_lines) {
    TempFile file("==1== start\nI  1000,4\n" + line + "\n L 2000,4\n");
    LackeyReader reader(file.path());
    MemOp op{};
    ASSERT_TRUE(reader.next(op));
    try {
      while (reader.next(op)) {
      }
      ADD_FAILURE() << "no throw for '" << line << "'";
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()), file.path() + ":3: malformed lackey line: '" + line + "'");
    }
  }
}

TEST(Lackey, MalformedLineNumberCountsSkippedLines) {
  std::string trace;
  for (int i = 0; i < 20000; ++i) trace += i % 3 == 0 ? "==7== msg\n" : i % 3 == 1 ? "\n" : "I  1000,4\n";
  trace += " Q 1000,4\n";
  TempFile file(trace);
  try {
    scan_lackey(file.path());
    FAIL() << "no throw";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(file.path() + ":20001: malformed lackey line: ' Q 1000,4'"),
              std::string::npos)
        << e.what();
  }
}

TEST(Lackey, OverlongLineIsMalformed) {
  TempFile file("I  1000,4\n" + std::string(3 << 20, 'x') + "\n");
  LackeyReader reader(file.path());
  MemOp op{};
  ASSERT_TRUE(reader.next(op));
  try {
    reader.next(op);
    FAIL() << "no throw";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(":2: malformed lackey line: 'xxx"), std::string::npos);
    EXPECT_LT(std::string(e.what()).size(), 300u);
  }
}

TEST(Lackey, MissingFileThrows) {
  const std::string path = "/tmp/vmsim_test_workload_definitely_missing.trace";
  std::remove(path.c_str());
  try {
    LackeyReader reader(path);
    FAIL() << "no throw";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": cannot open: No such file or directory");
  }
  EXPECT_THROW(scan_lackey(path), InputError);
}

TEST(Lackey, LongTraceAcrossBufferRefills) {
  // About 3 MiB: several buffer refills, with lines straddling the refill points.
  std::string trace;
  const uint64_t n = 200000;
  char line[64];
  for (uint64_t i = 0; i < n; ++i) {
    std::snprintf(line, sizeof line, "I  %08llx,%u\n L %016llx,%u\n", static_cast<unsigned long long>(0x400000 + i * 4),
                  static_cast<unsigned>(1 + i % 4), static_cast<unsigned long long>(0x7ff0000000 + i * 8), 8u);
    trace += line;
  }
  TempFile file(trace);
  LackeyReader reader(file.path());
  std::vector<MemOp> buf(1000);
  uint64_t count = 0;
  while (const size_t got = reader.next_batch(buf.data(), buf.size())) {
    for (size_t k = 0; k < got; ++k, ++count) {
      const uint64_t i = count / 2;
      if (count % 2 == 0) {
        ASSERT_EQ(buf[k].va.value(), 0x400000 + i * 4) << count;
        ASSERT_EQ(buf[k].size, 1 + i % 4);
        ASSERT_EQ(buf[k].kind, AccessKind::Fetch);
      } else {
        ASSERT_EQ(buf[k].va.value(), 0x7ff0000000 + i * 8) << count;
        ASSERT_EQ(buf[k].kind, AccessKind::Read);
      }
    }
  }
  EXPECT_EQ(count, 2 * n);
  EXPECT_EQ(reader.instructions(), n);
  EXPECT_EQ(reader.lines(), 2 * n);
}

// ---------------------------------------------------------------------------------------------------------
// Pre-scan

const char* const kScanTrace =
    "==1== Lackey\n"
    "I  00001000,4\n"   // page 0x1 exec
    " L 00001ff0,4\n"   // page 0x1 read
    " S 00003000,8\n"   // page 0x3 write
    "I  00001004,4\n"   // page 0x1 exec
    " M 00010ffe,4\n"   // pages 0x10 and 0x11 write (split)
    "I  00040000,2\n";  // page 0x40 exec

void expect_region(const Region& r, uint64_t start, uint64_t end, bool read, bool write, bool exec) {
  EXPECT_EQ(r.start.value(), start);
  EXPECT_EQ(r.end.value(), end);
  EXPECT_EQ(r.read, read);
  EXPECT_EQ(r.write, write);
  EXPECT_EQ(r.exec, exec);
}

TEST(Lackey, ScanRegionsAndDistinctPages) {
  TempFile file(kScanTrace);
  const TraceScan scan = scan_lackey(file.path(), LackeyOptions{}, 1);
  EXPECT_EQ(scan.distinct_pages, 5u);  // 0x1, 0x3, 0x10, 0x11, 0x40
  EXPECT_EQ(scan.ops, 7u);             // 6 records + 1 split half
  EXPECT_EQ(scan.instructions, 3u);
  ASSERT_EQ(scan.regions.size(), 3u);
  expect_region(scan.regions[0], 0x1000, 0x4000, true, true, true);  // pages 1..3, one-page hole merged
  expect_region(scan.regions[1], 0x10000, 0x12000, true, true, false);
  expect_region(scan.regions[2], 0x40000, 0x41000, false, false, true);
}

TEST(Lackey, ScanMergeGapControlsRegions) {
  TempFile file(kScanTrace);
  const TraceScan tight = scan_lackey(file.path(), LackeyOptions{}, 0);
  ASSERT_EQ(tight.regions.size(), 4u);
  expect_region(tight.regions[0], 0x1000, 0x2000, true, false, true);
  expect_region(tight.regions[1], 0x3000, 0x4000, true, true, false);
  expect_region(tight.regions[2], 0x10000, 0x12000, true, true, false);
  expect_region(tight.regions[3], 0x40000, 0x41000, false, false, true);

  const TraceScan by_default = scan_lackey(file.path());  // merge gap 16: 12 empty pages 0x4..0xf, 46 in 0x12..0x3f
  ASSERT_EQ(by_default.regions.size(), 2u);
  expect_region(by_default.regions[0], 0x1000, 0x12000, true, true, true);
  expect_region(by_default.regions[1], 0x40000, 0x41000, false, false, true);

  const TraceScan loose = scan_lackey(file.path(), LackeyOptions{}, 1000);
  ASSERT_EQ(loose.regions.size(), 1u);
  expect_region(loose.regions[0], 0x1000, 0x41000, true, true, true);
  EXPECT_EQ(loose.distinct_pages, 5u);
}

TEST(Lackey, ScanWithoutFetchesIgnoresInstructionPages) {
  TempFile file(kScanTrace);
  const TraceScan scan = scan_lackey(file.path(), LackeyOptions{false}, 0);
  EXPECT_EQ(scan.distinct_pages, 4u);  // 0x1 (the load), 0x3, 0x10, 0x11
  EXPECT_EQ(scan.ops, 4u);
  EXPECT_EQ(scan.instructions, 3u);
  ASSERT_EQ(scan.regions.size(), 3u);
  expect_region(scan.regions[0], 0x1000, 0x2000, true, false, false);
  expect_region(scan.regions[1], 0x3000, 0x4000, true, true, false);
  expect_region(scan.regions[2], 0x10000, 0x12000, true, true, false);
}

TEST(Lackey, ScanOfEmptyTrace) {
  TempFile file("==1== nothing\n");
  const TraceScan scan = scan_lackey(file.path());
  EXPECT_TRUE(scan.regions.empty());
  EXPECT_EQ(scan.distinct_pages, 0u);
  EXPECT_EQ(scan.ops, 0u);
  EXPECT_EQ(scan.instructions, 0u);
}

TEST(Lackey, ScanHandlesTopOfAddressSpace) {
  TempFile file(" S FFFFFFFFFFFFE000,4096\n L FFFFFFFFFFFFDFFF,2\n");
  const TraceScan scan = scan_lackey(file.path());
  EXPECT_EQ(scan.distinct_pages, 2u);
  ASSERT_EQ(scan.regions.size(), 1u);
  expect_region(scan.regions[0], 0xFFFFFFFFFFFFD000, 0xFFFFFFFFFFFFF000, true, true, false);
}

}  // namespace
}  // namespace vmsim::workload
