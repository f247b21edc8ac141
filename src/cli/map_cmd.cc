// stockade map: the topology of observed traffic.
#include <cstdio>
#include <future>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/stop.h"
#include "flow/edge_graph.h"
#include "input/read_report.h"
#include "map/map_flows.h"
#include "map/map_notes.h"
#include "map/map_view.h"

namespace stockade::cli {

namespace {

// The map's settings (map/map_flows.h) and what it reads.
struct MapOptions : MapSettings {
  CommonOptions common;
  std::vector<std::string> flows;
};

int run(const MapOptions& o) {
  check_stdin_once({{"-f", &o.common.files}, {"--flows", &o.flows}});
  const GraphOptions go = value_or_usage_error(graph_options(o));

  Stopwatch clock;
  ClusterState state = load_cluster(o.common);
  verbose_log(o.common, "cluster: " + clock.lap());
  // The policies compile on another thread while the flows are read: only the isolation of
  // the map's nodes needs them, at the end. Both read the same endpoints, in the same order.
  const std::vector<Endpoint> endpoints = resolve_endpoints(state, o.common);
  auto compiled =
      std::async(std::launch::async, [&] { return PolicyEngine::compile(state, endpoints); });

  EdgeGraph graph(state, endpoints, go);
  verbose_log(o.common, "graph: " + clock.lap());
  // Ctrl-C (or SIGTERM) ends the input: the map of what was read is printed.
  static StopFlag stop{false};
  stop_on_signals(stop);
  FlowReadOptions ro = o.read;
  ro.stop = &stop;
  const FlowReadStats stats =
      value_or_usage_error(read_into_graph(graph, o.flows, ro, progress_wanted(o.common.quiet)));
  if (stop) verbose_log(o.common, "interrupted: printing the map of the flows read so far");
  verbose_log(o.common, "flows: " + clock.lap() + " (" + std::to_string(stats.records) +
                            " records, " + std::to_string(stats.lines) + " lines, " +
                            std::to_string(stats.direct) + " read directly)");
  const std::unique_ptr<PolicyEngine> engine = compiled.get();
  verbose_log(o.common, "policies (compiled meanwhile): " + clock.lap());
  if (!o.common.quiet) std::fputs(malformed_warning(stats).c_str(), stderr);
  for (const auto& [level, note] : map_notes(graph, stats, o.max_external_nodes))
    if (level == LogLevel::Warning && !o.common.quiet)
      std::fprintf(stderr, "stockade: warning: %s\n", note.c_str());
    else if (level != LogLevel::Warning)
      verbose_log(o.common, note);
  const MapSummary summary = map_summary(graph, stats);
  if (!summary.isolation_known && !o.common.quiet)
    std::fprintf(stderr,
                 "stockade: no pods or workloads in the input: endpoints are named from the flow "
                 "records; isolation is unknown\n");
  const std::string out = render_map(graph, *engine, summary, o.common.output);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

}  // namespace

Runner register_map(CLI::App& app) {
  auto opts = std::make_shared<MapOptions>();
  CLI::App* cmd = app.add_subcommand("map", "The topology of observed traffic (json, dot, html)");
  add_common_flags(*cmd, opts->common, {"json", "dot", "html"}, "json");
  opts->common.workload_security = false;  // no posture checks here
  opts->common.objects_optional = true;    // without -f: from what the records carry
  cmd->add_option("--flows", opts->flows,
                  "Flow records: Hubble JSON (hubble observe -o json|jsonpb) or Stockade agent "
                  "events; file, gzip file or - for stdin; repeatable")
      ->required();
  add_settings(*cmd, settings(*opts));  // --by … --max-gzip-ratio
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli
