// Page-walk stepping core (no SystemC): the x86-64 long-mode walk as a state machine fed one PTE at a
// time. The walker shell decides how each PTE read is performed (timed TLM read or debug read).
#pragma once

#include <cstdint>

#include "common/pte.hpp"
#include "common/types.hpp"

namespace vmsim::mmu {

struct WalkRequest {
  VirtAddr va;
  AccessKind kind = AccessKind::Read;
  bool user = true;  // access from user mode (CPL 3)
  // Supervisor-mode protections (CR4.SMEP, CR4.SMAP) and RFLAGS.AC (set by stac around the kernel's
  // explicit user copies). They matter only for supervisor accesses.
  bool smep = false;
  bool smap = false;
  bool ac = false;
};

// x86's permission rule (Intel SDM vol. 3A, 4.6, with CR0.WP = 1 as Linux runs) for an access with the
// effective rights of a translation: a user access needs U=1; a write needs R/W=1 in either mode; a
// fetch needs XD=0; with SMEP a supervisor fetch from a user page (U=1) faults, and with SMAP a
// supervisor data access to a user page faults unless RFLAGS.AC is set.
constexpr bool access_denied(const WalkRequest& req, bool writable, bool user, bool no_execute) {
  if (req.kind == AccessKind::Write && !writable) return true;
  if (req.kind == AccessKind::Fetch && no_execute) return true;
  if (req.user) return !user;
  if (!user) return false;
  return req.kind == AccessKind::Fetch ? req.smep : (req.smap && !req.ac);
}

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
  bool dirty = false;       // D of the leaf after this walk's update
  unsigned pte_reads = 0;
};

// Rights accumulated over the upper levels of a walk (what a page-walk-cache entry remembers).
struct WalkRights {
  bool writable = true;
  bool user = true;
  bool no_execute = false;
};

class PageWalk {
 public:
  // A walk of `levels` (4 or 5) levels from the root table at `root`. A non-canonical address ends the
  // walk at once with a fault (a #GP on real hardware; reported here as a not-present fault).
  PageWalk(PhysAddr root, unsigned levels, const WalkRequest& req, bool set_accessed_dirty = false);
  // A walk resumed at `level` from the table at `table` (a page-walk-cache hit), with the rights of the
  // levels above. The canonical check uses `levels`.
  PageWalk(PhysAddr table, unsigned level, unsigned levels, const WalkRequest& req, const WalkRights& rights,
           bool set_accessed_dirty = false);
  bool done() const { return m_done; }
  // Level of the entry at pte_address() (levels .. 1).
  unsigned level() const { return m_level; }
  // Rights accumulated so far (over every entry fed).
  WalkRights rights() const { return WalkRights{m_w, m_u, m_xd}; }
  // Physical address of the next PTE to read. Only valid while !done().
  PhysAddr pte_address() const { return m_pte_addr; }
  // Supplies the value read at pte_address() and advances the walk. With A/D updates on, afterwards
  // ad_update() holds the value to write back to that entry if its A (or, for a write's leaf, D) bit
  // must be set (x86 sets A in every entry used and D in the leaf of a permitted write).
  void feed(Pte pte);
  bool has_ad_update() const { return m_update != 0; }
  uint64_t ad_update() const { return m_update; }
  const WalkResult& result() const { return m_result; }

 private:
  void finish_leaf(Pte pte);
  void fail(uint32_t extra_bits);

  WalkRequest m_req;
  bool m_ad;
  uint64_t m_update = 0;
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
