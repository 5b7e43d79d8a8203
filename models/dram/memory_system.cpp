// A DRAM memory system: routing by address and aggregation over channels.
#include "models/dram/memory_system.hpp"

#include <algorithm>

namespace vmsim::dram {

MemorySystem::MemorySystem(const DramConfig& cfg)
    : m_cfg((cfg.validate("dram"), cfg)),
      m_mapper(cfg.organisation, cfg.controller.request_bytes, cfg.controller.address_mapping,
               cfg.controller.xor_bank_hash, "dram.controller.address_mapping") {
  const uint64_t n = cfg.organisation.channel_count();
  m_channels.reserve(n);
  for (uint64_t i = 0; i < n; ++i) m_channels.push_back(std::make_unique<Channel>(cfg, static_cast<uint32_t>(i)));
}

void MemorySystem::enqueue(const Request& r) {
  const DramAddress a = m_mapper.decode(r.address);
  m_channels[a.channel]->enqueue(r, a);
}

void MemorySystem::advance_to(Cycle now, std::vector<Completion>& done) {
  for (auto& c : m_channels) c->advance_to(now, done);
}

Cycle MemorySystem::next_event() const {
  Cycle e = kNever;
  for (const auto& c : m_channels) e = std::min(e, c->next_event());
  return e;
}

bool MemorySystem::idle() const {
  for (const auto& c : m_channels) {
    if (!c->idle()) return false;
  }
  return true;
}

ChannelStats MemorySystem::total_stats(Cycle now) {
  ChannelStats total;
  for (auto& c : m_channels) {
    c->sync_stats(now);
    total.merge(c->stats());
  }
  return total;
}

uint64_t MemorySystem::violation_count() const {
  uint64_t n = 0;
  for (const auto& c : m_channels) {
    if (c->checker()) n += c->checker()->violation_count();
  }
  return n;
}

std::string MemorySystem::violation_report(size_t max_lines) const {
  std::string out;
  for (const auto& c : m_channels) {
    if (c->checker()) out += c->checker()->report(max_lines);
  }
  return out;
}

void MemorySystem::finish_checkers(Cycle now) {
  for (auto& c : m_channels) {
    if (c->checker()) c->checker()->finish(now);
  }
}

}  // namespace vmsim::dram
