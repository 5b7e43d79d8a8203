// DDR5 (JESD79-5) speed bins: timings in nCK, default organisation 16 Gb x8, one rank, two 32-bit
// subchannels per DIMM channel (each an independent controller channel).
#include "models/dram/standards.hpp"

namespace vmsim::dram {

const StandardSpec& ddr5_standard() {
  // 16 Gb x8 device: 8 bank groups x 4 banks, 64K rows, 1K columns; four devices per 32-bit subchannel.
  static const Organisation kOrg16GbX8 = make_organisation({{"channels", 1}, {"subchannels", 2}, {"ranks", 1},
                                                           {"bank_groups", 8}, {"banks_per_group", 4},
                                                           {"rows", 65536}, {"columns", 1024},
                                                           {"bus_bits", 32}, {"burst_length", 16}});
  static const StandardSpec kSpec{
      "DDR5",
      Standard::Ddr5,
      PerBankRefresh::SameBankAllGroups,
      {
          // DDR5-4800B: JESD79-5 speed bin 40-39-39 (tAA 16.64 ns, tRCD = tRP 16 ns; Micron 16Gb DDR5
          // datasheet speed bins), tCK 0.416 ns; the rest from the JESD79-5 AC timing table: tRAS 32 ns, tRC 48 ns, tCCD_L max(8nCK, 5 ns),
          // tCCD_L_WR max(16nCK, 10 ns) (no read-modify-write), tRRD_L max(8nCK, 5 ns), x8 tFAW
          // max(32nCK, 13.333 ns), tWR 30 ns, tWTR_S max(4nCK, 2.5 ns), tWTR_L max(16nCK, 10 ns),
          // tRTP max(12nCK, 7.5 ns), 16 Gb tRFC1 295 ns, tRFCsb 130 ns, tREFSBRD 30 ns, tREFI 3.9 us.
          {"DDR5-4800B",
           make_timing({{"tCK_ps", 416}, {"CL", 40}, {"CWL", 38}, {"tRCD", 39}, {"tRP", 39}, {"tRAS", 77},
                        {"tRC", 116}, {"tBL", 8}, {"tCCD_S", 8}, {"tCCD_L", 12}, {"tCCD_L_WR", 24},
                        {"tRRD_S", 8}, {"tRRD_L", 12}, {"tFAW", 32}, {"tWR", 72}, {"tWTR_S", 6},
                        {"tWTR_L", 24}, {"tRTP", 18}, {"tRFC", 708}, {"tREFI", 9360}, {"tRFCsb", 312},
                        {"tRREFD", 72}, {"tRTRS", 2}, {"rtw_bubble", 2}}),
           kOrg16GbX8,
           // VDD currents of Micron's 16Gb DDR5 SDRAM, die revision A (16gb_ddr5_sdram_diereva.pdf),
           // DDR5-4800 column, as quoted in gem5's DDR5_4400_4x8 interface: IDD0 122, IDD2N 92, IDD4R 530,
           // IDD4W 479, IDD5B 277 mA, VDD 1.1 V. The IDD3N quoted there (142 mA) exceeds IDD0, which leaves
           // no ACT/PRE energy above background in any IDD0-based method: IDD3N here is an ESTIMATE, 111 mA,
           // placed between IDD2N and IDD0 as DDR4-2400R's is (IDD3N - IDD2N = 9/14 of IDD0 - IDD2N). IDD5C (same-bank refresh, 135 mA) is not
           // used (energy.hpp). The IPP (VPP 1.8 V) figures were not available: rail2 is off.
           make_power(4, make_rail("VDD", 1.1, 122, 92, 111, 530, 479, 277), make_rail("VPP", 0, 0, 0, 0, 0, 0, 0))},
      }};
  return kSpec;
}

}  // namespace vmsim::dram
