// System tests of the study commands: vmsim sweep with the local backend (tables, resume, a
// failing run, Ctrl-C), spec and option errors, the Slurm backend's dry run, one array task and collect
// (without a Slurm: tests/slurm/ runs the backend against a real one), vmsim refs and vmsim frag.
#include <fcntl.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "tests/system/system_fixture.hpp"

namespace vmsim_system_test {
namespace {

namespace fs = std::filesystem;

// One core, a small random workload: each run takes a fraction of a second.
const std::string kBase = R"(
sim: {mode: lt, seed: 1, checker: true}
system:
  cores: 1
  core:
    mmu:
      tlb:
        stlb: [{entries: 1024, ways: 8, hit_latency: 7}]
  memory:
    nodes: [{size: 64MiB}]
processes:
  - name: rnd
    workload: {kind: random, footprint: 8MiB, accesses: 100000, read_fraction: 0.8}
)";

const std::string kSpec = R"(
base: base.yaml
set: {processes.0.workload.accesses: 3000}
grid:
  system.core.mmu.tlb.stlb.0.entries: [256, 512]
  system.core.mmu.walker.pwc.pde: [0, 32]
seeds: [1, 2]
metrics: [tlb_misses, avg_access_latency_core_cycles]
)";

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

size_t run_folders(const std::string& dir) {
  size_t n = 0;
  if (!fs::exists(dir + "/runs")) return 0;
  for (const auto& e : fs::directory_iterator(dir + "/runs")) n += e.is_directory() ? 1 : 0;
  return n;
}

class Study : public System {
 protected:
  void SetUp() override {
    System::SetUp();
    write("base.yaml", kBase);
  }
};

TEST_F(Study, SmallSweepWritesTablesAndResumeRunsNothingTwice) {
  const std::string spec = write("spec.yaml", kSpec);
  const std::string out = m_dir + "/sweep";

  Result dry = vmsim("sweep " + spec + " --out " + out + " --dry-run");
  ASSERT_EQ(dry.code, 0) << dry.err;
  EXPECT_NE(dry.out.find("8 runs (4 parameter points x 2 seeds)"), std::string::npos) << dry.out;
  EXPECT_EQ(count(dry.out, "system.core.mmu.walker.pwc.pde="), 8u) << dry.out;
  EXPECT_FALSE(fs::exists(out));

  Result r = vmsim("sweep " + spec + " --out " + out + " -j 2");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("8 runs: 8 ran, 0 skipped (complete before), 0 failed"), std::string::npos) << r.out;
  EXPECT_EQ(count(r.err, "sweep: ["), 8u) << r.err;  // not a terminal: one line per finished run
  const std::string results = slurp(out + "/results.csv");
  std::vector<std::string> rows = lines(results);
  ASSERT_EQ(rows.size(), 9u) << results;
  EXPECT_EQ(rows[0].rfind("system.core.mmu.tlb.stlb.0.entries,system.core.mmu.walker.pwc.pde,tlb_misses,"
                          "avg_access_latency_core_cycles,seed,status,exit_code,host_seconds,run,error,accesses,",
                          0),
            0u)
      << rows[0];
  EXPECT_NE(rows[0].find(",page_faults.total,"), std::string::npos);
  EXPECT_EQ(count(results, ",ok,0,"), 8u) << results;
  EXPECT_EQ(rows[1].rfind("256,0,", 0), 0u) << rows[1];
  EXPECT_EQ(rows[8].rfind("512,32,", 0), 0u) << rows[8];
  EXPECT_EQ(run_folders(out), 8u);

  nlohmann::json j = nlohmann::json::parse(slurp(out + "/results.json"));
  ASSERT_EQ(j["runs"].size(), 8u);
  std::set<std::string> hashes;
  for (const auto& run : j["runs"]) {
    EXPECT_EQ(run["status"], "ok");
    EXPECT_EQ(run["stats"]["accesses"], 3000);
    const std::string dir = out + "/runs/" + run["run"].get<std::string>();
    hashes.insert(run["run"].get<std::string>());
    // The run's folder holds what `vmsim run` writes, with the swept values in its resolved config.
    const std::string resolved = slurp(dir + "/config.resolved.yaml");
    EXPECT_NE(resolved.find("entries: " + run["params"]["system.core.mmu.tlb.stlb.0.entries"].get<std::string>()),
              std::string::npos);
    EXPECT_NE(resolved.find("seed: " + std::to_string(run["seed"].get<int>())), std::string::npos);
    EXPECT_EQ(nlohmann::json::parse(slurp(dir + "/stats.json"))["summary"]["tlb_misses"], run["stats"]["tlb_misses"]);
  }
  EXPECT_EQ(hashes.size(), 8u);
  // Seeds change the random stream; a larger STLB misses no more often.
  EXPECT_NE(j["runs"][0]["stats"]["tlb_misses"], j["runs"][1]["stats"]["tlb_misses"]);
  EXPECT_GE(j["runs"][0]["stats"]["tlb_misses"].get<uint64_t>(), j["runs"][4]["stats"]["tlb_misses"].get<uint64_t>());

  const std::string summary = slurp(out + "/summary.csv");
  std::vector<std::string> points = lines(summary);
  ASSERT_EQ(points.size(), 5u) << summary;
  EXPECT_EQ(points[0].rfind("system.core.mmu.tlb.stlb.0.entries,system.core.mmu.walker.pwc.pde,runs,ok,"
                            "tlb_misses.mean,tlb_misses.ci95,avg_access_latency_core_cycles.mean,",
                            0),
            0u)
      << points[0];
  EXPECT_EQ(points[1].rfind("256,0,2,2,", 0), 0u) << points[1];

  // Again with --resume: nothing runs, the tables come out the same (host times kept from the first time).
  Result again = vmsim("sweep " + spec + " --out " + out + " -j 2 --resume");
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("8 runs: 0 ran, 8 skipped (complete before), 0 failed"), std::string::npos) << again.out;
  EXPECT_EQ(slurp(out + "/results.csv"), results);
  EXPECT_EQ(slurp(out + "/summary.csv"), summary);

  // A changed parameter never reuses stale results: only the points with the new value run.
  std::string changed = kSpec;
  changed.replace(changed.find("[256, 512]"), 10, "[256, 768]");
  write("spec.yaml", changed);
  Result more = vmsim("sweep " + spec + " --out " + out + " -j 2 --resume");
  ASSERT_EQ(more.code, 0) << more.err;
  EXPECT_NE(more.out.find("8 runs: 4 ran, 4 skipped"), std::string::npos) << more.out;
  EXPECT_EQ(count(slurp(out + "/results.csv"), "\n768,"), 4u);
}

