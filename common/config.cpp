// Scalar parsing/formatting and YAML helpers for the config framework.
#include "common/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <map>

namespace vmsim::config {

bool parse_value(const std::string& text, bool& out) {
  if (text == "true" || text == "on" || text == "yes") {
    out = true;
    return true;
  }
  if (text == "false" || text == "off" || text == "no") {
    out = false;
    return true;
  }
  return false;
}

bool parse_value(const std::string& text, uint64_t& out) {
  auto v = parse_uint(text);
  if (!v) {
    // Allow exact scientific notation such as 1e6 for counts.
    char* end = nullptr;
    double d = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0' || !(d >= 0) || d >= 18446744073709551616.0 || std::floor(d) != d) {
      return false;
    }
    if (text.find_first_of("eE") == std::string::npos) return false;
    out = static_cast<uint64_t>(d);
    return true;
  }
  out = *v;
  return true;
}

bool parse_value(const std::string& text, uint32_t& out) {
  uint64_t v;
  if (!parse_value(text, v) || v > UINT32_MAX) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

bool parse_value(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  double d = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || errno != 0 || !std::isfinite(d)) return false;
  out = d;
  return true;
}

bool parse_value(const std::string& text, std::string& out) {
  out = text;
  return true;
}

bool parse_value(const std::string& text, Duration& out) {
  auto v = parse_duration(text);
  if (v) out = *v;
  return v.has_value();
}

bool parse_value(const std::string& text, Bytes& out) {
  auto v = parse_bytes(text);
  if (v) out = *v;
  return v.has_value();
}

bool parse_value(const std::string& text, Frequency& out) {
  auto v = parse_frequency(text);
  if (v) out = *v;
  return v.has_value();
}

bool parse_value(const std::string& text, Address& out) {
  auto v = parse_uint(text);
  if (v) out.value = *v;
  return v.has_value();
}

bool parse_value(const std::string& text, Matrix& out) {
  Matrix m;
  try {
    YAML::Node n = YAML::Load(text);
    if (!n.IsSequence()) return false;
    for (const YAML::Node& row : n) {
      if (!row.IsSequence()) return false;
      std::vector<uint64_t> r;
      for (const YAML::Node& x : row) {
        uint64_t v = 0;
        if (!x.IsScalar() || !parse_value(x.Scalar(), v)) return false;
        r.push_back(v);
      }
      m.rows.push_back(std::move(r));
    }
  } catch (const YAML::Exception&) {
    return false;
  }
  out = std::move(m);
  return true;
}

std::string format_value(bool v) { return v ? "true" : "false"; }
std::string format_value(uint64_t v) { return std::to_string(v); }
std::string format_value(uint32_t v) { return std::to_string(v); }
std::string format_value(double v) {
  // Whole numbers as integers (150, not 1.5e+02).
  if (v == std::trunc(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  std::ostringstream os;
  os << std::setprecision(17) << v;
  // Shortest text that parses back to the same double.
  for (int p = 1; p <= 17; ++p) {
    std::ostringstream s;
    s << std::setprecision(p) << v;
    if (std::strtod(s.str().c_str(), nullptr) == v) return s.str();
  }
  return os.str();
}
std::string format_value(const std::string& v) { return v; }
std::string format_value(Duration v) { return format_duration(v); }
std::string format_value(Bytes v) { return format_bytes(v); }
std::string format_value(Frequency v) { return format_frequency(v); }
std::string format_value(Address v) { return format_hex(v.value); }

std::string format_value(const Matrix& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.rows.size(); ++i) {
    s += i ? ", [" : "[";
    for (size_t j = 0; j < v.rows[i].size(); ++j) s += (j ? ", " : "") + std::to_string(v.rows[i][j]);
    s += "]";
  }
  return s + "]";
}

const char* type_name(bool) { return "true | false"; }
const char* type_name(uint64_t) { return "integer"; }
const char* type_name(uint32_t) { return "integer"; }
const char* type_name(double) { return "number"; }
const char* type_name(const std::string&) { return "string"; }
const char* type_name(Duration) { return "duration (e.g. 30ns)"; }
const char* type_name(Bytes) { return "size (e.g. 4GiB)"; }
const char* type_name(Frequency) { return "frequency (e.g. 3GHz)"; }
const char* type_name(const Matrix&) { return "list of integer lists (e.g. [[10, 20], [20, 10]])"; }
const char* type_name(Address) { return "address (e.g. 0x10000000)"; }

std::string where(const YAML::Node& node, const std::string& file) {
  if (!node.IsDefined()) return file;
  YAML::Mark m = node.Mark();
  if (m.line < 0) return "--set";
  return file + ":" + std::to_string(m.line + 1);
}

std::string closest_key(const std::string& key, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& c : candidates) {
    std::vector<size_t> prev(c.size() + 1), cur(c.size() + 1);
    for (size_t j = 0; j <= c.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= key.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= c.size(); ++j) {
        size_t sub = prev[j - 1] + (key[i - 1] == c[j - 1] ? 0 : 1);
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
      }
      std::swap(prev, cur);
    }
    if (prev[c.size()] < best_d) {
      best_d = prev[c.size()];
      best = c;
    }
  }
  return best_d <= std::max<size_t>(2, key.size() / 3) ? best : "";
}

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// `inner` is `outer` or a key or element below it.
bool within(const std::string& inner, const std::string& outer) {
  return inner == outer || starts_with(inner, outer + ".") || starts_with(inner, outer + "[");
}

