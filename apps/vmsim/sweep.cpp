// `vmsim sweep`, local backend: resolves every run's config to name its folder, runs `vmsim run` children
// (fork/exec of /proc/self/exe) N at once with progress on stderr, and collects the result tables.
#include "apps/vmsim/sweep.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "apps/vmsim/options.hpp"
#include "apps/vmsim/study_results.hpp"
#include "apps/vmsim/sweep_spec.hpp"
#include "common/error.hpp"
#include "platform/platform_config.hpp"

namespace vmsim::study {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kExitSomeFailed = 1;
constexpr int kExitInterrupted = 130;
constexpr const char* kMarker = "status.json";  // written when a run ended; status ok = complete

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_interrupt(int /*sig*/) { g_interrupted = 1; }

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.close();
  if (!out) throw InputError(path + ": cannot write");
}

std::string first_line(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) return line;
  }
  return "";
}

std::string params_text(const SweepRun& run, const std::optional<uint64_t>& seed) {
  std::string s;
  for (const auto& p : run.params) s += (s.empty() ? "" : " ") + p.first + "=" + p.second;
  if (seed) s += (s.empty() ? "" : " ") + std::string("seed=") + std::to_string(*seed);
  return s;
}

std::string format_eta(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

// A run to execute or already done, with where its files go.
struct Job {
  RunResult result;
  std::string dir;
  std::string resolve_error;  // non-empty: the config did not resolve (the child will report it)
  bool skipped = false;       // --resume found it complete
  bool finished = false;
};

// Reads a finished run's outcome from its folder: the marker and, if ok, stats.json. False if the
// folder holds no complete ok run.
bool load_complete(Job& job) {
  const std::string marker = job.dir + "/" + kMarker;
  if (!fs::exists(marker)) return false;
  try {
    const nlohmann::json m = nlohmann::json::parse(slurp(marker));
    if (m.value("status", "") != "ok") return false;
    const nlohmann::ordered_json st = nlohmann::ordered_json::parse(slurp(job.dir + "/stats.json"));
    job.result.ok = true;
    job.result.exit_code = 0;
    job.result.host_seconds = m.value("host_seconds", 0.0);
    job.result.stats = flatten_summary(st.at("summary"));
    return true;
  } catch (const std::exception&) {
    return false;  // damaged: run it again
  }
}

// Records how the child ended: the marker, the error line, the statistics.
void record_end(Job& job, int status, double host_seconds) {
  RunResult& r = job.result;
  r.host_seconds = host_seconds;
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.exit_code = 128 + WTERMSIG(status);
  } else {
    r.exit_code = -1;
  }
  if (r.exit_code == 0) {
    try {
      r.stats = flatten_summary(nlohmann::ordered_json::parse(slurp(job.dir + "/stats.json")).at("summary"));
      r.ok = true;
    } catch (const std::exception& e) {
      r.error = "exit code 0 but stats.json unreadable: " + first_line(e.what());
    }
  } else {
    r.error = first_line(slurp(job.dir + "/stderr.txt"));
    if (WIFSIGNALED(status)) {
      r.error = "killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")" +
                (r.error.empty() ? "" : ": " + r.error);
    } else if (r.error.empty()) {
      r.error = "exit code " + std::to_string(r.exit_code) + " with nothing on stderr";
    }
  }
  nlohmann::ordered_json m;
  m["status"] = r.ok ? "ok" : "failed";
  m["exit_code"] = r.exit_code;
  m["host_seconds"] = r.host_seconds;
  m["error"] = r.error;
  m["seed"] = r.seed ? nlohmann::ordered_json(*r.seed) : nlohmann::ordered_json();
  m["overrides"] = r.run.overrides;
  write_file(job.dir + "/" + kMarker, m.dump(2) + "\n");
  job.finished = true;
}

// Starts `vmsim run` for job in its own process group (so the terminal's Ctrl-C reaches only the sweep,
// which then kills its children), stdout and stderr into the run folder.
pid_t launch(const std::string& base, Job& job) {
  fs::remove_all(job.dir);
  fs::create_directories(job.dir);
  std::vector<std::string> args = {"vmsim", "run", base};
  for (const std::string& o : job.result.run.overrides) {
    args.emplace_back("--set");
    args.push_back(o);
  }
  if (job.result.run.seed) {
    args.emplace_back("--seed");
    args.push_back(std::to_string(*job.result.run.seed));
  }
  args.emplace_back("--out");
  args.push_back(job.dir);
  args.emplace_back("-q");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string out = job.dir + "/stdout.txt", err = job.dir + "/stderr.txt";

  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    const int in_fd = ::open("/dev/null", O_RDONLY);
    const int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0) ::_exit(126);
    ::dup2(in_fd, STDIN_FILENO);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    ::execv("/proc/self/exe", argv.data());
    const char msg[] = "vmsim sweep: cannot execute /proc/self/exe\n";
    (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  return pid;
}

