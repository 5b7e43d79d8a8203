// Sweep run folders: `vmsim run` children, status.json records, reading runs back, result tables.
#include "apps/vmsim/sweep_runs.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "common/error.hpp"

namespace vmsim::study {

namespace fs = std::filesystem;

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

bool load_complete(Job& job) {
  const std::string marker = job.dir + "/" + kStatusFile;
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

bool load_recorded(Job& job) {
  if (load_complete(job)) return true;
  const std::string marker = job.dir + "/" + kStatusFile;
  if (!fs::exists(marker)) return false;
  try {
    const nlohmann::json m = nlohmann::json::parse(slurp(marker));
    RunResult& r = job.result;
    r.ok = false;
    r.exit_code = m.at("exit_code").get<int>();
    r.host_seconds = m.value("host_seconds", 0.0);
    r.error = m.value("error", "");
    r.stats = nlohmann::ordered_json::object();
    if (m.value("status", "") == "ok") r.error = "status ok but stats.json unreadable";
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

std::vector<std::string> run_arguments(const std::string& base, const Job& job) {
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
  return args;
}

pid_t spawn_run(const std::string& exe, const std::string& base, const Job& job) {
  std::vector<std::string> args = run_arguments(base, job);
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
    ::execv(exe.c_str(), argv.data());
    const std::string msg = "vmsim sweep: cannot execute " + exe + "\n";
    (void)!::write(STDERR_FILENO, msg.data(), msg.size());
    ::_exit(127);
  }
  return pid;
}

namespace {

void write_status(Job& job) {
  const RunResult& r = job.result;
  nlohmann::ordered_json m;
  m["status"] = r.ok ? "ok" : "failed";
  m["exit_code"] = r.exit_code;
  m["host_seconds"] = r.host_seconds;
  m["error"] = r.error;
  m["seed"] = r.seed ? nlohmann::ordered_json(*r.seed) : nlohmann::ordered_json();
  m["overrides"] = r.run.overrides;
  write_file(job.dir + "/" + kStatusFile, m.dump(2) + "\n");
  job.finished = true;
}

}  // namespace

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
  write_status(job);
}

void record_failure(Job& job, int exit_code, const std::string& error, double host_seconds) {
  RunResult& r = job.result;
  r.ok = false;
  r.exit_code = exit_code;
  r.error = error;
  r.host_seconds = host_seconds;
  r.stats = nlohmann::ordered_json::object();
  write_status(job);
}

std::vector<std::string> write_tables(const SweepSpec& spec, const std::string& out,
                                      const std::vector<RunResult>& results, bool summary) {
  write_file(out + "/results.csv", results_csv(spec, results));
  write_file(out + "/results.json", results_json(spec, results).dump(2) + "\n");
  std::vector<std::string> written = {out + "/results.csv", out + "/results.json"};
  if (summary) {
    write_file(out + "/summary.csv", summary_csv(spec, results));
    written.push_back(out + "/summary.csv");
  }
  return written;
}

void print_run_list(const SweepSpec& spec, const std::string& out, const std::vector<Job>& all) {
  std::cout << "sweep " << spec.file << ": " << all.size() << " runs (" << spec.points() << " parameter points x "
            << std::max<size_t>(1, spec.seeds.size()) << " seeds), base " << spec.base << ", output " << out << "\n";
  for (const auto& s : spec.sets) std::cout << "  set " << s.first << "=" << s.second << "\n";
  for (const Job& j : all) {
    std::cout << "  " << j.result.hash << "  " << params_text(j.result.run, j.result.seed);
    if (!j.resolve_error.empty()) std::cout << "  (invalid: " << j.resolve_error << ")";
    std::cout << "\n";
  }
}

int finish_sweep(const SweepSpec& spec, const std::string& out, const std::vector<Job>& all, size_t ran, size_t skipped,
                 double wall_seconds, const std::string& interrupted) {
  std::vector<RunResult> results;
  size_t failed = 0;
  for (const Job& j : all) {
    if (!j.finished) continue;
    results.push_back(j.result);
    failed += j.result.ok ? 0 : 1;
  }
  const std::vector<std::string> written = write_tables(spec, out, results, spec.seeds.size() > 1);

  std::printf("sweep: %zu runs: %zu ran, %zu skipped (complete before), %zu failed; %.1f s\n", all.size(), ran, skipped,
              failed, wall_seconds);
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
  if (!interrupted.empty()) {
    std::fprintf(stderr, "%s\n", interrupted.c_str());
    return 130;
  }
  const std::vector<std::string> unknown = unknown_metrics(spec, results);
  if (!unknown.empty()) {
    throw InputError(spec.file + ": metrics: '" + unknown.front() +
                     "' is not a summary statistic of the runs (see the columns of results.csv)");
  }
  return failed > 0 ? 1 : 0;
}

}  // namespace vmsim::study
