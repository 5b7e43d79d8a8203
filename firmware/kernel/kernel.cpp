// Firmware kernel: processes, page-fault handling, teardown.
#include "firmware/kernel/kernel.hpp"

#include "models/common/units.hpp"

#include <cstdio>
#include <set>
#include <iostream>

#include "firmware/vm/page_table.hpp"
#include "models/common/error.hpp"
#include "models/common/hashed_pt.hpp"
#include "models/common/pte.hpp"

namespace vmsim::fw {

struct Kernel::Process {
  Pid pid = 0;
  std::string name;
  CoreId core = 0;
  PhysAddr root{0};
  uint16_t pcid = 0;
  VmaSet vmas;
  uint64_t resident = 0;
  uint64_t tables = 1;
  bool alive = true;
  std::set<uint64_t> hashed_pages;  // format hashed: the virtual pages mapped, for teardown
};

namespace {


std::string describe_error_code(uint32_t ec) {
  std::string s = (ec & pf_err::kPresent) ? "protection" : "not-present";
  s += (ec & pf_err::kWrite) ? ", write" : ", read";
  s += (ec & pf_err::kUser) ? ", user" : ", supervisor";
  if (ec & pf_err::kReserved) s += ", reserved-bit";
  if (ec & pf_err::kFetch) s += ", instruction-fetch";
  return s;
}

}  // namespace

void KernelConfig::validate(const std::string& path) const {
  config::require(page_table_levels == 4 || page_table_levels == 5, path, "page_table_levels",
                  std::to_string(page_table_levels), "must be 4 or 5");
  config::require(reserved_low.value % kPageSize == 0, path, "reserved_low", format_bytes(reserved_low),
                  "must be a multiple of 4KiB");
  config::require(page_descriptor_bytes <= kPageSize, path, "page_descriptor_bytes",
                  std::to_string(page_descriptor_bytes), "must be <= 4096");
}

// Format hashed: the anchor array sits right above reserved_low, outside the frame allocator.
uint64_t Kernel::hashed_reserve(const KernelConfig& cfg) {
  return (cfg.hash_buckets * hpt::kEntryBytes + kPageMask) & ~kPageMask;
}

Kernel::Kernel(const sc_core::sc_module_name& name, const KernelConfig& cfg, uint64_t memory_bytes)
    : sc_core::sc_module(name),
      m_cfg(cfg),
      m_buddy(Pfn{(cfg.reserved_low.value + hashed_reserve(cfg)) >> kPageShift},
              memory_bytes > cfg.reserved_low.value + hashed_reserve(cfg)
                  ? (memory_bytes - cfg.reserved_low.value - hashed_reserve(cfg)) >> kPageShift
                  : 1) {
  if (cfg.hash_buckets != 0 && memory_bytes <= cfg.reserved_low.value + hashed_reserve(cfg) + (1u << 20)) {
    throw InputError("system.core.mmu.walker.hash_buckets: bad value '" + std::to_string(cfg.hash_buckets) +
                     "' (the " + format_bytes(Bytes{hashed_reserve(cfg)}) + " table leaves less than 1MiB of the " +
                     format_bytes(Bytes{memory_bytes}) + " memory)");
  }
  if (memory_bytes <= cfg.reserved_low.value + (1u << 20)) {
    throw InputError("firmware.reserved_low: bad value '" + format_bytes(cfg.reserved_low) +
                     "' (leaves less than 1MiB of the " + format_bytes(Bytes{memory_bytes}) + " memory)");
  }
  // The hashed table's anchors start out invalid: memory is zero at power-on and nothing else lives there.
  if (cfg.hash_buckets != 0) m_hashed = std::make_unique<HashedTable>(PhysAddr{cfg.reserved_low.value}, cfg.hash_buckets);
  // Reserve the page-descriptor array, as a real kernel's memmap would occupy it.
  uint64_t frames = memory_bytes >> kPageShift;
  uint64_t need = (frames * cfg.page_descriptor_bytes + kPageSize - 1) / kPageSize;
  uint64_t got = 0;
  while (got < need) {
    unsigned order = BuddyAllocator::kMaxOrder;
    while (order > 0 && (uint64_t{1} << order) > need - got) --order;
    std::optional<Pfn> b;
    while (!(b = m_buddy.alloc(order)) && order > 0) --order;
    if (!b) {
      throw InputError("firmware.page_descriptor_bytes: bad value '" + std::to_string(cfg.page_descriptor_bytes) +
                       "' (the page descriptors do not fit in memory)");
    }
    got += uint64_t{1} << order;
  }
  m_reserved_frames = got;
}

Kernel::~Kernel() = default;

Kernel::Process& Kernel::process(Pid pid) {
  if (pid == 0 || pid > m_procs.size()) throw std::logic_error("kernel: no process " + std::to_string(pid));
  return *m_procs[pid - 1];
}

bool Kernel::alive(Pid pid) const { return pid >= 1 && pid <= m_procs.size() && m_procs[pid - 1]->alive; }

uint64_t Kernel::resident_pages(Pid pid) const {
  return pid >= 1 && pid <= m_procs.size() ? m_procs[pid - 1]->resident : 0;
}

std::optional<Pfn> Kernel::alloc_frame(Hal& hal, bool zero) {
  hal.charge(m_cfg.costs.frame_alloc);
  std::optional<Pfn> f = m_buddy.alloc(0);
  if (f && zero) hal.zero_frame(*f);
  return f;
}

void Kernel::free_frame(Hal& hal, Pfn pfn) {
  hal.charge(m_cfg.costs.frame_free);
  m_buddy.free(pfn, 0);
  ++m_freed;
}

std::optional<Pid> Kernel::create_process(Hal& hal, const ProcessSpec& spec) {
  hal.charge(m_cfg.costs.process_create);
  auto p = std::make_unique<Process>();
  p->pid = static_cast<Pid>(m_procs.size() + 1);
  p->name = spec.name;
  p->core = spec.core;
  for (const Vma& v : spec.vmas) p->vmas.insert(v);
  // PCIDs 1..4095 in turn (0 is the kernel's); a reused PCID's stale entries are dropped at exit.
  p->pcid = static_cast<uint16_t>((p->pid - 1) % 4095 + 1);
  // Registered before the first HAL call: in the AT mode a memory access waits, and another core may
  // enter the kernel meanwhile (a real kernel would hold a lock here).
  Process& proc = *p;
  m_procs.push_back(std::move(p));
  if (m_hashed) {
    // One global table: the root register holds its base, the PCID tells the address spaces apart.
    for (const auto& q : m_procs) {
      if (q.get() != &proc && q->alive && q->pcid == proc.pcid) {
        throw SimulationError("hashed page table: more than 4095 address spaces alive at once (PCID " +
                              std::to_string(proc.pcid) + " is taken)");
      }
    }
    proc.root = m_hashed->base();
    proc.tables = 0;
    ++m_created;
    return proc.pid;
  }
  std::optional<Pfn> root = alloc_frame(hal, true);
  if (!root) {
    proc.alive = false;
    return std::nullopt;
  }
  ++m_table_frames;
  proc.root = addr_of(*root);
  ++m_created;
  return proc.pid;
}

void Kernel::switch_to(Hal& hal, Pid pid) {
  Process& p = process(pid);
  hal.set_root(p.root, p.pcid);
}

FaultOutcome Kernel::handle_page_fault(Hal& hal, Pid pid, VirtAddr va, AccessKind kind, uint32_t error_code) {
  Process& p = process(pid);
  ++m_faults;
  hal.charge(m_cfg.costs.fault_entry + m_cfg.costs.vma_lookup);
  if (!is_canonical(va, static_cast<unsigned>(m_cfg.page_table_levels))) {
    ++m_segv_no_vma;  // a #GP on real hardware; reported as SIGSEGV
    kill(hal, p, va, kind, error_code, "non-canonical address");
    return FaultOutcome::Killed;
  }
  const Vma* vma = p.vmas.find(va);
  if (vma == nullptr) {
    ++m_segv_no_vma;
    kill(hal, p, va, kind, error_code, "address not in any VMA");
    return FaultOutcome::Killed;
  }
  if (!vma->allows(kind)) {
    ++m_segv_prot;
    kill(hal, p, va, kind, error_code,
         std::string(to_string(kind)) + " not allowed by VMA '" + vma->name + "' (" + prot_string(vma->prot) + ")");
    return FaultOutcome::Killed;
  }
  if (error_code & (pf_err::kPresent | pf_err::kReserved)) {
    // The VMA allows the access but the mapping did not: with demand-zero paging the PTE always carries
    // the VMA's permissions, so this means the tables are inconsistent with the VMA.
    ++m_segv_prot;
    kill(hal, p, va, kind, error_code, "page-table permissions inconsistent with VMA '" + vma->name + "'");
    return FaultOutcome::Killed;
  }
  // Demand-zero minor fault: a zeroed frame, mapped with the VMA's permissions.
  std::optional<Pfn> frame = alloc_frame(hal, true);
  if (!frame) {
    ++m_oom;
    kill(hal, p, va, kind, error_code, "out of memory (no free frame; reclaim arrives with issue E)");
    return FaultOutcome::Killed;
  }
  uint64_t flags = pte_bit::kUser;
  if (vma->prot & prot::kWrite) flags |= pte_bit::kWritable;
  if (!(vma->prot & prot::kExec)) flags |= pte_bit::kNoExecute;
  bool ok = map_user_page(hal, p, VirtAddr{va.value() & ~kPageMask}, *frame, flags);
  if (!ok) {
    free_frame(hal, *frame);
    ++m_oom;
    kill(hal, p, va, kind, error_code, "out of memory (no frame for a page table)");
    return FaultOutcome::Killed;
  }
  ++m_data_frames;
  ++m_demand_zero;
  ++p.resident;
  // x86 TLBs never cache not-present translations, so no invalidation is needed for this update.
  return FaultOutcome::Retry;
}

bool Kernel::map_user_page(Hal& hal, Process& p, VirtAddr va, Pfn frame, uint64_t flags) {
  auto alloc_table = [&]() {
    std::optional<Pfn> t = alloc_frame(hal, true);
    if (t) {
      ++m_table_frames;
      ++p.tables;
    }
    return t;
  };
  if (m_hashed) {
    if (!m_hashed->map(hal, p.pcid, va, frame, flags, alloc_table)) return false;
    p.hashed_pages.insert(va.value() >> kPageShift);
    return true;
  }
  return map_page(hal, p.root, static_cast<unsigned>(m_cfg.page_table_levels), va, frame, flags, alloc_table);
}

void Kernel::kill(Hal& hal, Process& p, VirtAddr va, AccessKind kind, uint32_t error_code, const std::string& reason) {
  hal.charge(m_cfg.costs.kill);
  KillReport r;
  r.pid = p.pid;
  r.name = p.name;
  r.core = hal.core_id();
  r.va = va;
  r.kind = kind;
  r.error_code = error_code;
  r.signal = "SIGSEGV";
  r.reason = reason;
  r.time_ps = hal.now_ps();
  std::cerr << "vmsim: process " << p.pid << " '" << p.name << "' killed by SIGSEGV on core " << r.core << " at "
            << r.time_ps << " ps: " << to_string(kind) << " at " << format_hex(va.value()) << " (error code "
            << format_hex(error_code) << ": " << describe_error_code(error_code) << "): " << reason << "\n";
  m_kills.push_back(r);
  ++m_killed;
  teardown(hal, p);
}

void Kernel::exit_process(Hal& hal, Pid pid) {
  Process& p = process(pid);
  if (!p.alive) return;
  ++m_exited;
  teardown(hal, p);
}

void Kernel::teardown(Hal& hal, Process& p) {
  hal.charge(m_cfg.costs.process_exit);
  if (m_hashed) {
    for (uint64_t vpn : p.hashed_pages) {
      Pte pte = m_hashed->unmap(hal, p.pcid, VirtAddr{vpn << kPageShift}, [&](Pfn f) { free_frame(hal, f); });
      if (pte.present()) free_frame(hal, pte.pfn());
    }
    p.hashed_pages.clear();
  } else {
    destroy_tables(
      hal, p.root, static_cast<unsigned>(m_cfg.page_table_levels), [&](Pfn f) { free_frame(hal, f); },
      [&](Pfn f) { free_frame(hal, f); });
  }
  // The PCID may be handed to another process later: drop its translations and walk-cache entries.
  hal.invalidate_pcid(p.pcid);
  p.alive = false;
  p.resident = 0;
  p.tables = 0;
}

}  // namespace vmsim::fw
