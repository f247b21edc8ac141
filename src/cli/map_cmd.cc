// stockade map: the topology of observed traffic.
#include <cstdio>
#include <future>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/observe_flags.h"
#include "core/stop.h"
#include "flow/edge_graph.h"
#include "input/read_report.h"
#include "map/map_flows.h"
#include "map/map_notes.h"
#include "map/map_view.h"

namespace stockade::cli {

namespace {

struct MapOptions {
  CommonOptions common;
  std::vector<std::string> flows;
  std::string by = "workload";
  std::vector<std::string> external_cidrs;
  uint32_t max_external_nodes = 10000;
  FlowReadOptions read;  // --strict, --max-gzip-ratio
};

int run(const MapOptions& o) {
  check_stdin_once({{"-f", &o.common.files}, {"--flows", &o.flows}});
  GraphOptions go;
  go.by = *parse_granularity(o.by);  // checked by the flag's IsMember
  go.external_groups = value_or_usage_error(parse_external_groups(o.external_cidrs));
  go.max_external_nodes = o.max_external_nodes;

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
  cmd->add_option("--by", opts->by, "Group endpoints by pod, workload or namespace")
      ->check(CLI::IsMember({"pod", "workload", "namespace"}))
      ->default_str("workload");
  cmd->add_option("--external-cidr", opts->external_cidrs,
                  "Group external addresses inside this CIDR into one node; repeatable");
  cmd->add_flag("--strict", opts->read.strict, "A malformed flow line is an error (exit 2)");
  cmd->add_option("--max-external-nodes", opts->max_external_nodes,
                  "At most this many external nodes; past it new addresses are grouped by "
                  "prefix (/24, /16, /8; IPv6 /48, /32, /16) and counted (0: no limit)")
      ->default_str("10000");
  add_gzip_ratio_flag(*cmd, opts->read.max_gzip_ratio);
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli
