// Trace-driven core.
#define SC_INCLUDE_DYNAMIC_PROCESSES  // sc_spawn for the load/store-queue workers
#include "models/cpu/core.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "common/error.hpp"

namespace vmsim::cpu {

void CoreConfig::validate(const std::string& path) const {
  config::require(frequency.hz >= 1000000 && frequency.hz <= 100000000000ull, path, "frequency",
                  format_frequency(frequency), "must be between 1MHz and 100GHz");
  config::require(cpi >= 0 && cpi <= 1000, path, "cpi", config::format_value(cpi), "must be in [0, 1000]");
  config::require(outstanding >= 1 && outstanding <= 64, path, "outstanding", std::to_string(outstanding),
                  "must be between 1 and 64");
  mmu.validate(path + ".mmu");
}

namespace {

// The second part of a page-crossing access (MemOp::tail) was performed and counted like an access (in
// access_functional, access_transport or access_cached): take that back, so the pair is one access. Scalars
// only count up, so adding 2^64-1 subtracts one. A warm-up reset during the part left nothing to take back.

sc_core::sc_time period_of(const CoreConfig& cfg) {
  return sc_core::sc_time(static_cast<double>(cfg.frequency.period_fs()), sc_core::SC_FS);
}
}  // namespace

void Core::take_back_tail(const workload::MemOp& op) {
  if (m_accesses.value() == 0) return;
  m_accesses += ~uint64_t{0};
  (op.kind == AccessKind::Write ? m_writes : op.kind == AccessKind::Fetch ? m_fetches : m_reads) += ~uint64_t{0};
}

Core::Core(const sc_core::sc_module_name& name, CoreId id, const CoreConfig& cfg, SimMode mode, bool golden_checker,
           fw::Trap& trap, RunControl& control, const mmu::TlbBackendFactory& tlb_factory)
    : sc_core::sc_module(name),
      data("data"),
      io("io"),
      m_id(id),
      m_cfg(cfg),
      m_timed(mode != SimMode::Functional),
      m_waits(mode == SimMode::At),
      m_trap(trap),
      m_control(control),
      m_period(period_of(cfg)),
      m_period_fs(cfg.frequency.period_fs()),
      m_mmu("mmu", cfg.mmu, period_of(cfg), mode != SimMode::Functional, golden_checker, mode == SimMode::At,
            tlb_factory),
      m_buf(kPageSize),
      m_zero_page(kPageSize, 0),
      m_dmi(kDmiSlots) {
  SC_HAS_PROCESS(Core);
  SC_THREAD(run);
  m_plain_functional = !m_timed;
  if (mode == SimMode::At && cfg.outstanding > 1) {
    for (uint64_t i = 0; i < cfg.outstanding; ++i) {
      m_workers.push_back(std::make_unique<Worker>());
      Worker& w = *m_workers.back();
      w.buf.resize(kPageSize);
      w.trans.set_data_ptr(w.buf.data());
      w.trans.set_byte_enable_ptr(nullptr);
      w.trans.set_dmi_allowed(false);
      sc_core::sc_spawn([this, &w] { worker_loop(w); }, ("lsq" + std::to_string(i)).c_str());
    }
  }
  const std::pair<uint64_t, uint64_t> local = trap.local_range(id);
  m_local_base = local.first;
  m_local_bytes = local.second - local.first;
  data.register_invalidate_direct_mem_ptr(this, &Core::invalidate_direct_mem_ptr);
  for (auto* t : {&m_trans, &m_kernel_trans, &m_swap_trans}) {
    t->set_byte_enable_ptr(nullptr);
    t->set_dmi_allowed(false);
  }
  m_trans.set_data_ptr(m_buf.data());
}

uint8_t* Core::dmi_page(PhysAddr pa, bool write) {
  uint64_t pfn = pa.value() >> kPageShift;
  DmiSlot& slot = m_dmi[pfn % kDmiSlots];
  if (slot.pfn == pfn && (slot.writable || !write)) return slot.page;
  slot.pfn = UINT64_MAX;
  tlm::tlm_dmi dmi;
  m_dmi_trans.set_address(pfn << kPageShift);
  m_dmi_trans.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
  if (!data->get_direct_mem_ptr(m_dmi_trans, dmi) || !(write ? dmi.is_write_allowed() : dmi.is_read_allowed()) ||
      dmi.get_start_address() > (pfn << kPageShift) || dmi.get_end_address() < (pfn << kPageShift) + kPageSize - 1) {
    return nullptr;
  }
  slot.pfn = pfn;
  slot.page = dmi.get_dmi_ptr() + ((pfn << kPageShift) - dmi.get_start_address());
  slot.writable = dmi.is_write_allowed();
  slot.remote = (pfn << kPageShift) - m_local_base >= m_local_bytes;
  return slot.page;
}

void Core::invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end) {
  for (DmiSlot& s : m_dmi) {
    if (s.pfn != UINT64_MAX && (s.pfn << kPageShift) <= end && ((s.pfn << kPageShift) + kPageSize - 1) >= start) {
      s.pfn = UINT64_MAX;
    }
  }
}

