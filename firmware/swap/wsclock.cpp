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
    m_ring.insert(p);
    m_tlu[p] = now;
  }
  void do_unmap(PageId p) override {
    m_ring.erase(p);
    m_tlu.erase(p);
  }
  PageId do_choose(PageBits& bits, VirtualTime now) override {
    const uint64_t n = m_ring.size();
    std::unordered_set<PageId> writes;  // write-backs started by this search
    for (int sweep = 0; sweep < 2; ++sweep) {
      if (sweep == 1 && writes.empty()) break;
      for (uint64_t i = 0; i < n; ++i) {
        const PageId p = *m_ring.hand();
        note_scanned();
        if (!is_locked(p)) {
          if (bits.test_and_clear_accessed(p)) {
            m_tlu[p] = now;
          } else if (!in_working_set(m_tlu[p], now, m_tau)) {
            if (!bits.dirty(p)) return m_ring.take(m_ring.hand());
            if (writes.insert(p).second) bits.start_writeback(p);
          }
        }
        m_ring.advance();
      }
    }
    // Everything is in the working set (or still being written): first clean page, else the page at the hand.
    ClockRing::Iter it = m_ring.hand();
    for (uint64_t i = 0; i < n; ++i, it = m_ring.next(it)) {
      note_scanned();
      if (!is_locked(*it) && !bits.dirty(*it)) return m_ring.take(it);
    }
    return take_first_unlocked(m_ring);
  }

 private:
  uint64_t m_tau;
  ClockRing m_ring;
  std::unordered_map<PageId, VirtualTime> m_tlu;  // time of last use
};

}  // namespace

std::unique_ptr<ReplacementPolicy> make_wsclock_policy(uint64_t tau) { return std::make_unique<WsClockPolicy>(tau); }

}  // namespace vmsim::fw
