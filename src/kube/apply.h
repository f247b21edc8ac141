// `stockade apply`: policies into a live cluster by server-side apply (PATCH with
// application/apply-patch+yaml, fieldManager=stockade), always dry-run first, with a readable
// account of what changes and of conflicts with other field managers.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "kube/client.h"

namespace stockade::kube {

// The field manager of every apply, and whose objects --prune-owned may delete.
inline constexpr std::string_view kFieldManager = "stockade";

// One object to apply, as written in its file.
struct ApplyObject {
  std::string kind, api_version, ns, name;
  std::string file;
  int line = 0;
  nlohmann::json body;
  std::string path() const;      // the REST path of the object
  std::string resource() const;  // its plural resource name: "networkpolicies"
  std::string label() const;     // "NetworkPolicy shop/allow-web"
};

// Reads YAML/JSON files (multi-document, `kind: List`). Only NetworkPolicy
// (networking.k8s.io/v1), AdminNetworkPolicy / BaselineAdminNetworkPolicy
// (policy.networking.k8s.io/v1alpha1) and ClusterNetworkPolicy (v1beta1, v1alpha2) are accepted;
// any other kind is an error naming the file and line. Namespaced objects without a namespace get
// `default_namespace`.
Result<std::vector<ApplyObject>> read_apply_objects(const std::vector<std::string>& paths,
                                                    const std::string& default_namespace);

// The same from in-memory text (a request body); `name` stands for the file name in errors.
Result<std::vector<ApplyObject>> read_apply_text(const std::string& text, const std::string& name,
                                                 const std::string& default_namespace);

// ClusterNetworkPolicies go to v1beta1 when the server serves it, else to v1alpha2 (one schema,
// so the object is the same; `served`: Client::group_versions()).
void use_served_versions(std::vector<ApplyObject>& objects, const std::set<std::string>& served);

struct FieldConflict {
  std::string manager;  // the field manager that owns the field
  std::string field;    // ".spec.podSelector"
};

struct ApplyOutcome {
  enum class Action { Created, Configured, Unchanged, Conflict };
  Action action = Action::Unchanged;
  std::vector<std::string> changes;  // "~ .spec.ingress: [...] -> [...]", "+ ...", "- ..."
  std::vector<FieldConflict> conflicts;
};

// Applies one object (dry_run: dryRun=All). A 409 answer is an outcome with conflicts, not an
// error; 403 and other failures are errors that say what to do.
Result<ApplyOutcome> server_side_apply(Client& client, const ApplyObject& object, bool dry_run,
                                       bool force_conflicts);

struct ApplyPlan {
  bool dry_run = false;
  bool force_conflicts = false;
  bool prune_owned = false;  // delete what kFieldManager alone applied and `objects` lack
};

struct ApplyReport {
  std::vector<ApplyOutcome> outcomes;  // one per object: applied, or the dry run's when not
  std::vector<struct PruneCandidate> pruned;
  size_t conflicts = 0;  // objects in conflict at the dry run: nothing was applied
  std::string stopped;   // the object that conflicted after the dry run: applying stopped there
};

// What an apply reports as it goes: each outcome with its phase ("dry run", "applied"), and
// each object pruned (dry_run: only as a dry run).
struct ApplyProgress {
  std::function<void(const ApplyObject&, const ApplyOutcome&, const char* phase)> outcome;
  std::function<void(const struct PruneCandidate&, bool dry_run)> pruned;
};

// `stockade apply` (and POST /api/v1/apply): the served versions chosen, every object applied as
// a dry run first (and the prune candidates found); any conflict stops everything; else, unless
// `plan.dry_run`, each applied in order, then the candidates pruned. Errors name the object
// (its file and line at the dry run) and keep the API server's status (error_code_for_status).
Result<ApplyReport> apply_policies(Client& client, std::vector<ApplyObject>& objects,
                                   const ApplyPlan& plan, const ApplyProgress& progress = {});

// The `stockade apply -o json` object.
nlohmann::ordered_json apply_report_json(const std::vector<ApplyObject>& objects,
                                         const ApplyReport& report, bool dry_run);

// The outcome's name: created, configured, unchanged, conflict.
const char* action_name(ApplyOutcome::Action a);

// The `stockade apply` table's lines for an outcome ("NetworkPolicy shop/api: configured (dry
// run)", then its changes and conflicts, indented) and for a prune. Names and values as the API
// server sent them, escaped for a terminal.
std::string outcome_text(const ApplyObject& obj, const ApplyOutcome& out, const char* phase);
std::string pruned_text(const struct PruneCandidate& p, bool dry_run);

// An object this field manager alone applied earlier that the input no longer holds.
struct PruneCandidate {
  std::string path;   // the REST path of the object
  std::string label;  // "NetworkPolicy shop/old-rule"
};

// The policies of the kinds apply writes that kFieldManager alone manages (by Apply; a policy
// another manager also owns fields of is not ours to delete) and that `objects` do not hold.
Result<std::vector<PruneCandidate>> prune_candidates(Client& client,
                                                     const std::vector<ApplyObject>& objects);

// Deletes one object (dry_run: dryRun=All); one already gone is fine.
Result<void> delete_object(Client& client, const std::string& path, bool dry_run);

// The field-level differences between two objects, ignoring server-managed metadata and
// status: "+ .a.b: value", "- .a.b: value", "~ .a.b: old -> new". Lists are compared whole
// (the policy kinds' lists are atomic).
std::vector<std::string> object_changes(const nlohmann::json& before, const nlohmann::json& after);

}  // namespace stockade::kube
