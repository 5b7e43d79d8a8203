// The hypervisor's configuration (the `virtualization` section): guests, how the host backs their
// guest-physical memory (EPT page size, NUMA placement, prefaulting), VM-exit costs and the sizes of the
// nested translation caches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/units.hpp"

namespace vmsim::fw {

// How the host backs guest-physical memory: the page size of the EPT leaves it installs. The guest's
// memory is one anonymous area of a host "VM process" (as KVM's guest RAM is a VMA of the VMM): 2m makes
// that area transparent-huge (firmware.thp rules apply), 1g takes pages from firmware.hugepages_1g.
enum class EptPageSize : uint8_t { K4, M2, G1 };
// Where the host places guest memory: mirror = guest node i is backed by host node i (bind), interleave =
// page by page over every host node, local = first touch by the core that takes the EPT violation.
enum class GuestPlacement : uint8_t { Mirror, Interleave, Local };

struct GuestConfig {
  std::string name;        // default "vm<i>"
  Bytes memory{0};         // guest-physical memory; 0 = as much as the host has (the host's node sizes)
  std::string processes;   // indices into `processes`, e.g. "0-3" or "0,2"; every process is in exactly one guest

  template <class V>
  void visit(V& v) {
    v("name", name, "", "Guest name in statistics and reports (default vm<i>)");
    v("memory", memory, "bytes",
      "Guest-physical memory (multiple of 2MiB); the guest sees the host's NUMA nodes, each scaled to this "
      "total. 0 = the host's memory size (an overcommitted guest is backed on demand)");
    v("processes", processes, "process list", "Indices into `processes` this guest runs, e.g. \"0-3\" or \"0,2\"");
  }
};

struct VmExitCosts {
  uint64_t vm_exit = 1200;        // one VM exit and the VM entry that resumes the guest (round trip)
  uint64_t ept_violation = 500;   // the hypervisor's EPT-violation handler besides the host fault it runs

  template <class V>
  void visit(V& v) {
    v("vm_exit", vm_exit, "core cycles", "One VM exit and the VM entry that resumes the guest (round trip)");
    v("ept_violation", ept_violation, "core cycles",
      "The hypervisor's EPT-violation handling besides the host page fault and the EPT writes (timed apart)");
  }
};

struct NestedCachesConfig {
  uint64_t nested_tlb = 64;   // gPA -> hPA translations
  uint64_t guest_pwc = 32;    // guest-dimension page-walk cache entries per level (PDE; upper levels smaller)
  uint64_t ept_pwc = 32;      // EPT-dimension page-walk cache entries per level (PDE; upper levels smaller)

  template <class V>
  void visit(V& v) {
    v("nested_tlb", nested_tlb, "entries", "Nested TLB: guest-physical to host-physical translations");
    v("guest_pwc", guest_pwc, "entries", "Guest-dimension page-walk cache, PDE level (PDPTE: /4, PML4E: /8, PML5E: /16, at least 1)");
    v("ept_pwc", ept_pwc, "entries", "EPT page-walk cache, PDE level (upper levels as guest_pwc)");
  }
};

struct HypervisorConfig {
  bool enabled = false;
  std::vector<GuestConfig> guests;        // empty: one guest running every process
  EptPageSize ept_page_size = EptPageSize::K4;
  unsigned ept_levels = 4;
  bool ept_accessed_dirty = true;
  GuestPlacement placement = GuestPlacement::Mirror;
  bool prefault = false;
  VmExitCosts costs;
  NestedCachesConfig caches;

  template <class V>
  void visit(V& v) {
    v("enabled", enabled, "",
      "Nested paging: every process runs in a guest (its own kernel over guest-physical memory) under a "
      "hypervisor that backs guest memory with host frames on EPT violations");
    v.list("guests", guests, "The guests (default: one guest running every process)");
    v("ept_page_size", ept_page_size, "", "Page size of the EPT leaves backing guest memory: 4k, 2m or 1g");
    v("ept_levels", ept_levels, "", "EPT page-walk length: 4 or 5");
    v("ept_accessed_dirty", ept_accessed_dirty, "", "EPT accessed and dirty flags (EPTP bit 6); host reclaim reads them");
    v("placement", placement, "",
      "Host NUMA placement of guest memory: mirror (guest node i on host node i), interleave, local (first touch)");
    v("prefault", prefault, "", "Back all guest memory when the guest boots (no EPT violations afterwards)");
    v.section("costs", costs, "VM-exit costs");
    v.section("caches", caches, "Sizes of the nested translation caches");
  }
};

}  // namespace vmsim::fw

template <>
struct vmsim::config::EnumNames<vmsim::fw::EptPageSize> {
  static const std::vector<std::pair<vmsim::fw::EptPageSize, const char*>>& table() {
    using K = vmsim::fw::EptPageSize;
    static const std::vector<std::pair<K, const char*>> t = {{K::K4, "4k"}, {K::M2, "2m"}, {K::G1, "1g"}};
    return t;
  }
};
template <>
struct vmsim::config::EnumNames<vmsim::fw::GuestPlacement> {
  static const std::vector<std::pair<vmsim::fw::GuestPlacement, const char*>>& table() {
    using K = vmsim::fw::GuestPlacement;
    static const std::vector<std::pair<K, const char*>> t = {
        {K::Mirror, "mirror"}, {K::Interleave, "interleave"}, {K::Local, "local"}};
    return t;
  }
};
