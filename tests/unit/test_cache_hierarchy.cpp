// Unit tests of the cache hierarchy: latencies, every inclusion policy on hand-worked sequences, MESI
// ping-pong and false sharing between cores, cross-socket directory messages, DMA traffic, prefetch
// accounting, walker entry points, and the coherence checker on random multi-core traffic and an injected
// dropped invalidation.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "models/cache/hierarchy.hpp"

namespace vmsim::cache {
namespace {

// Small caches: L1s 4 sets x 2 ways, L2 8 sets x 4 ways, LLC 16 sets x 4 ways; 64-byte lines.
HierarchyConfig small_config(Inclusion inclusion = Inclusion::Inclusive) {
  HierarchyConfig c;
  c.l1i.size = Bytes{512};
  c.l1i.ways = 2;
  c.l1d.size = Bytes{512};
  c.l1d.ways = 2;
  c.l2.size = Bytes{2048};
  c.l2.ways = 4;
  c.llc.size = Bytes{4096};
  c.llc.ways = 4;
  c.llc.inclusion = inclusion;
  return c;  // latencies 4 / 5 / 14 / 50, c2c 30
}

uint32_t home_by_gib(uint64_t pa) { return static_cast<uint32_t>((pa >> 30) & 1); }

Hierarchy one_socket(const HierarchyConfig& c, uint32_t cores) {
  return Hierarchy(c, std::vector<uint32_t>(cores, 0), nullptr);
}

// Cores 0, 1 in socket 0; cores 2, 3 in socket 1. Lines below 1 GiB are homed in socket 0, above in socket 1.
Hierarchy two_sockets(const HierarchyConfig& c) { return Hierarchy(c, {0, 0, 1, 1}, home_by_gib); }

void expect_cycles(const AccessResult& r, Served served, uint64_t l1, uint64_t l2, uint64_t llc) {
  EXPECT_EQ(r.served, served) << to_string(r.served);
  EXPECT_EQ(r.l1_cycles, l1);
  EXPECT_EQ(r.l2_cycles, l2);
  EXPECT_EQ(r.llc_cycles, llc);
  EXPECT_EQ(r.cycles, l1 + l2 + llc);
}

#define EXPECT_COHERENT(h) EXPECT_EQ((h).check_all(), "")

TEST(CacheHierarchy, LatenciesAndStatesOfOneCore) {
  Hierarchy h = one_socket(small_config(), 1);
  const uint64_t A = 0x1000;  // line 64: set 0 of the L1s
  AccessResult r = h.access(0, AccessClass::Load, A + 8, 0);
  expect_cycles(r, Served::Memory, 5, 9, 36);
  EXPECT_TRUE(r.memory_read);
  EXPECT_EQ(r.line_pa, A);
  EXPECT_EQ(r.remote_messages, 0u);
  EXPECT_EQ(h.state(Level::L1d, 0, A), State::E);
  EXPECT_EQ(h.state(Level::L2, 0, A), State::E);
  EXPECT_EQ(h.state(Level::Llc, 0, A), State::E);
  EXPECT_EQ(h.array(Level::Llc, 0)->sharers_at(h.array(Level::Llc, 0)->slot(0, 0)), 1u);

  r = h.access(0, AccessClass::Load, A, 0);
  expect_cycles(r, Served::L1, 5, 0, 0);
  EXPECT_FALSE(r.memory_read);
  r = h.access(0, AccessClass::Store, A + 4, 0);  // E -> M silently
  expect_cycles(r, Served::L1, 5, 0, 0);
  EXPECT_EQ(h.state(Level::L1d, 0, A), State::M);
  EXPECT_EQ(h.state(Level::L2, 0, A), State::E);
  r = h.access(0, AccessClass::Fetch, A, 0);  // L1I miss, L2 hit
  expect_cycles(r, Served::L2, 4, 10, 0);
  EXPECT_EQ(h.state(Level::L1i, 0, A), State::E);

  // Two more lines of L1D set 0 push A (LRU, dirty) down into the L2.
  h.access(0, AccessClass::Load, 0x1100, 0);
  r = h.access(0, AccessClass::Load, 0x1200, 0);
  EXPECT_EQ(r.n_writebacks, 0u);
  EXPECT_EQ(h.state(Level::L1d, 0, A), State::I);
  EXPECT_EQ(h.state(Level::L2, 0, A), State::M);
  r = h.access(0, AccessClass::Load, A, 0);
  expect_cycles(r, Served::L2, 5, 9, 0);
  EXPECT_EQ(h.state(Level::L1d, 0, A), State::E);

  const LevelStats& l1d = h.stats(Level::L1d, 0);
  EXPECT_EQ(l1d.accesses[size_t(AccessClass::Load)], 5u);
  EXPECT_EQ(l1d.hits[size_t(AccessClass::Load)], 1u);
  EXPECT_EQ(l1d.misses[size_t(AccessClass::Load)], 4u);
  EXPECT_EQ(l1d.hits[size_t(AccessClass::Store)], 1u);
  EXPECT_EQ(l1d.evictions, 2u);  // A, then 0x1100
  EXPECT_EQ(l1d.writebacks, 1u);
  const LevelStats& l2 = h.stats(Level::L2, 0);
  EXPECT_EQ(l2.accesses[size_t(AccessClass::Writeback)], 1u);
  EXPECT_EQ(l2.hits[size_t(AccessClass::Writeback)], 1u);
  EXPECT_EQ(l2.hits[size_t(AccessClass::Fetch)], 1u);
  EXPECT_EQ(l2.hits[size_t(AccessClass::Load)], 1u);
  EXPECT_EQ(h.stats(Level::Llc, 0).accesses[size_t(AccessClass::Load)], 3u);
  EXPECT_COHERENT(h);
  EXPECT_THROW(h.stats(Level::L1d, 1), std::out_of_range);
  EXPECT_THROW(h.access(0, AccessClass::Writeback, A, 0), std::invalid_argument);
}

TEST(CacheHierarchy, AbsentLevelsAreSkipped) {
  HierarchyConfig c = small_config();
  c.l2.present = false;
  Hierarchy h = one_socket(c, 1);
  AccessResult r = h.access(0, AccessClass::Load, 0x40, 0);
  expect_cycles(r, Served::Memory, 5, 0, 45);
  r = h.access(0, AccessClass::Fetch, 0x40, 0);  // the sibling L1D holds it E: a transfer inside the socket
  expect_cycles(r, Served::PeerCache, 4, 0, 46 + 30);
  EXPECT_EQ(h.state(Level::L1d, 0, 0x40), State::S);
  EXPECT_EQ(h.state(Level::L1i, 0, 0x40), State::S);
  // A store to the S copy needs an Upgrade; the core's own L1I copy is invalidated.
  r = h.access(0, AccessClass::Store, 0x40, 0);
  expect_cycles(r, Served::Llc, 5, 0, 45);
  EXPECT_FALSE(r.memory_read);
  EXPECT_EQ(h.state(Level::L1i, 0, 0x40), State::I);
  EXPECT_EQ(h.stats(Level::L1i, 0).invalidations, 1u);
  EXPECT_EQ(h.stats(Level::L1d, 0).upgrades, 1u);
  EXPECT_COHERENT(h);

  c.llc.present = false;
  Hierarchy n = one_socket(c, 2);
  n.access(0, AccessClass::Load, 0x40, 0);
  n.access(1, AccessClass::Load, 0x40, 0);
  r = n.access(1, AccessClass::Store, 0x40, 0);  // Upgrade without an LLC: charged as a memory access
  expect_cycles(r, Served::Memory, 5, 0, 0);
  EXPECT_TRUE(r.memory_read);
  EXPECT_COHERENT(n);

  HierarchyConfig none = small_config();
  none.l1i.present = none.l1d.present = none.l2.present = none.llc.present = false;
  Hierarchy z = one_socket(none, 2);
  for (AccessClass cls : {AccessClass::Load, AccessClass::Store, AccessClass::Fetch, AccessClass::PteRead}) {
    r = z.access(1, cls, 0x12345, 0);
    expect_cycles(r, Served::Memory, 0, 0, 0);
    EXPECT_TRUE(r.memory_read);
    EXPECT_EQ(r.line_pa, 0x12340u);
  }
  EXPECT_EQ(z.stats(Level::L1d, 1).total_accesses(), 0u);
  EXPECT_EQ(z.device_write(0, 4096), 0u);
  EXPECT_EQ(z.check_all(), "");
}

TEST(CacheHierarchy, TwoCoresPingPongOnOneLine) {
  Hierarchy h = one_socket(small_config(), 2);
  const uint64_t X = 0x8000;
  AccessResult r = h.access(0, AccessClass::Store, X, 0);
  EXPECT_EQ(r.served, Served::Memory);
  EXPECT_EQ(h.state(Level::L1d, 0, X), State::M);
  EXPECT_EQ(h.state(Level::L2, 0, X), State::E);

  r = h.access(1, AccessClass::Load, X, 0);  // core 0 supplies, downgrades to S, dirty data into the LLC
  expect_cycles(r, Served::PeerCache, 5, 9, 36 + 30);
  EXPECT_EQ(r.n_writebacks, 0u);
  EXPECT_EQ(h.state(Level::L1d, 0, X), State::S);
  EXPECT_EQ(h.state(Level::L2, 0, X), State::S);
  EXPECT_EQ(h.state(Level::L1d, 1, X), State::S);
  EXPECT_EQ(h.state(Level::Llc, 0, X), State::M);
  EXPECT_EQ(h.stats(Level::Llc, 0).c2c_transfers, 1u);
  EXPECT_EQ(h.stats(Level::L1d, 0).writebacks, 1u);
  EXPECT_COHERENT(h);

  r = h.access(1, AccessClass::Store, X, 0);  // Upgrade: core 0's copies invalidated
  expect_cycles(r, Served::Llc, 5, 9, 36);
  EXPECT_EQ(h.state(Level::L1d, 0, X), State::I);
  EXPECT_EQ(h.state(Level::L2, 0, X), State::I);
  EXPECT_EQ(h.state(Level::L1d, 1, X), State::M);
  EXPECT_EQ(h.state(Level::L2, 1, X), State::E);
  EXPECT_EQ(h.stats(Level::L1d, 0).invalidations, 1u);
  EXPECT_EQ(h.stats(Level::L2, 0).invalidations, 1u);
  EXPECT_EQ(h.stats(Level::L1d, 1).upgrades, 1u);
  EXPECT_EQ(h.stats(Level::L2, 1).upgrades, 1u);
  EXPECT_COHERENT(h);

  // Ten more round trips of stores: each is a GetM served by the other core's M copy.
  for (int i = 0; i < 10; ++i) {
    const uint32_t core = i % 2 == 0 ? 0 : 1;
    r = h.access(core, AccessClass::Store, X, 0);
    expect_cycles(r, Served::PeerCache, 5, 9, 66);
    EXPECT_EQ(h.state(Level::L1d, core, X), State::M);
    EXPECT_EQ(h.state(Level::L1d, 1 - core, X), State::I);
    EXPECT_COHERENT(h);
  }
  EXPECT_EQ(h.stats(Level::Llc, 0).c2c_transfers, 11u);
  EXPECT_EQ(h.stats(Level::L1d, 0).invalidations + h.stats(Level::L1d, 1).invalidations, 11u);
  EXPECT_EQ(h.stats(Level::L2, 0).invalidations + h.stats(Level::L2, 1).invalidations, 11u);
  EXPECT_EQ(h.state(Level::Llc, 0, X), State::M);
}

TEST(CacheHierarchy, FalseSharingCostsTransfersTrueSeparationDoesNot) {
  for (uint64_t second : {0x2008u, 0x2040u}) {
    Hierarchy h = one_socket(small_config(), 2);
    uint64_t c2c = 0;
    for (int i = 0; i < 20; ++i) {
      const uint32_t core = i % 2;
      AccessResult r = h.access(core, AccessClass::Store, core == 0 ? 0x2000 : second, 0);
      c2c += r.served == Served::PeerCache;
    }
    const bool shared_line = second == 0x2008;
    EXPECT_EQ(c2c, shared_line ? 19u : 0u);
    EXPECT_EQ(h.stats(Level::Llc, 0).c2c_transfers, shared_line ? 19u : 0u);
    EXPECT_EQ(h.stats(Level::L1d, 0).invalidations + h.stats(Level::L1d, 1).invalidations, shared_line ? 19u : 0u);
    EXPECT_EQ(h.stats(Level::L1d, 0).hits[size_t(AccessClass::Store)], shared_line ? 0u : 9u);
    EXPECT_COHERENT(h);
  }
}

TEST(CacheHierarchy, CrossSocketDirectoryMessages) {
  Hierarchy h = two_sockets(small_config());
  const uint64_t A = 0x1000;  // homed in socket 0
  // Core 2 (socket 1) reads a line homed in socket 0: request + data.
  AccessResult r = h.access(2, AccessClass::Load, A, 0);
  EXPECT_EQ(r.served, Served::Memory);
  EXPECT_EQ(r.remote_messages, 2u);
  EXPECT_EQ(h.state(Level::L1d, 2, A), State::E);
  EXPECT_EQ(h.state(Level::Llc, 1, A), State::E);
  EXPECT_COHERENT(h);
  // Core 0 (the home socket) reads it: forward to socket 1, data back. Socket 1 downgrades.
  r = h.access(0, AccessClass::Load, A, 0);
  EXPECT_EQ(r.served, Served::RemoteCache);
  EXPECT_EQ(r.remote_messages, 2u);
  EXPECT_FALSE(r.memory_read);
  expect_cycles(r, Served::RemoteCache, 5, 9, 36);
  EXPECT_EQ(h.state(Level::L1d, 2, A), State::S);
  EXPECT_EQ(h.state(Level::Llc, 1, A), State::S);
  EXPECT_EQ(h.state(Level::L1d, 0, A), State::S);
  EXPECT_EQ(h.state(Level::Llc, 0, A), State::S);
  EXPECT_EQ(h.stats(Level::Llc, 0).remote_transfers, 1u);
  EXPECT_COHERENT(h);
  // Core 2 writes: request to the home, invalidation (the home is the sharer: none crosses) + ack, grant.
  r = h.access(2, AccessClass::Store, A, 0);
  EXPECT_EQ(r.served, Served::Llc);
  EXPECT_EQ(r.remote_messages, 3u);
  EXPECT_EQ(h.state(Level::L1d, 0, A), State::I);
  EXPECT_EQ(h.state(Level::Llc, 0, A), State::I);
  EXPECT_EQ(h.stats(Level::Llc, 0).invalidations, 1u);
  EXPECT_EQ(h.stats(Level::L1d, 0).invalidations, 1u);
  EXPECT_EQ(h.state(Level::L1d, 2, A), State::M);
  EXPECT_COHERENT(h);
  // Core 3, same socket as the owner: a transfer inside socket 1, no messages.
  r = h.access(3, AccessClass::Load, A, 0);
  EXPECT_EQ(r.served, Served::PeerCache);
  EXPECT_EQ(r.remote_messages, 0u);
  EXPECT_EQ(h.state(Level::Llc, 1, A), State::M);
  EXPECT_COHERENT(h);
  // Core 1 (home socket) writes: forward + data from the owner socket; its data moves, no writeback.
  r = h.access(1, AccessClass::Store, A, 0);
  EXPECT_EQ(r.served, Served::RemoteCache);
  EXPECT_EQ(r.remote_messages, 2u);
  EXPECT_EQ(r.n_writebacks, 0u);
  for (uint32_t c : {2u, 3u}) EXPECT_EQ(h.state(Level::L2, c, A), State::I);
  EXPECT_EQ(h.state(Level::Llc, 1, A), State::I);
  EXPECT_EQ(h.state(Level::L1d, 1, A), State::M);
  EXPECT_EQ(h.state(Level::Llc, 0, A), State::E);
  EXPECT_COHERENT(h);
  // Core 2 reads it back: request + forward (home socket 0 is the owner: no forward crosses) + data.
  r = h.access(2, AccessClass::Load, A, 0);
  EXPECT_EQ(r.served, Served::RemoteCache);
  EXPECT_EQ(r.remote_messages, 2u);
  ASSERT_EQ(r.n_writebacks, 1u);  // the owner's dirty data goes to memory as it drops to S
  EXPECT_EQ(r.writebacks[0], A);
  EXPECT_COHERENT(h);

  // A line homed in socket 1 read by socket 0: request + data; a store from socket 0 afterwards is local.
  const uint64_t B = (uint64_t{1} << 30) + 0x1000;
  r = h.access(0, AccessClass::Load, B, 0);
  EXPECT_EQ(r.served, Served::Memory);
  EXPECT_EQ(r.remote_messages, 2u);
  r = h.access(0, AccessClass::Store, B, 0);
  EXPECT_EQ(r.served, Served::L1);
  EXPECT_EQ(r.remote_messages, 0u);
  // A third-party write: socket 1 (home) writes a line owned by socket 0: forward + data.
  r = h.access(3, AccessClass::Store, B, 0);
  EXPECT_EQ(r.served, Served::RemoteCache);
  EXPECT_EQ(r.remote_messages, 2u);
  EXPECT_COHERENT(h);
  // Two sockets sharing, a write from the non-home socket: request, invalidation to the other non-home...
  const uint64_t C = (uint64_t{1} << 30) + 0x2000;  // home socket 1
  h.access(0, AccessClass::Load, C, 0);              // socket 0: E (2 messages)
  h.access(2, AccessClass::Load, C, 0);              // socket 1 (home) reads: forward + data
  r = h.access(0, AccessClass::Store, C, 0);         // socket 0 upgrades: request, ack from socket 1, grant
  EXPECT_EQ(r.served, Served::Llc);
  EXPECT_EQ(r.remote_messages, 3u);
  EXPECT_COHERENT(h);
}

TEST(CacheHierarchy, DeviceTrafficInvalidatesAndWritesBack) {
  Hierarchy h = two_sockets(small_config());
  const uint64_t A = 0x4000;
  h.access(0, AccessClass::Store, A, 0);                            // M in core 0
  h.access(2, AccessClass::Load, A + 64, 0);                        // next line in socket 1
  EXPECT_EQ(h.device_write(A + 16, 64), 3u + 3u);                   // both lines: L1D, L2, LLC each
  for (uint32_t c : {0u, 2u}) {
    EXPECT_EQ(h.state(Level::L1d, c, A), State::I);
    EXPECT_EQ(h.state(Level::L1d, c, A + 64), State::I);
  }
  EXPECT_EQ(h.stats(Level::L1d, 0).invalidations, 1u);
  EXPECT_EQ(h.stats(Level::Llc, 1).invalidations, 1u);
  EXPECT_COHERENT(h);
  AccessResult r = h.access(0, AccessClass::Load, A, 0);  // refetched from memory, no remote state left
  EXPECT_EQ(r.served, Served::Memory);
  EXPECT_EQ(r.remote_messages, 0u);

  h.access(1, AccessClass::Store, 0x6000, 0);
  std::vector<uint64_t> wbs;
  EXPECT_EQ(h.device_read(0x6000, 4096, &wbs), 1u);
  EXPECT_EQ(wbs, (std::vector<uint64_t>{0x6000}));
  EXPECT_EQ(h.state(Level::L1d, 1, 0x6000), State::E);
  EXPECT_EQ(h.device_read(0x6000, 64, &wbs), 0u);  // clean now
  r = h.access(1, AccessClass::Store, 0x6000, 0);   // E -> M on the fast path
  EXPECT_EQ(r.served, Served::L1);
  EXPECT_EQ(h.device_read(0x6000, 1, nullptr), 1u);
  EXPECT_COHERENT(h);
}

// One core, L1D 1 set x 2 ways, no L1I or L2, LLC 1 set x 2 ways: every eviction is visible.
HierarchyConfig tiny(Inclusion inclusion) {
  HierarchyConfig c;
  c.l1i.present = false;
  c.l2.present = false;
  c.l1d.size = Bytes{128};
  c.l1d.ways = 2;
  c.llc.size = Bytes{128};
  c.llc.ways = 2;
  c.llc.inclusion = inclusion;
  return c;
}

TEST(CacheHierarchy, InclusiveLlcBackInvalidates) {
  Hierarchy h = one_socket(tiny(Inclusion::Inclusive), 1);
  const uint64_t A = 0x0, B = 0x40, C = 0x80;
  h.access(0, AccessClass::Load, A, 0);
  h.access(0, AccessClass::Load, B, 0);
  h.access(0, AccessClass::Store, A, 0);  // L1D hit: the LLC's LRU order is untouched (A oldest)
  AccessResult r = h.access(0, AccessClass::Load, C, 0);
  // LLC victim A: its private M copy is back-invalidated and written back.
  ASSERT_EQ(r.n_writebacks, 1u);
  EXPECT_EQ(r.writebacks[0], A);
  EXPECT_EQ(h.state(Level::L1d, 0, A), State::I);
  EXPECT_EQ(h.state(Level::L1d, 0, B), State::E);
  EXPECT_EQ(h.state(Level::L1d, 0, C), State::E);
  EXPECT_EQ(h.state(Level::Llc, 0, C), State::E);
  EXPECT_EQ(h.stats(Level::Llc, 0).back_invalidations, 1u);
  EXPECT_EQ(h.stats(Level::Llc, 0).evictions, 1u);
  EXPECT_EQ(h.stats(Level::Llc, 0).writebacks, 1u);
  EXPECT_EQ(h.stats(Level::L1d, 0).back_invalidations, 1u);
  EXPECT_EQ(h.stats(Level::L1d, 0).evictions, 0u);  // C took the way A's back-invalidation freed
  EXPECT_COHERENT(h);
}

TEST(CacheHierarchy, NonInclusiveLlcKeepsLevelsIndependent) {
  Hierarchy h = one_socket(tiny(Inclusion::NonInclusive), 1);
  const uint64_t A = 0x0, B = 0x40, C = 0x80;
  h.access(0, AccessClass::Load, A, 0);
  h.access(0, AccessClass::Load, B, 0);
  h.access(0, AccessClass::Store, A, 0);
  AccessResult r = h.access(0, AccessClass::Load, C, 0);
  // The LLC drops A (clean there); the L1D keeps its M copy and evicts B instead.
  EXPECT_EQ(r.n_writebacks, 0u);
  EXPECT_EQ(h.state(Level::L1d, 0, A), State::M);
  EXPECT_EQ(h.state(Level::L1d, 0, B), State::I);
  EXPECT_EQ(h.state(Level::Llc, 0, A), State::I);
  EXPECT_EQ(h.state(Level::Llc, 0, B), State::E);
  EXPECT_EQ(h.stats(Level::Llc, 0).back_invalidations, 0u);
  EXPECT_COHERENT(h);
  r = h.access(0, AccessClass::Load, B, 0);  // LLC hit; the L1D victim A is dirty and the LLC lacks it
  EXPECT_EQ(r.served, Served::Llc);
  ASSERT_EQ(r.n_writebacks, 1u);
  EXPECT_EQ(r.writebacks[0], A);
  EXPECT_EQ(h.stats(Level::Llc, 0).misses[size_t(AccessClass::Writeback)], 1u);
  EXPECT_COHERENT(h);
}

TEST(CacheHierarchy, ExclusiveLlcIsAVictimCache) {
  Hierarchy h = one_socket(tiny(Inclusion::Exclusive), 1);
  const uint64_t A = 0x0, B = 0x40, C = 0x80;
  h.access(0, AccessClass::Load, A, 0);
  h.access(0, AccessClass::Load, B, 0);
  EXPECT_EQ(h.array(Level::Llc, 0)->valid_lines(), 0u);  // misses do not fill the LLC
  h.access(0, AccessClass::Store, A, 0);
  h.access(0, AccessClass::Load, C, 0);  // L1D victim B (clean) enters the LLC
  EXPECT_EQ(h.state(Level::Llc, 0, B), State::E);
  EXPECT_EQ(h.array(Level::Llc, 0)->valid_lines(), 1u);
  AccessResult r = h.access(0, AccessClass::Load, B, 0);  // B leaves the LLC; victim A (M) enters it
  EXPECT_EQ(r.served, Served::Llc);
  EXPECT_EQ(r.n_writebacks, 0u);
  EXPECT_EQ(h.state(Level::Llc, 0, B), State::I);
  EXPECT_EQ(h.state(Level::Llc, 0, A), State::M);
  EXPECT_EQ(h.state(Level::L1d, 0, B), State::E);
  EXPECT_COHERENT(h);
  r = h.access(0, AccessClass::Load, A, 0);  // the dirty line comes back M; victim C (clean) enters
  EXPECT_EQ(r.served, Served::Llc);
  EXPECT_EQ(h.state(Level::L1d, 0, A), State::M);
  EXPECT_EQ(h.state(Level::Llc, 0, A), State::I);
  EXPECT_EQ(h.state(Level::Llc, 0, C), State::E);
  EXPECT_EQ(h.stats(Level::Llc, 0).accesses[size_t(AccessClass::Writeback)], 3u);
  EXPECT_COHERENT(h);
}

TEST(CacheHierarchy, WalkerEntryPointsAndHistogram) {
  HierarchyConfig c = small_config();
  c.walk_entry = WalkEntry::L2;
  Hierarchy h = one_socket(c, 1);
  AccessResult r = h.access(0, AccessClass::PteRead, 0x3000, 0, 4);
  expect_cycles(r, Served::Memory, 0, 14, 36);
  EXPECT_EQ(h.state(Level::L1d, 0, 0x3000), State::I);
  EXPECT_EQ(h.state(Level::L2, 0, 0x3000), State::E);
  r = h.access(0, AccessClass::PteRead, 0x3008, 0, 3);
  expect_cycles(r, Served::L2, 0, 14, 0);
  EXPECT_EQ(h.walk_served(4, Served::Memory), 1u);
  EXPECT_EQ(h.walk_served(3, Served::L2), 1u);
  EXPECT_EQ(h.walk_served(3, Served::Memory), 0u);
  h.access(0, AccessClass::Load, 0x3000, 0);  // the L1D gets a copy too
  r = h.access(0, AccessClass::AdWrite, 0x3000, 0);  // the walker's write takes it out of the L1D
  EXPECT_EQ(r.served, Served::L2);
  EXPECT_EQ(h.state(Level::L1d, 0, 0x3000), State::I);
  EXPECT_EQ(h.state(Level::L2, 0, 0x3000), State::M);
  EXPECT_COHERENT(h);

  c.walk_entry = WalkEntry::Llc;
  Hierarchy l = one_socket(c, 2);
  l.access(1, AccessClass::Store, 0x5000, 0);
  r = l.access(0, AccessClass::PteRead, 0x5000, 0, 1);  // core 1's M copy answers
  expect_cycles(r, Served::PeerCache, 0, 0, 50 + 30);
  r = l.access(0, AccessClass::PteRead, 0x5000, 0, 1);
  expect_cycles(r, Served::Llc, 0, 0, 50);
  r = l.access(0, AccessClass::AdWrite, 0x5000, 0);  // every private copy goes; the LLC holds it M
  EXPECT_EQ(l.state(Level::L1d, 1, 0x5000), State::I);
  EXPECT_EQ(l.state(Level::Llc, 0, 0x5000), State::M);
  EXPECT_EQ(l.walk_served(1, Served::PeerCache), 1u);
  EXPECT_COHERENT(l);

  c.walk_entry = WalkEntry::Memory;
  Hierarchy m = one_socket(c, 1);
  m.access(0, AccessClass::Store, 0x7000, 0);
  r = m.access(0, AccessClass::PteRead, 0x7000, 0, 2);
  expect_cycles(r, Served::Memory, 0, 0, 0);
  EXPECT_EQ(m.state(Level::L1d, 0, 0x7000), State::M);  // reads leave the caches alone
  r = m.access(0, AccessClass::AdWrite, 0x7000, 0);
  EXPECT_TRUE(r.memory_read);
  ASSERT_EQ(r.n_writebacks, 1u);
  EXPECT_EQ(m.state(Level::L1d, 0, 0x7000), State::I);
  EXPECT_EQ(m.state(Level::Llc, 0, 0x7000), State::I);
  EXPECT_COHERENT(m);
}

TEST(CacheHierarchy, PrefetchIssueUsefulAndUseless) {
  HierarchyConfig c = small_config();
  c.l1d.prefetcher = Prefetch::NextLine;
  Hierarchy h = one_socket(c, 1);
  AccessResult r = h.access(0, AccessClass::Load, 0x0, 0);
  EXPECT_EQ(r.served, Served::Memory);
  ASSERT_EQ(r.n_prefetch_reads, 1u);
  EXPECT_EQ(r.prefetch_reads[0], 0x40u);
  EXPECT_EQ(r.cycles, 50u);  // prefetches cost the demand access nothing
  EXPECT_EQ(h.state(Level::L1d, 0, 0x40), State::E);
  EXPECT_EQ(h.state(Level::L2, 0, 0x40), State::E);
  EXPECT_EQ(h.stats(Level::L1d, 0).prefetch_issued, 1u);
  EXPECT_EQ(h.stats(Level::L2, 0).accesses[size_t(AccessClass::Prefetch)], 1u);
  r = h.access(0, AccessClass::Load, 0x40, 0);  // first use
  EXPECT_EQ(r.served, Served::L1);
  EXPECT_EQ(h.stats(Level::L1d, 0).prefetch_useful, 1u);
  EXPECT_EQ(r.n_prefetch_reads, 1u);            // 0x80 next
  r = h.access(0, AccessClass::Load, 0x40, 0);  // not counted twice; 0x80 already there
  EXPECT_EQ(h.stats(Level::L1d, 0).prefetch_useful, 1u);
  EXPECT_EQ(r.n_prefetch_reads, 0u);
  EXPECT_EQ(h.stats(Level::L1d, 0).prefetch_issued, 2u);
  // 0x80 (prefetched, set 2) is pushed out unused by two loads of set 2.
  h.access(0, AccessClass::Load, 0x180, 0);
  h.access(0, AccessClass::Load, 0x280, 0);
  EXPECT_GE(h.stats(Level::L1d, 0).prefetch_useless, 1u);
  EXPECT_EQ(h.state(Level::L1d, 0, 0x80), State::I);
  h.count_prefetch_late(Level::L1d, 0);
  EXPECT_EQ(h.stats(Level::L1d, 0).prefetch_late, 1u);
  EXPECT_COHERENT(h);

  HierarchyConfig s = small_config();
  s.l2.prefetcher = Prefetch::Stream;
  s.l2.prefetch_degree = 2;
  Hierarchy st = one_socket(s, 1);
  st.access(0, AccessClass::Load, 0x1000, 0);
  st.access(0, AccessClass::Load, 0x1040, 0);
  r = st.access(0, AccessClass::Load, 0x1080, 0);  // third ascending L2 access: two lines ahead
  ASSERT_EQ(r.n_prefetch_reads, 2u);
  EXPECT_EQ(r.prefetch_reads[0], 0x10C0u);
  EXPECT_EQ(r.prefetch_reads[1], 0x1100u);
  EXPECT_EQ(st.state(Level::L2, 0, 0x10C0), State::E);
  EXPECT_EQ(st.state(Level::L1d, 0, 0x10C0), State::I);
  r = st.access(0, AccessClass::Load, 0x10C0, 0);
  EXPECT_EQ(r.served, Served::L2);
  EXPECT_EQ(st.stats(Level::L2, 0).prefetch_useful, 1u);
  EXPECT_COHERENT(st);
}

// Random traffic from 4 cores on 2 sockets over a few hundred lines homed in both sockets, with every
// access class, DMA reads and writes, and the checker run every 1000 accesses.
void random_traffic(const HierarchyConfig& c, uint32_t seed, int n) {
  Hierarchy h = two_sockets(c);
  std::mt19937_64 rng(seed);
  const AccessClass classes[] = {AccessClass::Load,    AccessClass::Load,    AccessClass::Store,
                                 AccessClass::Store,   AccessClass::Fetch,   AccessClass::PteRead,
                                 AccessClass::AdWrite, AccessClass::Prefetch};
  uint64_t served[kNumServed] = {};
  for (int i = 1; i <= n; ++i) {
    const uint64_t line = rng() % 384;
    const uint64_t pa = ((line & 1) << 30) + (line >> 1) * 64 + rng() % 64;
    const uint32_t core = static_cast<uint32_t>(rng() % 4);
    const uint64_t dice = rng() % 1000;
    if (dice == 0) {
      h.device_write(pa, 64 * (1 + rng() % 4));
    } else if (dice == 1) {
      std::vector<uint64_t> wbs;
      h.device_read(pa, 64 * (1 + rng() % 4), &wbs);
    } else {
      const AccessResult r = h.access(core, classes[rng() % 8], pa, rng() % 16, 1 + rng() % 4);
      ++served[static_cast<size_t>(r.served)];
      ASSERT_EQ(r.cycles, r.l1_cycles + r.l2_cycles + r.llc_cycles);
      ASSERT_EQ(r.memory_read, r.served == Served::Memory) << i;
    }
    if (i % 1000 == 0) {
      const std::string e = h.check_all();
      ASSERT_EQ(e, "") << "seed " << seed << " after access " << i;
    }
  }
  // The mix exercised every source the configuration has (an L1 hit needs an L1, an L2 hit an L2, an LLC
  // hit an LLC).
  for (Served s : {Served::L1, Served::L2, Served::Llc, Served::PeerCache, Served::RemoteCache, Served::Memory}) {
    if (s == Served::L2 && !c.l2.present) continue;
    if (s == Served::Llc && !c.llc.present) continue;
    EXPECT_GT(served[static_cast<size_t>(s)], 0u) << to_string(s);
  }
}

TEST(CacheHierarchy, CheckerPassesOnRandomTrafficInEveryInclusionMode) {
  for (Inclusion inc : {Inclusion::Inclusive, Inclusion::NonInclusive, Inclusion::Exclusive}) {
    SCOPED_TRACE(config::enum_name(inc));
    random_traffic(small_config(inc), 11 + static_cast<uint32_t>(inc), 100000);
  }
}

TEST(CacheHierarchy, CheckerPassesOnRandomTrafficWithVariants) {
  for (int variant = 0; variant < 4; ++variant) {
    SCOPED_TRACE("variant " + std::to_string(variant));
    HierarchyConfig c = small_config(variant % 2 ? Inclusion::NonInclusive : Inclusion::Inclusive);
    if (variant == 0) c.l2.present = false;
    if (variant == 1) {
      c.l1d.prefetcher = Prefetch::IpStride;
      c.l2.prefetcher = Prefetch::Stream;
      c.llc.prefetcher = Prefetch::NextLine;
      c.l1d.replacement = mmu::ReplacementPolicy::Srrip;
      c.llc.replacement = mmu::ReplacementPolicy::Brrip;
    }
    if (variant == 2) {
      c.walk_entry = WalkEntry::Llc;
      c.l1i.prefetcher = Prefetch::NextLine;
      c.l2.replacement = mmu::ReplacementPolicy::Plru;
    }
    if (variant == 3) {
      c.llc.present = false;
      c.walk_entry = WalkEntry::L2;
      c.l2.replacement = mmu::ReplacementPolicy::Random;
    }
    random_traffic(c, 100 + variant, 30000);
  }
  HierarchyConfig e = small_config(Inclusion::Exclusive);
  e.l2.present = false;
  e.l1d.prefetcher = Prefetch::NextLine;
  e.walk_entry = WalkEntry::Llc;
  random_traffic(e, 7, 30000);
}

TEST(CacheHierarchy, CheckerCatchesADroppedInvalidation) {
  for (bool with_l2 : {true, false}) {
    HierarchyConfig c = small_config();
    c.l2.present = with_l2;
    Hierarchy h = one_socket(c, 2);
    const uint64_t X = 0x9000;
    h.access(0, AccessClass::Load, X, 0);
    h.access(1, AccessClass::Load, X, 0);
    EXPECT_EQ(h.check_all(), "");
    h.inject_drop_next_invalidation();
    h.access(1, AccessClass::Store, X, 0);
    const std::string e = h.check_line(X);
    EXPECT_NE(e, "");
    EXPECT_NE(e.find("line 0x9000"), std::string::npos) << e;
    EXPECT_NE(e.find("core 0"), std::string::npos) << e;
    EXPECT_EQ(h.check_all(), e);
    EXPECT_EQ(h.state(Level::L1d, 0, X), State::S);  // the stale copy
  }
  // Across sockets too.
  Hierarchy h = two_sockets(small_config());
  h.access(0, AccessClass::Load, 0x9000, 0);
  h.access(2, AccessClass::Load, 0x9000, 0);
  h.inject_drop_next_invalidation();
  h.access(2, AccessClass::Store, 0x9000, 0);
  EXPECT_NE(h.check_all(), "");
}

TEST(CacheHierarchy, L1HitFastPathIsCheap) {
  Hierarchy h = one_socket(HierarchyConfig{}, 1);
  h.access(0, AccessClass::Load, 0x1000, 0);
  uint64_t sum = 0;
  for (int i = 0; i < 2000000; ++i) sum += h.access(0, i % 4 == 0 ? AccessClass::Store : AccessClass::Load, 0x1000 + (i % 8) * 8, 0).cycles;
  EXPECT_EQ(sum, 2000000u * 5);
  EXPECT_EQ(h.stats(Level::L1d, 0).hits[size_t(AccessClass::Load)], 1500000u);
}

// The inline L1D hit test (any resident line, with an ip_stride L1D prefetcher it checks for quiet) must
// count and replace exactly as the full access does: run the same traffic through try_l1d_hit + access and
// through the full access alone, and compare every result and counter.
TEST(CacheHierarchy, L1HitFastPathMatchesTheFullAccessWithAnIpStridePrefetcher) {
  for (const char* preset : {"skylake_sp", "zen3"}) {
    HierarchyConfig c;
    ASSERT_TRUE(c.set_preset(preset));
    ASSERT_EQ(c.l1d.prefetcher, Prefetch::IpStride);
    Hierarchy fast = one_socket(c, 2);
    Hierarchy full = one_socket(c, 2);
    uint32_t rng = 7;
    uint64_t fast_hits = 0;
    const int n = 200000;
    for (int i = 0; i < n; ++i) {
      rng = rng * 1103515245u + 12345u;
      const uint32_t core = (rng >> 30) & 1;
      // Mostly sequential words over 256 KiB (beyond the L1D) by two ips, some random lines, some stores.
      const uint64_t pa = (rng >> 8) % 16 == 0 ? uint64_t{(rng >> 4) % 4096} * 64 : (uint64_t(i) * 8) % (256 * 1024);
      const uint64_t ip = (rng >> 12) % 8 == 0 ? 0x400100 : 0x400000;
      const AccessClass cls = (rng >> 16) % 5 == 0 ? AccessClass::Store : AccessClass::Load;
      AccessResult a;
      if (fast.try_l1d_hit(core, cls == AccessClass::Store, pa, ip)) {
        ++fast_hits;
        a.served = Served::L1;
        a.cycles = a.l1_cycles = fast.l1d_latency();
      } else {
        a = fast.access(core, cls, pa, ip, 0);
      }
      const AccessResult b = full.access(core, cls, pa, ip, 0);
      ASSERT_EQ(a.served, b.served) << preset << " access " << i;
      ASSERT_EQ(a.cycles, b.cycles) << preset << " access " << i;
      ASSERT_EQ(a.n_writebacks, b.n_writebacks) << preset << " access " << i;
      ASSERT_EQ(a.n_prefetch_reads, b.n_prefetch_reads) << preset << " access " << i;
    }
    EXPECT_GT(fast_hits, uint64_t{n} / 4) << preset;
    for (Level l : {Level::L1i, Level::L1d, Level::L2, Level::Llc}) {
      for (uint32_t k = 0; k < (l == Level::Llc ? 1u : 2u); ++k) {
        const LevelStats& x = fast.stats(l, k);
        const LevelStats& y = full.stats(l, k);
        for (size_t a = 0; a < kNumAccessClasses; ++a) {
          EXPECT_EQ(x.accesses[a], y.accesses[a]) << preset << " " << to_string(l) << k;
          EXPECT_EQ(x.hits[a], y.hits[a]) << preset << " " << to_string(l) << k;
          EXPECT_EQ(x.misses[a], y.misses[a]) << preset << " " << to_string(l) << k;
        }
        EXPECT_EQ(x.evictions, y.evictions) << preset << " " << to_string(l) << k;
        EXPECT_EQ(x.writebacks, y.writebacks) << preset << " " << to_string(l) << k;
        EXPECT_EQ(x.prefetch_issued, y.prefetch_issued) << preset << " " << to_string(l) << k;
        EXPECT_EQ(x.prefetch_useful, y.prefetch_useful) << preset << " " << to_string(l) << k;
        EXPECT_EQ(x.prefetch_useless, y.prefetch_useless) << preset << " " << to_string(l) << k;
      }
    }
    EXPECT_EQ(fast.check_all(), "");
  }
}

// Every observable of two hierarchies of the same shape: counters of every level, each array's lines and
// states (slot by slot), and its replacement state (recency order, tree bits, RRPVs, generator, fills).
void expect_same_hierarchy(const Hierarchy& x, const Hierarchy& y, const std::string& what) {
  for (Level l : {Level::L1i, Level::L1d, Level::L2, Level::Llc}) {
    const uint32_t n = l == Level::Llc ? x.num_sockets() : x.num_cores();
    for (uint32_t k = 0; k < n; ++k) {
      const std::string where = what + " " + to_string(l) + std::to_string(k);
      const LevelStats& a = x.stats(l, k);
      const LevelStats& b = y.stats(l, k);
      for (size_t c = 0; c < kNumAccessClasses; ++c) {
        EXPECT_EQ(a.accesses[c], b.accesses[c]) << where << " " << to_string(AccessClass(c));
        EXPECT_EQ(a.hits[c], b.hits[c]) << where << " " << to_string(AccessClass(c));
        EXPECT_EQ(a.misses[c], b.misses[c]) << where << " " << to_string(AccessClass(c));
      }
      EXPECT_EQ(a.upgrades, b.upgrades) << where;
      EXPECT_EQ(a.evictions, b.evictions) << where;
      EXPECT_EQ(a.writebacks, b.writebacks) << where;
      EXPECT_EQ(a.invalidations, b.invalidations) << where;
      EXPECT_EQ(a.back_invalidations, b.back_invalidations) << where;
      EXPECT_EQ(a.prefetch_issued, b.prefetch_issued) << where;
      EXPECT_EQ(a.prefetch_useful, b.prefetch_useful) << where;
      EXPECT_EQ(a.prefetch_useless, b.prefetch_useless) << where;
      const CacheArray* ax = x.array(l, k);
      const CacheArray* ay = y.array(l, k);
      ASSERT_EQ(ax == nullptr, ay == nullptr) << where;
      if (ax == nullptr) continue;
      std::vector<std::tuple<uint64_t, State, uint64_t>> lx, ly;
      ax->for_each_valid([&](uint64_t line, State st, uint64_t sh) { lx.emplace_back(line, st, sh); });
      ay->for_each_valid([&](uint64_t line, State st, uint64_t sh) { ly.emplace_back(line, st, sh); });
      EXPECT_EQ(lx, ly) << where;
      const mmu::ReplacementState& rx = ax->replacement();
      const mmu::ReplacementState& ry = ay->replacement();
      EXPECT_EQ(rx.rng_state(), ry.rng_state()) << where;
      EXPECT_EQ(rx.fill_count(), ry.fill_count()) << where;
      for (uint32_t set = 0; set < ax->sets(); ++set) {
        EXPECT_EQ(rx.order(set), ry.order(set)) << where << " set " << set;
        EXPECT_EQ(rx.plru_bits(set), ry.plru_bits(set)) << where << " set " << set;
        EXPECT_EQ(rx.peek_victim(set), ry.peek_victim(set)) << where << " set " << set;
        for (uint32_t w = 0; w < ax->ways(); ++w) EXPECT_EQ(rx.rrpv(set, w), ry.rrpv(set, w)) << where << " set " << set;
      }
    }
  }
}

// The inline hit's memo (a repeated hit on the remembered line skips the lookup and a replacement update
// that would change nothing; the slow path primes it) under every replacement policy of the L1D, with
// every other kind of traffic in between: fetches, walker reads and A/D writes, whole-line firmware
// stores, DMA reads and writes, and another core's stores to the same lines. Each step goes through
// try_l1d_hit (else access) in one hierarchy and through the full access alone in the other; every
// result, counter, line, state and replacement state must agree.
TEST(CacheHierarchy, L1HitMemoMatchesTheFullAccessUnderEveryPolicyAndEveryEvent) {
  using mmu::ReplacementPolicy;
  for (const char* preset : {"skylake_sp", "zen3"}) {
    for (ReplacementPolicy pol : {ReplacementPolicy::Lru, ReplacementPolicy::Plru, ReplacementPolicy::Fifo,
                                  ReplacementPolicy::Random, ReplacementPolicy::Srrip, ReplacementPolicy::Brrip}) {
      for (Prefetch pf : {Prefetch::IpStride, Prefetch::None}) {
        HierarchyConfig c;
        ASSERT_TRUE(c.set_preset(preset));
        c.l1d.replacement = pol;
        c.l1d.prefetcher = pf;
        const std::string what = std::string(preset) + " policy " + std::to_string(int(pol)) +
                                 (pf == Prefetch::None ? " no prefetcher" : " ip_stride");
        Hierarchy fast = one_socket(c, 2);
        Hierarchy full = one_socket(c, 2);
        std::mt19937_64 rng(17);
        uint64_t fast_hits = 0;
        const int n = 60000;
        for (int i = 0; i < n; ++i) {
          const uint64_t r = rng();
          const uint32_t core = (r >> 60) % 8 == 0 ? 1 : 0;
          // Runs of word accesses within a line (the memo's case), sequential lines over 64 KiB (beyond the
          // L1D), some random lines; two ips; loads then stores to the same line.
          const uint64_t pa = (r >> 8) % 16 == 0 ? ((r >> 20) % 2048) * 64 : (uint64_t(i / 4) * 8) % (64 * 1024);
          const uint64_t ip = (r >> 12) % 8 == 0 ? 0x400100 : 0x400000;
          const unsigned kind = (r >> 16) % 100;
          AccessResult a, b;
          if (kind < 2) {  // other traffic, both sides alike
            const AccessClass cls = kind == 0 ? AccessClass::Fetch : AccessClass::PteRead;
            a = fast.access(core, cls, pa, ip, cls == AccessClass::PteRead ? 1 : 0);
            b = full.access(core, cls, pa, ip, cls == AccessClass::PteRead ? 1 : 0);
          } else if (kind == 2) {
            a = fast.access(core, AccessClass::AdWrite, pa, 0, 0);
            b = full.access(core, AccessClass::AdWrite, pa, 0, 0);
          } else if (kind == 3) {
            a = fast.write_full_line(core, pa);
            b = full.write_full_line(core, pa);
          } else if (kind == 4 && (r >> 24) % 8 == 0) {
            std::vector<uint64_t> wx, wy;
            EXPECT_EQ(fast.device_read(pa & ~uint64_t{4095}, 4096, &wx), full.device_read(pa & ~uint64_t{4095}, 4096, &wy));
            EXPECT_EQ(wx, wy);
            continue;
          } else if (kind == 5 && (r >> 24) % 8 == 0) {
            EXPECT_EQ(fast.device_write(pa, 256), full.device_write(pa, 256));
            continue;
          } else {
            const AccessClass cls = (r >> 28) % 4 == 0 ? AccessClass::Store : AccessClass::Load;
            if (fast.try_l1d_hit(core, cls == AccessClass::Store, pa, ip)) {
              ++fast_hits;
              a.served = Served::L1;
              a.cycles = a.l1_cycles = fast.l1d_latency();
            } else {
              a = fast.access(core, cls, pa, ip, 0);
            }
            b = full.access(core, cls, pa, ip, 0);
          }
          ASSERT_EQ(a.served, b.served) << what << " access " << i;
          ASSERT_EQ(a.cycles, b.cycles) << what << " access " << i;
          ASSERT_EQ(a.n_writebacks, b.n_writebacks) << what << " access " << i;
          ASSERT_EQ(a.n_prefetch_reads, b.n_prefetch_reads) << what << " access " << i;
          if (i % 5000 == 0) expect_same_hierarchy(fast, full, what + " at " + std::to_string(i));
        }
        EXPECT_GT(fast_hits, uint64_t{n} / 3) << what;
        expect_same_hierarchy(fast, full, what);
        EXPECT_EQ(fast.check_all(), "") << what;
      }
    }
  }
}


// Every field of two access results (the arrays up to their counts).
void expect_same_result(const AccessResult& a, const AccessResult& b, const std::string& where) {
  EXPECT_EQ(a.served, b.served) << where;
  EXPECT_EQ(a.cycles, b.cycles) << where;
  EXPECT_EQ(a.l1_cycles, b.l1_cycles) << where;
  EXPECT_EQ(a.l2_cycles, b.l2_cycles) << where;
  EXPECT_EQ(a.llc_cycles, b.llc_cycles) << where;
  EXPECT_EQ(a.memory_read, b.memory_read) << where;
  EXPECT_EQ(a.prefetch_used, b.prefetch_used) << where;
  EXPECT_EQ(a.line_pa, b.line_pa) << where;
  EXPECT_EQ(a.remote_messages, b.remote_messages) << where;
  EXPECT_EQ(a.prefetch_remote_messages, b.prefetch_remote_messages) << where;
  ASSERT_EQ(a.n_writebacks, b.n_writebacks) << where;
  for (uint32_t i = 0; i < a.n_writebacks; ++i) EXPECT_EQ(a.writebacks[i], b.writebacks[i]) << where;
  ASSERT_EQ(a.n_prefetch_reads, b.n_prefetch_reads) << where;
  for (uint32_t i = 0; i < a.n_prefetch_reads; ++i) EXPECT_EQ(a.prefetch_reads[i], b.prefetch_reads[i]) << where;
}

// access_slow's shortcuts (a demand L1D hit, the first use of a prefetched line included, handled without
// private_access, and the same through l1d_demand_hit_untimed; an L1 prefetch the L2 serves filled without
// private_access) against the general path alone
// (set_general_paths_only), under every L1D replacement policy and prefetcher, with an L1I prefetcher, with
// and without an L2, on one and two sockets, with every other kind of traffic in between. Every result,
// counter, line, state and replacement state must agree.
TEST(CacheHierarchy, SlowPathShortcutsMatchTheGeneralPath) {
  using mmu::ReplacementPolicy;
  struct Shape {
    const char* preset;
    bool l2;
    bool sockets2;
  };
  for (const Shape shape : {Shape{"skylake_sp", true, false}, Shape{"zen3", true, false}, Shape{"skylake_sp", false, false},
                            Shape{"skylake_sp", true, true}}) {
    for (ReplacementPolicy pol : {ReplacementPolicy::Lru, ReplacementPolicy::Plru, ReplacementPolicy::Fifo,
                                  ReplacementPolicy::Random, ReplacementPolicy::Srrip, ReplacementPolicy::Brrip}) {
      for (Prefetch pf : {Prefetch::IpStride, Prefetch::NextLine, Prefetch::Stream, Prefetch::None}) {
        HierarchyConfig c;
        ASSERT_TRUE(c.set_preset(shape.preset));
        c.l1d.replacement = pol;
        c.l1d.prefetcher = pf;
        c.l1d.prefetch_degree = pf == Prefetch::NextLine ? 2 : 1;
        c.l1i.prefetcher = Prefetch::NextLine;
        // Smaller arrays than the presets', so lines leave every level within the run.
        c.l1d.size = Bytes{4096};
        c.l1i.size = Bytes{4096};
        c.l2.size = Bytes{32768};
        c.l2.present = shape.l2;
        c.llc.size = Bytes{c.llc.ways * 64 * 64};
        const std::string what = std::string(shape.preset) + (shape.l2 ? "" : " no l2") +
                                 (shape.sockets2 ? " 2 sockets" : "") + " policy " + std::to_string(int(pol)) +
                                 " prefetcher " + std::to_string(int(pf));
        Hierarchy fast = shape.sockets2 ? two_sockets(c) : one_socket(c, 2);
        Hierarchy ref = shape.sockets2 ? two_sockets(c) : one_socket(c, 2);
        ref.set_general_paths_only(true);
        const uint32_t cores = fast.num_cores();
        std::mt19937_64 rng(29);
        uint64_t untimed_demand_hits = 0;
        const int n = 20000;
        for (int i = 0; i < n; ++i) {
          const uint64_t r = rng();
          const uint32_t core = (r >> 60) % 8 == 0 ? (1 + (r >> 56) % (cores - 1)) : 0;
          // Sequential words over 32 KiB (beyond the L1D, within the L2), random lines, lines across sockets.
          const bool random_line = (r >> 8) % 16 == 0;
          uint64_t pa = random_line ? ((r >> 20) % 1024) * 64 : (uint64_t(i / 2) * 8) % (32 * 1024);
          if (shape.sockets2 && (r >> 44) % 4 == 0) pa += uint64_t{1} << 30;
          const uint64_t ip = random_line ? 0x400210 : (r >> 12) % 8 == 0 ? 0x400108 : 0x400000;  // 3 prefetcher entries
          const unsigned kind = (r >> 16) % 100;
          AccessResult a, b;
          bool untimed = false;
          if (kind < 3) {
            const AccessClass cls = kind == 0 ? AccessClass::Fetch : kind == 1 ? AccessClass::PteRead : AccessClass::AdWrite;
            a = fast.access(core, cls, pa, ip, cls == AccessClass::PteRead ? 2 : 0);
            b = ref.access(core, cls, pa, ip, cls == AccessClass::PteRead ? 2 : 0);
          } else if (kind == 3) {
            a = fast.write_full_line(core, pa);
            b = ref.write_full_line(core, pa);
          } else if (kind == 4) {
            a = fast.access(core, AccessClass::Prefetch, pa, ip, 0);
            b = ref.access(core, AccessClass::Prefetch, pa, ip, 0);
          } else if (kind == 5 && (r >> 24) % 8 == 0) {
            std::vector<uint64_t> wx, wy;
            EXPECT_EQ(fast.device_read(pa & ~uint64_t{4095}, 4096, &wx), ref.device_read(pa & ~uint64_t{4095}, 4096, &wy));
            EXPECT_EQ(wx, wy);
            continue;
          } else if (kind == 6 && (r >> 24) % 8 == 0) {
            EXPECT_EQ(fast.device_write(pa, 256), ref.device_write(pa, 256));
            continue;
          } else {
            const AccessClass cls = (r >> 28) % 4 == 0 ? AccessClass::Store : AccessClass::Load;
            const bool store = cls == AccessClass::Store;
            // On the fast side the 4-argument access (inline test first), the 5-argument one (access_slow's
            // shortcut or general path), or the functional mode's sequence: try_l1d_hit, then
            // l1d_demand_hit_untimed, then access. The general path alone is the reference.
            const unsigned how = (r >> 32) % 3;
            b = ref.access(core, cls, pa, ip, 0);
            if (how == 2 && fast.try_l1d_hit(core, store, pa, ip)) {
              untimed = true;
            } else if (how == 2 && fast.l1d_demand_hit_untimed(core, store, pa, ip)) {
              untimed = true;
              ++untimed_demand_hits;
            } else {
              a = how == 0 ? fast.access(core, cls, pa, ip) : fast.access(core, cls, pa, ip, 0);
            }
          }
          if (untimed) {  // the untimed caller takes it as an L1D hit and needs nothing else of the result
            EXPECT_EQ(b.served, Served::L1) << what << " access " << i;
            EXPECT_EQ(b.cycles, fast.l1d_latency()) << what << " access " << i;
          } else {
            expect_same_result(a, b, what + " access " + std::to_string(i));
          }
          if (::testing::Test::HasFailure()) return;
          if (i % 4000 == 0) expect_same_hierarchy(fast, ref, what + " at " + std::to_string(i));
        }
        expect_same_hierarchy(fast, ref, what);
        EXPECT_EQ(fast.check_all(), "") << what;
        // The shortcuts ran: demand L1D hits on prefetched lines and L2-served L1 prefetches happened.
        if (pf != Prefetch::None) {
          EXPECT_GT(fast.stats(Level::L1d, 0).prefetch_useful, pf == Prefetch::Stream ? 0u : 100u) << what;
          EXPECT_GT(untimed_demand_hits, pf == Prefetch::Stream ? 0u : 30u) << what;
        }
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

}  // namespace
}  // namespace vmsim::cache
