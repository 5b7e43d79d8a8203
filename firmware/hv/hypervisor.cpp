// The hypervisor: configuration checks, boot of the host and guest kernels, the cores' traps dispatched to
// the guest kernels in their VMX non-root mode, EPT violations, the EPT in modeled memory, and the VM
// processes' MMU notifier.
#include "firmware/hv/hypervisor.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <iostream>
#include <set>

#include "common/error.hpp"
#include "common/pte.hpp"
#include "common/units.hpp"
#include "firmware/hv/guest_hal.hpp"
#include "firmware/kernel/kernel_types.hpp"
#include "firmware/kernel/mm_notifier.hpp"

namespace vmsim::fw {

namespace {

constexpr uint64_t k2M = 2ull << 20;
constexpr uint64_t k1G = 1ull << 30;
constexpr uint64_t kMaxGuestBytes = 1ull << 46;  // 64 TiB: VM memory lies in [kHvaBase, kHvaBase + 64 TiB)

// Thrown through a guest kernel whose memory the host lost (its VM process was killed) in the middle of an
// operation; the trap entry catches it. The guest is dead: nothing runs its kernel again.
struct GuestLost {};

constexpr uint64_t frames_of_level(unsigned level) { return uint64_t{1} << (9 * (level - 1)); }

std::string guest_key(size_t g) { return "virtualization.guests[" + std::to_string(g) + "]"; }

std::string default_name(const HypervisorConfig& hv, size_t g) {
  return g < hv.guests.size() && !hv.guests[g].name.empty() ? hv.guests[g].name : "vm" + std::to_string(g);
}

uint64_t host_bytes(const std::vector<NodeRange>& nodes) {
  uint64_t b = 0;
  for (const NodeRange& n : nodes) b += n.frames << kPageShift;
  return b;
}

// "0-3,5" -> {0,1,2,3,5}; throws InputError naming key.
std::vector<size_t> parse_list(const std::string& text, const std::string& key, size_t processes) {
  std::vector<size_t> out;
  auto bad = [&](const std::string& why) {
    throw InputError(key + ": bad value '" + text + "' (" + why + ")");
  };
  if (text.empty()) bad("a guest needs at least one process");
  size_t i = 0;
  auto number = [&]() -> size_t {
    if (i >= text.size() || !std::isdigit(static_cast<unsigned char>(text[i]))) bad("expected a process index, e.g. \"0-3\" or \"0,2\"");
    size_t v = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      v = v * 10 + static_cast<size_t>(text[i++] - '0');
      if (v > (1u << 30)) bad("index too large");
    }
    return v;
  };
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    const size_t a = number();
    size_t b = a;
    if (i < text.size() && text[i] == '-') {
      ++i;
      b = number();
      if (b < a) bad("a range must go upwards");
    }
    if (b >= processes) bad("process " + std::to_string(b) + " does not exist (" + std::to_string(processes) + " processes)");
    for (size_t p = a; p <= b; ++p) out.push_back(p);
    while (i < text.size() && text[i] == ' ') ++i;
    if (i < text.size()) {
      if (text[i] != ',') bad("expected ',' or '-'");
      ++i;
    }
  }
  return out;
}

}  // namespace

std::vector<std::vector<size_t>> guest_processes(const HypervisorConfig& hv, size_t processes,
                                                 const std::vector<int>& parents) {
  std::vector<std::vector<size_t>> out;
  if (hv.guests.empty()) {
    out.emplace_back();
    for (size_t p = 0; p < processes; ++p) out[0].push_back(p);
    return out;
  }
  std::vector<int> owner(processes, -1);
  for (size_t g = 0; g < hv.guests.size(); ++g) {
    const std::string key = guest_key(g) + ".processes";
    std::vector<size_t> list = parse_list(hv.guests[g].processes, key, processes);
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    for (size_t p : list) {
      if (owner[p] >= 0) {
        throw InputError(key + ": bad value '" + hv.guests[g].processes + "' (process " + std::to_string(p) +
                         " is already in guest " + std::to_string(owner[p]) + "; a process runs in exactly one guest)");
      }
      owner[p] = static_cast<int>(g);
    }
    out.push_back(std::move(list));
  }
  for (size_t p = 0; p < processes; ++p) {
    if (owner[p] < 0) {
      throw InputError("virtualization.guests: bad value (process " + std::to_string(p) +
                       " is in no guest; every process runs in exactly one guest)");
    }
    if (p < parents.size() && parents[p] >= 0 && owner[static_cast<size_t>(parents[p])] != owner[p]) {
      throw InputError(guest_key(static_cast<size_t>(owner[p])) + ".processes: bad value '" +
                       hv.guests[static_cast<size_t>(owner[p])].processes + "' (process " + std::to_string(p) +
                       " is forked by process " + std::to_string(parents[p]) + ", which runs in guest " +
                       std::to_string(owner[static_cast<size_t>(parents[p])]) + ")");
    }
  }
  return out;
}

