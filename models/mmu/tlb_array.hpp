// TLB functional core (plain C++, no SystemC, deterministic): set-associative arrays of
// PCID-tagged 4 KiB / 2 MiB / 1 GiB translations with exact replacement, and the per-core hierarchy
// (ITLB and DTLB in front of a shared STLB) built from them. The reference an RTL TLB is checked against.
//
// Conventions (the RTL must follow the same):
//  * Indexing. An array holds one or more page sizes. For page size S (shift 12, 21 or 30), the tag is
//    VPN_S = va >> shift(S) and the set is VPN_S mod sets (a bit-select of VPN_S's low bits when sets is a
//    power of two). A lookup probes, in the order 4K, 2M, 1G, the set of every size the array holds and
//    takes the first hit; within a set at most one way can match (fill keeps it so, see fill()).
//  * Match. A valid way matches (va, pcid) at size S if its size is S, its VPN_S equals va's, and it is
//    global or its PCID equals pcid (PCIDs are 12 bits).
//  * Victim on fill: (1) the way already holding the same page (same size and VPN_S, and same PCID or
//    either one global) is overwritten in place; (2) else the lowest invalid way; (3) else the policy's
//    victim (replacement.hpp documents LRU stamps, the PLRU bit layout and the xorshift64 generator).
//  * Splintering. An entry remembers the size of the page-table leaf it came from (leaf_size) besides its
//    own size: a level that does not hold a leaf's size caches the part of it around the accessed address
//    at the largest smaller size it holds. Address invalidations (INVLPG, INVPCID type 0) remove every
//    entry whose leaf page contains the address (Intel SDM vol. 3A 4.10.2.3), splinters anywhere included.
//  * VPID. Entries are also tagged with a virtual-processor id (Intel SDM vol. 3C ch. 29, "Virtual
//    Processor Identifiers"); the host is VPID 0. An array matches only entries of its current VPID
//    (set_vpid), global ones included: the VPID is folded into the match key by XOR into bits 63:48, which
//    a canonical address's key leaves recoverable (its bits 47:0 tell the half it lies in). The RTL TLB
//    has no VPID tags: it only ever sees VPID 0 (Mmu::enter_guest refuses impl: rtl arrays).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/types.hpp"
#include "models/mmu/replacement.hpp"

namespace vmsim::mmu {

// A process-context identifier (CR3 bits 11:0): 0..kMaxPcid.
using Pcid = uint16_t;
constexpr Pcid kMaxPcid = 0xFFF;
// A virtual-processor id (VMCS VPID, 16 bits); 0 is the host.
using Vpid = uint16_t;

enum class PageSize : uint8_t { k4K = 0, k2M = 1, k1G = 2 };
constexpr unsigned kNumPageSizes = 3;
constexpr PageSize kAllPageSizes[kNumPageSizes] = {PageSize::k4K, PageSize::k2M, PageSize::k1G};

constexpr unsigned size_index(PageSize s) { return static_cast<unsigned>(s); }
// log2 of the page's bytes: 12, 21, 30.
constexpr unsigned page_shift(PageSize s) { return kPageShift + 9 * size_index(s); }
constexpr uint64_t page_bytes(PageSize s) { return uint64_t{1} << page_shift(s); }
// 4 KiB frames in one page: 1, 512, 262144.
constexpr uint64_t page_frames(PageSize s) { return uint64_t{1} << (9 * size_index(s)); }
// Size mapped by a leaf at page-table `level` (1: PT, 2: PD, 3: PDPT). Requires 1 <= level <= 3.
constexpr PageSize page_size_of_level(unsigned level) { return static_cast<PageSize>(level - 1); }
constexpr const char* to_string(PageSize s) {
  return s == PageSize::k4K ? "4K" : s == PageSize::k2M ? "2M" : "1G";
}

// A set of page sizes: bit size_index(s) set if s is in it.
using PageSizeMask = uint8_t;
constexpr PageSizeMask mask_of(PageSize s) { return static_cast<PageSizeMask>(1u << size_index(s)); }
// Parses "4K", "2M", "1G" or a comma-separated combination ("4K,2M"; spaces allowed, any order, no
// repeats). Returns false (mask untouched) if the text is empty, has an unknown or repeated size.
bool parse_page_sizes(const std::string& text, PageSizeMask& mask);
// "4K,2M,1G" order.
std::string format_page_sizes(PageSizeMask mask);

// Who answers for an array: this functional core (model) or the Verilated SystemVerilog TLB (rtl,
// rtl/ and testbench/), which must answer identically.
enum class TlbImpl : uint8_t { Model, Rtl };

// Geometry and policy of one TLB array.
// The member defaults are an L1 TLB's (TlbHierarchyConfig::default_l1); the STLB's differ in
// TlbHierarchyConfig::default_stlb only. A key an array of a level leaves out takes that level's default.
struct TlbArrayConfig {
  uint64_t entries = 64;
  uint64_t ways = 4;
  uint64_t hit_latency = 1;  // core cycles
  ReplacementPolicy replacement = ReplacementPolicy::Lru;
  std::string page_sizes = "4K,2M,1G";
  uint64_t seed = 1;
  TlbImpl impl = TlbImpl::Model;

