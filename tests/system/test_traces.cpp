// System tests of trace workloads: lackey counts (split accesses, trailing instructions), ChampSim traces,
// and vmsim trace convert (the converted trace replays to byte-identical statistics).
#include <fstream>
#include <string>
#include <vector>

#include "tests/system/system_fixture.hpp"

namespace vmsim_system_test {
namespace {

// A ChampSim input_instr record: ip, one source and one destination address (0 = none).
struct Instr {
  uint64_t ip;
  uint64_t src;
  uint64_t dst;
};

void write_champsim(const std::string& path, const std::vector<Instr>& instrs, size_t cut = 0) {
  std::string bytes;
  for (const Instr& in : instrs) {
    char b[64] = {};
    for (int i = 0; i < 8; ++i) {
      b[i] = static_cast<char>(in.ip >> (8 * i));
      b[16 + i] = static_cast<char>(in.dst >> (8 * i));
      b[32 + i] = static_cast<char>(in.src >> (8 * i));
    }
    bytes.append(b, 64);
  }
  bytes.resize(bytes.size() - cut);
  std::ofstream(path, std::ios::binary) << bytes;
}

// A small program: a loop over an array (reads), a store per iteration into another, every 8th
// instruction without memory; one access in 64 straddles a page.
std::vector<Instr> program(size_t n) {
  std::vector<Instr> v;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t ip = 0x401000 + 4 * (i % 256);
    if (i % 8 == 7) {
      v.push_back({ip, 0, 0});
    } else if (i % 64 == 5) {
      v.push_back({ip, 0x10000FFC + 0x1000 * (i % 32), 0});  // crosses into the next page
    } else {
      v.push_back({ip, 0x10000000 + 8 * (i % 20000), i % 3 == 0 ? 0x20000000 + 8 * (i % 5000) : 0});
    }
  }
  return v;
}

TEST_F(System, ChampsimTraceRunsAndItsVmsimConversionReplaysIdentically) {
  const std::vector<Instr> prog = program(30000);
  uint64_t reads = 0, writes = 0;
  for (const Instr& in : prog) {
    reads += in.src != 0;
    writes += in.dst != 0;
  }
  write_champsim(m_dir + "/prog.champsim", prog);
  ASSERT_EQ(std::system(("xz -k -T1 " + m_dir + "/prog.champsim").c_str()), 0) << "xz is needed";
  for (const char* mode : {"functional", "lt"}) {
    for (const char* fetches : {"true", "false"}) {
      const std::string tag = std::string(mode) + "_" + fetches;
      const std::string cfg = write("c_" + tag + ".yaml", std::string("sim: {checker: true, mode: ") + mode +
                                                              "}\nprocesses:\n  - name: prog\n    workload: {kind: "
                                                              "champsim, trace: prog.champsim.xz, fetches: " +
                                                              fetches + "}\n");
      Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/c_" + tag);
      ASSERT_EQ(r.code, 0) << r.err;
      const nlohmann::json j = stats(m_dir + "/c_" + tag);
      const auto& s = j["summary"];
      // One access per memory operand and one instruction per record, though some accesses straddle pages.
      EXPECT_EQ(s["reads"], reads) << tag;
      EXPECT_EQ(s["writes"], writes) << tag;
      EXPECT_EQ(s["fetches"], std::string(fetches) == "true" ? prog.size() : 0) << tag;
      EXPECT_EQ(s["instructions"], prog.size()) << tag;
      EXPECT_EQ(s["page_faults"]["demand_zero"], s["workload_distinct_pages"]) << tag;
      EXPECT_EQ(s["processes_killed"], 0) << tag;

      // The same trace, converted once: byte-identical statistics.
      r = vmsim("trace convert " + m_dir + "/prog.champsim.xz " + m_dir + "/prog.vmt");
      ASSERT_EQ(r.code, 0) << r.err;
      const std::string vcfg = write("v_" + tag + ".yaml", std::string("sim: {checker: true, mode: ") + mode +
                                                               "}\nprocesses:\n  - name: prog\n    workload: {kind: "
                                                               "vmsim_trace, trace: prog.vmt, fetches: " +
                                                               fetches + "}\n");
      r = vmsim("run " + vcfg + " -q --out " + m_dir + "/v_" + tag);
      ASSERT_EQ(r.code, 0) << r.err;
      EXPECT_EQ(slurp(m_dir + "/v_" + tag + "/stats.json"), slurp(m_dir + "/c_" + tag + "/stats.json")) << tag;
    }
  }
}

TEST_F(System, LackeyCountsStraddlingAccessesOnceAndTrailingInstructions) {
  // 4 instructions, 3 data accesses (one straddling a page, one fetch straddling a page), 2 trailing I lines.
  write("t.lackey",
        "I  00401000,4\n"
        " L 10000FFC,8\n"
        "I  00401FFE,4\n"
        " S 10002000,8\n"
        " M 10001FF8,16\n"
        "I  00402002,2\n"
        "I  00402004,2\n");
  for (const char* fetches : {"true", "false"}) {
    for (const std::string mode : {"functional", "lt", "at", "at_window"}) {
      // at_window: several operations in flight (the core's worker path).
      const std::string tag = mode + "_" + fetches;
      const std::string sim = mode == "at_window" ? "sim: {checker: true, mode: at}\nsystem: {core: {outstanding: 4}}\n"
                                                  : "sim: {checker: true, mode: " + mode + "}\n";
      const std::string cfg = write(tag + ".yaml", sim + "processes:\n  - workload: {kind: lackey, trace: t.lackey, "
                                                         "fetches: " + fetches + "}\n");
      Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/" + tag);
      ASSERT_EQ(r.code, 0) << r.err;
      const nlohmann::json j = stats(m_dir + "/" + tag);
      const auto& s = j["summary"];
      const bool f = std::string(fetches) == "true";
      EXPECT_EQ(s["instructions"], 4) << tag;
      EXPECT_EQ(s["reads"], 1) << tag;
      EXPECT_EQ(s["writes"], 2) << tag;
      EXPECT_EQ(s["fetches"], f ? 4 : 0) << tag;
      EXPECT_EQ(s["accesses"], f ? 7 : 3) << tag;
    }
  }
}

TEST_F(System, LackeyConvertedToVmsimTraceReplaysIdentically) {
  std::string text;
  for (int i = 0; i < 5000; ++i) {
    char line[64];
    std::snprintf(line, sizeof line, "I  %08x,3\n", 0x400000 + 3 * (i % 700));
    text += line;
    if (i % 3 != 2) {
      std::snprintf(line, sizeof line, " %c %08x,%d\n", "LSM"[i % 3], 0x10000000 + 13 * (i * 37 % 9000), 1 << (i % 4));
      text += line;
    }
  }
  text += "I  00400000,3\n";
  write("p.lackey", text);
  Result r = vmsim("trace convert " + m_dir + "/p.lackey " + m_dir + "/p.vmt");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("5001 instructions"), std::string::npos) << r.out;
  for (const char* fetches : {"true", "false"}) {
    for (const char* kind : {"lackey", "vmsim_trace"}) {
      const std::string file = std::string(kind) == "lackey" ? "p.lackey" : "p.vmt";
      const std::string cfg = write(std::string(kind) + fetches + ".yaml",
                                    std::string("processes:\n  - workload: {kind: ") + kind + ", trace: " + file +
                                        ", fetches: " + fetches + "}\n");
      r = vmsim("run " + cfg + " -q --out " + m_dir + "/" + kind + fetches);
      ASSERT_EQ(r.code, 0) << r.err;
    }
    EXPECT_EQ(slurp(m_dir + "/vmsim_trace" + fetches + "/stats.json"), slurp(m_dir + "/lackey" + fetches + "/stats.json"));
  }
}

