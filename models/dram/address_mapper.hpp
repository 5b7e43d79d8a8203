// Physical address -> (channel, rank, bank group, bank, row, column) decoding from a field-order string.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/dram/dram_config.hpp"
#include "models/dram/dram_types.hpp"

namespace vmsim::dram {

// A decoded request address. `channel` counts (sub)channels: 0..channels*subchannels-1.
struct DramAddress {
  uint32_t channel = 0;
  Rank rank{};
  BankGroup bank_group{};
  Bank bank{};
  uint32_t row = 0;
  uint32_t column = 0;  // first device column of the request (a multiple of burst_length)

  bool operator==(const DramAddress& o) const {
    return channel == o.channel && rank == o.rank && bank_group == o.bank_group && bank == o.bank &&
           row == o.row && column == o.column;
  }
};

// Decodes addresses with a mapping written MSB to LSB as ':'-separated fields: ro (row), ra (rank),
// bg (bank group), ba (bank), co (request-sized column block), ch (channel); long names row, rank,
// bankgroup, bank, column, channel are accepted too. The bits below log2(request_bytes) are the
// offset inside a request. A field may be split: give widths to all its pieces but at most one, e.g.
// "ro:ra:ba:co:bg:co1:ch" keeps two consecutive lines in one bank group. Fields of width 0 (a single
// channel) may be omitted. With xor_bank_hash the bank and bank-group indices are XORed with the low
// row bits (permutation-based interleaving). Address bits above the capacity are ignored (addresses
// wrap modulo capacity()).
class AddressMapper {
 public:
  // Throws InputError "<key_path>: bad value '<mapping>' (reason)" if the string does not fit `org`.
  AddressMapper(const Organisation& org, uint64_t request_bytes, const std::string& mapping, bool xor_bank_hash,
                const std::string& key_path = "address_mapping");

  DramAddress decode(uint64_t address) const;
  // The lowest address (offset 0) that decodes to `a`; the inverse of decode for aligned addresses.
  uint64_t encode(const DramAddress& a) const;
  uint32_t channel_of(uint64_t address) const {
    if (m_channel_contiguous) return static_cast<uint32_t>((address >> m_channel_shift) & m_channel_mask);
    return channel_of_split(address);
  }
  // Bytes addressable: 2^(offset bits + all field bits).
  uint64_t capacity() const { return m_capacity; }
  const std::string& mapping() const { return m_mapping; }

 private:
  enum Field : uint8_t { kCh, kRa, kBg, kBa, kRo, kCo, kFields };
  struct Segment {
    uint8_t field;
    uint8_t width;
    uint8_t field_shift;  // position of this piece inside the field value
    uint8_t addr_shift;   // position of this piece inside the address
  };

  uint32_t channel_of_split(uint64_t address) const;

  bool m_channel_contiguous = true;  // the ch field is one piece (or absent)
  unsigned m_channel_shift = 0;
  uint64_t m_channel_mask = 0;
  std::string m_mapping;
  std::vector<Segment> m_segments;  // LSB first
  unsigned m_bits[kFields] = {};
  unsigned m_offset_bits = 0;
  uint64_t m_capacity = 0;
  uint32_t m_column_scale = 1;  // device columns per column block
  bool m_xor = false;
};

}  // namespace vmsim::dram
