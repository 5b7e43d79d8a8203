// Reference-string simulator: replays page references against any replacement policy with a fixed number of
// frames and simulated A/D bits, reporting faults and the eviction order (teaching, validation, tests).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "firmware/swap/replacement.hpp"

namespace vmsim::fw {

// One page reference of a reference string.
struct Reference {
  PageId page = 0;
  bool write = false;
};

// PageBits over host-side state, for the simulator and unit tests: reference() plays the hardware (sets A,
// and D on a write); start_writeback completes at once (clears D) and is counted.
class SimulatedPageBits final : public PageBits {
 public:
  bool accessed(PageId p) override;
  bool test_and_clear_accessed(PageId p) override;
  bool dirty(PageId p) override;
  void start_writeback(PageId p) override;

  // The hardware side of an access to p.
  void reference(PageId p, bool write);
  // Sets both bits of p (test setup).
  void set(PageId p, bool accessed, bool dirty);
  // p left memory: its bits are gone.
  void forget(PageId p) { m_bits.erase(p); }

  uint64_t reads() const { return m_reads; }            // accessed() + dirty() calls
  uint64_t clears() const { return m_clears; }          // test_and_clear_accessed() calls
  uint64_t writebacks() const { return m_writebacks; }  // start_writeback() calls

 private:
  struct Bits {
    bool accessed = false;
    bool dirty = false;
  };
  std::unordered_map<PageId, Bits> m_bits;
  uint64_t m_reads = 0;
  uint64_t m_clears = 0;
  uint64_t m_writebacks = 0;
};

// Which information the simulator gives the policy (see ReplacementPolicy, "Information").
enum class RefSimInfo : uint8_t {
  Exact,    // on_access for every hit; sample() never called
  Sampled,  // sample() after every sample_interval-th reference; on_access never called
};

struct RefSimOptions {
  uint64_t frames = 0;  // > 0
  RefSimInfo info = RefSimInfo::Exact;
  uint64_t sample_interval = 0;  // Sampled only; 0 = never sample
  // Pages locked (mlock) as soon as they are mapped.
  std::unordered_set<PageId> locked;
  // Variable allocation for the ws policy (the policy must be a WorkingSetPolicy): after every reference,
  // release each page that left the working set (WorkingSetPolicy::out_of_working_set).
  bool trim_working_set = false;
  // Called after every reference with its index (time) and the policy.
  std::function<void(uint64_t t, const ReplacementPolicy& policy)> observer;
};

struct RefSimResult {
  uint64_t references = 0;
  uint64_t faults = 0;
  uint64_t dirty_evictions = 0;       // victims whose D bit was set (a synchronous write-back)
  uint64_t writebacks = 0;            // background write-backs the policy started (wsclock)
  uint64_t scanned = 0;               // the policy's scanned() at the end
  uint64_t resident_sum = 0;          // sum over references of the resident pages after it (mean = / references)
  std::vector<uint64_t> fault_times;  // indices of the faulting references
  std::vector<PageId> victims;        // pages evicted by choose_victim, in order
  std::vector<PageId> released;       // pages released by trim_working_set, in order
};

// Replays refs against `policy` (which must have no resident pages), time t = index of the reference:
//   hit:   on_access(page, t) if Exact; hardware sets A (and D on a write);
//   fault: if all frames are in use, v = choose_victim(bits, t), on_unmap(v), v's bits forgotten;
//          then on_map(page, t), locked if listed, hardware sets A (and D);
//   then:  sample(bits, t) if Sampled and (t + 1) % sample_interval == 0; the working-set trim; observer.
// Throws InputError if frames == 0 or if a fault finds every frame locked, std::invalid_argument for opt
// with Sampled information or trim_working_set with a policy other than ws, and SimulationError if the
// policy returns a page that is not resident or is locked.
RefSimResult run_reference_string(ReplacementPolicy& policy, const std::vector<Reference>& refs,
                                  const RefSimOptions& options);

// Builds the configured policy (opt gets refs as its future) and replays refs.
RefSimResult simulate_reference_string(const ReplacementConfig& cfg, const std::vector<Reference>& refs,
                                       const RefSimOptions& options);

// Pages of refs, in order.
std::vector<PageId> pages_of(const std::vector<Reference>& refs);
// References from pages, all reads.
std::vector<Reference> reads_of(const std::vector<PageId>& pages);

// |W(t, tau)| for every t: the number of distinct pages among refs[t-tau+1 .. t] (fewer at the start).
// Requires tau > 0 (std::invalid_argument). O(n).
std::vector<uint64_t> working_set_sizes(const std::vector<PageId>& refs, uint64_t tau);

// Parses a reference string: tokens separated by whitespace and/or commas, each a page number (decimal or
// 0x hex, '_' separators allowed) optionally followed by 'w' or 'W' for a write ("1 2 3w, 0x10").
// Throws InputError "SOURCE: reference N: bad token 'T' (...)".
std::vector<Reference> parse_reference_string(const std::string& text, const std::string& source = "references");

}  // namespace vmsim::fw
