// Linux-style active/inactive two-list replacement: promotion on the second reference, demotion when inactive is short.
#include <unordered_map>

#include "firmware/swap/policies.hpp"
#include "firmware/swap/policy_base.hpp"

namespace vmsim::fw {
namespace {

// Lists are kept with the head (most recent) at the back and the tail (oldest) at the front.
class ActiveInactivePolicy final : public PolicyBase {
 public:
  explicit ActiveInactivePolicy(uint64_t ratio) : m_ratio(ratio) {}
  const char* name() const override { return "active_inactive"; }
  bool uses_exact_access() const override { return false; }

 protected:
  void do_map(PageId p, VirtualTime /*now*/) override {
    m_inactive.push_back(p);
    m_referenced[p] = false;
  }
  void do_unmap(PageId p) override {
    if (m_inactive.contains(p)) {
      m_inactive.erase(p);
    } else {
      m_active.erase(p);
    }
    m_referenced.erase(p);
  }
  PageId do_choose(PageBits& bits, VirtualTime /*now*/) override {
    for (int round = 0; round < 3; ++round) {
      balance(bits);
      uint64_t budget = m_inactive.size();
      for (uint64_t i = 0; i < budget; ++i) {
        PageId p = m_inactive.front();
        note_scanned();
        if (is_locked(p)) {
          m_inactive.move_to_back(p);
        } else if (!bits.test_and_clear_accessed(p)) {
          return p;
        } else if (m_referenced[p]) {
          m_referenced[p] = false;
          m_inactive.erase(p);
          m_active.push_back(p);  // promotion on the second reference
        } else {
          m_referenced[p] = true;
          m_inactive.move_to_back(p);
        }
      }
    }
    for (PageList* list : {&m_inactive, &m_active}) {
      for (PageId p : *list) {
        note_scanned();
        if (!is_locked(p)) return p;
      }
    }
    return m_inactive.empty() ? m_active.front() : m_inactive.front();  // unreachable
  }

 private:
  bool inactive_short() const { return m_inactive.size() * m_ratio < m_active.size(); }

  // Moves unreferenced pages from the active tail to the inactive head until inactive is not short,
  // visiting each active page at most once.
  void balance(PageBits& bits) {
    uint64_t budget = m_active.size();
    for (uint64_t i = 0; i < budget && inactive_short(); ++i) {
      PageId p = m_active.front();
      note_scanned();
      if (is_locked(p) || bits.test_and_clear_accessed(p)) {
        m_active.move_to_back(p);
      } else {
        m_active.erase(p);
        m_inactive.push_back(p);
        m_referenced[p] = false;
      }
    }
  }

  uint64_t m_ratio;
  PageList m_inactive;                            // front = tail (oldest), back = head
  PageList m_active;                              // front = tail (oldest), back = head
  std::unordered_map<PageId, bool> m_referenced;  // the PG_referenced software flag
};

}  // namespace

std::unique_ptr<ReplacementPolicy> make_active_inactive_policy(uint64_t inactive_ratio) {
  return std::make_unique<ActiveInactivePolicy>(inactive_ratio);
}

}  // namespace vmsim::fw
