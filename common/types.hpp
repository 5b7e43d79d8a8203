// Strong address and index types shared by models, firmware and tests, so that a
// virtual/physical mix-up fails to compile.
#pragma once

#include <cstdint>
#include <functional>

namespace vmsim {

constexpr unsigned kPageShift = 12;
constexpr uint64_t kPageSize = uint64_t{1} << kPageShift;
constexpr uint64_t kPageMask = kPageSize - 1;
constexpr uint64_t kCacheLineSize = 64;

// A tagged 64-bit integer. Tags make VirtAddr, PhysAddr, Pfn and Vpn distinct types.
template <class Tag>
class StrongU64 {
 public:
  constexpr StrongU64() = default;
  constexpr explicit StrongU64(uint64_t v) : m_value(v) {}
  constexpr uint64_t value() const { return m_value; }
  constexpr bool operator==(StrongU64 o) const { return m_value == o.m_value; }
  constexpr bool operator!=(StrongU64 o) const { return m_value != o.m_value; }
  constexpr bool operator<(StrongU64 o) const { return m_value < o.m_value; }
  constexpr bool operator<=(StrongU64 o) const { return m_value <= o.m_value; }
  constexpr bool operator>(StrongU64 o) const { return m_value > o.m_value; }
  constexpr bool operator>=(StrongU64 o) const { return m_value >= o.m_value; }

 private:
  uint64_t m_value = 0;
};

struct VirtAddrTag {};
struct PhysAddrTag {};
struct PfnTag {};
struct VpnTag {};

using VirtAddr = StrongU64<VirtAddrTag>;  // a virtual (linear) address
using PhysAddr = StrongU64<PhysAddrTag>;  // a physical address
using Pfn = StrongU64<PfnTag>;            // a physical frame number (PhysAddr >> 12)
using Vpn = StrongU64<VpnTag>;            // a virtual page number (VirtAddr >> 12)

constexpr Pfn pfn_of(PhysAddr pa) { return Pfn{pa.value() >> kPageShift}; }
constexpr PhysAddr addr_of(Pfn pfn) { return PhysAddr{pfn.value() << kPageShift}; }
constexpr Vpn vpn_of(VirtAddr va) { return Vpn{va.value() >> kPageShift}; }
constexpr VirtAddr addr_of(Vpn vpn) { return VirtAddr{vpn.value() << kPageShift}; }
constexpr uint64_t page_offset(VirtAddr va) { return va.value() & kPageMask; }

// Kind of a memory access as the MMU sees it.
enum class AccessKind : uint8_t { Read, Write, Fetch };

constexpr const char* to_string(AccessKind k) {
  return k == AccessKind::Read ? "read" : k == AccessKind::Write ? "write" : "fetch";
}

using CoreId = unsigned;
using Pid = unsigned;

}  // namespace vmsim

template <class Tag>
struct std::hash<vmsim::StrongU64<Tag>> {
  size_t operator()(vmsim::StrongU64<Tag> v) const noexcept { return std::hash<uint64_t>{}(v.value()); }
};
