// Streaming reader for ChampSim binary traces (input_instr records), raw, gzip or xz.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/workload/byte_stream.hpp"
#include "models/workload/trace_ops.hpp"

namespace vmsim::workload {

// One ChampSim input_instr record: 64 bytes, little endian, no padding.
//   offset 0  uint64 ip
//          8  uint8  is_branch
//          9  uint8  branch_taken
//         10  uint8  destination_registers[2]
//         12  uint8  source_registers[4]
//         16  uint64 destination_memory[2]
//         32  uint64 source_memory[4]
constexpr size_t kChampsimRecordSize = 64;
// ChampSim records carry no instruction length: the fetch of ip is this many bytes.
constexpr uint32_t kChampsimFetchSize = 4;
// Every data access of a record is this many bytes.
constexpr uint32_t kChampsimAccessSize = 8;

// Events of a ChampSim trace: per record, the instruction (Fetch of ip, kChampsimFetchSize bytes), then a Read
// per nonzero source_memory (in order) and a Write per nonzero destination_memory, kChampsimAccessSize bytes
// each. Branch and register fields are ignored. Errors (InputError, one line, "PATH: record N: ..." with N
// 1-based): a truncated last record (file size not a multiple of 64 after decompression), a corrupt or
// truncated gzip/xz stream, an address so high that ip + size or an access's end passes 0xFFFFFFFFFFFFF000.
class ChampsimParser {
 public:
  // Throws InputError(path + ": cannot open: " + strerror) on failure.
  explicit ChampsimParser(const std::string& path);

  // Next event; false at the end of the trace. Throws InputError as above.
  bool next(TraceEvent& e);

  // Records read so far (those whose events were started).
  uint64_t records() const { return m_record; }
  const std::string& path() const { return m_path; }

 private:
  // Loads the next chunk of records; false at the end of the trace.
  bool refill();
  [[noreturn]] void fail(uint64_t record, const std::string& what) const;

  std::string m_path;
  ByteReader m_in;
  std::vector<uint8_t> m_buf;  // whole records
  size_t m_count = 0;          // records in m_buf
  size_t m_index = 0;          // current record in m_buf
  unsigned m_slot = 0;         // next event of the current record: 0 fetch, 1-4 sources, 5-6 destinations
  uint64_t m_record = 0;       // 1-based number of the current record
  bool m_done = false;
};

// Streams a ChampSim trace as MemOps (replay rules of OpEmitter: one instruction per record).
class ChampsimReader : public TraceReader<ChampsimParser> {
 public:
  explicit ChampsimReader(const std::string& path, TraceOptions opt = {}) : TraceReader(opt, path) {}
  const std::string& path() const { return m_parser.path(); }
};

}  // namespace vmsim::workload
