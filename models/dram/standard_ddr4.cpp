// DDR4 (JESD79-4) speed bins: timings in nCK, default organisation 8 Gb x8, one rank, 64-bit channel.
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
          // DDR4-2400R, 17-17-17, tCK 0.833 ns. tRAS 32 ns, tRC 46.16 ns, x8 tFAW 21 ns, tRRD_L 4.9 ns,
          // tCCD_L 5 ns, tWR 15 ns, tWTR_S 2.5 ns, tWTR_L 7.5 ns, tRTP 7.5 ns, 8 Gb tRFC1 350 ns, tREFI 7.8 us.
          {"DDR4-2400R",
           make_timing({{"tCK_ps", 833}, {"CL", 17}, {"CWL", 12}, {"tRCD", 17}, {"tRP", 17}, {"tRAS", 39},
                        {"tRC", 56}, {"tBL", 4}, {"tCCD_S", 4}, {"tCCD_L", 6}, {"tCCD_L_WR", 6},
                        {"tRRD_S", 4}, {"tRRD_L", 6}, {"tFAW", 26}, {"tWR", 18}, {"tWTR_S", 3},
                        {"tWTR_L", 9}, {"tRTP", 9}, {"tRFC", 420}, {"tREFI", 9360}, {"tRTRS", 2},
                        {"rtw_bubble", 2}}),
           kOrg8GbX8},
          // DDR4-3200AA, 22-22-22, tCK 0.625 ns. tRAS 32 ns, tRC 46.25 ns, x8 tFAW 21 ns, tRRD_S 2.5 ns,
          // tRRD_L 4.9 ns, tCCD_L 5 ns, tWR 15 ns, tWTR_S 2.5 ns, tWTR_L 7.5 ns, tRTP 7.5 ns,
          // 8 Gb tRFC1 350 ns, tREFI 7.8 us.
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
