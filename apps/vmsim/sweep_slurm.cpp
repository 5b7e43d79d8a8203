// `vmsim sweep --backend slurm`: the plan and sbatch array script in DIR/slurm/, submission with
// `sbatch --parsable`, waiting with progress from the run folders and `squeue`, one array task
// (`sweep run-one`), and `sweep collect`.
#include "apps/vmsim/sweep_slurm.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "apps/vmsim/slurm_script.hpp"
#include "common/error.hpp"

namespace vmsim::study {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// How long a task may be over (per squeue) without its status.json appearing before the sweep records it
// as failed: covers a shared file system that shows another host's new file late.
constexpr auto kRecordGrace = std::chrono::seconds(10);
constexpr auto kQueuePoll = std::chrono::seconds(2);
constexpr auto kFilePoll = std::chrono::milliseconds(500);
constexpr const char* kPlanVersion = "vmsim-sweep-slurm-plan/1";

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop(int /*sig*/) { g_stop = 1; }

// Installs on_stop for SIGINT and SIGTERM for the object's lifetime.
class StopSignals {
 public:
  StopSignals() {
    struct sigaction sa {};
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    g_stop = 0;
    ::sigaction(SIGINT, &sa, &m_old_int);
    ::sigaction(SIGTERM, &sa, &m_old_term);
  }
  ~StopSignals() {
    ::sigaction(SIGINT, &m_old_int, nullptr);
    ::sigaction(SIGTERM, &m_old_term, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction m_old_int {};
  struct sigaction m_old_term {};
};

// The first executable `name` on PATH ("" if none).
std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string rest = path ? path : "";
  size_t start = 0;
  while (start <= rest.size()) {
    size_t end = rest.find(':', start);
    if (end == std::string::npos) end = rest.size();
    const std::string dir = rest.substr(start, end - start);
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate)) return candidate;
    start = end + 1;
  }
  return "";
}

struct Captured {
  int code = -1;  // exit code; 128 + N if killed by signal N; -1 if it could not start
  std::string out, err;
};

// Runs argv (argv[0] looked up on PATH), stdin /dev/null, and captures stdout and stderr.
Captured capture(const std::vector<std::string>& args) {
  Captured c;
  int out_pipe[2], err_pipe[2];
  if (::pipe(out_pipe) != 0) return c;
  if (::pipe(err_pipe) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return c;
  }
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    ::execvp(argv[0], argv.data());
    const std::string msg = args[0] + ": " + std::strerror(errno) + "\n";
    (void)!::write(STDERR_FILENO, msg.data(), msg.size());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (pid < 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return c;
  }
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&c.out, &c.err};
  int open_fds = 2;
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (const pollfd& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  c.code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
  return c;
}

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string plan_path(const std::string& dir) { return dir + "/slurm/plan.json"; }
std::string job_path(const std::string& dir) { return dir + "/slurm/job"; }

nlohmann::json read_plan(const std::string& dir) {
  const std::string path = plan_path(dir);
  if (!fs::exists(path)) {
    throw InputError(path + ": no such file (not the folder of a `vmsim sweep --backend slurm` sweep)");
  }
  try {
    nlohmann::json plan = nlohmann::json::parse(slurp(path));
    if (plan.value("format", "") != kPlanVersion) {
      throw std::runtime_error("format is not " + std::string(kPlanVersion));
    }
    if (!plan.at("runs").is_array() || !plan.at("tasks").is_array()) throw std::runtime_error("runs/tasks not lists");
    return plan;
  } catch (const std::exception& e) {
    throw InputError(path + ": damaged plan: " + first_line(e.what()));
  }
}

std::optional<uint64_t> optional_seed(const nlohmann::json& v) {
  if (v.is_null()) return std::nullopt;
  return v.get<uint64_t>();
}

// The array tasks of the job that squeue still lists, as task index -> state ("PENDING", "RUNNING",
// "COMPLETED", ...). gone: squeue no longer knows the job. ok false: squeue failed otherwise (error).
struct QueueView {
  bool ok = false;
  bool gone = false;
  std::string error;
  std::map<size_t, std::string> states;
};

