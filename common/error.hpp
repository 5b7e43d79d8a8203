// Error types: InputError is bad user input (config, trace, command line) and maps to exit code 2.
#pragma once

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace vmsim {

// Input text made fit to quote in a one-line message: control bytes (newline, tab, NUL, ...) and DEL are
// escaped (\n, \t, \0, \x1b), and text longer than `max` bytes is cut there and marked with its length
// ("aaaa... (3145728 bytes)").
inline std::string printable(std::string_view text, size_t max = 80) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  const size_t n = text.size() > max ? max : text.size();
  out.reserve(n + 24);
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != 0x7f) {
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == 0) {
      out += "\\0";
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (n < text.size()) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

// Bad user input. what() is a one-line reason naming the file/line or key and the bad value. The message
// is made one line here whatever the caller passed (control bytes escaped, at most 1000 bytes): quote
// input values with printable() so that a long value is cut where it appears.
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& msg) : std::runtime_error(printable(msg, 1000)) {}
  // "FILE:LINE: MSG"
  InputError(const std::string& file, uint64_t line, const std::string& msg)
      : InputError(file + ":" + std::to_string(line) + ": " + msg) {}
};

// Checks that `path` names an input file that can be opened for reading: throws InputError
// "PATH: cannot open: REASON" if it does not exist or cannot be read, "PATH: is a directory" for a
// directory (which opens, and fails only at the first read).
inline void check_input_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw InputError(printable(path, 200) + ": cannot open: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw InputError(printable(path, 200) + ": is a directory (expected a file)");
}

// A simulation-detected inconsistency (golden checker mismatch, broken invariant). Exit code 3.
class SimulationError : public std::runtime_error {
 public:
  explicit SimulationError(const std::string& msg) : std::runtime_error(msg) {}
};

}  // namespace vmsim
