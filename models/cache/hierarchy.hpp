// Functional core of the cache hierarchy (plain C++, deterministic): per-core L1I, L1D and L2, a shared
// LLC per socket, MESI coherence inside a socket through the LLC's core-valid bits (or a snoop filter), and
// a home directory per line across sockets. Holds tags and states only; data stays in the backing store.
//
// Semantics (the contract the timed caller relies on):
//  * Structure. Core c has private L1I, L1D and a unified L2; the L2 is inclusive of the core's L1s (an L2
//    eviction back-invalidates them, merging their dirty data). Socket s has an LLC shared by its cores
//    (sockets = max(core_socket) + 1). An absent level is skipped entirely.
//  * Coherence agents. With an L2, a core is one agent whose state is its L2's: its L1 copies may be E/M
//    only if its L2 copy is (an L1 gets E from an L2 E/M copy so a store upgrades it silently; L1D M is
//    newer than L2). Without an L2, each L1 is an agent of its own. Single-writer/multiple-readers holds
//    across agents. L1I copies are not kept coherent with the same core's stores (x86 self-modifying-code
//    detection is not modeled); other cores' stores do invalidate them.
//  * Inside a socket. Requests that miss the private levels (GetS for reads, GetM for writes, Upgrade for a
//    write to an S copy) go to the socket: the snoop filter (the LLC's core-valid bits when the LLC is
//    inclusive, else a per-socket line -> core-mask map kept exact) names the cores to snoop. A GetS finding
//    an E/M copy downgrades it to S and the line comes cache to cache (Served::PeerCache, counted as
//    c2c_transfers of the socket's Llc stats); its dirty data goes into the LLC if the LLC holds the line
//    (LLC state M), else to memory (a writeback in the result). A GetM invalidates every other copy in the
//    socket (counted as invalidations at the level of each copy); an M copy's data moves to the requester.
//    Clean S copies elsewhere in the socket also forward data (PeerCache) when the LLC does not hold the
//    line. A read gets E if no other agent anywhere holds the line and the socket owns it, else S.
//  * LLC inclusion. inclusive: every private copy is in the LLC; an LLC eviction back-invalidates the
//    socket's private copies (back_invalidations at their levels; +1 in the LLC's per eviction that removed
//    any), one writeback if any copy was dirty. non_inclusive: misses served from outside the socket fill
//    the LLC and the private levels; evictions never touch the other level; a dirty private victim updates
//    the LLC copy if there is one, else goes to memory. exclusive: lines enter the LLC only as victims of
//    the private levels (clean or dirty, and only when no other core of the socket holds the line); a core
//    taking a line out of the LLC removes it there (an M line arrives M, even for a read). The LLC state
//    is the socket's view: E/M while the socket owns the line (M = dirtier than memory), S otherwise.
//  * Across sockets. The home socket (home_socket(pa)) keeps a directory entry {sockets holding the line,
//    owner socket with E/M permission}. A GetS from a socket that holds no copy, and a GetM/Upgrade from a
//    socket that does not own the line, consult it; every message crossing sockets counts in
//    remote_messages: the request to the home (if remote), a forward or invalidation from the home to each
//    other socket involved (if not the home), each of their replies to the requester, and the home's reply
//    (data or grant) when no other socket sent data. An owner socket's copy makes the access
//    Served::RemoteCache (a GetS downgrades it to S, its dirty data written to memory; a GetM invalidates
//    it and moves its data); otherwise Served::Memory. Evictions update the directory without messages.
//  * Latency (load-to-use). Every level's latency counts from the core: a hit costs the latency of the
//    level that hit; a miss costs the latency of the deepest level looked up (memory, interconnect and
//    remote costs are the caller's). The breakdown gives each level looked up its latency minus the latency
//    of the level looked up before it (l1_cycles, l2_cycles, llc_cycles); c2c_latency is added to
//    llc_cycles for a PeerCache transfer. An Upgrade is charged as an LLC hit (Served::Llc); without an LLC
//    as a memory access (Served::Memory, memory_read). Prefetches cost the demand access nothing.
//  * Entry points. Fetch enters at L1I; Load, Store and software Prefetch at L1D; PteRead and AdWrite per
//    walk_entry: l1d, l2 (the walker's accesses fill the L2, not the L1D; an AdWrite there drops the core's
//    L1 copies), llc (no private fill; the walker snoops every core of its socket including its own; the
//    LLC is filled in every inclusion mode except exclusive with private copies left), memory (no cache is
//    filled; an AdWrite writes dirty copies back and invalidates every cached copy first). Store and AdWrite
//    need M. An entry level that is absent falls through to the next present one (llc absent: memory).
//  * Prefetchers run per level on demand accesses that look that level up (not on prefetch requests), and
//    fill the level they belong to (an L1 prefetch also fills the L2); lines already there are skipped.
//    Data read from memory for them is listed in prefetch_reads; their cross-socket messages in
//    prefetch_remote_messages. A prefetch at the LLC only fills lines no cache of the socket holds and no
//    other socket owns. useful = first demand hit on a prefetched line; useless = evicted or invalidated
//    unused; late is counted by the timed caller (count_prefetch_late) from AccessResult::prefetch_used.
//  * Shared structures (for the timed caller's queues). A demand access that looks its socket's LLC up sets
//    llc_lookup (the LLC's snoop filter, core-valid bits or map, is looked up with it); one that consults a
//    home directory (multi-socket only, the cases above) names the home in directory_home. Prefetches and
//    victims arriving from the private levels set neither.
//  * All levels absent: access returns Served::Memory, 0 cycles, memory_read, and changes nothing.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "models/cache/cache_array.hpp"
#include "models/cache/cache_config.hpp"
#include "models/cache/line_map.hpp"
#include "models/cache/mesi.hpp"
#include "models/cache/prefetcher.hpp"

