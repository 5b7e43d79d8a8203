// Unit tests of the study tools: sweep spec parsing and expansion, run hashes, CSV quoting, confidence
// intervals, result tables, run records, the Slurm backend's sbatch script and the reference-string
// table (vmsim refs).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "apps/vmsim/refs.hpp"
#include "apps/vmsim/slurm_script.hpp"
#include "apps/vmsim/study_results.hpp"
#include "apps/vmsim/sweep_runs.hpp"
#include "apps/vmsim/sweep_spec.hpp"
#include "common/error.hpp"

namespace vmsim::study {
namespace {

// The error of parsing text as a spec ("" if it parses).
std::string spec_error(const std::string& text) {
  try {
    parse_sweep_spec(text, "dir/s.yaml");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(SweepSpec, ParsesEveryKeyAndResolvesBaseAgainstTheSpecFolder) {
  SweepSpec s = parse_sweep_spec(R"(
base: ../presets/default.yaml
set: {processes.0.workload.accesses: 1000, 'system.memory.nodes': [{size: 1GiB}]}
grid:
  a.b: [1, 2]
zip: {c: [x, y, z], d: [3, 4, 5]}
seeds: [7, 8]
metrics: [tlb_misses]
)",
                                 "configs/sweeps/s.yaml");
  EXPECT_EQ(s.base, "configs/presets/default.yaml");
  ASSERT_EQ(s.sets.size(), 2u);
  EXPECT_EQ(s.sets[0].first, "processes.0.workload.accesses");
  EXPECT_EQ(s.sets[0].second, "1000");
  EXPECT_EQ(s.sets[1].second, "[{size: 1GiB}]");
  EXPECT_EQ(s.swept_keys(), (std::vector<std::string>{"a.b", "c", "d"}));
  EXPECT_EQ(s.points(), 6u);
  EXPECT_EQ(s.seeds, (std::vector<uint64_t>{7, 8}));
  EXPECT_EQ(s.metrics, (std::vector<std::string>{"tlb_misses"}));
  EXPECT_EQ(parse_sweep_spec("base: /abs/x.yaml", "dir/s.yaml").base, "/abs/x.yaml");
}

TEST(SweepSpec, BadSpecsAreOneLineErrorsNamingFileAndKey) {
  struct Case {
    std::string text, message;
  };
  const std::vector<Case> cases = {
      {"base: b.yaml\ngird: {a: [1]}", "dir/s.yaml:2: gird: unknown key"},
      {"grid: {a: [1]}", "dir/s.yaml:1: base: missing"},
      {"base: b.yaml\ngrid: {a: []}", "dir/s.yaml:2: grid.a: empty list"},
      {"base: b.yaml\ngrid: {a: 3}", "grid.a: expected a list of values"},
      {"base: b.yaml\nzip:\n  a: [1, 2]\n  b: [1, 2, 3]", "dir/s.yaml:4: zip.b: 3 values but zip.a has 2"},
      {"base: b.yaml\nseeds: []", "seeds: empty list"},
      {"base: b.yaml\nseeds: [1, -2]", "seeds: bad value '-2'"},
      {"base: b.yaml\nseeds: [1, 1]", "seeds: seed 1 listed twice"},
      {"base: b.yaml\nmetrics: []", "metrics: empty list"},
      {"base: b.yaml\nset: {a: 1}\ngrid: {a: [1, 2]}", "grid.a: key given twice"},
      {"base: b.yaml\ngrid: [1, 2]", "grid: expected a map"},
      {"- 1", "expected a map"},
  };
  for (const Case& c : cases) {
    const std::string err = spec_error(c.text);
    EXPECT_NE(err.find(c.message), std::string::npos) << c.text << "\n -> " << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  }
  try {
    load_sweep_spec("/nonexistent/spec.yaml");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/spec.yaml: cannot open"), std::string::npos);
  }
}

TEST(SweepSpec, GridIsEveryCombinationLastKeyFastestThenSeeds) {
  SweepSpec s = parse_sweep_spec("base: b.yaml\nset: {f: 9}\ngrid: {a: [1, 2, 3], b: [x, y]}\nseeds: [5, 6]", "s.yaml");
  std::vector<SweepRun> runs = expand_sweep(s);
  ASSERT_EQ(runs.size(), 12u);
  EXPECT_EQ(runs[0].overrides, (std::vector<std::string>{"f=9", "a=1", "b=x"}));
  EXPECT_EQ(*runs[0].seed, 5u);
  EXPECT_EQ(*runs[1].seed, 6u);
  EXPECT_EQ(runs[1].point, 0u);
  EXPECT_EQ(runs[2].overrides, (std::vector<std::string>{"f=9", "a=1", "b=y"}));
  EXPECT_EQ(runs[2].point, 1u);
  EXPECT_EQ(runs[4].params, (std::vector<std::pair<std::string, std::string>>{{"a", "2"}, {"b", "x"}}));
  EXPECT_EQ(runs[11].overrides, (std::vector<std::string>{"f=9", "a=3", "b=y"}));
  EXPECT_EQ(runs[11].point, 5u);
  for (size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(runs[i].index, i);
}

TEST(SweepSpec, ZipAdvancesTogetherAndCombinesWithTheGrid) {
  SweepSpec zip = parse_sweep_spec("base: b.yaml\nzip: {p: [4K, 2M, 1G], q: [a, b, c]}", "s.yaml");
  std::vector<SweepRun> z = expand_sweep(zip);
  ASSERT_EQ(z.size(), 3u);
  EXPECT_EQ(z[1].overrides, (std::vector<std::string>{"p=2M", "q=b"}));
  EXPECT_FALSE(z[1].seed.has_value());  // no seeds: the base config's own

  SweepSpec both = parse_sweep_spec("base: b.yaml\ngrid: {g: [1, 2]}\nzip: {p: [x, y, z], q: [3, 4, 5]}\nseeds: [1]",
                                    "s.yaml");
  std::vector<SweepRun> gz = expand_sweep(both);
  ASSERT_EQ(gz.size(), 6u);
  EXPECT_EQ(both.points(), 6u);
  EXPECT_EQ(gz[0].overrides, (std::vector<std::string>{"g=1", "p=x", "q=3"}));
  EXPECT_EQ(gz[2].overrides, (std::vector<std::string>{"g=1", "p=z", "q=5"}));
  EXPECT_EQ(gz[3].overrides, (std::vector<std::string>{"g=2", "p=x", "q=3"}));

  SweepSpec only_seeds = parse_sweep_spec("base: b.yaml\nseeds: [1, 2, 3]", "s.yaml");
  std::vector<SweepRun> os = expand_sweep(only_seeds);
  ASSERT_EQ(os.size(), 3u);
  EXPECT_TRUE(os[2].params.empty());
  EXPECT_EQ(os[2].point, 0u);
}

TEST(RunHash, StableAndSensitiveToEveryParameterAndTheSeed) {
  // FNV-1a 64 reference values.
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ull);
  const std::string cfg = "sim:\n  seed: 1\nsystem:\n  entries: 1024\n";
  EXPECT_EQ(run_hash(cfg, 1), run_hash(std::string(cfg), 1));
  EXPECT_EQ(run_hash(cfg, 1).size(), 16u);
  EXPECT_NE(run_hash(cfg, 1), run_hash("sim:\n  seed: 1\nsystem:\n  entries: 2048\n", 1));
  EXPECT_NE(run_hash(cfg, 1), run_hash(cfg, 2));
}

TEST(Csv, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("1.5"), "1.5");
  EXPECT_EQ(csv_field(""), "");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_field(" padded"), "\" padded\"");
  EXPECT_EQ(csv_field("[{size: 1GiB}, {size: 2GiB}]"), "\"[{size: 1GiB}, {size: 2GiB}]\"");
  EXPECT_EQ(csv_row({"a", "b,c", ""}), "a,\"b,c\",\n");
}

TEST(ConfidenceInterval, MatchesHandComputedValues) {
  EXPECT_DOUBLE_EQ(student_t975(1), 12.7062);
  EXPECT_DOUBLE_EQ(student_t975(2), 4.3027);
  EXPECT_DOUBLE_EQ(student_t975(9), 2.2622);
  EXPECT_DOUBLE_EQ(student_t975(30), 2.0423);
  EXPECT_DOUBLE_EQ(student_t975(35), 2.0423);  // between rows: the smaller df (wider interval)
  EXPECT_DOUBLE_EQ(student_t975(100000), 1.96);
  EXPECT_THROW(student_t975(0), std::invalid_argument);

  // 2, 4, 6: mean 4, s = 2, half-width = 4.3027 * 2 / sqrt(3) = 4.96833...
  MeanCi a = mean_ci95({2, 4, 6});
  EXPECT_EQ(a.n, 3u);
  EXPECT_DOUBLE_EQ(a.mean, 4.0);
  EXPECT_NEAR(a.half_width, 4.968331, 1e-6);
  // 10, 12: mean 11, s = sqrt(2), half-width = 12.7062 * sqrt(2) / sqrt(2) = 12.7062.
  MeanCi b = mean_ci95({10, 12});
  EXPECT_DOUBLE_EQ(b.mean, 11.0);
  EXPECT_NEAR(b.half_width, 12.7062, 1e-12);
  // Identical values: no spread.
  EXPECT_DOUBLE_EQ(mean_ci95({5, 5, 5, 5}).half_width, 0.0);
  // One value: no interval.
  MeanCi one = mean_ci95({3});
  EXPECT_DOUBLE_EQ(one.mean, 3.0);
  EXPECT_TRUE(std::isnan(one.half_width));
  EXPECT_TRUE(std::isnan(mean_ci95({}).mean));
}

TEST(ResultTables, ColumnsRowsAndSummary) {
  SweepSpec spec = parse_sweep_spec("base: b.yaml\ngrid: {k: [1, 2]}\nseeds: [1, 2]\nmetrics: [m2]", "s.yaml");
  std::vector<SweepRun> runs = expand_sweep(spec);
  std::vector<RunResult> results;
  const double m2[] = {10, 12, 20, 0};
  for (size_t i = 0; i < runs.size(); ++i) {
    RunResult r;
    r.run = runs[i];
    r.seed = runs[i].seed;
    r.hash = "h" + std::to_string(i);
    r.ok = i != 3;
    r.exit_code = r.ok ? 0 : 2;
    r.host_seconds = 1.25;
    if (r.ok) {
      r.stats = flatten_summary(nlohmann::ordered_json::parse(R"({"m1": 5, "nested": {"x": 0.5, "name": "s"}, "m2": )" +
                                                      std::to_string(m2[i]) + "}"));
    } else {
      r.error = "vmsim: error: k: bad value '2', really";
    }
    results.push_back(r);
  }
  EXPECT_EQ(result_columns(spec, results),
            (std::vector<std::string>{"k", "m2", "seed", "status", "exit_code", "host_seconds", "run", "error", "m1",
                                      "nested.x"}));
  const std::string csv = results_csv(spec, results);
  EXPECT_EQ(csv,
            "k,m2,seed,status,exit_code,host_seconds,run,error,m1,nested.x\n"
            "1,10.0,1,ok,0,1.250,h0,,5,0.5\n"
            "1,12.0,2,ok,0,1.250,h1,,5,0.5\n"
            "2,20.0,1,ok,0,1.250,h2,,5,0.5\n"
            "2,,2,failed,2,1.250,h3,\"vmsim: error: k: bad value '2', really\",,\n");
  nlohmann::ordered_json j = results_json(spec, results);
  ASSERT_EQ(j["runs"].size(), 4u);
  EXPECT_EQ(j["runs"][3]["status"], "failed");
  EXPECT_EQ(j["runs"][0]["params"]["k"], "1");
  EXPECT_EQ(j["runs"][2]["stats"]["m2"], 20.0);

  const std::string summary = summary_csv(spec, results);
  EXPECT_EQ(summary,
            "k,runs,ok,m2.mean,m2.ci95,m1.mean,m1.ci95,nested.x.mean,nested.x.ci95\n"
            "1,2,2,11,12.7062,5,0,0.5,0\n"
            "2,2,1,20,,5,,0.5,\n");
  EXPECT_TRUE(unknown_metrics(spec, results).empty());
  spec.metrics.push_back("nope");
  EXPECT_EQ(unknown_metrics(spec, results), (std::vector<std::string>{"nope"}));
}

// The sbatch script of a sweep whose every option is given.
SlurmScript full_script() {
  SlurmScript s;
  s.spec = "configs/sweeps/tlb-pwc.yaml";
  s.job_name = slurm_job_name(s.spec);
  s.tasks = 16;
  s.throttle = 4;
  s.mem = "512M";
  s.time = "0-02:30:00";
  s.partition = "short";
  s.account = "arch_lab";
  s.workdir = "/home/u/vmsim";
  s.out_dir = "/scratch/u/tlb-pwc";
  s.vmsim = "/home/u/vmsim/build/vmsim";
  return s;
}

// The script's lines that start with prefix.
std::vector<std::string> lines_with(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  }
  return out;
}

