// sim.check_data: every read must return 0 or its own operation's pattern (each written word holds its
// virtual address), else the run stops naming the address.
#include <algorithm>
#include <cstring>

#include "common/error.hpp"
#include "models/cpu/core.hpp"

namespace vmsim::cpu {

void Core::check_read(Pid pid, const workload::MemOp& op, const uint8_t* data) const {
  const uint32_t size = op.size == 0 ? 1 : op.size;
  uint8_t expect[64];  // operations are at most a cache line
  const uint64_t pattern = op.va.value();
  for (uint32_t off = 0; off < size; off += 8) std::memcpy(expect + off, &pattern, std::min<uint32_t>(8, size - off));
  if (std::memcmp(data, expect, size) == 0) return;
  bool zero = true;
  for (uint32_t i = 0; i < size; ++i) zero = zero && data[i] == 0;
  if (zero) return;
  uint64_t got = 0;
  std::memcpy(&got, data, std::min<uint32_t>(8, size));
  throw SimulationError(std::string(name()) + ": data check failed: process " + std::to_string(pid) + " read " +
                        std::to_string(size) + " bytes at virtual address " + format_hex(op.va.value()) + " and got " +
                        format_hex(got) + ", expected " + format_hex(pattern) +
                        " or 0 (a page's contents were lost or misplaced)");
}

}  // namespace vmsim::cpu
