// Flow files read into the map's graph (`stockade map`; the server feeds its own graph from
// ingested batches).
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "flow/edge_graph.h"
#include "input/flow_reader.h"

namespace stockade {

// Reads `paths` one after another ("-": standard input) into `graph`, handing the reader the
// graph's peer hints and prefetch, until the input ends or `options.stop` is set (what was read
// stays in the graph). With `progress`, a progress line per file on stderr
// (core/progress.h). The counts of every file together, or the first error.
Result<FlowReadStats> read_into_graph(EdgeGraph& graph, const std::vector<std::string>& paths,
                                      FlowReadOptions options, bool progress);

}  // namespace stockade