// Exact scientific notation (1e30) for an integer key that does not fit 64 bits.
bool scientific_too_large(const std::string& text) {
  if (text.find_first_of("eE") == std::string::npos) return false;
  char* end = nullptr;
  const double d = std::strtod(text.c_str(), &end);
  return end != text.c_str() && *end == '\0' && d >= 18446744073709551616.0 && std::isfinite(d);
}

void set_flow(YAML::Node node) {
  if (node.IsSequence() || node.IsMap()) {
    node.SetStyle(YAML::EmitterStyle::Flow);
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (node.IsMap()) {
        set_flow(it->second);
      } else {
        set_flow(*it);
      }
    }
  }
}

// The tag as written: yaml-cpp expands the "!!" shorthand to its URI prefix.
std::string shown_tag(const std::string& tag) {
  static const std::string kPrefix = "tag:yaml.org,2002:";
  return starts_with(tag, kPrefix) ? "!!" + tag.substr(kPrefix.size()) : tag;
}

struct TreeChecker {
  const std::string& file;
  bool lines;
  std::set<int> visited;  // collections already checked, by position: an alias is checked once

  std::string at(const YAML::Node& n) const { return lines ? where(n, file) : file; }

  void check_tag(const YAML::Node& n, const std::string& path) const {
    const std::string& tag = n.Tag();
    if (!tag.empty() && tag != "?" && tag != "!") {
      throw InputError(at(n) + ": " + (path.empty() ? "" : path + ": ") + "YAML tag '" + printable(shown_tag(tag)) +
                       "' is not allowed (a config holds plain values; write the value without a tag)");
    }
  }

  void check(const YAML::Node& n, const std::string& path) {
    check_tag(n, path);
    if (!n.IsMap() && !n.IsSequence()) return;
    const int pos = n.Mark().pos;
    if (pos >= 0 && !visited.insert(pos).second) return;
    if (n.IsSequence()) {
      size_t i = 0;
      for (const YAML::Node& item : n) check(item, path + "[" + std::to_string(i++) + "]");
      return;
    }
    std::map<std::string, int> first_line;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const YAML::Node key = it->first;  // a copy: the iterator yields temporaries
      if (!key.IsScalar()) {
        throw InputError(at(key) + ": " + (path.empty() ? "" : path + ": ") + "expected a key name, got a " +
                         (key.IsNull() ? "null" : key.IsMap() ? "map" : "list") + " as a map key");
      }
      const std::string name = key.Scalar();
      const std::string full = path.empty() ? name : path + "." + name;
      check_tag(key, full);
      auto [pos_it, fresh] = first_line.emplace(name, key.Mark().line + 1);
      if (!fresh) {
        throw InputError(at(key) + ": duplicate key '" + printable(full) + "'" +
                         (lines && pos_it->second > 0 ? " (first given at line " + std::to_string(pos_it->second) + ")"
                                                      : std::string()) +
                         ": each key may appear once in a map");
      }
      check(it->second, full);
    }
  }
};

