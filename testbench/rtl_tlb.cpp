// SystemC wrapper of the Verilated RTL TLB: request encoding, clocking, response decoding, waveforms and
// the choice of a Verilated variant for a TLB array configuration.
#include "testbench/rtl_tlb.hpp"

#include <verilated.h>
#include <verilated_vcd_c.h>

#include <sstream>
#include <stdexcept>

#include "common/error.hpp"
#include "testbench/rtl_encoding.hpp"

namespace vmsim::rtl {

namespace {

constexpr unsigned kVpnWidth = 52;
constexpr unsigned kPfnWidth = 40;

const char* policy_name(mmu::ReplacementPolicy p) {
  for (const auto& [value, name] : config::EnumNames<mmu::ReplacementPolicy>::table()) {
    if (value == p) return name;
  }
  return "?";
}

uint64_t perm_bits(const mmu::TlbArrayEntry& e) {
  return enc::kPermWrite.put(e.writable) | enc::kPermUser.put(e.user) | enc::kPermNoExec.put(e.no_execute) |
         enc::kPermDirty.put(e.dirty);
}

uint32_t request(enc::Op op, mmu::Pcid pcid) {
  return static_cast<uint32_t>(enc::kReqOp.put(static_cast<uint64_t>(op)) | enc::kReqPcid.put(pcid));
}

}  // namespace

mmu::TlbArrayConfig RtlTlbParams::model_config() const {
  mmu::TlbArrayConfig c;
  c.entries = entries;
  c.ways = ways;
  c.hit_latency = 1;
  c.replacement = replacement;
  c.page_sizes = mmu::format_page_sizes(page_sizes);
  return c;
}

std::string RtlTlbParams::describe() const {
  std::ostringstream s;
  s << name << ": " << entries << " entries, " << ways << " ways, " << policy_name(replacement) << ", "
    << mmu::format_page_sizes(page_sizes);
  if (pcid_width != 12) s << ", " << pcid_width << "-bit PCID";
  if (!defines.empty()) s << ", built with " << defines;
  return s.str();
}

RtlTlb::RtlTlb(const sc_core::sc_module_name& name, RtlTlbParams params)
    : sc_core::sc_module(name), m_params(std::move(params)) {
  // A failed RTL assertion sets gotError() instead of aborting; operations turn it into RtlAssertionError.
  Verilated::fatalOnError(false);
}

RtlTlb::~RtlTlb() { close_trace(); }

void RtlTlb::enable_tracing() { Verilated::traceEverOn(true); }

void RtlTlb::open_trace(const std::string& path) {
  close_trace();
  auto vcd = std::make_unique<VerilatedVcdC>();
  trace_model(*vcd);
  vcd->open(path.c_str());
  if (!vcd->isOpen()) throw std::runtime_error("cannot open waveform file " + path);
  m_vcd = std::move(vcd);
}

void RtlTlb::close_trace() {
  if (!m_vcd) return;
  m_vcd->close();
  m_vcd.reset();
}

void RtlTlb::check_assertions() {
  if (Verilated::gotError()) {
    Verilated::gotError(false);
    throw RtlAssertionError("RTL assertion failed (message above) at cycle " + std::to_string(m_cycles));
  }
}

// The model's evaluation (an SC_METHOD sensitive to m_inputs_changed) runs in this evaluation phase,
// after this thread yields; its outputs are visible when the delta cycle ends.
void RtlTlb::evaluate() {
  m_clk_changed.notify();
  wait(sc_core::SC_ZERO_TIME);
}

void RtlTlb::reset() {
  if (sc_core::sc_get_current_process_handle().proc_kind() != sc_core::SC_THREAD_PROC_) {
    throw std::logic_error(std::string(name()) + ": RTL TLB operations must be called from an SC_THREAD");
  }
  m_clk.write(false);
  m_rst_n.write(true);
  m_req_valid.write(false);
  m_rsp_ready.write(true);
  evaluate();
  m_rst_n.write(false);  // asynchronous: the falling edge resets
  evaluate();
  m_rst_n.write(true);
  evaluate();
  m_reset_done = true;
  check_assertions();
}

// One clock cycle; the caller has written the inputs for its rising edge. Fast path: the inputs and the
// rising edge are evaluated together (Verilator settles input-driven logic before clocked processes, so
// the registers sample the new inputs; the RTL's assertions are immediate ones at the edge and see the
// same values). Traced: the inputs first, with the clock low, so the waveform shows them before the
// edge. Then the falling edge, with req_valid dropped unless keep_valid, so the request logic idles.
// The registered outputs are visible when this returns.
void RtlTlb::clock_cycle(bool keep_valid) {
  if (m_vcd) {
    evaluate();
    m_vcd->dump(m_cycles * 10);
    m_clk.write(true);
    evaluate();
    m_vcd->dump(m_cycles * 10 + 5);
  } else {
    m_clk.write(true);
    evaluate();
  }
  ++m_cycles;
  m_clk.write(false);
  if (!keep_valid) m_req_valid.write(false);
  evaluate();
}

RtlTlb::Response RtlTlb::transact(uint32_t req, uint64_t vpn, uint64_t pfn) {
  if (!m_reset_done) reset();
  m_req.write(req);
  m_req_vpn.write(vpn);
  m_req_pfn.write(pfn);
  m_req_valid.write(true);
  if (m_stall > 0 && m_rsp_valid.read()) {
    // The previous response is not taken: the response register stays full and the request waits.
    m_rsp_ready.write(false);
    for (; m_stall > 0; --m_stall) {
      clock_cycle(true);
      if (m_req_ready.read()) throw RtlAssertionError("RTL accepted a request while its response was held");
    }
    m_rsp_ready.write(true);
  }
  m_stall = 0;
  clock_cycle(false);
  check_assertions();
  if (!m_rsp_valid.read()) throw RtlAssertionError("RTL gave no response in the cycle after a request");
  ++m_ops;
  return Response{m_rsp.read(), m_rsp_vpn.read(), m_rsp_pfn.read(), m_rsp_removed.read()};
}

void RtlTlb::check_pcid(mmu::Pcid pcid) const {
  if (pcid > mmu::kMaxPcid || (pcid >> m_params.pcid_width) != 0) {
    throw std::invalid_argument("RtlTlb: pcid " + std::to_string(pcid) + " wider than " +
                                std::to_string(m_params.pcid_width) + " bits");
  }
}

mmu::TlbArrayEntry RtlTlb::entry_of(const Response& r) const {
  mmu::TlbArrayEntry e;
  e.vpn = Vpn{r.vpn};
  e.pfn = Pfn{r.pfn};
  e.size = static_cast<mmu::PageSize>(enc::kRspSize.get(r.rsp));
  e.leaf_size = static_cast<mmu::PageSize>(enc::kRspLeafSize.get(r.rsp));
  e.pcid = static_cast<mmu::Pcid>(enc::kRspPcid.get(r.rsp));
  e.valid = true;
  e.global = enc::kRspGlobal.get(r.rsp) != 0;
  const uint64_t perm = enc::kRspPerm.get(r.rsp);
  e.writable = enc::kPermWrite.get(perm) != 0;
  e.user = enc::kPermUser.get(perm) != 0;
  e.no_execute = enc::kPermNoExec.get(perm) != 0;
  e.dirty = enc::kPermDirty.get(perm) != 0;
  return e;
}

mmu::TlbRemoved RtlTlb::removed_of(const Response& r) const {
  mmu::TlbRemoved removed;
  for (unsigned s = 0; s < mmu::kNumPageSizes; ++s) removed.by_size[s] = enc::removed_count(s).get(r.removed);
  return removed;
}

RtlLookup RtlTlb::lookup(VirtAddr va, mmu::Pcid pcid) {
  check_pcid(pcid);
  const Response r = transact(request(enc::Op::Lookup, pcid), va.value() >> kPageShift, 0);
  RtlLookup l;
  l.hit = enc::kRspHit.get(r.rsp) != 0;
  if (l.hit) {
    l.set = static_cast<uint32_t>(enc::kRspSet.get(r.rsp));
    l.way = static_cast<uint32_t>(enc::kRspWay.get(r.rsp));
    l.entry = entry_of(r);
  }
  return l;
}

mmu::TlbFillResult RtlTlb::fill(const mmu::TlbArrayEntry& e) {
  const unsigned s = mmu::size_index(e.size);
  if (s >= mmu::kNumPageSizes || mmu::size_index(e.leaf_size) >= mmu::kNumPageSizes ||
      (m_params.page_sizes & mmu::mask_of(e.size)) == 0) {
    throw std::invalid_argument("RtlTlb::fill: page size not held by this array");
  }
  if (mmu::size_index(e.leaf_size) < s) throw std::invalid_argument("RtlTlb::fill: leaf_size smaller than size");
  const uint64_t align = mmu::page_frames(e.size) - 1;
  if ((e.vpn.value() & align) != 0 || (e.pfn.value() & align) != 0) {
    throw std::invalid_argument("RtlTlb::fill: vpn and pfn must be aligned to the entry's size");
  }
  if ((e.vpn.value() >> kVpnWidth) != 0 || (e.pfn.value() >> kPfnWidth) != 0) {
    throw std::invalid_argument("RtlTlb::fill: vpn above 2^52 or pfn above 2^40");
  }
  check_pcid(e.pcid);
  const uint32_t req = request(enc::Op::Fill, e.pcid) |
                       static_cast<uint32_t>(enc::kReqSize.put(s) | enc::kReqLeafSize.put(mmu::size_index(e.leaf_size)) |
                                             enc::kReqGlobal.put(e.global) | enc::kReqPerm.put(perm_bits(e)));
  const Response r = transact(req, e.vpn.value(), e.pfn.value());
  mmu::TlbFillResult f;
  f.set = static_cast<uint32_t>(enc::kRspSet.get(r.rsp));
  f.way = static_cast<uint32_t>(enc::kRspWay.get(r.rsp));
  f.replaced = enc::kRspReplaced.get(r.rsp) != 0;
  f.evicted = enc::kRspEvicted.get(r.rsp) != 0;
  f.dropped = static_cast<uint32_t>(enc::kRspDropped.get(r.rsp));
  if (f.evicted) f.victim = entry_of(r);
  return f;
}

mmu::TlbRemoved RtlTlb::invlpg(VirtAddr va, mmu::Pcid pcid) {
  check_pcid(pcid);
  return removed_of(transact(request(enc::Op::Invlpg, pcid), va.value() >> kPageShift, 0));
}

mmu::TlbRemoved RtlTlb::invpcid(mmu::InvpcidType type, mmu::Pcid pcid, VirtAddr va) {
  enc::Op op = enc::Op::FlushAll;
  switch (type) {
    case mmu::InvpcidType::IndividualAddress:
      op = enc::Op::InvAddr;
      break;
    case mmu::InvpcidType::SingleContext:
      op = enc::Op::InvPcid;
      break;
    case mmu::InvpcidType::AllContextsInclGlobal:
      op = enc::Op::FlushAll;
      pcid = 0;
      break;
    case mmu::InvpcidType::AllContextsExclGlobal:
      op = enc::Op::FlushNonGlobal;
      pcid = 0;
      break;
  }
  check_pcid(pcid);
  return removed_of(transact(request(op, pcid), va.value() >> kPageShift, 0));
}

// ---------------------------------------------------------------------------------------------------

const RtlVariant* find_rtl_variant(const std::string& name) {
  for (const RtlVariant& v : rtl_variants()) {
    if (v.params.name == name) return &v;
  }
  return nullptr;
}

const RtlVariant& rtl_variant_for(const mmu::TlbArrayConfig& cfg, const std::string& path) {
  cfg.validate(path);
  cfg.validate_rtl(path);
  mmu::PageSizeMask mask = 0;
  mmu::parse_page_sizes(cfg.page_sizes, mask);
  std::string built;
  for (const RtlVariant& v : rtl_variants()) {
    const RtlTlbParams& p = v.params;
    if (p.defines.empty() && p.entries == cfg.entries && p.ways == cfg.ways && p.replacement == cfg.replacement &&
        p.page_sizes == mask && p.pcid_width == 12) {
      return v;
    }
    built += "\n  " + p.describe();
  }
  throw InputError(path + ": no Verilated RTL TLB was built for entries " + std::to_string(cfg.entries) +
                   ", ways " + std::to_string(cfg.ways) + ", replacement " + policy_name(cfg.replacement) +
                   ", page_sizes " + mmu::format_page_sizes(mask) +
                   " (add one with vmsim_rtl_variant() in testbench/CMakeLists.txt); built:" +
                   (built.empty() ? std::string(" none") : built));
}

}  // namespace vmsim::rtl
