// Unit tests for DRAM configuration: speed-bin tables, validation errors naming the key, YAML loading
// with preset switching and overrides, the resolved dump and the key reference.
#include <gtest/gtest.h>

#include <cmath>
#include <yaml-cpp/yaml.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/error.hpp"
#include "models/dram/dram_config.hpp"
#include "models/dram/standards.hpp"

namespace vmsim::dram {
namespace {

// Expects InputError whose message contains every needle.
void expect_input_error(const std::function<void()>& fn, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "expected InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    for (const std::string& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << msg << "' lacks '" << n << "'";
  }
}

TEST(DramConfig, EveryPresetValidatesWithEveryRefreshModeItSupports) {
  size_t bins = 0;
  for (const StandardSpec* s : all_standards()) {
    for (const SpeedBin& bin : s->bins) {
      SCOPED_TRACE(bin.name);
      ++bins;
      DramConfig c;
      ASSERT_TRUE(c.set_preset(bin.name));
      EXPECT_EQ(c.standard, s->standard);
      EXPECT_NO_THROW(c.validate("dram"));
      c.controller.refresh = RefreshMode::PerBank;
      if (s->per_bank_refresh == PerBankRefresh::None) {
        expect_input_error([&] { c.validate("dram"); }, {"dram.controller.refresh", "per_bank", "no per-bank refresh"});
      } else {
        EXPECT_NO_THROW(c.validate("dram"));
      }
    }
  }
  EXPECT_GE(bins, 5u);
  for (const char* name : {"DDR4-2400R", "DDR4-3200AA", "DDR5-4800B", "LPDDR5-6400", "HBM2-2000", "ddr4-3200aa"}) {
    EXPECT_NE(find_preset(name).bin, nullptr) << name;
  }
}

// Issue K item 14: every named speed bin holds its bin's core timings, converted from the nanoseconds of
// the standard (DDR4: JESD79-4 as in Micron's DDR4 speed-bin tables; DDR5: JESD79-5) to clocks by rounding
// up (JEDEC's rounding: ceil(t / tCK - 0.025)). DDR4-2400R held the 2400T bin (17-17-17, tRC 56).
TEST(DramConfig, PresetsMatchTheSpeedBinsTheyAreNamedAfter) {
  struct Bin {
    const char* preset;
    double tck_ns;
    double taa, trcd, trp, tras, trc;  // ns
  };
  const Bin bins[] = {
      {"DDR4-2400R", 0.833, 13.32, 13.32, 13.32, 32.0, 45.32},
      {"DDR4-3200AA", 0.625, 13.75, 13.75, 13.75, 32.0, 45.75},
      {"DDR5-4800B", 0.416, 16.64, 16.0, 16.0, 32.0, 48.0},
  };
  auto nck = [](double ns, double tck) { return static_cast<uint64_t>(std::ceil(ns / tck - 0.025)); };
  for (const Bin& b : bins) {
    SCOPED_TRACE(b.preset);
    DramConfig c;
    ASSERT_TRUE(c.set_preset(b.preset));
    const TimingParams& t = c.timing;
    EXPECT_EQ(t.tCK_ps, static_cast<uint64_t>(b.tck_ns * 1000 + 0.5));
    EXPECT_EQ(std::vector<uint64_t>({t.CL, t.tRCD, t.tRP, t.tRAS, t.tRC}),
              std::vector<uint64_t>({nck(b.taa, b.tck_ns), nck(b.trcd, b.tck_ns), nck(b.trp, b.tck_ns),
                                     nck(b.tras, b.tck_ns), nck(b.trc, b.tck_ns)}));
  }
}

TEST(DramConfig, Ddr4And5TablesHoldTheJedecNumbers) {
  DramConfig c;
  ASSERT_TRUE(c.set_preset("DDR4-3200AA"));
  const TimingParams& t = c.timing;
  EXPECT_EQ(t.tCK_ps, 625u);
  EXPECT_EQ(std::vector<uint64_t>({t.CL, t.tRCD, t.tRP, t.tRAS, t.tRC, t.tBL, t.tRFC, t.tREFI, t.tFAW}),
            std::vector<uint64_t>({22, 22, 22, 52, 74, 4, 560, 12480, 34}));
  EXPECT_EQ(std::vector<uint64_t>({t.tRRD_S, t.tRRD_L, t.tCCD_S, t.tCCD_L, t.CWL, t.tWR, t.tWTR_S, t.tWTR_L, t.tRTP}),
            std::vector<uint64_t>({4, 8, 4, 8, 16, 24, 4, 12, 12}));
  EXPECT_EQ(c.organisation.capacity_bytes(), uint64_t{8} << 30);  // eight 8 Gb x8 devices
  ASSERT_TRUE(c.set_preset("DDR5-4800B"));
  EXPECT_EQ(std::vector<uint64_t>({c.timing.CL, c.timing.tRCD, c.timing.tRP, c.timing.tBL}),
            std::vector<uint64_t>({40, 39, 39, 8}));
  EXPECT_EQ(c.organisation.subchannels, 2u);
  EXPECT_EQ(c.organisation.bus_bits, 32u);
  EXPECT_EQ(c.organisation.burst_bytes(), 64u);
  EXPECT_EQ(c.per_bank_refresh, PerBankRefresh::SameBankAllGroups);
}

TEST(DramConfig, ImpossibleOrMissingTimingIsAnInputErrorNamingTheKey) {
  struct Case {
    const char* name;
    std::function<void(DramConfig&)> mutate;
    std::vector<std::string> needles;
  };
  const std::vector<Case> cases = {
      {"CL=0", [](DramConfig& c) { c.timing.CL = 0; }, {"dram.timing.CL", "'0'", "must be > 0"}},
      {"tRC<tRAS+tRP", [](DramConfig& c) { c.timing.tRC = c.timing.tRAS + c.timing.tRP - 1; },
       {"dram.timing.tRC", "'73'", "tRAS + tRP"}},
      {"tRAS<tRCD", [](DramConfig& c) { c.timing.tRAS = 10; c.timing.tRC = 40; }, {"dram.timing.tRAS", "tRCD"}},
      {"tCCD_S<tBL", [](DramConfig& c) { c.timing.tCCD_S = 3; }, {"dram.timing.tCCD_S", "overlap"}},
      {"tRRD_L<tRRD_S", [](DramConfig& c) { c.timing.tRRD_L = 3; }, {"dram.timing.tRRD_L"}},
      {"tWTR_L<tWTR_S", [](DramConfig& c) { c.timing.tWTR_L = 1; }, {"dram.timing.tWTR_L"}},
      {"tREFI<=tRFC", [](DramConfig& c) { c.timing.tREFI = 560; }, {"dram.timing.tREFI", "tRFC"}},
      {"tCK missing", [](DramConfig& c) { c.timing.tCK_ps = 0; }, {"dram.timing.tCK_ps"}},
      {"tRFCsb for per-bank", [](DramConfig& c) {
         c.set_preset("DDR5-4800B");
         c.controller.refresh = RefreshMode::PerBank;
         c.timing.tRFCsb = 0;
       }, {"dram.timing.tRFCsb"}},
      {"rows not 2^n", [](DramConfig& c) { c.organisation.rows = 1000; }, {"dram.organisation.rows", "'1000'"}},
      {"no banks", [](DramConfig& c) { c.organisation.banks_per_group = 0; }, {"dram.organisation.banks_per_group"}},
      {"request vs burst", [](DramConfig& c) { c.controller.request_bytes = 32; }, {"dram.controller.request_bytes"}},
      {"watermarks", [](DramConfig& c) { c.controller.write_low_watermark = 24; }, {"dram.controller.write_low_watermark"}},
      {"queue", [](DramConfig& c) { c.controller.read_queue = 0; }, {"dram.controller.read_queue"}},
      {"mapping", [](DramConfig& c) { c.controller.address_mapping = "ro:ra:bg:co:ch"; }, {"dram.controller.address_mapping", "ba"}},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.name);
    DramConfig c;
    tc.mutate(c);
    expect_input_error([&] { c.validate("dram"); }, tc.needles);
  }
}

