// Translation caches of nested paging (no SystemC): the guest dimension's page-walk cache, the EPT
// page-walk cache and the nested TLB (guest-physical to host-physical). Small fully associative arrays
// with true LRU. Tags follow the SDM's rules for cached information under EPT (vol. 3C ch. 29,
// "Information That May Be Cached"): guest-physical mappings and EPT paging-structure-cache entries are
// tagged with the EP4TA (the EPTP's table address); combined paging-structure-cache entries with the
// VPID, the PCID and the EP4TA.
#pragma once

#include <cstdint>
#include <vector>

#include "common/ept.hpp"
#include "common/types.hpp"
#include "models/mmu/page_walk.hpp"

namespace vmsim::mmu {

// Entry counts of the nested structures (0 disables one). Not a config section yet: no run enters guest
// mode until the hypervisor exists; the tests and Mmu::enter_guest take it from C++.
struct NestedCacheSizes {
  // Guest dimension, per level of the cached guest entry: 2 = PDE .. 5 = PML5E.
  uint64_t guest_pde = 32, guest_pdpte = 8, guest_pml4e = 4, guest_pml5e = 2;
  // EPT dimension, per level of the cached EPT entry.
  uint64_t ept_pde = 32, ept_pdpte = 8, ept_pml4e = 4, ept_pml5e = 2;
  uint64_t nested_tlb = 64;  // guest-physical to host-physical translations (4 KiB, 2 MiB, 1 GiB)
  uint64_t guest_pwc(unsigned level) const {
    return level == 2 ? guest_pde : level == 3 ? guest_pdpte : level == 4 ? guest_pml4e : guest_pml5e;
  }
  uint64_t ept_pwc(unsigned level) const {
    return level == 2 ? ept_pde : level == 3 ? ept_pdpte : level == 4 ? ept_pml4e : ept_pml5e;
  }
};

// A fully associative true-LRU array of (Key, Value) pairs; Key needs ==.
template <class Key, class Value>
class LruArray {
 public:
  explicit LruArray(uint64_t entries = 0) : m_slots(entries) {}
  const Value* lookup(const Key& k) {
    for (Slot& s : m_slots) {
      if (s.valid && s.key == k) {
        s.stamp = ++m_clock;
        return &s.value;
      }
    }
    return nullptr;
  }
  void insert(const Key& k, const Value& v) {
    if (m_slots.empty()) return;
    Slot* victim = &m_slots[0];
    for (Slot& s : m_slots) {
      if (s.valid && s.key == k) {
        victim = &s;
        break;
      }
      if (!victim->valid) continue;
      if (!s.valid || s.stamp < victim->stamp) victim = &s;
    }
    *victim = Slot{k, v, true, ++m_clock};
  }
  template <class Pred>
  uint64_t erase_if(Pred pred) {
    uint64_t n = 0;
    for (Slot& s : m_slots) {
      if (s.valid && pred(s.key, s.value)) {
        s.valid = false;
        ++n;
      }
    }
    return n;
  }
  uint64_t capacity() const { return m_slots.size(); }
  uint64_t valid_entries() const {
    uint64_t n = 0;
    for (const Slot& s : m_slots) n += s.valid ? 1 : 0;
    return n;
  }

