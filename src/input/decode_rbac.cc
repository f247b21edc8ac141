// ServiceAccounts, Secrets (metadata and type only), Roles, ClusterRoles and their bindings: what
// posture resolves RBAC from.
#include "input/decode_impl.h"

namespace stockade::input::detail {

template <class N>
void Decoder<N>::service_account(const N& obj) {
  Meta m = metadata(obj, true);
  where_ = "ServiceAccount " + m.ns + "/" + m.name + ": ";
  ServiceAccount sa;
  sa.ns = m.ns;
  sa.name = m.name;
  sa.labels = std::move(m.labels);
  sa.annotations = std::move(m.annotations);
  sa.automount_token =
      tri_bool(obj, "automountServiceAccountToken", "automountServiceAccountToken");
  sa.source = source(obj);
  ctx_.state->service_accounts.push_back(std::move(sa));
}

template <class N>
void Decoder<N>::secret(const N& obj) {  // metadata and type only: values are never kept
  Meta m = metadata(obj, true);
  where_ = "Secret " + m.ns + "/" + m.name + ": ";
  Secret sec;
  sec.ns = m.ns;
  sec.name = m.name;
  sec.annotations = std::move(m.annotations);
  sec.type = opt_string(obj, "type", "type");
  sec.source = source(obj);
  ctx_.state->secrets.push_back(std::move(sec));
}

template <class N>
void Decoder<N>::rbac_role(const N& obj, bool cluster) {
  Meta m = metadata(obj, !cluster, NameRule::PathSegment);
  where_ =
      std::string(cluster ? "ClusterRole " : "Role ") + (cluster ? "" : m.ns + "/") + m.name + ": ";
  RbacRole r;
  r.cluster_scoped = cluster;
  r.ns = m.ns;
  r.name = m.name;
  r.labels = std::move(m.labels);
  r.annotations = std::move(m.annotations);
  r.source = source(obj);
  each_item(obj, "rules", "rules", [&](const N& rule, const std::string& p) {
    if (!rule.is_map()) fail(rule, p + ": expected an object");
    PolicyRuleSpec pr;
    pr.line = rule.line();
    pr.verbs = string_list(rule, "verbs", p + ".verbs");
    pr.api_groups = string_list(rule, "apiGroups", p + ".apiGroups");
    pr.resources = string_list(rule, "resources", p + ".resources");
    pr.resource_names = string_list(rule, "resourceNames", p + ".resourceNames");
    pr.non_resource_urls = string_list(rule, "nonResourceURLs", p + ".nonResourceURLs");
    r.rules.push_back(std::move(pr));
  });
  if (auto ag = obj.get("aggregationRule"); cluster && ag && !ag->is_null()) {
    if (!ag->is_map()) fail(*ag, "aggregationRule: expected an object");
    each_item(*ag, "clusterRoleSelectors", "aggregationRule.clusterRoleSelectors",
              [&](const N& sel, const std::string& p) {
                r.aggregation_selectors.push_back(label_selector(sel, p, false));
              });
  }
  ctx_.state->roles.push_back(std::move(r));
}

template <class N>
void Decoder<N>::rbac_binding(const N& obj, bool cluster) {
  Meta m = metadata(obj, !cluster, NameRule::PathSegment);
  where_ = std::string(cluster ? "ClusterRoleBinding " : "RoleBinding ") +
           (cluster ? "" : m.ns + "/") + m.name + ": ";
  RbacBinding b;
  b.cluster_scoped = cluster;
  b.ns = m.ns;
  b.name = m.name;
  b.annotations = std::move(m.annotations);
  b.source = source(obj);
  auto ref = obj.get("roleRef");
  if (!ref || ref->is_null()) fail(obj, "roleRef: required");
  if (!ref->is_map()) fail(*ref, "roleRef: expected an object");
  b.role_kind = opt_string(*ref, "kind", "roleRef.kind");
  b.role_name = opt_string(*ref, "name", "roleRef.name");
  if (b.role_kind != "Role" && b.role_kind != "ClusterRole")
    fail(*ref, "roleRef.kind: unsupported value \"" + b.role_kind +
                   "\": supported values: \"Role\", \"ClusterRole\"");
  if (cluster && b.role_kind == "Role")
    fail(*ref, "roleRef.kind: a ClusterRoleBinding may only reference a ClusterRole");
  if (b.role_name.empty()) fail(*ref, "roleRef.name: required");
  each_item(obj, "subjects", "subjects", [&](const N& sub, const std::string& p) {
    if (!sub.is_map()) fail(sub, p + ": expected an object");
    RbacSubject s;
    s.kind = opt_string(sub, "kind", p + ".kind");
    s.name = opt_string(sub, "name", p + ".name");
    s.ns = opt_string(sub, "namespace", p + ".namespace");
    if (s.kind != "User" && s.kind != "Group" && s.kind != "ServiceAccount")
      fail(sub, p + ".kind: unsupported value \"" + s.kind +
                    "\": supported values: \"User\", \"Group\", \"ServiceAccount\"");
    if (s.name.empty()) fail(sub, p + ".name: required");
    if (s.kind == "ServiceAccount" && s.ns.empty()) {
      if (cluster) fail(sub, p + ".namespace: required for a ServiceAccount subject");
      s.ns = b.ns;
    }
    if (s.kind != "ServiceAccount") s.ns.clear();
    b.subjects.push_back(std::move(s));
  });
  ctx_.state->bindings.push_back(std::move(b));
}

template void Decoder<YamlNode>::service_account(const YamlNode&);
template void Decoder<JsonNode>::service_account(const JsonNode&);
template void Decoder<YamlNode>::secret(const YamlNode&);
template void Decoder<JsonNode>::secret(const JsonNode&);
template void Decoder<YamlNode>::rbac_role(const YamlNode&, bool);
template void Decoder<JsonNode>::rbac_role(const JsonNode&, bool);
template void Decoder<YamlNode>::rbac_binding(const YamlNode&, bool);
template void Decoder<JsonNode>::rbac_binding(const JsonNode&, bool);

}  // namespace stockade::input::detail
