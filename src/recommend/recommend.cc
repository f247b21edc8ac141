#include "recommend/recommend.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "recommend/contributions.h"
#include "recommend/fqdn.h"
#include "recommend/keep_declared.h"
#include "recommend/policy_build.h"
#include "recommend/units.h"

namespace stockade {

bool is_dns_port(const Endpoint& dst, Protocol protocol, uint16_t port) {
  if (protocol != Protocol::UDP && protocol != Protocol::TCP) return false;
  if (port == 53) return true;
  for (const ContainerPort& cp : dst.pod.ports)
    if (cp.port == port && cp.name.starts_with("dns")) return true;
  // A DNS server on an unnamed port: the cluster DNS pods' conventional label, over UDP.
  auto app = dst.pod.labels.find("k8s-app");
  return protocol == Protocol::UDP && app != dst.pod.labels.end() &&
         (app->second == "kube-dns" || app->second == "coredns");
}

namespace {

using namespace rec;

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : "; ") + x;
  return s;
}

void note_left_out(const Recommendation& out, const Contributions& c,
                   std::set<std::string>& notes) {
  if (out.edges_denied_existing)
    notes.insert(std::to_string(out.edges_denied_existing) +
                 " observed established edge(s) are denied by existing policies and stay denied "
                 "(--replace regenerates the NetworkPolicies), e.g. " +
                 join(c.denied_examples));
  if (out.edges_unresolved)
    notes.insert(std::to_string(out.edges_unresolved) +
                 " observed edge(s) have an endpoint the cluster objects do not hold (a pod not "
                 "in the input, a Service address, an unknown node) and are not allowed, e.g. " +
                 join(c.unresolved_examples));
}

std::string learning_window(const Observed& observed, const RecommendOptions& options) {
  int64_t from = options.window_since ? options.window_since : observed.first_ns;
  int64_t to = options.window_until ? options.window_until : observed.last_ns;
  if (!from && !to) return {};
  return (from ? format_rfc3339(from) : std::string("..")) + "/" +
         (to ? format_rfc3339(to) : std::string(".."));
}

// Workloads the window did not see: excluded from every recommended policy of their namespace
// by a requirement that none of the observed workloads' pods meets.
struct Exclusions {
  std::map<std::string, std::vector<SelectorRequirement>, std::less<>> by_ns;
  std::set<std::string> no_default_deny;
};

Exclusions leave_out_unobserved(Recommendation& out, const std::vector<Endpoint>& eps,
                                const Units& units, const Contributions& seen,
                                const std::set<std::string>& namespaces,
                                std::set<std::string>& notes) {
  Exclusions x;
  for (uint32_t u = 0; u < units.units.size(); ++u) {
    if (seen.unit_seen[u] || !seen.unit_covered[u] || units.units[u].host_network) continue;
    const Unit& unit = units.units[u];
    std::optional<SelectorRequirement> excl;
    if (namespaces.count(unit.ns)) excl = exclusion_for(units, u, eps);
    // Proved by the self-check: no recommended policy selects these pods.
    if (excl || !namespaces.count(unit.ns))
      for (uint32_t e : unit.endpoints) out.unobserved_endpoints.push_back(e);
    if (!namespaces.count(unit.ns)) continue;  // nothing is written there
    if (excl) {
      x.by_ns[unit.ns].push_back(std::move(*excl));
    } else {
      x.no_default_deny.insert(unit.ns);
      notes.insert(unit.ns + "/" + unit.name +
                   " (not observed) has no label that sets it apart from the observed "
                   "workloads: it cannot be left out of a default-deny exactly, so " +
                   unit.ns +
                   " gets no default-deny (policies of observed workloads whose selectors "
                   "match its pods apply to it)");
    }
  }
  std::sort(out.unobserved_endpoints.begin(), out.unobserved_endpoints.end());
  return x;
}

