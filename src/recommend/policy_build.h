// Recommend's third phase (private to src/recommend/): the ingress and egress NetworkPolicy of
// each unit from its sorted contributions, peers with the same ports sharing a rule, external
// addresses merged into prefixes past RecommendOptions::aggregate_after.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "recommend/contributions.h"

namespace stockade::rec {

struct PolicyBuild {
  const std::vector<Unit>& units;
  const Contributions& contributions;
  std::shared_ptr<const std::vector<std::string>> names;  // "ns/name (Kind)" per unit
  std::string window;                                     // the learning window, "" unknown
  const RecommendOptions& options;
};

// The policy of one side: `u`'s ingress or egress, over its contributions [begin, end).
RecommendedPolicy build_side_policy(const PolicyBuild& in, uint32_t u, bool is_ingress,
                                    const Contrib* begin, const Contrib* end);

// Every side's policy (host-network units have none), on two threads from
// RecommendOptions::parallel_from contributions. `side_ranges` receives each side's range of
// contributions [first, second).
std::vector<RecommendedPolicy> build_policies(const PolicyBuild& in,
                                              std::vector<std::pair<size_t, size_t>>& side_ranges);

}  // namespace stockade::rec
