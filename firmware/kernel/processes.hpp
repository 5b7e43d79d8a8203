// The kernel's processes: the process table (every process by pid, the declared process specs and the fork
// state of each, the live address spaces) and their life cycle: creation (address space, root table, kernel
// objects), fork (copy-on-write copy of the address space, or a thread sharing it), context switches, exit
// and teardown (frames, tables, swap entries, PCID shootdown, kernel objects). Owns the statistics group
// system.os.processes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "firmware/hal/hal.hpp"
#include "firmware/hal/trap.hpp"
#include "firmware/kernel/kernel_types.hpp"
#include "firmware/vm/pcid_allocator.hpp"
#include "common/stats.hpp"

namespace vmsim::fw {

struct KernelConfig;
class HashedTable;
class HugePages;
class SlabCache;
class Swapper;

// What process life cycles ask of the rest of the kernel (the façade implements it).
class ProcessesHost {
 public:
  virtual ~ProcessesHost() = default;
  // A zeroed root table frame on the core's local node (charges frame_alloc, counts
  // frames.table_allocated); nullopt when memory is exhausted.
  virtual std::optional<Pfn> alloc_root_table(Hal& hal) = 0;
  // firmware.kpti: the user copy of a root pair, a zeroed table frame holding the entry trampoline's
  // top-level entry only; nullopt when memory is exhausted.
  virtual std::optional<Pfn> alloc_user_root_table(Hal& hal) = 0;
  // Before mm's tables are freed: no core may go on running the kernel under its root (the kernel half).
  virtual void leave_mm(Hal& hal, const Mm& mm) = 0;
  // A zeroed page-table frame for mm; nullopt when memory is exhausted.
  virtual std::optional<Pfn> alloc_table_frame(Hal& hal, Mm& mm) = 0;
  // One more reference to a mapped data frame / drops one (frees the frame on the last).
  virtual void get_frame(Pfn pfn) = 0;
  virtual void put_frame(Hal& hal, Pfn pfn) = 0;
  // Frees a frame nothing references (a page-table frame).
  virtual void free_frame(Hal& hal, Pfn pfn) = 0;
  // Frees the block a huge leaf of table level `level` maps: a 2 MiB block (level 2) or, for level 3,
  // one reference to a 1 GiB pool page.
  virtual void free_huge_leaf(Hal& hal, Pfn first, unsigned level) = 0;
  // Drops the pages' translations of mm here and on the other cores that ran it.
  virtual void invalidate(Hal& hal, Mm& mm, const std::vector<VirtAddr>& pages) = 0;
  // mm's PCID is free again: drops its translations here and on every other core that ran mm.
  virtual void shootdown_pcid(Hal& hal, Mm& mm) = 0;
  // Marks the page-cache pages that mm's shared file mappings dirtied in [start, end) for write-back.
  virtual void harvest_file_dirty(Hal& hal, Mm& mm, VirtAddr start, VirtAddr end) = 0;
  // Frees the segments no live address space maps any more.
  virtual void release_segments(Hal& hal) = 0;
  // Kernel objects from the slab caches (charged slab_alloc / slab_free); nullopt when memory is exhausted.
  virtual std::optional<PhysAddr> kobj_alloc(Hal& hal, SlabCache& cache) = 0;
  virtual void kobj_free(Hal& hal, SlabCache& cache, PhysAddr obj) = 0;
  // One vm_area_struct object per VMA of mm; false when memory is exhausted.
  virtual bool sync_vma_objects(Hal& hal, Mm& mm) = 0;
  // Returns the slab caches' empty slabs to the frame allocator.
  virtual void shrink_slabs() = 0;
};

// The kernel state process life cycles work on, owned elsewhere and given by reference once it exists.
struct ProcessesContext {
  const KernelConfig& cfg;
  unsigned levels;    // page-table levels
  uint64_t user_top;  // end of the user half of the address space
  size_t cores;
  HashedTable* hashed;  // walker.format hashed: the one global table, else nullptr
  Swapper& swapper;
  HugePages& huge;
  SlabCache& task_cache;  // task_struct
  SlabCache& mm_cache;    // mm_struct
  const std::vector<std::unique_ptr<ProcStats>>& pstats;
  stats::Scalar& cow_shared;  // system.os.vm.cow_shared_pages
};

class Processes {
 public:
  // Creates system.os.processes under `parent`. Every process of the run is declared in `specs`
  // (specs[i].index == i); forked ones start Pending.
  Processes(stats::Group& parent, const std::vector<ProcessSpec>& specs);
  ~Processes();
  Processes(const Processes&) = delete;
  Processes& operator=(const Processes&) = delete;

  // Boot, once the frame manager, the slab caches, the swapper and the huge pages exist.
  void connect(const ProcessesContext& ctx, ProcessesHost& host);