void validate(const HypervisorConfig& hv, size_t processes, const KernelConfig& kcfg,
              const std::vector<NodeRange>& host_nodes, const std::vector<int>& parents) {
  config::require(hv.ept_levels == 4 || hv.ept_levels == 5, "virtualization", "ept_levels",
                  std::to_string(hv.ept_levels), "must be 4 or 5");
  config::require(kcfg.kind == FirmwareKind::Full, "virtualization", "enabled", "true",
                  "the hypervisor runs the full kernel as host and guests: firmware.kind must be full");
  config::require(kcfg.hash_buckets == 0, "virtualization", "enabled", "true",
                  "nested paging needs radix page tables; system.core.mmu.walker.format is hashed");
  config::require(kcfg.swap.replacement.policy != ReplacementKind::Opt, "firmware.swap", "policy", "opt",
                  "needs each process's future references; under virtualization the host swaps VM processes, "
                  "whose references are not known ahead");
  guest_processes(hv, processes, parents);
  const size_t guests = std::max<size_t>(1, hv.guests.size());
  const uint64_t align = hv.ept_page_size == EptPageSize::G1 ? k1G : k2M;
  uint64_t giga_needed = 0;
  std::set<std::string> names;
  for (size_t g = 0; g < guests; ++g) {
    const std::string name = default_name(hv, g);
    if (g < hv.guests.size()) {
      const uint64_t m = hv.guests[g].memory.value;
      config::require(m % k2M == 0, guest_key(g), "memory", format_bytes(hv.guests[g].memory),
                      "must be a multiple of 2MiB");
      config::require(m % align == 0, guest_key(g), "memory", format_bytes(hv.guests[g].memory),
                      "must be a multiple of 1GiB with virtualization.ept_page_size 1g");
      config::require(m < kMaxGuestBytes, guest_key(g), "memory", format_bytes(hv.guests[g].memory),
                      "must be below 64TiB");
      config::require(names.insert(name).second, guest_key(g), "name", name, "another guest has that name");
    }
    uint64_t bytes = 0;
    for (const NodeRange& n : guest_nodes(host_nodes, g < hv.guests.size() ? hv.guests[g].memory.value : 0, align)) {
      bytes += n.frames << kPageShift;
    }
    if (bytes == 0) {
      throw InputError(guest_key(g) + ".memory: bad value '" + format_bytes(Bytes{bytes}) + "' (the guest has no " +
                       (align == k1G ? "whole 1GiB" : "whole 2MiB") + " block of memory)");
    }
    giga_needed += bytes / k1G;
  }
  if (hv.ept_page_size == EptPageSize::G1 && kcfg.hugepages_1g < giga_needed) {
    throw InputError("virtualization.ept_page_size: bad value '1g' (guest memory takes " + std::to_string(giga_needed) +
                     " 1GiB pages from the host's pool, firmware.hugepages_1g is " +
                     std::to_string(kcfg.hugepages_1g) + ")");
  }
}

std::vector<NodeRange> guest_nodes(const std::vector<NodeRange>& host_nodes, uint64_t memory, uint64_t align) {
  const uint64_t total = host_bytes(host_nodes);
  const uint64_t want = memory == 0 ? total : memory;
  std::vector<NodeRange> out;
  uint64_t base = 0;
  for (size_t i = 0; i < host_nodes.size(); ++i) {
    const uint64_t host = host_nodes[i].frames << kPageShift;
    uint64_t bytes;
    if (memory == 0) {
      bytes = host / align * align;
    } else if (i + 1 == host_nodes.size()) {
      bytes = want - base;
    } else {
      bytes = static_cast<uint64_t>(static_cast<long double>(want) * static_cast<long double>(host) /
                                    static_cast<long double>(std::max<uint64_t>(1, total))) /
              align * align;
    }
    out.push_back(NodeRange{Pfn{base >> kPageShift}, bytes >> kPageShift});
    base += bytes;
  }
  return out;
}

// ---- Records --------------------------------------------------------------------------------------------

struct Hypervisor::Guest {
  size_t id = 0;
  std::string name;
  std::vector<NodeRange> nodes;
  uint64_t frames = 0;                // guest-physical 4 KiB frames
  std::vector<size_t> globals;        // local process index -> global index
  std::unique_ptr<Kernel> kernel;
  std::vector<Pid> global_of;         // guest pid -> global pid (0: not seen yet)
  Pid vm_pid = 0;
  bool booted = false;
  bool lost = false;
  PhysAddr ept_root{0};
  uint64_t eptp = 0;
  // The shadow of the EPT, per guest-physical 4 KiB frame: host frame + 1 (0: not backed), and flags:
  // bits 1:0 the EPT leaf's level, bits 3:2 the host page's level, bit 4 writable.
  std::vector<uint64_t> shadow;
  std::vector<uint8_t> flags;
  uint64_t backed = 0;
  std::vector<bool> ran;                                  // per core: has run this guest (may cache its translations)
  std::vector<std::pair<uint64_t, uint16_t>> core_root;   // per core: guest root and PCID last loaded there
  std::vector<std::unique_ptr<GuestHal>> hals;            // per core
  std::unique_ptr<Notifier> notifier;
};

class Hypervisor::Notifier final : public MmNotifier {
 public:
  Notifier(Hypervisor& hv, Guest& g) : m_hv(hv), m_g(g) {}
  void invalidate(Hal& hal, const std::vector<VirtAddr>& pages) override { m_hv.notify_invalidate(hal, m_g, pages); }
  bool test_young(Hal& hal, VirtAddr page, bool clear) override { return m_hv.notify_young(hal, m_g, page, clear); }
  bool test_dirty(Hal& hal, VirtAddr page) override { return m_hv.notify_dirty(hal, m_g, page); }
  void release(Hal& hal) override { m_hv.notify_release(hal, m_g); }

 private:
  Hypervisor& m_hv;
  Guest& m_g;
};

// ---- Boot ----------------------------------------------------------------------------------------------

