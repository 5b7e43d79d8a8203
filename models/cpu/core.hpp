// Trace-driven core: a TLM initiator that replays the memory operations of its processes through its
// MMU, charges a cost for the non-memory instructions between them, traps into the firmware on page
// faults (through the firmware's trap interface), and serves as the HAL the firmware uses while it runs
// on this core.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <unordered_map>
#include <memory>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>
#include <vector>

#include "firmware/hal/hal.hpp"
#include "firmware/hal/trap.hpp"
#include "common/config.hpp"
#include "common/mode.hpp"
#include "common/stats.hpp"
#include "models/cache/hierarchy.hpp"
#include "models/cpu/event_trace.hpp"
#include "models/cpu/run_control.hpp"
#include "models/mmu/mmu.hpp"
#include "models/smp/smp.hpp"
#include "models/workload/workload.hpp"

namespace vmsim::cache {
class CacheSystem;
}

namespace vmsim::cpu {

struct CoreConfig {
  Frequency frequency{3000000000ull};
  double cpi = 1.0;  // core cycles per non-memory instruction
  uint64_t outstanding = 1;
  mmu::MmuConfig mmu;

  template <class V>
  void visit(V& v) {
    v("frequency", frequency, "Hz", "Core clock");
    v("cpi", cpi, "cycles/instruction", "Cycles charged per non-memory instruction between memory operations");
    v("outstanding", outstanding, "operations",
      "Memory operations in flight at once (sim.mode at only; 1 = blocking in-order core). Operations issue "
      "at the pace of their gaps while earlier ones are still outstanding, as a load/store queue allows; a "
      "dependent operation (pointer chase) waits for the previous one");
    v.section("mmu", mmu, "Memory-management unit of each core");
  }
  void validate(const std::string& path) const;
};

// A process to run on a core: what the firmware needs to create it, and its workload.
struct CoreTask {
  fw::ProcessSpec spec;
  std::unique_ptr<workload::Source> source;
  uint64_t limit = 0;  // stop after this many memory operations (0 = run the workload to its end)
  uint64_t start_ps = 0;  // not scheduled before this simulated time
  // System calls, sorted by `at`: each runs before the memory operation with that index.
  std::vector<fw::Syscall> script;
  // Instruction counting: a Fetch op is always one instruction; a data op is one more instruction on top
  // of its gap only if the source says so (generators: yes; lackey traces count instructions in the gap).
  bool data_ops_are_instructions = true;
  // Scheduled moves to other cores (processes[i].migrations), sorted by `at` (the process's completed
  // memory operations), and the next one due.
  struct Migration {
    uint64_t at = 0;
    CoreId core = 0;
  };
  std::vector<Migration> migrations;
  size_t next_migration = 0;
};

class Core;

// The cores' side of process migration, shared by every core of a system (the platform makes one when
// processes[].migrations or firmware.scheduler.load_balance are used; without it no core's behavior
// changes). A task moved to a core waits in that core's inbox until its next scheduling point; a core whose
// processes all ended stays (idle) until every core's have, since work may still arrive.
struct MigrationHub {
  std::vector<Core*> cores;  // by core id
  uint64_t moves = 0;        // tasks moved so far (scheduled and balanced)
  // True when no core has a task left to run or in its inbox.
  bool all_done() const;
};

class Core : public sc_core::sc_module, public fw::Hal, public smp::Target {
 public:
  tlm_utils::simple_initiator_socket<Core> data;
  // Block I/O to the swap device (left unbound when the system has none).
  tlm_utils::simple_initiator_socket_optional<Core> io;

  Core(const sc_core::sc_module_name& name, CoreId id, const CoreConfig& cfg, SimMode mode, bool golden_checker,
       fw::Trap& trap, RunControl& control, const mmu::TlbBackendFactory& tlb_factory = {});