void Core::run() {
  try {
    schedule();
    m_qk.sync();
    m_finish = sc_core::sc_time_stamp();
  } catch (...) {
    m_control.fail(std::current_exception());
  }
}

void Core::schedule() {
  // The firmware's scheduler decides which process runs (the kernel's is fw::RunQueue: round robin with
  // firmware.scheduler.time_slice, start times, forks, processes blocked on I/O); the core carries it out.
  std::vector<fw::Scheduler::Entry> entries;
  for (const CoreTask& t : m_tasks) entries.push_back({t.spec.parent, t.spec.index, t.start_ps});
  m_queue = m_trap.make_scheduler(std::move(entries));
  fw::Scheduler& queue = *m_queue;
  const uint64_t slice = queue.time_slice();
  m_states.resize(m_tasks.size());
  for (;;) {
    take_interrupts();
    if (m_hub != nullptr) adopt_arrivals();
    const fw::Scheduler::Pick pick = queue.pick(now_ps(), m_trap);
    if (pick.task == SIZE_MAX) {
      if (pick.all_done() && (m_hub == nullptr || m_hub->all_done())) {
        m_done = true;
        if (m_hub != nullptr) m_smp->notify();  // cores waiting for work may end too
        return;
      }
      if (m_hub == nullptr) {
        m_qk.sync();
      } else if (m_qk.get_local_time() != sc_core::SC_ZERO_TIME) {
        // Catching up lets other cores run (even with nothing to catch up: a delta cycle), and a task
        // arriving or the last one ending meanwhile would wake no one: decide again once in step.
        m_qk.sync();
        continue;
      }
      if (pick.earliest_ps != UINT64_MAX) {
        // Idle until a start or wake-up time; the kernel (spawns, background work) may call earlier.
        const uint64_t wait_ps = pick.earliest_ps > now_ps() ? pick.earliest_ps - now_ps() : 0;
        m_smp->wait(m_id, sc_core::sc_time(static_cast<double>(wait_ps), sc_core::SC_PS));
      } else {
        // A fork still to come, or (migration) a task that may still arrive here.
        m_smp->wait(m_id);
      }
      continue;
    }
    const size_t i = pick.task;
    CoreTask& task = m_tasks[i];
    RunState& rs = m_states[i];
    m_running = i;
    m_cpu.in_op = true;
    sc_core::sc_time t0 = m_qk.get_current_time();
    if (!queue.pid(i)) {
      std::optional<Pid> pid;
      if (task.spec.parent >= 0) {
        pid = m_trap.spawned_pid(task.spec.index);
      } else {
        pid = m_trap.create_process(*this, task.spec.index);
        if (!pid) {
          throw SimulationError(std::string(name()) + ": out of memory creating process '" + task.spec.name + "'");
        }
      }
      queue.created(i, *pid);
      rs.ops.resize(kBatch);
    }
    const Pid pid = *queue.pid(i);
    if (m_current != i) {
      if (m_current != SIZE_MAX) charge(m_trap.context_switch_cycles());
      m_trap.switch_to(*this, pid);
      m_acc = m_trap.access_counters(pid);
      m_process = task.spec.index;
      m_current = i;
    }
    m_fs_kernel += (m_qk.get_current_time() - t0).value();
    m_cpu.in_op = false;
    m_resume = queue.take_resume(i);
    // The next wake-up of another process blocked on I/O preempts this one.
    const SliceEnd end = run_slice(task, rs, pid, m_trap.alive_flag(pid), slice, queue.next_wake_except(i));
    m_running = SIZE_MAX;
    if (end == SliceEnd::Migrate) {
      hand_over(i, task.migrations[task.next_migration].core);
      continue;
    }
    if (end == SliceEnd::Ended) m_current = SIZE_MAX;
    queue.ran(i, end == SliceEnd::Ended,
              end == SliceEnd::Blocked ? std::max<uint64_t>(1, m_trap.blocked_until(pid)) : 0);
    if (end == SliceEnd::Ended && m_hub != nullptr) m_smp->notify();  // idle cores re-check for the end
  }
}