QueueView query_queue(const std::string& job) {
  QueueView v;
  const Captured c = capture({"squeue", "-h", "-r", "-t", "all", "-j", job, "-o", "%i|%T"});
  if (c.code != 0) {
    if (c.err.find("Invalid job id") != std::string::npos) {
      v.ok = v.gone = true;
    } else {
      v.error = first_line(c.err.empty() ? c.out : c.err);
      if (v.error.empty()) v.error = "squeue exit code " + std::to_string(c.code);
    }
    return v;
  }
  v.ok = true;
  std::istringstream in(c.out);
  std::string line;
  while (std::getline(in, line)) {
    const size_t bar = line.find('|'), under = line.find('_');
    if (bar == std::string::npos || under == std::string::npos || under > bar) continue;
    const std::string id = line.substr(under + 1, bar - under - 1);
    if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) continue;
    v.states[std::stoul(id)] = trim(line.substr(bar + 1));
  }
  return v;
}

bool ended_state(const std::string& state) {
  static const std::set<std::string> kEnded = {"COMPLETED", "FAILED",    "CANCELLED", "TIMEOUT",  "OUT_OF_MEMORY",
                                               "NODE_FAIL", "BOOT_FAIL", "DEADLINE",  "PREEMPTED"};
  return kEnded.count(state) > 0;
}

bool running_state(const std::string& state) {
  return state == "RUNNING" || state == "COMPLETING" || state == "CONFIGURING" || state == "STAGE_OUT";
}

// The exit code Slurm recorded for task J_a (128 + N for signal N), -1 if scontrol cannot say.
int slurm_exit_code(const std::string& job, size_t task) {
  const Captured c = capture({"scontrol", "-o", "show", "job", job + "_" + std::to_string(task)});
  const size_t at = c.out.find("ExitCode=");
  if (c.code != 0 || at == std::string::npos) return -1;
  unsigned code = 0, sig = 0;
  if (std::sscanf(c.out.c_str() + at, "ExitCode=%u:%u", &code, &sig) != 2) return -1;
  return sig != 0 ? static_cast<int>(128 + sig) : static_cast<int>(code);
}

// The array tasks of an earlier submission from dir that are still queued or running (0 if none or if
// squeue cannot say), and that job's id.
size_t active_tasks(const std::string& dir, std::string& job) {
  job = fs::exists(job_path(dir)) ? trim(slurp(job_path(dir))) : "";
  if (job.empty() || find_on_path("squeue").empty()) return 0;
  const Captured c = capture({"squeue", "-h", "-r", "-j", job, "-o", "%i"});
  if (c.code != 0) return 0;
  size_t n = 0;
  std::istringstream in(c.out);
  std::string line;
  while (std::getline(in, line)) n += trim(line).empty() ? 0 : 1;
  return n;
}

void print_run_line(size_t done, size_t of, const Job& job) {
  std::fprintf(stderr, "sweep: [%zu/%zu] %-6s %8.2f s  %s  %s%s%s\n", done, of, job.result.ok ? "ok" : "failed",
               job.result.host_seconds, job.result.hash.c_str(), params_text(job.result.run, job.result.seed).c_str(),
               job.result.ok ? "" : ": ", job.result.error.c_str());
}