  // Queues a process. The core schedules its processes round robin with firmware.scheduler.time_slice
  // (0: one after another, each to its end), in the order added. A process starts at its start time;
  // a forked one (spec.parent >= 0) once its parent's fork call created it, and never if the parent
  // ended without making it.
  void add_task(CoreTask task) { m_tasks.push_back(std::move(task)); }
  // Joins the system's SMP domain (the kernel lock, shootdown IPIs, background wake-ups). Called once
  // by the System, in core-id order.
  void join(smp::Domain& domain) {
    m_smp = &domain;
    domain.join(m_id, m_cpu, *this);
  }
  mmu::Mmu& mmu() { return m_mmu; }
  // The system's cache hierarchy (system.caches), shared by every core. Without one (the default) every
  // access, fetch, PTE read and firmware access is a memory transaction as before.
  struct CachePort {
    cache::Hierarchy* hierarchy = nullptr;
    bool check = false;                                 // sim.check_coherence: check the line after each access
    std::function<sc_core::sc_time(uint64_t pa)> path;  // interconnect latency from this core's socket to pa's node
    std::function<bool(uint64_t pa)> remote;            // pa lies on a node that is not local to this core
    sc_core::sc_time remote_message;                    // one cross-socket coherence message
    uint64_t inject_drop_at = 0;  // test only: drop an invalidation after this many slow-path accesses
    // at mode: the LLC miss-status registers of this core's socket, shared by its cores (null: unbounded).
    struct MissSlots {
      uint64_t capacity = 0;
      uint64_t in_use = 0;
      sc_core::sc_event freed;
    };
    MissSlots* llc_mshrs = nullptr;
    uint64_t writeback_buffer = 16;  // at mode: entries of this core's write-back / prefetch-fill buffer
    uint32_t socket = 0;  // this core's socket
    // at mode: the LLC bank and home directory queues (null: none are timed; every other mode).
    cache::CacheSystem* queues = nullptr;
  };
  // With caches: hits cost the hierarchy's load-to-use latency and build no transaction, contents move
  // through DMI, and only line fills (and, in lt, write-backs and prefetch fills off the critical path) are
  // timed memory transactions. Call once, before the simulation starts.
  void set_caches(const CachePort& port);
  // sim.check_data: every read must return 0 or its operation's own pattern (throws SimulationError).
  void set_check_data(bool on) { m_check_data = on; }
  // Test only (sim.general_paths_only): with true, the functional mode performs every operation through
  // the general per-operation path (no run_functional fast case); the outputs must be the same.
  void set_general_paths_only(bool on) { m_functional_loop = !on; }
  // sim.event_trace: record this core's accesses in t (nullptr: off); the core stops by itself once t's
  // window is over. Call before the simulation starts.
  void set_event_trace(EventTrace* t) {
    m_events = t;
    m_plain_functional = !m_timed && t == nullptr;
    m_mmu.set_trace(t != nullptr ? &m_ttrace : nullptr);
  }
  // Process migration (see MigrationHub); call before the simulation starts. Creates this core's
  // migration statistics.
  void set_migration(MigrationHub* hub);
  // The load balancer's request: at its next instruction boundary this core gives one task that is not
  // running (Scheduler::movable) to core `to`. Returns at once; nothing happens if none is movable then.
  void request_give(CoreId to);
  // Tasks not finished here (running, runnable, blocked, to be created) plus those in the inbox: the
  // load the balancer compares. 0 before the core's thread started.
  size_t load() const;
  // A process is on this core now (picked and running, or being set up).
  bool busy() const { return m_running != SIZE_MAX; }
  // This core's simulated time now: SystemC time plus the local offset it runs ahead (lt).
  sc_core::sc_time local_time() const { return m_qk.get_current_time(); }
  // Simulated time at which this core finished its last process.
  sc_core::sc_time finish_time() const { return m_finish; }
  // True once the core's thread ran to its end (every process ended).
  bool finished() const override { return m_done; }

