// Workload interface: the stream of memory operations a simulated core replays, and the regions it touches.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/types.hpp"

namespace vmsim::workload {

// One memory operation of a workload.
struct MemOp {
  VirtAddr va;      // virtual address of the access
  uint32_t size;    // bytes (1..4096); never crosses a 4 KiB page boundary (readers split crossing accesses)
  AccessKind kind;  // Read, Write or Fetch
  uint32_t gap;     // non-memory instructions retired since the previous MemOp (charged by the core)
  // Its address comes from the previous operation's data (a pointer chase): a core with several
  // operations in flight issues it only after that one completes.
  bool dependent = false;
  // The second part of an access split at a page boundary (trace readers): translated and performed, but
  // not counted again as an access or an instruction (the first part carries the counts).
  bool tail = false;
  // Address of the instruction that made the access (a fetch: its own address); 0 when unknown (generators).
  uint64_t ip = 0;
};
static_assert(sizeof(MemOp) == 32, "MemOp stays two per cache line");

// A stream of MemOps. Not thread-safe; one consumer at a time.
class Source {
 public:
  virtual ~Source() = default;

  // Fills op with the next operation; returns false (op unspecified) at the end of the workload, and keeps
  // returning false afterwards. Throws InputError on malformed input.
  virtual bool next(MemOp& op) = 0;

  // Writes up to n operations to out[0..n) and nothing else; returns the number written, which is < n only
  // at the end of the workload (0 once it is exhausted). The stream is the same one next() yields, so the
  // two may be mixed. The default loops next(); sources override it for speed. Throws like next().
  virtual size_t next_batch(MemOp* out, size_t n) {
    size_t written = 0;
    while (written < n && next(out[written])) ++written;
    return written;
  }

  // Instructions the workload retired after its last operation (a trace's instruction lines after the last
  // data access when fetches are not replayed). Valid once next() returned false; 0 by default.
  virtual uint64_t trailing_instructions() const { return 0; }

  // The consumer's process ended before performing the last n operations of the latest next_batch() call
  // (n at most that call's count); called at most once, before any further call. Sources that account for
  // what was performed (CountingSource) use it; the default ignores it.
  virtual void not_performed(size_t n) { (void)n; }
};

// A page-aligned virtual address range [start, end) and the access rights a workload needs in it.
struct Region {
  VirtAddr start;
  VirtAddr end;
  bool read;
  bool write;
  bool exec;
};

}  // namespace vmsim::workload
