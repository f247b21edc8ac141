#include "support/random_cluster.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

namespace stockade::testing {

namespace {

using Rng = std::mt19937_64;

// Tiny vocabularies, shared by labels and selectors so that selectors match often.
const std::vector<std::string> kLabelKeys = {"app", "team"};
const std::vector<std::string> kSelectorKeys = {"app", "team", "zone"};  // zone: never set
const std::vector<std::string> kLabelValues = {"x", "y", "z"};
const std::vector<std::string> kNamespaceNames = {"ns-a", "ns-b", "ns-c", "ns-d"};
const std::vector<std::string> kNodeLabelValues = {"worker", "infra"};
const std::vector<uint16_t> kPortNumbers = {80, 81, 443, 53};
const std::vector<uint16_t> kPolicyPortNumbers = {80, 81, 443, 53, 8080};
const std::vector<std::string> kPortNames = {"http", "dns", "metrics"};
const std::vector<std::string> kClusterPolicyNames = {"alpha", "beta", "gamma"};
const std::vector<std::pair<uint16_t, uint16_t>> kPortRanges = {
    {53, 80}, {80, 81}, {80, 443}, {81, 8080}, {443, 8080}, {1, 65535}};
const std::vector<std::string> kCidrs = {
    "10.0.0.0/24",  "10.0.0.0/25",   "10.0.0.128/25", "10.0.0.0/26", "10.0.0.77/26",
    "10.0.0.64/27", "10.0.0.192/26", "10.0.0.200/29", "10.0.0.0/8",  "0.0.0.0/0",
    "fd00::/120",   "fd00::/121",    "fd00::80/122",  "::/0",        "192.0.2.0/24"};

size_t pick(Rng& rng, size_t n) {
  return static_cast<size_t>(rng() % n);
}
bool chance(Rng& rng, size_t one_in) {
  return rng() % one_in == 0;
}

template <class T>
const T& pick_from(Rng& rng, const std::vector<T>& v) {
  return v[pick(rng, v.size())];
}

Protocol random_protocol(Rng& rng) {
  return static_cast<Protocol>(pick(rng, kProtocolCount));
}

Cidr must_parse_cidr(const std::string& text) {
  std::optional<Cidr> c = Cidr::parse(text);
  if (!c) std::abort();  // a typo in the vocabulary above
  return *c;
}

IpAddr v4(uint32_t host) {
  IpAddr ip;
  ip.lo = (10u << 24) | host;  // 10.0.0.host
  return ip;
}

IpAddr v6(uint32_t host) {
  IpAddr ip;
  ip.v6 = true;
  ip.hi = uint64_t{0xfd00} << 48;  // fd00::host
  ip.lo = host;
  return ip;
}

Labels random_labels(Rng& rng) {
  Labels l;
  for (const std::string& k : kLabelKeys)
    if (!chance(rng, 3)) l[k] = pick_from(rng, kLabelValues);
  return l;
}

std::vector<std::string> random_values(Rng& rng, const std::vector<std::string>& vocab) {
  std::set<std::string> vals;
  size_t n = 1 + pick(rng, 2);
  for (size_t i = 0; i < n; ++i) vals.insert(pick_from(rng, vocab));
  return {vals.begin(), vals.end()};  // sorted, unique, non-empty
}

// 0-2 requirements; for namespace selectors also on kubernetes.io/metadata.name.
LabelSelector random_selector(Rng& rng, bool for_namespaces) {
  LabelSelector sel;
  size_t n = chance(rng, 3) ? 0 : 1 + pick(rng, 2);
  for (size_t i = 0; i < n; ++i) {
    SelectorRequirement r;
    std::vector<std::string> vocab = kLabelValues;
    if (for_namespaces && chance(rng, 3)) {
      r.key = "kubernetes.io/metadata.name";
      vocab = kNamespaceNames;
    } else {
      r.key = pick_from(rng, kSelectorKeys);
    }
    r.op = static_cast<SelectorOp>(pick(rng, 4));
    if (r.op == SelectorOp::In || r.op == SelectorOp::NotIn) r.values = random_values(rng, vocab);
    sel.requirements.push_back(std::move(r));
  }
  return sel;
}

LabelSelector random_node_selector(Rng& rng) {
  LabelSelector sel;
  size_t n = chance(rng, 3) ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    SelectorRequirement r;
    r.key = chance(rng, 4) ? "zone" : "role";
    r.op = static_cast<SelectorOp>(pick(rng, 4));
    if (r.op == SelectorOp::In || r.op == SelectorOp::NotIn)
      r.values = random_values(rng, r.key == "role" ? kNodeLabelValues : kLabelValues);
    sel.requirements.push_back(std::move(r));
  }
  return sel;
}

std::vector<ContainerPort> random_container_ports(Rng& rng) {
  std::vector<ContainerPort> ports;
  std::set<std::string> names;
  size_t n = pick(rng, 4);
  for (size_t i = 0; i < n; ++i) {
    ContainerPort p;
    p.port = pick_from(rng, kPortNumbers);
    p.protocol = random_protocol(rng);
    if (!chance(rng, 3)) {
      std::string name = pick_from(rng, kPortNames);
      if (names.insert(name).second) p.name = name;  // names are unique within a pod
    }
    ports.push_back(std::move(p));
  }
  return ports;
}

Cidr random_cidr(Rng& rng) {
  return must_parse_cidr(pick_from(rng, kCidrs));
}

// A CIDR strictly inside `outer` (as the API server requires of ipBlock.except), if one is found.
std::optional<Cidr> random_sub_cidr(Rng& rng, const Cidr& outer) {
  int bits = outer.network.bits();
  if (outer.prefix >= bits) return std::nullopt;
  for (int attempt = 0; attempt < 8; ++attempt) {
    IpAddr ip = outer.network.v6 ? v6(static_cast<uint32_t>(pick(rng, 256)))
                                 : v4(static_cast<uint32_t>(pick(rng, 256)));
    if (!outer.contains(ip)) continue;
    int lo = std::max<int>(outer.prefix + 1, bits - 8);  // keep it within the tiny address range
    int prefix = lo + static_cast<int>(pick(rng, static_cast<size_t>(bits - lo + 1)));
    return must_parse_cidr(ip.str() + "/" + std::to_string(prefix));
  }
  return std::nullopt;
}

NetworkPolicyPeer random_np_peer(Rng& rng) {
  NetworkPolicyPeer peer;
  switch (pick(rng, 5)) {
    case 0:
    case 1: {
      IpBlock b;
      b.cidr = random_cidr(rng);
      size_t n = pick(rng, 3);
      for (size_t i = 0; i < n; ++i)
        if (auto e = random_sub_cidr(rng, b.cidr)) b.except.push_back(*e);
      peer.ip_block = b;
      break;
    }
    case 2:
      peer.pod_selector = random_selector(rng, false);
      break;
    case 3:
      peer.namespace_selector = random_selector(rng, true);
      break;
    default:
      peer.pod_selector = random_selector(rng, false);
      peer.namespace_selector = random_selector(rng, true);
      break;
  }
  return peer;
}

NetworkPolicyPort random_np_port(Rng& rng) {
  NetworkPolicyPort p;
  switch (pick(rng, 4)) {
    case 0:
      break;  // protocol absent: TCP
    default:
      p.protocol = random_protocol(rng);
      break;
  }
  switch (pick(rng, 5)) {
    case 0:
      p.kind = NetworkPolicyPort::Kind::Any;
      break;
    case 1:
    case 2:
      p.kind = NetworkPolicyPort::Kind::Number;
      p.port = pick_from(rng, kPolicyPortNumbers);
      break;
    case 3: {
      p.kind = NetworkPolicyPort::Kind::Number;
      auto [a, b] = pick_from(rng, kPortRanges);
      p.port = a;
      p.end_port = chance(rng, 4) ? a : b;  // end_port >= port
      break;
    }
    default:
      p.kind = NetworkPolicyPort::Kind::Name;
      p.name = pick_from(rng, kPortNames);
      break;
  }
  return p;
}

NetworkPolicyRule random_np_rule(Rng& rng) {
  NetworkPolicyRule r;
  size_t peers = pick(rng, 4);  // 0: every peer
  for (size_t i = 0; i < peers; ++i) r.peers.push_back(random_np_peer(rng));
  size_t ports = pick(rng, 3);  // 0: every port
  for (size_t i = 0; i < ports; ++i) r.ports.push_back(random_np_port(rng));
  return r;
}

NetworkPolicy random_network_policy(Rng& rng, const std::string& ns, const std::string& name) {
  NetworkPolicy np;
  np.ns = ns;
  np.name = name;
  np.pod_selector = random_selector(rng, false);
  size_t n_in = chance(rng, 4) ? 0 : 1 + pick(rng, 3);
  for (size_t i = 0; i < n_in; ++i) np.ingress.push_back(random_np_rule(rng));
  size_t n_out = chance(rng, 3) ? 0 : 1 + pick(rng, 3);
  for (size_t i = 0; i < n_out; ++i) np.egress.push_back(random_np_rule(rng));
  switch (pick(rng, 4)) {
    case 0:  // policyTypes: [Ingress]
      np.affects_ingress = true;
      break;
    case 1:  // policyTypes: [Egress]
      np.affects_egress = true;
      break;
    case 2:  // policyTypes: [Ingress, Egress]
      np.affects_ingress = np.affects_egress = true;
      break;
    default:  // policyTypes absent: Ingress, plus Egress when egress rules are present
      np.affects_ingress = true;
      np.affects_egress = !np.egress.empty();
      break;
  }
  return np;
}

ClusterPodSet random_pod_set(Rng& rng, bool pods) {
  ClusterPodSet s;
  s.namespace_selector = random_selector(rng, true);
  if (pods) s.pod_selector = random_selector(rng, false);
  return s;
}

ClusterPeer random_cluster_peer(Rng& rng, bool egress) {
  ClusterPeer p;
  switch (pick(rng, egress ? 4 : 2)) {
    case 0:
      p.kind = ClusterPeer::Kind::Namespaces;
      p.pods = random_pod_set(rng, false);
      break;
    case 1:
      p.kind = ClusterPeer::Kind::Pods;
      p.pods = random_pod_set(rng, true);
      break;
    case 2:  // egress only, as in the CRDs
      p.kind = ClusterPeer::Kind::Networks;
      {
        std::set<Cidr> nets;
        size_t n = 1 + pick(rng, 2);
        for (size_t i = 0; i < n; ++i) nets.insert(random_cidr(rng));
        p.networks.assign(nets.begin(), nets.end());
      }
      break;
    default:  // egress only, as in the CRDs
      p.kind = ClusterPeer::Kind::Nodes;
      p.node_selector = random_node_selector(rng);
      break;
  }
  return p;
}

ClusterPolicyPort random_cluster_port(Rng& rng) {
  ClusterPolicyPort p;
  switch (pick(rng, 3)) {
    case 0:
      p.kind = ClusterPolicyPort::Kind::Number;
      p.protocol = random_protocol(rng);
      p.start = p.end = pick_from(rng, kPolicyPortNumbers);
      break;
    case 1: {
      p.kind = ClusterPolicyPort::Kind::Range;
      p.protocol = random_protocol(rng);
      auto [a, b] = pick_from(rng, kPortRanges);  // start < end, as the CRDs require
      p.start = a;
      p.end = b;
      break;
    }
    default:
      p.kind = ClusterPolicyPort::Kind::Named;
      p.name = pick_from(rng, kPortNames);
      break;
  }
  return p;
}

ClusterPolicyRule random_cluster_rule(Rng& rng, bool egress, size_t index) {
  ClusterPolicyRule r;
  r.name = chance(rng, 3) ? "" : "r" + std::to_string(index);
  r.action = static_cast<RuleAction>(pick(rng, 3));
  size_t peers = 1 + pick(rng, 2);
  for (size_t i = 0; i < peers; ++i) r.peers.push_back(random_cluster_peer(rng, egress));
  if (!chance(rng, 2)) {
    r.ports.emplace();
    size_t n = 1 + pick(rng, 2);
    for (size_t i = 0; i < n; ++i) r.ports->push_back(random_cluster_port(rng));
  }
  return r;
}

ClusterPolicy random_cluster_policy(Rng& rng, ClusterPolicyKind kind, const std::string& name) {
  ClusterPolicy cp;
  cp.kind = kind;
  cp.name = name;
  switch (kind) {
    case ClusterPolicyKind::AdminNetworkPolicy:
      cp.tier = PolicyTier::Admin;
      cp.priority = static_cast<int32_t>(pick(rng, 3));
      break;
    case ClusterPolicyKind::BaselineAdminNetworkPolicy:
      cp.tier = PolicyTier::Baseline;
      cp.priority = 0;
      break;
    case ClusterPolicyKind::ClusterNetworkPolicy:
      cp.tier = chance(rng, 2) ? PolicyTier::Admin : PolicyTier::Baseline;
      cp.priority = static_cast<int32_t>(pick(rng, 3));
      break;
  }
  cp.subject = random_pod_set(rng, chance(rng, 2));
  size_t n_in = pick(rng, 4);
  for (size_t i = 0; i < n_in; ++i) cp.ingress.push_back(random_cluster_rule(rng, false, i));
  size_t n_out = pick(rng, 4);
  for (size_t i = 0; i < n_out; ++i) cp.egress.push_back(random_cluster_rule(rng, true, i));
  return cp;
}

}  // namespace