  // fw::Hal
  uint64_t read64(PhysAddr pa) override;
  void write64(PhysAddr pa, uint64_t value) override;
  void read_block(PhysAddr pa, uint8_t* data, uint64_t len) override;
  void write_block(PhysAddr pa, const uint8_t* data, uint64_t len) override;
  void zero_frame(Pfn pfn) override;
  void dma_read(PhysAddr pa, uint8_t* data, uint64_t len) override;
  void dma_write(PhysAddr pa, const uint8_t* data, uint64_t len) override;
  void set_direct_map(uint64_t base, uint64_t bytes) override;
  fw::UserAccess user_access(AccessKind kind, VirtAddr va, uint8_t* data, uint64_t len, bool stac) override;  // user_access.cpp
  void invlpg(VirtAddr va) override { m_mmu.invlpg(va); }
  void set_root(PhysAddr root, uint16_t pcid) override {
    m_root = root;
    m_pcid = pcid;
    m_mmu.set_root(root, pcid);
  }
  void invalidate_pcid(uint16_t pcid) override {
    m_mmu.invpcid(mmu::InvpcidType::SingleContext, pcid, VirtAddr{0});
  }
  void invalidate_all_pcids() override { m_mmu.invpcid(mmu::InvpcidType::AllContextsExclGlobal, 0, VirtAddr{0}); }
  void kernel_enter() override;
  void kernel_exit() override;
  void shootdown_begin(const std::vector<CoreId>& cores) override;
  void shootdown_end(const std::vector<CoreId>& cores, PhysAddr root, uint16_t pcid, const std::vector<VirtAddr>& pages,
                     uint64_t receiver_cycles) override;
  void shootdown_resume(const std::vector<CoreId>& cores) override;
  void charge(uint64_t cycles) override;
  CoreId core_id() const override { return m_id; }
  uint64_t now_ps() const override;
  void swap_read(uint64_t device_offset, uint8_t* page) override;
  void swap_write(uint64_t device_offset, const uint8_t* page) override;
  uint64_t swap_submit(bool write, uint64_t device_offset, uint8_t* page) override;
  void invalidate_page(PhysAddr root, uint16_t pcid, VirtAddr va) override { apply_shootdown(root, pcid, {va}); }
  void invalidate_space(PhysAddr root, uint16_t pcid) override;
  // smp::Target
  void receive_shootdown(PhysAddr root, uint16_t pcid, const std::vector<VirtAddr>& pages) override {
    apply_shootdown(root, pcid, pages);
    ++m_ipis_received;
  }
  void receive_guest_shootdown(uint16_t vpid, PhysAddr root, uint16_t pcid, const std::vector<VirtAddr>& pages) override {
    invalidate_guest(vpid, root, pcid, pages);
    ++m_ipis_received;
  }
  void receive_ept_shootdown(uint64_t eptp) override {
    invept(eptp);
    ++m_ipis_received;
  }
  // fw::Hal, hardware virtualization (vmx.cpp): VM entry and exit load and leave the MMU's guest mode;
  // guest invalidations and EPT shootdowns act on the given VPID / EPTP whatever mode the core is in.
  void vm_enter(const fw::VmEntry& e) override;
  void vm_exit() override;
  bool in_guest() const override { return m_mmu.in_guest(); }
  void set_guest_root(PhysAddr root, uint16_t pcid) override;
  void invept(uint64_t eptp) override;
  void invalidate_guest(uint16_t vpid, PhysAddr root, uint16_t pcid, const std::vector<VirtAddr>& pages) override;
  void shootdown_end_guest(const std::vector<CoreId>& cores, uint16_t vpid, PhysAddr root, uint16_t pcid,
                           const std::vector<VirtAddr>& pages, uint64_t receiver_cycles) override;
  void shootdown_end_ept(const std::vector<CoreId>& cores, uint64_t eptp, uint64_t receiver_cycles) override;
  // Nested paging (virtualization.enabled): the nested caches' sizes every VM entry loads, and this core's
  // VM-exit statistics (vm_exits, time.vm_exit; a native run has neither). Call before the simulation.
  void set_virtualization(const mmu::NestedCacheSizes& sizes);
  bool wake_background(CoreId core) override;
  // The system's timer asks this core to run the kernel's periodic work at its next boundary.
  bool request_background() { return wake_background(m_id); }
  uint64_t memory_ops() const override { return m_control.accesses(); }
  void wait_until(uint64_t ps) override;

