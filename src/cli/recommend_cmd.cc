// stockade recommend: least-privilege NetworkPolicies from observed traffic, self-checked.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <tuple>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/observe_flags.h"
#include "recommend/recommend.h"

namespace stockade::cli {

namespace {

struct RecommendOptionsCli {
  CommonOptions common;
  ObserveFlags observe;
  std::string out_dir;
  uint64_t min_count = 1;
  size_t aggregate_after = 16;
  int widest_prefix = 16;
  bool no_default_deny = false;
  bool replace = false;
  bool guardrails = false;
  std::string guardrail_api = "v1alpha1";
};

struct Exposure {
  uint64_t total = 0;
  std::map<std::string, uint64_t> per_ns;  // by destination namespace
};

// Allowed (source, destination, declared port) triples, a pod's traffic to itself left out.
Exposure exposure(const PolicyEngine& engine, const std::set<std::string>& namespaces) {
  const auto& eps = engine.endpoints();
  auto m = engine.reach({});
  auto self_pairs = [&](const std::vector<uint8_t>& to) {
    uint64_t n = 0;
    for (uint32_t d = 0; d < eps.size(); ++d)
      if (to.empty() || to[d]) n += m->ports(d).size();
    return n;
  };
  Exposure x;
  x.total = m->counts({}, {}).allowed - self_pairs({});
  for (const std::string& ns : namespaces) {
    std::vector<uint8_t> to(eps.size(), 0);
    for (uint32_t d = 0; d < eps.size(); ++d) to[d] = eps[d].ns == ns;
    x.per_ns[ns] = m->counts({}, to).allowed - self_pairs(to);
  }
  return x;
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw UsageError{"--out-dir: cannot write " + p.string()};
}

int run(const RecommendOptionsCli& o) {
  Stopwatch clock;
  ClusterState state = load_cluster(o.common);
  auto current = PolicyEngine::compile(state, build_endpoints(state));
  std::unique_ptr<PolicyEngine> without_np;
  if (o.replace && !state.network_policies.empty()) {
    ClusterState base = state;
    base.network_policies.clear();
    without_np = PolicyEngine::compile(base, build_endpoints(base));
  }
  const PolicyEngine& existing = without_np ? *without_np : *current;
  verbose_log(o.common, "cluster: " + clock.lap());
  Observed obs = read_observed(o.common, o.observe, state, existing);
  verbose_log(o.common, "flows: " + clock.lap());
  if (obs.records == 0)
    throw UsageError{"no flow records in the --flows input: nothing to learn from"};
  if (obs.edges.empty())
    throw UsageError{"no flow records inside --since/--until (" +
                     std::to_string(obs.outside_window) + " outside): nothing to learn from"};

  RecommendOptions ro;
  ro.min_count = o.min_count;
  ro.aggregate_after = o.aggregate_after;
  ro.min_prefix_v4 = static_cast<uint8_t>(o.widest_prefix);
  ro.min_prefix_v6 = static_cast<uint8_t>(o.widest_prefix == 0 ? 0 : o.widest_prefix + 32);
  ro.default_deny = !o.no_default_deny;
  ro.replace = o.replace;
  ro.guardrails = o.guardrails;
  ro.guardrails_v1alpha2 = o.guardrail_api == "v1alpha2";
  if (!o.observe.since.empty()) ro.window_since = *parse_rfc3339(o.observe.since);
  if (!o.observe.until.empty()) ro.window_until = *parse_rfc3339(o.observe.until);
  Recommendation rec = recommend(state, existing, obs, ro);
  verbose_log(o.common, "synthesis: " + clock.lap());

  // Self-check: every observed established edge that became an allowance must be allowed by
  // the recommended set plus what stays in force.
  ClusterState after_state = with_recommendation(state, rec, o.replace);
  auto after = PolicyEngine::compile(after_state, build_endpoints(after_state));
  std::vector<std::string> broken;
  for (size_t i : rec.must_allow) {
    const ObservedEdge& e = obs.edges[i];
    if (!edge_allowed(*after, e))
      broken.push_back(
          fmt::format("{} -> {} {}/{}", e.src.id, e.dst.id, to_string(e.protocol), e.port));
  }
  verbose_log(o.common, "self-check: " + clock.lap());
  if (!broken.empty()) {
    print_error(fmt::format(
        "self-check failed: the recommended policies deny {} observed edge(s) (a bug in "
        "stockade; please report it), the first: {}",
        broken.size(), broken.front()));
    for (size_t i = 1; i < broken.size() && i < 10; ++i)
      std::fprintf(stderr, "  also denied: %s\n", broken[i].c_str());
    finish(3);
  }

  // Output.
  const bool json = o.common.output == "json";
  if (!o.out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.out_dir, ec);
    if (ec) throw UsageError{"--out-dir: cannot create " + o.out_dir + ": " + ec.message()};
    for (const RecommendedPolicy& p : rec.policies) {
      std::filesystem::path file = std::filesystem::path(o.out_dir) /
                                   (p.policy.ns + "." + p.policy.name + (json ? ".json" : ".yaml"));
      write_file(file, json ? render_policy_json(p, 2) + "\n" : render_policy_yaml(p));
    }
    for (const ClusterPolicy& p : rec.guardrails) {
      std::filesystem::path file =
          std::filesystem::path(o.out_dir) / ("cluster." + p.name + (json ? ".json" : ".yaml"));
      write_file(file,
                 json ? render_cluster_policy_json(p, 2) + "\n" : render_cluster_policy_yaml(p));
    }
  } else {
    std::string text = json ? render_json(rec) : render_yaml(rec);
    std::fwrite(text.data(), 1, text.size(), stdout);
  }

