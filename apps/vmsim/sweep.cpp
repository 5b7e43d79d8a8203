// `vmsim sweep`: the command line, resolving every run's config to name its folder, and the local backend,
// which runs `vmsim run` children (fork/exec of /proc/self/exe) N at once with progress on stderr and
// collects the result tables. The Slurm backend is in sweep_slurm.cpp.
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
#include "apps/vmsim/sweep_runs.hpp"
#include "apps/vmsim/sweep_slurm.hpp"
#include "apps/vmsim/sweep_spec.hpp"
#include "common/error.hpp"
#include "platform/platform_config.hpp"

namespace vmsim::study {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_interrupt(int /*sig*/) { g_interrupted = 1; }

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

// Resolves every run as `vmsim run` will: its hash names its folder DIR/runs/<hash>. Throws InputError
// if two runs resolve to the same config and seed.
std::vector<Job> plan_runs(const SweepSpec& spec, const std::string& out) {
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
  return all;
}

int run_local(const SweepOptions& o, const SweepSpec& spec, const std::string& out, std::vector<Job>& all) {
  unsigned jobs = o.jobs;
  if (jobs == 0) jobs = std::max(1u, std::thread::hardware_concurrency());
  const size_t total = all.size();
  if (o.dry_run) {
    print_run_list(spec, out, all);
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
      Job& job = all[queue[next]];
      fs::remove_all(job.dir);
      fs::create_directories(job.dir);
      running[spawn_run("/proc/self/exe", spec.base, job)] = {queue[next], Clock::now()};
      ++next;
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

  std::string interrupted_message;
  if (interrupted) {
    size_t finished = 0;
    for (const Job& j : all) finished += j.finished ? 1 : 0;
    interrupted_message = "vmsim: sweep interrupted: " + std::to_string(total - finished) + " of " +
                          std::to_string(total) + " runs not finished (run again with --resume)";
  }
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  return finish_sweep(spec, out, all, done, skipped, wall, interrupted_message);
}

}  // namespace

CLI::App* add_sweep_command(CLI::App& app, SweepOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "sweep",
      "Run every combination of a sweep spec (base config, fixed sets, grid/zip parameters, seeds) and collect "
      "results.csv, results.json and summary.csv (see docs/STUDIES.md)");
  o.command = cmd;
  cmd->add_option("spec", o.spec, "Sweep spec (YAML)");
  cmd->add_option("--out", o.out, "Output folder (default: sweep-out/<spec name>)");
  add_uint_option(cmd, "-j,--jobs", o.jobs,
                  "Runs at once (local default: the number of cores; slurm: the array throttle, default no limit)", 0,
                  4096);
  cmd->add_option("--backend", o.backend,
                  "Where runs execute: local (child processes on this host) or slurm (one sbatch job array)")
      ->check(CLI::IsMember({"local", "slurm"}))
      ->capture_default_str();
  cmd->add_flag("--dry-run", o.dry_run,
                "Print the expanded runs (hash, seed, overrides) without running them; slurm: also write and "
                "print the sbatch script, without submitting it");
  cmd->add_flag("--resume", o.resume, "Skip runs whose folder holds a completed ok run");
  const std::string slurm = "Slurm backend";
  add_uint_option(cmd, "--throttle", o.throttle, "At most K array tasks at once (sbatch --array=...%K; default: -j)",
                  0, 4096)
      ->group(slurm);
  cmd->add_option("--mem", o.mem, "Memory per run (sbatch --mem)")->capture_default_str()->group(slurm);
  cmd->add_option("--time", o.time, "Time limit per run (sbatch --time)")->capture_default_str()->group(slurm);
  cmd->add_option("--partition", o.partition, "Partition (sbatch --partition; default: the cluster's)")->group(slurm);
  cmd->add_option("--account", o.account, "Account (sbatch --account; default: yours)")->group(slurm);
  cmd->add_flag("--no-wait", o.no_wait, "Submit and return; build the tables later with `vmsim sweep collect DIR`")
      ->group(slurm);

  o.collect =
      cmd->add_subcommand("collect",
                          "Build DIR/results.csv, results.json and summary.csv of a --backend slurm sweep from its run "
                          "folders, listing the runs that failed or are missing");
  o.collect->add_option("dir", o.task_dir, "The sweep's output folder (--out)")->required();
  o.run_one = cmd->add_subcommand("run-one", "One array task of a --backend slurm sweep");
  o.run_one->group("");  // hidden: the sbatch script runs it
  o.run_one->add_option("dir", o.task_dir, "The sweep's output folder")->required();
  o.run_one->add_option("index", o.task_index, "The array task index")->required();
  return cmd;
}

int run_sweep_command(const SweepOptions& o) {
  if (o.collect->parsed()) return collect_slurm_sweep(o.task_dir);
  if (o.run_one->parsed()) return run_slurm_task(o.task_dir, o.task_index);
  if (o.spec.empty()) throw InputError("sweep: give the sweep spec (vmsim sweep SPEC.yaml) or `collect DIR`");
  if (o.backend != "slurm") {
    for (const char* opt : {"--throttle", "--mem", "--time", "--partition", "--account", "--no-wait"}) {
      if (o.command->count(opt) > 0)
        throw InputError(std::string("sweep: ") + opt + " applies to --backend slurm only");
    }
  }
  const SweepSpec spec = load_sweep_spec(o.spec);
  std::string out = o.out;
  if (out.empty()) out = "sweep-out/" + fs::path(o.spec).stem().string();
  std::vector<Job> all = plan_runs(spec, out);
  if (o.backend == "slurm") return run_slurm_sweep(o, spec, out, all);
  return run_local(o, spec, out, all);
}

}  // namespace vmsim::study
