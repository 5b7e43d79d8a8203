// A bitmap with summary levels: set, clear and test in O(1), the lowest set bit at or after an index in
// O(levels) (6 levels cover 2^36 bits). The buddy allocator's free lists and allocated-block maps.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

namespace vmsim::fw {

// Zero-filled words from calloc: the C library maps large requests fresh from the kernel, so pages of
// the bitmap that are never written hold no host memory (a bitmap over a terabyte of frames costs what
// its used part costs).
class ZeroWords {
 public:
  ZeroWords() = default;
  // Throws std::bad_alloc if the memory cannot be had.
  explicit ZeroWords(uint64_t words) : m_words(static_cast<uint64_t*>(std::calloc(words ? words : 1, sizeof(uint64_t)))) {
    if (!m_words) throw std::bad_alloc();
  }
  uint64_t* data() { return m_words.get(); }
  const uint64_t* data() const { return m_words.get(); }

 private:
  struct Free {
    void operator()(uint64_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint64_t[], Free> m_words;
};

// A plain bitmap of a fixed number of bits, all clear at first.
class FlatBitmap {
 public:
  FlatBitmap() = default;
  explicit FlatBitmap(uint64_t bits) : m_bits(bits), m_words((bits + 63) / 64) {}
  uint64_t size() const { return m_bits; }
  bool test(uint64_t i) const { return (m_words.data()[i >> 6] >> (i & 63)) & 1; }
  void set(uint64_t i) { m_words.data()[i >> 6] |= uint64_t{1} << (i & 63); }
  void clear(uint64_t i) { m_words.data()[i >> 6] &= ~(uint64_t{1} << (i & 63)); }

 private:
  uint64_t m_bits = 0;
  ZeroWords m_words;
};

// A bitmap of a fixed number of bits with one summary bit per word of the level below (set iff that word
// is not zero), up to a single top word. Indices must be below size().
class BitTree {
 public:
  static constexpr uint64_t kNone = ~uint64_t{0};

  BitTree() = default;
  explicit BitTree(uint64_t bits) : m_bits(bits) {
    uint64_t n = bits;
    do {
      n = (n + 63) / 64;  // words of this level
      m_levels.emplace_back(n);
      m_words.push_back(n);
    } while (n > 1);
  }

  uint64_t size() const { return m_bits; }
  bool test(uint64_t i) const { return (m_levels[0].data()[i >> 6] >> (i & 63)) & 1; }

  void set(uint64_t i) {
    for (ZeroWords& level : m_levels) {
      uint64_t& w = level.data()[i >> 6];
      const bool was_zero = w == 0;
      w |= uint64_t{1} << (i & 63);
      if (!was_zero) return;
      i >>= 6;
    }
  }

  void clear(uint64_t i) {
    for (ZeroWords& level : m_levels) {
      uint64_t& w = level.data()[i >> 6];
      w &= ~(uint64_t{1} << (i & 63));
      if (w != 0) return;
      i >>= 6;
    }
  }

  // The lowest set index >= i, or kNone.
  uint64_t find_next(uint64_t i) const {
    if (i >= m_bits) return kNone;
    size_t level = 0;
    for (;;) {
      const uint64_t w = i >> 6;
      if (w >= m_words[level]) return kNone;
      const uint64_t bits = m_levels[level].data()[w] & (~uint64_t{0} << (i & 63));
      if (bits != 0) {
        i = (w << 6) | static_cast<uint64_t>(__builtin_ctzll(bits));
        break;
      }
      if (level + 1 == m_levels.size()) return kNone;
      i = w + 1;  // the next word of this level is bit w+1 of the level above
      ++level;
    }
    while (level > 0) {
      --level;
      i = (i << 6) | static_cast<uint64_t>(__builtin_ctzll(m_levels[level].data()[i]));
    }
    return i;
  }

 private:
  uint64_t m_bits = 0;
  std::vector<ZeroWords> m_levels;  // [0]: the bits; [k]: one bit per word of [k-1]
  std::vector<uint64_t> m_words;    // words per level
};

}  // namespace vmsim::fw
