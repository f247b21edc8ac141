#include "server/shadow.h"

#include <chrono>
#include <set>
#include <tuple>

#include "audit/policy_diff.h"
#include "core/wall_clock.h"
#include "input/loader.h"
#include "model/duration.h"

namespace stockade::server {

namespace {

void send_error(httplib::Response& res, int status, std::string_view message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", message}}.dump() + "\n", "application/json");
}

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// The engine names Cilium's kinds its own way: they are matched by namespace and name.
std::string family(std::string_view kind) {
  return kind.rfind("Cilium", 0) == 0 ? "Cilium" : std::string(kind);
}

std::vector<PolicyRef> policy_refs(const ClusterState& s) {
  std::vector<PolicyRef> out;
  for (const auto& p : s.network_policies) out.push_back({"NetworkPolicy", p.ns, p.name, {}});
  for (const auto& p : s.cluster_policies)
    out.push_back({std::string(to_string(p.kind)), "", p.name, {}});
  for (const auto& p : s.cilium_policies)
    out.push_back({p.clusterwide ? "CiliumClusterwideNetworkPolicy" : "CiliumNetworkPolicy",
                   p.ns,
                   p.name,
                   {}});
  for (const auto& p : s.calico_policies) {
    std::string kind(to_string(p.kind));
    if (p.kind == CalicoPolicyKind::NetworkPolicy) kind += " (projectcalico.org)";
    out.push_back({kind, p.ns, p.name, {}});
  }
  return out;
}

// The set's policies loaded and put in force beside (or instead of) those in force.
Result<ClusterState> staged_state(const ClusterState& in_force, std::string_view body) {
  LoadOptions lo;
  lo.workload_security = false;
  ClusterLoader loader(lo);
  if (auto r = loader.add_text(body, "request body"); !r) return tl::unexpected<Error>(r.error());
  return audit::with_policies(in_force, std::move(loader).finish());
}

struct RuleCounts {
  uint64_t allowed = 0, blocked = 0;
  nlohmann::json examples = nlohmann::json::array();
};

nlohmann::json set_json(const StagedSet& s) {
  nlohmann::json policies = nlohmann::json::array();
  for (const PolicyRef& p : s.policies)
    policies.push_back({{"kind", p.kind}, {"namespace", p.ns}, {"name", p.name}});
  return {{"name", s.name},
          {"staged_at", format_rfc3339(s.staged_at)},
          {"staged_by", s.staged_by},
          {"policies", std::move(policies)}};
}

}  // namespace

Result<nlohmann::json> shadow_report(const ServerState& state, const StagedSet& set,
                                     int64_t since_ns, size_t max_examples) {
  auto kept = state.observe_kept(since_ns, 0, kDefaultMaxObservedExternal);
  if (!kept) return tl::unexpected<Error>(kept.error());
  const Snapshot& now = *kept->first;
  auto after_state = staged_state(now.state, set.body);
  if (!after_state) return tl::unexpected<Error>(after_state.error());
  // Policies select pods and never add any: the observed edges' endpoints are the same.
  auto after = PolicyEngine::compile(*after_state, build_endpoints(*after_state));
  std::set<std::tuple<std::string, std::string, std::string>> staged;
  for (const PolicyRef& p : set.policies) staged.emplace(family(p.kind), p.ns, p.name);
  auto is_staged = [&](const PolicyRef& p) {
    return staged.contains({family(p.kind), p.ns, p.name});
  };
  // (kind, ns, name) -> (direction, rule) -> counts
  std::map<std::tuple<std::string, std::string, std::string>,
           std::map<std::pair<std::string, int>, RuleCounts>>
      by_policy;
  uint64_t edges = 0, allowed = 0, blocked = 0, newly_blocked = 0, newly_allowed = 0;
  for (const ObservedEdge& e : kept->second.edges) {
    // Traffic a policy decided: connections made, or refused by a policy; attempts that failed
    // on their own say nothing about policies.
    if (e.stats.established == 0 && e.stats.dropped == 0) continue;
    if (e.src.kind == ObservedPeer::Kind::Unresolved ||
        e.dst.kind == ObservedPeer::Kind::Unresolved)
      continue;
    ++edges;
    const Verdict in_force = evaluate_edge(*now.engine, e);
    const Verdict shadow = evaluate_edge(*after, e);
    (shadow.allowed ? allowed : blocked) += 1;
    // As simulate counts them: connections made that the staged set would break or allow.
    if (e.stats.established > 0 && in_force.allowed != shadow.allowed)
      ++(in_force.allowed ? newly_blocked : newly_allowed);
    for (const auto& [dir, d] : {std::pair<const char*, const Decision*>{"egress", &shadow.egress},
                                 {"ingress", &shadow.ingress}}) {
      const PolicyRef* p = d->policy && is_staged(*d->policy) ? &*d->policy : nullptr;
      int rule = d->rule_index;
      // Selected by a staged policy and no rule allowed it: the policy's isolation blocks it.
      if (!p && !d->allowed && d->tier == DecisionTier::NetworkPolicy)
        for (const PolicyRef& iso : d->isolated_by)
          if (is_staged(iso)) {
            p = &iso;
            rule = -1;
            break;
          }
      if (!p) continue;
      RuleCounts& c = by_policy[{p->kind, p->ns, p->name}][{dir, rule}];
      (d->allowed ? c.allowed : c.blocked) += 1;
      if (c.examples.size() < max_examples)
        c.examples.push_back({{"src", e.src.id},
                              {"dst", e.dst.id},
                              {"protocol", std::string(to_string(e.protocol))},
                              {"port", e.port},
                              {"count", e.stats.count},
                              {"verdict", d->allowed ? "allow" : "block"},
                              {"in_force", in_force.allowed ? "allowed" : "denied"}});
    }
  }
  nlohmann::json policies = nlohmann::json::array();
  for (const PolicyRef& ref : set.policies) {
    nlohmann::json rules = nlohmann::json::array();
    uint64_t pa = 0, pb = 0;
    for (const auto& [key, m] : by_policy) {
      if (family(std::get<0>(key)) != family(ref.kind) || std::get<1>(key) != ref.ns ||
          std::get<2>(key) != ref.name)
        continue;
      for (const auto& [rk, c] : m) {
        pa += c.allowed, pb += c.blocked;
        rules.push_back({{"direction", rk.first},
                         {"rule", rk.second},
                         {"what", rk.second < 0 ? "isolation: selected, no rule allows" : "rule"},
                         {"allowed", c.allowed},
                         {"blocked", c.blocked},
                         {"examples", c.examples}});
      }
    }
    policies.push_back({{"kind", ref.kind},
                        {"namespace", ref.ns},
                        {"name", ref.name},
                        {"allowed", pa},
                        {"blocked", pb},
                        {"rules", std::move(rules)}});
  }
  nlohmann::json out = set_json(set);
  out["since"] = since_ns ? format_rfc3339(since_ns) : "";
  out["policies"] = std::move(policies);
  out["summary"] = {{"edges", edges},
                    {"allowed", allowed},
                    {"blocked", blocked},
                    {"newly_blocked", newly_blocked},
                    {"newly_allowed", newly_allowed},
                    {"records", kept->second.records}};
  return out;
}

void ShadowRoutes::add(httplib::Server& s) {
  s.Get("/api/v1/shadow", [this](const httplib::Request&, httplib::Response& res) { list(res); });
  s.Post(R"(/api/v1/shadow/([A-Za-z0-9][A-Za-z0-9._-]{0,62}))",
         [this](const httplib::Request& req, httplib::Response& res) { stage(req, res); });
  s.Get(R"(/api/v1/shadow/([A-Za-z0-9][A-Za-z0-9._-]{0,62}))",
        [this](const httplib::Request& req, httplib::Response& res) { report(req, res); });
  s.Delete(R"(/api/v1/shadow/([A-Za-z0-9][A-Za-z0-9._-]{0,62}))",
           [this](const httplib::Request& req, httplib::Response& res) { remove(req, res); });
  s.Post(R"(/api/v1/shadow/([A-Za-z0-9][A-Za-z0-9._-]{0,62})/promote)",
         [this](const httplib::Request& req, httplib::Response& res) { promote(req, res); });
}

size_t ShadowRoutes::staged() const {
  std::lock_guard lock(mu_);
  return sets_.size();
}

void ShadowRoutes::list(httplib::Response& res) {
  std::vector<StagedSet> sets;
  {
    std::lock_guard lock(mu_);
    for (const auto& [n, s] : sets_) sets.push_back(s);
  }
  nlohmann::json out = nlohmann::json::array();
  for (const StagedSet& s : sets) {
    nlohmann::json j = set_json(s);
    if (auto r = shadow_report(state_, s, s.staged_at, 0)) j["summary"] = (*r)["summary"];
    out.push_back(std::move(j));
  }
  res.set_content(dump({{"staged", std::move(out)}}), "application/json");
}

void ShadowRoutes::stage(const httplib::Request& req, httplib::Response& res) {
  auto snap = state_.snapshot();
  if (!snap) return send_error(res, 503, "not ready: the cluster objects are not loaded yet");
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos)
    return send_error(res, 400, "empty body: expected policies (YAML or JSON)");
  LoadOptions lo;
  lo.workload_security = false;
  ClusterLoader loader(lo);
  if (auto r = loader.add_text(req.body, "request body"); !r)
    return send_error(res, 400, r.error().str());
  ClusterState proposed = std::move(loader).finish();
  std::vector<PolicyRef> refs = policy_refs(proposed);
  // The same checks simulate makes: policies only, at least one.
  if (auto s = audit::with_policies(snap->state, std::move(proposed)); !s)
    return send_error(res, 400, s.error().str());
  StagedSet set{req.matches[1], req.body, wall_now_ns(), who_().user, std::move(refs)};
  if (set.staged_by.empty()) set.staged_by = "local";
  nlohmann::json j = set_json(set);
  bool replaced;
  {
    std::lock_guard lock(mu_);
    replaced = sets_.contains(set.name);
    sets_[set.name] = std::move(set);
  }
  res.status = replaced ? 200 : 201;
  res.set_content(dump(j), "application/json");
}