void add_default_denies(Recommendation& out, const std::set<std::string>& namespaces,
                        const Exclusions& x, const std::string& window) {
  for (const std::string& ns : namespaces) {
    if (x.no_default_deny.count(ns)) continue;
    RecommendedPolicy rp;
    rp.policy.ns = ns;
    rp.policy.name = "stockade-default-deny";
    rp.policy.affects_ingress = rp.policy.affects_egress = true;
    rp.policy.source.file = "<recommended>";
    rp.annotations = {{"stockade.io/generated-by", "stockade recommend"}};
    if (!window.empty()) rp.annotations.push_back({"stockade.io/learning-window", window});
    if (auto it = x.by_ns.find(ns); it != x.by_ns.end())
      rp.annotations.push_back(
          {"stockade.io/not-isolated",
           "workloads not observed in the learning window are left out (--isolate-unobserved "
           "isolates them)"});
    out.policies.push_back(std::move(rp));
  }
}

// Every recommended policy of a namespace that would select an unobserved workload's pods
// (the default-deny, a workload without stable labels) gets the exclusions.
void apply_exclusions(Recommendation& out, const std::vector<Endpoint>& eps, const Exclusions& x) {
  std::map<std::string_view, std::vector<uint32_t>> unobserved_in;
  for (uint32_t e : out.unobserved_endpoints) unobserved_in[eps[e].ns].push_back(e);
  if (x.by_ns.empty()) return;
  for (RecommendedPolicy& rp : out.policies) {
    auto it = x.by_ns.find(rp.policy.ns);
    if (it == x.by_ns.end()) continue;
    bool selects = false;
    for (uint32_t e : unobserved_in[rp.policy.ns])
      selects = selects || rp.policy.pod_selector.matches(eps[e].pod.labels);
    if (!selects) continue;
    // One NotIn per key, values merged.
    for (const SelectorRequirement& r : it->second) {
      auto& reqs = rp.policy.pod_selector.requirements;
      auto same = std::find_if(reqs.begin(), reqs.end(), [&](const SelectorRequirement& q) {
        return q.key == r.key && q.op == r.op && r.op == SelectorOp::NotIn;
      });
      if (same != reqs.end()) {
        for (const std::string& v : r.values)
          if (std::find(same->values.begin(), same->values.end(), v) == same->values.end())
            same->values.push_back(v);
        std::sort(same->values.begin(), same->values.end());
      } else {
        reqs.push_back(r);
      }
    }
  }
}

// Coverage of every unit that policies may be written for.
void add_coverage(Recommendation& out, const Units& units, const Contributions& seen,
                  const RecommendOptions& options) {
  std::set<std::pair<std::string_view, std::string_view>> own_policy;
  std::set<std::string_view> default_denied;
  for (const RecommendedPolicy& rp : out.policies) {
    std::string_view name = rp.policy.name;
    if (name == "stockade-default-deny")
      default_denied.insert(rp.policy.ns);
    else if (name.starts_with("stockade-ingress-"))
      own_policy.insert({rp.policy.ns, name.substr(17)});
    else if (name.starts_with("stockade-egress-"))
      own_policy.insert({rp.policy.ns, name.substr(16)});
  }
  for (uint32_t u = 0; u < units.units.size(); ++u) {
    const Unit& unit = units.units[u];
    if (unit.host_network) continue;
    if (!seen.unit_covered[u]) {
      out.system_namespaces_skipped.push_back(unit.ns);
      continue;
    }
    Recommendation::Coverage c;
    c.ns = unit.ns;
    c.name = unit.name;
    c.kind = unit.kind;
    c.connections = seen.unit_evidence[u].connections;
    c.attempts = seen.unit_attempts[u];
    c.first = seen.unit_evidence[u].first;
    c.last = seen.unit_evidence[u].last;
    c.observed = seen.unit_seen[u];
    // Its own policies, or the default-deny of its namespace unless it is left out of it.
    c.isolated =
        own_policy.count({unit.ns, unit.base}) ||
        (default_denied.count(unit.ns) && (seen.unit_seen[u] || options.isolate_unobserved));
    out.coverage.push_back(std::move(c));
  }
  std::sort(out.system_namespaces_skipped.begin(), out.system_namespaces_skipped.end());
  out.system_namespaces_skipped.erase(
      std::unique(out.system_namespaces_skipped.begin(), out.system_namespaces_skipped.end()),
      out.system_namespaces_skipped.end());
}

}  // namespace

