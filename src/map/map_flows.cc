#include "map/map_flows.h"

#include "core/progress.h"

namespace stockade {

Result<GraphOptions> graph_options(const MapSettings& s) {
  GraphOptions go;
  const auto by = parse_granularity(s.by);
  if (!by) return make_error(ErrorCode::Usage, "--by: expected pod, workload or namespace");
  go.by = *by;
  auto groups = parse_external_groups(s.external_cidrs);
  if (!groups) return tl::unexpected(groups.error());
  go.external_groups = std::move(*groups);
  go.max_external_nodes = s.max_external_nodes;
  return go;
}

std::vector<Setting> settings(MapSettings& s) {
  return {
      {.name = "--by",
       .help = "Group endpoints by pod, workload or namespace",
       .field = &s.by,
       .show_default = true,
       .choices = {"pod", "workload", "namespace"}},
      {.name = "--external-cidr",
       .help = "Group external addresses inside this CIDR into one node; repeatable",
       .field = &s.external_cidrs},
      strict_setting(s.read.strict),
      {.name = "--max-external-nodes",
       .help = "At most this many external nodes; past it new addresses are grouped by "
               "prefix (/24, /16, /8; IPv6 /48, /32, /16) and counted (0: no limit)",
       .field = &s.max_external_nodes,
       .show_default = true},
      gzip_ratio_setting(s.read.max_gzip_ratio),
  };
}

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
