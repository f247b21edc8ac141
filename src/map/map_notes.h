// What building a map from flow records left out or merged, in order: details at
// LogLevel::Info (-v) and what changes the map at LogLevel::Warning.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/log.h"
#include "flow/edge_graph.h"
#include "input/flow_reader.h"

namespace stockade {

std::vector<std::pair<LogLevel, std::string>> map_notes(const EdgeGraph& graph,
                                                        const FlowReadStats& stats,
                                                        uint32_t max_external_nodes);

}  // namespace stockade
