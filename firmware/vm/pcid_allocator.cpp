// The kernel's PCID allocator: PCIDs held by at most one live address space, generations and roll-over.
#include "firmware/vm/pcid_allocator.hpp"

#include <stdexcept>
#include <string>

namespace vmsim::fw {

PcidAllocator::PcidAllocator(unsigned count, size_t cores, bool roll_over)
    : m_count(count), m_roll_over(roll_over), m_held(count, false), m_running(cores, nullptr),
      m_flush_pending(cores, false) {
  if (count < 2 || count > 4096) {
    throw std::invalid_argument("PcidAllocator: " + std::to_string(count) + " PCIDs (2..4096)");
  }
  if (cores == 0) throw std::invalid_argument("PcidAllocator: no cores");
  if (roll_over && count - 1 <= cores) {
    throw std::invalid_argument("PcidAllocator: " + std::to_string(count - 1) + " PCIDs for " +
                                std::to_string(cores) + " cores (a roll-over needs more PCIDs than cores)");
  }
}

bool PcidAllocator::assign(PcidContext& ctx) {
  if (current(ctx)) return true;
  if (m_held_count == m_count - 1) {
    if (!m_roll_over) return false;
    roll_over();
  }
  // Next fit: the first free PCID after the last one handed out, wrapping past count - 1 to 1.
  unsigned id = m_last;
  do {
    id = id + 1 == m_count ? 1 : id + 1;
  } while (m_held[id]);
  m_held[id] = true;
  ++m_held_count;
  m_last = static_cast<uint16_t>(id);
  ctx.id = static_cast<uint16_t>(id);
  ctx.generation = m_generation;
  return true;
}

bool PcidAllocator::switch_in(PcidContext& ctx, CoreId core) {
  // The core leaves its address space: a roll-over from here on need not keep that one's PCID.
  m_running.at(core) = nullptr;
  if (!assign(ctx)) throw std::logic_error("PcidAllocator: every PCID is held");
  m_running[core] = &ctx;
  const bool flush = m_flush_pending[core];
  m_flush_pending[core] = false;
  return flush;
}

void PcidAllocator::release(PcidContext& ctx) {
  for (PcidContext*& r : m_running) {
    if (r == &ctx) r = nullptr;
  }
  if (current(ctx)) {
    m_held[ctx.id] = false;
    --m_held_count;
  }
  ctx = PcidContext{};
}

void PcidAllocator::roll_over() {
  ++m_generation;
  ++m_rollovers;
  m_held.assign(m_count, false);
  m_held_count = 0;
  for (PcidContext* r : m_running) {
    if (r == nullptr) continue;
    // Threads of one address space may run on several cores: their context is kept once.
    if (r->generation != m_generation) {
      r->generation = m_generation;
      m_held[r->id] = true;
      ++m_held_count;
    }
  }
  m_flush_pending.assign(m_flush_pending.size(), true);
}

}  // namespace vmsim::fw