Core::SliceEnd Core::run_slice(CoreTask& task, RunState& rs, Pid pid, const bool* alive, uint64_t slice,
                               uint64_t wake_ps) {
  sc_core::sc_time slice_end = m_qk.get_current_time() + m_period * static_cast<double>(slice);
  if (wake_ps != UINT64_MAX) {
    slice_end = std::min(slice_end, sc_core::sc_time(static_cast<double>(wake_ps), sc_core::SC_PS));
  }
  uint64_t ops_in_slice = 0;
  // The operation count at which the task stops here: its limit, or its next scheduled migration.
  uint64_t stop = task.limit != 0 ? task.limit : UINT64_MAX;
  if (task.next_migration < task.migrations.size()) stop = std::min(stop, task.migrations[task.next_migration].at);
  for (;;) {
    if (rs.pos == rs.count) {
      rs.count = rs.ended ? 0 : task.source->next_batch(rs.ops.data(), kBatch);
      rs.pos = 0;
      if (rs.count == 0) rs.ended = true;
    }
    if (rs.ended || rs.done == stop) break;
    if (slice != 0 && ops_in_slice > 0 &&
        (m_timed ? m_qk.get_current_time() >= slice_end : ops_in_slice >= slice)) {
      return SliceEnd::Preempted;
    }
    if (m_plain_functional && m_functional_loop && m_workers.empty() &&
        !(rs.next_call < task.script.size() && task.script[rs.next_call].at <= rs.done)) {
      // The functional mode's loop over the operations up to the batch's end, the stop, the slice's end and
      // the next script call (each checked here once rather than before every operation).
      uint64_t n = rs.count - rs.pos;
      if (stop != UINT64_MAX) n = std::min<uint64_t>(n, stop - rs.done);
      if (slice != 0) n = std::min<uint64_t>(n, slice - ops_in_slice);
      if (rs.next_call < task.script.size()) n = std::min<uint64_t>(n, task.script[rs.next_call].at - rs.done);
      bool killed = false;
      const size_t k = run_functional(pid, rs.ops.data() + rs.pos, static_cast<size_t>(n),
                                      task.data_ops_are_instructions, alive, killed);
      rs.pos += k;
      rs.done += k;
      ops_in_slice += k;
      if (k < n) {  // the process ended: killed during operation k (attempted), or before it
        task.source->not_performed(rs.count - rs.pos - (killed ? 1 : 0));
        return SliceEnd::Ended;
      }
      continue;
    }
    take_interrupts();
    m_cpu.in_op = true;
    if (!m_workers.empty()) {
      // Several operations in flight: a window of them, up to the next script call, the batch's end
      // or the limit; shootdowns and preemption wait for the window to drain.
      if (!run_syscalls(task, pid, rs.next_call, rs.done) || !*alive) {
        m_cpu.in_op = false;
        task.source->not_performed(rs.count - rs.pos);
        return SliceEnd::Ended;
      }
      uint64_t n = std::min<uint64_t>(rs.count - rs.pos, m_workers.size() * 16);
      if (stop != UINT64_MAX) n = std::min<uint64_t>(n, stop - rs.done);
      if (rs.next_call < task.script.size() && task.script[rs.next_call].at > rs.done) {
        n = std::min<uint64_t>(n, task.script[rs.next_call].at - rs.done);
      }
      if (!access_window(pid, rs.ops.data() + rs.pos, static_cast<size_t>(n), task.data_ops_are_instructions)) {
        m_cpu.in_op = false;
        task.source->not_performed(rs.count - rs.pos - n);  // the window was issued
        return SliceEnd::Ended;
      }
      m_cpu.in_op = false;
      rs.pos += n;
      rs.done += n;
      ops_in_slice += n;
      if (m_qk.need_sync()) m_qk.sync();
      continue;
    }
    // An exit call or a kill (the firmware already tore the process down) ends the task. Script calls
    // are looked for only when one is due.
    const bool call_due = rs.next_call < task.script.size() && task.script[rs.next_call].at <= rs.done;
    if ((call_due && !run_syscalls(task, pid, rs.next_call, rs.done)) || !*alive) {
      m_cpu.in_op = false;
      task.source->not_performed(rs.count - rs.pos);
      return SliceEnd::Ended;
    }
    const OpStatus status = access(pid, rs.ops[rs.pos], task.data_ops_are_instructions);
    m_cpu.in_op = false;
    if (status == OpStatus::Killed) {
      task.source->not_performed(rs.count - rs.pos - 1);  // the killing access was attempted
      return SliceEnd::Ended;
    }
    if (status == OpStatus::Blocked) return SliceEnd::Blocked;
    ++rs.pos;
    ++rs.done;
    ++ops_in_slice;
    if (m_timed && m_qk.need_sync()) m_qk.sync();
  }
  if (!rs.ended && !(task.limit != 0 && rs.done == task.limit)) return SliceEnd::Migrate;  // (its batch goes along)
  if (!rs.ended) task.source->not_performed(rs.count - rs.pos);  // stopped at task.limit
  if (rs.ended) {  // the workload's instructions after its last operation (a trace without replayed fetches)
    const uint64_t trailing = task.source->trailing_instructions();
    m_instructions += trailing;
    if (m_timed && trailing != 0) {
      const uint64_t c = static_cast<uint64_t>(static_cast<double>(trailing) * m_cfg.cpi + 0.5);
      const sc_core::sc_time t = m_period * static_cast<double>(c);
      m_fs_compute += t.value();
      m_qk.inc(t);
    }
  }
  take_interrupts();
  // Calls due at the end of the workload (at == operations done) still run.
  m_cpu.in_op = true;
  if (*alive && run_syscalls(task, pid, rs.next_call, rs.done)) {
    sc_core::sc_time t1 = m_qk.get_current_time();
    m_trap.exit_process(*this, pid);
    m_fs_kernel += (m_qk.get_current_time() - t1).value();
  }
  m_cpu.in_op = false;
  return SliceEnd::Ended;
}

