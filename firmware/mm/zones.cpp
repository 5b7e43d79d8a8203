// Zoned physical memory manager: zone setup per node, fallback walks, per-CPU lists, accounting, reports.
#include "firmware/mm/zones.hpp"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "common/units.hpp"

#include "common/error.hpp"

namespace vmsim::fw {
namespace {

constexpr uint64_t kMaxCpus = 4096;


unsigned kind_index(ZoneKind k) { return k == ZoneKind::Dma ? 0 : 1; }

}  // namespace

void PhysMemConfig::validate(const std::string& path) const {
  config::require(dma_limit.value % kPageSize == 0, path, "dma_limit", std::to_string(dma_limit.value),
                  "must be a multiple of 4KiB");
  config::require(cpus > 0 && cpus <= kMaxCpus, path, "cpus", std::to_string(cpus), "must be 1..4096");
  if (pcp_high > 0) {
    config::require(pcp_batch > 0, path, "pcp_batch", std::to_string(pcp_batch), "must be > 0");
    config::require(pcp_batch <= pcp_high, path, "pcp_batch", std::to_string(pcp_batch),
                    "must be <= pcp_high (" + std::to_string(pcp_high) + ")");
  }
}

PhysicalMemoryManager::PhysicalMemoryManager(const std::vector<NodeRange>& nodes, const PhysMemConfig& cfg)
    : m_cfg(cfg) {
  try {
    cfg.validate("pmm");
  } catch (const InputError& e) {
    throw std::invalid_argument(std::string("PhysicalMemoryManager: ") + e.what());
  }
  if (nodes.empty()) throw std::invalid_argument("PhysicalMemoryManager: no nodes");
  const uint64_t dma_end = cfg.dma_limit.value >> kPageShift;

  for (size_t i = 0; i < nodes.size(); ++i) {
    const NodeRange& n = nodes[i];
    const uint64_t base = n.base.value();
    if (n.frames == 0) throw std::invalid_argument("PhysicalMemoryManager: node " + std::to_string(i) + " has 0 frames");
    if (base + n.frames < base) {
      throw std::invalid_argument("PhysicalMemoryManager: node " + std::to_string(i) + " overflows the PFN space");
    }
    for (size_t j = 0; j < i; ++j) {
      if (base < m_nodes[j].end && m_nodes[j].base < base + n.frames) {
        throw std::invalid_argument("PhysicalMemoryManager: nodes " + std::to_string(j) + " and " +
                                    std::to_string(i) + " overlap");
      }
    }
    m_nodes.push_back(Node{base, base + n.frames, {-1, -1}});
  }
  // Zones are created after all nodes are known so that m_zones is never reallocated afterwards.
  m_zones.reserve(2 * nodes.size());
  for (size_t i = 0; i < m_nodes.size(); ++i) {
    Node& n = m_nodes[i];
    const uint64_t split = std::clamp(dma_end, n.base, n.end);
    if (split > n.base) {
      n.zone[kind_index(ZoneKind::Dma)] = static_cast<int>(m_zones.size());
      m_zones.emplace_back(static_cast<NodeId>(i), ZoneKind::Dma, Pfn{n.base}, split - n.base);
    }
    if (n.end > split) {
      n.zone[kind_index(ZoneKind::Normal)] = static_cast<int>(m_zones.size());
      m_zones.emplace_back(static_cast<NodeId>(i), ZoneKind::Normal, Pfn{split}, n.end - split);
    }
  }
  for (Zone& z : m_zones) {
    z.buddy.set_lazy_coalescing(cfg.lazy_coalescing);
    if (cfg.pcp_high > 0) z.pcp.resize(cfg.cpus);
  }
  m_is_preferred.assign(m_nodes.size(), 0);
  m_zonelist.reserve(m_zones.size());
}

void PhysicalMemoryManager::check_cpu(CoreId cpu) const {
  if (cpu >= m_cfg.cpus) {
    throw std::invalid_argument("PhysicalMemoryManager: cpu " + std::to_string(cpu) + " out of range (cpus = " +
                                std::to_string(m_cfg.cpus) + ")");
  }
}

void PhysicalMemoryManager::build_zonelist(Gfp flags, const std::vector<NodeId>& preferred) {
  m_zonelist.clear();
  const bool all_preferred = preferred.empty();
  for (NodeId n : preferred) {
    if (n >= m_nodes.size()) {
      throw std::invalid_argument("PhysicalMemoryManager: preferred node " + std::to_string(n) + " does not exist (" +
                                  std::to_string(m_nodes.size()) + " nodes)");
    }
  }
  const bool atomic = has(flags, Gfp::Atomic);
  auto add_pass = [&](ZoneKind kind) {
    const unsigned k = kind_index(kind);
    if (all_preferred) {
      for (const Node& n : m_nodes) {
        if (n.zone[k] >= 0) m_zonelist.push_back({&m_zones[static_cast<size_t>(n.zone[k])], false});
      }
      return;
    }
    std::fill(m_is_preferred.begin(), m_is_preferred.end(), 0);
    for (NodeId id : preferred) {
      if (m_is_preferred[id]) continue;  // a node listed twice is tried once
      m_is_preferred[id] = 1;
      const int z = m_nodes[id].zone[k];
      if (z >= 0) m_zonelist.push_back({&m_zones[static_cast<size_t>(z)], false});
    }
    if (atomic) return;
    auto add_rest = [&](size_t id) {
      const int z = m_nodes[id].zone[k];
      if (!m_is_preferred[id] && z >= 0) m_zonelist.push_back({&m_zones[static_cast<size_t>(z)], true});
      m_is_preferred[id] = 1;  // added once
    };
    if (!m_fallback.empty()) {
      for (NodeId id : m_fallback[preferred.front()]) add_rest(id);
    }
    for (size_t id = 0; id < m_nodes.size(); ++id) add_rest(id);
  };
  if (has(flags, Gfp::Dma)) {
    add_pass(ZoneKind::Dma);
  } else {
    add_pass(ZoneKind::Normal);
    add_pass(ZoneKind::Dma);
  }
}

void PhysicalMemoryManager::set_fallback_order(std::vector<std::vector<NodeId>> order) {
  if (order.size() != m_nodes.size()) {
    throw std::invalid_argument("PhysicalMemoryManager: fallback order for " + std::to_string(order.size()) +
                                " nodes, expected " + std::to_string(m_nodes.size()));
  }
  for (const std::vector<NodeId>& list : order) {
    for (NodeId id : list) {
      if (id >= m_nodes.size()) {
        throw std::invalid_argument("PhysicalMemoryManager: fallback order names node " + std::to_string(id) + " (" +
                                    std::to_string(m_nodes.size()) + " nodes)");
      }
    }
  }
  m_fallback = std::move(order);
}

std::optional<uint64_t> PhysicalMemoryManager::pcp_take(Zone& zone, CoreId cpu) {
  std::deque<uint64_t>& list = zone.pcp[cpu];
  if (list.empty()) {
    // Refill: take frames in the buddy's order (lowest first), push them so the lowest is on top.
    m_refill.clear();
    while (m_refill.size() < m_cfg.pcp_batch) {
      std::optional<Pfn> f = zone.buddy.alloc(0);
      if (!f) break;
      m_refill.push_back(f->value());
    }
    const uint64_t n = m_refill.size();
    if (n == 0) return std::nullopt;
    for (auto it = m_refill.rbegin(); it != m_refill.rend(); ++it) {
      list.push_back(*it);
      m_pcp_frames.insert(*it);
    }
    zone.pcp_count += n;
    ++m_counters.pcp_refills;
    m_counters.pcp_refill_frames += n;
  } else {
    ++m_counters.pcp_hits;
  }
  const uint64_t pfn = list.back();
  list.pop_back();
  m_pcp_frames.erase(pfn);
  --zone.pcp_count;
  return pfn;
}

void PhysicalMemoryManager::pcp_release(Zone& zone, CoreId cpu, uint64_t count) {
  std::deque<uint64_t>& list = zone.pcp[cpu];
  count = std::min<uint64_t>(count, list.size());
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t pfn = list.front();
    list.pop_front();
    m_pcp_frames.erase(pfn);
    zone.buddy.free(Pfn{pfn}, 0);
  }
  zone.pcp_count -= count;
}

