// The HAL a guest kernel runs on (one per guest and core): the core's HAL seen from VMX non-root mode. The
// guest kernel's memory accesses name guest-physical addresses; the hypervisor translates them (backing the
// page first if needed: an EPT violation of the guest kernel) and makes them as host-physical transfers
// (Hal::dma_read/dma_write, never through the host's direct map), split at 4 KiB boundaries. Root-register
// writes are guest CR3 writes; invalidations and shootdowns act within the guest's VPID. Guests have no
// swap device and no kernel direct map.
#pragma once

#include "firmware/hal/hal.hpp"
#include "firmware/hv/hypervisor.hpp"

namespace vmsim::fw {

class GuestHal final : public Hal {
 public:
  GuestHal(Hypervisor& hv, size_t guest, CoreId core) : m_hv(hv), m_guest(guest), m_core(core) {}
  // The core's HAL, for the calls that follow.
  void bind(Hal& hal) { m_hal = &hal; }

  uint64_t read64(PhysAddr pa) override;
  void write64(PhysAddr pa, uint64_t value) override;
  void read_block(PhysAddr pa, uint8_t* data, uint64_t len) override { transfer(pa, data, len, false); }
  void write_block(PhysAddr pa, const uint8_t* data, uint64_t len) override {
    transfer(pa, const_cast<uint8_t*>(data), len, true);
  }
  void dma_read(PhysAddr pa, uint8_t* data, uint64_t len) override { transfer(pa, data, len, false); }
  void dma_write(PhysAddr pa, const uint8_t* data, uint64_t len) override {
    transfer(pa, const_cast<uint8_t*>(data), len, true);
  }
  void zero_frame(Pfn pfn) override;
  void set_direct_map(uint64_t, uint64_t) override {
    throw SimulationError("guest kernel: no kernel direct map in a guest (kernel_virtual_access is off there)");
  }
  void invlpg(VirtAddr va) override { m_hal->invlpg(va); }
  void set_root(PhysAddr root, uint16_t pcid) override;
  void invalidate_pcid(uint16_t pcid) override { m_hal->invalidate_pcid(pcid); }
  void invalidate_all_pcids() override { m_hal->invalidate_all_pcids(); }
  void kernel_enter() override { m_hal->kernel_enter(); }
  void kernel_exit() override { m_hal->kernel_exit(); }
  void shootdown_begin(const std::vector<CoreId>& cores) override { m_hal->shootdown_begin(cores); }
  void shootdown_end(const std::vector<CoreId>& cores, PhysAddr root, uint16_t pcid, const std::vector<VirtAddr>& pages,
                     uint64_t receiver_cycles) override;
  void shootdown_resume(const std::vector<CoreId>& cores) override { m_hal->shootdown_resume(cores); }
  void charge(uint64_t cycles) override { m_hal->charge(cycles); }
  CoreId core_id() const override { return m_core; }
  uint64_t now_ps() const override { return m_hal->now_ps(); }
  void swap_read(uint64_t, uint8_t*) override { no_swap(); }
  void swap_write(uint64_t, const uint8_t*) override { no_swap(); }
  uint64_t swap_submit(bool, uint64_t, uint8_t*) override { no_swap(); }
  void invalidate_page(PhysAddr root, uint16_t pcid, VirtAddr va) override;
  void invalidate_space(PhysAddr root, uint16_t pcid) override;
  bool wake_background(CoreId core) override { return m_hal->wake_background(core); }
  void wait_until(uint64_t ps) override { m_hal->wait_until(ps); }
  uint64_t memory_ops() const override { return m_hal->memory_ops(); }

 private:
  [[noreturn]] static void no_swap() {
    throw SimulationError("guest kernel: guests have no swap device (their memory is swapped by the host)");
  }
  void transfer(PhysAddr pa, uint8_t* data, uint64_t len, bool write);

  Hypervisor& m_hv;
  size_t m_guest;
  CoreId m_core;
  Hal* m_hal = nullptr;
};

}  // namespace vmsim::fw
