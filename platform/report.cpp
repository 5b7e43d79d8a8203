// Run outputs.
#include "platform/report.hpp"

#include "common/units.hpp"

#include <cctype>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <unordered_map>

#include "common/error.hpp"
#include "platform/system.hpp"

namespace vmsim::platform {
namespace {

// Sum of records named <prefix>N<suffix> over all N (default prefix: system.core).
double sum_cores(const std::vector<stats::Record>& records, const std::string& suffix,
                 const std::string& prefix = "system.core") {
  double s = 0;
  for (const auto& r : records) {
    if (r.name.compare(0, prefix.size(), prefix) != 0) continue;
    size_t i = prefix.size();
    size_t j = i;
    while (j < r.name.size() && std::isdigit(static_cast<unsigned char>(r.name[j]))) ++j;
    if (j == i) continue;
    if (r.name.compare(j, std::string::npos, suffix) == 0) s += r.value;
  }
  return s;
}

double find(const std::vector<stats::Record>& records, const std::string& name) {
  for (const auto& r : records) {
    if (r.name == name) return r.value;
  }
  return 0;
}

bool find_record(const std::vector<stats::Record>& records, const std::string& name) {
  for (const auto& r : records) {
    if (r.name == name) return true;
  }
  return false;
}

uint64_t u(double v) { return static_cast<uint64_t>(v + 0.5); }


std::string csv_quote(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

std::string format_number(double v, bool integral) {
  if (integral) return std::to_string(u(v));
  std::ostringstream os;
  os << std::setprecision(10) << v;
  return os.str();
}

}  // namespace

nlohmann::ordered_json make_summary(const std::vector<stats::Record>& records, System& system) {
  nlohmann::ordered_json s;
  uint64_t hits = u(sum_cores(records, ".mmu.tlb.hits"));
  uint64_t misses = u(sum_cores(records, ".mmu.tlb.misses"));
  sc_core::sc_time end = system.end_time();
  s["accesses"] = u(sum_cores(records, ".accesses"));
  s["reads"] = u(sum_cores(records, ".reads"));
  s["writes"] = u(sum_cores(records, ".writes"));
  s["fetches"] = u(sum_cores(records, ".fetches"));
  s["instructions"] = u(sum_cores(records, ".instructions"));
  s["tlb_hits"] = hits;
  s["tlb_misses"] = misses;
  s["tlb_hit_rate"] = hits + misses ? static_cast<double>(hits) / static_cast<double>(hits + misses) : 0.0;
  if (find_record(records, "system.core0.mmu.kernel.translations")) {
    // firmware.kernel_virtual_access: the kernel's own translations, included in the counts above.
    s["kernel_tlb_hits"] = u(sum_cores(records, ".mmu.kernel.tlb_hits"));
    s["kernel_tlb_misses"] = u(sum_cores(records, ".mmu.kernel.tlb_misses"));
  }
  s["walks"] = u(sum_cores(records, ".mmu.walker.walks"));
  s["pte_reads"] = u(sum_cores(records, ".mmu.walker.pte_reads"));
  // The kernels that ran the processes: the full firmware's (system.os), or each guest's (system.<guest>.os;
  // the host's system.os then counts the hypervisor's faults of guest memory).
  std::vector<std::string> os;
  for (const ProcessKernel& k : system.process_kernels()) os.push_back(k.stats_prefix);
  if (os.empty()) os.push_back("system.os.");
  auto os_sum = [&](const std::string& name) {
    double v = 0;
    for (const std::string& prefix : os) v += find(records, prefix + name);
    return u(v);
  };
  nlohmann::ordered_json faults;
  faults["total"] = os_sum("faults.total");
  faults["demand_zero"] = os_sum("faults.demand_zero");
  faults["segv_no_vma"] = os_sum("faults.segv_no_vma");
  faults["segv_protection"] = os_sum("faults.segv_protection");
  faults["oom"] = os_sum("faults.oom");
  faults["minor"] = os_sum("faults.minor");
  faults["major"] = os_sum("faults.major");
  if (system.fixed_firmware() != nullptr) {
    // firmware.kind fixed: no OS statistics; every fault the cores took was a demand-zero fault.
    const fw::FixedFirmware& f = *system.fixed_firmware();
    faults["total"] = f.faults();
    faults["demand_zero"] = f.faults() - f.killed();
    faults["segv_no_vma"] = f.segv_noncanonical();  // as the kernel counts them
    faults["segv_protection"] = f.segv_kernel_half();
    faults["oom"] = f.killed() - f.segv_noncanonical() - f.segv_kernel_half();
    faults["minor"] = f.faults() - f.killed();
  }
  s["page_faults"] = faults;
  nlohmann::ordered_json swap;
  swap["swap_ins"] = u(find(records, "system.os.swap.swap_ins"));
  swap["swap_outs"] = u(find(records, "system.os.swap.swap_outs"));
  swap["reclaimed"] = u(find(records, "system.os.swap.reclaimed"));
  swap["blocked_time_ns"] = u(find(records, "system.os.swap.blocked_time"));
  swap["oom_kills"] = u(find(records, "system.os.swap.oom_kills"));
  s["swap"] = swap;
  s["processes_created"] = os_sum("processes.created");
  s["processes_exited"] = os_sum("processes.exited");
  s["processes_killed"] = os_sum("processes.killed");
  s["workload_distinct_pages"] = system.workload_distinct_pages();
  // Memory system: totals over the channels of every node (system.node<N>.dram.ch<C>.<stat>).
  uint64_t dram_reads = 0, dram_writes = 0, row_hits = 0;
  double lat_sum = 0, lat_samples = 0, dram_energy = 0, dram_power = 0;
  for (const stats::Record& r : records) {
    if (r.name.rfind("system.node", 0) != 0) continue;
    const size_t ch = r.name.find(".dram.ch");
    if (ch == std::string::npos) continue;
    const std::string leaf = r.name.substr(r.name.find('.', ch + 8) + 1);  // after "ch<C>."
    if (leaf == "reads") dram_reads += u(r.value);
    if (leaf == "writes") dram_writes += u(r.value);
    if (leaf == "row_hits") row_hits += u(r.value);
    if (leaf == "energy_total") dram_energy += r.value;
    if (leaf == "avg_power") dram_power += r.value;  // channels draw power side by side
    if (leaf == "read_latency.count") lat_samples += r.value;
    if (leaf == "read_latency.mean") lat_sum += r.value * find(records, r.name.substr(0, r.name.size() - 4) + "count");
  }
  s["dram_reads"] = dram_reads;
  s["dram_writes"] = dram_writes;
  s["dram_row_hit_rate"] =
      dram_reads + dram_writes ? static_cast<double>(row_hits) / static_cast<double>(dram_reads + dram_writes) : 0.0;
  s["dram_avg_read_latency_dram_cycles"] = lat_samples > 0 ? lat_sum / lat_samples : 0.0;
  s["dram_energy_pj"] = dram_energy;
  s["dram_energy_per_access_pj"] =
      dram_reads + dram_writes ? dram_energy / static_cast<double>(dram_reads + dram_writes) : 0.0;
  s["dram_avg_power_mw"] = dram_power;
  s["local_requests"] = u(find(records, "system.interconnect.local_requests"));
  s["remote_requests"] = u(find(records, "system.interconnect.remote_requests"));
  const mem::MemoryConfig& mc = system.config().system.memory;
  if (mc.heterogeneous()) {
    // Nodes that differ (their own DRAM, CPU-less, CXL): what each is, and each CXL link's traffic.
    nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
    const std::vector<mem::NodeRange> ranges = mc.ranges();
    for (size_t i = 0; i < mc.nodes.size(); ++i) {
      const mem::NodeConfig& n = mc.nodes[i];
      nlohmann::ordered_json e;
      e["node"] = i;
      e["memory"] = mc.model == mem::MemoryModel::Dram ? n.dram.preset : std::string("fixed");
      e["attach"] = config::enum_name(n.attach);
      e["cpus"] = n.cpus;
      e["size_bytes"] = ranges[i].size;
      if (n.attach == mem::NodeAttach::Cxl) {
        const std::string link = "system.cxl" + std::to_string(i) + ".";
        e["cxl_transfers"] = u(find(records, link + "transfers"));
        e["cxl_added_latency_ns"] = find(records, link + "added_latency");
        e["cxl_queue_wait_ns"] = find(records, link + "queue_wait");
      }
      nodes.push_back(e);
    }
    s["memory_nodes"] = nodes;
  }
  s["sim_time_ps"] = static_cast<uint64_t>(end.value() / 1000);  // time resolution is 1 fs
  s["sim_time_ns"] = static_cast<double>(end.value()) / 1e6;
  uint64_t acc = s["accesses"];
  double lat = sum_cores(records, ".time.translation") + sum_cores(records, ".time.data");
  s["avg_access_latency_core_cycles"] = acc ? lat / static_cast<double>(acc) : 0.0;
  // Where the average access's time went (timed modes); the parts add up to avg_access_latency_core_cycles.
  auto per_access = [&](double cycles) { return acc ? cycles / static_cast<double>(acc) : 0.0; };
  nlohmann::ordered_json b;
  b["l1_tlb"] = per_access(sum_cores(records, ".mmu.time.l1_tlb"));
  b["stlb"] = per_access(sum_cores(records, ".mmu.time.stlb"));
  b["walker"] = per_access(sum_cores(records, ".mmu.walker.time.pwc") + sum_cores(records, ".mmu.walker.time.steps"));
  b["walk_memory"] = per_access(sum_cores(records, ".mmu.walker.time.memory"));
  b["walk_wait"] = per_access(sum_cores(records, ".mmu.time.walk_wait"));
  b["data_memory"] = per_access(sum_cores(records, ".time.data"));
  if (system.caches() != nullptr) {
    // Where the data accesses' and the walks' memory time went inside the hierarchy (parts add up to
    // data_memory and walk_memory), and the hierarchy's counts.
    static const char* const kParts[] = {"l1", "l2", "llc", "interconnect_local", "interconnect_remote", "dram"};
    for (const char* what : {"data", "walk"}) {
      nlohmann::ordered_json parts;
      for (const char* p : kParts) parts[p] = per_access(sum_cores(records, std::string(".") + what + "_time." + p));
      b[std::string(what) + "_memory_parts"] = parts;
    }
    const double kilo_instr = static_cast<double>(s["instructions"].get<uint64_t>()) / 1000.0;
    nlohmann::ordered_json c;
    auto level = [&](const char* name, const std::string& prefix, const std::string& suffix) {
      const double acc_l = sum_cores(records, suffix + ".accesses", prefix);
      const double hits_l = sum_cores(records, suffix + ".hits", prefix);
      const double miss_l = sum_cores(records, suffix + ".misses", prefix);
      nlohmann::ordered_json l;
      l["accesses"] = u(acc_l);
      l["hits"] = u(hits_l);
      l["misses"] = u(miss_l);
      l["hit_rate"] = acc_l > 0 ? hits_l / acc_l : 0.0;
      l["mpki"] = kilo_instr > 0 ? miss_l / kilo_instr : 0.0;
      l["writebacks"] = u(sum_cores(records, suffix + ".writebacks", prefix));
      c[name] = l;
    };
    level("l1i", "system.caches.core", ".l1i");
    level("l1d", "system.caches.core", ".l1d");
    level("l2", "system.caches.core", ".l2");
    level("llc", "system.caches.socket", ".llc");
    c["c2c_transfers"] = u(sum_cores(records, ".llc.c2c_transfers", "system.caches.socket"));
    c["remote_transfers"] = u(sum_cores(records, ".llc.remote_transfers", "system.caches.socket"));
    double inval = 0;
    for (const char* l : {".l1i", ".l1d", ".l2"}) inval += sum_cores(records, std::string(l) + ".invalidations", "system.caches.core");
    inval += sum_cores(records, ".llc.invalidations", "system.caches.socket");
    c["invalidations"] = u(inval);
    nlohmann::ordered_json served;
    for (const char* where : {"l1", "l2", "llc", "peer_cache", "remote_cache", "memory"}) {
      double n = 0;
      for (unsigned lvl = 1; lvl <= 5; ++lvl) {
        n += find(records, "system.caches.pte_reads.level" + std::to_string(lvl) + "." + where);
      }
      served[where] = u(n);
    }
    c["pte_reads_served"] = served;
    s["caches"] = c;
  }
  s["access_latency_breakdown_core_cycles"] = b;
  if (system.hypervisor() != nullptr) s["virtualization"] = virtualization_summary(records, system);
  return s;
}

nlohmann::ordered_json virtualization_summary(const std::vector<stats::Record>& records, System& system) {
  fw::Hypervisor& hv = *system.hypervisor();
  const std::string n = ".mmu.walker.nested.";
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  nlohmann::ordered_json v;
  v["guests"] = hv.guest_count();
  nlohmann::ordered_json exits;
  // The hypervisor's exits (a guest kernel's own access to unbacked memory is charged as one too), and
  // those the cores' guest-mode accesses raised.
  exits["ept_violation"] = u(find(records, "system.hv.vm_exits.ept_violation"));
  exits["ept_misconfig"] = u(find(records, "system.hv.vm_exits.ept_misconfig"));
  exits["total"] = exits["ept_violation"].get<uint64_t>() + exits["ept_misconfig"].get<uint64_t>();
  exits["from_accesses"] = u(sum_cores(records, ".vm_exits"));
  v["vm_exits"] = exits;
  nlohmann::ordered_json viol;
  viol["guest_access"] = u(find(records, "system.hv.ept_violations.guest_access"));
  viol["guest_kernel_access"] = u(find(records, "system.hv.ept_violations.guest_kernel_access"));
  viol["prefault"] = u(find(records, "system.hv.ept_violations.prefault"));
  v["ept_violations"] = viol;
  v["host_faults"] = u(find(records, "system.hv.host_faults"));
  v["pages_backed"] = u(find(records, "system.hv.pages_backed"));
  v["invept_shootdowns"] = u(find(records, "system.hv.invept_shootdowns"));
  const double walks = sum_cores(records, n + "walks");
  const double refs = sum_cores(records, n + "references");
  const double translations = sum_cores(records, n + "ept_translations");
  const double ntlb = sum_cores(records, n + "nested_tlb_hits");
  const double ept_pwc = sum_cores(records, n + "ept_pwc_hits");
  const double guest_pwc = sum_cores(records, n + "guest_pwc_hits");
  v["walks_2d"] = u(walks);
  v["references"] = u(refs);
  v["references_per_walk"] = ratio(refs, walks);
  v["guest_reads"] = u(sum_cores(records, n + "guest_reads"));
  v["ept_reads"] = u(sum_cores(records, n + "ept_reads"));
  v["guest_ad_writes"] = u(sum_cores(records, n + "guest_ad_writes"));
  v["ept_ad_writes"] = u(sum_cores(records, n + "ept_ad_writes"));
  v["ept_translations"] = u(translations);
  // Where the guest-physical translations were answered: the nested TLB, else the EPT page-walk cache (a
  // partial EPT walk), else a full EPT walk from its root.
  v["nested_tlb_hit_rate"] = ratio(ntlb, translations);
  v["ept_pwc_hit_rate"] = ratio(ept_pwc, translations - ntlb);
  v["guest_pwc_hit_rate"] = ratio(guest_pwc, walks);
  v["guest_faults"] = u(sum_cores(records, n + "guest_faults"));
  // The 2D walks' time by dimension, and the time in VM-exit handling (core cycles, all cores).
  v["walk_time_guest_cycles"] = u(sum_cores(records, n + "time.guest"));
  v["walk_time_ept_cycles"] = u(sum_cores(records, n + "time.ept"));
  v["vm_exit_cycles"] = u(sum_cores(records, ".time.vm_exit"));
  v["vm_exit_cost_cycles"] = u(find(records, "system.hv.vm_exits.cycles"));
  return v;
}

void write_stats_json(const std::string& path, const nlohmann::ordered_json& summary,
                      const std::vector<stats::Record>& records, const std::vector<fw::KillReport>& kills) {
  nlohmann::ordered_json j;
  j["summary"] = summary;
  // The statistics object is appended to directly: ordered_json's operator[] searches its keys linearly,
  // which made this loop quadratic in the number of statistics (thousands of processes). A name seen
  // twice keeps its first place and takes the later value, as operator[] would do.
  nlohmann::ordered_json st = nlohmann::ordered_json::object();
  auto& members = st.get_ref<nlohmann::ordered_json::object_t&>();
  members.reserve(records.size());
  std::unordered_map<std::string, size_t> position;
  position.reserve(records.size());
  for (const auto& r : records) {
    nlohmann::ordered_json e;
    if (r.integral) {
      e["value"] = u(r.value);
    } else {
      e["value"] = r.value;
    }
    e["unit"] = r.unit;
    e["description"] = r.description;
    const auto [it, fresh] = position.emplace(r.name, members.size());
    if (fresh) {
      members.emplace_back(r.name, std::move(e));
    } else {
      (members.begin() + static_cast<std::ptrdiff_t>(it->second))->second = std::move(e);
    }
  }
  j["stats"] = st;
  nlohmann::ordered_json ks = nlohmann::ordered_json::array();
  for (const auto& k : kills) {
    nlohmann::ordered_json e;
    e["pid"] = k.pid;
    e["name"] = k.name;
    e["core"] = k.core;
    e["signal"] = k.signal;
    e["address"] = format_hex(k.va.value());
    e["access"] = to_string(k.kind);
    e["error_code"] = k.error_code;
    e["reason"] = k.reason;
    e["time_ps"] = k.time_ps;
    ks.push_back(e);
  }
  j["kills"] = ks;
  std::ofstream out(path);
  if (!out) throw InputError(path + ": cannot write");
  out << j.dump(2) << "\n";
}

void write_stats_csv(const std::string& path, const std::vector<stats::Record>& records) {
  std::ofstream out(path);
  if (!out) throw InputError(path + ": cannot write");
  out << "name,value,unit,description\n";
  for (const auto& r : records) {
    out << r.name << "," << format_number(r.value, r.integral) << "," << csv_quote(r.unit) << ","
        << csv_quote(r.description) << "\n";
  }
}

void print_summary(std::ostream& os, const nlohmann::ordered_json& s) {
  auto row = [&](const std::string& k, const std::string& v) {
    os << "  " << std::left << std::setw(30) << k << std::right << std::setw(18) << v << "\n";
  };
  auto num = [](const nlohmann::ordered_json& v) {
    if (v.is_number_float()) {
      std::ostringstream o;
      o << std::fixed << std::setprecision(3) << v.get<double>();
      return o.str();
    }
    return std::to_string(v.get<uint64_t>());
  };
  os << "vmsim summary\n";
  row("accesses", num(s["accesses"]));
  row("  reads / writes / fetches",
      num(s["reads"]) + "/" + num(s["writes"]) + "/" + num(s["fetches"]));
  row("instructions", num(s["instructions"]));
  row("TLB hits", num(s["tlb_hits"]));
  row("TLB misses", num(s["tlb_misses"]));
  row("TLB hit rate", num(s["tlb_hit_rate"]));
  if (s.contains("kernel_tlb_hits")) {
    row("  the kernel's hits / misses", num(s["kernel_tlb_hits"]) + "/" + num(s["kernel_tlb_misses"]));
  }
  row("page walks", num(s["walks"]));
  row("PTE reads", num(s["pte_reads"]));
  row("page faults", num(s["page_faults"]["total"]));
  row("  demand-zero", num(s["page_faults"]["demand_zero"]));
  row("  SIGSEGV (no VMA)", num(s["page_faults"]["segv_no_vma"]));
  row("  SIGSEGV (protection)", num(s["page_faults"]["segv_protection"]));
  row("  out of memory", num(s["page_faults"]["oom"]));
  row("  minor / major", num(s["page_faults"]["minor"]) + "/" + num(s["page_faults"]["major"]));
  row("swap-ins / swap-outs", num(s["swap"]["swap_ins"]) + "/" + num(s["swap"]["swap_outs"]));
  row("  pages reclaimed", num(s["swap"]["reclaimed"]));
  row("  time blocked on swap (ns)", num(s["swap"]["blocked_time_ns"]));
  row("  OOM kills", num(s["swap"]["oom_kills"]));
  row("distinct pages in workloads", num(s["workload_distinct_pages"]));
  row("processes created/exited/killed", num(s["processes_created"]) + "/" + num(s["processes_exited"]) + "/" +
                                            num(s["processes_killed"]));
  if (s.contains("caches")) {
    const nlohmann::ordered_json& c = s["caches"];
    for (const char* l : {"l1i", "l1d", "l2", "llc"}) {
      const nlohmann::ordered_json& v = c[l];
      if (v["accesses"].get<uint64_t>() == 0) continue;
      std::string name = l;
      for (char& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      row(name + " hit rate / MPKI", num(v["hit_rate"]) + "/" + num(v["mpki"]));
    }
    row("cache-to-cache / invalidations", num(c["c2c_transfers"]) + "/" + num(c["invalidations"]));
    const nlohmann::ordered_json& p = c["pte_reads_served"];
    row("PTE reads from L1/L2/LLC/mem", num(p["l1"]) + "/" + num(p["l2"]) + "/" + num(p["llc"]) + "/" +
                                             num(p["memory"]));
  }
  row("DRAM reads / writes", num(s["dram_reads"]) + "/" + num(s["dram_writes"]));
  row("  row-buffer hit rate", num(s["dram_row_hit_rate"]));
  row("  avg read latency (DRAM cyc)", num(s["dram_avg_read_latency_dram_cycles"]));
  row("  energy (mJ) / per access (nJ)", num(s["dram_energy_pj"].get<double>() / 1e9) + "/" +
                                             num(s["dram_energy_per_access_pj"].get<double>() / 1e3));
  row("  average power (mW)", num(s["dram_avg_power_mw"]));
  row("local / remote requests", num(s["local_requests"]) + "/" + num(s["remote_requests"]));
  if (s.contains("memory_nodes")) {
    for (const nlohmann::ordered_json& n : s["memory_nodes"]) {
      std::string what = n["attach"].get<std::string>() == "cxl" ? "CXL" : "";
      if (!n["cpus"].get<bool>()) what += what.empty() ? "no CPUs" : ", no CPUs";
      row("node " + num(n["node"]) + (what.empty() ? "" : " (" + what + ")"), n["memory"].get<std::string>());
      if (n.contains("cxl_transfers")) {
        row("  CXL transfers / added ns", num(n["cxl_transfers"]) + "/" + num(n["cxl_added_latency_ns"]));
        row("  CXL queue wait (ns)", num(n["cxl_queue_wait_ns"]));
      }
    }
  }
  row("avg access latency (core cycles)", num(s["avg_access_latency_core_cycles"]));
  const nlohmann::ordered_json& b = s["access_latency_breakdown_core_cycles"];
  row("  L1 TLB / STLB", num(b["l1_tlb"]) + "/" + num(b["stlb"]));
  row("  walker / walk memory", num(b["walker"]) + "/" + num(b["walk_memory"]));
  row("  waiting for walks", num(b["walk_wait"]));
  row("  data memory", num(b["data_memory"]));
  auto parts = [&](const char* key) {
    if (!b.contains(key)) return;
    const nlohmann::ordered_json& p = b[key];
    row("    L1 / L2 / LLC", num(p["l1"]) + "/" + num(p["l2"]) + "/" + num(p["llc"]));
    row("    interconnect local/remote", num(p["interconnect_local"]) + "/" + num(p["interconnect_remote"]));
    row("    DRAM", num(p["dram"]));
  };
  parts("data_memory_parts");
  if (b.contains("walk_memory_parts")) {
    row("  walk memory", num(b["walk_memory"]));
    parts("walk_memory_parts");
  }
  if (s.contains("virtualization")) {
    const nlohmann::ordered_json& v = s["virtualization"];
    os << "  Virtualization (" << num(v["guests"]) << (v["guests"].get<uint64_t>() == 1 ? " guest)\n" : " guests)\n");
    row("  VM exits (EPT violation/misc.)", num(v["vm_exits"]["ept_violation"]) + "/" +
                                                num(v["vm_exits"]["ept_misconfig"]));
    row("  EPT violations (access/kernel)", num(v["ept_violations"]["guest_access"]) + "/" +
                                                num(v["ept_violations"]["guest_kernel_access"]));
    row("  guest pages backed", num(v["pages_backed"]));
    row("  2D walks", num(v["walks_2d"]));
    row("  references per 2D walk", num(v["references_per_walk"]));
    row("  guest / EPT reads", num(v["guest_reads"]) + "/" + num(v["ept_reads"]));
    row("  nested TLB / EPT PWC hit rate", num(v["nested_tlb_hit_rate"]) + "/" + num(v["ept_pwc_hit_rate"]));
    row("  guest PWC hit rate", num(v["guest_pwc_hit_rate"]));
    row("  walk cycles guest / EPT", num(v["walk_time_guest_cycles"]) + "/" + num(v["walk_time_ept_cycles"]));
    row("  exit costs / access exits (cyc)", num(v["vm_exit_cost_cycles"]) + "/" + num(v["vm_exit_cycles"]));
  }
  row("simulated time (ns)", num(s["sim_time_ns"]));
}

}  // namespace vmsim::platform
