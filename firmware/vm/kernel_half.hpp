// The kernel half of every address space, laid out as x86-64 Linux lays it out: a direct map of all
// physical memory at the direct-map base with global, supervisor, no-execute pages (1 GiB where a whole
// gigabyte is memory and the configuration allows, else 2 MiB, else 4 KiB at a ragged end), in upper-level
// tables built once at boot and shared by every address space (each new root's upper-half entries point
// to the same tables, as pgd_alloc copies them in Linux).
#pragma once

#include <array>
#include <cstdint>
#include <map>

#include "common/pte.hpp"
#include "common/types.hpp"
#include "firmware/hal/hal.hpp"

namespace vmsim::fw {

// Linux's direct-map base (page_offset_base): 4-level paging 0xffff888000000000, 5-level (LA57)
// 0xff11000000000000 (Documentation/arch/x86/x86_64/mm.rst).
constexpr uint64_t direct_map_base(unsigned levels) {
  return levels == 5 ? 0xff11000000000000ull : 0xffff888000000000ull;
}

// The KPTI entry trampoline's address: Linux's cpu_entry_area (0xfffffe0000000000 with 4- and 5-level
// paging, Documentation/arch/x86/x86_64/mm.rst), the one kernel page a KPTI user root maps.
constexpr uint64_t kTrampolineVa = 0xfffffe0000000000ull;

class KernelHalf {
 public:
  // The tables for `levels`-level paging mapping physical [0, phys_bytes), laid out in the frames from
  // `first` up to (not including) `limit` (the firmware's reserved low memory, outside the frame
  // allocator). gbpages: 1 GiB leaves where possible (false: 2 MiB at most, as with Linux's nogbpages).
  // Throws InputError naming firmware.reserved_low if the tables do not fit.
  // kpti (firmware.kpti): the direct map's leaves are not global (a KPTI root switch without PCIDs drops
  // them), and the half also maps the entry trampoline at kTrampolineVa: one global, supervisor,
  // read-only, executable page in its own tables (after the direct map's, followed by the page itself).
  KernelHalf(unsigned levels, uint64_t phys_bytes, bool gbpages, Pfn first, Pfn limit, bool kpti = false);

  uint64_t base() const { return direct_map_base(m_levels); }
  uint64_t bytes() const { return m_bytes; }
  // The kernel's own root (Linux's swapper_pg_dir): the kernel half only, with PCID 0. A core runs the
  // kernel under it before it first loads an address space and after the one it had loaded ended.
  PhysAddr kernel_root() const { return addr_of(m_root); }
  // Writes every table to memory through hal (timed; the physical path, before any core uses the map).
  void build(Hal& hal);
  bool built() const { return m_built; }
  // Copies the kernel half of the top-level table (entries 256..511) into the new root `root` (one
  // 2 KiB timed write).
  void install(Hal& hal, PhysAddr root) const;
  // KPTI: writes the trampoline's top-level entry into the user copy `user_root` of a root pair (one
  // timed 8-byte write); the rest of the user copy's upper half stays empty.
  void install_user(Hal& hal, PhysAddr user_root) const;
  bool kpti() const { return m_kpti; }
  // KPTI: the trampoline page's frame (in the reserved area), else Pfn{0}.
  Pfn trampoline() const { return m_trampoline; }
  uint64_t table_frames() const { return m_tables.size(); }
  uint64_t leaves(unsigned level) const { return m_leaves[level - 1]; }

 private:
  // The entry slot for va at `level` (creating the tables above it).
  uint64_t& slot(uint64_t va, unsigned level);

  unsigned m_levels;
  uint64_t m_bytes;
  Pfn m_root;
  Pfn m_next;
  Pfn m_limit;
  bool m_kpti;
  Pfn m_trampoline{0};
  std::map<uint64_t, std::array<uint64_t, 512>> m_tables;  // by frame number
  std::array<uint64_t, 3> m_leaves{};
  bool m_built = false;
};

}  // namespace vmsim::fw
