// The topology map of observed traffic (`stockade map`): graph nodes with their isolation as the
// policy engine computes it, edges with counts and outcomes; rendered as JSON, DOT or HTML.
#pragma once

#include <cstdint>
#include <string>

#include "engine/engine.h"
#include "flow/edge_graph.h"

namespace stockade {

struct MapSummary {
  uint64_t flows = 0;    // records read
  uint64_t skipped = 0;  // malformed lines and records no endpoint could be found for
  // False without cluster objects: no node's isolation is known ("isolated": null).
  bool isolation_known = true;
};

// The CLI.md `map -o json` object.
std::string render_map_json(const EdgeGraph& graph, const PolicyEngine& engine,
                            const MapSummary& summary);
// Graphviz: namespaces as clusters, nodes no NetworkPolicy isolates in red tones.
std::string render_map_dot(const EdgeGraph& graph, const PolicyEngine& engine);
// One self-contained page: the JSON object inside the embedded web UI.
std::string render_map_html(const std::string& json);

}  // namespace stockade
