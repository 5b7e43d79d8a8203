// Raw, gzip (zlib) and xz (liblzma) trace input behind one read() call.
#include "models/workload/byte_stream.hpp"

#include <lzma.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/error.hpp"

namespace vmsim::workload {
namespace {

constexpr size_t kInBufferSize = size_t{64} << 10;  // per open trace: thousands of processes may each have one

}  // namespace

struct ByteReader::Codec {
  z_stream zs{};
  lzma_stream xz = LZMA_STREAM_INIT;
  bool zs_init = false;
  bool xz_init = false;
  ~Codec() {
    if (zs_init) inflateEnd(&zs);
    if (xz_init) lzma_end(&xz);
  }
};

ByteReader::ByteReader(const std::string& path, uint64_t offset) : m_path(path) {
  check_input_file(path);
  m_file = std::fopen(path.c_str(), "rb");
  if (m_file == nullptr) throw InputError(path + ": cannot open: " + std::strerror(errno));
  if (offset != 0 && std::fseek(m_file, static_cast<long>(offset), SEEK_SET) != 0) {
    const int err = errno;
    std::fclose(m_file);
    throw InputError(path + ": cannot seek: " + std::strerror(err));
  }
  m_in.resize(kInBufferSize);
  // Enough bytes for the magic (a shorter file is raw).
  while (m_in_end < 6 && fill()) {
  }
  static const uint8_t kGzip[] = {0x1F, 0x8B};
  static const uint8_t kXz[] = {0xFD, '7', 'z', 'X', 'Z', 0x00};
  if (m_in_end >= 2 && std::memcmp(m_in.data(), kGzip, 2) == 0) {
    m_compression = Compression::Gzip;
    m_codec = std::make_unique<Codec>();
    if (inflateInit2(&m_codec->zs, 15 + 16) != Z_OK) throw InputError(path + ": zlib initialisation failed");
    m_codec->zs_init = true;
  } else if (m_in_end >= 6 && std::memcmp(m_in.data(), kXz, 6) == 0) {
    m_compression = Compression::Xz;
    m_codec = std::make_unique<Codec>();
    if (lzma_stream_decoder(&m_codec->xz, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
      throw InputError(path + ": liblzma initialisation failed");
    }
    m_codec->xz_init = true;
  }
}

ByteReader::~ByteReader() {
  if (m_file != nullptr) std::fclose(m_file);
}

bool ByteReader::fill() {
  if (m_file_eof) return false;
  if (m_in_pos > 0) {
    std::memmove(m_in.data(), m_in.data() + m_in_pos, m_in_end - m_in_pos);
    m_in_end -= m_in_pos;
    m_in_pos = 0;
  }
  const size_t got = std::fread(m_in.data() + m_in_end, 1, m_in.size() - m_in_end, m_file);
  m_in_end += got;
  if (got == 0) {
    if (std::ferror(m_file)) throw InputError(m_path + ": read error: " + std::strerror(errno));
    m_file_eof = true;
    return false;
  }
  return true;
}

size_t ByteReader::read_raw(uint8_t* out, size_t n) {
  size_t done = 0;
  while (done < n) {
    if (m_in_pos == m_in_end) {
      if (n - done >= m_in.size()) {  // a large request: straight from the file
        m_in_pos = m_in_end = 0;
        if (m_file_eof) break;
        const size_t want = n - done;
        const size_t got = std::fread(out + done, 1, want, m_file);
        done += got;
        if (got < want) {
          if (std::ferror(m_file)) throw InputError(m_path + ": read error: " + std::strerror(errno));
          m_file_eof = true;
        }
        continue;
      }
      m_in_pos = m_in_end = 0;
      if (!fill()) break;
    }
    const size_t k = std::min(n - done, m_in_end - m_in_pos);
    std::memcpy(out + done, m_in.data() + m_in_pos, k);
    m_in_pos += k;
    done += k;
  }
  return done;
}

size_t ByteReader::read(void* buf, size_t n) {
  size_t done = 0;
  try {
    read_into(static_cast<uint8_t*>(buf), n, done);
  } catch (...) {
    m_produced += done;
    throw;
  }
  m_produced += done;
  return done;
}

void ByteReader::read_into(uint8_t* out, size_t n, size_t& done) {
  if (m_compression == Compression::None) {
    done = read_raw(out, n);
    return;
  }
  if (m_stream_end || n == 0) return;
  if (m_compression == Compression::Gzip) {
    z_stream& zs = m_codec->zs;
    while (done < n) {
      if (m_in_pos == m_in_end) fill();
      zs.next_in = m_in.data() + m_in_pos;
      zs.avail_in = static_cast<uInt>(m_in_end - m_in_pos);
      zs.next_out = out + done;
      zs.avail_out = static_cast<uInt>(n - done);
      const int rc = inflate(&zs, Z_NO_FLUSH);
      m_in_pos = m_in_end - zs.avail_in;
      done = n - zs.avail_out;
      if (rc == Z_STREAM_END) {
        // Another gzip member may follow.
        if (m_in_pos == m_in_end) fill();
        if (m_in_pos == m_in_end) {
          m_stream_end = true;
          break;
        }
        inflateReset(&zs);
        continue;
      }
      if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_MEM_ERROR || rc == Z_STREAM_ERROR) {
        throw StreamError(std::string("corrupt gzip stream (") + (zs.msg != nullptr ? zs.msg : "zlib error") + ")");
      }
      if (rc == Z_BUF_ERROR && m_in_pos == m_in_end && m_file_eof) {
        throw StreamError("truncated gzip stream");
      }
    }
    return;
  }
  lzma_stream& xz = m_codec->xz;
  while (done < n) {
    if (m_in_pos == m_in_end) fill();
    xz.next_in = m_in.data() + m_in_pos;
    xz.avail_in = m_in_end - m_in_pos;
    xz.next_out = out + done;
    xz.avail_out = n - done;
    const lzma_ret rc = lzma_code(&xz, m_file_eof && m_in_pos == m_in_end ? LZMA_FINISH : LZMA_RUN);
    m_in_pos = m_in_end - xz.avail_in;
    done = n - xz.avail_out;
    if (rc == LZMA_STREAM_END) {
      m_stream_end = true;
      break;
    }
    if (rc == LZMA_BUF_ERROR) throw StreamError("truncated xz stream");
    if (rc != LZMA_OK) {
      throw StreamError(rc == LZMA_DATA_ERROR     ? "corrupt xz stream (data error)"
                        : rc == LZMA_FORMAT_ERROR ? "corrupt xz stream (format error)"
                        : rc == LZMA_OPTIONS_ERROR ? "corrupt xz stream (unsupported options)"
                                                   : "corrupt xz stream (liblzma error " + std::to_string(rc) + ")");
    }
  }
}

}  // namespace vmsim::workload