Hypervisor::Hypervisor(const HypervisorConfig& hv, const KernelConfig& kcfg, const std::vector<NodeRange>& nodes,
                       const std::vector<NodeId>& core_node, const std::vector<ProcessSpec>& specs)
    : m_hv(hv), m_kcfg(kcfg), m_nodes(nodes), m_core_node(core_node) {
  std::vector<int> parents;
  for (const ProcessSpec& s : specs) parents.push_back(s.parent);
  validate(hv, specs.size(), kcfg, nodes, parents);
  const std::vector<std::vector<size_t>> groups = guest_processes(hv, specs.size(), parents);
  const uint64_t align = hv.ept_page_size == EptPageSize::G1 ? k1G : k2M;
  m_index.resize(specs.size());
  m_core_mode.assign(core_node.size(), -1);

  // The guest kernels: firmware.* but without a swap device (the host swaps guest memory), without the
  // kernel half and KPTI (their memory accesses are guest-physical), with radix tables and no 1 GiB pool.
  KernelConfig gk = kcfg;
  gk.swap_slots = 0;
  gk.kernel_virtual_access = false;
  gk.kpti = false;
  gk.hash_buckets = 0;
  gk.hugepages_1g = 0;  // the 1 GiB pool is the host's: it backs guest memory (ept_page_size 1g)
  std::vector<ProcessSpec> vm_specs;
  for (size_t g = 0; g < groups.size(); ++g) {
    auto G = std::make_unique<Guest>();
    G->id = g;
    G->name = default_name(hv, g);
    G->nodes = guest_nodes(nodes, g < hv.guests.size() ? hv.guests[g].memory.value : 0, align);
    for (const NodeRange& n : G->nodes) G->frames += n.frames;
    G->globals = groups[g];
    std::vector<ProcessSpec> local;
    for (size_t l = 0; l < groups[g].size(); ++l) {
      const size_t i = groups[g][l];
      m_index[i] = {g, l};
      ProcessSpec s = specs[i];
      s.index = l;
      if (s.parent >= 0) {
        s.parent = static_cast<int>(std::find(groups[g].begin(), groups[g].end(), static_cast<size_t>(s.parent)) -
                                    groups[g].begin());
      }
      local.push_back(std::move(s));
    }
    try {
      G->kernel = std::make_unique<Kernel>(gk, G->nodes, core_node, local);
    } catch (const InputError& e) {
      throw InputError(std::string(e.what()) + " (in guest '" + G->name + "' with " +
                       format_bytes(Bytes{G->frames << kPageShift}) + " of memory)");
    }
    G->shadow.assign(G->frames, 0);
    G->flags.assign(G->frames, 0);
    G->ran.assign(core_node.size(), false);
    G->core_root.assign(core_node.size(), {0, 0});
    G->hals.resize(core_node.size());
    G->notifier = std::make_unique<Notifier>(*this, *G);

    // Its VM process: guest RAM as anonymous memory at kHvaBase, placed by `placement`.
    ProcessSpec vm;
    vm.name = G->name + ".ram";
    vm.core = 0;
    vm.index = g;
    auto area = [&](uint64_t gpa, uint64_t bytes) {
      Vma v(VirtAddr{kHvaBase + gpa}, VirtAddr{kHvaBase + gpa + bytes}, prot::kRead | prot::kWrite, "guest-ram");
      v.huge = hv.ept_page_size == EptPageSize::M2;
      v.huge_1g = hv.ept_page_size == EptPageSize::G1;
      return v;
    };
    if (hv.placement == GuestPlacement::Mirror) {
      for (size_t n = 0; n < G->nodes.size(); ++n) {
        if (G->nodes[n].frames == 0) continue;
        Vma v = area(G->nodes[n].base.value() << kPageShift, G->nodes[n].frames << kPageShift);
        v.policy.kind = NumaPolicyKind::Bind;
        v.policy.nodes = {static_cast<unsigned>(n)};
        vm.vmas.push_back(v);
      }
    } else {
      Vma v = area(0, G->frames << kPageShift);
      if (hv.placement == GuestPlacement::Interleave) {
        v.policy.kind = NumaPolicyKind::Interleave;
        for (size_t n = 0; n < nodes.size(); ++n) v.policy.nodes.push_back(static_cast<unsigned>(n));
      }
      vm.vmas.push_back(v);
    }
    vm_specs.push_back(std::move(vm));
    m_guests.push_back(std::move(G));
  }
  m_host = std::make_unique<Kernel>(kcfg, nodes, core_node, vm_specs);

  for (size_t g = 0; g < m_guests.size(); ++g) {
    auto grp = std::make_unique<stats::Group>(m_stats, m_guests[g]->name);
    m_guest_stats.push_back(std::make_unique<stats::Formula>(
        *grp, "pages_backed", "pages", "Guest-physical 4 KiB pages of this guest backed by EPT leaves at the end",
        [this, g] { return static_cast<double>(pages_backed(g)); }, true));
    m_guest_stats.push_back(std::make_unique<stats::Formula>(
        *grp, "memory", "pages", "Guest-physical memory of this guest (4 KiB pages)",
        [this, g] { return static_cast<double>(m_guests[g]->frames); }, true));
    m_guest_groups.push_back(std::move(grp));
  }
}

Hypervisor::~Hypervisor() = default;

Kernel& Hypervisor::guest(size_t g) { return *m_guests.at(g)->kernel; }
const std::string& Hypervisor::guest_name(size_t g) const { return m_guests.at(g)->name; }
uint64_t Hypervisor::eptp(size_t g) const { return m_guests.at(g)->eptp; }
Pid Hypervisor::vm_pid(size_t g) const { return m_guests.at(g)->vm_pid; }
uint64_t Hypervisor::pages_backed(size_t g) const { return m_guests.at(g)->backed; }

std::optional<PhysAddr> Hypervisor::backing_of(size_t g, uint64_t gpa) const {
  const Guest& G = *m_guests.at(g);
  const uint64_t gfn = gpa >> kPageShift;
  if (gfn >= G.frames || G.shadow[gfn] == 0) return std::nullopt;
  return PhysAddr{((G.shadow[gfn] - 1) << kPageShift) | (gpa & kPageMask)};
}

std::pair<size_t, Pid> Hypervisor::guest_of_pid(Pid pid) const {
  if (pid == 0 || pid > m_pids.size()) throw SimulationError("hypervisor: no process " + std::to_string(pid));
  return m_pids[pid - 1];
}

Pid Hypervisor::global_pid(size_t g, Pid gpid) {
  Guest& G = *m_guests[g];
  if (G.global_of.size() <= gpid) G.global_of.resize(gpid + 1, 0);
  if (G.global_of[gpid] == 0) {
    m_pids.emplace_back(g, gpid);
    m_host_blocked.push_back(0);
    G.global_of[gpid] = static_cast<Pid>(m_pids.size());
  }
  return G.global_of[gpid];
}

GuestHal& Hypervisor::ghal(Hal& hal, size_t g) {
  Guest& G = *m_guests[g];
  std::unique_ptr<GuestHal>& h = G.hals.at(hal.core_id());
  if (!h) h = std::make_unique<GuestHal>(*this, g, hal.core_id());
  h->bind(hal);
  return *h;
}

bool Hypervisor::numa_tick() {
  bool any = m_host->numa_tick();
  for (auto& G : m_guests) any = G->kernel->numa_tick() || any;
  return any;
}

// ---- Modes ---------------------------------------------------------------------------------------------

int Hypervisor::mode(Hal& hal) const { return hal.in_guest() ? m_core_mode.at(hal.core_id()) : -1; }

