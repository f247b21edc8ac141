// What a compiled Cilium rule matches besides its identity bits (engine internals, shared by
// engine.cc and cilium.cc).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/bitset.h"
#include "engine/engine_impl.h"

namespace re2 {
class RE2;
}

namespace stockade::engine_internal {

// One rules.http entry, its expressions compiled (RE2, the syntax Envoy matches with; a full
// match, as Envoy's safe_regex does). Null: the field is absent (matches everything).
struct CiliumHttpMatch {
  std::shared_ptr<const re2::RE2> method, path, host;
  size_t header_conditions = 0;
  bool invalid = false;  // an expression that does not compile: Cilium refuses the rule
  int line = 0;
};

// One toPorts entry of an allow rule, for the L7 filter: its ports (as a rule's) and rules.
struct CiliumL7Entry {
  bool all_ports = true;
  std::vector<CompiledPort> ports;
  bool l7 = false;                    // rules of any kind: the proxy filters this port
  std::vector<CiliumHttpMatch> http;  // rules.http
};

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
  std::vector<CiliumL7Entry> l7_entries;    // when `l7`: every toPorts entry
  std::vector<std::string> fqdns;           // toFQDNs: matchName / matchPattern, lower case
  std::vector<std::string> notes;           // what the rule holds that is not evaluated
};

}  // namespace stockade::engine_internal
