// Denning's working-set replacement: evict pages outside the window tau, oldest first; LRU fallback.
#include "firmware/swap/working_set.hpp"

#include <stdexcept>

#include "firmware/swap/policies.hpp"

namespace vmsim::fw {

WorkingSetPolicy::WorkingSetPolicy(uint64_t tau) : m_tau(tau) {
  if (tau == 0) throw std::invalid_argument("WorkingSetPolicy: tau must be > 0");
}

uint64_t WorkingSetPolicy::working_set_size(VirtualTime now) const {
  uint64_t n = 0;
  for (const Key& k : m_by_age) n += in_working_set(std::get<0>(k), now, m_tau) ? 1 : 0;
  return n;
}

std::vector<PageId> WorkingSetPolicy::out_of_working_set(VirtualTime now) const {
  std::vector<PageId> out;
  for (const Key& k : m_by_age) {
    if (in_working_set(std::get<0>(k), now, m_tau)) continue;  // not break: last uses may exceed now
    if (!is_locked(std::get<2>(k))) out.push_back(std::get<2>(k));
  }
  return out;
}

void WorkingSetPolicy::do_map(PageId p, VirtualTime now) {
  Key k{now, ++m_seq, p};
  m_by_age.insert(k);
  m_key.emplace(p, k);
}

void WorkingSetPolicy::do_access(PageId p, VirtualTime now) { touch(p, now); }

void WorkingSetPolicy::do_unmap(PageId p) {
  auto it = m_key.find(p);
  m_by_age.erase(it->second);
  m_key.erase(it);
}

void WorkingSetPolicy::do_sample(PageBits& bits, VirtualTime now) {
  std::vector<PageId> referenced;
  for (const Key& k : m_by_age) {
    PageId p = std::get<2>(k);
    if (!is_locked(p) && bits.test_and_clear_accessed(p)) referenced.push_back(p);
  }
  for (PageId p : referenced) touch(p, now);
}

PageId WorkingSetPolicy::do_choose(PageBits& /*bits*/, VirtualTime now) {
  // m_by_age is ordered by last use, so the first unlocked page is the oldest; it is outside the working
  // set unless every unlocked page is inside it.
  for (const Key& k : m_by_age) {
    note_scanned();
    PageId p = std::get<2>(k);
    if (is_locked(p)) continue;
    if (in_working_set(std::get<0>(k), now, m_tau)) ++m_fallbacks;
    return p;
  }
  return std::get<2>(*m_by_age.begin());  // unreachable
}

void WorkingSetPolicy::touch(PageId p, VirtualTime now) {
  Key& k = m_key.at(p);
  if (std::get<0>(k) >= now) return;
  m_by_age.erase(k);
  std::get<0>(k) = now;
  m_by_age.insert(k);
}

std::unique_ptr<ReplacementPolicy> make_ws_policy(uint64_t tau) { return std::make_unique<WorkingSetPolicy>(tau); }

}  // namespace vmsim::fw
