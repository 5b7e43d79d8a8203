// WSClock replacement (Carr and Hennessy): clock sweep with per-page time of last use and background write-back.
#include <unordered_map>
#include <unordered_set>

#include "firmware/swap/policies.hpp"
#include "firmware/swap/policy_base.hpp"

namespace vmsim::fw {
namespace {

class WsClockPolicy final : public PolicyBase {
 public:
  explicit WsClockPolicy(uint64_t tau) : m_tau(tau) {}
  const char* name() const override { return "wsclock"; }
  bool uses_exact_access() const override { return false; }

 protected:
  void do_map(PageId p, VirtualTime now) override {
    if (m_ring.empty()) {
      m_hand = m_ring.push_back(p);
    } else {
      m_ring.insert(m_hand, p);  // just behind the hand
    }
    m_tlu[p] = now;
  }
  void do_unmap(PageId p) override {
    bool at_hand = *m_hand == p;
    auto next = m_ring.erase(p);
    if (at_hand) m_hand = (next == m_ring.end()) ? m_ring.begin() : next;
    m_tlu.erase(p);
  }
  PageId do_choose(PageBits& bits, VirtualTime now) override {
    const uint64_t n = m_ring.size();
    std::unordered_set<PageId> writes;  // write-backs started by this search
    for (int sweep = 0; sweep < 2; ++sweep) {
      if (sweep == 1 && writes.empty()) break;
      for (uint64_t i = 0; i < n; ++i) {
        PageId p = *m_hand;
        note_scanned();
        if (!is_locked(p)) {
          if (bits.test_and_clear_accessed(p)) {
            m_tlu[p] = now;
          } else if (!in_working_set(m_tlu[p], now, m_tau)) {
            if (!bits.dirty(p)) return take();
            if (writes.insert(p).second) bits.start_writeback(p);
          }
        }
        m_hand = m_ring.ring_next(m_hand);
      }
    }
    // Everything is in the working set (or still being written): first clean page, else the page at the hand.
    PageList::Iter it = m_hand;
    for (uint64_t i = 0; i < n; ++i, it = m_ring.ring_next(it)) {
      note_scanned();
      if (!is_locked(*it) && !bits.dirty(*it)) {
        m_hand = it;
        return take();
      }
    }
    while (is_locked(*m_hand)) {
      note_scanned();
      m_hand = m_ring.ring_next(m_hand);
    }
    note_scanned();
    return take();
  }

 private:
  // The page at the hand is the victim; the hand moves past it.
  PageId take() {
    PageId p = *m_hand;
    m_hand = m_ring.ring_next(m_hand);
    return p;
  }

  uint64_t m_tau;
  PageList m_ring;
  PageList::Iter m_hand;
  std::unordered_map<PageId, VirtualTime> m_tlu;  // time of last use
};

}  // namespace

std::unique_ptr<ReplacementPolicy> make_wsclock_policy(uint64_t tau) { return std::make_unique<WsClockPolicy>(tau); }

}  // namespace vmsim::fw