void Hypervisor::enter(Hal& hal, size_t g) {
  const CoreId c = hal.core_id();
  if (mode(hal) == static_cast<int>(g)) return;
  if (hal.in_guest()) hal.vm_exit();
  Guest& G = *m_guests[g];
  if (G.eptp == 0) {
    throw SimulationError("hypervisor: VM entry into guest '" + G.name + "' on core " + std::to_string(c) +
                          " before its EPT exists (a hypervisor bug)");
  }
  VmEntry e;
  e.eptp = G.eptp;
  e.vpid = vpid(g);
  e.guest_root = PhysAddr{G.core_root[c].first};
  e.guest_pcid = G.core_root[c].second;
  e.guest_levels = static_cast<unsigned>(m_kcfg.page_table_levels);
  hal.vm_enter(e);
  m_core_mode[c] = static_cast<int>(g);
  G.ran[c] = true;
}

void Hypervisor::to_host(Hal& hal) {
  if (hal.in_guest()) hal.vm_exit();
  m_core_mode.at(hal.core_id()) = -1;
}

void Hypervisor::restore(Hal& hal, int md) {
  if (md < 0) {
    to_host(hal);
  } else {
    enter(hal, static_cast<size_t>(md));
  }
}

void Hypervisor::boot_guest(Hal& hal, size_t g) {
  Guest& G = *m_guests[g];
  G.booted = true;
  std::optional<Pid> vm = m_host->create_process(hal, g);
  if (!vm) {
    guest_lost(hal, G, "the host had no memory for its VM process");
    return;
  }
  G.vm_pid = *vm;
  m_host->set_mm_notifier(G.vm_pid, G.notifier.get());
  std::optional<Pfn> root = m_host->alloc_kernel_frame(hal, m_core_node.at(hal.core_id()));
  if (!root) {
    m_host->kill(hal, G.vm_pid, "no host memory for the guest's EPT root", "SIGKILL");
    guest_lost(hal, G, "the host had no memory for its EPT");
    return;
  }
  ++m_table_frames;
  G.ept_root = addr_of(*root);
  G.eptp = Eptp::make(G.ept_root, m_hv.ept_levels, m_hv.ept_accessed_dirty).raw();
  if (!m_hv.prefault) return;
  for (uint64_t gfn = 0; gfn < G.frames && !G.lost;) {
    if (G.shadow[gfn] != 0) {
      ++gfn;
      continue;
    }
    const FaultOutcome out = back(hal, G, gfn, true, Cause::Prefault);
    if (out == FaultOutcome::Blocked) {
      hal.wait_until(m_host->blocked_until(G.vm_pid));
    } else if (out == FaultOutcome::Killed) {
      guest_lost(hal, G, "the host ran out of memory prefaulting it");
    } else {
      ++m_viol_prefault;
    }
  }
}

// ---- Backing guest memory ------------------------------------------------------------------------------

FaultOutcome Hypervisor::back(Hal& hal, Guest& G, uint64_t gfn, bool write, Cause cause) {
  (void)cause;
  const uint64_t hva = kHvaBase + (gfn << kPageShift);
  for (int attempt = 0; attempt < 8; ++attempt) {
    if (!m_host->alive(G.vm_pid)) return FaultOutcome::Killed;
    const std::optional<Kernel::PageMapping> m = m_host->mapping(hal, G.vm_pid, VirtAddr{hva});
    if (m && (!write || m->writable)) {
      const unsigned ept_max =
          m_hv.ept_page_size == EptPageSize::G1 ? 3u : (m_hv.ept_page_size == EptPageSize::M2 ? 2u : 1u);
      unsigned level = std::min(m->level, ept_max);
      while (level > 1 && ((gfn & ~(frames_of_level(level) - 1)) + frames_of_level(level) > G.frames)) --level;
      const uint64_t host_bytes_page = frames_of_level(m->level) << kPageShift;
      const uint64_t leaf_bytes = frames_of_level(level) << kPageShift;
      const uint64_t in_page = (hva & (host_bytes_page - 1)) & ~(leaf_bytes - 1);
      const PhysAddr hpa{(m->first.value() << kPageShift) + in_page};
      ept_install(hal, G, gfn & ~(frames_of_level(level) - 1), hpa, level, m->writable, m->level);
      return FaultOutcome::Retry;
    }
    uint32_t err = pf_err::kUser | (write ? pf_err::kWrite : 0u) | (m ? pf_err::kPresent : 0u);
    ++m_host_faults;
    const FaultOutcome out =
        m_host->handle_page_fault(hal, G.vm_pid, VirtAddr{hva}, write ? AccessKind::Write : AccessKind::Read, err);
    if (out != FaultOutcome::Retry) return out;
  }
  throw SimulationError("hypervisor: the host still maps no suitable page at " + format_hex(hva) + " of guest '" +
                        G.name + "' after its fault handler returned Retry");
}

PhysAddr Hypervisor::translate_for_kernel(Hal& hal, size_t g, uint64_t gpa, bool write) {
  Guest& G = *m_guests[g];
  if (G.lost) throw GuestLost{};
  const uint64_t gfn = gpa >> kPageShift;
  if (gfn >= G.frames) {
    throw SimulationError("hypervisor: guest '" + G.name + "''s kernel accessed guest-physical " + format_hex(gpa) +
                          ", outside its " + format_bytes(Bytes{G.frames << kPageShift}) + " of memory");
  }
  if (G.shadow[gfn] == 0 || (write && !(G.flags[gfn] & 0x10))) {
    // The guest kernel's own access exits: an EPT violation the hypervisor handles in root mode.
    ++m_exit_violation;
    ++m_viol_kernel;
    const uint64_t cycles = m_hv.costs.vm_exit + m_hv.costs.ept_violation;
    hal.charge(cycles);
    m_exit_cycles += cycles;
    const int md = mode(hal);
    to_host(hal);
    for (;;) {
      const FaultOutcome out = back(hal, G, gfn, write, Cause::GuestKernel);
      if (out == FaultOutcome::Retry) break;
      if (out == FaultOutcome::Killed) {
        guest_lost(hal, G, "the host ran out of memory backing its kernel's access at guest-physical " + format_hex(gpa));
        restore(hal, md);
        throw GuestLost{};
      }
      hal.wait_until(m_host->blocked_until(G.vm_pid));  // a host swap-in of guest memory
    }
    restore(hal, md);
  }
  // The guest kernel's write dirties the page as a guest store through the EPT would (its D flag): host
  // reclaim must not drop it clean (its swap copy may hold what the guest-physical page held before).
  if (write) m_host->set_page_dirty(Pfn{G.shadow[gfn] - 1});
  return PhysAddr{((G.shadow[gfn] - 1) << kPageShift) | (gpa & kPageMask)};
}

