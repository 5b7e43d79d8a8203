// Trace-replay driver: trace parsing, synthetic traces and the replay loop.
#include "models/dram/trace_replay.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <sstream>
#include <vector>

#include "models/common/error.hpp"
#include "models/common/units.hpp"

namespace vmsim::dram {
namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

TraceFileReader::TraceFileReader(const std::string& path)
    : m_file(std::make_unique<std::ifstream>(path)), m_in(m_file.get()), m_name(path) {
  if (!*m_file) throw InputError(path + ": cannot open");
}

TraceFileReader::TraceFileReader(std::istream& in, std::string name) : m_in(&in), m_name(std::move(name)) {}

bool TraceFileReader::next(TraceRecord& rec) {
  while (std::getline(*m_in, m_text)) {
    ++m_line;
    const size_t hash = m_text.find('#');
    if (hash != std::string::npos) m_text.resize(hash);
    std::istringstream fields(m_text);
    std::string tok[4];
    int n = 0;
    while (n < 4 && fields >> tok[n]) ++n;
    if (n == 0) continue;
    auto fail = [&](const std::string& msg) { throw InputError(m_name, m_line, msg); };
    const char* kForms = "expected '0xADDR READ|WRITE CYCLE' or 'LD|ST 0xADDR'";
    if (n == 3) {
      auto addr = parse_uint(tok[0]);
      if (!addr) fail("bad address '" + tok[0] + "' (" + kForms + ")");
      const std::string op = upper(tok[1]);
      if (op != "READ" && op != "WRITE") fail("bad operation '" + tok[1] + "' (expected READ or WRITE)");
      auto cycle = parse_uint(tok[2]);
      if (!cycle) fail("bad cycle '" + tok[2] + "' (expected a non-negative integer)");
      rec = TraceRecord{*addr, op == "WRITE", true, *cycle};
      return true;
    }
    if (n == 2) {
      const std::string op = upper(tok[0]);
      if (op != "LD" && op != "ST") fail("bad operation '" + tok[0] + "' (" + kForms + ")");
      auto addr = parse_uint(tok[1]);
      if (!addr) fail("bad address '" + tok[1] + "' (" + kForms + ")");
      rec = TraceRecord{*addr, op == "ST", false, 0};
      return true;
    }
    fail(std::string(kForms) + ", got " + std::to_string(n) + (n == 4 ? "+" : "") + " fields");
  }
  if (m_in->bad()) throw InputError(m_name, m_line, "read error");
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
    res.stats.merge(n.sys->total_stats(last_done));
    res.violations += n.sys->violation_count();
    res.violation_report += n.sys->violation_report();
  }
  res.avg_read_latency = res.stats.avg_read_latency();
  const double seconds = double(last_done) * double(nodes.front().sys->config().timing.tCK_ps) * 1e-12;
  const double bytes = double(res.stats.bytes_read + res.stats.bytes_written);
  res.bandwidth_gbs = seconds > 0 ? bytes / seconds / 1e9 : 0.0;
  return res;
}

ReplayResult replay_trace_file(const DramConfig& cfg, const std::string& path) {
  TraceFileReader reader(path);
  MemorySystem sys(cfg);
  return replay(sys, reader);
}

std::string format_result(const ReplayResult& r, const DramConfig& cfg) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "preset               %s\n"
                "requests             %llu (%llu reads, %llu writes)\n"
                "simulated cycles     %llu (tCK %llu ps)\n"
                "avg read latency     %.2f cycles\n"
                "bandwidth            %.3f GB/s\n"
                "row hits/miss/confl  %llu / %llu / %llu\n"
                "timing violations    %llu\n",
                cfg.preset.c_str(), static_cast<unsigned long long>(r.requests),
                static_cast<unsigned long long>(r.reads), static_cast<unsigned long long>(r.writes),
                static_cast<unsigned long long>(r.cycles), static_cast<unsigned long long>(cfg.timing.tCK_ps),
                r.avg_read_latency, r.bandwidth_gbs, static_cast<unsigned long long>(r.stats.row_hits),
                static_cast<unsigned long long>(r.stats.row_misses),
                static_cast<unsigned long long>(r.stats.row_conflicts), static_cast<unsigned long long>(r.violations));
  return buf;
}

}  // namespace vmsim::dram
