// The firmware's configuration: checks of the `firmware` section, and the names of system calls.
#include "firmware/kernel/kernel_config.hpp"

#include "common/units.hpp"

namespace vmsim::fw {

const char* to_string(SyscallKind k) { return config::enum_name(k); }

const char* to_string(VmExitReason r) { return r == VmExitReason::EptViolation ? "EPT violation" : "EPT misconfiguration"; }

void KernelConfig::validate(const std::string& path) const {
  config::require(page_table_levels == 4 || page_table_levels == 5, path, "page_table_levels",
                  std::to_string(page_table_levels), "must be 4 or 5");
  config::require(reserved_low.value % kPageSize == 0, path, "reserved_low", format_bytes(reserved_low),
                  "must be a multiple of 4KiB");
  config::require(page_descriptor_bytes <= kPageSize, path, "page_descriptor_bytes",
                  std::to_string(page_descriptor_bytes), "must be <= 4096");
  config::require(physmem.dma_limit.value % kPageSize == 0, path + ".physmem", "dma_limit",
                  format_bytes(physmem.dma_limit), "must be a multiple of 4KiB");
  config::require(physmem.pcp_high == 0 || (physmem.pcp_batch >= 1 && physmem.pcp_batch <= physmem.pcp_high),
                  path + ".physmem", "pcp_batch", std::to_string(physmem.pcp_batch),
                  "must be between 1 and pcp_high (" + std::to_string(physmem.pcp_high) + ")");
  config::require(overcommit_ratio >= 1 && overcommit_ratio <= 1000, path, "overcommit_ratio",
                  std::to_string(overcommit_ratio), "must be between 1 and 1000");
  config::require(max_map_count >= 1, path, "max_map_count", std::to_string(max_map_count), "must be >= 1");
  config::require(stack_limit.value % kPageSize == 0, path, "stack_limit", format_bytes(stack_limit),
                  "must be a multiple of 4KiB");
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string fp = path + ".files[" + std::to_string(i) + "]";
    config::require(!files[i].name.empty(), fp, "name", files[i].name, "a file needs a name");
    config::require(files[i].size.value > 0 && files[i].size.value % kPageSize == 0, fp, "size",
                    format_bytes(files[i].size), "must be a positive multiple of 4KiB");
    for (size_t j = 0; j < i; ++j) {
      config::require(files[j].name != files[i].name, fp, "name", files[i].name, "another file has that name");
    }
  }
  const LoadBalanceConfig& lb = scheduler.load_balance;
  if (lb.enabled) {
    config::require(lb.period >= 1, path + ".scheduler.load_balance", "period", std::to_string(lb.period),
                    "must be >= 1");
    config::require(lb.threshold >= 2, path + ".scheduler.load_balance", "threshold", std::to_string(lb.threshold),
                    "must be >= 2");
  }
  const NumaBalancingConfig& nb = numa_balancing;
  if (nb.enabled) {
    config::require(nb.scan_period >= 1, path + ".numa_balancing", "scan_period", std::to_string(nb.scan_period),
                    "must be >= 1");
    config::require(nb.scan_size.value >= kPageSize && nb.scan_size.value % kPageSize == 0,
                    path + ".numa_balancing", "scan_size", format_bytes(nb.scan_size),
                    "must be a positive multiple of 4KiB");
    config::require(kind == FirmwareKind::Full, path + ".numa_balancing", "enabled", "true",
                    "needs firmware.kind full (the fixed firmware has no page migration)");
  }
  if (kpti) {
    config::require(kind == FirmwareKind::Full && kernel_virtual_access, path, "kpti", "true",
                    "needs firmware.kind full and firmware.kernel_virtual_access: true (a kernel half to isolate)");
  }
  if (tiering.enabled) {
    config::require(kind == FirmwareKind::Full, path + ".tiering", "enabled", "true",
                    "needs firmware.kind full (the fixed firmware has no reclaim or page migration)");
    if (tiering.promotion) {
      config::require(numa_balancing.scan_period >= 1, path + ".numa_balancing", "scan_period",
                      std::to_string(numa_balancing.scan_period), "must be >= 1 (the tiering promotion scan uses it)");
      config::require(numa_balancing.scan_size.value >= kPageSize && numa_balancing.scan_size.value % kPageSize == 0,
                      path + ".numa_balancing", "scan_size", format_bytes(numa_balancing.scan_size),
                      "must be a positive multiple of 4KiB (the tiering promotion scan uses it)");
    }
  }
  swap.validate(path + ".swap");
}

}  // namespace vmsim::fw
