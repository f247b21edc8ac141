// RBAC: upstream rule matching, the index of roles and bindings, and the binding/subject
// risks. Aggregated ClusterRoles: rbac_aggregate.cc; the risky patterns R1..R25 of POSTURE.md
// section 2: rbac_patterns.cc.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <set>
#include <tuple>
#include <unordered_map>

#include "posture/posture_impl.h"

namespace stockade::posture {

using detail::contains;

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
