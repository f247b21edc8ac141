// Calico's policy kinds (projectcalico.org/v3, and the crd.projectcalico.org/v1 form that
// `kubectl get` prints without Calico's API server) as written: NetworkPolicy,
// GlobalNetworkPolicy, their Staged variants, Tier, NetworkSet and GlobalNetworkSet. What they
// mean (tiers, order, scoping of selectors, the end-of-tier deny) is the engine's
// (src/engine/calico.cc); the loader only checks their shape (src/input/decode_calico.cc).
//
// These types are also what an emitter writes from (`recommend --output calico`): every field
// keeps the user's spelling where Calico's own output would (selectors as text, ports as
// written, `order` absent when absent).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip.h"
#include "core/labels.h"

namespace stockade {

// A Calico selector expression (libcalico-go lib/selector): `all()`, `global()`, `has(k)`,
// `k == "v"`, `k != "v"`, `k in {"a", "b"}`, `k not in {…}`, `k starts with "p"`,
// `k ends with "s"`, `k contains "s"`, `!e`, `e && e`, `e || e`, `(e)`. Strings in single or
// double quotes. `k != v` and `k not in {…}` also match when the key is absent.
class CalicoSelector {
 public:
  enum class Op : uint8_t {
    All,
    Global,  // non-namespaced resources; meaningful in a namespaceSelector only
    Has,
    Eq,
    Ne,
    In,
    NotIn,
    StartsWith,
    EndsWith,
    Contains,
    Not,
    And,
    Or,
  };
  struct Node {
    Op op = Op::All;
    std::string key;
    std::vector<std::string> values;  // one for Eq/Ne/StartsWith/…; the set for In/NotIn
    std::unique_ptr<Node> a, b;       // Not: a; And/Or: a, b
  };

  // Parses `text`; on error returns nullopt and sets `error` to one line ("expected ')' at
  // column 12"). An empty or blank text is all().
  static std::optional<CalicoSelector> parse(std::string_view text, std::string* error);

  CalicoSelector() = default;  // all()
  CalicoSelector(const CalicoSelector& o) : text_(o.text_), root_(clone(o.root_.get())) {}
  CalicoSelector& operator=(const CalicoSelector& o) {
    if (this != &o) {
      text_ = o.text_;
      root_ = clone(o.root_.get());
    }
    return *this;
  }
  CalicoSelector(CalicoSelector&&) = default;
  CalicoSelector& operator=(CalicoSelector&&) = default;

  // Whether labels satisfy it. `global` says whether the labelled thing is non-namespaced
  // (global() is true only then).
  bool matches(const Labels& labels, bool global = false) const;
  // As a rule's namespaceSelector: `ns_labels` are the namespace's labels (empty for a
  // non-namespaced thing such as a GlobalNetworkSet); all() holds only for namespaced things,
  // global() only for the others.
  bool matches_namespace(const Labels& ns_labels, bool namespaced) const;
  // all() (or empty), nothing else: selects every endpoint.
  bool is_all() const { return !root_ || root_->op == Op::All; }
  // Whether the expression reads `key` anywhere.
  bool mentions(std::string_view key) const;
  // Whether the expression starts with "global()" alone (a namespaceSelector for
  // non-namespaced resources only).
  bool is_global() const { return root_ && root_->op == Op::Global; }
  const std::string& text() const { return text_; }
  const Node* root() const { return root_.get(); }

