// Validation of DRAM configurations and application of speed-bin presets.
#include "models/dram/dram_config.hpp"

#include "models/dram/address_mapper.hpp"
#include "models/dram/standards.hpp"

namespace vmsim::dram {
namespace {

bool is_pow2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }
std::string num(uint64_t v) { return std::to_string(v); }

// Collects (key, value) of every uint64_t field, in declaration order.
struct FieldLister {
  std::vector<std::pair<const char*, uint64_t>> fields;
  void operator()(const char* key, const uint64_t& field, const char*, const char*) { fields.emplace_back(key, field); }
};

}  // namespace

void Organisation::validate(const std::string& path) const {
  Organisation copy = *this;
  FieldLister lister;
  copy.visit(lister);
  for (const auto& [key, value] : lister.fields) {
    config::require(value > 0, path, key, num(value), "must be > 0 (missing from the preset table?)");
  }
  config::require(is_pow2(channel_count()), path, "channels", num(channels),
                  "channels * subchannels must be a power of two for address mapping");
  config::require(is_pow2(subchannels), path, "subchannels", num(subchannels), "must be a power of two");
  config::require(is_pow2(ranks) && ranks <= 32, path, "ranks", num(ranks), "must be a power of two <= 32");
  config::require(is_pow2(bank_groups) && bank_groups <= 64, path, "bank_groups", num(bank_groups),
                  "must be a power of two <= 64");
  config::require(is_pow2(banks_per_group) && banks_per_group <= 64, path, "banks_per_group",
                  num(banks_per_group), "must be a power of two <= 64");
  config::require(banks_per_rank() <= 64, path, "banks_per_group", num(banks_per_group),
                  "bank_groups * banks_per_group must be <= 64");
  config::require(is_pow2(rows) && rows <= (uint64_t{1} << 31), path, "rows", num(rows),
                  "must be a power of two <= 2^31");
  config::require(is_pow2(columns) && columns <= (uint64_t{1} << 20), path, "columns", num(columns),
                  "must be a power of two <= 2^20");
  config::require(bus_bits % 8 == 0 && is_pow2(bus_bits), path, "bus_bits", num(bus_bits),
                  "must be a power of two multiple of 8");
  config::require(is_pow2(burst_length) && burst_length <= columns, path, "burst_length", num(burst_length),
                  "must be a power of two <= columns");
}

void TimingParams::validate(const std::string& path, bool per_bank_refresh) const {
  TimingParams copy = *this;
  FieldLister lister;
  copy.visit(lister);
  for (const auto& [key, value] : lister.fields) {
    const std::string k = key;
    if (k == "tRFCsb" || k == "tRREFD" || k == "tRTRS" || k == "rtw_bubble") continue;
    config::require(value > 0, path, key, num(value), "must be > 0 (missing from the speed-bin table?)");
  }
  config::require(tRC >= tRAS + tRP, path, "tRC", num(tRC),
                  "must be >= tRAS + tRP = " + num(tRAS) + " + " + num(tRP));
  config::require(tRAS >= tRCD, path, "tRAS", num(tRAS), "must be >= tRCD = " + num(tRCD));
  config::require(tCCD_S >= tBL, path, "tCCD_S", num(tCCD_S),
                  "must be >= tBL = " + num(tBL) + " (data bursts would overlap)");
  config::require(tCCD_L >= tCCD_S, path, "tCCD_L", num(tCCD_L), "must be >= tCCD_S = " + num(tCCD_S));
  config::require(tCCD_L_WR >= tCCD_S, path, "tCCD_L_WR", num(tCCD_L_WR), "must be >= tCCD_S = " + num(tCCD_S));
  config::require(tRRD_L >= tRRD_S, path, "tRRD_L", num(tRRD_L), "must be >= tRRD_S = " + num(tRRD_S));
  config::require(tWTR_L >= tWTR_S, path, "tWTR_L", num(tWTR_L), "must be >= tWTR_S = " + num(tWTR_S));
  config::require(tREFI > tRFC, path, "tREFI", num(tREFI), "must be > tRFC = " + num(tRFC));
  config::require(CL < 4096 && CWL < 4096 && tRFC < (uint64_t{1} << 24) && tREFI < (uint64_t{1} << 32), path,
                  "CL", num(CL), "timing values out of range");
  if (per_bank_refresh) {
    config::require(tRFCsb > 0, path, "tRFCsb", num(tRFCsb), "must be > 0 for per-bank refresh");
    config::require(tRFCsb <= tRFC, path, "tRFCsb", num(tRFCsb), "must be <= tRFC = " + num(tRFC));
    config::require(tRREFD > 0, path, "tRREFD", num(tRREFD), "must be > 0 for per-bank refresh");
  }
}