  template <class V>
  void visit(V& v) {
    v("entries", entries, "entries", "Number of entries (sets x ways)");
    v("ways", ways, "ways", "Associativity: 1 = direct mapped, entries = fully associative");
    v("hit_latency", hit_latency, "core cycles", "Cycles of a lookup in this array, hit or miss");
    v("replacement", replacement, "",
      "Victim choice in a full set: lru (true LRU), plru (tree pseudo-LRU), fifo, random (seeded xorshift64), "
      "srrip, brrip (2-bit re-reference interval prediction)");
    v("page_sizes", page_sizes, "",
      "Page sizes held: 4K, 2M, 1G or a comma-separated combination such as 4K,2M");
    v("seed", seed, "", "Seed of the random replacement generator (nonzero)");
    v("impl", impl, "",
      "model (this C++ functional core) or rtl (the Verilated SystemVerilog TLB, rtl/; L1 data TLB only, "
      "lru/plru/fifo, hit_latency 1, entries/ways a power of two, a geometry built into this vmsim)");
  }
  // Throws InputError naming path.key: entries 0 or > 2^20; ways 0, above entries or not dividing them;
  // plru with ways not a power of two or > 64; page_sizes unparsable; seed 0; and for impl rtl what
  // validate_rtl() rejects.
  void validate(const std::string& path) const;
  // What the RTL TLB does not implement, whatever impl says: replacement random, srrip or brrip, hit_latency != 1,
  // entries / ways not a power of two. Throws InputError naming path.key.
  void validate_rtl(const std::string& path) const;
};


// One cached translation. vpn and pfn are in 4 KiB units and aligned to `size` (e.g. a 2 MiB entry has
// vpn and pfn multiples of 512). Permissions are the walk's effective permissions.
struct TlbArrayEntry {
  Vpn vpn{0};                         // first 4 KiB page of the entry
  Pfn pfn{0};                         // first 4 KiB frame of the entry
  PageSize size = PageSize::k4K;      // size of this entry
  PageSize leaf_size = PageSize::k4K; // size of the page-table leaf it caches (> size if splintered)
  Pcid pcid = 0;                      // ignored for matching when global
  Vpid vpid = 0;                      // always matched (global entries are global within their VPID)
  bool valid = false;
  bool global = false;
  bool writable = false;
  bool user = false;
  bool no_execute = false;
  bool dirty = false;

