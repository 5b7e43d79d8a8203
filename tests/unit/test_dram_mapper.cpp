// Unit tests for the DRAM address mapper: field positions, split fields, XOR bank hashing, bijectivity,
// encode/decode round trips on every preset, and mapping-string errors.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <tuple>

#include "common/error.hpp"
#include "models/dram/address_mapper.hpp"
#include "models/dram/standards.hpp"

namespace vmsim::dram {
namespace {

Organisation ddr4_org() {
  DramConfig c;
  c.set_preset("DDR4-3200AA");
  return c.organisation;
}

TEST(DramMapper, FieldsSitAtTheirBitPositionsMsbToLsb) {
  // 64-byte lines: 6 offset bits; co 7 (128 lines per 8 KB row), ba 2, bg 2, ro 16, one channel.
  const AddressMapper m(ddr4_org(), 64, "ro:ra:bg:ba:co:ch", false);
  const uint64_t a = (uint64_t{12345} << 17) | (uint64_t{2} << 15) | (uint64_t{3} << 13) | (uint64_t{100} << 6) | 17;
  const DramAddress d = m.decode(a);
  EXPECT_EQ(d.row, 12345u);
  EXPECT_EQ(index(d.bank_group), 2u);
  EXPECT_EQ(index(d.bank), 3u);
  EXPECT_EQ(d.column, 100u * 8);  // device columns: BL8 per 64-byte burst
  EXPECT_EQ(d.channel, 0u);
  EXPECT_EQ(m.capacity(), uint64_t{8} << 30);
  EXPECT_EQ(m.encode(d), a & ~uint64_t{63});
}

TEST(DramMapper, CacheLineBankGroupInterleavingRotatesGroups) {
  const AddressMapper m(ddr4_org(), 64, "ro:ra:ba:co:bg:ch", false);
  for (uint64_t line = 0; line < 8; ++line) {
    const DramAddress d = m.decode(line * 64);
    EXPECT_EQ(index(d.bank_group), line % 4);
    EXPECT_EQ(d.column, (line / 4) * 8);
    EXPECT_EQ(d.row, 0u);
  }
  // Long names are accepted too.
  const AddressMapper longer(ddr4_org(), 64, "row:rank:bank:column:bankgroup:channel", false);
  EXPECT_EQ(longer.decode(5 * 64), m.decode(5 * 64));
}

TEST(DramMapper, SplitFieldKeepsPairsOfLinesInOneBankGroup) {
  const AddressMapper m(ddr4_org(), 64, "ro:ra:ba:co:bg:co1:ch", false);
  const unsigned groups[8] = {0, 0, 1, 1, 2, 2, 3, 3};
  const uint32_t cols[8] = {0, 8, 0, 8, 0, 8, 0, 8};
  for (uint64_t line = 0; line < 8; ++line) {
    const DramAddress d = m.decode(line * 64);
    EXPECT_EQ(index(d.bank_group), groups[line]) << line;
    EXPECT_EQ(d.column, cols[line]) << line;
  }
  EXPECT_EQ(m.decode(8 * 64).column, 16u);
}

TEST(DramMapper, XorHashSpreadsRowsOfOneBankOverBanks) {
  const AddressMapper plain(ddr4_org(), 64, "ro:ra:bg:ba:co:ch", false);
  const AddressMapper hashed(ddr4_org(), 64, "ro:ra:bg:ba:co:ch", true);
  std::set<std::pair<unsigned, unsigned>> banks;
  for (uint32_t row = 0; row < 16; ++row) {
    DramAddress a;
    a.row = row;
    const uint64_t addr = plain.encode(a);  // bank 0 of group 0 under the plain mapping
    const DramAddress h = hashed.decode(addr);
    EXPECT_EQ(h.row, row);
    EXPECT_EQ(index(h.bank), row & 3);
    EXPECT_EQ(index(h.bank_group), (row >> 2) & 3);
    banks.insert({index(h.bank_group), index(h.bank)});
    EXPECT_EQ(hashed.encode(h), addr);
  }
  EXPECT_EQ(banks.size(), 16u);
}

TEST(DramMapper, SmallOrganisationIsABijection) {
  Organisation o;
  o.channels = 2;
  o.subchannels = 1;
  o.ranks = 2;
  o.bank_groups = 2;
  o.banks_per_group = 2;
  o.rows = 4;
  o.columns = 32;
  o.bus_bits = 64;
  o.burst_length = 8;
  for (const char* mapping : {"ro:ra:bg:ba:co:ch", "ch:co:ba:bg:ra:ro", "ro:co1:ra:ba:co:bg:ch"}) {
    for (bool x : {false, true}) {
      SCOPED_TRACE(std::string(mapping) + (x ? " xor" : ""));
      const AddressMapper m(o, 64, mapping, x);
      ASSERT_EQ(m.capacity(), uint64_t{1} << (6 + 1 + 1 + 1 + 1 + 2 + 2));
      std::set<std::tuple<uint32_t, unsigned, unsigned, unsigned, uint32_t, uint32_t>> seen;
      for (uint64_t line = 0; line < m.capacity() / 64; ++line) {
        const DramAddress d = m.decode(line * 64);
        seen.insert({d.channel, index(d.rank), index(d.bank_group), index(d.bank), d.row, d.column});
        EXPECT_EQ(m.encode(d), line * 64);
        EXPECT_EQ(m.channel_of(line * 64), d.channel);
      }
      EXPECT_EQ(seen.size(), m.capacity() / 64);
    }
  }
}

TEST(DramMapper, EveryPresetRoundTripsRandomAddresses) {
  std::mt19937_64 rng(9);
  for (const StandardSpec* s : all_standards()) {
    for (const SpeedBin& bin : s->bins) {
      for (const char* mapping : {"ro:ra:ba:co:bg:ch", "ro:ra:bg:ba:co:ch", "ch:ro:ra:ba:bg:co", "ro:ch:ra:ba:co:bg:co2"}) {
        SCOPED_TRACE(std::string(bin.name) + " " + mapping);
        DramConfig c;
        c.set_preset(bin.name);
        const AddressMapper m(c.organisation, 64, mapping, true);
        EXPECT_EQ(m.capacity(), c.organisation.capacity_bytes());
        for (int i = 0; i < 200; ++i) {
          const uint64_t a = (rng() % m.capacity()) & ~uint64_t{63};
          const DramAddress d = m.decode(a);
          EXPECT_LT(d.channel, c.organisation.channel_count());
          EXPECT_LT(d.row, c.organisation.rows);
          EXPECT_LT(d.column, c.organisation.columns);
          EXPECT_EQ(m.encode(d), a);
          EXPECT_EQ(m.channel_of(a), d.channel);
        }
        EXPECT_EQ(m.decode(m.capacity() + 64), m.decode(64));  // wraps modulo capacity
      }
    }
  }
}

TEST(DramMapper, MalformedMappingsAreInputErrorsNamingKeyAndString) {
  const struct {
    const char* mapping;
    const char* needle;
  } cases[] = {
      {"ro:rx:bg:ba:co:ch", "unknown field 'rx'"},
      {"ro:ra:bg:co:ch", "'ba' needs 2 bits"},
      {"ro:ra:bg:ba:co:co:ch", "more than once"},
      {"ro:ra:bg:ba:co3:ch", "'co' needs 7 bits"},
      {"ro:ra:bg:ba:co:co9:ch", "exceed"},
      {"ro:ra:bg:ba:co0:ch", "width 0"},
      {"ro:ra:bg:ba:co:ch:", "unknown field ''"},
      {"", "unknown field"},
      {"ro:ra:bg:ba:co:ch2", "'ch' needs 0 bits"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.mapping);
    try {
      AddressMapper m(ddr4_org(), 64, tc.mapping, false, "dram.controller.address_mapping");
      ADD_FAILURE() << "expected InputError";
    } catch (const InputError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("dram.controller.address_mapping: bad value '" + std::string(tc.mapping) + "'"), std::string::npos)
          << msg;
      EXPECT_NE(msg.find(tc.needle), std::string::npos) << msg;
    }
  }
}

}  // namespace
}  // namespace vmsim::dram
