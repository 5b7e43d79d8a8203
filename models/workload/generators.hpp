// Synthetic workload generators: sequential, strided, uniform random and pointer-chase access streams.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/types.hpp"
#include "models/workload/workload.hpp"

namespace vmsim::workload {

enum class Pattern { Sequential, Strided, Random, PointerChase };

// Parameters of a synthetic generator. Offsets below are relative to base; F = footprint, S = access_size.
//   Sequential:   op i touches base + (i*S mod F).
//   Strided:      op i touches base + ((i*stride mod F) aligned down to S).
//   Random:       op i touches base + S*floor(r_i * (F/S) / 2^64), r_i the i-th output of
//                 std::mt19937_64(seed) (fully specified by the C++ standard, so streams are portable).
//   PointerChase: walks one random cycle through all F/64 cache lines, starting at line 0 (base); each lap
//                 visits every line exactly once and in the same order. The cycle is built with Sattolo's
//                 algorithm driven by std::mt19937_64(seed): for i = n-1 .. 1, swap(next[i], next[j]) with
//                 j = floor(r * i / 2^64). Host memory: 4 bytes per line (so at most 2^28 lines, 16 GiB of
//                 footprint). Every op is a Read.
// Kinds (other than PointerChase): op i is a Read iff (k_i >> 11) < floor(read_fraction * 2^53), else a
// Write, where k_i is the i-th output of SplitMix64 seeded with seed (state += 0x9E3779B97F4A7C15, then
// the standard xor-shift-multiply finalizer). It is separate from the address engine, so read_fraction never
// changes addresses. With read_fraction 0 or 1 no draws are made.
// Gap: constant — every op has gap == `gap` exactly (no random draw).
// Every op has size == access_size and never crosses a page (S divides 4096 divides F).
struct GeneratorParams {
  Pattern pattern = Pattern::Sequential;
  VirtAddr base{0x10000000};      // start of the touched region (page aligned)
  uint64_t footprint = 16 << 20;  // bytes of the touched region (multiple of 4096, > 0)
  uint64_t accesses = 1000000;    // number of MemOps produced (0 allowed: empty workload)
  double read_fraction = 0.8;     // probability an op is a Read (else Write), in [0, 1]; ignored by PointerChase
  uint32_t access_size = 8;       // bytes per op (power of two, <= 64)
  uint64_t stride = 64;           // bytes between consecutive ops for Strided (> 0); unused otherwise
  uint32_t gap = 4;               // non-memory instructions charged before every op (constant)
  uint64_t seed = 1;              // seeds Random addresses, PointerChase cycle and Read/Write choice
};

// Returns a new Source producing exactly p.accesses ops as described at GeneratorParams; deterministic for
// given params. Throws std::invalid_argument naming the field if: base is not page aligned; footprint is 0
// or not a multiple of 4096; base+footprint exceeds 0xFFFFFFFFFFFFF000 (so Region::end fits in 64 bits);
// access_size is not a power of two in [1, 64]; read_fraction is not in [0, 1]; stride is 0 for Strided;
// footprint exceeds 16 GiB (2^28 lines) for PointerChase.
// PointerChase builds its cycle here in O(footprint/64) time.
std::unique_ptr<Source> make_generator(const GeneratorParams& p);

// The region the generator touches: [base, base+footprint), read+write, not exec. Throws like make_generator.
Region generator_region(const GeneratorParams& p);

// "sequential", "strided", "random" or "pointer_chase".
const char* to_string(Pattern p);

// Inverse of to_string(Pattern) (exact, lower case); std::nullopt for any other text.
std::optional<Pattern> pattern_from_string(const std::string& text);

}  // namespace vmsim::workload
