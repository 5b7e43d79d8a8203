// tlb_cosim: lock-step co-simulation of the Verilated RTL TLB against the model's TlbArray, with
// constrained-random or directed stimulus, functional coverage and a waveform of the first divergence.
//
//   tlb_cosim [--variant NAME|all] [--ops N] [--seed S] [--directed NAME|all] [--wave FILE [--wave-from OP]]
//             [--require-coverage] [--expect-mismatch] [--quiet] [--list]
//
// Exit codes: 0 pass; 1 a mismatch, an RTL assertion, a directed expectation or (with --require-coverage)
// a coverage hole; with --expect-mismatch, 0 iff a mismatch was caught and its waveform written, else 1;
// 2 bad arguments.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <systemc>

#include "testbench/rtl_tlb.hpp"
#include "testbench/scoreboard.hpp"
#include "testbench/stimulus.hpp"

extern char** environ;

// The SystemC kernel reads SC_COPYRIGHT_MESSAGE before sc_main runs: set it during static initialization.
static const bool g_banner_off = [] { return ::setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0) == 0; }();

namespace vmsim::rtl {
namespace {

struct Options {
  std::string program;  // argv[0]
  std::string variant;
  uint64_t ops = 100000;
  uint64_t seed = 1;
  std::string directed;
  std::string wave;
  uint64_t wave_from = 0;
  bool require_coverage = false;
  bool expect_mismatch = false;
  bool quiet = false;
};

// One run: a variant with random stimulus, or a variant with one directed sequence.
struct Run {
  const RtlVariant* variant = nullptr;
  std::string sequence;  // empty: random
  RtlTlb* rtl = nullptr;
  // Results.
  bool mismatch = false;
  std::string failure;  // mismatch report, expectation or error
  uint64_t ops = 0;
  uint64_t failed_op = 0;
  uint64_t cycles = 0;
  double seconds = 0;
  std::unique_ptr<Coverage> coverage;
};

std::string reproduce_command(const Options& o, const Run& r) {
  std::string cmd = o.program + " --variant " + r.variant->params.name + " --seed " + std::to_string(o.seed);
  if (!r.sequence.empty()) cmd += " --directed " + r.sequence;
  return cmd;
}

class Driver : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Driver);
  Driver(const sc_core::sc_module_name& name, const Options& opts, std::vector<Run>& runs)
      : sc_core::sc_module(name), m_opts(opts), m_runs(runs) {
    SC_THREAD(main);
  }

 private:
  void main() {
    for (Run& r : m_runs) execute(r);  // then no events are left and sc_start() returns
  }

  void execute(Run& r) {
    Scoreboard sb(*r.rtl, m_opts.seed, reproduce_command(m_opts, r));
    if (!m_opts.wave.empty()) sb.set_waveform(m_opts.wave, m_opts.wave_from);
    const auto t0 = std::chrono::steady_clock::now();
    try {
      if (r.sequence.empty()) {
        sb.set_op_limit(m_opts.ops);
        RandomStimulus stim(sb.model(), m_opts.seed);
        for (uint64_t i = 0; i < m_opts.ops; ++i) sb.step(stim.next());
      } else {
        // Directed runs go to completion unless --ops was given explicitly (waveform replays).
        if (m_ops_given) sb.set_op_limit(m_opts.ops);
        Directed d(sb);
        for (const auto& [name, seq] : directed_sequences()) {
          if (name == r.sequence) seq(d);
        }
      }
    } catch (const Divergence&) {
      r.mismatch = true;
      r.failure = sb.report();
      r.failed_op = sb.failed_op();
    } catch (const OpLimitReached&) {
    } catch (const ExpectationFailed& e) {
      r.failure = std::string("directed sequence '") + r.sequence + "' on " + r.variant->params.name + ": " +
                  e.what() + "\n";
    } catch (const std::exception& e) {
      r.failure = std::string("error on ") + r.variant->params.name + " after " + std::to_string(sb.ops()) +
                  " operations: " + e.what() + "\n";
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.ops = sb.ops();
    r.cycles = r.rtl->cycles();
    r.coverage = std::make_unique<Coverage>(sb.coverage());
    if (r.rtl->tracing()) r.rtl->close_trace();
  }

 public:
  bool m_ops_given = false;

 private:
  const Options& m_opts;
  std::vector<Run>& m_runs;
};

// Re-runs this program for the failing run with tracing from `window` operations before the failure, so
// the waveform covers the cycles around it. Returns the waveform path, or "" if the replay failed.
std::string write_waveform(const Options& o, const Run& r) {
  const std::string path = "tlb_cosim_" + r.variant->params.name + (r.sequence.empty() ? "" : "_" + r.sequence) +
                           "_seed" + std::to_string(o.seed) + ".vcd";
  const uint64_t window = 64;
  std::vector<std::string> args = {"/proc/self/exe", "--variant", r.variant->params.name, "--seed",
                                   std::to_string(o.seed), "--ops", std::to_string(r.failed_op + 1), "--wave", path,
                                   "--wave-from", std::to_string(r.failed_op > window ? r.failed_op - window : 0),
                                   "--quiet"};
  if (!r.sequence.empty()) {
    args.push_back("--directed");
    args.push_back(r.sequence);
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return "";
  int status = 0;
  waitpid(pid, &status, 0);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) || std::filesystem::file_size(path, ec) == 0) return "";
  return path;
}

