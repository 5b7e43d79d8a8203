// Cache hierarchy functional core: private levels, socket-level coherence, home directories, prefetch
// issue, DMA traffic and the coherence checker.
#include "models/cache/hierarchy.hpp"

#include <algorithm>
#include <set>
#include <sstream>
#include <stdexcept>

#include "common/error.hpp"
#include "common/types.hpp"

namespace vmsim::cache {

namespace {

constexpr size_t idx(Level l) { return static_cast<size_t>(l); }
constexpr size_t idx(AccessClass c) { return static_cast<size_t>(c); }
constexpr size_t idx(Served s) { return static_cast<size_t>(s); }
constexpr uint64_t bit(uint32_t i) { return uint64_t{1} << i; }
constexpr Level kPrivateLevels[] = {Level::L1i, Level::L1d, Level::L2};

// Iterates the set bits of mask in increasing order.
template <class F>
void for_each_bit(uint64_t mask, F&& f) {
  while (mask != 0) {
    const uint32_t i = static_cast<uint32_t>(__builtin_ctzll(mask));
    mask &= mask - 1;
    f(i);
  }
}

std::unique_ptr<CacheArray> make_array(const LevelConfig& c) {
  if (!c.present) return nullptr;
  return std::make_unique<CacheArray>(c.sets(), static_cast<uint32_t>(c.ways), c.replacement, c.seed);
}

std::unique_ptr<Prefetcher> make_pf(const LevelConfig& c) {
  if (!c.present) return nullptr;
  return make_prefetcher(c.prefetcher, c.prefetch_degree, c.line);
}

const HierarchyConfig& validated(const HierarchyConfig& cfg) {
  cfg.validate("cache");
  return cfg;
}

}  // namespace

const char* to_string(AccessClass c) {
  static const char* const names[] = {"load", "store", "fetch", "pte_read", "ad_write", "prefetch", "writeback"};
  return c < AccessClass::Count ? names[idx(c)] : "?";
}
const char* to_string(Served s) {
  static const char* const names[] = {"l1", "l2", "llc", "peer_cache", "remote_cache", "memory"};
  return s < Served::Count ? names[static_cast<size_t>(s)] : "?";
}
const char* to_string(Level l) {
  static const char* const names[] = {"l1i", "l1d", "l2", "llc"};
  return l < Level::Count ? names[idx(l)] : "?";
}

uint64_t LevelStats::total_accesses() const {
  uint64_t t = 0;
  for (uint64_t v : accesses) t += v;
  return t;
}
uint64_t LevelStats::total_hits() const {
  uint64_t t = 0;
  for (uint64_t v : hits) t += v;
  return t;
}
uint64_t LevelStats::total_misses() const {
  uint64_t t = 0;
  for (uint64_t v : misses) t += v;
  return t;
}

Hierarchy::Hierarchy(const HierarchyConfig& cfg, std::vector<uint32_t> core_socket,
                     std::function<uint32_t(uint64_t pa)> home_socket)
    : m_cfg(validated(cfg)), m_home(std::move(home_socket)) {
  if (core_socket.empty() || core_socket.size() > 64) {
    throw std::invalid_argument("cache hierarchy: needs 1..64 cores, got " + std::to_string(core_socket.size()));
  }
  const uint32_t sockets = *std::max_element(core_socket.begin(), core_socket.end()) + 1;
  if (sockets > 64) throw std::invalid_argument("cache hierarchy: at most 64 sockets");
  const uint64_t line = m_cfg.line_bytes();
  while ((uint64_t{1} << m_line_shift) < line) ++m_line_shift;
  while ((uint64_t{1} << m_line_shift) > line) --m_line_shift;
  m_any_present = m_cfg.any_present();
  m_inclusive = m_cfg.llc.present && m_cfg.llc.inclusion == Inclusion::Inclusive;
  m_exclusive = m_cfg.llc.present && m_cfg.llc.inclusion == Inclusion::Exclusive;
  m_multi_socket = sockets > 1;
  const LevelConfig* lc[] = {&m_cfg.l1i, &m_cfg.l1d, &m_cfg.l2, &m_cfg.llc};
  for (size_t l = 0; l < kNumLevels; ++l) m_lat[l] = lc[l]->present ? lc[l]->latency : 0;

  m_sockets.resize(sockets);
  for (uint32_t s = 0; s < sockets; ++s) {
    m_sockets[s].llc = make_array(m_cfg.llc);
    m_sockets[s].pf = make_pf(m_cfg.llc);
  }
  m_cores.resize(core_socket.size());
  for (size_t l = 0; l < 3; ++l) m_stats[l].resize(core_socket.size());
  m_stats[idx(Level::Llc)].resize(sockets);
  for (uint32_t c = 0; c < m_cores.size(); ++c) {
    CoreCaches& cc = m_cores[c];
    cc.socket = core_socket[c];
    for (size_t l = 0; l < 3; ++l) {
      cc.arr[l] = make_array(*lc[l]);
      cc.pf[l] = make_pf(*lc[l]);
    }
    cc.l1d = cc.arr[idx(Level::L1d)].get();
    cc.l1d_stats = &m_stats[idx(Level::L1d)][c];
    cc.l1d_stride = dynamic_cast<IpStridePrefetcher*>(cc.pf[idx(Level::L1d)].get());
    m_sockets[cc.socket].cores.push_back(c);
  }
  // The fast path must do what access() would: no prefetcher, or an ip_stride one it checks for quiet.
  m_fast_l1d = m_cfg.l1d.present && (m_cfg.l1d.prefetcher == Prefetch::None || m_cfg.l1d.prefetcher == Prefetch::IpStride);
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers.

LevelStats& Hierarchy::mut_stats(Level level, uint32_t index) {
  if (level >= Level::Count || index >= m_stats[idx(level)].size()) throw std::out_of_range("cache stats index");
  return m_stats[idx(level)][index];
}

const LevelStats& Hierarchy::stats(Level level, uint32_t index) const {
  if (level >= Level::Count || index >= m_stats[idx(level)].size()) throw std::out_of_range("cache stats index");
  return m_stats[idx(level)][index];
}

void Hierarchy::reset_stats() {
  for (auto& v : m_stats) std::fill(v.begin(), v.end(), LevelStats{});
  for (auto& row : m_walk_hist) row.fill(0);
}

const CacheArray* Hierarchy::array(Level level, uint32_t index) const {
  if (level == Level::Llc) return index < m_sockets.size() ? m_sockets[index].llc.get() : nullptr;
  return index < m_cores.size() && level < Level::Llc ? arr(index, level) : nullptr;
}

State Hierarchy::state(Level level, uint32_t index, uint64_t pa) const {
  const CacheArray* a = array(level, index);
  return a ? a->state(pa >> m_line_shift) : State::I;
}

void Hierarchy::charge(Ctx& ctx, Level level) {
  const uint64_t lat = m_lat[idx(level)];
  const uint64_t add = lat > ctx.prev_latency ? lat - ctx.prev_latency : 0;
  ctx.prev_latency = std::max(ctx.prev_latency, lat);
  if (ctx.prefetch) return;
  switch (level) {
    case Level::L1i:
    case Level::L1d: ctx.r.l1_cycles += add; break;
    case Level::L2: ctx.r.l2_cycles += add; break;
    default: ctx.r.llc_cycles += add; break;
  }
}

void Hierarchy::push_writeback(Ctx& ctx, uint64_t line) {
  if (ctx.r.n_writebacks >= AccessResult::kMaxWritebacks) {
    throw SimulationError("cache hierarchy: more than " + std::to_string(AccessResult::kMaxWritebacks) +
                          " writebacks in one access");
  }
  ctx.r.writebacks[ctx.r.n_writebacks++] = line << m_line_shift;
}

void Hierarchy::add_messages(Ctx& ctx, uint32_t n) {
  if (ctx.prefetch) {
    ctx.r.prefetch_remote_messages += n;
  } else {
    ctx.r.remote_messages += n;
  }
}

uint64_t Hierarchy::sf_mask(uint32_t s, uint64_t line) const {
  const SocketCaches& sc = m_sockets[s];
  if (m_inclusive) {
    const int w = sc.llc->find(line);
    return w < 0 ? 0 : sc.llc->sharers_at(sc.llc->slot(sc.llc->set_of(line), static_cast<uint32_t>(w)));
  }
  return sc.snoop_filter.get(line);
}

void Hierarchy::sf_set(uint32_t s, uint64_t line, uint64_t mask) {
  SocketCaches& sc = m_sockets[s];
  if (m_inclusive) {
    const int w = sc.llc->find(line);
    if (w < 0) {
      if (mask != 0) throw SimulationError("cache hierarchy: inclusive LLC lacks a line a core holds");
      return;
    }
    sc.llc->set_sharers_at(sc.llc->slot(sc.llc->set_of(line), static_cast<uint32_t>(w)), mask);
    return;
  }
  sc.snoop_filter.set(line, mask);
}

bool Hierarchy::core_holds(uint32_t core, uint64_t line, const CacheArray* ex0, const CacheArray* ex1) const {
  for (Level l : kPrivateLevels) {
    const CacheArray* a = arr(core, l);
    if (a != nullptr && a != ex0 && a != ex1 && a->find(line) >= 0) return true;
  }
  return false;
}

bool Hierarchy::socket_holds(uint32_t s, uint64_t line) const {
  const SocketCaches& sc = m_sockets[s];
  if (sc.llc && sc.llc->find(line) >= 0) return true;
  return sf_mask(s, line) != 0;
}

uint32_t Hierarchy::home_of(uint64_t line) const {
  const uint32_t h = m_home ? m_home(line << m_line_shift) : 0;
  if (h >= m_sockets.size()) {
    throw std::out_of_range("cache hierarchy: home_socket returned " + std::to_string(h) + " for " +
                            std::to_string(m_sockets.size()) + " sockets");
  }
  return h;
}

Hierarchy::DirEntry* Hierarchy::dir_find(uint64_t line) {
  auto& d = m_sockets[home_of(line)].directory;
  auto it = d.find(line);
  return it == d.end() ? nullptr : &it->second;
}

const Hierarchy::DirEntry* Hierarchy::dir_find(uint64_t line) const {
  const auto& d = m_sockets[home_of(line)].directory;
  auto it = d.find(line);
  return it == d.end() ? nullptr : &it->second;
}

bool Hierarchy::socket_owns(uint32_t s, uint64_t line) const {
  if (!m_multi_socket) return true;
  const DirEntry* e = dir_find(line);
  return e != nullptr && e->owner == static_cast<int32_t>(s);
}

void Hierarchy::dir_remove_socket(uint32_t s, uint64_t line) {
  if (!m_multi_socket) return;
  auto& d = m_sockets[home_of(line)].directory;
  auto it = d.find(line);
  if (it == d.end()) return;
  it->second.sockets &= ~bit(s);
  if (it->second.owner == static_cast<int32_t>(s)) it->second.owner = -1;
  if (it->second.sockets == 0) d.erase(it);
}

void Hierarchy::note_l1d_at(uint32_t core, uint64_t line, uint32_t set, uint32_t way) {
  CoreCaches& cc = m_cores[core];
  cc.memo_line = line;
  cc.memo_set = set;
  cc.memo_way = way;
  cc.memo_slot = cc.l1d->slot(set, way);
  cc.memo_epoch = ~uint64_t{0};
}

void Hierarchy::note_l1d(uint32_t core, uint64_t line) {
  CoreCaches& cc = m_cores[core];
  const int w = cc.l1d->find(line);
  if (w < 0) return;
  cc.memo_line = line;
  cc.memo_set = cc.l1d->set_of(line);
  cc.memo_way = static_cast<uint32_t>(w);
  cc.memo_slot = cc.l1d->slot(cc.memo_set, cc.memo_way);
  cc.memo_epoch = ~uint64_t{0};
}

bool Hierarchy::try_l1d_hit_checked(uint32_t core, bool store, uint64_t pa, uint64_t ip) {
  if (!m_fast_l1d) return false;
  CoreCaches& cc = m_cores[core];
  const uint64_t line = pa >> m_line_shift;
  if (line != cc.memo_line || !cc.l1d->slot_holds(cc.memo_slot, line)) {
    // Not the line used last: look the set up (a hit makes it the remembered line).
    const int w = cc.l1d->find(line);
    if (w < 0) return false;
    cc.memo_line = line;
    cc.memo_set = cc.l1d->set_of(line);
    cc.memo_way = static_cast<uint32_t>(w);
    cc.memo_slot = cc.l1d->slot(cc.memo_set, cc.memo_way);
    cc.memo_epoch = ~uint64_t{0};
  }
  if (cc.l1d->prefetched_at(cc.memo_slot)) return false;
  if (cc.l1d_stride != nullptr && !cc.l1d_stride->quiet(line, ip)) return false;
  const State st = cc.l1d->state_at(cc.memo_slot);
  if (store && !is_exclusive(st)) return false;
  if (store) cc.l1d->set_state_at(cc.memo_slot, State::M);
  cc.l1d->touch(cc.memo_set, cc.memo_way);
  const size_t c = store ? idx(AccessClass::Store) : idx(AccessClass::Load);
  ++cc.l1d_stats->accesses[c];
  ++cc.l1d_stats->hits[c];
  // Until the epoch moves, hits on this line by this ip need none of the above (try_l1d_hit).
  cc.memo_ip = ip;
  cc.memo_epoch = m_epoch;
  cc.memo_excl = store || is_exclusive(st);
  cc.memo_m = store || st == State::M;
  cc.memo_touched = true;
  return true;
}

void Hierarchy::memo_update(CoreCaches& cc, bool store) {
  if (store && !cc.memo_m) {
    cc.l1d->set_state_at(cc.memo_slot, State::M);
    cc.memo_m = true;
  }
  if (!cc.memo_touched) {
    cc.l1d->touch(cc.memo_set, cc.memo_way);
    cc.memo_touched = true;
  }
}

void Hierarchy::memo_prime(uint32_t core, uint64_t line, uint64_t ip) {
  CoreCaches& cc = m_cores[core];
  // note_l1d remembered the line if the access left it in the L1D.
  if (line != cc.memo_line || !cc.l1d->slot_holds(cc.memo_slot, line) || cc.l1d->prefetched_at(cc.memo_slot) ||
      (cc.l1d_stride != nullptr && !cc.l1d_stride->quiet(line, ip))) {
    return;
  }
  const State st = cc.l1d->state_at(cc.memo_slot);
  cc.memo_ip = ip;
  cc.memo_epoch = m_epoch;
  cc.memo_excl = is_exclusive(st);
  cc.memo_m = st == State::M;
  cc.memo_touched = cc.l1d->last_used() == cc.memo_slot;
}

State Hierarchy::invalidate_private(uint32_t core, Level level, uint64_t line, bool back_invalidation) {
  CacheArray* a = arr(core, level);
  const int w = a->find(line);
  if (w < 0) return State::I;
  if (!back_invalidation && m_drop_next_invalidation) {
    m_drop_next_invalidation = false;
    return State::I;  // the copy stays; the caller believes it gone
  }
  LevelStats& st = m_stats[idx(level)][core];
  const Victim v = a->invalidate_at(a->set_of(line), static_cast<uint32_t>(w));
  if (back_invalidation) {
    ++st.back_invalidations;
  } else {
    ++st.invalidations;
  }
  if (v.prefetched) ++st.prefetch_useless;
  return v.state;
}

// ---------------------------------------------------------------------------------------------------------
// Access.

AccessResult Hierarchy::access_slow(uint32_t core, AccessClass cls, uint64_t pa, uint64_t ip, unsigned walk_level) {
  if (cls >= AccessClass::Writeback) throw std::invalid_argument("cache hierarchy: access class writeback");
  if (core >= m_cores.size()) throw std::out_of_range("cache hierarchy: core " + std::to_string(core));
  ++m_epoch;
  AccessResult r;
  const uint64_t line = pa >> m_line_shift;
  r.line_pa = line << m_line_shift;
  if (!m_any_present) {
    r.served = Served::Memory;
    r.memory_read = true;
    if (cls == AccessClass::PteRead && walk_level <= kMaxWalkLevel) ++m_walk_hist[walk_level][idx(Served::Memory)];
    return r;
  }
  Ctx ctx{r};
  const CoreCaches& cc = m_cores[core];
  if ((cls == AccessClass::Load || cls == AccessClass::Store) && cc.l1d != nullptr && !m_general_only) {
    // The common slow access: a demand L1D hit (typically the first use of a line the L1D's prefetcher
    // brought in). The remembered line saves the lookup when the inline test just found it.
    int w = CacheArray::kMiss;
    if (line == cc.memo_line && cc.l1d->slot_holds(cc.memo_slot, line)) {
      w = static_cast<int>(cc.memo_way);
    } else {
      w = cc.l1d->find(line);
    }
    if (w >= 0) {
      const uint32_t set = cc.l1d->set_of(line);
      const bool store = cls == AccessClass::Store;
      if (!store || is_exclusive(cc.l1d->state_at(cc.l1d->slot(set, static_cast<uint32_t>(w))))) {
        l1d_demand_hit(core, store, line, ip, set, static_cast<uint32_t>(w), ctx);
        return r;
      }
    }
  }
  const bool excl = cls == AccessClass::Store || cls == AccessClass::AdWrite;
  const bool walker = cls == AccessClass::PteRead || cls == AccessClass::AdWrite;
  const bool demand = cls != AccessClass::Prefetch;

  // Entry level; absent levels fall through.
  Level entry = cls == AccessClass::Fetch ? Level::L1i : Level::L1d;
  if (walker) {
    switch (m_cfg.walk_entry) {
      case WalkEntry::L1d: entry = Level::L1d; break;
      case WalkEntry::L2: entry = Level::L2; break;
      case WalkEntry::Llc: entry = Level::Llc; break;
      case WalkEntry::Memory: entry = Level::Count; break;
    }
  }
  if (entry != Level::Count && entry != Level::Llc && cc.arr[idx(entry)] == nullptr) {
    entry = cc.arr[idx(Level::L2)] ? Level::L2 : Level::Llc;
  }
  if (entry == Level::Llc && !m_cfg.llc.present) entry = Level::Count;

  std::array<bool, kNumLevels> looked_up{};
  std::array<bool, kNumLevels> hit_at{};
  Served served;
  if (entry == Level::Count) {
    served = memory_entry(core, line, excl, ctx);
  } else if (entry == Level::Llc) {
    bool llc_hit = false;
    const Grant g = socket_request(core, cc.socket, line, excl ? Req::GetM : Req::GetS, cls, nullptr, nullptr,
                                   false, ctx, &llc_hit);
    served = g.served;
    looked_up[idx(Level::Llc)] = true;
    hit_at[idx(Level::Llc)] = llc_hit;
  } else {
    if (excl && walker && entry == Level::L2) {
      // The walker's write through the L2 takes the line out of the core's L1s (their data merges into it).
      for (Level l : {Level::L1i, Level::L1d}) {
        CacheArray* a = arr(core, l);
        if (a == nullptr) continue;
        const int w = a->find(line);
        if (w < 0) continue;
        const Victim v = a->invalidate_at(a->set_of(line), static_cast<uint32_t>(w));
        ++m_stats[idx(l)][core].back_invalidations;
        if (v.state == State::M) {
          CacheArray* l2 = arr(core, Level::L2);
          l2->set_state(line, State::M);
        }
        if (!core_holds(core, line)) sf_set(cc.socket, line, sf_mask(cc.socket, line) & ~bit(core));
      }
    }
    served = private_access(core, entry, cls, line, excl, ctx, looked_up, hit_at);
  }
  r.served = served;
  r.cycles = r.l1_cycles + r.l2_cycles + r.llc_cycles;
  if (cls == AccessClass::PteRead && walk_level <= kMaxWalkLevel) ++m_walk_hist[walk_level][idx(served)];

  // Prefetchers of the levels this demand access looked up.
  if (demand && !m_no_prefetch) {
    for (Level l : kPrivateLevels) {
      if (looked_up[idx(l)] && cc.pf[idx(l)]) issue_prefetches(core, l, line, ip, hit_at[idx(l)], ctx);
    }
    if (looked_up[idx(Level::Llc)] && m_sockets[cc.socket].pf) {
      issue_prefetches(core, Level::Llc, line, ip, hit_at[idx(Level::Llc)], ctx);
    }
  }
  if (m_fast_l1d && (cls == AccessClass::Load || cls == AccessClass::Store)) memo_prime(core, line, ip);
  return r;
}

bool Hierarchy::l1d_demand_hit_untimed(uint32_t core, bool store, uint64_t pa, uint64_t ip) {
  CoreCaches& cc = m_cores[core];
  if (cc.l1d == nullptr || m_general_only) return false;
  // access_slow's test for its L1D shortcut (try_l1d_hit_checked usually just remembered the line).
  const uint64_t line = pa >> m_line_shift;
  int w = CacheArray::kMiss;
  if (line == cc.memo_line && cc.l1d->slot_holds(cc.memo_slot, line)) {
    w = static_cast<int>(cc.memo_way);
  } else {
    w = cc.l1d->find(line);
  }
  if (w < 0) return false;
  const uint32_t set = cc.l1d->set_of(line);
  if (store && !is_exclusive(cc.l1d->state_at(cc.l1d->slot(set, static_cast<uint32_t>(w))))) return false;
  ++m_epoch;
  AccessResult r;  // the prefetches' write-backs and reads go here; the untimed caller ignores them
  r.line_pa = line << m_line_shift;
  Ctx ctx{r};
  l1d_demand_hit(core, store, line, ip, set, static_cast<uint32_t>(w), ctx);
  return true;
}

void Hierarchy::l1d_demand_hit(uint32_t core, bool store, uint64_t line, uint64_t ip, uint32_t set, uint32_t way,
                               Ctx& ctx) {
  // What private_access does for a hit at its first array (the L1D) and access_slow after it: the L1D's
  // counts, the replacement update, a prefetched line's first use, a store's M; the L1D's latency alone
  // (charge() from 0); then only the L1D's prefetcher runs (no other level was looked up) and the memo.
  CoreCaches& cc = m_cores[core];
  CacheArray* a = cc.l1d;
  LevelStats& st = *cc.l1d_stats;
  const size_t c = store ? idx(AccessClass::Store) : idx(AccessClass::Load);
  ++st.accesses[c];
  ++st.hits[c];
  const uint64_t lat = m_lat[idx(Level::L1d)];
  ctx.prev_latency = lat;
  ctx.r.l1_cycles = lat;
  a->touch(set, way);
  const size_t slot = a->slot(set, way);
  if (a->prefetched_at(slot)) {
    ++st.prefetch_useful;
    a->set_prefetched_at(slot, false);
    ctx.r.prefetch_used = Level::L1d;
  }
  if (store) a->set_state_at(slot, State::M);
  note_l1d_at(core, line, set, way);
  ctx.r.served = Served::L1;
  ctx.r.cycles = lat;
  if (!m_no_prefetch && cc.pf[idx(Level::L1d)]) issue_prefetches(core, Level::L1d, line, ip, true, ctx);
  if (m_fast_l1d) memo_prime(core, line, ip);
}

Served Hierarchy::private_access(uint32_t core, Level entry, AccessClass cls, uint64_t line, bool excl, Ctx& ctx,
                                 std::array<bool, kNumLevels>& looked_up, std::array<bool, kNumLevels>& hit_at) {
  const uint32_t s = m_cores[core].socket;
  const bool demand = cls != AccessClass::Prefetch;
  Level path[2];
  unsigned n = 0;
  if (entry != Level::L2 && arr(core, entry) != nullptr) path[n++] = entry;
  if (arr(core, Level::L2) != nullptr) path[n++] = Level::L2;

  int hit_index = -1;
  bool holds_shared = false;  // a path array holds an S copy (a write then needs an Upgrade)
  // The way each path array held the line in at the lookup (-1: absent). Nothing below puts the line into
  // this core's arrays before the fill loop, so an absent line is still absent there; a present one is
  // re-validated by its slot (coherence may have removed it).
  int way[2] = {-1, -1};
  for (unsigned i = 0; i < n; ++i) {
    const Level l = path[i];
    CacheArray* a = arr(core, l);
    LevelStats& st = m_stats[idx(l)][core];
    ++st.accesses[idx(cls)];
    charge(ctx, l);
    looked_up[idx(l)] = true;
    const int w = a->find(line);
    way[i] = w;
    if (w >= 0) {
      const uint32_t set = a->set_of(line);
      const size_t slot = a->slot(set, static_cast<uint32_t>(w));
      if (!excl || is_exclusive(a->state_at(slot))) {
        ++st.hits[idx(cls)];
        hit_at[idx(l)] = true;
        a->touch(set, static_cast<uint32_t>(w));
        if (demand && a->prefetched_at(slot)) {
          ++st.prefetch_useful;
          a->set_prefetched_at(slot, false);
          ctx.r.prefetch_used = l;
        }
        hit_index = static_cast<int>(i);
        break;
      }
      ++st.upgrades;
      holds_shared = true;
    }
    ++st.misses[idx(cls)];
  }

  Served served;
  State fill_state;      // state for the deepest array to fill (or to set)
  State upper_state;     // state for the arrays above it
  unsigned fill_count;   // path[0 .. fill_count) get filled or set
  if (hit_index == 0) {
    served = path[0] == Level::L2 ? Served::L2 : Served::L1;
    CacheArray* a = arr(core, path[0]);
    const uint32_t set = a->set_of(line);
    if (excl) a->set_state_at(a->slot(set, static_cast<uint32_t>(way[0])), State::M);
    if (path[0] == Level::L1d) note_l1d_at(core, line, set, static_cast<uint32_t>(way[0]));
    return served;
  }
  if (hit_index > 0) {
    served = Served::L2;
    const CacheArray* hit_array = arr(core, path[hit_index]);
    const State below =
        hit_array->state_at(hit_array->slot(hit_array->set_of(line), static_cast<uint32_t>(way[hit_index])));
    fill_count = static_cast<unsigned>(hit_index);
    upper_state = excl ? State::M : (below == State::S ? State::S : State::E);
    fill_state = upper_state;
  } else {
    CacheArray* ex0 = n > 0 ? arr(core, path[0]) : nullptr;
    CacheArray* ex1 = n > 1 ? arr(core, path[1]) : nullptr;
    const Req req = !excl ? Req::GetS : holds_shared ? Req::Upgrade : Req::GetM;
    bool llc_hit = false;
    const Grant g = socket_request(core, s, line, req, cls, ex0, ex1, n > 0, ctx, &llc_hit);
    if (m_sockets[s].llc) looked_up[idx(Level::Llc)] = true;
    hit_at[idx(Level::Llc)] = llc_hit;
    served = g.served;
    fill_count = n;
    if (excl) {
      upper_state = State::M;
      fill_state = n > 1 ? State::E : State::M;  // the entry array holds the write; the L2 below it ownership
    } else {
      fill_state = g.state;
      upper_state = g.state == State::M ? State::E : g.state;
      if (fill_state == State::M && n > 0 && path[n - 1] == Level::L1i) {
        // A dirty line leaving an exclusive LLC for an L1I with no L2 below: instruction caches hold no
        // dirty data, so it goes to memory and the L1I keeps it clean.
        push_writeback(ctx, line);
        fill_state = State::E;
      }
    }
  }
  // Fill from the deepest array up, so the L2 holds the line before an L1 does (inclusion).
  for (unsigned k = fill_count; k-- > 0;) {
    const Level l = path[k];
    CacheArray* a = arr(core, l);
    const State st = (k == fill_count - 1 && hit_index < 0) ? fill_state : upper_state;
    const size_t slot = way[k] >= 0 ? a->slot(a->set_of(line), static_cast<uint32_t>(way[k])) : 0;
    if (way[k] >= 0 && a->slot_holds(slot, line)) {
      a->set_state_at(slot, st);
    } else if (way[k] >= 0 && a->find(line) >= 0) {
      a->set_state(line, st);
    } else {
      const bool mark = ctx.prefetch && k == 0;
      const Victim v = a->insert(line, st, 0, mark);
      if (v.valid) private_victim(core, l, v, ctx);
    }
  }
  // An L2 hit on a write: the L2 keeps its state (E or M), the L1 gets M (set above).
  if (fill_count > 0 && path[0] == Level::L1d && !ctx.prefetch) note_l1d(core, line);
  return served;
}

Hierarchy::Grant Hierarchy::socket_request(uint32_t core, uint32_t s, uint64_t line, Req req, AccessClass cls,
                                           CacheArray* ex0, CacheArray* ex1, bool core_fills, Ctx& ctx,
                                           bool* llc_hit) {
  SocketCaches& sc = m_sockets[s];
  CacheArray* llc = sc.llc.get();
  const bool demand = cls != AccessClass::Prefetch;
  const bool excl = req != Req::GetS;
  State llc_state = State::I;
  if (llc != nullptr) {
    LevelStats& st = m_stats[idx(Level::Llc)][s];
    ++st.accesses[idx(cls)];
    charge(ctx, Level::Llc);
    if (!ctx.prefetch) ctx.r.llc_lookup = true;
    const int w = llc->find(line);
    if (w >= 0) {
      const uint32_t set = llc->set_of(line);
      const size_t slot = llc->slot(set, static_cast<uint32_t>(w));
      llc_state = llc->state_at(slot);
      const bool enough = !excl || socket_owns(s, line);
      if (enough) {
        ++st.hits[idx(cls)];
        *llc_hit = true;
        llc->touch(set, static_cast<uint32_t>(w));
        if (demand && llc->prefetched_at(slot)) {
          ++st.prefetch_useful;
          llc->set_prefetched_at(slot, false);
          ctx.r.prefetch_used = Level::Llc;
        }
      } else {
        ++st.misses[idx(cls)];
        ++st.upgrades;
      }
    } else {
      ++st.misses[idx(cls)];
    }
  }

  // 1. Snoop the socket's other copies.
  const uint64_t mask_before = sf_mask(s, line);
  const bool socket_had = llc_state != State::I || mask_before != 0;
  bool peer_excl = false;   // an E/M copy answered
  bool peer_shared = false; // an S copy exists elsewhere in the socket
  bool peer_dirty = false;  // an M copy answered a GetS (its data must go down)
  uint64_t mask_after = mask_before;
  for_each_bit(mask_before, [&](uint32_t h) {
    for (Level l : kPrivateLevels) {
      CacheArray* a = arr(h, l);
      if (a == nullptr || a == ex0 || a == ex1) continue;
      const int w = a->find(line);
      if (w < 0) continue;
      const size_t slot = a->slot(a->set_of(line), static_cast<uint32_t>(w));
      const State st = a->state_at(slot);
      if (is_exclusive(st)) {
        peer_excl = true;
      } else {
        peer_shared = true;
      }
      if (!excl) {
        const Transition t = mesi_step(st, Event::SnoopRead, true);
        if (t.actions & kWriteBack) {
          peer_dirty = true;
          ++m_stats[idx(l)][h].writebacks;
        }
        a->set_state_at(slot, t.next);
      } else {
        invalidate_private(h, l, line, false);
      }
    }
    if (excl && (h != core || !core_holds(h, line))) mask_after &= ~bit(h);
  });

  // 2. Other sockets, through the home directory.
  bool remote_supplier = false;
  if (m_multi_socket) {
    const uint32_t home = home_of(line);
    DirEntry& d = m_sockets[home].directory[line];
    uint32_t msgs = 0;
    if (!ctx.prefetch && (excl ? d.owner != static_cast<int32_t>(s) : !socket_had)) {
      ctx.r.directory_home = static_cast<int32_t>(home);
    }
    if (!excl) {
      if (!socket_had) {
        msgs += s != home;  // request
        if (d.owner >= 0 && d.owner != static_cast<int32_t>(s)) {
          const uint32_t o = static_cast<uint32_t>(d.owner);
          msgs += (home != o) + 1;  // forward, data to the requester
          remote_downgrade(o, line, ctx);
          remote_supplier = true;
          d.owner = -1;
        } else {
          msgs += s != home;  // data from the home's memory
          d.owner = d.sockets == 0 ? static_cast<int32_t>(s) : -1;
        }
        d.sockets |= bit(s);
      }
    } else if (d.owner != static_cast<int32_t>(s)) {
      msgs += s != home;
      const uint64_t others = d.sockets & ~bit(s);
      for_each_bit(others, [&](uint32_t o) {
        msgs += (home != o) + 1;  // invalidation or forward, then ack or data
        if (d.owner == static_cast<int32_t>(o)) remote_supplier = true;
        remote_invalidate(o, line);
      });
      if (!remote_supplier) msgs += s != home;  // the home's data or grant
      d.sockets = bit(s);
      d.owner = static_cast<int32_t>(s);
    }
    add_messages(ctx, msgs);
  }
  const bool owner_after = socket_owns(s, line);

  // 3. Where the data comes from.
  Grant g;
  LevelStats& lst = m_stats[idx(Level::Llc)][s];
  if (req == Req::Upgrade) {
    g.served = llc != nullptr ? Served::Llc : Served::Memory;
  } else if (peer_excl || (llc_state == State::I && peer_shared)) {
    g.served = Served::PeerCache;
    ++lst.c2c_transfers;
    if (!ctx.prefetch) ctx.r.llc_cycles += m_cfg.c2c_latency;
  } else if (llc_state != State::I) {
    g.served = Served::Llc;
  } else if (remote_supplier) {
    g.served = Served::RemoteCache;
    ++lst.remote_transfers;
  } else {
    g.served = Served::Memory;
  }
  if (g.served == Served::Memory) {
    if (ctx.prefetch) {
      if (ctx.r.n_prefetch_reads < AccessResult::kMaxPrefetchReads) {
        ctx.r.prefetch_reads[ctx.r.n_prefetch_reads++] = line << m_line_shift;
      }
    } else {
      ctx.r.memory_read = true;
    }
  }

  // 4. The LLC copy.
  bool llc_dirty_moved = false;
  bool peer_dirty_absorbed = false;
  if (llc != nullptr) {
    if (llc_state != State::I) {
      if (m_exclusive && core_fills) {
        llc_dirty_moved = llc_state == State::M;
        const Victim v = llc->invalidate_at(llc->set_of(line), static_cast<uint32_t>(llc->find(line)));
        if (v.prefetched && demand) {
          ++lst.prefetch_useful;
          ctx.r.prefetch_used = Level::Llc;
        }
      } else {
        State ns = llc_state;
        if (excl) ns = core_fills ? (llc_state == State::M ? State::M : State::E) : State::M;
        if (peer_dirty) {
          ns = State::M;
          peer_dirty_absorbed = true;
        }
        llc->set_state(line, ns);
      }
    } else {
      const bool no_private_left = (mask_after & ~(core_fills ? bit(core) : 0)) == 0;
      const bool allocate = m_inclusive ||
                            (!m_exclusive && (!core_fills || g.served == Served::Memory ||
                                              g.served == Served::RemoteCache)) ||
                            (m_exclusive && !core_fills && no_private_left && !peer_shared);
      if (allocate && req != Req::Upgrade) {
        State ns = owner_after ? State::E : State::S;
        if (excl && !core_fills) ns = State::M;
        if (peer_dirty) {
          ns = State::M;
          peer_dirty_absorbed = true;
        }
        const Victim v = llc->insert(line, ns, 0, false);
        if (v.valid) llc_victim(s, v, ctx);
      }
    }
  }
  if (peer_dirty && !peer_dirty_absorbed) push_writeback(ctx, line);

  // 5. Snoop filter and the requester's state.
  if (core_fills) mask_after |= bit(core);
  sf_set(s, line, mask_after);
  if (excl) {
    g.state = State::M;
  } else if (llc_dirty_moved) {
    g.state = State::M;
  } else {
    const bool others = (mask_after & ~bit(core)) != 0 || core_holds(core, line, ex0, ex1);
    g.state = owner_after && !others ? State::E : State::S;
  }
  if (!socket_holds(s, line)) dir_remove_socket(s, line);
  return g;
}

Served Hierarchy::memory_entry(uint32_t core, uint64_t line, bool excl, Ctx& ctx) {
  (void)core;
  if (excl) {
    bool dirty = false;
    purge_line(line, dirty);
    if (dirty) push_writeback(ctx, line);
  }
  ctx.r.memory_read = true;
  return Served::Memory;
}

// ---------------------------------------------------------------------------------------------------------
// Evictions.

void Hierarchy::private_victim(uint32_t core, Level level, const Victim& v, Ctx& ctx) {
  LevelStats& st = m_stats[idx(level)][core];
  ++st.evictions;
  if (v.prefetched) ++st.prefetch_useless;
  CacheArray* l2 = arr(core, Level::L2);
  if (level != Level::L2) {
    if (l2 != nullptr) {
      if (v.state == State::M) {
        ++st.writebacks;
        LevelStats& s2 = m_stats[idx(Level::L2)][core];
        ++s2.accesses[idx(AccessClass::Writeback)];
        if (l2->set_state(v.line, State::M)) {
          ++s2.hits[idx(AccessClass::Writeback)];
        } else {
          ++s2.misses[idx(AccessClass::Writeback)];
          throw SimulationError("cache hierarchy: L2 lacks a dirty L1 victim (inclusion broken)");
        }
      }
      return;
    }
    if (core_holds(core, v.line)) return;  // the sibling L1 still holds it (both S)
    core_evicted(core, v.line, v.state == State::M, is_exclusive(v.state), level, ctx);
    return;
  }
  bool dirty = v.state == State::M;
  bool exclusive = is_exclusive(v.state);
  for (Level l : {Level::L1i, Level::L1d}) {
    CacheArray* a = arr(core, l);
    if (a == nullptr) continue;
    const State ps = invalidate_private(core, l, v.line, true);
    if (ps == State::M) dirty = true;
    if (is_exclusive(ps)) exclusive = true;
  }
  core_evicted(core, v.line, dirty, exclusive, level, ctx);
}

void Hierarchy::core_evicted(uint32_t core, uint64_t line, bool dirty, bool was_exclusive, Level from, Ctx& ctx) {
  const uint32_t s = m_cores[core].socket;
  SocketCaches& sc = m_sockets[s];
  CacheArray* llc = sc.llc.get();
  const uint64_t mask = sf_mask(s, line) & ~bit(core);
  sf_set(s, line, mask);
  if (dirty) ++m_stats[idx(from)][core].writebacks;
  LevelStats& lst = m_stats[idx(Level::Llc)][s];
  if (m_exclusive) {
    const int w = llc->find(line);
    if (w >= 0) {
      if (dirty) llc->set_state(line, State::M);
    } else if (mask == 0) {
      ++lst.accesses[idx(AccessClass::Writeback)];
      ++lst.misses[idx(AccessClass::Writeback)];
      const State ns = dirty ? State::M : (was_exclusive || socket_owns(s, line)) ? State::E : State::S;
      const Victim v = llc->insert(line, socket_owns(s, line) ? ns : State::S, 0, false);
      if (dirty && !socket_owns(s, line)) push_writeback(ctx, line);
      if (v.valid) llc_victim(s, v, ctx);
    } else if (dirty) {
      push_writeback(ctx, line);
    }
  } else if (dirty) {
    if (llc != nullptr) {
      ++lst.accesses[idx(AccessClass::Writeback)];
      if (llc->set_state(line, State::M)) {
        ++lst.hits[idx(AccessClass::Writeback)];
      } else {
        ++lst.misses[idx(AccessClass::Writeback)];
        push_writeback(ctx, line);
      }
    } else {
      push_writeback(ctx, line);
    }
  }
  if (!socket_holds(s, line)) dir_remove_socket(s, line);
}

void Hierarchy::llc_victim(uint32_t s, const Victim& v, Ctx& ctx) {
  LevelStats& st = m_stats[idx(Level::Llc)][s];
  ++st.evictions;
  if (v.prefetched) ++st.prefetch_useless;
  bool dirty = v.state == State::M;
  if (m_inclusive && v.sharers != 0) {
    ++st.back_invalidations;
    for_each_bit(v.sharers, [&](uint32_t h) {
      for (Level l : kPrivateLevels) {
        if (arr(h, l) == nullptr) continue;
        if (invalidate_private(h, l, v.line, true) == State::M) dirty = true;
      }
    });
  }
  if (dirty) {
    ++st.writebacks;
    push_writeback(ctx, v.line);
  }
  if (!socket_holds(s, v.line)) dir_remove_socket(s, v.line);
}

// ---------------------------------------------------------------------------------------------------------
// Other sockets.

void Hierarchy::remote_downgrade(uint32_t o, uint64_t line, Ctx& ctx) {
  bool dirty = false;
  for_each_bit(sf_mask(o, line), [&](uint32_t h) {
    for (Level l : kPrivateLevels) {
      CacheArray* a = arr(h, l);
      if (a == nullptr) continue;
      const int w = a->find(line);
      if (w < 0) continue;
      const size_t slot = a->slot(a->set_of(line), static_cast<uint32_t>(w));
      const Transition t = mesi_step(a->state_at(slot), Event::SnoopRead, true);
      if (t.actions & kWriteBack) {
        dirty = true;
        ++m_stats[idx(l)][h].writebacks;
      }
      a->set_state_at(slot, t.next);
    }
  });
  CacheArray* llc = m_sockets[o].llc.get();
  if (llc != nullptr) {
    const State ls = llc->state(line);
    if (ls == State::M) {
      dirty = true;
      ++m_stats[idx(Level::Llc)][o].writebacks;
    }
    if (ls != State::I) llc->set_state(line, State::S);
  }
  if (dirty) push_writeback(ctx, line);
}

void Hierarchy::remote_invalidate(uint32_t o, uint64_t line) {
  for_each_bit(sf_mask(o, line), [&](uint32_t h) {
    for (Level l : kPrivateLevels) {
      if (arr(h, l) != nullptr) invalidate_private(h, l, line, false);
    }
  });
  CacheArray* llc = m_sockets[o].llc.get();
  if (llc != nullptr) {
    const int w = llc->find(line);
    if (w >= 0) {
      const Victim v = llc->invalidate_at(llc->set_of(line), static_cast<uint32_t>(w));
      LevelStats& st = m_stats[idx(Level::Llc)][o];
      ++st.invalidations;
      if (v.prefetched) ++st.prefetch_useless;
    }
  }
  if (!m_inclusive) m_sockets[o].snoop_filter.erase(line);
}

uint64_t Hierarchy::purge_line(uint64_t line, bool& dirty) {
  uint64_t removed = 0;
  for (uint32_t s = 0; s < m_sockets.size(); ++s) {
    SocketCaches& sc = m_sockets[s];
    for (uint32_t c : sc.cores) {
      for (Level l : kPrivateLevels) {
        if (arr(c, l) == nullptr) continue;
        const State st = invalidate_private(c, l, line, false);
        if (st != State::I) ++removed;
        if (st == State::M) dirty = true;
      }
    }
    if (sc.llc) {
      const int w = sc.llc->find(line);
      if (w >= 0) {
        const Victim v = sc.llc->invalidate_at(sc.llc->set_of(line), static_cast<uint32_t>(w));
        LevelStats& st = m_stats[idx(Level::Llc)][s];
        ++st.invalidations;
        if (v.prefetched) ++st.prefetch_useless;
        if (v.state == State::M) dirty = true;
        ++removed;
      }
    }
    if (!m_inclusive) sc.snoop_filter.erase(line);
  }
  if (m_multi_socket) m_sockets[home_of(line)].directory.erase(line);
  return removed;
}

uint64_t Hierarchy::device_write(uint64_t pa, uint64_t len) {
  if (len == 0 || !m_any_present) return 0;
  ++m_epoch;
  uint64_t removed = 0;
  const uint64_t first = pa >> m_line_shift;
  const uint64_t last = (pa + len - 1) >> m_line_shift;
  for (uint64_t line = first; line <= last; ++line) {
    bool dirty = false;
    removed += purge_line(line, dirty);
  }
  return removed;
}

uint64_t Hierarchy::device_read(uint64_t pa, uint64_t len, std::vector<uint64_t>* writebacks) {
  if (len == 0 || !m_any_present) return 0;
  ++m_epoch;
  uint64_t lines = 0;
  const uint64_t first = pa >> m_line_shift;
  const uint64_t last = (pa + len - 1) >> m_line_shift;
  for (uint64_t line = first; line <= last; ++line) {
    bool dirty = false;
    for (uint32_t s = 0; s < m_sockets.size(); ++s) {
      SocketCaches& sc = m_sockets[s];
      for (uint32_t c : sc.cores) {
        for (Level l : kPrivateLevels) {
          CacheArray* a = arr(c, l);
          if (a == nullptr) continue;
          const int w = a->find(line);
          if (w < 0) continue;
          const size_t slot = a->slot(a->set_of(line), static_cast<uint32_t>(w));
          const Transition t = mesi_step(a->state_at(slot), Event::DeviceRead, false);
          if (t.actions & kWriteBack) {
            dirty = true;
            ++m_stats[idx(l)][c].writebacks;
          }
          a->set_state_at(slot, t.next);
        }
      }
      if (sc.llc && sc.llc->state(line) == State::M) {
        dirty = true;
        ++m_stats[idx(Level::Llc)][s].writebacks;
        sc.llc->set_state(line, State::E);
      }
    }
    if (dirty) {
      ++lines;
      if (writebacks) writebacks->push_back(line << m_line_shift);
    }
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------------------
// Prefetch.

void Hierarchy::issue_prefetches(uint32_t core, Level level, uint64_t line, uint64_t ip, bool hit, Ctx& ctx) {
  const uint32_t s = m_cores[core].socket;
  Prefetcher* pf = level == Level::Llc ? m_sockets[s].pf.get() : m_cores[core].pf[idx(level)].get();
  m_pf_scratch.clear();
  if (level == Level::L1d && m_cores[core].l1d_stride != nullptr) {
    m_cores[core].l1d_stride->on_access(line, ip, hit, m_pf_scratch);  // the same object, called directly
  } else {
    pf->on_access(line, ip, hit, m_pf_scratch);
  }
  // The prefetch requests below never train a prefetcher, so m_pf_scratch stays as it is.
  Ctx pctx{ctx.r, true, 0};
  // Like hardware prefetchers, none crosses the 4 KiB page of the trigger: the next physical page belongs to
  // another mapping (or lies beyond memory).
  const uint64_t page_lines_shift = m_line_shift < kPageShift ? kPageShift - m_line_shift : 0;
  for (uint64_t p : m_pf_scratch) {
    if ((p >> page_lines_shift) != (line >> page_lines_shift)) continue;
    if (ctx.r.n_writebacks + 8 > AccessResult::kMaxWritebacks ||
        ctx.r.n_prefetch_reads >= AccessResult::kMaxPrefetchReads) {
      break;
    }
    if (level == Level::Llc) {
      prefetch_llc(s, p, pctx);
    } else {
      prefetch_private(core, level, p, pctx);
    }
  }
}

void Hierarchy::prefetch_private(uint32_t core, Level level, uint64_t line, Ctx& ctx) {
  CacheArray* a = arr(core, level);
  if (a->find(line) >= 0) return;
  LevelStats& st = m_stats[idx(level)][core];
  ++st.prefetch_issued;
  CacheArray* l2 = arr(core, Level::L2);
  if (level != Level::L2 && l2 != nullptr && !m_general_only) {
    const int w2 = l2->find(line);
    if (w2 >= 0) {
      // An L1 prefetch the L2 serves, as private_access does it: a miss in the L1 (known above), a hit in
      // the L2 (its replacement updated; a prefetch is no demand use of a prefetched L2 copy), the L1 filled
      // S or E after the L2's state and marked prefetched, its victim handled. A prefetch's latency is
      // charged to nothing.
      ++st.accesses[idx(AccessClass::Prefetch)];
      ++st.misses[idx(AccessClass::Prefetch)];
      LevelStats& s2 = m_stats[idx(Level::L2)][core];
      ++s2.accesses[idx(AccessClass::Prefetch)];
      ++s2.hits[idx(AccessClass::Prefetch)];
      const uint32_t set2 = l2->set_of(line);
      const State below = l2->state_at(l2->slot(set2, static_cast<uint32_t>(w2)));
      l2->touch(set2, static_cast<uint32_t>(w2));
      const Victim v = a->insert_absent(line, below == State::S ? State::S : State::E, 0, true);
      if (v.valid) private_victim(core, level, v, ctx);
      return;
    }
  }
  std::array<bool, kNumLevels> looked_up{};
  std::array<bool, kNumLevels> hit_at{};
  ctx.prev_latency = 0;
  private_access(core, level, AccessClass::Prefetch, line, false, ctx, looked_up, hit_at);
  // private_access marks the fill at path[0]; for an L2 prefetch path[0] is the L2 itself.
}

void Hierarchy::prefetch_llc(uint32_t s, uint64_t line, Ctx& ctx) {
  CacheArray* llc = m_sockets[s].llc.get();
  if (socket_holds(s, line)) return;
  if (m_multi_socket) {
    const DirEntry* e = dir_find(line);
    if (e != nullptr && e->owner >= 0 && e->owner != static_cast<int32_t>(s)) return;
  }
  if (ctx.r.n_prefetch_reads >= AccessResult::kMaxPrefetchReads) return;
  LevelStats& st = m_stats[idx(Level::Llc)][s];
  ++st.prefetch_issued;
  ++st.accesses[idx(AccessClass::Prefetch)];
  ++st.misses[idx(AccessClass::Prefetch)];
  bool owner = true;
  if (m_multi_socket) {
    const uint32_t home = home_of(line);
    DirEntry& d = m_sockets[home].directory[line];
    owner = d.sockets == 0;
    d.owner = owner ? static_cast<int32_t>(s) : -1;
    d.sockets |= bit(s);
    add_messages(ctx, s != home ? 2 : 0);
  }
  ctx.r.prefetch_reads[ctx.r.n_prefetch_reads++] = line << m_line_shift;
  const Victim v = llc->insert(line, owner ? State::E : State::S, 0, true);
  if (v.valid) llc_victim(s, v, ctx);
}

// ---------------------------------------------------------------------------------------------------------
// Checker.

std::string Hierarchy::check_line(uint64_t pa) const {
  const uint64_t line = pa >> m_line_shift;
  std::ostringstream err;
  err << std::hex << "line 0x" << (line << m_line_shift) << std::dec << ": ";
  struct Agent {
    uint32_t core;
    Level level;
    State state;
  };
  std::vector<Agent> agents;
  std::vector<uint64_t> socket_holds_mask(m_sockets.size(), 0);
  for (uint32_t s = 0; s < m_sockets.size(); ++s) {
    const SocketCaches& sc = m_sockets[s];
    const State ls = sc.llc ? sc.llc->state(line) : State::I;
    const uint64_t mask = sf_mask(s, line);
    bool any_private = false;
    bool private_excl = false;
    for (uint32_t c : sc.cores) {
      State st[3];
      for (Level l : kPrivateLevels) {
        const CacheArray* a = arr(c, l);
        st[idx(l)] = a ? a->state(line) : State::I;
      }
      const bool holds = st[0] != State::I || st[1] != State::I || st[2] != State::I;
      if (st[idx(Level::L1i)] == State::M) {
        err << "core " << c << " l1i holds it in M";
        return err.str();
      }
      if (arr(c, Level::L2) != nullptr) {
        const State s2 = st[idx(Level::L2)];
        for (Level l : {Level::L1i, Level::L1d}) {
          const State s1 = st[idx(l)];
          if (s1 != State::I && s2 == State::I) {
            err << "core " << c << " " << to_string(l) << " holds it in " << to_string(s1)
                << " but l2 does not (l2 inclusion)";
            return err.str();
          }
          if (is_exclusive(s1) && !is_exclusive(s2)) {
            err << "core " << c << " " << to_string(l) << " in " << to_string(s1) << " over l2 in " << to_string(s2);
            return err.str();
          }
        }
        if (s2 != State::I) agents.push_back({c, Level::L2, s2});
      } else {
        for (Level l : {Level::L1i, Level::L1d}) {
          if (st[idx(l)] != State::I) agents.push_back({c, l, st[idx(l)]});
        }
      }
      if (holds) any_private = true;
      for (Level l : kPrivateLevels) {
        if (is_exclusive(st[idx(l)])) private_excl = true;
      }
      const bool bitset = (mask >> c) & 1u;
      if (holds != bitset) {
        err << "core " << c << " (socket " << s << ") " << (holds ? "holds it" : "does not hold it")
            << " (l1i " << to_string(st[0]) << ", l1d " << to_string(st[1]) << ", l2 " << to_string(st[2])
            << ") but its snoop-filter bit is " << (bitset ? "set" : "clear");
        return err.str();
      }
      if (holds && m_inclusive && ls == State::I) {
        err << "core " << c << " holds it (l1i " << to_string(st[0]) << ", l1d " << to_string(st[1]) << ", l2 "
            << to_string(st[2]) << ") but socket " << s << "'s inclusive llc does not";
        return err.str();
      }
    }
    uint64_t socket_cores = 0;
    for (uint32_t c : sc.cores) socket_cores |= bit(c);
    if ((mask & ~socket_cores) != 0) {
      err << "socket " << s << " snoop filter names cores of another socket: mask 0x" << std::hex << mask;
      return err.str();
    }
    if (m_exclusive && ls != State::I && any_private) {
      err << "socket " << s << " exclusive llc holds it in " << to_string(ls) << " while a private cache does too";
      return err.str();
    }
    const bool owns = socket_owns(s, line);
    if (ls != State::I && is_exclusive(ls) != owns) {
      err << "socket " << s << " llc in " << to_string(ls) << " but the socket " << (owns ? "owns" : "does not own")
          << " the line";
      return err.str();
    }
    if (private_excl && !owns) {
      err << "socket " << s << " has a private E/M copy but does not own the line";
      return err.str();
    }
    if (ls == State::S && private_excl) {
      err << "socket " << s << " llc in S under a private E/M copy";
      return err.str();
    }
    if (ls != State::I || any_private) socket_holds_mask[s] = 1;
  }
  // Single writer / multiple readers across agents.
  const Agent* writer = nullptr;
  for (const Agent& a : agents) {
    if (!is_exclusive(a.state)) continue;
    if (writer != nullptr) {
      err << "two writers: core " << writer->core << " " << to_string(writer->level) << " in "
          << to_string(writer->state) << " and core " << a.core << " " << to_string(a.level) << " in "
          << to_string(a.state);
      return err.str();
    }
    writer = &a;
  }
  if (writer != nullptr) {
    for (const Agent& a : agents) {
      if (&a == writer) continue;
      err << "core " << writer->core << " " << to_string(writer->level) << " in " << to_string(writer->state)
          << " while core " << a.core << " " << to_string(a.level) << " holds it in " << to_string(a.state);
      return err.str();
    }
  }
  if (m_multi_socket) {
    const DirEntry* d = dir_find(line);
    const uint64_t dsockets = d ? d->sockets : 0;
    for (uint32_t s = 0; s < m_sockets.size(); ++s) {
      const bool listed = (dsockets >> s) & 1u;
      if (listed != (socket_holds_mask[s] != 0)) {
        err << "socket " << s << (socket_holds_mask[s] ? " holds it" : " holds nothing") << " but the directory "
            << (listed ? "lists" : "does not list") << " it";
        return err.str();
      }
    }
    if (d != nullptr && d->owner >= 0 && d->sockets != bit(static_cast<uint32_t>(d->owner))) {
      err << "directory owner socket " << d->owner << " is not alone: sockets 0x" << std::hex << d->sockets;
      return err.str();
    }
  }
  return "";
}

std::string Hierarchy::check_all() const {
  std::set<uint64_t> lines;
  auto add = [&](uint64_t line, State, uint64_t) { lines.insert(line); };
  for (uint32_t c = 0; c < m_cores.size(); ++c) {
    for (Level l : kPrivateLevels) {
      if (const CacheArray* a = arr(c, l)) a->for_each_valid(add);
    }
  }
  for (const SocketCaches& sc : m_sockets) {
    if (sc.llc) sc.llc->for_each_valid(add);
    sc.snoop_filter.for_each([&](uint64_t l, uint64_t) { lines.insert(l); });
    for (const auto& kv : sc.directory) lines.insert(kv.first);
  }
  for (uint64_t line : lines) {
    std::string e = check_line(line << m_line_shift);
    if (!e.empty()) return e;
  }
  return "";
}

}  // namespace vmsim::cache
