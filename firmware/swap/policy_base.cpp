// Event-contract checks, lock bookkeeping and victim validation shared by every replacement policy.
#include "firmware/swap/policy_base.hpp"

#include <stdexcept>
#include <string>

namespace vmsim::fw {

void PolicyBase::contract_error(const char* event, PageId p, const char* why) const {
  throw std::logic_error(std::string(name()) + " policy: " + event + "(page " + std::to_string(p) + "): " + why);
}

void PolicyBase::on_map(PageId p, VirtualTime now) {
  if (!m_locked.emplace(p, false).second) contract_error("on_map", p, "page is already resident");
  try {
    do_map(p, now);
  } catch (...) {
    m_locked.erase(p);
    throw;
  }
}

void PolicyBase::on_access(PageId p, VirtualTime now) {
  if (!is_resident(p)) contract_error("on_access", p, "page is not resident");
  do_access(p, now);
}

void PolicyBase::on_unmap(PageId p) {
  auto it = m_locked.find(p);
  if (it == m_locked.end()) contract_error("on_unmap", p, "page is not resident");
  do_unmap(p);
  if (it->second) --m_locked_count;
  m_locked.erase(it);
}

void PolicyBase::sample(PageBits& bits, VirtualTime now) { do_sample(bits, now); }

std::optional<PageId> PolicyBase::choose_victim(PageBits& bits, VirtualTime now) {
  if (unlocked() == 0) return std::nullopt;
  PageId v = do_choose(bits, now);
  auto it = m_locked.find(v);
  if (it == m_locked.end()) contract_error("choose_victim", v, "policy chose a page that is not resident");
  if (it->second) contract_error("choose_victim", v, "policy chose a locked page");
  return v;
}

void PolicyBase::set_locked(PageId p, bool locked) {
  auto it = m_locked.find(p);
  if (it == m_locked.end()) contract_error("set_locked", p, "page is not resident");
  if (it->second == locked) return;
  it->second = locked;
  if (locked) {
    ++m_locked_count;
  } else {
    --m_locked_count;
  }
}

PageId PolicyBase::take_first_unlocked(ClockRing& ring) {
  while (is_locked(*ring.hand())) {
    note_scanned();
    ring.advance();
  }
  note_scanned();
  return ring.take(ring.hand());
}

bool PolicyBase::is_locked(PageId p) const {
  auto it = m_locked.find(p);
  return it != m_locked.end() && it->second;
}

}  // namespace vmsim::fw
