// stockade diff: what a policy change would change.
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "audit/policy_diff.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/observe_flags.h"

namespace stockade::cli {

namespace {

struct DiffOptions {
  CommonOptions common;
  std::vector<std::string> before, after, ports;
  ObserveSettings observe;
  std::string by = "workload";
};

int run(const DiffOptions& o) {
  check_stdin_once({{"-f", &o.common.files},
                    {"--before", &o.before},
                    {"--after", &o.after},
                    {"--flows", &o.observe.flows}});
  for (const std::string& f : o.common.files)
    if (f == "-")  // -f is read once for --before and once more for --after
      throw UsageError{"-f -: diff reads -f twice (with --before and with --after); give a file"};
  std::vector<PortQuery> queries;
  for (const std::string& p : o.ports) queries.push_back(parse_port(p, "--port"));
  ClusterState before_state = load_cluster(o.common, o.before);
  ClusterState after_state = load_cluster(o.common, o.after);
  auto before = PolicyEngine::compile(before_state, resolve_endpoints(before_state, o.common));
  auto after = PolicyEngine::compile(after_state, build_endpoints(after_state));
  std::optional<Observed> obs;
  if (!o.observe.flows.empty()) obs = read_observed(o.common, o.observe, before_state, *before);
  auto d = audit::diff(before_state, *before, after_state, *after, queries,
                       *parse_granularity(o.by), obs ? &*obs : nullptr);
  if (!d) throw UsageError{"--before and --after " + d.error().message};
  if (o.common.output == "json")
    std::cout << audit::diff_json(*d).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  else
    std::cout << audit::diff_table(*d);
  std::cout.flush();
  const bool broken = d->flows && (d->flows->broken || d->flows->requests_broken);
  return verdict_exit(o.common, {&before_state, &after_state}, broken ? kExitFound : kExitOk);
}

}  // namespace

Runner register_diff(CLI::App& app) {
  auto opts = std::make_shared<DiffOptions>();
  CLI::App* cmd = app.add_subcommand(
      "diff", "What a policy change would change: connections whose verdict differs");
  add_common_flags(*cmd, opts->common, {"table", "json"}, "table");
  cmd->add_option("--before", opts->before, "Policies before the change (files, dirs); repeatable")
      ->required();
  cmd->add_option("--after", opts->after, "Policies after the change (files, dirs); repeatable")
      ->required();
  cmd->add_option("--port", opts->ports,
                  "PROTO/PORT to compare; repeatable. Default: every declared port");
  add_settings(*cmd, settings(opts->observe, false));  // --flows … --max-external-nodes
  cmd->add_option("--by", opts->by,
                  "One row per workload pair (default), pod pair or namespace pair, with the pod "
                  "pairs it stands for")
      ->check(CLI::IsMember({"pod", "workload", "namespace"}))
      ->default_str("workload");
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli
