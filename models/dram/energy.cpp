// Per-command DRAM energies from the configured IDD currents, and energy from counters.
#include "models/dram/energy.hpp"

namespace vmsim::dram {
namespace {

// pJ of one rail's current `ma` for `cycles` clocks: mA * V * ns.
double rail_pj(const PowerRail& r, double ma, double cycles, double tck_ns) { return ma * r.voltage_V * cycles * tck_ns; }

}  // namespace

CommandEnergy command_energy(const DramConfig& cfg) {
  const TimingParams& t = cfg.timing;
  const double tck_ns = double(t.tCK_ps) / 1000.0;
  const double n = cfg.power.devices;
  CommandEnergy e;
  for (const PowerRail* r : {&cfg.power.rail1, &cfg.power.rail2}) {
    e.act += n * rail_pj(*r, r->IDD0_mA - r->IDD3N_mA, double(t.tRAS), tck_ns);
    e.pre += n * rail_pj(*r, r->IDD0_mA - r->IDD2N_mA, double(t.tRP), tck_ns);
    e.rd += n * rail_pj(*r, r->IDD4R_mA - r->IDD3N_mA, double(t.tBL), tck_ns);
    e.wr += n * rail_pj(*r, r->IDD4W_mA - r->IDD3N_mA, double(t.tBL), tck_ns);
    e.ref += n * rail_pj(*r, r->IDD5B_mA - r->IDD2N_mA, double(t.tRFC), tck_ns);
    e.active_standby += n * rail_pj(*r, r->IDD3N_mA, 1.0, tck_ns);
    e.precharged_standby += n * rail_pj(*r, r->IDD2N_mA, 1.0, tck_ns);
  }
  const uint64_t banks = cfg.organisation.banks_per_rank();
  e.ref_bank = banks ? e.ref / double(banks) : 0.0;
  return e;
}

void EnergyBreakdown::add(const EnergyBreakdown& o) {
  act += o.act;
  pre += o.pre;
  rd += o.rd;
  wr += o.wr;
  ref += o.ref;
  active_standby += o.active_standby;
  precharged_standby += o.precharged_standby;
}

EnergyBreakdown rank_energy(const CommandEnergy& e, const RankEnergyCounters& c) {
  EnergyBreakdown b;
  b.act = e.act * double(c.activates);
  b.pre = e.pre * double(c.precharges);
  b.rd = e.rd * double(c.read_bursts);
  b.wr = e.wr * double(c.write_bursts);
  b.ref = e.ref * double(c.refreshes) + e.ref_bank * double(c.refreshed_banks);
  const Cycle active = c.active_cycles < c.cycles ? c.active_cycles : c.cycles;
  b.active_standby = e.active_standby * double(active);
  b.precharged_standby = e.precharged_standby * double(c.cycles - active);
  return b;
}

EnergyBreakdown channel_energy(const CommandEnergy& e, const ChannelStats& s) {
  EnergyBreakdown total;
  for (const RankEnergyCounters& c : s.ranks) total.add(rank_energy(e, c));
  return total;
}

}  // namespace vmsim::dram
