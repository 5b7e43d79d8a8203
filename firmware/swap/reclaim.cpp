// Page reclaim: watermarks, background and direct reclaim, eviction through the kernel's callbacks, OOM choice.
#include "firmware/swap/reclaim.hpp"

#include <algorithm>
#include <stdexcept>

namespace vmsim::fw {

void WatermarkConfig::validate(const std::string& path) const {
  using config::require;
  for (const auto& [key, b] : {std::pair<const char*, Bytes>{"min", min}, {"low", low}, {"high", high}}) {
    require(b.value % kPageSize == 0, path, key, format_bytes(b), "must be a multiple of 4KiB");
  }
  require(high.value > 0, path, "high", format_bytes(high), "must be > 0");
  require(min.value <= low.value, path, "min", format_bytes(min),
          "must not exceed " + path + ".low (" + format_bytes(low) + ")");
  require(low.value <= high.value, path, "low", format_bytes(low),
          "must not exceed " + path + ".high (" + format_bytes(high) + ")");
}

void SwapPolicyConfig::validate(const std::string& path) const {
  replacement.validate(path);
  watermarks.validate(path + ".watermarks");
  config::require(swappiness <= 200, path, "swappiness", std::to_string(swappiness), "out of range (max 200)");
  config::require(batch > 0, path, "batch", std::to_string(batch), "must be > 0");
}

Reclaimer::Reclaimer(const SwapPolicyConfig& cfg, std::vector<ReclaimZone> zones, ReclaimHost& host, PageBits& bits)
    : m_cfg(cfg), m_zones(std::move(zones)), m_host(host), m_bits(bits) {
  for (const ReclaimZone& zone : m_zones) {
    if (zone.policy == nullptr) throw std::invalid_argument("Reclaimer: every zone needs a replacement policy");
    auto pages = [&](Bytes b) { return std::min(zone.pages, b.value / kPageSize); };
    m_marks.push_back({pages(cfg.watermarks.min), pages(cfg.watermarks.low), pages(cfg.watermarks.high)});
    m_balance.emplace_back(0, 0);
  }
}

Reclaimer::Pressure Reclaimer::pressure(uint32_t z) {
  const uint64_t free = m_host.free_pages(z);
  const Watermarks& w = m_marks.at(z);
  if (free < w.min) return Pressure::Direct;
  if (free < w.low) return Pressure::Background;
  return Pressure::None;
}

ReclaimResult Reclaimer::shrink(uint32_t z, uint64_t target_free, uint64_t batch, VirtualTime now) {
  ReplacementPolicy& policy = *m_zones.at(z).policy;
  const uint64_t policy_before = policy.scanned();
  ReclaimResult r;
  std::vector<PageId> hidden;  // skipped for this pass only
  std::vector<PageId> deferred;  // passed over for the swappiness balance (this pass only)
  bool balance = true;           // off once only the deferred kind is left
  const uint64_t s = m_cfg.swappiness;
  uint64_t budget_used = 0;    // candidates that count against the pass's budget (not mlocked ones)
  ++m_counters.passes;
  while (r.reclaimed < batch) {
    if (m_host.free_pages(z) >= target_free) break;
    if (budget_used >= batch * kScanPerBatch) {
      // Like a reclaim priority level running out: a pass that examined this many candidates stops, and
      // one that freed nothing counts as exhausted (with swap full, the anonymous pages are not all scanned
      // again and again for every allocation).
      r.exhausted = r.reclaimed == 0;
      break;
    }
    const std::optional<PageId> v = policy.choose_victim(m_bits, now);
    if (!v) {
      if (!deferred.empty()) {
        // Only the kind the balance passed over is left: take it after all, as Linux falls back.
        for (PageId p : deferred) policy.set_locked(p, false);
        deferred.clear();
        balance = false;
        continue;
      }
      r.exhausted = true;
      break;
    }
    if (balance && m_host.resident_pages(z, PageKind::Anon) > 0 && m_host.resident_pages(z, PageKind::File) > 0) {
      // vm.swappiness: anonymous : file reclaimed at s : (200 - s) over the zone's life. At most one kind is
      // over its share at a time; a candidate of that kind waits until the other catches up.
      const uint64_t anon = m_balance[z].first, file = m_balance[z].second;
      const bool over = m_host.kind_of(*v) == PageKind::Anon ? (s == 0 || anon * (200 - s) > file * s)
                                                             : (s == 200 || file * s > anon * (200 - s));
      if (over) {
        ++m_counters.deferred;
        policy.set_locked(*v, true);
        deferred.push_back(*v);
        continue;
      }
    }
    ++r.scanned;
    const ReclaimPageInfo info = m_host.page_info(*v);
    if (info.locked) {
      // The kernel's mlock bookkeeping is authoritative; the policy keeps the page but never proposes it again.
      // Such a page is met once per policy lifetime, so it does not count against the pass's budget: with
      // FIFO or LRU the oldest pages are often the mlocked ones, and counting them made a pass give up (and
      // the OOM killer fire) with swap free.
      policy.set_locked(*v, true);
      ++m_counters.skipped_locked;
      continue;
    }
    ++budget_used;
    const ReclaimHost::Demotion demotion = m_host.demote(z, *v);
    if (demotion == ReclaimHost::Demotion::Demoted) {
      // The page lives on in the slower node (the host moved it out of this zone's policy).
      ++r.reclaimed;
      ++r.demoted;
      continue;
    }
    if (demotion == ReclaimHost::Demotion::Failed) ++m_counters.demote_failed;
    const bool anon_unbacked = info.kind == PageKind::Anon && !info.backed;
    if (anon_unbacked && !m_host.reserve_swap(*v)) {
      ++m_counters.swap_full;
      policy.set_locked(*v, true);
      hidden.push_back(*v);
      continue;
    }
    m_host.unmap(*v);
    if (info.dirty || anon_unbacked || m_host.dirtied_by_unmap(*v)) {
      m_host.write_back(*v, info.kind);
      ++(info.kind == PageKind::Anon ? m_counters.written_anon : m_counters.written_file);
    } else {
      ++m_counters.dropped_clean;
    }
    policy.on_unmap(*v);
    m_host.free_frame(*v);
    ++r.reclaimed;
    if (info.kind == PageKind::Anon) {
      ++m_balance[z].first;
      ++m_counters.reclaimed_anon;
    } else {
      ++m_balance[z].second;
      ++m_counters.reclaimed_file;
    }
  }
  for (PageId p : hidden) policy.set_locked(p, false);
  for (PageId p : deferred) policy.set_locked(p, false);
  r.reached_target = m_host.free_pages(z) >= target_free;
  m_counters.scanned += r.scanned;
  m_counters.reclaimed += r.reclaimed - r.demoted;
  m_counters.demoted += r.demoted;
  m_counters.policy_scanned += policy.scanned() - policy_before;
  return r;
}

ReclaimResult Reclaimer::until(uint32_t z, uint64_t target, VirtualTime now) {
  ReclaimResult total;
  for (;;) {
    const ReclaimResult r = shrink(z, target, m_cfg.batch, now);
    total.reclaimed += r.reclaimed;
    total.demoted += r.demoted;
    total.scanned += r.scanned;
    total.reached_target = r.reached_target;
    if (r.reached_target) break;
    if (r.exhausted || r.reclaimed == 0) {
      total.exhausted = true;
      break;
    }
  }
  return total;
}

ReclaimResult Reclaimer::background(uint32_t z, VirtualTime now) {
  if (m_host.free_pages(z) >= m_marks.at(z).low) return {};
  ++m_counters.background_wakes;
  return until(z, m_marks[z].high, now);
}

ReclaimResult Reclaimer::background_to(uint32_t z, uint64_t target, VirtualTime now) {
  if (m_host.free_pages(z) >= target) return {};
  ++m_counters.background_wakes;
  return until(z, target, now);
}

ReclaimResult Reclaimer::direct(uint32_t z, VirtualTime now) {
  if (m_host.free_pages(z) >= m_marks.at(z).min) return {};
  ++m_counters.direct;
  return until(z, m_marks[z].min, now);
}

std::optional<OomReport> choose_oom_victim(const std::vector<OomCandidate>& candidates, const std::string& why) {
  const OomCandidate* best = nullptr;
  for (const OomCandidate& c : candidates) {
    if (c.resident_pages <= c.locked_pages) continue;  // nothing evictable to gain, or nothing resident
    if (best == nullptr || c.resident_pages > best->resident_pages ||
        (c.resident_pages == best->resident_pages &&
         (c.swap_pages > best->swap_pages || (c.swap_pages == best->swap_pages && c.pid < best->pid)))) {
      best = &c;
    }
  }
  if (best == nullptr) return std::nullopt;
  OomReport r;
  r.pid = best->pid;
  r.name = best->name;
  r.resident_pages = best->resident_pages;
  r.locked_pages = best->locked_pages;
  r.swap_pages = best->swap_pages;
  r.candidates = candidates.size();
  r.reason = why + ": killed process " + std::to_string(best->pid) + " (" + best->name + "), " +
             std::to_string(best->resident_pages) + " resident pages (" + std::to_string(best->locked_pages) +
             " mlocked), " + std::to_string(best->swap_pages) + " in swap; largest of " +
             std::to_string(candidates.size()) + " processes";
  return r;
}

}  // namespace vmsim::fw
