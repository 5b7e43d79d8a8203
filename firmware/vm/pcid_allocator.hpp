// The kernel's PCID allocator: hands out process-context identifiers so that no two live address spaces
// ever hold the same one, with generations as Linux's ASID allocator (arch/arm64/mm/context.c) keeps
// them. PCIDs are handed out in turn (the next free one after the last handed out); when every one of
// the current generation is held, the generation rolls over: the PCIDs of the address spaces running on a
// core right now are kept, every other one becomes free, every core must drop its non-global
// translations before it next loads an address space, and an address space of an older generation gets a
// new PCID when it is next switched in.
#pragma once

#include <cstdint>
#include <vector>

#include "common/types.hpp"

namespace vmsim::fw {

// An address space's PCID and the generation it was handed out in (generation 0: none yet).
struct PcidContext {
  uint16_t id = 0;
  uint64_t generation = 0;
};

class PcidAllocator {
 public:
  // PCIDs 1..count-1 (0 is the kernel's) for address spaces run by `cores` cores. With roll_over false
  // (the hashed page table tags its entries with the PCID for the address space's whole life) a full
  // space makes assign fail instead. Throws std::invalid_argument if count is outside 2..4096, cores is 0,
  // or, with roll_over, count - 1 <= cores (a roll-over keeps one PCID per core and needs one more).
  PcidAllocator(unsigned count, size_t cores, bool roll_over);

  // Gives ctx a PCID of the current generation unless it holds one: the next free PCID after the last
  // one handed out (wrapping), rolling over first if none is free. False only without roll-over, when
  // every PCID is held (ctx is left as it was).
  bool assign(PcidContext& ctx);

  // ctx is being loaded on `core` (a context switch): it gets a current PCID (assign; never fails with
  // roll-over) and becomes the core's running address space. Returns true if the core must first drop
  // every non-global translation of every PCID (INVPCID all contexts): a roll-over happened since it last
  // did. Throws std::logic_error without roll-over if no PCID is free.
  bool switch_in(PcidContext& ctx, CoreId core);

  // ctx's address space ended and its translations were dropped on every core that ran it: its PCID is
  // free again (if it is of the current generation) and no core runs it any more. ctx is reset.
  void release(PcidContext& ctx);

  // True if ctx holds a PCID of the current generation (one no other live address space holds).
  bool current(const PcidContext& ctx) const { return ctx.id != 0 && ctx.generation == m_generation; }

  unsigned count() const { return m_count; }
  uint64_t generation() const { return m_generation; }
  uint64_t rollovers() const { return m_rollovers; }
  // PCIDs held in the current generation.
  unsigned held() const { return m_held_count; }
  // The address space core runs, or nullptr (none since boot, or it ended).
  const PcidContext* running(CoreId core) const { return m_running.at(core); }

 private:
  // Starts a new generation: only the running address spaces keep their PCIDs; every core must flush.
  void roll_over();

  unsigned m_count;
  bool m_roll_over;
  uint64_t m_generation = 1;
  uint64_t m_rollovers = 0;
  uint16_t m_last = 0;              // the PCID handed out last
  std::vector<bool> m_held;         // per PCID: held in the current generation
  unsigned m_held_count = 0;
  std::vector<PcidContext*> m_running;  // per core
  std::vector<bool> m_flush_pending;    // per core: a roll-over happened since its last flush
};

}  // namespace vmsim::fw