TEST_F(Study, AFailingRunIsRecordedAndTheOthersFinish) {
  const std::string spec = write("spec.yaml", R"(
base: base.yaml
set: {processes.0.workload.accesses: 2000}
grid: {system.core.mmu.tlb.stlb.0.entries: [256, 0, 512]}
)");
  Result r = vmsim("sweep " + spec + " --out " + m_dir + "/s -j 2");
  EXPECT_EQ(r.code, 1) << r.err;  // some run failed (documented in docs/STUDIES.md)
  EXPECT_NE(r.out.find("3 runs: 3 ran, 0 skipped (complete before), 1 failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("failed: "), std::string::npos) << r.out;
  nlohmann::json j = nlohmann::json::parse(slurp(m_dir + "/s/results.json"));
  ASSERT_EQ(j["runs"].size(), 3u);
  EXPECT_EQ(j["runs"][0]["status"], "ok");
  EXPECT_EQ(j["runs"][1]["status"], "failed");
  EXPECT_EQ(j["runs"][1]["exit_code"], 2);
  const std::string error = j["runs"][1]["error"];
  EXPECT_NE(error.find("system.core.mmu.tlb.stlb"), std::string::npos) << error;
  EXPECT_NE(error.find("entries"), std::string::npos) << error;
  EXPECT_EQ(j["runs"][2]["status"], "ok");
  EXPECT_FALSE(fs::exists(m_dir + "/s/summary.csv"));  // one seed: nothing to average
  const std::string csv = slurp(m_dir + "/s/results.csv");
  EXPECT_EQ(count(csv, ",ok,0,"), 2u);
  EXPECT_EQ(count(csv, ",failed,2,"), 1u);
  // --resume retries failed runs only.
  Result again = vmsim("sweep " + spec + " --out " + m_dir + "/s -j 2 --resume");
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.out.find("3 runs: 1 ran, 2 skipped"), std::string::npos) << again.out;
}

TEST_F(Study, CtrlCKillsRunningChildrenAndKeepsFinishedRuns) {
  const std::string spec = write("spec.yaml", R"(
base: base.yaml
set: {processes.0.workload.accesses: 150000}
grid: {system.core.mmu.walker.pwc.pde: [0, 8, 16, 32, 64, 128]}
)");
  const std::string out = m_dir + "/s";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int fd = ::open((m_dir + "/sweep.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl(VMSIM_BIN, VMSIM_BIN, "sweep", spec.c_str(), "--out", out.c_str(), "-j", "1", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Interrupt once the first run has finished.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto finished = [&] {
    size_t n = 0;
    if (!fs::exists(out + "/runs")) return n;
    for (const auto& e : fs::directory_iterator(out + "/runs")) n += fs::exists(e.path() / "status.json") ? 1 : 0;
    return n;
  };
  while (finished() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GT(finished(), 0u);
  ::kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << slurp(m_dir + "/sweep.out");
  EXPECT_EQ(WEXITSTATUS(status), 130) << slurp(m_dir + "/sweep.out");
  const size_t done = finished();
  ASSERT_LT(done, 6u) << "the sweep finished before it was interrupted";
  EXPECT_EQ(run_folders(out), done);  // the killed run's partial folder is gone, finished ones stay
  EXPECT_EQ(lines(slurp(out + "/results.csv")).size(), done + 1);
  EXPECT_NE(slurp(m_dir + "/sweep.out").find("sweep interrupted"), std::string::npos);

  Result rest = vmsim("sweep " + spec + " --out " + out + " -j 2 --resume");
  ASSERT_EQ(rest.code, 0) << rest.err;
  EXPECT_NE(rest.out.find("6 runs: " + std::to_string(6 - done) + " ran, " + std::to_string(done) + " skipped"),
            std::string::npos)
      << rest.out;
}

TEST_F(Study, BadSpecsAndOptionsAreOneLineErrors) {
  struct Case {
    std::string spec, message;
  };
  const std::vector<Case> cases = {
      {"base: base.yaml\ngird: {a: [1]}\n", "spec.yaml:2: gird: unknown key"},
      {"base: base.yaml\ngrid: {system.cores: []}\n", "grid.system.cores: empty list"},
      {"base: base.yaml\nzip: {system.cores: [1, 2], sim.seed: [1]}\n", "zip.sim.seed: 1 values but zip.system.cores has 2"},
      {"grid: {system.cores: [1]}\n", "spec.yaml:1: base: missing"},
      {"base: nothere.yaml\n", "spec.yaml: base: cannot open"},
  };
  for (const Case& c : cases) {
    const std::string spec = write("spec.yaml", c.spec);
    Result r = vmsim("sweep " + spec + " --out " + m_dir + "/s");
    EXPECT_EQ(r.code, 2) << c.spec;
    EXPECT_TRUE(one_line(r)) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  // A metric no run produces is reported after the runs (the tables are written; --resume reuses them).
  write("typo.yaml", "base: base.yaml\nset: {processes.0.workload.accesses: 1000}\nmetrics: [tlb_misess]\n");
  Result typo = vmsim("sweep " + m_dir + "/typo.yaml --out " + m_dir + "/t");
  EXPECT_EQ(typo.code, 2);
  EXPECT_NE(lines(typo.err).back().find("typo.yaml: metrics: 'tlb_misess' is not a summary statistic"),
            std::string::npos)
      << typo.err;
  EXPECT_EQ(lines(slurp(m_dir + "/t/results.csv")).size(), 2u);

  // Options of the Slurm backend: misapplied or malformed options fail before anything is written.
  const std::string spec = write("spec.yaml", kSpec);
  const std::vector<Case> options = {
      {"--mem 1G", "sweep: --mem applies to --backend slurm only"},
      {"--no-wait", "sweep: --no-wait applies to --backend slurm only"},
      {"--backend slurm --time 1h", "sweep: --time: bad value '1h'"},
      {"--backend slurm --mem 2GB", "sweep: --mem: bad value '2GB'"},
      {"--backend slurm --partition 'a b'", "sweep: --partition: bad value 'a b'"},
      {"--backend pbs", "--backend: pbs not in {local,slurm}"},
  };
  for (const Case& c : options) {
    Result r = vmsim("sweep " + spec + " --out " + m_dir + "/s " + c.spec);
    EXPECT_EQ(r.code, 2) << c.spec;
    EXPECT_TRUE(one_line(r)) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  Result collect = vmsim("sweep collect " + m_dir + "/t");  // a local sweep's folder has no Slurm plan
  EXPECT_EQ(collect.code, 2);
  EXPECT_TRUE(one_line(collect)) << collect.err;
  EXPECT_NE(collect.err.find("/t/slurm/plan.json: no such file"), std::string::npos) << collect.err;

  // No sbatch on PATH: one line, exit code 2, nothing written.
  const std::string path = std::getenv("PATH");
  fs::create_directories(m_dir + "/empty-bin");
  ::setenv("PATH", (m_dir + "/empty-bin").c_str(), 1);
  Result slurm = vmsim("sweep " + spec + " --out " + m_dir + "/s --backend slurm");
  ::setenv("PATH", path.c_str(), 1);
  EXPECT_EQ(slurm.code, 2);
  EXPECT_TRUE(one_line(slurm)) << slurm.err;
  EXPECT_NE(slurm.err.find("vmsim: error: sweep: --backend slurm: sbatch not found on PATH"), std::string::npos)
      << slurm.err;
  EXPECT_FALSE(fs::exists(m_dir + "/s"));
}

// --backend slurm --dry-run writes the plan and the array script, prints them, and submits nothing (so it
// needs no Slurm). The script's array has one task per run; -j becomes the throttle.
TEST_F(Study, SlurmDryRunWritesTheArrayScriptWithoutSubmitting) {
  const std::string spec = write("spec.yaml", kSpec);
  const std::string out = m_dir + "/s";
  const std::string path = std::getenv("PATH");
  fs::create_directories(m_dir + "/empty-bin");
  ::setenv("PATH", (m_dir + "/empty-bin").c_str(), 1);  // sbatch could not run even if it were installed
  Result r = vmsim("sweep " + spec + " --out " + out +
                   " --backend slurm --dry-run -j 3 --mem 300M --time 10 --partition debug --account lab");
  ::setenv("PATH", path.c_str(), 1);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("8 runs (4 parameter points x 2 seeds)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not submitted; submit it with `sbatch " + out + "/slurm/sweep.sbatch`"), std::string::npos)
      << r.out;
  const std::string script = slurp(out + "/slurm/sweep.sbatch");
  EXPECT_NE(r.out.find(script), std::string::npos);
  const std::vector<std::string> expected = {
      "#SBATCH --array=0-7%3\n",
      "#SBATCH --cpus-per-task=1\n",
      "#SBATCH --mem=300M\n",
      "#SBATCH --time=10\n",
      "#SBATCH --partition=debug\n",
      "#SBATCH --account=lab\n",
      "#SBATCH --output=" + out + "/slurm/tasks/%a/slurm-%A_%a.out\n",
      "exec '" + std::string(VMSIM_BIN) + "' sweep run-one '" + out + "' ",
  };
  for (const std::string& line : expected) {
    EXPECT_NE(script.find(line), std::string::npos) << line << "\n" << script;
  }
  const nlohmann::json plan = nlohmann::json::parse(slurp(out + "/slurm/plan.json"));
  ASSERT_EQ(plan["runs"].size(), 8u);
  EXPECT_EQ(plan["tasks"], nlohmann::json({0, 1, 2, 3, 4, 5, 6, 7}));
  // Task i's output goes to its run's folder through DIR/slurm/tasks/i.
  const std::string run0 = plan["runs"][0]["run"];
  EXPECT_EQ(fs::canonical(out + "/slurm/tasks/0"), fs::canonical(out + "/runs/" + run0));
  EXPECT_EQ(run_folders(out), 8u);
  EXPECT_FALSE(fs::exists(out + "/slurm/job"));
  EXPECT_FALSE(fs::exists(out + "/results.csv"));

  // The array task runs the run exactly as the local backend does: same folder, same record.
  Result task = vmsim("sweep run-one " + out + " 0");
  ASSERT_EQ(task.code, 0) << task.err;
  Result local = vmsim("sweep " + spec + " --out " + m_dir + "/l -j 2");
  ASSERT_EQ(local.code, 0) << local.err;
  for (const char* file : {"stats.json", "config.resolved.yaml", "stdout.txt", "stderr.txt"}) {
    EXPECT_EQ(slurp(out + "/runs/" + run0 + "/" + file), slurp(m_dir + "/l/runs/" + run0 + "/" + file)) << file;
  }
  nlohmann::json a = nlohmann::json::parse(slurp(out + "/runs/" + run0 + "/status.json"));
  nlohmann::json b = nlohmann::json::parse(slurp(m_dir + "/l/runs/" + run0 + "/status.json"));
  a.erase("host_seconds");
  b.erase("host_seconds");
  EXPECT_EQ(a, b);
  // collect: one run recorded, seven missing.
  Result collect = vmsim("sweep collect " + out);
  EXPECT_EQ(collect.code, 1) << collect.err;
  EXPECT_NE(collect.out.find("8 runs: 1 ok, 0 failed, 7 missing"), std::string::npos) << collect.out;
  EXPECT_EQ(count(collect.out, "  missing: "), 7u) << collect.out;
  EXPECT_EQ(lines(slurp(out + "/results.csv")).size(), 2u);
  Result bad = vmsim("sweep run-one " + out + " 8");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("plan.json: no array task 8 (the plan has 8)"), std::string::npos) << bad.err;
}

TEST_F(Study, RefsPrintsTheFaultTableAndFlagsBelady) {
  Result r = vmsim("refs 1,2,3,4,1,2,5,1,2,3,4,5 --frames 1..5 --policy all");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* policy : {"fifo", "lru", "clock", "eclock", "lfu", "ws", "wsclock", "active_inactive", "opt",
                             "random"}) {
    EXPECT_NE(r.out.find(std::string("\n  ") + policy + " "), std::string::npos) << policy << "\n" << r.out;
  }
  EXPECT_NE(r.out.find("  fifo                 12      12       9      10!      5\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fifo: 3 frames 9 faults, 4 frames 10 faults"), std::string::npos) << r.out;

  Result csv = vmsim("refs \"7,0,1,2,0,3,0,4,2,3,0,3,2,1,2,0,1,7,0,1\" --frames 3 --policy fifo,lru,opt --csv");
  ASSERT_EQ(csv.code, 0) << csv.err;
  EXPECT_EQ(csv.out, "policy,frames,faults\nfifo,3,15\nlru,3,12\nopt,3,9\n");

  write("refs.txt", "7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0 1\n");
  Result file = vmsim("refs --file " + m_dir + "/refs.txt --frames 3 --policy fifo --csv");
  EXPECT_EQ(file.out, "policy,frames,faults\nfifo,3,15\n") << file.err;

  for (const auto& [args, message] : std::vector<std::pair<std::string, std::string>>{
           {"refs 1,2,x,4", "reference 2: bad token 'x'"},
           {"refs 1,2,3 --frames 0", "--frames: bad value '0'"},
           {"refs 1,2,3 --policy fifo,belady", "--policy: unknown policy 'belady'"},
           {"refs", "give the reference string or --file"}}) {
    Result bad = vmsim(args);
    EXPECT_EQ(bad.code, 2) << args;
    EXPECT_TRUE(one_line(bad)) << bad.err;
    EXPECT_NE(bad.err.find(message), std::string::npos) << args << ": " << bad.err;
  }
}

TEST_F(Study, FragIsTheFragsimExperiment) {
  Result r = vmsim("frag --policy all --steps 3000 --seed 3");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("fragsim: arena 1048576 B, 3000 steps, seed 3"), std::string::npos) << r.out;
  const std::string fragsim = (fs::path(VMSIM_BIN).parent_path() / "fragsim").string();
  const std::string cmd = fragsim + " --policy all --steps 3000 --seed 3 >" + m_dir + "/f.txt 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  // The same experiment: every row but the host-time ones is identical.
  auto without_host = [](const std::string& text) {
    std::string kept;
    for (const std::string& l : lines(text)) {
      if (l.find("host") == std::string::npos) kept += l + "\n";
    }
    return kept;
  };
  EXPECT_EQ(without_host(r.out), without_host(slurp(m_dir + "/f.txt")));
  Result bad = vmsim("frag --policy some-fit");
  EXPECT_EQ(bad.code, 2);
  EXPECT_TRUE(one_line(bad)) << bad.err;
  EXPECT_NE(bad.err.find("vmsim frag: --policy: bad value 'some-fit'"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace vmsim_system_test
