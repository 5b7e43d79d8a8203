// Functional coverage bins of the TLB co-simulation.
#include "testbench/coverage.hpp"

#include <iomanip>
#include <ostream>

namespace vmsim::rtl {

namespace {
const char* kFillOutcomes[3] = {"free way", "same page", "evict"};
constexpr OpKind kInvalKinds[5] = {OpKind::Invlpg, OpKind::InvAddr, OpKind::InvPcid, OpKind::FlushNonGlobal,
                                   OpKind::FlushAll};
unsigned inval_index(OpKind k) { return static_cast<unsigned>(k) - static_cast<unsigned>(OpKind::Invlpg); }
}  // namespace

Coverage::Coverage(uint32_t ways, mmu::PageSizeMask sizes, mmu::ReplacementPolicy policy)
    : m_ways(ways), m_sizes(sizes), m_policy(policy) {
  std::vector<std::string> size_names;
  for (mmu::PageSize s : mmu::kAllPageSizes) {
    if (sizes & mmu::mask_of(s)) {
      m_slot[mmu::size_index(s)] = m_num_sizes++;
      size_names.push_back(mmu::to_string(s));
    }
  }
  const char* reuse[2] = {"pcid switched", "pcid reused"};

  // lookup: miss x PCID reuse, then hit x size x match (own PCID, global) x PCID reuse.
  m_lookup = add_group("lookup (outcome x size x match x PCID reuse)");
  for (const char* r : reuse) add_bin(m_lookup, std::string("miss, ") + r);
  for (const std::string& sz : size_names) {
    for (const char* match : {"own pcid", "global"}) {
      for (const char* r : reuse) add_bin(m_lookup, "hit " + sz + ", " + match + ", " + r);
    }
  }
  // fill: size x outcome x global, then duplicates dropped, then splinters (leaf > size) per size.
  m_fill = add_group("fill (size x victim choice x global)");
  for (const std::string& sz : size_names) {
    for (const char* o : kFillOutcomes) {
      for (const char* g : {"non-global", "global"}) add_bin(m_fill, sz + ", " + o + ", " + g);
    }
  }
  m_fill_dropped = m_groups[m_fill].bins.size();
  add_bin(m_fill, "same page, duplicates dropped");
  // Splinters: an entry smaller than its leaf (a 1 GiB entry cannot be one).
  m_fill_splinter = m_groups[m_fill].bins.size();
  for (mmu::PageSize s : mmu::kAllPageSizes) {
    if ((sizes & mmu::mask_of(s)) && s != mmu::PageSize::k1G) add_bin(m_fill, std::string(mmu::to_string(s)) + " from a larger leaf");
  }

  // replacement: victim way, then the hit way's rank (LRU recency, FIFO age) or the PLRU tree state at
  // each eviction.
  m_repl = add_group("replacement state");
  for (uint32_t w = 0; w < ways; ++w) add_bin(m_repl, "victim way " + std::to_string(w));
  if (policy == mmu::ReplacementPolicy::Plru) {
    m_plru_states = ways >= 2 && ways <= 8;
    if (m_plru_states) {
      for (uint64_t b = 0; b < (uint64_t{1} << (ways - 1)); ++b) {
        std::string bits;
        for (uint32_t n = 0; n + 1 < ways; ++n) bits += ((b >> n) & 1) ? '1' : '0';
        add_bin(m_repl, "evict at tree bits " + bits);
      }
    }
  } else {
    const char* what = policy == mmu::ReplacementPolicy::Fifo ? "hit on age " : "hit on recency rank ";
    for (uint32_t r = 0; r < ways; ++r) add_bin(m_repl, what + std::to_string(r));
  }

  // invalidations: kind x removed (none, one, several), kind x size removed, splinters by address.
  m_inval = add_group("invalidation (kind x effect)");
  for (OpKind k : kInvalKinds) {
    for (const char* n : {"none removed", "1 removed", "2+ removed"}) add_bin(m_inval, std::string(to_string(k)) + ", " + n);
  }
  m_inval_size = m_groups[m_inval].bins.size();
  for (OpKind k : kInvalKinds) {
    for (const std::string& sz : size_names) add_bin(m_inval, std::string(to_string(k)) + ", removed a " + sz);
  }
  m_inval_splinter = m_groups[m_inval].bins.size();
  add_bin(m_inval, "address form removed a splinter");

  m_handshake = add_group("handshake");
  add_bin(m_handshake, "request waited for a held response");
}

size_t Coverage::add_group(const std::string& name) {
  m_groups.push_back(Group{name, {}, {}});
  return m_groups.size() - 1;
}

void Coverage::add_bin(size_t group, const std::string& bin) {
  m_groups[group].bins.push_back(bin);
  m_groups[group].counts.push_back(0);
}

void Coverage::lookup(bool hit_, mmu::PageSize size, bool global_match, bool pcid_reused, int rank) {
  if (!hit_) {
    hit(m_lookup, pcid_reused ? 1 : 0);
    return;
  }
  hit(m_lookup, 2 + (m_slot[mmu::size_index(size)] * 2 + (global_match ? 1 : 0)) * 2 + (pcid_reused ? 1 : 0));
  if (m_policy != mmu::ReplacementPolicy::Plru && rank >= 0) hit(m_repl, m_ways + static_cast<size_t>(rank));
}

void Coverage::fill(const mmu::TlbArrayEntry& e, const mmu::TlbFillResult& r, uint64_t plru_bits_before) {
  const unsigned outcome = r.replaced ? 1 : r.evicted ? 2 : 0;
  hit(m_fill, (m_slot[mmu::size_index(e.size)] * 3 + outcome) * 2 + (e.global ? 1 : 0));
  if (r.dropped > 0) hit(m_fill, m_fill_dropped);
  if (e.leaf_size != e.size) hit(m_fill, m_fill_splinter + m_slot[mmu::size_index(e.size)]);
  if (r.evicted) {
    hit(m_repl, r.way);
    if (m_plru_states) hit(m_repl, m_ways + plru_bits_before);
  }
}

void Coverage::invalidate(OpKind kind, const mmu::TlbRemoved& removed, bool splinter_removed) {
  const unsigned k = inval_index(kind);
  const uint64_t n = removed.total();
  hit(m_inval, k * 3 + (n == 0 ? 0 : n == 1 ? 1 : 2));
  for (mmu::PageSize s : mmu::kAllPageSizes) {
    if (removed.by_size[mmu::size_index(s)] > 0) hit(m_inval, m_inval_size + k * m_num_sizes + m_slot[mmu::size_index(s)]);
  }
  if (splinter_removed) hit(m_inval, m_inval_splinter);
}

void Coverage::stall(unsigned cycles) {
  if (cycles > 0) hit(m_handshake, 0);
}

size_t Coverage::bins() const {
  size_t n = 0;
  for (const Group& g : m_groups) n += g.bins.size();
  return n;
}

size_t Coverage::covered() const {
  size_t n = 0;
  for (const Group& g : m_groups) {
    for (uint64_t c : g.counts) n += c > 0 ? 1 : 0;
  }
  return n;
}

std::vector<std::string> Coverage::holes() const {
  std::vector<std::string> h;
  for (const Group& g : m_groups) {
    for (size_t i = 0; i < g.bins.size(); ++i) {
      if (g.counts[i] == 0) h.push_back(g.name + ": " + g.bins[i]);
    }
  }
  return h;
}

void Coverage::merge(const Coverage& other) {
  for (size_t g = 0; g < m_groups.size() && g < other.m_groups.size(); ++g) {
    for (size_t i = 0; i < m_groups[g].counts.size() && i < other.m_groups[g].counts.size(); ++i) {
      m_groups[g].counts[i] += other.m_groups[g].counts[i];
    }
  }
}

void Coverage::print(std::ostream& os) const {
  os << "coverage: " << covered() << " of " << bins() << " bins hit\n";
  for (const Group& g : m_groups) {
    size_t hit_bins = 0;
    for (uint64_t c : g.counts) hit_bins += c > 0 ? 1 : 0;
    os << "  " << g.name << ": " << hit_bins << "/" << g.bins.size() << "\n";
    for (size_t i = 0; i < g.bins.size(); ++i) {
      os << "    " << std::setw(10) << g.counts[i] << "  " << g.bins[i] << (g.counts[i] == 0 ? "   <-- hole" : "")
         << "\n";
    }
  }
}

}  // namespace vmsim::rtl
