// Model test: the NUMA interconnect. Two sockets, two nodes of 64 MiB with the fixed timing model
// (50 ns + 64 B at 12.8 GB/s = 55 ns per line), distance [[10, 21], [21, 10]], 5 ns crossing latency,
// 40 ns per hop. Exact latencies local and remote, routing by address, address errors, and remote
// links that congest (LT: windowed booking; AT: busy-until queueing in arrival order).
#include <gtest/gtest.h>

#include <cstring>
#include <tlm_utils/simple_initiator_socket.h>

#include "common/stats.hpp"
#include "models/interconnect/numa_interconnect.hpp"
#include "tests/model/tlm_test_util.hpp"

namespace vmsim {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

constexpr uint64_t kNode = 64ull << 20;

mem::MemoryConfig memory_config() {
  mem::MemoryConfig c;
  c.model = mem::MemoryModel::Fixed;
  c.latency = Duration::ns(50);
  c.bandwidth_mbps = 12800;
  c.nodes.resize(2);
  c.nodes[0].size = Bytes{kNode};
  c.nodes[1].base = config::Address{kNode};
  c.nodes[1].size = Bytes{kNode};
  return c;
}

interconnect::InterconnectConfig ic_config(uint64_t link_mbps) {
  interconnect::InterconnectConfig c;
  c.latency = Duration::ns(5);
  c.hop_latency = Duration::ns(40);
  c.link_bandwidth_mbps = link_mbps;
  c.distance.rows = {{10, 21}, {21, 10}};
  return c;
}

// An interconnect, two nodes and `n` blocking initiator threads; initiator i sits on socket socket[i].
struct Bench : sc_core::sc_module {
  mem::SparseStore store;
  std::vector<std::unique_ptr<mem::MemoryNode>> nodes;
  interconnect::NumaInterconnect ic;
  std::vector<std::unique_ptr<tlm_utils::simple_initiator_socket<Bench>>> socks;

