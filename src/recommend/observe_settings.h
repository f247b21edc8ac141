// What the commands that read observed traffic (verify, recommend, diff --flows) are told: the
// flow files, the time window as text, and how the records are read; described once
// (core/settings.h) and turned into ObserveOptions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/settings.h"
#include "recommend/observed.h"

namespace stockade {

struct ObserveSettings {
  std::vector<std::string> flows;  // files, gzip files or - (stdin)
  std::string since, until;        // RFC 3339, or a duration before now (24h, 7d); "": none
  ObserveOptions options;          // --strict, --max-gzip-ratio, --max-external-nodes
};

// The options with --since and --until read against `now_ns` (one "now" for everything that
// reads them); errors (ErrorCode::Usage) name the flag, and an --until not after --since is one.
Result<ObserveOptions> observe_options(const ObserveSettings& s, int64_t now_ns);

// --flows (required when `flows_required`) … --max-external-nodes, in the order --help lists them.
std::vector<Setting> settings(ObserveSettings& s, bool flows_required);

}  // namespace stockade
