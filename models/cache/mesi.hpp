// MESI states of a cached line and the pure transition table of a line in a private cache.
#pragma once

#include <cstdint>

namespace vmsim::cache {

// Coherence state of one line in one array. The order I < S < E < M is meaningful: a state "at least E"
// holds write permission.
enum class State : uint8_t { I = 0, S = 1, E = 2, M = 3 };

constexpr const char* to_string(State s) {
  return s == State::I ? "I" : s == State::S ? "S" : s == State::E ? "E" : "M";
}
constexpr bool is_valid(State s) { return s != State::I; }
constexpr bool is_exclusive(State s) { return s == State::E || s == State::M; }

// What happens to a line of a private cache.
enum class Event : uint8_t {
  Load,         // this core reads
  Store,        // this core writes
  Evict,        // the line is chosen as a replacement victim
  SnoopRead,    // another core reads (GetS)
  SnoopWrite,   // another core wants ownership (GetM or Upgrade)
  DeviceWrite,  // a DMA write covers the line: the device's data replaces memory's
  DeviceRead,   // a DMA read covers the line: memory must be up to date first
  Count
};
constexpr const char* to_string(Event e) {
  switch (e) {
    case Event::Load: return "Load";
    case Event::Store: return "Store";
    case Event::Evict: return "Evict";
    case Event::SnoopRead: return "SnoopRead";
    case Event::SnoopWrite: return "SnoopWrite";
    case Event::DeviceWrite: return "DeviceWrite";
    case Event::DeviceRead: return "DeviceRead";
    case Event::Count: break;
  }
  return "?";
}

// Actions a transition requires, as bits of Transition::actions.
enum Action : uint8_t {
  kNone = 0,
  kIssueGetS = 1u << 0,     // read miss: ask for a shared/exclusive copy
  kIssueGetM = 1u << 1,     // write miss: ask for the data with ownership
  kIssueUpgrade = 1u << 2,  // write hit on S: ask for ownership, the data is already here
  kWriteBack = 1u << 3,     // dirty data goes to the next level / memory
  kSupplyData = 1u << 4,    // this copy answers the snoop with its data (cache-to-cache transfer)
  kInvalidated = 1u << 5,   // a valid copy was removed by coherence (not by replacement)
};

struct Transition {
  State next = State::I;
  uint8_t actions = kNone;
  bool operator==(const Transition& o) const { return next == o.next && actions == o.actions; }
};

// The MESI transition of a private line in state s on event e. others_have_copy matters only for a Load
// in I (S if another cache holds the line, else E). Pure and total: every (state, event) has an answer
// (Event::Count is treated as "no change"). Stores upgrade E to M silently; S needs an Upgrade; a
// DeviceWrite drops dirty data (the device overwrote memory); a DeviceRead writes M back and keeps the
// line clean and exclusive (E).
Transition mesi_step(State s, Event e, bool others_have_copy);

}  // namespace vmsim::cache
