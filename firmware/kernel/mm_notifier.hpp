// The MMU notifier: how a secondary MMU that caches translations of an address space (the hypervisor's EPT
// over a VM process's guest memory, firmware/hv) hears of every change the kernel makes to that address
// space's translations, as Linux's mmu_notifier does for KVM.
#pragma once

#include <vector>

#include "common/types.hpp"
#include "firmware/hal/hal.hpp"

namespace vmsim::fw {

class MmNotifier {
 public:
  virtual ~MmNotifier() = default;
  // The translations of `pages` (virtual page addresses; a 2 MiB or 1 GiB aligned one may stand for a whole
  // huge page) were removed or lost rights: reclaim and swap-out, migration (NUMA balancing, tiering,
  // compaction), THP collapse, NUMA hint entries (PROT_NONE), munmap, mprotect, copy-on-write. Called after
  // the kernel's own invalidation, on the HAL's core, before the old frames can be reused.
  virtual void invalidate(Hal& hal, const std::vector<VirtAddr>& pages) = 0;
  // Whether the secondary MMU used the page at `page` since the last clear (its accessed flag), clearing
  // that flag when `clear`. Reclaim's accessed-bit tests ask this besides the page's own PTE.
  virtual bool test_young(Hal& hal, VirtAddr page, bool clear) = 0;
  // Whether the secondary MMU may have written the page since it was last cleaned (its dirty flag; a
  // translation it drops reports its writes through Kernel::set_page_dirty). Reclaim asks this besides the
  // page's own PTE before deciding whether the page must be written to swap.
  virtual bool test_dirty(Hal& hal, VirtAddr page) = 0;
  // The address space goes (its last user exits or is killed): every secondary translation must go now.
  virtual void release(Hal& hal) = 0;
};

}  // namespace vmsim::fw
