// The guardrails that need no observed state, as ValidatingAdmissionPolicies (CEL) and their
// bindings: the API server itself refuses what they forbid, with Stockade not running.
#pragma once

#include <string>

namespace stockade::recommend {

struct VapOptions {
  // validationActions of the bindings: "Deny", "Warn" or "Audit".
  std::string action = "Deny";
  // Namespaces carrying this label (key=value) are locked: their default-deny NetworkPolicies
  // cannot be deleted or weakened.
  std::string locked_key = "stockade.io/locked";
  std::string locked_value = "true";
  // Namespaces carrying this label are exempt from the ingress-from-anywhere guardrail (e.g. one
  // that serves the internet directly).
  std::string exempt_key = "stockade.io/public-ingress";
  std::string exempt_value = "true";
};

// "---"-separated YAML: for each guardrail a ValidatingAdmissionPolicy and its binding
// (admissionregistration.k8s.io/v1, Kubernetes 1.30+):
// - stockade-no-ingress-from-anywhere: a NetworkPolicy ingress rule from an ipBlock of prefix
//   length 0 (0.0.0.0/0, ::/0) or without `from` (every source, outside the cluster too);
// - stockade-locked-default-deny: in a locked namespace, a NetworkPolicy that denies all ingress
//   (egress) to every pod keeps doing so: not deleted, not given rules, not narrowed.
std::string emit_guardrail_vaps(const VapOptions& options);

}  // namespace stockade::recommend
