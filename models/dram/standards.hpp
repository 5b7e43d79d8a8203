// Registry of DRAM standards and their speed-bin tables. Adding a standard = one standard_<name>.cpp
// holding its table plus one line in standards.cpp.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "models/dram/dram_config.hpp"

namespace vmsim::dram {

// One speed bin: its preset name, JEDEC timings in nCK, the default organisation it is sold in and the
// datasheet currents of the device it models.
struct SpeedBin {
  const char* name;
  TimingParams timing;
  Organisation organisation;
  PowerParams power;
};

// A standard: the family, what its per-bank refresh covers, and its speed bins.
struct StandardSpec {
  const char* name;
  Standard standard;
  PerBankRefresh per_bank_refresh;
  std::vector<SpeedBin> bins;
};

// Builds a table row from named values ("tRCD", 22); keys are the config keys of TimingParams /
// Organisation. Unnamed values stay 0 (missing). Throws std::logic_error for an unknown key name.
TimingParams make_timing(std::initializer_list<std::pair<const char*, uint64_t>> values);
Organisation make_organisation(std::initializer_list<std::pair<const char*, uint64_t>> values);
// A supply rail: name, volts, then IDD0, IDD2N, IDD3N, IDD4R, IDD4W, IDD5B in mA.
PowerRail make_rail(const char* name, double volts, double idd0, double idd2n, double idd3n, double idd4r,
                    double idd4w, double idd5b);
PowerParams make_power(double devices, const PowerRail& rail1, const PowerRail& rail2);

// Defined in standard_<name>.cpp.
const StandardSpec& ddr4_standard();
const StandardSpec& ddr5_standard();
const StandardSpec& lpddr5_standard();
const StandardSpec& hbm2_standard();

// Every registered standard.
const std::vector<const StandardSpec*>& all_standards();

// The speed bin called `name` (exact, case-insensitive) and its standard, or {nullptr, nullptr}.
struct PresetRef {
  const StandardSpec* standard = nullptr;
  const SpeedBin* bin = nullptr;
};
PresetRef find_preset(const std::string& name);

// "DDR4-2400R, DDR4-3200AA, ..." for error messages.
std::string preset_names();

}  // namespace vmsim::dram
