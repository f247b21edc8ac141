// Internals of the policy engine, shared by engine.cc (compile, verdicts) and reach.cc
// (whole-cluster matrices). Not part of the module's interface.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/bitset.h"
#include "engine/engine.h"

namespace stockade::engine_internal {

// A set of bits stored as its nonzero words, or as the nonzero words of its complement when
// that is smaller.
class SparseBits {
 public:
  SparseBits() = default;
  explicit SparseBits(const Bits& b) : size_(b.size()) {
    const size_t n = b.word_count();
    const uint64_t* w = b.data();
    // Counted without valid(i) in the loop: the whole words first (a loop that vectorises).
    size_t nonzero = 0, not_full = 0;
    const size_t whole = n > 0 && size_ % 64 != 0 ? n - 1 : n;
    for (size_t i = 0; i < whole; ++i) {
      nonzero += w[i] != 0;
      not_full += w[i] != ~uint64_t{0};
    }
    for (size_t i = whole; i < n; ++i) {
      nonzero += w[i] != 0;
      not_full += w[i] != valid(i);
    }
    inverted_ = not_full < nonzero;
    const size_t keep = inverted_ ? not_full : nonzero;
    idx_.reserve(keep);
    words_.reserve(keep);
    for (size_t i = 0; i < n; ++i) {
      uint64_t v = inverted_ ? ~w[i] & valid(i) : w[i];
      if (v) {
        idx_.push_back(static_cast<uint32_t>(i));
        words_.push_back(v);
      }
    }
  }

  // The set whose words [first_word, first_word + count) are `w` and whose other words are
  // zero: a set known to lie in one namespace's span of identities is built without a dense
  // bitset over all of them. Stores what SparseBits(Bits) of the same set would.
  SparseBits(size_t size, size_t first_word, const uint64_t* w, size_t count) : size_(size) {
    const size_t n = (size_ + 63) / 64;
    size_t nonzero = 0, not_full = n - count;  // a zero word outside is never full
    for (size_t i = 0; i < count; ++i) {
      nonzero += w[i] != 0;
      not_full += w[i] != valid(first_word + i);
    }
    inverted_ = not_full < nonzero;
    if (!inverted_) {
      idx_.reserve(nonzero);
      words_.reserve(nonzero);
      for (size_t i = 0; i < count; ++i)
        if (w[i]) {
          idx_.push_back(static_cast<uint32_t>(first_word + i));
          words_.push_back(w[i]);
        }
      return;
    }
    for (size_t i = 0; i < n; ++i) {
      const uint64_t in = i >= first_word && i - first_word < count ? w[i - first_word] : 0;
      if (uint64_t v = ~in & valid(i)) {
        idx_.push_back(static_cast<uint32_t>(i));
        words_.push_back(v);
      }
    }
  }

  size_t size() const { return size_; }
  bool inverted() const { return inverted_; }
  // The stored words: of the set, or of its complement when inverted().
  size_t stored() const { return idx_.size(); }
  uint32_t stored_index(size_t i) const { return idx_[i]; }
  uint64_t stored_word(size_t i) const { return words_[i]; }

  uint64_t word(size_t wi) const {
    auto it = std::lower_bound(idx_.begin(), idx_.end(), static_cast<uint32_t>(wi));
    uint64_t v = it != idx_.end() && *it == wi ? words_[it - idx_.begin()] : 0;
    return inverted_ ? ~v & valid(wi) : v;
  }
  bool test(size_t i) const { return (word(i >> 6) >> (i & 63)) & 1; }

