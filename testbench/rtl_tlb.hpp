// SystemC wrapper of the Verilated RTL TLB (rtl/vmsim_tlb.sv): the operations of the model's TlbArray
// (lookup, fill, INVLPG, INVPCID, flushes) as blocking calls that drive the RTL's valid/ready channels and
// toggle its clock only while an operation is in flight. The ports are bound to delta-free wires
// (wire.hpp): an operation costs two delta cycles and two evaluations of the model (rising and falling
// edge).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "common/error.hpp"
#include "common/types.hpp"
#include "models/mmu/tlb_array.hpp"
#include "testbench/wire.hpp"

class VerilatedVcdC;

namespace vmsim::rtl {

// Parameters a Verilated variant was built with (testbench/CMakeLists.txt, vmsim_rtl_variant()).
struct RtlTlbParams {
  std::string name;                   // e.g. "lru_64x4"
  uint32_t entries = 0;
  uint32_t ways = 0;
  uint32_t pcid_width = 12;
  mmu::PageSizeMask page_sizes = 0;
  mmu::ReplacementPolicy replacement = mmu::ReplacementPolicy::Lru;
  std::string defines;                // bug-injection defines, empty for a correct build

  uint32_t sets() const { return entries / ways; }
  // The model configuration that must behave identically (hit_latency 1: the RTL answers in one cycle).
  mmu::TlbArrayConfig model_config() const;
  // "lru_64x4: 64 entries, 4 ways, lru, 4K,2M,1G"
  std::string describe() const;
};

// Result of a lookup: hit, where, and the entry that hit (valid = false on a miss).
struct RtlLookup {
  bool hit = false;
  uint32_t set = 0;
  uint32_t way = 0;
  mmu::TlbArrayEntry entry;
};

// The RTL reported a failed assertion (Verilator --assert) or broke its handshake; what() says which. A
// simulation error: vmsim exits with code 3.
class RtlAssertionError : public SimulationError {
 public:
  explicit RtlAssertionError(const std::string& msg) : SimulationError(msg) {}
};

class RtlTlb : public sc_core::sc_module {
 public:
  ~RtlTlb() override;

  // Operations. Blocking: call from an SC_THREAD. Each takes the previous response, issues one request,
  // clocks the RTL until it has been accepted and answered (one cycle unless a stall was requested),
  // and returns the response; the clock stops between calls and no simulated time passes (delta cycles
  // only). The first call resets the RTL. Throw std::invalid_argument for arguments the model's
  // TlbArray rejects (same rules) and RtlAssertionError if an RTL assertion fails.
  RtlLookup lookup(VirtAddr va, mmu::Pcid pcid);
  mmu::TlbFillResult fill(const mmu::TlbArrayEntry& e);
  mmu::TlbRemoved invlpg(VirtAddr va, mmu::Pcid pcid);
  mmu::TlbRemoved invpcid(mmu::InvpcidType type, mmu::Pcid pcid, VirtAddr va = VirtAddr{0});
  mmu::TlbRemoved flush_all() { return invpcid(mmu::InvpcidType::AllContextsInclGlobal, 0); }
  mmu::TlbRemoved flush_non_global() { return invpcid(mmu::InvpcidType::AllContextsExclGlobal, 0); }

  // The next operation first holds the previous response for `cycles` cycles (rsp_ready low) while its
  // own request waits (req_ready low): exercises both handshakes.
  void stall_next(unsigned cycles) { m_stall = cycles; }

  // Waveform: from now on, every clock phase is dumped to a VCD file (time = 10 units per cycle: inputs
  // applied with the clock low at 10c, rising edge at 10c+5). Requires Verilated::traceEverOn(true) before elaboration (see
  // enable_tracing()). Throws std::runtime_error if the file cannot be opened.
  void open_trace(const std::string& path);
  void close_trace();
  bool tracing() const { return m_vcd != nullptr; }
  // Must be called before any RtlTlb is constructed if open_trace() will be used.
  static void enable_tracing();