TEST(SlurmScript, OneArrayTaskPerRunWithThrottleResourcesAndPaths) {
  const std::string text = sbatch_script(full_script());
  EXPECT_EQ(text.rfind("#!/bin/bash\n", 0), 0u);
  EXPECT_EQ(lines_with(text, "#SBATCH"), (std::vector<std::string>{
                                             "#SBATCH --job-name=vmsim-tlb-pwc",
                                             "#SBATCH --array=0-15%4",
                                             "#SBATCH --ntasks=1",
                                             "#SBATCH --cpus-per-task=1",
                                             "#SBATCH --mem=512M",
                                             "#SBATCH --time=0-02:30:00",
                                             "#SBATCH --partition=short",
                                             "#SBATCH --account=arch_lab",
                                             "#SBATCH --chdir=/home/u/vmsim",
                                             "#SBATCH --output=/scratch/u/tlb-pwc/slurm/tasks/%a/slurm-%A_%a.out",
                                             "#SBATCH --error=/scratch/u/tlb-pwc/slurm/tasks/%a/slurm-%A_%a.err",
                                         }));
  EXPECT_EQ(lines_with(text, "exec"), (std::vector<std::string>{"exec '/home/u/vmsim/build/vmsim' sweep run-one "
                                                                "'/scratch/u/tlb-pwc' \"$SLURM_ARRAY_TASK_ID\""}));
  // Every line is a comment or the exec: nothing else runs before the task's vmsim.
  EXPECT_EQ(lines_with(text, "#").size() + 1, lines_with(text, "").size());
}

