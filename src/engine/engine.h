// PolicyEngine: the only place that knows NetworkPolicy / AdminNetworkPolicy /
// BaselineAdminNetworkPolicy / ClusterNetworkPolicy / CiliumNetworkPolicy semantics.
//
// Compile once: endpoints are grouped into identities (namespace labels, pod labels, declared
// ports, host network, IP class); every selector becomes a bitset over identities. A verdict is
// then a handful of bit tests, and whole-cluster reachability is computed identity by identity.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/ip.h"
#include "core/ports.h"
#include "model/cluster_state.h"

namespace stockade {

// One side of a connection: an endpoint (index into the engine's endpoint list) or an
// address outside the cluster's pods.
struct Peer {
  std::optional<uint32_t> endpoint;
  IpAddr ip;  // used when `endpoint` is empty

  static Peer of_endpoint(uint32_t index) { return Peer{index, {}}; }
  static Peer of_ip(const IpAddr& ip) { return Peer{std::nullopt, ip}; }
};

enum class DecisionTier : uint8_t {
  Loopback,       // a pod's traffic to itself
  NotEvaluated,   // the side is outside the cluster (external IP): nothing to evaluate
  Admin,          // AdminNetworkPolicy or ClusterNetworkPolicy tier Admin
  NetworkPolicy,  // NetworkPolicy, and the Cilium policies enforced beside them
  Baseline,       // BaselineAdminNetworkPolicy or ClusterNetworkPolicy tier Baseline
  Default,        // nothing decided: allowed
};
std::string_view to_string(DecisionTier t);

struct PolicyRef {
  std::string kind;  // NetworkPolicy, AdminNetworkPolicy, ...
  std::string ns;    // empty for cluster-scoped kinds
  std::string name;
  SourceRef source;
};

// How one side (the source's egress or the destination's ingress) was decided.
struct Decision {
  bool allowed = true;
  DecisionTier tier = DecisionTier::Default;
  std::optional<PolicyRef> policy;  // the deciding policy, when one decided
  int rule_index = -1;              // index in the policy's ingress/egress list, -1 if none
  std::string rule_name;            // ANP/CNP rule name when set
  int rule_line = 0;                // where the deciding rule starts in the policy's file
  std::string action;               // Allow/Deny/Pass/Accept as written, when a rule decided
  // Calico's tiers (when the input holds Calico policies): the tier that decided, or whose
  // end-of-tier deny did (`policy` empty, `isolated_by` the tier's policies that apply).
  std::string calico_tier;
  // That tier comes after Calico's `default` tier (where Kubernetes' NetworkPolicies and
  // `recommend`'s policies sit): a policy added to `default` would decide before it.
  bool calico_after_default = false;
  // Admin rules that passed the decision down (Pass), in order.
  std::vector<PolicyRef> passed_by;
  // NetworkPolicy tier: the policies that select the endpoint in this direction
  // (isolating it). Empty when none does.
  std::vector<PolicyRef> isolated_by;
  // NetworkPolicy tier: allowed because the peer is the endpoint's own node ("traffic to and
  // from the node where a Pod is running is always allowed").
  bool own_node = false;
  // What the verdict could not take into account, in words: L7 rules on the deciding port
  // (the proxy filters requests), toFQDNs rules (addresses carry no names), CIDR groups.
  std::vector<std::string> notes;
};

struct Verdict {
  bool allowed = true;
  Decision egress;   // of the source
  Decision ingress;  // of the destination
};

struct Isolation {
  bool ingress = false;
  bool egress = false;
};

// Reachability summary over (source endpoint, destination endpoint, destination port).
struct ReachCounts {
  uint64_t endpoints = 0;
  uint64_t pairs = 0;  // connections evaluated: allowed + denied
  uint64_t allowed = 0;
  uint64_t denied = 0;
};

// Reachability of every (source endpoint, destination endpoint, destination port), computed
// identity by identity. Ports per destination: its declared container ports, or the queried
// ports (named ones resolved on each destination; a destination on which a name does not
// resolve has no such port).
class ReachMatrix {
 public:
  virtual ~ReachMatrix() = default;
  struct Port {
    Protocol protocol;
    uint16_t port;
    friend bool operator==(const Port&, const Port&) = default;
  };
  virtual const std::vector<Port>& ports(uint32_t dst) const = 0;
  virtual bool allowed(uint32_t src, uint32_t dst, size_t port_index) const = 0;
  // Counts over src in `from` × dst in `to` × ports(dst). Masks are indexed by endpoint;
  // empty masks mean every endpoint.
  virtual ReachCounts counts(const std::vector<uint8_t>& from,
                             const std::vector<uint8_t>& to) const = 0;
  // "N targets, M egress profiles" (for diagnostics).
  virtual std::string describe() const = 0;
};

// reach --by workload|namespace: the connections between the endpoints in `from` and `to`
// (masks as for counts) under their endpoints' groups, one row per (source group, destination
// group, protocol, port, verdict) with the pod-level connections it stands for. Rows sorted
// by names; groups are indices into `names` (sorted) so that a large listing stays small.
struct GroupedReach {
  std::vector<std::string> names;
  struct Row {
    uint32_t src = 0, dst = 0;
    Protocol protocol = Protocol::TCP;
    uint16_t port = 0;
    bool allowed = false;
    uint64_t pairs = 0;
  };
  std::vector<Row> rows;
};
GroupedReach group_connections(const std::vector<Endpoint>& eps, const ReachMatrix& matrix,
                               const std::vector<uint8_t>& from, const std::vector<uint8_t>& to,
                               Granularity by);

// A set of pods as a policy names it, for questions about the selectors themselves (scan's
// policy lint): which endpoints would they select.
struct SelectorQuery {
  // NetworkPolicy semantics: the policy's namespace, used when `namespace_selector` is null
  // (pods of the policy's own namespace). Cluster-scoped kinds: empty, and
  // `namespace_selector` is always given.
  std::string ns;
  const LabelSelector* namespace_selector = nullptr;  // null: absent
  const LabelSelector* pod_selector = nullptr;        // null: absent (every pod)
  const IpBlock* ip_block = nullptr;  // when set, the selectors are ignored: pod addresses in it
};

struct Selection {
  uint64_t endpoints = 0;  // how many endpoints are selected
  // One endpoint per group of endpoints no policy can tell apart (same labels, namespace,
  // declared ports), in endpoint order: enough to name examples and to resolve named ports.
  std::vector<uint32_t> representatives;
};

// A rule of a policy (for questions about the rules themselves: scan's policy lint).
struct RuleRef {
  PolicyRef policy;
  bool egress = false;
  int index = 0;       // in the policy's ingress/egress list
  std::string name;    // ANP/CNP rule name when set
  std::string action;  // Allow/Deny/Pass/Accept as written
  int line = 0;
};

// A rule that can never decide, found by evaluating every connection it matches among the
// cluster's endpoints and the parts of the address space outside them:
// - Shadowed (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy): for every
//   connection the rule matches, an earlier rule of its tier (of the same policy, or of a policy
//   of higher priority) matches and decides first.
// - Redundant (NetworkPolicy): every connection the rule allows, another NetworkPolicy rule
//   selecting the same pods in the same direction allows too.
// A rule that matches no connection (its subject or peers select nothing, its named ports
// resolve nowhere) is never reported: that is a dead selector, not a covered rule.
struct UnusedRule {
  enum class Kind : uint8_t { Shadowed, Redundant } kind = Kind::Shadowed;
  RuleRef rule;
  std::vector<RuleRef> covered_by;  // the rules that decide (allow) instead, evaluation order
  uint64_t connections = 0;  // (subject, peer, port range) classes the rule matches, all covered
};

struct UnusedRuleLimits {
  // Evaluations: a (subject, peer) pair or a (subject, peer, port) class put to the first-match
  // search. A rule that needs more than `per_rule` is not judged (it is reported in `skipped`);
  // no rule is judged once `total` were spent.
  uint64_t per_rule = 0;
  uint64_t total = 0;
};

struct UnusedRules {
  std::vector<UnusedRule> rules;  // in policy evaluation order
  std::vector<RuleRef> skipped;   // not judged: over a limit
};

// An HTTP request on a connection (a Hubble L7 record), for the L7 rules that filter requests.
struct HttpRequest {
  std::string_view method;
  std::string_view path;  // as the proxy sees it: path and query ("/api/v1/users/7?x=1")
  std::string_view host;  // the authority, empty when unknown
};

// An address and a name a DNS answer gave it (Hubble DNS records), for toFQDNs rules and
// domainNames peers.
struct DnsName {
  IpAddr ip;
  std::string name;  // lower case, without the trailing dot
  friend auto operator<=>(const DnsName&, const DnsName&) = default;
};

class PolicyEngine {
 public:
  // Compiles the policies of `state` over `endpoints` (normally build_endpoints(state)).
  static std::unique_ptr<PolicyEngine> compile(const ClusterState& state,
                                               std::vector<Endpoint> endpoints);
  virtual ~PolicyEngine() = default;

  virtual const std::vector<Endpoint>& endpoints() const = 0;
  // Groups of endpoints no policy can tell apart (for diagnostics).
  virtual size_t identity_count() const = 0;
  virtual std::optional<uint32_t> find_endpoint(std::string_view ns,
                                                std::string_view name) const = 0;
  // The endpoint that owns this IP (pod IP; a host-network pod's node IP is not unique and
  // is not resolved), if any.
  virtual std::optional<uint32_t> find_endpoint_by_ip(const IpAddr& ip) const = 0;

  // Full verdict with explanation.
  virtual Verdict evaluate(const Peer& src, const Peer& dst, Protocol protocol,
                           uint16_t port) const = 0;
  // Fast path: allowed or not, endpoints only.
  virtual bool allowed(uint32_t src, uint32_t dst, Protocol protocol, uint16_t port) const = 0;

  // The verdict of an HTTP request to `port` (TCP): the connection's, then on each side that
  // the NetworkPolicy tier allowed, the L7 rules of the Cilium policies that allow the
  // connection (cilium.cc: a matching allow without L7 rules lets every request through), then
  // the Istio AuthorizationPolicies of the destination (istio.cc).
  virtual Verdict evaluate_http(const Peer& src, const Peer& dst, uint16_t port,
                                const HttpRequest& req) const = 0;
  // The names DNS answers gave external addresses, which toFQDNs rules and ClusterNetworkPolicy
  // domainNames peers match (Cilium and the CNP implementations learn them from the same
  // answers). Call before verdicts are asked from several threads.
  virtual void learn_dns(std::vector<DnsName> names) const = 0;

  // Whether any policy tier can deny traffic of this endpoint in each direction
  // (a NetworkPolicy selects it, or an admin/baseline policy applies to it).
  virtual Isolation isolation(uint32_t endpoint) const = 0;
  // Whether NetworkPolicies (or Cilium policies, in default deny) select the endpoint
  // (Kubernetes' notion of "isolated").
  virtual Isolation np_isolation(uint32_t endpoint) const = 0;

  // Resolves a port query on a destination endpoint: a number stays as it is; a name is looked
  // up in the destination's declared ports (same protocol). Empty when it does not resolve.
  virtual std::optional<uint16_t> resolve_port(uint32_t dst, const PortQuery& q) const = 0;

  // The endpoints a policy's subject or peer selects, by the same rules the verdicts use
  // (host-network pods are never selected by pod selectors).
  virtual Selection select(const SelectorQuery& q) const = 0;
  // The same selection, one flag per endpoint (endpoints() order): for a question about the
  // pods themselves (the webhook's: which observed edges can a cluster policy's change touch).
  virtual std::vector<uint8_t> selected_endpoints(const SelectorQuery& q) const = 0;

  // Shadowed admin/baseline rules and redundant NetworkPolicy rules (see UnusedRule).
  // `outside`: one address per part of the address space outside the pods that no policy CIDR
  // divides (world_parts); node addresses are added by the engine. Cilium policies are neither
  // judged nor counted as covering.
  virtual UnusedRules unused_rules(const std::vector<IpAddr>& outside,
                                   const UnusedRuleLimits& limits) const = 0;

  // Whole-cluster reachability; `ports` empty means each destination's declared ports.
  virtual std::unique_ptr<ReachMatrix> reach(const std::vector<PortQuery>& ports) const = 0;
};

}  // namespace stockade
