// Constrained-random and directed stimulus for the TLB co-simulation.
#include "testbench/stimulus.hpp"

#include <algorithm>

namespace vmsim::rtl {

namespace {

constexpr uint64_t kVpnMask = (uint64_t{1} << 52) - 1;
constexpr uint64_t kPfnMask = (uint64_t{1} << 40) - 1;

// Region offsets in 4 KiB pages (multiples of 2^18, far above the pools): low memory, 1 TiB, the top of
// the 52-bit VPN space, bit 51 alone. Tags that differ only in high bits must not match.
constexpr uint64_t kRegions[4] = {0, uint64_t{1} << 28, 0xFFFFFFF000000ull, uint64_t{1} << 51};

// Operation mixes (per mille: lookup, fill, invlpg, invpcid-addr, invpcid-context, flush-non-global,
// flush-all).
const std::array<unsigned, kNumOpKinds> kBalanced = {520, 380, 35, 25, 20, 15, 5};
const std::array<unsigned, kNumOpKinds> kThrash = {480, 500, 8, 5, 4, 2, 1};
const std::array<unsigned, kNumOpKinds> kInvalidate = {400, 330, 100, 80, 50, 30, 10};

constexpr uint64_t kPhaseLength = 4096;

}  // namespace

RandomStimulus::RandomStimulus(const mmu::TlbArray& model, uint64_t seed) : m_model(model), m_rng(seed) {
  for (mmu::PageSize s : mmu::kAllPageSizes) {
    if (model.holds(s)) m_sizes.push_back(s);
  }
}

TlbOp RandomStimulus::next() {
  static const Phase kPhases[] = {{"balanced", kBalanced, false},
                                  {"thrash", kThrash, false},
                                  {"hot sets", kThrash, true},
                                  {"invalidate", kInvalidate, false}};
  if (m_ops % kPhaseLength == 0) m_phase = &kPhases[m_rng.below(4)];
  ++m_ops;

  unsigned pick = static_cast<unsigned>(m_rng.below(1000));
  OpKind kind = OpKind::Lookup;
  for (unsigned k = 0; k < kNumOpKinds; ++k) {
    if (pick < m_phase->weights[k]) {
      kind = static_cast<OpKind>(k);
      break;
    }
    pick -= m_phase->weights[k];
  }
  TlbOp op;
  switch (kind) {
    case OpKind::Lookup:
      op = make_lookup();
      break;
    case OpKind::Fill:
      op = make_fill();
      break;
    case OpKind::Invlpg:
    case OpKind::InvAddr:
      op = make_address_invalidation(kind);
      break;
    case OpKind::InvPcid: {
      op.kind = kind;
      const mmu::TlbArrayEntry* e = recent();
      op.pcid = e && m_rng.chance(600) ? e->pcid : random_pcid();
      break;
    }
    case OpKind::FlushNonGlobal:
    case OpKind::FlushAll:
      op.kind = kind;
      break;
  }
  if (m_rng.chance(10)) op.stall = 1 + static_cast<unsigned>(m_rng.below(3));
  return op;
}

mmu::PageSize RandomStimulus::random_size() {
  // 4K : 2M : 1G = 5 : 3 : 2 among the sizes held.
  static constexpr unsigned kWeight[mmu::kNumPageSizes] = {5, 3, 2};
  unsigned total = 0;
  for (mmu::PageSize s : m_sizes) total += kWeight[mmu::size_index(s)];
  unsigned pick = static_cast<unsigned>(m_rng.below(total));
  for (mmu::PageSize s : m_sizes) {
    if (pick < kWeight[mmu::size_index(s)]) return s;
    pick -= kWeight[mmu::size_index(s)];
  }
  return m_sizes.back();
}

// Mostly the entry's own size; sometimes a larger leaf (a splinter), held here or not.
mmu::PageSize RandomStimulus::random_leaf_size(mmu::PageSize s) {
  if (s == mmu::PageSize::k1G || !m_rng.chance(150)) return s;
  const unsigned larger = mmu::kNumPageSizes - 1 - mmu::size_index(s);
  return static_cast<mmu::PageSize>(mmu::size_index(s) + 1 + m_rng.below(larger));
}

mmu::Pcid RandomStimulus::random_pcid() {
  static constexpr mmu::Pcid kPool[] = {1, 1, 2, 2, 0, 3, 0x5A5, 0xFFF};
  if (m_rng.chance(20)) return static_cast<mmu::Pcid>(m_rng.below(mmu::kMaxPcid + 1));
  return kPool[m_rng.below(sizeof(kPool) / sizeof(kPool[0]))];
}

// A page of size s from a small pool per set (2 * ways + 1 tags), so sets fill up, conflict and reuse
// pages; pools of different sizes overlap (4 KiB pages lie in 2 MiB page 0, 2 MiB pages in 1 GiB page 0).
Vpn RandomStimulus::random_page(mmu::PageSize s) {
  const uint64_t sets = m_model.sets();
  const uint64_t set = m_phase->hot_sets ? m_rng.below(std::min<uint64_t>(2, sets)) : m_rng.below(sets);
  const uint64_t tag = m_rng.below(2 * m_model.ways() + 1);
  const uint64_t region = m_rng.chance(750) ? 0 : kRegions[1 + m_rng.below(3)];
  return Vpn{(((tag * sets + set) << (9 * mmu::size_index(s))) + region) & kVpnMask};
}

VirtAddr RandomStimulus::address_in(Vpn base, mmu::PageSize s) {
  const uint64_t page = base.value() & ~(mmu::page_frames(s) - 1);
  return VirtAddr{((page + m_rng.below(mmu::page_frames(s))) << kPageShift) | m_rng.below(kPageSize)};
}

const mmu::TlbArrayEntry* RandomStimulus::recent() {
  if (m_fills == 0) return nullptr;
  return &m_recent[m_rng.below(std::min<uint64_t>(m_fills, m_recent.size()))];
}

TlbOp RandomStimulus::make_lookup() {
  TlbOp op;
  op.kind = OpKind::Lookup;
  const mmu::TlbArrayEntry* e = recent();
  if (e && m_rng.chance(600)) {
    op.va = address_in(e->vpn, e->size);
    op.pcid = m_rng.chance(700) ? e->pcid : random_pcid();
  } else {
    const mmu::PageSize s = random_size();
    op.va = address_in(random_page(s), s);
    op.pcid = random_pcid();
  }
  return op;
}

TlbOp RandomStimulus::make_fill() {
  TlbOp op;
  op.kind = OpKind::Fill;
  mmu::TlbArrayEntry& e = op.entry;
  const mmu::TlbArrayEntry* old = recent();
  if (old && m_rng.chance(250)) {
    // The same page again: new frame and permissions, sometimes another PCID or the other global bit.
    e = *old;
    if (m_rng.chance(500)) e.pcid = random_pcid();
    if (m_rng.chance(300)) e.global = !e.global;
  } else {
    e.size = random_size();
    e.leaf_size = random_leaf_size(e.size);
    e.vpn = random_page(e.size);
    e.pcid = random_pcid();
    e.global = m_rng.chance(120);
  }
  e.pfn = Pfn{m_rng.next() & kPfnMask & ~(mmu::page_frames(e.size) - 1)};
  const uint64_t perm = m_rng.below(16);
  e.writable = perm & 1;
  e.user = perm & 2;
  e.no_execute = perm & 4;
  e.dirty = perm & 8;
  e.valid = true;
  m_recent[m_fills % m_recent.size()] = e;
  ++m_fills;
  return op;
}

TlbOp RandomStimulus::make_address_invalidation(OpKind kind) {
  TlbOp op;
  op.kind = kind;
  const mmu::TlbArrayEntry* e = recent();
  if (e && m_rng.chance(700)) {
    // Anywhere in the entry's leaf page: removes splinters through addresses they do not cover.
    op.va = address_in(e->vpn, e->leaf_size);
    op.pcid = m_rng.chance(600) ? e->pcid : random_pcid();
  } else {
    const mmu::PageSize s = random_size();
    op.va = address_in(random_page(s), s);
    op.pcid = random_pcid();
  }
  return op;
}

// ---------------------------------------------------------------------------------------------------
// Directed sequences.

Directed::Directed(Scoreboard& sb) : m_sb(sb) {}

Answer Directed::run(TlbOp op, unsigned stall) {
  op.stall = stall;
  return m_sb.step(op);
}

Answer Directed::lookup(VirtAddr va, mmu::Pcid pcid, unsigned stall) {
  TlbOp op;
  op.kind = OpKind::Lookup;
  op.va = va;
  op.pcid = pcid;
  return run(op, stall);
}

Answer Directed::fill(const mmu::TlbArrayEntry& e, unsigned stall) {
  TlbOp op;
  op.kind = OpKind::Fill;
  op.entry = e;
  return run(op, stall);
}

Answer Directed::invlpg(VirtAddr va, mmu::Pcid pcid, unsigned stall) {
  TlbOp op;
  op.kind = OpKind::Invlpg;
  op.va = va;
  op.pcid = pcid;
  return run(op, stall);
}

Answer Directed::inv_addr(VirtAddr va, mmu::Pcid pcid, unsigned stall) {
  TlbOp op;
  op.kind = OpKind::InvAddr;
  op.va = va;
  op.pcid = pcid;
  return run(op, stall);
}

Answer Directed::inv_pcid(mmu::Pcid pcid, unsigned stall) {
  TlbOp op;
  op.kind = OpKind::InvPcid;
  op.pcid = pcid;
  return run(op, stall);
}

Answer Directed::flush_non_global(unsigned stall) {
  TlbOp op;
  op.kind = OpKind::FlushNonGlobal;
  return run(op, stall);
}

Answer Directed::flush_all(unsigned stall) {
  TlbOp op;
  op.kind = OpKind::FlushAll;
  return run(op, stall);
}

void Directed::expect(bool ok, const std::string& what) const {
  if (!ok) throw ExpectationFailed("after operation " + std::to_string(m_sb.ops()) + ": expected " + what);
}

Vpn Directed::page(mmu::PageSize s, uint32_t set, uint64_t tag, uint64_t region) const {
  return Vpn{(((tag * sets() + set) << (9 * mmu::size_index(s))) + region) & kVpnMask};
}

mmu::TlbArrayEntry Directed::entry(Vpn vpn, mmu::PageSize s, mmu::Pcid pcid, bool global) const {
  mmu::TlbArrayEntry e;
  e.vpn = vpn;
  e.size = s;
  e.leaf_size = s;
  e.pcid = pcid;
  e.global = global;
  e.valid = true;
  const uint64_t frame = (vpn.value() * 0x9E3779B1ull + pcid * 0x10001ull + 0x12345ull) & kPfnMask;
  e.pfn = Pfn{frame & ~(mmu::page_frames(s) - 1)};
  e.writable = (vpn.value() >> 1) & 1;
  e.user = pcid & 1;
  e.no_execute = global;
  e.dirty = (vpn.value() >> 2) & 1;
  return e;
}

mmu::TlbArrayEntry Directed::splinter_entry(Vpn vpn, mmu::PageSize s, mmu::PageSize leaf, mmu::Pcid pcid) const {
  mmu::TlbArrayEntry e = entry(vpn, s, pcid);
  e.leaf_size = leaf;
  return e;
}

bool Directed::holds(mmu::PageSize s) const { return m_sb.model().holds(s); }

std::vector<mmu::PageSize> Directed::sizes() const {
  std::vector<mmu::PageSize> v;
  for (mmu::PageSize s : mmu::kAllPageSizes) {
    if (holds(s)) v.push_back(s);
  }
  return v;
}

uint32_t Directed::sets() const { return m_sb.model().sets(); }
uint32_t Directed::ways() const { return m_sb.model().ways(); }
mmu::ReplacementPolicy Directed::policy() const { return m_sb.model().replacement().policy(); }

namespace {

VirtAddr va_of(Vpn vpn, uint64_t offset = 0) { return VirtAddr{(vpn.value() << kPageShift) + offset}; }

std::string sz(mmu::PageSize s) { return mmu::to_string(s); }

// Lookups: hits at the first and last byte of each size, misses next to it and for another PCID, global
// entries for every PCID, tags differing only in high bits, and the 4K-before-2M-before-1G priority.
void seq_lookup(Directed& d) {
  for (mmu::PageSize s : d.sizes()) {
    d.flush_all();
    const mmu::TlbArrayEntry e = d.entry(d.page(s, 1 % d.sets(), 3), s, 1);
    d.fill(e);
    const VirtAddr first = va_of(e.vpn);
    const VirtAddr last{first.value() + mmu::page_bytes(s) - 1};
    Answer a = d.lookup(first, 1);
    d.expect(a.hit && a.entry.size == s && a.entry.pfn == e.pfn, sz(s) + " hit at the first byte");
    d.expect(d.lookup(last, 1).hit, sz(s) + " hit at the last byte");
    d.expect(!d.lookup(VirtAddr{last.value() + 1}, 1).hit, "miss on the next " + sz(s) + " page");
    d.expect(!d.lookup(VirtAddr{first.value() - 1}, 1).hit, "miss on the previous " + sz(s) + " page");
    d.expect(!d.lookup(first, 2).hit, sz(s) + " miss for another PCID");

    const mmu::TlbArrayEntry g = d.entry(d.page(s, 2 % d.sets(), 5), s, 7, true);
    d.fill(g);
    for (mmu::Pcid p : {mmu::Pcid{0}, mmu::Pcid{1}, mmu::Pcid{7}, mmu::Pcid{0xFFF}}) {
      a = d.lookup(va_of(g.vpn, 123), p);
      d.expect(a.hit && a.entry.global, "global " + sz(s) + " hit for PCID " + std::to_string(p));
    }
    // Same low bits, different high bits (bit 51 of the VPN, the top of the 52-bit space).
    const mmu::TlbArrayEntry h = d.entry(d.page(s, 0, 1, uint64_t{1} << 51), s, 1);
    d.fill(h);
    d.expect(d.lookup(va_of(h.vpn), 1).hit, "hit on a page at VPN bit 51");
    d.expect(!d.lookup(va_of(d.page(s, 0, 1)), 1).hit, "miss on the page differing only in VPN bit 51");
    d.expect(!d.lookup(va_of(d.page(s, 0, 1, 0xFFFFFFF000000ull)), 1).hit, "miss in another high region");
  }
  // Priority: a smaller page inside a larger one wins where it lies; the larger answers elsewhere.
  const std::vector<mmu::PageSize> sizes = d.sizes();
  for (size_t i = 0; i + 1 < sizes.size(); ++i) {
    d.flush_all();
    const mmu::PageSize small = sizes[i];
    const mmu::PageSize large = sizes[i + 1];
    const mmu::TlbArrayEntry big = d.entry(d.page(large, 0, 2), large, 3);
    const mmu::TlbArrayEntry in = d.entry(Vpn{big.vpn.value() + 5 * mmu::page_frames(small)}, small, 3);
    d.fill(big);
    d.fill(in);
    Answer a = d.lookup(va_of(in.vpn, 8), 3);
    d.expect(a.hit && a.entry.size == small, sz(small) + " entry wins inside the " + sz(large) + " page");
    a = d.lookup(va_of(big.vpn, 8), 3);
    d.expect(a.hit && a.entry.size == large, sz(large) + " entry answers elsewhere in it");
  }
}

// Fills: free ways lowest first, the same page overwritten in place, other PCIDs kept apart, a global
// fill dropping the copies of other PCIDs, and evictions reporting the victim.
void seq_fill(Directed& d) {
  const uint32_t set = d.sets() - 1;
  for (mmu::PageSize s : d.sizes()) {
    d.flush_all();
    for (uint32_t i = 0; i < d.ways(); ++i) {
      const Answer a = d.fill(d.entry(d.page(s, set, i), s, 1));
      d.expect(a.fill.way == i && !a.fill.evicted && !a.fill.replaced, sz(s) + " fill " + std::to_string(i) +
                                                                           " takes free way " + std::to_string(i));
    }
    mmu::TlbArrayEntry again = d.entry(d.page(s, set, d.ways() - 1), s, 1);
    again.pfn = Pfn{again.pfn.value() ^ (mmu::page_frames(s) << 3)};
    Answer a = d.fill(again);
    d.expect(a.fill.replaced && a.fill.way == d.ways() - 1, "refill of the same page overwrites its way");
    d.expect(d.lookup(va_of(again.vpn), 1).entry.pfn == again.pfn, "the refilled frame is returned");
    a = d.fill(d.entry(d.page(s, set, 0), s, 2));
    d.expect(a.fill.evicted && !a.fill.replaced, "the same page for another PCID is a new entry (evicts)");
    a = d.fill(d.entry(d.page(s, set, d.ways() + 7), s, 1));
    d.expect(a.fill.evicted && a.fill.victim.valid, "a new page in a full set evicts");

    if (d.ways() >= 3) {
      // One page held for PCIDs 1, 2 and 3; a global fill replaces the first and drops the others.
      d.flush_all();
      const Vpn p = d.page(s, set, 4);
      for (mmu::Pcid pcid = 1; pcid <= 3; ++pcid) d.fill(d.entry(p, s, pcid));
      a = d.fill(d.entry(p, s, 9, true));
      d.expect(a.fill.replaced && a.fill.way == 0 && a.fill.dropped == 2, "global fill drops 2 duplicates");
      a = d.lookup(va_of(p), 0x123);
      d.expect(a.hit && a.entry.global, "the global entry answers any PCID");
      a = d.fill(d.entry(p, s, 5));
      d.expect(a.fill.replaced && a.fill.way == 0, "a non-global fill replaces the global entry of its page");
      d.expect(!d.lookup(va_of(p), 6).hit, "the global entry is gone");
    }
  }
}

// Victim choice of the replacement policy in one set, with the policy's own rules as expectations.
void seq_replacement(Directed& d) {
  const mmu::PageSize s = d.sizes().front();
  const uint32_t set = 0;
  const uint32_t w = d.ways();
  d.flush_all();
  uint64_t next_tag = 0;
  std::vector<Vpn> in_way(w);
  std::vector<uint64_t> filled_at(w);
  uint64_t clock = 0;
  auto fill_new = [&]() {
    const Vpn p = d.page(s, set, next_tag++);
    const Answer a = d.fill(d.entry(p, s, 1));
    in_way[a.fill.way] = p;
    filled_at[a.fill.way] = ++clock;
    return a;
  };
  for (uint32_t i = 0; i < w; ++i) fill_new();
  for (uint32_t victim = 0; victim < w; ++victim) {
    // LRU: touch every way but `victim`; FIFO: hits change nothing, the oldest fill goes.
    for (uint32_t k = 0; k < w; ++k) {
      if (k != victim) d.expect(d.lookup(va_of(in_way[k]), 1).hit, "hit on way " + std::to_string(k));
    }
    const uint64_t oldest = static_cast<uint64_t>(std::min_element(filled_at.begin(), filled_at.end()) - filled_at.begin());
    const Answer a = fill_new();
    d.expect(a.fill.evicted, "a full set evicts");
    if (d.policy() == mmu::ReplacementPolicy::Lru) {
      d.expect(a.fill.way == victim, "LRU evicts the way not touched (" + std::to_string(victim) + ")");
    } else if (d.policy() == mmu::ReplacementPolicy::Fifo) {
      d.expect(a.fill.way == oldest, "FIFO evicts the oldest fill (way " + std::to_string(oldest) + ")");
    }
  }
  // Touching the ways in increasing order leaves every PLRU node pointing left and LRU at way 0.
  for (uint32_t k = 0; k < w; ++k) d.lookup(va_of(in_way[k]), 1);
  const Answer a = fill_new();
  if (d.policy() != mmu::ReplacementPolicy::Fifo) d.expect(a.fill.way == 0, "victim way 0 after touching 0..ways-1");
  // Then many random-looking patterns, compared with the model only.
  Rng rng(12345);
  for (int i = 0; i < 64 * static_cast<int>(w); ++i) {
    if (rng.chance(600)) {
      d.lookup(va_of(in_way[rng.below(w)]), 1);
    } else {
      fill_new();
    }
  }
}

// Splinters: entries of size s cut from one leaf of size leaf (different sets); an address form at
// another address of the leaf removes all of them. Returns how many were filled.
uint64_t fill_splinters(Directed& d, mmu::PageSize s, mmu::PageSize leaf, mmu::Pcid pcid, Vpn leaf_base) {
  const uint64_t n = std::min<uint64_t>(3, d.sets() * d.ways() / 2);
  for (uint64_t i = 0; i < n; ++i) {
    d.fill(d.splinter_entry(Vpn{leaf_base.value() + (2 * i + 1) * mmu::page_frames(s)}, s, leaf, pcid));
  }
  return n;
}

// Address invalidation (INVLPG if invlpg, else INVPCID type 0): PCID rules, global entries, splinters.
void seq_address(Directed& d, bool invlpg) {
  auto inval = [&](VirtAddr va, mmu::Pcid pcid) { return invlpg ? d.invlpg(va, pcid) : d.inv_addr(va, pcid); };
  const std::string name = invlpg ? "invlpg" : "invpcid-addr";
  for (mmu::PageSize s : d.sizes()) {
    d.flush_all();
    const Vpn a = d.page(s, 0, 1);
    const Vpn g = d.page(s, 1 % d.sets(), 2);
    d.fill(d.entry(a, s, 1));
    d.fill(d.entry(a, s, 2));
    d.fill(d.entry(g, s, 5, true));
    Answer r = inval(va_of(a, 77), 1);
    d.expect(r.removed.total() == 1 && r.removed.by_size[mmu::size_index(s)] == 1, name + " removes PCID 1's " + sz(s));
    d.expect(!d.lookup(va_of(a), 1).hit && d.lookup(va_of(a), 2).hit, "PCID 2's entry survives");
    r = inval(va_of(g, 5), 1);
    d.expect(r.removed.total() == (invlpg ? 1u : 0u),
             invlpg ? "invlpg removes a global entry" : "invpcid-addr keeps global entries");
    r = inval(va_of(d.page(s, 0, 9)), 2);
    d.expect(r.removed.total() == 0, name + " of an address not held removes nothing");
  }
  // Splinters of a larger leaf, removed through an address none of them covers.
  for (mmu::PageSize s : d.sizes()) {
    if (s == mmu::PageSize::k1G) continue;
    const mmu::PageSize leaf = static_cast<mmu::PageSize>(mmu::size_index(s) + 1);
    d.flush_all();
    const Vpn base{d.page(leaf, 0, 3).value()};
    const uint64_t n = fill_splinters(d, s, leaf, 4, base);
    d.fill(d.entry(Vpn{base.value() + 8 * mmu::page_frames(s)}, s, 6));  // same leaf, another PCID
    const Answer r = inval(va_of(base, 64), 4);
    d.expect(r.removed.total() == n, name + " removes every " + sz(s) + " splinter of the " + sz(leaf) + " leaf");
    d.expect(d.lookup(va_of(Vpn{base.value() + 8 * mmu::page_frames(s)}), 6).hit, "another PCID's entry survives");
  }
}

// INVPCID single context: every non-global entry of the PCID, in every set and size.
void seq_invpcid(Directed& d) {
  d.flush_all();
  uint64_t pcid1 = 0;
  const uint32_t per_set = std::max<uint32_t>(1, d.ways() / 3);
  for (mmu::PageSize s : d.sizes()) {
    for (uint32_t set = 0; set < d.sets(); ++set) {
      for (uint32_t i = 0; i < per_set; ++i) {
        if ((set + i) % 3 == 0) d.fill(d.entry(d.page(s, set, 10 * i + 1), s, 2));
        else if ((set + i) % 3 == 1) d.fill(d.entry(d.page(s, set, 10 * i + 2), s, 1, true));
        else {
          d.fill(d.entry(d.page(s, set, 10 * i + 3), s, 1));
          ++pcid1;
        }
      }
    }
  }
  Answer r = d.inv_pcid(1);
  d.expect(r.removed.total() == pcid1, "INVPCID type 1 removes the " + std::to_string(pcid1) + " entries of PCID 1");
  r = d.inv_pcid(1);
  d.expect(r.removed.total() == 0, "a second INVPCID type 1 removes nothing");
  r = d.inv_pcid(0x777);
  d.expect(r.removed.total() == 0, "INVPCID type 1 of an unused PCID removes nothing");
}

// Flushes: non-global keeps global entries, all removes everything; counts by size.
void seq_flush(Directed& d) {
  d.flush_all();
  std::array<uint64_t, mmu::kNumPageSizes> non_global{};
  std::array<uint64_t, mmu::kNumPageSizes> global{};
  for (mmu::PageSize s : d.sizes()) {
    for (uint32_t set = 0; set < d.sets(); ++set) {
      const bool g = set % 2 == 1;
      d.fill(d.entry(d.page(s, set, 20 + mmu::size_index(s)), s, static_cast<mmu::Pcid>(set % 4), g));
      ++(g ? global : non_global)[mmu::size_index(s)];
    }
  }
  Answer r = d.flush_non_global();
  for (mmu::PageSize s : d.sizes()) {
    d.expect(r.removed.by_size[mmu::size_index(s)] == non_global[mmu::size_index(s)],
             "flush-non-global removes the non-global " + sz(s) + " entries");
  }
  r = d.flush_all();
  for (mmu::PageSize s : d.sizes()) {
    d.expect(r.removed.by_size[mmu::size_index(s)] == global[mmu::size_index(s)],
             "flush-all removes the remaining global " + sz(s) + " entries");
  }
  d.expect(d.flush_all().removed.total() == 0, "flush-all of an empty TLB removes nothing");
  d.expect(!d.lookup(va_of(d.page(d.sizes().front(), 1 % d.sets(), 20)), 1).hit, "everything misses after flush-all");
}

// Every operation with the previous response held 1..5 cycles (both handshakes wait).
void seq_handshake(Directed& d) {
  d.flush_all();
  const mmu::PageSize s = d.sizes().front();
  for (unsigned stall = 1; stall <= 5; ++stall) {
    const mmu::TlbArrayEntry e = d.entry(d.page(s, stall % d.sets(), stall), s, 1);
    d.fill(e, stall);
    d.expect(d.lookup(va_of(e.vpn), 1, stall).hit, "lookup after a stall hits");
    d.expect(d.invlpg(va_of(e.vpn), 1, stall).removed.total() == 1, "invlpg after a stall removes");
    d.fill(e, stall);
    d.expect(d.inv_addr(va_of(e.vpn), 1, stall).removed.total() == 1, "invpcid-addr after a stall removes");
    d.fill(e, stall);
    d.expect(d.inv_pcid(1, stall).removed.total() == 1, "invpcid-context after a stall removes");
    d.fill(e, stall);
    d.expect(d.flush_non_global(stall).removed.total() == 1, "flush-non-global after a stall removes");
    d.fill(e, stall);
    d.expect(d.flush_all(stall).removed.total() == 1, "flush-all after a stall removes");
  }
}

}  // namespace

const std::vector<std::pair<std::string, DirectedSequence>>& directed_sequences() {
  static const std::vector<std::pair<std::string, DirectedSequence>> seqs = {
      {"lookup", seq_lookup},
      {"fill", seq_fill},
      {"replacement", seq_replacement},
      {"invlpg", [](Directed& d) { seq_address(d, true); }},
      {"invpcid-addr", [](Directed& d) { seq_address(d, false); }},
      {"invpcid-context", seq_invpcid},
      {"flush", seq_flush},
      {"handshake", seq_handshake},
  };
  return seqs;
}

}  // namespace vmsim::rtl
