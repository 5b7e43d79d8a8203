// Text forms of DRAM commands.
#include "models/dram/dram_types.hpp"

namespace vmsim::dram {

std::string to_string(const Command& c) {
  std::string s = to_string(c.kind);
  s += " r" + std::to_string(index(c.rank));
  if (c.kind != CommandKind::Ref && c.kind != CommandKind::PreA) {
    s += " bg" + std::to_string(index(c.bank_group)) + " b" + std::to_string(index(c.bank));
  }
  if (c.kind == CommandKind::Act || is_column(c.kind)) s += " row " + std::to_string(c.row);
  if (is_column(c.kind)) s += " col " + std::to_string(c.column);
  s += " @" + std::to_string(c.cycle);
  return s;
}

}  // namespace vmsim::dram
