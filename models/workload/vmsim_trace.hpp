// vmsim's compact binary trace: a fixed header, then zlib-compressed (gzip) delta-encoded events; its reader,
// writer and the converter from lackey and ChampSim traces. The byte layout is in docs/TRACES.md.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <zlib.h>

#include "models/workload/byte_stream.hpp"
#include "models/workload/trace_ops.hpp"

namespace vmsim::workload {

// Header, 64 bytes, little endian, uncompressed:
//   0  char[8] magic "VMSIMTRC"    8 uint32 version (1)         12 uint32 compression (1 = gzip)
//  16  uint64 events               24 uint64 instructions         32 uint64 data accesses
//  40  uint32 source format (0 unknown, 1 lackey, 2 champsim)     44..63 zero
// Body (from byte 64): a gzip stream (any compression the ByteReader knows is accepted) of events:
//   tag byte: bits 0-1 kind (0 instruction, 1 read, 2 write), bits 2-7 size (1..63; 0: a LEB128 size follows)
//   then the address as a zigzag LEB128 delta from the previous address of the same class (instruction or
//   data; both start at 0), two's-complement 64-bit.
constexpr size_t kVmsimTraceHeaderSize = 64;
constexpr uint32_t kVmsimTraceVersion = 1;
enum class TraceFormat : uint32_t { Unknown = 0, Lackey = 1, Champsim = 2, Vmsim = 3 };

struct VmsimTraceHeader {
  uint64_t events = 0;
  uint64_t instructions = 0;
  uint64_t data = 0;
  TraceFormat source = TraceFormat::Unknown;
};

// Reads a vmsim trace's events. Errors (InputError, one line): a bad header ("PATH: not a vmsim trace ...",
// "unsupported version"), a bad or truncated event ("PATH: event N: ..."), a corrupt stream, or an event
// count different from the header's.
class VmsimTraceParser {
 public:
  explicit VmsimTraceParser(const std::string& path);
  bool next(TraceEvent& e);
  const VmsimTraceHeader& header() const { return m_header; }
  const std::string& path() const { return m_path; }

 private:
  // Makes at least kMaxEvent bytes available (fewer only at the end of the data).
  void refill();
  [[noreturn]] void fail(const std::string& what) const;

  std::string m_path;
  VmsimTraceHeader m_header;
  std::unique_ptr<ByteReader> m_in;
  std::vector<uint8_t> m_buf;
  size_t m_pos = 0;
  size_t m_end = 0;
  bool m_eof = false;
  uint64_t m_events = 0;
  uint64_t m_prev[2] = {0, 0};  // previous instruction / data address
};

// Streams a vmsim trace as MemOps (OpEmitter rules; the same stream as the trace it was converted from).
class VmsimTraceReader : public TraceReader<VmsimTraceParser> {
 public:
  explicit VmsimTraceReader(const std::string& path, TraceOptions opt = {}) : TraceReader(opt, path) {}
};

// Writes a vmsim trace. Events go through zlib as they come; close() writes the header with the counts.
class VmsimTraceWriter {
 public:
  // Throws InputError(path + ": cannot create: " + strerror) on failure.
  VmsimTraceWriter(const std::string& path, TraceFormat source, int level = 6);
  ~VmsimTraceWriter();
  VmsimTraceWriter(const VmsimTraceWriter&) = delete;
  VmsimTraceWriter& operator=(const VmsimTraceWriter&) = delete;

  void add(const TraceEvent& e);
  // Finishes the stream and the header; throws InputError on a write error. The destructor of an unclosed
  // writer leaves an incomplete file (its header has zero counts and a reader rejects it).
  void close();
  const VmsimTraceHeader& header() const { return m_header; }

 private:
  void flush_buffer(int mode);

  std::string m_path;
  std::FILE* m_file = nullptr;
  z_stream m_zs{};
  bool m_zs_init = false;
  VmsimTraceHeader m_header;
  std::vector<uint8_t> m_raw;  // encoded events waiting for deflate
  std::vector<uint8_t> m_out;
  uint64_t m_prev[2] = {0, 0};
};

// Which format a trace file is: Vmsim by its magic, else Lackey if its first (decompressed) bytes are text,
// else Champsim. Throws InputError if it cannot be opened.
TraceFormat detect_trace_format(const std::string& path);

struct ConvertResult {
  VmsimTraceHeader header;
  uint64_t bytes_in = 0;   // size of the input file
  uint64_t bytes_out = 0;  // size of the output file
};

// Converts a lackey or ChampSim trace (from = Unknown: detect_trace_format) to the vmsim format. Throws
// InputError on bad input (the reader's message) or a write error.
ConvertResult convert_trace(const std::string& in, const std::string& out, TraceFormat from = TraceFormat::Unknown);

}  // namespace vmsim::workload
