#include "kube/access_review.h"

#include <nlohmann/json.hpp>

namespace stockade::kube {

namespace {

// The API server's answer to a review, or the error that says why there is none.
Result<nlohmann::json> review(Client& client, const std::string& path, const nlohmann::json& body) {
  auto r = client.request("POST", path, body.dump(), "application/json");
  if (!r) return tl::unexpected(r.error());
  if (r->status < 200 || r->status >= 300)
    return make_error(error_code_for_status(r->status), Client::describe("POST", path, *r));
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorCode::Unavailable, "POST " + path + ": the answer is not JSON");
  return j;
}

std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

AccessReviewer::AccessReviewer(Client& client, AccessReviewOptions options)
    : client_(client), options_(options) {}

Result<std::optional<UserInfo>> AccessReviewer::authenticate(
    const std::string& token, const std::vector<std::string>& audiences) {
  std::string key = token;
  for (const std::string& a : audiences) key += '\n' + a;
  const auto now = Clock::now();
  {
    std::lock_guard lock(mutex_);
    if (auto it = tokens_.find(key); it != tokens_.end() && it->second.expires > now) {
      ++counters_.cache_hits;
      if (!it->second.yes) return std::optional<UserInfo>();
      return std::optional<UserInfo>(it->second.user);
    }
  }
  nlohmann::json spec = {{"token", token}};
  if (!audiences.empty()) spec["audiences"] = audiences;
  auto j =
      review(client_, "/apis/authentication.k8s.io/v1/tokenreviews",
             {{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "TokenReview"}, {"spec", spec}});
  if (!j) return tl::unexpected(j.error());
  Entry e;
  const nlohmann::json status = j->value("status", nlohmann::json::object());
  e.yes = status.value("authenticated", false);
  if (e.yes) {
    const nlohmann::json user = status.value("user", nlohmann::json::object());
    e.user.username = str(user, "username");
    e.user.uid = str(user, "uid");
    if (auto g = user.find("groups"); g != user.end() && g->is_array())
      for (const auto& x : *g)
        if (x.is_string()) e.user.groups.push_back(x.get<std::string>());
    if (e.user.username.empty()) e.yes = false;  // nobody to authorize
  }
  e.expires = now + (e.yes ? options_.allowed_ttl : options_.denied_ttl);
  std::lock_guard lock(mutex_);
  ++counters_.token_reviews;
  if (tokens_.size() >= options_.max_entries) tokens_.clear();
  tokens_[key] = e;
  if (!e.yes) return std::optional<UserInfo>();
  return std::optional<UserInfo>(e.user);
}

Result<bool> AccessReviewer::authorize(const UserInfo& user, std::string_view verb,
                                       std::string_view resource, std::string* reason) {
  return authorize(
      user, ResourceAttributes{std::string(kAccessGroup), std::string(resource), std::string(verb)},
      reason);
}

Result<bool> AccessReviewer::authorize(const UserInfo& user, const ResourceAttributes& what,
                                       std::string* reason) {
  std::string key = user.username + '\n' + user.uid + '\n' + what.verb + '\n' + what.group + '\n' +
                    what.resource + '\n' + what.ns + '\n' + what.name;
  for (const std::string& g : user.groups) key += '\n' + g;
  const auto now = Clock::now();
  {
    std::lock_guard lock(mutex_);
    if (auto it = decisions_.find(key); it != decisions_.end() && it->second.expires > now) {
      ++counters_.cache_hits;
      if (reason) *reason = it->second.reason;
      return it->second.yes;
    }
  }
  nlohmann::json attributes = {
      {"group", what.group}, {"resource", what.resource}, {"verb", what.verb}};
  if (!what.ns.empty()) attributes["namespace"] = what.ns;
  if (!what.name.empty()) attributes["name"] = what.name;
  nlohmann::json spec = {
      {"user", user.username}, {"groups", user.groups}, {"resourceAttributes", attributes}};
  if (!user.uid.empty()) spec["uid"] = user.uid;
  auto j = review(
      client_, "/apis/authorization.k8s.io/v1/subjectaccessreviews",
      {{"apiVersion", "authorization.k8s.io/v1"}, {"kind", "SubjectAccessReview"}, {"spec", spec}});
  if (!j) return tl::unexpected(j.error());
  const nlohmann::json status = j->value("status", nlohmann::json::object());
  Entry e;
  e.yes = status.value("allowed", false) && !status.value("denied", false);
  e.reason = str(status, "reason");
  e.expires = now + (e.yes ? options_.allowed_ttl : options_.denied_ttl);
  if (reason) *reason = e.reason;
  std::lock_guard lock(mutex_);
  ++counters_.access_reviews;
  if (decisions_.size() >= options_.max_entries) decisions_.clear();
  decisions_[key] = e;
  return e.yes;
}

AccessReviewer::Counters AccessReviewer::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

}  // namespace stockade::kube
