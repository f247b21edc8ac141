// What a change of policies changes (`stockade diff`, POST /api/v1/simulate): the connections
// whose verdict differs between two policy sets over the same endpoints (engine/diff.h), grouped
// by pod, workload or namespace, and, given observed traffic, the observed established edges
// whose verdict the change flips. The one home of the `diff -o json` object and of the table
// the command line prints.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "engine/diff.h"
#include "engine/engine.h"
#include "model/cluster_state.h"
#include "recommend/observed.h"

namespace stockade::audit {

// Observed edges whose verdict flips: rows of class 1 (newly allowed) or 0 (broken), outside
// peers named by the parts of the outside the connections use.
struct FlowChanges {
  std::vector<GroupedEdge> rows;
  // Established pod-level edges evaluated, and those the change breaks / newly allows, whatever
  // the rows.
  uint64_t checked = 0, broken = 0, newly_allowed = 0;
  // Observed HTTP requests (L7 records) whose verdict flips, by (client, server, port,
  // method, path) at pod level; and how many were checked.
  struct Request {
    std::string src, dst;
    uint16_t port = 0;
    std::string method, path;
    uint64_t count = 0;
    bool after = false;  // allowed after the change (else: broken)
  };
  std::vector<Request> requests;
  uint64_t requests_checked = 0, requests_broken = 0, requests_newly_allowed = 0;
};

struct PolicyChanges {
  Granularity by = Granularity::Workload;
  std::vector<DiffChange> changes;  // grouped by `by` (group_changes)
  uint64_t newly_allowed = 0, newly_denied = 0;
  std::optional<FlowChanges> flows;  // with observed traffic
};

// `before` and `after` are compiled from `before_state` and `after_state`, which must differ in
// policies only; `observed` (optional) is at pod level over `before`'s endpoints. `ports`: the
// ports compared (empty: each destination's declared ports). Errors (ErrorCode::Input): the
// endpoints or their ports differ between the two.
Result<PolicyChanges> diff(const ClusterState& before_state, const PolicyEngine& before,
                           const ClusterState& after_state, const PolicyEngine& after,
                           const std::vector<PortQuery>& ports, Granularity by,
                           const Observed* observed = nullptr);

// The policies in force with those of `proposed` added: an object of the same kind, namespace and
// name as one in force replaces it (POST /api/v1/simulate, the admission webhook). Errors
// (ErrorCode::Input): `proposed` holds no policy, or objects other than policies (named).
Result<ClusterState> with_policies(const ClusterState& in_force, ClusterState proposed);

// The `stockade diff -o json` object.
nlohmann::json diff_json(const PolicyChanges& d);

// The `stockade diff` table: the changed connections and their count, then (with observed
// traffic) the observed flows whose verdict changes and their counts. Names are escaped for a
// terminal.
std::string diff_table(const PolicyChanges& d);

}  // namespace stockade::audit