  // Summary on stderr.
  if (!o.common.quiet) {
    std::set<std::string> namespaces;
    size_t n_in = 0, n_eg = 0, n_dd = 0;
    for (const RecommendedPolicy& p : rec.policies) {
      namespaces.insert(p.policy.ns);
      if (p.policy.ingress.empty() && p.policy.egress.empty())
        ++n_dd;
      else
        (p.policy.affects_ingress ? n_in : n_eg)++;
    }
    Exposure before = exposure(*current, namespaces);
    Exposure aft = exposure(*after, namespaces);
    // Tightness: allowed pod pairs into the namespaces that received policies, against the
    // distinct observed pod pairs there (both on the destinations' declared ports; pods only:
    // host-network pods are their node, and node traffic is reported apart). The DNS twin
    // (TCP for an observed UDP lookup and the reverse) is required, and counted apart.
    const auto& eps = after->endpoints();
    std::set<std::tuple<uint32_t, uint32_t, Protocol, uint16_t>> observed_pairs, dns_twins;
    auto declares = [&](uint32_t d, Protocol p, uint16_t port) {
      for (const ContainerPort& cp : eps[d].pod.ports)
        if (cp.port == port && cp.protocol == p) return true;
      return false;
    };
    for (size_t i : rec.must_allow) {
      const ObservedEdge& e = obs.edges[i];
      if (e.src.kind != ObservedPeer::Kind::Endpoint ||
          e.dst.kind != ObservedPeer::Kind::Endpoint || e.src.endpoint == e.dst.endpoint ||
          eps[e.src.endpoint].pod.host_network || eps[e.dst.endpoint].pod.host_network ||
          !namespaces.count(eps[e.dst.endpoint].ns))
        continue;
      if (declares(e.dst.endpoint, e.protocol, e.port))
        observed_pairs.insert({e.src.endpoint, e.dst.endpoint, e.protocol, e.port});
      if (is_dns_port(eps[e.dst.endpoint], e.protocol, e.port)) {
        Protocol twin = e.protocol == Protocol::UDP ? Protocol::TCP : Protocol::UDP;
        if (declares(e.dst.endpoint, twin, e.port))
          dns_twins.insert({e.src.endpoint, e.dst.endpoint, twin, e.port});
      }
    }
    for (const auto& p : observed_pairs) dns_twins.erase(p);
    uint64_t allowed_in = 0;
    {
      auto m = after->reach({});
      std::vector<uint8_t> from(eps.size()), to(eps.size());
      uint64_t self = 0;
      for (uint32_t d = 0; d < eps.size(); ++d) {
        from[d] = !eps[d].pod.host_network;
        to[d] = from[d] && namespaces.count(eps[d].ns);
        if (to[d]) self += m->ports(d).size();
      }
      allowed_in = m->counts(from, to).allowed - self;
    }
    // What workload selectors cannot avoid: every pod of an observed (source workload,
    // destination workload, port) may talk to every pod of the other (pods of one workload
    // look alike to a selector). Allowed pairs beyond that closure are true over-allowance.
    uint64_t closure = 0;
    {
      auto unit_of = [&](uint32_t e) {
        return eps[e].ns + "/" +
               (eps[e].workload_name.empty() ? eps[e].name : eps[e].workload_name);
      };
      std::map<std::string, std::vector<uint32_t>> members;
      for (uint32_t e = 0; e < eps.size(); ++e)
        if (!eps[e].pod.host_network) members[unit_of(e)].push_back(e);
      std::set<std::tuple<std::string, std::string, Protocol, uint16_t>> unit_pairs;
      for (const auto* set : {&observed_pairs, &dns_twins})
        for (const auto& [s, d, proto, port] : *set)
          unit_pairs.insert({unit_of(s), unit_of(d), proto, port});
      for (const auto& [us, ud, proto, port] : unit_pairs) {
        const auto& srcs = members[us];
        for (uint32_t d : members[ud]) {
          if (!declares(d, proto, port)) continue;
          closure += srcs.size() - (std::find(srcs.begin(), srcs.end(), d) != srcs.end());
        }
      }
    }
    auto fp = [](uint64_t v) { return std::to_string(v); };
    std::string msg;
    msg += fmt::format(
        "stockade: {} policies written ({} ingress, {} egress, {} default-deny) in {} "
        "namespace(s){}\n",
        rec.policies.size(), n_in, n_eg, n_dd, namespaces.size(),
        o.out_dir.empty() ? "" : " to " + o.out_dir);
    if (!rec.guardrails.empty())
      msg +=
          fmt::format("stockade: {} cluster guardrail(s) suggested ({})\n", rec.guardrails.size(),
                      o.guardrail_api == "v1alpha2" ? "ClusterNetworkPolicy v1alpha2"
                                                    : "AdminNetworkPolicy v1alpha1");
    msg += fmt::format(
        "stockade: observed edges: {} established; allowed after: {} of {} (self-check "
        "passed); {} of them needed no rule (a pod's own traffic, its own node, or already decided "
        "by existing policies)\n",
        rec.edges_established, rec.must_allow.size(), rec.must_allow.size(),
        rec.edges_already_allowed);
    if (rec.edges_failed_only || rec.edges_below_min_count || rec.edges_unresolved ||
        rec.edges_denied_existing)
      msg += fmt::format(
          "stockade: not allowed: {} edges with failed attempts only, {} below --min-count, {} "
          "with an endpoint outside the objects, {} denied by existing policies\n",
          rec.edges_failed_only, rec.edges_below_min_count, rec.edges_unresolved,
          rec.edges_denied_existing);
    msg += fmt::format("stockade: exposure (allowed endpoint pairs on declared ports): {} -> {}\n",
                       before.total, aft.total);
    for (const std::string& ns : namespaces)
      msg +=
          fmt::format("stockade:   {}: {} -> {}\n", ns, fp(before.per_ns[ns]), fp(aft.per_ns[ns]));
    if (!observed_pairs.empty())
      msg += fmt::format(
          "stockade: tightness: {} allowed pod pairs into those namespaces for {} observed pod "
          "pairs and {} DNS twins ({:.2f}x; {:.2f}x of the observed alone)\n",
          allowed_in, observed_pairs.size(), dns_twins.size(),
          static_cast<double>(allowed_in) /
              static_cast<double>(observed_pairs.size() + dns_twins.size()),
          static_cast<double>(allowed_in) / static_cast<double>(observed_pairs.size()));
    if (!observed_pairs.empty())
      msg += fmt::format(
          "stockade: of them {} are pods of the observed workload pairs (selectors cannot tell "
          "the pods of one workload apart) and {} beyond\n",
          std::min(closure, allowed_in), allowed_in > closure ? allowed_in - closure : 0);
    for (const std::string& n : rec.notes) msg += "stockade: note: " + n + "\n";
    std::fflush(stdout);
    std::fwrite(msg.data(), 1, msg.size(), stderr);
  }
  finish(kExitOk);
}

}  // namespace

