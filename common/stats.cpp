// Statistics: registration, reset and dumping (no SystemC; stats_sc.cpp attaches groups to the object tree).
#include "common/stats.hpp"

#include <algorithm>

namespace vmsim::stats {

Stat::Stat(Group& group, std::string name, std::string unit, std::string description)
    : m_name(std::move(name)), m_unit(std::move(unit)), m_description(std::move(description)) {
  group.add(this);
}

void Scalar::dump(const std::string& prefix, std::vector<Record>& out) const {
  out.push_back({prefix + name(), unit(), description(), static_cast<double>(m_value), true, true});
}

void Average::dump(const std::string& prefix, std::vector<Record>& out) const {
  out.push_back({prefix + name(), unit(), description(), mean(), false});
  out.push_back({prefix + name() + ".samples", "count", "samples in " + name(), static_cast<double>(m_count), true, true});
}

Histogram::Histogram(Group& group, std::string name, std::string unit, std::string description, uint64_t bucket_width,
                     unsigned buckets)
    : Stat(group, std::move(name), std::move(unit), std::move(description)),
      m_width(bucket_width ? bucket_width : 1),
      m_counts(buckets < 2 ? 2 : buckets, 0) {}

void Histogram::reset() {
  std::fill(m_counts.begin(), m_counts.end(), 0);
  m_sum = 0;
  m_count = 0;
  m_min = UINT64_MAX;
  m_max = 0;
}

void Histogram::dump(const std::string& prefix, std::vector<Record>& out) const {
  const std::string n = prefix + name();
  out.push_back({n + ".count", "count", "samples in " + name(), static_cast<double>(m_count), true, true});
  out.push_back({n + ".mean", unit(), description() + " (mean)", mean(), false});
  out.push_back({n + ".min", unit(), description() + " (minimum)", m_count ? static_cast<double>(m_min) : 0.0, true});
  out.push_back({n + ".max", unit(), description() + " (maximum)", static_cast<double>(m_max), true});
  for (size_t i = 0; i < m_counts.size(); ++i) {
    if (m_counts[i] == 0) continue;
    std::string range = std::to_string(i * m_width) + "-" +
                        (i + 1 == m_counts.size() ? std::string("inf") : std::to_string((i + 1) * m_width - 1));
    out.push_back({n + ".bucket." + range, "count", "samples of " + name() + " in [" + range + "] " + unit(),
                   static_cast<double>(m_counts[i]), true, true});
  }
}

Formula::Formula(Group& group, std::string name, std::string unit, std::string description, std::function<double()> fn,
                 bool integral)
    : Stat(group, std::move(name), std::move(unit), std::move(description)), m_fn(std::move(fn)), m_integral(integral) {}

void Formula::dump(const std::string& prefix, std::vector<Record>& out) const {
  out.push_back({prefix + name(), unit(), description(), m_fn(), m_integral});
}

Counter::Counter(Group& group, std::string name, std::string unit, std::string description,
                 std::function<uint64_t()> fn)
    : Stat(group, std::move(name), std::move(unit), std::move(description)), m_fn(std::move(fn)) {}

void Counter::dump(const std::string& prefix, std::vector<Record>& out) const {
  out.push_back({prefix + name(), unit(), description(), static_cast<double>(m_fn() - m_base), true, true});
}

Amount::Amount(Group& group, std::string name, std::string unit, std::string description, std::function<double()> fn)
    : Stat(group, std::move(name), std::move(unit), std::move(description)), m_fn(std::move(fn)) {}

void Amount::dump(const std::string& prefix, std::vector<Record>& out) const {
  // Not a `count`: timeseries.csv sums integer deltas of counts, so an amount appears there as its value.
  out.push_back({prefix + name(), unit(), description(), m_fn() - m_base, false, false});
}

Ratio::Ratio(Group& group, std::string name, std::string unit, std::string description, std::function<double()> num,
             std::function<double()> den, double scale)
    : Stat(group, std::move(name), std::move(unit), std::move(description)),
      m_num(std::move(num)),
      m_den(std::move(den)),
      m_scale(scale) {}

void Ratio::dump(const std::string& prefix, std::vector<Record>& out) const {
  const double den = m_den() - m_den_base;
  const double value = den > 0 ? (m_num() - m_num_base) / den * m_scale : 0.0;
  out.push_back({prefix + name(), unit(), description(), value, false});
}

Group::Group(Group& parent, const std::string& name) : m_name(name) { parent.m_children.push_back(this); }

Group::~Group() {
  if (m_detach) m_detach();
}

void Group::reset() {
  for (Stat* s : m_stats) s->reset();
  for (Group* g : m_children) g->reset();
}

void Group::dump(const std::string& prefix, std::vector<Record>& out) const {
  for (const Stat* s : m_stats) s->dump(prefix, out);
  for (const Group* g : m_children) g->dump(prefix + g->m_name + ".", out);
}

}  // namespace vmsim::stats
