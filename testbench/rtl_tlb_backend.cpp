// The RTL TLB behind a model TlbArray (impl: rtl).
#include "testbench/rtl_tlb_backend.hpp"

namespace vmsim::rtl {

mmu::TlbHit RtlTlbBackend::lookup(VirtAddr va, mmu::Pcid pcid) {
  if (!m_filled) return mmu::TlbHit{};
  const RtlLookup l = m_rtl->lookup(va, pcid);
  if (!l.hit) return mmu::TlbHit{};
  m_hit = l.entry;
  return mmu::TlbHit{&m_hit, l.set, l.way};
}

mmu::TlbFillResult RtlTlbBackend::fill(const mmu::TlbArrayEntry& e) {
  m_filled = true;
  return m_rtl->fill(e);
}

mmu::TlbRemoved RtlTlbBackend::invlpg(VirtAddr va, mmu::Pcid pcid) {
  if (!m_filled) return mmu::TlbRemoved{};
  return m_rtl->invlpg(va, pcid);
}

mmu::TlbRemoved RtlTlbBackend::invpcid(mmu::InvpcidType type, mmu::Pcid pcid, VirtAddr va) {
  if (!m_filled) return mmu::TlbRemoved{};
  return m_rtl->invpcid(type, pcid, va);
}

std::unique_ptr<RtlTlbBackend> make_rtl_tlb_backend(const mmu::TlbArrayConfig& cfg, const std::string& path,
                                                           const char* name) {
  const RtlVariant& v = rtl_variant_for(cfg, path);
  return std::make_unique<RtlTlbBackend>(v.make(name));
}

}  // namespace vmsim::rtl
