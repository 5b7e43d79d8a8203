// What a run knows of a process's future: the virtual pages its trace will reference, read ahead before
// the run. Belady's opt policy in a run asks it how far away each resident page's next use is.
#pragma once

#include <cstdint>
#include <limits>

namespace vmsim::fw {

class FutureReferences {
 public:
  static constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
  virtual ~FutureReferences() = default;
  // Position of the first reference to virtual page vpn (address >> 12) at or after position `from`, or
  // kNever. Positions count the process's memory operations from 0, as its core completes them.
  virtual uint64_t next_use(uint64_t vpn, uint64_t from) const = 0;
};

}  // namespace vmsim::fw
