// What POST /api/v1/simulate and GET /api/v1/recommendations reuse while the data stays the
// same (ServerState::policy_cache, simulate.cc): the snapshot in force, every record and batch
// kept observed over its endpoints, the comparison base of proposals (audit::ProposalDiff: the
// reachability and the observed edges' verdicts under the policies in force) and the
// recommendations' answers. Replaced when kept_version() changes (a rebuild, a record, a batch).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "audit/policy_diff.h"
#include "server/state.h"

namespace stockade::server {

struct ServerState::PolicyCache {
  std::array<uint64_t, 3> version{};
  std::shared_ptr<const Snapshot> snapshot;
  stockade::Observed observed;
  std::unique_ptr<audit::ProposalDiff> proposals;  // over snapshot and observed
  // recommendations_json's answers by (namespace, accept_blocked, low confidence).
  std::mutex recommendations_mutex;
  std::map<std::tuple<std::string, bool, bool>, Result<std::string>> recommendations;
};

}  // namespace stockade::server
