// A flat hash map from line numbers to 64-bit masks (the snoop filter of a socket): open addressing with
// linear probing and backward-shift deletion, no allocation per entry. Keys must not be UINT64_MAX.
#pragma once

#include <cstdint>
#include <vector>

namespace vmsim::cache {

class LineMaskMap {
 public:
  LineMaskMap() : m_keys(kInitial, kEmpty), m_values(kInitial, 0) {}

  // The mask of line, 0 if absent.
  uint64_t get(uint64_t line) const {
    for (size_t i = index(line);; i = (i + 1) & mask()) {
      if (m_keys[i] == line) return m_values[i];
      if (m_keys[i] == kEmpty) return 0;
    }
  }
  // Sets line's mask; 0 removes the line.
  void set(uint64_t line, uint64_t value) {
    if (value == 0) {
      erase(line);
      return;
    }
    if ((m_size + 1) * 4 > m_keys.size() * 3) grow();
    for (size_t i = index(line);; i = (i + 1) & mask()) {
      if (m_keys[i] == line) {
        m_values[i] = value;
        return;
      }
      if (m_keys[i] == kEmpty) {
        m_keys[i] = line;
        m_values[i] = value;
        ++m_size;
        return;
      }
    }
  }
  void erase(uint64_t line) {
    size_t i = index(line);
    for (;; i = (i + 1) & mask()) {
      if (m_keys[i] == kEmpty) return;
      if (m_keys[i] == line) break;
    }
    // Backward-shift deletion: move later entries of the probe run into the hole.
    size_t hole = i;
    for (size_t j = (i + 1) & mask(); m_keys[j] != kEmpty; j = (j + 1) & mask()) {
      const size_t home = index(m_keys[j]);
      // j's entry may move to the hole if its home does not lie cyclically in (hole, j].
      const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (!stays) {
        m_keys[hole] = m_keys[j];
        m_values[hole] = m_values[j];
        hole = j;
      }
    }
    m_keys[hole] = kEmpty;
    m_values[hole] = 0;
    --m_size;
  }
  size_t size() const { return m_size; }
  // fn(line, mask) for every entry, in table order.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (size_t i = 0; i < m_keys.size(); ++i) {
      if (m_keys[i] != kEmpty) fn(m_keys[i], m_values[i]);
    }
  }

 private:
  static constexpr uint64_t kEmpty = UINT64_MAX;
  static constexpr size_t kInitial = 1024;
  size_t mask() const { return m_keys.size() - 1; }
  size_t index(uint64_t line) const { return static_cast<size_t>((line * 0x9E3779B97F4A7C15ull) >> 20) & mask(); }
  void grow() {
    std::vector<uint64_t> keys(m_keys.size() * 2, kEmpty), values(m_keys.size() * 2, 0);
    keys.swap(m_keys);
    values.swap(m_values);
    m_size = 0;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] != kEmpty) set(keys[i], values[i]);
    }
  }
  std::vector<uint64_t> m_keys;
  std::vector<uint64_t> m_values;
  size_t m_size = 0;
};

}  // namespace vmsim::cache
