// Replacement configuration checks, policy names and the factory that builds a policy by name.
#include "firmware/swap/replacement.hpp"

#include <stdexcept>

#include "firmware/swap/policies.hpp"

namespace vmsim::fw {

void ReplacementConfig::validate(const std::string& path) const {
  config::require(tau > 0, path, "tau", std::to_string(tau), "must be > 0: the working-set window of ws and wsclock");
  config::require(inactive_ratio > 0, path, "inactive_ratio", std::to_string(inactive_ratio), "must be > 0");
}

ReplacementKind replacement_kind_from_name(const std::string& name, const std::string& key) {
  ReplacementKind k{};
  if (!config::parse_value(name, k)) {
    throw InputError(key + ": unknown policy '" + name + "' (expected " + config::enum_choices<ReplacementKind>() +
                     ")");
  }
  return k;
}

std::unique_ptr<ReplacementPolicy> make_policy(const ReplacementConfig& cfg, const std::vector<PageId>* future) {
  if (cfg.tau == 0 || cfg.inactive_ratio == 0) {
    throw std::invalid_argument("make_policy: invalid ReplacementConfig (tau and inactive_ratio must be > 0)");
  }
  switch (cfg.policy) {
    case ReplacementKind::Fifo:
      return make_fifo_policy();
    case ReplacementKind::Lru:
      return make_lru_policy();
    case ReplacementKind::Clock:
      return make_clock_policy();
    case ReplacementKind::EClock:
      return make_eclock_policy();
    case ReplacementKind::Lfu:
      return make_lfu_policy();
    case ReplacementKind::Ws:
      return make_ws_policy(cfg.tau);
    case ReplacementKind::WsClock:
      return make_wsclock_policy(cfg.tau);
    case ReplacementKind::ActiveInactive:
      return make_active_inactive_policy(cfg.inactive_ratio);
    case ReplacementKind::Opt:
      if (future == nullptr) {
        throw InputError(
            "policy: opt needs the complete future reference string; it is available only when "
            "replaying a reference string");
      }
      return make_opt_policy(*future);
    case ReplacementKind::Random:
      return make_random_policy(cfg.seed);
  }
  throw std::invalid_argument("make_policy: unknown policy kind");
}

}  // namespace vmsim::fw
