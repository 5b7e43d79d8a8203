// Synthetic workload generators: address streams and the Read/Write choice.
#include "models/workload/generators.hpp"

#include <cmath>
#include <random>
#include <stdexcept>
#include <utility>
#include <vector>

namespace vmsim::workload {
namespace {

constexpr uint64_t kLineSize = 64;
constexpr uint64_t kAllReads = uint64_t{1} << 53;  // kind threshold meaning "every op is a Read"
constexpr uint64_t kMaxChaseLines = uint64_t{1} << 28;  // 16 GiB of footprint, 1 GiB of host memory
constexpr uint64_t kMaxRegionEnd = ~uint64_t{0} - kPageMask;  // 0xFFFFFFFFFFFFF000

// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, fully specified 64-bit generator. Drives the
// Read/Write choice, which must be cheap enough for 50+ M ops/s.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : m_state(seed) {}
  uint64_t operator()() {
    uint64_t z = (m_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t m_state;
};

__extension__ typedef unsigned __int128 Uint128;  // GCC/Clang extension; __extension__ keeps -Wpedantic quiet

// floor(r * range / 2^64): maps a uniform 64-bit value onto [0, range).
inline uint64_t scale_to_range(uint64_t r, uint64_t range) {
  return static_cast<uint64_t>((static_cast<Uint128>(r) * range) >> 64);
}

void validate(const GeneratorParams& p) {
  const auto fail = [](const std::string& msg) { throw std::invalid_argument("generator: " + msg); };
  if ((p.base.value() & kPageMask) != 0) fail("base must be page aligned, got " + std::to_string(p.base.value()));
  if (p.footprint == 0 || (p.footprint & kPageMask) != 0)
    fail("footprint must be a positive multiple of 4096, got " + std::to_string(p.footprint));
  if (p.footprint > kMaxRegionEnd - p.base.value())  // keeps Region::end representable
    fail("base + footprint must not exceed 0xFFFFFFFFFFFFF000");
  if (p.access_size == 0 || p.access_size > kLineSize || (p.access_size & (p.access_size - 1)) != 0)
    fail("access_size must be a power of two in [1, 64], got " + std::to_string(p.access_size));
  if (!(p.read_fraction >= 0.0 && p.read_fraction <= 1.0))
    fail("read_fraction must be in [0, 1], got " + std::to_string(p.read_fraction));
  if (p.pattern == Pattern::Strided && p.stride == 0) fail("stride must be > 0 for the strided pattern");
  if (p.pattern == Pattern::PointerChase && p.footprint / kLineSize > kMaxChaseLines)
    fail("footprint too large for pointer_chase (at most 16GiB: its cycle holds 4 bytes of host memory per 64-byte line)");
}

// The generator behind make_generator(). All patterns share one class; next_batch() dispatches once per call
// so the per-op loops stay tight.
class SyntheticSource final : public Source {
 public:
  explicit SyntheticSource(const GeneratorParams& p)
      : m_pattern(p.pattern),
        m_base(p.base.value()),
        m_footprint(p.footprint),
        m_remaining(p.accesses),
        m_size(p.access_size),
        m_gap(p.gap),
        m_align_mask(~uint64_t{p.access_size - 1}),
        m_addr_rng(p.seed),
        m_kind_rng(p.seed) {
    if (p.pattern == Pattern::Sequential) m_step = p.access_size;
    if (p.pattern == Pattern::Strided) m_step = p.stride % p.footprint;
    if (p.pattern == Pattern::Random) m_slots = p.footprint / p.access_size;
    if (p.pattern == Pattern::PointerChase) {
      m_read_threshold = kAllReads;
      build_cycle(p.footprint / kLineSize);
    } else {
      m_read_threshold = static_cast<uint64_t>(std::ldexp(p.read_fraction, 53));
    }
  }

  bool next(MemOp& op) override { return next_batch(&op, 1) == 1; }

  size_t next_batch(MemOp* out, size_t n) override {
    if (n > m_remaining) n = static_cast<size_t>(m_remaining);
    if (n == 0) return 0;
    switch (m_pattern) {
      case Pattern::Sequential:
      case Pattern::Strided: fill_linear(out, n); break;
      case Pattern::Random: fill_random(out, n); break;
      case Pattern::PointerChase: fill_chase(out, n); break;
    }
    m_remaining -= n;
    return n;
  }

 private:
  // Sattolo's algorithm: a uniformly random single cycle over n lines, stored as successor indices.
  void build_cycle(uint64_t n) {
    m_next.resize(n);
    for (uint64_t i = 0; i < n; ++i) m_next[i] = static_cast<uint32_t>(i);
    for (uint64_t i = n - 1; i >= 1; --i) std::swap(m_next[i], m_next[scale_to_range(m_addr_rng(), i)]);
  }

  AccessKind draw_kind() {
    if (m_read_threshold == kAllReads) return AccessKind::Read;
    if (m_read_threshold == 0) return AccessKind::Write;
    static_assert(static_cast<int>(AccessKind::Read) == 0 && static_cast<int>(AccessKind::Write) == 1);
    return static_cast<AccessKind>((m_kind_rng() >> 11) >= m_read_threshold);  // branch-free Read/Write
  }

  void fill_linear(MemOp* out, size_t n) {
    // The state lives in locals for the loop: the stores to out[] could alias the members.
    const uint64_t base = m_base;
    const uint64_t mask = m_align_mask;
    const uint64_t step = m_step;
    const uint64_t wrap = m_footprint - step;  // offset at which adding m_step reaches the footprint
    const uint32_t size = m_size;
    const uint32_t gap = m_gap;
    const uint64_t threshold = m_read_threshold;
    uint64_t offset = m_offset;
    if (threshold == kAllReads || threshold == 0) {  // no draws (draw_kind)
      const AccessKind kind = threshold == 0 ? AccessKind::Write : AccessKind::Read;
      for (size_t i = 0; i < n; ++i) {
        out[i] = MemOp{VirtAddr{base + (offset & mask)}, size, kind, gap};
        offset = offset >= wrap ? offset - wrap : offset + step;
      }
    } else {
      SplitMix64 rng = m_kind_rng;
      for (size_t i = 0; i < n; ++i) {
        // draw_kind's branch-free Read/Write
        const AccessKind kind = static_cast<AccessKind>((rng() >> 11) >= threshold);
        out[i] = MemOp{VirtAddr{base + (offset & mask)}, size, kind, gap};
        offset = offset >= wrap ? offset - wrap : offset + step;
      }
      m_kind_rng = rng;
    }
    m_offset = offset;
  }

  void fill_random(MemOp* out, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      const uint64_t slot = scale_to_range(m_addr_rng(), m_slots);
      out[i] = MemOp{VirtAddr{m_base + slot * m_size}, m_size, draw_kind(), m_gap};
    }
  }

  void fill_chase(MemOp* out, size_t n) {
    uint64_t line = m_line;
    for (size_t i = 0; i < n; ++i) {
      out[i] = MemOp{VirtAddr{m_base + line * kLineSize}, m_size, AccessKind::Read, m_gap, true};
      line = m_next[line];
    }
    m_line = line;
  }

  Pattern m_pattern;
  uint64_t m_base;
  uint64_t m_footprint;
  uint64_t m_remaining;
  uint32_t m_size;
  uint32_t m_gap;
  uint64_t m_align_mask;
  uint64_t m_read_threshold = 0;  // op is a Read iff (kind draw >> 11) < this; kAllReads / 0 skip the draw
  uint64_t m_step = 0;            // Sequential/Strided: offset increment, < footprint
  uint64_t m_offset = 0;          // Sequential/Strided: current offset in [0, footprint)
  uint64_t m_slots = 0;           // Random: footprint / access_size
  uint64_t m_line = 0;            // PointerChase: current line index
  std::vector<uint32_t> m_next;   // PointerChase: successor of each line in the cycle
  std::mt19937_64 m_addr_rng;
  SplitMix64 m_kind_rng;
};

}  // namespace

std::unique_ptr<Source> make_generator(const GeneratorParams& p) {
  validate(p);
  return std::make_unique<SyntheticSource>(p);
}

Region generator_region(const GeneratorParams& p) {
  validate(p);
  return Region{p.base, VirtAddr{p.base.value() + p.footprint}, true, true, false};
}

const char* to_string(Pattern p) {
  switch (p) {
    case Pattern::Sequential: return "sequential";
    case Pattern::Strided: return "strided";
    case Pattern::Random: return "random";
    case Pattern::PointerChase: return "pointer_chase";
  }
  return "?";
}

std::optional<Pattern> pattern_from_string(const std::string& text) {
  for (Pattern p : {Pattern::Sequential, Pattern::Strided, Pattern::Random, Pattern::PointerChase}) {
    if (text == to_string(p)) return p;
  }
  return std::nullopt;
}

}  // namespace vmsim::workload