  // Calls f(word_index, word) for every nonzero word of the set.
  template <class F>
  void for_each_word(F&& f) const {
    if (!inverted_) {
      for (size_t i = 0; i < idx_.size(); ++i) f(size_t{idx_[i]}, words_[i]);
      return;
    }
    const size_t n = (size_ + 63) / 64;
    size_t j = 0;
    for (size_t i = 0; i < n; ++i) {
      uint64_t v = valid(i);
      if (j < idx_.size() && idx_[j] == i) v &= ~words_[j++];
      if (v) f(i, v);
    }
  }
  // Calls f(word_index, word) for every word index in [lo, hi], zero words included: one
  // search for `lo`, then a walk (word() searches for each index).
  template <class F>
  void for_each_word_in(size_t lo, size_t hi, F&& f) const {
    size_t j = static_cast<size_t>(
        std::lower_bound(idx_.begin(), idx_.end(), static_cast<uint32_t>(lo)) - idx_.begin());
    for (size_t wi = lo; wi <= hi; ++wi) {
      uint64_t v = 0;
      if (j < idx_.size() && idx_[j] == wi) v = words_[j++];
      f(wi, inverted_ ? ~v & valid(wi) : v);
    }
  }
  // Tests bits in ascending order: each search starts where the last one ended.
  class Cursor {
   public:
    explicit Cursor(const SparseBits& s) : s_(s) {}
    bool test(size_t i) {
      const size_t wi = i >> 6;
      const auto& idx = s_.idx_;
      if (j_ < idx.size() && idx[j_] < wi)
        j_ = static_cast<size_t>(std::lower_bound(idx.begin() + static_cast<std::ptrdiff_t>(j_),
                                                  idx.end(), static_cast<uint32_t>(wi)) -
                                 idx.begin());
      const uint64_t v = j_ < idx.size() && idx[j_] == wi ? s_.words_[j_] : 0;
      return (((s_.inverted_ ? ~v : v) >> (i & 63)) & 1) != 0;
    }

   private:
    const SparseBits& s_;
    size_t j_ = 0;
  };
  template <class F>
  void for_each(F&& f) const {
    for_each_word([&](size_t wi, uint64_t w) {
      for (; w; w &= w - 1) f(wi * 64 + static_cast<size_t>(std::countr_zero(w)));
    });
  }

  size_t bytes() const { return idx_.capacity() * 4 + words_.capacity() * 8; }

  friend bool operator==(const SparseBits&, const SparseBits&) = default;
  struct Hash {
    size_t operator()(const SparseBits& s) const {
      uint64_t h = s.size_ * 0x9e3779b97f4a7c15ULL + s.inverted_;
      for (size_t i = 0; i < s.idx_.size(); ++i)
        h = (h ^ s.idx_[i] ^ (s.words_[i] * 0xff51afd7ed558ccdULL)) * 0xc4ceb9fe1a85ec53ULL;
      return static_cast<size_t>(h);
    }
  };