 private:
  void run();
  // Per-process replay state (the scheduling state is the firmware's scheduler's).
  struct RunState {
    std::vector<workload::MemOp> ops;  // current batch
    size_t pos = 0, count = 0;
    uint64_t done = 0;                 // memory operations completed
    size_t next_call = 0;              // next script entry
    bool ended = false;                // the source has no more operations
  };
  enum class SliceEnd { Preempted, Ended, Blocked, Migrate };
  enum class OpStatus { Done, Killed, Blocked };
  static constexpr size_t kBatch = 1024;
  void schedule();
  // --- Migration (migration.cpp) ---
  struct Arrival {
    CoreTask task;
    RunState state;
    std::optional<Pid> pid;  // nullopt: not created yet
  };
  // Task i (not running on this core now; created or not) leaves for core `to`: the firmware updates its records
  // (and drops this core's translations of it unless another task here shares its address space), the
  // task is finished here and queued in the destination's inbox, which is woken.
  void hand_over(size_t i, CoreId to);
  // Takes the tasks in the inbox into this core's scheduler.
  void adopt_arrivals();
  // At a boundary: carries out a pending request_give.
  void give_pending();
  MigrationHub* m_hub = nullptr;
  std::unique_ptr<fw::Scheduler> m_queue;  // made when the thread starts
  std::deque<RunState> m_states;           // by task index (a deque: arrivals never move the others)
  size_t m_running = SIZE_MAX;             // task picked and being run (not movable)
  size_t m_current = SIZE_MAX;             // task whose address space is loaded
  std::vector<Arrival> m_inbox;
  int m_give_to = -1;                      // pending request_give (-1: none)
  bool m_migrating = false;                // inside Trap::migrate (invalidate_space counts the drop)
  uint64_t m_mig_in = 0, m_mig_out = 0, m_mig_tlb_dropped = 0;
  std::unique_ptr<stats::Group> m_mig_group;
  std::vector<std::unique_ptr<stats::Stat>> m_mig_stats;
  // Runs the task for up to `slice` core cycles (0 = to its end): Ended (exit, kill, end of its
  // workload), Preempted, Blocked (a major fault waits for swap I/O; Trap::blocked_until says until when),
  // or Migrate (its next scheduled migration is due: task.migrations[task.next_migration]).
  // With a time slice, a process waking from swap I/O (at wake_ps, simulated ps) preempts the running
  // one at its next boundary, as a scheduler's wake-up preemption does.
  // alive: the firmware's flag of pid (Trap::alive_flag), read before every operation.
  SliceEnd run_slice(CoreTask& task, RunState& rs, Pid pid, const bool* alive, uint64_t slice,
                     uint64_t wake_ps = UINT64_MAX);
  // The functional mode's loop (no event trace, one operation in flight): performs ops[0..n) of pid, with
  // no script call due among them, as run_slice's per-operation loop would (interrupts taken at each
  // boundary, `alive` read before each operation). An operation that is a repeat TLB hit on the inline
  // path, a hit on the L1D's remembered line (with caches) and a hit in the DMI slots is done here; any
  // other goes through functional_step. Returns the operations completed: n, or fewer when the process
  // ended (killed: during the operation at that index, which was attempted; else before it).
  size_t run_functional(Pid pid, const workload::MemOp* ops, size_t n, bool data_op_is_instruction,
                        const bool* alive, bool& killed);
  // One operation of the functional mode through the general path (access() without an event trace);
  // false if the process was killed.
  [[gnu::noinline]] bool functional_step(Pid pid, const workload::MemOp& op, bool data_op_is_instruction);
  // access_functional after the translation (tr: no fault): the data access through the caches or memory,
  // the counts; false if the process was killed.
  [[gnu::noinline]] bool functional_data(Pid pid, const workload::MemOp& op, const mmu::Translation& tr);
  bool m_functional_loop = true;  // run_functional may be used (sim.general_paths_only turns it off)
  // Runs the script calls due before operation `done`; returns false if the process exited.
  bool run_syscalls(CoreTask& task, Pid pid, size_t& next, uint64_t done);
  // At an instruction boundary: stays stopped while a shootdown IPI holds this core, then charges the
  // IPIs received since the last operation.
  // At an instruction boundary: honours stop requests (shootdowns) and charges pending IPI cycles. The
  // common case, nothing pending, stays inline on the per-operation path.
  void take_interrupts() {
    if (m_cpu.attention) {
      take_pending_interrupts();
    } else {
      m_cpu.in_op = false;
    }
  }
  void take_pending_interrupts();
  // After a translation of va that faulted: in guest mode with a VM exit reported by the MMU, its
  // information for the firmware (true); else false (a page fault, guest or host).
  bool vm_exit_info(VirtAddr va, AccessKind kind, fw::VmExitInfo& info) const;
  // Hands a VM exit to the firmware (Trap::handle_vm_exit), counted in vm_exits; the caller times it.
  fw::FaultOutcome take_vm_exit(Pid pid, const fw::VmExitInfo& info);
  void apply_shootdown(PhysAddr root, uint16_t pcid, const std::vector<VirtAddr>& pages);
  // One memory operation: translate (trapping into the firmware on faults) and access memory. Blocked:
  // the fault handler started a swap-in; the operation is retried (m_resume) once the process wakes.
  // The functional mode without an event trace stays inline; the rest is out of line (access_other).
  OpStatus access(Pid pid, const workload::MemOp& op, bool data_op_is_instruction) {
    if (m_plain_functional) {
      if (!access_functional(pid, op, data_op_is_instruction)) return OpStatus::Killed;
      if (op.tail) take_back_tail(op);
      return OpStatus::Done;
    }
    return access_other(pid, op, data_op_is_instruction);
  }
  // The timed modes, and any mode while an event trace records (access_traced).
  OpStatus access_other(Pid pid, const workload::MemOp& op, bool data_op_is_instruction);
  // One access of either mode, not recorded.
  OpStatus access_untraced(Pid pid, const workload::MemOp& op, bool data_op_is_instruction);
  // access_untraced, recorded in the event trace (sim.event_trace).
  OpStatus access_traced(Pid pid, const workload::MemOp& op, bool data_op_is_instruction);
  // Where a PTE read that no cache served was served: the core's local node or another.
  const char* memory_served(uint64_t pa) const {
    return pa - m_local_base < m_local_bytes ? "mem_local" : "mem_remote";
  }
  // The second part of an access split at a page boundary (op.tail) was counted as an access by the path
  // that completed it: take that back, so the pair is one access. Scalars only count up, so adding 2^64-1
  // subtracts one; a warm-up reset during the part left nothing to take back.
  void take_back_tail(const workload::MemOp& op);
  // The lt and at modes' path: time charged, data through a transaction or the caches.
  OpStatus access_timed(Pid pid, const workload::MemOp& op, bool data_op_is_instruction);
  // The functional mode's path: no time, data through a DMI pointer when memory grants one.
  bool access_functional(Pid pid, const workload::MemOp& op, bool data_op_is_instruction);
  // The data transaction (b_transport when timed, else debug transport) and its accounting.
  bool access_transport(const workload::MemOp& op, const mmu::Translation& tr,
                        sc_core::sc_time access_time = sc_core::SC_ZERO_TIME,
                        sc_core::sc_time delay = sc_core::SC_ZERO_TIME);
  // translate: through the kernel's direct map when it is on (false: a device's DMA, always physical).
  void kernel_transport(tlm::tlm_command cmd, PhysAddr pa, uint8_t* data, uint64_t len, bool translate = true);
  // With the kernel's direct map on (set_direct_map): the supervisor translation of base + pa through the
  // MMU (charged to this core); throws SimulationError on a fault (a kernel oops).
  PhysAddr kernel_translate(tlm::tlm_command cmd, PhysAddr pa, uint64_t len);