// ---- The EPT -------------------------------------------------------------------------------------------

namespace {
void clear_shadow(std::vector<uint64_t>& shadow, std::vector<uint8_t>& flags, uint64_t& backed, uint64_t first,
                  uint64_t n) {
  const uint64_t end = std::min<uint64_t>(shadow.size(), first + n);
  for (uint64_t i = first; i < end; ++i) {
    if (shadow[i] != 0) --backed;
    shadow[i] = 0;
    flags[i] = 0;
  }
}
}  // namespace

std::optional<PhysAddr> Hypervisor::ept_entry(Hal& hal, Guest& G, uint64_t gfn, unsigned level) {
  PhysAddr table = G.ept_root;
  for (unsigned l = m_hv.ept_levels; l > level; --l) {
    const EptEntry e{hal.read64(PhysAddr{table.value() + ((gfn >> (9 * (l - 1))) & 511) * 8})};
    if (!e.present() || e.is_leaf(l)) return std::nullopt;
    table = e.addr();
  }
  return PhysAddr{table.value() + ((gfn >> (9 * (level - 1))) & 511) * 8};
}

void Hypervisor::ept_install(Hal& hal, Guest& G, uint64_t gfn, PhysAddr hpa, unsigned level, bool writable,
                             unsigned host_level) {
  bool flush = false;
  bool stopping = false;
  std::vector<CoreId> stopped;
  auto stop = [&] {
    if (!stopping) stopped = stop_guest_cores(hal, G);
    stopping = true;
  };
  PhysAddr table = G.ept_root;
  for (unsigned l = m_hv.ept_levels; l > level; --l) {
    const PhysAddr ea{table.value() + ((gfn >> (9 * (l - 1))) & 511) * 8};
    EptEntry e{hal.read64(ea)};
    if (e.present() && e.is_leaf(l)) {
      // A larger leaf covers the range (its page was split on the host side meanwhile): it goes first.
      stop();
      e = EptEntry{hal.read64(ea)};
      report_dirty(hal, G, e, l, gfn & ~(frames_of_level(l) - 1));
      hal.charge(m_kcfg.costs.pte_update);
      hal.write64(ea, 0);
      clear_shadow(G.shadow, G.flags, G.backed, gfn & ~(frames_of_level(l) - 1), frames_of_level(l));
      ++m_leaves_cleared;
      flush = true;
      e = EptEntry{0};
    }
    if (!e.present()) {
      std::optional<Pfn> f = m_host->alloc_kernel_frame(hal, m_core_node.at(hal.core_id()));
      if (!f) throw SimulationError("hypervisor: no host frame for an EPT table of guest '" + G.name + "'");
      ++m_table_frames;
      hal.charge(m_kcfg.costs.pte_update);
      hal.write64(ea, EptEntry::make(addr_of(*f), ept_bit::kRwx).raw());
      table = addr_of(*f);
    } else {
      table = e.addr();
    }
  }
  const PhysAddr ea{table.value() + ((gfn >> (9 * (level - 1))) & 511) * 8};
  EptEntry old{hal.read64(ea)};
  if (old.present()) {
    stop();
    old = EptEntry{hal.read64(ea)};
  }
  if (old.present() && old.is_leaf(level)) report_dirty(hal, G, old, level, gfn);
  if (old.present() && !old.is_leaf(level)) {
    // Smaller leaves of the range (the host page became huge: THP collapse) make way for one leaf.
    ept_free_subtree(hal, G, old.addr(), level - 1, gfn);
    flush = true;
  } else if (old.present()) {
    clear_shadow(G.shadow, G.flags, G.backed, gfn, frames_of_level(level));
  }
  hal.charge(m_kcfg.costs.pte_update);
  hal.write64(ea, EptEntry::leaf(hpa, writable ? ept_bit::kRwx : (ept_bit::kRead | ept_bit::kExecute), level).raw());
  const uint64_t n = frames_of_level(level);
  const uint8_t fl = static_cast<uint8_t>(level | (host_level << 2) | (writable ? 0x10 : 0));
  for (uint64_t i = 0; i < n && gfn + i < G.frames; ++i) {
    if (G.shadow[gfn + i] == 0) ++G.backed;
    G.shadow[gfn + i] = (hpa.value() >> kPageShift) + i + 1;
    G.flags[gfn + i] = fl;
  }
  if (level == 1) ++m_leaves_4k;
  if (level == 2) ++m_leaves_2m;
  if (level == 3) ++m_leaves_1g;
  if (stopping) end_ept_change(hal, G, stopped, flush);
}

void Hypervisor::ept_free_subtree(Hal& hal, Guest& G, PhysAddr table, unsigned level, uint64_t first_gfn) {
  std::array<uint64_t, 512> e;
  hal.read_block(table, reinterpret_cast<uint8_t*>(e.data()), kPageSize);
  for (uint64_t i = 0; i < 512; ++i) {
    const EptEntry x{e[i]};
    if (!x.present()) continue;
    const uint64_t gfn = first_gfn + (i << (9 * (level - 1)));
    if (x.is_leaf(level)) {
      report_dirty(hal, G, x, level, gfn);
      clear_shadow(G.shadow, G.flags, G.backed, gfn, frames_of_level(level));
      ++m_leaves_cleared;
    } else {
      ept_free_subtree(hal, G, x.addr(), level - 1, gfn);
    }
  }
  m_host->free_kernel_frame(hal, pfn_of(table));
  ++m_table_freed;
}

bool Hypervisor::ept_clear_leaf(Hal& hal, Guest& G, uint64_t gfn) {
  if (gfn >= G.frames || G.shadow[gfn] == 0) return false;
  const unsigned level = G.flags[gfn] & 3;
  const uint64_t first = gfn & ~(frames_of_level(level) - 1);
  std::optional<PhysAddr> ea = ept_entry(hal, G, first, level);
  if (!ea) throw SimulationError("hypervisor: guest '" + G.name + "': the shadow of the EPT maps guest-physical " +
                                 format_hex(gfn << kPageShift) + " but the EPT does not (a hypervisor bug)");
  report_dirty(hal, G, EptEntry{hal.read64(*ea)}, level, first);
  hal.charge(m_kcfg.costs.pte_update);
  hal.write64(*ea, 0);
  clear_shadow(G.shadow, G.flags, G.backed, first, frames_of_level(level));
  ++m_leaves_cleared;
  return true;
}