 private:
  uint64_t valid(size_t wi) const {
    const size_t rest = size_ - wi * 64;
    return rest >= 64 ? ~uint64_t{0} : (uint64_t{1} << rest) - 1;
  }
  std::vector<uint32_t> idx_;
  std::vector<uint64_t> words_;
  size_t size_ = 0;
  bool inverted_ = false;
};

// The IP side of peers: an NP ipBlock (cidr minus except) or an ANP/CNP networks list.
// Below this many endpoints the compile's and the reach matrix's phases run on one thread: a
// second one would cost more than it saves.
inline constexpr size_t kTwoThreadsFrom = 2048;

struct IpMatcher {
  std::vector<Cidr> include;
  std::vector<Cidr> except;
  bool contains(const IpAddr& ip) const {
    bool in = false;
    for (const Cidr& c : include)
      if (c.contains(ip)) {
        in = true;
        break;
      }
    if (!in) return false;
    for (const Cidr& c : except)
      if (c.contains(ip)) return false;
    return true;
  }
};

// A group of endpoints that no policy can tell apart.
struct Identity {
  uint32_t ns = 0;              // index into namespaces_
  uint32_t representative = 0;  // an endpoint of this identity
  uint32_t size = 0;            // endpoints in it
  bool host_network = false;
};

struct CompiledPort {
  enum class Kind : uint8_t { Any, Range, Named } kind = Kind::Any;
  Protocol protocol = Protocol::TCP;
  // Named ports of ANP/CNP carry no protocol: the destination's declared port decides.
  bool named_any_protocol = false;
  uint16_t lo = 0, hi = 0;
  std::string name;
};

struct CiliumMatch;  // cilium.cc: what a Cilium rule matches besides identity bits
struct CalicoMatch;  // calico.cc: what a Calico rule matches (both ends, protocol, ports)

struct CompiledRule {
  RuleAction action = RuleAction::Allow;
  bool all_peers = false;  // NetworkPolicy rule with no from/to: every peer, also outside
  Bits peers;              // identities matched, while the policy is compiled; then empty
  // `peers` once its policy is compiled (EngineImpl::compact): a rule's peers are mostly a
  // namespace or nearly everyone, and one dense bitset per rule grew with rules × identities.
  SparseBits peer_set;
  std::vector<uint32_t> ip_matchers;                 // for addresses outside the pods
  std::vector<const LabelSelector*> node_selectors;  // nodes peers, for node addresses
  bool all_ports = true;
  std::vector<CompiledPort> ports;
  int index = 0;
  int line = 0;
  std::string name;
  // Cilium rules: entities relative to the subject's node, CIDRs that match only addresses
  // outside the cluster, services, FQDNs. Null for every other kind (the common path).
  const CiliumMatch* cilium = nullptr;
  bool cilium_relative = false;  // host xor remote-node: a host-network peer needs the subject
  // Calico rules: matched by calico_rule_matches, never by peer_set. Null for other kinds.
  const CalicoMatch* calico = nullptr;
  // ClusterNetworkPolicy domainNames peers: index into EngineImpl::domain_names_, -1 if none.
  int32_t domain_names = -1;
};

struct CompiledPolicy {
  PolicyRef ref;
  DecisionTier tier = DecisionTier::NetworkPolicy;
  int32_t priority = 0;
  bool cnp = false;  // ClusterNetworkPolicy (action spelled Accept)
  // Whether it puts its subjects in default deny, per Direction. A NetworkPolicy does in the
  // directions of its policyTypes; a Cilium policy per enableDefaultDeny (or its defaults).
  bool isolates[2] = {true, true};
  std::vector<CompiledRule> ingress;
  std::vector<CompiledRule> egress;
  // With Calico policies in the input, every policy lives in a Calico tier (index into
  // EngineImpl::calico_tiers_; -1 for Cilium's) and is ordered by this key within it.
  int calico_tier = -1;
  double calico_order = 0;
  std::string calico_name;
};

// A Calico tier: the ones written (Tier objects), default, kube-admin and kube-baseline.
struct CalicoTierInfo {
  std::string name;
  double order = 0;
  bool pass_by_default = false;  // defaultAction Pass: no end-of-tier deny
};

enum Direction : int { kIngress = 0, kEgress = 1 };

struct SideLists {
  std::vector<uint32_t> admin, np, baseline;  // policy indices, in evaluation order
  // Cilium deny rules' policies: after the admin tier, before any allow of the NetworkPolicy
  // tier ("deny policies take precedence over allow policies").
  std::vector<uint32_t> deny;
  // With Calico policies in the input: every policy that applies to this side (ANPs in
  // kube-admin, NetworkPolicies and Calico's in their tiers, BANPs in kube-baseline), in
  // evaluation order (tier order, then order within the tier); admin/baseline are then empty
  // and `np` holds Cilium's only.
  std::vector<uint32_t> calico;
  bool calico_isolated = false;  // a policy of a tier with an end-of-tier deny applies
  bool isolated = false;         // some policy of `np` isolates this side
  bool cilium_isolated = false;  // ... and one of them is a Cilium policy
};

// A policy's ports into a rule (rule_ports.cc).
void compile_ports(const std::vector<NetworkPolicyPort>& ports, CompiledRule& r);
void compile_ports(const std::optional<std::vector<ClusterPolicyPort>>& ports, CompiledRule& r);

class EngineImpl final : public PolicyEngine {
 public:
  EngineImpl(const ClusterState& state, std::vector<Endpoint> endpoints);

  const std::vector<Endpoint>& endpoints() const override { return endpoints_; }
  std::optional<uint32_t> find_endpoint(std::string_view ns, std::string_view name) const override;
  std::optional<uint32_t> find_endpoint_by_ip(const IpAddr& ip) const override;
  Verdict evaluate(const Peer& src, const Peer& dst, Protocol protocol,
                   uint16_t port) const override;
  bool allowed(uint32_t src, uint32_t dst, Protocol protocol, uint16_t port) const override;
  Verdict evaluate_http(const Peer& src, const Peer& dst, uint16_t port,
                        const HttpRequest& req) const override;
  void learn_dns(std::vector<DnsName> names) const override;
  Isolation isolation(uint32_t endpoint) const override;
  Isolation np_isolation(uint32_t endpoint) const override;
  std::optional<uint16_t> resolve_port(uint32_t dst, const PortQuery& q) const override;
  std::unique_ptr<ReachMatrix> reach(const std::vector<PortQuery>& ports) const override;
  Selection select(const SelectorQuery& q) const override;
  std::vector<uint8_t> selected_endpoints(const SelectorQuery& q) const override;
  UnusedRules unused_rules(const std::vector<IpAddr>& outside,
                           const UnusedRuleLimits& limits) const override;

