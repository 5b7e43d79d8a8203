// DRAM energy from datasheet IDD currents (the Micron TN-41-01 / DRAMPower method): per-command energies
// of a rank computed once from the configuration, multiplied by the channel's integer command counts and
// state-time integrals (dram_stats.hpp) only when statistics are read.
#pragma once

#include "models/dram/dram_config.hpp"
#include "models/dram/dram_stats.hpp"

namespace vmsim::dram {

// Energies of one rank of one (sub)channel in pJ, summed over both rails and the rank's devices.
// With V the rail voltage, t in ns (nCK * tCK) and I in mA (mA * V * ns = pJ):
//   act      = V (IDD0 - IDD3N) tRAS          per ACT
//   pre      = V (IDD0 - IDD2N) tRP           per bank precharged
//   rd / wr  = V (IDD4R|W - IDD3N) tBL        per RD / WR burst
//   ref      = V (IDD5B - IDD2N) tRFC         per all-bank REF
//   ref_bank = ref / banks_per_rank           per bank covered by a per-bank refresh
//   active_standby / precharged_standby = V IDD3N tCK / V IDD2N tCK   per cycle with a bank open / none
// An ACT-to-PRE cycle of tRAS + tRP therefore costs V IDD0 (tRAS + tRP) in total, as the IDD0 loop measures.
struct CommandEnergy {
  double act = 0;
  double pre = 0;
  double rd = 0;
  double wr = 0;
  double ref = 0;
  double ref_bank = 0;
  double active_standby = 0;      // per cycle
  double precharged_standby = 0;  // per cycle
};
CommandEnergy command_energy(const DramConfig& cfg);

// Energy by component, pJ.
struct EnergyBreakdown {
  double act = 0;
  double pre = 0;
  double rd = 0;
  double wr = 0;
  double ref = 0;
  double active_standby = 0;
  double precharged_standby = 0;

  double background() const { return active_standby + precharged_standby; }
  double total() const { return act + pre + rd + wr + ref + background(); }
  void add(const EnergyBreakdown& o);
};

// One rank's energy from its counters (precharged standby: cycles - active_cycles).
EnergyBreakdown rank_energy(const CommandEnergy& e, const RankEnergyCounters& c);
// The sum over a channel's (or merged channels') ranks.
EnergyBreakdown channel_energy(const CommandEnergy& e, const ChannelStats& s);

}  // namespace vmsim::dram