ClusterState random_cluster(uint64_t seed) {
  Rng rng(seed);
  ClusterState s;

  // Namespaces: the first 2-4 names; sometimes the last one has no Namespace object (its
  // labels are then only kubernetes.io/metadata.name).
  size_t n_ns = 2 + pick(rng, 3);
  std::vector<std::string> ns_names(kNamespaceNames.begin(), kNamespaceNames.begin() + n_ns);
  bool last_without_object = chance(rng, 4);
  for (size_t i = 0; i < n_ns; ++i) {
    if (last_without_object && i + 1 == n_ns) break;
    Namespace n;
    n.name = ns_names[i];
    n.labels = random_labels(rng);
    n.labels["kubernetes.io/metadata.name"] = n.name;
    s.namespaces.push_back(std::move(n));
  }

  // Nodes: 1-3, addresses at the top of 10.0.0.0/24 (and sometimes fd00::/120).
  size_t n_nodes = 1 + pick(rng, 3);
  for (size_t i = 0; i < n_nodes; ++i) {
    Node n;
    n.name = "node-" + std::to_string(i);
    if (!chance(rng, 4)) n.labels["role"] = pick_from(rng, kNodeLabelValues);
    if (chance(rng, 3)) n.labels["zone"] = pick_from(rng, kLabelValues);
    n.addresses.push_back(v4(static_cast<uint32_t>(200 + i)));
    if (chance(rng, 3)) n.addresses.push_back(v4(static_cast<uint32_t>(220 + i)));
    if (chance(rng, 4)) n.addresses.push_back(v6(static_cast<uint32_t>(200 + i)));
    s.nodes.push_back(std::move(n));
  }

  // Pods: unique IPs in 10.0.0.1-199 and fd00::1-199.
  std::vector<uint32_t> hosts;
  for (uint32_t h = 1; h < 200; ++h) hosts.push_back(h);
  std::shuffle(hosts.begin(), hosts.end(), rng);
  size_t n_pods = 3 + pick(rng, 10);
  for (size_t i = 0; i < n_pods; ++i) {
    Pod p;
    p.ns = pick_from(rng, ns_names);
    p.name = "p" + std::to_string(i);
    p.uid = "uid-p" + std::to_string(i);
    p.spec.labels = random_labels(rng);
    p.spec.ports = random_container_ports(rng);
    const Node& node = pick_from(rng, s.nodes);
    p.node = node.name;
    p.phase = chance(rng, 12) ? "Succeeded" : "Running";
    if (chance(rng, 6)) {
      p.spec.host_network = true;
      p.ips = node.addresses;
      if (chance(rng, 8)) {  // on a node the input does not hold
        p.node = "node-gone";
        p.ips = {v4(240)};
      }
    } else if (chance(rng, 15)) {
      p.phase = "Pending";  // scheduled, no IP yet
    } else {
      uint32_t h = hosts[i];
      switch (pick(rng, 6)) {
        case 0:
          p.ips = {v4(h), v6(h)};
          break;
        case 1:
          p.ips = {v6(h)};
          break;
        default:
          p.ips = {v4(h)};
          break;
      }
    }
    s.pods.push_back(std::move(p));
  }

  // Sometimes a workload with no pods: it stands for its pods as an endpoint without IPs.
  if (chance(rng, 3)) {
    Workload w;
    w.kind = static_cast<WorkloadKind>(pick(rng, 7));
    w.ns = pick_from(rng, ns_names);
    w.name = "w0";
    w.uid = "uid-w0";
    w.pod.labels = random_labels(rng);
    w.pod.ports = random_container_ports(rng);
    w.pod.host_network = chance(rng, 8);
    s.workloads.push_back(std::move(w));
  }

  // NetworkPolicies: 0-5.
  size_t n_np = pick(rng, 6);
  for (size_t i = 0; i < n_np; ++i)
    s.network_policies.push_back(
        random_network_policy(rng, pick_from(rng, ns_names), "np" + std::to_string(i)));

  // Cluster policies: 0-3; names unique per kind, at most one BANP (named "default").
  size_t n_cp = pick(rng, 4);
  std::set<std::pair<ClusterPolicyKind, std::string>> used;
  for (size_t i = 0; i < n_cp; ++i) {
    auto kind = static_cast<ClusterPolicyKind>(pick(rng, 3));
    std::string name;
    if (kind == ClusterPolicyKind::BaselineAdminNetworkPolicy) {
      name = "default";
      if (used.count({kind, name})) kind = ClusterPolicyKind::AdminNetworkPolicy;
    }
    if (kind != ClusterPolicyKind::BaselineAdminNetworkPolicy) {
      name = pick_from(rng, kClusterPolicyNames);
      if (used.count({kind, name})) {  // taken: the first free name instead
        for (const std::string& n : kClusterPolicyNames) {
          if (!used.count({kind, n})) {
            name = n;
            break;
          }
        }
      }
    }
    used.insert({kind, name});
    s.cluster_policies.push_back(random_cluster_policy(rng, kind, name));
  }

  // The order ClusterLoader::finish() leaves objects in.
  auto by_ns_name = [](const auto& a, const auto& b) {
    return std::tie(a.ns, a.name) < std::tie(b.ns, b.name);
  };
  std::sort(s.pods.begin(), s.pods.end(), by_ns_name);
  std::sort(s.workloads.begin(), s.workloads.end(), by_ns_name);
  std::sort(s.network_policies.begin(), s.network_policies.end(), by_ns_name);
  std::sort(s.cluster_policies.begin(), s.cluster_policies.end(),
            [](const ClusterPolicy& a, const ClusterPolicy& b) {
              return std::tie(a.name, a.kind) < std::tie(b.name, b.kind);
            });
  return s;
}