 private:
  static std::unique_ptr<Node> clone(const Node* n);
  std::string text_;
  std::unique_ptr<Node> root_;  // null: all()
};

enum class CalicoAction : uint8_t { Allow, Deny, Pass, Log };
std::string_view to_string(CalicoAction a);

// One entry of `ports` / `notPorts`: a number, a range "lo:hi", or a named port.
struct CalicoPort {
  uint16_t lo = 0, hi = 0;  // range (lo == hi for one port); unused for a name
  std::string name;         // named port: resolved on the destination endpoint
};

// `source` / `destination` of a rule (Calico's EntityRule). Absent fields match everything.
struct CalicoEntity {
  std::vector<Cidr> nets, not_nets;
  std::optional<CalicoSelector> selector, not_selector, namespace_selector;
  std::vector<CalicoPort> ports, not_ports;
  struct ServiceAccounts {
    std::vector<std::string> names;
    std::optional<CalicoSelector> selector;
  };
  std::optional<ServiceAccounts> service_accounts;
  struct ServiceRef {
    std::string name, ns;
  };
  std::optional<ServiceRef> service;  // `services`: read, not evaluated
  bool empty() const {
    return nets.empty() && not_nets.empty() && !selector && !not_selector && !namespace_selector &&
           ports.empty() && not_ports.empty() && !service_accounts && !service;
  }
};

// protocol / notProtocol: an IP protocol number (TCP 6, UDP 17, ICMP 1, ICMPv6 58, SCTP 132,
// UDPLite 136), as written by name or number.
struct CalicoProtocol {
  uint8_t number = 0;
  std::string written;
};

struct CalicoRule {
  CalicoAction action = CalicoAction::Allow;
  std::optional<CalicoProtocol> protocol, not_protocol;
  CalicoEntity source, destination;
  bool icmp = false;       // icmp / notICMP given: these select ICMP only, never TCP/UDP/SCTP
  bool http = false;       // http match (application layer): read, not evaluated
  std::string ip_version;  // "4", "6" or empty
  int line = 0;
};

enum class CalicoPolicyKind : uint8_t {
  NetworkPolicy,
  GlobalNetworkPolicy,
  StagedNetworkPolicy,
  StagedGlobalNetworkPolicy,
  StagedKubernetesNetworkPolicy,
};
std::string_view to_string(CalicoPolicyKind k);

struct CalicoPolicy {
  CalicoPolicyKind kind = CalicoPolicyKind::NetworkPolicy;
  std::string ns;  // empty for the global kinds
  std::string name;
  std::string tier;             // "default" when absent
  std::optional<double> order;  // absent: after every ordered policy of the tier
  CalicoSelector selector;      // the endpoints it applies to (all() when absent)
  std::optional<CalicoSelector> namespace_selector;        // GlobalNetworkPolicy only
  std::optional<CalicoSelector> service_account_selector;  // both kinds
  bool types_ingress = false, types_egress = false;        // `types`, defaulted
  bool types_written = false;
  std::vector<CalicoRule> ingress, egress;
  // Host-endpoint-only settings (doNotTrack, preDNAT): these policies act on host interfaces,
  // never on pods' traffic as the engine evaluates it (applyOnForward alone does not make a
  // policy host-only: Felix still applies it to workload endpoints).
  bool host_only = false;
  std::string staged_action;  // StagedNetworkPolicy stagedAction: Set (default) or Delete
  std::string file;
  int line = 0;

  bool global() const {
    return kind == CalicoPolicyKind::GlobalNetworkPolicy ||
           kind == CalicoPolicyKind::StagedGlobalNetworkPolicy;
  }
  bool staged() const {
    return kind != CalicoPolicyKind::NetworkPolicy && kind != CalicoPolicyKind::GlobalNetworkPolicy;
  }
};

struct CalicoTier {
  std::string name;
  std::optional<double> order;                       // absent: after every ordered tier
  CalicoAction default_action = CalicoAction::Deny;  // Deny or Pass
  std::string file;
  int line = 0;
};

// NetworkSet (namespaced) / GlobalNetworkSet: labelled address sets that rule selectors match.
struct CalicoNetworkSet {
  bool global = false;
  std::string ns;
  std::string name;
  Labels labels;
  std::vector<Cidr> nets;
  std::vector<std::string> allowed_egress_domains;  // read, not evaluated (no DNS names)
  std::string file;
  int line = 0;
};

// The tiers Calico creates by itself, with their fixed orders: AdminNetworkPolicies (and
// ClusterNetworkPolicies of tier Admin) live in kube-admin, BaselineAdminNetworkPolicies in
// kube-baseline, both with defaultAction Pass; every policy without a tier and every
// Kubernetes NetworkPolicy (at order 1000) lives in default.
inline constexpr double kCalicoAdminTierOrder = 1000;
inline constexpr double kCalicoDefaultTierOrder = 1000000;
inline constexpr double kCalicoBaselineTierOrder = 10000000;
inline constexpr double kCalicoKubernetesPolicyOrder = 1000;

}  // namespace stockade
