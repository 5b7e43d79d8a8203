// Private to the kernel façade (kernel.cpp): the façade as the host of each subsystem, forwarding what the
// subsystem asks back to the façade's shared services.
#pragma once

#include "firmware/kernel/kernel.hpp"
#include "firmware/kernel/kernel_types.hpp"
#include "firmware/kernel/numa.hpp"
#include "firmware/kernel/numa_balancing.hpp"
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
  void release_moved_frame(Hal& hal, Pfn pfn) override { m_k.put_frame(hal, pfn); }
  void finish_shootdown(Hal& hal, const std::vector<CoreId>& targets, PhysAddr root, uint16_t pcid,
                        const std::vector<VirtAddr>& pages) override {
    m_k.finish_shootdown(hal, targets, root, pcid, pages);
  }
  void kill(Hal& hal, Process& p, VirtAddr va, AccessKind kind, uint32_t error_code, const std::string& reason,
            const char* signal) override {
    m_k.m_faults.kill(hal, p, va, kind, error_code, reason, signal);
  }

 private:
  Kernel& m_k;
};

// The façade as the NUMA balancer's host: frame references, shootdowns.
class Kernel::NumaBalancingLink final : public NumaBalancingHost {
 public:
  explicit NumaBalancingLink(Kernel& k) : m_k(k) {}
  void put_frame(Hal& hal, Pfn pfn) override { m_k.put_frame(hal, pfn); }
  uint32_t frame_refs(Pfn pfn) const override { return m_k.frame_refs(pfn); }
  void finish_shootdown(Hal& hal, const std::vector<CoreId>& targets, Mm& mm, const std::vector<VirtAddr>& pages,
                        bool flush_all) override {
    if (!flush_all) {
      m_k.finish_shootdown(hal, targets, user_space(mm).root, user_space(mm).pcid, pages);
      return;
    }
    // Every translation of mm on each target (pages empty), with the IPIs counted and charged.
    ++m_k.m_shootdowns;
    m_k.m_ipis += targets.size();
    hal.charge(m_k.m_cfg.costs.ipi_send * targets.size());
    hal.shootdown_end(targets, user_space(mm).root, user_space(mm).pcid, {}, m_k.m_cfg.costs.ipi_receive);
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

// The façade as the fault handler's host: user and table frames, frame references, invalidations.
class Kernel::FaultsLink final : public FaultsHost {
 public:
  explicit FaultsLink(Kernel& k) : m_k(k) {}
  std::optional<Pfn> alloc_user_frame(Hal& hal, Process& p, const Vma& vma, VirtAddr va, bool zero) override {
    return m_k.alloc_user_frame(hal, p, vma, va, zero);
  }
  std::optional<Pfn> alloc_table_frame(Hal& hal, Mm& mm) override { return m_k.alloc_table_frame(hal, mm); }
  void get_frame(Pfn pfn) override { m_k.get_frame(pfn); }
  void put_frame(Hal& hal, Pfn pfn) override { m_k.put_frame(hal, pfn); }
  void free_frame(Hal& hal, Pfn pfn) override { m_k.free_frame(hal, pfn); }
  uint32_t frame_refs(Pfn pfn) const override { return m_k.frame_refs(pfn); }
  void invalidate(Hal& hal, Mm& mm, const std::vector<VirtAddr>& pages) override { m_k.invalidate(hal, mm, pages); }

 private:
  Kernel& m_k;
};

// The façade as the host of process life cycles: frames, kernel objects, segments, shootdowns.
class Kernel::ProcessesLink final : public ProcessesHost {
 public:
  explicit ProcessesLink(Kernel& k) : m_k(k) {}
  std::optional<Pfn> alloc_root_table(Hal& hal) override { return m_k.alloc_root(hal); }
  std::optional<Pfn> alloc_user_root_table(Hal& hal) override { return m_k.alloc_user_root(hal); }
  void leave_mm(Hal& hal, const Mm& mm) override { m_k.leave_mm(hal, mm); }
  std::optional<Pfn> alloc_table_frame(Hal& hal, Mm& mm) override { return m_k.alloc_table_frame(hal, mm); }
  void get_frame(Pfn pfn) override { m_k.get_frame(pfn); }
  void put_frame(Hal& hal, Pfn pfn) override { m_k.put_frame(hal, pfn); }
  void free_frame(Hal& hal, Pfn pfn) override { m_k.free_frame(hal, pfn); }
  void free_huge_leaf(Hal& hal, Pfn first, unsigned level) override { m_k.free_huge_leaf(hal, first, level); }
  void invalidate(Hal& hal, Mm& mm, const std::vector<VirtAddr>& pages) override { m_k.invalidate(hal, mm, pages); }
  void shootdown_pcid(Hal& hal, Mm& mm) override { m_k.shootdown_pcid(hal, mm); }
  void harvest_file_dirty(Hal& hal, Mm& mm, VirtAddr start, VirtAddr end) override {
    m_k.harvest_file_dirty(hal, mm, start, end);
  }
  void release_segments(Hal& hal) override { m_k.release_segments(hal); }
  std::optional<PhysAddr> kobj_alloc(Hal& hal, SlabCache& cache) override { return m_k.kobj_alloc(hal, cache); }
  void kobj_free(Hal& hal, SlabCache& cache, PhysAddr obj) override { m_k.kobj_free(hal, cache, obj); }
  bool sync_vma_objects(Hal& hal, Mm& mm) override { return m_k.sync_vma_objects(hal, mm); }
  void shrink_slabs() override { m_k.m_slab->shrink_all(); }

 private:
  Kernel& m_k;
};

// The façade as the system calls' host: frame references, invalidations, kernel objects, segments.
class Kernel::SyscallsLink final : public SyscallsHost {
 public:
  explicit SyscallsLink(Kernel& k) : m_k(k) {}
  void put_frame(Hal& hal, Pfn pfn) override { m_k.put_frame(hal, pfn); }
  uint32_t frame_refs(Pfn pfn) const override { return m_k.frame_refs(pfn); }
  void invalidate(Hal& hal, Mm& mm, const std::vector<VirtAddr>& pages) override { m_k.invalidate(hal, mm, pages); }
  std::optional<PhysAddr> kobj_alloc(Hal& hal, SlabCache& cache) override { return m_k.kobj_alloc(hal, cache); }
  bool sync_vma_objects(Hal& hal, Mm& mm) override { return m_k.sync_vma_objects(hal, mm); }
  void harvest_file_dirty(Hal& hal, Mm& mm, VirtAddr start, VirtAddr end) override {
    m_k.harvest_file_dirty(hal, mm, start, end);
  }
  void release_segments(Hal& hal) override { m_k.release_segments(hal); }

 private:
  Kernel& m_k;
};

}  // namespace vmsim::fw
