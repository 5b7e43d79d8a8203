// Descriptions of co-simulation operations.
#include "testbench/tlb_op.hpp"

#include <sstream>

namespace vmsim::rtl {

const char* to_string(OpKind k) {
  switch (k) {
    case OpKind::Lookup:
      return "lookup";
    case OpKind::Fill:
      return "fill";
    case OpKind::Invlpg:
      return "invlpg";
    case OpKind::InvAddr:
      return "invpcid-addr";
    case OpKind::InvPcid:
      return "invpcid-context";
    case OpKind::FlushNonGlobal:
      return "flush-non-global";
    case OpKind::FlushAll:
      return "flush-all";
  }
  return "?";
}

std::string describe(const mmu::TlbArrayEntry& e) {
  std::ostringstream s;
  s << std::hex << "vpn=0x" << e.vpn.value() << " pfn=0x" << e.pfn.value() << " size=" << mmu::to_string(e.size)
    << " leaf=" << mmu::to_string(e.leaf_size) << " pcid=0x" << e.pcid << (e.global ? " global" : "") << " perm="
    << (e.writable ? 'W' : '-') << (e.user ? 'U' : '-') << (e.no_execute ? "NX" : "--") << (e.dirty ? 'D' : '-');
  return s.str();
}

std::string describe(const TlbOp& op) {
  std::ostringstream s;
  s << to_string(op.kind);
  switch (op.kind) {
    case OpKind::Lookup:
    case OpKind::Invlpg:
    case OpKind::InvAddr:
      s << std::hex << " va=0x" << op.va.value() << " pcid=0x" << op.pcid;
      break;
    case OpKind::InvPcid:
      s << std::hex << " pcid=0x" << op.pcid;
      break;
    case OpKind::Fill:
      s << " " << describe(op.entry);
      break;
    default:
      break;
  }
  if (op.stall) s << std::dec << " (after a " << op.stall << "-cycle response stall)";
  return s.str();
}

}  // namespace vmsim::rtl
