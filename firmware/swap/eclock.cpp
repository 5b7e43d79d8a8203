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
  void do_map(PageId p, VirtualTime /*now*/) override {
    if (m_ring.empty()) {
      m_hand = m_ring.push_back(p);
    } else {
      m_ring.insert(m_hand, p);  // just behind the hand
    }
  }
  void do_unmap(PageId p) override {
    bool at_hand = *m_hand == p;
    auto next = m_ring.erase(p);
    if (at_hand) m_hand = (next == m_ring.end()) ? m_ring.begin() : next;
  }
  PageId do_choose(PageBits& bits, VirtualTime /*now*/) override {
    const uint64_t n = m_ring.size();
    for (int pass = 0; pass < 4; ++pass) {
      const bool clearing = (pass % 2) == 1;  // passes 2 and 4
      PageList::Iter it = m_hand;
      for (uint64_t i = 0; i < n; ++i, it = m_ring.ring_next(it)) {
        PageId p = *it;
        note_scanned();
        if (is_locked(p)) continue;
        if (clearing) {
          // Looking for A=0 (class (0,1); a (0,0) page that appeared meanwhile is taken too). Pages passed
          // over lose their A bit.
          if (!bits.test_and_clear_accessed(p)) return take(it);
        } else {
          // Looking for (0,0) without modifying anything.
          if (!bits.accessed(p) && !bits.dirty(p)) return take(it);
        }
      }
    }
    // Only reachable if A bits were set again during all four passes.
    PageList::Iter it = m_hand;
    while (is_locked(*it)) {
      note_scanned();
      it = m_ring.ring_next(it);
    }
    note_scanned();
    return take(it);
  }

 private:
  PageId take(PageList::Iter it) {
    m_hand = m_ring.ring_next(it);
    return *it;
  }

  PageList m_ring;
  PageList::Iter m_hand;
};

}  // namespace

std::unique_ptr<ReplacementPolicy> make_eclock_policy() { return std::make_unique<EnhancedClockPolicy>(); }

}  // namespace vmsim::fw
