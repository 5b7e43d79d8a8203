// Sequential reading of a trace file that may be raw, gzip- or xz-compressed (chosen by magic bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace vmsim::workload {

// A damaged compressed stream; what() says what is wrong, without the file name (the caller adds the
// file and the record it was reading).
class StreamError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Compression { None, Gzip, Xz };

// Reads the bytes of path from byte offset `offset` on, decompressing them if they start with the gzip
// (1F 8B) or xz (FD 37 7A 58 5A 00) magic; anything else is read as is. Concatenated gzip members and xz
// streams are read one after another. Host memory: a 64 KiB input buffer (and the decompressor's state).
class ByteReader {
 public:
  // Throws InputError(path + ": cannot open: " + strerror) if the file cannot be opened.
  explicit ByteReader(const std::string& path, uint64_t offset = 0);
  ~ByteReader();
  ByteReader(const ByteReader&) = delete;
  ByteReader& operator=(const ByteReader&) = delete;

  // Reads up to n bytes into buf; returns fewer than n only at the end of the data (0 once exhausted).
  // Throws StreamError on a corrupt or truncated compressed stream, InputError(path + ": read error: ...")
  // on an I/O error.
  size_t read(void* buf, size_t n);

  // Bytes delivered so far (after decompression), including those of a read() that threw.
  uint64_t produced() const { return m_produced; }
  Compression compression() const { return m_compression; }
  const std::string& path() const { return m_path; }

 private:
  struct Codec;
  // Refills m_in from the file; false at end of file.
  bool fill();
  size_t read_raw(uint8_t* out, size_t n);
  // read() with the count of bytes written kept up to date when it throws.
  void read_into(uint8_t* out, size_t n, size_t& done);

  std::string m_path;
  std::FILE* m_file = nullptr;
  Compression m_compression = Compression::None;
  std::vector<uint8_t> m_in;
  size_t m_in_pos = 0;
  size_t m_in_end = 0;
  bool m_file_eof = false;
  bool m_stream_end = false;
  uint64_t m_produced = 0;  // the compressed data ended (after its last member)
  std::unique_ptr<Codec> m_codec;
};

}  // namespace vmsim::workload