namespace vmsim::cache {

enum class AccessClass : uint8_t { Load, Store, Fetch, PteRead, AdWrite, Prefetch, Writeback, Count };
enum class Served : uint8_t { L1, L2, Llc, PeerCache, RemoteCache, Memory, Count };
enum class Level : uint8_t { L1i, L1d, L2, Llc, Count };

constexpr size_t kNumAccessClasses = static_cast<size_t>(AccessClass::Count);
constexpr size_t kNumServed = static_cast<size_t>(Served::Count);
constexpr size_t kNumLevels = static_cast<size_t>(Level::Count);
constexpr unsigned kMaxWalkLevel = 5;

const char* to_string(AccessClass c);
const char* to_string(Served s);
const char* to_string(Level l);

// What one access did. Arrays are valid up to their counts only.
struct AccessResult {
  static constexpr uint32_t kMaxWritebacks = 48;
  static constexpr uint32_t kMaxPrefetchReads = 16;

  Served served = Served::Memory;
  uint64_t cycles = 0;       // core cycles in the hierarchy (load-to-use, see the file comment)
  uint64_t l1_cycles = 0;    // breakdown: l1_cycles + l2_cycles + llc_cycles == cycles
  uint64_t l2_cycles = 0;
  uint64_t llc_cycles = 0;   // includes c2c_latency for a PeerCache transfer
  bool memory_read = false;  // the caller reads line_pa from memory (served == Memory)
  // The level where this demand access was the first use of a prefetched line (Level::Count: none); the
  // timed caller checks whether that prefetch's fill had completed (late prefetches).
  Level prefetch_used = Level::Count;
  uint64_t line_pa = 0;      // physical address of the line (aligned)
  // The demand access looked up its socket's LLC (the timed caller queues it at the line's LLC bank).
  bool llc_lookup = false;
  // The home socket whose directory the demand access consulted (multi-socket only; -1: none).
  int32_t directory_home = -1;
  uint32_t remote_messages = 0;           // cross-socket directory messages of the demand access
  uint32_t prefetch_remote_messages = 0;  // ... of the prefetches it triggered
  uint32_t n_writebacks = 0;
  uint64_t writebacks[kMaxWritebacks];    // dirty lines leaving the hierarchy for memory (physical addresses)
  uint32_t n_prefetch_reads = 0;
  uint64_t prefetch_reads[kMaxPrefetchReads];  // lines prefetches fetch from memory (physical addresses)
};

// Counters of one array (one core's L1I/L1D/L2, one socket's LLC). accesses/hits/misses are per class of
// the request arriving at this level; a hit is a copy with enough permission (a store to an S copy is a
// miss, also counted in upgrades). Writeback-class accesses are dirty victims arriving from the level above.
struct LevelStats {
  uint64_t accesses[kNumAccessClasses] = {};
  uint64_t hits[kNumAccessClasses] = {};
  uint64_t misses[kNumAccessClasses] = {};
  uint64_t upgrades = 0;            // write requests finding only an S copy here
  uint64_t writebacks = 0;          // dirty lines this level sent down (to the next level or memory)
  uint64_t evictions = 0;           // valid lines displaced by fills
  uint64_t invalidations = 0;       // copies removed by coherence (other cores' writes, DMA writes)
  uint64_t back_invalidations = 0;  // copies removed by inclusion (see the file comment)
  uint64_t c2c_transfers = 0;       // Llc stats: cache-to-cache transfers inside the socket
  uint64_t remote_transfers = 0;    // Llc stats: lines supplied by another socket's caches
  uint64_t prefetch_issued = 0;
  uint64_t prefetch_useful = 0;
  uint64_t prefetch_late = 0;
  uint64_t prefetch_useless = 0;

