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
  ObserveOptions options;  // --strict, --max-gzip-ratio, --max-external-nodes
};

// --max-gzip-ratio (FlowReadOptions::max_gzip_ratio), for map and the commands above.
void add_gzip_ratio_flag(CLI::App& cmd, uint32_t& ratio);

void add_observe_flags(CLI::App& cmd, ObserveFlags& f, bool flows_required);

// A duration as Go writes it (24h, 1h30m, 90s, 500ms) or in days (7d), in nanoseconds; throws
// UsageError naming `flag`.
int64_t parse_duration_ns(const std::string& text, const char* flag);
// --since/--until: an RFC 3339 time, or a duration before now; 0 when empty. Throws UsageError.
int64_t observe_time(const std::string& text, const char* flag);

// Reads the flows (throws UsageError on bad input) and reports malformed lines on stderr.
Observed read_observed(const CommonOptions& common, const ObserveFlags& f,
                       const ClusterState& state, const PolicyEngine& engine);

}  // namespace stockade::cli
