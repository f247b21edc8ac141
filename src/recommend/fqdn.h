// FQDN egress for recommend's CiliumNetworkPolicies: an external address that DNS answers in
// the flows named (Hubble DNS records with their answers) is written as the name (toFQDNs
// matchName) instead of a /32, several names under one parent as Cilium's wildcard
// (matchPattern "*.parent": `*` is one label, never "*" alone nor "*.tld"), and each policy
// that names a peer so gets the rule Cilium needs to learn the names: DNS to kube-dns through
// its proxy (toPorts rules.dns matchPattern "*").
#pragma once

#include <cstddef>

#include "recommend/cilium_emit.h"
#include "recommend/l7_observed.h"

namespace stockade {

struct FqdnOptions {
  // Distinct names under one parent domain in one rule from which they become "*.parent".
  size_t wildcard_after = 3;
};

// Rewrites `c` in place; returns how many addresses became names.
size_t use_fqdns(CiliumRecommendation& c, const ObservedL7& l7, const FqdnOptions& options = {});

}  // namespace stockade