  // An entry of `size` (leaf_size = size, valid) for the page containing va, from the frame of va's own
  // 4 KiB page (what the walker reports, WalkResult::pfn). Flags are left false for the caller to set.
  static TlbArrayEntry make(VirtAddr va, PageSize size, Pfn frame_of_va, Pcid pcid);
  // True if va lies in this entry's page.
  bool covers(VirtAddr va) const {
    return (va.value() >> page_shift(size)) == (vpn.value() >> (9 * size_index(size)));
  }
  // True if va lies in the page-table leaf page this entry was made from.
  bool leaf_covers(VirtAddr va) const {
    return (va.value() >> page_shift(leaf_size)) == (vpn.value() >> (9 * size_index(leaf_size)));
  }
  // Physical address of va. Requires covers(va).
  PhysAddr translate(VirtAddr va) const {
    return PhysAddr{(pfn.value() << kPageShift) + (va.value() & (page_bytes(size) - 1))};
  }
  bool operator==(const TlbArrayEntry& o) const;
  bool operator!=(const TlbArrayEntry& o) const { return !(*this == o); }
};

// The part of entry e around va at the smaller size `to` (same leaf_size, permissions, PCID).
// Requires e.covers(va) and to <= e.size.
TlbArrayEntry splinter(const TlbArrayEntry& e, VirtAddr va, PageSize to);

// Result of a lookup: entry is nullptr on a miss.
struct TlbHit {
  const TlbArrayEntry* entry = nullptr;
  uint32_t set = 0;
  uint32_t way = 0;
  explicit operator bool() const { return entry != nullptr; }
};

// Where a fill went and what it displaced.
struct TlbFillResult {
  uint32_t set = 0;
  uint32_t way = 0;
  bool evicted = false;       // a valid entry of another page was replaced (victim holds it)
  bool replaced = false;      // an entry of the same page was overwritten in place
  uint32_t dropped = 0;       // further entries of the same page removed (a global fill over several PCIDs)
  TlbArrayEntry victim;       // valid only if evicted
};

// Entries removed by an invalidation, by their size.
struct TlbRemoved {
  std::array<uint64_t, kNumPageSizes> by_size{};
  uint64_t total() const { return by_size[0] + by_size[1] + by_size[2]; }
  TlbRemoved& operator+=(const TlbRemoved& o) {
    for (unsigned i = 0; i < kNumPageSizes; ++i) by_size[i] += o.by_size[i];
    return *this;
  }
};

// INVVPID types (Intel SDM vol. 2, INVVPID; vol. 3C ch. 29 "Invalidating Cached Translation Information").
enum class InvvpidType : uint8_t {
  IndividualAddress = 0,          // entries of (VPID, address), any PCID, global ones included
  SingleContext = 1,              // every entry of the VPID
  AllContexts = 2,                // every entry of every VPID except 0
  SingleContextRetainGlobals = 3  // every non-global entry of the VPID
};

// INVPCID descriptor types (Intel SDM vol. 2, INVPCID).
enum class InvpcidType : uint8_t {
  IndividualAddress = 0,     // non-global entries for (address, PCID)
  SingleContext = 1,         // non-global entries of PCID
  AllContextsInclGlobal = 2, // everything
  AllContextsExclGlobal = 3  // every non-global entry
};

// An implementation of one TLB array outside this functional core (the RTL TLB, testbench/): the
// operations of TlbArray with exactly its answers. The entry of a lookup stays valid until the next call.
class TlbArrayBackend {
 public:
  virtual ~TlbArrayBackend() = default;
  virtual TlbHit lookup(VirtAddr va, Pcid pcid) = 0;
  virtual TlbFillResult fill(const TlbArrayEntry& e) = 0;
  virtual TlbRemoved invlpg(VirtAddr va, Pcid pcid) = 0;
  virtual TlbRemoved invpcid(InvpcidType type, Pcid pcid, VirtAddr va) = 0;
};

class TlbArray {
 public:
  // Throws InputError (via cfg.validate(path)) for a geometry validate() rejects.
  explicit TlbArray(const TlbArrayConfig& cfg, const std::string& path = "tlb");

