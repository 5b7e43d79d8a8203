// Lock-step scoreboard: every operation goes to the model's TlbArray (the reference) and to the RTL TLB;
// hit or miss, set, way, frame, permissions, page size and the whole entry (lookups), victim way and
// choice (fills) and removal counts (invalidations) are compared. The first divergence stops the run
// with a report: cycle, operation, inputs, both answers, seed, recent operations and how to reproduce.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "models/mmu/tlb_array.hpp"
#include "testbench/coverage.hpp"
#include "testbench/rtl_tlb.hpp"
#include "testbench/tlb_op.hpp"

namespace vmsim::rtl {

// What a TLB answered to one operation (the fields its kind produces).
struct Answer {
  bool hit = false;             // lookup
  uint32_t set = 0;             // lookup hit, fill
  uint32_t way = 0;             // lookup hit, fill
  mmu::TlbArrayEntry entry;     // lookup hit
  mmu::TlbFillResult fill;      // fill
  mmu::TlbRemoved removed;      // invalidations
};

// Thrown by step() after the report of the first divergence (or RTL assertion) is written.
class Divergence : public std::runtime_error {
 public:
  explicit Divergence(const std::string& msg) : std::runtime_error(msg) {}
};
// Thrown by step() when the operation limit is reached (replays that stop at a known operation).
class OpLimitReached : public std::runtime_error {
 public:
  OpLimitReached() : std::runtime_error("operation limit reached") {}
};

class Scoreboard {
 public:
  // rtl must be a fresh (never used) wrapper; the model is built from rtl.params(). `reproduce` is the
  // command line that replays this run (printed in reports).
  Scoreboard(RtlTlb& rtl, uint64_t seed, std::string reproduce);

  // Executes op on the model and the RTL and compares the answers; returns the model's. Throws
  // Divergence (report() then explains) or OpLimitReached.
  Answer step(const TlbOp& op);

  // Stop with OpLimitReached before operation number `ops` (0 = no limit).
  void set_op_limit(uint64_t ops) { m_op_limit = ops; }
  // Dump a waveform to path from operation number `from_op` on (the cycles before it are not traced).
  void set_waveform(const std::string& path, uint64_t from_op) {
    m_wave_path = path;
    m_wave_from = from_op;
  }

  bool failed() const { return !m_report.empty(); }
  const std::string& report() const { return m_report; }
  uint64_t ops() const { return m_ops; }
  uint64_t failed_op() const { return m_failed_op; }
  const mmu::TlbArray& model() const { return m_model; }
  const RtlTlb& rtl() const { return m_rtl; }
  const Coverage& coverage() const { return m_coverage; }

 private:
  struct Record {
    uint64_t index = 0;
    uint64_t cycle = 0;
    TlbOp op;
    Answer answer;
  };
  Answer run_model(const TlbOp& op);
  Answer run_rtl(const TlbOp& op);
  void sample_coverage(const TlbOp& op, const Answer& model, uint64_t plru_bits_before, bool splinter_removed,
                       int rank);
  [[noreturn]] void fail(const TlbOp& op, const Answer& model, const Answer* rtl, const std::string& what);

  RtlTlb& m_rtl;
  mmu::TlbArray m_model;
  uint64_t m_seed;
  std::string m_reproduce;
  Coverage m_coverage;
  uint64_t m_ops = 0;
  uint64_t m_op_limit = 0;
  uint64_t m_failed_op = 0;
  std::string m_wave_path;
  uint64_t m_wave_from = 0;
  int m_last_pcid = -1;
  std::array<Record, 8> m_recent{};
  std::string m_report;
};

// Human-readable answer for an operation of kind k.
std::string describe(OpKind k, const Answer& a);

}  // namespace vmsim::rtl