TEST(SlurmScript, WithoutThrottlePartitionOrAccountTheyAreLeftOut) {
  SlurmScript s = full_script();
  s.tasks = 1;
  s.throttle = 0;
  s.partition.clear();
  s.account.clear();
  s.mem = kSlurmDefaultMem;
  s.time = kSlurmDefaultTime;
  check_slurm_script(s);
  const std::string text = sbatch_script(s);
  EXPECT_EQ(lines_with(text, "#SBATCH --array="), (std::vector<std::string>{"#SBATCH --array=0-0"}));
  EXPECT_TRUE(lines_with(text, "#SBATCH --partition").empty());
  EXPECT_TRUE(lines_with(text, "#SBATCH --account").empty());
  EXPECT_EQ(lines_with(text, "#SBATCH --mem="), (std::vector<std::string>{"#SBATCH --mem=2G"}));
  EXPECT_EQ(lines_with(text, "#SBATCH --time="), (std::vector<std::string>{"#SBATCH --time=1:00:00"}));
  EXPECT_EQ(slurm_job_name("a/b c+d.yaml"), "vmsim-b_c_d");
}

TEST(SlurmScript, BadOptionsAreOneLineErrorsNamingTheOption) {
  struct Case {
    void (*change)(SlurmScript&);
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](SlurmScript& s) { s.mem = "2GB"; }, "--mem: bad value '2GB'"},
      {[](SlurmScript& s) { s.mem = ""; }, "--mem: bad value ''"},
      {[](SlurmScript& s) { s.time = "1h"; }, "--time: bad value '1h'"},
      {[](SlurmScript& s) { s.time = "1:00:00:00"; }, "--time: bad value '1:00:00:00'"},
      {[](SlurmScript& s) { s.partition = "a b"; }, "--partition: bad value 'a b'"},
      {[](SlurmScript& s) { s.account = "x;rm"; }, "--account: bad value 'x;rm'"},
      {[](SlurmScript& s) { s.out_dir = "out"; }, "output folder 'out' is not an absolute path"},
      {[](SlurmScript& s) { s.out_dir = "/scratch/my runs"; }, "output folder '/scratch/my runs' holds a character"},
      {[](SlurmScript& s) { s.vmsim = "/opt/100%/vmsim"; }, "vmsim executable '/opt/100%/vmsim' holds a character"},
      {[](SlurmScript& s) { s.tasks = 0; }, "no runs to submit"},
  };
  check_slurm_script(full_script());
  for (const std::string time : {"90", "90:30", "1:00:00", "2-0", "2-12:00", "2-12:00:00"}) {
    SlurmScript s = full_script();
    s.time = time;
    EXPECT_NO_THROW(check_slurm_script(s)) << time;
  }
  for (const Case& c : cases) {
    SlurmScript s = full_script();
    c.change(s);
    try {
      check_slurm_script(s);
      ADD_FAILURE() << "accepted: " << c.message;
    } catch (const InputError& e) {
      const std::string err = e.what();
      EXPECT_NE(err.find(c.message), std::string::npos) << err;
      EXPECT_EQ(err.find('\n'), std::string::npos) << err;
    }
  }
}

