// Fixture of the system tests: runs the vmsim binary with stdout/stderr captured and reads its outputs.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace vmsim_system_test {

// Merges `patch` into `base`: a mapping merges key by key (recursively); any other value (a scalar, a
// list) replaces the base's.
inline void merge_yaml(YAML::Node base, const YAML::Node& patch) {
  for (const auto& kv : patch) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& existing = static_cast<const YAML::Node&>(base)[key];
    if (kv.second.IsMap() && existing.IsDefined() && existing.IsMap()) {
      merge_yaml(base[key], kv.second);
    } else {
      base[key] = YAML::Clone(kv.second);
    }
  }
}

// A test configuration: a base YAML shared by several tests with one test's overrides applied (see
// merge_yaml), so the base is written once.
inline std::string with_overrides(const std::string& base, const std::string& overrides) {
  YAML::Node merged = YAML::Clone(YAML::Load(base));
  merge_yaml(merged, YAML::Load(overrides));
  YAML::Emitter out;
  out << merged;
  return std::string(out.c_str()) + "\n";
}

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The error is exactly one line.
inline bool one_line(const Result& r) { return r.err.find('\n') == r.err.size() - 1; }

class System : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    m_dir = testing::TempDir() + "vmsim_" + info->name() + "_" + std::to_string(::getpid());
    ASSERT_EQ(std::system(("rm -rf " + m_dir + " && mkdir -p " + m_dir).c_str()), 0);
  }
  void TearDown() override {
    if (!HasFailure()) std::system(("rm -rf " + m_dir).c_str());
  }

  // Runs `vmsim ARGS` with stdout/stderr captured.
  // Runs of whole configurations always have the independent JEDEC timing checker on: a violation
  // fails the run with exit code 3. A configuration with the golden checker on (`checker: true`) also
  // gets the coherence checker (sim.check_coherence), unless the arguments set it themselves.
  Result vmsim(const std::string& args) {
    std::string out = m_dir + "/stdout.txt", err = m_dir + "/stderr.txt";
    std::string full = args;
    if (full.rfind("run ", 0) == 0) {
      full += " --set system.memory.dram.controller.timing_checker=true";
      // Runs with the golden checker also run the coherence checker (it checks nothing without caches).
      const std::string cfg = full.substr(4, full.find(' ', 4) - 4);
      const std::string text = slurp(cfg);
      if (text.find("checker: true") != std::string::npos && full.find("check_coherence") == std::string::npos) {
        full += " --set sim.check_coherence=true";
      }
    }
    std::string cmd = std::string(VMSIM_BIN) + " " + full + " >" + out + " 2>" + err;
    int status = std::system(cmd.c_str());
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }
  std::string write(const std::string& name, const std::string& text) {
    std::string p = m_dir + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  nlohmann::json stats(const std::string& out_dir) { return nlohmann::json::parse(slurp(out_dir + "/stats.json")); }
  uint64_t stat(const nlohmann::json& j, const std::string& name) {
    EXPECT_TRUE(j["stats"].contains(name)) << name;
    return j["stats"][name]["value"].get<uint64_t>();
  }
  double statd(const nlohmann::json& j, const std::string& name) {
    EXPECT_TRUE(j["stats"].contains(name)) << name;
    return j["stats"][name]["value"].get<double>();
  }
  // Every frame returned: nothing leaked by processes that exited or were killed. The page cache of files
  // (and the kernel objects describing them) outlives the processes that mapped them.
  void expect_frames_conserved(const nlohmann::json& j) {
    EXPECT_EQ(stat(j, "system.os.frames.free") + stat(j, "system.os.frames.reserved") +
                  stat(j, "system.os.frames.page_cache") + stat(j, "system.os.frames.slab"),
              stat(j, "system.os.frames.managed"));
  }
  // Each case: `vmsim run cfg` with these --set assignments exits 2 with one line containing message.
  struct BadSets {
    std::vector<std::string> sets;
    std::string message;
  };
  void expect_config_errors(const std::string& cfg, const std::vector<BadSets>& cases) {
    for (const BadSets& c : cases) {
      std::string args = "run " + cfg + " --out " + m_dir + "/o";
      for (const std::string& s : c.sets) args += " --set '" + s + "'";
      Result r = vmsim(args);
      EXPECT_EQ(r.code, 2) << c.message;
      EXPECT_TRUE(one_line(r)) << r.err;
      EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    }
  }
  std::string m_dir;
};

}  // namespace vmsim_system_test
