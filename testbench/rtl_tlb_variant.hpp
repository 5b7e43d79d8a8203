// A Verilated variant of the RTL TLB behind the RtlTlb interface: binds the model's ports to the
// wrapper's signals. Included only by the generated per-variant factories (variant.cpp.in).
#pragma once

#include <verilated_vcd_c.h>

#include "testbench/rtl_tlb.hpp"

namespace vmsim::rtl {

template <class Model>
class RtlTlbModel final : public RtlTlb {
 public:
  RtlTlbModel(const sc_core::sc_module_name& name, RtlTlbParams params)
      : RtlTlb(name, std::move(params)), m_dut("dut") {
    m_dut.clk_i(m_clk);
    m_dut.rst_ni(m_rst_n);
    m_dut.req_valid_i(m_req_valid);
    m_dut.req_ready_o(m_req_ready);
    m_dut.req_i(m_req);
    m_dut.req_vpn_i(m_req_vpn);
    m_dut.req_pfn_i(m_req_pfn);
    m_dut.rsp_valid_o(m_rsp_valid);
    m_dut.rsp_ready_i(m_rsp_ready);
    m_dut.rsp_o(m_rsp);
    m_dut.rsp_vpn_o(m_rsp_vpn);
    m_dut.rsp_pfn_o(m_rsp_pfn);
    m_dut.rsp_removed_o(m_rsp_removed);
  }

 private:
  void trace_model(VerilatedVcdC& vcd) override { m_dut.trace(&vcd, 99); }

  Model m_dut;
};

}  // namespace vmsim::rtl
