// The future of a trace workload, read ahead before the run: for each virtual page, the positions of the
// operations that reference it. firmware.swap.policy opt asks it for each resident page's next use.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "firmware/swap/future.hpp"
#include "models/workload/workload.hpp"

namespace vmsim {

class TraceFuture final : public fw::FutureReferences {
 public:
  // Drains src: operation i (0-based, split tails included, as the core counts them) references page
  // va >> 12; at most `limit` operations (0: all). Host memory: 8 bytes per operation.
  TraceFuture(workload::Source& src, uint64_t limit);
  uint64_t next_use(uint64_t vpn, uint64_t from) const override;
  uint64_t operations() const { return m_ops; }

 private:
  std::unordered_map<uint64_t, std::vector<uint64_t>> m_uses;  // page -> positions, ascending
  uint64_t m_ops = 0;
};

}  // namespace vmsim
