// POST /api/v1/simulate: `stockade diff --flows` from the policies in force to those plus the
// request's, over the traffic the server keeps (src/audit/policy_diff.h does the work). What
// does not depend on the request is kept per data version (policy_cache.h): a click in the
// console is one proposal compiled and compared over the endpoints it concerns, not a replay of
// every record kept (docs/notes/console.md has the figures).
#include "input/loader.h"
#include "server/policy_cache.h"
#include "server/state.h"

namespace stockade::server {

Result<std::shared_ptr<ServerState::PolicyCache>> ServerState::policy_cache() const {
  const std::array<uint64_t, 3> version = kept_version();
  {
    std::lock_guard lock(policy_cache_mutex_);
    if (policy_cache_ && policy_cache_->version == version) return policy_cache_;
  }
  // One at a time: requests arriving meanwhile take the one being made.
  std::lock_guard build(policy_cache_build_mutex_);
  {
    std::lock_guard lock(policy_cache_mutex_);
    if (policy_cache_ && policy_cache_->version == kept_version()) return policy_cache_;
  }
  const std::array<uint64_t, 3> before = kept_version();
  auto kept = observe_kept(0, 0, kDefaultMaxObservedExternal);
  if (!kept) return tl::unexpected<Error>(kept.error());
  auto c = std::make_shared<PolicyCache>();
  c->version = before;
  c->snapshot = std::move(kept->first);
  c->observed = std::move(kept->second);
  c->proposals =
      std::make_unique<audit::ProposalDiff>(c->snapshot->state, *c->snapshot->engine, c->observed);
  // Kept only when nothing changed while it was made (else it answers this request alone).
  if (kept_version() == before) {
    std::lock_guard lock(policy_cache_mutex_);
    policy_cache_ = c;
  }
  return c;
}

Result<std::string> ServerState::simulate_json(std::string_view body, Granularity by) const {
  LoadOptions lo;
  lo.workload_security = false;
  ClusterLoader loader(lo);
  if (auto r = loader.add_text(body, "request body"); !r) return tl::unexpected<Error>(r.error());
  auto cache = policy_cache();
  if (!cache) return tl::unexpected<Error>(cache.error());
  auto d = (*cache)->proposals->diff(std::move(loader).finish(), by);
  if (!d) return tl::unexpected<Error>(d.error());
  return audit::diff_json(*d).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace stockade::server
