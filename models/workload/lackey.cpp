// Valgrind lackey trace parser: buffered line splitting and record parsing; the pre-scan over its reader.
#include "models/workload/lackey.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/error.hpp"

namespace vmsim::workload {
namespace {

constexpr size_t kInitialBuffer = size_t{64} << 10;  // lines are short: the buffer grows only for a long one
constexpr size_t kMaxBuffer = size_t{1} << 20;       // also the longest accepted line
constexpr size_t kMaxQuotedChars = 120;
constexpr uint32_t kMaxAccessSize = 4096;
constexpr uint64_t kMaxAccessEnd = ~uint64_t{0} - kPageMask;  // 0xFFFFFFFFFFFFF000

inline bool is_blank(char c) { return c == ' ' || c == '\t'; }

// Value of a hex digit, or 16 if c is not one.
inline unsigned hex_value(char c) {
  const unsigned d = static_cast<unsigned char>(c) - '0';
  if (d < 10) return d;
  const unsigned l = (static_cast<unsigned char>(c) | 0x20u) - 'a';
  return l < 6 ? l + 10 : 16;
}

}  // namespace

LackeyParser::LackeyParser(const std::string& path)
    : m_path(path), m_in(std::make_unique<ByteReader>(path)) {
  m_buf.resize(kInitialBuffer);
}

bool LackeyParser::read_line(const char*& begin, const char*& end) {
  for (;;) {
    char* const start = m_buf.data() + m_pos;
    const auto* nl = static_cast<const char*>(std::memchr(start, '\n', m_end - m_pos));
    if (nl != nullptr) {
      begin = start;
      end = nl;
      m_pos = static_cast<size_t>(nl - m_buf.data()) + 1;
      ++m_line;
      return true;
    }
    if (m_eof) {
      if (m_pos == m_end) return false;
      begin = start;  // last line without a trailing newline
      end = m_buf.data() + m_end;
      m_pos = m_end;
      ++m_line;
      return true;
    }
    if (m_pos > 0) {  // move the partial line to the front, then refill behind it
      std::memmove(m_buf.data(), start, m_end - m_pos);
      m_end -= m_pos;
      m_pos = 0;
    }
    if (m_end == m_buf.size()) {
      if (m_buf.size() < kMaxBuffer) {
        m_buf.resize(std::min(kMaxBuffer, 2 * m_buf.size()));  // a line longer than the buffer so far
      } else {
        ++m_line;
        malformed(m_buf.data(), m_buf.data() + m_end);  // no newline within the whole buffer
      }
    }
    size_t got;
    try {
      got = m_in->read(m_buf.data() + m_end, m_buf.size() - m_end);
    } catch (const StreamError& e) {
      throw InputError(m_path, m_line + 1, e.what());
    }
    m_end += got;
    if (got == 0) m_eof = true;
  }
}

void LackeyParser::malformed(const char* begin, const char* end) const {
  const size_t len = static_cast<size_t>(end - begin);
  std::string text(begin, std::min(len, kMaxQuotedChars));
  if (len > kMaxQuotedChars) text += "...";
  throw InputError(m_path, m_line, "malformed lackey line: '" + text + "'");
}

bool LackeyParser::next(TraceEvent& e) {
  const char* begin;
  const char* end;
  while (read_line(begin, end)) {
    if (end > begin && end[-1] == '\r') --end;
    if (begin == end) continue;

    // Record kind.
    AccessKind kind;
    const char* p;
    if (begin[0] == 'I') {
      kind = AccessKind::Fetch;
      p = begin + 1;
    } else if (begin[0] == ' ' && end - begin >= 2 && (begin[1] == 'L' || begin[1] == 'S' || begin[1] == 'M')) {
      kind = begin[1] == 'L' ? AccessKind::Read : AccessKind::Write;  // M (modify) is one Write
      p = begin + 2;
    } else if (begin[0] == '=' && end - begin >= 2 && begin[1] == '=') {
      continue;  // valgrind's own message
    } else {
      if (std::all_of(begin, end, is_blank)) continue;
      malformed(begin, end);
    }

    // Separator, address, ',', size, optional trailing blanks.
    if (p == end || !is_blank(*p)) malformed(begin, end);
    while (p != end && is_blank(*p)) ++p;
    uint64_t addr = 0;
    const char* const addr_begin = p;
    for (unsigned d; p != end && (d = hex_value(*p)) < 16; ++p) {
      if (p - addr_begin == 16) malformed(begin, end);  // more than 64 bits
      addr = (addr << 4) | d;
    }
    if (p == addr_begin || p == end || *p != ',') malformed(begin, end);
    ++p;
    uint64_t size = 0;
    const char* const size_begin = p;
    for (; p != end && static_cast<unsigned>(*p - '0') < 10; ++p) {
      if (p - size_begin == 9) malformed(begin, end);
      size = size * 10 + static_cast<unsigned>(*p - '0');
    }
    if (p == size_begin || size == 0 || size > kMaxAccessSize) malformed(begin, end);
    while (p != end && is_blank(*p)) ++p;
    if (p != end || addr > kMaxAccessEnd - size) malformed(begin, end);

    e.kind = kind;
    e.size = static_cast<uint32_t>(size);
    e.addr = addr;
    return true;
  }
  return false;
}

TraceScan scan_lackey(const std::string& path, LackeyOptions opt, uint64_t merge_gap_pages) {
  LackeyReader reader(path, opt);
  TraceScan scan = scan_source(reader, merge_gap_pages);
  scan.instructions = reader.instructions();
  return scan;
}

}  // namespace vmsim::workload
