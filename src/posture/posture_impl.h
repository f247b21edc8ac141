// Pieces shared by the posture source files; not part of the module's interface.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "posture/posture.h"

namespace stockade::posture::detail {

// ---- RBAC ------------------------------------------------------------------------------------

// One risky pattern (POSTURE.md section 2, R1..R25) found in a set of rules.
struct PatternHit {
  std::string_view pattern;  // "R4"
  std::string_view check;    // "RBAC_SECRETS"
  Severity severity;
  std::string what;  // "get secrets"
  int line = 0;      // line of the rule that grants it
};

// How much a subject can do, from its worst pattern.
enum class PermissionLevel : uint8_t { None, Elevated, Takeover, ClusterAdmin };
std::string_view to_string(PermissionLevel l);

struct Grant {
  std::string scope;    // "cluster" or a namespace
  std::string binding;  // "ClusterRoleBinding NAME" / "RoleBinding NS/NAME"
  std::string role;     // "ClusterRole NAME" / "Role NS/NAME"
  std::vector<PatternHit> hits;
};

class RbacIndex {
 public:
  explicit RbacIndex(const ClusterState& state);
  // Rules of a role after aggregation; nullptr when the role is not in the input.
  const std::vector<PolicyRuleSpec>* rules(std::string_view kind, std::string_view ns,
                                           std::string_view name) const;
  // Bindings that name the service account directly or through its groups
  // (system:serviceaccounts, system:serviceaccounts:NS, system:authenticated).
  std::vector<Grant> service_account_grants(const std::string& ns, const std::string& name) const;
  const ClusterState& state() const { return state_; }
  bool has_roles() const { return !state_.roles.empty(); }
  const std::vector<std::vector<PolicyRuleSpec>>& resolved() const { return resolved_; }

 private:
  const ClusterState& state_;
  std::vector<std::vector<PolicyRuleSpec>> resolved_;  // per state.roles index
  std::map<std::tuple<bool, std::string, std::string>, size_t, std::less<>> by_key_;
};

// Patterns matched by `rules` granted in one scope (cluster-wide or inside namespace `ns`).
std::vector<PatternHit> match_patterns(const std::vector<PolicyRuleSpec>& rules, bool cluster_scope,
                                       std::string_view ns);
PermissionLevel level_of(const std::vector<PatternHit>& hits, bool cluster_scope);

// Role-level pattern findings and binding/subject findings.
void rbac_findings(const RbacIndex& index, const ScanOptions& o, std::vector<Finding>& out);

// ---- CVEs ------------------------------------------------------------------------------------
std::vector<CveMatch> version_cves(const ClusterState& state, const ScanOptions& o,
                                   std::vector<std::string>& warnings);

// ---- Policy lint (policy_lint.cc) -------------------------------------------------------------
void policy_lint(const ClusterState& state, const PolicyEngine& engine, std::vector<Finding>& out);

// Builds a finding with the catalog severity.
Finding make_finding(std::string_view id, ResourceRef r, const SourceRef& src, int line,
                     std::string message);

}  // namespace stockade::posture::detail
