// What a policy change changes: every connection whose verdict differs between two policy sets
// over the same endpoints, pods and the outside of the cluster alike.
//
// The outside is split by every ipBlock (cidr and except) and `networks` CIDR of either set:
// each part of the address space that no CIDR boundary divides is one endpoint
// ("world/0.0.0.0/0 except 10.0.0.0/8, 203.0.113.0/24", "world/203.0.113.0/24"), evaluated
// through one of its addresses (every address of a part is matched by the same peers). Parts are
// checked as sources towards every pod's declared ports, and as destinations of every pod on the
// ports that egress rules with address peers name in either set.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "model/cluster_state.h"

namespace stockade {

struct WorldPart {
  std::string id;  // "world/CIDR" or "world/CIDR except A, B, ..."
  IpAddr probe;    // an address of the part, not a pod's or node's address
  Cidr cidr;       // the part is this CIDR minus the CIDRs of the set strictly inside it
};

// The parts of the outside split by the CIDRs of the policies of `a` and `b`.
std::vector<WorldPart> world_parts(const ClusterState& a, const ClusterState& b,
                                   const std::vector<Endpoint>& eps);

// The part holding `ip` (the most specific CIDR containing it), or null when none does (an
// address of the cluster's that no part was left for).
const WorldPart* world_part_of(const std::vector<WorldPart>& parts, const IpAddr& ip);

struct DiffChange {
  std::string src, dst;
  Protocol protocol = Protocol::TCP;
  uint16_t port = 0;
  bool before = false, after = false;
  // The endpoints (indices) of a pod side, UINT32_MAX for a part of the outside.
  uint32_t src_endpoint = UINT32_MAX, dst_endpoint = UINT32_MAX;
  uint64_t pairs = 1;  // pod-level connections it stands for (group_changes)
};

struct PolicyDiff {
  std::vector<DiffChange> changes;  // pod pairs first (source, destination order), then world
  uint64_t newly_allowed = 0, newly_denied = 0;
  uint64_t world_parts = 0;  // parts of the outside compared
  std::string ports_differ;  // an endpoint whose ports differ between the two (nothing compared)
};

// diff --by workload|namespace: the changes under their endpoints' groups, one per (source,
// destination, protocol, port, before, after), with the pod-level connections counted in
// `pairs`; in the order of their first change. By pod: the changes as they are.
std::vector<DiffChange> group_changes(const std::vector<DiffChange>& changes,
                                      const std::vector<Endpoint>& eps, Granularity by);

// `queries`: the ports compared (empty: each destination's declared ports), as reach takes them.
// `before` and `after` must hold the same endpoints (the caller checks).
PolicyDiff diff_policies(const ClusterState& before_state, const PolicyEngine& before,
                         const ClusterState& after_state, const PolicyEngine& after,
                         const std::vector<PortQuery>& queries);

// diff_policies compared over the connections with an end in `scope` (one flag per endpoint;
// the parts of the outside included; null: every endpoint): for a change that takes part in the
// verdicts of those endpoints only, the others' are the same before and after, and so is the
// answer. `mb` is `before.reach(queries)`, which a caller comparing many changes against the
// same policies computes once (POST /api/v1/simulate). With a scope, `after` must hold the same
// endpoints with the same ports as `before` (the caller checks) and `queries` be empty.
PolicyDiff diff_policies_within(const ClusterState& before_state, const PolicyEngine& before,
                                const ReachMatrix& mb, const ClusterState& after_state,
                                const PolicyEngine& after, const std::vector<PortQuery>& queries,
                                const std::vector<uint8_t>* scope);

}  // namespace stockade