// The phases: units (units.cc), each edge judged and turned into contributions
// (contributions.cc), a policy per unit and direction (policy_build.cc), the declared ingress
// kept (keep_declared.cc), guardrails (guardrails.cc), then the default-denies with the
// unobserved workloads left out, and what the window covered.
Recommendation recommend(const ClusterState& state, const PolicyEngine& existing,
                         const Observed& observed, const RecommendOptions& options) {
  Recommendation out;
  const std::vector<Endpoint>& eps = existing.endpoints();
  std::set<std::string> notes;
  const Units units = build_units(state, eps);
  const Contributions contributions =
      collect_contributions(existing, observed, units, options, out);
  note_left_out(out, contributions, notes);

  const std::string window = learning_window(observed, options);
  auto names = std::make_shared<std::vector<std::string>>();
  names->reserve(units.units.size());
  for (const Unit& u : units.units) names->push_back(u.ns + "/" + u.name + " (" + u.kind + ")");
  std::vector<std::pair<size_t, size_t>> side_ranges;
  out.policies = build_policies({units.units, contributions, names, window, options}, side_ranges);
  keep_declared(out, state, eps, units, contributions, names, window, options, notes);
  std::set<std::string> namespaces;
  for (const RecommendedPolicy& rp : out.policies) namespaces.insert(rp.policy.ns);
  for (const auto& [a, b] : side_ranges) {
    const Unit& unit = units.units[contributions.contribs[a].side / 2];
    if (unit.broad)
      notes.insert(unit.ns + "/" + unit.name +
                   ": its pods share no stable label; its policies select every pod of the "
                   "namespace");
  }
  if (options.guardrails)
    out.guardrails = suggest_guardrails(state, eps, observed, out.must_allow, options.guardrail_api,
                                        out.declared, options.include_system);
  Exclusions exclusions;
  if (!options.isolate_unobserved)
    exclusions = leave_out_unobserved(out, eps, units, contributions, namespaces, notes);
  if (options.default_deny) add_default_denies(out, namespaces, exclusions, window);
  apply_exclusions(out, eps, exclusions);
  // After the exclusions: the guardrail selects what the NetworkPolicy it takes names from does.
  if (options.guardrails && options.domain_names)
    out.domain_name_addresses = use_domain_names(out, observed.l7, options.guardrail_api);
  if (options.low_confidence)
    for (RecommendedPolicy& rp : out.policies) {
      rp.annotations.push_back({"stockade.io/confidence", "low"});
      std::sort(rp.annotations.begin(), rp.annotations.end());
    }
  out.low_confidence = options.low_confidence;
  std::sort(out.policies.begin(), out.policies.end(), [](const auto& a, const auto& b) {
    return std::tie(a.policy.ns, a.policy.name) < std::tie(b.policy.ns, b.policy.name);
  });
  add_coverage(out, units, contributions, options);
  out.notes.assign(notes.begin(), notes.end());
  return out;
}

ClusterState with_recommendation(const ClusterState& state, const Recommendation& r, bool replace) {
  ClusterState s = state;
  if (replace) s.network_policies.clear();
  for (const RecommendedPolicy& p : r.policies) s.network_policies.push_back(p.policy);
  for (const ClusterPolicy& p : r.guardrails) s.cluster_policies.push_back(p);
  return s;
}

}  // namespace stockade