  // --- The cache hierarchy (core_caches.cpp) ---
  // Where the time of cached accesses went, in femtoseconds: the hierarchy's levels, the interconnect
  // (local and remote node; cross-socket coherence messages count as remote) and DRAM.
  enum CacheTimePart { kCtL1, kCtL2, kCtLlc, kCtIcLocal, kCtIcRemote, kCtDram, kCtParts };
  struct CacheTime {
    uint64_t fs[kCtParts] = {};
  };
  // One access of the hierarchy for this core: adds its time to delay (timed modes) and to ct; issues the
  // line fill (unless full_line_write: the whole line is overwritten) and the write-backs and prefetch
  // fills it causes; checks coherence if asked.
  // Returns where the line was found.
  cache::Served cache_access(cache::AccessClass cls, uint64_t pa, uint64_t ip, unsigned walk_level,
                             bool full_line_write, sc_core::sc_time& delay, CacheTime& ct);
  // cache_access without its inline L1D hit test (for callers that made it already).
  cache::Served cache_access_slow(cache::AccessClass cls, uint64_t pa, uint64_t ip, unsigned walk_level,
                                  bool full_line_write, sc_core::sc_time& delay, CacheTime& ct);
  // A timed line transaction at line_pa (a fill or a write-back), marked mem::TimingOnly: memory times it and
  // the contents stay in the backing store. Each call takes a payload of its own from a pool, so several
  // can be in flight (at mode, several operations outstanding).
  void line_transport(tlm::tlm_command cmd, uint64_t line_pa, sc_core::sc_time& delay);
  // at mode: a demand line fill through the miss-status registers: waits for a free L1 MSHR and a free LLC
  // MSHR of the socket, and marks the line in flight until its data arrives (registered: the caller listed
  // it in m_fills already). Returns the femtoseconds spent waiting for registers (already in delay /
  // SystemC time).
  uint64_t demand_fill(uint64_t line_pa, sc_core::sc_time& delay, bool registered = false);
  // at mode: waits while cond() holds (first catching up delay in SystemC time, woken by ev); returns the
  // femtoseconds waited beyond delay.
  template <class Cond>
  uint64_t stall_while(sc_core::sc_time& delay, sc_core::sc_event& ev, Cond cond);
  // The fill of line_pa in flight (a demand miss of this core or a queued prefetch fill), or nullptr.
  struct Fill {
    uint64_t line_pa;
    bool prefetch;
  };
  const Fill* fill_in_flight(uint64_t line_pa) const {
    for (const Fill& f : m_fills) {
      if (f.line_pa == line_pa) return &f;
    }
    return nullptr;
  }
  void end_fill(uint64_t line_pa);
  // The data part of a timed access through the hierarchy: time into delay and the time parts, miss
  // latencies, data moved (and checked, reads); returns the time it took. Counts nothing per access.
  sc_core::sc_time cached_data_timed(Pid pid, const workload::MemOp& op, PhysAddr pa, sc_core::sc_time& delay);
  // The data access of op at tr.pa through the hierarchy (replaces access_transport when caches exist).
  bool access_cached(Pid pid, const workload::MemOp& op, const mmu::Translation& tr, sc_core::sc_time access_time,
                     sc_core::sc_time delay);
  // Moves op's data at pa without timing (DMI, else debug transport); reads land in m_buf.
  void move_data(const workload::MemOp& op, PhysAddr pa);
  // The functional mode's counts of a cached access whose data moved (and the read check).
  void count_functional_cached(Pid pid, const workload::MemOp& op, PhysAddr pa);
  // The firmware's memory traffic through this core's hierarchy, line by line.
  void kernel_transport_cached(tlm::tlm_command cmd, PhysAddr pa, uint8_t* data, uint64_t len);
  void walker_transport_cached(tlm::tlm_generic_payload& t, unsigned level, sc_core::sc_time& delay);
  CachePort m_caches;
  // The hierarchy when L1D hits may be taken inline (Hierarchy::try_l1d_hit) on the per-access path: not
  // with the coherence checker on. nullptr: every cached access goes through cache_access.
  cache::Hierarchy* m_inline_caches = nullptr;
  // The functional mode may also take a demand L1D hit that try_l1d_hit declines (the first use of a
  // prefetched line) without the slow path (Hierarchy::l1d_demand_hit_untimed): not while the test-only
  // dropped invalidation counts slow-path accesses.
  bool m_untimed_l1d_hits = false;
  uint64_t m_l1d_hit_fs = 0;  // an L1D hit's latency in femtoseconds
  uint64_t m_slow_cache_accesses = 0;
  // at mode: write-backs and prefetch fills drain through a buffer in the background (a thread of their own
  // issuing one line transaction at a time), competing with the demand misses in the memory's queues.
  void background_loop();
  // at with LLC bank or directory occupancy (CachePort::queues): the time of access result r through the
  // hierarchy, its waits at the LLC bank and the home directory included (added to delay and ct; SystemC
  // time advances to each bank). Returns the cross-socket messages left for the caller to charge.
  uint32_t queued_hierarchy_time(const cache::AccessResult& r, sc_core::sc_time& delay, CacheTime& ct);
  std::deque<std::pair<bool, uint64_t>> m_bg_queue;  // (write, line address)
  sc_core::sc_event m_bg_event;
  tlm::tlm_generic_payload m_bg_trans;
  std::vector<uint8_t> m_bg_buf;
  // Miss latency of the data accesses (core cycles from the access to the data), per level missed.
  std::unique_ptr<stats::Average> m_l1_miss_latency, m_l2_miss_latency, m_llc_miss_latency;
  std::vector<uint8_t> m_line_buf;
  std::vector<std::unique_ptr<tlm::tlm_generic_payload>> m_line_pool;  // every line payload made
  std::vector<tlm::tlm_generic_payload*> m_line_free;                  // ... of which free now
  // at mode: fills in flight (demand fills up to the L1's MSHRs, and the queued prefetch fills).
  std::vector<Fill> m_fills;
  uint64_t m_demand_fills = 0;
  uint64_t m_mshrs = 1;
  sc_core::sc_event m_fill_done;
  sc_core::sc_event m_bg_drained;  // the write-back buffer finished one entry
  // lt mode: when each of this core's prefetch fills from memory completes (femtoseconds), by line; a demand
  // access using the line earlier waits for it (a late prefetch).
  std::unordered_map<uint64_t, uint64_t> m_prefetch_ready;
  // Miss-status register statistics (system.core<N>.mshr.*).
  uint64_t m_mshr_merged = 0, m_mshr_full = 0, m_llc_mshr_full = 0, m_mshr_wait_fs = 0, m_mshr_peak = 0;
  uint64_t m_wb_full = 0;
  uint64_t m_bg_writebacks = 0;  // dirty victims in the write-back buffer (queued or in flight)
  CacheTime m_ct_data, m_ct_walk, m_ct_kernel;
  std::vector<std::unique_ptr<stats::Group>> m_cache_groups;
  std::vector<std::unique_ptr<stats::Stat>> m_cache_stats;
  // One 4 KiB swap-device request through `io`; returns its completion time (ps). With `wait` the
  // caller blocks (synchronizes) until then.
  uint64_t swap_transport(tlm::tlm_command cmd, uint64_t device_offset, uint8_t* page, bool wait);
  // Functional mode: host pointer to the page of pa through DMI (cached per frame), or nullptr.
  uint8_t* dmi_page(PhysAddr pa, bool write);
  void invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end);

