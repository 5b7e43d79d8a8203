// Plain statistics counters of a DRAM channel and its banks; derived values are computed on demand.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "models/dram/dram_types.hpp"

namespace vmsim::dram {

struct BankStats {
  uint64_t reads = 0;          // read requests completed
  uint64_t writes = 0;         // write requests completed
  uint64_t row_hits = 0;       // requests served from an already open row
  uint64_t row_misses = 0;     // requests that needed an ACT of a precharged bank
  uint64_t row_conflicts = 0;  // requests that needed a PRE of another row, then an ACT
  uint64_t activates = 0;
  uint64_t precharges = 0;     // explicit, PREA and auto-precharges that closed this bank
  uint64_t refreshes = 0;      // REF or REFsb covering this bank
};

// What the energy model (energy.hpp) needs of one rank: command counts and state-time integrals, all
// integers, multiplied by per-command energies only when the statistics are read. Filled from the bank
// counters and the channel's rank activity by Channel::rank_counters / sync_stats.
struct RankEnergyCounters {
  uint64_t activates = 0;
  uint64_t precharges = 0;        // banks closed (PRE, each bank of a PREA, auto-precharge)
  uint64_t read_bursts = 0;       // RD/RDA bursts of completed read requests
  uint64_t write_bursts = 0;      // WR/WRA bursts of completed write requests
  uint64_t refreshes = 0;         // all-bank REF
  uint64_t refreshed_banks = 0;   // banks covered by per-bank refresh commands (sum over commands)
  Cycle active_cycles = 0;        // cycles with at least one bank open (to the last sync_stats)
  Cycle cycles = 0;               // cycles covered (to the last sync_stats)

  void merge(const RankEnergyCounters& o) {
    activates += o.activates;
    precharges += o.precharges;
    read_bursts += o.read_bursts;
    write_bursts += o.write_bursts;
    refreshes += o.refreshes;
    refreshed_banks += o.refreshed_banks;
    active_cycles += o.active_cycles;
    cycles += o.cycles;
  }
};

struct ChannelStats {
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint64_t row_hits = 0;
  uint64_t row_misses = 0;
  uint64_t row_conflicts = 0;
  uint64_t activates = 0;
  uint64_t precharges = 0;
  uint64_t refreshes = 0;           // REF commands
  uint64_t per_bank_refreshes = 0;  // REFsb commands
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  std::array<uint64_t, kCommandKinds> commands{};  // indexed by CommandKind

  uint64_t read_latency_sum = 0;  // DRAM cycles, arrival to end of the last data beat
  uint64_t read_latency_max = 0;
  uint64_t write_latency_sum = 0;
  uint64_t latency_bin = 1;                        // histogram bin width in cycles
  std::vector<uint64_t> read_latency_histogram;    // last bin also counts everything beyond

  uint64_t read_queue_occupancy_sum = 0;   // entry-cycles
  uint64_t write_queue_occupancy_sum = 0;  // entry-cycles
  Cycle cycles = 0;                        // cycles the occupancy sums cover (from cycle 0)

  std::vector<BankStats> banks;  // flat bank index: (rank * bank_groups + group) * banks_per_group + bank
  std::vector<RankEnergyCounters> ranks;  // per rank, as of the last sync_stats; merged totals add rank r of every channel

  double avg_read_latency() const { return reads ? double(read_latency_sum) / double(reads) : 0.0; }
  double avg_write_latency() const { return writes ? double(write_latency_sum) / double(writes) : 0.0; }
  double avg_read_queue_occupancy() const { return cycles ? double(read_queue_occupancy_sum) / double(cycles) : 0.0; }
  double avg_write_queue_occupancy() const {
    return cycles ? double(write_queue_occupancy_sum) / double(cycles) : 0.0;
  }
  uint64_t command_count(CommandKind k) const { return commands[static_cast<unsigned>(k)]; }

  // Adds `o` into this (for totals over channels); banks and histogram bins are added elementwise.
  void merge(const ChannelStats& o) {
    reads += o.reads;
    writes += o.writes;
    row_hits += o.row_hits;
    row_misses += o.row_misses;
    row_conflicts += o.row_conflicts;
    activates += o.activates;
    precharges += o.precharges;
    refreshes += o.refreshes;
    per_bank_refreshes += o.per_bank_refreshes;
    bytes_read += o.bytes_read;
    bytes_written += o.bytes_written;
    for (unsigned i = 0; i < kCommandKinds; ++i) commands[i] += o.commands[i];
    read_latency_sum += o.read_latency_sum;
    if (o.read_latency_max > read_latency_max) read_latency_max = o.read_latency_max;
    write_latency_sum += o.write_latency_sum;
    latency_bin = o.latency_bin;
    if (read_latency_histogram.size() < o.read_latency_histogram.size()) {
      read_latency_histogram.resize(o.read_latency_histogram.size());
    }
    for (size_t i = 0; i < o.read_latency_histogram.size(); ++i) read_latency_histogram[i] += o.read_latency_histogram[i];
    read_queue_occupancy_sum += o.read_queue_occupancy_sum;
    write_queue_occupancy_sum += o.write_queue_occupancy_sum;
    if (o.cycles > cycles) cycles = o.cycles;
    if (ranks.size() < o.ranks.size()) ranks.resize(o.ranks.size());
    for (size_t i = 0; i < o.ranks.size(); ++i) ranks[i].merge(o.ranks[i]);
    if (banks.size() < o.banks.size()) banks.resize(o.banks.size());
    for (size_t i = 0; i < o.banks.size(); ++i) {
      BankStats& b = banks[i];
      const BankStats& x = o.banks[i];
      b.reads += x.reads;
      b.writes += x.writes;
      b.row_hits += x.row_hits;
      b.row_misses += x.row_misses;
      b.row_conflicts += x.row_conflicts;
      b.activates += x.activates;
      b.precharges += x.precharges;
      b.refreshes += x.refreshes;
    }
  }
};

}  // namespace vmsim::dram
