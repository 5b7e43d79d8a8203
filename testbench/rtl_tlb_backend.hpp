// The RTL TLB as the implementation of a model TLB array (impl: rtl): the MMU's TlbArray hands its
// operations to this backend, which drives the Verilated RTL through RtlTlb.
#pragma once

#include <memory>
#include <string>
#include <systemc>

#include "models/mmu/tlb_array.hpp"
#include "testbench/rtl_tlb.hpp"

namespace vmsim::rtl {

class RtlTlbBackend final : public mmu::TlbArrayBackend {
 public:
  explicit RtlTlbBackend(std::unique_ptr<RtlTlb> rtl) : m_rtl(std::move(rtl)) {}

  // Until the first fill the RTL is empty (as after reset): lookups miss and invalidations remove
  // nothing, and neither changes its state, so those answers are given without clocking it (they may come
  // before the simulation runs, where an RTL operation could not wait).
  mmu::TlbHit lookup(VirtAddr va, mmu::Pcid pcid) override;
  mmu::TlbFillResult fill(const mmu::TlbArrayEntry& e) override;
  mmu::TlbRemoved invlpg(VirtAddr va, mmu::Pcid pcid) override;
  mmu::TlbRemoved invpcid(mmu::InvpcidType type, mmu::Pcid pcid, VirtAddr va) override;

  RtlTlb& rtl() { return *m_rtl; }

 private:
  std::unique_ptr<RtlTlb> m_rtl;
  bool m_filled = false;
  mmu::TlbArrayEntry m_hit;  // the entry of the last lookup hit
};

// The RTL implementation of an array configured at `path` (impl: rtl): an RtlTlb named `name` under the
// module being constructed. Throws InputError (rtl_variant_for) if no Verilated variant fits.
std::unique_ptr<RtlTlbBackend> make_rtl_tlb_backend(const mmu::TlbArrayConfig& cfg, const std::string& path,
                                                           const char* name);

}  // namespace vmsim::rtl
