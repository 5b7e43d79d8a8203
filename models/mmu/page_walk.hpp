// Page-walk stepping core (no SystemC): the x86-64 long-mode walk as a state machine fed one PTE at a
// time. The walker shell decides how each PTE read is performed (timed TLM read or debug read).
#pragma once

#include <cstdint>

#include "models/common/pte.hpp"
#include "models/common/types.hpp"

namespace vmsim::mmu {

struct WalkRequest {
  VirtAddr va;
  AccessKind kind = AccessKind::Read;
  bool user = true;  // access from user mode (CPL 3)
};

// Outcome of a finished walk.
struct WalkResult {
  bool fault = false;
  uint32_t error_code = 0;  // pf_err bits when fault
  Pfn pfn{0};               // frame of the 4 KiB page containing va (splintered from huge leaves)
  unsigned level = 0;       // level of the leaf entry (1, 2 or 3), or the level where the walk stopped
  bool writable = false;    // effective permissions (AND of R/W and U/S, OR of XD over all levels)
  bool user = false;
  bool no_execute = false;
  bool global = false;
  unsigned pte_reads = 0;
};

class PageWalk {
 public:
  // A walk of `levels` (4 or 5) levels from the root table at `root`. A non-canonical address ends the
  // walk at once with a fault (a #GP on real hardware; reported here as a not-present fault).
  PageWalk(PhysAddr root, unsigned levels, const WalkRequest& req);
  bool done() const { return m_done; }
  // Physical address of the next PTE to read. Only valid while !done().
  PhysAddr pte_address() const { return m_pte_addr; }
  // Supplies the value read at pte_address() and advances the walk.
  void feed(Pte pte);
  const WalkResult& result() const { return m_result; }

 private:
  void finish_leaf(Pte pte);
  void fail(uint32_t extra_bits);

  WalkRequest m_req;
  unsigned m_level;
  PhysAddr m_pte_addr;
  bool m_done = false;
  bool m_w = true;
  bool m_u = true;
  bool m_xd = false;
  WalkResult m_result;
};

// Error code of a fault for this access (without the P and RSVD bits).
uint32_t access_error_bits(const WalkRequest& req);

}  // namespace vmsim::mmu
