// Plain data shared by the DRAM timing core: index types, DRAM commands, requests and completions.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

namespace vmsim::dram {

// A cycle count in DRAM command-clock cycles (tCK).
using Cycle = uint64_t;
constexpr Cycle kNever = std::numeric_limits<Cycle>::max();

// Strong indices: a rank, a bank group within its rank, a bank within its bank group.
enum class Rank : uint8_t {};
enum class BankGroup : uint8_t {};
enum class Bank : uint8_t {};

constexpr unsigned index(Rank r) { return static_cast<unsigned>(r); }
constexpr unsigned index(BankGroup g) { return static_cast<unsigned>(g); }
constexpr unsigned index(Bank b) { return static_cast<unsigned>(b); }

// DRAM commands. PreA precharges every bank of a rank; RdA/WrA carry auto-precharge; Ref is an
// all-bank refresh of a rank; RefSb is a per-bank refresh (DDR5 REFsb: the bank index in every bank
// group; LPDDR5 REFpb / HBM2 REFSB: one bank).
enum class CommandKind : uint8_t { Act, Pre, PreA, Rd, RdA, Wr, WrA, Ref, RefSb };
constexpr unsigned kCommandKinds = 9;

constexpr const char* to_string(CommandKind k) {
  switch (k) {
    case CommandKind::Act: return "ACT";
    case CommandKind::Pre: return "PRE";
    case CommandKind::PreA: return "PREA";
    case CommandKind::Rd: return "RD";
    case CommandKind::RdA: return "RDA";
    case CommandKind::Wr: return "WR";
    case CommandKind::WrA: return "WRA";
    case CommandKind::Ref: return "REF";
    case CommandKind::RefSb: return "REFsb";
  }
  return "?";
}

constexpr bool is_read(CommandKind k) { return k == CommandKind::Rd || k == CommandKind::RdA; }
constexpr bool is_write(CommandKind k) { return k == CommandKind::Wr || k == CommandKind::WrA; }
constexpr bool is_column(CommandKind k) { return is_read(k) || is_write(k); }

// One command on a channel's command bus. Fields a command does not use (row of a PRE, bank of a REF)
// are zero. `column` is the first column of the burst.
struct Command {
  CommandKind kind = CommandKind::Act;
  Rank rank{};
  BankGroup bank_group{};
  Bank bank{};
  uint32_t row = 0;
  uint32_t column = 0;
  Cycle cycle = 0;
};

// "RD r0 bg1 b2 row 17 col 64 @1234"
std::string to_string(const Command& c);

// A memory request as the controller sees it. `arrival` is the DRAM cycle at which it reaches the
// controller; latency is measured from there.
struct Request {
  uint64_t id = 0;
  uint64_t address = 0;  // physical byte address; decoded by the AddressMapper
  bool is_write = false;
  Cycle arrival = 0;
};

// A finished request. `cycle` is the cycle at which its last data beat has crossed the DRAM bus:
// reads RD + CL + tBL, writes WR + CWL + tBL (the write data has been accepted by the device).
struct Completion {
  uint64_t id = 0;
  Cycle cycle = 0;
  bool is_write = false;
};

}  // namespace vmsim::dram