 private:
  struct Slot {
    Key key{};
    Value value{};
    bool valid = false;
    uint64_t stamp = 0;
  };
  uint64_t m_clock = 0;
  std::vector<Slot> m_slots;
};

// A guest paging-structure entry of level L cached for the linear addresses it covers: the guest table
// it points to (level L-1) by guest-physical and host-physical address, the guest rights down to it,
// and the EPT permissions (rwx) of the page holding that table.
struct GuestPwcKey {
  uint16_t vpid = 0;
  uint16_t pcid = 0;
  uint64_t ep4ta = 0;
  uint64_t prefix = 0;  // va >> (12 + 9 * (L - 1))
  bool operator==(const GuestPwcKey& o) const {
    return vpid == o.vpid && pcid == o.pcid && ep4ta == o.ep4ta && prefix == o.prefix;
  }
};
struct GuestPwcEntry {
  GuestPhysAddr table_gpa{0};
  PhysAddr table_hpa{0};
  WalkRights rights;
  uint8_t table_rwx = 0;
};

// An EPT paging-structure entry of level L cached for the guest-physical addresses it covers: the EPT
// table it points to and the AND of the rwx bits from the EPTP's table down to it.
struct EptPwcKey {
  uint64_t ep4ta = 0;
  uint64_t prefix = 0;  // gpa >> (12 + 9 * (L - 1))
  bool operator==(const EptPwcKey& o) const { return ep4ta == o.ep4ta && prefix == o.prefix; }
};
struct EptPwcEntry {
  PhysAddr table{0};
  uint8_t rwx = 0;
};

// A guest-physical mapping (SDM "guest-physical mappings"): the leaf of the EPT dimension.
struct NestedTlbKey {
  uint64_t ep4ta = 0;
  uint64_t prefix = 0;  // gpa >> (12 + 9 * (level - 1))
  uint8_t level = 1;    // leaf level: 1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB
  bool operator==(const NestedTlbKey& o) const {
    return ep4ta == o.ep4ta && prefix == o.prefix && level == o.level;
  }
};
struct NestedTlbEntry {
  PhysAddr page{0};  // host-physical base of the page
  uint8_t rwx = 0;   // AND of the rwx bits over the walk
  bool dirty = false;
};

// The three caches of one MMU. Every lookup updates LRU; inserts replace the LRU entry when full.
class NestedCaches {
 public:
  explicit NestedCaches(const NestedCacheSizes& sizes = NestedCacheSizes{});

  const GuestPwcEntry* guest_lookup(unsigned level, const GuestPwcKey& k) { return m_guest[level - 2].lookup(k); }
  void guest_insert(unsigned level, const GuestPwcKey& k, const GuestPwcEntry& e) { m_guest[level - 2].insert(k, e); }
  const EptPwcEntry* ept_lookup(unsigned level, const EptPwcKey& k) { return m_ept[level - 2].lookup(k); }
  void ept_insert(unsigned level, const EptPwcKey& k, const EptPwcEntry& e) { m_ept[level - 2].insert(k, e); }
  // The nested-TLB entry covering gpa under ep4ta (4 KiB, then 2 MiB, then 1 GiB), or nullptr; level set.
  const NestedTlbEntry* tlb_lookup(uint64_t ep4ta, GuestPhysAddr gpa, unsigned& level);
  void tlb_insert(uint64_t ep4ta, GuestPhysAddr gpa, unsigned level, const NestedTlbEntry& e);

  // INVEPT single-context: everything derived from EP4TA ep4ta (all three caches). Returns entries dropped.
  uint64_t invalidate_ep4ta(uint64_t ep4ta);
  // INVEPT all-context (and a full flush).
  uint64_t invalidate_all();
  // INVVPID (any type): the guest page-walk-cache entries of vpid (whatever their PCID and address: like
  // INVLPG, an address invalidation drops every paging-structure-cache entry of the context).
  uint64_t invalidate_vpid(uint16_t vpid);
  // INVVPID all-context: the guest page-walk-cache entries of every VPID but 0.
  uint64_t invalidate_all_vpids();
  // INVLPG / INVPCID in the guest: the guest page-walk-cache entries of (vpid, pcid); all_pcids: of vpid.
  uint64_t invalidate_pcid(uint16_t vpid, uint16_t pcid);

  uint64_t guest_entries() const;
  uint64_t ept_entries() const;
  uint64_t tlb_entries() const { return m_tlb.valid_entries(); }

 private:
  std::vector<LruArray<GuestPwcKey, GuestPwcEntry>> m_guest;  // index level - 2
  std::vector<LruArray<EptPwcKey, EptPwcEntry>> m_ept;        // index level - 2
  LruArray<NestedTlbKey, NestedTlbEntry> m_tlb;
};

}  // namespace vmsim::mmu
