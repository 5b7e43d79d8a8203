// The complete run configuration: simulation controls, the hardware platform, the firmware, and the
// processes with their workloads. Mirrors the module tree; every default is stated here once.
#pragma once

#include <string>
#include <vector>

#include "firmware/hv/hv_config.hpp"
#include "firmware/kernel/kernel.hpp"
#include "firmware/swap/reclaim.hpp"
#include "common/config.hpp"
#include "common/mode.hpp"
#include "models/cache/cache_config.hpp"
#include "models/cpu/core.hpp"
#include "models/interconnect/numa_interconnect.hpp"
#include "models/memory/memory_node.hpp"
#include "models/storage/swap_device_core.hpp"

namespace vmsim::platform {

// sim.event_trace: a window of accesses written one row each to OUTDIR/events.csv.
struct EventTraceConfig {
  uint64_t from = 0;
  uint64_t count = 0;

  template <class V>
  void visit(V& v) {
    v("from", from, "accesses",
      "Index of the first access of the window (0 = the run's first access), counted over all cores as they "
      "complete, like sim.warmup_accesses (the warm-up does not restart it)");
    v("count", count, "accesses", "Accesses in the window; 0 = no event trace (events.csv is not written)");
  }
};

struct SimConfig {
  SimMode mode = SimMode::Lt;
  uint64_t seed = 1;
  Duration quantum = Duration::ns(1000);
  uint64_t warmup_accesses = 0;
  bool checker = false;
  bool check_data = false;
  bool check_coherence = false;
  uint64_t inject_dropped_invalidation = 0;
  bool inject_missing_stac = false;
  config::Address inject_user_fetch{0};
  bool general_paths_only = false;
  uint64_t stats_interval = 0;
  EventTraceConfig event_trace;

  template <class V>
  void visit(V& v) {
    v("mode", mode, "",
      "Fidelity: functional (no timing), lt (blocking TLM with temporal decoupling) or at (non-blocking "
      "4-phase TLM through interconnect and DRAM controllers, no decoupling)");
    v("seed", seed, "", "Seed of every random choice in the run (generators); --seed overrides it");
    v("quantum", quantum, "time", "Temporal-decoupling quantum: how far a core may run ahead of SystemC time");
    v("warmup_accesses", warmup_accesses, "accesses",
      "Reset every statistic once this many accesses (all cores together) have completed; 0 = no warm-up");
    v("checker", checker, "", "Golden checker: re-walk the page tables functionally for every translation");
    v("check_data", check_data, "",
      "Data checker: every read must return 0 or the value the generators write there (each word holds the "
      "virtual address of its operation), else the run stops naming the address. Catches pages lost or "
      "misplaced by swapping, compaction or copy-on-write. Valid for generator workloads whose memory is "
      "private, anonymous or forked (not lackey traces, files or shared memory at differing addresses)");
    v("check_coherence", check_coherence, "",
      "Coherence checker (with system.caches): after every cache access, the line must have a single writer or "
      "only readers across all cores, and every private copy must be in an inclusive LLC with its core-valid "
      "bit; the first violation stops the run with a report (exit 3)");
    v("inject_dropped_invalidation", inject_dropped_invalidation, "accesses",
      "Test only (proves the coherence checker can fail): after core 0's Nth cache access that leaves its L1D "
      "fast path, the next invalidation of a private copy is dropped; 0 = never");
    v("inject_missing_stac", inject_missing_stac, "",
      "Test only (proves SMAP catches a kernel bug): the kernel's user copies (read and write calls) run without "
      "stac, so RFLAGS.AC is clear; under system.core.mmu.smap the first copy is a kernel oops that stops the run, "
      "without it the copies go on");
    v("inject_user_fetch", inject_user_fetch, "address",
      "Test only (proves SMEP catches a kernel bug): at each read or write call the kernel fetches an instruction "
      "at this user address of the calling process (a not-present page is faulted in first); under "
      "system.core.mmu.smep that is a kernel oops that stops the run, without it the run goes on (the page must "
      "be executable); 0 = never");
    v("general_paths_only", general_paths_only, "",
      "Test only (the outputs must not change): every access takes the general path: no functional-mode fast "
      "loop in the cores, no shortcuts in the cache hierarchy's slow path");
    v("stats_interval", stats_interval, "accesses",
      "Statistics time series: every this many accesses (all cores together, counted from the warm-up) append "
      "one row to OUTDIR/timeseries.csv with the change of every count since the previous row, and a last row "
      "at the end of the run (docs/STATS.md); 0 = off");
    v.section("event_trace", event_trace,
              "Event trace: one row per access of a window in OUTDIR/events.csv (TLB level, walk, where each PTE "
              "read was served, fault, cycles; docs/STATS.md). Needs system.core.outstanding 1");
  }
  void validate(const std::string& path) const;
};

struct SystemConfig {
  uint64_t cores = 1;
  uint64_t sockets = 1;
  cpu::CoreConfig core;
  interconnect::InterconnectConfig interconnect;
  mem::MemoryConfig memory;
  storage::SwapConfig swap;
  cache::HierarchyConfig caches = cache::HierarchyConfig::named("none");