  Bench(const sc_core::sc_module_name& n, SimMode mode, uint64_t link_mbps, const std::vector<unsigned>& sockets)
      : sc_core::sc_module(n), ic("ic", ic_config(link_mbps), mode, memory_config().ranges(), 2) {
    const mem::MemoryConfig mc = memory_config();
    for (unsigned k = 0; k < 2; ++k) {
      nodes.push_back(std::make_unique<mem::MemoryNode>(("node" + std::to_string(k)).c_str(), k, mc.ranges()[k], mc,
                                                        mode, store));
      ic.out.bind(nodes.back()->in);
    }
    for (size_t i = 0; i < sockets.size(); ++i) {
      socks.push_back(std::make_unique<tlm_utils::simple_initiator_socket<Bench>>(("s" + std::to_string(i)).c_str()));
      ic.connect(*socks.back(), sockets[i]);
    }
  }
  // A blocking 64-byte access from initiator i; returns the latency seen (annotation plus waiting).
  sc_time access(size_t i, uint64_t addr, tlm::tlm_command cmd, uint8_t* data, tlm::tlm_response_status* st = nullptr) {
    return model_test::blocking_access(*socks[i], addr, cmd, data, nullptr, st);
  }
};

double stat(const std::string& name) { return model_test::stat_value(name); }

struct LtExact : Bench {
  sc_time local, remote, remote_node1_from_s0;
  tlm::tlm_response_status outside = tlm::TLM_OK_RESPONSE;
  bool data_ok = false;
  explicit LtExact(const sc_core::sc_module_name& n) : Bench(n, SimMode::Lt, 25600, {0, 1}) {
    SC_HAS_PROCESS(LtExact);
    SC_THREAD(run);
  }
  void run() {
    uint8_t buf[64] = {};
    local = access(0, 0x1000, tlm::TLM_READ_COMMAND, buf);
    wait(sc_time(1, sc_core::SC_US));
    remote = access(1, 0x2000, tlm::TLM_READ_COMMAND, buf);
    wait(sc_time(1, sc_core::SC_US));
    remote_node1_from_s0 = access(0, kNode + 0x40, tlm::TLM_READ_COMMAND, buf);
    access(0, 3 * kNode, tlm::TLM_READ_COMMAND, buf, &outside);
    // Data lands in the right node: written from socket 1 to node 1, read back through debug transport.
    for (unsigned b = 0; b < 64; ++b) buf[b] = static_cast<uint8_t>(b + 1);
    wait(access(1, kNode + 0x80, tlm::TLM_WRITE_COMMAND, buf));
    uint8_t back[64] = {};
    tlm::tlm_generic_payload p;
    p.set_command(tlm::TLM_READ_COMMAND);
    p.set_address(kNode + 0x80);
    p.set_data_ptr(back);
    p.set_data_length(64);
    p.set_streaming_width(64);
    data_ok = (*socks[0])->transport_dbg(p) == 64 && std::memcmp(buf, back, 64) == 0;
  }
};

// Two initiators on socket 1 streaming remote reads at one link of 1 GB/s (64 ns per line).
struct Congested : Bench {
  sc_time end;
  static constexpr unsigned kReads = 200;
  Congested(const sc_core::sc_module_name& n, SimMode mode) : Bench(n, mode, 1000, {1, 1}) {
    SC_HAS_PROCESS(Congested);
    SC_THREAD(run0);
    SC_THREAD(run1);
  }
  void stream(size_t i) {
    uint8_t buf[64];
    sc_time local = sc_core::SC_ZERO_TIME;  // LT: run ahead with the annotation, as a decoupled core would
    for (unsigned k = 0; k < kReads; ++k) {
      sc_time d = local;
      tlm::tlm_generic_payload p;
      p.set_command(tlm::TLM_READ_COMMAND);
      p.set_address((i * kReads + k) * 64);
      p.set_data_ptr(buf);
      p.set_data_length(64);
      p.set_streaming_width(64);
      (*socks[i])->b_transport(p, d);
      local = d;
    }
    wait(local);
    end = std::max(end, sc_core::sc_time_stamp());
  }
  void run0() { stream(0); }
  void run1() { stream(1); }
};

TEST(Numa, ExactLatenciesRoutingAndCongestedRemoteLinks) {
  LtExact lt("lt");
  Congested clt("clt", SimMode::Lt);
  Congested cat("cat", SimMode::At);
  sc_core::sc_start();

  // Local: 5 ns crossing + 55 ns node. Remote (distance 21): + 1.1 * 40 ns + 64 B on a 25.6 GB/s link.
  EXPECT_EQ(lt.local, sc_time(60, SC_NS));
  EXPECT_EQ(lt.remote, sc_time(60 + 44 + 2.5, SC_NS));
  EXPECT_EQ(lt.remote_node1_from_s0, sc_time(60 + 44 + 2.5, SC_NS));
  EXPECT_EQ(lt.outside, tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_TRUE(lt.data_ok);
  EXPECT_EQ(stat("lt.ic.local_requests"), 2);   // s0 -> n0 read, s1 -> n1 write
  EXPECT_EQ(stat("lt.ic.remote_requests"), 2);  // s1 -> n0, s0 -> n1
  EXPECT_EQ(stat("lt.ic.address_errors"), 1);
  EXPECT_EQ(stat("lt.ic.s1_n1.requests"), 1);
  EXPECT_EQ(stat("lt.node1.writes"), 1);

  // Congestion: 400 lines over a 1 GB/s link need at least 400 * 64 ns; the link makes requests wait.
  for (Congested* c : {&clt, &cat}) {
    const std::string n = c->name();
    EXPECT_GE(c->end, sc_time(2 * Congested::kReads * 64, SC_NS)) << n;
    EXPECT_GT(stat(n + ".ic.s1_n0.link_wait"), 0) << n;
    EXPECT_EQ(stat(n + ".ic.s1_n0.requests"), 2 * Congested::kReads) << n;
  }
}

}  // namespace
}  // namespace vmsim