// Waits for the tasks of job (task i runs all[tasks[i]]) until every one is recorded or the user stops
// waiting; returns the number recorded.
size_t wait_for_tasks(const std::string& job, const std::vector<size_t>& tasks, std::vector<Job>& all, bool& stopped) {
  StopSignals signals;
  const bool tty = ::isatty(STDERR_FILENO);
  std::vector<bool> recorded(tasks.size(), false);
  // task -> when squeue first showed it over, and its state then
  std::map<size_t, std::pair<Clock::time_point, std::string>> ended_at;
  std::map<size_t, std::string> states;  // task -> its state at the last squeue
  size_t done = 0, failed = 0;
  std::string queue_error;
  auto last_query = Clock::now() - kQueuePoll;
  auto last_draw = Clock::now() - std::chrono::seconds(1);
  auto record = [&](size_t t) {
    recorded[t] = true;
    ++done;
    const Job& j = all[tasks[t]];
    if (!j.result.ok) ++failed;
    if (!tty) print_run_line(done, tasks.size(), j);
  };
  while (!g_stop && done < tasks.size()) {
    for (size_t t = 0; t < tasks.size(); ++t) {
      if (!recorded[t] && load_recorded(all[tasks[t]])) {
        all[tasks[t]].finished = true;
        record(t);
      }
    }
    if (done == tasks.size()) break;
    if (Clock::now() - last_query >= kQueuePoll) {
      last_query = Clock::now();
      const QueueView q = query_queue(job);
      if (!q.ok) {
        if (queue_error != q.error) {
          std::fprintf(stderr, "%ssweep: squeue: %s\n", tty ? "\r\033[K" : "", q.error.c_str());
        }
        queue_error = q.error;
      } else {
        queue_error.clear();
        for (size_t t = 0; t < tasks.size(); ++t) {
          if (recorded[t]) continue;
          const auto it = q.states.find(t);
          const std::string state = q.gone ? "" : it == q.states.end() ? "" : it->second;
          if (q.gone || ended_state(state)) {
            ended_at.emplace(t, std::make_pair(Clock::now(), state));
          } else {
            ended_at.erase(t);  // requeued
          }
          states[t] = state;
        }
      }
    }
    for (auto it = ended_at.begin(); it != ended_at.end();) {
      const size_t t = it->first;
      if (recorded[t] || Clock::now() - it->second.first < kRecordGrace) {
        ++it;
        continue;
      }
      Job& j = all[tasks[t]];
      if (!load_recorded(j)) {
        const std::string id = job + "_" + std::to_string(t);
        const std::string err = first_line(slurp(j.dir + "/slurm-" + id + ".err"));
        record_failure(j, slurm_exit_code(job, t),
                       "slurm array task " + id + " ended" +
                           (it->second.second.empty() ? "" : " " + it->second.second) + " without recording the run" +
                           (err.empty() ? "" : ": " + err),
                       0.0);
      }
      j.finished = true;
      record(t);
      it = ended_at.erase(it);
    }
    if (tty && Clock::now() - last_draw > std::chrono::milliseconds(500)) {
      size_t running = 0, pending = 0;
      for (size_t t = 0; t < tasks.size(); ++t) {
        if (!recorded[t]) (running_state(states[t]) ? running : pending) += 1;
      }
      std::fprintf(stderr, "\r\033[Ksweep: slurm job %s: %zu/%zu done, %zu failed, %zu running, %zu pending",
                   job.c_str(), done, tasks.size(), failed, running, pending);
      std::fflush(stderr);
      last_draw = Clock::now();
    }
    std::this_thread::sleep_for(kFilePoll);
  }
  if (tty) {
    std::fprintf(stderr, "\r\033[Ksweep: slurm job %s: %zu/%zu done, %zu failed\n", job.c_str(), done, tasks.size(),
                 failed);
  }
  stopped = g_stop != 0;
  return done;
}

}  // namespace