  template <class V>
  void visit(V& v) {
    v("cores", cores, "cores", "Number of cores (each with its own MMU)");
    v("sockets", sockets, "sockets",
      "Number of sockets; cores are split evenly, core i on socket i / (cores / sockets)");
    v.section("core", core, "Every core's parameters");
    v.section("interconnect", interconnect, "NUMA interconnect between the cores' ports and the nodes");
    v.section("memory", memory, "Physical memory: the NUMA nodes and their memory controllers");
    v.section("swap", swap, "Swap: a block device every core reaches through its `io` socket, and the swap area on it");
    v.section("caches", caches,
              "Cache hierarchy: per core L1I, L1D and L2, a shared LLC per socket, MESI coherence; data accesses, "
              "fetches, page-walk PTE reads and the firmware's memory traffic go through it. `caches: NAME` is "
              "short for `caches: {preset: NAME}`; the default, none, is a machine without caches");
  }
  uint64_t socket_of(uint64_t core_index) const { return core_index / (cores / sockets); }
  void validate(const std::string& path) const;
};

enum class WorkloadKind { Sequential, Strided, Random, PointerChase, Lackey, Champsim, VmsimTrace };

// A workload that replays a trace file (lackey, champsim, vmsim_trace) rather than a generator.
constexpr bool is_trace(WorkloadKind k) {
  return k == WorkloadKind::Lackey || k == WorkloadKind::Champsim || k == WorkloadKind::VmsimTrace;
}

struct WorkloadConfig {
  WorkloadKind kind = WorkloadKind::Sequential;
  Bytes footprint{16ull << 20};
  uint64_t accesses = 1000000;
  double read_fraction = 0.8;
  uint32_t access_size = 8;
  Bytes stride{64};
  uint32_t gap = 4;
  config::Address base{0x10000000};
  std::string trace;
  bool fetches = true;
  uint64_t merge_gap_pages = 16;
  uint64_t limit = 0;

  template <class V>
  void visit(V& v) {
    v("kind", kind, "",
      "Workload source: a synthetic generator, a valgrind lackey trace, a ChampSim trace or a vmsim trace (docs/TRACES.md)");
    v("footprint", footprint, "bytes", "Generators: size of the region touched (its VMA)");
    v("accesses", accesses, "accesses", "Generators: number of memory operations");
    v("read_fraction", read_fraction, "ratio", "Generators: probability that an operation is a read (else a write)");
    v("access_size", access_size, "bytes", "Generators: bytes per operation (power of two, <= 64)");
    v("stride", stride, "bytes", "strided: distance between consecutive operations");
    v("gap", gap, "instructions", "Generators: non-memory instructions before every operation");
    v("base", base, "address", "Generators: virtual address where the region starts (page aligned)");
    v("trace", trace, "path",
      "Traces: trace file (lackey text, ChampSim binary raw/.gz/.xz, or vmsim trace convert output); relative to the config file");
    v("fetches", fetches, "", "Traces: replay instructions (lackey I lines, ChampSim records) as fetch accesses");
    v("merge_gap_pages", merge_gap_pages, "pages",
      "Traces: touched pages closer than this many untouched pages share one VMA");
    v("limit", limit, "accesses", "Stop the process after this many operations (0 = run to the end)");
  }
  void validate(const std::string& path) const;
};

struct VmaConfig {
  config::Address start{0};
  Bytes size{0};
  std::string prot = "rw-";
  std::string name;
  bool grows_down = false;
  bool huge = false;
  bool huge_1g = false;
  fw::NumaPolicyKind numa = fw::NumaPolicyKind::Default;
  std::string nodes;

