// stockade verify: observed traffic against the loaded policies.
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "audit/decision_text.h"
#include "audit/verify.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/observe_flags.h"
#include "core/version.h"

namespace stockade::cli {

namespace {

struct VerifyOptions {
  CommonOptions common;
  ObserveFlags observe;
  std::string fail_on = "denied";
  std::string by = "workload";
};

// Where a decision points in the input: the deciding rule, else the first isolating policy.
std::optional<SourceRef> decision_location(const Decision& d) {
  if (d.policy && !d.policy->source.file.empty())
    return SourceRef{d.policy->source.file, d.rule_line ? d.rule_line : d.policy->source.line};
  if (!d.isolated_by.empty() && !d.isolated_by.front().source.file.empty())
    return d.isolated_by.front().source;
  return std::nullopt;
}

std::string short_reason(const Decision& d) {
  if (d.policy) return audit::tier_id(d.tier) + " " + audit::ref_text(*d.policy, d.rule_line);
  if (!d.isolated_by.empty())
    return d.own_node ? "own node" : "isolated by " + audit::ref_text(d.isolated_by.front());
  return audit::tier_id(d.tier);
}

// Without cluster objects there are no policies to decide with: each observed edge is listed
// as the records name it, with the verdict unknown (exit 0: nothing was found denied).
int run_without_objects(const VerifyOptions& o, const Observed& obs) {
  if (o.common.output == "sarif")
    throw UsageError{"-o sarif needs pods or workloads (-f): without them no verdict is known"};
  if (!o.common.quiet)
    std::fprintf(stderr,
                 "stockade: no pods or workloads in the input: endpoints are named from the flow "
                 "records; isolation and verdicts are unknown\n");
  if (o.common.output == "json") {
    std::cout << audit::verify_json_without_objects(obs).dump(
                     -1, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    uint64_t edges = 0, not_established = 0;
    std::string table;
    for (const ObservedEdge& e : obs.edges) {
      if (e.stats.established == 0) {
        ++not_established;
        continue;
      }
      ++edges;
      table += fmt::format("{:<40} {:<40} {:<11} {:>8} {:<8}\n", e.src.id, e.dst.id,
                           fmt::format("{}/{}", to_string(e.protocol), e.port), e.stats.established,
                           "unknown");
    }
    if (!table.empty())
      std::cout << fmt::format("{:<40} {:<40} {:<11} {:>8} {:<8}\n", "SOURCE", "DESTINATION",
                               "PORT", "COUNT", "VERDICT")
                << table << "\n";
    std::cout << fmt::format(
        "{} observed edges, verdicts unknown without cluster objects ({} not established)\n", edges,
        not_established);
  }
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
  const uint64_t allowed = ver.allowed, denied = ver.denied;
  nlohmann::json results = nlohmann::json::array();
  std::string table;
  for (const audit::VerifyRow& row : ver.rows) {
    if (o.common.output == "json") break;
    const GroupedEdge& g = row.group;
    const ObservedEdge& e = obs.edges[row.rep];
    const Verdict& v = row.verdict;
    std::string proto(to_string(e.protocol));
    const Decision& d = audit::deciding_side(v);
    if (o.common.output == "sarif") {
      if (v.allowed) continue;
      const char* dir = &d == &v.egress ? "egress" : "ingress";
      const std::string& who = &d == &v.egress ? e.src.id : e.dst.id;
      nlohmann::json r = {
          {"ruleId", "observed-flow-denied"},
          {"level", "error"},
          {"message",
           {{"text",
             fmt::format("Observed flow {} -> {} {}/{} ({} established) is denied: {}", g.src,
                         g.dst, proto, e.port, g.stats.established, audit::reason(d, who, dir))}}},
          {"properties", {{"src", g.src}, {"dst", g.dst}, {"protocol", proto}, {"port", e.port}}}};
      if (auto loc = decision_location(d)) {
        nlohmann::json region = nlohmann::json::object();
        if (loc->line > 0) region["startLine"] = loc->line;
        nlohmann::json phys = {{"artifactLocation", {{"uri", loc->file}}}};
        if (!region.empty()) phys["region"] = region;
        r["locations"] = nlohmann::json::array({{{"physicalLocation", phys}}});
      }
      results.push_back(std::move(r));
    } else {
      table +=
          fmt::format("{:<40} {:<40} {:<11} {:>8} {:<8} {}\n", display_text(g.src),
                      display_text(g.dst), fmt::format("{}/{}", proto, e.port), g.stats.established,
                      v.allowed ? "allowed" : "denied", display_text(short_reason(d)));
    }
  }
  if (o.common.output == "json") {
    std::cout << audit::verify_json(ver, obs, by)
                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else if (o.common.output == "sarif") {
    nlohmann::json rule = {
        {"id", "observed-flow-denied"},
        {"name", "ObservedFlowDenied"},
        {"shortDescription", {{"text", "An observed connection is denied by the policies"}}},
        {"fullDescription",
         {{"text",
           "A connection that was observed established in the cluster would be denied by the "
           "loaded network policies: applying them breaks that traffic."}}},
        {"defaultConfiguration", {{"level", "error"}}}};
    nlohmann::json sarif = {
        {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
        {"version", "2.1.0"},
        {"runs", nlohmann::json::array({{{"tool",
                                          {{"driver",
                                            {{"name", "stockade"},
                                             {"version", std::string(kVersion)},
                                             {"rules", nlohmann::json::array({rule})}}}}},
                                         {"results", std::move(results)}}})}};
    std::cout << sarif.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    if (!table.empty())
      std::cout << fmt::format("{:<40} {:<40} {:<11} {:>8} {:<8} {}\n", "SOURCE", "DESTINATION",
                               "PORT", "COUNT", "VERDICT", "DECIDED BY")
                << table << "\n";
    std::cout << fmt::format(
        "{} observed edges: {} allowed, {} denied ({} not established, {} with an endpoint "
        "outside the objects: not evaluated)\n",
        allowed + denied, allowed, denied, ver.not_established, ver.unresolved);
  }
  std::cout.flush();
  return verdict_exit(o.common, {&state},
                      denied > 0 && o.fail_on == "denied" ? kExitFound : kExitOk);
}

}  // namespace

Runner register_verify(CLI::App& app) {
  auto opts = std::make_shared<VerifyOptions>();
  CLI::App* cmd =
      app.add_subcommand("verify", "Observed traffic against policies: the verdict of each edge");
  add_common_flags(*cmd, opts->common, {"table", "json", "sarif"}, "table");
  opts->common.objects_optional = true;  // without -f: from what the records carry
  add_observe_flags(*cmd, opts->observe, true);
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