std::vector<IpAddr> interesting_external_ips(const ClusterState& s, Rng& rng) {
  std::vector<IpAddr> out;
  std::set<IpAddr> pod_ips;
  for (const Pod& p : s.pods)
    if (!p.spec.host_network) pod_ips.insert(p.ips.begin(), p.ips.end());
  auto add = [&](const IpAddr& a) {
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  };
  for (const Node& n : s.nodes)
    for (const IpAddr& a : n.addresses) add(a);
  for (const Pod& p : s.pods)  // host-network pods' IPs, also on nodes missing from the input
    if (p.spec.host_network)
      for (const IpAddr& a : p.ips) add(a);
  // Free addresses inside the pod ranges.
  for (int i = 0; i < 2; ++i) {
    for (int attempt = 0; attempt < 50; ++attempt) {
      IpAddr ip = v4(static_cast<uint32_t>(1 + pick(rng, 199)));
      if (pod_ips.count(ip) || std::find(out.begin(), out.end(), ip) != out.end()) continue;
      out.push_back(ip);
      break;
    }
  }
  for (int attempt = 0; attempt < 50; ++attempt) {
    IpAddr ip = v6(static_cast<uint32_t>(1 + pick(rng, 199)));
    if (pod_ips.count(ip)) continue;
    out.push_back(ip);
    break;
  }
  // Outside every pod range.
  out.push_back(*IpAddr::parse("192.0.2.7"));
  out.push_back(*IpAddr::parse("2001:db8::1"));
  return out;
}

