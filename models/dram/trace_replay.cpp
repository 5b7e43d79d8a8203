// Trace-replay driver: trace parsing, synthetic traces and the replay loop.
#include "models/dram/trace_replay.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/units.hpp"

namespace vmsim::dram {

TraceFileReader::TraceFileReader(const std::string& path) : m_name(path) {
  check_input_file(path);
  m_file = std::make_unique<std::ifstream>(path);
  m_in = m_file.get();
  if (!*m_file) throw InputError(printable(path, 200) + ": cannot open");
}

TraceFileReader::TraceFileReader(std::istream& in, std::string name) : m_in(&in), m_name(std::move(name)) {}

namespace {

// Whitespace-separated fields of a line, as views into it (no allocation).
struct Fields {
  std::string_view tok[4];
  int n = 0;
};

Fields split(std::string_view line) {
  Fields f;
  size_t i = 0;
  while (f.n < 4) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    if (i == line.size()) break;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    f.tok[f.n++] = line.substr(start, i - start);
  }
  // A fifth field counts as "4+".
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
  if (f.n == 4 && i < line.size()) f.n = 5;
  return f;
}

// Decimal or 0x hexadecimal, the whole token, no overflow.
bool parse_number(std::string_view t, uint64_t& out) {
  uint64_t v = 0;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    if (t.size() > 18) return false;
    for (size_t i = 2; i < t.size(); ++i) {
      const char c = t[i];
      unsigned d;
      if (c >= '0' && c <= '9') {
        d = static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        d = static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        d = static_cast<unsigned>(c - 'A' + 10);
      } else {
        return false;
      }
      v = (v << 4) | d;
    }
  } else {
    if (t.empty() || t.size() > 20) return false;
    for (char c : t) {
      if (c < '0' || c > '9') return false;
      const uint64_t d = static_cast<uint64_t>(c - '0');
      if (v > (UINT64_MAX - d) / 10) return false;
      v = v * 10 + d;
    }
  }
  out = v;
  return true;
}

bool iequals(std::string_view a, const char* b) {
  size_t i = 0;
  for (; i < a.size() && b[i] != 0; ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return i == a.size() && b[i] == 0;
}

}  // namespace

bool TraceFileReader::read_line(std::string_view& line) {
  constexpr size_t kBlock = 1 << 20;
  for (;;) {
    const char* begin = m_buf.data() + m_pos;
    const void* nl = m_pos < m_end ? std::memchr(begin, '\n', m_end - m_pos) : nullptr;
    if (nl != nullptr) {
      const size_t len = static_cast<size_t>(static_cast<const char*>(nl) - begin);
      line = std::string_view(begin, len);
      m_pos += len + 1;
      return true;
    }
    if (m_eof) {
      if (m_pos == m_end) return false;
      line = std::string_view(begin, m_end - m_pos);  // last line without a newline
      m_pos = m_end;
      return true;
    }
    // Keep the partial line, refill behind it.
    m_text.assign(begin, m_end - m_pos);
    m_buf.resize(std::max(kBlock, m_text.size() * 2));
    std::copy(m_text.begin(), m_text.end(), m_buf.begin());
    m_in->read(m_buf.data() + m_text.size(), static_cast<std::streamsize>(m_buf.size() - m_text.size()));
    const size_t got = static_cast<size_t>(m_in->gcount());
    if (m_in->bad()) throw InputError(m_name, m_line, "read error");
    m_pos = 0;
    m_end = m_text.size() + got;
    if (got == 0 || m_in->eof()) m_eof = true;
  }
}

