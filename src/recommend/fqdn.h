// FQDN egress for recommend's CiliumNetworkPolicies: an external address that DNS answers in
// the flows named (Hubble DNS records with their answers) is written as the name (toFQDNs
// matchName) instead of a /32, several names under one parent as Cilium's wildcard
// (matchPattern "*.parent": `*` is one label, never "*" alone nor "*.tld"), and each policy
// that names a peer so gets the rule Cilium needs to learn the names: DNS to kube-dns through
// its proxy (toPorts rules.dns matchPattern "*").
#pragma once

#include <cstddef>
#include <string>

#include "recommend/cilium_emit.h"
#include "recommend/l7_observed.h"
#include "recommend/recommendation.h"

namespace stockade {

struct FqdnOptions {
  // Distinct names under one parent domain in one rule from which they become "*.parent".
  size_t wildcard_after = 3;
};

// Rewrites `c` in place; returns how many addresses became names.
size_t use_fqdns(CiliumRecommendation& c, const ObservedL7& l7, const FqdnOptions& options = {});

// The same names for NetworkPolicies with ClusterNetworkPolicy guardrails (recommend
// --guardrails, v1beta1 or v1alpha2): NetworkPolicy has no name peers, so the addresses leave
// the recommended NetworkPolicy (a rule left with no peer goes: an empty `to` allows every
// destination) and one ClusterNetworkPolicy per such policy, tier Admin (it decides before
// NetworkPolicies), accepts egress of its pods to `domainNames` on the rule's ports. A wildcard
// "*.parent" matches one or more labels there (wider than Cilium's one label). Rules with
// named ports keep their addresses (the CRD refuses named ports beside domainNames). Returns
// how many addresses became names.
// `api`: the guardrails' apiVersion (kCnpV1beta1 or kCnpV1alpha2; each validates names by its
// own CRD's pattern).
size_t use_domain_names(Recommendation& rec, const ObservedL7& l7, const std::string& api,
                        const FqdnOptions& options = {});

}  // namespace stockade
