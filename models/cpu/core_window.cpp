// Core with several memory operations in flight (system.core.outstanding > 1, at mode).
//
// The core's thread is the issuer: operation i issues `gap_i` instruction cycles after operation i-1
// issued, on the first free worker (a load/store-queue entry); if none is free it waits for one, and a
// dependent operation (a pointer chase) waits until everything before it completed. Each worker is a
// thread that translates its operation (several MMU walks may be in flight, misses to one page merge)
// and performs the data access, all in SystemC time. Faults go to the firmware one at a time; a fault
// observed while another worker was in the handler is retried first (that handler may have mapped the
// page). The time statistics (time.translation, time.data ...) sum each access's own latency, so with
// overlap they add up to more than the elapsed time.
#include <algorithm>
#include <cstring>

#include "common/error.hpp"
#include "models/cpu/core.hpp"

namespace vmsim::cpu {

void Core::worker_loop(Worker& w) {
  try {
    for (;;) {
      while (!w.busy) sc_core::wait(w.start);
      w.killed = !worker_access(w);
      w.end = sc_core::sc_time_stamp();
      w.busy = false;
      --m_in_flight;
      m_worker_done.notify(sc_core::SC_ZERO_TIME);
    }
  } catch (...) {
    m_control.fail(std::current_exception());
  }
}

bool Core::worker_access(Worker& w) {
  const workload::MemOp& op = *w.op;
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  if (w.issue > now) sc_core::wait(w.issue - now);
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  sc_core::sc_time access_time = sc_core::SC_ZERO_TIME;
  mmu::Translation tr;
  for (;;) {
    if (m_fw_gate) {
      // Nested paging: a worker is in the firmware, which may have left guest mode; start after it returns.
      const sc_core::sc_time at = sc_core::sc_time_stamp() + delay;
      while (m_fw_gate) sc_core::wait(m_fault_free);
      delay = at > sc_core::sc_time_stamp() ? at - sc_core::sc_time_stamp() : sc_core::SC_ZERO_TIME;
    }
    const uint64_t epoch = m_fault_epoch;
    const sc_core::sc_time before = sc_core::sc_time_stamp() + delay;
    ++m_translating;
    tr = m_mmu.translate(op.va, op.kind, true, delay);
    if (--m_translating == 0) m_translate_idle.notify(sc_core::SC_ZERO_TIME);
    const sc_core::sc_time translated = sc_core::sc_time_stamp() + delay;
    m_fs_translate += (translated - before).value();
    access_time += translated - before;
    if (!tr.fault) break;
    // Taken at once: another worker's walk replaces the MMU's last nested result.
    fw::VmExitInfo exit;
    const bool vm_exit = m_virt && vm_exit_info(op.va, op.kind, exit);
    if (!m_trap.alive(w.pid)) return false;  // another worker's access killed the process
    if (m_fault_busy || epoch != m_fault_epoch) {
      // Another worker is in (or just left) the fault handler: it may have mapped this page. Retry.
      while (m_fault_busy) sc_core::wait(m_fault_free);
      if (sc_core::sc_time_stamp() < translated) delay = translated - sc_core::sc_time_stamp();
      else delay = sc_core::SC_ZERO_TIME;
      continue;
    }
    m_fault_busy = true;
    if (m_virt) {
      // The firmware may switch the core between guest and host mode: the translations in flight finish
      // first and no new one starts meanwhile (a VM exit serialises the core).
      m_fw_gate = true;
      while (m_translating > 0) sc_core::wait(m_translate_idle);
      delay = translated > sc_core::sc_time_stamp() ? translated - sc_core::sc_time_stamp() : sc_core::SC_ZERO_TIME;
    }
    if (!vm_exit) ++m_page_faults;
    // The firmware charges this core through the quantum keeper; only this worker uses it meanwhile.
    m_qk.set(delay);
    fw::FaultOutcome outcome = vm_exit ? take_vm_exit(w.pid, exit)
                                       : m_trap.handle_page_fault(*this, w.pid, op.va, op.kind, tr.error_code);
    (vm_exit ? m_fs_vm_exit : m_fs_fault) += (m_qk.get_current_time() - translated).value();
    delay = m_qk.get_local_time();
    m_qk.set(sc_core::SC_ZERO_TIME);
    ++m_fault_epoch;
    m_fault_busy = false;
    m_fw_gate = false;
    m_fault_free.notify(sc_core::SC_ZERO_TIME);
    if (outcome == fw::FaultOutcome::Killed) return false;
    if (outcome == fw::FaultOutcome::Blocked) {
      // A swap-in: this operation waits for the device (the process's other operations in flight go on).
      const uint64_t until = m_trap.blocked_until(w.pid);
      const sc_core::sc_time wake = sc_core::sc_time(static_cast<double>(until), sc_core::SC_PS);
      const sc_core::sc_time at = sc_core::sc_time_stamp() + delay;
      if (wake > at) delay += wake - at;
    }
  }
  if (op.kind == AccessKind::Write) {
    if (!op.tail) ++m_writes;  // the second part of a page-crossing access is not another access
  } else if (!op.tail) {
    ++(op.kind == AccessKind::Fetch ? m_fetches : m_reads);
  }
  if (m_caches.hierarchy != nullptr) {
    // Through the hierarchy: a miss takes an MSHR, and other operations go on while its fill is in flight.
    access_time += cached_data_timed(w.pid, op, tr.pa, delay);
  } else {
    // The data access on this worker's own transaction.
    const uint32_t size = op.size == 0 ? 1 : op.size;
    tlm::tlm_generic_payload& t = w.trans;
    t.set_address(tr.pa.value());
    t.set_data_length(size);
    t.set_streaming_width(size);
    t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    if (op.kind == AccessKind::Write) {
      const uint64_t pattern = op.va.value();
      for (uint32_t off = 0; off < size; off += 8) std::memcpy(&w.buf[off], &pattern, std::min<uint32_t>(8, size - off));
      t.set_command(tlm::TLM_WRITE_COMMAND);
    } else {
      t.set_command(tlm::TLM_READ_COMMAND);
    }
    const sc_core::sc_time before = sc_core::sc_time_stamp() + delay;
    data->b_transport(t, delay);
    const sc_core::sc_time spent = sc_core::sc_time_stamp() + delay - before;
    if (!t.is_response_ok()) {
      throw SimulationError(std::string(name()) + ": data access to physical address " + std::to_string(tr.pa.value()) +
                            " failed: " + t.get_response_string());
    }
    if (m_check_data && op.kind != AccessKind::Write) check_read(w.pid, op, w.buf.data());
    m_fs_data += spent.value();
    access_time += spent;
  }
  if (delay > sc_core::SC_ZERO_TIME) sc_core::wait(delay);  // complete at the access's own time
  m_access_latency.sample(static_cast<double>(access_time.value()) / static_cast<double>(m_period_fs));
  if (!op.tail) ++m_accesses;
  count_numa(tr.pa);
  m_control.count_access();
  return true;
}

bool Core::access_window(Pid pid, const workload::MemOp* ops, size_t n, bool data_op_is_instruction) {
  m_qk.sync();  // the issuer starts at SystemC time, nothing annotated
  sc_core::sc_time issue = sc_core::sc_time_stamp();
  bool alive = true;
  for (size_t i = 0; i < n && alive; ++i) {
    const workload::MemOp& op = ops[i];
    m_instructions += op.gap + ((op.kind == AccessKind::Fetch || data_op_is_instruction) && !op.tail ? 1 : 0);
    if (op.gap != 0) {
      const uint64_t c = static_cast<uint64_t>(static_cast<double>(op.gap) * m_cfg.cpi + 0.5);
      const sc_core::sc_time t = m_period * static_cast<double>(c);
      m_fs_compute += t.value();
      issue += t;
    }
    // A dependent operation needs the previous one's data: wait until nothing is in flight.
    while (op.dependent && m_in_flight > 0) sc_core::wait(m_worker_done);
    Worker* free = nullptr;
    for (;;) {
      for (auto& w : m_workers) {
        if (!w->busy) {
          free = w.get();
          break;
        }
      }
      if (free != nullptr) break;
      sc_core::wait(m_worker_done);
    }
    if (!m_trap.alive(pid)) {  // an access in flight killed the process
      alive = false;
      break;
    }
    issue = std::max(issue, sc_core::sc_time_stamp());
    free->op = &op;
    free->pid = pid;
    free->data_op_is_instruction = data_op_is_instruction;
    free->issue = issue;
    free->killed = false;
    free->busy = true;
    m_peak_in_flight = std::max<uint64_t>(m_peak_in_flight, ++m_in_flight);
    free->start.notify();
    sc_core::wait(sc_core::SC_ZERO_TIME);  // let the worker take it
  }
  while (m_in_flight > 0) sc_core::wait(m_worker_done);
  bool killed = false;
  for (auto& w : m_workers) {
    killed = killed || (w->killed && w->pid == pid);
    w->killed = false;
  }
  // The issuer's own time may run past the last completion (compute after the last access).
  if (issue > sc_core::sc_time_stamp()) m_qk.set(issue - sc_core::sc_time_stamp());
  return alive && !killed && m_trap.alive(pid);
}

}  // namespace vmsim::cpu
