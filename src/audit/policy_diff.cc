#include "audit/policy_diff.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <tuple>
#include <utility>

#include "core/display.h"
#include "model/flow.h"

namespace stockade::audit {

namespace {

// The observed established edges whose verdict flips, under their groups.
FlowChanges flow_changes(const ClusterState& before_state, const PolicyEngine& before,
                         const ClusterState& after_state, const PolicyEngine& after,
                         const Observed& obs, Granularity by) {
  FlowChanges out;
  // (edge, class): 1 newly allowed, 0 broken.
  std::vector<std::pair<size_t, uint8_t>> flipped;
  for (size_t i = 0; i < obs.edges.size(); ++i) {
    const ObservedEdge& e = obs.edges[i];
    if (e.stats.established == 0 || e.src.kind == ObservedPeer::Kind::Unresolved ||
        e.dst.kind == ObservedPeer::Kind::Unresolved)
      continue;
    ++out.checked;
    const bool b = edge_allowed(before, e), a = edge_allowed(after, e);
    if (b == a) continue;
    flipped.emplace_back(i, a ? 1 : 0);
    (a ? out.newly_allowed : out.broken)++;  // observed edges, whatever the rows
  }
  // Outside peers by the parts of the outside that the connections use.
  const std::vector<WorldPart> parts = world_parts(before_state, after_state, before.endpoints());
  out.rows = group_edges(obs.edges, flipped, before.endpoints(), {by, &parts});
  return out;
}

// Adds `proposed` to `in_force`, an entry with the same key replacing the one in force; sorted
// by that key when `sort` (as the loader keeps these kinds), else in force first.
template <class T, class KeyFn>
void replace_by_key(std::vector<T>& in_force, std::vector<T>& proposed, KeyFn key, bool sort) {
  std::erase_if(in_force, [&](const T& old) {
    for (const T& p : proposed)
      if (key(p) == key(old)) return true;
    return false;
  });
  for (T& p : proposed) {
    // The last of a key in the body wins, as the loader keeps the last version of an object.
    std::erase_if(in_force, [&](const T& old) { return key(p) == key(old); });
    in_force.push_back(std::move(p));
  }
  if (sort)
    std::stable_sort(in_force.begin(), in_force.end(),
                     [&](const T& a, const T& b) { return key(a) < key(b); });
}

// The first object of `s` that is not a policy, as "Kind ns/name"; empty when none.
std::string first_non_policy(const ClusterState& s) {
  auto named = [](const char* kind, const std::string& ns, const std::string& name) {
    return std::string(kind) + " " + (ns.empty() ? "" : ns + "/") + name;
  };
  if (!s.namespaces.empty()) return named("Namespace", "", s.namespaces[0].name);
  if (!s.nodes.empty()) return named("Node", "", s.nodes[0].name);
  if (!s.pods.empty()) return named("Pod", s.pods[0].ns, s.pods[0].name);
  if (!s.workloads.empty())
    return named(std::string(to_string(s.workloads[0].kind)).c_str(), s.workloads[0].ns,
                 s.workloads[0].name);
  if (!s.services.empty()) return named("Service", s.services[0].ns, s.services[0].name);
  if (!s.endpoint_slices.empty())
    return named("EndpointSlice", s.endpoint_slices[0].ns, s.endpoint_slices[0].name);
  if (!s.calico_tiers.empty()) return "a Calico Tier";
  if (!s.calico_network_sets.empty()) return "a Calico NetworkSet";
  if (!s.ingresses.empty()) return named("Ingress", s.ingresses[0].ns, s.ingresses[0].name);
  if (!s.routes.empty()) return "a Gateway API route";
  if (!s.monitors.empty()) return "a ServiceMonitor or PodMonitor";
  if (!s.service_accounts.empty()) return "a ServiceAccount";
  if (!s.secrets.empty()) return "a Secret";
  if (!s.roles.empty() || !s.bindings.empty()) return "an RBAC object";
  if (!s.skipped_kinds.empty()) return "a " + s.skipped_kinds.begin()->first;
  return {};
}

}  // namespace

Result<ClusterState> with_policies(const ClusterState& in_force, ClusterState proposed) {
  if (std::string other = first_non_policy(proposed); !other.empty())
    return make_error(ErrorCode::Input,
                      "the body holds " + other +
                          ": only policies (NetworkPolicy, AdminNetworkPolicy, "
                          "BaselineAdminNetworkPolicy, ClusterNetworkPolicy, Cilium's and "
                          "Calico's) can be simulated");
  if (proposed.network_policies.empty() && proposed.cluster_policies.empty() &&
      proposed.cilium_policies.empty() && proposed.calico_policies.empty())
    return make_error(ErrorCode::Input, "the body holds no policy");
  ClusterState out = in_force;
  replace_by_key(
      out.network_policies, proposed.network_policies,
      [](const NetworkPolicy& p) { return std::tie(p.ns, p.name); }, true);
  replace_by_key(
      out.cluster_policies, proposed.cluster_policies,
      [](const ClusterPolicy& p) { return std::tie(p.kind, p.name); }, true);
  replace_by_key(
      out.cilium_policies, proposed.cilium_policies,
      [](const CiliumPolicy& p) { return std::tie(p.clusterwide, p.ns, p.name); }, false);
  replace_by_key(
      out.calico_policies, proposed.calico_policies,
      [](const CalicoPolicy& p) { return std::tie(p.kind, p.ns, p.name); }, false);
  for (const auto& [kind, n] : proposed.unevaluated_policies) out.unevaluated_policies[kind] += n;
  return out;
}

namespace {

// Each observed HTTP request judged before and after (the after engine learns the names the
// same DNS answers gave, as `before` did when the flows were read).
void request_changes(const PolicyEngine& before, const PolicyEngine& after, const Observed& obs,
                     FlowChanges& out) {
  if (obs.l7.http.empty()) return;
  if (!obs.l7.dns.empty()) after.learn_dns(obs.l7.names());
  const auto& eps = before.endpoints();
  auto name = [&](const L7Peer& p) { return p.endpoint ? eps[*p.endpoint].id() : p.ip.str(); };
  auto peer = [](const L7Peer& p) {
    return p.endpoint ? Peer::of_endpoint(*p.endpoint) : Peer::of_ip(p.ip);
  };
  for (const ObservedHttp& h : obs.l7.http) {
    HttpRequest req{h.method, h.path, h.host};
    bool b = before.evaluate_http(peer(h.src), peer(h.dst), h.port, req).allowed;
    bool a = after.evaluate_http(peer(h.src), peer(h.dst), h.port, req).allowed;
    ++out.requests_checked;
    if (a == b) continue;
    ++(a ? out.requests_newly_allowed : out.requests_broken);
    out.requests.push_back({name(h.src), name(h.dst), h.port, h.method, h.path, h.count, a});
  }
}

// A diff compares policies only: the two sides hold the same endpoints in the same order.
Result<void> same_endpoints(const std::vector<Endpoint>& before,
                            const std::vector<Endpoint>& after) {
  if (before.size() != after.size())
    return make_error(ErrorCode::Input, "must hold policies only: the endpoints differ");
  for (size_t i = 0; i < before.size(); ++i)
    if (before[i].id() != after[i].id())
      return make_error(ErrorCode::Input,
                        "must hold policies only: the endpoints differ (" + before[i].id() + ")");
  return {};
}

// The changed pairs of a policy diff grouped at `by`; the observed flows are the caller's.
Result<PolicyChanges> policy_changes(const PolicyDiff& d, const std::vector<Endpoint>& eps,
                                     Granularity by) {
  if (!d.ports_differ.empty())
    return make_error(ErrorCode::Input,
                      "must hold policies only: the ports of " + d.ports_differ + " differ");
  PolicyChanges out;
  out.by = by;
  out.newly_allowed = d.newly_allowed;
  out.newly_denied = d.newly_denied;
  out.changes = group_changes(d.changes, eps, by);
  return out;
}

}  // namespace

Result<PolicyChanges> diff(const ClusterState& before_state, const PolicyEngine& before,
                           const ClusterState& after_state, const PolicyEngine& after,
                           const std::vector<PortQuery>& ports, Granularity by,
                           const Observed* observed) {
  const auto& eps = before.endpoints();
  if (auto same = same_endpoints(eps, after.endpoints()); !same)
    return tl::unexpected<Error>(same.error());
  PolicyDiff d = diff_policies(before_state, before, after_state, after, ports);
  auto changes = policy_changes(d, eps, by);
  if (!changes) return changes;
  PolicyChanges& out = *changes;
  if (observed) {
    out.flows = flow_changes(before_state, before, after_state, after, *observed, by);
    request_changes(before, after, *observed, *out.flows);
  }
  return changes;
}

ProposalDiff::ProposalDiff(const ClusterState& in_force, const PolicyEngine& engine,
                           const Observed& observed)
    : state_(in_force), engine_(engine), observed_(observed), reach_(engine.reach({})) {
  verdict_.assign(observed.edges.size(), -1);
  edges_of_.resize(engine.endpoints().size());
  for (size_t i = 0; i < observed.edges.size(); ++i) {
    const ObservedEdge& e = observed.edges[i];
    // As flow_changes judges them.
    if (e.stats.established == 0 || e.src.kind == ObservedPeer::Kind::Unresolved ||
        e.dst.kind == ObservedPeer::Kind::Unresolved)
      continue;
    ++checked_;
    verdict_[i] = edge_allowed(engine, e) ? 1 : 0;
    for (const ObservedPeer* p : {&e.src, &e.dst})
      if (p->kind == ObservedPeer::Kind::Endpoint &&
          (edges_of_[p->endpoint].empty() || edges_of_[p->endpoint].back() != i))
        edges_of_[p->endpoint].push_back(static_cast<uint32_t>(i));
  }
}

ProposalDiff::~ProposalDiff() = default;

std::vector<uint8_t> ProposalDiff::scope(const ClusterState& proposed) const {
  std::vector<uint8_t> out(engine_.endpoints().size(), 0);
  // Cilium's and Calico's policies are judged on every endpoint (their selectors name
  // identities, Services, service accounts and tiers that this does not follow).
  if (!state_.cilium_policies.empty() || !state_.calico_policies.empty() ||
      !proposed.cilium_policies.empty() || !proposed.calico_policies.empty()) {
    std::fill(out.begin(), out.end(), 1);
    return out;
  }
  auto add = [&](const SelectorQuery& q) {
    const std::vector<uint8_t> s = engine_.selected_endpoints(q);
    for (size_t i = 0; i < out.size(); ++i) out[i] |= s[i];
  };
  // A NetworkPolicy isolates and allows for the pods its podSelector selects in its namespace.
  auto network = [&](const NetworkPolicy& p) { add({p.ns, nullptr, &p.pod_selector, nullptr}); };
  // An admin or baseline policy decides for the pods its subject selects (as the admission
  // webhook's impact reads it).
  auto cluster = [&](const ClusterPolicy& p) {
    add({"", &p.subject.namespace_selector,
         p.subject.pod_selector ? &*p.subject.pod_selector : nullptr, nullptr});
  };
  for (const NetworkPolicy& p : proposed.network_policies) {
    network(p);
    for (const NetworkPolicy& old : state_.network_policies)
      if (old.ns == p.ns && old.name == p.name) network(old);
  }
  for (const ClusterPolicy& p : proposed.cluster_policies) {
    cluster(p);
    for (const ClusterPolicy& old : state_.cluster_policies)
      if (old.kind == p.kind && old.name == p.name) cluster(old);
  }
  return out;
}

Result<PolicyChanges> ProposalDiff::diff(ClusterState proposed, Granularity by) const {
  const std::vector<uint8_t> in = scope(proposed);
  auto after_state = with_policies(state_, std::move(proposed));
  if (!after_state) return tl::unexpected<Error>(after_state.error());
  // Policies select pods and never add any: the endpoints are the same before and after.
  auto after = PolicyEngine::compile(*after_state, build_endpoints(*after_state));
  const auto& eps = engine_.endpoints();
  if (auto same = same_endpoints(eps, after->endpoints()); !same)
    return tl::unexpected<Error>(same.error());
  const bool every = std::all_of(in.begin(), in.end(), [](uint8_t f) { return f != 0; });
  PolicyDiff d = diff_policies_within(state_, engine_, *reach_, *after_state, *after, {},
                                      every ? nullptr : &in);
  auto changes = policy_changes(d, eps, by);
  if (!changes) return changes;
  PolicyChanges& out = *changes;
  // The observed edges with an end in scope, in order: the others keep their verdicts.
  std::vector<uint32_t> edges;
  for (uint32_t e = 0; e < eps.size(); ++e)
    if (in[e]) edges.insert(edges.end(), edges_of_[e].begin(), edges_of_[e].end());
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  FlowChanges flows;
  flows.checked = checked_;
  std::vector<std::pair<size_t, uint8_t>> flipped;
  for (uint32_t i : edges) {
    const bool b = verdict_[i] == 1, a = edge_allowed(*after, observed_.edges[i]);
    if (b == a) continue;
    flipped.emplace_back(i, a ? 1 : 0);
    (a ? flows.newly_allowed : flows.broken)++;
  }
  const std::vector<WorldPart> parts = world_parts(state_, *after_state, eps);
  flows.rows = group_edges(observed_.edges, flipped, eps, {by, &parts});
  request_changes(engine_, *after, observed_, flows);
  out.flows = std::move(flows);
  return changes;
}

nlohmann::json diff_json(const PolicyChanges& d) {
  nlohmann::json changes = nlohmann::json::array();
  for (const DiffChange& c : d.changes) {
    nlohmann::json j = {{"src", c.src},
                        {"dst", c.dst},
                        {"protocol", std::string(to_string(c.protocol))},
                        {"port", c.port},
                        {"before", c.before ? "allowed" : "denied"},
                        {"after", c.after ? "allowed" : "denied"}};
    if (d.by != Granularity::Pod) j["pairs"] = c.pairs;
    changes.push_back(std::move(j));
  }
  nlohmann::json out = {{"changes", std::move(changes)},
                        {"summary",
                         {{"changed", d.newly_allowed + d.newly_denied},
                          {"newly_allowed", d.newly_allowed},
                          {"newly_denied", d.newly_denied}}}};
  if (!d.flows) return out;
  nlohmann::json flow_changes = nlohmann::json::array();
  for (const GroupedEdge& g : d.flows->rows) {
    const bool now_allowed = g.cls == 1;
    nlohmann::json j = {{"src", g.src},
                        {"dst", g.dst},
                        {"protocol", std::string(to_string(g.protocol))},
                        {"port", g.port},
                        {"count", g.stats.count},
                        {"established", g.stats.established},
                        {"before", now_allowed ? "denied" : "allowed"},
                        {"after", now_allowed ? "allowed" : "denied"}};
    if (g.stats.first_seen) j["first_seen"] = format_rfc3339(g.stats.first_seen);
    if (g.stats.last_seen) j["last_seen"] = format_rfc3339(g.stats.last_seen);
    flow_changes.push_back(std::move(j));
  }
  out["flows"] = {{"changes", std::move(flow_changes)},
                  {"summary",
                   {{"edges", d.flows->checked},
                    {"broken", d.flows->broken},
                    {"newly_allowed", d.flows->newly_allowed}}}};
  if (d.flows->requests_checked == 0) return out;
  nlohmann::json requests = nlohmann::json::array();
  for (const FlowChanges::Request& r : d.flows->requests)
    requests.push_back({{"src", r.src},
                        {"dst", r.dst},
                        {"port", r.port},
                        {"method", r.method},
                        {"path", r.path},
                        {"count", r.count},
                        {"before", r.after ? "denied" : "allowed"},
                        {"after", r.after ? "allowed" : "denied"}});
  out["flows"]["requests"] = std::move(requests);
  out["flows"]["summary"]["requests"] = d.flows->requests_checked;
  out["flows"]["summary"]["requests_broken"] = d.flows->requests_broken;
  out["flows"]["summary"]["requests_newly_allowed"] = d.flows->requests_newly_allowed;
  return out;
}

std::string diff_table(const PolicyChanges& d) {
  const bool pods = d.by == Granularity::Pod;
  std::string table;
  for (const DiffChange& c : d.changes)
    table +=
        fmt::format("{:<40} {:<40} {:<11} {}{}\n", display_text(c.src), display_text(c.dst),
                    fmt::format("{}/{}", to_string(c.protocol), c.port),
                    c.after ? "denied -> allowed" : "allowed -> denied",
                    pods ? "" : fmt::format(" ({} pod pair{})", c.pairs, c.pairs == 1 ? "" : "s"));
  std::string out;
  if (!table.empty())
    out = fmt::format("{:<40} {:<40} {:<11} {}\n", "SOURCE", "DESTINATION", "PORT", "CHANGE") +
          table + "\n";
  out += fmt::format("{} connections change: {} newly allowed, {} newly denied\n",
                     d.newly_allowed + d.newly_denied, d.newly_allowed, d.newly_denied);
  if (!d.flows) return out;
  std::string flow_table;
  for (const GroupedEdge& g : d.flows->rows)
    flow_table +=
        fmt::format("{:<40} {:<40} {:<11} {:>8} {}\n", display_text(g.src), display_text(g.dst),
                    fmt::format("{}/{}", to_string(g.protocol), g.port), g.stats.established,
                    g.cls == 1 ? "newly allowed" : "BROKEN (allowed -> denied)");
  if (!flow_table.empty())
    out += "\nObserved flows whose verdict changes:\n" +
           fmt::format("{:<40} {:<40} {:<11} {:>8} {}\n", "SOURCE", "DESTINATION", "PORT", "COUNT",
                       "CHANGE") +
           flow_table;
  out += fmt::format("{} observed edges checked: {} would break, {} newly allowed\n",
                     d.flows->checked, d.flows->broken, d.flows->newly_allowed);
  for (const FlowChanges::Request& r : d.flows->requests)
    out += fmt::format("  HTTP {} {} {} -> {}:{} ({}): {}\n", display_text(r.method),
                       display_text(r.path), display_text(r.src), display_text(r.dst), r.port,
                       r.count, r.after ? "newly allowed" : "BROKEN");
  if (d.flows->requests_checked)
    out += fmt::format("{} observed HTTP requests checked: {} would break, {} newly allowed\n",
                       d.flows->requests_checked, d.flows->requests_broken,
                       d.flows->requests_newly_allowed);
  return out;
}

}  // namespace stockade::audit