  // One side's verdict between two identities (their representatives), for reach.cc's rows
  // of sides that Calico's tiers decide.
  bool side_allowed(uint32_t subject, Direction d, uint32_t other, Protocol proto,
                    uint16_t port) const;
  // Appends to `key` what of a Calico-decided side depends on the subject: for each rule of
  // its policies (in list order), whether the rule's own end matches it, as bits. Two subjects
  // with the same lists and keys decide alike for every peer and port (save named ports).
  void calico_subject_key(uint32_t subject, Direction d, std::vector<uint64_t>& key) const;

  // ---- used by reach.cc ----
  size_t identity_count() const override { return identities_.size(); }
  const Identity& identity(uint32_t i) const { return identities_[i]; }
  uint32_t identity_of(uint32_t endpoint) const { return endpoint_identity_[endpoint]; }
  const std::vector<ContainerPort>& identity_ports(uint32_t i) const {
    return endpoints_[identities_[i].representative].pod.ports;
  }
  const SideLists& side(uint32_t identity, Direction d) const { return sides_[d][identity]; }
  const CompiledPolicy& policy(uint32_t i) const { return policies_[i]; }
  static bool port_matches(const CompiledRule& r, Protocol proto, uint16_t port,
                           const std::vector<ContainerPort>* dst_ports);

 private:
  // The compilers of Cilium's and Calico's policies and the unused-rule search (cilium.cc,
  // calico.cc, unused_rules.cc): steps over the engine's tables, split out of one function.
  friend class CiliumCompiler;
  friend class CalicoCompiler;
  friend class UnusedRuleSearch;
  struct Other {
    int64_t identity = -1;  // -1: outside address
    IpAddr ip;
    const std::vector<ContainerPort>* dst_ports = nullptr;  // for named ports
    const Endpoint* endpoint = nullptr;
  };
  Decision decide(uint32_t subject, const Endpoint* subject_endpoint, Direction d,
                  const Other& other, Protocol proto, uint16_t port, bool explain) const;
  struct Match {
    uint32_t policy = 0;
    const CompiledRule* rule = nullptr;
  };
  // The first rule, in `list`'s order of policies and each policy's order of rules, that
  // matches the connection and that `skip` does not rule out. Each tier of `decide` is one such
  // search (the admin and baseline tiers' Pass is a match like any other: it ends the tier);
  // unused_rules asks the same question.
  template <class Skip>
  Match first_match(const std::vector<uint32_t>& list, Direction d, const Other& other,
                    Protocol proto, uint16_t port, const std::vector<ContainerPort>* dst_ports,
                    const Endpoint* subject_endpoint, Skip&& skip) const {
    for (uint32_t pi : list) {
      const CompiledPolicy& p = policies_[pi];
      for (const CompiledRule& r : d == kIngress ? p.ingress : p.egress)
        if (port_matches(r, proto, port, dst_ports) && peer_matches(r, other, subject_endpoint) &&
            !skip(pi, r))
          return Match{pi, &r};
    }
    return Match{};
  }
  bool is_own_node(const Endpoint& subject, const Other& other) const;
  bool peer_matches(const CompiledRule& r, const Other& o, const Endpoint* subject) const;
  bool cilium_peer_matches(const CompiledRule& r, const Other& o, const Endpoint* subject) const;
  // domain_names.cc: the name a DNS answer gave `ip` that one of the rule's domainNames
  // matches, or null.
  const std::string* domain_name_match(const CompiledRule& r, const IpAddr& ip) const;
  void add_domain_names(CompiledRule& r, const std::vector<std::string>& names);
  // Explains a decision by a rule with domainNames: the name that matched, and that upstream
  // supports domainNames in Accept rules only.
  void domain_name_notes(const CompiledRule& r, const IpAddr& ip, Decision& out) const;
  // cilium.cc / istio.cc: one side's L7 filter of an HTTP request (the side's L3/L4 verdict
  // allowed it); false, with `out` saying why, when the request is refused.
  bool cilium_http_allowed(uint32_t subject, const Endpoint* subject_endpoint, Direction d,
                           const Other& other, uint16_t port, const HttpRequest& req,
                           Decision& out) const;
  bool istio_http_allowed(const Peer& src, uint32_t dst, uint16_t port, const HttpRequest& req,
                          Decision& out) const;
  void compile_istio(const ClusterState& state);
  // calico.cc: Calico's tiers for one side. True when a tier decided (`out` is set); false
  // when every tier that applies passed it on (the profile, or Cilium's rules, decide).
  bool decide_calico(uint32_t subject, const Endpoint* subject_endpoint, Direction d,
                     const Other& other, Protocol proto, uint16_t port, bool explain,
                     Decision& out) const;
  bool calico_rule_matches(const CompiledRule& r, uint32_t subject, Direction d, const Other& o,
                           Protocol proto, uint16_t port,
                           const std::vector<ContainerPort>* dst_ports) const;
  void calico_staged_notes(uint32_t subject, Direction d, const Other& o, Protocol proto,
                           uint16_t port, const std::vector<ContainerPort>* dst_ports,
                           Decision& out) const;

