// Clock (second-chance) replacement over the hardware Accessed bit.
#include "firmware/swap/policies.hpp"
#include "firmware/swap/policy_base.hpp"

namespace vmsim::fw {
namespace {

class ClockPolicy final : public PolicyBase {
 public:
  const char* name() const override { return "clock"; }
  bool uses_exact_access() const override { return false; }

 protected:
  void do_map(PageId p, VirtualTime /*now*/) override {
    if (m_ring.empty()) {
      m_hand = m_ring.push_back(p);
    } else {
      m_ring.insert(m_hand, p);  // just behind the hand: the last page the next sweep reaches
    }
  }
  void do_unmap(PageId p) override {
    bool at_hand = *m_hand == p;
    auto next = m_ring.erase(p);
    if (at_hand) m_hand = (next == m_ring.end()) ? m_ring.begin() : next;
  }
  PageId do_choose(PageBits& bits, VirtualTime /*now*/) override {
    const uint64_t limit = 2 * m_ring.size();
    for (uint64_t i = 0; i < limit; ++i) {
      PageId p = *m_hand;
      note_scanned();
      if (!is_locked(p) && !bits.test_and_clear_accessed(p)) return take(p);
      m_hand = m_ring.ring_next(m_hand);
    }
    // A bits were set again behind the hand during two full sweeps: take the next unlocked page.
    while (is_locked(*m_hand)) {
      note_scanned();
      m_hand = m_ring.ring_next(m_hand);
    }
    note_scanned();
    return take(*m_hand);
  }

 private:
  PageId take(PageId p) {
    m_hand = m_ring.ring_next(m_hand);
    return p;
  }

  PageList m_ring;        // sweep order from m_hand, wrapping
  PageList::Iter m_hand;  // valid whenever the ring is not empty
};

}  // namespace

std::unique_ptr<ReplacementPolicy> make_clock_policy() { return std::make_unique<ClockPolicy>(); }

}  // namespace vmsim::fw
