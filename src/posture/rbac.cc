// RBAC: upstream rule matching, aggregated ClusterRoles, the risky patterns R1..R25 of
// POSTURE.md section 2, and the binding/subject risks.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <set>
#include <tuple>
#include <unordered_map>

#include "posture/posture_impl.h"

namespace stockade::posture {

namespace {
bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
}  // namespace

// VerbMatches, APIGroupMatches, ResourceMatches and ResourceNameMatches of
// pkg/apis/rbac/v1/evaluation_helpers.go.
bool rule_allows(const PolicyRuleSpec& rule, std::string_view verb, std::string_view group,
                 std::string_view resource, std::string_view name) {
  if (!contains(rule.verbs, "*") && !contains(rule.verbs, verb)) return false;
  if (!contains(rule.api_groups, "*") && !contains(rule.api_groups, group)) return false;
  std::string_view sub;
  if (size_t slash = resource.find('/'); slash != std::string_view::npos)
    sub = resource.substr(slash + 1);
  bool res = false;
  for (const std::string& r : rule.resources) {
    if (r == "*" || r == resource) {
      res = true;
      break;
    }
    // "*/subresource" matches that subresource of every resource; "pods/*" matches nothing
    // special (it is compared literally).
    if (!sub.empty() && r.size() == sub.size() + 2 && r.starts_with("*/") && r.ends_with(sub)) {
      res = true;
      break;
    }
  }
  if (!res) return false;
  if (rule.resource_names.empty()) return true;
  return !name.empty() && contains(rule.resource_names, name);
}

namespace detail {

std::string_view to_string(PermissionLevel l) {
  switch (l) {
    case PermissionLevel::None:
      return "none";
    case PermissionLevel::Elevated:
      return "elevated";
    case PermissionLevel::Takeover:
      return "takeover";
    case PermissionLevel::ClusterAdmin:
      return "cluster-admin";
  }
  return "?";
}

namespace {

// A rule's content without its line, for deduplication.
std::string rule_key(const PolicyRuleSpec& r) {
  std::string k;
  for (const auto* v :
       {&r.verbs, &r.api_groups, &r.resources, &r.resource_names, &r.non_resource_urls}) {
    k += std::to_string(v->size());
    k += ';';
    for (const std::string& s : *v) {
      k += std::to_string(s.size());
      k += ':';
      k += s;
    }
  }
  return k;
}

constexpr uint32_t kUnvisited = UINT32_MAX;

}  // namespace

RbacIndex::RbacIndex(const ClusterState& state) : state_(state) {
  resolved_.resize(state.roles.size());
  for (size_t i = 0; i < state.roles.size(); ++i) {
    const RbacRole& r = state.roles[i];
    for (const PolicyRuleSpec& rule : r.rules) resolved_[i].push_back(&rule);
    by_key_[{r.cluster_scoped, r.ns, r.name}] = i;
  }
  aggregate();
  if (error_) return;
  index_subjects();
}

// aggregationRule: the controller gives an aggregating ClusterRole the rules of every
// ClusterRole its selectors match, and aggregated roles may aggregate in turn, so the answer
// is a fixed point: each role gets the rules of every ClusterRole reachable from it. It is
// computed on the graph role -> selector -> matched roles, collapsed into strongly connected
// components (roles that aggregate each other share one rule set), in one pass from the
// leaves: time and memory linear in the graph plus the rules it hands out.
void RbacIndex::aggregate() {
  const auto& roles = state_.roles;
  const size_t n = roles.size();
  bool any = false;
  for (const RbacRole& r : roles) any |= r.cluster_scoped && !r.aggregation_selectors.empty();
  if (!any) return;

  // One copy of each distinct ClusterRole rule, line 0 (it is written in another object).
  std::unordered_map<std::string, uint32_t> rule_id;
  std::vector<std::vector<uint32_t>> own_ids(n);
  for (size_t i = 0; i < n; ++i) {
    if (!roles[i].cluster_scoped) continue;
    for (const PolicyRuleSpec& rule : roles[i].rules) {
      auto [it, fresh] = rule_id.try_emplace(rule_key(rule), uint32_t(aggregated_.size()));
      if (fresh) {
        aggregated_.push_back(rule);
        aggregated_.back().line = 0;
      }
      own_ids[i].push_back(it->second);
    }
    std::sort(own_ids[i].begin(), own_ids[i].end());
    own_ids[i].erase(std::unique(own_ids[i].begin(), own_ids[i].end()), own_ids[i].end());
  }

  // ClusterRoles by label, so a selector looks only at the roles that carry one of its keys.
  std::vector<uint32_t> cluster_roles;
  std::map<std::pair<std::string_view, std::string_view>, std::vector<uint32_t>> by_label;
  std::map<std::string_view, std::vector<uint32_t>> by_label_key;
  for (size_t i = 0; i < n; ++i) {
    if (!roles[i].cluster_scoped) continue;
    cluster_roles.push_back(uint32_t(i));
    for (const auto& [k, v] : roles[i].labels) {
      by_label[{k, v}].push_back(uint32_t(i));
      by_label_key[k].push_back(uint32_t(i));
    }
  }
  auto candidates = [&](const LabelSelector& sel) {
    const std::vector<uint32_t>* best = &cluster_roles;
    std::vector<uint32_t> in;
    bool use_in = false;
    for (const SelectorRequirement& req : sel.requirements) {
      if (req.op == SelectorOp::Exists) {
        auto it = by_label_key.find(req.key);
        if (it == by_label_key.end()) return std::vector<uint32_t>{};
        if (it->second.size() < (use_in ? in.size() : best->size())) {
          best = &it->second;
          use_in = false;
        }
      } else if (req.op == SelectorOp::In) {
        std::vector<uint32_t> c;
        for (const std::string& v : req.values)
          if (auto it = by_label.find({req.key, v}); it != by_label.end())
            c.insert(c.end(), it->second.begin(), it->second.end());
        if (c.size() < (use_in ? in.size() : best->size())) {
          in = std::move(c);
          use_in = true;
        }
      }
    }
    if (!use_in) return *best;
    std::sort(in.begin(), in.end());
    return in;
  };

  // Nodes 0..n-1 are the roles, then one node per distinct selector: roles sharing a
  // selector share its edges (linking each role to every match would be quadratic).
  std::vector<std::vector<uint32_t>> succ(n);
  std::vector<uint32_t> owner(n);  // per node, the role named when a bound is hit
  for (uint32_t i = 0; i < n; ++i) owner[i] = i;
  std::unordered_map<std::string, uint32_t> selector_node;
  for (size_t i = 0; i < n; ++i) {
    const RbacRole& agg = roles[i];
    if (!agg.cluster_scoped) continue;
    for (const LabelSelector& sel : agg.aggregation_selectors) {
      // An empty selector in clusterRoleSelectors selects nothing upstream (it is converted
      // with LabelSelectorAsSelector, where empty means everything, but the API server
      // rejects such roles); be conservative and require requirements.
      if (sel.empty()) continue;
      auto [it, fresh] = selector_node.try_emplace(sel.canonical(), uint32_t(succ.size()));
      if (fresh) {
        std::vector<uint32_t> matched;
        for (uint32_t j : candidates(sel))
          if (sel.matches(roles[j].labels)) matched.push_back(j);
        succ.push_back(std::move(matched));
        owner.push_back(uint32_t(i));
      }
      succ[i].push_back(it->second);
    }
  }

  // Tarjan's strongly connected components, iteratively (a chain of 100k roles must not
  // overflow the stack). Components complete leaves first.
  const size_t nodes = succ.size();
  std::vector<uint32_t> index(nodes, kUnvisited), low(nodes, 0), comp(nodes, kUnvisited);
  std::vector<uint32_t> stack;
  std::vector<std::vector<uint32_t>> members;
  std::vector<std::pair<uint32_t, uint32_t>> call;  // node, next edge
  uint32_t counter = 0;
  for (uint32_t s = 0; s < nodes; ++s) {
    if (index[s] != kUnvisited) continue;
    auto enter = [&](uint32_t v) {
      index[v] = low[v] = counter++;
      stack.push_back(v);
      call.emplace_back(v, 0);
    };
    enter(s);
    while (!call.empty()) {
      auto [v, e] = call.back();
      if (e < succ[v].size()) {
        ++call.back().second;
        uint32_t w = succ[v][e];
        if (index[w] == kUnvisited)
          enter(w);
        else if (comp[w] == kUnvisited)  // still on the stack
          low[v] = std::min(low[v], index[w]);
        continue;
      }
      call.pop_back();
      if (!call.empty()) low[call.back().first] = std::min(low[call.back().first], low[v]);
      if (low[v] != index[v]) continue;
      members.emplace_back();
      uint32_t w;
      do {
        w = stack.back();
        stack.pop_back();
        comp[w] = uint32_t(members.size() - 1);
        members.back().push_back(w);
      } while (w != v);
    }
  }

  // The rule set of each component: its roles' own rules and those of every component it
  // reaches (already computed: they completed first).
  size_t handed_out = 0;
  auto over = [&](uint32_t node) {
    if (handed_out <= kMaxAggregatedRules) return false;
    const RbacRole& r = roles[owner[node]];
    error_ = Error{r.source.file, r.source.line,
                   "ClusterRole " + r.name + ": its aggregationRule takes the aggregated rules " +
                       "past " + std::to_string(kMaxAggregatedRules) +
                       " in all (ClusterRoles aggregating each other); stopping rather than "
                       "reporting on part of them"};
    return true;
  };
  std::vector<std::vector<uint32_t>> set(members.size());
  for (uint32_t c = 0; c < members.size(); ++c) {
    std::vector<uint32_t> acc;
    bool aggregates = false;
    for (uint32_t v : members[c]) {
      if (v < n) acc.insert(acc.end(), own_ids[v].begin(), own_ids[v].end());
      for (uint32_t w : succ[v]) {
        aggregates = true;
        if (comp[w] != c) acc.insert(acc.end(), set[comp[w]].begin(), set[comp[w]].end());
      }
    }
    std::sort(acc.begin(), acc.end());
    acc.erase(std::unique(acc.begin(), acc.end()), acc.end());
    if (aggregates) {
      handed_out += acc.size();
      if (over(members[c].front())) return;
    }
    set[c] = std::move(acc);
  }
  for (size_t i = 0; i < n; ++i) {
    if (succ[i].empty()) continue;
    const auto& own = own_ids[i];
    for (uint32_t id : set[comp[i]])
      if (!std::binary_search(own.begin(), own.end(), id)) {
        resolved_[i].push_back(&aggregated_[id]);
        ++handed_out;
      }
    if (over(uint32_t(i))) return;
  }
}

namespace {

// The user-facing default ClusterRoles every cluster has (bootstrap policy,
// plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go), reduced to the rules the risk
// patterns look at. Used when a binding names one and the input does not contain it.
const RuleList* builtin_rules(std::string_view name) {
  auto rule = [](std::vector<std::string> groups, std::vector<std::string> resources,
                 std::vector<std::string> verbs) {
    PolicyRuleSpec r;
    r.api_groups = std::move(groups);
    r.resources = std::move(resources);
    r.verbs = std::move(verbs);
    return r;
  };
  static const std::vector<std::string> kRead = {"get", "list", "watch"};
  static const std::vector<std::string> kAll = {
      "create", "delete", "deletecollection", "patch", "update", "get", "list", "watch"};
  static const std::vector<PolicyRuleSpec> kClusterAdmin = {rule({"*"}, {"*"}, {"*"})};
  static const std::vector<PolicyRuleSpec> kEdit = {
      rule({""}, {"pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"}, kAll),
      rule({""},
           {"configmaps", "endpoints", "persistentvolumeclaims", "replicationcontrollers",
            "secrets", "serviceaccounts", "services", "services/proxy"},
           kAll),
      rule({""}, {"serviceaccounts"}, {"impersonate"}),
      rule({""}, {"serviceaccounts/token"}, {"create"}),
      rule({"apps"}, {"daemonsets", "deployments", "replicasets", "statefulsets"}, kAll),
      rule({"batch"}, {"cronjobs", "jobs"}, kAll),
      rule({"networking.k8s.io"}, {"ingresses", "networkpolicies"}, kAll),
  };
  static const std::vector<PolicyRuleSpec> kAdmin = [&] {
    auto v = kEdit;
    v.push_back(rule({"rbac.authorization.k8s.io"}, {"rolebindings", "roles"}, kAll));
    return v;
  }();
  static const std::vector<PolicyRuleSpec> kView = {
      rule({""}, {"pods", "configmaps", "endpoints", "services", "serviceaccounts"}, kRead),
      rule({"apps"}, {"daemonsets", "deployments", "replicasets", "statefulsets"}, kRead)};
  auto list = [](const std::vector<PolicyRuleSpec>& rules) {
    RuleList l;
    for (const PolicyRuleSpec& r : rules) l.push_back(&r);
    return l;
  };
  static const RuleList kClusterAdminList = list(kClusterAdmin), kAdminList = list(kAdmin),
                        kEditList = list(kEdit), kViewList = list(kView);
  if (name == "cluster-admin") return &kClusterAdminList;
  if (name == "admin") return &kAdminList;
  if (name == "edit") return &kEditList;
  if (name == "view") return &kViewList;
  return nullptr;
}

}  // namespace

const RuleList* RbacIndex::rules(std::string_view kind, std::string_view ns,
                                 std::string_view name) const {
  bool cluster = kind == "ClusterRole";
  auto it =
      by_key_.find(std::make_tuple(cluster, std::string(cluster ? "" : ns), std::string(name)));
  if (it == by_key_.end()) return cluster ? builtin_rules(name) : nullptr;
  return &resolved_[it->second];
}

namespace {

std::string binding_text(const RbacBinding& b) {
  return b.cluster_scoped ? "ClusterRoleBinding " + b.name : "RoleBinding " + b.ns + "/" + b.name;
}
std::string role_text(const RbacBinding& b) {
  return b.role_kind == "ClusterRole" ? "ClusterRole " + b.role_name
                                      : "Role " + b.ns + "/" + b.role_name;
}

}  // namespace

const std::vector<PatternHit>& RbacIndex::hits(const RuleList& rules, bool cluster_scope,
                                               std::string_view ns) const {
  // match_patterns looks at the namespace only to tell kube-system apart.
  bool kube_system = !cluster_scope && ns == "kube-system";
  auto [it, fresh] = hits_.try_emplace({&rules, cluster_scope, kube_system});
  if (fresh) it->second = match_patterns(rules, cluster_scope, ns);
  return it->second;
}

void RbacIndex::index_subjects() {
  const std::string kUserPrefix = "system:serviceaccount:";
  binding_level_.resize(state_.bindings.size(), PermissionLevel::None);
  for (size_t i = 0; i < state_.bindings.size(); ++i) {
    const RbacBinding& b = state_.bindings[i];
    if (const RuleList* r = rules(b.role_kind, b.ns, b.role_name))
      binding_level_[i] = level_of(hits(*r, b.cluster_scoped, b.ns), b.cluster_scoped);
    auto add = [&](std::vector<uint32_t>& v) {
      if (v.empty() || v.back() != i) v.push_back(uint32_t(i));
    };
    for (const RbacSubject& s : b.subjects) {
      if (s.kind == "ServiceAccount") add(account_bindings_[{s.ns, s.name}]);
      if (s.kind == "Group" &&
          (s.name == "system:serviceaccounts" || s.name.starts_with("system:serviceaccounts:") ||
           s.name == "system:authenticated"))
        add(group_bindings_[s.name]);
      if (s.kind == "User" && s.name.starts_with(kUserPrefix)) {
        std::string_view rest = std::string_view(s.name).substr(kUserPrefix.size());
        if (size_t colon = rest.find(':'); colon != std::string_view::npos)
          add(account_bindings_[{std::string(rest.substr(0, colon)),
                                 std::string(rest.substr(colon + 1))}]);
      }
    }
  }
  // A binding that names the account twice (as itself and as its User) counts once.
  for (auto& [k, v] : account_bindings_) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  }
}

// A group's bindings reduced once to what account_rights needs: every account of the
// cluster shares system:authenticated, and going through its bindings per account would be
// accounts x bindings.
const RbacIndex::GroupRights& RbacIndex::group_rights(const std::string& group) const {
  auto [it, fresh] = group_rights_.try_emplace(group);
  if (!fresh) return it->second;
  if (auto g = group_bindings_.find(group); g != group_bindings_.end())
    for (uint32_t b : g->second) {
      it->second.level = std::max(it->second.level, binding_level_[b]);
      if (binding_level_[b] >= PermissionLevel::Takeover &&
          it->second.takeover.size() < kMaxTakeoverGrants)
        it->second.takeover.push_back(b);
    }
  return it->second;
}

Grant RbacIndex::grant(size_t i) const {
  const RbacBinding& b = state_.bindings[i];
  Grant g;
  g.scope = b.cluster_scoped ? "cluster" : b.ns;
  g.binding = binding_text(b);
  g.role = role_text(b);
  if (const RuleList* r = rules(b.role_kind, b.ns, b.role_name))
    g.hits = hits(*r, b.cluster_scoped, b.ns);
  return g;
}

RbacIndex::AccountRights RbacIndex::account_rights(const std::string& ns,
                                                   const std::string& name) const {
  AccountRights out;
  std::vector<uint32_t> takeover;
  if (auto it = account_bindings_.find({ns, name}); it != account_bindings_.end())
    for (uint32_t b : it->second) {
      out.level = std::max(out.level, binding_level_[b]);
      if (binding_level_[b] >= PermissionLevel::Takeover) takeover.push_back(b);
    }
  for (const std::string& group :
       {std::string("system:serviceaccounts"), "system:serviceaccounts:" + ns,
        std::string("system:authenticated")}) {
    const GroupRights& g = group_rights(group);
    out.level = std::max(out.level, g.level);
    takeover.insert(takeover.end(), g.takeover.begin(), g.takeover.end());
  }
  std::sort(takeover.begin(), takeover.end());
  takeover.erase(std::unique(takeover.begin(), takeover.end()), takeover.end());
  if (takeover.size() > kMaxTakeoverGrants) takeover.resize(kMaxTakeoverGrants);
  for (uint32_t b : takeover) out.takeover.push_back(grant(b));
  return out;
}

// ---- the patterns ------------------------------------------------------------------------

namespace {

struct Res {
  std::string_view group;
  std::string_view resource;
};

constexpr std::string_view kRbacGroup = "rbac.authorization.k8s.io";
const std::vector<std::string_view> kWrite = {"create", "update", "patch", "delete"};

class Matcher {
 public:
  Matcher(const RuleList& rules, bool cluster, std::string_view ns)
      : rules_(rules), cluster_(cluster), ns_(ns) {}

