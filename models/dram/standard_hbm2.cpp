// HBM2 (JESD235) speed bins: pseudo-channel mode (two 64-bit pseudo channels per channel, BL4, so a
// 64-byte request takes two bursts). Representative values; check the stack's datasheet before
// drawing conclusions that depend on a single parameter.
#include "models/dram/standards.hpp"

namespace vmsim::dram {

const StandardSpec& hbm2_standard() {
  // 4 GB 4-high stack: 8 channels x 2 pseudo channels, 4 bank groups x 4 banks, 16K rows, 1 KB page.
  static const Organisation kOrg4GB = make_organisation({{"channels", 8}, {"subchannels", 2}, {"ranks", 1},
                                                        {"bank_groups", 4}, {"banks_per_group", 4},
                                                        {"rows", 16384}, {"columns", 128},
                                                        {"bus_bits", 64}, {"burst_length", 4}});
  static const StandardSpec kSpec{
      "HBM2",
      Standard::Hbm2,
      PerBankRefresh::SingleBank,
      {
          // HBM2 2.0 Gb/s per pin (JESD235A; values of a 4-high 8 Gb-per-die stack datasheet class, not a
          // named JEDEC bin: JESD235 has no speed-bin table), tCK 1 ns. tRCD/tRP/CL 14 ns, tRAS 33 ns, tRFC 350 ns, tRFCsb 160 ns,
          // tRREFD 8 ns, tREFI 3.9 us.
          {"HBM2-2000",
           make_timing({{"tCK_ps", 1000}, {"CL", 14}, {"CWL", 4}, {"tRCD", 14}, {"tRP", 14}, {"tRAS", 33},
                        {"tRC", 47}, {"tBL", 2}, {"tCCD_S", 2}, {"tCCD_L", 4}, {"tCCD_L_WR", 4},
                        {"tRRD_S", 4}, {"tRRD_L", 6}, {"tFAW", 16}, {"tWR", 16}, {"tWTR_S", 3},
                        {"tWTR_L", 8}, {"tRTP", 4}, {"tRFC", 350}, {"tREFI", 3900}, {"tRFCsb", 160},
                        {"tRREFD", 8}, {"tRTRS", 1}, {"rtw_bubble", 2}}),
           kOrg4GB,
           // VDD currents of an HBM2 8 Gb-die channel (128 bits, 1 ns tCK) as tabulated in DRAMsim3's
           // configs/HBM2_8Gb_x128.ini: IDD0 65, IDD2N 40, IDD3N 55, IDD4R 390, IDD4W 500, IDD5B 250 mA at
           // VDD 1.2 V. A pseudo channel is half a channel: devices 0.5. No VPP figures: rail2 is off.
           make_power(0.5, make_rail("VDD", 1.2, 65, 40, 55, 390, 500, 250), make_rail("VPP", 0, 0, 0, 0, 0, 0, 0))},
      }};
  return kSpec;
}

}  // namespace vmsim::dram
