// Unit tests of unit parsing and the config framework: loading, unknown keys, overrides, errors.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "common/config.hpp"
#include "common/units.hpp"

namespace vmsim {
namespace {

TEST(Units, ParsesDurations) {
  EXPECT_EQ(parse_duration("30ns")->fs, 30000000u);
  EXPECT_EQ(parse_duration("1.5us")->fs, 1500000000u);
  EXPECT_EQ(parse_duration("250ps")->fs, 250000u);
  EXPECT_EQ(parse_duration("0")->fs, 0u);
  EXPECT_FALSE(parse_duration("30"));
  EXPECT_FALSE(parse_duration("-3ns"));
  EXPECT_FALSE(parse_duration("3 parsecs"));
  EXPECT_FALSE(parse_duration("0.5fs"));  // below the resolution
}

TEST(Units, ParsesSizesAndFrequencies) {
  EXPECT_EQ(parse_bytes("4GiB")->value, 4ull << 30);
  EXPECT_EQ(parse_bytes("64KiB")->value, 65536u);
  EXPECT_EQ(parse_bytes("1MB")->value, 1000000u);
  EXPECT_EQ(parse_bytes("0x1000")->value, 4096u);
  EXPECT_EQ(parse_bytes("1.5KiB")->value, 1536u);
  EXPECT_FALSE(parse_bytes("4GB!"));
  EXPECT_FALSE(parse_bytes("lots"));
  EXPECT_EQ(parse_frequency("3GHz")->hz, 3000000000u);
  EXPECT_EQ(parse_frequency("1.6GHz")->hz, 1600000000u);
  EXPECT_EQ(parse_frequency("3GHz")->period_fs(), 333333u);
  EXPECT_FALSE(parse_frequency("0GHz"));
  EXPECT_FALSE(parse_frequency("3"));
}

TEST(Units, FormatsRoundTrip) {
  for (const char* t : {"30ns", "1us", "333333fs", "2ms"}) EXPECT_EQ(format_duration(*parse_duration(t)), t);
  for (const char* t : {"4GiB", "64KiB", "4097B", "3MiB"}) EXPECT_EQ(format_bytes(*parse_bytes(t)), t);
  for (const char* t : {"3GHz", "800MHz", "1600MHz"}) EXPECT_EQ(format_frequency(*parse_frequency(t)), t);
  EXPECT_EQ(parse_uint("1_000_000"), 1000000u);
  EXPECT_EQ(parse_uint("0xff"), 255u);
  EXPECT_FALSE(parse_uint("18446744073709551616"));  // 2^64 overflows
}

enum class Color { Red, Green };

}  // namespace
}  // namespace vmsim

template <>
struct vmsim::config::EnumNames<vmsim::Color> {
  static const std::vector<std::pair<vmsim::Color, const char*>>& table() {
    static const std::vector<std::pair<vmsim::Color, const char*>> t = {{vmsim::Color::Red, "red"},
                                                                        {vmsim::Color::Green, "green"}};
    return t;
  }
};

