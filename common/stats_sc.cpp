// Statistics in the SystemC object tree: root groups are attributes of sc_objects; collection and
// warm-up reset walk the tree, so names follow the hierarchy.
#include <systemc>

#include <memory>
#include <stdexcept>
#include <unordered_set>

#include "common/stats.hpp"

namespace vmsim::stats {
namespace {

// The attribute that carries a root group on its sc_object.
class GroupAttribute : public sc_core::sc_attr_base {
 public:
  explicit GroupAttribute(Group& g) : sc_core::sc_attr_base(Group::kAttributeName), group(g) {}
  Group& group;
};

GroupAttribute* attribute_of(sc_core::sc_object* obj) {
  return dynamic_cast<GroupAttribute*>(obj->get_attribute(Group::kAttributeName));
}

template <class Fn>
void walk(sc_core::sc_object* obj, Fn&& fn) {
  fn(obj);
  for (sc_core::sc_object* child : obj->get_child_objects()) walk(child, fn);
}

template <class Fn>
void walk_all(Fn&& fn) {
  for (sc_core::sc_object* top : sc_core::sc_get_top_level_objects()) walk(top, fn);
}

}  // namespace

void attach(Group& g, sc_core::sc_object& owner) {
  auto attr = std::make_unique<GroupAttribute>(g);
  if (!owner.add_attribute(*attr)) {
    throw std::logic_error(std::string("stats group attached twice to ") + owner.name());
  }
  GroupAttribute* raw = attr.release();
  sc_core::sc_object* o = &owner;
  g.m_detach = [o, raw] {
    o->remove_attribute(Group::kAttributeName);
    delete raw;
  };
}

std::vector<Record> collect_all() {
  std::vector<Record> out;
  walk_all([&](sc_core::sc_object* obj) {
    if (GroupAttribute* a = attribute_of(obj)) a->group.dump(std::string(obj->name()) + ".", out);
  });
  std::unordered_set<std::string> seen;
  for (const Record& r : out) {
    if (!seen.insert(r.name).second) throw std::logic_error("duplicate statistic name " + r.name);
  }
  return out;
}

void reset_all() {
  walk_all([](sc_core::sc_object* obj) {
    if (GroupAttribute* a = attribute_of(obj)) a->group.reset();
  });
}

}  // namespace vmsim::stats
