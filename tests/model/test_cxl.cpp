// Model test: a CXL-attached node. One socket; node 0 local, node 1 a CPU-less node behind a CXL link
// (85 ns each way, 16 GB/s: a 16-byte header takes 1 ns, header + 64 data bytes 5 ns), both with the
// fixed timing model (50 ns + 64 B at 12.8 GB/s = 55 ns per line), 5 ns crossing latency, distance 14 to
// the CPU-less node (its attachment: no hop latency). Exact latencies in lt and at, data through the link,
// and a link that saturates at its bandwidth.
#include <gtest/gtest.h>

#include <cstring>
#include <tlm_utils/simple_initiator_socket.h>

#include "common/stats.hpp"
#include "models/interconnect/numa_interconnect.hpp"
#include "tests/model/tlm_test_util.hpp"
#include "models/memory/cxl_link.hpp"

namespace vmsim {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

constexpr uint64_t kNode = 64ull << 20;

mem::MemoryConfig memory_config(uint64_t link_mbps) {
  mem::MemoryConfig c;
  c.model = mem::MemoryModel::Fixed;
  c.latency = Duration::ns(50);
  c.bandwidth_mbps = 12800;
  c.nodes.resize(2);
  c.nodes[0].size = Bytes{kNode};
  c.nodes[1].base = config::Address{kNode};
  c.nodes[1].size = Bytes{kNode};
  c.nodes[1].cpus = false;
  c.nodes[1].attach = mem::NodeAttach::Cxl;
  c.nodes[1].cxl.latency = Duration::ns(85);
  c.nodes[1].cxl.bandwidth_mbps = link_mbps;
  return c;
}

interconnect::InterconnectConfig ic_config() {
  interconnect::InterconnectConfig c;
  c.latency = Duration::ns(5);
  c.hop_latency = Duration::ns(40);
  c.distance.rows = {{10, 14}};
  return c;
}

// Interconnect -> node 0, and interconnect -> CXL link -> node 1; `n` blocking initiators on socket 0.
struct Bench : sc_core::sc_module {
  mem::SparseStore store;
  mem::MemoryConfig mc;
  interconnect::NumaInterconnect ic;
  std::unique_ptr<mem::MemoryNode> node0, node1;
  mem::CxlLink link;
  std::vector<std::unique_ptr<tlm_utils::simple_initiator_socket<Bench>>> socks;