  template <class V>
  void visit(V& v) {
    v("start", start, "address", "First byte of the area (page aligned)");
    v("size", size, "bytes", "Length (multiple of 4KiB)");
    v("prot", prot, "", "Permissions as rwx text, e.g. rw- or r-x");
    v("name", name, "", "Label used in reports");
    v("grows_down", grows_down, "", "A stack: a fault below the area extends it (up to firmware.stack_limit)");
    v("huge", huge, "", "Transparent huge pages: faults map whole aligned 2MiB pages when free, else 4KiB");
    v("huge_1g", huge_1g, "",
      "Explicitly huge: faults map whole aligned 1GiB pages from firmware.hugepages_1g while any is free");
    v("numa", numa, "", "NUMA policy of this area (default: the process's)");
    v("nodes", nodes, "node list", "Nodes of the area's bind / interleave / preferred policy, e.g. \"0,1\" or \"0-3\"");
  }
};

// A process's NUMA memory policy (set_mempolicy).
struct NumaConfig {
  fw::NumaPolicyKind policy = fw::NumaPolicyKind::Local;
  std::string nodes;

  template <class V>
  void visit(V& v) {
    v("policy", policy, "",
      "Where the process's pages go: local (first touch, the faulting core's node), bind (only `nodes`), "
      "interleave (page by page over `nodes`), preferred (the first of `nodes`, else any); default = local");
    v("nodes", nodes, "node list", "Nodes for bind / interleave / preferred, e.g. \"0,1\" or \"0-3\"");
  }
};

// One system call of a process script, run when the process reaches memory operation `at`.
struct SyscallConfig {
  uint64_t at = 0;
  fw::SyscallKind call = fw::SyscallKind::Mmap;
  config::Address addr{0};
  Bytes length{0};
  std::string prot = "rw-";
  bool fixed = false;
  bool shared = false;
  bool huge = false;
  bool huge_1g = false;
  std::string child;
  bool share_vm = false;
  std::string key;
  std::string file;
  Bytes offset{0};
  fw::NumaPolicyKind policy = fw::NumaPolicyKind::Default;
  std::string nodes;
  std::string name;

  template <class V>
  void visit(V& v) {
    v("at", at, "operations", "Run the call before the process's memory operation with this index (0 = at start)");
    v("call", call, "", "The system call");
    v("addr", addr, "address",
      "Start address (mmap hint or MAP_FIXED address; brk: the new break, 0 = query; read / write: the user buffer)");
    v("length", length, "bytes",
      "Length of the range (rounded up to pages; read / write: bytes to transfer, fewer past the file's end)");
    v("prot", prot, "", "mmap / mprotect / shm_attach: permissions as rwx text (--- = PROT_NONE)");
    v("fixed", fixed, "", "mmap: MAP_FIXED (replaces what is mapped there)");
    v("shared", shared, "", "mmap: MAP_SHARED (fork children share the frames instead of copy-on-write)");
    v("huge", huge, "", "mmap: align the area to 2MiB and mark it for huge pages");
    v("huge_1g", huge_1g, "", "mmap: align the area to 1GiB and map it with 1GiB pages from the pool");
    v("child", child, "process name", "fork: the process (with `parent` naming this one) the call creates");
    v("share_vm", share_vm, "", "fork: CLONE_VM, the child is a thread sharing the address space");
    v("key", key, "", "shm_attach: the segment's key; the first attach creates it with `length`");
    v("file", file, "file name",
      "mmap: map this file of firmware.files (private: copy-on-write, shared: the page cache); read / write: the "
      "file, by name or as a file descriptor (its index in firmware.files: a number with no file gives EBADF)");
    v("offset", offset, "bytes",
      "mmap of a file: byte offset in the file (page aligned); read / write: where the transfer starts (any byte)");
    v("policy", policy, "", "mbind: the policy of the range");
    v("nodes", nodes, "node list", "mbind: nodes of the policy, e.g. \"1\" or \"0,1\"");
    v("name", name, "", "mmap / shm_attach: VMA label in reports");
  }
};

// A scheduled move of a process to another core, once it completed `at` memory operations.
struct MigrationConfig {
  uint64_t at = 0;
  uint64_t core = 0;

  template <class V>
  void visit(V& v) {
    v("at", at, "operations", "Move once the process completed this many memory operations (increasing along the list)");
    v("core", core, "core index", "The core it moves to (another core than the one it runs on then)");
  }
};

struct ProcessConfig {
  static constexpr size_t kMaxVmas = 65530;  // Linux's default vm.max_map_count
  std::string name = "proc";
  uint64_t core = 0;
  WorkloadConfig workload;
  std::vector<VmaConfig> vmas;
  NumaConfig numa;
  std::string parent;
  Duration start{0};
  config::Address heap_base{0x200000000000ull};
  config::Address mmap_base{0x7f0000000000ull};
  std::vector<SyscallConfig> syscalls;
  std::vector<MigrationConfig> migrations;

