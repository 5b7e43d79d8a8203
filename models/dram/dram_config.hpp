// DRAM configuration: organisation, JEDEC timing parameters (filled from a standard's speed-bin table)
// and controller policies, declared once for YAML loading, the resolved dump and the key reference.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/config.hpp"

namespace vmsim::dram {

// Which JEDEC family a preset belongs to; decides the shape of per-bank refresh.
enum class Standard { Ddr4, Ddr5, Lpddr5, Hbm2 };

// What one per-bank refresh command covers, or None if the standard has no per-bank refresh.
enum class PerBankRefresh {
  None,
  SameBankAllGroups,  // DDR5 REFsb: bank index b in every bank group of the rank
  SingleBank,         // LPDDR5 REFpb, HBM2 REFSB: one bank
};

enum class PagePolicy { Open, Closed, Adaptive };
enum class SchedulerKind { Fcfs, FrFcfs };
enum class RefreshMode { Off, AllBank, PerBank };

// Geometry of the memory behind one controller configuration. A "channel" of the controller is one
// independent command/data bus: DDR5 has two 32-bit subchannels per DIMM channel, HBM2 two pseudo
// channels per channel, so the simulator runs channels * subchannels Channel objects.
struct Organisation {
  uint64_t channels = 0;
  uint64_t subchannels = 0;
  uint64_t ranks = 0;
  uint64_t bank_groups = 0;
  uint64_t banks_per_group = 0;
  uint64_t rows = 0;
  uint64_t columns = 0;
  uint64_t bus_bits = 0;
  uint64_t burst_length = 0;

  template <class V>
  void visit(V& v) {
    v("channels", channels, "channels", "Independent DIMM channels (or HBM channels)");
    v("subchannels", subchannels, "subchannels",
      "Independent buses per channel: DDR5 32-bit subchannels, HBM2 pseudo channels; 1 otherwise");
    v("ranks", ranks, "ranks", "Ranks per (sub)channel");
    v("bank_groups", bank_groups, "groups", "Bank groups per rank (1 = no bank groups)");
    v("banks_per_group", banks_per_group, "banks", "Banks in each bank group");
    v("rows", rows, "rows", "Rows per bank");
    v("columns", columns, "columns", "Column addresses per row (device columns; a burst uses burst_length of them)");
    v("bus_bits", bus_bits, "bits", "Data bus width of one (sub)channel");
    v("burst_length", burst_length, "beats", "Burst length BL in data beats");
  }
  void validate(const std::string& path) const;

  uint64_t channel_count() const { return channels * subchannels; }
  uint64_t banks_per_rank() const { return bank_groups * banks_per_group; }
  uint64_t banks_per_channel() const { return ranks * banks_per_rank(); }
  uint64_t burst_bytes() const { return bus_bits / 8 * burst_length; }
  uint64_t row_bytes() const { return columns / burst_length * burst_bytes(); }
  uint64_t channel_bytes() const { return banks_per_channel() * rows * row_bytes(); }
  uint64_t capacity_bytes() const { return channel_count() * channel_bytes(); }
};

// JEDEC timing parameters of one speed bin, all in cycles of the command clock tCK (nCK) except
// tCK itself. A zero means "missing" and fails validation (tRFCsb/tRREFD only matter for per-bank
// refresh).
struct TimingParams {
  uint64_t tCK_ps = 0;
  uint64_t CL = 0;
  uint64_t CWL = 0;
  uint64_t tRCD = 0;
  uint64_t tRP = 0;
  uint64_t tRAS = 0;
  uint64_t tRC = 0;
  uint64_t tBL = 0;
  uint64_t tCCD_S = 0;
  uint64_t tCCD_L = 0;
  uint64_t tCCD_L_WR = 0;
  uint64_t tRRD_S = 0;
  uint64_t tRRD_L = 0;
  uint64_t tFAW = 0;
  uint64_t tWR = 0;
  uint64_t tWTR_S = 0;
  uint64_t tWTR_L = 0;
  uint64_t tRTP = 0;
  uint64_t tRFC = 0;
  uint64_t tREFI = 0;
  uint64_t tRFCsb = 0;
  uint64_t tRREFD = 0;
  uint64_t tRTRS = 0;
  uint64_t rtw_bubble = 0;