  const RtlTlbParams& params() const { return m_params; }
  uint64_t cycles() const { return m_cycles; }
  uint64_t operations() const { return m_ops; }

 protected:
  RtlTlb(const sc_core::sc_module_name& name, RtlTlbParams params);
  // Adds the Verilated model's signals to the trace file.
  virtual void trace_model(VerilatedVcdC& vcd) = 0;

  // Events. The Verilated model's evaluation is sensitive to every input; the input wires share one
  // event, but only the clock's is ever notified (once per evaluate(), whatever changed): the model
  // reads all inputs on every evaluation, and one event with one sensitive process is cheapest to fire.
  sc_core::sc_event m_clk_changed{"clk_changed"};
  sc_core::sc_event m_inputs_changed{"inputs_changed"};
  sc_core::sc_event m_never{"never"};
  // Port wires, bound by the variant (rtl_tlb_variant.hpp).
  Wire<bool> m_clk{"clk", m_clk_changed};
  Wire<bool> m_rst_n{"rst_n", m_inputs_changed};
  Wire<bool> m_req_valid{"req_valid", m_inputs_changed};
  Wire<bool> m_req_ready{"req_ready", m_never};
  Wire<uint32_t> m_req{"req", m_inputs_changed};
  Wire<uint64_t> m_req_vpn{"req_vpn", m_inputs_changed};
  Wire<uint64_t> m_req_pfn{"req_pfn", m_inputs_changed};
  Wire<bool> m_rsp_valid{"rsp_valid", m_never};
  Wire<bool> m_rsp_ready{"rsp_ready", m_inputs_changed};
  Wire<uint64_t> m_rsp{"rsp", m_never};
  Wire<uint64_t> m_rsp_vpn{"rsp_vpn", m_never};
  Wire<uint64_t> m_rsp_pfn{"rsp_pfn", m_never};
  Wire<uint64_t> m_rsp_removed{"rsp_removed", m_never};

 private:
  struct Response {
    uint64_t rsp = 0;
    uint64_t vpn = 0;
    uint64_t pfn = 0;
    uint64_t removed = 0;
  };
  // Drives one request (packed tlb_req_t, vpn, pfn) through both channels and returns its response.
  Response transact(uint32_t req, uint64_t vpn, uint64_t pfn);
  // Lets the Verilated model evaluate the inputs written since the last call (one delta cycle).
  void evaluate();
  // One clock cycle: the rising edge with the inputs written before, then the falling edge.
  void clock_cycle(bool keep_valid);
  void reset();
  void check_assertions();
  mmu::TlbArrayEntry entry_of(const Response& r) const;
  mmu::TlbRemoved removed_of(const Response& r) const;
  void check_pcid(mmu::Pcid pcid) const;

  RtlTlbParams m_params;
  bool m_reset_done = false;
  unsigned m_stall = 0;
  uint64_t m_cycles = 0;
  uint64_t m_ops = 0;
  std::unique_ptr<VerilatedVcdC> m_vcd;
};

// A Verilated variant: its parameters and a factory.
struct RtlVariant {
  RtlTlbParams params;
  std::function<std::unique_ptr<RtlTlb>(const sc_core::sc_module_name&)> make;
};

// The variants linked into this program (generated by testbench/CMakeLists.txt per library).
const std::vector<RtlVariant>& rtl_variants();
// The variant named `name`, or nullptr.
const RtlVariant* find_rtl_variant(const std::string& name);

// Checks that an array configured by cfg can be the RTL TLB and returns the variant built for it.
// Throws InputError naming path.key for what the RTL does not implement (TlbArrayConfig::validate_rtl)
// and path for a geometry no variant was built with (listing the variants).
const RtlVariant& rtl_variant_for(const mmu::TlbArrayConfig& cfg, const std::string& path);

}  // namespace vmsim::rtl
