// FIFO replacement: evict the earliest-mapped unlocked page.
#include "firmware/swap/policies.hpp"
#include "firmware/swap/policy_base.hpp"

namespace vmsim::fw {
namespace {

class FifoPolicy final : public PolicyBase {
 public:
  const char* name() const override { return "fifo"; }
  bool uses_exact_access() const override { return false; }

 protected:
  void do_map(PageId p, VirtualTime /*now*/) override { m_queue.push_back(p); }
  void do_unmap(PageId p) override { m_queue.erase(p); }
  PageId do_choose(PageBits& /*bits*/, VirtualTime /*now*/) override {
    for (PageId p : m_queue) {
      note_scanned();
      if (!is_locked(p)) return p;
    }
    return m_queue.front();  // unreachable: PolicyBase guarantees an unlocked page
  }

 private:
  PageList m_queue;  // front = earliest mapped
};

}  // namespace

std::unique_ptr<ReplacementPolicy> make_fifo_policy() { return std::make_unique<FifoPolicy>(); }

}  // namespace vmsim::fw
