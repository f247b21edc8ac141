// The risky RBAC patterns R1..R25 of POSTURE.md section 2, matched in one rule list.
#include <set>
#include <string>

#include "posture/posture_impl.h"

namespace stockade::posture::detail {

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

namespace {

// R1..R3: wildcard rules.
void wildcards(Matcher& m, const RuleList& rules, bool cluster_scope) {
  std::string verb;
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
}

// R4..R9: secrets, running pods and workloads.
void into_pods(Matcher& m, bool cluster_scope, bool kube_system) {
  std::string verb;
  int l;
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
}

// R10..R14: roles, bindings, impersonation and the kubelet API.
void escalation(Matcher& m) {
  std::string verb;
  int l;
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
}

// R15..R19: admission, tokens, certificates and storage.
void admission_and_credentials(Matcher& m) {
  std::string verb;
  int l;
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
}

// R20..R25: CRDs, the network, policy engines, configmaps, logs and bindings.
void cluster_config(Matcher& m, bool cluster_scope, bool kube_system) {
  std::string verb;
  int l;
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
}

}  // namespace

std::vector<PatternHit> match_patterns(const RuleList& rules, bool cluster_scope,
                                       std::string_view ns) {
  Matcher m(rules, cluster_scope, ns);
  const bool kube_system = !cluster_scope && ns == "kube-system";
  wildcards(m, rules, cluster_scope);
  into_pods(m, cluster_scope, kube_system);
  escalation(m);
  admission_and_credentials(m);
  cluster_config(m, cluster_scope, kube_system);
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

}  // namespace stockade::posture::detail
