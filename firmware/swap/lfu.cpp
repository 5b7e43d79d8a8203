// LFU replacement: reference counts from exact accesses or A-bit sampling; ties to the least recently referenced.
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "firmware/swap/policies.hpp"
#include "firmware/swap/policy_base.hpp"

namespace vmsim::fw {
namespace {

class LfuPolicy final : public PolicyBase {
 public:
  const char* name() const override { return "lfu"; }
  bool uses_exact_access() const override { return true; }

 protected:
  void do_map(PageId p, VirtualTime now) override {
    Key k{0, now, ++m_seq, p};
    m_order.insert(k);
    m_key.emplace(p, k);
  }
  void do_access(PageId p, VirtualTime now) override { bump(p, now); }
  void do_unmap(PageId p) override {
    auto it = m_key.find(p);
    m_order.erase(it->second);
    m_key.erase(it);
  }
  void do_sample(PageBits& bits, VirtualTime now) override {
    std::vector<PageId> referenced;
    for (const Key& k : m_order) {
      PageId p = std::get<3>(k);
      if (!is_locked(p) && bits.test_and_clear_accessed(p)) referenced.push_back(p);
    }
    for (PageId p : referenced) bump(p, now);
  }
  PageId do_choose(PageBits& /*bits*/, VirtualTime /*now*/) override {
    for (const Key& k : m_order) {
      note_scanned();
      if (!is_locked(std::get<3>(k))) return std::get<3>(k);
    }
    return std::get<3>(*m_order.begin());  // unreachable
  }

 private:
  using Key = std::tuple<uint64_t, VirtualTime, uint64_t, PageId>;  // (count, last reference, map seq, page)

  void bump(PageId p, VirtualTime now) {
    Key& k = m_key.at(p);
    m_order.erase(k);
    std::get<0>(k) += 1;
    std::get<1>(k) = now;
    m_order.insert(k);
  }

  uint64_t m_seq = 0;
  std::set<Key> m_order;  // victim first
  std::unordered_map<PageId, Key> m_key;
};

}  // namespace

std::unique_ptr<ReplacementPolicy> make_lfu_policy() { return std::make_unique<LfuPolicy>(); }

}  // namespace vmsim::fw
