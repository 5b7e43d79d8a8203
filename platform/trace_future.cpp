#include "platform/trace_future.hpp"

#include <algorithm>

namespace vmsim {

TraceFuture::TraceFuture(workload::Source& src, uint64_t limit) {
  std::vector<workload::MemOp> batch(4096);
  for (;;) {
    const size_t n = src.next_batch(batch.data(), batch.size());
    for (size_t i = 0; i < n && (limit == 0 || m_ops < limit); ++i) {
      m_uses[batch[i].va.value() >> kPageShift].push_back(m_ops++);
    }
    if (n < batch.size() || (limit != 0 && m_ops >= limit)) break;
  }
}

uint64_t TraceFuture::next_use(uint64_t vpn, uint64_t from) const {
  const auto it = m_uses.find(vpn);
  if (it == m_uses.end()) return kNever;
  const auto pos = std::lower_bound(it->second.begin(), it->second.end(), from);
  return pos == it->second.end() ? kNever : *pos;
}

}  // namespace vmsim
