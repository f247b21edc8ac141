// Pieces shared by the posture source files; not part of the module's interface.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "posture/posture.h"

namespace stockade::posture::detail {

// ---- RBAC ------------------------------------------------------------------------------------

// Whether a rule's list (verbs, API groups, resources, names) holds `s` literally.
inline bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

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

// A role's rules after aggregation: its own (with their lines), then those aggregated from
// other ClusterRoles (line 0: they are written in another object).
using RuleList = std::vector<const PolicyRuleSpec*>;

// Patterns matched by `rules` granted in one scope (cluster-wide or inside namespace `ns`).
std::vector<PatternHit> match_patterns(const RuleList& rules, bool cluster_scope,
                                       std::string_view ns);
PermissionLevel level_of(const std::vector<PatternHit>& hits, bool cluster_scope);

class RbacIndex {
 public:
  // Aggregation may copy at most this many rules into aggregating ClusterRoles in all; past
  // it, error() is set and the scan refuses rather than report on part of the rules.
  static constexpr size_t kMaxAggregatedRules = 1'000'000;

  explicit RbacIndex(const ClusterState& state);
  const std::optional<Error>& error() const { return error_; }
  // Rules of a role after aggregation; nullptr when the role is not in the input.
  const RuleList* rules(std::string_view kind, std::string_view ns, std::string_view name) const;
  const RuleList& resolved(size_t role) const { return resolved_[role]; }
  // match_patterns, computed once per (rule list, scope): a role bound 10k times is matched
  // once, not 10k times.
  const std::vector<PatternHit>& hits(const RuleList& rules, bool cluster_scope,
                                      std::string_view ns) const;

  // What a service account's token can do through the bindings that name it directly or
  // through its groups (system:serviceaccounts, system:serviceaccounts:NS,
  // system:authenticated): its worst level, and the first kMaxTakeoverGrants grants at
  // takeover level or worse, in binding order.
  static constexpr size_t kMaxTakeoverGrants = 64;
  struct AccountRights {
    PermissionLevel level = PermissionLevel::None;
    std::vector<Grant> takeover;
  };
  AccountRights account_rights(const std::string& ns, const std::string& name) const;

  const ClusterState& state() const { return state_; }
  bool has_roles() const { return !state_.roles.empty(); }

 private:
  struct GroupRights {
    PermissionLevel level = PermissionLevel::None;
    std::vector<uint32_t> takeover;  // binding indices, first kMaxTakeoverGrants
  };
  void aggregate();
  void index_subjects();
  const GroupRights& group_rights(const std::string& group) const;
  Grant grant(size_t binding) const;

  const ClusterState& state_;
  std::optional<Error> error_;
  std::vector<RuleList> resolved_;          // per state.roles index
  std::vector<PolicyRuleSpec> aggregated_;  // one copy (line 0) of each distinct rule
  std::map<std::tuple<bool, std::string, std::string>, size_t, std::less<>> by_key_;
  std::vector<PermissionLevel> binding_level_;  // per state.bindings index
  std::map<std::pair<std::string, std::string>, std::vector<uint32_t>> account_bindings_;
  std::map<std::string, std::vector<uint32_t>, std::less<>> group_bindings_;
  mutable std::map<std::string, GroupRights, std::less<>> group_rights_;
  mutable std::map<std::tuple<const RuleList*, bool, bool>, std::vector<PatternHit>> hits_;
};

// Tarjan's strongly connected components of the graph `succ` (node -> successors),
// iteratively (a chain of 100k roles must not overflow the stack): each node's component, and
// the components' nodes, leaves first (a component completes after every one it reaches).
struct Components {
  std::vector<uint32_t> of;                    // per node
  std::vector<std::vector<uint32_t>> members;  // per component, in completion order
};
Components strongly_connected(const std::vector<std::vector<uint32_t>>& succ);

// Role-level pattern findings and binding/subject findings.
void rbac_findings(const RbacIndex& index, const ScanOptions& o, std::vector<Finding>& out);

// ---- pod specs (container_checks.cc) -----------------------------------------------------

std::string normalize_path(std::string p);          // a host path without trailing slashes
bool unsafe_selinux_type(const std::string& type);  // a type other than the container ones

// What a container's checks read of the pod around it.
struct ContainerCheckContext {
  const PodSecuritySpec& pod;
  const std::string& pod_seccomp;  // the pod's profile type, from its field or annotation
  const std::map<std::string, const Volume*>& host_volumes;  // hostPath volumes by name
  const std::vector<std::string>& allowed_registries;        // ScanOptions'
  const std::optional<std::string>& subpath_cve;  // the version affected by CVE-2021-25741
};
// A finding on the container: (check id, line or 0 for the container's, message).
using ContainerReport = std::function<void(std::string_view id, int line, std::string msg)>;
void container_checks(const ContainerCheckContext& x, const ContainerSpec& c,
                      const ContainerReport& report);

// ---- CVEs ------------------------------------------------------------------------------------
std::vector<CveMatch> version_cves(const ClusterState& state, const ScanOptions& o,
                                   std::vector<std::string>& warnings);

// ---- Policy lint (policy_lint.cc) -------------------------------------------------------------
// `warnings`: what the lint could not judge (rules over the shadowing search's limits).
void policy_lint(const ClusterState& state, const PolicyEngine& engine, std::vector<Finding>& out,
                 std::vector<std::string>& warnings);

// Builds a finding with the catalog severity.
Finding make_finding(std::string_view id, ResourceRef r, const SourceRef& src, int line,
                     std::string message);

}  // namespace stockade::posture::detail