  void build_identities(const ClusterState& state);
  struct AddressIndex;  // engine.cc: endpoint addresses, sorted
  std::vector<uint32_t> address_classes(const AddressIndex& addresses) const;
  void assign_identities(const std::map<std::string, uint32_t>& ns_index,
                         const std::vector<uint32_t>& ip_class);
  // The identities of endpoints [begin, end), numbered from 0, and each endpoint's.
  struct IdentityPart {
    std::vector<Identity> identities;
    std::vector<uint32_t> of;
  };
  IdentityPart identity_part(const std::vector<uint32_t>& ns_of,
                             const std::vector<uint32_t>& ip_class, size_t begin, size_t end) const;
  void index_identities(const AddressIndex& addresses);
  void index_labels();
  void index_ip_matchers(const AddressIndex& addresses);
  void index_endpoints();
  static constexpr size_t kPoliciesOnTwoThreadsFrom = 512;
  const Bits& pod_selector_bits(const LabelSelector& sel);
  const Bits& namespace_selector_bits(const LabelSelector& sel);
  Bits label_bits(const LabelSelector& sel, bool namespaces) const;
  Bits namespace_identities(const LabelSelector& sel) const;
  // What a SelectorQuery selects (select, selected_endpoints).
  Bits selected_identities(const SelectorQuery& q) const;
  // The one definition of the pods a pod/namespace selector pair names: the namespaces
  // `ns_sel` matches (null: only the identities in `own_ns`), the pods `pod_sel` matches
  // (null: every pod), never host-network pods. `ns_bits`/`pod_bits` map a selector to
  // identities (cached while compiling, uncached for queries).
  template <class NsBits, class PodBits>
  Bits pod_set(const LabelSelector* ns_sel, const Bits* own_ns, const LabelSelector* pod_sel,
               NsBits&& ns_bits, PodBits&& pod_bits) const {
    Bits b = ns_sel ? Bits(ns_bits(*ns_sel)) : *own_ns;
    if (pod_sel) b &= pod_bits(*pod_sel);
    b.and_not(host_network_);
    return b;
  }
  // ns_window.cc: the identities of namespace `ns` that `pod_sel` matches (null: all), never
  // host-network ones, as bits over the namespace's span of words (namespace_words_): the
  // same set as pod_set(nullptr, &identities_in_namespace_[ns], pod_sel, ...), without a
  // dense bitset over every identity.
  Bits local_pod_set(const LabelSelector* pod_sel, uint32_t ns) const;
  uint32_t ip_matcher(IpMatcher m);
  void compile_policies(const ClusterState& state);
  Bits cluster_pod_set(const ClusterPodSet& s);
  void compile_cluster_policy(const ClusterPolicy& p);
  // One compiling thread's share of the NetworkPolicies: the policies, the identities each
  // selects (subjects[subjects_begin[j], subjects_begin[j + 1]) for its j-th) and its own
  // selector caches.
  struct NetworkPolicyPart {
    std::vector<CompiledPolicy> policies;
    std::vector<uint32_t> subjects, subjects_begin{0};
    std::unordered_map<std::string, Bits> pod_cache, ns_cache;
  };
  void compile_network_policies(const std::vector<NetworkPolicy>& policies,
                                const std::map<std::string, uint32_t>& ns_of);
  CompiledPolicy compile_network_policy(const NetworkPolicy& p, uint32_t ns,
                                        NetworkPolicyPart& part) const;
  static void compact(CompiledPolicy& p);
  // cilium.cc: the identity key's share of Cilium labels (service accounts, when a Cilium
  // selector names them), and the Cilium policies into the NetworkPolicy tier.
  std::vector<std::string> cilium_identity_keys(const ClusterState& state) const;
  void compile_cilium(const ClusterState& state);
  // calico.cc: address matchers of Calico's nets and network sets (before identities are
  // built, so that they split identities), then the Calico tiers over every policy.
  void calico_ip_matchers(const ClusterState& state);
  void compile_calico(const ClusterState& state);
  bool calico_needs_service_accounts(const ClusterState& state) const;

