// The pre-scan of a trace workload: one pass over its operations gives the regions (VMAs) it touches.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/workload/trace_ops.hpp"
#include "models/workload/workload.hpp"

namespace vmsim::workload {

// Result of one pass over a trace.
struct TraceScan {
  std::vector<Region> regions;  // page-aligned, sorted by start, non-overlapping
  uint64_t distinct_pages = 0;  // distinct 4 KiB pages touched by the emitted ops
  uint64_t ops = 0;             // number of MemOps emitted (after splitting)
  uint64_t instructions = 0;    // instructions of the trace (counted even when fetches = false)
};

// Drains src (streaming) and returns its regions, distinct pages and op count (instructions left 0 for the
// caller). Touched pages are those of the emitted ops (both pages of a split access; with fetches = false,
// instruction pages are not counted). Two touched pages are in the same region if at most merge_gap_pages
// untouched pages lie between them; a region spans its first touched page to the end of its last. Rights =
// union over its ops: Fetch -> exec, Read -> read, Write -> read and write. Host memory: O(distinct pages).
// Throws whatever src throws.
TraceScan scan_source(Source& src, uint64_t merge_gap_pages = 16);

enum class TraceKind { Lackey, Champsim, Vmsim };

// A reader of the trace at path in the given format. Throws InputError if it cannot be opened (or, for the
// vmsim format, has a bad header).
std::unique_ptr<Source> open_trace(TraceKind kind, const std::string& path, TraceOptions opt = {});

// One pass over the trace (scan_source), with instructions = the trace's instruction count.
TraceScan scan_trace(TraceKind kind, const std::string& path, TraceOptions opt = {}, uint64_t merge_gap_pages = 16);

}  // namespace vmsim::workload
