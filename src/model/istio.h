// Istio's AuthorizationPolicy (security.istio.io/v1 and v1beta1) as written, for the HTTP
// request verdicts of the engine (src/engine/istio.cc). Connections (L4 verdicts) do not read
// them: the loader still counts them as a kind the verdicts of connections ignore.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/labels.h"

namespace stockade {

struct IstioSource {
  std::vector<std::string> principals, not_principals, namespaces, not_namespaces;
  std::vector<std::string> ip_blocks, not_ip_blocks;
  // Fields whose value a flow record cannot give (requestPrincipals, remoteIpBlocks,
  // serviceAccounts, ...): a source naming them is not judged as matching.
  std::vector<std::string> unevaluated;
};

struct IstioOperation {
  std::vector<std::string> hosts, not_hosts, ports, not_ports, methods, not_methods, paths,
      not_paths;
};

struct IstioRule {
  std::vector<IstioSource> from;   // empty: every source
  std::vector<IstioOperation> to;  // empty: every operation
  size_t when = 0;                 // conditions (request attributes the records do not carry)
  int line = 0;
};

struct IstioAuthorizationPolicy {
  enum class Action : uint8_t { Allow, Deny, Audit, Custom } action = Action::Allow;
  std::string ns, name;
  std::optional<Labels> selector;  // matchLabels; absent: every workload of the namespace
  bool target_refs = false;        // targetRef(s): a waypoint or gateway, not a workload
  std::optional<std::vector<IstioRule>> rules;  // absent: ALLOW matches nothing
  std::string file;
  int line = 0;
};

}  // namespace stockade