TEST(DramConfig, ATableRowMissingAParameterFailsNamingIt) {
  // A speed-bin row written without tFAW (as a new standard's table might be).
  DramConfig c;
  c.timing = make_timing({{"tCK_ps", 625}, {"CL", 22}, {"CWL", 16}, {"tRCD", 22}, {"tRP", 22}, {"tRAS", 52},
                          {"tRC", 74}, {"tBL", 4}, {"tCCD_S", 4}, {"tCCD_L", 8}, {"tCCD_L_WR", 8}, {"tRRD_S", 4},
                          {"tRRD_L", 8}, {"tWR", 24}, {"tWTR_S", 4}, {"tWTR_L", 12}, {"tRTP", 12}, {"tRFC", 560},
                          {"tREFI", 12480}});
  expect_input_error([&] { c.validate("dram"); }, {"dram.timing.tFAW", "missing"});
  EXPECT_THROW(make_timing({{"tRDC", 1}}), std::logic_error);
}

TEST(DramConfig, UnknownPresetIsAnInputErrorListingTheKnownOnes) {
  DramConfig c;
  EXPECT_FALSE(c.set_preset("DDR9-9999"));
  expect_input_error([&] { c.validate("dram"); }, {"dram.preset", "DDR9-9999", "DDR4-3200AA", "HBM2-2000"});
}

