// The topology map of observed traffic (`stockade map`): graph nodes with their isolation as the
// policy engine computes it, edges with counts and outcomes; rendered as JSON, DOT or HTML.
#pragma once

#include <cstdint>
#include <string>

#include "engine/engine.h"
#include "flow/edge_graph.h"
#include "input/flow_reader.h"

namespace stockade {

struct MapSummary {
  uint64_t flows = 0;    // records read
  uint64_t skipped = 0;  // malformed lines and records no endpoint could be found for
  // False without cluster objects: no node's isolation is known ("isolated": null).
  bool isolation_known = true;
};

// The summary of a graph and the reading that filled it.
MapSummary map_summary(const EdgeGraph& graph, const FlowReadStats& stats);

// The CLI.md `map -o json` object.
std::string render_map_json(const EdgeGraph& graph, const PolicyEngine& engine,
                            const MapSummary& summary);
// The same object with the edges as columns ("edge_columns": one array per field, "src"/"dst"
// positions in "nodes", "protocol" a position in "protocols", times in whole seconds since the
// epoch, 0 for none) instead of "edges": a browser reads 50,000 edges of it without building
// 50,000 objects from JSON (GET /api/v1/map?format=columns, the web console's form).
std::string render_map_columns_json(const EdgeGraph& graph, const PolicyEngine& engine,
                                    const MapSummary& summary);
// Graphviz: namespaces as clusters, nodes no NetworkPolicy isolates in red tones.
std::string render_map_dot(const EdgeGraph& graph, const PolicyEngine& engine);
// One self-contained page: the JSON object inside the embedded web UI.
std::string render_map_html(const std::string& json);
// `stockade map -o FORMAT`'s output: json or html (each ending in a newline), or dot.
std::string render_map(const EdgeGraph& graph, const PolicyEngine& engine,
                       const MapSummary& summary, const std::string& format);

}  // namespace stockade
