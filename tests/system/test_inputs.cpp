// System tests of bad input: a table of malformed configs, traces, sweep specs and command lines fed to
// the real binary. Each must exit 2 with exactly one line on stderr naming the file/line, key or option
// and the bad value, with no raw control byte. Also: the --set example of `vmsim run --help` works, and a
// partial STLB array keeps the STLB's defaults in the resolved config.
#include <regex>

#include "tests/system/system_fixture.hpp"

namespace vmsim_system_test {
namespace {

// A short, valid run: everything below changes one thing of it.
const char* const kBase =
    "sim:\n"
    "  mode: functional\n"
    "  seed: 1\n"
    "system:\n"
    "  cores: 1\n"
    "  memory: {model: fixed, nodes: [{size: 64MiB}]}\n"
    "processes:\n"
    "  - name: p\n"
    "    core: 0\n"
    "    workload:\n"
    "      kind: random\n"
    "      footprint: 1MiB\n"
    "      accesses: 1000\n";

class Inputs : public System {
 protected:
  struct Case {
    std::string what;                  // the issue item and input, for failure messages
    std::string args;                  // vmsim arguments; {dir} is the test folder
    std::vector<std::string> needles;  // each must appear in the error line
  };
  void expect_refused(const std::vector<Case>& cases) {
    for (const Case& c : cases) {
      std::string args = std::regex_replace(c.args, std::regex("\\{dir\\}"), m_dir);
      Result r = vmsim(args);
      EXPECT_EQ(r.code, 2) << c.what << "\n" << r.err;
      EXPECT_TRUE(!r.err.empty() && one_line(r)) << c.what << ": not one line:\n" << r.err;
      for (char ch : r.err) {
        EXPECT_TRUE(static_cast<unsigned char>(ch) >= 0x20 || ch == '\n') << c.what << ": raw control byte";
      }
      for (const std::string& n : c.needles) {
        EXPECT_NE(r.err.find(n), std::string::npos) << c.what << ": missing '" << n << "' in\n" << r.err;
      }
      ++m_refused;
    }
  }
  // kBase with `from` replaced by `to` (which must occur).
  std::string variant(const std::string& name, const std::string& from, const std::string& to) {
    std::string text = kBase;
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    return write(name, text);
  }
  size_t m_refused = 0;
};

TEST_F(Inputs, BaseConfigRuns) {
  const std::string base = write("base.yaml", kBase);
  Result r = vmsim("run " + base + " -q --out " + m_dir + "/o");
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST_F(Inputs, EveryBadInputIsOneClearError) {
  const std::string base = write("base.yaml", kBase);
  const std::string run = "run ";
  const std::string out = " -q --out {dir}/o";
  write("spec-dup.yaml", "base: base.yaml\ngrid:\n  sim.seed: [1, 2]\n  sim.seed: [3]\n");
  write("spec-null.yaml", "base: base.yaml\nset:\n");
  write("spec-tag.yaml", "base: base.yaml\nset: !!python/object:os.system {sim.seed: 1}\n");
  write("spec-doc.yaml", "base: base.yaml\n---\nbase: other.yaml\n");
  write("huge.trace", "0x0 READ 18446744073709551615\n");
  write("bound.trace", "0x40 READ 7\n0x0 WRITE 281474976710656\n");
  const char nul[] = "0x0 READ 5\n0x\x01\x00 READ 6\n";
  write("nul.trace", std::string(nul, sizeof nul - 1));
  const std::string big = variant("big-token.yaml", "kind: random", "kind: " + std::string(3 << 20, 'z'));
  std::string ctl = kBase;
  ctl.replace(ctl.find("kind: random"), 12, "kind: \"rand\\x01om\\nx\"");
  write("ctl.yaml", ctl);
  std::string matrix = kBase;
  matrix.replace(matrix.find("  cores: 1\n"), 11,
                 "  cores: 1\n  interconnect:\n    distance:\n      - [10, 21]\n      - [21, x]\n");
  write("matrix.yaml", matrix);

  expect_refused({
      // 1. duplicate keys, also a second top-level block and in sweep specs
      {"1 duplicate cores",
       run + variant("dup.yaml", "  cores: 1\n", "  cores: 4\n  cores: 2\n") + out,
       {"dup.yaml:6: duplicate key 'system.cores' (first given at line 5)"}},
      {"1 second sim block", run + write("dup-sim.yaml", std::string(kBase) + "sim: {seed: 7}\n") + out,
       {"dup-sim.yaml:14: duplicate key 'sim' (first given at line 1)"}},
      {"1 nested duplicate",
       run + variant("dup-nested.yaml", "      footprint: 1MiB\n", "      footprint: 1MiB\n      footprint: 2MiB\n") + out,
       {"dup-nested.yaml:13: duplicate key 'processes[0].workload.footprint'"}},
      {"1 duplicate in a sweep spec", "sweep {dir}/spec-dup.yaml --dry-run --out {dir}/s",
       {"spec-dup.yaml:4: duplicate key 'grid.sim.seed'"}},
      // 2. a second document, valid or not
      {"2 second document", run + write("doc2.yaml", std::string(kBase) + "---\nsim: {seed: 2}\n") + out,
       {"doc2.yaml:14: a second YAML document ('---')"}},
      {"2 invalid second document", run + write("doc2bad.yaml", std::string(kBase) + "---\nsim: {seed: [\n") + out,
       {"doc2bad.yaml:", "YAML syntax error"}},
      {"2 second document in a sweep spec", "sweep {dir}/spec-doc.yaml --dry-run --out {dir}/s",
       {"spec-doc.yaml:2: a second YAML document"}},
      // 3. explicit nulls
      {"3 empty mode", run + variant("null-mode.yaml", "  mode: functional\n", "  mode:\n") + out,
       {"null-mode.yaml:2: sim.mode: empty value"}},
      {"3 empty footprint", run + variant("null-fp.yaml", "      footprint: 1MiB\n", "      footprint:\n") + out,
       {"null-fp.yaml:12: processes[0].workload.footprint: empty value"}},
      {"3 empty workload",
       run + write("null-wl.yaml", std::string(kBase).substr(0, std::string(kBase).find("    workload:")) + "    workload:\n") +
           out,
       {"null-wl.yaml:10: processes[0].workload: empty value"}},
      {"3 explicit null", run + variant("null-tilde.yaml", "  seed: 1\n", "  seed: ~\n") + out,
       {"null-tilde.yaml:3: sim.seed: empty value"}},
      {"3 empty set in a sweep spec", "sweep {dir}/spec-null.yaml --dry-run --out {dir}/s",
       {"spec-null.yaml:2: set: empty value"}},
      // 4. tags
      {"4 python tag", run + variant("tag.yaml", "  seed: 1\n", "  seed: !!python/object:os.system 1\n") + out,
       {"tag.yaml:3: sim.seed: YAML tag '!!python/object:os.system' is not allowed"}},
      {"4 local tag", run + variant("tag2.yaml", "      kind: random\n", "      kind: !kind random\n") + out,
       {"tag2.yaml:11: processes[0].workload.kind: YAML tag '!kind'"}},
      {"4 tag in a sweep spec", "sweep {dir}/spec-tag.yaml --dry-run --out {dir}/s",
       {"spec-tag.yaml:2: set: YAML tag '!!python/object:os.system'"}},
      // 5. DRAM trace cycles beyond the bound
      {"5 cycle 2^64-1", "dram --trace {dir}/huge.trace",
       {"huge.trace:1: bad cycle '18446744073709551615' (out of range (max 281474976710655"}},
      {"5 cycle 2^48", "dram --trace {dir}/bound.trace --set system.memory.dram.controller.refresh=off",
       {"bound.trace:2: bad cycle '281474976710656' (out of range"}},
      // 6. directories where files belong
      {"6 run a directory", run + VMSIM_SOURCE_DIR "/configs" + out, {"/configs: is a directory"}},
      {"6 dram --config a directory", "dram --trace {dir}/huge.trace --config " VMSIM_SOURCE_DIR "/configs",
       {"/configs: is a directory"}},
      {"6 dram --trace a directory", "dram --trace {dir}", {": is a directory"}},
      {"6 sweep a directory", "sweep {dir} --dry-run --out {dir}/s", {": is a directory"}},
      {"6 sweep base a directory", "sweep " + write("spec-dir.yaml", "base: .\n") + " --dry-run --out {dir}/s",
       {"spec-dir.yaml: base: '", "' is a directory"}},
      {"6 refs --file a directory", "refs --file {dir}", {": is a directory"}},
      {"6 trace convert a directory", "trace convert {dir} {dir}/x.vmt", {": is a directory"}},
      {"6 workload trace a directory",
       run + variant("trace-dir.yaml", "      kind: random\n      footprint: 1MiB\n      accesses: 1000\n",
                     "      kind: lackey\n      trace: " + m_dir + "\n") + out,
       {": is a directory"}},
      // 7. the command line
      {"7 --seed -1", run + base + out + " --seed -1", {"--seed: bad value '-1'"}},
      {"7 --seed 2^64", run + base + out + " --seed 18446744073709551616",
       {"--seed: bad value '18446744073709551616' (out of range (max 18446744073709551615))"}},
      {"7 --seed ''", run + base + out + " --seed ''", {"--seed: bad value '' (empty"}},
      {"7 refs --tau -1", "refs 1,2,3 --tau -1", {"--tau: bad value '-1'"}},
      {"7 sweep -j x", "sweep {dir}/spec-dup.yaml -j x", {"--jobs: bad value 'x'"}},
      {"7 --set sim..seed", run + base + out + " --set sim..seed=9",
       {"--set sim..seed=9: empty component in key path 'sim..seed'"}},
      {"7 --set [x]", run + base + out + " --set 'processes[x].core=0'", {"--set processes[x].core=0: bad list index"}},
      {"7 --set index into an absent list", run + base + out + " --set 'system.core.mmu.tlb.stlb[0].entries=2048'",
       {"--set system.core.mmu.tlb.stlb[0].entries=2048: 'stlb' is not in the config, so it has no element [0]"}},
      {"7 badly typed --set", run + base + out + " --set sim.seed=abc",
       {"--set sim.seed=abc: sim.seed: bad value 'abc'"}},
      {"7 badly typed --set flow value", run + base + out + " --set 'system.memory.nodes=[{size: lots}]'",
       {"--set system.memory.nodes=[{size: lots}]: system.memory.nodes[0].size: bad value 'lots'"}},
      // 8. messages: one line, escaped, cut; range errors; (decimal DRAM addresses: see the help test)
      {"8 block matrix", run + write("m.yaml", matrix) + out,
       {"m.yaml:8: system.interconnect.distance: bad value '[[10, 21], [21, x]]'"}},
      {"8 control bytes", run + write("c.yaml", ctl) + out,
       {"processes[0].workload.kind: bad value 'rand\\x01om\\nx'"}},
      {"8 NUL in a trace", "dram --trace {dir}/nul.trace", {"nul.trace:2: bad address '0x\\x01\\0'"}},
      {"8 3 MB token", run + big + out,
       {"big-token.yaml:11: processes[0].workload.kind: bad value 'zzz", "z... (3145728 bytes)' (expected "}},
      {"8 size out of range", run + variant("range.yaml", "footprint: 1MiB", "footprint: 100EiB") + out,
       {"range.yaml:12: processes[0].workload.footprint: bad value '100EiB' (out of range (max"}},
      {"8 PiB is a size", run + variant("pib.yaml", "footprint: 1MiB", "footprint: 1PiB") + out,
       {"processes[0].workload.footprint: bad value '1024TiB' (base + footprint must stay"}},
      {"8 count out of range", run + variant("count.yaml", "accesses: 1000", "accesses: 99999999999999999999") + out,
       {"processes[0].workload.accesses: bad value '99999999999999999999' (out of range (max 18446744073709551615))"}},
  });
  // The 3 MB token is not echoed whole.
  Result r = vmsim(run + big + out.substr(0, out.find("{dir}")) + m_dir + "/o");
  EXPECT_LT(r.err.size(), 400u);
  std::printf("bad inputs refused: %zu\n", m_refused);
}

// The --set examples of `vmsim run --help` name real keys, and `vmsim dram --help` says both number
// forms of a trace are accepted.
TEST_F(Inputs, HelpExamplesAreTrue) {
  Result help = vmsim("run --help");
  ASSERT_EQ(help.code, 0);
  const std::string base = write("base.yaml", kBase);
  const std::regex example("--set ([a-z_.\\[\\]0-9]+=[0-9a-zA-Z]+)");
  int examples = 0;
  for (auto it = std::sregex_iterator(help.out.begin(), help.out.end(), example); it != std::sregex_iterator(); ++it) {
    const std::string set = (*it)[1].str();
    Result r = vmsim("run " + base + " -q --out " + m_dir + "/o --set '" + set + "'");
    EXPECT_EQ(r.code, 0) << set << ": " << r.err;
    ++examples;
  }
  EXPECT_GE(examples, 2) << help.out;
  Result dram = vmsim("dram --help");
  EXPECT_NE(dram.out.find("0x hex or decimal"), std::string::npos) << dram.out;
}

// One default per key: an STLB array that gives only its entries keeps the STLB's ways, hit latency and
// page sizes (not an L1's, as before).
TEST_F(Inputs, PartialStlbArrayKeepsTheStlbDefaults) {
  const std::string base = write("base.yaml", kBase);
  Result r = vmsim("run " + base + " -q --out " + m_dir + "/o --set 'system.core.mmu.tlb.stlb=[{entries: 2048}]'");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string resolved = slurp(m_dir + "/o/config.resolved.yaml");
  EXPECT_NE(resolved.find("stlb:\n          - entries: 2048\n            ways: 8\n            hit_latency: 7\n"
                          "            replacement: lru\n            page_sizes: 4K,2M,1G"),
            std::string::npos)
      << resolved;
}

}  // namespace
}  // namespace vmsim_system_test
