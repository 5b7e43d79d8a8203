// The hashed (inverted) page-table format of vmsim, the alternative to x86 radix tables
// (system.core.mmu.walker.format: hashed). One global table for every address space, as PowerPC's
// hashed page table: translations are looked up by (address-space id, virtual page number) instead of
// being walked level by level. Used by the firmware (builds it), the walker (reads it with timed
// transactions) and the golden checker (reads it on its own).
//
// Layout in physical memory: `buckets` (a power of two) 32-byte entries at the table base, the anchors of
// the hash chains; overflow entries anywhere else in memory, linked from the anchor. An entry:
//
//   word 0 (+0)   tag: bit 63 valid, bits 62..51 address-space id (the 12-bit PCID), bits 44..0 the
//                 virtual page number (va >> 12; 45 bits covers 57-bit LA57 addresses)
//   word 1 (+8)   the leaf PTE in the x86 format (P, R/W, U/S, A, D, XD, frame): permissions and
//                 Accessed/Dirty work exactly as in a radix leaf; only 4 KiB pages
//   word 2 (+16)  physical address of the next entry of the chain (32-byte aligned), 0 at the end
//   word 3 (+24)  reserved, zero
//
// The walker reads a whole entry in one 32-byte transaction (half a cache line), compares the tag, and
// follows the chain; it writes word 1 back for Accessed/Dirty.
#pragma once

#include <cstdint>

namespace vmsim::hpt {

constexpr uint64_t kEntryBytes = 32;
constexpr uint64_t kValid = 1ull << 63;
constexpr unsigned kAsidShift = 51;
constexpr uint64_t kVpnMask = (1ull << 45) - 1;
constexpr uint64_t kPteOffset = 8;
constexpr uint64_t kNextOffset = 16;
// A chain longer than this means the table is corrupt (a cycle): the walker stops the run.
constexpr unsigned kMaxChain = 4096;

constexpr uint64_t make_tag(uint16_t asid, uint64_t vpn) {
  return kValid | (uint64_t{asid & 0xFFFu} << kAsidShift) | (vpn & kVpnMask);
}

constexpr unsigned log2_exact(uint64_t v) {
  unsigned b = 0;
  while ((uint64_t{1} << b) < v) ++b;
  return b;
}

// The bucket of (asid, vpn) in a table of `buckets` (a power of two, >= 2) anchors: Fibonacci hashing
// of the tag's key bits, the top log2(buckets) bits of the product.
constexpr uint64_t bucket_of(uint16_t asid, uint64_t vpn, uint64_t buckets) {
  const uint64_t key = (vpn & kVpnMask) | (uint64_t{asid & 0xFFFu} << 45);
  return (key * 0x9E3779B97F4A7C15ull) >> (64 - log2_exact(buckets));
}

}  // namespace vmsim::hpt
