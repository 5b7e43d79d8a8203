// Fidelity mode of a run (sim.mode).
#pragma once

#include <utility>
#include <vector>

#include "common/config.hpp"

namespace vmsim {

// functional: no timing, debug transport and DMI (fault counts, miss rates). lt: TLM-2.0 blocking
// transport with temporal decoupling. at: every memory transaction runs the non-blocking 4-phase base
// protocol through the interconnect and the memory controllers, in SystemC time (no decoupling), so
// requests of different cores meet in the DRAM queues in their true order.
enum class SimMode { Functional, Lt, At };

}  // namespace vmsim

template <>
struct vmsim::config::EnumNames<vmsim::SimMode> {
  static const std::vector<std::pair<vmsim::SimMode, const char*>>& table() {
    static const std::vector<std::pair<vmsim::SimMode, const char*>> t = {{vmsim::SimMode::Functional, "functional"},
                                                                          {vmsim::SimMode::Lt, "lt"},
                                                                          {vmsim::SimMode::At, "at"}};
    return t;
  }
};
