// The MESI transition table of a private cache line.
#include "models/cache/mesi.hpp"

namespace vmsim::cache {

Transition mesi_step(State s, Event e, bool others_have_copy) {
  switch (e) {
    case Event::Load:
      if (s == State::I) return {others_have_copy ? State::S : State::E, kIssueGetS};
      return {s, kNone};
    case Event::Store:
      if (s == State::I) return {State::M, kIssueGetM};
      if (s == State::S) return {State::M, kIssueUpgrade};
      return {State::M, kNone};
    case Event::Evict:
      return {State::I, s == State::M ? kWriteBack : kNone};
    case Event::SnoopRead:
      if (s == State::M) return {State::S, static_cast<uint8_t>(kSupplyData | kWriteBack)};
      if (s == State::E) return {State::S, kSupplyData};
      return {s, kNone};
    case Event::SnoopWrite:
      if (s == State::I) return {State::I, kNone};
      if (s == State::S) return {State::I, kInvalidated};
      return {State::I, static_cast<uint8_t>(kInvalidated | kSupplyData)};
    case Event::DeviceWrite:
      return {State::I, s == State::I ? kNone : kInvalidated};
    case Event::DeviceRead:
      if (s == State::M) return {State::E, kWriteBack};
      return {s, kNone};
    case Event::Count:
      break;
  }
  return {s, kNone};
}

}  // namespace vmsim::cache
