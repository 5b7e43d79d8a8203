// Model test: the swap block device as a TLM target. One elaboration: an NVMe device (bound to an LT and an
// AT initiator) and a disk (LT). Exact LT latencies; a few thousand patterned round trips through
// b_transport, byte for byte; disk streaming versus seeking; the AT 4-phase protocol with END_REQ held back
// beyond the queue depth and BEGIN_RESP at each completion; debug transport; error responses; statistics.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <tlm_utils/simple_initiator_socket.h>
#include <vector>

#include "common/stats.hpp"
#include "models/storage/swap_device.hpp"

namespace vmsim::storage {
namespace {

using sc_core::sc_time;
using sc_core::SC_US;

constexpr uint64_t kCapacity = 64ull << 20;

SwapDeviceConfig device(const char* preset) {
  SwapDeviceConfig c;
  c.set_preset(preset);
  c.capacity = Bytes{kCapacity};
  return c;
}

sc_time fs(uint64_t v) { return sc_time::from_value(v); }
constexpr uint64_t kUs = 1000000000ull;
constexpr uint64_t kXferNvme = 1280000000ull;
constexpr uint64_t kXferHdd = 20480000000ull;

void fill(std::vector<uint8_t>& page, uint64_t seed) {
  for (size_t i = 0; i < page.size(); i += 8) {
    uint64_t v = seed * 0x100000001B3ull ^ (i * 0x9E3779B97F4A7C15ull);
    std::memcpy(&page[i], &v, 8);
  }
}

struct Top : sc_core::sc_module {
  SC_HAS_PROCESS(Top);
  SwapDevice nvme;
  SwapDevice hdd;
  tlm_utils::simple_initiator_socket<Top> lt_nvme{"lt_nvme"};
  tlm_utils::simple_initiator_socket<Top> at_nvme{"at_nvme"};
  tlm_utils::simple_initiator_socket<Top> lt_hdd{"lt_hdd"};

  // Results, checked after the run.
  bool lt_done = false;
  bool at_done = false;
  uint64_t round_trips = 0;
  uint64_t mismatches = 0;
  std::vector<uint64_t> end_req_fs;    // AT: per transaction, time of END_REQ relative to the start
  std::vector<uint64_t> begin_resp_fs; // AT: per transaction, time of BEGIN_RESP relative to the start
  uint64_t at_start_fs = 0;
  std::map<tlm::tlm_generic_payload*, size_t> index;
  sc_core::sc_event end_req_event;

  explicit Top(const sc_core::sc_module_name& n) : sc_core::sc_module(n), nvme("nvme", device("nvme")), hdd("hdd", device("hdd")) {
    lt_nvme.bind(nvme.in);
    at_nvme.bind(nvme.in);
    lt_hdd.bind(hdd.in);
    at_nvme.register_nb_transport_bw(this, &Top::nb_bw);
    SC_THREAD(lt_test);
    SC_THREAD(at_test);
  }

  // Blocking access; returns the annotated delay and waits it out.
  sc_time access(tlm_utils::simple_initiator_socket<Top>& s, tlm::tlm_command cmd, uint64_t addr, uint8_t* data,
                 unsigned len, tlm::tlm_response_status* status = nullptr, uint8_t* byte_enables = nullptr) {
    tlm::tlm_generic_payload t;
    t.set_command(cmd);
    t.set_address(addr);
    t.set_data_ptr(data);
    t.set_data_length(len);
    t.set_streaming_width(len);
    t.set_byte_enable_ptr(byte_enables);
    t.set_byte_enable_length(byte_enables ? len : 0);
    t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_time delay = sc_core::SC_ZERO_TIME;
    s->b_transport(t, delay);
    if (status) *status = t.get_response_status();
    wait(delay);
    return delay;
  }

