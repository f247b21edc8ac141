// The commands that read observed traffic (verify, recommend, diff --flows): their settings
// (recommend/observe_settings.h, registered with add_settings) read, and the flows read into
// endpoint-level edges.
#pragma once

#include <string>
#include <vector>

#include "cli/common.h"
#include "recommend/observe_settings.h"

namespace stockade::cli {

// The settings' options, --since and --until read against one "now" for the whole process (every
// command reading them agrees). Throws UsageError.
ObserveOptions observe_options(const ObserveSettings& f);

// Reads the flows (throws UsageError on bad input) and reports malformed lines on stderr.
Observed read_observed(const CommonOptions& common, const ObserveSettings& f,
                       const ClusterState& state, const PolicyEngine& engine);

}  // namespace stockade::cli
