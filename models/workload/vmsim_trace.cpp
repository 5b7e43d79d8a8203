// vmsim trace format: header, event encoding (tag + zigzag LEB128 deltas), reader, writer and converter.
#include "models/workload/vmsim_trace.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"
#include "models/workload/champsim.hpp"
#include "models/workload/lackey.hpp"

namespace vmsim::workload {
namespace {

constexpr char kMagic[8] = {'V', 'M', 'S', 'I', 'M', 'T', 'R', 'C'};
constexpr uint32_t kCompressionGzip = 1;
constexpr size_t kMaxEvent = 1 + 2 + 10;  // tag, size (<= 4096: 2 bytes), 64-bit delta (10 bytes)
constexpr size_t kChunk = size_t{256} << 10;
constexpr uint64_t kMaxAccessEnd = ~uint64_t{0} - kPageMask;

void put_le(uint8_t* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t get_le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
void put_varint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}
uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

}  // namespace

// --- reader ---

VmsimTraceParser::VmsimTraceParser(const std::string& path) : m_path(path) {
  {
    ByteReader raw(path);
    if (raw.compression() != Compression::None) fail("not a vmsim trace (compressed as a whole; expected the VMSIMTRC header)");
    uint8_t h[kVmsimTraceHeaderSize];
    if (raw.read(h, sizeof h) != sizeof h || std::memcmp(h, kMagic, sizeof kMagic) != 0) {
      fail("not a vmsim trace (no VMSIMTRC header)");
    }
    const uint64_t version = get_le(h + 8, 4);
    if (version != kVmsimTraceVersion) fail("unsupported vmsim trace version " + std::to_string(version));
    if (get_le(h + 12, 4) != kCompressionGzip) fail("unsupported compression " + std::to_string(get_le(h + 12, 4)));
    m_header.events = get_le(h + 16, 8);
    m_header.instructions = get_le(h + 24, 8);
    m_header.data = get_le(h + 32, 8);
    m_header.source = static_cast<TraceFormat>(get_le(h + 40, 4));
    if (m_header.events != m_header.instructions + m_header.data) fail("inconsistent header counts (unfinished file?)");
  }
  m_in = std::make_unique<ByteReader>(path, kVmsimTraceHeaderSize);
  m_buf.resize(kChunk);
}

void VmsimTraceParser::fail(const std::string& what) const {
  throw InputError(m_path + ": " + what);
}

void VmsimTraceParser::refill() {
  std::memmove(m_buf.data(), m_buf.data() + m_pos, m_end - m_pos);
  m_end -= m_pos;
  m_pos = 0;
  if (m_eof) return;
  try {
    const size_t want = m_buf.size() - m_end;
    const size_t got = m_in->read(m_buf.data() + m_end, want);
    m_end += got;
    if (got < want) m_eof = true;
  } catch (const StreamError& e) {
    fail("event " + std::to_string(m_events + 1) + ": " + e.what());
  }
}

bool VmsimTraceParser::next(TraceEvent& e) {
  if (m_end - m_pos < kMaxEvent) {
    refill();
    if (m_pos == m_end) {
      if (m_events != m_header.events) {
        fail("truncated: " + std::to_string(m_events) + " events, the header says " + std::to_string(m_header.events));
      }
      return false;
    }
  }
  const uint8_t* p = m_buf.data() + m_pos;
  const uint8_t* const end = m_buf.data() + m_end;
  const unsigned tag = *p++;
  const unsigned kind = tag & 3;
  uint32_t size = tag >> 2;
  const auto bad = [&](const char* what) { fail("event " + std::to_string(m_events + 1) + ": " + what); };
  if (kind == 3) bad("bad event kind 3");
  if (size == 0) {
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
      if (p == end) bad("truncated event");
      if (shift > 14) bad("size too large");
      const uint8_t b = *p++;
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) break;
    }
    if (v == 0 || v > 4096) bad("size out of 1..4096");
    size = static_cast<uint32_t>(v);
  }
  uint64_t z = 0;
  for (unsigned shift = 0;; shift += 7) {
    if (p == end) bad("truncated event");
    if (shift > 63) bad("address delta too long");
    const uint8_t b = *p++;
    z |= static_cast<uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) break;
  }
  const unsigned cls = kind == 0 ? 0 : 1;
  const uint64_t addr = m_prev[cls] + ((z >> 1) ^ (~(z & 1) + 1));
  if (addr > kMaxAccessEnd - size) bad("address too high");
  m_prev[cls] = addr;
  m_pos = static_cast<size_t>(p - m_buf.data());
  if (++m_events > m_header.events) fail("more events than the header's " + std::to_string(m_header.events));
  e = TraceEvent{kind == 0 ? AccessKind::Fetch : kind == 1 ? AccessKind::Read : AccessKind::Write, size, addr};
  return true;
}

// --- writer ---

VmsimTraceWriter::VmsimTraceWriter(const std::string& path, TraceFormat source, int level) : m_path(path) {
  m_header.source = source;
  m_file = std::fopen(path.c_str(), "wb");
  if (m_file == nullptr) throw InputError(path + ": cannot create: " + std::strerror(errno));
  uint8_t zero[kVmsimTraceHeaderSize] = {};
  if (std::fwrite(zero, 1, sizeof zero, m_file) != sizeof zero) throw InputError(path + ": write error: " + std::strerror(errno));
  if (deflateInit2(&m_zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw InputError(path + ": zlib initialisation failed");
  }
  m_zs_init = true;
  m_raw.reserve(kChunk + kMaxEvent);
  m_out.resize(kChunk);
}

VmsimTraceWriter::~VmsimTraceWriter() {
  if (m_zs_init) deflateEnd(&m_zs);
  if (m_file != nullptr) std::fclose(m_file);
}

void VmsimTraceWriter::add(const TraceEvent& e) {
  const unsigned kind = e.kind == AccessKind::Fetch ? 0 : e.kind == AccessKind::Read ? 1 : 2;
  const unsigned cls = kind == 0 ? 0 : 1;
  m_raw.push_back(static_cast<uint8_t>(kind | (e.size < 64 ? e.size << 2 : 0)));
  if (e.size >= 64) put_varint(m_raw, e.size);
  const uint64_t d = e.addr - m_prev[cls];
  const auto sd = static_cast<int64_t>(d);
  put_varint(m_raw, (d << 1) ^ static_cast<uint64_t>(sd >> 63));
  m_prev[cls] = e.addr;
  ++m_header.events;
  ++(kind == 0 ? m_header.instructions : m_header.data);
  if (m_raw.size() >= kChunk) flush_buffer(Z_NO_FLUSH);
}

void VmsimTraceWriter::flush_buffer(int mode) {
  m_zs.next_in = m_raw.data();
  m_zs.avail_in = static_cast<uInt>(m_raw.size());
  int rc;
  do {
    m_zs.next_out = m_out.data();
    m_zs.avail_out = static_cast<uInt>(m_out.size());
    rc = deflate(&m_zs, mode);
    const size_t have = m_out.size() - m_zs.avail_out;
    if (have != 0 && std::fwrite(m_out.data(), 1, have, m_file) != have) {
      throw InputError(m_path + ": write error: " + std::strerror(errno));
    }
  } while (m_zs.avail_out == 0 || (mode == Z_FINISH && rc != Z_STREAM_END));
  m_raw.clear();
}

void VmsimTraceWriter::close() {
  flush_buffer(Z_FINISH);
  uint8_t h[kVmsimTraceHeaderSize] = {};
  std::memcpy(h, kMagic, sizeof kMagic);
  put_le(h + 8, kVmsimTraceVersion, 4);
  put_le(h + 12, kCompressionGzip, 4);
  put_le(h + 16, m_header.events, 8);
  put_le(h + 24, m_header.instructions, 8);
  put_le(h + 32, m_header.data, 8);
  put_le(h + 40, static_cast<uint32_t>(m_header.source), 4);
  if (std::fseek(m_file, 0, SEEK_SET) != 0 || std::fwrite(h, 1, sizeof h, m_file) != sizeof h ||
      std::fclose(m_file) != 0) {
    m_file = nullptr;
    throw InputError(m_path + ": write error: " + std::strerror(errno));
  }
  m_file = nullptr;
}

// --- converter ---

TraceFormat detect_trace_format(const std::string& path) {
  ByteReader in(path);
  uint8_t head[64];
  size_t got = 0;
  try {
    got = in.read(head, sizeof head);
  } catch (const StreamError& e) {
    throw InputError(path + ": " + e.what());
  }
  if (in.compression() == Compression::None && got >= 8 && std::memcmp(head, kMagic, 8) == 0) return TraceFormat::Vmsim;
  for (size_t i = 0; i < got; ++i) {
    const uint8_t c = head[i];
    if (c != '\n' && c != '\r' && c != '\t' && (c < 0x20 || c > 0x7E)) return TraceFormat::Champsim;
  }
  return TraceFormat::Lackey;
}

namespace {
template <class P>
void copy_events(P& parser, VmsimTraceWriter& out) {
  TraceEvent e;
  while (parser.next(e)) out.add(e);
}
}  // namespace

ConvertResult convert_trace(const std::string& in, const std::string& out, TraceFormat from) {
  if (from == TraceFormat::Unknown) from = detect_trace_format(in);
  if (from == TraceFormat::Vmsim) throw InputError(in + ": already a vmsim trace");
  VmsimTraceWriter writer(out, from);
  if (from == TraceFormat::Lackey) {
    LackeyParser p(in);
    copy_events(p, writer);
  } else {
    ChampsimParser p(in);
    copy_events(p, writer);
  }
  writer.close();
  ConvertResult r;
  r.header = writer.header();
  r.bytes_in = file_size(in);
  r.bytes_out = file_size(out);
  return r;
}

}  // namespace vmsim::workload
