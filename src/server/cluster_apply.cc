#include "server/cluster_apply.h"

#include <nlohmann/json.hpp>

#include "input/loader.h"
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

// A header value must be one line: a name with a line break would forge another header.
bool header_safe(const std::string& v) {
  for (unsigned char c : v)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

JsonAnswer apply_as(const kube::Client& server, const std::string& body, bool dry_run,
                    bool force_conflicts, const Requester& requester) {
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
  kube::RestConfig config = server.config();
  if (!requester.user.empty()) {
    bool safe = header_safe(requester.user) && header_safe(requester.uid);
    for (const std::string& g : requester.groups) safe = safe && header_safe(g);
    if (!safe) return error_answer(403, "the user's name or groups cannot be impersonated");
    config.impersonate_user = requester.user;
    config.impersonate_uid = requester.uid;
    config.impersonate_groups = requester.groups;
  }
  auto client = kube::Client::create(config);
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