void ControllerConfig::validate(const std::string& path) const {
  config::require(read_queue > 0 && read_queue <= 4096, path, "read_queue", num(read_queue), "must be 1..4096");
  config::require(write_queue > 0 && write_queue <= 4096, path, "write_queue", num(write_queue), "must be 1..4096");
  config::require(write_high_watermark > 0 && write_high_watermark <= write_queue, path, "write_high_watermark",
                  num(write_high_watermark), "must be 1..write_queue (" + num(write_queue) + ")");
  config::require(write_low_watermark < write_high_watermark, path, "write_low_watermark",
                  num(write_low_watermark), "must be < write_high_watermark (" + num(write_high_watermark) + ")");
  config::require(is_pow2(request_bytes), path, "request_bytes", num(request_bytes), "must be a power of two");
  config::require(latency_bin > 0, path, "latency_bin", num(latency_bin), "must be > 0");
  config::require(latency_bins > 0 && latency_bins <= 100000, path, "latency_bins", num(latency_bins),
                  "must be 1..100000");
}

void PowerRail::validate(const std::string& path) const {
  auto fmt = [](double v) { return config::format_value(v); };
  config::require(voltage_V >= 0 && voltage_V <= 5, path, "voltage_V", fmt(voltage_V), "must be 0..5 V");
  const std::pair<const char*, double> currents[] = {{"IDD0_mA", IDD0_mA},   {"IDD2N_mA", IDD2N_mA},
                                                     {"IDD3N_mA", IDD3N_mA}, {"IDD4R_mA", IDD4R_mA},
                                                     {"IDD4W_mA", IDD4W_mA}, {"IDD5B_mA", IDD5B_mA}};
  for (const auto& [key, value] : currents) {
    config::require(value >= 0 && value < 1e6, path, key, fmt(value), "must be 0..1e6 mA");
  }
  // Each command's energy is its current above the background it replaces: it must not be negative.
  config::require(IDD0_mA >= IDD3N_mA, path, "IDD0_mA", fmt(IDD0_mA), "must be >= IDD3N_mA = " + fmt(IDD3N_mA));
  config::require(IDD0_mA >= IDD2N_mA, path, "IDD0_mA", fmt(IDD0_mA), "must be >= IDD2N_mA = " + fmt(IDD2N_mA));
  config::require(IDD4R_mA >= IDD3N_mA, path, "IDD4R_mA", fmt(IDD4R_mA), "must be >= IDD3N_mA = " + fmt(IDD3N_mA));
  config::require(IDD4W_mA >= IDD3N_mA, path, "IDD4W_mA", fmt(IDD4W_mA), "must be >= IDD3N_mA = " + fmt(IDD3N_mA));
  config::require(IDD5B_mA >= IDD2N_mA, path, "IDD5B_mA", fmt(IDD5B_mA), "must be >= IDD2N_mA = " + fmt(IDD2N_mA));
}

void PowerParams::validate(const std::string& path) const {
  config::require(devices > 0 && devices <= 1024, path, "devices", config::format_value(devices), "must be > 0 and <= 1024");
  const std::string sub = path.empty() ? "" : path + ".";
  rail1.validate(sub + "rail1");
  rail2.validate(sub + "rail2");
}

DramConfig::DramConfig() { set_preset(preset); }

bool DramConfig::set_preset(const std::string& name) {
  PresetRef ref = find_preset(name);
  preset = name;
  preset_known = ref.bin != nullptr;
  if (!preset_known) return false;
  preset = ref.bin->name;
  standard = ref.standard->standard;
  per_bank_refresh = ref.standard->per_bank_refresh;
  organisation = ref.bin->organisation;
  timing = ref.bin->timing;
  power = ref.bin->power;
  return true;
}

void DramConfig::validate(const std::string& path) const {
  config::require(preset_known, path, "preset", preset, "unknown DRAM preset; known: " + preset_names());
  const std::string sub = path.empty() ? "" : path + ".";
  organisation.validate(sub + "organisation");
  const bool per_bank = controller.refresh == RefreshMode::PerBank;
  if (per_bank) {
    config::require(per_bank_refresh != PerBankRefresh::None, sub + "controller", "refresh", "per_bank",
                    "preset " + preset + " has no per-bank refresh");
  }
  timing.validate(sub + "timing", per_bank);
  controller.validate(sub + "controller");
  power.validate(sub + "power");
  const uint64_t burst = organisation.burst_bytes();
  config::require(controller.request_bytes % burst == 0, sub + "controller", "request_bytes",
                  num(controller.request_bytes), "must be a multiple of the burst size " + num(burst) + " bytes");
  config::require(controller.request_bytes <= organisation.row_bytes(), sub + "controller", "request_bytes",
                  num(controller.request_bytes), "must not exceed a row (" + num(organisation.row_bytes()) + " bytes)");
  config::require(controller.request_bytes / burst <= 64, sub + "controller", "request_bytes",
                  num(controller.request_bytes), "must be at most 64 bursts");
  // Parses the mapping; throws InputError naming the key if it does not fit the organisation.
  AddressMapper mapper(organisation, controller.request_bytes, controller.address_mapping, controller.xor_bank_hash,
                       sub + "controller.address_mapping");
  (void)mapper;
}

}  // namespace vmsim::dram
