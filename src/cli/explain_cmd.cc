// stockade explain: why one connection is allowed or denied.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "audit/decision_text.h"
#include "cli/commands.h"
#include "cli/common.h"

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
  std::vector<Peer> srcs = parse_peers(*engine, state, o.from, "--from");
  std::vector<Peer> dsts = parse_peers(*engine, state, o.to, "--to");
  auto port_on = [&](const Peer& dst) -> uint16_t {
    if (q.name.empty()) return q.number;
    if (!dst.endpoint)
      throw UsageError{"--port: a named port needs a pod or workload as --to, not an address"};
    auto p = engine->resolve_port(*dst.endpoint, q);
    if (!p)
      throw UsageError{"--port: " + engine->endpoints()[*dst.endpoint].id() + " declares no " +
                       std::string(to_string(q.protocol)) + " port named \"" + q.name + "\""};
    return *p;
  };
  auto name = [&](const Peer& p) {
    if (p.endpoint) return engine->endpoints()[*p.endpoint].id();
    for (const Node& n : state.nodes)
      if (std::find(n.addresses.begin(), n.addresses.end(), p.ip) != n.addresses.end())
        return p.ip.str() + " (node " + n.name + ")";
    return p.ip.str();
  };
  // A workload stands for all its pods: explain one pair when every pair is decided alike.
  Peer src = srcs[0], dst = dsts[0];
  uint16_t port = port_on(dst);
  Verdict v = engine->evaluate(src, dst, q.protocol, port);
  auto same = [](const Decision& a, const Decision& b) {
    return a.allowed == b.allowed && a.tier == b.tier && a.rule_index == b.rule_index &&
           (a.policy ? a.policy->name : "") == (b.policy ? b.policy->name : "");
  };
  size_t pairs = 0;
  for (const Peer& s : srcs)
    for (const Peer& d : dsts) {
      if (++pairs > 10000) break;
      Verdict w = engine->evaluate(s, d, q.protocol, port_on(d));
      if (!same(w.egress, v.egress) || !same(w.ingress, v.ingress))
        throw UsageError{"the pods of " + o.from + " and " + o.to + " are not all decided alike (" +
                         name(src) + " -> " + name(dst) + " is " +
                         (v.allowed ? "allowed" : "denied") + ", " + name(s) + " -> " + name(d) +
                         " is " + (w.allowed ? "allowed" : "denied") +
                         "): explain one pod at a time"};
    }
  if (srcs.size() * dsts.size() > 1 && !o.common.quiet)
    std::cerr << "stockade: " << srcs.size() * dsts.size()
              << " pod pairs are decided alike; explaining " << display_text(name(src)) << " -> "
              << display_text(name(dst)) << "\n";
  std::string s = name(src), d = name(dst);
  if (o.common.output == "json") {
    nlohmann::json j = {{"allowed", v.allowed},
                        {"src", s},
                        {"dst", d},
                        {"protocol", std::string(to_string(q.protocol))},
                        {"port", port},
                        {"egress", audit::side_json(v.egress, s, "egress")},
                        {"ingress", audit::side_json(v.ingress, d, "ingress")}};
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    return verdict_exit(o.common, {&state}, o.exit_code && !v.allowed ? kExitFound : kExitOk);
  }
  std::cout << fmt::format("{} -> {} {}/{}: {}\n", display_text(s), display_text(d),
                           to_string(q.protocol), port, v.allowed ? "ALLOWED" : "DENIED");
  std::cout << fmt::format("  egress of {}: {} ({}): {}\n", display_text(s),
                           v.egress.allowed ? "allowed" : "denied", audit::tier_id(v.egress.tier),
                           display_text(audit::reason(v.egress, s, "egress")));
  for (const std::string& note : v.egress.notes)
    std::cout << "    note: " << display_text(note) << "\n";
  std::cout << fmt::format("  ingress of {}: {} ({}): {}\n", display_text(d),
                           v.ingress.allowed ? "allowed" : "denied", audit::tier_id(v.ingress.tier),
                           display_text(audit::reason(v.ingress, d, "ingress")));
  for (const std::string& note : v.ingress.notes)
    std::cout << "    note: " << display_text(note) << "\n";
  std::cout.flush();
  return verdict_exit(o.common, {&state}, o.exit_code && !v.allowed ? kExitFound : kExitOk);
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
