// TLB functional core.
#include "models/mmu/tlb.hpp"

#include <stdexcept>

namespace vmsim::mmu {

void TlbConfig::validate(const std::string& path) const {
  config::require(entries > 0, path, "entries", std::to_string(entries), "must be > 0");
  config::require(ways > 0, path, "ways", std::to_string(ways), "must be > 0");
  config::require(ways <= entries && entries % ways == 0, path, "ways", std::to_string(ways),
                  "must divide entries (" + std::to_string(entries) + ")");
  config::require(entries <= (1u << 20), path, "entries", std::to_string(entries), "must be <= 1048576");
}

Tlb::Tlb(const TlbConfig& cfg)
    : m_sets(cfg.ways ? cfg.entries / cfg.ways : 0), m_ways(cfg.ways), m_policy(cfg.replacement) {
  if (cfg.entries == 0 || cfg.ways == 0 || cfg.entries % cfg.ways != 0) {
    throw std::invalid_argument("TLB geometry: ways must divide entries, both > 0");
  }
  m_entries.resize(cfg.entries);
}

bool Tlb::fill(const TlbEntry& entry, TlbEntry* victim) {
  TlbEntry* set = &m_entries[set_of(Vpn{entry.vpn}) * m_ways];
  TlbEntry* slot = nullptr;
  for (uint64_t w = 0; w < m_ways; ++w) {
    if (set[w].valid && set[w].vpn == entry.vpn) {
      slot = &set[w];  // refill of the same page: replace in place
      break;
    }
  }
  bool evicted = false;
  if (slot == nullptr) {
    for (uint64_t w = 0; w < m_ways && slot == nullptr; ++w) {
      if (!set[w].valid) slot = &set[w];
    }
  }
  if (slot == nullptr) {
    slot = &set[0];
    for (uint64_t w = 1; w < m_ways; ++w) {
      if (set[w].stamp < slot->stamp) slot = &set[w];
    }
    evicted = true;
    if (victim != nullptr) *victim = *slot;
  }
  *slot = entry;
  slot->valid = true;
  slot->stamp = ++m_clock;
  return evicted;
}

bool Tlb::invalidate(Vpn vpn) {
  TlbEntry* set = &m_entries[set_of(vpn) * m_ways];
  for (uint64_t w = 0; w < m_ways; ++w) {
    if (set[w].valid && set[w].vpn == vpn.value()) {
      set[w].valid = false;
      return true;
    }
  }
  return false;
}

uint64_t Tlb::flush(bool keep_global) {
  uint64_t n = 0;
  for (TlbEntry& e : m_entries) {
    if (e.valid && !(keep_global && e.global)) {
      e.valid = false;
      ++n;
    }
  }
  return n;
}

uint64_t Tlb::valid_entries() const {
  uint64_t n = 0;
  for (const TlbEntry& e : m_entries) n += e.valid ? 1 : 0;
  return n;
}

}  // namespace vmsim::mmu