// Line (1-based) of the marker starting the second document of `text`, or 0 if not found.
int second_document_line(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  int n = 0;
  bool content = false;
  while (std::getline(in, line)) {
    ++n;
    const bool marker = starts_with(line, "---") && (line.size() == 3 || line[3] == ' ' || line[3] == '\t' ||
                                                     line[3] == '\r');
    if (marker && content) return n;
    if (marker) {
      content = true;  // a marker opening the first document
      continue;
    }
    const size_t first = line.find_first_not_of(" \t\r");
    if (first != std::string::npos && line[first] != '#' && line[first] != '%') content = true;
  }
  return 0;
}

}  // namespace

std::string flow_text(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "";
  if (node.IsScalar()) return node.Scalar();
  YAML::Node copy = YAML::Clone(node);
  set_flow(copy);
  YAML::Emitter e;
  e.SetMapFormat(YAML::Flow);
  e.SetSeqFormat(YAML::Flow);
  e << copy;
  return e.c_str();
}

std::string range_hint(const std::string& text, uint64_t) {
  return uint_out_of_range(text) || scientific_too_large(text) ? "out of range (max 18446744073709551615)" : "";
}
std::string range_hint(const std::string& text, uint32_t) {
  const std::optional<uint64_t> v = parse_uint(text);
  return (v && *v > UINT32_MAX) || uint_out_of_range(text) || scientific_too_large(text)
             ? "out of range (max 4294967295)"
             : "";
}
std::string range_hint(const std::string& text, Duration) {
  return duration_out_of_range(text) ? "out of range (max 18446s)" : "";
}
std::string range_hint(const std::string& text, Bytes) {
  return bytes_out_of_range(text) ? "out of range (max 18446744073709551615 bytes, just under 16EiB)" : "";
}
std::string range_hint(const std::string& text, Frequency) {
  return frequency_out_of_range(text) ? "out of range (max 18446744073GHz)" : "";
}
std::string range_hint(const std::string& text, Address) {
  return uint_out_of_range(text) ? "out of range (max 0xffffffffffffffff)" : "";
}

std::string Loader::where_of(const YAML::Node& node, const std::string& full) const {
  if (m_overrides) {
    for (auto it = m_overrides->rbegin(); it != m_overrides->rend(); ++it) {
      if (within(full, it->path)) return "--set " + printable(it->text);
    }
    // A map or list an override created on its way to its key.
    if (!node.IsDefined() || node.Mark().line < 0) {
      for (auto it = m_overrides->rbegin(); it != m_overrides->rend(); ++it) {
        if (within(it->path, full)) return "--set " + printable(it->text);
      }
    }
  }
  return where(node, m_file);
}

void Loader::fail_empty(const YAML::Node& node, const char* key) const {
  YAML::Node at = node;
  for (auto it = m_node.begin(); it != m_node.end(); ++it) {
    if (it->first.Scalar() == key) at = it->first;
  }
  fail(at, key, "empty value (write a value, or leave the key out to get its default)");
}

void Loader::finish() const {
  if (!m_node.IsDefined() || m_node.IsNull() || !m_node.IsMap()) return;
  for (auto it = m_node.begin(); it != m_node.end(); ++it) {
    std::string key = it->first.Scalar();
    if (std::find(m_known.begin(), m_known.end(), key) == m_known.end()) {
      std::string msg = where_of(it->first, join(key.c_str())) + ": unknown config key '" +
                        printable(join(key.c_str())) + "'";
      std::string guess = closest_key(key, m_known);
      if (!guess.empty()) msg += " (did you mean '" + join(guess.c_str()) + "'?)";
      throw InputError(msg);
    }
  }
}

