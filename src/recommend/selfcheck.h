// The self-check of a recommendation: what the recommended set (with what stays in force) must
// keep, and what it would stop that was allowed before, proved by the policy engine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "recommend/observed.h"
#include "recommend/recommend.h"

namespace stockade {

struct SelfCheck {
  // Failures of the synthesis itself (a bug): nothing may be written.
  std::vector<std::string> observed_denied;      // observed edges that became allowances, denied
  std::vector<std::string> declared_denied;      // declared ingress allowed before, denied after
  std::vector<std::string> unobserved_isolated;  // unobserved workloads' pods newly isolated
  // Observed established edges the recommendation does not allow (below --min-count, outside
  // --since/--until) that the policies in force allow: they would break.
  uint64_t blocked = 0;
  std::vector<std::string> blocked_examples;  // the first ones, "src -> dst PROTO/PORT (why)"
  // A pod's declared ports, asked by the clients observed calling it from its own namespace:
  // allowed before, denied after (a client the window saw on one port only).
  uint64_t declared_ports_checked = 0, declared_ports_denied = 0;
  std::vector<std::string> declared_ports_examples;
  uint64_t declared_checked = 0;  // declared (source, destination, port) probes evaluated

  bool failed() const {
    return !observed_denied.empty() || !declared_denied.empty() || !unobserved_isolated.empty();
  }
};

// `before`: the policies in force (the input's, NetworkPolicies included even with --replace);
// `after`: the recommended set with what stays in force. Both over the same endpoints.
SelfCheck self_check(const PolicyEngine& before, const PolicyEngine& after,
                     const Observed& observed, const Recommendation& rec,
                     const RecommendOptions& options, size_t max_examples = 10);

}  // namespace stockade
