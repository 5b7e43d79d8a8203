// Fidelity mode of a run (sim.mode).
#pragma once

#include <utility>
#include <vector>

#include "models/common/config.hpp"

namespace vmsim {

// functional: no timing, debug transport (fault counts, miss rates). lt: TLM-2.0 blocking transport
// with temporal decoupling. The AT (non-blocking) mode arrives with issue B.
enum class SimMode { Functional, Lt };

}  // namespace vmsim

template <>
struct vmsim::config::EnumNames<vmsim::SimMode> {
  static const std::vector<std::pair<vmsim::SimMode, const char*>>& table() {
    static const std::vector<std::pair<vmsim::SimMode, const char*>> t = {{vmsim::SimMode::Functional, "functional"},
                                                                          {vmsim::SimMode::Lt, "lt"}};
    return t;
  }
};