bool TraceFileReader::next(TraceRecord& rec) {
  std::string_view raw;
  while (read_line(raw)) {
    ++m_line;
    std::string_view line = raw;
    const size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    const Fields f = split(line);
    if (f.n == 0) continue;
    auto fail = [&](const std::string& msg) { throw InputError(m_name, m_line, msg); };
    auto text = [](std::string_view v) { return printable(v); };
    const char* kForms = "expected 'ADDR READ|WRITE CYCLE' or 'LD|ST ADDR', numbers in 0x hex or decimal";
    if (f.n == 3) {
      uint64_t addr = 0;
      uint64_t cycle = 0;
      if (!parse_number(f.tok[0], addr)) fail("bad address '" + text(f.tok[0]) + "' (" + kForms + ")");
      const bool write = iequals(f.tok[1], "WRITE");
      if (!write && !iequals(f.tok[1], "READ")) {
        fail("bad operation '" + text(f.tok[1]) + "' (expected READ or WRITE)");
      }
      if (!parse_number(f.tok[2], cycle)) {
        const bool digits = !f.tok[2].empty() && f.tok[2].find_first_not_of("0123456789") == std::string_view::npos;
        fail("bad cycle '" + text(f.tok[2]) + "' (" +
             (digits ? "out of range (max " + std::to_string(kMaxTraceCycle) + ")" : "expected a non-negative integer") +
             ")");
      }
      if (cycle > kMaxTraceCycle) {
        fail("bad cycle '" + text(f.tok[2]) + "' (out of range (max " + std::to_string(kMaxTraceCycle) +
             " = 2^48 - 1 DRAM cycles))");
      }
      rec = TraceRecord{addr, write, true, cycle};
      return true;
    }
    if (f.n == 2) {
      const bool store = iequals(f.tok[0], "ST");
      if (!store && !iequals(f.tok[0], "LD")) fail("bad operation '" + text(f.tok[0]) + "' (" + kForms + ")");
      uint64_t addr = 0;
      if (!parse_number(f.tok[1], addr)) fail("bad address '" + text(f.tok[1]) + "' (" + kForms + ")");
      rec = TraceRecord{addr, store, false, 0};
      return true;
    }
    fail(std::string(kForms) + "; got " + std::to_string(std::min(f.n, 4)) + (f.n >= 4 ? "+" : "") + " fields");
  }
  return false;
}

SyntheticTrace::SyntheticTrace(const SyntheticTraceConfig& cfg) : m_cfg(cfg), m_rng(cfg.seed) {}

bool SyntheticTrace::next(TraceRecord& rec) {
  if (m_emitted >= m_cfg.count) return false;
  const uint64_t i = m_emitted++;
  if (m_cfg.pattern == TracePattern::Random) {
    const uint64_t blocks = std::max<uint64_t>(1, m_cfg.capacity / m_cfg.request_bytes);
    rec.address = (m_rng() % blocks) * m_cfg.request_bytes;
  } else {
    rec.address = m_cfg.start + i * m_cfg.stride;
  }
  rec.is_write = false;
  if (m_cfg.write_fraction > 0.0) {
    rec.is_write = double(m_rng() >> 11) * 0x1.0p-53 < m_cfg.write_fraction;
  }
  rec.timed = m_cfg.interval != 0;
  rec.cycle = i * m_cfg.interval;
  return true;
}

ReplayResult replay(MemorySystem& sys, TraceSource& src) {
  // One node covering every address; addresses above the capacity wrap (the mapper ignores upper bits).
  return replay({ReplayNode{0, UINT64_MAX, &sys}}, src, [](uint64_t) {});
}

