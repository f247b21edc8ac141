// The recommendation written as Calico policies (projectcalico.org/v3 NetworkPolicy), for
// clusters whose CNI is Calico: the same units, allow-lists, declared exposure and exclusions
// as the NetworkPolicies of recommend.cc, translated rule by rule into Calico's rules, and
// proved again by the engine's Calico semantics (src/engine/calico.cc) before anything is
// written.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/calico.h"
#include "model/cluster_state.h"
#include "recommend/recommend.h"

namespace stockade {

struct RecommendedCalicoPolicy {
  CalicoPolicy policy;                                           // file "<recommended>"
  std::vector<std::pair<std::string, std::string>> annotations;  // sorted by key
  // Evidence comment per rule of ingress / egress (each Calico rule comes from one peer).
  std::vector<std::string> ingress_evidence, egress_evidence;
};

struct CalicoRecommendation {
  std::vector<RecommendedCalicoPolicy> policies;  // in the order of Recommendation::policies
  std::string error;                              // not expressible: why (nothing is written)
};

// Where the recommended policies sit: the default tier at the order Calico gives Kubernetes
// NetworkPolicies, so that beside the user's own ordered Calico policies (deny rules among
// them) they decide exactly where their NetworkPolicy twins would.
inline constexpr double kRecommendedCalicoOrder = kCalicoKubernetesPolicyOrder;

// A Kubernetes label selector as a Calico selector expression: `k == 'v'`, `k in {'a', 'b'}`,
// `k not in {…}`, `has(k)`, `!has(k)` joined by `&&`; empty: `all()`. Values are quoted with
// single quotes (double quotes when a value holds a single quote); the text is parsed back and
// its tree compared with the requirements, so no key or value can change the expression's
// structure. nullopt with `error` set when it cannot be written (a key outside Calico's key
// characters, a value holding both quotes).
std::optional<CalicoSelector> calico_selector(const LabelSelector& s, std::string* error);

// Translates each recommended NetworkPolicy. Where Calico differs from NetworkPolicy:
// - a Calico rule has one source (ingress) or destination (egress) entity and at most one
//   protocol: a NetworkPolicy rule becomes one Calico rule per peer and protocol, with the
//   same ports (numbers, "lo:hi" ranges, names);
// - a peer in other namespaces is `namespaceSelector` (`projectcalico.org/name == 'ns'` for
//   one namespace by name, `all()` for every namespace) beside `selector`; an ipBlock is
//   `nets` with its except as `notNets` (Calico's nets match nodes and host-network pods by
//   address, as the NetworkPolicy's ipBlock did);
// - a direction isolated without rules is `types` holding it with no rules.
// - Calico's rule selectors also select NetworkSets (by their nets) with those labels: where
//   one of `network_sets` (the input's) has labels a peer's selector matches, the peer also
//   requires has(projectcalico.org/orchestrator), a label of workload endpoints only.
// A selector key Calico reserves for its own labels (projectcalico.org/*, pcns.*, pcsa.*)
// cannot be written: `error` says which.
CalicoRecommendation to_calico(const Recommendation& rec,
                               const std::vector<CalicoNetworkSet>& network_sets = {});

// The cluster with the Calico policies added (existing NetworkPolicies removed when `replace`;
// the input's own Calico policies stay, as they stay in force), and the guardrails
// (Recommendation::guardrails: ClusterNetworkPolicies / AdminNetworkPolicies, which Calico
// enforces itself in its kube-admin tier).
ClusterState with_calico_recommendation(const ClusterState& state, const CalicoRecommendation& c,
                                        bool replace,
                                        const std::vector<ClusterPolicy>& guardrails = {});

std::string render_calico_policy_yaml(const RecommendedCalicoPolicy& p);
std::string render_calico_policy_json(const RecommendedCalicoPolicy& p, int indent);
// "---" documents / one List; the guardrails after the Calico policies, in their own kind.
std::string render_calico_yaml(const CalicoRecommendation& r,
                               const std::vector<ClusterPolicy>& guardrails = {},
                               bool low_confidence = false);
std::string render_calico_json(const CalicoRecommendation& r,
                               const std::vector<ClusterPolicy>& guardrails = {},
                               bool low_confidence = false);

// What a Calico policy says, as text (selectors as parsed trees, rules and entities in order,
// every field the loader reads): two policies with the same text enforce the same traffic.
std::string canonical_calico(const CalicoPolicy& p);

}  // namespace stockade
