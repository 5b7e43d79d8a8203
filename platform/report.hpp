// Run outputs: stats.json (summary + every statistic + kill reports), stats.csv, and the human summary.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "firmware/kernel/kernel.hpp"
#include "common/stats.hpp"

namespace vmsim::platform {

class System;

// Headline figures under stable names (documented in docs/STATS.md, "summary").
nlohmann::ordered_json make_summary(const std::vector<stats::Record>& records, System& system);
// The summary's "virtualization" object (virtualization.enabled): VM exits by reason, EPT violations,
// references per 2D walk and where the guest-physical translations were answered, the nested caches' hit
// rates, the 2D walks' time split into the guest and EPT dimensions (sums over cores).
nlohmann::ordered_json virtualization_summary(const std::vector<stats::Record>& records, System& system);
// Writes DIR/stats.json. Throws InputError if the file cannot be written.
void write_stats_json(const std::string& path, const nlohmann::ordered_json& summary,
                      const std::vector<stats::Record>& records, const std::vector<fw::KillReport>& kills);
// Writes DIR/stats.csv: name,value,unit,description.
void write_stats_csv(const std::string& path, const std::vector<stats::Record>& records);
// Prints the summary as an aligned two-column table.
void print_summary(std::ostream& os, const nlohmann::ordered_json& summary);

}  // namespace vmsim::platform
