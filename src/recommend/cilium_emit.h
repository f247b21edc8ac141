// The recommendation written as CiliumNetworkPolicies (cilium.io/v2), for clusters whose CNI is
// Cilium: the same units, allow-lists, declared exposure and exclusions as the NetworkPolicies
// of recommend.cc, translated peer by peer into what Cilium enforces, and proved again by the
// engine's Cilium semantics (src/engine/cilium.cc) before anything is written.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "model/cilium.h"
#include "model/cluster_state.h"
#include "recommend/recommend.h"

namespace stockade {

struct RecommendedCiliumPolicy {
  CiliumPolicy policy;                                           // one spec; file "<recommended>"
  std::vector<std::pair<std::string, std::string>> annotations;  // sorted by key
  // Evidence comment per rule of spec.ingress / spec.egress, per peer item of the rule (its
  // endpoint selectors or CIDRs, in order); an entity rule has one comment, for the rule.
  std::vector<std::vector<std::string>> ingress_evidence, egress_evidence;
};

struct CiliumRecommendation {
  std::vector<RecommendedCiliumPolicy> policies;  // in the order of Recommendation::policies
  std::string error;                              // not expressible: why (nothing is written)
  // Rules whose node peers (addresses of some nodes) became `remote-node`, every other node:
  // wider than the NetworkPolicy's addresses, said in the summary.
  size_t node_rules_widened = 0;
};

// Translates each recommended NetworkPolicy (`eps`: the endpoints the recommendation was made
// over). Where Cilium differs from NetworkPolicy:
// - peers in another namespace name `k8s:io.kubernetes.pod.namespace`; "every pod" is that key
//   with Exists (a namespaced policy's fromEndpoints select in its own namespace otherwise);
// - a node address (ipBlock of a node or of a host-network pod) is the entity `remote-node`,
//   and on egress also `host` for the pods on that node: CIDR rules never match nodes;
// - `0.0.0.0/0` / `::/0` are the entity `world` (its except list only keeps pods out, which a
//   Cilium CIDR never matches); other external prefixes stay CIDRs (toCIDRSet, with except);
// - a direction isolated without rules is `[{}]` (`[]` isolates nothing in Cilium);
// - Cilium allows one kind of peer per rule: a NetworkPolicy rule becomes up to three rules
//   (endpoints, CIDRs, entities) with the same ports, at most 40 ports per toPorts entry.
// A selector key that Cilium reads as one of its own labels (io.kubernetes.pod.namespace,
// io.cilium.*) cannot be written: `error` says which.
CiliumRecommendation to_cilium(const Recommendation& rec, const ClusterState& state,
                               const std::vector<Endpoint>& eps);

// The cluster with the Cilium policies added (existing NetworkPolicies removed when `replace`;
// the input's own Cilium policies stay, as they stay in force).
ClusterState with_cilium_recommendation(const ClusterState& state,
                                        const CiliumRecommendation& cilium, bool replace);

std::string render_cilium_policy_yaml(const RecommendedCiliumPolicy& p);
std::string render_cilium_policy_json(const RecommendedCiliumPolicy& p, int indent);
std::string render_cilium_yaml(const CiliumRecommendation& r);  // "---" documents
std::string render_cilium_json(const CiliumRecommendation& r);  // one List

// What a Cilium policy says, as text (selectors canonical, rules, peers and ports in order,
// every field the loader reads): two policies with the same text enforce the same traffic.
std::string canonical_cilium(const CiliumPolicy& p);

}  // namespace stockade
