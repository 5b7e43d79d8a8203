// Test helper: hand-built guest page tables and EPT tables in a memory of 8-byte words (any type with
// read(addr) and write(addr, value)), for the nested-paging unit and model tests.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>

#include "common/ept.hpp"
#include "common/pte.hpp"
#include "models/mmu/nested_walk.hpp"

namespace vmsim::test {

using mmu::ept_index;
using mmu::NestedContext;
constexpr uint64_t kGuestTable = pte_bit::kPresent | pte_bit::kWritable | pte_bit::kUser;

// Host memory, an EPT built in it, and guest tables in guest-physical memory mapped by that EPT. Each
// guest table of level L lives in its own guest-physical region (L << region_shift()), the data page in
// region 7, so that every EPT entry on one region's path serves that region alone.
template <class Mem>
struct NestedTables {
  Mem& mem;
  uint64_t next_host = 0x1000000;
  unsigned guest_levels;
  unsigned ept_levels;
  bool ept_ad;
  PhysAddr ept_root;
  std::map<uint64_t, uint64_t> gpa_to_hpa;  // guest page (4 KiB) -> host page, for writing guest tables
  GuestPhysAddr guest_root{0};

  NestedTables(Mem& m, unsigned g, unsigned e, bool ad = false) : mem(m), guest_levels(g), ept_levels(e), ept_ad(ad) {
    ept_root = host_page(1);
    guest_root = table_gpa(g);
  }
  // The guest-physical address va lands on (guest leaf at guest_leaf).
  GuestPhysAddr final_gpa(VirtAddr va, unsigned guest_leaf = 1) const {
    return GuestPhysAddr{data_gpa().value() + (va.value() & (level_span(guest_leaf) - 1))};
  }
  uint64_t read(uint64_t a) const { return mem.read(a); }
  PhysAddr host_page(uint64_t pages, uint64_t align = kPageSize) {
    next_host = (next_host + align - 1) & ~(align - 1);
    PhysAddr p{next_host};
    next_host += pages * kPageSize;
    return p;
  }
  // One region per top-level EPT entry: 512 GiB apart under 4-level EPT, 256 TiB under 5-level.
  unsigned region_shift() const { return ept_levels == 5 ? 48 : 39; }
  GuestPhysAddr table_gpa(unsigned level) const {
    return GuestPhysAddr{(uint64_t{level} << region_shift()) + 0x3000};
  }
  GuestPhysAddr data_gpa() const { return GuestPhysAddr{(7ull << region_shift()) + 0x40000000ull}; }  // 1 GiB aligned
  Eptp eptp() const { return Eptp::make(ept_root, ept_levels, ept_ad); }
  // Host address of the EPT entry of gpa at `level`, creating the tables above it.
  uint64_t ept_slot(GuestPhysAddr gpa, unsigned level) {
    uint64_t table = ept_root.value();
    for (unsigned l = ept_levels; l > level; --l) {
      const uint64_t slot = table + 8ull * ept_index(gpa, l);
      if ((read(slot) & 7) == 0) mem.write(slot, EptEntry::make(host_page(1), ept_bit::kRwx).raw());
      table = read(slot) & ept_bit::kAddrMask;
    }
    return table + 8ull * ept_index(gpa, level);
  }
  // Maps the page of `level` containing gpa to a fresh host page of that size.
  PhysAddr ept_map(GuestPhysAddr gpa, unsigned level, uint64_t rwx = ept_bit::kRwx) {
    const uint64_t span = level_span(level);
    const PhysAddr page = host_page(span / kPageSize, span);
    mem.write(ept_slot(gpa, level), EptEntry::leaf(page, rwx, level).raw());
    const uint64_t gbase = gpa.value() & ~(span - 1);
    for (uint64_t off = 0; off < span && off < (1ull << 22); off += kPageSize) gpa_to_hpa[gbase + off] = page.value() + off;
    return page;
  }
  void guest_write(GuestPhysAddr gpa, uint64_t v) {
    const uint64_t page = gpa.value() & ~kPageMask;
    if (!gpa_to_hpa.count(page)) throw std::logic_error("guest page not mapped");
    mem.write(gpa_to_hpa[page] + (gpa.value() & kPageMask), v);
  }
  uint64_t guest_read(GuestPhysAddr gpa) {
    return read(gpa_to_hpa.at(gpa.value() & ~kPageMask) + (gpa.value() & kPageMask));
  }
  // Guest tables (4 KiB EPT pages) mapping va with a guest leaf at guest_leaf to the data page (whose EPT
  // leaf is at ept_leaf). Returns the host address va lands on.
  uint64_t build(VirtAddr va, unsigned guest_leaf = 1, unsigned ept_leaf = 1, uint64_t leaf_flags = kGuestTable,
                 uint64_t data_rwx = ept_bit::kRwx) {
    for (unsigned l = guest_levels; l >= guest_leaf; --l) ept_map(table_gpa(l), 1);
    const GuestPhysAddr gpa = final_gpa(va, guest_leaf);
    const PhysAddr data = ept_map(gpa, ept_leaf, data_rwx);
    for (unsigned l = guest_levels; l > guest_leaf; --l) {
      guest_write(GuestPhysAddr{table_gpa(l).value() + 8ull * pt_index(va, l)},
                  (table_gpa(l - 1).value() & pte_bit::kPfnMask) | kGuestTable);
    }
    guest_write(GuestPhysAddr{table_gpa(guest_leaf).value() + 8ull * pt_index(va, guest_leaf)},
                data_gpa().value() | leaf_flags | (guest_leaf > 1 ? pte_bit::kPageSize : 0));
    return data.value() + (gpa.value() & (level_span(ept_leaf) - 1));
  }
  NestedContext ctx(uint16_t vpid = 1) const {
    NestedContext c;
    c.eptp = eptp();
    c.guest_root = guest_root;
    c.guest_levels = guest_levels;
    c.vpid = vpid;
    return c;
  }
};


}  // namespace vmsim::test
