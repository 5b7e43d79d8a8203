// Unit tests of the bank occupancy model (cache::BankQueue) and of the bank and directory keys of the
// cache configuration: serialized service on one bank with one-unit-early and on-time probes, independence
// of banks, the interleaving, queue-depth and wait counters, and validation messages.
#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "models/cache/bank_queue.hpp"
#include "models/cache/cache_config.hpp"
#include "models/cache/hierarchy.hpp"

namespace vmsim::cache {
namespace {

TEST(CacheBankQueue, OneBankServesRequestsOneAfterAnother) {
  BankQueue q(4, 10);
  // Four requests for bank 1 at time 100: served at 100, 110, 120, 130.
  EXPECT_EQ(q.request(1, 100), 100u);
  EXPECT_EQ(q.request(1, 100), 110u);
  EXPECT_EQ(q.request(1, 100), 120u);
  EXPECT_EQ(q.request(1, 100), 130u);
  EXPECT_EQ(q.free_at(1), 140u);
  // One unit before the bank is free: waits one unit. Exactly when it is free: no wait.
  EXPECT_EQ(q.request(1, 139), 140u);
  EXPECT_EQ(q.request(1, 150), 150u);
  const BankQueueStats& s = q.stats();
  EXPECT_EQ(s.accesses, 6u);
  EXPECT_EQ(s.waits, 4u);
  EXPECT_EQ(s.wait_time, 10u + 20 + 30 + 1);
  EXPECT_EQ(s.max_wait, 30u);
  EXPECT_EQ(s.busy_time, 60u);
  // Requests found 0, 1, 2, 3 requests in the bank, then 1 (the one in service until 140), then 0.
  EXPECT_EQ(s.depth_sum, 0u + 1 + 2 + 3 + 1 + 0);
  EXPECT_EQ(s.max_depth, 3u);
  q.restart_peaks();
  EXPECT_EQ(q.stats().max_wait, 0u);
  EXPECT_EQ(q.stats().max_depth, 0u);
  EXPECT_EQ(q.stats().accesses, 6u);
}

TEST(CacheBankQueue, BanksAreIndependentAndInterleavedByLine) {
  BankQueue q(4, 10);
  EXPECT_EQ(q.bank_of(0), 0u);
  EXPECT_EQ(q.bank_of(5), 1u);
  EXPECT_EQ(q.bank_of(7), 3u);
  // The same four requests spread over the banks: none waits.
  for (uint64_t line = 0; line < 4; ++line) EXPECT_EQ(q.request(q.bank_of(line), 100), 100u);
  EXPECT_EQ(q.stats().waits, 0u);
  EXPECT_EQ(q.stats().busy_time, 40u);
  // Not a power of two: 3 banks take lines 0, 3, 6 on bank 0.
  BankQueue odd(3, 5);
  EXPECT_EQ(odd.bank_of(6), 0u);
  EXPECT_EQ(odd.bank_of(7), 1u);
  EXPECT_THROW(odd.request(3, 0), std::out_of_range);
  EXPECT_THROW(BankQueue(0, 1), std::invalid_argument);
}

TEST(CacheBankQueue, ZeroOccupancyNeverWaits) {
  BankQueue q(1, 0);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(q.request(0, 42), 42u);
  EXPECT_EQ(q.stats().accesses, 5u);
  EXPECT_EQ(q.stats().waits, 0u);
  EXPECT_EQ(q.stats().busy_time, 0u);
}

std::string validation_error(const HierarchyConfig& c) {
  try {
    c.validate("system.caches");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(CacheBankQueue, ConfigKeysAreValidatedAndPresetsSetThem) {
  HierarchyConfig c = HierarchyConfig::named("custom");
  EXPECT_EQ(c.llc.banks, 1u);
  EXPECT_EQ(c.llc.bank_cycles, 0u);
  EXPECT_EQ(c.directory.cycles, 0u);
  EXPECT_EQ(validation_error(c), "");
  c.llc.banks = 0;
  EXPECT_NE(validation_error(c).find("system.caches.llc.banks"), std::string::npos) << validation_error(c);
  c.llc.banks = 1025;
  EXPECT_NE(validation_error(c).find("system.caches.llc.banks"), std::string::npos);
  c.llc.banks = 16;
  c.llc.bank_cycles = 1001;
  EXPECT_NE(validation_error(c).find("system.caches.llc.bank_cycles"), std::string::npos);
  c.llc.bank_cycles = 2;
  c.l2.banks = 2;
  EXPECT_NE(validation_error(c).find("system.caches.l2.banks"), std::string::npos);
  c.l2.banks = 1;
  c.l1d.bank_cycles = 1;
  EXPECT_NE(validation_error(c).find("system.caches.l1d.bank_cycles"), std::string::npos);
  c.l1d.bank_cycles = 0;
  c.directory.banks = 0;
  EXPECT_NE(validation_error(c).find("system.caches.directory.banks"), std::string::npos);
  c.directory.banks = 2;
  c.directory.cycles = 5000;
  EXPECT_NE(validation_error(c).find("system.caches.directory.cycles"), std::string::npos);
  c.directory.cycles = 4;
  EXPECT_EQ(validation_error(c), "");

  const HierarchyConfig sky = HierarchyConfig::named("skylake_sp");
  EXPECT_EQ(sky.llc.banks, 8u);
  EXPECT_EQ(sky.llc.bank_cycles, 2u);
  EXPECT_EQ(sky.directory.banks, 8u);
  EXPECT_EQ(sky.directory.cycles, 4u);
  const HierarchyConfig zen = HierarchyConfig::named("zen3");
  EXPECT_EQ(zen.llc.banks, 8u);
  EXPECT_EQ(zen.llc.bank_cycles, 2u);
  // A preset written after single keys refills them; none has no occupancy anywhere.
  HierarchyConfig n = HierarchyConfig::named("skylake_sp");
  n.set_preset("none");
  EXPECT_EQ(n.llc.bank_cycles, 0u);
  EXPECT_EQ(n.directory.cycles, 0u);
}

// What the timed shell queues: an access that looks up the LLC names it (llc_lookup); one that consults a
// home directory names the home (directory_home); hits in the private levels and prefetches name neither.
TEST(CacheBankQueue, AccessResultsNameTheLlcLookupAndTheDirectoryConsulted) {
  HierarchyConfig c = HierarchyConfig::named("custom");
  Hierarchy one(c, {0, 0}, nullptr);
  AccessResult r = one.access(0, AccessClass::Load, 0x1000, 0);
  EXPECT_TRUE(r.llc_lookup);
  EXPECT_EQ(r.directory_home, -1);  // one socket: no directory
  r = one.access(0, AccessClass::Load, 0x1000, 0);
  EXPECT_FALSE(r.llc_lookup);  // an L1 hit
  r = one.access(1, AccessClass::Load, 0x1000, 0);
  EXPECT_TRUE(r.llc_lookup);

  // Two sockets: cores 0, 1 in socket 0, cores 2, 3 in socket 1; lines below 1 GiB homed in socket 0.
  Hierarchy two(c, {0, 0, 1, 1}, [](uint64_t pa) { return static_cast<uint32_t>((pa >> 30) & 1); });
  const uint64_t A = 0x2000, B = (uint64_t{1} << 30) + 0x2000;
  r = two.access(2, AccessClass::Load, A, 0);  // socket 1 holds no copy: asks home 0
  EXPECT_TRUE(r.llc_lookup);
  EXPECT_EQ(r.directory_home, 0);
  r = two.access(3, AccessClass::Load, A, 0);  // socket 1 holds it now: served inside the socket
  EXPECT_TRUE(r.llc_lookup);
  EXPECT_EQ(r.directory_home, -1);
  r = two.access(0, AccessClass::Load, B, 0);  // socket 0 reads a line homed in socket 1
  EXPECT_EQ(r.directory_home, 1);
  r = two.access(0, AccessClass::Store, B, 0);  // socket 0 owns B (E): a silent upgrade in the L1
  EXPECT_FALSE(r.llc_lookup);
  EXPECT_EQ(r.directory_home, -1);
  r = two.access(2, AccessClass::Store, B, 0);  // socket 1 (the home) takes it from owner socket 0
  EXPECT_TRUE(r.llc_lookup);
  EXPECT_EQ(r.directory_home, 1);
  r = two.access(0, AccessClass::Store, A, 0);  // socket 0 (home) writes a line socket 1 shares
  EXPECT_EQ(r.directory_home, 0);
}

}  // namespace
}  // namespace vmsim::cache