  // Creates process `index` (its spec has no parent): address space with a zeroed root table, its VMAs,
  // kernel objects. Returns its pid, or nullopt when memory is exhausted.
  std::optional<Pid> create(Hal& hal, size_t index);
  // Forks spec `child` from parent: a thread sharing parent's address space (share_vm), else a copy of it
  // with private pages shared copy-on-write (huge pages split, 1 GiB pages shared whole, swap entries
  // referenced again) plus the child's own declared areas the parent lacks. The caller checked may_fork
  // and the commit limit. Returns the child's pid, or nullopt when memory is exhausted (a child already
  // registered is ended at once).
  std::optional<Pid> fork(Hal& hal, Process& parent, size_t child, bool share_vm);
  // Makes pid current on the HAL's core: loads its root table with its PCID (a dead pid is left alone).
  void switch_to(Hal& hal, Pid pid);
  // Normal exit of pid (nothing if it already ended): counted, then torn down.
  void exit(Hal& hal, Pid pid);
  // Ends p: its pending children are aborted; if it was the last user of its address space, every frame,
  // table and swap entry of it goes, its PCID is shot down and unused segments are released.
  void teardown(Hal& hal, Process& p);

  const std::vector<ProcessSpec>& specs() const { return m_specs; }
  // The spec of process `index`; throws std::out_of_range for an undeclared one.
  const ProcessSpec& spec(size_t index) const { return m_specs.at(index); }
  // Process `index` moved to `core` (migration): a process created from its spec later starts there.
  void set_core(size_t index, CoreId core) { m_specs.at(index).core = core; }

  // pid's record (also after it ended); throws std::logic_error for a pid never created.
  Process& get(Pid pid);
  bool alive(Pid pid) const { return pid >= 1 && pid <= m_procs.size() && m_procs[pid - 1]->alive; }
  // Every process created, by pid - 1 (ended ones included): creation order.
  const std::vector<std::unique_ptr<Process>>& all() const { return m_procs; }
  // The live address spaces (registered until their last user ends), in creation order.
  const std::vector<Mm*>& live_mms() const { return m_live_mms; }

  // Forked processes: Pending until the parent's fork call, then Ready (spawned_pid), or Aborted when the
  // parent ended without forking it.
  SpawnState spawn_state(size_t index) const { return m_spawn[index].state; }
  Pid spawned_pid(size_t index) const { return m_spawn[index].pid; }
  // True if `child` is a spec index declared as parent's child and not forked yet.
  bool may_fork(const Process& parent, int child) const;
  // Kills are the fault handler's and the OOM killer's: they count them here.
  void count_killed() { ++m_killed; }
  void count_group_kill() { ++m_group_kills; }

 private:
  // Drops p's reference to its address space; the last one frees every frame, table and swap entry of it,
  // shoots its PCID down and releases unused segments.
  void drop_mm(Hal& hal, Process& p);
  struct Spawn {
    SpawnState state = SpawnState::Pending;
    Pid pid = 0;
  };

  // Registers a new live process of spec `index` over mm (the next pid; name, core and NUMA policy from its
  // spec). The record stays valid for the table's lifetime.
  Process& add(size_t index, std::shared_ptr<Mm> mm);
  void remove_mm(const Mm* mm);
  // fork created spec `child` as pid.
  void forked(size_t child, Pid pid);
  // p ended: the children it was to fork will never start.
  void abort_children(const Process& p);
  // A new address space for spec (the next id and PCID, its mm_struct object, a root table or the hashed
  // table), registered live; nullptr when memory is exhausted.
  std::shared_ptr<Mm> new_mm(Hal& hal, const ProcessSpec& spec);
  // firmware.kpti: every address space has a root pair.
  bool kpti() const;
  // A new live process of spec `index` over mm with its task_struct object; nullopt when memory is exhausted.
  std::optional<Pid> new_process(Hal& hal, size_t index, std::shared_ptr<Mm> mm);
  // firmware.check_contents: classifies the words of mm's private anonymous pages into p's statistics.
  void check_contents(Hal& hal, Mm& mm, Process& p);

  std::vector<ProcessSpec> m_specs;
  std::vector<std::unique_ptr<Process>> m_procs;  // index = pid - 1
  std::vector<Spawn> m_spawn;                     // per spec index
  uint64_t m_next_mm = 1;
  std::vector<Mm*> m_live_mms;
  std::unique_ptr<ProcessesContext> m_ctx;  // set by connect
  ProcessesHost* m_host = nullptr;          // set by connect
  std::unique_ptr<PcidAllocator> m_pcids;   // set by connect

  stats::Group m_group;  // system.os.processes
  stats::Scalar m_created{m_group, "created", "count", "Processes created (forks included)"};
  stats::Scalar m_exited{m_group, "exited", "count", "Processes that ran to completion or called exit"};
  stats::Scalar m_killed{m_group, "killed", "count", "Processes killed (threads killed with their group included)"};
  stats::Scalar m_group_kills{m_group, "group_kills", "count",
                              "Threads killed because another thread of their group took a fatal signal"};
  stats::Scalar m_forks{m_group, "forks", "count", "fork calls that created a process (threads included)"};
  stats::Scalar m_switches{m_group, "context_switches", "count", "Root-register writes switching to a process"};
  stats::Counter m_pcid_rollovers{m_group, "pcid_rollovers", "count",
                                  "PCID generation roll-overs: every PCID was held when an address space needed one "
                                  "(system.core.mmu.pcid_count)",
                                  [this] { return m_pcids ? m_pcids->rollovers() : 0; }};
  stats::Scalar m_pcid_flushes{m_group, "pcid_flushes", "count",
                               "Context switches that first dropped every non-global translation of the core "
                               "(INVPCID all contexts) because of a PCID roll-over since its last one"};
};

}  // namespace vmsim::fw