TEST(RunRecords, AFailureRecordedForATaskReadsBackAsTheLocalBackendWritesIt) {
  const std::string dir =
      std::filesystem::temp_directory_path().string() + "/vmsim_unit_records_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Job job;
  job.dir = dir;
  job.result.seed = 7;
  job.result.run.overrides = {"a=1"};
  EXPECT_FALSE(load_recorded(job));
  record_failure(job, 137, "slurm array task 5_0 ended FAILED without recording the run", 0.0);
  EXPECT_TRUE(job.finished);

  Job back;
  back.dir = dir;
  ASSERT_TRUE(load_recorded(back));
  EXPECT_FALSE(load_complete(back));
  EXPECT_FALSE(back.result.ok);
  EXPECT_EQ(back.result.exit_code, 137);
  EXPECT_EQ(back.result.error, "slurm array task 5_0 ended FAILED without recording the run");
  const nlohmann::json status = nlohmann::json::parse(slurp(dir + "/status.json"));
  EXPECT_EQ(status["status"], "failed");
  EXPECT_EQ(status["seed"], 7);
  EXPECT_EQ(status["overrides"], nlohmann::json::array({"a=1"}));
  std::filesystem::remove_all(dir);
}

TEST(Refs, TextbookStringsAndBeladysAnomaly) {
  using fw::ReplacementKind;
  const auto refs = fw::parse_reference_string("7,0,1,2,0,3,0,4,2,3,0,3,2,1,2,0,1,7,0,1");
  RefsTable t = run_refs(refs, {ReplacementKind::Fifo, ReplacementKind::Lru, ReplacementKind::Opt}, {3}, 10000, 1);
  EXPECT_EQ(t.faults[0][0], 15u);  // FIFO
  EXPECT_EQ(t.faults[1][0], 12u);  // LRU
  EXPECT_EQ(t.faults[2][0], 9u);   // OPT

  const auto belady = fw::parse_reference_string("1,2,3,4,1,2,5,1,2,3,4,5");
  RefsTable b = run_refs(belady, parse_policies("all"), parse_frames("1..5"), 10000, 1);
  ASSERT_EQ(b.policies.size(), 10u);
  EXPECT_EQ(b.policies.front(), ReplacementKind::Fifo);
  EXPECT_EQ(b.faults[0], (std::vector<uint64_t>{12, 12, 9, 10, 5}));
  std::vector<BeladyAnomaly> an = belady_anomalies(b);
  ASSERT_FALSE(an.empty());
  EXPECT_EQ(an[0].policy, ReplacementKind::Fifo);
  EXPECT_EQ(an[0].frames_before, 3u);
  EXPECT_EQ(an[0].faults_before, 9u);
  EXPECT_EQ(an[0].frames_after, 4u);
  EXPECT_EQ(an[0].faults_after, 10u);
  for (const BeladyAnomaly& a : an) {  // stack algorithms never show it
    EXPECT_NE(a.policy, ReplacementKind::Lru);
    EXPECT_NE(a.policy, ReplacementKind::Opt);
  }
  const std::string text = format_refs_table(b, belady, 10000);
  EXPECT_NE(text.find("     10!"), std::string::npos) << text;
  EXPECT_NE(text.find("fifo: 3 frames 9 faults, 4 frames 10 faults"), std::string::npos) << text;
  const std::string csv = format_refs_csv(b);
  EXPECT_EQ(csv.rfind("policy,frames,faults\nfifo,1,12\nfifo,2,12\nfifo,3,9\nfifo,4,10\n", 0), 0u) << csv;
}

TEST(Refs, BadInputIsAnError) {
  EXPECT_THROW(parse_frames("0"), InputError);
  EXPECT_THROW(parse_frames("0..4"), InputError);
  EXPECT_THROW(parse_frames("5..2"), InputError);
  EXPECT_THROW(parse_frames("x"), InputError);
  EXPECT_THROW(parse_frames(""), InputError);
  EXPECT_EQ(parse_frames("4, 1..2,2"), (std::vector<uint64_t>{1, 2, 4}));
  EXPECT_THROW(parse_policies("fifo,bogus"), InputError);
  EXPECT_EQ(parse_policies("opt,fifo,opt").size(), 2u);
  EXPECT_THROW(fw::parse_reference_string("1,2,x"), InputError);
}

}  // namespace
}  // namespace vmsim::study
