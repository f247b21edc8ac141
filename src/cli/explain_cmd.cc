// stockade explain: why one connection is allowed or denied.
#include <iostream>
#include <nlohmann/json.hpp>

#include "audit/decision_text.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "engine/peers.h"

namespace stockade::cli {

namespace {

struct ExplainOptions {
  CommonOptions common;
  std::string from, to, port;
  bool exit_code = false;  // exit 1 when denied (as kubectl auth can-i)
};

int run(const ExplainOptions& o) {
  PortQuery q = parse_port(o.port, "--port");
  ClusterState state = load_cluster(o.common);
  auto engine = PolicyEngine::compile(state, resolve_endpoints(state, o.common));
  std::vector<Peer> srcs = value_or_usage_error(find_peers(*engine, state, o.from, "--from"));
  std::vector<Peer> dsts = value_or_usage_error(find_peers(*engine, state, o.to, "--to"));
  const ExplainedConnection x =
      value_or_usage_error(explain_connection(*engine, state, srcs, dsts, q, o.from, o.to));
  if (x.pairs > 1 && !o.common.quiet)
    std::cerr << "stockade: " << x.pairs << " pod pairs are decided alike; explaining "
              << display_text(x.src_name) << " -> " << display_text(x.dst_name) << "\n";
  if (o.common.output == "json")
    std::cout << audit::explanation_json(x).dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace)
              << std::endl;
  else
    std::cout << audit::explanation_text(x) << std::flush;
  return verdict_exit(o.common, {&state}, o.exit_code && !x.verdict.allowed ? kExitFound : kExitOk);
}

}  // namespace

Runner register_explain(CLI::App& app) {
  auto opts = std::make_shared<ExplainOptions>();
  CLI::App* cmd = app.add_subcommand(
      "explain", "Why one connection is allowed or denied: the deciding tier, policy and rule");
  add_common_flags(*cmd, opts->common, {"table", "json"}, "table");
  cmd->add_option("--from", opts->from, "Source: NS/NAME or an IP address")->required();
  cmd->add_option("--to", opts->to, "Destination: NS/NAME or an IP address")->required();
  cmd->add_option("--port", opts->port, "PROTO/PORT, e.g. tcp/80 or tcp/http; a bare port is TCP")
      ->required();
  cmd->add_flag("--exit-code", opts->exit_code, "Exit 1 when the connection is denied");
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli
