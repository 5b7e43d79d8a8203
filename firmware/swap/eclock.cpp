// Enhanced clock replacement: (Accessed, Dirty) classes with the classic up-to-four-pass sweep.
#include "firmware/swap/policies.hpp"
#include "firmware/swap/policy_base.hpp"

namespace vmsim::fw {
namespace {

class EnhancedClockPolicy final : public PolicyBase {
 public:
  const char* name() const override { return "eclock"; }
  bool uses_exact_access() const override { return false; }

 protected:
  void do_map(PageId p, VirtualTime /*now*/) override { m_ring.insert(p); }
  void do_unmap(PageId p) override { m_ring.erase(p); }
  PageId do_choose(PageBits& bits, VirtualTime /*now*/) override {
    const uint64_t n = m_ring.size();
    for (int pass = 0; pass < 4; ++pass) {
      const bool clearing = (pass % 2) == 1;  // passes 2 and 4
      ClockRing::Iter it = m_ring.hand();
      for (uint64_t i = 0; i < n; ++i, it = m_ring.next(it)) {
        PageId p = *it;
        note_scanned();
        if (is_locked(p)) continue;
        if (clearing) {
          // Looking for A=0 (class (0,1); a (0,0) page that appeared meanwhile is taken too). Pages passed
          // over lose their A bit.
          if (!bits.test_and_clear_accessed(p)) return m_ring.take(it);
        } else {
          // Looking for (0,0) without modifying anything.
          if (!bits.accessed(p) && !bits.dirty(p)) return m_ring.take(it);
        }
      }
    }
    // Only reachable if A bits were set again during all four passes.
    return take_first_unlocked(m_ring);
  }

 private:
  ClockRing m_ring;
};

}  // namespace

std::unique_ptr<ReplacementPolicy> make_eclock_policy() { return std::make_unique<EnhancedClockPolicy>(); }

}  // namespace vmsim::fw