  CoreId m_id;
  CoreConfig m_cfg;
  bool m_timed;
  bool m_waits;  // at: transactions wait inside b_transport, so SystemC time moves during an access
  // Absolute time of an annotation. In lt SystemC time cannot move during an access, so the time stamp
  // (a library call) is read once per access into m_stamp.
  sc_core::sc_time absolute(const sc_core::sc_time& delay) const {
    return (m_waits ? sc_core::sc_time_stamp() : m_stamp) + delay;
  }
  sc_core::sc_time m_stamp;
  fw::Trap& m_trap;
  RunControl& m_control;
  sc_core::sc_time m_period;
  uint64_t m_period_fs;
  mmu::Mmu m_mmu;
  std::deque<CoreTask> m_tasks;  // a deque: tasks arriving by migration never move the others
  tlm_utils::tlm_quantumkeeper m_qk;
  tlm::tlm_generic_payload m_trans;
  tlm::tlm_generic_payload m_kernel_trans;
  bool m_kmap = false;  // the firmware's accesses go through the kernel's direct map (set_direct_map)
  uint64_t m_kmap_base = 0;
  uint64_t m_kmap_bytes = 0;
  bool m_kernel_translating = false;  // inside kernel_translate (its walks are not in the event trace)
  tlm::tlm_generic_payload m_swap_trans;
  std::vector<uint8_t> m_buf;
  std::vector<uint8_t> m_zero_page;
  struct DmiSlot {
    uint64_t pfn = UINT64_MAX;
    uint8_t* page = nullptr;
    bool writable = false;
    bool remote = false;  // the frame lies outside this core's local node (index into m_acc)
  };
  static constexpr size_t kDmiSlots = 256;  // direct mapped by frame number
  std::vector<DmiSlot> m_dmi;
  tlm::tlm_generic_payload m_dmi_trans;
  sc_core::sc_time m_finish;
  PhysAddr m_root{0};
  uint16_t m_pcid = 0;
  // Local/remote accesses per process (system.os.proc<I>.accesses_local/remote): the local node's
  // physical range and the running process's two counters, set at each context switch; one compare and
  // one increment per completed access.
  uint64_t m_local_base = 0;
  uint64_t m_local_bytes = 0;
  uint64_t m_acc_none[2] = {0, 0};
  uint64_t* m_acc = m_acc_none;
  void count_numa(PhysAddr pa) { ++m_acc[pa.value() - m_local_base >= m_local_bytes]; }
  smp::Domain* m_smp = nullptr;
  smp::CpuState m_cpu;          // this core's side of the SMP protocol (its boundary reads m_cpu.attention)
  bool m_done = false;          // every process of this core ended: it runs nothing more
  bool m_resume = false;        // the next access retries an operation whose process was blocked
  bool m_check_data = false;
  // sim.event_trace (nullptr: off, and the per-operation path tests only this pointer).
  EventTrace* m_events = nullptr;
  bool m_plain_functional = false;  // functional mode, no event trace: access() stays inline
  size_t m_process = 0;             // config index of the process whose address space is loaded
  mmu::TranslationTrace m_ttrace;  // what the MMU did for the access being recorded
  // The first attempt of an access whose process blocked on a swap-in, by process, until its retry completes.
  struct BlockedEvent {
    mmu::TranslationTrace translation;
    uint32_t faults = 0;
    bool major = false;
    uint64_t fs_translate = 0, fs_fault = 0, fs_data = 0;
  };
  std::map<Pid, BlockedEvent> m_blocked_events;
  Pid m_check_pid = 0;  // the process of the access in access_transport (for the data check's message)
  void check_read(Pid pid, const workload::MemOp& op, const uint8_t* data) const;