// ---- dump ---------------------------------------------------------------------------------

namespace {

std::string labels_str(const Labels& l) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : l) {
    if (!first) out += ",";
    first = false;
    out += k + "=" + v;
  }
  return out + "}";
}

std::string sel_str(const LabelSelector& s) {
  return s.empty() ? std::string("{} (all)") : "{" + s.canonical() + "}";
}

std::string opt_sel_str(const std::optional<LabelSelector>& s) {
  return s ? sel_str(*s) : std::string("<absent>");
}

std::string ips_str(const std::vector<IpAddr>& ips) {
  std::string out = "[";
  for (size_t i = 0; i < ips.size(); ++i) out += (i ? "," : "") + ips[i].str();
  return out + "]";
}

std::string container_ports_str(const std::vector<ContainerPort>& ports) {
  std::string out = "[";
  for (size_t i = 0; i < ports.size(); ++i) {
    if (i) out += ",";
    out += std::string(to_string(ports[i].protocol)) + "/" + std::to_string(ports[i].port);
    if (!ports[i].name.empty()) out += "(" + ports[i].name + ")";
  }
  return out + "]";
}

std::string np_port_str(const NetworkPolicyPort& p) {
  std::string out = p.protocol ? std::string(to_string(*p.protocol)) : "(TCP)";
  switch (p.kind) {
    case NetworkPolicyPort::Kind::Any:
      return out + "/*";
    case NetworkPolicyPort::Kind::Number:
      out += "/" + std::to_string(p.port);
      if (p.end_port) out += "-" + std::to_string(p.end_port);
      return out;
    case NetworkPolicyPort::Kind::Name:
      return out + "/" + p.name;
  }
  return out;
}