  // Translation of va for pcid, or a miss. A hit updates the replacement state (LRU, PLRU). The entry
  // pointer stays valid until the next fill or invalidation.
  TlbHit lookup(VirtAddr va, Pcid pcid) {
    if (m_backend) return m_backend->lookup(va, pcid);
    TlbHit h = peek(va, pcid);
    if (h) m_repl.on_hit(h.set, h.way);
    return h;
  }
  // As lookup, without touching the replacement state.
  TlbHit peek(VirtAddr va, Pcid pcid) const {
    const uint64_t a = va.value();
    for (unsigned i = 0; i < m_num_sizes; ++i) {
      const uint64_t tag = a >> m_shifts[i];
      const uint32_t set = set_of_tag(tag);
      const uint64_t key = (tag << 3) ^ m_key_bias[i];  // make_key(tag, m_sizes[i]) ^ VPID key
      const WayTag* tags = m_tags.data() + static_cast<size_t>(set) * m_ways;
      for (uint32_t w = 0; w < m_ways; ++w) {
        if (tags[w].key == key && (tags[w].global || tags[w].pcid == pcid)) {
          return TlbHit{&m_entries[static_cast<size_t>(set) * m_ways + w], set, w};
        }
      }
    }
    return TlbHit{};
  }

  // Inserts e (victim rule in the file comment; the fill counts as an access of the way: most recent for
  // LRU and PLRU, newest for FIFO). Throws
  // std::invalid_argument unless e.size is held here, vpn and pfn are aligned to e.size, leaf_size >=
  // size and pcid <= kMaxPcid. The stored copy has valid = true.
  TlbFillResult fill(const TlbArrayEntry& e);

  // INVLPG: removes the entries whose leaf page contains va and that are global or of `pcid`.
  TlbRemoved invlpg(VirtAddr va, Pcid pcid);
  // INVPCID of the given type; va is used by IndividualAddress only.
  TlbRemoved invpcid(InvpcidType type, Pcid pcid, VirtAddr va = VirtAddr{0});
  // INVPCID of the given type within the entries of `vpid`, whatever VPID is current (a shootdown reaching
  // a core in another mode). An array with a backend holds VPID 0's entries only.
  TlbRemoved invpcid_in(Vpid vpid, InvpcidType type, Pcid pcid, VirtAddr va = VirtAddr{0});
  // Removes everything (INVPCID type 2).
  TlbRemoved flush_all() { return invpcid(InvpcidType::AllContextsInclGlobal, 0); }
  // Removes every non-global entry (INVPCID type 3; also a root switch without PCIDs: MOV to CR3 with
  // CR4.PCIDE = 0).
  TlbRemoved flush_non_global() { return invpcid(InvpcidType::AllContextsExclGlobal, 0); }
  // The VPID whose entries lookups match and INVLPG, INVPCID and the flushes above act on (host: 0).
  void set_vpid(Vpid vpid) {
    m_vpid = vpid;
    for (unsigned i = 0; i < m_num_sizes; ++i) m_key_bias[i] = make_key(0, m_sizes[i]) ^ (static_cast<uint64_t>(vpid) << 48);
  }
  Vpid vpid() const { return m_vpid; }
  // INVVPID of the given type for vpid (va: IndividualAddress only). Not for an array with a backend.
  TlbRemoved invvpid(InvvpidType type, Vpid vpid, VirtAddr va = VirtAddr{0});
  // INVEPT: every entry of a VPID other than 0 (the entries do not hold the EPTP they were made under, so
  // both INVEPT types drop all guest entries: more than single-context requires, which the SDM allows).
  TlbRemoved invept();

  // The way a fill of a page not present in `set` would take now (lowest invalid, else the policy's victim).
  uint32_t next_victim(uint32_t set) const;
  // Set of va at page size s (the indexing rule in the file comment).
  uint32_t set_index(VirtAddr va, PageSize s) const { return set_of_tag(va.value() >> page_shift(s)); }
  bool holds(PageSize s) const { return (m_mask & mask_of(s)) != 0; }
  PageSizeMask page_sizes() const { return m_mask; }

  uint32_t sets() const { return m_sets; }
  uint32_t ways() const { return m_ways; }
  uint64_t entries() const { return m_entries.size(); }
  uint64_t hit_latency() const { return m_hit_latency; }
  // Direct view of (set, way), valid or not.
  const TlbArrayEntry& at(uint32_t set, uint32_t way) const {
    return m_entries[static_cast<size_t>(set) * m_ways + way];
  }
  uint64_t valid_entries() const;
  const ReplacementState& replacement() const { return m_repl; }

  // From now on every lookup, fill and invalidation goes to backend (attach to an empty array, e.g. right
  // after construction); the views above (peek, at, next_victim, valid_entries, replacement) then
  // describe this array's own storage, which stays empty.
  void attach(std::unique_ptr<TlbArrayBackend> backend) { m_backend = std::move(backend); }
  bool has_backend() const { return m_backend != nullptr; }

 private:
  // Hot copy of an entry's match fields; key 0 = invalid.
  struct WayTag {
    uint64_t key = 0;
    Pcid pcid = 0;
    bool global = false;
  };
  uint64_t key_of(const TlbArrayEntry& e) const {
    return make_key(e.vpn.value() >> (9 * size_index(e.size)), e.size) ^ (static_cast<uint64_t>(e.vpid) << 48);
  }
  static uint64_t make_key(uint64_t tag, PageSize s) {
    return (tag << 3) | (static_cast<uint64_t>(size_index(s)) << 1) | 1u;
  }
  uint32_t set_of_tag(uint64_t tag) const {
    return static_cast<uint32_t>(m_sets_pow2 ? (tag & m_set_mask) : (tag % m_sets));
  }
  void install(size_t idx, const TlbArrayEntry& e);
  void remove(size_t idx, TlbRemoved& removed);
  template <class Pred>
  TlbRemoved remove_if_leaf_covers(VirtAddr va, Pred pred);
  template <class Pred>
  TlbRemoved remove_all_if(Pred pred);

  uint32_t m_sets;
  uint32_t m_ways;
  uint64_t m_set_mask;
  bool m_sets_pow2;
  uint64_t m_hit_latency;
  PageSizeMask m_mask = 0;
  unsigned m_num_sizes = 0;
  std::array<unsigned, kNumPageSizes> m_shifts{};
  std::array<PageSize, kNumPageSizes> m_sizes{};
  uint64_t m_splinters = 0;  // valid entries with leaf_size != size
  std::vector<WayTag> m_tags;
  std::vector<TlbArrayEntry> m_entries;
  ReplacementState m_repl;
  std::unique_ptr<TlbArrayBackend> m_backend;
  Vpid m_vpid = 0;
  // Per held size: the key's low bits (size, valid) and the VPID's bits 63:48. make_key(tag, s) ^ (vpid << 48)
  // = (tag << 3) ^ bias, so a lookup costs what it did without VPIDs.
  std::array<uint64_t, kNumPageSizes> m_key_bias{};
};

// ---------------------------------------------------------------------------------------------------
// Hierarchy.

// Configuration of a core's TLBs. Each level is a list of arrays with disjoint page sizes: one array for
// several sizes, or separate arrays per size (e.g. dtlb: [{entries: 64, page_sizes: 4K},
// {entries: 32, page_sizes: 2M}, {entries: 4, ways: 4, page_sizes: 1G}]).
struct TlbHierarchyConfig {
  std::vector<TlbArrayConfig> itlb = {default_l1()};
  std::vector<TlbArrayConfig> dtlb = {default_l1()};
  std::vector<TlbArrayConfig> stlb = {default_stlb()};

  template <class V>
  void visit(V& v) {
    // Each level's elements start from that level's default array: stlb: [{entries: 2048}] keeps the
    // STLB's 8 ways, 7 cycles and page sizes.
    v.list("itlb", itlb, "L1 instruction TLB (fetches): arrays with disjoint page sizes", default_l1());
    v.list("dtlb", dtlb, "L1 data TLB (reads and writes): arrays with disjoint page sizes", default_l1());
    v.list("stlb", stlb, "Shared L2 TLB behind both L1 TLBs: arrays with disjoint page sizes", default_stlb());
  }
  // Throws InputError: an empty level (path.itlb), an invalid array (path.itlb[i].key), or a page size
  // held by two arrays of one level (path.itlb[i].page_sizes).
  void validate(const std::string& path) const;

  // The default array of an L1 level (itlb, dtlb): TlbArrayConfig's member defaults (64 entries, 4 ways,
  // 1 cycle, LRU, 4K,2M,1G).
  static TlbArrayConfig default_l1();
  // The default array of the STLB: an L1 array with 1024 entries, 8 ways and 7 cycles.
  static TlbArrayConfig default_stlb();
};

// Counters of one level for one page size (the size of the entry concerned, after splintering).
struct TlbSizeCounters {
  uint64_t hits = 0;
  uint64_t fills = 0;          // entries inserted: misses resolved with a page of this size
  uint64_t evictions = 0;      // valid entries of this size displaced by fills of other pages
  uint64_t invalidations = 0;  // entries of this size removed by INVLPG, INVPCID and flushes
};

// Counters of one level. Every lookup of a level is exactly one hit or one miss of that level: a fetch
// that misses the ITLB and hits the STLB counts one ITLB lookup + miss, one STLB lookup + hit, and one
// ITLB fill. A miss's page size is unknown when it happens, so misses are not split by size; fills are
// (a fill follows each resolved miss), so misses - fills = misses never resolved (faults, walks merged
// by the MMU). The totals equal the sums of by_size.
struct TlbLevelCounters {
  uint64_t lookups = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t fills = 0;
  uint64_t evictions = 0;
  uint64_t invalidations = 0;
  std::array<TlbSizeCounters, kNumPageSizes> by_size{};
};

// Result of a level lookup: which array hit, where.
struct TlbLevelHit {
  TlbHit hit;
  uint32_t array = 0;
  uint64_t latency = 0;  // hit: that array's latency; miss: the level's miss latency
  explicit operator bool() const { return static_cast<bool>(hit); }
};

// Result of a level fill: nothing if the level holds neither the entry's size nor a smaller one.
struct TlbLevelFill {
  bool filled = false;
  uint32_t array = 0;
  TlbArrayEntry stored;  // what went in (possibly splintered)
  TlbFillResult result;
};

// One TLB level: arrays probed in parallel, with the priority of their configuration order.
class TlbLevel {
 public:
  // Throws InputError if an array config is invalid (named path[i].key).
  TlbLevel(const std::vector<TlbArrayConfig>& arrays, const std::string& path);

  // Probes the arrays in order; the first hit wins and updates that array's replacement state. Counts.
  [[gnu::always_inline]] TlbLevelHit lookup(VirtAddr va, Pcid pcid) {
    ++m_counters.lookups;
    // Repeat of the previous lookup (same 4 KiB page and PCID, nothing filled or invalidated since): the
    // full search would find the same entry, and touching the most recently used way again leaves every
    // policy's victim order unchanged, so the answer is reused. Only the host time differs.
    if ((va.value() >> kPageShift) == m_memo.page && pcid == m_memo.pcid) {
      ++m_counters.hits;
      ++m_counters.by_size[m_memo.size].hits;
      return m_memo.hit;
    }
    return search(va, pcid);
  }
  // The entry lookup(va, pcid) would answer from its memo (a repeat of the previous hit), found without
  // counting or touching anything; nullptr when lookup would search. count_memo_hit() then counts that
  // lookup exactly as lookup() does (the core's functional loop: Mmu::repeat_page).
  const TlbArrayEntry* memo_entry(VirtAddr va, Pcid pcid) const {
    return (va.value() >> kPageShift) == m_memo.page && pcid == m_memo.pcid ? m_memo.hit.hit.entry : nullptr;
  }
  void count_memo_hit() {
    ++m_counters.lookups;
    ++m_counters.hits;
    ++m_counters.by_size[m_memo.size].hits;
  }
  // Inserts e for an access to va (e.covers(va) required): into the array holding e.size, else splintered
  // to the largest smaller size the level holds, else not at all. Counts fills and evictions.
  TlbLevelFill fill(VirtAddr va, const TlbArrayEntry& e);
  // The size a fill of an entry of size s is stored at, if any.
  std::optional<PageSize> stored_size(PageSize s) const;