void Hypervisor::report_dirty(Hal& hal, Guest& G, EptEntry leaf, unsigned level, uint64_t first_gfn) {
  if (!leaf.present() || !leaf.writable()) return;
  if (m_hv.ept_accessed_dirty && !leaf.dirty()) return;
  const uint64_t first = leaf.addr().value() >> kPageShift;
  const uint64_t n = frames_of_level(level);
  for (uint64_t i = 0; i < n; ++i) m_host->set_page_dirty(Pfn{first + i});
  // Only 4 KiB host pages are reclaimed (1 GiB pool pages never are).
  if (level > 2 || G.vm_pid == 0 || !m_host->alive(G.vm_pid)) return;
  for (uint64_t i = 0; i < n && first_gfn + i < G.frames; ++i) {
    const std::optional<Kernel::PageMapping> m =
        m_host->mapping(hal, G.vm_pid, VirtAddr{kHvaBase + ((first_gfn + i) << kPageShift)});
    if (m && m->level == 1 && m->first.value() != first + i) m_host->set_page_dirty(m->first);
  }
}

bool Hypervisor::notify_dirty(Hal& hal, Guest& G, VirtAddr page) {
  if (page.value() < kHvaBase || page.value() >= kHvaBase + (G.frames << kPageShift)) return false;
  const uint64_t gfn = (page.value() - kHvaBase) >> kPageShift;
  if (G.shadow[gfn] == 0 || !(G.flags[gfn] & 0x10)) return false;
  if (!m_hv.ept_accessed_dirty) return true;  // writable and no D flag to tell: assume written
  const unsigned level = G.flags[gfn] & 3;
  const std::optional<PhysAddr> ea = ept_entry(hal, G, gfn & ~(frames_of_level(level) - 1), level);
  return ea && EptEntry{hal.read64(*ea)}.dirty();
}

std::vector<CoreId> Hypervisor::stop_guest_cores(Hal& hal, Guest& G) {
  std::vector<CoreId> targets;
  for (CoreId c = 0; c < G.ran.size(); ++c) {
    if (G.ran[c] && c != hal.core_id()) targets.push_back(c);
  }
  if (!targets.empty()) hal.shootdown_begin(targets);
  return targets;
}

void Hypervisor::end_ept_change(Hal& hal, Guest& G, const std::vector<CoreId>& stopped, bool changed) {
  if (!changed) {
    if (!stopped.empty()) hal.shootdown_resume(stopped);
    return;
  }
  ++m_invept;
  hal.charge(m_kcfg.costs.tlb_invalidate);
  hal.invept(G.eptp);
  if (stopped.empty()) return;
  m_invept_ipis += stopped.size();
  hal.charge(m_kcfg.costs.ipi_send * stopped.size());
  hal.shootdown_end_ept(stopped, G.eptp, m_kcfg.costs.ipi_receive);
}

// ---- The MMU notifier ----------------------------------------------------------------------------------

void Hypervisor::notify_invalidate(Hal& hal, Guest& G, const std::vector<VirtAddr>& pages) {
  if (G.ept_root.value() == 0) return;
  bool any = false;
  for (VirtAddr va : pages) {
    if (va.value() < kHvaBase || va.value() >= kHvaBase + (G.frames << kPageShift)) continue;
    const uint64_t gfn = (va.value() - kHvaBase) >> kPageShift;
    any = any || G.shadow[gfn] != 0 || gfn % frames_of_level(2) == 0;
  }
  if (!any) return;
  const std::vector<CoreId> stopped = stop_guest_cores(hal, G);
  bool cleared = false;
  for (VirtAddr va : pages) {
    if (va.value() < kHvaBase || va.value() >= kHvaBase + (G.frames << kPageShift)) continue;
    const uint64_t gfn = (va.value() - kHvaBase) >> kPageShift;
    cleared = ept_clear_leaf(hal, G, gfn) || cleared;
    // A huge host page is invalidated by its first address: every EPT leaf carved from it goes.
    for (unsigned hl = 2; hl <= 3; ++hl) {
      const uint64_t n = frames_of_level(hl);
      if (gfn % n != 0) continue;
      for (uint64_t i = gfn; i < std::min(G.frames, gfn + n); ++i) {
        if (G.shadow[i] != 0 && ((G.flags[i] >> 2) & 3) >= hl) cleared = ept_clear_leaf(hal, G, i) || cleared;
      }
    }
  }
  if (cleared) ++m_notifier;
  end_ept_change(hal, G, stopped, cleared);
}

bool Hypervisor::notify_young(Hal& hal, Guest& G, VirtAddr page, bool clear) {
  if (page.value() < kHvaBase || page.value() >= kHvaBase + (G.frames << kPageShift)) return false;
  const uint64_t gfn = (page.value() - kHvaBase) >> kPageShift;
  if (G.shadow[gfn] == 0) return false;
  ++m_young;
  if (!m_hv.ept_accessed_dirty) {
    // Without EPT A/D flags a backed page counts as used; clearing takes the leaf away (KVM's access
    // tracking), so the next use is an EPT violation that puts it back.
    if (clear) {
      const std::vector<CoreId> stopped = stop_guest_cores(hal, G);
      end_ept_change(hal, G, stopped, ept_clear_leaf(hal, G, gfn));
    }
    return true;
  }
  const unsigned level = G.flags[gfn] & 3;
  const std::optional<PhysAddr> ea = ept_entry(hal, G, gfn & ~(frames_of_level(level) - 1), level);
  if (!ea) return false;
  EptEntry e{hal.read64(*ea)};
  if (e.accessed() && clear) {
    // As x86 Linux clears a PTE's A bit without a flush: a translation cached meanwhile stays usable. The
    // guest's cores stop meanwhile, so a walker's D update cannot be lost.
    const std::vector<CoreId> stopped = stop_guest_cores(hal, G);
    e = EptEntry{hal.read64(*ea)};
    hal.charge(m_kcfg.costs.pte_update);
    hal.write64(*ea, e.raw() & ~ept_bit::kAccessed);
    end_ept_change(hal, G, stopped, false);
  }
  return e.accessed();
}

