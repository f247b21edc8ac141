// stockade diff: what a policy change would change.
#include <fmt/format.h>

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
  ObserveFlags observe;
  std::string by = "workload";
};

void print_table(const audit::PolicyChanges& d) {
  const bool pods = d.by == Granularity::Pod;
  std::string table;
  for (const DiffChange& c : d.changes)
    table +=
        fmt::format("{:<40} {:<40} {:<11} {}{}\n", display_text(c.src), display_text(c.dst),
                    fmt::format("{}/{}", to_string(c.protocol), c.port),
                    c.after ? "denied -> allowed" : "allowed -> denied",
                    pods ? "" : fmt::format(" ({} pod pair{})", c.pairs, c.pairs == 1 ? "" : "s"));
  if (!table.empty())
    std::cout << fmt::format("{:<40} {:<40} {:<11} {}\n", "SOURCE", "DESTINATION", "PORT", "CHANGE")
              << table << "\n";
  std::cout << fmt::format("{} connections change: {} newly allowed, {} newly denied\n",
                           d.newly_allowed + d.newly_denied, d.newly_allowed, d.newly_denied);
  if (!d.flows) return;
  std::string flow_table;
  for (const GroupedEdge& g : d.flows->rows)
    flow_table +=
        fmt::format("{:<40} {:<40} {:<11} {:>8} {}\n", display_text(g.src), display_text(g.dst),
                    fmt::format("{}/{}", to_string(g.protocol), g.port), g.stats.established,
                    g.cls == 1 ? "newly allowed" : "BROKEN (allowed -> denied)");
  if (!flow_table.empty())
    std::cout << "\nObserved flows whose verdict changes:\n"
              << fmt::format("{:<40} {:<40} {:<11} {:>8} {}\n", "SOURCE", "DESTINATION", "PORT",
                             "COUNT", "CHANGE")
              << flow_table;
  std::cout << fmt::format("{} observed edges checked: {} would break, {} newly allowed\n",
                           d.flows->checked, d.flows->broken, d.flows->newly_allowed);
  for (const audit::FlowChanges::Request& r : d.flows->requests)
    std::cout << fmt::format("  HTTP {} {} {} -> {}:{} ({}): {}\n", display_text(r.method),
                             display_text(r.path), display_text(r.src), display_text(r.dst), r.port,
                             r.count, r.after ? "newly allowed" : "BROKEN");
  if (d.flows->requests_checked)
    std::cout << fmt::format(
        "{} observed HTTP requests checked: {} would break, {} newly allowed\n",
        d.flows->requests_checked, d.flows->requests_broken, d.flows->requests_newly_allowed);
}

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
    print_table(*d);
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
  add_observe_flags(*cmd, opts->observe, false);
  cmd->add_option("--by", opts->by,
                  "One row per workload pair (default), pod pair or namespace pair, with the pod "
                  "pairs it stands for")
      ->check(CLI::IsMember({"pod", "workload", "namespace"}))
      ->default_str("workload");
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli
