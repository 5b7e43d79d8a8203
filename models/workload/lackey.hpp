// Streaming reader and pre-scanner for Valgrind lackey memory traces (valgrind --tool=lackey --trace-mem=yes).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/types.hpp"
#include "models/workload/workload.hpp"

namespace vmsim::workload {

// Trace format, one record per line (address: 1-16 hex digits, no 0x; size: decimal 1..4096):
//   "I  0023C790,2"   instruction fetch ('I' in column 0, then one or more spaces)       -> Fetch
//   " L BE801950,4"   load  (space, 'L', one or more spaces)                             -> Read
//   " S BE80199C,4"   store                                                               -> Write
//   " M 0025747C,4"   modify (load+store)                                                 -> ONE Write
// Trailing spaces/tabs and a trailing '\r' are allowed. Lines starting with "==" (valgrind messages) and
// blank lines (only spaces/tabs) are skipped. Anything else — including a bad or overlong hex address, a
// missing or non-decimal size, size 0 or > 4096, or an access ending above 0xFFFFFFFFFFFFF000 — throws
// InputError(path, line, "malformed lackey line: '<text>'") (text cut to 120 characters).
//
// Page crossing: an access that crosses a 4 KiB boundary becomes two MemOps (low part first); the second
// has gap 0. It is still one instruction.
//
// Gap rule:
//   fetches = true:  every I line is emitted as Fetch op(s); every op has gap 0 (each instruction is
//                    represented by its own Fetch op, so no instruction is left uncharged).
//   fetches = false: I lines are not emitted; a data op's gap = number of I lines read since the previous
//                    emitted op (so it includes the instruction the access belongs to; a second access by
//                    the same instruction, or the second half of a split access, gets gap 0).
//   With fetches = false, the sum of all gaps plus the I lines after the last data op equals the number of
//   I lines; instructions() counts them in both modes. (A gap saturates at 2^32-1.)
struct LackeyOptions {
  bool fetches = true;  // false: drop I lines but still count them as instructions (in gap)
};

// Streams a lackey trace with buffered reads; host memory is O(buffer), independent of trace length.
class LackeyReader : public Source {
 public:
  // Opens path for reading. Throws InputError(path + ": cannot open: " + strerror(errno)) on failure.
  explicit LackeyReader(const std::string& path, LackeyOptions opt = {});
  ~LackeyReader() override;
  LackeyReader(const LackeyReader&) = delete;
  LackeyReader& operator=(const LackeyReader&) = delete;

  // Next op per the rules above; false at end of file (and afterwards). Throws InputError on a malformed
  // line (naming path and 1-based line number) or on a read error (path + ": read error: " + strerror).
  bool next(MemOp& op) override;

  // Same stream as next(), without a virtual call per op.
  size_t next_batch(MemOp* out, size_t n) override;

  // Number of I lines (instructions) read so far, including dropped ones when fetches = false.
  uint64_t instructions() const { return m_instructions; }
  // Number of lines read so far (the line number of the last line consumed).
  uint64_t lines() const { return m_line; }
  // The trace path given to the constructor.
  const std::string& path() const { return m_path; }

 private:
  // Reads the next line into [begin, end) (no '\n'); false at end of file. The view is valid until the next
  // call. Refills the buffer as needed.
  bool read_line(const char*& begin, const char*& end);
  // Parses lines until one yields an op (or two, when split); false at end of file.
  bool produce(MemOp& op);
  [[noreturn]] void malformed(const char* begin, const char* end) const;

  struct FileCloser {
    void operator()(std::FILE* f) const;
  };

  std::string m_path;
  LackeyOptions m_opt;
  std::unique_ptr<std::FILE, FileCloser> m_file;
  std::vector<char> m_buf;
  size_t m_pos = 0;  // start of unconsumed bytes in m_buf
  size_t m_end = 0;  // one past the last valid byte in m_buf
  bool m_eof = false;
  uint64_t m_line = 0;
  uint64_t m_instructions = 0;
  uint32_t m_pending_gap = 0;  // fetches=false: I lines since the previous emitted op
  bool m_has_split = false;    // second half of a split access waiting to be returned
  MemOp m_split{};
};

// Result of one pass over a trace.
struct TraceScan {
  std::vector<Region> regions;  // page-aligned, sorted by start, non-overlapping
  uint64_t distinct_pages;      // distinct 4 KiB pages touched by the ops a LackeyReader(opt) would emit
  uint64_t ops;                 // number of MemOps a LackeyReader(opt) would emit (after splitting)
  uint64_t instructions;        // number of I lines (counted even when fetches = false)
};

// Reads the whole trace once (streaming) with the same parsing and errors as LackeyReader. Touched pages are
// those of the emitted ops (both pages of a split access; with fetches = false, I-line pages are not
// counted). Two touched pages are in the same region if at most merge_gap_pages untouched pages lie between
// them; a region spans its first touched page to the end of its last. Rights = union over its ops: Fetch ->
// exec, Read -> read, Write -> read and write. Host memory: O(distinct pages).
TraceScan scan_lackey(const std::string& path, LackeyOptions opt = {}, uint64_t merge_gap_pages = 16);

}  // namespace vmsim::workload