  stats::Group m_stats{*this};
  stats::Scalar m_accesses{m_stats, "accesses", "count", "Memory operations completed"};
  stats::Scalar m_reads{m_stats, "reads", "count", "Data reads completed"};
  stats::Scalar m_writes{m_stats, "writes", "count", "Data writes completed"};
  stats::Scalar m_fetches{m_stats, "fetches", "count", "Instruction fetches completed"};
  stats::Scalar m_instructions{m_stats, "instructions", "count",
                               "Instructions retired: those in the gaps between operations plus the memory instructions themselves"};
  stats::Scalar m_page_faults{m_stats, "page_faults", "count", "Page faults taken (traps into the firmware)"};
  stats::Scalar m_swap_reads{m_stats, "swap_reads", "count", "4 KiB swap-device reads issued by the firmware on this core"};
  stats::Scalar m_swap_writes{m_stats, "swap_writes", "count",
                              "4 KiB swap-device writes issued by the firmware on this core"};
  uint64_t m_fs_swap = 0;
  stats::Scalar m_syscalls{m_stats, "syscalls", "count", "System calls of process scripts run on this core"};
  stats::Scalar m_ipis_received{m_stats, "ipis_received", "count", "TLB-shootdown IPIs received from other cores"};
  // Time attribution, accumulated exactly in femtoseconds and reported in core cycles.
  uint64_t m_fs_compute = 0;
  uint64_t m_fs_translate = 0;
  uint64_t m_fs_data = 0;
  uint64_t m_fs_fault = 0;
  uint64_t m_fs_kernel = 0;
  uint64_t m_fs_vm_exit = 0;  // in the hypervisor's VM-exit handler (nested paging)
  // Nested paging (set_virtualization): on, the nested caches' sizes, the VM-exit statistics.
  bool m_virt = false;
  mmu::NestedCacheSizes m_nested_sizes;
  uint64_t m_vm_exits = 0;
  std::vector<std::unique_ptr<stats::Stat>> m_vm_stats;
  uint64_t cycles_of(uint64_t fs) const { return fs / m_period_fs; }
  stats::Group m_time_stats{m_stats, "time"};
  stats::Counter m_t_compute{m_time_stats, "compute", "core cycles", "Cycles in non-memory instructions",
                             [this] { return cycles_of(m_fs_compute); }};
  stats::Counter m_t_translate{m_time_stats, "translation", "core cycles", "Cycles in TLB lookups and page walks",
                               [this] { return cycles_of(m_fs_translate); }};
  stats::Counter m_t_data{m_time_stats, "data", "core cycles", "Cycles waiting for data memory",
                          [this] { return cycles_of(m_fs_data); }};
  stats::Counter m_t_fault{m_time_stats, "fault", "core cycles", "Cycles in the firmware's page-fault handler",
                           [this] { return cycles_of(m_fs_fault); }};
  stats::Counter m_t_kernel{m_time_stats, "kernel", "core cycles", "Cycles in kernel work besides faults: process creation and teardown, system calls, received IPIs",
                            [this] { return cycles_of(m_fs_kernel); }};
  stats::Counter m_cycles{m_stats, "cycles", "core cycles", "Busy cycles: all time categories together", [this] {
    return cycles_of(m_fs_compute + m_fs_translate + m_fs_data + m_fs_fault + m_fs_kernel + m_fs_vm_exit);
  }};
  stats::Counter m_t_swap{m_stats, "swap_blocked", "core cycles",
                          "Cycles the firmware on this core waited for swap I/O (also inside the fault or kernel time of the issuing context)",
                          [this] { return cycles_of(m_fs_swap); }};
  stats::Average m_access_latency{m_stats, "access_latency", "core cycles",
                                  "Translation + data cycles per access (average)"};

