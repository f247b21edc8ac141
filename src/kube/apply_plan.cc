#include "kube/apply_plan.h"

namespace stockade::kube {

const char* to_string(ApplyOutcome::Action a) {
  switch (a) {
    case ApplyOutcome::Action::Created:
      return "created";
    case ApplyOutcome::Action::Configured:
      return "configured";
    case ApplyOutcome::Action::Unchanged:
      return "unchanged";
    case ApplyOutcome::Action::Conflict:
      return "conflict";
  }
  return "";
}

namespace {

Result<void> prune(Client& c, const std::vector<PruneCandidate>& policies, bool dry_run,
                   const ApplyObserver& observer) {
  for (const PruneCandidate& p : policies) {
    if (auto r = delete_object(c, p.path, dry_run); !r) return r;
    if (observer.pruned) observer.pruned(p, dry_run);
  }
  return {};
}

}  // namespace

Result<ApplyResult> apply_objects(Client& c, const std::vector<ApplyObject>& objects,
                                  const ApplyRequest& req, const ApplyObserver& observer) {
  auto told = [&](const ApplyObject& obj, const ApplyOutcome& out, const char* phase) {
    if (observer.outcome) observer.outcome(obj, out, phase);
  };
  ApplyResult result;
  for (const ApplyObject& obj : objects) {
    auto out = server_side_apply(c, obj, true, req.force_conflicts);
    if (!out)
      return make_error(out.error().code, "", 0,
                        obj.file + ":" + std::to_string(obj.line) + ": " + obj.label() + ": " +
                            out.error().str());
    if (out->action == ApplyOutcome::Action::Conflict) ++result.conflicts;
    told(obj, *out, "dry run");
    result.outcomes.push_back(std::move(*out));
  }
  if (req.prune_owned) {
    auto found = prune_candidates(c, objects);
    if (!found) return tl::unexpected(found.error());
    result.pruned = std::move(*found);
    if (auto r = prune(c, result.pruned, true, observer); !r) return tl::unexpected(r.error());
  }
  if (result.conflicts > 0 || req.dry_run) return result;
  for (size_t i = 0; i < objects.size(); ++i) {
    const ApplyObject& obj = objects[i];
    auto out = server_side_apply(c, obj, false, req.force_conflicts);
    if (!out) return make_error(out.error().code, "", 0, obj.label() + ": " + out.error().str());
    told(obj, *out, "applied");
    if (out->action == ApplyOutcome::Action::Conflict) {
      result.stopped_at = obj.label();
      return result;
    }
    result.outcomes[i] = std::move(*out);
  }
  if (auto r = prune(c, result.pruned, false, observer); !r) return tl::unexpected(r.error());
  return result;
}

nlohmann::ordered_json apply_report_json(const std::vector<ApplyObject>& objects,
                                         const ApplyResult& result, bool dry_run) {
  nlohmann::ordered_json report = {{"dryRun", dry_run}, {"objects", nlohmann::json::array()}};
  for (size_t i = 0; i < objects.size() && i < result.outcomes.size(); ++i) {
    const ApplyObject& obj = objects[i];
    const ApplyOutcome& out = result.outcomes[i];
    nlohmann::ordered_json conf = nlohmann::json::array();
    for (const auto& cf : out.conflicts)
      conf.push_back({{"field", cf.field}, {"manager", cf.manager}});
    report["objects"].push_back({{"kind", obj.kind},
                                 {"namespace", obj.ns},
                                 {"name", obj.name},
                                 {"action", to_string(out.action)},
                                 {"changes", out.changes},
                                 {"conflicts", conf}});
  }
  report["pruned"] = nlohmann::json::array();
  if (result.conflicts == 0)
    for (const PruneCandidate& p : result.pruned) report["pruned"].push_back(p.label);
  return report;
}

}  // namespace stockade::kube