std::optional<PageAlloc> PhysicalMemoryManager::allocate(unsigned order, Gfp flags, const std::vector<NodeId>& preferred,
                                                         const CoreId* cpu) {
  if (order > kMaxOrder) {
    throw std::invalid_argument("PhysicalMemoryManager::alloc: order " + std::to_string(order) + " exceeds kMaxOrder " +
                                std::to_string(kMaxOrder));
  }
  const bool may_sleep = has(flags, Gfp::MaySleep);
  if (may_sleep == has(flags, Gfp::Atomic)) {
    throw std::invalid_argument("PhysicalMemoryManager::alloc: flags need exactly one of MaySleep and Atomic");
  }
  build_zonelist(flags, preferred);

  bool first_choice_failed = false;
  for (int attempt = 0; attempt < 2; ++attempt) {
    for (size_t i = 0; i < m_zonelist.size(); ++i) {
      Zone& zone = *m_zonelist[i].zone;
      std::optional<uint64_t> pfn;
      if (cpu != nullptr) {
        pfn = pcp_take(zone, *cpu);
      } else {
        std::optional<Pfn> b = zone.buddy.alloc(order);
        if (b) pfn = b->value();
      }
      if (!pfn) {
        if (i == 0) first_choice_failed = true;
        continue;
      }
      ++m_counters.allocations;
      if (i > 0) ++m_counters.fallbacks;
      if (m_zonelist[i].remote) ++m_counters.remote;
      if (zone.kind == ZoneKind::Dma && !has(flags, Gfp::Dma)) ++m_counters.dma_fallbacks;
      if (may_sleep && first_choice_failed) ++m_counters.would_reclaim;
      return PageAlloc{Pfn{*pfn}, order, zone.node, zone.kind, has(flags, Gfp::Zero)};
    }
    // A sleeping allocation may wait for the other CPUs to give back their cached frames (Linux's
    // drain_all_pages in the direct-reclaim path); that can also make larger blocks whole again.
    if (attempt == 0 && may_sleep && !m_pcp_frames.empty()) {
      drain_all();
      continue;
    }
    break;
  }
  ++m_counters.failures;
  if (!may_sleep) ++m_counters.atomic_failures;
  if (may_sleep && first_choice_failed) ++m_counters.would_reclaim;
  return std::nullopt;
}