  // --- Several memory operations in flight (outstanding > 1, at mode): core_window.cpp ---
  struct Worker {
    sc_core::sc_event start;
    const workload::MemOp* op = nullptr;
    Pid pid = 0;
    bool data_op_is_instruction = true;
    sc_core::sc_time issue;  // absolute time the operation issues
    sc_core::sc_time end;    // absolute time it completed
    bool busy = false;
    bool killed = false;
    tlm::tlm_generic_payload trans;
    std::vector<uint8_t> buf;
  };
  void worker_loop(Worker& w);
  bool worker_access(Worker& w);
  // Runs ops[0..n) of pid with up to `outstanding` in flight; false if the process was killed.
  bool access_window(Pid pid, const workload::MemOp* ops, size_t n, bool data_op_is_instruction);
  std::vector<std::unique_ptr<Worker>> m_workers;
  size_t m_in_flight = 0;
  sc_core::sc_event m_worker_done;
  bool m_fault_busy = false;   // a worker is in the fault handler
  // Nested paging: a worker entering the firmware (a VM exit or a page fault, which may switch the MMU
  // between guest and host mode) first lets the translations in flight finish, and no new one starts
  // until it returns, as a VM exit serialises the core.
  unsigned m_translating = 0;  // workers inside Mmu::translate
  bool m_fw_gate = false;
  sc_core::sc_event m_translate_idle;
  uint64_t m_fault_epoch = 0;  // fault-handler runs so far: a fault seen before one finished is retried
  sc_core::sc_event m_fault_free;
  uint64_t m_peak_in_flight = 0;
  stats::Formula m_window_peak{m_stats, "peak_outstanding", "operations",
                               "Most memory operations in flight at once over the run (outstanding > 1)",
                               [this] { return static_cast<double>(m_peak_in_flight); }, true};
};

}  // namespace vmsim::cpu
