// ChampSim binary trace parser: whole records from the byte stream, then their fetch and data events.
#include "models/workload/champsim.hpp"

#include <cstring>

#include "common/error.hpp"

namespace vmsim::workload {
namespace {

constexpr size_t kRecordsPerChunk = 4096;
constexpr uint64_t kMaxAccessEnd = ~uint64_t{0} - kPageMask;  // 0xFFFFFFFFFFFFF000

inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

ChampsimParser::ChampsimParser(const std::string& path) : m_path(path), m_in(path) {
  m_buf.resize(kRecordsPerChunk * kChampsimRecordSize);
}

void ChampsimParser::fail(uint64_t record, const std::string& what) const {
  throw InputError(m_path + ": record " + std::to_string(record) + ": " + what);
}

bool ChampsimParser::refill() {
  const uint64_t first = m_record + 1;  // number of the first record of the new chunk
  size_t got;
  try {
    got = m_in.read(m_buf.data(), m_buf.size());
  } catch (const StreamError& e) {
    fail(m_in.produced() / kChampsimRecordSize + 1, e.what());
  }
  if (got % kChampsimRecordSize != 0) {
    fail(first + got / kChampsimRecordSize,
         "truncated record (" + std::to_string(got % kChampsimRecordSize) + " of " +
             std::to_string(kChampsimRecordSize) + " bytes; the file size is not a multiple of 64)");
  }
  m_count = got / kChampsimRecordSize;
  m_index = 0;
  return m_count != 0;
}

bool ChampsimParser::next(TraceEvent& e) {
  for (;;) {
    if (m_slot == 0) {
      // Start the next record.
      if (m_done) return false;
      if (m_record != 0) ++m_index;
      if (m_index >= m_count && !refill()) {
        m_done = true;
        return false;
      }
      ++m_record;
      const uint8_t* r = m_buf.data() + m_index * kChampsimRecordSize;
      const uint64_t ip = load_le64(r);
      if (ip > kMaxAccessEnd - kChampsimFetchSize) fail(m_record, "instruction address " + std::to_string(ip) + " too high");
      m_slot = 1;
      e = TraceEvent{AccessKind::Fetch, kChampsimFetchSize, ip};
      return true;
    }
    const uint8_t* r = m_buf.data() + m_index * kChampsimRecordSize;
    while (m_slot <= 6) {
      const unsigned s = m_slot++;
      const uint64_t addr = s <= 4 ? load_le64(r + 32 + 8 * (s - 1)) : load_le64(r + 16 + 8 * (s - 5));
      if (addr == 0) continue;
      if (addr > kMaxAccessEnd - kChampsimAccessSize) fail(m_record, "memory address " + std::to_string(addr) + " too high");
      e = TraceEvent{s <= 4 ? AccessKind::Read : AccessKind::Write, kChampsimAccessSize, addr};
      return true;
    }
    m_slot = 0;
  }
}

}  // namespace vmsim::workload
