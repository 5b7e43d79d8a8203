// `vmsim plot` and `vmsim report`: argument checks here, the drawing in scripts/vmsim_plot.py, run as a
// python3 child process with the same arguments.
#include "apps/vmsim/plot.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "common/error.hpp"

#ifndef VMSIM_SOURCE_DIR
#error "VMSIM_SOURCE_DIR (the source tree, for scripts/vmsim_plot.py) must be defined by the build"
#endif

namespace vmsim::study {

namespace {

constexpr int kExitBadInput = 2;

// Debian's interpreter, where python3-matplotlib is installed (a python3 earlier in PATH, from pyenv or a
// virtualenv, would not see it); $VMSIM_PYTHON overrides.
std::string python() {
  const char* env = std::getenv("VMSIM_PYTHON");
  if (env && *env) return env;
  return ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

int run_script(const std::vector<std::string>& args) {
  const std::string interpreter = python();
  std::vector<std::string> argv_s = {interpreter, plot_script()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw InputError("cannot start " + interpreter + ": " + std::strerror(errno));
  if (pid == 0) {
    ::execvp(interpreter.c_str(), argv.data());
    const std::string msg = "vmsim: error: cannot run " + interpreter + ": " + std::strerror(errno) + "\n";
    (void)!::write(STDERR_FILENO, msg.data(), msg.size());
    ::_exit(kExitBadInput);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw InputError(std::string("waitpid: ") + std::strerror(errno));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace

std::string plot_script() {
  const char* env = std::getenv("VMSIM_PLOT_SCRIPT");
  const std::string path = env && *env ? std::string(env) : std::string(VMSIM_SOURCE_DIR) + "/scripts/vmsim_plot.py";
  if (!std::filesystem::is_regular_file(path)) {
    throw InputError(path + ": plot script not found (set VMSIM_PLOT_SCRIPT to scripts/vmsim_plot.py of a vmsim tree)");
  }
  return path;
}

CLI::App* add_plot_command(CLI::App& app, PlotOptions& o) {
  CLI::App* c = app.add_subcommand(
      "plot", "Plot a sweep's DIR/results.csv into DIR/plots/ (PNG and SVG; see docs/STUDIES.md)");
  c->add_option("dir", o.dir, "Sweep output folder (holds results.csv)")->required();
  c->add_option("--x", o.x, "Column on the x axis (repeatable); default: every swept key");
  c->add_option("--y", o.y, "Metric column (repeatable); default: the spec's metrics, else "
                            "avg_access_latency_core_cycles and tlb_misses");
  c->add_option("--group", o.group, "Column whose values make one series each; default: a second swept key");
  c->add_option("--kind", o.kind, "line (mean, 95 % CI with several seeds), bar, or stacked (the metrics stacked)")
      ->check(CLI::IsMember({"line", "bar", "stacked"}))
      ->capture_default_str();
  return c;
}

CLI::App* add_report_command(CLI::App& app, std::string& report_dir) {
  CLI::App* c = app.add_subcommand(
      "report", "Write DIR/report.html: one self-contained page for a run folder (stats.json) or a sweep folder "
                "(results.csv)");
  c->add_option("dir", report_dir, "Run or sweep output folder")->required();
  return c;
}

int run_plot_command(const PlotOptions& o) {
  std::vector<std::string> args = {"plot", o.dir, "--kind", o.kind};
  for (const std::string& x : o.x) args.insert(args.end(), {"--x", x});
  for (const std::string& y : o.y) args.insert(args.end(), {"--y", y});
  if (!o.group.empty()) args.insert(args.end(), {"--group", o.group});
  return run_script(args);
}

int run_report_command(const std::string& dir) { return run_script({"report", dir}); }

int plot_refs(const RefsTable& table, const std::string& file) {
  // The table goes to the script through a temporary CSV file (policy,frames,faults).
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/vmsim-refs-XXXXXX";
  const int fd = ::mkstemp(path.data());
  if (fd < 0) throw InputError(path + ": cannot create a temporary file: " + std::strerror(errno));
  const std::string csv = format_refs_csv(table);
  const bool written = ::write(fd, csv.data(), csv.size()) == static_cast<ssize_t>(csv.size());
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    throw InputError(path + ": cannot write a temporary file");
  }
  int code = 0;
  try {
    code = run_script({"refs", path, file});
  } catch (...) {
    ::unlink(path.c_str());
    throw;
  }
  ::unlink(path.c_str());
  return code;
}

}  // namespace vmsim::study
