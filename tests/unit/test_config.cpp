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

TEST(Units, LargeSizesAndOutOfRange) {
  EXPECT_EQ(parse_bytes("1PiB")->value, 1ull << 50);
  EXPECT_EQ(parse_bytes("2EiB")->value, 2ull << 60);
  EXPECT_EQ(parse_bytes("3PB")->value, 3000000000000000ull);
  EXPECT_EQ(parse_bytes("15EiB")->value, 15ull << 60);
  EXPECT_FALSE(parse_bytes("16EiB"));  // 2^64
  EXPECT_TRUE(bytes_out_of_range("16EiB"));
  EXPECT_TRUE(bytes_out_of_range("100000000TiB"));
  EXPECT_TRUE(bytes_out_of_range("18446744073709551616"));
  EXPECT_FALSE(bytes_out_of_range("1PiB"));
  EXPECT_FALSE(bytes_out_of_range("4 parsecs"));
  EXPECT_TRUE(duration_out_of_range("20000s"));
  EXPECT_FALSE(duration_out_of_range("18000s"));
  EXPECT_TRUE(frequency_out_of_range("20000000000GHz"));
  EXPECT_TRUE(uint_out_of_range("18446744073709551616"));
  EXPECT_TRUE(uint_out_of_range("0x1_0000_0000_0000_0000"));
  EXPECT_FALSE(uint_out_of_range("-1"));
  EXPECT_FALSE(uint_out_of_range("12x"));
  EXPECT_FALSE(uint_out_of_range(""));
}