TEST_F(System, BadChampsimTraceExitsTwoNamingRecord) {
  write_champsim(m_dir + "/cut.champsim", program(100), 20);
  const std::string cfg = write("cut.yaml", "processes:\n  - workload: {kind: champsim, trace: cut.champsim}\n");
  Result r = vmsim("run " + cfg + " --out " + m_dir + "/out");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r)) << r.err;
  EXPECT_NE(r.err.find("cut.champsim: record 100: truncated record (44 of 64 bytes"), std::string::npos) << r.err;
  r = vmsim("trace convert " + m_dir + "/cut.champsim " + m_dir + "/cut.vmt --from champsim");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r)) << r.err;
  EXPECT_NE(r.err.find("record 100"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace vmsim_system_test

namespace vmsim_system_test {
namespace {

// A trace cannot reach the kernel's half of the address space: its pre-scan gives the process no area
// there, and the access is a SIGSEGV naming the address ("kernel address from user mode"), in lackey,
// ChampSim and vmsim traces, 4- and 5-level paging, every mode, radix and hashed tables. The rest of the
// trace is not replayed; the user pages before it were faulted in as usual.
TEST_F(System, TraceAccessToTheKernelHalfIsASegvNotAMapping) {
  struct Paging {
    const char* name;
    unsigned levels;
    uint64_t kernel;  // a canonical address of the kernel's half
  } pagings[] = {{"l4", 4, 0xffff800000001000ull}, {"l5", 5, 0xff00000000000000ull}};
  for (const Paging& pg : pagings) {
    const std::string k = [&] {
      char b[32];
      std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(pg.kernel));
      return std::string(b);
    }();
    // Three user pages, then the kernel's half, then a fourth user page that is never reached.
    write(std::string(pg.name) + ".lackey", "I  00401000,4\n L 10000000,8\n S 10001008,8\nI  00401004,4\n L " + k +
                                                ",8\nI  00401008,4\n L 10005000,8\n");
    write_champsim(m_dir + "/" + pg.name + ".champsim",
                   {{0x401000, 0x10000000, 0}, {0x401004, 0, 0x10001008}, {0x401008, pg.kernel, 0},
                    {0x40100c, 0x10005000, 0}});
    ASSERT_EQ(vmsim("trace convert " + m_dir + "/" + pg.name + ".champsim " + m_dir + "/" + pg.name + ".vmt").code, 0);
    const std::string paging = std::string("system: {core: {mmu: {walker: {levels: ") + std::to_string(pg.levels) +
                               "}}}}\nfirmware: {page_table_levels: " + std::to_string(pg.levels) + "}\n";
    for (const char* kind : {"lackey", "champsim", "vmsim_trace"}) {
      const std::string file = std::string(pg.name) + (std::string(kind) == "lackey"     ? ".lackey"
                                                       : std::string(kind) == "champsim" ? ".champsim"
                                                                                         : ".vmt");
      for (const std::string mode : {"functional", "lt", "at", "hashed"}) {
        const std::string tag = std::string(pg.name) + "_" + kind + "_" + mode;
        const std::string sim = mode == "hashed" ? "sim: {checker: true}\n" : "sim: {checker: true, mode: " + mode + "}\n";
        std::string text = sim + paging + "processes:\n  - {name: t, workload: {kind: " + kind + ", trace: " + file + "}}\n";
        if (mode == "hashed") {
          text = with_overrides(text, "system: {core: {mmu: {walker: {format: hashed, hash_buckets: 256}}}}");
        }
        const std::string cfg = write(tag + ".yaml", text);
        Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/" + tag);
        ASSERT_EQ(r.code, 0) << tag << ": " << r.err;
        const nlohmann::json j = stats(m_dir + "/" + tag);
        const auto& s = j["summary"];
        EXPECT_EQ(s["processes_killed"], 1) << tag;
        EXPECT_EQ(s["page_faults"]["segv_protection"], 1) << tag;
        EXPECT_EQ(s["page_faults"]["segv_no_vma"], 0) << tag;
        EXPECT_EQ(s["page_faults"]["demand_zero"], 3) << tag << ": the code page and two data pages, nothing above";
        ASSERT_EQ(j["kills"].size(), 1u) << tag;
        EXPECT_EQ(j["kills"][0]["signal"], "SIGSEGV") << tag;
        EXPECT_EQ(j["kills"][0]["address"], "0x" + k) << tag;
        EXPECT_EQ(j["kills"][0]["access"], "read") << tag;
        EXPECT_EQ(j["kills"][0]["reason"], "kernel address from user mode") << tag;
        EXPECT_NE(r.err.find("0x" + k), std::string::npos) << tag << ": " << r.err;
        EXPECT_NE(r.err.find("kernel address from user mode"), std::string::npos) << tag << ": " << r.err;
        expect_frames_conserved(j);
      }
    }
  }
  // With 4 levels, the 5-level kernel address is not canonical: a SIGSEGV too (a #GP on the hardware).
  const std::string cfg = write("nc.yaml", "sim: {checker: true}\nprocesses:\n  - {name: t, workload: {kind: lackey, "
                                           "trace: l5.lackey}}\n");
  Result r = vmsim("run " + cfg + " -q --out " + m_dir + "/nc");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = stats(m_dir + "/nc");
  ASSERT_EQ(j["kills"].size(), 1u);
  EXPECT_EQ(j["kills"][0]["address"], "0xff00000000000000");
  EXPECT_EQ(j["kills"][0]["reason"], "non-canonical address");
  EXPECT_EQ(j["summary"]["page_faults"]["demand_zero"], 3);
  // The fixed firmware (no OS, no VMAs) maps only the user half too: the access ends the process.
  r = vmsim("run " + cfg + " -q --set firmware.kind=fixed --set 'processes.0.workload.trace=l4.lackey' --out " + m_dir +
            "/fixed");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json f = stats(m_dir + "/fixed");
  EXPECT_EQ(f["summary"]["page_faults"]["segv_protection"], 1);
  EXPECT_EQ(f["summary"]["page_faults"]["demand_zero"], 3);
  EXPECT_EQ(f["summary"]["page_faults"]["oom"], 0);
  EXPECT_EQ(f["summary"]["accesses"], 4) << "two fetches, two data accesses, then the kernel's half: the end";
}

}  // namespace
}  // namespace vmsim_system_test
