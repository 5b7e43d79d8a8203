// The kernel's processes (fw::Processes), debug checks: firmware.check_contents reads the pages of an ending
// address space and classifies every 8-byte word, so system tests can verify that copies (copy-on-write,
// collapse, compaction) kept the data workloads wrote: the core stores each written word's own virtual
// address.
#include <array>
#include <iostream>

#include "firmware/kernel/processes.hpp"
#include "firmware/vm/hashed_table.hpp"
#include "firmware/vm/page_table.hpp"
#include "common/hashed_pt.hpp"
#include "common/pte.hpp"

namespace vmsim::fw {

void Processes::check_contents(Hal& hal, Mm& mm, Process& p) {
  ProcStats& ps = *m_ctx->pstats[p.index];
  std::array<uint64_t, kPageSize / 8> words;
  bool reported = false;
  auto check_page = [&](uint64_t va, PhysAddr pa) {
    hal.read_block(pa, reinterpret_cast<uint8_t*>(words.data()), kPageSize);
    for (uint64_t i = 0; i < words.size(); ++i) {
      const uint64_t own = va + 8 * i;
      if (words[i] == own) {
        ++ps.contents_own;
      } else if (words[i] == 0) {
        ++ps.contents_zero;
      } else {
        ++ps.contents_other;
        if (!reported) {
          std::cerr << "vmsim: contents check: process " << p.pid << " '" << p.name << "': word at "
                    << format_hex(own) << " holds " << format_hex(words[i]) << "\n";
          reported = true;
        }
      }
    }
  };
  for (const auto& [s, v] : mm.vmas) {
    if (v.shm != 0) continue;  // shared memory and file pages: not this process's own writes
    if (m_ctx->hashed) {
      for (uint64_t va = v.start.value(); va < v.end.value(); va += kPageSize) {
        if (mm.hashed_pages.count(va >> kPageShift) == 0) continue;
        const Pte e = m_ctx->hashed->lookup(hal, mm.pcid.id, VirtAddr{va});
        if (e.raw() & (pte_bit::kPresent | kSoftProtNone)) check_page(va, e.frame_addr());
      }
      continue;
    }
    for_each_leaf(hal, mm.root, m_ctx->levels, v.start, v.end, [&](VirtAddr va, PhysAddr, Pte e) {
      check_page(va.value(), e.frame_addr());
      return std::optional<uint64_t>();
    });
    for (unsigned level : {2u, 3u}) {
      for (VirtAddr va : huge_leaves(hal, mm.root, m_ctx->levels, v.start, v.end, level)) {
        const Pte e{hal.read64(*leaf_entry(hal, mm.root, m_ctx->levels, va))};
        for (uint64_t off = 0; off < level_span(level); off += kPageSize) {
          // A huge page may straddle two VMAs (mbind splits areas, not pages): each word is counted once.
          const uint64_t page = va.value() + off;
          if (page >= v.start.value() && page < v.end.value()) check_page(page, PhysAddr{e.frame_addr().value() + off});
        }
      }
    }
  }
}

}  // namespace vmsim::fw