int run_slurm_sweep(const SweepOptions& o, const SweepSpec& spec, const std::string& out, std::vector<Job>& all) {
  SlurmScript script;
  script.spec = spec.file;
  script.job_name = slurm_job_name(spec.file);
  script.throttle = o.throttle != 0 ? o.throttle : o.command->count("--jobs") > 0 ? o.jobs : 0;
  script.mem = o.mem;
  script.time = o.time;
  script.partition = o.partition;
  script.account = o.account;
  script.workdir = fs::current_path().string();
  script.out_dir = fs::absolute(out).lexically_normal().string();
  while (script.out_dir.size() > 1 && script.out_dir.back() == '/') script.out_dir.pop_back();
  script.vmsim = fs::read_symlink("/proc/self/exe").string();
  script.tasks = all.size();
  check_slurm_script(script);
  if (!o.dry_run && find_on_path("sbatch").empty()) {
    throw InputError(
        "sweep: --backend slurm: sbatch not found on PATH (run on a Slurm submit host, or use --backend local)");
  }
  const std::string sdir = script.out_dir + "/slurm";
  if (!o.dry_run) {
    std::string earlier;
    const size_t active = active_tasks(script.out_dir, earlier);
    if (active > 0) {
      throw InputError("sweep: " + out + ": slurm job " + earlier + " of an earlier submission still has " +
                       std::to_string(active) + " array tasks queued or running (wait and run `vmsim sweep collect " +
                       out + "`, or `scancel " + earlier + "`)");
    }
  }

  fs::create_directories(out + "/runs");
  write_file(out + "/sweep.yaml", slurp(spec.file));
  std::vector<size_t> tasks;
  size_t skipped = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    if (o.resume && load_complete(all[i])) {
      all[i].skipped = all[i].finished = true;
      ++skipped;
    } else {
      tasks.push_back(i);
    }
  }
  if (tasks.empty()) {
    if (o.dry_run) {
      print_run_list(spec, out, all);
      std::cout << "sweep: nothing to submit: every run is complete\n";
      return 0;
    }
    return finish_sweep(spec, out, all, 0, skipped, 0.0, "");
  }
  script.tasks = tasks.size();

  // The plan every task reads, the task -> run folder links the script's output paths go through, and
  // clean folders for the runs that will run (a dry run only adds missing folders).
  fs::create_directories(sdir);
  fs::remove_all(sdir + "/tasks");
  fs::create_directories(sdir + "/tasks");
  nlohmann::json plan;
  plan["format"] = kPlanVersion;
  plan["spec"] = spec.file;
  plan["base"] = spec.base;
  plan["cwd"] = script.workdir;
  plan["runs"] = nlohmann::json::array();
  for (const Job& j : all) {
    nlohmann::json r;
    r["run"] = j.result.hash;
    r["spec_seed"] = j.result.run.seed ? nlohmann::json(*j.result.run.seed) : nlohmann::json();
    r["seed"] = j.result.seed ? nlohmann::json(*j.result.seed) : nlohmann::json();
    r["overrides"] = j.result.run.overrides;
    plan["runs"].push_back(r);
  }
  plan["tasks"] = tasks;
  for (size_t t = 0; t < tasks.size(); ++t) {
    const Job& j = all[tasks[t]];
    if (!o.dry_run) fs::remove_all(j.dir);
    fs::create_directories(j.dir);
    fs::create_directory_symlink("../../runs/" + j.result.hash, sdir + "/tasks/" + std::to_string(t));
  }
  write_file(plan_path(script.out_dir), plan.dump(2) + "\n");
  const std::string script_path = sdir + "/sweep.sbatch";
  const std::string text = sbatch_script(script);
  write_file(script_path, text);
  fs::remove(job_path(script.out_dir));

  if (o.dry_run) {
    print_run_list(spec, out, all);
    std::cout << "\n"
              << text << "\nsweep: dry run: wrote " << script_path << " (" << tasks.size()
              << " array tasks), not submitted; submit it with `sbatch " << script_path
              << "`, then `vmsim sweep collect " << out << "`\n";
    return 0;
  }

  const Captured sub = capture({"sbatch", "--parsable", script_path});
  const std::string id = trim(sub.out.substr(0, sub.out.find(';')));
  if (sub.code != 0 || id.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
    const std::string why = first_line(sub.err.empty() ? sub.out : sub.err);
    throw InputError("sweep: sbatch " + script_path + " failed (exit code " + std::to_string(sub.code) +
                     "): " + (why.empty() ? "no job id printed" : why));
  }
  write_file(job_path(script.out_dir), id + "\n");
  std::printf("sweep: submitted %zu runs as slurm job %s (array 0-%zu%s)%s\n", tasks.size(), id.c_str(),
              tasks.size() - 1, script.throttle ? ("%" + std::to_string(script.throttle)).c_str() : "",
              skipped ? (", " + std::to_string(skipped) + " complete runs skipped").c_str() : "");
  std::fflush(stdout);
  if (o.no_wait) {
    std::printf("sweep: not waiting; progress: squeue -j %s; when it is done: vmsim sweep collect %s\n", id.c_str(),
                out.c_str());
    return 0;
  }

  const auto t0 = Clock::now();
  bool stopped = false;
  const size_t done = wait_for_tasks(id, tasks, all, stopped);
  std::string message;
  if (stopped) {
    message = "vmsim: sweep: stopped waiting: " + std::to_string(tasks.size() - done) + " of " +
              std::to_string(tasks.size()) + " runs not finished; slurm job " + id + " goes on (`scancel " + id +
              "` stops it); collect its results later with `vmsim sweep collect " + out + "`";
  }
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  return finish_sweep(spec, out, all, done, skipped, wall, message);
}

