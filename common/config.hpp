// Typed, self-documenting configuration: every config struct declares its keys once, in a visit()
// member, and the same declaration drives YAML loading (unknown keys are errors), the resolved-config
// dump and the generated key reference (docs/CONFIG.md).
//
// A config struct looks like:
//   struct TlbConfig {
//     uint64_t entries = 64;                      // the default, stated once
//     template <class V> void visit(V& v) {
//       v("entries", entries, "entries", "Number of TLB entries");
//     }
//     void validate(const std::string& path) const;   // throws InputError naming path.key and the value
//   };
// v.section("tlb", tlb, "...") nests a struct; v.list("processes", procs, "...") a list of structs.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/units.hpp"

namespace vmsim::config {

// An address-like integer written in hex ("0x10000000") in resolved configs.
struct Address {
  uint64_t value = 0;
};

// A matrix of integers, written in YAML as a list of rows: [[10, 20], [20, 10]]. Rows may differ in
// length here; the owning struct's validate() checks the shape it needs.
struct Matrix {
  std::vector<std::vector<uint64_t>> rows;
  bool operator==(const Matrix& o) const { return rows == o.rows; }
};

// Specialize for each config enum: static const std::vector<std::pair<E, const char*>>& table().
template <class E>
struct EnumNames;

template <class T, class = void>
struct IsEnumConfig : std::false_type {};
template <class T>
struct IsEnumConfig<T, std::void_t<decltype(EnumNames<T>::table())>> : std::true_type {};

template <class E>
const char* enum_name(E e) {
  for (const auto& [value, name] : EnumNames<E>::table()) {
    if (value == e) return name;
  }
  return "?";
}

template <class E>
std::string enum_choices() {
  std::string s;
  for (const auto& [value, name] : EnumNames<E>::table()) {
    if (!s.empty()) s += " | ";
    s += name;
  }
  return s;
}

// Text <-> value for every scalar type a config may hold. parse_value returns false if malformed.
bool parse_value(const std::string& text, bool& out);
bool parse_value(const std::string& text, uint64_t& out);
bool parse_value(const std::string& text, uint32_t& out);
bool parse_value(const std::string& text, double& out);
bool parse_value(const std::string& text, std::string& out);
bool parse_value(const std::string& text, Duration& out);
bool parse_value(const std::string& text, Bytes& out);
bool parse_value(const std::string& text, Frequency& out);
bool parse_value(const std::string& text, Address& out);
bool parse_value(const std::string& text, Matrix& out);  // flow YAML: [[1, 2], [3, 4]]
template <class E, std::enable_if_t<IsEnumConfig<E>::value, int> = 0>
bool parse_value(const std::string& text, E& out) {
  for (const auto& [value, name] : EnumNames<E>::table()) {
    if (text == name) {
      out = value;
      return true;
    }
  }
  return false;
}

std::string format_value(bool v);
std::string format_value(uint64_t v);
std::string format_value(uint32_t v);
std::string format_value(double v);
std::string format_value(const std::string& v);
std::string format_value(Duration v);
std::string format_value(Bytes v);
std::string format_value(Frequency v);
std::string format_value(Address v);
std::string format_value(const Matrix& v);
template <class E, std::enable_if_t<IsEnumConfig<E>::value, int> = 0>
std::string format_value(E v) {
  return enum_name(v);
}

// What kind of text a key takes, for error messages and the key reference.
const char* type_name(bool);
const char* type_name(uint64_t);
const char* type_name(uint32_t);
const char* type_name(double);
const char* type_name(const std::string&);
const char* type_name(Duration);
const char* type_name(Bytes);
const char* type_name(Frequency);
const char* type_name(Address);
const char* type_name(const Matrix&);
template <class E, std::enable_if_t<IsEnumConfig<E>::value, int> = 0>
std::string type_name(E) {
  return enum_choices<E>();
}

// "file:line" of a YAML node, or "--set" for values given on the command line.
std::string where(const YAML::Node& node, const std::string& file);

// Closest candidate to `key` by edit distance, or "" if none is close.
std::string closest_key(const std::string& key, const std::vector<std::string>& candidates);

// A node as one line of YAML flow text ([[10, 20], [20, 10]], {size: 1GiB}), for error messages and --set
// values; "" for a null node.
std::string flow_text(const YAML::Node& node);

// "out of range (max M)" if `text` is well formed for the field's type but too large for it, else "".
std::string range_hint(const std::string& text, uint64_t);
std::string range_hint(const std::string& text, uint32_t);
std::string range_hint(const std::string& text, Duration);
std::string range_hint(const std::string& text, Bytes);
std::string range_hint(const std::string& text, Frequency);
std::string range_hint(const std::string& text, Address);
template <class T>
std::string range_hint(const std::string& /*text*/, const T& /*field*/) {
  return "";
}

// A command-line override as applied: `path` in the Loader's spelling (processes[0].workload.kind), `text`
// the assignment as given (processes.0.workload.kind=random). Errors about values an override wrote name
// the option ("--set processes.0.workload.kind=x: ...") rather than the config file.
struct Override {
  std::string path;
  std::string text;
};
using Overrides = std::vector<Override>;

// Loads a struct from a YAML map, rejecting unknown keys, empty (null) values and malformed values with
// InputError.
class Loader {
 public:
  Loader(YAML::Node node, std::string path, std::string file, const Overrides* overrides = nullptr)
      : m_node(std::move(node)), m_path(std::move(path)), m_file(std::move(file)), m_overrides(overrides) {}

