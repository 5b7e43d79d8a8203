// Registry of DRAM standards and the helpers that turn named values into table rows.
#include "models/dram/standards.hpp"

#include <cctype>
#include <stdexcept>

namespace vmsim::dram {
namespace {

// Sets the uint64_t field whose key is `key`; remembers whether it found one.
class KeySetter {
 public:
  KeySetter(const char* key, uint64_t value) : m_key(key), m_value(value) {}
  void operator()(const char* key, uint64_t& field, const char*, const char*) {
    if (std::string(key) == m_key) {
      field = m_value;
      m_found = true;
    }
  }
  bool found() const { return m_found; }

 private:
  std::string m_key;
  uint64_t m_value;
  bool m_found = false;
};

template <class T>
T make_row(std::initializer_list<std::pair<const char*, uint64_t>> values, const char* what) {
  T row{};
  for (const auto& [key, value] : values) {
    KeySetter setter(key, value);
    row.visit(setter);
    if (!setter.found()) throw std::logic_error(std::string("DRAM ") + what + " table: unknown key '" + key + "'");
  }
  return row;
}

bool iequals(const std::string& a, const char* b) {
  std::string bs(b);
  if (a.size() != bs.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(bs[i]))) return false;
  }
  return true;
}

}  // namespace

TimingParams make_timing(std::initializer_list<std::pair<const char*, uint64_t>> values) {
  return make_row<TimingParams>(values, "timing");
}

Organisation make_organisation(std::initializer_list<std::pair<const char*, uint64_t>> values) {
  return make_row<Organisation>(values, "organisation");
}

PowerRail make_rail(const char* name, double volts, double idd0, double idd2n, double idd3n, double idd4r,
                    double idd4w, double idd5b) {
  PowerRail r;
  r.name = name;
  r.voltage_V = volts;
  r.IDD0_mA = idd0;
  r.IDD2N_mA = idd2n;
  r.IDD3N_mA = idd3n;
  r.IDD4R_mA = idd4r;
  r.IDD4W_mA = idd4w;
  r.IDD5B_mA = idd5b;
  return r;
}

PowerParams make_power(double devices, const PowerRail& rail1, const PowerRail& rail2) {
  PowerParams p;
  p.devices = devices;
  p.rail1 = rail1;
  p.rail2 = rail2;
  return p;
}

const std::vector<const StandardSpec*>& all_standards() {
  static const std::vector<const StandardSpec*> standards = {&ddr4_standard(), &ddr5_standard(),
                                                             &lpddr5_standard(), &hbm2_standard()};
  return standards;
}

PresetRef find_preset(const std::string& name) {
  for (const StandardSpec* s : all_standards()) {
    for (const SpeedBin& bin : s->bins) {
      if (iequals(name, bin.name)) return {s, &bin};
    }
  }
  return {};
}

std::string preset_names() {
  std::string out;
  for (const StandardSpec* s : all_standards()) {
    for (const SpeedBin& bin : s->bins) {
      if (!out.empty()) out += ", ";
      out += bin.name;
    }
  }
  return out;
}

}  // namespace vmsim::dram