Runner register_recommend(CLI::App& app) {
  auto opts = std::make_shared<RecommendOptionsCli>();
  CLI::App* cmd = app.add_subcommand(
      "recommend", "Least-privilege NetworkPolicies from observed traffic, checked by the engine");
  add_common_flags(*cmd, opts->common, {"yaml", "json"}, "yaml");
  opts->common.workload_security = false;  // no posture checks here
  add_observe_flags(*cmd, opts->observe, true);
  cmd->add_option("--out-dir", opts->out_dir, "Write one file per policy into this directory");
  cmd->add_option("--min-count", opts->min_count,
                  "Established connections an edge needs to become an allowance (default 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--aggregate-after", opts->aggregate_after,
                  "External addresses per rule before they merge into covering prefixes "
                  "(default 16)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--widest-external-prefix", opts->widest_prefix,
                  "Aggregated external prefixes are never wider than this IPv4 prefix length "
                  "(IPv6: 32 more); 0 allows 0.0.0.0/0 and ::/0 (default 16)")
      ->check(CLI::Range(0, 32));
  cmd->add_flag("--no-default-deny", opts->no_default_deny,
                "Do not add a default-deny policy per namespace");
  cmd->add_flag("--replace", opts->replace,
                "Regenerate: ignore the NetworkPolicies in the input (admin tiers still apply)");
  cmd->add_flag("--guardrails", opts->guardrails,
                "Also suggest cluster guardrails: DNS always allowed, cloud metadata denied, "
                "cross-namespace ingress denied except what was observed");
  cmd->add_option("--guardrail-api", opts->guardrail_api,
                  "v1alpha1 (AdminNetworkPolicy, default) or v1alpha2 (ClusterNetworkPolicy)")
      ->check(CLI::IsMember({"v1alpha1", "v1alpha2"}))
      ->default_str("v1alpha1");
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli
