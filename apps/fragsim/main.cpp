// fragsim: the old name of `vmsim frag` (the steady-state variable-partition fragmentation experiment), kept
// as an alias; both run vmsim::study::run_frag with the same flags.
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

#include "apps/vmsim/frag.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Steady-state fragmentation experiment over a variable-partition allocator (also: vmsim frag)"};
  app.name("fragsim");
  vmsim::study::FragOptions options;
  vmsim::study::add_frag_options(app, options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);  // --help
    std::string msg = e.what();
    for (char& c : msg) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    while (!msg.empty() && msg.back() == ' ') msg.pop_back();
    std::cerr << "fragsim: " << msg << " (see --help)\n";
    return 2;
  }
  return vmsim::study::run_frag(options, "fragsim");
}
