// The sbatch array script of `vmsim sweep --backend slurm`: option checks and the script text.
#include "apps/vmsim/slurm_script.hpp"

#include <cctype>
#include <filesystem>
#include <regex>

#include "common/error.hpp"

namespace vmsim::study {

namespace {

bool name_chars(const std::string& v) {
  if (v.empty()) return false;
  for (unsigned char c : v) {
    if (!std::isalnum(c) && c != '_' && c != '.' && c != ',' && c != '+' && c != '-') return false;
  }
  return true;
}

void check_path(const std::string& what, const std::string& path) {
  if (path.empty() || path[0] != '/') throw InputError("sweep: " + what + " '" + path + "' is not an absolute path");
  for (unsigned char c : path) {
    if (std::isspace(c) || c == '\'' || c == '"' || c == '\\' || c == '$' || c == '`' || c == '%') {
      throw InputError("sweep: --backend slurm: " + what + " '" + path +
                       "' holds a character the sbatch script cannot carry (whitespace, quote, '\\', '$', '`' or '%')");
    }
  }
}

}  // namespace

void check_slurm_script(const SlurmScript& s) {
  if (!std::regex_match(s.mem, std::regex("[0-9]+[KMGT]?"))) {
    throw InputError("sweep: --mem: bad value '" + s.mem +
                     "' (expected a size as Slurm takes it: N[K|M|G|T], e.g. 2G)");
  }
  if (!std::regex_match(s.time, std::regex("[0-9]+(:[0-9]{1,2}){0,2}|[0-9]+-[0-9]{1,2}(:[0-9]{1,2}){0,2}"))) {
    throw InputError("sweep: --time: bad value '" + s.time +
                     "' (expected MINUTES, MINUTES:SECONDS, HOURS:MINUTES:SECONDS or DAYS-HOURS[:MINUTES[:SECONDS]])");
  }
  if (!s.partition.empty() && !name_chars(s.partition)) {
    throw InputError("sweep: --partition: bad value '" + s.partition + "' (letters, digits and _.,+- only)");
  }
  if (!s.account.empty() && !name_chars(s.account)) {
    throw InputError("sweep: --account: bad value '" + s.account + "' (letters, digits and _.,+- only)");
  }
  check_path("output folder", s.out_dir);
  check_path("working folder", s.workdir);
  check_path("vmsim executable", s.vmsim);
  if (s.tasks == 0) throw InputError("sweep: --backend slurm: no runs to submit");
}

std::string sbatch_script(const SlurmScript& s) {
  std::string t = "#!/bin/bash\n";
  t += "# vmsim sweep " + s.spec + ": " + std::to_string(s.tasks) + " run" + (s.tasks == 1 ? "" : "s") +
       " as a Slurm job array, one run per array task.\n";
  t += "# Written by `vmsim sweep --backend slurm`; task i runs the i-th entry of 'tasks' in " + s.out_dir +
       "/slurm/plan.json\n";
  t += "# and records it in that run's folder, " + s.out_dir + "/slurm/tasks/i -> ../../runs/<hash>.\n";
  t += "#SBATCH --job-name=" + s.job_name + "\n";
  t += "#SBATCH --array=0-" + std::to_string(s.tasks - 1) + (s.throttle ? "%" + std::to_string(s.throttle) : "") + "\n";
  t += "#SBATCH --ntasks=1\n";
  t += "#SBATCH --cpus-per-task=1\n";
  t += "#SBATCH --mem=" + s.mem + "\n";
  t += "#SBATCH --time=" + s.time + "\n";
  if (!s.partition.empty()) t += "#SBATCH --partition=" + s.partition + "\n";
  if (!s.account.empty()) t += "#SBATCH --account=" + s.account + "\n";
  t += "#SBATCH --chdir=" + s.workdir + "\n";
  t += "#SBATCH --output=" + s.out_dir + "/slurm/tasks/%a/slurm-%A_%a.out\n";
  t += "#SBATCH --error=" + s.out_dir + "/slurm/tasks/%a/slurm-%A_%a.err\n";
  t += "exec '" + s.vmsim + "' sweep run-one '" + s.out_dir + "' \"$SLURM_ARRAY_TASK_ID\"\n";
  return t;
}

std::string slurm_job_name(const std::string& spec_file) {
  std::string name = "vmsim-" + std::filesystem::path(spec_file).stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') c = '_';
  }
  return name;
}

}  // namespace vmsim::study
