// Page-walk cache functional core.
#include "models/mmu/pwc.hpp"

namespace vmsim::mmu {

PageWalkCache::PageWalkCache(unsigned level, uint64_t entries) : m_level(level), m_slots(entries) {}

const PageWalkCache::Hit* PageWalkCache::lookup(VirtAddr va, uint16_t pcid) {
  uint64_t tag = tag_of(va);
  for (Slot& s : m_slots) {
    if (s.valid && s.tag == tag && s.pcid == pcid) {
      s.stamp = ++m_clock;
      return &s.hit;
    }
  }
  return nullptr;
}

void PageWalkCache::insert(VirtAddr va, uint16_t pcid, PhysAddr table, const WalkRights& rights) {
  if (m_slots.empty()) return;
  uint64_t tag = tag_of(va);
  Slot* victim = &m_slots[0];
  for (Slot& s : m_slots) {
    if (s.valid && s.tag == tag && s.pcid == pcid) {
      victim = &s;
      break;
    }
    if (!s.valid) {
      if (victim->valid) victim = &s;
    } else if (victim->valid && s.stamp < victim->stamp) {
      victim = &s;
    }
  }
  victim->valid = true;
  victim->tag = tag;
  victim->pcid = pcid;
  victim->hit = Hit{table, rights};
  victim->stamp = ++m_clock;
}

uint64_t PageWalkCache::flush_pcid(uint16_t pcid) {
  uint64_t n = 0;
  for (Slot& s : m_slots) {
    if (s.valid && s.pcid == pcid) {
      s.valid = false;
      ++n;
    }
  }
  return n;
}

uint64_t PageWalkCache::flush_all() {
  uint64_t n = 0;
  for (Slot& s : m_slots) {
    n += s.valid ? 1 : 0;
    s.valid = false;
  }
  return n;
}

}  // namespace vmsim::mmu
