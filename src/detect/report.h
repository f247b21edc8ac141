// `stockade detect`'s run and output: flow files read into a Detector, and the signals as the
// JSON object of the contract (docs/cli.md) or a table. The command line only parses flags.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "detect/detect.h"
#include "input/flow_reader.h"
#include "model/cluster_state.h"

namespace stockade::detect {

struct DetectRun {
  std::vector<Signal> signals;
  FlowReadStats stats;
  uint64_t counted = 0;  // records the detectors counted (connection attempts and replies)
  double seconds = 0;    // reading and judging
};

// Reads every path ("-": stdin) with `read` and judges the windows at the end. `names`:
// addresses to name (pod IPs to ns/pod) besides what the records name. With `progress`, a
// progress line per file on stderr (core/progress.h), as map's flow files have.
Result<DetectRun> detect_files(const std::vector<std::string>& paths, FlowReadOptions read,
                               const Thresholds& t,
                               const std::vector<std::pair<IpAddr, std::string>>& names = {},
                               bool progress = false);

// Pods' addresses to their names (`-f`), from the one endpoint resolution's endpoints.
std::vector<std::pair<IpAddr, std::string>> endpoint_names(const std::vector<Endpoint>& eps);

nlohmann::json signal_json(const Signal& s);
// {"signals":[…],"summary":{"records":N,"counted":N,"signals":N,"port-scan":N,…}}
nlohmann::json detect_json(const DetectRun& run);
std::string detect_table(const DetectRun& run);

}  // namespace stockade::detect
