// A deliberately naive reference evaluator for differential tests of the PolicyEngine.
//
// It reads the policies straight from ClusterState for every query: pod by pod, policy by
// policy, rule by rule; no identities, no bitsets, no caching. It is slow on purpose and should
// stay so simple that it is obviously correct. Semantics (the project's decisions):
//
//  * A pod's traffic to itself is allowed.
//  * A connection is allowed iff the source's egress side and the destination's ingress side
//    both allow it. A side that is an external IP is not evaluated (allowed).
//  * A side goes through three tiers: admin (AdminNetworkPolicy + ClusterNetworkPolicy tier
//    Admin, by (priority, ANP before CNP, name), first matching rule decides; Pass skips to the
//    next tier), NetworkPolicy (isolated if any NP of the namespace selects the pod in that
//    direction; then allowed iff any rule of any such NP matches) and baseline
//    (ClusterNetworkPolicy tier Baseline by (priority, name), then BaselineAdminNetworkPolicy;
//    first matching rule decides, Pass and no match fall to the default: allowed).
//  * Cilium policies (reference_cilium.h) join the NetworkPolicy tier: their deny rules win
//    over every allow; they isolate per their default-deny rule; their allows add up.
//  * With Calico policies in the cluster, Calico's tiers (reference_calico.h) hold all of
//    the above: kube-admin, the default tier (NetworkPolicies at order 1000), kube-baseline.
//  * Host-network pods are never a policy subject and never match selector peers; they match
//    ipBlock / networks by their IPs and ANP/CNP `nodes` peers by their node.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/ip.h"
#include "core/ports.h"
#include "model/cluster_state.h"

namespace stockade::testing {

// One side of a connection: an index into the endpoint list, or an external IP.
struct RefPeer {
  std::optional<size_t> endpoint;
  IpAddr ip;  // used when `endpoint` is empty

  static RefPeer of_endpoint(size_t index) { return RefPeer{index, {}}; }
  static RefPeer of_ip(const IpAddr& ip) { return RefPeer{std::nullopt, ip}; }
};

// Whether the connection src -> dst on (protocol, port) is allowed. `port` is the destination
// port. When `trace` is set, a line per evaluated side is appended to it.
bool reference_allowed(const ClusterState& s, const std::vector<Endpoint>& eps, const RefPeer& src,
                       const RefPeer& dst, Protocol proto, uint16_t port,
                       std::string* trace = nullptr);

// The source's egress side alone (true when src is external).
bool reference_egress_allowed(const ClusterState& s, const std::vector<Endpoint>& eps,
                              const RefPeer& src, const RefPeer& dst, Protocol proto, uint16_t port,
                              std::string* trace = nullptr);

// The destination's ingress side alone (true when dst is external).
bool reference_ingress_allowed(const ClusterState& s, const std::vector<Endpoint>& eps,
                               const RefPeer& src, const RefPeer& dst, Protocol proto,
                               uint16_t port, std::string* trace = nullptr);

// Whether some NetworkPolicy (or Cilium policy in default deny) selects endpoint `index` for
// ingress / egress (Kubernetes' "isolated").
bool reference_np_isolated_ingress(const ClusterState& s, const std::vector<Endpoint>& eps,
                                   size_t index);
bool reference_np_isolated_egress(const ClusterState& s, const std::vector<Endpoint>& eps,
                                  size_t index);

// Pieces the Calico reference (reference_calico.h) places in Calico's tiers: whether a
// NetworkPolicy selects `self` in a direction and whether one of its rules allows; the first
// matching action of the admin (or baseline) tier.
bool reference_np_selects(const NetworkPolicy& np, const Endpoint& self, bool ingress);
bool reference_np_allows(const ClusterState& s, const std::vector<Endpoint>& eps,
                         const NetworkPolicy& np, bool ingress, const RefPeer& other,
                         const Endpoint* dst, Protocol proto, uint16_t port);
std::optional<RuleAction> reference_cluster_tier_action(
    const ClusterState& s, const std::vector<Endpoint>& eps, bool admin, const Endpoint& self,
    bool ingress, const RefPeer& other, const Endpoint* dst, Protocol proto, uint16_t port);

}  // namespace stockade::testing
