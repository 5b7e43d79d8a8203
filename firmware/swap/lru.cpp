// Exact LRU replacement (recency list); approximated from A-bit sampling when only sampled information exists.
#include <vector>

#include "firmware/swap/policies.hpp"
#include "firmware/swap/policy_base.hpp"

namespace vmsim::fw {
namespace {

class LruPolicy final : public PolicyBase {
 public:
  const char* name() const override { return "lru"; }
  bool uses_exact_access() const override { return true; }

 protected:
  void do_map(PageId p, VirtualTime /*now*/) override { m_recency.push_back(p); }
  void do_access(PageId p, VirtualTime /*now*/) override { m_recency.move_to_back(p); }
  void do_unmap(PageId p) override { m_recency.erase(p); }
  void do_sample(PageBits& bits, VirtualTime /*now*/) override {
    std::vector<PageId> referenced;
    for (PageId p : m_recency) {
      if (!is_locked(p) && bits.test_and_clear_accessed(p)) referenced.push_back(p);
    }
    for (PageId p : referenced) m_recency.move_to_back(p);  // keeps their relative order
  }
  PageId do_choose(PageBits& /*bits*/, VirtualTime /*now*/) override {
    for (PageId p : m_recency) {
      note_scanned();
      if (!is_locked(p)) return p;
    }
    return m_recency.front();  // unreachable
  }

 private:
  PageList m_recency;  // front = least recently used
};

}  // namespace

std::unique_ptr<ReplacementPolicy> make_lru_policy() { return std::make_unique<LruPolicy>(); }

}  // namespace vmsim::fw
