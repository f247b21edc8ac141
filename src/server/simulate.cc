// POST /api/v1/simulate: `stockade diff --flows` from the policies in force to those plus the
// request's, over the traffic the server keeps (src/audit/policy_diff.h does the work).
#include "audit/policy_diff.h"
#include "input/loader.h"
#include "server/state.h"

namespace stockade::server {

Result<std::string> ServerState::simulate_json(std::string_view body, Granularity by) const {
  LoadOptions lo;
  lo.workload_security = false;
  ClusterLoader loader(lo);
  if (auto r = loader.add_text(body, "request body"); !r) return tl::unexpected<Error>(r.error());
  auto kept = observe_kept(0, 0, kDefaultMaxObservedExternal);
  if (!kept) return tl::unexpected<Error>(kept.error());
  const Snapshot& before = *kept->first;
  auto after_state = audit::with_policies(before.state, std::move(loader).finish());
  if (!after_state) return tl::unexpected<Error>(after_state.error());
  // Policies select pods and never add any: the endpoints, and so the observed edges' endpoint
  // indices, are the same before and after.
  auto after = PolicyEngine::compile(*after_state, build_endpoints(*after_state));
  auto d = audit::diff(before.state, *before.engine, *after_state, *after, {}, by, &kept->second);
  if (!d) return tl::unexpected<Error>(d.error());
  return audit::diff_json(*d).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace stockade::server
