// TLB functional core: TLB arrays with PCIDs, several page sizes and exact replacement; the ITLB/DTLB/STLB
// hierarchy of a core.
#include "models/mmu/tlb_array.hpp"

#include <stdexcept>

#include "common/error.hpp"

namespace vmsim::mmu {

namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

bool is_pow2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

const TlbArrayConfig& validated(const TlbArrayConfig& cfg, const std::string& path) {
  cfg.validate(path);
  return cfg;
}

std::string elem_path(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

// Throws InputError for an empty level, an invalid array or a page size held by two arrays of the level.
void validate_level(const std::vector<TlbArrayConfig>& arrays, const std::string& path) {
  if (arrays.empty()) throw InputError(path + ": bad value '[]' (a level needs at least one array)");
  PageSizeMask seen = 0;
  for (size_t i = 0; i < arrays.size(); ++i) {
    const std::string p = elem_path(path, i);
    arrays[i].validate(p);
    PageSizeMask m = 0;
    parse_page_sizes(arrays[i].page_sizes, m);
    config::require((m & seen) == 0, p, "page_sizes", arrays[i].page_sizes,
                    "size " + format_page_sizes(m & seen) + " already held by another array of this level");
    seen |= m;
  }
}

}  // namespace

bool parse_page_sizes(const std::string& text, PageSizeMask& mask) {
  PageSizeMask m = 0;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string token = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    PageSizeMask bit = 0;
    for (PageSize s : kAllPageSizes) {
      if (token == to_string(s)) bit = mask_of(s);
    }
    if (bit == 0 || (m & bit) != 0) return false;
    m |= bit;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  mask = m;
  return true;
}

std::string format_page_sizes(PageSizeMask mask) {
  std::string s;
  for (PageSize p : kAllPageSizes) {
    if (mask & mask_of(p)) {
      if (!s.empty()) s += ",";
      s += to_string(p);
    }
  }
  return s;
}

void TlbArrayConfig::validate(const std::string& path) const {
  using config::require;
  require(entries > 0, path, "entries", std::to_string(entries), "must be > 0");
  require(entries <= (uint64_t{1} << 20), path, "entries", std::to_string(entries), "must be <= 1048576");
  require(ways > 0, path, "ways", std::to_string(ways), "must be > 0");
  require(ways <= entries && entries % ways == 0, path, "ways", std::to_string(ways),
          "must divide entries (" + std::to_string(entries) + ")");
  if (replacement == ReplacementPolicy::Plru) {
    require(is_pow2(ways) && ways <= 64, path, "ways", std::to_string(ways),
            "replacement plru needs a power of two <= 64");
  }
  PageSizeMask m = 0;
  require(parse_page_sizes(page_sizes, m), path, "page_sizes", page_sizes,
          "expected 4K, 2M, 1G or a comma-separated combination without repeats, e.g. 4K,2M");
  require(seed != 0, path, "seed", std::to_string(seed), "must be nonzero (xorshift64 state)");
  if (impl == TlbImpl::Rtl) validate_rtl(path);
}

void TlbArrayConfig::validate_rtl(const std::string& path) const {
  using config::require;
  require(replacement == ReplacementPolicy::Lru || replacement == ReplacementPolicy::Plru ||
              replacement == ReplacementPolicy::Fifo,
          path, "replacement", config::enum_name(replacement), "impl rtl implements lru, plru and fifo");
  require(hit_latency == 1, path, "hit_latency", std::to_string(hit_latency), "impl rtl answers a lookup in 1 cycle");
  require(is_pow2(entries / ways), path, "entries", std::to_string(entries),
          "impl rtl needs entries / ways (the sets) to be a power of two");
}

TlbArrayEntry TlbArrayEntry::make(VirtAddr va, PageSize size, Pfn frame_of_va, Pcid pcid) {
  const uint64_t vpn4k = va.value() >> kPageShift;
  const uint64_t base = vpn4k & ~(page_frames(size) - 1);
  TlbArrayEntry e;
  e.vpn = Vpn{base};
  e.pfn = Pfn{frame_of_va.value() - (vpn4k - base)};
  e.size = size;
  e.leaf_size = size;
  e.pcid = pcid;
  e.valid = true;
  return e;
}

bool TlbArrayEntry::operator==(const TlbArrayEntry& o) const {
  return vpn == o.vpn && pfn == o.pfn && size == o.size && leaf_size == o.leaf_size && pcid == o.pcid &&
         vpid == o.vpid && valid == o.valid && global == o.global && writable == o.writable && user == o.user &&
         no_execute == o.no_execute && dirty == o.dirty;
}

TlbArrayEntry splinter(const TlbArrayEntry& e, VirtAddr va, PageSize to) {
  if (size_index(to) > size_index(e.size) || !e.covers(va)) {
    throw std::invalid_argument("splinter: target size must not exceed the entry's and va must be in the entry");
  }
  TlbArrayEntry r = e;
  const uint64_t base = (va.value() >> kPageShift) & ~(page_frames(to) - 1);
  r.size = to;
  r.pfn = Pfn{e.pfn.value() + (base - e.vpn.value())};
  r.vpn = Vpn{base};
  return r;
}

// ---------------------------------------------------------------------------------------------------

TlbArray::TlbArray(const TlbArrayConfig& cfg, const std::string& path)
    : m_sets(static_cast<uint32_t>(validated(cfg, path).entries / cfg.ways)),
      m_ways(static_cast<uint32_t>(cfg.ways)),
      m_set_mask(m_sets - 1),
      m_sets_pow2(is_pow2(m_sets)),
      m_hit_latency(cfg.hit_latency),
      m_tags(cfg.entries),
      m_entries(cfg.entries),
      m_repl(cfg.replacement, m_sets, m_ways, cfg.seed) {
  parse_page_sizes(cfg.page_sizes, m_mask);
  for (PageSize s : kAllPageSizes) {
    if (holds(s)) {
      m_sizes[m_num_sizes] = s;
      m_shifts[m_num_sizes] = page_shift(s);
      m_key_bias[m_num_sizes] = make_key(0, s);
      ++m_num_sizes;
    }
  }
}

void TlbArray::install(size_t idx, const TlbArrayEntry& e) {
  TlbArrayEntry& slot = m_entries[idx];
  if (slot.valid && slot.leaf_size != slot.size) --m_splinters;
  slot = e;
  slot.valid = true;
  if (slot.leaf_size != slot.size) ++m_splinters;
  WayTag& t = m_tags[idx];
  t.key = key_of(e);
  t.pcid = e.pcid;
  t.global = e.global;
}

void TlbArray::remove(size_t idx, TlbRemoved& removed) {
  TlbArrayEntry& slot = m_entries[idx];
  if (!slot.valid) return;
  if (slot.leaf_size != slot.size) --m_splinters;
  ++removed.by_size[size_index(slot.size)];
  slot.valid = false;
  m_tags[idx] = WayTag{};
}

TlbFillResult TlbArray::fill(const TlbArrayEntry& e) {
  if (size_index(e.size) >= kNumPageSizes || size_index(e.leaf_size) >= kNumPageSizes || !holds(e.size)) {
    throw std::invalid_argument("TlbArray::fill: page size not held by this array");
  }
  if (size_index(e.leaf_size) < size_index(e.size)) {
    throw std::invalid_argument("TlbArray::fill: leaf_size smaller than size");
  }
  const uint64_t align = page_frames(e.size) - 1;
  if ((e.vpn.value() & align) != 0 || (e.pfn.value() & align) != 0) {
    throw std::invalid_argument("TlbArray::fill: vpn and pfn must be aligned to the entry's size");
  }
  if (e.pcid > kMaxPcid) throw std::invalid_argument("TlbArray::fill: pcid above 0xFFF");
  if (m_backend) return m_backend->fill(e);

  const uint64_t tag = e.vpn.value() >> (9 * size_index(e.size));
  TlbFillResult r;
  r.set = set_of_tag(tag);
  const uint64_t key = key_of(e);
  const size_t base = static_cast<size_t>(r.set) * m_ways;

  // (1) The same page (for this PCID, or global on either side): overwrite in place, drop duplicates.
  int64_t slot = -1;
  TlbRemoved dropped;
  for (uint32_t w = 0; w < m_ways; ++w) {
    const WayTag& t = m_tags[base + w];
    if (t.key == key && (t.global || e.global || t.pcid == e.pcid)) {
      if (slot < 0) {
        slot = w;
      } else {
        remove(base + w, dropped);
      }
    }
  }
  r.dropped = static_cast<uint32_t>(dropped.total());
  if (slot >= 0) {
    r.replaced = true;
  } else {
    // (2) The lowest invalid way.
    for (uint32_t w = 0; w < m_ways && slot < 0; ++w) {
      if (m_tags[base + w].key == 0) slot = w;
    }
    // (3) The policy's victim.
    if (slot < 0) {
      slot = m_repl.choose_victim(r.set);
      r.evicted = true;
      r.victim = m_entries[base + static_cast<size_t>(slot)];
    }
  }
  r.way = static_cast<uint32_t>(slot);
  install(base + r.way, e);
  m_repl.on_fill(r.set, r.way);
  return r;
}

template <class Pred>
TlbRemoved TlbArray::remove_if_leaf_covers(VirtAddr va, Pred pred) {
  TlbRemoved removed;
  auto visit = [&](size_t idx) {
    const TlbArrayEntry& e = m_entries[idx];
    if (e.valid && e.leaf_covers(va) && pred(e)) remove(idx, removed);
  };
  if (m_splinters == 0) {
    // Every entry sits in the set of its own size's VPN: probing va's set at each held size finds all.
    for (unsigned i = 0; i < m_num_sizes; ++i) {
      const size_t base = static_cast<size_t>(set_of_tag(va.value() >> m_shifts[i])) * m_ways;
      for (uint32_t w = 0; w < m_ways; ++w) visit(base + w);
    }
  } else {
    // Splinters of one leaf page are spread over many sets.
    for (size_t idx = 0; idx < m_entries.size(); ++idx) visit(idx);
  }
  return removed;
}

template <class Pred>
TlbRemoved TlbArray::remove_all_if(Pred pred) {
  TlbRemoved removed;
  for (size_t idx = 0; idx < m_entries.size(); ++idx) {
    if (m_entries[idx].valid && pred(m_entries[idx])) remove(idx, removed);
  }
  return removed;
}

TlbRemoved TlbArray::invlpg(VirtAddr va, Pcid pcid) {
  if (m_backend) return m_backend->invlpg(va, pcid);
  const Vpid v = m_vpid;
  return remove_if_leaf_covers(va,
                               [pcid, v](const TlbArrayEntry& e) { return e.vpid == v && (e.global || e.pcid == pcid); });
}

TlbRemoved TlbArray::invpcid(InvpcidType type, Pcid pcid, VirtAddr va) {
  if (m_backend) return m_backend->invpcid(type, pcid, va);
  return invpcid_in(m_vpid, type, pcid, va);
}

TlbRemoved TlbArray::invpcid_in(Vpid v, InvpcidType type, Pcid pcid, VirtAddr va) {
  if (m_backend) return v == 0 ? m_backend->invpcid(type, pcid, va) : TlbRemoved{};
  switch (type) {
    case InvpcidType::IndividualAddress:
      return remove_if_leaf_covers(
          va, [pcid, v](const TlbArrayEntry& e) { return e.vpid == v && !e.global && e.pcid == pcid; });
    case InvpcidType::SingleContext:
      return remove_all_if([pcid, v](const TlbArrayEntry& e) { return e.vpid == v && !e.global && e.pcid == pcid; });
    case InvpcidType::AllContextsInclGlobal:
      return remove_all_if([v](const TlbArrayEntry& e) { return e.vpid == v; });
    case InvpcidType::AllContextsExclGlobal:
      return remove_all_if([v](const TlbArrayEntry& e) { return e.vpid == v && !e.global; });
  }
  throw std::invalid_argument("TlbArray::invpcid: unknown type");
}

TlbRemoved TlbArray::invvpid(InvvpidType type, Vpid vpid, VirtAddr va) {
  if (m_backend) throw std::logic_error("TlbArray::invvpid: the RTL TLB has no VPID tags");
  switch (type) {
    case InvvpidType::IndividualAddress:
      return remove_if_leaf_covers(va, [vpid](const TlbArrayEntry& e) { return e.vpid == vpid; });
    case InvvpidType::SingleContext:
      return remove_all_if([vpid](const TlbArrayEntry& e) { return e.vpid == vpid; });
    case InvvpidType::AllContexts:
      return remove_all_if([](const TlbArrayEntry& e) { return e.vpid != 0; });
    case InvvpidType::SingleContextRetainGlobals:
      return remove_all_if([vpid](const TlbArrayEntry& e) { return e.vpid == vpid && !e.global; });
  }
  throw std::invalid_argument("TlbArray::invvpid: unknown type");
}

TlbRemoved TlbArray::invept() {
  if (m_backend) throw std::logic_error("TlbArray::invept: the RTL TLB has no VPID tags");
  return remove_all_if([](const TlbArrayEntry& e) { return e.vpid != 0; });
}

uint32_t TlbArray::next_victim(uint32_t set) const {
  const size_t base = static_cast<size_t>(set) * m_ways;
  for (uint32_t w = 0; w < m_ways; ++w) {
    if (m_tags[base + w].key == 0) return w;
  }
  return m_repl.peek_victim(set);
}

uint64_t TlbArray::valid_entries() const {
  uint64_t n = 0;
  for (const WayTag& t : m_tags) n += t.key != 0 ? 1 : 0;
  return n;
}

// ---------------------------------------------------------------------------------------------------

TlbArrayConfig TlbHierarchyConfig::default_l1() { return TlbArrayConfig{}; }

TlbArrayConfig TlbHierarchyConfig::default_stlb() {
  TlbArrayConfig c;
  c.entries = 1024;
  c.ways = 8;
  c.hit_latency = 7;
  return c;
}

void TlbHierarchyConfig::validate(const std::string& path) const {
  const std::string prefix = path.empty() ? "" : path + ".";
  for (const auto* level : {&itlb, &stlb}) {
    const std::string name = prefix + (level == &itlb ? "itlb" : "stlb");
    for (size_t i = 0; i < level->size(); ++i) {
      config::require((*level)[i].impl == TlbImpl::Model, elem_path(name, i), "impl", "rtl",
                      "only the L1 data TLB (dtlb) can be impl rtl");
    }
  }
  validate_level(itlb, prefix + "itlb");
  validate_level(dtlb, prefix + "dtlb");
  validate_level(stlb, prefix + "stlb");
}

TlbLevel::TlbLevel(const std::vector<TlbArrayConfig>& arrays, const std::string& path) {
  validate_level(arrays, path);
  m_array_of_size.fill(-1);
  m_arrays.reserve(arrays.size());
  for (size_t i = 0; i < arrays.size(); ++i) {
    m_arrays.emplace_back(arrays[i], elem_path(path, i));
    for (PageSize s : kAllPageSizes) {
      if (m_arrays.back().holds(s)) m_array_of_size[size_index(s)] = static_cast<int>(i);
    }
    if (arrays[i].hit_latency > m_miss_latency) m_miss_latency = arrays[i].hit_latency;
  }
}

std::optional<PageSize> TlbLevel::stored_size(PageSize s) const {
  for (unsigned i = size_index(s) + 1; i-- > 0;) {
    if (m_array_of_size[i] >= 0) return static_cast<PageSize>(i);
  }
  return std::nullopt;
}

TlbLevelFill TlbLevel::fill(VirtAddr va, const TlbArrayEntry& e) {
  if (!e.covers(va)) throw std::invalid_argument("TlbLevel::fill: va outside the entry");
  m_memo.page = kNoPage;
  TlbLevelFill f;
  std::optional<PageSize> target = stored_size(e.size);
  if (!target) return f;
  f.filled = true;
  f.array = static_cast<uint32_t>(m_array_of_size[size_index(*target)]);
  f.stored = *target == e.size ? e : splinter(e, va, *target);
  f.stored.valid = true;
  f.result = m_arrays[f.array].fill(f.stored);
  ++m_counters.fills;
  ++m_counters.by_size[size_index(*target)].fills;
  if (f.result.evicted) {
    ++m_counters.evictions;
    ++m_counters.by_size[size_index(f.result.victim.size)].evictions;
  }
  return f;
}

TlbLevelHit TlbLevel::search(VirtAddr va, Pcid pcid) {
  for (size_t i = 0; i < m_arrays.size(); ++i) {
    TlbHit h = m_arrays[i].lookup(va, pcid);
    if (h) {
      ++m_counters.hits;
      const unsigned size = size_index(h.entry->size);
      ++m_counters.by_size[size].hits;
      TlbLevelHit r{h, static_cast<uint32_t>(i), m_arrays[i].hit_latency()};
      if (!has_backend()) m_memo = Memo{va.value() >> kPageShift, pcid, size, r};
      return r;
    }
  }
  m_memo.page = kNoPage;
  ++m_counters.misses;
  return TlbLevelHit{TlbHit{}, 0, m_miss_latency};
}

TlbRemoved TlbLevel::count_removed(const TlbRemoved& r) {
  for (unsigned i = 0; i < kNumPageSizes; ++i) m_counters.by_size[i].invalidations += r.by_size[i];
  m_counters.invalidations += r.total();
  return r;
}

TlbRemoved TlbLevel::invlpg(VirtAddr va, Pcid pcid) {
  m_memo.page = kNoPage;
  TlbRemoved r;
  for (TlbArray& a : m_arrays) r += a.invlpg(va, pcid);
  return count_removed(r);
}

TlbRemoved TlbLevel::invpcid(InvpcidType type, Pcid pcid, VirtAddr va) {
  m_memo.page = kNoPage;
  TlbRemoved r;
  for (TlbArray& a : m_arrays) r += a.invpcid(type, pcid, va);
  return count_removed(r);
}

TlbRemoved TlbLevel::invpcid_in(Vpid vpid, InvpcidType type, Pcid pcid, VirtAddr va) {
  m_memo.page = kNoPage;
  TlbRemoved r;
  for (TlbArray& a : m_arrays) r += a.invpcid_in(vpid, type, pcid, va);
  return count_removed(r);
}

void TlbLevel::set_vpid(Vpid vpid) {
  m_memo.page = kNoPage;
  for (TlbArray& a : m_arrays) a.set_vpid(vpid);
}

TlbRemoved TlbLevel::invvpid(InvvpidType type, Vpid vpid, VirtAddr va) {
  m_memo.page = kNoPage;
  TlbRemoved r;
  for (TlbArray& a : m_arrays) r += a.invvpid(type, vpid, va);
  return count_removed(r);
}

TlbRemoved TlbLevel::invept() {
  m_memo.page = kNoPage;
  TlbRemoved r;
  for (TlbArray& a : m_arrays) r += a.invept();
  return count_removed(r);
}

uint64_t TlbLevel::valid_entries() const {
  uint64_t n = 0;
  for (const TlbArray& a : m_arrays) n += a.valid_entries();
  return n;
}

// ---------------------------------------------------------------------------------------------------

namespace {
std::string join_path(const std::string& path, const char* key) { return path.empty() ? key : path + "." + key; }
}  // namespace

TlbHierarchy::TlbHierarchy(const TlbHierarchyConfig& cfg, const std::string& path)
    : m_itlb(cfg.itlb, join_path(path, "itlb")),
      m_dtlb(cfg.dtlb, join_path(path, "dtlb")),
      m_stlb(cfg.stlb, join_path(path, "stlb")) {}

TlbLookup TlbHierarchy::lookup_l2(VirtAddr va, Pcid pcid, AccessKind kind, uint64_t l1_latency) {
  TlbLevel& first = l1(kind);
  TlbLookup r;
  TlbLevelHit h2 = m_stlb.lookup(va, pcid);
  r.latency = l1_latency + h2.latency;
  r.l2_latency = h2.latency;
  if (h2) {
    r.level = TlbHitLevel::L2;
    r.pa = h2.hit.entry->translate(va);
    r.entry = h2.hit.entry;
    first.fill(va, *r.entry);
  }
  return r;
}

const TlbArrayEntry* TlbHierarchy::probe(VirtAddr va, Pcid pcid, AccessKind kind) const {
  for (const TlbLevel* level : {kind == AccessKind::Fetch ? &m_itlb : &m_dtlb, &m_stlb}) {
    for (size_t i = 0; i < level->num_arrays(); ++i) {
      if (TlbHit h = level->array(i).peek(va, pcid)) return h.entry;
    }
  }
  return nullptr;
}

TlbHierarchyFill TlbHierarchy::fill(VirtAddr va, AccessKind kind, const TlbArrayEntry& e) {
  if (!e.covers(va)) throw std::invalid_argument("TlbHierarchy::fill: va outside the entry");
  TlbHierarchyFill f;
  f.l1 = l1(kind).fill(va, e);
  f.l2 = m_stlb.fill(va, e);
  return f;
}

uint64_t TlbHierarchy::invlpg(VirtAddr va, Pcid pcid) {
  return m_itlb.invlpg(va, pcid).total() + m_dtlb.invlpg(va, pcid).total() + m_stlb.invlpg(va, pcid).total();
}

uint64_t TlbHierarchy::invpcid(InvpcidType type, Pcid pcid, VirtAddr va) {
  return m_itlb.invpcid(type, pcid, va).total() + m_dtlb.invpcid(type, pcid, va).total() +
         m_stlb.invpcid(type, pcid, va).total();
}

uint64_t TlbHierarchy::invpcid_in(Vpid vpid, InvpcidType type, Pcid pcid, VirtAddr va) {
  return m_itlb.invpcid_in(vpid, type, pcid, va).total() + m_dtlb.invpcid_in(vpid, type, pcid, va).total() +
         m_stlb.invpcid_in(vpid, type, pcid, va).total();
}

uint64_t TlbHierarchy::flush_all() { return invpcid(InvpcidType::AllContextsInclGlobal, 0); }

uint64_t TlbHierarchy::flush_non_global() { return invpcid(InvpcidType::AllContextsExclGlobal, 0); }

void TlbHierarchy::set_vpid(Vpid vpid) {
  m_itlb.set_vpid(vpid);
  m_dtlb.set_vpid(vpid);
  m_stlb.set_vpid(vpid);
}

uint64_t TlbHierarchy::invvpid(InvvpidType type, Vpid vpid, VirtAddr va) {
  return m_itlb.invvpid(type, vpid, va).total() + m_dtlb.invvpid(type, vpid, va).total() +
         m_stlb.invvpid(type, vpid, va).total();
}

uint64_t TlbHierarchy::invept() { return m_itlb.invept().total() + m_dtlb.invept().total() + m_stlb.invept().total(); }

void TlbHierarchy::reset_counters() {
  m_itlb.reset_counters();
  m_dtlb.reset_counters();
  m_stlb.reset_counters();
}

}  // namespace vmsim::mmu
