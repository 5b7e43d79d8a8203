// Valgrind lackey trace reader: buffered line splitting, record parsing, page splitting and the pre-scan.
#include "models/workload/lackey.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <unordered_map>
#include <utility>

#include "common/error.hpp"

namespace vmsim::workload {
namespace {

constexpr size_t kBufferSize = size_t{1} << 20;  // also the longest accepted line
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

void LackeyReader::FileCloser::operator()(std::FILE* f) const {
  if (f != nullptr) std::fclose(f);
}

LackeyReader::LackeyReader(const std::string& path, LackeyOptions opt) : m_path(path), m_opt(opt) {
  m_file.reset(std::fopen(path.c_str(), "rb"));
  if (!m_file) throw InputError(path + ": cannot open: " + std::strerror(errno));
  m_buf.resize(kBufferSize);
}

LackeyReader::~LackeyReader() = default;

bool LackeyReader::next(MemOp& op) { return produce(op); }

size_t LackeyReader::next_batch(MemOp* out, size_t n) {
  size_t written = 0;
  while (written < n && produce(out[written])) ++written;
  return written;
}

bool LackeyReader::read_line(const char*& begin, const char*& end) {
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
      ++m_line;
      malformed(m_buf.data(), m_buf.data() + m_end);  // no newline within the whole buffer
    }
    const size_t got = std::fread(m_buf.data() + m_end, 1, m_buf.size() - m_end, m_file.get());
    m_end += got;
    if (got == 0) {
      if (std::ferror(m_file.get())) throw InputError(m_path + ": read error: " + std::strerror(errno));
      m_eof = true;
    }
  }
}

void LackeyReader::malformed(const char* begin, const char* end) const {
  const size_t len = static_cast<size_t>(end - begin);
  std::string text(begin, std::min(len, kMaxQuotedChars));
  if (len > kMaxQuotedChars) text += "...";
  throw InputError(m_path, m_line, "malformed lackey line: '" + text + "'");
}

bool LackeyReader::produce(MemOp& op) {
  if (m_has_split) {
    op = m_split;
    m_has_split = false;
    return true;
  }
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

    // Gap accounting.
    uint32_t gap = 0;
    if (kind == AccessKind::Fetch) {
      ++m_instructions;
      if (!m_opt.fetches) {
        if (m_pending_gap != std::numeric_limits<uint32_t>::max()) ++m_pending_gap;
        continue;
      }
    } else if (!m_opt.fetches) {
      gap = m_pending_gap;
      m_pending_gap = 0;
    }

    // Emit, splitting at a page boundary.
    const auto size32 = static_cast<uint32_t>(size);
    const uint64_t room = kPageSize - (addr & kPageMask);
    if (size32 <= room) {
      op = MemOp{VirtAddr{addr}, size32, kind, gap};
    } else {
      op = MemOp{VirtAddr{addr}, static_cast<uint32_t>(room), kind, gap};
      m_split = MemOp{VirtAddr{addr + room}, static_cast<uint32_t>(size32 - room), kind, 0};
      m_has_split = true;
    }
    return true;
  }
  return false;
}

TraceScan scan_lackey(const std::string& path, LackeyOptions opt, uint64_t merge_gap_pages) {
  constexpr uint8_t kRead = 1, kWrite = 2, kExec = 4;
  LackeyReader reader(path, opt);
  std::unordered_map<uint64_t, uint8_t> page_rights;  // touched page number -> rights seen (stable nodes)

  // Small direct-mapped cache of recently touched pages, pointing into page_rights.
  struct CacheEntry {
    uint64_t page = ~uint64_t{0};
    uint8_t* rights = nullptr;
  };
  constexpr size_t kCacheSize = 256;
  std::vector<CacheEntry> cache(kCacheSize);

  TraceScan scan{};
  std::vector<MemOp> batch(4096);
  while (const size_t got = reader.next_batch(batch.data(), batch.size())) {
    scan.ops += got;
    for (size_t i = 0; i < got; ++i) {
      const MemOp& op = batch[i];
      const uint8_t bits = op.kind == AccessKind::Fetch ? kExec : op.kind == AccessKind::Read ? kRead : kRead | kWrite;
      const uint64_t page = op.va.value() >> kPageShift;
      CacheEntry& entry = cache[page % kCacheSize];
      if (entry.page != page) {
        entry.page = page;
        entry.rights = &page_rights[page];
      }
      *entry.rights |= bits;
    }
  }
  scan.instructions = reader.instructions();
  scan.distinct_pages = page_rights.size();

  std::vector<std::pair<uint64_t, uint8_t>> pages(page_rights.begin(), page_rights.end());
  std::sort(pages.begin(), pages.end());
  for (size_t i = 0; i < pages.size();) {
    const uint64_t first = pages[i].first;
    uint64_t last = first;
    uint8_t rights = pages[i].second;
    for (++i; i < pages.size() && pages[i].first - last - 1 <= merge_gap_pages; ++i) {
      last = pages[i].first;
      rights |= pages[i].second;
    }
    scan.regions.push_back(Region{addr_of(Vpn{first}), addr_of(Vpn{last + 1}), (rights & kRead) != 0,
                                  (rights & kWrite) != 0, (rights & kExec) != 0});
  }
  return scan;
}

}  // namespace vmsim::workload
