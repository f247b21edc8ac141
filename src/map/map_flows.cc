#include "map/map_flows.h"

#include "core/progress.h"

namespace stockade {

Result<FlowReadStats> read_into_graph(EdgeGraph& graph, const std::vector<std::string>& paths,
                                      FlowReadOptions options, bool progress) {
  options.peer_hint = [&graph](const FlowPeer& p) { return graph.hint(p); };
  options.upcoming = [&graph](const Flow& f) { graph.prefetch(f); };
  FlowReadStats stats;
  for (const std::string& path : paths) {
    if (options.stop && *options.stop) break;
    ProgressMeter meter(path == "-" ? "<stdin>" : path, progress);
    options.on_read = [&meter](uint64_t read, uint64_t total, uint64_t records, bool done) {
      meter.on_read(read, total, records, done);
    };
    auto r = read_flows(path, options, stats, [&](const Flow& f) { graph.add(f); });
    if (!r) return tl::unexpected(r.error());
  }
  return stats;
}

}  // namespace stockade
