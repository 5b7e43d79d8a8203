// Named statistics with description and unit. Each module owns a stats::Group attached to its
// sc_object as an attribute; dumping walks the SystemC object tree, so a statistic's name follows the
// hierarchy (system.core0.mmu.tlb.hits). Hot paths touch plain integers; derived values are computed
// at dump time. This header needs no SystemC: a SystemC-free block (the firmware) owns a detached root
// group that the platform attaches to an object of the tree (attach, stats_sc.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

namespace sc_core {
class sc_object;
}

namespace vmsim::stats {

class Group;

// One value of a dumped statistic. Histograms dump several values (name.count, name.mean, ...).
struct Record {
  std::string name;  // full hierarchical name
  std::string unit;
  std::string description;
  double value = 0;
  bool integral = true;  // value is a whole count (print without a fraction)
  // A count since the start or the warm-up (Scalar, Counter, Average samples, Histogram count and buckets):
  // it only grows, so the change over an interval means something (timeseries.csv). Else a value computed
  // from other state (Formula, Ratio, Average and Histogram means, minimum, maximum).
  bool count = false;
};

class Stat {
 public:
  Stat(Group& group, std::string name, std::string unit, std::string description);
  virtual ~Stat() = default;
  Stat(const Stat&) = delete;
  Stat& operator=(const Stat&) = delete;
  const std::string& name() const { return m_name; }
  const std::string& unit() const { return m_unit; }
  const std::string& description() const { return m_description; }
  // Warm-up reset: forget everything counted so far.
  virtual void reset() = 0;
  // Appends this statistic's records, named prefix + name().
  virtual void dump(const std::string& prefix, std::vector<Record>& out) const = 0;

 private:
  std::string m_name;
  std::string m_unit;
  std::string m_description;
};

// A monotonic event count.
class Scalar : public Stat {
 public:
  using Stat::Stat;
  Scalar& operator++() {
    ++m_value;
    return *this;
  }
  Scalar& operator+=(uint64_t n) {
    m_value += n;
    return *this;
  }
  uint64_t value() const { return m_value; }
  void reset() override { m_value = 0; }
  void dump(const std::string& prefix, std::vector<Record>& out) const override;

 private:
  uint64_t m_value = 0;
};

// A running sum and sample count; dumps the mean (and name.samples).
class Average : public Stat {
 public:
  using Stat::Stat;
  void sample(double v) {
    m_sum += v;
    ++m_count;
  }
  double mean() const { return m_count ? m_sum / static_cast<double>(m_count) : 0.0; }
  uint64_t count() const { return m_count; }
  void reset() override {
    m_sum = 0;
    m_count = 0;
  }
  void dump(const std::string& prefix, std::vector<Record>& out) const override;

 private:
  double m_sum = 0;
  uint64_t m_count = 0;
};

// Samples in fixed-width buckets [0,w), [w,2w), ... with an overflow bucket; dumps count, mean, min,
// max and one record per non-empty bucket (name.bucket.LO-HI).
class Histogram : public Stat {
 public:
  Histogram(Group& group, std::string name, std::string unit, std::string description, uint64_t bucket_width,
            unsigned buckets);
  void sample(uint64_t v) {
    uint64_t b = v / m_width;
    ++m_counts[b < m_counts.size() - 1 ? b : m_counts.size() - 1];
    m_sum += v;
    m_min = v < m_min ? v : m_min;
    m_max = v > m_max ? v : m_max;
    ++m_count;
  }
  uint64_t count() const { return m_count; }
  double mean() const { return m_count ? static_cast<double>(m_sum) / static_cast<double>(m_count) : 0.0; }
  void reset() override;
  void dump(const std::string& prefix, std::vector<Record>& out) const override;

