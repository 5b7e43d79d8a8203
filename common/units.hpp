// Parsing of quantities with units in config values: durations, byte sizes, frequencies.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace vmsim {

// A span of simulated time in femtoseconds (the SystemC time resolution vmsim uses).
struct Duration {
  uint64_t fs = 0;
  static constexpr Duration ns(uint64_t n) { return Duration{n * 1000000ull}; }
  bool operator==(const Duration& o) const { return fs == o.fs; }
};

// A size in bytes.
struct Bytes {
  uint64_t value = 0;
  bool operator==(const Bytes& o) const { return value == o.value; }
};

// A clock frequency in hertz.
struct Frequency {
  uint64_t hz = 0;
  // Clock period in femtoseconds, rounded to the nearest femtosecond. Requires hz > 0.
  uint64_t period_fs() const { return (1000000000000000ull + hz / 2) / hz; }
  bool operator==(const Frequency& o) const { return hz == o.hz; }
};

// "30ns", "1.5us", "250ps", "2ms", "1s", "0" -> Duration. nullopt if malformed or negative.
std::optional<Duration> parse_duration(const std::string& text);
// "4GiB", "64KiB", "1MB", "4096", "4096B" -> Bytes (KiB/MiB/GiB/TiB/PiB/EiB binary, kB/KB/MB/GB/TB/PB/EB
// decimal). nullopt if malformed or 2^64 bytes or more.
std::optional<Bytes> parse_bytes(const std::string& text);
// "3GHz", "800MHz", "1.6GHz", "100kHz", "50Hz" -> Frequency. nullopt if malformed or zero.
std::optional<Frequency> parse_frequency(const std::string& text);
// Unsigned integer: decimal, 0x hex, optional '_' digit separators. nullopt on anything else.
std::optional<uint64_t> parse_uint(const std::string& text);

// True if `text` is well formed for its kind but its value does not fit in 64 bits (2^64 or more of the
// unit's base: fs, bytes, Hz, or the integer itself): the caller says "out of range", not "malformed".
bool uint_out_of_range(const std::string& text);
bool duration_out_of_range(const std::string& text);
bool bytes_out_of_range(const std::string& text);
bool frequency_out_of_range(const std::string& text);

// Canonical text forms, which parse back to the same value.
std::string format_duration(Duration d);
std::string format_bytes(Bytes b);
std::string format_frequency(Frequency f);
// "0x1f": lower-case hex with a 0x prefix (addresses, frame numbers, error codes in reports).
std::string format_hex(uint64_t v);

}  // namespace vmsim
