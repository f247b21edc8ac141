#include "server/cluster_apply.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <vector>

#include "input/loader.h"
#include "kube/access_review.h"
#include "kube/apply.h"

namespace stockade::server {

namespace {

JsonAnswer error_answer(int status, const std::string& message) {
  return {status, nlohmann::json{{"error", message}}.dump(
                      -1, ' ', false, nlohmann::json::error_handler_t::replace) +
                      "\n"};
}

int status_for(const Error& e) {
  switch (e.code) {
    case ErrorCode::Input:
    case ErrorCode::Usage:
      return 422;  // the API server refused the object as invalid
    case ErrorCode::Forbidden:
      return 403;
    case ErrorCode::NotFound:
      return 404;
    case ErrorCode::Conflict:
      return 409;
    case ErrorCode::Internal:
      return 500;
    case ErrorCode::Unavailable:
      break;
  }
  return 503;
}

// The user's rights on each object, asked of the API server (SubjectAccessReview): `create`
// and `patch`, what server-side apply of a new object needs (stricter than an existing
// object's `patch` alone). Empty: allowed; else the answer to give.
std::optional<JsonAnswer> check_user(kube::AccessReviewer& reviewer, const Requester& requester,
                                     const std::vector<kube::ApplyObject>& objects) {
  const kube::UserInfo user{requester.user, requester.uid, requester.groups};
  for (const kube::ApplyObject& o : objects) {
    const std::string group = o.api_version.substr(0, o.api_version.find('/'));
    const bool namespaced = o.path().find("/namespaces/") != std::string::npos;
    for (const char* verb : {"create", "patch"}) {
      std::string reason;
      auto allowed = reviewer.authorize(
          user, kube::ResourceAttributes{group, o.resource(), verb, namespaced ? o.ns : "", o.name},
          &reason);
      if (!allowed) return error_answer(503, allowed.error().str());
      if (*allowed) continue;
      // Worded as the API server words its own refusals.
      std::string msg =
          o.resource() + "." + group + " \"" + o.name + "\" is forbidden: User \"" +
          requester.user + "\" cannot " + verb + " resource \"" + o.resource() +
          "\" in API group \"" + group + "\"" +
          (namespaced ? " in the namespace \"" + o.ns + "\"" : " at the cluster scope");
      if (!reason.empty()) msg += ": " + reason;
      return error_answer(403, msg);
    }
  }
  return std::nullopt;
}

}  // namespace

JsonAnswer apply_as(const kube::Client& server, const std::string& body, bool dry_run,
                    bool force_conflicts, const Requester& requester,
                    kube::AccessReviewer* reviewer) {
  const std::string name = "request body";
  auto objects = kube::read_apply_text(body, name, "default");
  if (!objects) return error_answer(400, objects.error().str());
  if (objects->empty()) return error_answer(400, "the body holds no policy");
  // The same validation as every other command (the API server's rules), before the cluster
  // is asked anything.
  {
    LoadOptions lo;
    lo.workload_security = false;
    ClusterLoader loader(lo);
    if (auto r = loader.add_text(body, name); !r) return error_answer(400, r.error().str());
  }
  if (!requester.user.empty()) {
    if (!reviewer) return error_answer(403, "the user's rights cannot be checked: nothing applied");
    if (auto refused = check_user(*reviewer, requester, *objects)) return *refused;
  }
  // Written with the server's own identity (its chart grants write on the policy kinds only
  // with apply.enabled), once the user may: no impersonation grant (docs/notes/serve.md).
  auto client = kube::Client::create(server.config());
  if (!client) return error_answer(503, client.error().str());
  kube::ApplyPlan plan;
  plan.dry_run = dry_run;
  plan.force_conflicts = force_conflicts;
  auto report = kube::apply_policies(**client, *objects, plan);
  if (!report) return error_answer(status_for(report.error()), report.error().str());
  nlohmann::ordered_json out = kube::apply_report_json(*objects, *report, dry_run);
  int status = 200;
  if (!report->stopped.empty()) {
    status = 409;
    out["error"] = report->stopped + ": a conflict appeared after the dry run: stopped";
  } else if (report->conflicts > 0) {
    status = 409;
    out["error"] = std::to_string(report->conflicts) +
                   " object(s) conflict with other field managers: nothing applied (take the "
                   "fields over with ?force=true)";
  }
  return {status, out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"};
}

}  // namespace stockade::server