 private:
  uint64_t m_width;
  std::vector<uint64_t> m_counts;
  uint64_t m_sum = 0;
  uint64_t m_count = 0;
  uint64_t m_min = UINT64_MAX;
  uint64_t m_max = 0;
};

// A value computed at dump time from other state (rates, averages, current levels). Not reset.
class Formula : public Stat {
 public:
  Formula(Group& group, std::string name, std::string unit, std::string description, std::function<double()> fn,
          bool integral = false);
  void reset() override {}
  void dump(const std::string& prefix, std::vector<Record>& out) const override;

 private:
  std::function<double()> m_fn;
  bool m_integral;
};

// A count kept elsewhere (a functional core's counter), read through a function; reset remembers a
// baseline so the dumped value counts from the last reset.
class Counter : public Stat {
 public:
  Counter(Group& group, std::string name, std::string unit, std::string description, std::function<uint64_t()> fn);
  void reset() override { m_base = m_fn(); }
  void dump(const std::string& prefix, std::vector<Record>& out) const override;

 private:
  std::function<uint64_t()> m_fn;
  uint64_t m_base = 0;
};

// A non-integral amount kept elsewhere that only grows (an energy computed from a core's counters), read
// through a function; reset remembers a baseline like Counter. Dumped as a value, not a count (timeseries.csv
// shows its running value).
class Amount : public Stat {
 public:
  Amount(Group& group, std::string name, std::string unit, std::string description, std::function<double()> fn);
  void reset() override { m_base = m_fn(); }
  void dump(const std::string& prefix, std::vector<Record>& out) const override;

 private:
  std::function<double()> m_fn;
  double m_base = 0;
};

// A quotient of two counts kept elsewhere, times a scale: (num - num at reset) / (den - den at reset) *
// scale, 0 while the denominator has not moved. Warm-up aware averages and rates over functional-core
// counters (a DRAM channel's queue occupancy, bytes per simulated time).
class Ratio : public Stat {
 public:
  Ratio(Group& group, std::string name, std::string unit, std::string description, std::function<double()> num,
        std::function<double()> den, double scale = 1.0);
  void reset() override {
    m_num_base = m_num();
    m_den_base = m_den();
  }
  void dump(const std::string& prefix, std::vector<Record>& out) const override;

 private:
  std::function<double()> m_num;
  std::function<double()> m_den;
  double m_scale;
  double m_num_base = 0;
  double m_den_base = 0;
};

class Group;
// Attaches the root group `g` to `owner`: its statistics are named owner.name() + "." + stat name. Throws
// std::logic_error if owner already has a group. Defined with the SystemC part (stats_sc.cpp).
void attach(Group& g, sc_core::sc_object& owner);

// A set of statistics under a name prefix. A root group attaches to an sc_object; a child group adds
// ".name" to its parent's prefix.
class Group {
 public:
  static constexpr const char* kAttributeName = "vmsim.stats";
  // A root group not attached yet (a SystemC-free block's statistics; see attach).
  Group() = default;
  // Root group of `owner` (an sc_object): its statistics are named owner.name() + "." + stat name.
  template <class Owner, std::enable_if_t<!std::is_same_v<std::decay_t<Owner>, Group>, int> = 0>
  explicit Group(Owner& owner) {
    attach(*this, static_cast<sc_core::sc_object&>(owner));
  }
  // Child group: statistics named parent-prefix + name + "." + stat name.
  Group(Group& parent, const std::string& name);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  void add(Stat* s) { m_stats.push_back(s); }
  void reset();
  // Appends all records of this group and its children; prefix ends with '.'.
  void dump(const std::string& prefix, std::vector<Record>& out) const;

 private:
  friend void attach(Group& g, sc_core::sc_object& owner);
  std::string m_name;
  std::function<void()> m_detach;  // set by attach: removes the group from its owner
  std::vector<Stat*> m_stats;
  std::vector<Group*> m_children;
};

// Walks the SystemC object tree and collects every statistic, in hierarchy order.
std::vector<Record> collect_all();
// Warm-up reset of every statistic in the object tree.
void reset_all();

}  // namespace vmsim::stats
