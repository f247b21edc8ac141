// What a change of policies changes (`stockade diff`, POST /api/v1/simulate): the connections
// whose verdict differs between two policy sets over the same endpoints (engine/diff.h), grouped
// by pod, workload or namespace, and, given observed traffic, the observed established edges
// whose verdict the change flips. The one home of the `diff -o json` object and of the table
// the command line prints.
#pragma once

#include <cstdint>
#include <memory>
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

// Proposals compared with the same policies in force over the same traffic (POST
// /api/v1/simulate answers many for one data version): what they share is computed once — the
// reachability under the policies in force and each observed edge's verdict under them — and
// each proposal is compared over the endpoints whose verdicts it can change only: those the
// subjects of its policies select (and of the policies in force it replaces), since a
// NetworkPolicy takes part in the verdicts of the pods its podSelector selects, and an admin or
// baseline policy in those of its subject's; every endpoint with a Cilium or Calico policy in
// force or proposed. The answer is diff()'s, ports empty (tests/audit/proposal_diff_test.cc
// compares them).
class ProposalDiff {
 public:
  // `in_force`, `engine` (compiled from it) and `observed` (pod level over its endpoints) must
  // outlive this object.
  ProposalDiff(const ClusterState& in_force, const PolicyEngine& engine, const Observed& observed);
  ~ProposalDiff();

  // diff(in_force, engine, after, its engine, {}, by, &observed) for after =
  // with_policies(in_force, proposed); errors as with_policies' and diff's. Thread-safe.
  Result<PolicyChanges> diff(ClusterState proposed, Granularity by) const;

  // The endpoints whose verdicts `proposed` can change (one flag per endpoint).
  std::vector<uint8_t> scope(const ClusterState& proposed) const;

 private:
  const ClusterState& state_;
  const PolicyEngine& engine_;
  const Observed& observed_;
  std::unique_ptr<ReachMatrix> reach_;  // engine_.reach({})
  // Per observed edge: -1 not judged (not established, or a side unresolved), else allowed (1)
  // or denied (0) by the policies in force.
  std::vector<int8_t> verdict_;
  uint64_t checked_ = 0;
  // The judged edges with an endpoint at either end, by endpoint (ascending).
  std::vector<std::vector<uint32_t>> edges_of_;
};

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