  void lt_test() {
    std::vector<uint8_t> page(4096), back(4096);
    // Idle latencies: write = transfer + program, read = media + transfer.
    fill(page, 1);
    EXPECT_EQ(access(lt_nvme, tlm::TLM_WRITE_COMMAND, 0, page.data(), 4096), fs(kXferNvme + 18 * kUs));
    EXPECT_EQ(access(lt_nvme, tlm::TLM_READ_COMMAND, 0, back.data(), 4096), fs(77 * kUs + kXferNvme));
    EXPECT_EQ(back, page);
    // 3000 round trips of patterned pages over 512 slots, each page checked byte for byte; every request
    // finds the device idle, so the simulated time is exact.
    const sc_time t0 = sc_core::sc_time_stamp();
    for (uint64_t i = 0; i < 3000; ++i) {
      const uint64_t slot = (i * 7919) % 512;
      fill(page, i + 100);
      access(lt_nvme, tlm::TLM_WRITE_COMMAND, slot * 4096, page.data(), 4096);
      std::memset(back.data(), 0, back.size());
      access(lt_nvme, tlm::TLM_READ_COMMAND, slot * 4096, back.data(), 4096);
      if (back != page) ++mismatches;
      ++round_trips;
    }
    EXPECT_EQ(sc_core::sc_time_stamp() - t0, fs(3000 * (kXferNvme + 18 * kUs + 77 * kUs + kXferNvme)));

    // Disk: pages 0..9 stream under the head; a jump to a quarter of the capacity seeks and rotates.
    for (uint64_t i = 0; i < 10; ++i) {
      EXPECT_EQ(access(lt_hdd, tlm::TLM_WRITE_COMMAND, i * 4096, page.data(), 4096), fs(kXferHdd)) << i;
    }
    BlockTiming ref(device("hdd"));
    const sc_time jump = access(lt_hdd, tlm::TLM_READ_COMMAND, kCapacity / 4, back.data(), 4096);
    EXPECT_EQ(jump, fs(ref.positioning_fs(10 * 4096, kCapacity / 4) + kXferHdd));
    EXPECT_GT(jump, sc_time(12, sc_core::SC_MS));

    // Errors: past the end, byte enables.
    tlm::tlm_response_status st;
    access(lt_nvme, tlm::TLM_READ_COMMAND, kCapacity - 2048, back.data(), 4096, &st);
    EXPECT_EQ(st, tlm::TLM_ADDRESS_ERROR_RESPONSE);
    std::vector<uint8_t> be(4096, 0xff);
    access(lt_nvme, tlm::TLM_WRITE_COMMAND, 0, page.data(), 4096, &st, be.data());
    EXPECT_EQ(st, tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);

    // Debug transport: the same contents, no time.
    tlm::tlm_generic_payload t;
    t.set_command(tlm::TLM_READ_COMMAND);
    t.set_address(0);
    t.set_data_ptr(back.data());
    t.set_data_length(4096);
    t.set_streaming_width(4096);
    // Slot 0 was last written by round trip i = 2560 (7919 is odd, so (i * 7919) % 512 == 0 iff 512 | i).
    std::vector<uint8_t> first(4096);
    fill(first, 2560 + 100);
    EXPECT_EQ(lt_nvme->transport_dbg(t), 4096u);
    EXPECT_EQ(back, first);
    lt_done = true;
  }

  tlm::tlm_sync_enum nb_bw(tlm::tlm_generic_payload& t, tlm::tlm_phase& phase, sc_time& /*delay*/) {
    const size_t i = index.at(&t);
    const uint64_t now = sc_core::sc_time_stamp().value() - at_start_fs;
    if (phase == tlm::END_REQ) {
      end_req_fs[i] = now;
      end_req_event.notify();
      return tlm::TLM_ACCEPTED;
    }
    EXPECT_EQ(phase, tlm::BEGIN_RESP);
    EXPECT_TRUE(t.is_response_ok());
    begin_resp_fs[i] = now;
    return tlm::TLM_COMPLETED;
  }