  template <class V>
  void visit(V& v) {
    v("tCK_ps", tCK_ps, "ps", "Command clock period");
    v("CL", CL, "nCK", "Read latency: RD to first data beat");
    v("CWL", CWL, "nCK", "Write latency: WR to first data beat");
    v("tRCD", tRCD, "nCK", "ACT to RD/WR, same bank");
    v("tRP", tRP, "nCK", "PRE to ACT (or REF), same bank");
    v("tRAS", tRAS, "nCK", "ACT to PRE, same bank");
    v("tRC", tRC, "nCK", "ACT to ACT, same bank (>= tRAS + tRP)");
    v("tBL", tBL, "nCK", "Data burst duration on the bus (BL/2 for DDR)");
    v("tCCD_S", tCCD_S, "nCK", "Column to column, different bank group");
    v("tCCD_L", tCCD_L, "nCK", "Read to read (and column to column), same bank group");
    v("tCCD_L_WR", tCCD_L_WR, "nCK", "Write to write, same bank group (DDR5 tCCD_L_WR; = tCCD_L elsewhere)");
    v("tRRD_S", tRRD_S, "nCK", "ACT to ACT, different bank group");
    v("tRRD_L", tRRD_L, "nCK", "ACT to ACT, same bank group");
    v("tFAW", tFAW, "nCK", "Window holding at most four ACTs per rank");
    v("tWR", tWR, "nCK", "Write recovery: end of write data to PRE");
    v("tWTR_S", tWTR_S, "nCK", "End of write data to RD, different bank group");
    v("tWTR_L", tWTR_L, "nCK", "End of write data to RD, same bank group");
    v("tRTP", tRTP, "nCK", "RD to PRE, same bank");
    v("tRFC", tRFC, "nCK", "All-bank refresh cycle time");
    v("tREFI", tREFI, "nCK", "Average refresh interval (all-bank)");
    v("tRFCsb", tRFCsb, "nCK", "Per-bank refresh cycle time (0 if the standard has none)");
    v("tRREFD", tRREFD, "nCK", "Per-bank refresh to ACT or per-bank refresh of another bank");
    v("tRTRS", tRTRS, "nCK", "Idle cycles on the data bus when it switches ranks");
    v("rtw_bubble", rtw_bubble, "nCK",
      "Idle cycles between read data and write data on the bus (preamble/turnaround; DDR4: 2)");
  }
  // Throws InputError naming the key for missing (zero) or impossible values. per_bank_refresh:
  // tRFCsb and tRREFD are then required.
  void validate(const std::string& path, bool per_bank_refresh) const;
};

// One supply rail of a device as its datasheet's IDD table gives it: nominal voltage and the currents of
// the standard IDD measurement loops (per device, mA). The second rail is VPP (DDR4, DDR5, HBM2) or VDD1
// (LPDDR5, whose VDD2H takes the first rail); a rail with voltage 0 contributes nothing.
struct PowerRail {
  std::string name;
  double voltage_V = 0;
  double IDD0_mA = 0;
  double IDD2N_mA = 0;
  double IDD3N_mA = 0;
  double IDD4R_mA = 0;
  double IDD4W_mA = 0;
  double IDD5B_mA = 0;

  template <class V>
  void visit(V& v) {
    v("name", name, "", "Datasheet name of the rail (VDD, VPP, VDD2H, VDD1); only a label");
    v("voltage_V", voltage_V, "V", "Nominal supply voltage (0 = rail not modelled)");
    v("IDD0_mA", IDD0_mA, "mA", "One-bank ACTIVATE-to-PRECHARGE current at tRC (IDD0 / IPP0)");
    v("IDD2N_mA", IDD2N_mA, "mA", "Precharge standby current, all banks closed (IDD2N / IPP2N)");
    v("IDD3N_mA", IDD3N_mA, "mA", "Active standby current, a bank open (IDD3N / IPP3N)");
    v("IDD4R_mA", IDD4R_mA, "mA", "Burst read current (IDD4R / IPP4R)");
    v("IDD4W_mA", IDD4W_mA, "mA", "Burst write current (IDD4W / IPP4W)");
    v("IDD5B_mA", IDD5B_mA, "mA", "Burst (all-bank) refresh current at tRFC (IDD5B / IPP5B)");
  }
  void validate(const std::string& path) const;
};

// Datasheet currents and voltages for the energy model (models/dram/energy.hpp): per device, times
// `devices` per rank. Filled by the preset; the configs/dram/*.yaml files state them with their source.
struct PowerParams {
  double devices = 0;
  PowerRail rail1;
  PowerRail rail2;

  template <class V>
  void visit(V& v) {
    v("devices", devices, "devices",
      "Devices whose currents add up in one rank of one (sub)channel (HBM2: the fraction of the quoted "
      "channel a pseudo channel is)");
    v.section("rail1", rail1, "Main core supply (VDD; LPDDR5: VDD2H)");
    v.section("rail2", rail2, "Second supply (VPP; LPDDR5: VDD1)");
  }
  void validate(const std::string& path) const;
};

struct ControllerConfig {
  PagePolicy page_policy = PagePolicy::Open;
  SchedulerKind scheduler = SchedulerKind::FrFcfs;
  RefreshMode refresh = RefreshMode::AllBank;
  uint64_t read_queue = 32;
  uint64_t write_queue = 32;
  uint64_t write_high_watermark = 24;
  uint64_t write_low_watermark = 8;
  std::string address_mapping = "ro:ra:ba:co:bg:ch";
  bool xor_bank_hash = false;
  uint64_t request_bytes = 64;
  bool timing_checker = false;
  uint64_t latency_bin = 8;
  uint64_t latency_bins = 64;