std::string np_peer_str(const NetworkPolicyPeer& p) {
  if (p.ip_block) return "ipBlock " + p.ip_block->str();
  std::string out;
  if (p.namespace_selector) out += "nsSel " + sel_str(*p.namespace_selector);
  if (p.pod_selector)
    out += std::string(out.empty() ? "" : " ") + "podSel " + sel_str(*p.pod_selector);
  return out.empty() ? "<empty peer>" : out;
}

void np_rules_str(std::string& out, const char* dir, const std::vector<NetworkPolicyRule>& rules) {
  for (size_t i = 0; i < rules.size(); ++i) {
    out += std::string("    ") + dir + "[" + std::to_string(i) + "]: peers=";
    if (rules[i].peers.empty()) out += "ALL";
    for (size_t j = 0; j < rules[i].peers.size(); ++j)
      out += (j ? " | " : "") + np_peer_str(rules[i].peers[j]);
    out += "; ports=";
    if (rules[i].ports.empty()) out += "ALL";
    for (size_t j = 0; j < rules[i].ports.size(); ++j)
      out += (j ? "," : "") + np_port_str(rules[i].ports[j]);
    out += "\n";
  }
}

std::string pod_set_str(const ClusterPodSet& s) {
  if (!s.pod_selector) return "namespaces " + sel_str(s.namespace_selector);
  return "pods ns " + sel_str(s.namespace_selector) + " pod " + sel_str(*s.pod_selector);
}

