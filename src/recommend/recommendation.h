// What `recommend` produces (recommend.h): the options, the recommended NetworkPolicies with
// the evidence of each peer, and what the learning window saw.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model/cluster_state.h"
#include "model/resolution.h"  // is_per_pod_label
#include "recommend/declared.h"

namespace stockade {

struct RecommendOptions {
  uint64_t min_count = 1;       // established connections an edge needs to become an allowance
  size_t aggregate_after = 16;  // external addresses per rule before they merge into prefixes
  uint8_t min_prefix_v4 = 16;   // aggregation never goes wider than this (IPv4) ...
  uint8_t min_prefix_v6 = 48;   // ... or this (IPv6)
  bool default_deny = true;
  bool replace = false;                        // existing NetworkPolicies are ignored (regenerated)
  int64_t window_since = 0, window_until = 0;  // the learning window, for the annotations
  size_t parallel_from = 100000;  // contributions from which policies are built on two threads
  bool guardrails = false;        // also cluster-scoped suggestions (guardrails.cc)
  // The guardrails' apiVersion: kCnpV1beta1 or kCnpV1alpha2 (ClusterNetworkPolicy), or
  // kAnpV1alpha1 (AdminNetworkPolicy).
  std::string guardrail_api = std::string(kCnpV1beta1);
  // NetworkPolicy output with ClusterNetworkPolicy guardrails: external peers that DNS answers
  // in the flows named become domainNames of an Admin-tier guardrail (fqdn.h, use_domain_names).
  bool domain_names = false;
  // Workloads with no observed traffic are selected by the default-deny too (else they are
  // excluded from it, exactly, and reported as not covered).
  bool isolate_unobserved = false;
  bool include_system = false;  // policies in the system namespaces (is_system_namespace)
  bool low_confidence = false;  // the window is short: stockade.io/confidence: low everywhere
  // A pod's traffic to its own node gets egress rules too (Cilium isolates it once egress is
  // isolated; Kubernetes NetworkPolicy implementations let it through, so by default it needs
  // none).
  bool own_node_egress = false;
  // ... and from it: ingress rules too (Calico's tiers decide traffic from the pod's own node
  // like any other once a policy applies to the pod).
  bool own_node_ingress = false;
};

// What was observed of one peer of a rule (written as a comment above it).
struct PeerEvidence {
  uint32_t name = UINT32_MAX;  // index into RecommendedPolicy::names: a workload
  Cidr cidr;                   // else an address or prefix
  uint32_t addresses = 1;      // external addresses merged into `cidr`
  bool external = false;       // external address(es), else a node
  uint64_t connections = 0;    // established connections
  int64_t first = 0, last = 0;
  std::string declared;  // kept because the objects declare it (not observed): why
};

struct RecommendedPolicy {
  NetworkPolicy policy;                                          // source.file is "<recommended>"
  std::vector<std::pair<std::string, std::string>> annotations;  // sorted by key
  // Evidence per rule and per peer, in the order of the rules and their peers.
  std::vector<std::vector<PeerEvidence>> ingress_evidence, egress_evidence;
  std::shared_ptr<const std::vector<std::string>> names;  // "ns/name (Kind)" of workloads
};

struct Recommendation {
  std::vector<RecommendedPolicy> policies;  // sorted by (namespace, name)
  // Observed established edges that must stay allowed (indices into Observed::edges).
  std::vector<size_t> must_allow;
  uint64_t edges_established = 0;      // edges with at least one established connection
  uint64_t edges_already_allowed = 0;  // allowed by existing policies already, both sides
  uint64_t edges_denied_existing = 0;  // established but denied by existing policies: kept out
  uint64_t edges_failed_only = 0;      // only failed/dropped attempts: never allowed
  uint64_t edges_below_min_count = 0;  // fewer established connections than min_count
  uint64_t edges_unresolved = 0;       // an endpoint outside the objects (not expressible)
  // Edges between a pod and its own node that became allowances (own_node_egress / _ingress):
  // a rule naming the node's address for the pod's whole unit.
  uint64_t edges_own_node = 0;
  std::vector<ClusterPolicy> guardrails;  // with options.guardrails, sorted by name
  size_t domain_name_addresses = 0;       // external addresses written as domainNames
  std::vector<std::string> notes;         // things a user should know (sorted, unique)

  // What the learning window saw of each workload (a unit: top-level owner or pod without one)
  // in the namespaces policies may be written in, sorted by (namespace, name, kind).
  struct Coverage {
    std::string ns, name, kind;
    uint64_t connections = 0;  // established, as source or destination
    uint64_t attempts = 0;     // every attempt, established or not
    int64_t first = 0, last = 0;
    bool observed = false;  // appears in an edge of the window
    bool isolated = false;  // selected by a recommended policy
  };
  std::vector<Coverage> coverage;
  std::vector<std::string> system_namespaces_skipped;  // held pods, left alone (sorted)
  // Declared ingress that the recommendation keeps (the self-check proves it stays allowed).
  std::vector<DeclaredIngress> declared;
  // Endpoints of the workloads excluded from isolation (not observed): the self-check proves
  // the recommended policies select none of them.
  std::vector<uint32_t> unobserved_endpoints;
  bool low_confidence = false;
};

}  // namespace stockade