  Bench(const sc_core::sc_module_name& n, SimMode mode, uint64_t link_mbps, size_t initiators)
      : sc_core::sc_module(n),
        mc(memory_config(link_mbps)),
        ic("ic", ic_config(), mode, mc.ranges(), 1),
        link("cxl1", mc.nodes[1].cxl, mode, Duration::ns(50)) {
    node0 = std::make_unique<mem::MemoryNode>("node0", 0, mc.ranges()[0], mc, mode, store);
    node1 = std::make_unique<mem::MemoryNode>("node1", 1, mc.ranges()[1], mc, mode, store);
    ic.out.bind(node0->in);
    ic.out.bind(link.in);
    link.out.bind(node1->in);
    for (size_t i = 0; i < initiators; ++i) {
      socks.push_back(std::make_unique<tlm_utils::simple_initiator_socket<Bench>>(("s" + std::to_string(i)).c_str()));
      ic.connect(*socks.back(), 0);
    }
  }
  // A blocking 64-byte access from initiator i at the current time; returns the latency seen (the time
  // waited inside the call, at, plus the annotation left in `annotated`, lt).
  sc_time access(size_t i, uint64_t addr, tlm::tlm_command cmd, uint8_t* data, sc_time* annotated = nullptr) {
    tlm::tlm_response_status st = tlm::TLM_INCOMPLETE_RESPONSE;
    const sc_time t = model_test::blocking_access(*socks[i], addr, cmd, data, annotated, &st);
    EXPECT_EQ(st, tlm::TLM_OK_RESPONSE);
    return t;
  }
};

double stat(const std::string& name) { return model_test::stat_value(name); }

struct Exact : Bench {
  sc_time local, far_read, far_write, idle;
  bool data_ok = false;
  Exact(const sc_core::sc_module_name& n, SimMode mode) : Bench(n, mode, 16000, 1) {
    SC_HAS_PROCESS(Exact);
    SC_THREAD(run);
  }
  void run() {
    uint8_t buf[64] = {};
    local = access(0, 0x1000, tlm::TLM_READ_COMMAND, buf);
    wait(local + sc_time(1, sc_core::SC_US));
    far_read = access(0, kNode + 0x1000, tlm::TLM_READ_COMMAND, buf);
    wait(far_read + sc_time(1, sc_core::SC_US));
    for (unsigned b = 0; b < 64; ++b) buf[b] = static_cast<uint8_t>(3 * b + 1);
    far_write = access(0, kNode + 0x2040, tlm::TLM_WRITE_COMMAND, buf);
    wait(far_write + sc_time(1, sc_core::SC_US));
    uint8_t back[64] = {};
    access(0, kNode + 0x2040, tlm::TLM_READ_COMMAND, back);
    data_ok = std::memcmp(buf, back, 64) == 0;
    idle = link.idle_round_trip(false, 64);
  }
};

// Eight initiators stream reads to the CXL node over a 1 GB/s link: 80 bytes (header + line) per
// response, 80 ns each, far less than eight in flight could use.
struct Saturated : Bench {
  static constexpr unsigned kInitiators = 8;
  static constexpr unsigned kReads = 100;
  sc_time end;
  Saturated(const sc_core::sc_module_name& n, SimMode mode) : Bench(n, mode, 1000, kInitiators) {
    SC_HAS_PROCESS(Saturated);
    for (unsigned i = 0; i < kInitiators; ++i) {
      sc_core::sc_spawn([this, i] { stream(i); });
    }
  }
  void stream(unsigned i) {
    uint8_t buf[64];
    for (unsigned k = 0; k < kReads; ++k) {
      sc_time d;
      access(i, kNode + (i * kReads + k) * 64, tlm::TLM_READ_COMMAND, buf, &d);
      wait(d);  // synchronized: the next read is issued when this one completed
    }
    end = std::max(end, sc_core::sc_time_stamp());
  }
};

TEST(Cxl, LatencyIsLocalPlusTheLinkAndTheLinkSaturates) {
  Exact lt("lt", SimMode::Lt);
  Exact at("at", SimMode::At);
  Saturated slt("slt", SimMode::Lt);
  Saturated sat("sat", SimMode::At);
  sc_core::sc_start();

  for (Exact* e : {&lt, &at}) {
    const std::string n = e->name();
    // Local: 5 ns crossing + 55 ns node. CXL: the same + 2 x 85 ns + 1 ns (header) + 5 ns (header + line),
    // in either direction of data.
    EXPECT_EQ(e->local, sc_time(60, SC_NS)) << n;
    EXPECT_EQ(e->far_read, sc_time(60 + 170 + 1 + 5, SC_NS)) << n;
    EXPECT_EQ(e->far_write, sc_time(60 + 170 + 5 + 1, SC_NS)) << n;
    EXPECT_EQ(e->idle, sc_time(176, SC_NS)) << n;
    EXPECT_TRUE(e->data_ok) << n;
    EXPECT_EQ(stat(n + ".cxl1.transfers"), 3) << n;
    EXPECT_EQ(stat(n + ".cxl1.writes"), 1) << n;
    EXPECT_EQ(stat(n + ".cxl1.bytes_to_device"), 3 * 16 + 64) << n;
    EXPECT_EQ(stat(n + ".cxl1.bytes_to_host"), 3 * 16 + 2 * 64) << n;
    EXPECT_DOUBLE_EQ(stat(n + ".cxl1.added_latency"), 176.0) << n;
    EXPECT_EQ(stat(n + ".cxl1.queue_wait"), 0) << n;
    // The CPU-less node is reached without an inter-socket link.
    EXPECT_EQ(stat(n + ".ic.s0_n1.link_wait"), 0) << n;
  }
  const unsigned reads = Saturated::kInitiators * Saturated::kReads;
  for (Saturated* s : {&slt, &sat}) {
    const std::string n = s->name();
    // 800 responses of 80 ns each on the device-to-host direction: the run cannot be shorter, and with
    // eight initiators it is not much longer (one idle round trip to fill the pipe, one to drain it).
    EXPECT_GE(s->end, sc_time(reads * 80.0, SC_NS)) << n;
    EXPECT_LE(s->end, sc_time(reads * 80.0 + 2 * 500, SC_NS)) << n;
    EXPECT_EQ(stat(n + ".cxl1.busy_to_host"), reads * 80000.0) << n;
    // Requests queue behind each other: on average most of the other seven responses are ahead.
    EXPECT_GT(stat(n + ".cxl1.queue_wait"), 3 * 80.0) << n;
  }
}

}  // namespace
}  // namespace vmsim
