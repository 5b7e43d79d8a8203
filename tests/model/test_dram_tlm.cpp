// Model test: the DRAM TLM target of a NUMA node. DDR4-3200AA, one channel, open page, FR-FCFS,
// independent JEDEC checker on. The LT path (blocking transport, an in-order initiator) reproduces the
// timing core driven closed loop cycle for cycle; the AT path (4-phase base protocol, many requests in
// flight) reproduces the core's open-loop replay, reaches its saturated bandwidth, honours request and
// response exclusion and keeps the data.
#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <tlm_utils/simple_initiator_socket.h>

#include "models/dram/trace_replay.hpp"
#include "models/memory/memory_node.hpp"

namespace vmsim {
namespace {

using sc_core::sc_time;

constexpr uint64_t kTckPs = 625;  // DDR4-3200

mem::MemoryConfig dram_config() {
  mem::MemoryConfig c;
  c.model = mem::MemoryModel::Dram;
  c.dram.controller.timing_checker = true;
  c.nodes[0].dram = c.dram;  // the node's controller (nodes[].dram)
  c.nodes[0].size = Bytes{c.dram.organisation.capacity_bytes()};
  return c;
}

double cycles(const sc_time& t) { return static_cast<double>(t.value()) / (kTckPs * 1000.0); }

// LT: a blocking initiator at exact DRAM cycles.
struct LtBench : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<LtBench> sock{"sock"};
  mem::SparseStore store;
  mem::MemoryNode node;
  std::vector<double> unloaded;  // latency of each unloaded random read, DRAM cycles
  double row_hit = 0;
  double posted_write = 0;
  uint64_t violations = 1;

  explicit LtBench(const sc_core::sc_module_name& n)
      : sc_core::sc_module(n), node("node", 0, {0, dram_config().nodes[0].size.value}, dram_config(), SimMode::Lt, store) {
    sock.bind(node.in);
    SC_HAS_PROCESS(LtBench);
    SC_THREAD(run);
  }
  sc_time read(uint64_t addr, tlm::tlm_command cmd = tlm::TLM_READ_COMMAND) {
    uint8_t buf[64] = {};
    tlm::tlm_generic_payload p;
    p.set_command(cmd);
    p.set_address(addr);
    p.set_data_ptr(buf);
    p.set_data_length(64);
    p.set_streaming_width(64);
    sc_time d = sc_core::SC_ZERO_TIME;
    sock->b_transport(p, d);
    EXPECT_TRUE(p.is_response_ok());
    return d;
  }
  void run() {
    // Unloaded random reads: one every 200 DRAM cycles, each waited for (so arrival times are exact).
    dram::SyntheticTraceConfig tc;
    tc.pattern = dram::TracePattern::Random;
    tc.count = 2000;
    tc.interval = 200;
    tc.capacity = node.range().size;
    dram::SyntheticTrace trace(tc);
    dram::TraceRecord rec;
    while (trace.next(rec)) {
      // Closed loop, as an in-order core: a read leaves at its slot or when the previous one is back.
      const sc_time at = sc_time::from_value(rec.cycle * kTckPs * 1000);
      if (at > sc_core::sc_time_stamp()) wait(at - sc_core::sc_time_stamp());
      const sc_time d = read(rec.address);
      unloaded.push_back(cycles(d));
      wait(d);
    }
    // A row hit: the same row again once the first read has completed.
    wait(sc_time::from_value(1000 * kTckPs * 1000));
    wait(read(0x4000));
    wait(sc_time(10, sc_core::SC_NS));
    row_hit = cycles(read(0x4100));  // next column of the same bank group, bank and row
    // A write is posted: accepted by the write queue at once.
    posted_write = cycles(read(0x8000, tlm::TLM_WRITE_COMMAND));
    violations = node.finish();
  }
};

// AT: up to 64 reads in flight; every other BEGIN_RESP is answered TLM_ACCEPTED and ended 3 ns later.
struct AtBench : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<AtBench> sock{"sock"};
  mem::SparseStore store;
  mem::MemoryNode node;
  static constexpr unsigned kSlots = 64;
  struct Slot {
    tlm::tlm_generic_payload p;
    uint8_t data[64];
    bool busy = false;
    bool end_req = false;
    sc_time sent;
  };
  bool defer = false;              // answer every other BEGIN_RESP with TLM_ACCEPTED
  std::vector<double> unloaded;    // open-loop unloaded reads: BEGIN_REQ to BEGIN_RESP, DRAM cycles
  std::vector<Slot> slots{kSlots};
  tlm::tlm_generic_payload* req_pending = nullptr;
  tlm::tlm_generic_payload* resp_pending = nullptr;
  sc_core::sc_event progress;
  sc_core::sc_event end_resp_event;
  unsigned outstanding = 0;
  uint64_t responses = 0;
  uint64_t exclusion_violations = 0;
  uint64_t order_violations = 0;
  uint64_t data_mismatches = 0;
  uint64_t saturated_reads = 0;
  sc_time saturated_start;
  sc_time saturated_end;
  uint64_t violations = 1;