  uint64_t total_accesses() const;
  uint64_t total_hits() const;
  uint64_t total_misses() const;
};

class Hierarchy {
 public:
  // core_socket[c] = socket of core c (at most 64 cores and 64 sockets); home_socket(pa) = socket whose
  // directory owns the line (must return < number of sockets). Throws InputError for a config validate()
  // rejects (path "cache"), std::invalid_argument for no cores, too many cores or sockets.
  Hierarchy(const HierarchyConfig& cfg, std::vector<uint32_t> core_socket,
            std::function<uint32_t(uint64_t pa)> home_socket);

  // One access of class cls by core to physical address pa by instruction ip (ip trains the ip_stride
  // prefetcher). cls must not be Writeback (std::invalid_argument). The 5-argument form also counts a
  // PteRead in the walk histogram under walk_level (1..5; 0 = not counted). Fast path: an L1D hit of a Load
  // or Store with enough permission on the line this core's L1D used last.
  AccessResult access(uint32_t core, AccessClass cls, uint64_t pa, uint64_t ip) {
    if ((cls == AccessClass::Load || cls == AccessClass::Store) &&
        try_l1d_hit(core, cls == AccessClass::Store, pa, ip)) {
      AccessResult r;
      r.served = Served::L1;
      r.cycles = m_lat[static_cast<size_t>(Level::L1d)];
      r.l1_cycles = r.cycles;
      r.line_pa = (pa >> m_line_shift) << m_line_shift;
      return r;
    }
    return access_slow(core, cls, pa, ip, 0);
  }
  // The fast path alone, for callers that keep their own accounting: a Load (store false) or Store by core
  // at ip that hits a line resident in its L1D, with enough permission (a store to E makes it M), that line
  // not a prefetch awaiting its first use, and the L1D's prefetcher (none or ip_stride) one that this access
  // would leave unchanged and silent (ip_stride: its entry for ip saw this line last). True: counted as an
  // L1D hit of l1d_latency() cycles and done, exactly as access() would; false: nothing changed, call
  // access().
  bool try_l1d_hit(uint32_t core, bool store, uint64_t pa, uint64_t ip) {
    if (memo_hit(core, store, pa, ip)) {
      count_memo_hit(core, store);
      return true;
    }
    return try_l1d_hit_checked(core, store, pa, ip);
  }
  // try_l1d_hit's first step, in two parts for callers that test before they change anything (the core's
  // functional loop): memo_hit() is true if try_l1d_hit(core, store, pa, ip) would be a hit on the
  // remembered line (changes nothing); count_memo_hit() then does what that hit does.
  bool memo_hit(uint32_t core, bool store, uint64_t pa, uint64_t ip) const {
    const CoreCaches& cc = m_cores[core];
    // The remembered line (memo): nothing in the hierarchy changed since it was checked (m_epoch), so the
    // line is still there, not prefetched, and the prefetcher's entry for this ip still saw it last.
    return (pa >> m_line_shift) == cc.memo_line && ip == cc.memo_ip && cc.memo_epoch == m_epoch &&
           (!store || cc.memo_excl);
  }
  // The remembered line as the core's functional loop keeps it in its own variables while it calls nothing
  // in the hierarchy: false if the memo is not valid now (memo_hit() would be false for every access).
  // A valid memo answers memo_hit() for (line, ip) with line == line_pa >> line shift, and ip == ip
  // (a store needs excl); count_memo_hit() then changes m to true for a store and touched to true, and
  // counts in *stats (accesses and hits of Load or Store) when neither needed changing.
  struct MemoView {
    uint64_t line = 0;
    uint64_t ip = 0;
    bool excl = false;
    bool m = false;
    bool touched = false;
    LevelStats* stats = nullptr;
  };
  bool memo_view(uint32_t core, MemoView& v) const {
    const CoreCaches& cc = m_cores[core];
    if (cc.memo_epoch != m_epoch) return false;
    v.line = cc.memo_line;
    v.ip = cc.memo_ip;
    v.excl = cc.memo_excl;
    v.m = cc.memo_m;
    v.touched = cc.memo_touched;
    v.stats = cc.l1d_stats;
    return true;
  }
  unsigned line_shift() const { return m_line_shift; }
  void count_memo_hit(uint32_t core, bool store) {
    CoreCaches& cc = m_cores[core];
    // The replacement update only where it changes something (the way is not the array's last used),
    // and a store to an E line makes it M.
    if (!cc.memo_touched || (store && !cc.memo_m)) memo_update(cc, store);
    const size_t c = store ? static_cast<size_t>(AccessClass::Store) : static_cast<size_t>(AccessClass::Load);
    ++cc.l1d_stats->accesses[c];
    ++cc.l1d_stats->hits[c];
  }
  // The next step after a failed try_l1d_hit for a caller that keeps no time (the functional mode) and so
  // needs none of the AccessResult's write-backs, prefetch reads or prefetch_used: a Load or Store by core
  // at ip that hits its L1D with enough permission (typically the first use of a line the L1D's prefetcher
  // brought in), handled as access() handles it (the prefetcher trained, its prefetches issued) without
  // building a result for the caller. True: done, an L1D hit of l1d_latency() cycles, exactly as access()
  // would; false: nothing changed, call access().
  bool l1d_demand_hit_untimed(uint32_t core, bool store, uint64_t pa, uint64_t ip);
  uint64_t l1d_latency() const { return m_lat[static_cast<size_t>(Level::L1d)]; }
  // A store of a whole line that needs no data: the firmware zeroing or copying a page with fast-string
  // stores. Counted and handled as a Store, except that it trains and triggers no prefetcher (no
  // read-for-ownership reaches them).
  AccessResult write_full_line(uint32_t core, uint64_t pa) {
    m_no_prefetch = true;
    AccessResult r = access_slow(core, AccessClass::Store, pa, 0, 0);
    m_no_prefetch = false;
    return r;
  }
  AccessResult access(uint32_t core, AccessClass cls, uint64_t pa, uint64_t ip, unsigned walk_level) {
    return access_slow(core, cls, pa, ip, walk_level);
  }

  // DMA write of [pa, pa + len) (swap-in): every cached copy of every line touched is invalidated, dirty ones
  // dropped (the device overwrote memory). Returns the copies invalidated (all levels, all sockets).
  uint64_t device_write(uint64_t pa, uint64_t len);
  // DMA read of [pa, pa + len) (swap-out): dirty copies are written back first (M -> E); their line
  // addresses are appended to writebacks (if not null), one per line. Returns the lines written back.
  uint64_t device_read(uint64_t pa, uint64_t len, std::vector<uint64_t>* writebacks);

  // Coherence checker of the line holding pa: single writer / multiple readers across agents; L2 inclusion
  // of the L1s; the snoop filter (LLC core-valid bits or map) exactly naming the cores holding the line;
  // inclusive LLC holding every private copy; exclusive LLC holding no line a private cache of its socket
  // holds; LLC state agreeing with the socket's ownership; the home directory exactly naming the sockets
  // holding the line and an owner only if alone. "" if fine, else one line naming the line, core or socket,
  // level and states.
  std::string check_line(uint64_t pa) const;
  // check_line over every line held anywhere (arrays, snoop filters, directories), in address order; the
  // first failure or "".
  std::string check_all() const;

  // Test-only fault injection: the next invalidation that should remove a private copy leaves it in place
  // (the snoop filter and directory still believe it gone).
  void inject_drop_next_invalidation() { m_drop_next_invalidation = true; }
  // Test-only: with true, every access takes the general path (no demand L1 hit shortcut in access_slow,
  // no L1 prefetch fill shortcut), so tests can compare the shortcuts against it. try_l1d_hit is unaffected.
  void set_general_paths_only(bool on) { m_general_only = on; }

  // Counters of level for index (core for L1i/L1d/L2, socket for Llc); zeros for an absent level. Throws
  // std::out_of_range for a bad index.
  const LevelStats& stats(Level level, uint32_t index) const;
  // The timed caller found a prefetch of this level late (the demand arrived before the fill).
  void count_prefetch_late(Level level, uint32_t index) { mut_stats(level, index).prefetch_late++; }
  // The same for a demand access of core that found a prefetched line at level (AccessResult::prefetch_used).
  void count_prefetch_late_of(uint32_t core, Level level) {
    count_prefetch_late(level, level == Level::Llc ? m_cores[core].socket : core);
  }
  // PteRead accesses made with walk_level (1..5) answered from served.
  uint64_t walk_served(unsigned walk_level, Served served) const {
    return walk_level <= kMaxWalkLevel ? m_walk_hist[walk_level][static_cast<size_t>(served)] : 0;
  }
  void reset_stats();

  // Inspection (tests, the checker's reports): state of the line holding pa in an array (I if absent).
  State state(Level level, uint32_t index, uint64_t pa) const;
  // The array (nullptr if the level is absent).
  const CacheArray* array(Level level, uint32_t index) const;
  uint32_t num_cores() const { return static_cast<uint32_t>(m_cores.size()); }
  uint32_t num_sockets() const { return static_cast<uint32_t>(m_sockets.size()); }
  uint64_t line_bytes() const { return uint64_t{1} << m_line_shift; }
  const HierarchyConfig& config() const { return m_cfg; }

 private:
  struct CoreCaches {
    std::array<std::unique_ptr<CacheArray>, 3> arr;       // indexed by Level L1i, L1d, L2
    std::array<std::unique_ptr<Prefetcher>, 3> pf;
    uint32_t socket = 0;
    CacheArray* l1d = nullptr;
    LevelStats* l1d_stats = nullptr;
    IpStridePrefetcher* l1d_stride = nullptr;  // the L1D's prefetcher if ip_stride (fast-path test, direct calls)
    uint64_t memo_line = ~uint64_t{0};  // line of the last L1D demand hit or fill, with its slot
    size_t memo_slot = 0;
    uint32_t memo_set = 0;
    uint32_t memo_way = 0;
    // The inline-hit memo: valid while memo_epoch == m_epoch, for accesses by memo_ip to memo_line, which
    // is then in the L1D at memo_slot, not prefetched, with the L1D prefetcher quiet for (line, ip).
    uint64_t memo_ip = 0;
    uint64_t memo_epoch = ~uint64_t{0};
    bool memo_excl = false;     // its state is E or M
    bool memo_m = false;        // ... M
    bool memo_touched = false;  // it is the array's last used slot (CacheArray::last_used)
  };
  struct DirEntry {
    uint64_t sockets = 0;
    int32_t owner = -1;
  };
  struct SocketCaches {
    std::unique_ptr<CacheArray> llc;
    std::unique_ptr<Prefetcher> pf;
    std::vector<uint32_t> cores;
    LineMaskMap snoop_filter;                             // non-inclusive/exclusive/no LLC: line -> cores
    std::unordered_map<uint64_t, DirEntry> directory;    // lines homed here
  };
  enum class Req : uint8_t { GetS, GetM, Upgrade };
  struct Grant {
    Served served = Served::Memory;
    State state = State::I;
  };
  // The access being worked on: where costs, reads and writebacks go.
  struct Ctx {
    AccessResult& r;
    bool prefetch = false;
    uint64_t prev_latency = 0;
  };

  AccessResult access_slow(uint32_t core, AccessClass cls, uint64_t pa, uint64_t ip, unsigned walk_level);
  // try_l1d_hit's full test (the line looked up, its state, prefetched flag and the prefetcher checked).
  bool try_l1d_hit_checked(uint32_t core, bool store, uint64_t pa, uint64_t ip);
  // A memo hit's rare part: the replacement update, a store's E -> M.
  void memo_update(CoreCaches& cc, bool store);
  // After a slow Load or Store by core of line at ip: validates the memo for the accesses that follow.
  void memo_prime(uint32_t core, uint64_t line, uint64_t ip);
  Served private_access(uint32_t core, Level entry, AccessClass cls, uint64_t line, bool excl, Ctx& ctx,
                        std::array<bool, kNumLevels>& looked_up, std::array<bool, kNumLevels>& hit_at);
  Grant socket_request(uint32_t core, uint32_t s, uint64_t line, Req req, AccessClass cls, CacheArray* ex0,
                       CacheArray* ex1, bool core_fills, Ctx& ctx, bool* llc_hit);
  Served memory_entry(uint32_t core, uint64_t line, bool excl, Ctx& ctx);
  void private_victim(uint32_t core, Level level, const Victim& v, Ctx& ctx);
  void core_evicted(uint32_t core, uint64_t line, bool dirty, bool was_exclusive, Level from, Ctx& ctx);
  void llc_victim(uint32_t s, const Victim& v, Ctx& ctx);
  void remote_downgrade(uint32_t s, uint64_t line, Ctx& ctx);
  void remote_invalidate(uint32_t s, uint64_t line);
  // Invalidates the line everywhere; returns copies removed and sets dirty if any was M.
  uint64_t purge_line(uint64_t line, bool& dirty);
  void issue_prefetches(uint32_t core, Level level, uint64_t line, uint64_t ip, bool hit, Ctx& ctx);
  void prefetch_private(uint32_t core, Level level, uint64_t line, Ctx& ctx);
  // A demand Load or Store of core entering at its L1D that hits there with enough permission in (set,
  // way), found by the caller: private_access's hit, then the L1D's prefetcher and the memo, as access_slow
  // would do them; ctx.r ends as access_slow's result (the caller set its line_pa).
  void l1d_demand_hit(uint32_t core, bool store, uint64_t line, uint64_t ip, uint32_t set, uint32_t way, Ctx& ctx);
  void prefetch_llc(uint32_t s, uint64_t line, Ctx& ctx);

  // Removes a private copy for coherence (honours the injected drop); returns its previous state.
  State invalidate_private(uint32_t core, Level level, uint64_t line, bool back_invalidation);
  uint64_t sf_mask(uint32_t s, uint64_t line) const;
  void sf_set(uint32_t s, uint64_t line, uint64_t mask);
  bool core_holds(uint32_t core, uint64_t line, const CacheArray* ex0 = nullptr, const CacheArray* ex1 = nullptr) const;
  bool socket_holds(uint32_t s, uint64_t line) const;
  bool socket_owns(uint32_t s, uint64_t line) const;
  uint32_t home_of(uint64_t line) const;
  DirEntry* dir_find(uint64_t line);
  const DirEntry* dir_find(uint64_t line) const;
  void dir_remove_socket(uint32_t s, uint64_t line);
  void charge(Ctx& ctx, Level level);
  void push_writeback(Ctx& ctx, uint64_t line);
  void add_messages(Ctx& ctx, uint32_t n);
  LevelStats& mut_stats(Level level, uint32_t index);
  CacheArray* arr(uint32_t core, Level level) const { return m_cores[core].arr[static_cast<size_t>(level)].get(); }
  void note_l1d(uint32_t core, uint64_t line);
  // note_l1d for a line known to be in (set, way) of the core's L1D.
  void note_l1d_at(uint32_t core, uint64_t line, uint32_t set, uint32_t way);

  HierarchyConfig m_cfg;
  unsigned m_line_shift = 6;
  bool m_any_present = false;
  bool m_fast_l1d = false;
  // Advances whenever anything other than an inline hit may change an array, a state, a prefetched flag or
  // a prefetcher (every access_slow, device_read, device_write): a core's inline-hit memo is valid only while
  // the epoch it was taken at lasts.
  uint64_t m_epoch = 0;
  bool m_inclusive = false;  // LLC present and inclusive: its core-valid bits are the snoop filter
  bool m_exclusive = false;  // LLC present and exclusive
  bool m_multi_socket = false;
  std::array<uint64_t, kNumLevels> m_lat{};  // latency of each level (0 if absent)
  std::vector<CoreCaches> m_cores;
  std::vector<SocketCaches> m_sockets;
  std::function<uint32_t(uint64_t)> m_home;
  std::array<std::vector<LevelStats>, kNumLevels> m_stats;
  std::array<std::array<uint64_t, kNumServed>, kMaxWalkLevel + 1> m_walk_hist{};
  bool m_drop_next_invalidation = false;
  bool m_no_prefetch = false;  // write_full_line in progress
  bool m_general_only = false;  // set_general_paths_only
  std::vector<uint64_t> m_pf_scratch;
};

}  // namespace vmsim::cache