namespace vmsim {
namespace {

struct Leaf {
  uint64_t entries = 64;
  Duration latency = Duration::ns(10);
  Color color = Color::Red;
  template <class V>
  void visit(V& v) {
    v("entries", entries, "entries", "how many");
    v("latency", latency, "time", "how long");
    v("color", color, "", "which");
  }
};

struct Item {
  std::string name = "x";
  template <class V>
  void visit(V& v) {
    v("name", name, "", "label");
  }
};

struct Root {
  Leaf leaf;
  std::vector<Item> items;
  template <class V>
  void visit(V& v) {
    v.section("leaf", leaf, "a leaf");
    v.list("items", items, "some items");
  }
};

Root load(const std::string& text, const std::vector<std::string>& sets = {}) {
  YAML::Node n = YAML::Load(text);
  for (const auto& s : sets) config::apply_override(n, s);
  Root r;
  config::Loader l(n, "", "test.yaml");
  r.visit(l);
  l.finish();
  return r;
}

std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  try {
    load(text, sets);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, DefaultsWhenAbsent) {
  Root r = load("{}");
  EXPECT_EQ(r.leaf.entries, 64u);
  EXPECT_EQ(r.leaf.latency.fs, 10000000u);
  EXPECT_TRUE(r.items.empty());
}

TEST(Config, LoadsNestedValuesAndLists) {
  Root r = load("leaf:\n  entries: 128\n  latency: 3ns\n  color: green\nitems:\n  - name: a\n  - name: b\n");
  EXPECT_EQ(r.leaf.entries, 128u);
  EXPECT_EQ(r.leaf.latency.fs, 3000000u);
  EXPECT_EQ(r.leaf.color, Color::Green);
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_EQ(r.items[1].name, "b");
}

TEST(Config, UnknownKeyNamesPathFileAndLine) {
  std::string e = error_of("leaf:\n  entries: 128\n  entires: 3\n");
  EXPECT_NE(e.find("test.yaml:3"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown config key 'leaf.entires'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'leaf.entries'"), std::string::npos) << e;
  EXPECT_NE(error_of("lief: {}\n").find("unknown config key 'lief'"), std::string::npos);
  EXPECT_NE(error_of("items:\n  - nme: a\n").find("'items[0].nme'"), std::string::npos);
}

TEST(Config, BadValueNamesKeyAndValue) {
  std::string e = error_of("leaf:\n  latency: 10 furlongs\n");
  EXPECT_NE(e.find("test.yaml:2"), std::string::npos) << e;
  EXPECT_NE(e.find("leaf.latency: bad value '10 furlongs'"), std::string::npos) << e;
  e = error_of("leaf:\n  color: blue\n");
  EXPECT_NE(e.find("expected red | green"), std::string::npos) << e;
  e = error_of("leaf:\n  entries: -4\n");
  EXPECT_NE(e.find("bad value '-4'"), std::string::npos) << e;
  e = error_of("leaf: 5\n");
  EXPECT_NE(e.find("leaf: expected a map"), std::string::npos) << e;
}

TEST(Config, OverridesApplyAndAreChecked) {
  Root r = load("items:\n  - name: a\n", {"leaf.entries=256", "items.0.name=z", "leaf.color=green"});
  EXPECT_EQ(r.leaf.entries, 256u);
  EXPECT_EQ(r.items[0].name, "z");
  EXPECT_EQ(r.leaf.color, Color::Green);
  std::string e = error_of("{}", {"leaf.entrys=3"});
  EXPECT_NE(e.find("--set"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown config key 'leaf.entrys'"), std::string::npos) << e;
  EXPECT_THROW(load("{}", {"noequals"}), InputError);
  EXPECT_THROW(load("items: []\n", {"items.3.name=q"}), InputError);
}

TEST(Config, WriterEmitsEveryKeyAndRoundTrips) {
  Root r = load("leaf:\n  entries: 7\n");
  YAML::Emitter out;
  out << YAML::BeginMap;
  config::Writer w(out);
  r.visit(w);
  out << YAML::EndMap;
  std::string text = out.c_str();
  EXPECT_NE(text.find("latency: 10ns"), std::string::npos) << text;
  Root again = load(text);
  EXPECT_EQ(again.leaf.entries, 7u);
  EXPECT_EQ(again.leaf.latency.fs, r.leaf.latency.fs);
}

TEST(Config, DocumenterListsEveryKeyWithDefault) {
  std::vector<config::KeyDoc> rows;
  Root r;
  config::Documenter d(rows);
  r.visit(d);
  std::vector<std::string> paths;
  for (const auto& k : rows) paths.push_back(k.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"leaf", "leaf.entries", "leaf.latency", "leaf.color", "items",
                                             "items[].name"}));
  EXPECT_EQ(rows[2].default_value, "10ns");
}

TEST(Config, MissingAndMalformedFiles) {
  try {
    config::load_yaml_file("/nonexistent/x.yaml");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.yaml: cannot open"), std::string::npos);
  }
  std::string path = testing::TempDir() + "bad.yaml";
  std::ofstream(path) << "a: [1, 2\nb: 3\n";
  try {
    config::load_yaml_file(path);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("YAML syntax error"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace vmsim
