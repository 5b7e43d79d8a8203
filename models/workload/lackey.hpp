// Streaming reader and pre-scanner for Valgrind lackey memory traces (valgrind --tool=lackey --trace-mem=yes).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/types.hpp"
#include "models/workload/byte_stream.hpp"
#include "models/workload/trace_ops.hpp"
#include "models/workload/trace_scan.hpp"
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
// InputError(path, line, "malformed lackey line: '<text>'") (text cut to 120 characters). The file may be
// gzip- or xz-compressed (recognised by its magic bytes).
//
// Replay (page splitting, gap, ip, trailing instructions): the rules of OpEmitter (trace_ops.hpp). An I line
// sets the ip of itself and of the data lines after it; an access crossing a page is two MemOps, the second
// marked tail (one access, one instruction for the core).
using LackeyOptions = TraceOptions;

// Splits a lackey trace into events; buffered, host memory O(buffer) independent of trace length.
class LackeyParser {
 public:
  // Throws InputError(path + ": cannot open: " + strerror(errno)) on failure.
  explicit LackeyParser(const std::string& path);

  // Next record; false at end of file (and afterwards). Throws InputError on a malformed line (naming path
  // and 1-based line number) or on a read error (path + ": read error: " + strerror).
  bool next(TraceEvent& e);

  // Number of lines read so far (the line number of the last line consumed).
  uint64_t lines() const { return m_line; }
  const std::string& path() const { return m_path; }

 private:
  // Reads the next line into [begin, end) (no '\n'); false at end of file. The view is valid until the next
  // call. Refills the buffer as needed.
  bool read_line(const char*& begin, const char*& end);
  [[noreturn]] void malformed(const char* begin, const char* end) const;

  std::string m_path;
  std::unique_ptr<ByteReader> m_in;
  std::vector<char> m_buf;
  size_t m_pos = 0;  // start of unconsumed bytes in m_buf
  size_t m_end = 0;  // one past the last valid byte in m_buf
  bool m_eof = false;
  uint64_t m_line = 0;
};

// Streams a lackey trace as MemOps.
class LackeyReader : public TraceReader<LackeyParser> {
 public:
  // Opens path for reading. Throws InputError(path + ": cannot open: " + strerror(errno)) on failure.
  explicit LackeyReader(const std::string& path, LackeyOptions opt = {}) : TraceReader(opt, path) {}

  // Number of lines read so far (the line number of the last line consumed).
  uint64_t lines() const { return m_parser.lines(); }
  // The trace path given to the constructor.
  const std::string& path() const { return m_parser.path(); }
};

// Reads the whole trace once (streaming) with the same parsing and errors as LackeyReader: scan_source over a
// LackeyReader(path, opt), instructions = its I lines.
TraceScan scan_lackey(const std::string& path, LackeyOptions opt = {}, uint64_t merge_gap_pages = 16);

}  // namespace vmsim::workload
