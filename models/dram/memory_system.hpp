// A DRAM memory system: one address mapper routing requests to channels * subchannels Channels.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/dram/address_mapper.hpp"
#include "models/dram/channel.hpp"
#include "models/dram/dram_config.hpp"

namespace vmsim::dram {

class MemorySystem {
 public:
  // Throws InputError if cfg does not validate.
  explicit MemorySystem(const DramConfig& cfg);

  uint32_t channel_count() const { return static_cast<uint32_t>(m_channels.size()); }
  uint32_t channel_of(uint64_t address) const { return m_mapper.channel_of(address); }
  Channel& channel(uint32_t i) { return *m_channels[i]; }
  const Channel& channel(uint32_t i) const { return *m_channels[i]; }
  const AddressMapper& mapper() const { return m_mapper; }
  const DramConfig& config() const { return m_cfg; }

  // Same contracts as Channel's, routed by address; advance_to and next_event cover all channels.
  // `done` receives each channel's completions in cycle order, channel after channel.
  bool can_accept(uint64_t address, bool is_write) const {
    return m_channels[channel_of(address)]->can_accept(is_write);
  }
  void enqueue(const Request& r);
  void advance_to(Cycle now, std::vector<Completion>& done);
  Cycle next_event() const;
  bool idle() const;

  // Totals over channels after extending queue-occupancy sums to `now`.
  ChannelStats total_stats(Cycle now);
  // Checker results over all channels (0 / "" if the checker is off). finish_checkers(now) runs the
  // end-of-run checks.
  uint64_t violation_count() const;
  std::string violation_report(size_t max_lines = 10) const;
  void finish_checkers(Cycle now);

 private:
  DramConfig m_cfg;
  AddressMapper m_mapper;
  std::vector<std::unique_ptr<Channel>> m_channels;
};

}  // namespace vmsim::dram
