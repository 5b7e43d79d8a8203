// main for SystemC model tests: SystemC warnings become errors, then GoogleTest runs.
#include <gtest/gtest.h>

#include <cstdlib>
#include <systemc>

// The SystemC kernel reads SC_COPYRIGHT_MESSAGE before sc_main runs: set it during static
// initialization so no banner is printed.
static const bool g_banner_off = [] { return ::setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0) == 0; }();

int sc_main(int argc, char* argv[]) {
  sc_core::sc_report_handler::set_actions(sc_core::SC_WARNING, sc_core::SC_DISPLAY | sc_core::SC_THROW);
  sc_core::sc_set_time_resolution(1, sc_core::SC_FS);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