int collect_slurm_sweep(const std::string& dir) {
  const nlohmann::json plan = read_plan(dir);
  const std::string spec_copy = dir + "/sweep.yaml";
  if (!fs::exists(spec_copy)) throw InputError(spec_copy + ": no such file (the sweep's copy of its spec)");
  const SweepSpec spec = parse_sweep_spec(slurp(spec_copy), plan.at("spec").get<std::string>());
  const std::vector<SweepRun> runs = expand_sweep(spec);
  const nlohmann::json& planned = plan.at("runs");
  if (planned.size() != runs.size()) {
    throw InputError(plan_path(dir) + ": plans " + std::to_string(planned.size()) + " runs but " + spec_copy +
                     " expands to " + std::to_string(runs.size()));
  }
  std::vector<Job> all;
  for (size_t i = 0; i < runs.size(); ++i) {
    const nlohmann::json& p = planned[i];
    if (p.at("overrides").get<std::vector<std::string>>() != runs[i].overrides) {
      throw InputError(plan_path(dir) + ": run " + std::to_string(i + 1) + " does not match " + spec_copy);
    }
    Job j;
    j.result.run = runs[i];
    j.result.hash = p.at("run").get<std::string>();
    j.result.seed = optional_seed(p.at("seed"));
    j.dir = dir + "/runs/" + j.result.hash;
    j.finished = load_recorded(j);
    all.push_back(std::move(j));
  }

  std::vector<RunResult> results;
  size_t failed = 0, missing = 0;
  for (const Job& j : all) {
    if (!j.finished) {
      ++missing;
      continue;
    }
    results.push_back(j.result);
    failed += j.result.ok ? 0 : 1;
  }
  const std::vector<std::string> written = write_tables(spec, dir, results, spec.seeds.size() > 1);
  std::printf("sweep collect %s: %zu runs: %zu ok, %zu failed, %zu missing\n", dir.c_str(), all.size(),
              all.size() - failed - missing, failed, missing);
  for (const Job& j : all) {
    if (j.finished && !j.result.ok) {
      std::printf("  failed: %s  %s: %s\n", j.result.hash.c_str(), params_text(j.result.run, j.result.seed).c_str(),
                  j.result.error.c_str());
    }
  }
  for (const Job& j : all) {
    if (!j.finished) {
      std::printf("  missing: %s  %s: no %s yet (queued, running, or ended without recording it: see %s/slurm-*.err)\n",
                  j.result.hash.c_str(), params_text(j.result.run, j.result.seed).c_str(), kStatusFile, j.dir.c_str());
    }
  }
  std::string job;
  const size_t active = active_tasks(dir, job);
  if (active > 0) std::printf("  slurm job %s: %zu array tasks still queued or running\n", job.c_str(), active);
  std::printf("wrote");
  for (size_t i = 0; i < written.size(); ++i) std::printf("%s %s", i ? "," : "", written[i].c_str());
  std::printf("\n");
  std::fflush(stdout);
  const std::vector<std::string> unknown = unknown_metrics(spec, results);
  if (!unknown.empty()) {
    throw InputError(spec.file + ": metrics: '" + unknown.front() +
                     "' is not a summary statistic of the runs (see the columns of results.csv)");
  }
  return failed + missing > 0 ? 1 : 0;
}

int run_slurm_task(const std::string& dir, size_t index) {
  const nlohmann::json plan = read_plan(dir);
  const nlohmann::json& tasks = plan.at("tasks");
  if (index >= tasks.size()) {
    throw InputError(plan_path(dir) + ": no array task " + std::to_string(index) + " (the plan has " +
                     std::to_string(tasks.size()) + ")");
  }
  const nlohmann::json& p = plan.at("runs").at(tasks[index].get<size_t>());
  const std::string cwd = plan.at("cwd").get<std::string>();
  if (::chdir(cwd.c_str()) != 0) {
    throw InputError(plan_path(dir) + ": cannot enter the folder the sweep was submitted from, " + cwd + ": " +
                     std::strerror(errno) + " (is it on a file system this node shares?)");
  }
  Job job;
  job.result.hash = p.at("run").get<std::string>();
  job.result.run.overrides = p.at("overrides").get<std::vector<std::string>>();
  job.result.run.seed = optional_seed(p.at("spec_seed"));
  job.result.seed = optional_seed(p.at("seed"));
  job.dir = (fs::path(dir).is_absolute() ? dir : fs::absolute(dir).string()) + "/runs/" + job.result.hash;

  // The folder as the local backend leaves it before a run: empty, but for this task's own Slurm output.
  std::set<std::string> keep;
  const char* array_job = std::getenv("SLURM_ARRAY_JOB_ID");
  const char* array_task = std::getenv("SLURM_ARRAY_TASK_ID");
  if (array_job && array_task) {
    const std::string stem = std::string("slurm-") + array_job + "_" + array_task;
    keep = {stem + ".out", stem + ".err"};
  }
  fs::create_directories(job.dir);
  for (const auto& e : fs::directory_iterator(job.dir)) {
    if (!keep.count(e.path().filename().string())) fs::remove_all(e.path());
  }

  StopSignals signals;  // Slurm's SIGTERM (time limit, scancel) goes on to the run, which is then recorded
  const auto t0 = Clock::now();
  const pid_t pid = spawn_run("/proc/self/exe", plan.at("base").get<std::string>(), job);
  bool forwarded = false;
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
    if (g_stop && !forwarded) {
      ::kill(-pid, SIGTERM);
      forwarded = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  record_end(job, status, std::chrono::duration<double>(Clock::now() - t0).count());
  return job.result.exit_code < 0 ? 1 : std::min(job.result.exit_code, 255);
}

}  // namespace vmsim::study
