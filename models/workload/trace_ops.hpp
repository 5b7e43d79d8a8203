// Trace replay shared by every trace format: instruction/data events turned into MemOps (page splitting,
// gap accounting, instruction addresses), and a Source over any event parser.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>

#include "common/types.hpp"
#include "models/workload/workload.hpp"

namespace vmsim::workload {

// One record of a trace, before replay rules: an instruction (kind Fetch, addr = its address) or a data
// access (Read or Write) of size bytes (1..4096) at addr (addr + size <= 0xFFFFFFFFFFFFF000).
struct TraceEvent {
  AccessKind kind;
  uint32_t size;
  uint64_t addr;
};

// Replay options common to all trace formats.
struct TraceOptions {
  bool fetches = true;  // false: instructions are not replayed as fetches but still counted (in gap)
};

// The replay rules (one place for lackey, ChampSim and vmsim traces):
//   ip:     an instruction event sets the ip of itself and of the data events after it, until the next
//           instruction (also when fetches = false); data before the first instruction has ip 0.
//   split:  an access crossing a 4 KiB boundary becomes two MemOps (low part first); the second has gap 0
//           and tail = true (the core counts the pair as one access and at most one instruction).
//   gap:    fetches = true: every instruction is a Fetch op, every op has gap 0. fetches = false:
//           instructions emit nothing; a data op's gap = instructions since the previous op (saturating at
//           2^32-1), so it includes its own instruction; instructions after the last op are trailing().
class OpEmitter {
 public:
  static constexpr size_t kMaxOpsPerEvent = 2;

  explicit OpEmitter(TraceOptions opt = {}) : m_fetches(opt.fetches) {}

  // Writes the event's 0..2 MemOps to out; returns how many.
  size_t apply(const TraceEvent& e, MemOp* out) {
    uint32_t gap = 0;
    if (e.kind == AccessKind::Fetch) {
      ++m_instructions;
      m_ip = e.addr;
      if (!m_fetches) {
        ++m_pending;
        return 0;
      }
    } else if (!m_fetches) {
      gap = m_pending > std::numeric_limits<uint32_t>::max() ? std::numeric_limits<uint32_t>::max()
                                                             : static_cast<uint32_t>(m_pending);
      m_pending = 0;
    }
    const uint64_t room = kPageSize - (e.addr & kPageMask);
    if (e.size <= room) {
      out[0] = MemOp{VirtAddr{e.addr}, e.size, e.kind, gap, false, false, m_ip};
      return 1;
    }
    out[0] = MemOp{VirtAddr{e.addr}, static_cast<uint32_t>(room), e.kind, gap, false, false, m_ip};
    out[1] = MemOp{VirtAddr{e.addr + room}, static_cast<uint32_t>(e.size - room), e.kind, 0, false, true, m_ip};
    return 2;
  }

  // Instruction events seen so far (replayed or not).
  uint64_t instructions() const { return m_instructions; }
  // Instructions since the last emitted op (fetches = false); at the end, the trailing instructions.
  uint64_t pending() const { return m_pending; }

 private:
  bool m_fetches;
  uint64_t m_ip = 0;
  uint64_t m_pending = 0;
  uint64_t m_instructions = 0;
};

// A Source over an event parser P, which provides `bool next(TraceEvent&)` (false at the end, throws
// InputError on bad input). Holds at most one pending MemOp (the second part of a split).
template <class P>
class TraceReader : public Source {
 public:
  template <class... Args>
  explicit TraceReader(TraceOptions opt, Args&&... args) : m_parser(std::forward<Args>(args)...), m_emit(opt) {}

  bool next(MemOp& op) override {
    if (m_has_pending) {
      op = m_pending;
      m_has_pending = false;
      return true;
    }
    MemOp two[OpEmitter::kMaxOpsPerEvent];
    const size_t k = produce(two);
    if (k == 0) return false;
    op = two[0];
    if (k == 2) {
      m_pending = two[1];
      m_has_pending = true;
    }
    return true;
  }

  size_t next_batch(MemOp* out, size_t n) override {
    size_t written = 0;
    if (m_has_pending && n > 0) {
      out[written++] = m_pending;
      m_has_pending = false;
    }
    while (written + OpEmitter::kMaxOpsPerEvent <= n) {
      const size_t k = produce(out + written);
      if (k == 0) return written;
      written += k;
    }
    while (written < n && next(out[written])) ++written;
    return written;
  }

  uint64_t trailing_instructions() const override { return m_emit.pending(); }

  // Instruction events read so far, including those not replayed when fetches = false.
  uint64_t instructions() const { return m_emit.instructions(); }

 protected:
  P m_parser;

 private:
  // Reads events until one yields ops; writes them to out and returns how many (0 at the end).
  size_t produce(MemOp* out) {
    TraceEvent e;
    while (m_parser.next(e)) {
      if (const size_t k = m_emit.apply(e, out)) return k;
    }
    return 0;
  }

  OpEmitter m_emit;
  bool m_has_pending = false;
  MemOp m_pending{};
};

}  // namespace vmsim::workload