void write_tables(const SweepSpec& spec, const std::string& out, const std::vector<RunResult>& results,
                  bool summary, std::vector<std::string>& written) {
  write_file(out + "/results.csv", results_csv(spec, results));
  write_file(out + "/results.json", results_json(spec, results).dump(2) + "\n");
  written = {out + "/results.csv", out + "/results.json"};
  if (summary) {
    write_file(out + "/summary.csv", summary_csv(spec, results));
    written.push_back(out + "/summary.csv");
  }
}

}  // namespace

CLI::App* add_sweep_command(CLI::App& app, SweepOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "sweep",
      "Run every combination of a sweep spec (base config, fixed sets, grid/zip parameters, seeds) and collect "
      "results.csv, results.json and summary.csv (see docs/STUDIES.md)");
  cmd->add_option("spec", o.spec, "Sweep spec (YAML)")->required();
  cmd->add_option("--out", o.out, "Output folder (default: sweep-out/<spec name>)");
  add_uint_option(cmd, "-j,--jobs", o.jobs, "Runs at once (default: the number of cores)", 0, 4096);
  cmd->add_option("--backend", o.backend, "Where runs execute: local (slurm is not built yet)")
      ->check(CLI::IsMember({"local", "slurm"}))
      ->capture_default_str();
  cmd->add_flag("--dry-run", o.dry_run, "Print the expanded runs (hash, seed, overrides) without running them");
  cmd->add_flag("--resume", o.resume, "Skip runs whose folder holds a completed ok run");
  return cmd;
}