std::string cluster_peer_str(const ClusterPeer& p) {
  switch (p.kind) {
    case ClusterPeer::Kind::Namespaces:
      return "namespaces " + sel_str(p.pods.namespace_selector);
    case ClusterPeer::Kind::Pods:
      return "pods ns " + sel_str(p.pods.namespace_selector) + " pod " +
             opt_sel_str(p.pods.pod_selector);
    case ClusterPeer::Kind::Nodes:
      return "nodes " + sel_str(p.node_selector);
    case ClusterPeer::Kind::Networks: {
      std::string out = "networks [";
      for (size_t i = 0; i < p.networks.size(); ++i) out += (i ? "," : "") + p.networks[i].str();
      return out + "]";
    }
    case ClusterPeer::Kind::DomainNames: {
      std::string out = "domainNames [";
      for (size_t i = 0; i < p.domain_names.size(); ++i) out += (i ? "," : "") + p.domain_names[i];
      return out + "]";
    }
  }
  return "?";
}

std::string cluster_port_str(const ClusterPolicyPort& p) {
  switch (p.kind) {
    case ClusterPolicyPort::Kind::Number:
      return std::string(to_string(p.protocol)) + "/" + std::to_string(p.start);
    case ClusterPolicyPort::Kind::Range:
      return std::string(to_string(p.protocol)) + "/" + std::to_string(p.start) + "-" +
             std::to_string(p.end);
    case ClusterPolicyPort::Kind::Named:
      return "named " + p.name;
  }
  return "?";
}

