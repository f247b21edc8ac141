// Flow files read into the map's graph (`stockade map`; the server feeds its own graph from
// ingested batches).
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "core/settings.h"
#include "flow/edge_graph.h"
#include "input/flow_read_settings.h"

namespace stockade {

// What `stockade map` is told of the graph and the reading (its flags), described once
// (core/settings.h). The files and the objects are the caller's.
struct MapSettings {
  std::string by = "workload";  // pod, workload or namespace
  std::vector<std::string> external_cidrs;
  uint32_t max_external_nodes = 10000;
  FlowReadOptions read;  // --strict, --max-gzip-ratio
};

// The graph's options from the settings; an error (naming --external-cidr) for a bad CIDR.
Result<GraphOptions> graph_options(const MapSettings& s);

// Each setting (--by … --max-gzip-ratio), in the order `stockade map --help` lists them.
std::vector<Setting> settings(MapSettings& s);

// Reads `paths` one after another ("-": standard input) into `graph`, handing the reader the
// graph's peer hints and prefetch, until the input ends or `options.stop` is set (what was read
// stays in the graph). With `progress`, a progress line per file on stderr
// (core/progress.h). The counts of every file together, or the first error.
Result<FlowReadStats> read_into_graph(EdgeGraph& graph, const std::vector<std::string>& paths,
                                      FlowReadOptions options, bool progress);

}  // namespace stockade