void Hypervisor::notify_release(Hal& hal, Guest& G) {
  if (G.ept_root.value() != 0) {
    const std::vector<CoreId> stopped = stop_guest_cores(hal, G);
    std::array<uint64_t, 512> e;
    hal.read_block(G.ept_root, reinterpret_cast<uint8_t*>(e.data()), kPageSize);
    const unsigned top = m_hv.ept_levels;
    for (uint64_t i = 0; i < 512; ++i) {
      const EptEntry x{e[i]};
      if (!x.present()) continue;
      ept_free_subtree(hal, G, x.addr(), top - 1, i << (9 * (top - 1)));
      hal.write64(PhysAddr{G.ept_root.value() + i * 8}, 0);
    }
    clear_shadow(G.shadow, G.flags, G.backed, 0, G.frames);
    end_ept_change(hal, G, stopped, true);
  }
  guest_lost(hal, G, "the host killed its VM process '" + G.name + ".ram'");
}

void Hypervisor::guest_lost(Hal& hal, Guest& G, const std::string& reason) {
  if (G.lost) return;
  G.lost = true;
  for (size_t gp = 1; gp < G.global_of.size(); ++gp) {
    const Pid pid = G.global_of[gp];
    if (pid == 0 || !G.kernel->alive(static_cast<Pid>(gp))) continue;
    std::cerr << "vmsim: process " << pid << " '" << G.kernel->process_name(static_cast<Pid>(gp)) << "' of guest '" << G.name
              << "' killed on core " << hal.core_id() << " at " << hal.now_ps() << " ps: the guest lost its memory ("
              << reason << ")\n";
  }
  G.kernel->abandon();  // the cores see every process of the guest dead
}

// ---- Traps ---------------------------------------------------------------------------------------------

std::optional<Pid> Hypervisor::create_process(Hal& hal, size_t index) {
  const auto [g, local] = m_index.at(index);
  Guest& G = *m_guests[g];
  // Inside the kernel's critical section from here: in the AT mode a core booting the guest waits on
  // memory, and another core creating a process of the same guest must wait until its EPT exists.
  KernelSection section(hal);
  if (!G.booted) {
    const int md = mode(hal);
    to_host(hal);
    boot_guest(hal, g);
    restore(hal, md);
  }
  if (G.lost) return std::nullopt;
  enter(hal, g);
  try {
    std::optional<Pid> gp = G.kernel->create_process(ghal(hal, g), local);
    if (!gp) return std::nullopt;
    return global_pid(g, *gp);
  } catch (const GuestLost&) {
    ghal(hal, g).release_stops();
    return std::nullopt;
  }
}

SpawnState Hypervisor::spawn_state(size_t index) const {
  const auto [g, local] = m_index.at(index);
  const SpawnState s = m_guests[g]->kernel->spawn_state(local);
  return m_guests[g]->lost && s == SpawnState::Pending ? SpawnState::Aborted : s;
}

Pid Hypervisor::spawned_pid(size_t index) const {
  const auto [g, local] = m_index.at(index);
  const Pid gp = m_guests[g]->kernel->spawned_pid(local);
  return const_cast<Hypervisor*>(this)->global_pid(g, gp);
}

void Hypervisor::switch_to(Hal& hal, Pid pid) {
  const auto [g, gp] = guest_of_pid(pid);
  Guest& G = *m_guests[g];
  if (G.lost) return;
  enter(hal, g);
  try {
    G.kernel->switch_to(ghal(hal, g), gp);
  } catch (const GuestLost&) {
    ghal(hal, g).release_stops();
  }
}

uint64_t* Hypervisor::access_counters(Pid pid) {
  const auto [g, gp] = guest_of_pid(pid);
  return m_guests[g]->kernel->access_counters(gp);
}

bool Hypervisor::alive(Pid pid) const {
  const auto [g, gp] = guest_of_pid(pid);
  return !m_guests[g]->lost && m_guests[g]->kernel->alive(gp);
}

const bool* Hypervisor::alive_flag(Pid pid) const {
  const auto [g, gp] = guest_of_pid(pid);
  return m_guests[g]->kernel->alive_flag(gp);
}

uint64_t Hypervisor::blocked_until(Pid pid) const {
  const auto [g, gp] = guest_of_pid(pid);
  return std::max(m_guests[g]->kernel->blocked_until(gp), m_host_blocked.at(pid - 1));
}

void Hypervisor::exit_process(Hal& hal, Pid pid) {
  const auto [g, gp] = guest_of_pid(pid);
  Guest& G = *m_guests[g];
  if (G.lost) return;
  enter(hal, g);
  try {
    G.kernel->exit_process(ghal(hal, g), gp);
  } catch (const GuestLost&) {
    ghal(hal, g).release_stops();
  }
}

FaultOutcome Hypervisor::handle_page_fault(Hal& hal, Pid pid, VirtAddr va, AccessKind kind, uint32_t error_code) {
  const auto [g, gp] = guest_of_pid(pid);
  Guest& G = *m_guests[g];
  if (G.lost) return FaultOutcome::Killed;
  enter(hal, g);
  try {
    return G.kernel->handle_page_fault(ghal(hal, g), gp, va, kind, error_code);
  } catch (const GuestLost&) {
    ghal(hal, g).release_stops();
    return FaultOutcome::Killed;
  }
}

SyscallResult Hypervisor::syscall(Hal& hal, Pid pid, const Syscall& call) {
  const auto [g, gp] = guest_of_pid(pid);
  Guest& G = *m_guests[g];
  SyscallResult dead;
  dead.exited = true;
  if (G.lost) return dead;
  enter(hal, g);
  try {
    // A fork names its child by the run's process index; the guest kernel knows it by the guest's own.
    Syscall local = call;
    if (call.call == SyscallKind::Fork && call.child >= 0) local.child = static_cast<int>(m_index.at(call.child).second);
    SyscallResult r = G.kernel->syscall(ghal(hal, g), gp, local);
    if (!r.exited && call.call == SyscallKind::Fork && r.error == 0 && r.value != 0) {
      r.value = global_pid(g, static_cast<Pid>(r.value));
    }
    return r;
  } catch (const GuestLost&) {
    ghal(hal, g).release_stops();
    return dead;
  }
}