size_t Core::run_functional(Pid pid, const workload::MemOp* ops, size_t n, bool data_op_is_instruction,
                            const bool* alive, bool& killed) {
  cache::Hierarchy* const caches = m_caches.hierarchy;
  const bool fast = caches == nullptr || m_inline_caches != nullptr;  // the inline L1D hit may be taken
  const unsigned line_shift = caches != nullptr ? caches->line_shift() : kPageShift;
  const uint64_t instruction = data_op_is_instruction ? 1 : 0;
  constexpr uint64_t kNone = ~uint64_t{0};
  // What the fast case rests on, read from the MMU, the DMI slots and the hierarchy and kept here while
  // nothing else runs; forgotten (re-read when needed) after an operation through the general path, the
  // interrupts and a run-control event, any of which may change them.
  uint64_t vpn = kNone;      // the page: data reads are repeat DTLB hits (Mmu::repeat_page), its frame in a DMI slot
  uint64_t page_pa = 0;      // ... its physical address
  bool page_writes = false;  // ... writes are repeat hits too and the slot allows them
  uint8_t* host = nullptr;   // ... the slot's host page
  uint64_t* acc = nullptr;   // ... its local or remote access counter (m_acc)
  uint64_t line = kNone;     // with caches: the L1D's remembered line, valid (Hierarchy::memo_view)
  cache::Hierarchy::MemoView memo;
  for (size_t i = 0; i < n; ++i) {
    // run_slice's boundary (take_interrupts), then the process's flag.
    if (m_cpu.attention) {
      take_pending_interrupts();
      vpn = line = kNone;
    } else {
      m_cpu.in_op = false;
    }
    m_cpu.in_op = true;
    if (!*alive) {
      m_cpu.in_op = false;
      return i;
    }
    const workload::MemOp& op = ops[i];
    const uint64_t va = op.va.value();
    const bool write = op.kind == AccessKind::Write;
    // The fast case, tested before anything changes: a word-sized data access (a whole one, not a
    // page-crossing part) that is a repeat DTLB hit on the MMU's inline path, whose frame is in a DMI slot,
    // and (with caches) that hits the L1D's remembered line as try_l1d_hit's first test does.
    if (op.kind != AccessKind::Fetch && op.size == 8 && !op.tail && fast) {
      if ((va >> kPageShift) != vpn) {
        vpn = kNone;
        PhysAddr p{0};
        bool w = false;
        if (m_mmu.repeat_page(op.va, p, w)) {
          const uint64_t pfn = p.value() >> kPageShift;
          const DmiSlot& slot = m_dmi[pfn % kDmiSlots];
          if (slot.pfn == pfn) {
            vpn = va >> kPageShift;
            page_pa = p.value();
            page_writes = w && slot.writable;
            host = slot.page;
            acc = &m_acc[slot.remote];
          }
        }
      }
      const uint64_t pa = page_pa | (va & kPageMask);
      const bool translated = vpn != kNone && (!write || page_writes);
      bool hit = translated;
      if (hit && caches != nullptr) {
        if ((pa >> line_shift) != line || op.ip != memo.ip) {
          line = caches->memo_view(m_id, memo) ? memo.line : kNone;
        }
        hit = (pa >> line_shift) == line && op.ip == memo.ip && (!write || memo.excl);
      }
      if (translated && !hit) {
        // The translation is such a repeat hit but the L1D's remembered line is not the access's: counted
        // here, and the rest as access_functional does it after a translation.
        m_instructions += op.gap + instruction;
        m_mmu.count_repeat_hit();
        mmu::Translation tr;
        tr.pa = PhysAddr{pa};
        const bool done = functional_data(pid, op, tr);
        vpn = line = kNone;
        m_cpu.in_op = false;
        if (!done) {
          killed = true;
          return i;
        }
        continue;
      }
      if (hit) {
        // Exactly what access_functional does for it: the same counts, the data moved through DMI.
        m_instructions += op.gap + instruction;
        m_mmu.count_repeat_hit();
        if (caches != nullptr) {
          if (!memo.touched || (write && !memo.m)) {
            caches->count_memo_hit(m_id, write);  // the replacement update or E -> M, and the counts
            memo.touched = true;
            memo.m = memo.m || write;
          } else {
            const size_t c = static_cast<size_t>(write ? cache::AccessClass::Store : cache::AccessClass::Load);
            ++memo.stats->accesses[c];
            ++memo.stats->hits[c];
          }
        }
        uint8_t* p = host + (va & kPageMask);
        if (write) {
          std::memcpy(p, &va, 8);  // each written word holds its own virtual address
          ++m_writes;
        } else {
          std::memcpy(m_buf.data(), p, 8);
          if (m_check_data) check_read(pid, op, m_buf.data());
          ++m_reads;
        }
        ++m_accesses;
        ++*acc;
        if (m_control.count_access()) vpn = line = kNone;
        m_cpu.in_op = false;
        continue;
      }
    }
    const bool done = functional_step(pid, op, data_op_is_instruction);
    vpn = line = kNone;
    m_cpu.in_op = false;
    if (!done) {
      killed = true;
      return i;
    }
  }
  return n;
}

