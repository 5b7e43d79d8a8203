// The SMP machinery shared by the cores of a system: the big kernel lock, the TLB-shootdown rendezvous
// (stop the target CPUs at an instruction boundary, let the initiator change the tables, invalidate on each
// target, resume) and the wake-ups of background kernel work. The platform owns one Domain; every CPU joins
// it with its CpuState (the flags its instruction boundary reads) and its Target side (what a shootdown
// does to it).
#pragma once

#include <systemc>

#include <cstdint>
#include <vector>

#include "common/types.hpp"

namespace vmsim::smp {

// Per-CPU flags of the protocol. `attention` is the one flag a CPU's per-operation path tests; every
// arrival (stop request, IPI cycles, background work) sets it and the CPU recomputes it at its boundary.
struct CpuState {
  bool in_op = false;              // between instruction boundaries (an access, fault or call in progress)
  unsigned stop_requests = 0;      // shootdowns holding this CPU
  bool stopped = false;            // acknowledged: at a boundary (or waiting without having touched anything)
  bool background = false;         // the kernel asked for background work (kswapd) at the next boundary
  bool attention = false;
  uint64_t pending_irq_cycles = 0; // receiver cost of the IPIs taken since the last boundary
};

// What a shootdown or a wake-up does to a CPU.
class Target {
 public:
  virtual ~Target() = default;
  // Drops the translations of the address space (root, pcid) for `pages` (all of them when empty) and
  // counts the IPI.
  virtual void receive_shootdown(PhysAddr root, uint16_t pcid, const std::vector<VirtAddr>& pages) = 0;
  // The same for guest address space (vpid, root, pcid), whatever mode the CPU is in now (nested paging).
  virtual void receive_guest_shootdown(uint16_t vpid, PhysAddr root, uint16_t pcid, const std::vector<VirtAddr>& pages) {
    (void)vpid, (void)root, (void)pcid, (void)pages;
  }
  // INVEPT single-context of eptp after an EPT change, and counts the IPI.
  virtual void receive_ept_shootdown(uint64_t eptp) { (void)eptp; }
  // True once the CPU ran every process to its end (it takes no more work).
  virtual bool finished() const = 0;
};

class Domain {
 public:
  // Joins CPU `id` (CPUs join in id order, before the simulation starts).
  void join(CoreId id, CpuState& state, Target& target);

  // The big kernel lock, re-entrant on the CPU that holds it. Waiting for it counts as a stoppable wait.
  void lock(CoreId me);
  void unlock();

  // Waits for a change of the shared state; a pending stop request of `me` counts as acknowledged meanwhile.
  void wait(CoreId me);
  // The same, giving up after `timeout` (an idle CPU waiting for a start or wake-up time).
  void wait(CoreId me, const sc_core::sc_time& timeout);
  // At an instruction boundary of `me`: stays stopped while a shootdown holds it.
  void hold_while_stopped(CoreId me) {
    while (m_cpus[me].state->stop_requests > 0) wait(me);
  }

  // Shootdown, initiator side: stops `targets` at their next instruction boundary and returns once all
  // acknowledged.
  void stop(const std::vector<CoreId>& targets);
  // Invalidates the pages on each target, charges each `receiver_cycles` at its next boundary and resumes it.
  void release(const std::vector<CoreId>& targets, PhysAddr root, uint16_t pcid, const std::vector<VirtAddr>& pages,
               uint64_t receiver_cycles);
  // release() for a guest address space (vpid, root, pcid) and for an EPT change (INVEPT of eptp).
  void release_guest(const std::vector<CoreId>& targets, uint16_t vpid, PhysAddr root, uint16_t pcid,
                     const std::vector<VirtAddr>& pages, uint64_t receiver_cycles);
  void release_ept(const std::vector<CoreId>& targets, uint64_t eptp, uint64_t receiver_cycles);
  // Resumes each target stopped by stop() without touching its TLBs or charging it.
  void resume(const std::vector<CoreId>& targets);
  // Wakes every CPU waiting in wait() to look at the shared state again (a task arrived by migration,
  // or one ended and idle CPUs check whether the run is over).
  void notify() { m_changed.notify(sc_core::SC_ZERO_TIME); }
  // Asks CPU `id` to run background kernel work at its next boundary; false if it has finished.
  bool wake_background(CoreId id);

 private:
  struct Member {
    CpuState* state = nullptr;
    Target* target = nullptr;
  };
  void acknowledge_stop(CpuState& s);
  // Charges a target released from a shootdown and resumes it (the invalidation was applied).
  void finish_release(CpuState& t, uint64_t receiver_cycles);
  std::vector<Member> m_cpus;     // by core id
  sc_core::sc_event m_changed;    // the lock, a stop state or an IPI changed
  int m_owner = -1;               // core id holding the kernel lock, -1 = free
  unsigned m_depth = 0;
};

}  // namespace vmsim::smp