  template <class T>
  void operator()(const char* key, T& field, const char* /*unit*/, const char* /*desc*/) {
    m_known.emplace_back(key);
    YAML::Node value = get(key);
    if (!value.IsDefined()) return;
    if (value.IsNull()) fail_empty(value, key);
    std::string text;
    if constexpr (std::is_same_v<T, Matrix>) {
      if (value.IsSequence()) {
        text = flow_text(value);
      } else if (value.IsScalar()) {
        text = value.Scalar();
      } else {
        fail(value, key, "expected " + std::string(type_name(field)));
      }
    } else {
      if (!value.IsScalar()) fail(value, key, "expected a single value (" + std::string(type_name(field)) + ")");
      text = value.Scalar();
    }
    if (!parse_value(text, field)) {
      std::string why = range_hint(text, field);
      if (why.empty()) why = "expected " + std::string(type_name(field));
      fail(value, key, "bad value '" + printable(text) + "' (" + why + ")");
    }
  }

  template <class S>
  void section(const char* key, S& sub, const char* /*desc*/) {
    m_known.emplace_back(key);
    YAML::Node value = get(key);
    if (value.IsDefined() && value.IsNull()) fail_empty(value, key);
    if (value.IsDefined() && !value.IsMap()) fail(value, key, "expected a map of keys");
    Loader child(value, join(key), m_file, m_overrides);
    sub.visit(child);
    child.finish();
  }

  // A list whose elements start from `S{}`.
  template <class S>
  void list(const char* key, std::vector<S>& items, const char* desc) {
    list(key, items, desc, S{});
  }
  // A list whose elements start from `prototype`: a key an element leaves out takes the prototype's value.
  template <class S>
  void list(const char* key, std::vector<S>& items, const char* /*desc*/, const S& prototype) {
    m_known.emplace_back(key);
    YAML::Node value = get(key);
    if (!value.IsDefined()) return;
    if (value.IsNull()) fail_empty(value, key);
    if (!value.IsSequence()) fail(value, key, "expected a list");
    items.clear();
    for (size_t i = 0; i < value.size(); ++i) {
      YAML::Node elem = value[i];
      std::string elem_path = join(key) + "[" + std::to_string(i) + "]";
      if (!elem.IsMap()) throw InputError(where_of(elem, elem_path) + ": " + elem_path + ": expected a map of keys");
      S item = prototype;
      Loader child(elem, elem_path, m_file, m_overrides);
      item.visit(child);
      child.finish();
      items.push_back(std::move(item));
    }
  }

  // Throws InputError for the first key present in the YAML map but not declared by the struct.
  void finish() const;

