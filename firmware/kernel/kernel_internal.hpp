// Private to the kernel façade's source files (kernel.cpp, syscalls.cpp, threads.cpp, debug.cpp): the
// shared records and subsystems they use, and the façade as the swapper's and the huge pages' host.
#pragma once

#include "firmware/kernel/kernel.hpp"
#include "firmware/kernel/kernel_types.hpp"
#include "firmware/kernel/numa.hpp"
#include "firmware/kernel/swapper.hpp"

namespace vmsim::fw {

// The façade as the swapper's host: frame allocation by NUMA policy, frame references, shootdowns, kills.
class Kernel::SwapperLink final : public SwapperHost {
 public:
  explicit SwapperLink(Kernel& k) : m_k(k) {}
  std::optional<Pfn> alloc_user_frame(Hal& hal, Process& p, const Vma& vma, VirtAddr va, bool zero) override {
    return m_k.alloc_user_frame(hal, p, vma, va, zero);
  }
  void get_frame(Pfn pfn) override { m_k.get_frame(pfn); }
  void finish_shootdown(Hal& hal, const std::vector<CoreId>& targets, PhysAddr root, uint16_t pcid,
                        const std::vector<VirtAddr>& pages) override {
    m_k.finish_shootdown(hal, targets, root, pcid, pages);
  }
  void kill(Hal& hal, Process& p, VirtAddr va, AccessKind kind, uint32_t error_code, const std::string& reason,
            const char* signal) override {
    m_k.kill(hal, p, va, kind, error_code, reason, signal);
  }

 private:
  Kernel& m_k;
};

// The façade as the huge pages' host: frames by NUMA policy, table frames, frame references, shootdowns.
class Kernel::HugePagesLink final : public HugePagesHost {
 public:
  explicit HugePagesLink(Kernel& k) : m_k(k) {}
  std::optional<Pfn> alloc_user_block(Hal& hal, Process& p, const Vma& vma, VirtAddr va, unsigned order,
                                      bool zero) override {
    return m_k.alloc_user_block(hal, p, vma, va, order, zero);
  }
  std::optional<Pfn> alloc_table_frame(Hal& hal, Mm& mm) override { return m_k.alloc_table_frame(hal, mm); }
  void put_frame(Hal& hal, Pfn pfn) override { m_k.put_frame(hal, pfn); }
  uint32_t frame_refs(Pfn pfn) const override { return m_k.frame_refs(pfn); }
  void invalidate(Hal& hal, Mm& mm, const std::vector<VirtAddr>& pages) override { m_k.invalidate(hal, mm, pages); }
  void finish_shootdown(Hal& hal, const std::vector<CoreId>& targets, PhysAddr root, uint16_t pcid,
                        const std::vector<VirtAddr>& pages) override {
    m_k.finish_shootdown(hal, targets, root, pcid, pages);
  }

 private:
  Kernel& m_k;
};

}  // namespace vmsim::fw