bool ShadowRoutes::named_set(const httplib::Request& req, httplib::Response& res,
                             StagedSet& set) const {
  std::lock_guard lock(mu_);
  auto it = sets_.find(req.matches[1]);
  if (it == sets_.end()) {
    send_error(res, 404, "no staged set named " + std::string(req.matches[1]));
    return false;
  }
  set = it->second;
  return true;
}

void ShadowRoutes::report(const httplib::Request& req, httplib::Response& res) {
  StagedSet set;
  if (!named_set(req, res, set)) return;
  int64_t since = set.staged_at;
  if (req.has_param("since")) {
    std::string error;
    auto t = parse_time_or_age(req.get_param_value("since"), wall_now_ns(), &error);
    if (!t) return send_error(res, 400, "since: " + error);
    since = *t;
  }
  auto r = shadow_report(state_, set, since);
  if (!r) return send_error(res, r.error().code == ErrorCode::Input ? 400 : 503, r.error().str());
  res.set_content(dump(*r), "application/json");
}

void ShadowRoutes::remove(const httplib::Request& req, httplib::Response& res) {
  std::lock_guard lock(mu_);
  if (!sets_.erase(req.matches[1]))
    return send_error(res, 404, "no staged set named " + std::string(req.matches[1]));
  res.set_content(dump({{"deleted", std::string(req.matches[1])}}), "application/json");
}

void ShadowRoutes::promote(const httplib::Request& req, httplib::Response& res) {
  if (!apply_)
    return send_error(res, 409,
                      "this server reads its objects from files (-f), not from a cluster: there "
                      "is nothing to apply to");
  bool dry_run = false;
  if (req.has_param("dryRun")) {
    if (req.get_param_value("dryRun") != "All") return send_error(res, 400, "dryRun: expected All");
    dry_run = true;
  }
  StagedSet set;
  if (!named_set(req, res, set)) return;
  JsonAnswer a = apply_(set.body, dry_run, false, who_());
  if (a.status / 100 == 2 && !dry_run) {
    std::lock_guard lock(mu_);
    auto it = sets_.find(set.name);
    // Promoted as it was: a set staged again meanwhile stays.
    if (it != sets_.end() && it->second.staged_at == set.staged_at) sets_.erase(it);
  }
  res.status = a.status;
  res.set_content(a.body, "application/json");
}

}  // namespace stockade::server