ReplayResult replay(const std::vector<ReplayNode>& nodes, TraceSource& src,
                    const std::function<void(uint64_t)>& outside) {
  ReplayResult res;
  std::vector<Completion> done;
  done.reserve(1024);
  Cycle last_done = 0;
  auto collect = [&] {
    for (const Completion& c : done) last_done = std::max(last_done, c.cycle);
    done.clear();
  };
  auto advance_all = [&](Cycle t) {
    for (const ReplayNode& n : nodes) n.sys->advance_to(t, done);
  };
  auto next_event = [&] {
    Cycle e = kNever;
    for (const ReplayNode& n : nodes) e = std::min(e, n.sys->next_event());
    return e;
  };
  TraceRecord rec;
  Channel* ch = nullptr;
  uint64_t local = 0;
  auto route = [&]() {
    for (const ReplayNode& n : nodes) {
      if (rec.address >= n.base && rec.address - n.base < n.size) {
        local = rec.address - n.base;
        ch = &n.sys->channel(n.sys->channel_of(local));
        return;
      }
    }
    outside(rec.address);
    throw std::logic_error("replay: address outside every node");
  };
  bool have = src.next(rec);
  if (have) route();
  Cycle cur = 0;
  Cycle advanced = 0;  // all channels have issued every command before this cycle
  uint64_t id = 0;
  while (have) {
    const Cycle t = rec.timed ? std::max(cur, rec.cycle) : cur;
    if (t > advanced) {
      advance_all(t - 1);
      advanced = t;
      if (!done.empty()) collect();
    }
    if (!ch->can_accept(rec.is_write)) {
      cur = std::max(t, ch->issue_until_space(rec.is_write));
      continue;
    }
    ch->enqueue(Request{id++, local, rec.is_write, t});
    if (rec.is_write) {
      ++res.writes;
    } else {
      ++res.reads;
    }
    cur = t;
    have = src.next(rec);
    if (have) route();
  }
  for (;;) {
    const Cycle ne = next_event();
    if (ne == kNever) break;
    advance_all(ne);
    collect();
  }
  res.requests = id;
  res.cycles = last_done;
  for (const ReplayNode& n : nodes) {
    n.sys->finish_checkers(last_done);
    const ChannelStats node = n.sys->total_stats(last_done);
    res.energy.add(channel_energy(command_energy(n.sys->config()), node));
    res.stats.merge(node);
    res.violations += n.sys->violation_count();
    res.violation_report += n.sys->violation_report();
  }
  res.avg_read_latency = res.stats.avg_read_latency();
  const double seconds = double(last_done) * double(nodes.front().sys->config().timing.tCK_ps) * 1e-12;
  const double bytes = double(res.stats.bytes_read + res.stats.bytes_written);
  res.bandwidth_gbs = seconds > 0 ? bytes / seconds / 1e9 : 0.0;
  res.avg_power_mw = seconds > 0 ? res.energy.total() * 1e-12 / seconds * 1e3 : 0.0;
  res.energy_per_access_pj = res.requests ? res.energy.total() / double(res.requests) : 0.0;
  return res;
}

ReplayResult replay_trace_file(const DramConfig& cfg, const std::string& path) {
  TraceFileReader reader(path);
  MemorySystem sys(cfg);
  return replay(sys, reader);
}

std::string format_result(const ReplayResult& r, const DramConfig& cfg) {
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "preset               %s\n"
                "requests             %llu (%llu reads, %llu writes)\n"
                "simulated cycles     %llu (tCK %llu ps)\n"
                "avg read latency     %.2f cycles\n"
                "bandwidth            %.3f GB/s\n"
                "row hits/miss/confl  %llu / %llu / %llu\n"
                "timing violations    %llu\n"
                "energy               %.1f pJ (%.2f pJ/request), average power %.2f mW\n"
                "  act/pre/rd/wr/ref  %.1f / %.1f / %.1f / %.1f / %.1f pJ\n"
                "  background         %.1f pJ (active standby %.1f, precharged standby %.1f)\n",
                cfg.preset.c_str(), static_cast<unsigned long long>(r.requests),
                static_cast<unsigned long long>(r.reads), static_cast<unsigned long long>(r.writes),
                static_cast<unsigned long long>(r.cycles), static_cast<unsigned long long>(cfg.timing.tCK_ps),
                r.avg_read_latency, r.bandwidth_gbs, static_cast<unsigned long long>(r.stats.row_hits),
                static_cast<unsigned long long>(r.stats.row_misses),
                static_cast<unsigned long long>(r.stats.row_conflicts), static_cast<unsigned long long>(r.violations),
                r.energy.total(), r.energy_per_access_pj, r.avg_power_mw, r.energy.act, r.energy.pre, r.energy.rd,
                r.energy.wr, r.energy.ref, r.energy.background(), r.energy.active_standby,
                r.energy.precharged_standby);
  return buf;
}

}  // namespace vmsim::dram