void cluster_rules_str(std::string& out, const char* dir,
                       const std::vector<ClusterPolicyRule>& rules) {
  for (size_t i = 0; i < rules.size(); ++i) {
    const ClusterPolicyRule& r = rules[i];
    out += std::string("    ") + dir + "[" + std::to_string(i) + "] " +
           std::string(to_string(r.action));
    if (!r.name.empty()) out += " (" + r.name + ")";
    out += ": peers=";
    for (size_t j = 0; j < r.peers.size(); ++j)
      out += (j ? " | " : "") + cluster_peer_str(r.peers[j]);
    out += "; ports=";
    if (!r.ports)
      out += "ALL";
    else
      for (size_t j = 0; j < r.ports->size(); ++j)
        out += (j ? "," : "") + cluster_port_str((*r.ports)[j]);
    out += "\n";
  }
}

}  // namespace

std::string dump_endpoints(const std::vector<Endpoint>& eps) {
  std::string out = "endpoints:\n";
  for (size_t i = 0; i < eps.size(); ++i) {
    const Endpoint& e = eps[i];
    out += "  #" + std::to_string(i) + " " + e.id() + " (" + e.kind +
           ") labels=" + labels_str(e.pod.labels) + " ips=" + ips_str(e.ips) +
           " ports=" + container_ports_str(e.pod.ports);
    if (e.pod.host_network) out += " hostNetwork";
    if (!e.node.empty()) out += " node=" + e.node;
    out += "\n";
  }
  return out;
}

std::string dump_cluster(const ClusterState& s) {
  std::string out = "namespaces:\n";
  for (const Namespace& n : s.namespaces) out += "  " + n.name + " " + labels_str(n.labels) + "\n";
  out += "nodes:\n";
  for (const Node& n : s.nodes)
    out += "  " + n.name + " " + labels_str(n.labels) + " " + ips_str(n.addresses) + "\n";
  out += "pods:\n";
  for (const Pod& p : s.pods) {
    out += "  " + p.ns + "/" + p.name + " " + labels_str(p.spec.labels) + " ips=" + ips_str(p.ips) +
           " ports=" + container_ports_str(p.spec.ports) + " node=" + p.node + " phase=" + p.phase;
    if (p.spec.host_network) out += " hostNetwork";
    out += "\n";
  }
  out += "workloads:\n";
  for (const Workload& w : s.workloads) {
    out += "  " + w.ns + "/" + w.name + " (" + std::string(to_string(w.kind)) + ") " +
           labels_str(w.pod.labels) + " ports=" + container_ports_str(w.pod.ports);
    if (w.pod.host_network) out += " hostNetwork";
    out += "\n";
  }
  out += "network policies:\n";
  for (const NetworkPolicy& np : s.network_policies) {
    out += "  NetworkPolicy " + np.ns + "/" + np.name + " podSelector=" + sel_str(np.pod_selector) +
           " types=" + (np.affects_ingress ? "I" : "") + (np.affects_egress ? "E" : "") + "\n";
    np_rules_str(out, "ingress", np.ingress);
    np_rules_str(out, "egress", np.egress);
  }
  out += "cluster policies:\n";
  for (const ClusterPolicy& cp : s.cluster_policies) {
    out += std::string("  ") + std::string(to_string(cp.kind)) + " " + cp.name +
           " tier=" + (cp.tier == PolicyTier::Admin ? "Admin" : "Baseline") +
           " priority=" + std::to_string(cp.priority) + " subject=" + pod_set_str(cp.subject) +
           "\n";
    cluster_rules_str(out, "ingress", cp.ingress);
    cluster_rules_str(out, "egress", cp.egress);
  }
  return out;
}

}  // namespace stockade::testing
