// POST /api/v1/apply in a cluster: the body's policies applied as `stockade apply` applies them
// (kube/apply.h: served versions, a dry run of everything, conflicts stop everything, then each
// applied), for the user who asked: each object authorized for that user by SubjectAccessReview,
// then written with the server's own identity (docs/notes/serve.md says why not impersonation).
#pragma once

#include <string>

#include "kube/access_review.h"
#include "kube/client.h"
#include "server/http.h"

namespace stockade::server {

// `server` is the server's own client; a requester with a user name (a TokenReview'd user) must
// be allowed `create` and `patch` on each object (`reviewer`'s SubjectAccessReviews; without a
// reviewer such a request is refused); one without is the server's own identity (a
// --token-file holder, or the local user on loopback). Answers:
// 200 with the `stockade apply -o json` object; 409 with that object and an "error" when an
// object conflicts with another field manager (nothing applied); 400 for a body that is no
// policies (one line naming the line); the API server's refusals as 403 (RBAC), 404, 409, 422
// (invalid object), and 503 when it cannot be reached.
JsonAnswer apply_as(const kube::Client& server, const std::string& body, bool dry_run,
                    bool force_conflicts, const Requester& requester,
                    kube::AccessReviewer* reviewer);

}  // namespace stockade::server
