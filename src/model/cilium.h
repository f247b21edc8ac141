// CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy (cilium.io/v2) as written: selectors
// keep their keys as the user spelled them ("k8s:app", "io.kubernetes.pod.namespace"); what
// they mean (namespace scoping, label sources, entities) is the engine's (src/engine/cilium.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/ip.h"
#include "core/labels.h"
#include "core/ports.h"

namespace stockade {

// fromCIDR / fromCIDRSet entries (cidrGroupRef / cidrGroupSelector are read, not resolved).
struct CiliumCidr {
  Cidr cidr;
  std::vector<Cidr> except;
};

// One entry of toPorts[].ports. `protocol` empty is ANY (TCP, UDP and SCTP).
struct CiliumPort {
  // All: port "0" or absent; NotL4: an ICMP/VRRP/IGMP protocol, no TCP/UDP/SCTP port.
  enum class Kind : uint8_t { All, Range, Named, NotL4 } kind = Kind::All;
  std::optional<Protocol> protocol;
  uint16_t port = 0;
  uint16_t end_port = 0;  // Range: last port (== port for a single one)
  std::string name;       // Named
};

// Layer-7 rules of a toPorts entry, kept for L7-aware checks: the L3/L4 verdict only knows the
// port is open to the proxy, which then filters requests.
// One entry of rules.http (PortRuleHTTP): each field an extended regular expression that the
// proxy matches against the whole value (Envoy's safe_regex: a full match); empty matches all.
struct CiliumHttpRule {
  std::string method, path, host;
  // headers / headerMatches: conditions on request headers, which flow records do not carry.
  size_t header_conditions = 0;
  int line = 0;
};

struct CiliumL7 {
  std::string kind;                  // http, kafka, dns, l7proto
  size_t rules = 0;                  // entries under rules.<kind>
  std::vector<CiliumHttpRule> http;  // kind http: the rules
  std::vector<std::string> dns;      // kind dns: matchName / matchPattern as written
};

struct CiliumPortRule {
  std::vector<CiliumPort> ports;  // empty: every port
  std::vector<CiliumL7> l7;
  std::vector<std::string> server_names;
};

// A peer list of one rule. Each optional is absent when the field is absent; present and
// empty selects nothing (Cilium: "an empty non-nil slice selects no identity").
struct CiliumRule {
  std::optional<std::vector<LabelSelector>> endpoints;  // fromEndpoints / toEndpoints
  std::optional<std::vector<LabelSelector>> nodes;      // fromNodes / toNodes
  std::optional<std::vector<std::string>> entities;     // fromEntities / toEntities
  std::optional<std::vector<CiliumCidr>> cidrs;         // fromCIDR + fromCIDRSet (and to…)
  // toServices: k8sService (namespace, name) and k8sServiceSelector (namespace, selector).
  struct ServiceRef {
    std::string ns;  // empty: the policy's namespace
    std::string name;
    std::optional<LabelSelector> selector;  // k8sServiceSelector
  };
  std::optional<std::vector<ServiceRef>> services;
  std::vector<std::string> fqdns;  // toFQDNs matchName / matchPattern as written
  // Fields read but not evaluated (fromRequires, fromGroups, cidrGroupRef, …): named in
  // explanations so that a verdict never silently ignores them.
  std::vector<std::string> unevaluated;
  std::optional<std::vector<CiliumPortRule>> to_ports;  // absent: every port
  bool icmp_only = false;  // only `icmps` given: matches no TCP/UDP/SCTP traffic
  int line = 0;
};

// One rule of `spec` or of `specs[]`.
struct CiliumSpec {
  std::optional<LabelSelector> endpoint_selector;
  std::optional<LabelSelector> node_selector;  // host policy (clusterwide only)
  std::optional<std::vector<CiliumRule>> ingress, ingress_deny, egress, egress_deny;
  std::optional<bool> default_deny_ingress, default_deny_egress;  // enableDefaultDeny
  std::string description;
  int line = 0;
};

struct CiliumPolicy {
  bool clusterwide = false;  // CiliumClusterwideNetworkPolicy
  std::string ns;            // empty when clusterwide
  std::string name;
  std::vector<CiliumSpec> specs;  // `spec` first, then `specs[]`
  std::string file;
  int line = 0;
};

}  // namespace stockade
