// Address mapping: parsing of the field-order string and bit-field decode/encode.
#include "models/dram/address_mapper.hpp"

#include "common/error.hpp"

namespace vmsim::dram {
namespace {

unsigned log2u(uint64_t v) {
  unsigned n = 0;
  while (v > 1) {
    v >>= 1;
    ++n;
  }
  return n;
}

uint64_t mask(unsigned width) { return width >= 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1; }

const char* const kShortNames[] = {"ch", "ra", "bg", "ba", "ro", "co"};
const char* const kLongNames[] = {"channel", "rank", "bankgroup", "bank", "row", "column"};

}  // namespace

AddressMapper::AddressMapper(const Organisation& org, uint64_t request_bytes, const std::string& mapping,
                             bool xor_bank_hash, const std::string& key_path)
    : m_mapping(mapping), m_xor(xor_bank_hash) {
  auto fail = [&](const std::string& msg) {
    throw InputError(key_path + ": bad value '" + mapping + "' (" + msg + ")");
  };
  const uint64_t burst_bytes = org.burst_bytes();
  if (burst_bytes == 0 || request_bytes < burst_bytes || request_bytes % burst_bytes != 0) {
    fail("request size " + std::to_string(request_bytes) + " is not a multiple of the burst size");
  }
  const uint64_t bursts = request_bytes / burst_bytes;
  m_column_scale = static_cast<uint32_t>(org.burst_length * bursts);
  if (org.columns < m_column_scale) fail("a request is larger than a row");
  m_offset_bits = log2u(request_bytes);
  m_bits[kCh] = log2u(org.channel_count());
  m_bits[kRa] = log2u(org.ranks);
  m_bits[kBg] = log2u(org.bank_groups);
  m_bits[kBa] = log2u(org.banks_per_group);
  m_bits[kRo] = log2u(org.rows);
  m_bits[kCo] = log2u(org.columns / m_column_scale);

  struct Token {
    uint8_t field;
    int width;  // -1: the remainder of the field
  };
  std::vector<Token> tokens;
  size_t pos = 0;
  while (pos <= mapping.size()) {
    size_t end = mapping.find(':', pos);
    if (end == std::string::npos) end = mapping.size();
    std::string tok = mapping.substr(pos, end - pos);
    pos = end + 1;
    size_t digits = tok.find_first_of("0123456789");
    std::string name = tok.substr(0, digits);
    int width = -1;
    if (digits != std::string::npos) {
      std::string w = tok.substr(digits);
      if (w.find_first_not_of("0123456789") != std::string::npos || w.size() > 2) fail("bad field '" + tok + "'");
      width = std::stoi(w);
      if (width == 0) fail("field '" + tok + "' has width 0");
    }
    int field = -1;
    for (int f = 0; f < kFields; ++f) {
      if (name == kShortNames[f] || name == kLongNames[f]) field = f;
    }
    if (field < 0) fail("unknown field '" + tok + "' (expected ro, ra, bg, ba, co, ch)");
    tokens.push_back({static_cast<uint8_t>(field), width});
  }

  for (int f = 0; f < kFields; ++f) {
    int explicit_sum = 0;
    int remainders = 0;
    for (const Token& t : tokens) {
      if (t.field != f) continue;
      if (t.width < 0) ++remainders;
      else explicit_sum += t.width;
    }
    const int need = static_cast<int>(m_bits[f]);
    if (remainders > 1) fail(std::string("field '") + kShortNames[f] + "' appears more than once without a width");
    if (remainders == 0 && explicit_sum != need && !(explicit_sum == 0 && need == 0)) {
      fail(std::string("field '") + kShortNames[f] + "' needs " + std::to_string(need) + " bits, mapping gives " +
           std::to_string(explicit_sum));
    }
    if (remainders == 1 && explicit_sum > need) {
      fail(std::string("widths of field '") + kShortNames[f] + "' exceed its " + std::to_string(need) + " bits");
    }
    for (Token& t : tokens) {
      if (t.field == f && t.width < 0) t.width = need - explicit_sum;
    }
  }

  unsigned addr_shift = m_offset_bits;
  unsigned consumed[kFields] = {};
  for (auto it = tokens.rbegin(); it != tokens.rend(); ++it) {
    if (it->width == 0) continue;
    m_segments.push_back({it->field, static_cast<uint8_t>(it->width), static_cast<uint8_t>(consumed[it->field]),
                          static_cast<uint8_t>(addr_shift)});
    consumed[it->field] += static_cast<unsigned>(it->width);
    addr_shift += static_cast<unsigned>(it->width);
  }
  if (addr_shift > 63) fail("mapping needs " + std::to_string(addr_shift) + " address bits (max 63)");
  unsigned channel_pieces = 0;
  for (const Segment& s : m_segments) {
    if (s.field != kCh) continue;
    ++channel_pieces;
    m_channel_shift = s.addr_shift;
    m_channel_mask = mask(s.width);
  }
  m_channel_contiguous = channel_pieces <= 1;
  m_capacity = uint64_t{1} << addr_shift;
}

DramAddress AddressMapper::decode(uint64_t address) const {
  uint64_t v[kFields] = {};
  for (const Segment& s : m_segments) v[s.field] |= ((address >> s.addr_shift) & mask(s.width)) << s.field_shift;
  if (m_xor) {
    v[kBa] ^= v[kRo] & mask(m_bits[kBa]);
    v[kBg] ^= (v[kRo] >> m_bits[kBa]) & mask(m_bits[kBg]);
  }
  DramAddress a;
  a.channel = static_cast<uint32_t>(v[kCh]);
  a.rank = Rank{static_cast<uint8_t>(v[kRa])};
  a.bank_group = BankGroup{static_cast<uint8_t>(v[kBg])};
  a.bank = Bank{static_cast<uint8_t>(v[kBa])};
  a.row = static_cast<uint32_t>(v[kRo]);
  a.column = static_cast<uint32_t>(v[kCo] * m_column_scale);
  return a;
}

uint64_t AddressMapper::encode(const DramAddress& a) const {
  uint64_t v[kFields] = {};
  v[kCh] = a.channel;
  v[kRa] = index(a.rank);
  v[kBg] = index(a.bank_group);
  v[kBa] = index(a.bank);
  v[kRo] = a.row;
  v[kCo] = a.column / m_column_scale;
  if (m_xor) {
    v[kBa] ^= v[kRo] & mask(m_bits[kBa]);
    v[kBg] ^= (v[kRo] >> m_bits[kBa]) & mask(m_bits[kBg]);
  }
  uint64_t address = 0;
  for (const Segment& s : m_segments) address |= ((v[s.field] >> s.field_shift) & mask(s.width)) << s.addr_shift;
  return address;
}

uint32_t AddressMapper::channel_of_split(uint64_t address) const {
  uint64_t ch = 0;
  for (const Segment& s : m_segments) {
    if (s.field == kCh) ch |= ((address >> s.addr_shift) & mask(s.width)) << s.field_shift;
  }
  return static_cast<uint32_t>(ch);
}

}  // namespace vmsim::dram