bool Core::functional_step(Pid pid, const workload::MemOp& op, bool data_op_is_instruction) {
  if (!access_functional(pid, op, data_op_is_instruction)) return false;
  if (op.tail) take_back_tail(op);
  return true;
}

Core::OpStatus Core::access_other(Pid pid, const workload::MemOp& op, bool data_op_is_instruction) {
  if (m_events != nullptr) return access_traced(pid, op, data_op_is_instruction);
  return access_timed(pid, op, data_op_is_instruction);
}

Core::OpStatus Core::access_untraced(Pid pid, const workload::MemOp& op, bool data_op_is_instruction) {
  if (m_timed) return access_timed(pid, op, data_op_is_instruction);
  if (!access_functional(pid, op, data_op_is_instruction)) return OpStatus::Killed;
  if (op.tail) take_back_tail(op);
  return OpStatus::Done;
}

Core::OpStatus Core::access_traced(Pid pid, const workload::MemOp& op, bool data_op_is_instruction) {
  const size_t process = m_process;
  BlockedEvent before;  // a retried access continues its first attempt's record
  if (m_resume) {
    auto it = m_blocked_events.find(pid);
    if (it != m_blocked_events.end()) {
      before = std::move(it->second);
      m_blocked_events.erase(it);
    }
  }
  m_ttrace.clear();
  // A VM exit's handling counts as the access's fault time here (time.vm_exit in the statistics).
  const uint64_t fs_translate = m_fs_translate, fs_fault = m_fs_fault + m_fs_vm_exit, fs_data = m_fs_data;
  const uint64_t major = m_events->major_faults(process);
  const OpStatus status = access_untraced(pid, op, data_op_is_instruction);
  // Counts of this attempt, added to those of a first attempt that blocked.
  mmu::TranslationTrace& t = m_ttrace;
  if (before.translation.lookups != 0) {
    t.first = before.translation.first;
    t.lookups += before.translation.lookups;
    t.walks += before.translation.walks;
    t.faults += before.translation.faults;
    t.reads.insert(t.reads.begin(), before.translation.reads.begin(), before.translation.reads.end());
  }
  const uint64_t major_after = m_events->major_faults(process);
  // (A warm-up reset at the end of this access restarts the firmware's counts: the count is then its value.)
  const bool is_major = before.major || (major_after >= major ? major_after - major : major_after) != 0;
  BlockedEvent now;
  now.fs_translate = before.fs_translate + (m_fs_translate - fs_translate);
  now.fs_fault = before.fs_fault + (m_fs_fault + m_fs_vm_exit - fs_fault);
  now.fs_data = before.fs_data + (m_fs_data - fs_data);
  if (status == OpStatus::Blocked) {
    now.translation = t;
    now.major = true;  // the handler started a swap-in
    m_blocked_events[pid] = std::move(now);
    return status;
  }
  // A completed access has the index count_access gave it; a killed one the index the next access gets.
  const uint64_t completed = m_control.accesses();
  const uint64_t index = status == OpStatus::Done ? completed - 1 : completed;
  if (m_events->wants(index)) {
    AccessEvent e;
    e.index = index;
    e.core = m_id;
    e.pid = pid;
    e.kind = op.kind;
    e.va = op.va.value();
    e.pa = status == OpStatus::Done ? t.pa : 0;
    e.translation = &t;
    for (const mmu::PteReadRecord& r : t.reads) {
      if (!e.pte_served.empty()) e.pte_served += ';';
      e.pte_served += std::to_string(r.level) + ':' + (r.served != nullptr ? r.served : memory_served(r.pa));
    }
    e.faults = t.faults;
    std::string signal;
    if (status == OpStatus::Killed) {
      signal = m_events->last_kill_signal();
      if (signal.rfind("SIG", 0) == 0) signal = signal.substr(3);
      for (char& c : signal) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      e.fault = signal.empty() ? "killed" : signal.c_str();
    } else if (t.faults != 0) {
      e.fault = is_major ? "major" : "minor";
    }
    e.translation_cycles = cycles_of(now.fs_translate);
    e.fault_cycles = cycles_of(now.fs_fault);
    e.data_cycles = cycles_of(now.fs_data);
    m_events->write(e);
  }
  if (m_events->over(completed)) set_event_trace(nullptr);
  return status;
}

