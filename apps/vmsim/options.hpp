// Strictly parsed unsigned-integer command-line options: "-1", "1e3", "", "18446744073709551616" and
// trailing junk are refused with a one-line error naming the option, never clamped or ignored.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "common/units.hpp"

namespace vmsim::study {

// Parses `text` given to option `name` as an unsigned integer (decimal or 0x hex) in [min, max]. Throws
// CLI::ValidationError "NAME: bad value 'TEXT' (...)" (exit code 2 through the CLI error path).
inline uint64_t parse_uint_option(const std::string& name, const std::string& text, uint64_t min = 0,
                                  uint64_t max = UINT64_MAX) {
  auto bad = [&](const std::string& why) {
    throw CLI::ValidationError(name, "bad value '" + printable(text) + "' (" + why + ")");
  };
  if (text.empty()) bad("empty; expected an unsigned integer");
  const std::optional<uint64_t> v = parse_uint(text);
  if (!v) {
    if (uint_out_of_range(text)) bad("out of range (max " + std::to_string(max) + ")");
    bad("expected an unsigned integer, decimal or 0x hex");
  }
  if (*v > max) bad("out of range (max " + std::to_string(max) + ")");
  if (*v < min) bad("out of range (min " + std::to_string(min) + ")");
  return *v;
}

// Registers an unsigned-integer option that sets `target` (left unset if the option is absent).
inline CLI::Option* add_uint_option(CLI::App* app, const std::string& flags, std::optional<uint64_t>& target,
                                    const std::string& desc, uint64_t min = 0, uint64_t max = UINT64_MAX) {
  const std::string name = flags.substr(flags.rfind(',') == std::string::npos ? 0 : flags.rfind(',') + 1);
  return app->add_option_function<std::string>(
      flags, [&target, name, min, max](const std::string& text) { target = parse_uint_option(name, text, min, max); },
      desc);
}

// As above for an option with a default: `target` keeps its value if the option is absent.
template <class T>
CLI::Option* add_uint_option(CLI::App* app, const std::string& flags, T& target, const std::string& desc,
                             uint64_t min = 0, uint64_t max = UINT64_MAX) {
  const std::string name = flags.substr(flags.rfind(',') == std::string::npos ? 0 : flags.rfind(',') + 1);
  if (max > std::numeric_limits<T>::max()) max = std::numeric_limits<T>::max();
  return app->add_option_function<std::string>(
      flags,
      [&target, name, min, max](const std::string& text) {
        target = static_cast<T>(parse_uint_option(name, text, min, max));
      },
      desc);
}

}  // namespace vmsim::study
