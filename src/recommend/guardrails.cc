// Cluster-scoped guardrails suggested from observed traffic (recommend --guardrails):
//
//  * allow-dns: DNS to the DNS pods actually observed, on UDP and TCP at their port, always
//    allowed (egress of every pod, ingress of the DNS pods), above everything else we suggest;
//  * deny-cloud-metadata: egress to 169.254.169.254 denied, except from the namespaces where
//    it was observed;
//  * per namespace with observed traffic, cross-namespace ingress denied except from the
//    namespaces observed calling it (and itself).
//
// v1alpha1: AdminNetworkPolicies (the BaselineAdminNetworkPolicy is a singleton with one subject
// and cannot say "from these namespaces" per destination namespace, so the cross-namespace
// guardrail is an AdminNetworkPolicy whose allowed namespaces are passed on to the
// NetworkPolicies). v1beta1 (the default) and v1alpha2: ClusterNetworkPolicies, DNS and metadata
// in tier Admin, the cross-namespace default in tier Baseline.
#include <map>
#include <set>

#include "recommend/recommend.h"

namespace stockade {

namespace {

constexpr const char* kMetadataName = "kubernetes.io/metadata.name";
constexpr int32_t kPriorityDns = 900, kPriorityMetadata = 910, kPriorityCrossNamespace = 950;

LabelSelector names_in(const std::set<std::string>& names, SelectorOp op = SelectorOp::In) {
  LabelSelector s;
  s.requirements.push_back({kMetadataName, op, {names.begin(), names.end()}});
  return s;
}

ClusterPeer namespaces_peer(LabelSelector s) {
  ClusterPeer p;
  p.kind = ClusterPeer::Kind::Namespaces;
  p.pods.namespace_selector = std::move(s);
  return p;
}

// The selector of the DNS pods: their workload's, else their stable labels.
LabelSelector dns_selector(const ClusterState& state, const Endpoint& ep) {
  for (const Workload& w : state.workloads)
    if (w.ns == ep.ns && w.name == ep.workload_name && to_string(w.kind) == ep.workload_kind &&
        w.selector && !w.selector->empty()) {
      bool stable = true;
      for (const auto& r : w.selector->requirements) stable = stable && !is_per_pod_label(r.key);
      if (stable) return *w.selector;
    }
  LabelSelector s;
  for (const auto& [k, v] : ep.pod.labels)
    if (!is_per_pod_label(k)) s.requirements.push_back({k, SelectorOp::In, {v}});
  return s;
}

}  // namespace

std::vector<ClusterPolicy> suggest_guardrails(
    const ClusterState& state, const std::vector<Endpoint>& eps, const Observed& observed,
    const std::vector<size_t>& must_allow, const std::string& api_version,
    const std::vector<DeclaredIngress>& declared, bool include_system) {
  // ClusterNetworkPolicy (v1beta1 or v1alpha2: one shape) or AdminNetworkPolicy (v1alpha1).
  const bool cnp = api_version != kAnpV1alpha1;
  const ClusterPolicyKind kind =
      cnp ? ClusterPolicyKind::ClusterNetworkPolicy : ClusterPolicyKind::AdminNetworkPolicy;
  auto make = [&](std::string name, int32_t priority, PolicyTier tier) {
    ClusterPolicy p;
    p.kind = kind;
    p.api_version = api_version;
    p.name = std::move(name);
    p.priority = priority;
    p.tier = tier;
    p.source.file = "<recommended>";
    return p;
  };
  const auto ip_metadata = *IpAddr::parse("169.254.169.254");
  std::map<std::string, std::set<std::string>> callers;  // destination ns -> source namespaces
  std::set<std::string> metadata_callers;
  // DNS pods: (namespace, selector text) -> selector and ports.
  std::map<std::pair<std::string, std::string>, std::pair<LabelSelector, std::set<uint16_t>>> dns;
  for (size_t i : must_allow) {
    const ObservedEdge& e = observed.edges[i];
    const bool src_pod =
        e.src.kind == ObservedPeer::Kind::Endpoint && !eps[e.src.endpoint].pod.host_network;
    const bool dst_pod =
        e.dst.kind == ObservedPeer::Kind::Endpoint && !eps[e.dst.endpoint].pod.host_network;
    if (dst_pod) callers[eps[e.dst.endpoint].ns];
    if (src_pod && dst_pod) callers[eps[e.dst.endpoint].ns].insert(eps[e.src.endpoint].ns);
    if (src_pod && e.dst.kind == ObservedPeer::Kind::External &&
        e.dst.addresses.front() == ip_metadata)
      metadata_callers.insert(eps[e.src.endpoint].ns);
    if (dst_pod && is_dns_port(eps[e.dst.endpoint], e.protocol, e.port)) {
      LabelSelector sel = dns_selector(state, eps[e.dst.endpoint]);
      auto& d = dns[{eps[e.dst.endpoint].ns, sel.canonical()}];
      d.first = sel;
      d.second.insert(e.port);
    }
  }

  std::vector<ClusterPolicy> out;
  if (!dns.empty()) {
    ClusterPolicy p = make("stockade-allow-dns", kPriorityDns, PolicyTier::Admin);
    p.subject.namespace_selector = LabelSelector{};  // every namespace
    int k = 0;
    for (const auto& [key, d] : dns) {
      std::vector<ClusterPolicyPort> ports;
      for (uint16_t port : d.second)
        for (Protocol proto : {Protocol::TCP, Protocol::UDP})
          ports.push_back({ClusterPolicyPort::Kind::Number, proto, port, port, {}});
      ClusterPeer to;
      to.kind = ClusterPeer::Kind::Pods;
      to.pods.namespace_selector = names_in({key.first});
      to.pods.pod_selector = d.first;
      ClusterPolicyRule eg{"dns-" + std::to_string(k), RuleAction::Allow, {to}, ports, 0};
      p.egress.push_back(eg);
      ++k;
    }
    out.push_back(std::move(p));
    // The DNS pods accept DNS from every namespace.
    for (const auto& [key, d] : dns) {
      ClusterPolicy q = make("stockade-dns-ingress-" + key.first, kPriorityDns, PolicyTier::Admin);
      q.subject.namespace_selector = names_in({key.first});
      q.subject.pod_selector = d.first;
      std::vector<ClusterPolicyPort> ports;
      for (uint16_t port : d.second)
        for (Protocol proto : {Protocol::TCP, Protocol::UDP})
          ports.push_back({ClusterPolicyPort::Kind::Number, proto, port, port, {}});
      q.ingress.push_back(
          {"dns-from-everywhere", RuleAction::Allow, {namespaces_peer(LabelSelector{})}, ports, 0});
      out.push_back(std::move(q));
    }
  }
  {
    ClusterPolicy p = make("stockade-deny-cloud-metadata", kPriorityMetadata, PolicyTier::Admin);
    p.subject.namespace_selector =
        metadata_callers.empty() ? LabelSelector{} : names_in(metadata_callers, SelectorOp::NotIn);
    ClusterPeer to;
    to.kind = ClusterPeer::Kind::Networks;
    to.networks = {*Cidr::parse("169.254.169.254/32")};
    p.egress.push_back({"deny-metadata", RuleAction::Deny, {to}, std::nullopt, 0});
    out.push_back(std::move(p));
  }
  // Declared callers (Prometheus, the ingress controller) count as observed ones.
  for (const DeclaredIngress& d : declared)
    if (auto it = callers.find(eps[d.endpoint].ns); it != callers.end())
      for (uint32_t s : d.sources) it->second.insert(eps[s].ns);
  for (const auto& [ns, sources] : callers) {
    if (!include_system && is_system_namespace(ns)) continue;  // left alone
    std::set<std::string> allowed = sources;
    allowed.insert(ns);
    ClusterPolicy p = make("stockade-cross-namespace-" + ns, kPriorityCrossNamespace,
                           cnp ? PolicyTier::Baseline : PolicyTier::Admin);
    p.subject.namespace_selector = names_in({ns});
    // v1alpha1 passes the observed namespaces on to the NetworkPolicies; the CNP baseline
    // accepts them (NetworkPolicies, when they select the pod, decide first anyway).
    p.ingress.push_back({"observed-namespaces",
                         cnp ? RuleAction::Allow : RuleAction::Pass,
                         {namespaces_peer(names_in(allowed))},
                         std::nullopt,
                         0});
    p.ingress.push_back({"other-namespaces",
                         RuleAction::Deny,
                         {namespaces_peer(LabelSelector{})},
                         std::nullopt,
                         0});
    out.push_back(std::move(p));
  }
  std::sort(out.begin(), out.end(),
            [](const ClusterPolicy& a, const ClusterPolicy& b) { return a.name < b.name; });
  return out;
}

}  // namespace stockade