TEST(Errors, PrintableEscapesAndCuts) {
  EXPECT_EQ(printable("ab"), "ab");
  EXPECT_EQ(printable(std::string("a\nb\0c\x1b\t\x7f", 8)), "a\\nb\\0c\\x1b\\t\\x7f");
  const std::string big(3 << 20, 'x');
  EXPECT_EQ(printable(big), std::string(80, 'x') + "... (3145728 bytes)");
  // The message itself is one line of at most 1000 bytes (plus the cut marker).
  const std::string msg = InputError("k: bad value '" + big + "'\nsecond line").what();
  EXPECT_EQ(msg.find('\n'), std::string::npos);
  EXPECT_LT(msg.size(), 1100u);
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

// A config as vmsim loads one: parse_yaml (one document, no duplicate keys, no tags), overrides recorded.
Root load_checked(const std::string& text, const std::vector<std::string>& sets = {}) {
  YAML::Node n = config::parse_yaml(text, "test.yaml");
  config::Overrides applied;
  for (const auto& s : sets) applied.push_back(config::apply_override(n, s));
  Root r;
  config::Loader l(n, "", "test.yaml", &applied);
  r.visit(l);
  l.finish();
  return r;
}

std::string checked_error(const std::string& text, const std::vector<std::string>& sets = {}) {
  try {
    load_checked(text, sets);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, DuplicateKeysAreErrorsInEveryMap) {
  EXPECT_EQ(checked_error("leaf:\n  entries: 4\n  entries: 2\n"),
            "test.yaml:3: duplicate key 'leaf.entries' (first given at line 2): each key may appear once in a map");
  EXPECT_NE(checked_error("leaf: {entries: 4}\nitems: []\nleaf: {entries: 2}\n").find("test.yaml:3: duplicate key 'leaf'"),
            std::string::npos);
  EXPECT_NE(checked_error("items:\n  - name: a\n    name: b\n").find("test.yaml:3: duplicate key 'items[0].name'"),
            std::string::npos);
  EXPECT_NE(checked_error("leaf: {color: red, color: green}\n").find("duplicate key 'leaf.color'"), std::string::npos);
  // Any map, also ones no struct reads (caught before an unknown-key error could hide it).
  EXPECT_NE(checked_error("x: {y: {z: 1, z: 2}}\n").find("duplicate key 'x.y.z'"), std::string::npos);
  EXPECT_NE(checked_error("leaf: {}\n", {"leaf={entries: 1, entries: 2}"}).find("--set leaf={entries: 1, entries: 2}: duplicate key 'entries'"),
            std::string::npos);
  EXPECT_NE(checked_error("? [a]\n: 1\n").find("expected a key name"), std::string::npos);
}

TEST(Config, ASecondDocumentIsAnError) {
  EXPECT_EQ(checked_error("leaf: {entries: 4}\n---\nleaf: {entries: 2}\n"),
            "test.yaml:2: a second YAML document ('---'): a config file holds exactly one");
  EXPECT_NE(checked_error("# c\n---\nleaf: {}\n---\n").find("test.yaml:4: a second YAML document"), std::string::npos);
  EXPECT_NE(checked_error("leaf: {}\n---\nfoo: [\n").find("YAML syntax error"), std::string::npos);
  EXPECT_EQ(load_checked("---\nleaf: {entries: 4}\n").leaf.entries, 4u);  // one document, explicitly opened
}

TEST(Config, EmptyValuesAreErrorsNamingTheKey) {
  EXPECT_EQ(checked_error("leaf:\n  entries:\n  color: red\n"),
            "test.yaml:2: leaf.entries: empty value (write a value, or leave the key out to get its default)");
  EXPECT_NE(checked_error("leaf: {latency: ~}\n").find("leaf.latency: empty value"), std::string::npos);
  EXPECT_NE(checked_error("leaf: {color: null}\n").find("leaf.color: empty value"), std::string::npos);
  EXPECT_NE(checked_error("leaf:\nitems: []\n").find("test.yaml:1: leaf: empty value"), std::string::npos);
  EXPECT_NE(checked_error("items:\n").find("items: empty value"), std::string::npos);
  EXPECT_NE(checked_error("items: [~]\n").find("items[0]: expected a map"), std::string::npos);
  // An empty string is a value, not an absent one.
  EXPECT_EQ(load_checked("items: [{name: ''}]\n").items[0].name, "");
  EXPECT_EQ(load_checked("leaf: {}\n").leaf.entries, 64u);
}

TEST(Config, TagsAreErrors) {
  EXPECT_EQ(checked_error("leaf: !!python/object:os.system {entries: 1}\n"),
            "test.yaml:1: leaf: YAML tag '!!python/object:os.system' is not allowed (a config holds plain values; "
            "write the value without a tag)");
  EXPECT_NE(checked_error("leaf: {entries: !!int 5}\n").find("leaf.entries: YAML tag '!!int'"), std::string::npos);
  EXPECT_NE(checked_error("items: [!foo {name: a}]\n").find("items[0]: YAML tag '!foo'"), std::string::npos);
  EXPECT_NE(checked_error("!!map {leaf: {}}\n").find("YAML tag '!!map'"), std::string::npos);
  EXPECT_EQ(load_checked("leaf: {entries: '5'}\n").leaf.entries, 5u);  // quoting is no tag
}

TEST(Config, OverridePathsAreStrictAndErrorsNameTheOption) {
  for (const char* bad : {"leaf..entries=3", ".leaf.entries=3", "leaf.entries.=3", "items[x].name=q", "items[0]name=q",
                          "items[.name=q", "leaf].entries=3", "=3"}) {
    const std::string e = checked_error("items: [{name: a}]\n", {bad});
    EXPECT_EQ(e.rfind(std::string("--set ") + bad + ": ", 0), 0u) << bad << " -> " << e;
  }
  EXPECT_NE(checked_error("{}", {"leaf..entries=3"}).find("empty component in key path 'leaf..entries'"),
            std::string::npos);
  EXPECT_EQ(checked_error("{}", {"items[0].name=a"}),
            "--set items[0].name=a: 'items' is not in the config, so it has no element [0] (set the whole list "
            "instead: items=[{...}])");
  EXPECT_EQ(load_checked("{}", {"items=[{name: w}]"}).items[0].name, "w");
  EXPECT_EQ(load_checked("items: [{name: a}]\n", {"items[0].name=z"}).items[0].name, "z");
  EXPECT_EQ(load_checked("items: [{name: a}]\n", {"items.0.name=y"}).items[0].name, "y");
  // A badly typed value is blamed on the option, never on the file's first line.
  EXPECT_EQ(checked_error("leaf: {entries: 4}\n", {"leaf.entries=abc"}),
            "--set leaf.entries=abc: leaf.entries: bad value 'abc' (expected integer)");
  EXPECT_EQ(checked_error("leaf: {entries: 4}\n", {"leaf={entries: abc}"}),
            "--set leaf={entries: abc}: leaf.entries: bad value 'abc' (expected integer)");
  EXPECT_EQ(checked_error("items: [{name: a}]\n", {"items=[{nme: b}]"}),
            "--set items=[{nme: b}]: unknown config key 'items[0].nme' (did you mean 'items[0].name'?)");
  // The file still answers for what the option did not touch.
  EXPECT_EQ(checked_error("leaf: {entries: x}\n", {"leaf.color=green"}).rfind("test.yaml:1: leaf.entries", 0), 0u);
}

struct WithMatrix {
  config::Matrix m;
  template <class V>
  void visit(V& v) {
    v("m", m, "", "a matrix");
  }
};

TEST(Config, MessagesAreOneLineWithCutValues) {
  YAML::Node n = config::parse_yaml("m:\n  - [10, 21]\n  - [21, x]\n", "test.yaml");
  WithMatrix w;
  config::Loader l(n, "", "test.yaml");
  try {
    w.visit(l);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("test.yaml:2: m: bad value '[[10, 21], [21, x]]' (expected list", 0), 0u)
        << e.what();
  }
  const std::string e = checked_error("leaf: {color: \"a\\x01b\\nc\\0d\"}\n");
  EXPECT_NE(e.find("bad value 'a\\x01b\\nc\\0d'"), std::string::npos) << e;
  const std::string big = checked_error("leaf: {color: " + std::string(3000000, 'q') + "}\n");
  EXPECT_NE(big.find("q... (3000000 bytes)' (expected red | green)"), std::string::npos);
  EXPECT_LT(big.size(), 300u);
  const std::string key = checked_error("leaf: {}\n", {"leaf." + std::string(100000, 'k') + "=1"});
  EXPECT_NE(key.find("... (100005 bytes)'"), std::string::npos) << key.substr(0, 300);
  EXPECT_LT(key.size(), 300u);
  EXPECT_EQ(checked_error("leaf: {entries: 99999999999999999999}\n"),
            "test.yaml:1: leaf.entries: bad value '99999999999999999999' (out of range (max 18446744073709551615))");
  EXPECT_NE(checked_error("leaf: {entries: 1e30}\n").find("out of range (max 18446744073709551615)"), std::string::npos);
  EXPECT_NE(checked_error("leaf: {latency: 99999s}\n").find("bad value '99999s' (out of range (max 18446s))"),
            std::string::npos);
}

struct Shelf {
  std::vector<Item> items = {Item{"first"}};
  template <class V>
  void visit(V& v) {
    v.list("items", items, "items starting from a prototype", Item{"proto"});
  }
};

TEST(Config, ListElementsStartFromThePrototype) {
  Shelf s;
  config::Loader l(config::parse_yaml("items: [{}, {name: b}]\n", "t.yaml"), "", "t.yaml");
  s.visit(l);
  l.finish();
  ASSERT_EQ(s.items.size(), 2u);
  EXPECT_EQ(s.items[0].name, "proto");
  EXPECT_EQ(s.items[1].name, "b");
  std::vector<config::KeyDoc> rows;
  Shelf d;
  config::Documenter doc(rows);
  d.visit(doc);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].path, "items[].name");
  EXPECT_EQ(rows[1].default_value, "proto");
}

TEST(Config, DirectoriesAreRefusedAsInputFiles) {
  const std::string dir = testing::TempDir();
  for (auto f : {+[](const std::string& p) { config::load_yaml_file(p); },
                 +[](const std::string& p) { config::read_input_file(p); }}) {
    try {
      f(dir);
      FAIL();
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(": is a directory"), std::string::npos) << e.what();
    }
  }
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