bool Core::run_syscalls(CoreTask& task, Pid pid, size_t& next, uint64_t done) {
  while (next < task.script.size() && task.script[next].at <= done) {
    sc_core::sc_time t0 = m_qk.get_current_time();
    fw::SyscallResult r = m_trap.syscall(*this, pid, task.script[next]);
    ++m_syscalls;
    ++next;
    m_fs_kernel += (m_qk.get_current_time() - t0).value();
    if (r.exited) return false;
  }
  return true;
}

bool Core::access_functional(Pid pid, const workload::MemOp& op, bool data_op_is_instruction) {
  // (Never a retried operation: without time a swap-in does not block.)
  m_instructions += op.gap + ((op.kind == AccessKind::Fetch || data_op_is_instruction) && !op.tail ? 1 : 0);
  sc_core::sc_time unused = sc_core::SC_ZERO_TIME;
  mmu::Translation tr;
  for (;;) {
    tr = m_mmu.translate(op.va, op.kind, true, unused);
    if (!tr.fault) break;
    fw::VmExitInfo exit;
    if (m_virt && vm_exit_info(op.va, op.kind, exit)) {
      if (take_vm_exit(pid, exit) == fw::FaultOutcome::Killed) return false;
      continue;
    }
    ++m_page_faults;
    // No time passes in this mode, so a swap-in never blocks here (Blocked would simply be retried).
    if (m_trap.handle_page_fault(*this, pid, op.va, op.kind, tr.error_code) == fw::FaultOutcome::Killed) return false;
  }
  return functional_data(pid, op, tr);
}