  template <class V>
  void visit(V& v) {
    v("page_policy", page_policy, "",
      "open: keep rows open; closed: auto-precharge unless another queued request hits the row; "
      "adaptive: per-bank hit predictor chooses");
    v("scheduler", scheduler, "", "fcfs: oldest request first; frfcfs: row hits first, then oldest");
    v("refresh", refresh, "", "off | all_bank (REF every tREFI) | per_bank (REFsb/REFpb, if the standard has it)");
    v("read_queue", read_queue, "entries", "Read queue depth per (sub)channel");
    v("write_queue", write_queue, "entries", "Write queue depth per (sub)channel");
    v("write_high_watermark", write_high_watermark, "entries", "Start draining writes when this many are queued");
    v("write_low_watermark", write_low_watermark, "entries", "Stop draining writes at this many");
    v("address_mapping", address_mapping, "",
      "Physical address bits MSB to LSB as fields ro:ra:bg:ba:co:ch; a field may be split with widths, "
      "e.g. ro:ra:ba:co:bg:co1:ch");
    v("xor_bank_hash", xor_bank_hash, "", "XOR bank and bank-group bits with the low row bits");
    v("request_bytes", request_bytes, "bytes", "Bytes per request (cache line); a multiple of the burst size");
    v("timing_checker", timing_checker, "", "Check every issued command with the independent JEDEC checker");
    v("latency_bin", latency_bin, "DRAM cycles", "Read latency histogram bin width");
    v("latency_bins", latency_bins, "bins", "Read latency histogram bins (the last one collects the overflow)");
  }
  void validate(const std::string& path) const;
};

constexpr const char* kDefaultPreset = "DDR4-3200AA";

// The whole DRAM configuration. `preset` names a speed bin of a standard (see standards.hpp); setting
// it (in code via set_preset or in YAML) refills organisation and timing from the table, and keys
// given after it override single values.
struct DramConfig {
  std::string preset = kDefaultPreset;
  Standard standard = Standard::Ddr4;                       // derived from preset, not a key
  PerBankRefresh per_bank_refresh = PerBankRefresh::None;   // derived from preset, not a key
  bool preset_known = true;                                  // derived from preset, not a key
  Organisation organisation;
  TimingParams timing;
  ControllerConfig controller;
  PowerParams power;

  DramConfig();
  // Fills standard, organisation, timing and power from the named preset. Returns false (and leaves them
  // unchanged) if the preset is unknown; validate() then reports it.
  bool set_preset(const std::string& name);

  template <class V>
  void visit(V& v) {
    const std::string before = preset;
    v("preset", preset, "", "Standard and speed bin, e.g. DDR4-3200AA, DDR4-2400R, DDR5-4800B, LPDDR5-6400, HBM2-2000");
    if (preset != before) set_preset(preset);
    v.section("organisation", organisation, "Channels, ranks, banks, rows, columns, bus");
    v.section("timing", timing, "JEDEC timing parameters in command-clock cycles");
    v.section("controller", controller, "Scheduler, page policy, queues, refresh, address mapping");
    v.section("power", power, "Datasheet currents and voltages for the DRAM energy model");
  }
  // Throws InputError naming path.key and the bad value.
  void validate(const std::string& path) const;

  uint64_t bursts_per_request() const { return controller.request_bytes / organisation.burst_bytes(); }
};

}  // namespace vmsim::dram

template <>
struct vmsim::config::EnumNames<vmsim::dram::PagePolicy> {
  static const std::vector<std::pair<vmsim::dram::PagePolicy, const char*>>& table() {
    static const std::vector<std::pair<vmsim::dram::PagePolicy, const char*>> t = {
        {vmsim::dram::PagePolicy::Open, "open"},
        {vmsim::dram::PagePolicy::Closed, "closed"},
        {vmsim::dram::PagePolicy::Adaptive, "adaptive"}};
    return t;
  }
};

template <>
struct vmsim::config::EnumNames<vmsim::dram::SchedulerKind> {
  static const std::vector<std::pair<vmsim::dram::SchedulerKind, const char*>>& table() {
    static const std::vector<std::pair<vmsim::dram::SchedulerKind, const char*>> t = {
        {vmsim::dram::SchedulerKind::Fcfs, "fcfs"}, {vmsim::dram::SchedulerKind::FrFcfs, "frfcfs"}};
    return t;
  }
};

template <>
struct vmsim::config::EnumNames<vmsim::dram::RefreshMode> {
  static const std::vector<std::pair<vmsim::dram::RefreshMode, const char*>>& table() {
    static const std::vector<std::pair<vmsim::dram::RefreshMode, const char*>> t = {
        {vmsim::dram::RefreshMode::Off, "off"},
        {vmsim::dram::RefreshMode::AllBank, "all_bank"},
        {vmsim::dram::RefreshMode::PerBank, "per_bank"}};
    return t;
  }
};