Override apply_override(YAML::Node& root, const std::string& assignment) {
  const std::string shown = "--set " + printable(assignment);
  auto bad = [&](const std::string& msg) { throw InputError(shown + ": " + msg); };
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos) bad("expected key.path=value");
  const std::string path = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  if (path.empty()) bad("empty key path (expected key.path=value)");
  // Grammar: NAME ('[' DIGITS ']')* ('.' NAME ('[' DIGITS ']')*)*; a NAME of digits is a list index too.
  std::vector<std::string> parts;
  size_t i = 0;
  for (;;) {
    const size_t start = i;
    while (i < path.size() && path[i] != '.' && path[i] != '[' && path[i] != ']') ++i;
    if (i == start) {
      bad("empty component in key path '" + printable(path) + "' (at character " + std::to_string(i + 1) + ")");
    }
    parts.push_back(path.substr(start, i - start));
    while (i < path.size() && path[i] == '[') {
      const size_t close = path.find(']', i);
      const std::string idx = close == std::string::npos ? "" : path.substr(i + 1, close - i - 1);
      if (close == std::string::npos || idx.empty() || idx.find_first_not_of("0123456789") != std::string::npos) {
        bad("bad list index in key path '" + printable(path) + "' (expected [N] with N a number)");
      }
      parts.push_back(idx);
      i = close + 1;
    }
    if (i == path.size()) break;
    if (path[i] != '.') {
      bad("unexpected '" + printable(path.substr(i, 1)) + "' in key path '" + printable(path) + "'");
    }
    ++i;
  }
  if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  Override applied{"", assignment};
  auto extend = [&](const YAML::Node& node, const std::string& part) {
    applied.path += node.IsSequence() ? "[" + part + "]" : (applied.path.empty() ? "" : ".") + part;
  };
  // yaml-cpp nodes are handles: walk by reassigning a handle.
  YAML::Node node = root;
  for (size_t k = 0; k + 1 < parts.size(); ++k) {
    const std::string& p = parts[k];
    if (node.IsSequence()) {
      auto idx = parse_uint(p);
      if (!idx || *idx >= node.size()) {
        bad("'" + printable(p) + "' is not an index of the list (size " + std::to_string(node.size()) + ")");
      }
      extend(node, p);
      YAML::Node next = node[static_cast<size_t>(*idx)];
      node.reset(next);
    } else {
      if (node.IsScalar()) bad("'" + printable(p) + "' is inside a plain value");
      extend(node, p);
      YAML::Node next = node[p];
      if (!next.IsDefined() || next.IsNull()) {
        const std::string& idx = parts[k + 1];
        if (idx.find_first_not_of("0123456789") == std::string::npos) {
          bad("'" + printable(p) + "' is not in the config, so it has no element [" + printable(idx) +
              "] (set the whole list instead: " + printable(p) + "=[{...}])");
        }
        node[p] = YAML::Node(YAML::NodeType::Map);
        next = node[p];
      }
      node.reset(next);
    }
  }
  // A value in YAML flow syntax ([...] or {...}) sets a list or map: --set system.memory.nodes=[{size: 1GiB}].
  YAML::Node parsed;
  if (!value.empty() && (value[0] == '[' || value[0] == '{')) {
    try {
      parsed = YAML::Load(value);
    } catch (const YAML::Exception& e) {
      bad("YAML syntax error in the value: " + e.msg);
    }
    check_yaml_tree(parsed, shown, false);
  } else {
    parsed = YAML::Node(value);
  }
  const std::string& last = parts.back();
  if (node.IsSequence()) {
    auto idx = parse_uint(last);
    if (!idx || *idx >= node.size()) bad("bad list index '" + printable(last) + "'");
    extend(node, last);
    node[static_cast<size_t>(*idx)] = parsed;
  } else {
    if (node.IsScalar()) bad("'" + printable(last) + "' is inside a plain value");
    extend(node, last);
    node[last] = parsed;
  }
  return applied;
}

void check_yaml_tree(const YAML::Node& node, const std::string& file, bool lines) {
  TreeChecker c{file, lines, {}};
  c.check(node, "");
}

YAML::Node parse_yaml(const std::string& text, const std::string& file) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    throw InputError(file + ":" + std::to_string(std::max(0, e.mark.line) + 1) + ": YAML syntax error: " + e.msg);
  }
  if (docs.size() > 1) {
    int line = second_document_line(text);
    if (line == 0 && docs[1].Mark().line >= 0) line = docs[1].Mark().line + 1;
    throw InputError(file + (line > 0 ? ":" + std::to_string(line) : std::string()) +
                     ": a second YAML document ('---'): a config file holds exactly one");
  }
  YAML::Node n = docs.empty() ? YAML::Node(YAML::NodeType::Null) : docs[0];
  check_yaml_tree(n, file);
  return n;
}

std::string read_input_file(const std::string& path) {
  check_input_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(printable(path, 200) + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw InputError(printable(path, 200) + ": read error");
  return ss.str();
}

YAML::Node load_yaml_file(const std::string& path) {
  YAML::Node n = parse_yaml(read_input_file(path), path);
  if (n.IsDefined() && !n.IsNull() && !n.IsMap()) {
    throw InputError(path + ":1: expected a map of config sections at the top level");
  }
  return n;
}

}  // namespace vmsim::config
