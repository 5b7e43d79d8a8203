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
    if (end == text.c_str() || *end != '\0' || !(d >= 0) || d > 1.8e19 || std::floor(d) != d) return false;
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

void Loader::finish() const {
  if (!m_node.IsDefined() || m_node.IsNull() || !m_node.IsMap()) return;
  for (auto it = m_node.begin(); it != m_node.end(); ++it) {
    std::string key = it->first.Scalar();
    if (std::find(m_known.begin(), m_known.end(), key) == m_known.end()) {
      std::string msg = where(it->first, m_file) + ": unknown config key '" + join(key.c_str()) + "'";
      std::string guess = closest_key(key, m_known);
      if (!guess.empty()) msg += " (did you mean '" + join(guess.c_str()) + "'?)";
      throw InputError(msg);
    }
  }
}

void apply_override(YAML::Node& root, const std::string& assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw InputError("--set " + assignment + ": expected key.path=value");
  }
  std::string path = assignment.substr(0, eq);
  std::string value = assignment.substr(eq + 1);
  // Tokenize: "a.b[2].c" and "a.b.2.c" both become a, b, 2, c.
  std::vector<std::string> parts;
  std::string cur;
  for (char c : path) {
    if (c == '.' || c == '[' || c == ']') {
      if (!cur.empty()) parts.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  if (parts.empty()) throw InputError("--set " + assignment + ": empty key path");
  if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  // yaml-cpp nodes are handles: walk by reassigning a handle.
  YAML::Node node = root;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (node.IsSequence()) {
      auto idx = parse_uint(p);
      if (!idx || *idx >= node.size()) {
        throw InputError("--set " + assignment + ": '" + p + "' is not an index of the list (size " +
                         std::to_string(node.size()) + ")");
      }
      YAML::Node next = node[static_cast<size_t>(*idx)];
      node.reset(next);
    } else {
      if (node.IsScalar()) throw InputError("--set " + assignment + ": '" + p + "' is inside a plain value");
      YAML::Node next = node[p];
      if (!next.IsDefined() || next.IsNull()) {
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
      throw InputError("--set " + assignment + ": YAML syntax error in the value: " + e.msg);
    }
  } else {
    parsed = YAML::Node(value);
  }
  const std::string& last = parts.back();
  if (node.IsSequence()) {
    auto idx = parse_uint(last);
    if (!idx || *idx >= node.size()) throw InputError("--set " + assignment + ": bad list index '" + last + "'");
    node[static_cast<size_t>(*idx)] = parsed;
  } else {
    node[last] = parsed;
  }
}

YAML::Node load_yaml_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open: " + std::strerror(errno));
  try {
    YAML::Node n = YAML::Load(in);
    if (n.IsDefined() && !n.IsNull() && !n.IsMap()) {
      throw InputError(path + ":1: expected a map of config sections at the top level");
    }
    return n;
  } catch (const YAML::Exception& e) {
    throw InputError(path + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
}

}  // namespace vmsim::config