  void at_test() {
    wait(sc_time(1, sc_core::SC_SEC));  // after the LT test
    at_start_fs = sc_core::sc_time_stamp().value();
    const size_t n = 66;
    std::vector<tlm::tlm_generic_payload> trans(n);
    std::vector<std::vector<uint8_t>> data(n, std::vector<uint8_t>(4096));
    end_req_fs.assign(n, UINT64_MAX);
    begin_resp_fs.assign(n, UINT64_MAX);
    for (size_t i = 0; i < n; ++i) {
      tlm::tlm_generic_payload& t = trans[i];
      index[&t] = i;
      t.set_command(tlm::TLM_READ_COMMAND);
      t.set_address((i + 1000) * 4096);
      t.set_data_ptr(data[i].data());
      t.set_data_length(4096);
      t.set_streaming_width(4096);
      t.set_byte_enable_ptr(nullptr);
      tlm::tlm_phase phase = tlm::BEGIN_REQ;
      sc_time delay = sc_core::SC_ZERO_TIME;
      EXPECT_EQ(at_nvme->nb_transport_fw(t, phase, delay), tlm::TLM_ACCEPTED);
      // Request exclusion: the next BEGIN_REQ waits for this END_REQ.
      while (end_req_fs[i] == UINT64_MAX) wait(end_req_event);
    }
    wait(sc_time(1, sc_core::SC_MS));
    at_done = true;
  }
};

TEST(SwapDeviceModel, LtRoundTripsAtPhasesDebugAndStats) {
  Top top("top");
  sc_core::sc_start();
  ASSERT_TRUE(top.lt_done);
  ASSERT_TRUE(top.at_done);
  EXPECT_EQ(top.round_trips, 3000u);
  EXPECT_EQ(top.mismatches, 0u);

  // AT: 64 command slots. Requests 0..63 are accepted at once; transfers share the link, so read i responds
  // at 77 us + (i + 1) * 1.28 us. Request 64 gets END_REQ when read 0 completes, request 65 when read 1 does;
  // their media reads end after the link drained the 64 transfers, so they respond right behind them.
  for (size_t i = 0; i < 64; ++i) {
    EXPECT_EQ(top.end_req_fs[i], 0u) << i;
    EXPECT_EQ(top.begin_resp_fs[i], 77 * kUs + (i + 1) * kXferNvme) << i;
  }
  EXPECT_EQ(top.end_req_fs[64], 77 * kUs + kXferNvme);
  EXPECT_EQ(top.end_req_fs[65], 77 * kUs + 2 * kXferNvme);
  EXPECT_EQ(top.begin_resp_fs[64], 77 * kUs + 65 * kXferNvme);
  EXPECT_EQ(top.begin_resp_fs[65], 77 * kUs + 66 * kXferNvme);

  std::map<std::string, double> s;
  for (const stats::Record& r : stats::collect_all()) s[r.name] = r.value;
  EXPECT_EQ(s.at("top.nvme.reads"), 1 + 3000 + 66);
  EXPECT_EQ(s.at("top.nvme.writes"), 1 + 3000);
  EXPECT_EQ(s.at("top.nvme.bytes_read"), 4096.0 * (1 + 3000 + 66));
  EXPECT_EQ(s.at("top.nvme.debug_accesses"), 1);
  EXPECT_EQ(s.at("top.hdd.seeks"), 1);
  EXPECT_EQ(s.at("top.hdd.writes"), 10);
  // Queue wait: only AT requests 64 and 65 waited: 64 from 0 to 78.28 us; 65, sent at 78.28 us (request
  // exclusion), until read 1 completed at 79.56 us.
  EXPECT_NEAR(s.at("top.nvme.queue_wait") * (2 + 6000 + 66), 78280.0 + 1280.0, 1e-3);
  EXPECT_GT(s.at("top.nvme.utilization"), 0.0);
  EXPECT_LE(s.at("top.nvme.utilization"), 1.0);
  EXPECT_EQ(s.at("top.hdd.stored_pages"), 10);
  EXPECT_EQ(s.at("top.nvme.stored_pages"), 512);
}

}  // namespace
}  // namespace vmsim::storage
