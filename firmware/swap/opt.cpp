// Belady's optimal (MIN) replacement, computed offline from the complete future reference string.
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "firmware/swap/policies.hpp"
#include "firmware/swap/policy_base.hpp"

namespace vmsim::fw {
namespace {

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

class OptPolicy final : public PolicyBase {
 public:
  explicit OptPolicy(std::vector<PageId> future) : m_future(std::move(future)), m_next(m_future.size(), kNever) {
    std::unordered_map<PageId, uint64_t> seen;
    for (uint64_t i = m_future.size(); i-- > 0;) {
      auto it = seen.find(m_future[i]);
      if (it != seen.end()) m_next[i] = it->second;
      seen[m_future[i]] = i;
    }
  }
  const char* name() const override { return "opt"; }
  bool uses_exact_access() const override { return true; }

 protected:
  void do_map(PageId p, VirtualTime /*now*/) override {
    uint64_t next = consume(p, "on_map");
    Key k{next, ++m_seq, p};
    m_order.insert(k);
    m_key.emplace(p, k);
  }
  void do_access(PageId p, VirtualTime /*now*/) override {
    uint64_t next = consume(p, "on_access");
    Key& k = m_key.at(p);
    m_order.erase(k);
    std::get<0>(k) = next;
    m_order.insert(k);
  }
  void do_unmap(PageId p) override {
    auto it = m_key.find(p);
    m_order.erase(it->second);
    m_key.erase(it);
  }
  PageId do_choose(PageBits& /*bits*/, VirtualTime /*now*/) override {
    for (const Key& k : m_order) {
      note_scanned();
      if (!is_locked(std::get<2>(k))) return std::get<2>(k);
    }
    return std::get<2>(*m_order.begin());  // unreachable
  }

 private:
  // Victim first: the largest next use, then the earliest mapped.
  struct Later {
    template <class K>
    bool operator()(const K& a, const K& b) const {
      if (std::get<0>(a) != std::get<0>(b)) return std::get<0>(a) > std::get<0>(b);
      return std::get<1>(a) < std::get<1>(b);
    }
  };
  using Key = std::tuple<uint64_t, uint64_t, PageId>;  // (next use, map seq, page)

  // Checks that the driver's reference is the next one of the string; returns its next use.
  uint64_t consume(PageId p, const char* event) {
    if (m_cursor >= m_future.size()) {
      throw std::logic_error(std::string("opt policy: ") + event + "(page " + std::to_string(p) +
                             ") beyond the end of the future reference string (" + std::to_string(m_future.size()) +
                             " references)");
    }
    if (m_future[m_cursor] != p) {
      throw std::logic_error(std::string("opt policy: ") + event + "(page " + std::to_string(p) + ") but reference #" +
                             std::to_string(m_cursor) + " of the future string is page " +
                             std::to_string(m_future[m_cursor]));
    }
    return m_next[m_cursor++];
  }

  std::vector<PageId> m_future;
  std::vector<uint64_t> m_next;  // index of the next reference to the same page, or kNever
  uint64_t m_cursor = 0;         // next reference to consume
  uint64_t m_seq = 0;
  std::set<Key, Later> m_order;
  std::unordered_map<PageId, Key> m_key;
};

// Belady's MIN in a run: the distances come from the workloads' traces, read ahead before the run.
class OptRunPolicy final : public PolicyBase {
 public:
  explicit OptRunPolicy(std::function<uint64_t(PageId)> next_use) : m_next_use(std::move(next_use)) {}
  const char* name() const override { return "opt"; }
  bool uses_exact_access() const override { return false; }

 protected:
  void do_map(PageId p, VirtualTime /*now*/) override {
    const uint64_t seq = ++m_seq;
    m_order.emplace(seq, p);
    m_seq_of.emplace(p, seq);
  }
  void do_unmap(PageId p) override {
    auto it = m_seq_of.find(p);
    m_order.erase(it->second);
    m_seq_of.erase(it);
  }
  PageId do_choose(PageBits& /*bits*/, VirtualTime /*now*/) override {
    PageId best = 0;
    uint64_t best_next = 0;
    bool found = false;
    for (const auto& [seq, p] : m_order) {  // mapping order: the first of equals wins
      if (is_locked(p)) continue;
      note_scanned();
      const uint64_t next = m_next_use(p);
      if (!found || next > best_next) {
        best = p;
        best_next = next;
        found = true;
        if (next == kNever) break;  // nothing is farther than never
      }
    }
    return best;
  }

 private:
  std::function<uint64_t(PageId)> m_next_use;
  uint64_t m_seq = 0;
  std::map<uint64_t, PageId> m_order;  // mapping sequence -> frame
  std::unordered_map<PageId, uint64_t> m_seq_of;
};

}  // namespace

std::unique_ptr<ReplacementPolicy> make_opt_run_policy(std::function<uint64_t(PageId)> next_use) {
  return std::make_unique<OptRunPolicy>(std::move(next_use));
}

std::unique_ptr<ReplacementPolicy> make_opt_policy(std::vector<PageId> future) {
  return std::make_unique<OptPolicy>(std::move(future));
}

}  // namespace vmsim::fw
