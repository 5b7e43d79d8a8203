// Bit layout of the RTL TLB's packed ports (rtl/vmsim_tlb_pkg.sv: tlb_req_t, tlb_rsp_t, tlb_removed_t)
// as the Verilated model presents them: one integer per port, the first struct field most significant.
#pragma once

#include <cstdint>

namespace vmsim::rtl::enc {

// tlb_op_e
enum class Op : uint32_t {
  Lookup = 0,
  Fill = 1,
  Invlpg = 2,
  InvAddr = 3,
  InvPcid = 4,
  FlushNonGlobal = 5,
  FlushAll = 6
};

// A field of `width` bits at bit `lsb`.
struct Field {
  unsigned lsb;
  unsigned width;
  constexpr uint64_t get(uint64_t word) const { return (word >> lsb) & ((uint64_t{1} << width) - 1); }
  constexpr uint64_t put(uint64_t value) const { return (value & ((uint64_t{1} << width) - 1)) << lsb; }
};

// tlb_perm_t {write, user, no_exec, dirty}: 4 bits.
constexpr Field kPermWrite{3, 1};
constexpr Field kPermUser{2, 1};
constexpr Field kPermNoExec{1, 1};
constexpr Field kPermDirty{0, 1};

// tlb_req_t {op[3], pcid[12], size[2], leaf_size[2], is_global, perm[4]}: 24 bits.
constexpr Field kReqOp{21, 3};
constexpr Field kReqPcid{9, 12};
constexpr Field kReqSize{7, 2};
constexpr Field kReqLeafSize{5, 2};
constexpr Field kReqGlobal{4, 1};
constexpr Field kReqPerm{0, 4};
constexpr unsigned kReqWidth = 24;

// tlb_rsp_t {hit, replaced, evicted, dropped[6], set_index[20], way[6], size[2], leaf_size[2], is_global,
// perm[4], pcid[12]}: 56 bits.
constexpr Field kRspHit{55, 1};
constexpr Field kRspReplaced{54, 1};
constexpr Field kRspEvicted{53, 1};
constexpr Field kRspDropped{47, 6};
constexpr Field kRspSet{27, 20};
constexpr Field kRspWay{21, 6};
constexpr Field kRspSize{19, 2};
constexpr Field kRspLeafSize{17, 2};
constexpr Field kRspGlobal{16, 1};
constexpr Field kRspPerm{12, 4};
constexpr Field kRspPcid{0, 12};
constexpr unsigned kRspWidth = 56;

// tlb_removed_t: [NumPageSizes][21], element 0 (4 KiB) least significant.
constexpr unsigned kRemovedCountWidth = 21;
constexpr Field removed_count(unsigned size_index) { return Field{size_index * kRemovedCountWidth, kRemovedCountWidth}; }

}  // namespace vmsim::rtl::enc
