// Distinct 4 KiB pages of a workload, counted as its operations are delivered: host memory grows with the
// pages touched (a 64-byte bitmap per 2 MiB of address space in use), never with the footprint.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <utility>

#include "models/workload/workload.hpp"

namespace vmsim::workload {

// A set of virtual page numbers.
class PageSet {
 public:
  // Adds a page; true if it was not in the set. O(1) expected.
  bool add(uint64_t vpn) {
    if (vpn == m_last_vpn) return false;
    m_last_vpn = vpn;
    const uint64_t chunk = vpn >> kChunkShift;
    if (chunk != m_last_chunk) {
      m_last_bits = &m_chunks[chunk];
      m_last_chunk = chunk;
    }
    uint64_t& word = (*m_last_bits)[(vpn >> 6) & (kChunkWords - 1)];
    const uint64_t bit = uint64_t{1} << (vpn & 63);
    if (word & bit) return false;
    word |= bit;
    ++m_count;
    return true;
  }
  // Number of distinct pages added.
  uint64_t count() const { return m_count; }
  // Chunks of 512 pages (2 MiB) holding at least one page: what the host memory grows with.
  uint64_t chunks() const { return m_chunks.size(); }

 private:
  static constexpr unsigned kChunkShift = 9;  // 512 pages per chunk
  static constexpr uint64_t kChunkWords = (uint64_t{1} << kChunkShift) / 64;
  using Bits = std::array<uint64_t, kChunkWords>;

  std::unordered_map<uint64_t, Bits> m_chunks;  // chunk number -> one bit per page
  uint64_t m_count = 0;
  uint64_t m_last_vpn = ~uint64_t{0};
  uint64_t m_last_chunk = ~uint64_t{0};
  Bits* m_last_bits = nullptr;  // element of m_chunks (stable: unordered_map never moves its elements)
};

// Passes another source's operations through and counts the distinct pages of those the consumer
// performed (the page of `va`: an operation never crosses a page). A batch is counted when the next one is
// asked for or the stream ends (the consumer performed all of it), or up to what not_performed() leaves.
// The buffer given to next_batch() must keep the delivered operations unchanged until the next call or
// not_performed(). next() counts its operation at once.
class CountingSource final : public Source {
 public:
  explicit CountingSource(std::unique_ptr<Source> inner) : m_inner(std::move(inner)) {}

  bool next(MemOp& op) override {
    settle(m_batch_size);
    if (!m_inner->next(op)) return false;
    m_pages.add(op.va.value() >> kPageShift);
    return true;
  }
  size_t next_batch(MemOp* out, size_t n) override {
    settle(m_batch_size);
    const size_t got = m_inner->next_batch(out, n);
    m_batch = out;
    m_batch_size = got;
    return got;
  }
  uint64_t trailing_instructions() const override { return m_inner->trailing_instructions(); }
  void not_performed(size_t n) override { settle(n < m_batch_size ? m_batch_size - n : 0); }

  // Distinct pages of the operations performed so far (the latest batch counts once the next is asked for).
  uint64_t pages() const { return m_pages.count(); }
  // 2 MiB chunks of address space the counter holds a bitmap for (its host memory is about 100 bytes each).
  uint64_t chunks() const { return m_pages.chunks(); }

 private:
  // Counts the first `performed` operations of the pending batch and forgets it.
  void settle(size_t performed) {
    // Runs of operations on one page (the common case) cost one compare per four, then per pair.
    const MemOp* op = m_batch;
    const MemOp* const end = op + performed;
    uint64_t page = ~uint64_t{0};  // the page added last (none yet)
    for (; end - op >= 4; op += 4) {
      const uint64_t a = op[0].va.value() >> kPageShift;
      const uint64_t b = op[1].va.value() >> kPageShift;
      const uint64_t c = op[2].va.value() >> kPageShift;
      const uint64_t d = op[3].va.value() >> kPageShift;
      if (((a ^ page) | (b ^ page) | (c ^ page) | (d ^ page)) == 0) continue;
      for (const uint64_t x : {a, b, c, d}) {
        if (x != page) {
          page = x;
          m_pages.add(x);
        }
      }
    }
    for (; end - op >= 2; op += 2) {
      const uint64_t a = op[0].va.value() >> kPageShift;
      const uint64_t b = op[1].va.value() >> kPageShift;
      if (((a ^ page) | (b ^ page)) == 0) continue;
      if (a != page) {
        page = a;
        m_pages.add(a);
      }
      if (b != page) {
        page = b;
        m_pages.add(b);
      }
    }
    if (op != end && (op->va.value() >> kPageShift) != page) m_pages.add(op->va.value() >> kPageShift);
    m_batch = nullptr;
    m_batch_size = 0;
  }

  std::unique_ptr<Source> m_inner;
  PageSet m_pages;
  const MemOp* m_batch = nullptr;  // the latest batch, not counted yet
  size_t m_batch_size = 0;
};

}  // namespace vmsim::workload
