// Who is asking, and may they: the Kubernetes API server's TokenReview (authentication.k8s.io/v1)
// and SubjectAccessReview (authorization.k8s.io/v1), as `stockade serve` uses them in a cluster
// — the way the API server's own aggregated servers and kubelet delegate authentication and
// authorization. Stockade's own actions are resources of the group stockade.io (`get map`,
// `create flows`, `update baselines`, …) that RBAC Roles grant like any other. Answers are
// cached (allowed and authenticated for a minute, refused for ten seconds), keyed by the whole
// token, so a busy console or thousands of agents do not ask the API server on every request.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "kube/client.h"

namespace stockade::kube {

inline constexpr std::string_view kAccessGroup = "stockade.io";

struct UserInfo {
  std::string username, uid;
  std::vector<std::string> groups;
};

// What a SubjectAccessReview asks about: `verb` on `resource` of API group `group`, in namespace
// `ns` ("" cluster-scoped or all), named `name` ("" any).
struct ResourceAttributes {
  std::string group, resource, verb, ns, name;
};

struct AccessReviewOptions {
  std::chrono::seconds allowed_ttl{60};  // authenticated tokens, allowed actions
  std::chrono::seconds denied_ttl{10};   // refused tokens and actions
  size_t max_entries = 10000;            // per cache; a full cache is emptied
};

class AccessReviewer {
 public:
  AccessReviewer(Client& client, AccessReviewOptions options = {});

  // TokenReview of a bearer token, for the given audiences (empty: the API server's own).
  // nullopt: the API server says the token is not valid. An error: it could not be asked.
  Result<std::optional<UserInfo>> authenticate(const std::string& token,
                                               const std::vector<std::string>& audiences = {});

  // SubjectAccessReview: may `user` `verb` the `resource` of group stockade.io? `reason` gets
  // the API server's reason when it gives one.
  Result<bool> authorize(const UserInfo& user, std::string_view verb, std::string_view resource,
                         std::string* reason = nullptr);
  // The same for any resource (the objects POST /api/v1/apply writes for the user).
  Result<bool> authorize(const UserInfo& user, const ResourceAttributes& what,
                         std::string* reason = nullptr);

  struct Counters {
    uint64_t token_reviews = 0, access_reviews = 0, cache_hits = 0;
  };
  Counters counters() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    Clock::time_point expires;
    bool yes = false;
    UserInfo user;
    std::string reason;
  };
  Client& client_;
  AccessReviewOptions options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> tokens_, decisions_;
  Counters counters_;
};

}  // namespace stockade::kube
