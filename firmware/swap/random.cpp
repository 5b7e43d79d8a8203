// Random replacement (seeded SplitMix64): the baseline every other policy should beat.
#include <unordered_map>
#include <vector>

#include "firmware/swap/policies.hpp"
#include "firmware/swap/policy_base.hpp"

namespace vmsim::fw {
namespace {

class RandomPolicy final : public PolicyBase {
 public:
  explicit RandomPolicy(uint64_t seed) : m_state(seed) {}
  const char* name() const override { return "random"; }
  bool uses_exact_access() const override { return false; }

 protected:
  void do_map(PageId p, VirtualTime /*now*/) override {
    m_index[p] = m_pages.size();
    m_pages.push_back(p);
  }
  void do_unmap(PageId p) override {
    auto it = m_index.find(p);
    uint64_t i = it->second;
    m_pages[i] = m_pages.back();
    m_index[m_pages[i]] = i;
    m_pages.pop_back();
    m_index.erase(p);
  }
  PageId do_choose(PageBits& /*bits*/, VirtualTime /*now*/) override {
    uint64_t i = splitmix64(m_state) % m_pages.size();
    for (uint64_t n = 0; n < m_pages.size(); ++n, i = (i + 1) % m_pages.size()) {
      note_scanned();
      if (!is_locked(m_pages[i])) return m_pages[i];
    }
    return m_pages[i];  // unreachable
  }

 private:
  uint64_t m_state;
  std::vector<PageId> m_pages;
  std::unordered_map<PageId, uint64_t> m_index;
};

}  // namespace

std::unique_ptr<ReplacementPolicy> make_random_policy(uint64_t seed) { return std::make_unique<RandomPolicy>(seed); }

}  // namespace vmsim::fw