  // Line of the first rule allowing the request, or -1 when none does.
  int can(std::string_view verb, std::string_view group, std::string_view resource,
          std::string_view name = {}) const {
    for (const PolicyRuleSpec* r : rules_)
      if (rule_allows(*r, verb, group, resource, name)) return r->line;
    return -1;
  }
  int can_any(const std::vector<std::string_view>& verbs, std::string_view group,
              std::string_view resource, std::string* which = nullptr) const {
    for (std::string_view v : verbs)
      if (int l = can(v, group, resource); l >= 0) {
        if (which) *which = std::string(v);
        return l;
      }
    return -1;
  }
  void hit(std::string_view pattern, std::string_view check, Severity sev, std::string what,
           int line) {
    hits_.push_back({pattern, check, sev, std::move(what), line});
  }
  bool cluster() const { return cluster_; }
  std::string_view ns() const { return ns_; }
  const RuleList& rules() const { return rules_; }
  std::vector<PatternHit> take() { return std::move(hits_); }

 private:
  const RuleList& rules_;
  bool cluster_;
  std::string_view ns_;
  std::vector<PatternHit> hits_;
};

const std::vector<Res> kSensitive = {{"", "secrets"},
                                     {"", "pods"},
                                     {"apps", "deployments"},
                                     {"apps", "daemonsets"},
                                     {"apps", "statefulsets"},
                                     {"", "replicationcontrollers"},
                                     {"apps", "replicasets"},
                                     {"batch", "cronjobs"},
                                     {"batch", "jobs"},
                                     {kRbacGroup, "roles"},
                                     {kRbacGroup, "clusterroles"},
                                     {kRbacGroup, "rolebindings"},
                                     {kRbacGroup, "clusterrolebindings"},
                                     {"", "users"},
                                     {"", "groups"}};

const std::vector<Res> kWorkloads = {{"", "pods"},
                                     {"apps", "deployments"},
                                     {"apps", "daemonsets"},
                                     {"apps", "statefulsets"},
                                     {"apps", "replicasets"},
                                     {"", "replicationcontrollers"},
                                     {"batch", "jobs"},
                                     {"batch", "cronjobs"}};

}  // namespace

std::vector<PatternHit> match_patterns(const RuleList& rules, bool cluster_scope,
                                       std::string_view ns) {
  Matcher m(rules, cluster_scope, ns);
  const bool kube_system = !cluster_scope && ns == "kube-system";
  std::string verb;
  int l;
  // R1: a literal */*/* rule.
  for (const PolicyRuleSpec* r : rules)
    if (contains(r->verbs, "*") && contains(r->api_groups, "*") && contains(r->resources, "*")) {
      m.hit("R1", "RBAC_WILDCARD", Severity::Critical,
            "every verb on every resource (cluster-admin equivalent)", r->line);
      break;
    }
  // R2: a wildcard resource with a dangerous verb (first rule that has one).
  [&] {
    for (const PolicyRuleSpec* rp : rules) {
      const PolicyRuleSpec& r = *rp;
      if (!contains(r.resources, "*") || !r.resource_names.empty()) continue;
      for (std::string_view v :
           {"*", "create", "update", "delete", "deletecollection", "impersonate", "list", "get"})
        if (contains(r.verbs, v) || contains(r.verbs, "*")) {
          m.hit("R2", "RBAC_WILDCARD", cluster_scope ? Severity::Critical : Severity::High,
                "\"" + std::string(v) + "\" on every resource", r.line);
          return;
        }
    }
  }();
  // R3: wildcard verb on a sensitive resource (first one).
  [&] {
    for (const PolicyRuleSpec* rp : rules) {
      const PolicyRuleSpec& r = *rp;
      if (!contains(r.verbs, "*") || !r.resource_names.empty()) continue;
      for (const Res& s : kSensitive)
        if (rule_allows(r, "*", s.group, s.resource)) {
          m.hit("R3", "RBAC_WILDCARD", Severity::Critical,
                "every verb on " + std::string(s.resource), r.line);
          return;
        }
    }
  }();
  // R4: read secrets.
  if ((l = m.can_any({"get", "list", "watch"}, "", "secrets", &verb)) >= 0)
    m.hit("R4", "RBAC_SECRETS", cluster_scope ? Severity::Critical : Severity::High,
          verb + " secrets", l);
  // R5..R8: into running pods.
  if ((l = m.can("create", "", "pods/exec")) >= 0)
    m.hit("R5", "RBAC_EXEC_ATTACH_PF", Severity::High, "create pods/exec", l);
  if ((l = m.can("create", "", "pods/attach")) >= 0)
    m.hit("R6", "RBAC_EXEC_ATTACH_PF", Severity::High, "create pods/attach", l);
  if ((l = m.can("create", "", "pods/portforward")) >= 0)
    m.hit("R7", "RBAC_EXEC_ATTACH_PF", Severity::High, "create pods/portforward", l);
  if ((l = m.can_any({"patch", "update"}, "", "pods/ephemeralcontainers", &verb)) >= 0)
    m.hit("R8", "RBAC_EXEC_ATTACH_PF", Severity::High, verb + " pods/ephemeralcontainers", l);
  // R9: create or change workloads.
  for (const Res& w : kWorkloads)
    if ((l = m.can_any({"create", "update", "patch"}, w.group, w.resource, &verb)) >= 0) {
      m.hit("R9", "RBAC_WORKLOAD_CREATE",
            cluster_scope || kube_system ? Severity::Critical : Severity::High,
            verb + " " + std::string(w.resource) + (kube_system ? " in kube-system" : ""), l);
      break;
    }
  // R10: escalate or bind roles.
  for (std::string_view res : {"roles", "clusterroles"})
    if ((l = m.can_any({"escalate", "bind"}, kRbacGroup, res, &verb)) >= 0) {
      m.hit("R10", "RBAC_ESCALATION", Severity::Critical, verb + " " + std::string(res), l);
      break;
    }
  // R11, R12: create bindings (binding a role needs bind on it or holding its permissions).
  if ((l = m.can("create", kRbacGroup, "rolebindings")) >= 0)
    m.hit("R11", "RBAC_ESCALATION", Severity::High, "create rolebindings", l);
  if ((l = m.can("create", kRbacGroup, "clusterrolebindings")) >= 0)
    m.hit("R12", "RBAC_ESCALATION", Severity::High, "create clusterrolebindings", l);
  // R13: impersonation.
  for (const Res& r : std::vector<Res>{{"", "users"},
                                       {"", "groups"},
                                       {"", "serviceaccounts"},
                                       {"authentication.k8s.io", "userextras/scopes"},
                                       {"authentication.k8s.io", "uids"}})
    if ((l = m.can("impersonate", r.group, r.resource)) >= 0) {
      m.hit("R13", "RBAC_ESCALATION", Severity::Critical, "impersonate " + std::string(r.resource),
            l);
      break;
    }
  // R14: the kubelet API.
  if ((l = m.can_any({"get", "create"}, "", "nodes/proxy", &verb)) >= 0)
    m.hit("R14", "RBAC_NODES_PROXY", Severity::Critical, verb + " nodes/proxy", l);
  // R15, R16: admission.
  for (std::string_view res : {"mutatingwebhookconfigurations", "validatingwebhookconfigurations"})
    if ((l = m.can_any(kWrite, "admissionregistration.k8s.io", res, &verb)) >= 0) {
      m.hit("R15", "RBAC_WEBHOOK_ADMIN", Severity::Critical, verb + " " + std::string(res), l);
      break;
    }
  for (std::string_view res : {"validatingadmissionpolicies", "validatingadmissionpolicybindings"})
    if ((l = m.can_any({"create", "update", "patch"}, "admissionregistration.k8s.io", res,
                       &verb)) >= 0) {
      m.hit("R16", "RBAC_WEBHOOK_ADMIN", Severity::High, verb + " " + std::string(res), l);
      break;
    }
  // R17..R19: credentials and storage.
  if ((l = m.can("create", "", "serviceaccounts/token")) >= 0)
    m.hit("R17", "RBAC_TOKEN_CSR_PV", Severity::High, "create serviceaccounts/token", l);
  if ((l = m.can("update", "certificates.k8s.io", "certificatesigningrequests/approval")) >= 0)
    m.hit("R18", "RBAC_TOKEN_CSR_PV", Severity::High, "update certificatesigningrequests/approval",
          l);
  if ((l = m.can("create", "", "persistentvolumes")) >= 0)
    m.hit("R19", "RBAC_TOKEN_CSR_PV", Severity::High, "create persistentvolumes", l);
  // R20..R25.
  if ((l = m.can_any(kWrite, "apiextensions.k8s.io", "customresourcedefinitions", &verb)) >= 0)
    m.hit("R20", "RBAC_CRD_WRITE", Severity::Medium, verb + " customresourcedefinitions", l);
  for (const Res& r : std::vector<Res>{{"networking.k8s.io", "networkpolicies"},
                                       {"networking.k8s.io", "ingresses"},
                                       {"", "services"},
                                       {"", "endpoints"},
                                       {"discovery.k8s.io", "endpointslices"}})
    if ((l = m.can_any(kWrite, r.group, r.resource, &verb)) >= 0) {
      m.hit("R21", "RBAC_NETWORK_WRITE", Severity::High, verb + " " + std::string(r.resource), l);
      break;
    }
  for (const Res& r : std::vector<Res>{{"templates.gatekeeper.sh", "constrainttemplates"},
                                       {"kyverno.io", "clusterpolicies"},
                                       {"kyverno.io", "policies"}})
    if ((l = m.can_any(kWrite, r.group, r.resource, &verb)) >= 0) {
      m.hit("R22", "RBAC_POLICY_ENGINE_WRITE", Severity::High, verb + " " + std::string(r.resource),
            l);
      break;
    }
  {
    bool aws_scope = cluster_scope || kube_system;
    int la = aws_scope ? m.can_any({"update", "patch"}, "", "configmaps") : -1;
    if (la < 0 && aws_scope)
      for (std::string_view v : {"update", "patch"})
        if ((la = m.can(v, "", "configmaps", "aws-auth")) >= 0) break;
    if (la >= 0)
      m.hit("R23", "RBAC_CONFIGMAP_WRITE", Severity::Critical,
            "update the kube-system/aws-auth configmap (EKS IAM mapping)", la);
    else if ((l = m.can_any(kWrite, "", "configmaps", &verb)) >= 0)
      m.hit("R23", "RBAC_CONFIGMAP_WRITE", Severity::Medium, verb + " configmaps", l);
  }
  if ((l = m.can("delete", "", "pods/log")) >= 0)
    m.hit("R24", "RBAC_POD_LOG_DELETE", Severity::Medium, "delete pods/log", l);
  if (m.can("get", kRbacGroup, "rolebindings") >= 0 &&
      (l = m.can("patch", kRbacGroup, "rolebindings")) >= 0)
    m.hit("R25", "RBAC_BINDING_PATCH", Severity::Low, "get and patch rolebindings", l);
  return m.take();
}

PermissionLevel level_of(const std::vector<PatternHit>& hits, bool cluster_scope) {
  PermissionLevel lvl = PermissionLevel::None;
  for (const PatternHit& h : hits) {
    PermissionLevel l = PermissionLevel::Elevated;
    if (h.pattern == "R1" && cluster_scope) {
      l = PermissionLevel::ClusterAdmin;
    } else {
      static const std::set<std::string_view> kTakeover = {
          "R1", "R2", "R3", "R4", "R5", "R6", "R8", "R9", "R10", "R13", "R14", "R15", "R17", "R18"};
      if (kTakeover.count(h.pattern)) l = PermissionLevel::Takeover;
    }
    lvl = std::max(lvl, l);
  }
  return lvl;
}

// ---- findings ----------------------------------------------------------------------------

namespace {

// Roles every cluster has (kubernetes.io/bootstrapping=rbac-defaults) and system roles.
bool default_role(const RbacRole& r) {
  if (r.name.starts_with("system:")) return true;
  auto it = r.labels.find("kubernetes.io/bootstrapping");
  if (it != r.labels.end() && it->second == "rbac-defaults") return true;
  return r.cluster_scoped &&
         (r.name == "cluster-admin" || r.name == "admin" || r.name == "edit" || r.name == "view");
}

bool builtin_cluster_role(std::string_view name) {
  return name.starts_with("system:") || name == "cluster-admin" || name == "admin" ||
         name == "edit" || name == "view";
}

std::string subject_text(const RbacSubject& s) {
  return s.kind + " " + (s.ns.empty() ? "" : s.ns + "/") + s.name;
}

// The bindings every cluster is created with, matched exactly (binding, scope, role, subject):
// kube-apiserver's bootstrap RBAC (kubernetes plugin/pkg/auth/authorizer/rbac/bootstrappolicy,
// policy.go and controller_policy.go; golden copies in its testdata/*-role-bindings.yaml) and
// kubeadm's (cmd/kubeadm/app/phases: kubeconfig, bootstraptoken/node, uploadconfig,
// addons/dns, addons/proxy). docs/scan.md lists them. Nothing is excluded by its name alone:
// anyone who may create bindings can call one "system:..." or use a kube-system service
// account, and attackers and training clusters hide exactly there.
struct SystemBinding {
  const char* ns;       // "" for a ClusterRoleBinding
  const char* binding;  // metadata.name
  const char* role;     // roleRef.name
  const char* kind;     // subject kind
  const char* subject;  // subject name ("NS/NAME" for a ServiceAccount)
  const char* source;
};

constexpr const char* kApiserver = "kube-apiserver bootstrap RBAC";
constexpr const char* kKubeadm = "kubeadm";

constexpr SystemBinding kSystemBindings[] = {
    {"", "cluster-admin", "cluster-admin", "Group", "system:masters", kApiserver},
    {"", "system:monitoring", "system:monitoring", "Group", "system:monitoring", kApiserver},
    {"", "system:discovery", "system:discovery", "Group", "system:authenticated", kApiserver},
    {"", "system:discovery", "system:discovery", "Group", "system:unauthenticated",
     kApiserver},  // before v1.14
    {"", "system:basic-user", "system:basic-user", "Group", "system:authenticated", kApiserver},
    {"", "system:basic-user", "system:basic-user", "Group", "system:unauthenticated",
     kApiserver},  // before v1.14
    {"", "system:public-info-viewer", "system:public-info-viewer", "Group", "system:authenticated",
     kApiserver},
    {"", "system:public-info-viewer", "system:public-info-viewer", "Group",
     "system:unauthenticated", kApiserver},
    {"", "system:node-proxier", "system:node-proxier", "User", "system:kube-proxy", kApiserver},
    {"", "system:kube-controller-manager", "system:kube-controller-manager", "User",
     "system:kube-controller-manager", kApiserver},
    {"", "system:kube-dns", "system:kube-dns", "ServiceAccount", "kube-system/kube-dns",
     kApiserver},
    {"", "system:kube-scheduler", "system:kube-scheduler", "User", "system:kube-scheduler",
     kApiserver},
    {"", "system:volume-scheduler", "system:volume-scheduler", "User", "system:kube-scheduler",
     kApiserver},
    {"", "system:service-account-issuer-discovery", "system:service-account-issuer-discovery",
     "Group", "system:serviceaccounts", kApiserver},
    {"kube-system", "system::extension-apiserver-authentication-reader",
     "extension-apiserver-authentication-reader", "User", "system:kube-controller-manager",
     kApiserver},
    {"kube-system", "system::extension-apiserver-authentication-reader",
     "extension-apiserver-authentication-reader", "User", "system:kube-scheduler", kApiserver},
    {"kube-system", "system::leader-locking-kube-controller-manager",
     "system::leader-locking-kube-controller-manager", "ServiceAccount",
     "kube-system/kube-controller-manager", kApiserver},
    {"kube-system", "system::leader-locking-kube-controller-manager",
     "system::leader-locking-kube-controller-manager", "User", "system:kube-controller-manager",
     kApiserver},
    {"kube-system", "system::leader-locking-kube-scheduler",
     "system::leader-locking-kube-scheduler", "ServiceAccount", "kube-system/kube-scheduler",
     kApiserver},
    {"kube-system", "system::leader-locking-kube-scheduler",
     "system::leader-locking-kube-scheduler", "User", "system:kube-scheduler", kApiserver},
    {"kube-system", "system:controller:bootstrap-signer", "system:controller:bootstrap-signer",
     "ServiceAccount", "kube-system/bootstrap-signer", kApiserver},
    {"kube-public", "system:controller:bootstrap-signer", "system:controller:bootstrap-signer",
     "ServiceAccount", "kube-system/bootstrap-signer", kApiserver},
    {"kube-system", "system:controller:cloud-provider", "system:controller:cloud-provider",
     "ServiceAccount", "kube-system/cloud-provider", kApiserver},
    {"kube-system", "system:controller:token-cleaner", "system:controller:token-cleaner",
     "ServiceAccount", "kube-system/token-cleaner", kApiserver},
    {"", "kubeadm:cluster-admins", "cluster-admin", "Group", "kubeadm:cluster-admins", kKubeadm},
    {"", "kubeadm:kubelet-bootstrap", "system:node-bootstrapper", "Group",
     "system:bootstrappers:kubeadm:default-node-token", kKubeadm},
    {"", "kubeadm:node-autoapprove-bootstrap",
     "system:certificates.k8s.io:certificatesigningrequests:nodeclient", "Group",
     "system:bootstrappers:kubeadm:default-node-token", kKubeadm},
    {"", "kubeadm:node-autoapprove-certificate-rotation",
     "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", "Group",
     "system:nodes", kKubeadm},
    {"", "kubeadm:get-nodes", "kubeadm:get-nodes", "Group",
     "system:bootstrappers:kubeadm:default-node-token", kKubeadm},
    {"", "kubeadm:node-proxier", "system:node-proxier", "ServiceAccount", "kube-system/kube-proxy",
     kKubeadm},
    {"", "system:coredns", "system:coredns", "ServiceAccount", "kube-system/coredns", kKubeadm},
    {"kube-public", "kubeadm:bootstrap-signer-clusterinfo", "kubeadm:bootstrap-signer-clusterinfo",
     "User", "system:anonymous", kKubeadm},
    {"kube-system", "kubeadm:kubelet-config", "kubeadm:kubelet-config", "Group", "system:nodes",
     kKubeadm},
    {"kube-system", "kubeadm:kubelet-config", "kubeadm:kubelet-config", "Group",
     "system:bootstrappers:kubeadm:default-node-token", kKubeadm},
    {"kube-system", "kubeadm:nodes-kubeadm-config", "kubeadm:nodes-kubeadm-config", "Group",
     "system:nodes", kKubeadm},
    {"kube-system", "kubeadm:nodes-kubeadm-config", "kubeadm:nodes-kubeadm-config", "Group",
     "system:bootstrappers:kubeadm:default-node-token", kKubeadm},
    {"kube-system", "kube-proxy", "kube-proxy", "Group",
     "system:bootstrappers:kubeadm:default-node-token", kKubeadm},
};

// The controllers of kube-controller-manager: ClusterRoleBinding and ClusterRole
// "system:controller:NAME", bound to the service account kube-system/NAME (controller_policy.go;
// some exist only with their feature gate).
constexpr std::string_view kControllers[] = {
    "attachdetach-controller",
    "certificate-controller",
    "clusterrole-aggregation-controller",
    "cronjob-controller",
    "daemon-set-controller",
    "deployment-controller",
    "device-taint-eviction-controller",
    "disruption-controller",
    "endpoint-controller",
    "endpointslice-controller",
    "endpointslicemirroring-controller",
    "ephemeral-volume-controller",
    "expand-controller",
    "generic-garbage-collector",
    "horizontal-pod-autoscaler",
    "job-controller",
    "legacy-service-account-token-cleaner",
    "namespace-controller",
    "node-controller",
    "persistent-volume-binder",
    "pod-garbage-collector",
    "pv-protection-controller",
    "pvc-protection-controller",
    "replicaset-controller",
    "replication-controller",
    "resource-claim-controller",
    "resourcequota-controller",
    "root-ca-cert-publisher",
    "route-controller",
    "selinux-warning-controller",
    "service-account-controller",
    "service-cidrs-controller",
    "service-controller",
    "statefulset-controller",
    "ttl-after-finished-controller",
    "ttl-controller",
    "validatingadmissionpolicy-status-controller",
    "volumeattributesclass-protection-controller",
};

// Why a subject of a binding is left out by default (one of the bindings above), or "".
std::string excluded_subject(const RbacBinding& b, const RbacSubject& s) {
  const std::string subject = s.kind == "ServiceAccount" ? s.ns + "/" + s.name : s.name;
  const std::string ns = b.cluster_scoped ? "" : b.ns;
  for (const SystemBinding& d : kSystemBindings)
    if (ns == d.ns && b.name == d.binding && b.role_name == d.role && s.kind == d.kind &&
        subject == d.subject)
      return std::string("default exclusion: ") + d.source + " binding " + b.name;
  constexpr std::string_view kPrefix = "system:controller:";
  if (b.cluster_scoped && b.role_kind == "ClusterRole" && b.name == b.role_name &&
      b.name.starts_with(kPrefix) && s.kind == "ServiceAccount" && s.ns == "kube-system" &&
      b.name.substr(kPrefix.size()) == s.name &&
      std::find(std::begin(kControllers), std::end(kControllers), s.name) != std::end(kControllers))
    return "default exclusion: kube-controller-manager's binding " + b.name;
  return {};
}

}  // namespace

void rbac_findings(const RbacIndex& index, const ScanOptions& o, std::vector<Finding>& out) {
  const ClusterState& state = index.state();
  auto exclusion = [&](Finding& f, const std::string& why) {
    if (!why.empty() && !o.include_system) f.suppressed = Suppression{"default-exclusion", why, ""};
  };

  // Who each role is bound to, for messages.
  std::map<std::tuple<bool, std::string, std::string>, std::vector<std::string>> bound_to;
  for (const RbacBinding& b : state.bindings) {
    bool cluster = b.role_kind == "ClusterRole";
    auto& v = bound_to[{cluster, cluster ? "" : b.ns, b.role_name}];
    for (const RbacSubject& s : b.subjects)
      if (v.size() < 6) v.push_back(subject_text(s) + " (" + binding_text(b) + ")");
  }

  // Role-level patterns: one finding per (role, check), at the first rule that matched.
  for (size_t i = 0; i < state.roles.size(); ++i) {
    const RbacRole& r = state.roles[i];
    const auto& hits = index.hits(index.resolved(i), r.cluster_scoped, r.ns);
    std::map<std::string_view, std::vector<const PatternHit*>> by_check;
    for (const PatternHit& h : hits) by_check[h.check].push_back(&h);
    ResourceRef ref{r.cluster_scoped ? "ClusterRole" : "Role", r.ns, r.name};
    const auto& bound = bound_to[{r.cluster_scoped, r.ns, r.name}];
    for (const auto& [check, hs] : by_check) {
      Severity sev = Severity::Low;
      std::string what;
      int line = 0;
      for (const PatternHit* h : hs) {
        sev = std::max(sev, h->severity);
        what += (what.empty() ? "" : "; ") + h->what + " (" + std::string(h->pattern) + ")";
        if (line == 0 || (h->line > 0 && h->line < line)) line = h->line;
      }
      std::string msg = ref.kind + " " + r.name + " allows " + what;
      if (bound.empty()) {
        msg += "; not bound in the input";
      } else {
        msg += "; bound to ";
        for (size_t k = 0; k < bound.size(); ++k) msg += (k ? ", " : "") + bound[k];
      }
      Finding f = make_finding(check, ref, r.source, line ? line : r.source.line, msg);
      f.severity = sev;
      if (default_role(r)) exclusion(f, "default exclusion: built-in role " + r.name);
      out.push_back(std::move(f));
    }
  }

  // Binding and subject risks.
  for (const RbacBinding& b : state.bindings) {
    ResourceRef ref{b.cluster_scoped ? "ClusterRoleBinding" : "RoleBinding", b.ns, b.name};
    const auto* rules = index.rules(b.role_kind, b.ns, b.role_name);
    static const std::vector<PatternHit> kNone;
    const std::vector<PatternHit>& hits =
        rules ? index.hits(*rules, b.cluster_scoped, b.ns) : kNone;
    bool admin_equiv = std::any_of(hits.begin(), hits.end(),
                                   [](const PatternHit& h) { return h.pattern == "R1"; });
    bool builtin_admin =
        b.role_kind == "ClusterRole" &&
        (b.role_name == "cluster-admin" || b.role_name == "admin" || b.role_name == "edit");
    std::string scope = b.cluster_scoped ? "cluster-wide" : "in namespace " + b.ns;

    if (!rules && index.has_roles() &&
        !(b.role_kind == "ClusterRole" && builtin_cluster_role(b.role_name))) {  // system:*
      Finding f = make_finding("RBAC_MISSING_ROLE", ref, b.source, b.source.line,
                               binding_text(b) + " refers to " + role_text(b) +
                                   ", which is not in the input (whoever creates it later "
                                   "gets these subjects)");
      out.push_back(std::move(f));
    }

    for (const RbacSubject& s : b.subjects) {
      std::string why = excluded_subject(b, s);
      // Public subjects and system:masters.
      bool anonymous = s.name == "system:anonymous" || s.name == "system:unauthenticated";
      bool authenticated = s.kind == "Group" && s.name == "system:authenticated";
      bool masters = s.kind == "Group" && s.name == "system:masters";
      if (anonymous || masters ||
          (authenticated &&
           (builtin_admin || level_of(hits, b.cluster_scoped) >= PermissionLevel::Takeover))) {
        std::string msg =
            binding_text(b) + " grants " + role_text(b) + " " + scope + " to " + subject_text(s);
        if (masters) msg += " (members of system:masters bypass RBAC entirely)";
        if (anonymous) msg += " (every unauthenticated request)";
        if (authenticated) msg += " (every authenticated user and service account)";
        Finding f = make_finding("RBAC_PUBLIC_BINDING", ref, b.source, b.source.line, msg);
        exclusion(f, why);  // the API server's and kubeadm's own bindings only
        out.push_back(std::move(f));
        continue;
      }
      if (builtin_admin || admin_equiv) {
        bool critical = b.role_name == "cluster-admin" || admin_equiv || s.kind == "ServiceAccount";
        std::string msg = binding_text(b) + " grants " + role_text(b) +
                          (admin_equiv && !builtin_admin ? " (every verb on every resource)" : "") +
                          " " + scope + " to " + subject_text(s);
        if (s.kind == "ServiceAccount")
          msg += s.name == "default" ? "; the namespace's default service account, mounted by "
                                       "every pod that names none"
                                     : "; any pod using that service account holds it";
        Finding f = make_finding("CLUSTER_ADMIN_BINDING", ref, b.source, b.source.line, msg);
        f.severity = critical ? Severity::Critical : Severity::High;
        exclusion(f, why);
        out.push_back(std::move(f));
      }
    }
  }
}

}  // namespace detail
}  // namespace stockade::posture