int run_sweep_command(const SweepOptions& o) {
  if (o.backend == "slurm") {
    throw InputError("sweep: --backend slurm: not built yet (only the local backend exists)");
  }
  const SweepSpec spec = load_sweep_spec(o.spec);
  std::string out = o.out;
  if (out.empty()) out = "sweep-out/" + fs::path(o.spec).stem().string();
  unsigned jobs = o.jobs;
  if (jobs == 0) jobs = std::max(1u, std::thread::hardware_concurrency());

  // Resolve every run as `vmsim run` will: its hash names its folder.
  std::vector<Job> all;
  std::map<std::string, size_t> by_hash;
  for (const SweepRun& run : expand_sweep(spec)) {
    Job job;
    job.result.run = run;
    job.result.seed = run.seed;
    try {
      platform::PlatformConfig cfg = platform::load_platform_config(spec.base, run.overrides, run.seed);
      job.result.seed = cfg.sim.seed;
      job.result.hash = run_hash(platform::resolved_yaml(cfg), cfg.sim.seed);
    } catch (const InputError& e) {
      // The run fails; it still gets a stable folder so its error is recorded like any other.
      std::string text = "unresolved\nbase=" + spec.base + "\n";
      for (const std::string& ov : run.overrides) text += ov + "\n";
      job.result.hash = run_hash(text, run.seed.value_or(0));
      job.resolve_error = e.what();
    }
    auto [it, fresh] = by_hash.emplace(job.result.hash, all.size());
    if (!fresh) {
      throw InputError(spec.file + ": runs " + std::to_string(it->second + 1) + " and " +
                       std::to_string(all.size() + 1) + " resolve to the same configuration and seed (" +
                       params_text(all[it->second].result.run, all[it->second].result.seed) + ")");
    }
    job.dir = out + "/runs/" + job.result.hash;
    all.push_back(std::move(job));
  }

  const size_t total = all.size();
  if (o.dry_run) {
    std::cout << "sweep " << spec.file << ": " << total << " runs (" << spec.points() << " parameter points x "
              << std::max<size_t>(1, spec.seeds.size()) << " seeds), base " << spec.base << ", output " << out
              << "\n";
    for (const auto& s : spec.sets) std::cout << "  set " << s.first << "=" << s.second << "\n";
    for (const Job& j : all) {
      std::cout << "  " << j.result.hash << "  " << params_text(j.result.run, j.result.seed);
      if (!j.resolve_error.empty()) std::cout << "  (invalid: " << j.resolve_error << ")";
      std::cout << "\n";
    }
    return 0;
  }

  fs::create_directories(out + "/runs");
  write_file(out + "/sweep.yaml", slurp(spec.file));
  std::vector<size_t> queue;
  size_t skipped = 0;
  for (size_t i = 0; i < total; ++i) {
    if (o.resume && load_complete(all[i])) {
      all[i].skipped = all[i].finished = true;
      ++skipped;
    } else {
      queue.push_back(i);
    }
  }

  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {}, old_term {};
  g_interrupted = 0;
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);

  const bool tty = ::isatty(STDERR_FILENO);
  const auto t0 = Clock::now();
  std::map<pid_t, std::pair<size_t, Clock::time_point>> running;
  size_t next = 0, done = 0, failed = 0;
  double run_seconds = 0;
  // ETA: the runs not started yet at the mean run time so far, N at once, after the longest remainder
  // of the running ones.
  auto progress = [&] {
    std::string eta = "?";
    if (done > 0) {
      const double mean = run_seconds / static_cast<double>(done);
      double running_left = 0;
      for (const auto& r : running) {
        const double elapsed = std::chrono::duration<double>(Clock::now() - r.second.second).count();
        running_left = std::max(running_left, mean - elapsed);
      }
      eta = format_eta(running_left + mean * static_cast<double>(queue.size() - next) / jobs);
    }
    std::fprintf(stderr, "\r\033[Ksweep: %zu/%zu done, %zu failed, %zu running, %zu skipped, ETA %s", done,
                 queue.size(), failed, running.size(), skipped, eta.c_str());
    std::fflush(stderr);
  };
  auto finish = [&](pid_t pid, int status) {
    auto it = running.find(pid);
    if (it == running.end()) return;
    Job& job = all[it->second.first];
    const double secs = std::chrono::duration<double>(Clock::now() - it->second.second).count();
    running.erase(it);
    record_end(job, status, secs);
    ++done;
    run_seconds += secs;
    if (!job.result.ok) ++failed;
    if (!tty) {
      std::fprintf(stderr, "sweep: [%zu/%zu] %-6s %8.2f s  %s  %s%s%s\n", done, queue.size(),
                   job.result.ok ? "ok" : "failed", secs, job.result.hash.c_str(),
                   params_text(job.result.run, job.result.seed).c_str(), job.result.ok ? "" : ": ",
                   job.result.error.c_str());
    }
  };

  auto last_draw = Clock::now() - std::chrono::seconds(1);
  bool changed = true;
  while (!g_interrupted && (next < queue.size() || !running.empty())) {
    while (running.size() < jobs && next < queue.size()) {
      const size_t i = queue[next++];
      running[launch(spec.base, all[i])] = {i, Clock::now()};
      changed = true;
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      finish(pid, status);
      changed = true;
      continue;
    }
    if (tty && (changed || Clock::now() - last_draw > std::chrono::milliseconds(500))) {
      progress();
      last_draw = Clock::now();
      changed = false;
    }
    ::usleep(50000);
  }
  if (tty) progress();

  const bool interrupted = g_interrupted != 0;
  if (interrupted) {
    for (const auto& r : running) ::kill(-r.first, SIGKILL);
    for (const auto& r : running) {
      int status = 0;
      ::waitpid(r.first, &status, 0);
      fs::remove_all(all[r.second.first].dir);  // partial output of a killed run
    }
    running.clear();
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  if (tty) std::fprintf(stderr, "\n");

  std::vector<RunResult> results;
  for (const Job& j : all) {
    if (j.finished) results.push_back(j.result);
  }
  std::vector<std::string> written;
  write_tables(spec, out, results, spec.seeds.size() > 1, written);

  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("sweep: %zu runs: %zu ran, %zu skipped (complete before), %zu failed; %.1f s\n", total, done, skipped,
              failed, wall);
  for (const Job& j : all) {
    if (j.finished && !j.result.ok) {
      std::printf("  failed: %s  %s: %s\n", j.result.hash.c_str(), params_text(j.result.run, j.result.seed).c_str(),
                  j.result.error.c_str());
    }
  }
  std::printf("wrote");
  for (size_t i = 0; i < written.size(); ++i) std::printf("%s %s", i ? "," : "", written[i].c_str());
  std::printf("\n");
  std::fflush(stdout);
  if (interrupted) {
    std::fprintf(stderr, "vmsim: sweep interrupted: %zu of %zu runs not finished (run again with --resume)\n",
                 total - results.size(), total);
    return kExitInterrupted;
  }
  const std::vector<std::string> unknown = unknown_metrics(spec, results);
  if (!unknown.empty()) {
    throw InputError(spec.file + ": metrics: '" + unknown.front() +
                     "' is not a summary statistic of the runs (see the columns of results.csv)");
  }
  return failed > 0 ? kExitSomeFailed : 0;
}

}  // namespace vmsim::study
