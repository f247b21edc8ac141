// Flags shared by the commands that read observed traffic (verify, recommend, diff --flows):
// --flows, --since, --until, --strict; and reading the flows into endpoint-level edges.
#pragma once

#include <string>
#include <vector>

#include "cli/common.h"
#include "recommend/observed.h"

namespace stockade::cli {

struct ObserveFlags {
  std::vector<std::string> flows;
  std::string since, until;
  bool strict = false;
};

void add_observe_flags(CLI::App& cmd, ObserveFlags& f, bool flows_required);

// Reads the flows (throws UsageError on bad input) and reports malformed lines on stderr.
Observed read_observed(const CommonOptions& common, const ObserveFlags& f,
                       const ClusterState& state, const PolicyEngine& engine);

}  // namespace stockade::cli