bool Core::functional_data(Pid pid, const workload::MemOp& op, const mmu::Translation& tr) {
  if (m_caches.hierarchy != nullptr &&
      (m_inline_caches == nullptr || op.kind == AccessKind::Fetch ||
       !(m_inline_caches->try_l1d_hit(m_id, op.kind == AccessKind::Write, tr.pa.value(), op.ip) ||
         (m_untimed_l1d_hits &&
          m_inline_caches->l1d_demand_hit_untimed(m_id, op.kind == AccessKind::Write, tr.pa.value(), op.ip))))) {
    return access_cached(pid, op, tr, sc_core::SC_ZERO_TIME, sc_core::SC_ZERO_TIME);
  }
  // Without caches, or an L1D hit counted inline or through l1d_demand_hit_untimed (no fill is ever in
  // flight in this mode): the data moves here. DMI slot check inline; dmi_page() asks memory for a new pointer.
  const uint64_t pfn = tr.pa.value() >> kPageShift;
  const DmiSlot& slot = m_dmi[pfn % kDmiSlots];
  uint8_t* page = slot.pfn == pfn && (slot.writable || op.kind != AccessKind::Write)
                      ? slot.page
                      : dmi_page(tr.pa, op.kind == AccessKind::Write);
  if (page == nullptr) {
    if (m_caches.hierarchy == nullptr) return access_transport(op, tr);
    move_data(op, tr.pa);  // the cached path's debug transport
    count_functional_cached(pid, op, tr.pa);
    return true;
  }
  uint8_t* p = page + (tr.pa.value() & kPageMask);  // MemOps never cross a page
  uint32_t size = op.size == 0 ? 1 : op.size;
  if (op.kind == AccessKind::Write) {
    uint64_t pattern = op.va.value();
    if (size == 8) {  // the common word access, without a library call
      std::memcpy(p, &pattern, 8);
    } else {
      for (uint32_t off = 0; off < size; off += 8) std::memcpy(p + off, &pattern, std::min<uint32_t>(8, size - off));
    }
    ++m_writes;
  } else {
    if (size == 8) {
      std::memcpy(m_buf.data(), p, 8);
    } else {
      std::memcpy(m_buf.data(), p, size);
    }
    if (m_check_data) check_read(pid, op, m_buf.data());
    ++(op.kind == AccessKind::Fetch ? m_fetches : m_reads);
  }
  ++m_accesses;
  ++m_acc[slot.remote];  // local/remote, classified once when the slot was filled
  m_control.count_access();
  return true;
}

