// A TLM extension marking a transaction whose data does not move: a cache's line fill or write-back, whose
// contents stay in the backing store (caches hold tags and states). Memory charges its time, counts it
// and queues it like any other request, and leaves the data alone.
#pragma once

#include <tlm>

namespace vmsim::mem {

struct TimingOnly : tlm::tlm_extension<TimingOnly> {
  tlm::tlm_extension_base* clone() const override { return new TimingOnly(*this); }
  void copy_from(const tlm::tlm_extension_base&) override {}
};

}  // namespace vmsim::mem
