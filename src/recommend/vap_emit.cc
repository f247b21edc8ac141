#include "recommend/vap_emit.h"

#include <fmt/format.h>

namespace stockade::recommend {

namespace {

// CEL: `o` (object or oldObject) is a NetworkPolicy that selects every pod of its namespace and
// allows nothing in `direction` ("Ingress"/"Egress"). policyTypes is always set by then: the API
// server defaults it before admission.
std::string denies_all(const std::string& o, const std::string& direction) {
  std::string rules = direction == "Ingress" ? "ingress" : "egress";
  return fmt::format(
      "({0} != null && (!has({0}.spec.podSelector.matchLabels) || "
      "size({0}.spec.podSelector.matchLabels) == 0) && "
      "(!has({0}.spec.podSelector.matchExpressions) || "
      "size({0}.spec.podSelector.matchExpressions) == 0) && has({0}.spec.policyTypes) && "
      "'{1}' in {0}.spec.policyTypes && (!has({0}.spec.{2}) || size({0}.spec.{2}) == 0))",
      o, direction, rules);
}

// A YAML block scalar holding `text` indented by `indent` spaces (CEL has quotes of both kinds).
std::string block(const std::string& text, int indent) {
  return "|-\n" + std::string(static_cast<size_t>(indent), ' ') + text;
}

// 1. No NetworkPolicy ingress rule from anywhere.
std::string no_ingress_from_anywhere(const VapOptions& o) {
  return fmt::format(
      R"(apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: stockade-no-ingress-from-anywhere
  labels:
    app.kubernetes.io/managed-by: stockade
  annotations:
    stockade.io/guardrail: "A NetworkPolicy ingress rule may not allow every address: no ipBlock of prefix length 0 (0.0.0.0/0, ::/0), no rule without from (all sources, outside the cluster too). Exempt: namespaces labelled {exempt_key}={exempt_value}."
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: [networking.k8s.io]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [networkpolicies]
  validations:
    - expression: {from_all}
      messageExpression: {from_all_msg}
      reason: Forbidden
    - expression: {world}
      messageExpression: {world_msg}
      reason: Forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: stockade-no-ingress-from-anywhere
  labels:
    app.kubernetes.io/managed-by: stockade
spec:
  policyName: stockade-no-ingress-from-anywhere
  validationActions: [{action}]
  matchResources:
    namespaceSelector:
      matchExpressions:
        - key: {exempt_key}
          operator: NotIn
          values: ["{exempt_value}"]
)",
      fmt::arg("exempt_key", o.exempt_key), fmt::arg("exempt_value", o.exempt_value),
      fmt::arg("action", o.action),
      fmt::arg("from_all", block("!has(object.spec.ingress) || "
                                 "object.spec.ingress.all(r, has(r.from) && size(r.from) > 0)",
                                 10)),
      fmt::arg("from_all_msg", block("'NetworkPolicy ' + object.metadata.name + ': an ingress rule "
                                     "without from allows every source, outside the cluster too "
                                     "(stockade guardrail)'",
                                     10)),
      fmt::arg("world", block("!has(object.spec.ingress) || object.spec.ingress.all(r, "
                              "!has(r.from) || r.from.all(p, !has(p.ipBlock) || "
                              "!p.ipBlock.cidr.endsWith('/0')))",
                              10)),
      fmt::arg("world_msg", block("'NetworkPolicy ' + object.metadata.name + ': an ingress rule "
                                  "allows every address (ipBlock /0) (stockade guardrail)'",
                                  10)));
}

// 2. A locked namespace keeps its default-deny.
std::string locked_default_deny(const VapOptions& o) {
  std::string old_in = denies_all("oldObject", "Ingress");
  std::string old_eg = denies_all("oldObject", "Egress");
  std::string new_in = denies_all("object", "Ingress");
  std::string new_eg = denies_all("object", "Egress");
  return fmt::format(R"(apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: stockade-locked-default-deny
  labels:
    app.kubernetes.io/managed-by: stockade
  annotations:
    stockade.io/guardrail: "In a namespace labelled {key}={value}, a NetworkPolicy that denies all ingress (egress) to every pod can be neither deleted nor changed to allow or select less."
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: [networking.k8s.io]
        apiVersions: [v1]
        operations: [UPDATE, DELETE]
        resources: [networkpolicies]
  variables:
    - name: oldIngress
      expression: {old_in}
    - name: oldEgress
      expression: {old_eg}
    - name: newIngress
      expression: {new_in}
    - name: newEgress
      expression: {new_eg}
  validations:
    - expression: {del}
      messageExpression: {del_msg}
      reason: Forbidden
    - expression: {upd}
      messageExpression: {upd_msg}
      reason: Forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: stockade-locked-default-deny
  labels:
    app.kubernetes.io/managed-by: stockade
spec:
  policyName: stockade-locked-default-deny
  validationActions: [{action}]
  matchResources:
    namespaceSelector:
      matchLabels:
        {key}: "{value}"
)",
                     fmt::arg("key", o.locked_key), fmt::arg("value", o.locked_value),
                     fmt::arg("action", o.action), fmt::arg("old_in", block(old_in, 8)),
                     fmt::arg("old_eg", block(old_eg, 8)), fmt::arg("new_in", block(new_in, 8)),
                     fmt::arg("new_eg", block(new_eg, 8)),
                     fmt::arg("del", block("request.operation != 'DELETE' || "
                                           "!(variables.oldIngress || variables.oldEgress)",
                                           10)),
                     fmt::arg("del_msg", block("'NetworkPolicy ' + oldObject.metadata.name + "
                                               "': the default-deny of a locked namespace cannot "
                                               "be deleted (stockade guardrail)'",
                                               10)),
                     fmt::arg("upd", block("request.operation != 'UPDATE' || "
                                           "((!variables.oldIngress || variables.newIngress) && "
                                           "(!variables.oldEgress || variables.newEgress))",
                                           10)),
                     fmt::arg("upd_msg", block("'NetworkPolicy ' + oldObject.metadata.name + "
                                               "': the default-deny of a locked namespace cannot "
                                               "be weakened (stockade guardrail)'",
                                               10)));
}

}  // namespace

std::string emit_guardrail_vaps(const VapOptions& o) {
  return no_ingress_from_anywhere(o) + "---\n" + locked_default_deny(o);
}

}  // namespace stockade::recommend