  TlbRemoved invlpg(VirtAddr va, Pcid pcid);
  TlbRemoved invpcid(InvpcidType type, Pcid pcid, VirtAddr va = VirtAddr{0});
  TlbRemoved invpcid_in(Vpid vpid, InvpcidType type, Pcid pcid, VirtAddr va = VirtAddr{0});
  TlbRemoved flush_all() { return invpcid(InvpcidType::AllContextsInclGlobal, 0); }
  TlbRemoved flush_non_global() { return invpcid(InvpcidType::AllContextsExclGlobal, 0); }
  void set_vpid(Vpid vpid);
  TlbRemoved invvpid(InvvpidType type, Vpid vpid, VirtAddr va = VirtAddr{0});
  TlbRemoved invept();

  // Cycles of a miss: the largest hit latency of the level's arrays (all are probed).
  uint64_t miss_latency() const { return m_miss_latency; }
  size_t num_arrays() const { return m_arrays.size(); }
  // Mutable access (tests, attaching an RTL backend) forgets the memoized lookup.
  TlbArray& array(size_t i) {
    m_memo.page = kNoPage;
    return m_arrays[i];
  }
  const TlbArray& array(size_t i) const { return m_arrays[i]; }
  uint64_t valid_entries() const;
  const TlbLevelCounters& counters() const { return m_counters; }
  void reset_counters() { m_counters = TlbLevelCounters{}; }

 private:
  TlbRemoved count_removed(const TlbRemoved& r);
  // lookup() past the memo: every array in turn; remembers a hit.
  TlbLevelHit search(VirtAddr va, Pcid pcid);

  static constexpr uint64_t kNoPage = ~uint64_t{0};
  struct Memo {
    uint64_t page = kNoPage;  // 4 KiB virtual page number of the last hit
    Pcid pcid = 0;
    unsigned size = 0;        // size index of the entry that hit
    TlbLevelHit hit;
  };
  Memo m_memo;
  // An array answering through a backend (the RTL TLB) must see every lookup: no memo then.
  bool has_backend() const {
    for (const TlbArray& a : m_arrays)
      if (a.has_backend()) return true;
    return false;
  }

  std::vector<TlbArray> m_arrays;
  std::array<int, kNumPageSizes> m_array_of_size{};  // -1 if not held
  uint64_t m_miss_latency = 0;
  TlbLevelCounters m_counters;
};

enum class TlbHitLevel : uint8_t { L1, L2, Miss };
constexpr const char* to_string(TlbHitLevel l) {
  return l == TlbHitLevel::L1 ? "L1" : l == TlbHitLevel::L2 ? "L2" : "miss";
}

// Result of a hierarchy lookup.
struct TlbLookup {
  TlbHitLevel level = TlbHitLevel::Miss;
  uint64_t latency = 0;     // cycles: L1 hit; L1 miss + L2 hit; L1 miss + L2 miss (time before the walk)
  uint64_t l2_latency = 0;  // the part of latency spent in the L2 TLB (0 on an L1 hit)
  const TlbArrayEntry* entry = nullptr;  // the entry that hit (the L2 one on an L2 hit), nullptr on a
                                         // miss; valid until the level holding it changes
  PhysAddr pa{0};        // entry.translate(va) on a hit
};

struct TlbHierarchyFill {
  TlbLevelFill l1;
  TlbLevelFill l2;
};

struct TlbHierarchyCounters {
  TlbLevelCounters itlb;
  TlbLevelCounters dtlb;
  TlbLevelCounters stlb;
};

// A core's TLBs: fetches look up ITLB then STLB, reads and writes DTLB then STLB. An STLB hit fills the
// L1 (which may splinter). Inclusion: non-inclusive, non-exclusive. A walk result fills both the L1 of
// the access and the STLB; an eviction from one level never touches the other, so an L1 may hold an
// entry the STLB has lost and vice versa. Invalidations apply to all three levels.
class TlbHierarchy {
 public:
  // Throws InputError for a config validate() rejects.
  explicit TlbHierarchy(const TlbHierarchyConfig& cfg, const std::string& path = "tlb");