DramConfig load(const std::string& yaml) {
  DramConfig c;
  config::Loader loader(YAML::Load(yaml), "dram", "test.yaml");
  c.visit(loader);
  loader.finish();
  return c;
}

TEST(DramConfig, YamlPresetFillsTheTablesAndKeysOverrideSingleValues) {
  const DramConfig c = load(
      "preset: DDR5-4800B\n"
      "timing:\n"
      "  tRCD: 41\n"
      "organisation:\n"
      "  ranks: 2\n"
      "controller:\n"
      "  page_policy: closed\n"
      "  scheduler: fcfs\n"
      "  refresh: per_bank\n"
      "  address_mapping: ro:ba:ra:co:bg:ch\n");
  EXPECT_EQ(c.standard, Standard::Ddr5);
  EXPECT_EQ(c.timing.tRCD, 41u);
  EXPECT_EQ(c.timing.CL, 40u);
  EXPECT_EQ(c.organisation.ranks, 2u);
  EXPECT_EQ(c.organisation.subchannels, 2u);
  EXPECT_EQ(c.controller.page_policy, PagePolicy::Closed);
  EXPECT_EQ(c.controller.scheduler, SchedulerKind::Fcfs);
  EXPECT_EQ(c.controller.refresh, RefreshMode::PerBank);
  EXPECT_NO_THROW(c.validate("dram"));
  const DramConfig d = load("{}");
  EXPECT_EQ(d.preset, kDefaultPreset);
  EXPECT_EQ(d.timing.CL, 22u);
}

TEST(DramConfig, YamlTyposAndBadValuesFailNamingTheKey) {
  expect_input_error([] { load("timing:\n  tRDC: 5\n"); }, {"test.yaml:2", "dram.timing.tRDC", "did you mean"});
  expect_input_error([] { load("controller:\n  page_policy: sometimes\n"); },
                     {"dram.controller.page_policy", "sometimes", "open | closed | adaptive"});
  expect_input_error([] { load("timing:\n  CL: fast\n"); }, {"dram.timing.CL", "fast"});
  const DramConfig bad = load("preset: DDR3-1600\n");
  expect_input_error([&] { bad.validate("dram"); }, {"dram.preset", "DDR3-1600"});
}

TEST(DramConfig, ResolvedDumpLoadsBackToTheSameConfig) {
  DramConfig c = load("preset: LPDDR5-6400\ncontroller:\n  read_queue: 48\n  xor_bank_hash: true\n");
  YAML::Emitter out;
  out << YAML::BeginMap;
  config::Writer writer(out);
  c.visit(writer);
  out << YAML::EndMap;
  const std::string dumped = out.c_str();
  EXPECT_NE(dumped.find("preset: LPDDR5-6400"), std::string::npos) << dumped;
  const DramConfig back = load(dumped);
  YAML::Emitter again;
  again << YAML::BeginMap;
  config::Writer writer2(again);
  DramConfig copy = back;
  copy.visit(writer2);
  again << YAML::EndMap;
  EXPECT_EQ(dumped, std::string(again.c_str()));
  EXPECT_EQ(back.controller.read_queue, 48u);
  EXPECT_EQ(back.standard, Standard::Lpddr5);
}

TEST(DramConfig, KeyReferenceDocumentsEveryTimingParameterWithUnits) {
  std::vector<config::KeyDoc> rows;
  config::Documenter doc(rows, "dram");
  DramConfig c;
  c.visit(doc);
  auto find = [&](const std::string& path) -> const config::KeyDoc* {
    for (const config::KeyDoc& r : rows) {
      if (r.path == path) return &r;
    }
    return nullptr;
  };
  for (const char* key : {"dram.preset", "dram.timing.tRCD", "dram.timing.tFAW", "dram.timing.tRFCsb",
                          "dram.organisation.bank_groups", "dram.controller.write_high_watermark",
                          "dram.controller.address_mapping"}) {
    EXPECT_NE(find(key), nullptr) << key;
  }
  ASSERT_NE(find("dram.timing.tRCD"), nullptr);
  EXPECT_EQ(find("dram.timing.tRCD")->unit, "nCK");
  EXPECT_EQ(find("dram.timing.tRCD")->default_value, "22");
  EXPECT_EQ(find("dram.controller.scheduler")->type, "fcfs | frfcfs");
}

}  // namespace
}  // namespace vmsim::dram
