// DDR4 (JESD79-4) speed bins: timings in nCK, default organisation 8 Gb x8, one rank, 64-bit channel. Each
// table names its source; ns values are converted to clocks rounding up.
#include "models/dram/standards.hpp"

namespace vmsim::dram {

const StandardSpec& ddr4_standard() {
  // 8 Gb x8 device: 4 bank groups x 4 banks, 64K rows, 1K columns; eight devices form a 64-bit rank.
  static const Organisation kOrg8GbX8 = make_organisation({{"channels", 1}, {"subchannels", 1}, {"ranks", 1},
                                                          {"bank_groups", 4}, {"banks_per_group", 4},
                                                          {"rows", 65536}, {"columns", 1024},
                                                          {"bus_bits", 64}, {"burst_length", 8}});
  static const StandardSpec kSpec{
      "DDR4",
      Standard::Ddr4,
      PerBankRefresh::None,
      {
          // DDR4-2400R: JESD79-4 speed bin 16-16-16 (Micron 4Gb/8Gb DDR4 datasheets, speed grade -083E,
          // "DDR4-2400 Speed Bins": tAA = tRCD = tRP = 13.32 ns, tRAS 32 ns, tRC = tRAS + tRP = 45.32 ns);
          // tCK 0.833 ns. The rest from the JESD79-4 AC timing table: x8 tFAW 21 ns, tRRD_S max(4nCK,
          // 3.3 ns), tRRD_L max(4nCK, 4.9 ns), tCCD_L max(5nCK, 5 ns), tWR 15 ns, tWTR_S max(2nCK, 2.5 ns),
          // tWTR_L max(4nCK, 7.5 ns), tRTP max(4nCK, 7.5 ns), 8 Gb tRFC1 350 ns, tREFI 7.8 us; CWL 12.
          // (Until issue K this table was 17-17-17 with tRC 56: the DDR4-2400T bin under the R name.)
          {"DDR4-2400R",
           make_timing({{"tCK_ps", 833}, {"CL", 16}, {"CWL", 12}, {"tRCD", 16}, {"tRP", 16}, {"tRAS", 39},
                        {"tRC", 55}, {"tBL", 4}, {"tCCD_S", 4}, {"tCCD_L", 6}, {"tCCD_L_WR", 6},
                        {"tRRD_S", 4}, {"tRRD_L", 6}, {"tFAW", 26}, {"tWR", 18}, {"tWTR_S", 3},
                        {"tWTR_L", 9}, {"tRTP", 9}, {"tRFC", 420}, {"tREFI", 9360}, {"tRTRS", 2},
                        {"rtw_bubble", 2}}),
           kOrg8GbX8,
           // Currents per MT40A1G8 device (8Gb x8, die rev. B), DDR4-2400, from Micron's MTA18ASF2G72HZ
           // 16GB SODIMM datasheet (asf18c2gx72hz.pdf, Rev. F 8/16), Table 15, which gives module totals
           // for 18 devices in two ranks: "all ranks" rows (IDD2N 612, IDD3N 774, IPP3N 54 mA) / 18;
           // "one rank active, the other in IDD2P/IPP3N" rows (IDD0 657, IPP0 54, IDD4R 1440, IDD4W 1332,
           // IDD5B 2475, IPP5B 279 mA) minus 9 devices at IDD2P 25 mA (450 / 18) or IPP3N 3 mA, / 9.
           // IPP3N also bounds IPP2N and IPP4R/W (the component datasheet's note). VDD 1.2 V, VPP 2.5 V.
           make_power(8, make_rail("VDD", 1.2, 48, 34, 43, 135, 123, 250), make_rail("VPP", 2.5, 3, 3, 3, 3, 3, 28))},
          // DDR4-3200AA: JESD79-4 speed bin 22-22-22 (Micron 8Gb DDR4 datasheet, speed grade -062E:
          // tAA = tRCD = tRP = 13.75 ns, tRAS 32 ns, tRC 45.75 ns); tCK 0.625 ns. JESD79-4 AC timing:
          // x8 tFAW 21 ns, tRRD_S max(4nCK, 2.5 ns), tRRD_L max(4nCK, 4.9 ns), tCCD_L max(5nCK, 5 ns),
          // tWR 15 ns, tWTR_S max(2nCK, 2.5 ns), tWTR_L max(4nCK, 7.5 ns), tRTP max(4nCK, 7.5 ns),
          // 8 Gb tRFC1 350 ns, tREFI 7.8 us; CWL 16. Each ns value rounds up to whole clocks.
          {"DDR4-3200AA",
           make_timing({{"tCK_ps", 625}, {"CL", 22}, {"CWL", 16}, {"tRCD", 22}, {"tRP", 22}, {"tRAS", 52},
                        {"tRC", 74}, {"tBL", 4}, {"tCCD_S", 4}, {"tCCD_L", 8}, {"tCCD_L_WR", 8},
                        {"tRRD_S", 4}, {"tRRD_L", 8}, {"tFAW", 34}, {"tWR", 24}, {"tWTR_S", 4},
                        {"tWTR_L", 12}, {"tRTP", 12}, {"tRFC", 560}, {"tREFI", 12480}, {"tRTRS", 2},
                        {"rtw_bubble", 2}}),
           kOrg8GbX8,
           // VDD currents of a Micron 8Gb x8 DDR4-3200 device as tabulated in DRAMsim3's
           // configs/DDR4_8Gb_x8_3200.ini (IDD0 57, IDD2N 37, IDD3N 52, IDD4R 168, IDD4W 150, IDD5B 250 mA,
           // IPP0 3 mA); IPP3N and IPP5B (3, 28 mA) from the MT40A1G8 die-B figures of DDR4-2400R above.
           make_power(8, make_rail("VDD", 1.2, 57, 37, 52, 168, 150, 250), make_rail("VPP", 2.5, 3, 3, 3, 3, 3, 28))},
      }};
  return kSpec;
}

}  // namespace vmsim::dram
