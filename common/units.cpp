// Parsing and formatting of durations, byte sizes and frequencies.
#include "common/units.hpp"

#include <cctype>
#include <cstdio>
#include <cmath>
#include <cstdlib>

namespace vmsim {
namespace {

// Splits "12.5ns" into number 12.5 and suffix "ns". Rejects signs, empty numbers and trailing junk.
bool split_number(const std::string& text, double& number, std::string& suffix) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  size_t start = i;
  bool digits = false;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    digits = digits || text[i] != '.';
    ++i;
  }
  if (!digits) return false;
  std::string num = text.substr(start, i - start);
  if (num.find('.') != num.rfind('.')) return false;
  char* end = nullptr;
  number = std::strtod(num.c_str(), &end);
  if (end == nullptr || *end != '\0') return false;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  size_t sstart = i;
  while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  suffix = text.substr(sstart, i - sstart);
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  return i == text.size();
}

// 2^64 as a double: the first value that does not fit a uint64_t.
constexpr double kTwoTo64 = 18446744073709551616.0;

std::optional<uint64_t> scale(double number, double factor) {
  double v = number * factor;
  if (!(v >= 0) || v >= kTwoTo64) return std::nullopt;
  double r = std::round(v);
  if (std::fabs(r - v) > 1e-6 * std::max(1.0, v)) return std::nullopt;  // not a whole unit
  return static_cast<uint64_t>(r);
}

}  // namespace

std::optional<uint64_t> parse_uint(const std::string& text) {
  std::string t;
  for (char c : text) {
    if (c != '_') t.push_back(c);
  }
  if (t.empty()) return std::nullopt;
  int base = 10;
  size_t i = 0;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    i = 2;
  }
  uint64_t v = 0;
  for (; i < t.size(); ++i) {
    int d;
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(t[i])));
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    if (v > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) return std::nullopt;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  return v;
}

namespace {

// Femtoseconds per unit; 0 if the suffix is no duration unit.
double duration_factor(const std::string& s, double n) {
  if (s == "fs") return 1;
  if (s == "ps") return 1e3;
  if (s == "ns") return 1e6;
  if (s == "us") return 1e9;
  if (s == "ms") return 1e12;
  if (s == "s") return 1e15;
  if (s.empty() && n == 0) return 1;
  return 0;
}

// Bytes per unit; 0 if the suffix is no size unit.
double bytes_factor(const std::string& s) {
  if (s == "B" || s.empty()) return 1;
  if (s == "KiB") return 1024.0;
  if (s == "MiB") return 1024.0 * 1024;
  if (s == "GiB") return 1024.0 * 1024 * 1024;
  if (s == "TiB") return 1024.0 * 1024 * 1024 * 1024;
  if (s == "PiB") return 1024.0 * 1024 * 1024 * 1024 * 1024;
  if (s == "EiB") return 1024.0 * 1024 * 1024 * 1024 * 1024 * 1024;
  if (s == "kB" || s == "KB") return 1e3;
  if (s == "MB") return 1e6;
  if (s == "GB") return 1e9;
  if (s == "TB") return 1e12;
  if (s == "PB") return 1e15;
  if (s == "EB") return 1e18;
  return 0;
}

// Hertz per unit; 0 if the suffix is no frequency unit.
double frequency_factor(const std::string& s) {
  if (s == "Hz") return 1;
  if (s == "kHz") return 1e3;
  if (s == "MHz") return 1e6;
  if (s == "GHz") return 1e9;
  return 0;
}

// A number with a known unit whose value reaches 2^64.
bool too_large(const std::string& text, double (*factor)(const std::string&, double)) {
  double n;
  std::string s;
  if (!split_number(text, n, s)) return false;
  const double f = factor(s, n);
  return f != 0 && n * f >= kTwoTo64;
}

}  // namespace

std::optional<Duration> parse_duration(const std::string& text) {
  double n;
  std::string s;
  if (!split_number(text, n, s)) return std::nullopt;
  const double f = duration_factor(s, n);
  if (f == 0) return std::nullopt;
  auto v = scale(n, f);
  if (!v) return std::nullopt;
  return Duration{*v};
}

std::optional<Bytes> parse_bytes(const std::string& text) {
  if (auto plain = parse_uint(text)) return Bytes{*plain};
  double n;
  std::string s;
  if (!split_number(text, n, s)) return std::nullopt;
  const double f = bytes_factor(s);
  if (f == 0) return std::nullopt;
  auto v = scale(n, f);
  if (!v) return std::nullopt;
  return Bytes{*v};
}

std::optional<Frequency> parse_frequency(const std::string& text) {
  double n;
  std::string s;
  if (!split_number(text, n, s)) return std::nullopt;
  const double f = frequency_factor(s);
  if (f == 0) return std::nullopt;
  auto v = scale(n, f);
  if (!v || *v == 0) return std::nullopt;
  return Frequency{*v};
}

bool uint_out_of_range(const std::string& text) {
  std::string t;
  for (char c : text) {
    if (c != '_') t.push_back(c);
  }
  if (t.empty()) return false;
  const bool hex = t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X');
  for (size_t i = hex ? 2 : 0; i < t.size(); ++i) {
    if (!(hex ? std::isxdigit(static_cast<unsigned char>(t[i])) : std::isdigit(static_cast<unsigned char>(t[i])))) {
      return false;
    }
  }
  return !parse_uint(text).has_value();
}

bool duration_out_of_range(const std::string& text) { return too_large(text, duration_factor); }
bool bytes_out_of_range(const std::string& text) {
  return uint_out_of_range(text) || too_large(text, [](const std::string& s, double) { return bytes_factor(s); });
}
bool frequency_out_of_range(const std::string& text) {
  return too_large(text, [](const std::string& s, double) { return frequency_factor(s); });
}

std::string format_duration(Duration d) {
  static const struct { uint64_t f; const char* s; } units[] = {
      {1000000000000000ull, "s"}, {1000000000000ull, "ms"}, {1000000000ull, "us"},
      {1000000ull, "ns"}, {1000ull, "ps"}, {1ull, "fs"}};
  if (d.fs == 0) return "0ns";
  for (const auto& u : units) {
    if (d.fs % u.f == 0) return std::to_string(d.fs / u.f) + u.s;
  }
  return std::to_string(d.fs) + "fs";
}

std::string format_bytes(Bytes b) {
  static const struct { uint64_t f; const char* s; } units[] = {
      {1ull << 40, "TiB"}, {1ull << 30, "GiB"}, {1ull << 20, "MiB"}, {1ull << 10, "KiB"}};
  if (b.value == 0) return "0B";
  for (const auto& u : units) {
    if (b.value % u.f == 0) return std::to_string(b.value / u.f) + u.s;
  }
  return std::to_string(b.value) + "B";
}

std::string format_frequency(Frequency f) {
  static const struct { uint64_t f; const char* s; } units[] = {
      {1000000000ull, "GHz"}, {1000000ull, "MHz"}, {1000ull, "kHz"}};
  for (const auto& u : units) {
    if (f.hz % u.f == 0) return std::to_string(f.hz / u.f) + u.s;
  }
  return std::to_string(f.hz) + "Hz";
}

std::string format_hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace vmsim
