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
  void do_map(PageId p, VirtualTime /*now*/) override { m_ring.insert(p); }
  void do_unmap(PageId p) override { m_ring.erase(p); }
  PageId do_choose(PageBits& bits, VirtualTime /*now*/) override {
    const uint64_t limit = 2 * m_ring.size();
    for (uint64_t i = 0; i < limit; ++i) {
      const PageId p = *m_ring.hand();
      note_scanned();
      if (!is_locked(p) && !bits.test_and_clear_accessed(p)) return m_ring.take(m_ring.hand());
      m_ring.advance();
    }
    // A bits were set again behind the hand during two full sweeps: take the next unlocked page.
    return take_first_unlocked(m_ring);
  }

 private:
  ClockRing m_ring;
};

}  // namespace

std::unique_ptr<ReplacementPolicy> make_clock_policy() { return std::make_unique<ClockPolicy>(); }

}  // namespace vmsim::fw