  explicit AtBench(const sc_core::sc_module_name& n)
      : sc_core::sc_module(n), node("node", 0, {0, dram_config().nodes[0].size.value}, dram_config(), SimMode::At, store) {
    sock.bind(node.in);
    sock.register_nb_transport_bw(this, &AtBench::nb_transport_bw);
    for (Slot& s : slots) {
      s.p.set_data_ptr(s.data);
      s.p.set_data_length(64);
      s.p.set_streaming_width(64);
    }
    SC_HAS_PROCESS(AtBench);
    SC_THREAD(run);
    SC_METHOD(end_resp);
    sensitive << end_resp_event;
    dont_initialize();
  }
  Slot& slot_of(tlm::tlm_generic_payload& p) {
    for (Slot& s : slots) {
      if (&s.p == &p) return s;
    }
    throw std::logic_error("unknown payload");
  }
  tlm::tlm_sync_enum nb_transport_bw(tlm::tlm_generic_payload& p, tlm::tlm_phase& phase, sc_time& /*t*/) {
    Slot& s = slot_of(p);
    if (phase == tlm::END_REQ) {
      s.end_req = true;
      if (req_pending == &p) req_pending = nullptr;
      progress.notify();
      return tlm::TLM_ACCEPTED;
    }
    // BEGIN_RESP
    if (resp_pending != nullptr) ++exclusion_violations;
    if (!s.end_req) ++order_violations;
    if (req_pending == &p) req_pending = nullptr;  // BEGIN_RESP implies END_REQ
    ++responses;
    if (!defer && s.p.is_read()) unloaded.push_back(cycles(sc_core::sc_time_stamp() - s.sent));
    progress.notify();
    if (defer && responses % 2 == 0) {
      // The payload stays ours until END_RESP.
      resp_pending = &p;
      end_resp_event.notify(sc_time(3, sc_core::SC_NS));
      return tlm::TLM_ACCEPTED;
    }
    s.busy = false;
    --outstanding;
    return tlm::TLM_COMPLETED;
  }
  void end_resp() {
    tlm::tlm_phase phase = tlm::END_RESP;
    sc_time t = sc_core::SC_ZERO_TIME;
    tlm::tlm_generic_payload* p = resp_pending;
    resp_pending = nullptr;
    sock->nb_transport_fw(*p, phase, t);
    slot_of(*p).busy = false;
    --outstanding;
    progress.notify();
  }
  // Sends one request when request exclusion and a free slot allow; returns the slot.
  Slot& send(tlm::tlm_command cmd, uint64_t addr) {
    for (;;) {
      if (req_pending == nullptr && outstanding < kSlots) {
        for (Slot& s : slots) {
          if (s.busy) continue;
          s.busy = true;
          s.end_req = false;
          s.p.set_command(cmd);
          s.p.set_address(addr);
          s.p.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
          s.sent = sc_core::sc_time_stamp();
          ++outstanding;
          tlm::tlm_phase phase = tlm::BEGIN_REQ;
          sc_time t = sc_core::SC_ZERO_TIME;
          const tlm::tlm_sync_enum r = sock->nb_transport_fw(s.p, phase, t);
          if (r == tlm::TLM_ACCEPTED) req_pending = &s.p;
          return s;
        }
      }
      wait(progress);
    }
  }
  void drain() {
    while (outstanding > 0 || resp_pending != nullptr) wait(progress);
  }
  void run() {
    // Open loop: one random read every 200 DRAM cycles whether or not earlier ones are back.
    dram::SyntheticTraceConfig uc;
    uc.pattern = dram::TracePattern::Random;
    uc.count = 2000;
    uc.interval = 200;
    uc.capacity = node.range().size;
    dram::SyntheticTrace open_loop(uc);
    dram::TraceRecord r0;
    while (open_loop.next(r0)) {
      const sc_time at = sc_time::from_value(r0.cycle * kTckPs * 1000);
      if (at > sc_core::sc_time_stamp()) wait(at - sc_core::sc_time_stamp());
      send(tlm::TLM_READ_COMMAND, r0.address);
    }
    drain();
    defer = true;
    // Data integrity: 256 lines written with patterns, read back.
    for (uint64_t i = 0; i < 256; ++i) {
      Slot& s = slots[0];
      while (s.busy || req_pending) wait(progress);
      for (unsigned b = 0; b < 64; ++b) s.data[b] = static_cast<uint8_t>(i * 7 + b);
      send(tlm::TLM_WRITE_COMMAND, i * 4096 + 64);
      drain();
    }
    for (uint64_t i = 0; i < 256; ++i) {
      Slot& s = send(tlm::TLM_READ_COMMAND, i * 4096 + 64);
      drain();
      for (unsigned b = 0; b < 64; ++b) {
        if (s.data[b] != static_cast<uint8_t>(i * 7 + b)) ++data_mismatches;
      }
    }
    // Saturated random reads, as fast as the controller accepts them.
    dram::SyntheticTraceConfig tc;
    tc.pattern = dram::TracePattern::Random;
    tc.count = 20000;
    tc.capacity = node.range().size;
    tc.seed = 7;
    dram::SyntheticTrace trace(tc);
    dram::TraceRecord rec;
    saturated_start = sc_core::sc_time_stamp();
    while (trace.next(rec)) {
      send(tlm::TLM_READ_COMMAND, rec.address);
      ++saturated_reads;
    }
    drain();
    saturated_end = sc_core::sc_time_stamp();
    violations = node.finish();
  }
};

