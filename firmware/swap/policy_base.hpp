// Shared machinery of the replacement policies: the event-contract checks and lock bookkeeping every policy
// needs (PolicyBase), and an ordered page list with O(1) lookup (PageList).
#pragma once

#include <cstdint>
#include <iterator>
#include <list>
#include <optional>
#include <unordered_map>

#include "firmware/swap/replacement.hpp"

namespace vmsim::fw {

class ClockRing;

// Implements the public event interface once: checks the contract (throwing std::logic_error on a
// violation), keeps the resident set and lock flags, counts scanned pages, and forwards each event to the
// do_* hooks of the concrete policy. choose_victim calls do_choose only when an unlocked page exists and
// checks that the answer is resident and unlocked.
class PolicyBase : public ReplacementPolicy {
 public:
  void on_map(PageId p, VirtualTime now) final;
  void on_access(PageId p, VirtualTime now) final;
  void on_unmap(PageId p) final;
  void sample(PageBits& bits, VirtualTime now) final;
  std::optional<PageId> choose_victim(PageBits& bits, VirtualTime now) final;
  void set_locked(PageId p, bool locked) final;
  bool is_locked(PageId p) const final;
  bool is_resident(PageId p) const final { return m_locked.count(p) != 0; }
  uint64_t resident() const final { return m_locked.size(); }
  uint64_t scanned() const final { return m_scanned; }

 protected:
  PolicyBase() = default;
  // Records one (or n) page visits of a victim search.
  void note_scanned(uint64_t n = 1) { m_scanned += n; }
  // Number of resident pages that are not locked.
  uint64_t unlocked() const { return m_locked.size() - m_locked_count; }
  // The last resort of every clock policy: from the hand, the first unlocked page (each visit counted as
  // scanned) is the victim.
  PageId take_first_unlocked(ClockRing& ring);

  virtual void do_map(PageId p, VirtualTime now) = 0;
  virtual void do_access(PageId /*p*/, VirtualTime /*now*/) {}
  virtual void do_unmap(PageId p) = 0;
  virtual void do_sample(PageBits& /*bits*/, VirtualTime /*now*/) {}
  // Called only when unlocked() > 0. Must return a resident, unlocked page.
  virtual PageId do_choose(PageBits& bits, VirtualTime now) = 0;

 private:
  [[noreturn]] void contract_error(const char* event, PageId p, const char* why) const;

  std::unordered_map<PageId, bool> m_locked;  // resident pages -> locked
  uint64_t m_locked_count = 0;
  uint64_t m_scanned = 0;
};

// Pages in an order the policy maintains (front = oldest / next candidate), with O(1) membership, erase,
// and move to either end. Iterators stay valid until their page is erased.
class PageList {
 public:
  using Iter = std::list<PageId>::iterator;

  bool empty() const { return m_order.empty(); }
  uint64_t size() const { return m_order.size(); }
  bool contains(PageId p) const { return m_where.count(p) != 0; }
  Iter begin() { return m_order.begin(); }
  Iter end() { return m_order.end(); }
  PageId front() const { return m_order.front(); }
  PageId back() const { return m_order.back(); }

  Iter push_back(PageId p) { return insert(m_order.end(), p); }
  Iter push_front(PageId p) { return insert(m_order.begin(), p); }
  // Inserts p before pos; returns p's position.
  Iter insert(Iter pos, PageId p) {
    Iter it = m_order.insert(pos, p);
    m_where[p] = it;
    return it;
  }
  // Removes p (which must be present); returns the position that followed it.
  Iter erase(PageId p) {
    auto w = m_where.find(p);
    Iter next = m_order.erase(w->second);
    m_where.erase(w);
    return next;
  }
  void move_to_back(PageId p) { m_order.splice(m_order.end(), m_order, m_where.at(p)); }
  void move_to_front(PageId p) { m_order.splice(m_order.begin(), m_order, m_where.at(p)); }
  // Ring successor: the position after it, wrapping from the last page to the first.
  Iter ring_next(Iter it) {
    ++it;
    return it == m_order.end() ? m_order.begin() : it;
  }

 private:
  std::list<PageId> m_order;
  std::unordered_map<PageId, Iter> m_where;
};

// The ring of a clock policy (clock, eclock, wsclock) and its hand. A new page goes just behind the hand:
// the last page the next sweep reaches. Erasing the page at the hand moves the hand to its successor.
class ClockRing {
 public:
  using Iter = PageList::Iter;

  bool empty() const { return m_ring.empty(); }
  uint64_t size() const { return m_ring.size(); }
  void insert(PageId p) {
    if (m_ring.empty()) {
      m_hand = m_ring.push_back(p);
    } else {
      m_ring.insert(m_hand, p);
    }
  }
  void erase(PageId p) {
    const bool at_hand = *m_hand == p;
    Iter next = m_ring.erase(p);
    if (at_hand) m_hand = (next == m_ring.end()) ? m_ring.begin() : next;
  }
  // Valid whenever the ring is not empty.
  Iter hand() const { return m_hand; }
  void set_hand(Iter it) { m_hand = it; }
  void advance() { m_hand = m_ring.ring_next(m_hand); }
  Iter next(Iter it) { return m_ring.ring_next(it); }
  // The page at `it` is the victim: the hand moves past it.
  PageId take(Iter it) {
    m_hand = m_ring.ring_next(it);
    return *it;
  }

 private:
  PageList m_ring;  // sweep order from m_hand, wrapping
  Iter m_hand;
};

// Working-set membership shared by ws and wsclock: at time `now` a page last referenced at `last_use` is in
// the working set W(now, tau) = pages referenced in the window (now - tau, now], i.e. iff now - last_use < tau.
inline bool in_working_set(VirtualTime last_use, VirtualTime now, uint64_t tau) {
  return now < last_use || now - last_use < tau;
}

// SplitMix64 (Steele, Lea, Flood 2014): the random policy's generator; any seed, including 0, is fine.
inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace vmsim::fw
