// Firmware side of the hashed page table.
#include "firmware/vm/hashed_table.hpp"

#include <algorithm>
#include <cstring>

#include "common/hashed_pt.hpp"

namespace vmsim::fw {

HashedTable::HashedTable(PhysAddr base, uint64_t buckets) : m_base(base), m_buckets(buckets) {}

uint64_t HashedTable::bytes() const { return m_buckets * hpt::kEntryBytes; }

HashedTable::Entry HashedTable::read(Hal& hal, uint64_t pa) {
  Entry e;
  uint64_t w[4];
  hal.read_block(PhysAddr{pa}, reinterpret_cast<uint8_t*>(w), hpt::kEntryBytes);  // one 32-byte read
  e.tag = w[0];
  e.pte = w[1];
  e.next = w[2];
  e.reserved = w[3];
  return e;
}

void HashedTable::write(Hal& hal, uint64_t pa, const Entry& e) {
  const uint64_t w[4] = {e.tag, e.pte, e.next, 0};
  hal.write_block(PhysAddr{pa}, reinterpret_cast<const uint8_t*>(w), hpt::kEntryBytes);
}

PhysAddr HashedTable::anchor(uint16_t asid, uint64_t vpn) const {
  return PhysAddr{m_base.value() + hpt::kEntryBytes * hpt::bucket_of(asid, vpn, m_buckets)};
}

std::optional<uint64_t> HashedTable::take_slot(const TableAllocator& alloc) {
  if (m_free_slots.empty()) {
    std::optional<Pfn> f = alloc();
    if (!f) return std::nullopt;
    const uint64_t page = addr_of(*f).value();
    m_pool[page] = 0;
    for (uint64_t off = 0; off < kPageSize; off += hpt::kEntryBytes) m_free_slots.insert(page + off);
  }
  const uint64_t slot = *m_free_slots.begin();
  m_free_slots.erase(m_free_slots.begin());
  ++m_pool[slot & ~kPageMask];
  return slot;
}

void HashedTable::release_slot(uint64_t pa, const std::function<void(Pfn)>& free_frame) {
  const uint64_t page = pa & ~kPageMask;
  m_free_slots.insert(pa);
  auto it = m_pool.find(page);
  if (--it->second == 0) {
    m_free_slots.erase(m_free_slots.lower_bound(page), m_free_slots.lower_bound(page + kPageSize));
    m_pool.erase(it);
    free_frame(Pfn{page >> kPageShift});
  }
}

bool HashedTable::map(Hal& hal, uint16_t asid, VirtAddr va, Pfn pfn, uint64_t leaf_flags, const TableAllocator& alloc) {
  const uint64_t vpn = va.value() >> kPageShift;
  const uint64_t tag = hpt::make_tag(asid, vpn);
  const uint64_t pte = Pte::make(pfn, leaf_flags | pte_bit::kPresent).raw();
  const uint64_t head = anchor(asid, vpn).value();
  Entry a = read(hal, head);
  // Already mapped? Then only the PTE changes. (The whole chain is searched: a removed anchor stays in
  // place, invalid, in front of its chain.)
  uint64_t at = head;
  Entry e = a;
  uint64_t length = 1;
  for (;;) {
    if (e.tag == tag) {
      hal.write64(PhysAddr{at + hpt::kPteOffset}, pte);
      return true;
    }
    if (e.next == 0) break;
    at = e.next;
    e = read(hal, at);
    ++length;
  }
  if ((a.tag & hpt::kValid) == 0) {  // free anchor: the entry goes in place, in front of the chain
    write(hal, head, Entry{tag, pte, a.next, 0});
    ++m_entries;
    m_longest = std::max(m_longest, length);
    return true;
  }
  // A new overflow entry, linked right behind the anchor. It is complete before the link makes it
  // visible to walkers.
  std::optional<uint64_t> slot = take_slot(alloc);
  if (!slot) return false;
  write(hal, *slot, Entry{tag, pte, a.next, 0});
  hal.write64(PhysAddr{head + hpt::kNextOffset}, *slot);
  ++m_entries;
  m_longest = std::max(m_longest, length + 1);
  return true;
}

Pte HashedTable::lookup(Hal& hal, uint16_t asid, VirtAddr va) {
  const uint64_t vpn = va.value() >> kPageShift;
  const uint64_t tag = hpt::make_tag(asid, vpn);
  uint64_t at = anchor(asid, vpn).value();
  for (unsigned n = 0; n < hpt::kMaxChain && at != 0; ++n) {
    Entry e = read(hal, at);
    if (e.tag == tag) return Pte{e.pte};
    at = e.next;
  }
  return Pte{0};
}

Pte HashedTable::unmap(Hal& hal, uint16_t asid, VirtAddr va, const std::function<void(Pfn)>& free_frame) {
  const uint64_t vpn = va.value() >> kPageShift;
  const uint64_t tag = hpt::make_tag(asid, vpn);
  const uint64_t head = anchor(asid, vpn).value();
  Entry a = read(hal, head);
  if (a.tag == tag) {
    // The anchor is invalidated in place and keeps its link: no entry moves, so a walker in the middle
    // of the chain never loses an Accessed/Dirty write-back to a stale copy.
    write(hal, head, Entry{0, 0, a.next, 0});
    --m_entries;
    return Pte{a.pte};
  }
  uint64_t prev = head;
  uint64_t at = a.next;
  for (unsigned n = 0; n < hpt::kMaxChain && at != 0; ++n) {
    Entry e = read(hal, at);
    if (e.tag == tag) {
      hal.write64(PhysAddr{prev + hpt::kNextOffset}, e.next);
      release_slot(at, free_frame);
      --m_entries;
      return Pte{e.pte};
    }
    prev = at;
    at = e.next;
  }
  return Pte{0};
}

}  // namespace vmsim::fw
