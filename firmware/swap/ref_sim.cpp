// Reference-string simulator: fixed frames, simulated A/D bits, any replacement policy; plus reference-string
// parsing and exact working-set sizes.
#include "firmware/swap/ref_sim.hpp"

#include <cctype>
#include <stdexcept>

#include "firmware/swap/working_set.hpp"
#include "common/error.hpp"
#include "common/units.hpp"

namespace vmsim::fw {

bool SimulatedPageBits::accessed(PageId p) {
  ++m_reads;
  auto it = m_bits.find(p);
  return it != m_bits.end() && it->second.accessed;
}

bool SimulatedPageBits::test_and_clear_accessed(PageId p) {
  ++m_clears;
  auto it = m_bits.find(p);
  if (it == m_bits.end()) return false;
  bool was = it->second.accessed;
  it->second.accessed = false;
  return was;
}

bool SimulatedPageBits::dirty(PageId p) {
  ++m_reads;
  auto it = m_bits.find(p);
  return it != m_bits.end() && it->second.dirty;
}

void SimulatedPageBits::start_writeback(PageId p) {
  ++m_writebacks;
  auto it = m_bits.find(p);
  if (it != m_bits.end()) it->second.dirty = false;
}

void SimulatedPageBits::reference(PageId p, bool write) {
  Bits& b = m_bits[p];
  b.accessed = true;
  b.dirty = b.dirty || write;
}

void SimulatedPageBits::set(PageId p, bool accessed, bool dirty) { m_bits[p] = Bits{accessed, dirty}; }

RefSimResult run_reference_string(ReplacementPolicy& policy, const std::vector<Reference>& refs,
                                  const RefSimOptions& options) {
  if (options.frames == 0) throw InputError("reference-string simulation: frames must be > 0");
  if (policy.resident() != 0) throw std::invalid_argument("run_reference_string: the policy must start empty");
  if (options.info == RefSimInfo::Sampled && std::string(policy.name()) == "opt") {
    throw std::invalid_argument("run_reference_string: opt needs exact information");
  }
  auto* ws = dynamic_cast<WorkingSetPolicy*>(&policy);
  if (options.trim_working_set && ws == nullptr) {
    throw std::invalid_argument("run_reference_string: trim_working_set needs the ws policy");
  }

  SimulatedPageBits bits;
  RefSimResult r;
  const uint64_t scanned_before = policy.scanned();
  for (uint64_t t = 0; t < refs.size(); ++t) {
    const Reference& ref = refs[t];
    if (policy.is_resident(ref.page)) {
      if (options.info == RefSimInfo::Exact) policy.on_access(ref.page, t);
    } else {
      ++r.faults;
      r.fault_times.push_back(t);
      if (policy.resident() >= options.frames) {
        std::optional<PageId> v = policy.choose_victim(bits, t);
        if (!v) {
          throw InputError("reference-string simulation: reference " + std::to_string(t) + " (page " +
                           std::to_string(ref.page) + ") faults but every one of the " +
                           std::to_string(options.frames) + " frames holds a locked page");
        }
        if (!policy.is_resident(*v) || policy.is_locked(*v)) {
          throw SimulationError(std::string(policy.name()) + " policy chose page " + std::to_string(*v) +
                                ", which is not an evictable resident page");
        }
        if (bits.dirty(*v)) ++r.dirty_evictions;
        policy.on_unmap(*v);
        bits.forget(*v);
        r.victims.push_back(*v);
      }
      policy.on_map(ref.page, t);
      if (options.locked.count(ref.page) != 0) policy.set_locked(ref.page, true);
    }
    bits.reference(ref.page, ref.write);

    if (options.info == RefSimInfo::Sampled && options.sample_interval != 0 && (t + 1) % options.sample_interval == 0) {
      policy.sample(bits, t);
    }
    if (options.trim_working_set) {
      for (PageId p : ws->out_of_working_set(t)) {
        policy.on_unmap(p);
        bits.forget(p);
        r.released.push_back(p);
      }
    }
    r.resident_sum += policy.resident();
    if (options.observer) options.observer(t, policy);
  }
  r.references = refs.size();
  r.writebacks = bits.writebacks();
  r.scanned = policy.scanned() - scanned_before;
  return r;
}

RefSimResult simulate_reference_string(const ReplacementConfig& cfg, const std::vector<Reference>& refs,
                                       const RefSimOptions& options) {
  std::vector<PageId> future = pages_of(refs);
  std::unique_ptr<ReplacementPolicy> policy = make_policy(cfg, &future);
  return run_reference_string(*policy, refs, options);
}

std::vector<PageId> pages_of(const std::vector<Reference>& refs) {
  std::vector<PageId> pages;
  pages.reserve(refs.size());
  for (const Reference& r : refs) pages.push_back(r.page);
  return pages;
}

std::vector<Reference> reads_of(const std::vector<PageId>& pages) {
  std::vector<Reference> refs;
  refs.reserve(pages.size());
  for (PageId p : pages) refs.push_back(Reference{p, false});
  return refs;
}

std::vector<uint64_t> working_set_sizes(const std::vector<PageId>& refs, uint64_t tau) {
  if (tau == 0) throw std::invalid_argument("working_set_sizes: tau must be > 0");
  std::vector<uint64_t> sizes;
  sizes.reserve(refs.size());
  std::unordered_map<PageId, uint64_t> in_window;  // page -> references inside the window
  for (uint64_t t = 0; t < refs.size(); ++t) {
    ++in_window[refs[t]];
    if (t >= tau) {
      auto it = in_window.find(refs[t - tau]);
      if (--it->second == 0) in_window.erase(it);
    }
    sizes.push_back(in_window.size());
  }
  return sizes;
}

std::vector<Reference> parse_reference_string(const std::string& text, const std::string& source) {
  std::vector<Reference> refs;
  size_t i = 0;
  while (i < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[i])) || text[i] == ',') {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])) && text[i] != ',') ++i;
    std::string token = text.substr(start, i - start);
    Reference ref;
    std::string number = token;
    if (number.size() > 1 && (number.back() == 'w' || number.back() == 'W')) {
      ref.write = true;
      number.pop_back();
    }
    std::optional<uint64_t> page = parse_uint(number);
    if (!page) {
      throw InputError(source + ": reference " + std::to_string(refs.size()) + ": bad token '" + token +
                       "' (expected a page number, optionally followed by w for a write)");
    }
    ref.page = *page;
    refs.push_back(ref);
  }
  return refs;
}

}  // namespace vmsim::fw
