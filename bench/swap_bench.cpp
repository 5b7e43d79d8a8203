// Host-speed benchmark of the swap functional cores (bench/, never a test). Usage:
//   swap_bench roundtrip [N] [PAGES] [nvme|hdd]
//       N swap round trips of patterned pages through SwapArea (slot allocation, swap cache states, reference
//       counts) and SwapMedium (contents + request timing): swap-out = fill the frame with a fresh pattern,
//       begin_writeout, PTE reference, device write, writeout_done, evict; swap-in = lookup miss, begin_read,
//       device read, read_done, drop the PTE reference, make_exclusive; every page is compared byte for byte.
//       PAGES distinct pages (default 4096) cycle through 16 frames in random order.
//   swap_bench reclaim [N] [RESIDENT] [POLICY]
//       Reclaimer background passes over RESIDENT resident pages (default 65536) with POLICY (default clock):
//       each pass frees 32 pages (the kernel's side only counts), then as many new pages are mapped and a
//       random quarter of the resident pages is referenced (A bit), until N pages were reclaimed.
// Prints host time per operation (CPU time via std::clock) and a checksum of simulated results.
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "firmware/swap/reclaim.hpp"
#include "firmware/swap/ref_sim.hpp"
#include "firmware/swap/swap_area.hpp"
#include "models/storage/swap_device_core.hpp"

using namespace vmsim;

namespace {

void fill(uint8_t* page, uint64_t seed) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (uint64_t i = 0; i < kPageSize; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(page + i, &x, 8);
  }
}

int roundtrip(uint64_t n, uint64_t pages, const std::string& preset) {
  storage::SwapDeviceConfig dc;
  if (!dc.set_preset(preset)) {
    std::fprintf(stderr, "unknown preset %s\n", preset.c_str());
    return 2;
  }
  const uint64_t slots = 2 * pages;
  dc.capacity = Bytes{slots * kPageSize};
  storage::SwapMedium medium(dc);
  fw::SwapArea area(slots);
  std::vector<fw::SwapSlot> slot_of(pages);
  std::vector<uint64_t> seed_of(pages, 0);
  std::vector<uint8_t> frame(kPageSize), want(kPageSize);
  std::mt19937_64 rng(42);
  // Every page starts swapped out with its first pattern.
  for (uint64_t p = 0; p < pages; ++p) {
    seed_of[p] = p + 1;
    fill(frame.data(), seed_of[p]);
    const fw::SwapSlot s = *area.begin_writeout(Pfn{0});
    area.add_ref(s);
    medium.write(0, fw::SwapArea::offset_of(s), frame.data(), kPageSize);
    area.writeout_done(s);
    area.evict(s);
    slot_of[p] = s;
  }
  uint64_t now = 0, bad = 0, latency_sum = 0;
  const std::clock_t c0 = std::clock();
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t p = rng() % pages;
    // Swap-in (major fault path).
    const fw::SwapSlot s = slot_of[p];
    if (area.lookup(s)) ++bad;  // evicted pages are never cached here
    area.begin_read(s, Pfn{1});
    const storage::BlockTimes r = medium.read(now, fw::SwapArea::offset_of(s), frame.data(), kPageSize);
    area.read_done(s);
    area.drop_ref(s);
    now = r.done;
    latency_sum += r.latency();
    fill(want.data(), seed_of[p]);
    if (std::memcmp(want.data(), frame.data(), kPageSize) != 0) ++bad;
    // The page is written (leaves swap), then swapped out again with a new pattern.
    if (!area.make_exclusive(s)) ++bad;
    seed_of[p] = seed_of[p] * 31 + i;
    fill(frame.data(), seed_of[p]);
    const fw::SwapSlot t = *area.begin_writeout(Pfn{1});
    area.add_ref(t);
    const storage::BlockTimes w = medium.write(now, fw::SwapArea::offset_of(t), frame.data(), kPageSize);
    area.writeout_done(t);
    area.evict(t);
    slot_of[p] = t;
    now = w.done;
    latency_sum += w.latency();
  }
  const double sec = double(std::clock() - c0) / CLOCKS_PER_SEC;
  // The benchmark's own work per round trip (two pattern fills and a compare), to separate it from the model's.
  const uint64_t m = n / 10 + 1;
  const std::clock_t c1 = std::clock();
  for (uint64_t i = 0; i < m; ++i) {
    fill(want.data(), i);
    fill(frame.data(), i + 1);
    bad += std::memcmp(want.data(), frame.data(), kPageSize) == 0;
  }
  const double own = double(std::clock() - c1) / CLOCKS_PER_SEC / double(m);
  std::printf("roundtrip %s: %llu round trips over %llu pages in %.3f s = %.0f ns per round trip (%.2f M/s); "
              "mismatches %llu; simulated %.3f s, mean device latency %.1f us; pattern fill + check %.0f ns of it\n",
              preset.c_str(), static_cast<unsigned long long>(n), static_cast<unsigned long long>(pages), sec,
              sec / double(n) * 1e9, double(n) / sec / 1e6, static_cast<unsigned long long>(bad),
              double(now) / 1e15, double(latency_sum) / double(2 * n) / 1e9, own * 1e9);
  return bad == 0 ? 0 : 1;
}

