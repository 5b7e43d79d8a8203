// Denning's working-set policy with window tau, exposed as a class (not only through the factory) because
// its working-set queries are what the kernel's load control and the reference-string simulator use.
#pragma once

#include <cstdint>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "firmware/swap/policy_base.hpp"

namespace vmsim::fw {

// Each resident page has a last-use time: set on on_map and on_access (exact information), and by sample()
// for every unlocked page whose A bit it finds set (sampled information; last use = the sample time).
// A page is in the working set W(now, tau) iff now - last_use < tau (referenced in the window (now-tau, now]).
//
// Victim: among unlocked pages outside the working set, the one with the oldest last use (ties: earliest
// mapped). Fallback when every unlocked resident page is inside the working set (the working set does not
// fit, i.e. thrashing): the unlocked page with the oldest last use anyway, counted in fallbacks(); a real
// working-set kernel would instead deactivate a whole process (load control).
//
// Note: with exact information and a fixed number of frames, this victim is the same page LRU would
// choose. What makes the policy a working-set policy is variable allocation: out_of_working_set() lists
// pages to release as soon as they leave the window (the reference-string simulator's `trim` option), so the
// resident set tracks W(t, tau). choose_victim reads no bits.
class WorkingSetPolicy : public PolicyBase {
 public:
  // Requires tau > 0 (std::invalid_argument otherwise).
  explicit WorkingSetPolicy(uint64_t tau);

  const char* name() const override { return "ws"; }
  bool uses_exact_access() const override { return true; }

  uint64_t tau() const { return m_tau; }
  // Resident pages in W(now, tau), locked ones included. O(resident).
  uint64_t working_set_size(VirtualTime now) const;
  // Unlocked resident pages outside W(now, tau), oldest last use first. O(resident).
  std::vector<PageId> out_of_working_set(VirtualTime now) const;
  // Last use of a resident page (std::out_of_range otherwise).
  VirtualTime last_use(PageId p) const { return std::get<0>(m_key.at(p)); }
  // Victim choices that found no page outside the working set.
  uint64_t fallbacks() const { return m_fallbacks; }

 protected:
  void do_map(PageId p, VirtualTime now) override;
  void do_access(PageId p, VirtualTime now) override;
  void do_unmap(PageId p) override;
  void do_sample(PageBits& bits, VirtualTime now) override;
  PageId do_choose(PageBits& bits, VirtualTime now) override;

 private:
  using Key = std::tuple<VirtualTime, uint64_t, PageId>;  // (last use, map sequence, page)
  void touch(PageId p, VirtualTime now);

  uint64_t m_tau;
  uint64_t m_seq = 0;
  std::set<Key> m_by_age;  // oldest last use first
  std::unordered_map<PageId, Key> m_key;
  uint64_t m_fallbacks = 0;
};

}  // namespace vmsim::fw