void Hypervisor::run_background(Hal& hal) {
  const int md = mode(hal);
  to_host(hal);
  m_host->run_background(hal);
  for (size_t g = 0; g < m_guests.size(); ++g) {
    Guest& G = *m_guests[g];
    if (!G.booted || G.lost) continue;
    enter(hal, g);
    try {
      G.kernel->run_background(ghal(hal, g));
    } catch (const GuestLost&) {
      ghal(hal, g).release_stops();
    }
  }
  restore(hal, md);
}

void Hypervisor::migrate(Hal& hal, size_t index, Pid pid, CoreId to) {
  const auto [g, local] = m_index.at(index);
  Guest& G = *m_guests[g];
  if (G.lost) return;
  const Pid gp = pid == 0 ? 0 : guest_of_pid(pid).second;
  if (gp == 0 || G.eptp == 0) {
    // Not created yet: only the record moves (no guest state on any core to drop, no VM entry needed).
    G.kernel->migrate(ghal(hal, g), local, 0, to);
    return;
  }
  const int md = mode(hal);
  enter(hal, g);
  try {
    G.kernel->migrate(ghal(hal, g), local, gp, to);
  } catch (const GuestLost&) {
    ghal(hal, g).release_stops();
  }
  restore(hal, md);
}

FaultOutcome Hypervisor::handle_vm_exit(Hal& hal, Pid pid, const VmExitInfo& exit) {
  const auto [g, gp] = guest_of_pid(pid);
  (void)gp;
  Guest& G = *m_guests[g];
  if (exit.reason == VmExitReason::EptMisconfig) {
    ++m_exit_misconfig;
    throw SimulationError("hypervisor: EPT misconfiguration at guest-physical " + format_hex(exit.gpa) + " of guest '" +
                          G.name + "' (guest-linear " + format_hex(exit.guest_linear.value()) +
                          "): the hypervisor wrote a malformed EPT entry");
  }
  ++m_exit_violation;
  ++m_viol_guest;
  const uint64_t cycles = m_hv.costs.vm_exit + m_hv.costs.ept_violation;
  hal.charge(cycles);
  m_exit_cycles += cycles;
  if (G.lost) return FaultOutcome::Killed;
  KernelSection section(hal);  // the hypervisor runs inside the kernel's critical section, as the host does
  const uint64_t gfn = exit.gpa >> kPageShift;
  if (gfn >= G.frames) {
    throw SimulationError("hypervisor: EPT violation at guest-physical " + format_hex(exit.gpa) + " of guest '" +
                          G.name + "', outside its " + format_bytes(Bytes{G.frames << kPageShift}) +
                          " of memory (the guest kernel never hands out such a frame)");
  }
  const bool write = exit.kind == AccessKind::Write || (exit.qualification & ept_qual::kWrite);
  if (G.shadow[gfn] != 0 && (!write || (G.flags[gfn] & 0x10))) {
    // Another core backed the page while this one waited for the kernel: the retry finds it.
    enter(hal, g);
    return FaultOutcome::Retry;
  }
  to_host(hal);
  const FaultOutcome out = back(hal, G, gfn, write, Cause::GuestAccess);
  if (out == FaultOutcome::Killed) {
    guest_lost(hal, G, "the host ran out of memory backing guest-physical " + format_hex(exit.gpa));
    return FaultOutcome::Killed;
  }
  if (out == FaultOutcome::Blocked) m_host_blocked.at(pid - 1) = m_host->blocked_until(G.vm_pid);
  enter(hal, g);
  return out;
}

// ---- GuestHal ------------------------------------------------------------------------------------------

uint64_t GuestHal::read64(PhysAddr pa) {
  const PhysAddr h = m_hv.translate_for_kernel(*m_hal, m_guest, pa.value(), false);
  uint64_t v = 0;
  m_hal->dma_read(h, reinterpret_cast<uint8_t*>(&v), 8);
  return v;
}

void GuestHal::write64(PhysAddr pa, uint64_t value) {
  const PhysAddr h = m_hv.translate_for_kernel(*m_hal, m_guest, pa.value(), true);
  m_hal->dma_write(h, reinterpret_cast<const uint8_t*>(&value), 8);
}

void GuestHal::transfer(PhysAddr pa, uint8_t* data, uint64_t len, bool write) {
  uint64_t a = pa.value();
  while (len > 0) {
    const uint64_t chunk = std::min<uint64_t>(len, kPageSize - (a & kPageMask));
    const PhysAddr h = m_hv.translate_for_kernel(*m_hal, m_guest, a, write);
    if (write) {
      m_hal->dma_write(h, data, chunk);
    } else {
      m_hal->dma_read(h, data, chunk);
    }
    a += chunk;
    data += chunk;
    len -= chunk;
  }
}

void GuestHal::zero_frame(Pfn pfn) {
  static const std::array<uint8_t, kPageSize> kZero{};
  const PhysAddr h = m_hv.translate_for_kernel(*m_hal, m_guest, addr_of(pfn).value(), true);
  m_hal->dma_write(h, kZero.data(), kPageSize);
}

void GuestHal::set_root(PhysAddr root, uint16_t pcid) {
  m_hal->set_guest_root(root, pcid);
  m_hv.guest_rec(m_guest).core_root.at(m_core) = {root.value(), pcid};
}

void GuestHal::shootdown_end(const std::vector<CoreId>& cores, PhysAddr root, uint16_t pcid,
                             const std::vector<VirtAddr>& pages, uint64_t receiver_cycles) {
  m_hal->shootdown_end_guest(cores, m_hv.vpid(m_guest), root, pcid, pages, receiver_cycles);
  ended(cores);
}

void GuestHal::invalidate_page(PhysAddr root, uint16_t pcid, VirtAddr va) {
  m_hal->invalidate_guest(m_hv.vpid(m_guest), root, pcid, {va});
}

void GuestHal::invalidate_space(PhysAddr root, uint16_t pcid) {
  m_hal->invalidate_guest(m_hv.vpid(m_guest), root, pcid, {});
}

}  // namespace vmsim::fw
