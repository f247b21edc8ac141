// stockade diff: what a policy change would change.
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/observe_flags.h"
#include "engine/diff.h"

namespace stockade::cli {

namespace {

struct DiffOptions {
  CommonOptions common;
  std::vector<std::string> before, after, ports;
  ObserveFlags observe;
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
  const auto& eps = before->endpoints();
  if (eps.size() != after->endpoints().size())
    throw UsageError{"--before and --after must hold policies only: the endpoints differ"};
  for (size_t i = 0; i < eps.size(); ++i)
    if (eps[i].id() != after->endpoints()[i].id())
      throw UsageError{"--before and --after must hold policies only: the endpoints differ (" +
                       eps[i].id() + ")"};
  PolicyDiff diff = diff_policies(before_state, *before, after_state, *after, queries);
  if (!diff.ports_differ.empty())
    throw UsageError{"--before and --after must hold policies only: the ports of " +
                     diff.ports_differ + " differ"};
  nlohmann::json changes = nlohmann::json::array();
  const uint64_t newly_allowed = diff.newly_allowed, newly_denied = diff.newly_denied;
  std::string table;
  const Granularity by = *parse_granularity(o.by);
  for (const DiffChange& c : group_changes(diff.changes, eps, by)) {
    std::string proto(to_string(c.protocol));
    if (o.common.output == "json") {
      nlohmann::json j = {{"src", c.src},
                          {"dst", c.dst},
                          {"protocol", proto},
                          {"port", c.port},
                          {"before", c.before ? "allowed" : "denied"},
                          {"after", c.after ? "allowed" : "denied"}};
      if (by != Granularity::Pod) j["pairs"] = c.pairs;
      changes.push_back(std::move(j));
    } else {
      table += fmt::format("{:<40} {:<40} {:<11} {}{}\n", display_text(c.src), display_text(c.dst),
                           fmt::format("{}/{}", proto, c.port),
                           c.after ? "denied -> allowed" : "allowed -> denied",
                           by == Granularity::Pod
                               ? ""
                               : fmt::format(" ({} pod pair{})", c.pairs, c.pairs == 1 ? "" : "s"));
    }
  }
  // Observed flows: the established edges whose verdict the change flips.
  uint64_t flows_broken = 0, flows_newly_allowed = 0, flows_checked = 0;
  nlohmann::json flow_changes = nlohmann::json::array();
  std::string flow_table;
  if (!o.observe.flows.empty()) {
    Observed obs = read_observed(o.common, o.observe, before_state, *before);
    // The edges whose verdict flips (class 1: newly allowed, 0: broken), under their groups;
    // outside peers by the parts of the outside that the connections above use.
    std::vector<std::pair<size_t, uint8_t>> flipped;
    for (size_t i = 0; i < obs.edges.size(); ++i) {
      const ObservedEdge& e = obs.edges[i];
      if (e.stats.established == 0 || e.src.kind == ObservedPeer::Kind::Unresolved ||
          e.dst.kind == ObservedPeer::Kind::Unresolved)
        continue;
      ++flows_checked;
      bool b = edge_allowed(*before, e), a = edge_allowed(*after, e);
      if (b == a) continue;
      flipped.emplace_back(i, a ? 1 : 0);
      (a ? flows_newly_allowed : flows_broken)++;  // observed edges, whatever the rows
    }
    const std::vector<WorldPart> parts = world_parts(before_state, after_state, eps);
    for (const GroupedEdge& g : group_edges(obs.edges, flipped, eps, {by, &parts})) {
      const bool now_allowed = g.cls == 1;
      std::string proto(to_string(g.protocol));
      if (o.common.output == "json") {
        nlohmann::json j = {{"src", g.src},
                            {"dst", g.dst},
                            {"protocol", proto},
                            {"port", g.port},
                            {"count", g.stats.count},
                            {"established", g.stats.established},
                            {"before", now_allowed ? "denied" : "allowed"},
                            {"after", now_allowed ? "allowed" : "denied"}};
        if (g.stats.first_seen) j["first_seen"] = format_rfc3339(g.stats.first_seen);
        if (g.stats.last_seen) j["last_seen"] = format_rfc3339(g.stats.last_seen);
        flow_changes.push_back(std::move(j));
      } else {
        flow_table +=
            fmt::format("{:<40} {:<40} {:<11} {:>8} {}\n", display_text(g.src), display_text(g.dst),
                        fmt::format("{}/{}", proto, g.port), g.stats.established,
                        now_allowed ? "newly allowed" : "BROKEN (allowed -> denied)");
      }
    }
  }
  const bool with_flows = !o.observe.flows.empty();
  if (o.common.output == "json") {
    nlohmann::json j = {{"changes", std::move(changes)},
                        {"summary",
                         {{"changed", newly_allowed + newly_denied},
                          {"newly_allowed", newly_allowed},
                          {"newly_denied", newly_denied}}}};
    if (with_flows)
      j["flows"] = {{"changes", std::move(flow_changes)},
                    {"summary",
                     {{"edges", flows_checked},
                      {"broken", flows_broken},
                      {"newly_allowed", flows_newly_allowed}}}};
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    if (!table.empty())
      std::cout << fmt::format("{:<40} {:<40} {:<11} {}\n", "SOURCE", "DESTINATION", "PORT",
                               "CHANGE")
                << table << "\n";
    std::cout << fmt::format("{} connections change: {} newly allowed, {} newly denied\n",
                             newly_allowed + newly_denied, newly_allowed, newly_denied);
    if (with_flows) {
      if (!flow_table.empty())
        std::cout << "\nObserved flows whose verdict changes:\n"
                  << fmt::format("{:<40} {:<40} {:<11} {:>8} {}\n", "SOURCE", "DESTINATION", "PORT",
                                 "COUNT", "CHANGE")
                  << flow_table;
      std::cout << fmt::format("{} observed edges checked: {} would break, {} newly allowed\n",
                               flows_checked, flows_broken, flows_newly_allowed);
    }
  }
  std::cout.flush();
  return verdict_exit(o.common, {&before_state, &after_state}, flows_broken ? kExitFound : kExitOk);
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