std::optional<PageAlloc> PhysicalMemoryManager::alloc(unsigned order, Gfp flags, const std::vector<NodeId>& preferred) {
  return allocate(order, flags, preferred, nullptr);
}

std::optional<PageAlloc> PhysicalMemoryManager::alloc_page(CoreId cpu, Gfp flags, const std::vector<NodeId>& preferred) {
  check_cpu(cpu);
  return allocate(0, flags, preferred, m_cfg.pcp_high > 0 ? &cpu : nullptr);
}

void PhysicalMemoryManager::free(Pfn first, unsigned order) {
  Zone* zone = find_zone(first.value());
  if (zone == nullptr) {
    throw std::logic_error("PhysicalMemoryManager::free(pfn " + format_hex(first.value()) + ", order " +
                           std::to_string(order) + "): PFN is in no zone");
  }
  if (order == 0 && m_pcp_frames.count(first.value()) != 0) {
    throw std::logic_error("PhysicalMemoryManager::free(pfn " + format_hex(first.value()) +
                           ", order 0): double free: the frame is on a per-CPU list");
  }
  zone->buddy.free(first, order);  // throws on the remaining errors, unchanged
  ++m_counters.frees;
}

void PhysicalMemoryManager::free_page(CoreId cpu, Pfn pfn) {
  check_cpu(cpu);
  if (m_cfg.pcp_high == 0) {
    free(pfn, 0);
    return;
  }
  const uint64_t p = pfn.value();
  Zone* zone = find_zone(p);
  auto fail = [&](const std::string& why) {
    throw std::logic_error("PhysicalMemoryManager::free_page(cpu " + std::to_string(cpu) + ", pfn " + format_hex(p) +
                           "): " + why);
  };
  if (zone == nullptr) fail("PFN is in no zone");
  const std::optional<unsigned> order = zone->buddy.allocated_order(pfn);
  if (!order) {
    fail(zone->buddy.is_allocated(pfn) ? "PFN lies inside a larger allocated block"
                                       : "double free or never allocated: PFN is free");
  }
  if (*order != 0) fail("PFN starts an order-" + std::to_string(*order) + " block; free_page frees order 0 only");
  if (!m_pcp_frames.insert(p).second) fail("double free: the frame is already on a per-CPU list");

  std::deque<uint64_t>& list = zone->pcp[cpu];
  list.push_back(p);
  ++zone->pcp_count;
  ++m_counters.frees;
  if (list.size() > m_cfg.pcp_high) {
    const uint64_t n = std::min<uint64_t>(m_cfg.pcp_batch, list.size());
    pcp_release(*zone, cpu, n);
    ++m_counters.pcp_drains;
    m_counters.pcp_drain_frames += n;
  }
}

uint64_t PhysicalMemoryManager::drain_cpu(CoreId cpu) {
  check_cpu(cpu);
  uint64_t n = 0;
  for (Zone& z : m_zones) {
    if (z.pcp.empty()) continue;
    const uint64_t size = z.pcp[cpu].size();
    pcp_release(z, cpu, size);
    n += size;
  }
  return n;
}

uint64_t PhysicalMemoryManager::drain_all() {
  uint64_t n = 0;
  for (CoreId c = 0; c < m_cfg.cpus; ++c) n += drain_cpu(c);
  ++m_counters.drain_all;
  return n;
}

uint64_t PhysicalMemoryManager::coalesce_all() {
  uint64_t merges = 0;
  for (Zone& z : m_zones) merges += z.buddy.coalesce();
  return merges;
}

const PhysicalMemoryManager::Zone* PhysicalMemoryManager::find_zone(uint64_t pfn) const {
  for (const Node& n : m_nodes) {
    if (pfn < n.base || pfn >= n.end) continue;
    for (int z : n.zone) {
      if (z < 0) continue;
      const Zone& zone = m_zones[static_cast<size_t>(z)];
      if (pfn >= zone.buddy.base().value() && pfn < zone.buddy.end().value()) return &zone;
    }
  }
  return nullptr;
}

PhysicalMemoryManager::Zone* PhysicalMemoryManager::find_zone(uint64_t pfn) {
  return const_cast<Zone*>(static_cast<const PhysicalMemoryManager*>(this)->find_zone(pfn));
}

const PhysicalMemoryManager::Zone* PhysicalMemoryManager::zone_ptr(NodeId node, ZoneKind kind) const {
  if (node >= m_nodes.size()) return nullptr;
  const int z = m_nodes[node].zone[kind_index(kind)];
  return z < 0 ? nullptr : &m_zones[static_cast<size_t>(z)];
}

const BuddyAllocator* PhysicalMemoryManager::zone_allocator(NodeId node, ZoneKind zone) const {
  const Zone* z = zone_ptr(node, zone);
  return z ? &z->buddy : nullptr;
}

std::optional<std::pair<NodeId, ZoneKind>> PhysicalMemoryManager::zone_of(Pfn pfn) const {
  const Zone* z = find_zone(pfn.value());
  if (!z) return std::nullopt;
  return std::make_pair(z->node, z->kind);
}