  std::vector<Endpoint> endpoints_;
  std::vector<uint32_t> endpoint_identity_;
  std::vector<Identity> identities_;
  std::vector<std::string> namespaces_;
  std::vector<Labels> namespace_labels_;
  std::vector<Bits> identities_in_namespace_;
  std::vector<std::vector<uint32_t>> namespace_identities_;  // the same, as lists
  // Per namespace: the first word and the number of words of identities_in_namespace_ that
  // hold its identities (endpoints come sorted by namespace, so the span is its own).
  std::vector<std::pair<uint32_t, uint32_t>> namespace_words_;
  Bits host_network_;                       // identities of host-network endpoints
  std::vector<const Node*> identity_node_;  // host-network identities: their node, if known
  std::vector<Node> nodes_;
  // Node name -> its addresses (Node objects and host-network pods on it).
  std::unordered_map<std::string, std::vector<IpAddr>> node_addresses_;

  std::vector<IpMatcher> ip_matchers_;
  std::unordered_map<std::string, uint32_t> ip_matcher_index_;
  std::vector<Bits> ip_matcher_identities_;

  // Inverted label indexes over identities (pods) and namespaces: the ascending indices that
  // carry each key and each key=value (lists, not bitsets: most values, such as a
  // pod-template-hash, name a handful of identities among 10^5).
  struct LabelIndex {
    std::unordered_map<std::string, std::vector<uint32_t>> key;
    std::unordered_map<std::string, std::unordered_map<std::string, std::vector<uint32_t>>> value;
  };
  LabelIndex pod_index_, ns_index_;
  std::unordered_map<std::string, Bits> pod_selector_cache_, ns_selector_cache_;

  std::vector<CompiledPolicy> policies_;
  std::vector<std::unique_ptr<CiliumMatch>> cilium_matches_;
  std::vector<std::string> cilium_keys_;  // per endpoint, from cilium_identity_keys
  // Node addresses, sorted, with the node's name: Cilium's entities tell nodes from the world.
  std::vector<std::pair<IpAddr, std::string>> node_by_ip_;
  // toFQDNs and domainNames: the names DNS answers gave addresses (learn_dns), sorted by
  // address.
  mutable std::vector<DnsName> dns_names_;
  // ClusterNetworkPolicy domainNames, per rule that has them (CompiledRule::domain_names):
  // lower case, without the trailing dot.
  std::vector<std::vector<std::string>> domain_names_;
  // istio.cc: the AuthorizationPolicies, and each endpoint's mesh identity (principal).
  std::vector<IstioAuthorizationPolicy> istio_policies_;
  std::vector<std::string> istio_principals_;
  std::vector<IpAddr> apiserver_ips_;  // kube-apiserver entity: the kubernetes Service's endpoints
  bool calico_mode_ = false;  // the input holds Calico policies: every policy in Calico's tiers
  std::vector<CalicoTierInfo> calico_tiers_;
  std::vector<std::unique_ptr<CalicoMatch>> calico_matches_;
  // Staged policies: compiled, never enforced; explain says what each would do.
  struct Staged {
    uint32_t policy;
    Bits subjects[2];
  };
  std::vector<Staged> calico_staged_;
  std::vector<SideLists> sides_[2];
  std::unordered_map<std::string, uint32_t> endpoint_by_name_;
  std::vector<std::pair<IpAddr, uint32_t>> endpoint_by_ip_;  // sorted
};

}  // namespace stockade::engine_internal
