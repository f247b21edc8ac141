// Applying a set of policy objects as one change: a server-side dry run of every object first
// (nothing is applied unless every one would apply), pruning what stockade alone manages and
// the set no longer holds, then the real apply and prune. `stockade apply` prints what the
// observer is told; the server's POST /api/v1/apply can call the same.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "kube/apply.h"
#include "kube/client.h"

namespace stockade::kube {

struct ApplyRequest {
  bool dry_run = false;          // the dry run only
  bool force_conflicts = false;  // take over fields another manager owns
  bool prune_owned = false;      // delete what stockade alone manages and the set lacks
};

// Told of each step as it happens, in order.
struct ApplyObserver {
  // phase: "dry run" or "applied"
  std::function<void(const ApplyObject&, const ApplyOutcome&, const char* phase)> outcome;
  std::function<void(const PruneCandidate&, bool dry_run)> pruned;
};

struct ApplyResult {
  std::vector<ApplyOutcome> outcomes;  // per object: the dry run's, else the real apply's
  std::vector<PruneCandidate> pruned;
  size_t conflicts = 0;  // objects that conflict in the dry run: nothing was applied
  // An object whose conflict appeared after the dry run (its label): applying stopped there.
  std::string stopped_at;
};

// An error (the object's file, line and label when one was refused) ends it where it happened.
Result<ApplyResult> apply_objects(Client& client, const std::vector<ApplyObject>& objects,
                                  const ApplyRequest& request, const ApplyObserver& observer);

const char* to_string(ApplyOutcome::Action a);

// {"dryRun":..., "objects":[{kind, namespace, name, action, changes, conflicts}], "pruned":[...]}
// (`pruned` empty when nothing was applied).
nlohmann::ordered_json apply_report_json(const std::vector<ApplyObject>& objects,
                                         const ApplyResult& result, bool dry_run);

}  // namespace stockade::kube
