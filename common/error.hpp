// Error types: InputError is bad user input (config, trace, command line) and maps to exit code 2.
#pragma once

#include <stdexcept>
#include <string>

namespace vmsim {

// Bad user input. what() is a one-line reason naming the file/line or key and the bad value.
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& msg) : std::runtime_error(msg) {}
  // "FILE:LINE: MSG"
  InputError(const std::string& file, uint64_t line, const std::string& msg)
      : std::runtime_error(file + ":" + std::to_string(line) + ": " + msg) {}
};

// A simulation-detected inconsistency (golden checker mismatch, broken invariant). Exit code 3.
class SimulationError : public std::runtime_error {
 public:
  explicit SimulationError(const std::string& msg) : std::runtime_error(msg) {}
};

}  // namespace vmsim
