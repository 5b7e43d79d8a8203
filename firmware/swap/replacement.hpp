// Page-replacement policies of the firmware OS as plain C++ functional cores (no SystemC): the interface
// the kernel's reclaim path drives, the PageBits callback through which policies see hardware A/D bits,
// the configuration and the factory. Each policy lives in its own .cpp (see make_policy).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/config.hpp"

namespace vmsim::fw {

// Opaque identity of a resident page, chosen by the kernel (e.g. the frame number; the kernel keeps the
// reverse map from it to the owning process and virtual page). Policies only compare and hash it.
using PageId = uint64_t;

// Virtual time passed to policies as `now`. It must not decrease across the calls made to one policy
// instance. Its unit is the driver's: the reference-string simulator passes the 0-based index of the
// reference being served; the kernel should pass one system-wide virtual time (e.g. retired instructions,
// memory references or core cycles). The working-set window `tau` is in the same unit.
using VirtualTime = uint64_t;

// The kernel's side of the hardware Accessed (A) and Dirty (D) bits, which live in PTEs in modeled memory.
// Policies never read PTEs themselves: every query goes through this interface, so the kernel can charge
// the simulated cost (PTE read/write, reverse-map walk for shared frames, TLB invalidation) and OR the bits
// over every PTE mapping the page.
//
// Kernel obligation when clearing A: the cached translation must be invalidated too (INVLPG or a shootdown),
// otherwise a TLB hit will not set A again and the page looks unreferenced forever.
class PageBits {
 public:
  virtual ~PageBits() = default;
  // A bit of p, not modified. (Needed by enhanced Clock's first pass, which must look without clearing.)
  virtual bool accessed(PageId p) = 0;
  // A bit of p; clears it.
  virtual bool test_and_clear_accessed(PageId p) = 0;
  // D bit of p. Policies never clear D: cleaning a page is the kernel's write-back.
  virtual bool dirty(PageId p) = 0;
  // Asks the kernel to start writing dirty page p back to swap in the background (WSClock); the kernel
  // clears D when the write completes. The default ignores the request (the page stays dirty).
  virtual void start_writeback(PageId /*p*/) {}
};

// A page-replacement policy: tracks the resident pages it is told about and picks victims on demand.
//
// Event contract (violations are kernel bugs and throw std::logic_error naming the page):
//  * on_map(p) for a page not currently resident; on_access/on_unmap/set_locked only for resident pages.
//  * on_map stands for the faulting reference too: drivers do not also call on_access for it.
//  * choose_victim does not remove the victim. The kernel evicts it and calls on_unmap(victim); until then
//    the page stays resident and may be chosen again.
//
// Information. In a real run the kernel knows only faults (on_map), unmaps and the A/D bits it reads on
// a policy's behalf (choose_victim, sample). Exact per-reference information (on_access) exists only when
// replaying a reference string or in tests. A driver provides one of the two:
//  * exact:   on_access for every reference to a resident page; sample() is never called;
//  * sampled: sample() at intervals (the kernel: from a timer); on_access is never called.
// Policies that only use A bits (FIFO, Clock, enhanced Clock, WSClock, active/inactive, random) ignore
// both on_access and sample(), so they behave the same either way.
class ReplacementPolicy {
 public:
  virtual ~ReplacementPolicy() = default;

  // p became resident at `now` because of a reference to it (the page fault).
  virtual void on_map(PageId p, VirtualTime now) = 0;
  // Exact information: p, already resident, was referenced at `now`.
  virtual void on_access(PageId p, VirtualTime now) = 0;
  // p is no longer resident (eviction, munmap, exit). Its lock state is forgotten.
  virtual void on_unmap(PageId p) = 0;
  // Sampled information: the kernel's periodic A-bit scan at `now`. Policies that age pages by sampling
  // (LRU, LFU, working set) test-and-clear the A bit of every resident, unlocked page here.
  virtual void sample(PageBits& bits, VirtualTime now) = 0;
  // A resident, unlocked page to evict, or nullopt if every resident page is locked (or none is resident).
  // May read and clear A bits through `bits`. Never returns a locked page.
  virtual std::optional<PageId> choose_victim(PageBits& bits, VirtualTime now) = 0;
  // mlock/munlock: a locked page keeps its place in the policy's bookkeeping but is never chosen.
  virtual void set_locked(PageId p, bool locked) = 0;
  virtual bool is_locked(PageId p) const = 0;
  virtual bool is_resident(PageId p) const = 0;
  // Number of resident pages (locked included).
  virtual uint64_t resident() const = 0;
  // Statistic: page visits made while choosing victims (every page a victim search looks at, locked ones
  // included; a page looked at in two passes counts twice). sample() scans are not included.
  virtual uint64_t scanned() const = 0;
  // True if the policy needs exact information (on_access) to be what its name says (LRU, LFU, working
  // set, OPT). OPT cannot run without it.
  virtual bool uses_exact_access() const = 0;
  // The configuration name ("fifo", "clock", ...).
  virtual const char* name() const = 0;
};

enum class ReplacementKind : uint8_t { Fifo, Lru, Clock, EClock, Lfu, Ws, WsClock, ActiveInactive, Opt, Random };

struct ReplacementConfig {
  ReplacementKind policy = ReplacementKind::Clock;
  uint64_t tau = 10000;         // working-set window, in VirtualTime units
  uint64_t inactive_ratio = 1;  // active/inactive: the inactive list is short when inactive*ratio < active
  uint64_t seed = 1;            // random policy

  template <class V>
  void visit(V& v) {
    v("policy", policy, "",
      "Page-replacement policy: fifo, lru (exact LRU), clock (second chance), eclock (enhanced clock, A/D "
      "classes), lfu, ws (working set), wsclock, active_inactive (Linux-style two lists), opt (Belady: in "
      "reference-string replay, and in runs whose processes all replay traces, read ahead for it), random");
    v("tau", tau, "virtual time", "Working-set window for ws and wsclock (same unit as the driver's virtual time)");
    v("inactive_ratio", inactive_ratio, "",
      "active_inactive: pages move from active to inactive while inactive * ratio < active");
    v("seed", seed, "", "Seed of the random policy's generator");
  }
  // Throws InputError "<path>.<key>: bad value ..." for tau == 0 or inactive_ratio == 0.
  void validate(const std::string& path) const;
};

// Policy kind from its configuration name. Throws InputError "<key>: unknown policy 'NAME' (expected ...)".
ReplacementKind replacement_kind_from_name(const std::string& name, const std::string& key = "policy");

// Builds the configured policy. `future` is the complete reference string (page of every reference, in
// order) and is required by opt, ignored by the others. Throws InputError for opt without a future, and
// std::invalid_argument for a config that validate() rejects.
std::unique_ptr<ReplacementPolicy> make_policy(const ReplacementConfig& cfg,
                                               const std::vector<PageId>* future = nullptr);

}  // namespace vmsim::fw

template <>
struct vmsim::config::EnumNames<vmsim::fw::ReplacementKind> {
  static const std::vector<std::pair<vmsim::fw::ReplacementKind, const char*>>& table() {
    using K = vmsim::fw::ReplacementKind;
    static const std::vector<std::pair<K, const char*>> t = {
        {K::Fifo, "fifo"}, {K::Lru, "lru"},      {K::Clock, "clock"},     {K::EClock, "eclock"},
        {K::Lfu, "lfu"},   {K::Ws, "ws"},        {K::WsClock, "wsclock"}, {K::ActiveInactive, "active_inactive"},
        {K::Opt, "opt"},   {K::Random, "random"}};
    return t;
  }
};