  // Looks va up for pcid and an access of `kind`. Counts; on an L2 hit fills the L1. (The L1 part is
  // inline: it is the simulator's hottest path.)
  [[gnu::always_inline]] TlbLookup lookup(VirtAddr va, Pcid pcid, AccessKind kind) {
    TlbLevelHit h1 = l1(kind).lookup(va, pcid);
    if (!h1) return lookup_l2(va, pcid, kind, h1.latency);
    TlbLookup r;
    r.level = TlbHitLevel::L1;
    r.latency = h1.latency;
    r.pa = h1.hit.entry->translate(va);
    r.entry = h1.hit.entry;
    return r;
  }
  // After a walk for (va, kind): inserts e into the access's L1 and into the STLB (each may splinter, or
  // skip e if it holds no size <= e.size). Requires e.covers(va); throws std::invalid_argument otherwise.
  TlbHierarchyFill fill(VirtAddr va, AccessKind kind, const TlbArrayEntry& e);
  // The entry the L1 of kind, else the L2, holds for va: no counters, no replacement update.
  const TlbArrayEntry* probe(VirtAddr va, Pcid pcid, AccessKind kind) const;

  // Each returns the entries removed over all levels.
  uint64_t invlpg(VirtAddr va, Pcid pcid);
  uint64_t invpcid(InvpcidType type, Pcid pcid, VirtAddr va = VirtAddr{0});
  // INVPCID within vpid's entries, whatever VPID is current.
  uint64_t invpcid_in(Vpid vpid, InvpcidType type, Pcid pcid, VirtAddr va = VirtAddr{0});
  uint64_t flush_all();
  // Root switch without PCIDs: every non-global entry.
  uint64_t flush_non_global();
  // VPID tagging (see TlbArray): lookups, fills' matching and INVLPG/INVPCID act on vpid's entries.
  void set_vpid(Vpid vpid);
  uint64_t invvpid(InvvpidType type, Vpid vpid, VirtAddr va = VirtAddr{0});
  uint64_t invept();

  TlbLevel& itlb() { return m_itlb; }
 private:
  TlbLookup lookup_l2(VirtAddr va, Pcid pcid, AccessKind kind, uint64_t l1_latency);

 public:
  TlbLevel& dtlb() { return m_dtlb; }
  TlbLevel& stlb() { return m_stlb; }
  TlbLevel& l1(AccessKind kind) { return kind == AccessKind::Fetch ? m_itlb : m_dtlb; }
  TlbHierarchyCounters counters() const { return {m_itlb.counters(), m_dtlb.counters(), m_stlb.counters()}; }
  void reset_counters();

 private:
  TlbLevel m_itlb;
  TlbLevel m_dtlb;
  TlbLevel m_stlb;
};

}  // namespace vmsim::mmu

template <>
struct vmsim::config::EnumNames<vmsim::mmu::TlbImpl> {
  static const std::vector<std::pair<vmsim::mmu::TlbImpl, const char*>>& table() {
    static const std::vector<std::pair<vmsim::mmu::TlbImpl, const char*>> t = {{vmsim::mmu::TlbImpl::Model, "model"},
                                                                               {vmsim::mmu::TlbImpl::Rtl, "rtl"}};
    return t;
  }
};