double replay_avg_latency(const dram::SyntheticTraceConfig& tc) {
  dram::DramConfig cfg;
  dram::MemorySystem sys(cfg);
  dram::SyntheticTrace t(tc);
  return dram::replay(sys, t).avg_read_latency;
}

// The timing core driven closed loop: each read arrives at max(its slot, previous completion).
double closed_loop_avg_latency(const dram::SyntheticTraceConfig& tc) {
  dram::DramConfig cfg;
  dram::Channel ch(cfg);
  dram::SyntheticTrace t(tc);
  dram::TraceRecord rec;
  std::vector<dram::Completion> done;
  dram::Cycle ready = 0;
  double sum = 0;
  uint64_t n = 0;
  while (t.next(rec)) {
    const dram::Cycle a = std::max(rec.cycle, ready);
    ch.enqueue(dram::Request{n, rec.address, false, a});
    for (bool got = false; !got;) {
      ch.advance_to(ch.next_event(), done);
      for (const dram::Completion& c : done) {
        if (c.id == n) {
          got = true;
          ready = c.cycle;
          sum += static_cast<double>(c.cycle - a);
        }
      }
      done.clear();
    }
    ++n;
  }
  return sum / static_cast<double>(n);
}

TEST(DramTlm, LtMatchesTheTimingCoreAndAtSaturatesItWithExclusionRules) {
  LtBench lt("lt");
  AtBench at("at");
  sc_core::sc_start();

  // LT: unloaded random reads average exactly what the timing core's replay gives, in the 81-83 band.
  dram::SyntheticTraceConfig tc;
  tc.pattern = dram::TracePattern::Random;
  tc.count = 2000;
  tc.interval = 200;
  tc.capacity = lt.node.range().size;
  double sum = 0;
  for (double c : lt.unloaded) sum += c;
  const double avg = sum / static_cast<double>(lt.unloaded.size());
  ASSERT_EQ(lt.unloaded.size(), 2000u);
  EXPECT_NEAR(avg, closed_loop_avg_latency(tc), 1e-9);
  EXPECT_GE(avg, 70.0);  // tRP + tRCD + CL + BL/2 at least on average (row conflicts dominate)

  // AT, open loop: the timing core's replay of the same trace, in the 81-83 band.
  ASSERT_EQ(at.unloaded.size(), 2000u);
  double at_sum = 0;
  for (double c : at.unloaded) at_sum += c;
  const double at_avg = at_sum / 2000.0;
  EXPECT_NEAR(at_avg, replay_avg_latency(tc), 1e-9);
  EXPECT_GE(at_avg, 81.0 * 0.95);
  EXPECT_LE(at_avg, 83.0 * 1.05);
  EXPECT_DOUBLE_EQ(lt.row_hit, 26.0);  // CL + BL/2 = 22 + 4
  EXPECT_LT(lt.posted_write, 1.0);     // accepted at the next clock edge
  EXPECT_EQ(lt.violations, 0u);

  // AT: protocol and data.
  EXPECT_EQ(at.exclusion_violations, 0u);
  EXPECT_EQ(at.order_violations, 0u);
  EXPECT_EQ(at.data_mismatches, 0u);
  EXPECT_EQ(at.violations, 0u);
  // Saturated random reads: 11.1-11.4 GB/s (tFAW-bound), within 5 %.
  const double seconds = (at.saturated_end - at.saturated_start).to_seconds();
  const double gbs = static_cast<double>(at.saturated_reads) * 64.0 / seconds / 1e9;
  EXPECT_GE(gbs, 11.1 * 0.95) << gbs;
  EXPECT_LE(gbs, 11.4 * 1.05) << gbs;
}

}  // namespace
}  // namespace vmsim
