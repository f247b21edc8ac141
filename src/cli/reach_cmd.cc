// stockade reach: reachability under the loaded policies.
#include <fmt/format.h>

#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/keep_until_exit.h"
#include "core/process_memory.h"
#include "core/side_by_side.h"
#include "engine/peers.h"
#include "engine/reach_listing.h"

namespace stockade::cli {

namespace {

struct ReachOptions {
  CommonOptions common;
  std::string from = "*";
  std::string to = "*";
  std::vector<std::string> ports;
  std::string verdict = "all";  // rows listed: all, allowed or denied
  std::string by = "pod";
  bool force = false;
};

// "; 1.84 s on this thread, 0.12 s waiting": the main thread's CPU time and the time it would
// have waited for the second thread of side_by_side on an idle machine; their sum estimates
// the phases' wall time on an idle two-core machine (other processes' load leaves it alone).
std::string critical_path_text() {
  char text[96];
  std::snprintf(text, sizeof text, "; %.2f s on this thread, %.2f s waiting",
                static_cast<double>(thread_cpu_ns()) / 1e9,
                static_cast<double>(side_by_side_wait_ns().load()) / 1e9);
  return text;
}

int run(const ReachOptions& o) {
  std::vector<PortQuery> queries;
  for (const std::string& p : o.ports) queries.push_back(parse_port(p, "--port"));
  Stopwatch clock;
  ClusterState state = load_cluster(o.common);
  verbose_log(o.common, "load: " + clock.lap() + resource_use_text() + critical_path_text());
  auto endpoints = resolve_endpoints(state, o.common);
  verbose_log(o.common, "endpoints: " + clock.lap() + resource_use_text() + critical_path_text());
  auto engine = PolicyEngine::compile(state, std::move(endpoints));
  verbose_log(o.common, "compile: " + clock.lap() + " (" +
                            std::to_string(engine->identity_count()) + " identities" +
                            resource_use_text() + critical_path_text() + ")");
  const auto& eps = engine->endpoints();
  std::vector<uint8_t> from = value_or_usage_error(select_endpoints(eps, o.from, "--from"));
  std::vector<uint8_t> to = value_or_usage_error(select_endpoints(eps, o.to, "--to"));
  auto matrix = engine->reach(queries);
  verbose_log(o.common, "reach matrix: " + clock.lap() + " (" + matrix->describe() +
                            resource_use_text() + critical_path_text() + ")");
  ReachCounts counts = matrix->counts(from, to);
  verbose_log(o.common, "count: " + clock.lap() + resource_use_text() + critical_path_text());
  // Left to the process's end (core/keep_until_exit.h); the listing below still reads them.
  const ReachMatrix& rows = *matrix;
  keep_until_exit(std::move(matrix));
  keep_until_exit(std::move(engine));

  const std::string& fmt = o.common.output;
  if (fmt != "summary" && counts.pairs > kMaxListedConnections && !o.force)
    throw UsageError{fmt::format(
        "-o {} would list {} connections (more than {}): narrow it with --from, --to or "
        "--port, use -o summary, or pass --force",
        fmt, counts.pairs, kMaxListedConnections)};
  if (fmt == "summary") {
    std::string line = reach_summary_json(counts) + "\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
    const int code = verdict_exit(o.common, {&state}, kExitOk);
    keep_until_exit(std::make_shared<ClusterState>(std::move(state)));
    return code;
  }
  const ReachListing listing = reach_listing(fmt, o.by, o.verdict);
  list_connections(eps, rows, from, to, counts, listing, [](std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    // A write that fails while a large output is produced ends the command at once.
    if (std::ferror(stdout)) throw EndCommand{kExitOk};  // close_stdout reports it, exit 2
  });
  const int code = verdict_exit(o.common, {&state}, kExitOk);
  keep_until_exit(std::make_shared<ClusterState>(std::move(state)));
  return code;
}

}  // namespace

Runner register_reach(CLI::App& app) {
  auto opts = std::make_shared<ReachOptions>();
  CLI::App* cmd = app.add_subcommand(
      "reach", "Reachability under the loaded policies: every (source, destination, port)");
  add_common_flags(*cmd, opts->common, {"table", "json", "csv", "summary"}, "table");
  opts->common.workload_security = false;  // no posture checks here
  cmd->add_option("--from", opts->from, "Sources: NS/NAME, NS/* or * (default *)");
  cmd->add_option("--to", opts->to, "Destinations: NS/NAME, NS/* or * (default *)");
  cmd->add_option("--port", opts->ports,
                  "PROTO/PORT (tcp/80, udp/53, sctp/9000, tcp/http); repeatable. Default: "
                  "every port each destination declares; a bare port (5432) is TCP");
  cmd->add_option("--verdict", opts->verdict,
                  "List only the allowed or the denied connections (the summary counts all)")
      ->check(CLI::IsMember({"all", "allowed", "denied"}))
      ->default_str("all");
  cmd->add_option("--by", opts->by,
                  "One row per pod (default), or per workload or namespace pair with the pod "
                  "pairs it stands for (a pair whose pods differ gets a row per verdict)")
      ->check(CLI::IsMember({"pod", "workload", "namespace"}))
      ->default_str("pod");
  cmd->add_flag("--force", opts->force,
                "List the connections (-o table|json|csv) even when there are more than "
                "10,000,000 of them");
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli
