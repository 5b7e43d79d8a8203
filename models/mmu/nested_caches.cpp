// Translation caches of nested paging.
#include "models/mmu/nested_caches.hpp"

namespace vmsim::mmu {

NestedCaches::NestedCaches(const NestedCacheSizes& sizes) : m_tlb(sizes.nested_tlb) {
  for (unsigned level = 2; level <= 5; ++level) {
    m_guest.emplace_back(sizes.guest_pwc(level));
    m_ept.emplace_back(sizes.ept_pwc(level));
  }
}

const NestedTlbEntry* NestedCaches::tlb_lookup(uint64_t ep4ta, GuestPhysAddr gpa, unsigned& level) {
  for (unsigned l = 1; l <= 3; ++l) {
    const NestedTlbKey k{ep4ta, gpa.value() >> (kPageShift + 9 * (l - 1)), static_cast<uint8_t>(l)};
    if (const NestedTlbEntry* e = m_tlb.lookup(k)) {
      level = l;
      return e;
    }
  }
  return nullptr;
}

void NestedCaches::tlb_insert(uint64_t ep4ta, GuestPhysAddr gpa, unsigned level, const NestedTlbEntry& e) {
  m_tlb.insert(NestedTlbKey{ep4ta, gpa.value() >> (kPageShift + 9 * (level - 1)), static_cast<uint8_t>(level)}, e);
}

uint64_t NestedCaches::invalidate_ep4ta(uint64_t ep4ta) {
  uint64_t n = m_tlb.erase_if([ep4ta](const NestedTlbKey& k, const NestedTlbEntry&) { return k.ep4ta == ep4ta; });
  for (auto& a : m_ept) {
    n += a.erase_if([ep4ta](const EptPwcKey& k, const EptPwcEntry&) { return k.ep4ta == ep4ta; });
  }
  for (auto& a : m_guest) {
    n += a.erase_if([ep4ta](const GuestPwcKey& k, const GuestPwcEntry&) { return k.ep4ta == ep4ta; });
  }
  return n;
}

uint64_t NestedCaches::invalidate_all() {
  uint64_t n = m_tlb.erase_if([](const NestedTlbKey&, const NestedTlbEntry&) { return true; });
  for (auto& a : m_ept) n += a.erase_if([](const EptPwcKey&, const EptPwcEntry&) { return true; });
  for (auto& a : m_guest) n += a.erase_if([](const GuestPwcKey&, const GuestPwcEntry&) { return true; });
  return n;
}

uint64_t NestedCaches::invalidate_vpid(uint16_t vpid) {
  uint64_t n = 0;
  for (auto& a : m_guest) {
    n += a.erase_if([vpid](const GuestPwcKey& k, const GuestPwcEntry&) { return k.vpid == vpid; });
  }
  return n;
}

uint64_t NestedCaches::invalidate_all_vpids() {
  uint64_t n = 0;
  for (auto& a : m_guest) n += a.erase_if([](const GuestPwcKey& k, const GuestPwcEntry&) { return k.vpid != 0; });
  return n;
}

uint64_t NestedCaches::invalidate_pcid(uint16_t vpid, uint16_t pcid) {
  uint64_t n = 0;
  for (auto& a : m_guest) {
    n += a.erase_if(
        [vpid, pcid](const GuestPwcKey& k, const GuestPwcEntry&) { return k.vpid == vpid && k.pcid == pcid; });
  }
  return n;
}

uint64_t NestedCaches::guest_entries() const {
  uint64_t n = 0;
  for (const auto& a : m_guest) n += a.valid_entries();
  return n;
}

uint64_t NestedCaches::ept_entries() const {
  uint64_t n = 0;
  for (const auto& a : m_ept) n += a.valid_entries();
  return n;
}

}  // namespace vmsim::mmu