int cosim(int argc, char* argv[]) {
  Options o;
  o.program = argc > 0 ? argv[0] : "tlb_cosim";
  bool list = false;
  CLI::App app{"Lock-step co-simulation of the Verilated RTL TLB against the model's TlbArray"};
  app.add_option("--variant", o.variant, "Verilated variant (see --list), or 'all'; default: the first");
  auto* ops_opt = app.add_option("--ops", o.ops, "Random operations per variant (default 100000); with "
                                                 "--directed, stop before this operation");
  app.add_option("--seed", o.seed, "Seed of the random stimulus (default 1)");
  app.add_option("--directed", o.directed, "Run a directed sequence (see --list) or 'all' instead of random stimulus");
  app.add_option("--wave", o.wave, "Write a VCD waveform (tracing on from --wave-from)");
  app.add_option("--wave-from", o.wave_from, "First operation traced with --wave (default 0)");
  app.add_flag("--require-coverage", o.require_coverage, "Fail unless every coverage bin was hit");
  app.add_flag("--expect-mismatch", o.expect_mismatch,
               "Pass iff a mismatch is caught (bug-injection builds); the waveform must be written");
  app.add_flag("--quiet", o.quiet, "Print the summary and coverage holes only");
  app.add_flag("--list", list, "List the variants and directed sequences and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (list) {
    std::cout << "variants:\n";
    for (const RtlVariant& v : rtl_variants()) std::cout << "  " << v.params.describe() << "\n";
    std::cout << "directed sequences:\n";
    for (const auto& [name, seq] : directed_sequences()) std::cout << "  " << name << "\n";
    return 0;
  }

  std::vector<const RtlVariant*> variants;
  if (o.variant == "all") {
    for (const RtlVariant& v : rtl_variants()) variants.push_back(&v);
  } else if (o.variant.empty()) {
    variants.push_back(&rtl_variants().front());
  } else if (const RtlVariant* v = find_rtl_variant(o.variant)) {
    variants.push_back(v);
  } else {
    std::cerr << "tlb_cosim: unknown variant '" << o.variant << "' (see --list)\n";
    return 2;
  }
  std::vector<std::string> sequences;
  if (o.directed == "all") {
    for (const auto& [name, seq] : directed_sequences()) sequences.push_back(name);
  } else if (!o.directed.empty()) {
    bool known = false;
    for (const auto& [name, seq] : directed_sequences()) known |= name == o.directed;
    if (!known) {
      std::cerr << "tlb_cosim: unknown directed sequence '" << o.directed << "' (see --list)\n";
      return 2;
    }
    sequences.push_back(o.directed);
  } else {
    sequences.push_back("");
  }

  sc_core::sc_report_handler::set_actions(sc_core::SC_WARNING, sc_core::SC_DISPLAY | sc_core::SC_THROW);
  // The simulator's resolution, which the Verilated models are built for.
  sc_core::sc_set_time_resolution(1, sc_core::SC_FS);
  if (!o.wave.empty()) RtlTlb::enable_tracing();
  // One RTL instance per run: every run starts from reset.
  std::vector<Run> runs;
  std::vector<std::unique_ptr<RtlTlb>> rtls;
  for (const RtlVariant* v : variants) {
    for (const std::string& s : sequences) {
      rtls.push_back(v->make(("rtl" + std::to_string(rtls.size())).c_str()));
      Run r;
      r.variant = v;
      r.sequence = s;
      r.rtl = rtls.back().get();
      runs.push_back(std::move(r));
    }
  }
  Driver driver("driver", o, runs);
  driver.m_ops_given = ops_opt->count() > 0;
  sc_core::sc_start();

  int failures = 0;
  bool caught = false;
  for (Run& r : runs) {
    const double rate = r.seconds > 0 ? static_cast<double>(r.ops) / r.seconds : 0;
    std::printf("%s %s seed %llu: %llu operations, %llu cycles, %.2f s, %.0f ops/s, coverage %zu/%zu%s\n",
                r.variant->params.name.c_str(), r.sequence.empty() ? "random" : r.sequence.c_str(),
                static_cast<unsigned long long>(o.seed), static_cast<unsigned long long>(r.ops),
                static_cast<unsigned long long>(r.cycles), r.seconds, rate, r.coverage->covered(), r.coverage->bins(),
                r.failure.empty() ? "" : "  FAILED");
    if (!r.failure.empty()) {
      std::cout << r.failure;
      ++failures;
    }
    if (r.mismatch) {
      if (o.wave.empty()) {
        const std::string wave = write_waveform(o, r);
        std::cout << "  waveform: " << (wave.empty() ? "could not be written" : wave) << "\n";
        caught = !wave.empty();
      } else {
        std::cout << "  waveform: " << o.wave << "\n";
        caught = true;
      }
    }
    if (o.require_coverage && r.coverage->covered() < r.coverage->bins()) {
      std::cout << "  coverage holes:\n";
      for (const std::string& h : r.coverage->holes()) std::cout << "    " << h << "\n";
      ++failures;
    }
    if (!o.quiet && r.failure.empty()) r.coverage->print(std::cout);
  }
  std::cout.flush();
  if (o.expect_mismatch) {
    std::cout << (caught ? "expected mismatch caught\n" : "NO MISMATCH CAUGHT: the injected bug went unnoticed\n");
    return caught ? 0 : 1;
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace vmsim::rtl

int sc_main(int argc, char* argv[]) {
  try {
    return vmsim::rtl::cosim(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "tlb_cosim: " << e.what() << "\n";
    return 2;
  }
}