bool PhysicalMemoryManager::is_allocated(Pfn pfn) const {
  const Zone* z = find_zone(pfn.value());
  return z != nullptr && z->buddy.is_allocated(pfn) && m_pcp_frames.count(pfn.value()) == 0;
}

uint64_t PhysicalMemoryManager::total_frames() const {
  uint64_t n = 0;
  for (const Zone& z : m_zones) n += z.buddy.total_frames();
  return n;
}

uint64_t PhysicalMemoryManager::total_frames(NodeId node) const {
  return total_frames(node, ZoneKind::Dma) + total_frames(node, ZoneKind::Normal);
}

uint64_t PhysicalMemoryManager::total_frames(NodeId node, ZoneKind zone) const {
  const Zone* z = zone_ptr(node, zone);
  return z ? z->buddy.total_frames() : 0;
}

uint64_t PhysicalMemoryManager::free_frames() const {
  uint64_t n = 0;
  for (const Zone& z : m_zones) n += z.buddy.free_frames() + z.pcp_count;
  return n;
}

uint64_t PhysicalMemoryManager::free_frames(NodeId node) const {
  return free_frames(node, ZoneKind::Dma) + free_frames(node, ZoneKind::Normal);
}

uint64_t PhysicalMemoryManager::free_frames(NodeId node, ZoneKind zone) const {
  const Zone* z = zone_ptr(node, zone);
  return z ? z->buddy.free_frames() + z->pcp_count : 0;
}

uint64_t PhysicalMemoryManager::allocated_frames() const { return total_frames() - free_frames(); }

uint64_t PhysicalMemoryManager::allocated_frames(NodeId node) const {
  return total_frames(node) - free_frames(node);
}

uint64_t PhysicalMemoryManager::allocated_frames(NodeId node, ZoneKind zone) const {
  return total_frames(node, zone) - free_frames(node, zone);
}

uint64_t PhysicalMemoryManager::pcp_frames(CoreId cpu) const {
  check_cpu(cpu);
  uint64_t n = 0;
  for (const Zone& z : m_zones) {
    if (!z.pcp.empty()) n += z.pcp[cpu].size();
  }
  return n;
}

std::vector<FreeAreaRow> PhysicalMemoryManager::free_area_report() const {
  std::vector<FreeAreaRow> rows;
  for (size_t i = 0; i < m_nodes.size(); ++i) {
    for (ZoneKind k : {ZoneKind::Dma, ZoneKind::Normal}) {
      const Zone* z = zone_ptr(static_cast<NodeId>(i), k);
      if (z) rows.push_back(FreeAreaRow{static_cast<unsigned>(i), to_string(k), z->buddy.free_area()});
    }
  }
  return rows;
}

FreeAreaCounts PhysicalMemoryManager::free_area(NodeId node, ZoneKind zone) const {
  const Zone* z = zone_ptr(node, zone);
  return z ? z->buddy.free_area() : FreeAreaCounts{};
}

FreeAreaCounts PhysicalMemoryManager::free_area(NodeId node) const {
  FreeAreaCounts sum{};
  for (ZoneKind k : {ZoneKind::Dma, ZoneKind::Normal}) {
    const FreeAreaCounts c = free_area(node, k);
    for (unsigned i = 0; i < kOrderCount; ++i) sum[i] += c[i];
  }
  return sum;
}

BuddyTotals PhysicalMemoryManager::buddy_totals() const {
  BuddyTotals t;
  for (const Zone& z : m_zones) {
    t.splits += z.buddy.splits();
    t.merges += z.buddy.merges();
    t.deferred_frees += z.buddy.deferred_frees();
    t.deferred_merges += z.buddy.deferred_merges();
    t.coalesce_passes += z.buddy.coalesce_passes();
  }
  return t;
}

}  // namespace vmsim::fw
