// LPDDR5 (JESD209-5) speed bins: timings in nCK of CK (WCK:CK 4:1), bank-group mode, BL16 on a
// 16-bit channel, so a 64-byte request takes two bursts. Representative values; check the part's
// datasheet before drawing conclusions that depend on a single parameter.
#include "models/dram/standards.hpp"

namespace vmsim::dram {

const StandardSpec& lpddr5_standard() {
  // 8 Gb per x16 channel: 4 bank groups x 4 banks, 32K rows, 1K columns (2 KB page); four channels.
  static const Organisation kOrgX16 = make_organisation({{"channels", 4}, {"subchannels", 1}, {"ranks", 1},
                                                        {"bank_groups", 4}, {"banks_per_group", 4},
                                                        {"rows", 32768}, {"columns", 1024},
                                                        {"bus_bits", 16}, {"burst_length", 16}});
  static const StandardSpec kSpec{
      "LPDDR5",
      Standard::Lpddr5,
      PerBankRefresh::SingleBank,
      {
          // LPDDR5-6400: JESD209-5 core timings (Micron LPDDR5 datasheet AC timing), CK 800 MHz. RL 17, WL 9, tRCD 18 ns, tRPpb 18 ns, tRAS 42 ns, BL16 = 2 nCK,
          // tCCD_L 4 nCK (BG mode), tRRD 5 ns, tFAW 20 ns, tWR 34 ns, tWTR_S 6.25 ns, tWTR_L 12 ns,
          // tRTP 7.5 ns, tRFCab 210 ns, tRFCpb 120 ns, tpbR2act 7.5 ns, tREFI 3.9 us. tRC 49 = tRAS + tRPpb in
          // whole clocks (34 + 15); JEDEC's tRCpb = tRAS + tRPpb = 60 ns is 48: one clock conservative.
          {"LPDDR5-6400",
           make_timing({{"tCK_ps", 1250}, {"CL", 17}, {"CWL", 9}, {"tRCD", 15}, {"tRP", 15}, {"tRAS", 34},
                        {"tRC", 49}, {"tBL", 2}, {"tCCD_S", 2}, {"tCCD_L", 4}, {"tCCD_L_WR", 4},
                        {"tRRD_S", 4}, {"tRRD_L", 4}, {"tFAW", 16}, {"tWR", 28}, {"tWTR_S", 5},
                        {"tWTR_L", 10}, {"tRTP", 6}, {"tRFC", 168}, {"tREFI", 3120}, {"tRFCsb", 96},
                        {"tRREFD", 6}, {"tRTRS", 2}, {"rtw_bubble", 2}}),
           kOrgX16,
           // Supplies as Micron's LPDDR5 datasheet (MT62F, y31m_lpddr5_multi_pkg.pdf Rev. A 05/2021) names
           // them: VDD2H 1.05 V (core, rail1) and VDD1 1.8 V (rail2); VDDQ I/O is not modelled. The
           // currents are ORDER-OF-MAGNITUDE ESTIMATES for one x16 channel, not datasheet values (no IDD
           // table could be cited): replace them with the part's table before trusting LPDDR5 energy.
           make_power(1, make_rail("VDD2H", 1.05, 50, 16, 22, 230, 190, 160),
                      make_rail("VDD1", 1.8, 5, 1, 1.5, 2, 2, 20))},
      }};
  return kSpec;
}

}  // namespace vmsim::dram
