// The kernel's processes (fw::Processes): the process table (records by pid, fork states, live address
// spaces) and process life cycles: creation, fork, context switch, exit and teardown.
#include "firmware/kernel/processes.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "firmware/kernel/huge_pages.hpp"
#include "firmware/kernel/kernel_config.hpp"
#include "firmware/kernel/swapper.hpp"
#include "firmware/vm/hashed_table.hpp"
#include "firmware/vm/page_table.hpp"
#include "common/pte.hpp"

namespace vmsim::fw {

Processes::Processes(stats::Group& parent, const std::vector<ProcessSpec>& specs)
    : m_specs(specs), m_spawn(specs.size()), m_group(parent, "processes") {}

Processes::~Processes() = default;

bool Processes::kpti() const { return m_ctx->cfg.kpti; }

void Processes::connect(const ProcessesContext& ctx, ProcessesHost& host) {
  m_ctx = std::make_unique<ProcessesContext>(ctx);
  m_host = &host;
  // The hashed table tags its entries with the PCID for an address space's whole life: no roll-over.
  // With KPTI the kernel PCIDs are the lower half, each address space's user PCID the same | pcid_count/2
  // (Linux: bit 11 of 4096).
  const unsigned count = static_cast<unsigned>(ctx.cfg.pcid_count);
  m_pcids = std::make_unique<PcidAllocator>(kpti() ? count / 2 : count, ctx.cores, ctx.hashed == nullptr);
}

Process& Processes::get(Pid pid) {
  if (pid == 0 || pid > m_procs.size()) throw std::logic_error("kernel: no process " + std::to_string(pid));
  return *m_procs[pid - 1];
}

Process& Processes::add(size_t index, std::shared_ptr<Mm> mm) {
  const ProcessSpec& s = m_specs.at(index);
  auto p = std::make_unique<Process>();
  p->pid = static_cast<Pid>(m_procs.size() + 1);
  p->name = s.name;
  p->core = s.core;
  p->index = index;
  p->policy = s.policy;
  p->mm = std::move(mm);
  Process& proc = *p;
  m_procs.push_back(std::move(p));
  return proc;
}

void Processes::remove_mm(const Mm* mm) { m_live_mms.erase(std::find(m_live_mms.begin(), m_live_mms.end(), mm)); }

bool Processes::may_fork(const Process& parent, int child) const {
  return child >= 0 && static_cast<size_t>(child) < m_specs.size() &&
         m_specs[child].parent == static_cast<int>(parent.index) && m_spawn[child].state == SpawnState::Pending;
}

void Processes::forked(size_t child, Pid pid) {
  ++m_forks;
  m_spawn[child].state = SpawnState::Ready;
  m_spawn[child].pid = pid;
}

void Processes::abort_children(const Process& p) {
  for (size_t i = 0; i < m_specs.size(); ++i) {
    if (m_specs[i].parent == static_cast<int>(p.index) && m_spawn[i].state == SpawnState::Pending) {
      m_spawn[i].state = SpawnState::Aborted;
    }
  }
}

std::shared_ptr<Mm> Processes::new_mm(Hal& hal, const ProcessSpec& spec) {
  auto mm = std::make_shared<Mm>();
  mm->id = m_next_mm++;
  mm->cpus.assign(m_ctx->cores, false);
  mm->heap_start = spec.heap_base;
  mm->brk = spec.heap_base;
  mm->mmap_base = spec.mmap_base;
  std::optional<PhysAddr> obj = m_host->kobj_alloc(hal, m_ctx->mm_cache);
  if (!obj) return nullptr;
  mm->obj = *obj;
  if (m_ctx->hashed) {
    // One global table: the root register holds its base, the PCID tells the address spaces apart, so
    // every live address space needs a PCID of its own for its whole life.
    if (!m_pcids->assign(mm->pcid)) {
      throw SimulationError("hashed page table: more than " + std::to_string(m_pcids->count() - 1) +
                            " address spaces alive at once (every PCID 1.." + std::to_string(m_pcids->count() - 1) +
                            " is taken; system.core.mmu.pcid_count " + std::to_string(m_pcids->count()) + ")");
    }
    mm->root = m_ctx->hashed->base();
    mm->tables = 0;
    m_live_mms.push_back(mm.get());
    return mm;
  }
  std::optional<Pfn> root = m_host->alloc_root_table(hal);
  if (!root) {
    m_host->kobj_free(hal, m_ctx->mm_cache, mm->obj);
    return nullptr;
  }
  mm->root = addr_of(*root);
  if (kpti()) {
    std::optional<Pfn> user = m_host->alloc_user_root_table(hal);
    if (!user) {
      m_host->free_frame(hal, *root);
      m_host->kobj_free(hal, m_ctx->mm_cache, mm->obj);
      return nullptr;
    }
    mm->user_root = addr_of(*user);
    mm->user_pcid_bit = static_cast<uint16_t>(m_ctx->cfg.pcid_count / 2);
    ++mm->tables;
  }
  // A PCID now (the next in turn); should it be lost to a roll-over before the first switch-in, that
  // switch-in assigns another.
  m_pcids->assign(mm->pcid);
  m_live_mms.push_back(mm.get());
  return mm;
}

std::optional<Pid> Processes::new_process(Hal& hal, size_t index, std::shared_ptr<Mm> mm) {
  // Registered before further HAL calls: in the AT mode a memory access waits, and another core may
  // enter the kernel meanwhile (a real kernel would hold a lock here).
  Process& proc = add(index, std::move(mm));
  std::optional<PhysAddr> obj = m_host->kobj_alloc(hal, m_ctx->task_cache);
  if (!obj) {
    // No task object: the process never exists, and its address space (or its share of it) goes again.
    proc.alive = false;
    drop_mm(hal, proc);
    return std::nullopt;
  }
  proc.obj = *obj;
  ++m_created;
  return proc.pid;
}

std::optional<Pid> Processes::create(Hal& hal, size_t index) {
  hal.charge(m_ctx->cfg.costs.process_create);
  const ProcessSpec& spec = m_specs.at(index);
  std::shared_ptr<Mm> mm = new_mm(hal, spec);
  if (!mm) return std::nullopt;
  for (const Vma& v : spec.vmas) mm->vmas.insert(v);
  std::optional<Pid> pid = new_process(hal, index, mm);
  if (!pid || !m_host->sync_vma_objects(hal, *mm)) {
    if (pid) teardown(hal, get(*pid));
    return std::nullopt;
  }
  return pid;
}

void Processes::switch_to(Hal& hal, Pid pid) {
  Process& p = get(pid);
  if (!p.alive) return;  // killed while it waited (OOM killer, thread group): its core ends it next
  p.mm->cpus[hal.core_id()] = true;
  ++m_switches;
  // A PCID of the current generation (a roll-over may happen here); after a roll-over every core drops
  // its non-global translations before it next loads an address space, as the translations it caches
  // under an old-generation PCID may belong to another address space now.
  if (m_pcids->switch_in(p.mm->pcid, hal.core_id())) {
    ++m_pcid_flushes;
    hal.invalidate_all_pcids();
  }
  hal.set_root(p.mm->root, p.mm->pcid.id);
}

void Processes::exit(Hal& hal, Pid pid) {
  Process& p = get(pid);
  if (!p.alive) return;
  ++m_exited;
  teardown(hal, p);
}

void Processes::teardown(Hal& hal, Process& p) {
  hal.charge(m_ctx->cfg.costs.process_exit);
  p.alive = false;
  // Children this process was to fork will never start.
  abort_children(p);
  drop_mm(hal, p);
  m_host->kobj_free(hal, m_ctx->task_cache, p.obj);
  m_host->shrink_slabs();
}

void Processes::drop_mm(Hal& hal, Process& p) {
  std::shared_ptr<Mm> mm = std::move(p.mm);
  if (--mm->users == 0) {
    if (mm->notifier != nullptr) mm->notifier->release(hal);  // before any frame goes
    if (m_ctx->cfg.check_contents) check_contents(hal, *mm, p);
    if (m_ctx->hashed) {
      for (uint64_t vpn : mm->hashed_pages) {
        const Pte e = m_ctx->hashed->unmap(hal, mm->pcid.id, VirtAddr{vpn << kPageShift}, [&](Pfn f) { m_host->free_frame(hal, f); });
        if (e.raw() & (pte_bit::kPresent | kSoftProtNone)) m_host->put_frame(hal, e.pfn());
      }
      mm->hashed_pages.clear();
    } else {
      m_host->harvest_file_dirty(hal, *mm, VirtAddr{0}, VirtAddr{m_ctx->user_top});
      m_host->leave_mm(hal, *mm);
      destroy_tables(
          hal, mm->root, m_ctx->levels,
          [&](Pfn f) {
            if (m_ctx->swapper.enabled()) m_ctx->swapper.rmap_remove_mm(f, *mm);
            m_host->put_frame(hal, f);
          },
          [&](Pfn f) { m_host->free_frame(hal, f); }, [&](Pfn f, unsigned level) { m_host->free_huge_leaf(hal, f, level); },
          [&](uint64_t raw) { m_ctx->swapper.release_swap_entry(hal, *mm, swap_slot_of(Pte{raw})); });
      if (mm->user_root.value() != 0) m_host->free_frame(hal, pfn_of(mm->user_root));  // the user copy's root
    }
    // The PCID may be handed to another address space later: its translations and walk-cache entries go
    // here and on every other core that ran it. A PCID of an older generation is no longer this address
    // space's: every core drops all its translations at its next switch since that roll-over, before it
    // could use them, and nothing was loaded under it since.
    if (m_pcids->current(mm->pcid)) m_host->shootdown_pcid(hal, *mm);
    m_pcids->release(mm->pcid);
    remove_mm(mm.get());
    mm->resident = 0;
    mm->vmas = VmaSet();
    m_host->sync_vma_objects(hal, *mm);
    m_host->kobj_free(hal, m_ctx->mm_cache, mm->obj);
    m_host->release_segments(hal);
  }
}

std::optional<Pid> Processes::fork(Hal& hal, Process& p, size_t index, bool share_vm) {
  const ProcessSpec& cs = spec(index);
  std::shared_ptr<Mm> cmm;
  if (share_vm) {
    cmm = p.mm;
    ++cmm->users;
  } else {
    Mm& pm = *p.mm;
    cmm = new_mm(hal, cs);
    if (!cmm) return std::nullopt;
    for (const auto& [s, v] : pm.vmas) cmm->vmas.insert(v);
    cmm->heap_start = pm.heap_start;
    cmm->brk = pm.brk;
    cmm->mmap_base = pm.mmap_base;
    cmm->locked_pages = 0;  // mlock is not inherited
    std::vector<VirtAddr> changed;
    // Huge pages are split: copy-on-write works on 4 KiB pages.
    bool ok = m_ctx->huge.split_range(hal, pm, VirtAddr{0}, VirtAddr{m_ctx->user_top});
    std::vector<std::pair<VirtAddr, uint64_t>> leaves;
    for_each_leaf(hal, pm.root, m_ctx->levels, VirtAddr{0}, VirtAddr{m_ctx->user_top}, [&](VirtAddr va, PhysAddr, Pte e) {
      const Vma* v = pm.vmas.find(va);
      uint64_t raw = e.raw();
      std::optional<uint64_t> parent_new;
      if (v != nullptr && !v->shared && e.writable()) {
        raw &= ~pte_bit::kWritable;
        parent_new = raw;
        hal.charge(m_ctx->cfg.costs.pte_update);
        changed.push_back(va);
      }
      leaves.emplace_back(va, raw);
      return parent_new;
    });
    for (const auto& [va, raw] : leaves) {
      if (!ok) break;
      Pte e{raw};
      hal.charge(m_ctx->cfg.costs.pte_update);
      PhysAddr pte{0};
      if (!map_page(
              hal, cmm->root, m_ctx->levels, va, e.pfn(), raw & ~pte_bit::kPfnMask & ~pte_bit::kPresent,
              [&]() { return m_host->alloc_table_frame(hal, *cmm); }, &pte, cmm->user_root)) {
        ok = false;
        break;
      }
      if (!e.present()) hal.write64(pte, raw);
      m_host->get_frame(e.pfn());
      if (m_ctx->swapper.enabled()) {
        if (const std::optional<NodeId> node = m_ctx->swapper.tracked_node(e.pfn())) {
          m_ctx->swapper.rmap_add(e.pfn(), *cmm, va, pte, *node, hal.memory_ops());
        }
      }
      ++cmm->resident;
      ++m_ctx->cow_shared;
    }
    if (m_ctx->swapper.enabled() && ok) {
      // Swapped-out pages: the child gets the same swap entries (one more reference each).
      std::vector<std::pair<VirtAddr, uint64_t>> swapped;
      for_each_swap_entry(hal, pm.root, m_ctx->levels, VirtAddr{0}, VirtAddr{m_ctx->user_top}, [&](VirtAddr va, PhysAddr, Pte e) {
        swapped.emplace_back(va, e.raw());
        return std::optional<uint64_t>();
      });
      for (const auto& [va, raw] : swapped) {
        hal.charge(m_ctx->cfg.costs.pte_update);
        if (!set_leaf(hal, cmm->root, m_ctx->levels, va, raw, [&]() { return m_host->alloc_table_frame(hal, *cmm); },
                      cmm->user_root)) {
          ok = false;
          break;
        }
        m_ctx->swapper.add_swap_ref(swap_slot_of(Pte{raw}));
        ++cmm->swap_pages;
      }
    }
    // 1 GiB pages are shared copy-on-write whole (huge_pages.cpp).
    ok = ok && m_ctx->huge.fork_giga(hal, pm, *cmm, changed);
    m_host->invalidate(hal, pm, changed);
    if (!ok) {
      // Undo: the child's tables and its references go.
      destroy_tables(
          hal, cmm->root, m_ctx->levels,
          [&](Pfn f) {
            if (m_ctx->swapper.enabled()) m_ctx->swapper.rmap_remove_mm(f, *cmm);
            m_host->put_frame(hal, f);
          },
          [&](Pfn f) { m_host->put_frame(hal, f); }, [&](Pfn f, unsigned) { m_ctx->huge.give_back_giga(f); },
          [&](uint64_t raw) { m_ctx->swapper.release_swap_entry(hal, *cmm, swap_slot_of(Pte{raw})); });
      if (cmm->user_root.value() != 0) m_host->put_frame(hal, pfn_of(cmm->user_root));
      remove_mm(cmm.get());
      m_pcids->release(cmm->pcid);  // never loaded: nothing cached under it
      m_host->kobj_free(hal, m_ctx->mm_cache, cmm->obj);
      return std::nullopt;
    }
    // The child's workload areas that the parent lacks are added.
    for (const Vma& v : cs.vmas) {
      if (!cmm->vmas.overlaps(v.start, v.end)) cmm->vmas.insert(v);
    }
  }
  std::optional<Pid> child = new_process(hal, index, cmm);
  if (!child) return std::nullopt;
  Process& cp = get(*child);
  if (cp.policy.kind == NumaPolicyKind::Default) cp.policy = p.policy;
  if (!m_host->sync_vma_objects(hal, *cmm)) {
    teardown(hal, cp);
    return std::nullopt;
  }
  forked(index, *child);
  return child;
}

}  // namespace vmsim::fw
