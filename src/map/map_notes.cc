#include "map/map_notes.h"

namespace stockade {

std::vector<std::pair<LogLevel, std::string>> map_notes(const EdgeGraph& graph,
                                                        const FlowReadStats& stats,
                                                        uint32_t max_external_nodes) {
  std::vector<std::pair<LogLevel, std::string>> notes;
  auto info = [&](std::string s) { notes.emplace_back(LogLevel::Info, std::move(s)); };
  if (stats.ignored) info("ignored " + std::to_string(stats.ignored) + " lines without a flow");
  if (graph.duplicates())
    info(std::to_string(graph.duplicates()) +
         " connection starts reported by both nodes counted once");
  for (const std::string& note : graph.resolution_notes()) info(note);
  if (graph.unresolved_pods() > graph.resolution_notes().size())
    info("... " + std::to_string(graph.unresolved_pods()) +
         " pods named by records are not in the input in all");
  if (graph.external_grouped())
    notes.emplace_back(LogLevel::Warning,
                       "more than " + std::to_string(max_external_nodes) +
                           " external addresses: " + std::to_string(graph.external_grouped()) +
                           " records' addresses grouped by prefix (--max-external-nodes)");
  if (graph.unresolved())
    info(std::to_string(graph.unresolved()) +
         " records without an address or name for an endpoint");
  return notes;
}

}  // namespace stockade