// The kernel's side: counts only (no PTEs, no I/O).
class CountingHost : public fw::ReclaimHost {
 public:
  explicit CountingHost(fw::SimulatedPageBits& b) : bits(b) {}
  fw::SimulatedPageBits& bits;
  uint64_t free = 0;
  uint64_t writes = 0;
  uint64_t free_pages(uint32_t) override { return free; }
  fw::ReclaimPageInfo page_info(fw::PageId p) override {
    return {p % 3 == 0 ? fw::PageKind::File : fw::PageKind::Anon, false, p % 2 == 0, p % 3 == 0};
  }
  bool reserve_swap(fw::PageId) override { return true; }
  void unmap(fw::PageId) override {}
  void write_back(fw::PageId, fw::PageKind) override { ++writes; }
  void free_frame(fw::PageId p) override {
    bits.forget(p);
    ++free;
  }
};

int reclaim(uint64_t n, uint64_t resident, const std::string& policy_name) {
  fw::SwapPolicyConfig cfg;
  cfg.replacement.policy = fw::replacement_kind_from_name(policy_name);
  if (cfg.replacement.policy == fw::ReplacementKind::Opt) {
    std::fprintf(stderr, "opt needs a reference string\n");
    return 2;
  }
  cfg.watermarks.min = Bytes{0};
  cfg.watermarks.low = Bytes{kPageSize};        // wake when no page is free
  cfg.watermarks.high = Bytes{32 * kPageSize};  // one batch
  auto policy = fw::make_policy(cfg.replacement);
  fw::SimulatedPageBits bits;
  CountingHost host(bits);
  fw::Reclaimer r(cfg, {{resident + 64, policy.get()}}, host, bits);
  std::mt19937_64 rng(7);
  fw::PageId next = 0;
  for (; next < resident; ++next) {
    policy->on_map(next, next);
    bits.reference(next, false);
  }
  uint64_t now = resident, reclaimed = 0;
  const std::clock_t c0 = std::clock();
  while (reclaimed < n) {
    host.free = 0;
    const fw::ReclaimResult res = r.background(0, now);
    reclaimed += res.reclaimed;
    // Refill: new pages fault in where the reclaimed ones were, and a quarter of a random sample is referenced.
    for (uint64_t k = 0; k < res.reclaimed; ++k) {
      policy->on_map(next, now);
      bits.reference(next, false);
      ++next;
    }
    for (uint64_t k = 0; k < 32; ++k) {
      const fw::PageId p = next - 1 - rng() % resident;
      if (policy->is_resident(p)) bits.reference(p, rng() % 4 == 0);
    }
    now += 32;
  }
  const double sec = double(std::clock() - c0) / CLOCKS_PER_SEC;
  std::printf("reclaim %s: %llu pages reclaimed from %llu resident in %.3f s = %.0f ns per reclaimed page; "
              "%llu scanned by the policy, %llu written back\n",
              policy_name.c_str(), static_cast<unsigned long long>(reclaimed), static_cast<unsigned long long>(resident),
              sec, sec / double(reclaimed) * 1e9, static_cast<unsigned long long>(r.counters().policy_scanned),
              static_cast<unsigned long long>(host.writes));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "roundtrip";
  if (what == "roundtrip") {
    return roundtrip(argc > 2 ? std::stoull(argv[2]) : 2000000, argc > 3 ? std::stoull(argv[3]) : 4096,
                     argc > 4 ? argv[4] : "nvme");
  }
  if (what == "reclaim") {
    return reclaim(argc > 2 ? std::stoull(argv[2]) : 1000000, argc > 3 ? std::stoull(argv[3]) : 65536,
                   argc > 4 ? argv[4] : "clock");
  }
  std::fprintf(stderr, "usage: swap_bench roundtrip|reclaim [N] [PAGES] [PRESET|POLICY]\n");
  return 2;
}