 private:
  std::string join(const char* key) const { return m_path.empty() ? key : m_path + "." + key; }
  // Const lookup: never inserts into the tree. Undefined node if absent or if this level is empty.
  YAML::Node get(const char* key) const {
    if (!m_node.IsDefined() || !m_node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    return m_node[key];
  }
  // Where a value at key path `full` came from: "--set ASSIGNMENT" if an override wrote it, else file:line.
  std::string where_of(const YAML::Node& node, const std::string& full) const;
  [[noreturn]] void fail(const YAML::Node& node, const char* key, const std::string& msg) const {
    throw InputError(where_of(node, join(key)) + ": " + join(key) + ": " + msg);
  }
  // An empty value has no position of its own (yaml-cpp marks where the parser found it ended): the
  // error names the key's line.
  [[noreturn]] void fail_empty(const YAML::Node& node, const char* key) const;

  YAML::Node m_node;
  std::string m_path;
  std::string m_file;
  const Overrides* m_overrides;
  std::vector<std::string> m_known;
};

// Emits a struct, every key with its value, as YAML (the resolved config).
class Writer {
 public:
  explicit Writer(YAML::Emitter& out) : m_out(out) {}
  template <class T>
  void operator()(const char* key, const T& field, const char* /*unit*/, const char* /*desc*/) {
    if constexpr (std::is_same_v<T, Matrix>) {
      m_out << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (const auto& row : field.rows) {
        m_out << YAML::Flow << YAML::BeginSeq;
        for (uint64_t x : row) m_out << x;
        m_out << YAML::EndSeq;
      }
      m_out << YAML::EndSeq;
    } else {
      m_out << YAML::Key << key << YAML::Value << format_value(field);
    }
  }
  template <class S>
  void section(const char* key, S& sub, const char* /*desc*/) {
    m_out << YAML::Key << key << YAML::Value << YAML::BeginMap;
    sub.visit(*this);
    m_out << YAML::EndMap;
  }
  template <class S>
  void list(const char* key, std::vector<S>& items, const char* desc, const S& /*prototype*/) {
    list(key, items, desc);
  }
  template <class S>
  void list(const char* key, std::vector<S>& items, const char* /*desc*/) {
    m_out << YAML::Key << key << YAML::Value << YAML::BeginSeq;
    for (auto& item : items) {
      m_out << YAML::BeginMap;
      item.visit(*this);
      m_out << YAML::EndMap;
    }
    m_out << YAML::EndSeq;
  }

 private:
  YAML::Emitter& m_out;
};

// One row of the key reference.
struct KeyDoc {
  std::string path;
  std::string type;
  std::string unit;
  std::string default_value;
  std::string description;
  bool is_section = false;
};

// Collects the key reference of a struct from its defaults.
class Documenter {
 public:
  explicit Documenter(std::vector<KeyDoc>& rows, std::string path = "") : m_rows(rows), m_path(std::move(path)) {}
  template <class T>
  void operator()(const char* key, const T& field, const char* unit, const char* desc) {
    m_rows.push_back({join(key), type_name(field), unit, format_value(field), desc, false});
  }
  template <class S>
  void section(const char* key, S& sub, const char* desc) {
    m_rows.push_back({join(key), "map", "", "", desc, true});
    Documenter child(m_rows, join(key));
    sub.visit(child);
  }
  template <class S>
  void list(const char* key, std::vector<S>& items, const char* desc) {
    list(key, items, desc, S{});
  }
  // The defaults documented for an element are the prototype's.
  template <class S>
  void list(const char* key, std::vector<S>& /*items*/, const char* desc, const S& prototype) {
    m_rows.push_back({join(key), "list", "", "", desc, true});
    S item = prototype;
    Documenter child(m_rows, join(key) + "[]");
    item.visit(child);
  }

 private:
  std::string join(const char* key) const { return m_path.empty() ? key : m_path + "." + key; }
  std::vector<KeyDoc>& m_rows;
  std::string m_path;
};

// Applies "a.b.c=value" (list elements as a.0.b or a[0].b) to a YAML tree, creating maps as needed, and
// returns it as applied. A value in flow syntax ([...] or {...}) sets a list or map. Throws InputError
// naming the assignment if it has no '=', an empty or malformed key path (a..b, a.[0], a[x]), indexes
// past the end of a list, or a flow value with a syntax error, a duplicate key or a tag.
Override apply_override(YAML::Node& root, const std::string& assignment);

// Rejects what yaml-cpp accepts but a config must not contain, anywhere in the tree: a key given twice in
// one map ("FILE:LINE: duplicate key 'K' (first at line L)"), a key that is not a plain name, and any
// explicit tag (!!python/object, !!str, !foo). Throws InputError naming file and line (`lines` false: the
// file only, for text that is not a file, such as a --set value).
void check_yaml_tree(const YAML::Node& node, const std::string& file, bool lines = true);

// Parses YAML text holding exactly one document and checks it with check_yaml_tree. Throws InputError
// "FILE:LINE: YAML syntax error: ..." or "FILE:LINE: a second YAML document ('---') ...".
YAML::Node parse_yaml(const std::string& text, const std::string& file);

// Reads a whole input file. Throws InputError "FILE: cannot open: REASON" or "FILE: is a directory".
std::string read_input_file(const std::string& path);

// Reads a YAML config file (read_input_file, parse_yaml) whose top level must be a map (or empty).
YAML::Node load_yaml_file(const std::string& path);

// Throws InputError "<path>.<key>: bad value 'V' (MSG)" unless ok.
inline void require(bool ok, const std::string& path, const char* key, const std::string& value,
                    const std::string& msg) {
  if (!ok) {
    std::string full = path.empty() ? key : path + "." + key;
    throw InputError(full + ": bad value '" + printable(value) + "' (" + msg + ")");
  }
}

}  // namespace vmsim::config
