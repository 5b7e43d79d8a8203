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
           kOrg8GbX8},
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
           kOrg8GbX8},
      }};
  return kSpec;
}

}  // namespace vmsim::dram
