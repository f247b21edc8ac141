#include "recommend/summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "core/display.h"
#include "model/flow.h"

namespace stockade {

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

namespace {

using PodPair = std::tuple<uint32_t, uint32_t, Protocol, uint16_t>;

struct RequiredPairs {
  std::set<PodPair> observed, dns_twins, declared;
};

RequiredPairs required_pairs(const std::vector<Endpoint>& eps, const Observed& obs,
                             const Recommendation& rec, const std::set<std::string>& namespaces) {
  auto declares = [&](uint32_t d, Protocol p, uint16_t port) {
    for (const ContainerPort& cp : eps[d].pod.ports)
      if (cp.port == port && cp.protocol == p) return true;
    return false;
  };
  RequiredPairs r;
  for (size_t i : rec.must_allow) {
    const ObservedEdge& e = obs.edges[i];
    if (e.src.kind != ObservedPeer::Kind::Endpoint || e.dst.kind != ObservedPeer::Kind::Endpoint ||
        e.src.endpoint == e.dst.endpoint || eps[e.src.endpoint].pod.host_network ||
        eps[e.dst.endpoint].pod.host_network || !namespaces.count(eps[e.dst.endpoint].ns))
      continue;
    if (declares(e.dst.endpoint, e.protocol, e.port))
      r.observed.insert({e.src.endpoint, e.dst.endpoint, e.protocol, e.port});
    if (is_dns_port(eps[e.dst.endpoint], e.protocol, e.port)) {
      Protocol twin = e.protocol == Protocol::UDP ? Protocol::TCP : Protocol::UDP;
      if (declares(e.dst.endpoint, twin, e.port))
        r.dns_twins.insert({e.src.endpoint, e.dst.endpoint, twin, e.port});
    }
  }
  for (const auto& p : r.observed) r.dns_twins.erase(p);
  // What the objects declare (kept whether observed or not) is required too, counted apart.
  for (const DeclaredIngress& d : rec.declared) {
    if (d.from_outside || eps[d.endpoint].pod.host_network ||
        !namespaces.count(eps[d.endpoint].ns) || !declares(d.endpoint, d.protocol, d.port))
      continue;
    auto add = [&](uint32_t s) {
      PodPair t{s, d.endpoint, d.protocol, d.port};
      if (s != d.endpoint && !eps[s].pod.host_network && !r.observed.count(t) &&
          !r.dns_twins.count(t))
        r.declared.insert(t);
    };
    if (d.from_all_pods)
      for (uint32_t s = 0; s < eps.size(); ++s) add(s);
    else
      for (uint32_t s : d.sources) add(s);
  }
  return r;
}

// Every pod of a required (source workload, destination workload, port) with every pod of the
// other, on the destination's declared ports: pods of one workload look alike to a selector.
uint64_t selector_closure(const std::vector<Endpoint>& eps, const RequiredPairs& r) {
  auto declares = [&](uint32_t d, Protocol p, uint16_t port) {
    for (const ContainerPort& cp : eps[d].pod.ports)
      if (cp.port == port && cp.protocol == p) return true;
    return false;
  };
  auto unit_of = [&](uint32_t e) {
    return eps[e].ns + "/" + (eps[e].workload_name.empty() ? eps[e].name : eps[e].workload_name);
  };
  std::map<std::string, std::vector<uint32_t>> members;
  for (uint32_t e = 0; e < eps.size(); ++e)
    if (!eps[e].pod.host_network) members[unit_of(e)].push_back(e);
  std::set<std::tuple<std::string, std::string, Protocol, uint16_t>> unit_pairs;
  for (const auto* set : {&r.observed, &r.dns_twins, &r.declared})
    for (const auto& [s, d, proto, port] : *set)
      unit_pairs.insert({unit_of(s), unit_of(d), proto, port});
  uint64_t closure = 0;
  for (const auto& [us, ud, proto, port] : unit_pairs) {
    const auto& srcs = members[us];
    for (uint32_t d : members[ud]) {
      if (!declares(d, proto, port)) continue;
      closure += srcs.size() - (std::find(srcs.begin(), srcs.end(), d) != srcs.end());
    }
  }
  return closure;
}

}  // namespace

Tightness tightness(const PolicyEngine& after, const Observed& obs, const Recommendation& rec,
                    const std::set<std::string>& namespaces) {
  const auto& eps = after.endpoints();
  const RequiredPairs r = required_pairs(eps, obs, rec, namespaces);
  Tightness t;
  t.observed_pairs = r.observed.size();
  t.dns_twins = r.dns_twins.size();
  t.declared_pairs = r.declared.size();
  auto m = after.reach({});
  std::vector<uint8_t> from(eps.size()), to(eps.size());
  uint64_t self = 0;
  for (uint32_t d = 0; d < eps.size(); ++d) {
    from[d] = !eps[d].pod.host_network;
    to[d] = from[d] && namespaces.count(eps[d].ns);
    if (to[d]) self += m->ports(d).size();
  }
  t.allowed_in = m->counts(from, to).allowed - self;
  t.closure = selector_closure(eps, r);
  return t;
}

std::optional<Removed> removed_connections(const ClusterState& state, const PolicyEngine& current,
                                           const ProvedRecommendation& p) {
  if (p.after->endpoints().size() > kRemovedListUpTo) return std::nullopt;
  PolicyDiff diff = diff_policies(state, current, p.after_state, *p.after, {});
  auto outside = [](const DiffChange& c) {
    return c.src.starts_with("world/") || c.dst.starts_with("world/");
  };
  Removed r;
  r.connections = diff.newly_denied;
  // Outside first among the examples: the connections a window sees least.
  for (const DiffChange& c : diff.changes) {
    if (c.after) continue;
    r.outside += outside(c);
    if (r.examples.size() < 5 && outside(c)) r.examples.push_back(c);
  }
  for (const DiffChange& c : diff.changes)
    if (!c.after && r.examples.size() < 5 && !outside(c)) r.examples.push_back(c);
  return r;
}

std::vector<std::string> observed_notes(const Observed& observed) {
  std::vector<std::string> notes = {std::to_string(observed.read_stats.records) +
                                    " flow records, " + std::to_string(observed.outside_window) +
                                    " outside --since/--until, " +
                                    std::to_string(observed.edges.size()) + " observed edges"};
  notes.insert(notes.end(), observed.resolution_notes.begin(), observed.resolution_notes.end());
  if (observed.unresolved_pods > observed.resolution_notes.size())
    notes.push_back("... " + std::to_string(observed.unresolved_pods) +
                    " pods named by records are not in the input in all");
  return notes;
}

std::string low_confidence_warning(const LearningWindow& window, const std::string& min_window) {
  return "the learning window (" + human_duration(window.length_ns()) +
         ") is shorter than --min-window " + min_window +
         ": traffic that happens less often was not seen; every policy is annotated "
         "stockade.io/confidence: low";
}

std::string human_duration(int64_t ns) {
  if (ns < 60'000'000'000LL) return fmt::format("{:.1f}s", static_cast<double>(ns) / 1e9);
  int64_t m = ns / 60'000'000'000LL;
  if (m < 60) return fmt::format("{}m", m);
  if (m < 24 * 60) return fmt::format("{}h{:02}m", m / 60, m % 60);
  return fmt::format("{}d{}h", m / (24 * 60), (m / 60) % 24);
}

std::string coverage_text(const Recommendation& rec, const LearningWindow& w, bool all) {
  std::string msg =
      fmt::format("stockade: learning window: {} ({} .. {})\n", human_duration(w.length_ns()),
                  w.from ? format_rfc3339(w.from) : std::string("?"),
                  w.to ? format_rfc3339(w.to) : std::string("?"));
  size_t unobserved = 0;
  for (const auto& c : rec.coverage) unobserved += !c.observed;
  const bool each = all || rec.coverage.size() <= 50;
  msg += each ? "stockade: coverage per workload:\n"
              : fmt::format("stockade: coverage: {} workloads ({} not observed; -v lists all):\n",
                            rec.coverage.size(), unobserved);
  size_t listed = 0;
  for (const auto& c : rec.coverage) {
    if (!each && (c.observed || listed >= 20)) continue;
    ++listed;
    std::string who = c.ns + "/" + c.name + " (" + c.kind + ")";
    if (c.observed)
      msg += fmt::format("stockade:   {:<44} {:>8} connections, first {}, last {}{}\n", who,
                         c.connections, c.first ? format_rfc3339(c.first) : std::string("-"),
                         c.last ? format_rfc3339(c.last) : std::string("-"),
                         c.connections ? "" : " (no established connection)");
    else
      msg += fmt::format(
          "stockade:   {:<44} not observed: NOT COVERED{}\n", who,
          c.isolated ? " (isolated: --isolate-unobserved)" : " (left out of the default-deny)");
  }
  if (unobserved)
    msg += fmt::format(
        "stockade: not covered: {} workload(s) had no traffic in the window and are not "
        "isolated (--isolate-unobserved isolates them)\n",
        unobserved);
  if (!rec.system_namespaces_skipped.empty()) {
    std::string list;
    for (const std::string& ns : rec.system_namespaces_skipped)
      list += (list.empty() ? "" : ", ") + ns;
    msg +=
        "stockade: system namespaces left alone (--include-system writes policies there): " + list +
        "\n";
  }
  return msg;
}

namespace {

// What was written, the observed edges kept and left out.
std::string written_text(const Recommendation& rec, const ProvedRecommendation& p,
                         const std::set<std::string>& namespaces, const SummaryContext& ctx) {
  size_t n_in = 0, n_eg = 0, n_dd = 0;
  for (const RecommendedPolicy& r : rec.policies) {
    if (r.policy.ingress.empty() && r.policy.egress.empty())
      ++n_dd;
    else
      (r.policy.affects_ingress ? n_in : n_eg)++;
  }
  std::string msg = fmt::format(
      "stockade: {} {} written ({} ingress, {} egress, {} default-deny) in {} "
      "namespace(s){}\n",
      rec.policies.size(),
      p.kind == RecommendKind::Cilium   ? "CiliumNetworkPolicies"
      : p.kind == RecommendKind::Calico ? "Calico NetworkPolicies (projectcalico.org/v3)"
                                        : "policies",
      n_in, n_eg, n_dd, namespaces.size(), ctx.out_dir.empty() ? "" : " to " + ctx.out_dir);
  if (!rec.guardrails.empty())
    msg +=
        fmt::format("stockade: {} cluster guardrail(s) suggested ({})\n", rec.guardrails.size(),
                    ctx.guardrail_api == "v1alpha1" ? "AdminNetworkPolicy v1alpha1"
                                                    : "ClusterNetworkPolicy " + ctx.guardrail_api);
  msg += fmt::format(
      "stockade: observed edges: {} established; allowed after: {} of {} (self-check "
      "passed); {} of them needed no rule (a pod's own traffic, its own node, a namespace left "
      "alone, or already decided by existing policies)\n",
      rec.edges_established, rec.must_allow.size(), rec.must_allow.size(),
      rec.edges_already_allowed);
  if (rec.edges_failed_only || rec.edges_below_min_count || rec.edges_unresolved ||
      rec.edges_denied_existing)
    msg += fmt::format(
        "stockade: not allowed: {} edges with failed attempts only, {} below --min-count, {} "
        "with an endpoint outside the objects, {} denied by existing policies\n",
        rec.edges_failed_only, rec.edges_below_min_count, rec.edges_unresolved,
        rec.edges_denied_existing);
  return msg;
}

std::string exposure_text(const Exposure& before, const Exposure& after, const Tightness& t,
                          const std::set<std::string>& namespaces) {
  std::string msg =
      fmt::format("stockade: exposure (allowed endpoint pairs on declared ports): {} -> {}\n",
                  before.total, after.total);
  for (const std::string& ns : namespaces)
    msg += fmt::format("stockade:   {}: {} -> {}\n", ns, before.per_ns.at(ns), after.per_ns.at(ns));
  if (t.observed_pairs == 0) return msg;
  msg += fmt::format(
      "stockade: tightness: {} allowed pod pairs into those namespaces for {} observed pod "
      "pairs, {} DNS twins and {} declared pairs ({:.2f}x; {:.2f}x of the observed alone)\n",
      t.allowed_in, t.observed_pairs, t.dns_twins, t.declared_pairs,
      static_cast<double>(t.allowed_in) /
          static_cast<double>(t.observed_pairs + t.dns_twins + t.declared_pairs),
      static_cast<double>(t.allowed_in) / static_cast<double>(t.observed_pairs));
  msg += fmt::format(
      "stockade: of them {} are pods of the observed workload pairs (selectors cannot tell "
      "the pods of one workload apart) and {} beyond\n",
      std::min(t.closure, t.allowed_in), t.allowed_in > t.closure ? t.allowed_in - t.closure : 0);
  return msg;
}

// What is removed, the declared connections kept, warnings and notes.
std::string closing_text(const Recommendation& rec, const ProvedRecommendation& p,
                         const std::optional<Removed>& removed) {
  const SelfCheck& check = p.check;
  std::string msg;
  if (check.blocked)
    msg += fmt::format(
        "stockade: warning: {} observed edge(s) allowed today are left denied "
        "(--accept-blocked), e.g. {}\n",
        check.blocked, check.blocked_examples.front());
  if (removed) {
    msg += fmt::format(
        "stockade: removed compared with the policies in force: {} connection(s) ({} to or from "
        "outside the cluster); `stockade diff --before <in force> --after <these>` lists "
        "them{}\n",
        removed->connections, removed->outside, removed->examples.empty() ? "" : ", e.g.:");
    for (const DiffChange& c : removed->examples)
      msg +=
          fmt::format("stockade:   {} -> {} {}/{}\n", c.src, c.dst, to_string(c.protocol), c.port);
  }
  msg += fmt::format(
      "stockade: declared connections kept: {} checked ({} declared rule(s): Services exposed "
      "outside, Ingress/Gateway backends, Prometheus scrape targets, the cluster DNS)\n",
      check.declared_checked, rec.declared.size());
  if (check.declared_ports_denied) {
    msg += fmt::format(
        "stockade: warning: {} of {} declared ports, asked by the clients observed in the same "
        "namespace, would be denied (only the observed ports are allowed), e.g.:\n",
        check.declared_ports_denied, check.declared_ports_checked);
    for (size_t i = 0; i < check.declared_ports_examples.size() && i < 5; ++i)
      msg += "stockade:   " + check.declared_ports_examples[i] + "\n";
  }
  for (const std::string& n : rec.notes) msg += "stockade: note: " + display_text(n) + "\n";
  if (p.cilium.node_rules_widened)
    msg += fmt::format(
        "stockade: note: {} Cilium rule(s) allow nodes as the entity remote-node (every other "
        "node), where the NetworkPolicy named some nodes' addresses: Cilium's CIDR rules do not "
        "match nodes\n",
        p.cilium.node_rules_widened);
  if (p.kind == RecommendKind::Calico && rec.edges_own_node)
    msg += fmt::format(
        "stockade: note: {} observed edge(s) between a pod and its own node became rules "
        "(Calico's policies decide that traffic): each names the node's address for the whole "
        "workload, so its pods on other nodes may use it too\n",
        rec.edges_own_node);
  return msg;
}

}  // namespace

std::string summary_text(const ClusterState& state, const PolicyEngine& current,
                         const Observed& observed, const Recommendation& rec,
                         const ProvedRecommendation& proved, const SummaryContext& ctx) {
  std::set<std::string> namespaces;
  for (const RecommendedPolicy& p : rec.policies) namespaces.insert(p.policy.ns);
  const Exposure before = exposure(current, namespaces);
  const Exposure after = exposure(*proved.after, namespaces);
  const Tightness t = tightness(*proved.after, observed, rec, namespaces);
  std::string msg = written_text(rec, proved, namespaces, ctx);
  msg += exposure_text(before, after, t, namespaces);
  msg += coverage_text(rec, ctx.window, ctx.list_all_coverage);
  msg += closing_text(rec, proved, removed_connections(state, current, proved));
  return msg;
}

}  // namespace stockade
