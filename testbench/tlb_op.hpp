// One TLB operation of the co-simulation (the request both the model and the RTL execute) and a small
// deterministic random generator for stimulus.
#pragma once

#include <cstdint>
#include <string>

#include "models/mmu/tlb_array.hpp"

namespace vmsim::rtl {

enum class OpKind : uint8_t { Lookup, Fill, Invlpg, InvAddr, InvPcid, FlushNonGlobal, FlushAll };
constexpr unsigned kNumOpKinds = 7;
const char* to_string(OpKind k);

struct TlbOp {
  OpKind kind = OpKind::Lookup;
  VirtAddr va{0};             // Lookup, Invlpg, InvAddr
  mmu::Pcid pcid = 0;         // all but the flushes
  mmu::TlbArrayEntry entry;   // Fill
  unsigned stall = 0;         // response-channel stall before the request (cycles)
};

// "fill vpn=0x12345 pfn=0x678 size=2M leaf=2M pcid=0x1 G perm=W-U-X-D" and the like.
std::string describe(const TlbOp& op);
std::string describe(const mmu::TlbArrayEntry& e);

// splitmix64: a small, fast, portable generator (the same stream on every platform for a seed).
class Rng {
  __extension__ typedef unsigned __int128 U128;  // GCC/Clang: 64 x 64 -> 128-bit product

 public:
  explicit Rng(uint64_t seed) : m_state(seed) {}
  uint64_t next() {
    uint64_t z = (m_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) for n > 0 (multiply-shift: no division; bias below 2^-40 for the n used here).
  uint64_t below(uint64_t n) { return static_cast<uint64_t>((static_cast<U128>(next()) * n) >> 64); }
  // True with probability per_mille / 1000.
  bool chance(unsigned per_mille) { return below(1000) < per_mille; }

 private:
  uint64_t m_state;
};

}  // namespace vmsim::rtl