  template <class V>
  void visit(V& v) {
    v("name", name, "", "Process name used in reports");
    v("core", core, "core index", "Core the process runs on; processes of one core run one after another");
    v.section("workload", workload, "What the process does");
    v.list("vmas", vmas,
           "Explicit address-space layout (at most 65530 areas); if empty, derived from the workload (generator "
           "region or trace scan)");
    v.section("numa", numa, "NUMA memory policy of the process");
    v("parent", parent, "process name",
      "If set, this process is created by a fork call of that process (and inherits its address space)");
    v("start", start, "time", "Simulated time before which the process is not scheduled (created processes only)");
    v("heap_base", heap_base, "address", "Start of the brk heap");
    v("mmap_base", mmap_base, "address", "mmap without an address places areas below this, top down");
    v.list("syscalls", syscalls, "System-call script: calls run at given memory-operation counts");
    v.list("migrations", migrations,
           "Scheduled moves to other cores (thread migration): its memory stays where it is, the new core starts "
           "with cold TLBs and caches");
  }
  void validate(const std::string& path, uint64_t cores) const;
};

// True if text names a file descriptor (a read / write `file` given as a number): decimal digits only.
inline bool is_descriptor(const std::string& text) {
  return !text.empty() && text.size() <= 9 && text.find_first_not_of("0123456789") == std::string::npos;
}

// Parses a node list ("0,2" or "0-3,5"); throws InputError naming path.key if malformed or a node is
// not below `nodes`.
std::vector<unsigned> parse_node_list(const std::string& text, size_t nodes, const std::string& path,
                                      const char* key);
// Parses a list of process indices ("0-3" or "0,2"), each below `processes`; throws InputError naming
// path.key if malformed or out of range.
std::vector<size_t> parse_process_list(const std::string& text, size_t processes, const std::string& path,
                                       const char* key);
// rwx text -> prot bits (text already validated).
uint8_t parse_prot(const std::string& text);

struct PlatformConfig {
  static constexpr size_t kMaxProcesses = 32768;  // Linux's default pid_max
  SimConfig sim;
  SystemConfig system;
  fw::KernelConfig firmware;
  std::vector<ProcessConfig> processes;
  fw::HypervisorConfig virtualization;

  template <class V>
  void visit(V& v) {
    v.section("sim", sim, "Simulation controls");
    v.section("system", system, "The modeled hardware");
    v.section("firmware", firmware, "The firmware OS");
    v.list("processes", processes, "Processes to run, each with its workload (at most 32768)");
    v.section("virtualization", virtualization,
              "Nested paging: guests (each a kernel of its own over guest-physical memory) under a hypervisor, "
              "EPT, VPIDs and the nested translation caches (docs/ARCHITECTURE.md, \"Virtualization\")");
  }
  void validate() const;
  // With virtualization.enabled: the process indices of each guest (one guest running every process when
  // virtualization.guests is empty). Validated by validate().
  std::vector<std::vector<size_t>> guest_processes() const;

 private:
  void validate_virtualization() const;

 public:

  // Directory of the config file, for resolving relative trace paths ("" = current directory).
  std::string base_dir;
};

// The YAML tree of FILE ("" = an empty config) with the --set assignments applied, each recorded in
// `applied`, and the shorthand system.caches: NAME expanded to {preset: NAME}. Throws InputError.
YAML::Node load_config_tree(const std::string& file, const std::vector<std::string>& overrides,
                            config::Overrides& applied);

// Loads FILE, applies --set assignments and an optional seed, validates. Throws InputError.
PlatformConfig load_platform_config(const std::string& file, const std::vector<std::string>& overrides,
                                    const std::optional<uint64_t>& seed);
// The fully resolved config as YAML text.
std::string resolved_yaml(PlatformConfig& cfg);
// Markdown table of every key (for docs/CONFIG.md).
std::string config_reference_markdown();

}  // namespace vmsim::platform

template <>
struct vmsim::config::EnumNames<vmsim::platform::WorkloadKind> {
  static const std::vector<std::pair<vmsim::platform::WorkloadKind, const char*>>& table() {
    using K = vmsim::platform::WorkloadKind;
    static const std::vector<std::pair<K, const char*>> t = {{K::Sequential, "sequential"},
                                                             {K::Strided, "strided"},
                                                             {K::Random, "random"},
                                                             {K::PointerChase, "pointer_chase"},
                                                             {K::Lackey, "lackey"},
                                                             {K::Champsim, "champsim"},
                                                             {K::VmsimTrace, "vmsim_trace"}};
    return t;
  }
};