Core::OpStatus Core::access_timed(Pid pid, const workload::MemOp& op, bool data_op_is_instruction) {
  sc_core::sc_time delay = m_qk.get_local_time();
  if (!m_resume) {  // a retried operation's instructions were counted and charged the first time
    if (op.gap != 0) {
      uint64_t c = static_cast<uint64_t>(static_cast<double>(op.gap) * m_cfg.cpi + 0.5);
      sc_core::sc_time t = m_period * static_cast<double>(c);
      m_fs_compute += t.value();
      delay += t;
    }
    m_instructions += op.gap + ((op.kind == AccessKind::Fetch || data_op_is_instruction) && !op.tail ? 1 : 0);
  }
  m_resume = false;
  mmu::Translation tr;
  sc_core::sc_time access_time = sc_core::SC_ZERO_TIME;
  for (;;) {
    // Durations are differences of absolute times (SystemC time + annotation): in the AT mode a
    // transaction waits inside b_transport and returns a smaller annotation.
    if (!m_waits) m_stamp = sc_core::sc_time_stamp();  // the fault handler below may synchronize
    const sc_core::sc_time before = absolute(delay);
    tr = m_mmu.translate(op.va, op.kind, true, delay);
    const sc_core::sc_time translated = absolute(delay);
    m_fs_translate += (translated - before).value();
    access_time += translated - before;
    if (!tr.fault) break;
    fw::VmExitInfo exit;
    const bool vm_exit = m_virt && vm_exit_info(op.va, op.kind, exit);
    if (!vm_exit) ++m_page_faults;
    m_qk.set(delay);
    fw::FaultOutcome outcome = vm_exit ? take_vm_exit(pid, exit)
                                       : m_trap.handle_page_fault(*this, pid, op.va, op.kind, tr.error_code);
    (vm_exit ? m_fs_vm_exit : m_fs_fault) += (m_qk.get_current_time() - translated).value();
    delay = m_qk.get_local_time();
    if (outcome != fw::FaultOutcome::Retry) {
      m_qk.set(delay);
      return outcome == fw::FaultOutcome::Killed ? OpStatus::Killed : OpStatus::Blocked;
    }
  }
  m_check_pid = pid;
  const bool done = m_caches.hierarchy != nullptr ? access_cached(pid, op, tr, access_time, delay)
                                                 : access_transport(op, tr, access_time, delay);
  if (done && op.tail) take_back_tail(op);
  return done ? OpStatus::Done : OpStatus::Killed;
}

bool Core::access_transport(const workload::MemOp& op, const mmu::Translation& tr, sc_core::sc_time access_time,
                            sc_core::sc_time delay) {
  // The data access itself, at the translated physical address.
  uint32_t size = op.size == 0 ? 1 : op.size;
  m_trans.set_address(tr.pa.value());
  m_trans.set_data_length(size);
  m_trans.set_streaming_width(size);
  m_trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  if (op.kind == AccessKind::Write) {
    // Each written word holds its own virtual address, so memory contents are checkable.
    uint64_t pattern = op.va.value();
    for (uint32_t off = 0; off < size; off += 8) std::memcpy(&m_buf[off], &pattern, std::min<uint32_t>(8, size - off));
    m_trans.set_command(tlm::TLM_WRITE_COMMAND);
    ++m_writes;
  } else {
    m_trans.set_command(tlm::TLM_READ_COMMAND);
    if (op.kind == AccessKind::Fetch) {
      ++m_fetches;
    } else {
      ++m_reads;
    }
  }
  if (m_timed) {
    if (!m_waits) m_stamp = sc_core::sc_time_stamp();
    const sc_core::sc_time before = absolute(delay);
    data->b_transport(m_trans, delay);
    const sc_core::sc_time spent = absolute(delay) - before;
    m_fs_data += spent.value();
    access_time += spent;
  } else {
    data->transport_dbg(m_trans);
    m_trans.set_response_status(tlm::TLM_OK_RESPONSE);
  }
  if (!m_trans.is_response_ok()) {
    throw SimulationError(std::string(name()) + ": data access to physical address " + std::to_string(tr.pa.value()) +
                          " failed: " + m_trans.get_response_string());
  }
  if (m_check_data && op.kind != AccessKind::Write) check_read(m_check_pid, op, m_buf.data());
  m_qk.set(delay);
  if (m_timed) m_access_latency.sample(static_cast<double>(access_time.value()) / static_cast<double>(m_period_fs));
  ++m_accesses;
  count_numa(tr.pa);
  m_control.count_access();
  return true;
}

}  // namespace vmsim::cpu
