// stockade verify: observed traffic against the loaded policies.
#include <iostream>
#include <nlohmann/json.hpp>

#include "audit/verify.h"
#include "audit/verify_report.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/observe_flags.h"

namespace stockade::cli {

namespace {

struct VerifyOptions {
  CommonOptions common;
  ObserveSettings observe;
  std::string fail_on = "denied";
  std::string by = "workload";
};

// Without cluster objects there are no policies to decide with: each observed edge is listed
// as the records name it, with the verdict unknown (exit 0: nothing was found denied).
int run_without_objects(const VerifyOptions& o, const Observed& obs) {
  if (o.common.output == "sarif")
    throw UsageError{"-o sarif needs pods or workloads (-f): without them no verdict is known"};
  if (!o.common.quiet)
    std::fprintf(stderr,
                 "stockade: no pods or workloads in the input: endpoints are named from the flow "
                 "records; isolation and verdicts are unknown\n");
  if (o.common.output == "json")
    std::cout << audit::verify_json_without_objects(obs).dump(
                     -1, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  else
    std::cout << audit::verify_table_without_objects(obs);
  std::cout.flush();
  return kExitOk;
}

int run(const VerifyOptions& o) {
  check_stdin_once({{"-f", &o.common.files}, {"--flows", &o.observe.flows}});
  if (!has_object_source(o.common) && o.common.output == "sarif")
    throw UsageError{"-o sarif needs cluster objects (-f): without them no verdict is known"};
  Stopwatch clock;
  ClusterState state = load_cluster(o.common);
  auto engine = PolicyEngine::compile(state, resolve_endpoints(state, o.common));
  verbose_log(o.common, "cluster: " + clock.lap());
  Observed obs = read_observed(o.common, o.observe, state, *engine);
  verbose_log(o.common, "flows: " + clock.lap());

  // No pods or workloads (no -f, or policies alone): nothing to evaluate the records' pods as.
  if (state.pods.empty() && state.workloads.empty()) return run_without_objects(o, obs);

  const Granularity by = *parse_granularity(o.by);
  const audit::Verification ver = audit::verify_observed(*engine, obs, by);
  constexpr auto kReplace = nlohmann::json::error_handler_t::replace;
  if (o.common.output == "json")
    std::cout << audit::verify_json(ver, obs, by).dump(-1, ' ', false, kReplace) << "\n";
  else if (o.common.output == "sarif")
    std::cout << audit::verify_sarif(ver, obs);
  else
    std::cout << audit::verify_table(ver, obs);
  std::cout.flush();
  return verdict_exit(
      o.common, {&state},
      ver.denied + ver.requests_denied > 0 && o.fail_on == "denied" ? kExitFound : kExitOk);
}

}  // namespace

Runner register_verify(CLI::App& app) {
  auto opts = std::make_shared<VerifyOptions>();
  CLI::App* cmd =
      app.add_subcommand("verify", "Observed traffic against policies: the verdict of each edge");
  add_common_flags(*cmd, opts->common, {"table", "json", "sarif"}, "table");
  opts->common.objects_optional = true;               // without -f: from what the records carry
  add_settings(*cmd, settings(opts->observe, true));  // --flows … --max-external-nodes
  cmd->add_option("--fail-on", opts->fail_on,
                  "Exit 1 when an observed edge is denied (denied, default) or never (none)")
      ->check(CLI::IsMember({"denied", "none"}))
      ->default_str("denied");
  cmd->add_option("--by", opts->by,
                  "One row per workload pair (default), pod pair or namespace pair; a pair whose "
                  "pods' edges differ gets a row per verdict")
      ->check(CLI::IsMember({"pod", "workload", "namespace"}))
      ->default_str("workload");
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli
