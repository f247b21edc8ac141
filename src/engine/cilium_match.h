// What a compiled Cilium rule matches besides its identity bits (engine internals, shared by
// engine.cc and cilium.cc).
#pragma once

#include <string>
#include <vector>

#include "core/bitset.h"
#include "engine/engine_impl.h"

namespace stockade::engine_internal {

struct CiliumMatch {
  // Entities. `host` and `remote-node` are relative to the subject's node.
  bool world4 = false, world6 = false, cluster = false, host = false, remote_node = false;
  bool apiserver = false;
  // Identities matched by everything but the relative entities (for host-network peers,
  // whose match depends on the subject's node).
  Bits fixed;
  // CIDRs (fromCIDR, fromCIDRSet, toServices' endpoints): addresses outside the cluster only,
  // as Cilium's CIDR rules never match pods or nodes.
  std::vector<IpMatcher> cidrs;
  std::vector<const LabelSelector*> nodes;  // fromNodes / toNodes
  bool l7 = false;                          // the rule's ports carry L7 rules
  std::vector<std::string> notes;           // what the rule holds that is not evaluated
};

}  // namespace stockade::engine_internal
