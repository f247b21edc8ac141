#include "recommend/cilium_emit.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

namespace stockade {

namespace {

using ojson = nlohmann::ordered_json;

constexpr const char* kNamespaceKey = "k8s:io.kubernetes.pod.namespace";
constexpr const char* kMetadataName = "kubernetes.io/metadata.name";
constexpr const char* kNamespaceLabels = "k8s:io.cilium.k8s.namespace.labels.";
// Cilium takes a toPorts entry with more ports for an error ("too many ports, the max is 40").
constexpr size_t kMaxPorts = 40;

// A key Cilium reads as one of its own labels rather than the pod's: written in a selector it
// would change what the selector means (namespace scoping, service accounts).
bool cilium_reserved_key(std::string_view key) {
  return key == "io.kubernetes.pod.namespace" || key.starts_with("io.cilium.") ||
         key.starts_with("io.kubernetes.pod.");
}

std::string reserved_key_in(const LabelSelector& s) {
  for (const SelectorRequirement& r : s.requirements)
    if (cilium_reserved_key(r.key)) return r.key;
  return {};
}

// Which nodes the subject pods of a policy run on (host / remote-node are relative to them).
struct Subjects {
  std::set<std::string> nodes;
  bool unknown = false;  // a pod without a node (or a workload standing for its pods)
  bool any = false;
};

// What an address is when it is a node's (a node address or a host-network pod's), else empty.
using NodeOf = std::map<IpAddr, std::string>;

struct Translated {
  std::vector<CiliumRule> rules;
  std::vector<std::vector<std::string>> evidence;
};

std::vector<CiliumPortRule> port_rules(const std::vector<NetworkPolicyPort>& ports) {
  std::vector<CiliumPortRule> out;
  for (const NetworkPolicyPort& np : ports) {
    if (out.empty() || out.back().ports.size() == kMaxPorts) out.emplace_back();
    CiliumPort p;
    p.protocol = np.effective_protocol();
    if (np.kind == NetworkPolicyPort::Kind::Name) {
      p.kind = CiliumPort::Kind::Named;
      p.name = np.name;
    } else if (np.kind == NetworkPolicyPort::Kind::Number) {
      p.kind = CiliumPort::Kind::Range;
      p.port = np.port;
      p.end_port = np.end_port ? np.end_port : np.port;
    }
    out.back().ports.push_back(std::move(p));
  }
  return out;
}

// One NetworkPolicy rule as Cilium rules: endpoints, CIDRs, entities (one kind of peer each).
void translate_rule(const NetworkPolicyRule& r, const std::vector<PeerEvidence>* ev,
                    const std::vector<std::string>* names, bool ingress, const Subjects& subjects,
                    const NodeOf& node_of, size_t nodes, Translated& out, size_t& widened) {
  std::optional<std::vector<CiliumPortRule>> to_ports;
  if (!r.ports.empty()) to_ports = port_rules(r.ports);
  auto comment = [&](size_t k) {
    return ev && k < ev->size() ? emit::evidence((*ev)[k], names) : std::string();
  };
  CiliumRule endpoints, cidrs;
  endpoints.endpoints.emplace();
  cidrs.cidrs.emplace();
  std::vector<std::string> endpoint_ev, cidr_ev, entity_ev;
  std::set<std::string> entities;
  if (r.peers.empty()) {  // every peer
    entities.insert("all");
    entity_ev.push_back("every peer");
  }
  for (size_t k = 0; k < r.peers.size(); ++k) {
    const NetworkPolicyPeer& peer = r.peers[k];
    if (peer.pod_selector || peer.namespace_selector) {
      LabelSelector s = peer.pod_selector.value_or(LabelSelector{});
      if (peer.namespace_selector) {
        const auto& ns = peer.namespace_selector->requirements;
        if (ns.empty()) {
          s.requirements.push_back({kNamespaceKey, SelectorOp::Exists, {}});
        } else if (ns.size() == 1 && ns[0].key == kMetadataName && ns[0].op == SelectorOp::In &&
                   ns[0].values.size() == 1) {
          s.requirements.push_back({kNamespaceKey, SelectorOp::In, ns[0].values});
        } else {
          for (const SelectorRequirement& q : ns)
            s.requirements.push_back({kNamespaceLabels + q.key, q.op, q.values});
        }
      }
      endpoints.endpoints->push_back(std::move(s));
      endpoint_ev.push_back(comment(k));
      continue;
    }
    if (!peer.ip_block) continue;
    const IpBlock& b = *peer.ip_block;
    // The nodes the block holds: Cilium's CIDR rules never match them, its entities do.
    std::set<std::string> hit;
    if (b.cidr.prefix == b.cidr.network.bits()) {  // one address: a lookup
      if (auto it = node_of.find(b.cidr.network); it != node_of.end()) hit.insert(it->second);
    } else {
      for (const auto& [ip, node] : node_of)
        if (b.contains(ip)) hit.insert(node);
    }
    const bool node_only = !hit.empty() && b.cidr.prefix == b.cidr.network.bits();
    for (const std::string& n : hit) {
      const bool elsewhere = subjects.unknown || subjects.nodes.size() > 1 ||
                             (subjects.nodes.size() == 1 && *subjects.nodes.begin() != n);
      const bool here = subjects.unknown || subjects.nodes.count(n);
      if (elsewhere) entities.insert("remote-node");
      // Traffic from a pod's own node is always allowed by Cilium; to it needs `host`.
      if (here && !ingress) entities.insert("host");
    }
    if (!hit.empty()) entity_ev.push_back(comment(k));
    if (node_only) continue;
    if (b.cidr.prefix == 0) {
      entities.insert("world");
      if (hit.empty()) entity_ev.push_back(comment(k));
      continue;
    }
    cidrs.cidrs->push_back(CiliumCidr{b.cidr, b.except});
    cidr_ev.push_back(comment(k));
  }
  if (!endpoints.endpoints->empty()) {
    endpoints.to_ports = to_ports;
    out.rules.push_back(std::move(endpoints));
    out.evidence.push_back(std::move(endpoint_ev));
  }
  if (!cidrs.cidrs->empty()) {
    cidrs.to_ports = to_ports;
    out.rules.push_back(std::move(cidrs));
    out.evidence.push_back(std::move(cidr_ev));
  }
  if (entities.count("remote-node") && !entities.count("world") && !entities.count("all")) {
    std::set<std::string> named;  // the nodes the NetworkPolicy rule named by address
    for (const NetworkPolicyPeer& peer : r.peers)
      if (peer.ip_block)
        for (const auto& [ip, node] : node_of)
          if (peer.ip_block->contains(ip)) named.insert(node);
    if (named.size() + 1 < nodes) ++widened;  // more than those and the pods' own
  }
  if (!entities.empty()) {
    CiliumRule e;
    e.entities.emplace();
    for (const char* name : {"all", "world", "remote-node", "host"})
      if (entities.count(name)) e.entities->push_back(name);
    e.to_ports = to_ports;
    std::string text;
    for (const std::string& t : entity_ev)
      if (!t.empty()) text += (text.empty() ? "" : "; ") + t;
    out.rules.push_back(std::move(e));
    out.evidence.push_back({text});
  }
}

ojson cilium_ports_json(const std::vector<CiliumPortRule>& rules) {
  ojson a = ojson::array();
  for (const CiliumPortRule& pr : rules) {
    ojson ports = ojson::array();
    for (const CiliumPort& p : pr.ports) {
      ojson j = ojson::object();
      if (p.kind == CiliumPort::Kind::Named)
        j["port"] = p.name;
      else if (p.kind == CiliumPort::Kind::Range)
        j["port"] = std::to_string(p.port);
      else
        j["port"] = "0";
      if (p.kind == CiliumPort::Kind::Range && p.end_port != p.port) j["endPort"] = p.end_port;
      if (p.protocol) j["protocol"] = std::string(to_string(*p.protocol));
      ports.push_back(std::move(j));
    }
    ojson entry = {{"ports", std::move(ports)}};
    for (const CiliumL7& l7 : pr.l7)
      if (l7.kind == "dns") {  // the DNS visibility rule of toFQDNs (fqdn.h)
        ojson dns = ojson::array();
        for (const std::string& d : l7.dns)
          dns.push_back({{d.find('*') == std::string::npos ? "matchName" : "matchPattern", d}});
        entry["rules"] = {{"dns", std::move(dns)}};
      }
    a.push_back(std::move(entry));
  }
  return a;
}

ojson cilium_rules_json(const std::vector<CiliumRule>& rules,
                        const std::vector<std::vector<std::string>>& evidence, bool ingress,
                        bool comments) {
  const std::string dir = ingress ? "from" : "to";
  ojson a = ojson::array();
  for (size_t i = 0; i < rules.size(); ++i) {
    const CiliumRule& r = rules[i];
    const std::vector<std::string>* ev = i < evidence.size() ? &evidence[i] : nullptr;
    auto note = [&](size_t k) {
      return comments && ev && k < ev->size() && !(*ev)[k].empty() ? (*ev)[k] : std::string();
    };
    ojson j = ojson::object();
    if (r.entities && !note(0).empty()) j["#"] = note(0);
    if (r.endpoints) {
      ojson list = ojson::array();
      for (size_t k = 0; k < r.endpoints->size(); ++k) {
        ojson s = ojson::object();
        if (!note(k).empty()) s["#"] = note(k);
        const ojson sel = emit::selector((*r.endpoints)[k]);
        for (auto it = sel.begin(); it != sel.end(); ++it) s[it.key()] = it.value();
        list.push_back(std::move(s));
      }
      j[dir + "Endpoints"] = std::move(list);
    }
    if (r.cidrs) {
      ojson list = ojson::array();
      for (size_t k = 0; k < r.cidrs->size(); ++k) {
        const CiliumCidr& c = (*r.cidrs)[k];
        ojson s = ojson::object();
        if (!note(k).empty()) s["#"] = note(k);
        s["cidr"] = c.cidr.str();
        if (!c.except.empty()) {
          ojson ex = ojson::array();
          for (const Cidr& x : c.except) ex.push_back(x.str());
          s["except"] = std::move(ex);
        }
        list.push_back(std::move(s));
      }
      j[dir + "CIDRSet"] = std::move(list);
    }
    if (r.entities) j[dir + "Entities"] = *r.entities;
    if (!r.fqdns.empty()) {
      ojson list = ojson::array();
      for (const std::string& f : r.fqdns)
        list.push_back({{f.find('*') == std::string::npos ? "matchName" : "matchPattern", f}});
      if (!note(0).empty()) j["#"] = note(0);
      j["toFQDNs"] = std::move(list);
    }
    if (r.to_ports) j["toPorts"] = cilium_ports_json(*r.to_ports);
    a.push_back(std::move(j));
  }
  return a;
}

ojson cilium_policy_json(const RecommendedCiliumPolicy& rp, bool comments) {
  const CiliumPolicy& p = rp.policy;
  ojson meta = {{"name", p.name}, {"namespace", p.ns}};
  meta["labels"] = {{"app.kubernetes.io/managed-by", "stockade"}};
  ojson ann = ojson::object();
  for (const auto& [k, v] : rp.annotations) ann[k] = v;
  if (!ann.empty()) meta["annotations"] = std::move(ann);
  const CiliumSpec& s = p.specs.front();
  ojson spec = ojson::object();
  spec["endpointSelector"] = emit::selector(s.endpoint_selector.value_or(LabelSelector{}));
  if (s.ingress)
    spec["ingress"] = cilium_rules_json(*s.ingress, rp.ingress_evidence, true, comments);
  if (s.egress) spec["egress"] = cilium_rules_json(*s.egress, rp.egress_evidence, false, comments);
  return ojson{{"apiVersion", "cilium.io/v2"},
               {"kind", "CiliumNetworkPolicy"},
               {"metadata", std::move(meta)},
               {"spec", std::move(spec)}};
}

}  // namespace

CiliumRecommendation to_cilium(const Recommendation& rec, const ClusterState& state,
                               const std::vector<Endpoint>& eps) {
  CiliumRecommendation out;
  NodeOf node_of;
  for (const Node& n : state.nodes)
    for (const IpAddr& ip : n.addresses) node_of.emplace(ip, n.name);
  for (const Endpoint& ep : eps)
    if (ep.pod.host_network && !ep.node.empty())
      for (const IpAddr& ip : ep.ips) node_of.emplace(ip, ep.node);
  std::set<std::string_view> node_names;
  for (const auto& [ip, node] : node_of) node_names.insert(node);
  // The pods a policy may select: those of its namespace (not host-network: those are nodes).
  std::map<std::string_view, std::vector<const Endpoint*>> pods_of;
  for (const Endpoint& ep : eps)
    if (!ep.pod.host_network) pods_of[ep.ns].push_back(&ep);
  for (const RecommendedPolicy& rp : rec.policies) {
    const NetworkPolicy& np = rp.policy;
    auto reserved = [&](const LabelSelector& s) {
      std::string key = reserved_key_in(s);
      if (!key.empty() && out.error.empty())
        out.error = "NetworkPolicy " + np.ns + "/" + np.name + " selects by the label key \"" +
                    key +
                    "\", which Cilium reads as one of its own labels: it cannot be written as a "
                    "CiliumNetworkPolicy (--output-kind networkpolicy can)";
    };
    reserved(np.pod_selector);
    for (const auto* rules : {&np.ingress, &np.egress})
      for (const NetworkPolicyRule& r : *rules)
        for (const NetworkPolicyPeer& peer : r.peers) {
          if (peer.pod_selector) reserved(*peer.pod_selector);
          if (peer.namespace_selector) reserved(*peer.namespace_selector);
        }
    Subjects subjects;
    if (auto it = pods_of.find(np.ns); it != pods_of.end())
      for (const Endpoint* ep : it->second) {
        if (!np.pod_selector.matches(ep->pod.labels)) continue;
        subjects.any = true;
        if (ep->node.empty())
          subjects.unknown = true;
        else
          subjects.nodes.insert(ep->node);
      }
    RecommendedCiliumPolicy cp;
    cp.annotations = rp.annotations;
    cp.policy.ns = np.ns;
    cp.policy.name = np.name;
    cp.policy.file = "<recommended>";
    CiliumSpec spec;
    spec.endpoint_selector = np.pod_selector;
    auto direction = [&](bool ingress) {
      const auto& rules = ingress ? np.ingress : np.egress;
      const auto& evidence = ingress ? rp.ingress_evidence : rp.egress_evidence;
      Translated t;
      for (size_t i = 0; i < rules.size(); ++i)
        translate_rule(rules[i], i < evidence.size() ? &evidence[i] : nullptr, rp.names.get(),
                       ingress, subjects, node_of, node_names.size(), t, out.node_rules_widened);
      // Isolated without an allowance: `- {}` (an empty list would isolate nothing).
      if (t.rules.empty()) {
        t.rules.emplace_back();
        t.evidence.emplace_back();
      }
      (ingress ? spec.ingress : spec.egress) = std::move(t.rules);
      (ingress ? cp.ingress_evidence : cp.egress_evidence) = std::move(t.evidence);
    };
    if (np.affects_ingress) direction(true);
    if (np.affects_egress) direction(false);
    cp.policy.specs.push_back(std::move(spec));
    out.policies.push_back(std::move(cp));
  }
  return out;
}

ClusterState with_cilium_recommendation(const ClusterState& state,
                                        const CiliumRecommendation& cilium, bool replace) {
  ClusterState s = state;
  if (replace) s.network_policies.clear();
  for (const RecommendedCiliumPolicy& p : cilium.policies) s.cilium_policies.push_back(p.policy);
  return s;
}

std::string render_cilium_policy_yaml(const RecommendedCiliumPolicy& p) {
  return emit::yaml_document(cilium_policy_json(p, true));
}

std::string render_cilium_policy_json(const RecommendedCiliumPolicy& p, int indent) {
  return cilium_policy_json(p, false).dump(indent, ' ', false, ojson::error_handler_t::replace);
}

std::string render_cilium_yaml(const CiliumRecommendation& r) {
  std::string out;
  for (const RecommendedCiliumPolicy& p : r.policies) {
    out += "---\n";
    out += render_cilium_policy_yaml(p);
  }
  return out;
}

std::string render_cilium_json(const CiliumRecommendation& r) {
  ojson items = ojson::array();
  for (const RecommendedCiliumPolicy& p : r.policies) items.push_back(cilium_policy_json(p, false));
  ojson list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", std::move(items)}};
  return list.dump(2, ' ', false, ojson::error_handler_t::replace) + "\n";
}

std::string canonical_cilium(const CiliumPolicy& p) {
  std::string s = std::string(p.clusterwide ? "CCNP/" : "CNP/") + p.ns + "/" + p.name;
  auto selector = [&](const std::optional<LabelSelector>& sel) {
    s += sel ? "{" + sel->canonical() + "}" : std::string("-");
  };
  auto flag = [&](const std::optional<bool>& b) { s += !b ? "-" : *b ? "1" : "0"; };
  auto rules = [&](const std::optional<std::vector<CiliumRule>>& rs, const char* dir) {
    s += std::string("|") + dir;
    if (!rs) {
      s += "-";
      return;
    }
    for (const CiliumRule& r : *rs) {
      s += "[eps";
      if (r.endpoints)
        for (const LabelSelector& x : *r.endpoints) s += "(" + x.canonical() + ")";
      else
        s += "-";
      s += ";nodes";
      if (r.nodes)
        for (const LabelSelector& x : *r.nodes) s += "(" + x.canonical() + ")";
      else
        s += "-";
      s += ";ent";
      if (r.entities)
        for (const std::string& e : *r.entities) s += "(" + e + ")";
      else
        s += "-";
      s += ";cidr";
      if (r.cidrs)
        for (const CiliumCidr& c : *r.cidrs) {
          s += "(" + c.cidr.str();
          for (const Cidr& x : c.except) s += "!" + x.str();
          s += ")";
        }
      else
        s += "-";
      s += ";svc";
      if (r.services)
        for (const auto& ref : *r.services) {
          s += "(" + ref.ns + "/" + ref.name;
          selector(ref.selector);
          s += ")";
        }
      else
        s += "-";
      s += ";fqdn";
      for (const std::string& f : r.fqdns) s += "(" + f + ")";
      s += ";other";
      for (const std::string& u : r.unevaluated) s += "(" + u + ")";
      s += ";ports";
      if (r.to_ports)
        for (const CiliumPortRule& pr : *r.to_ports) {
          s += "(";
          for (const CiliumPort& port : pr.ports)
            s += std::to_string(static_cast<int>(port.kind)) + "/" +
                 (port.protocol ? std::string(to_string(*port.protocol)) : std::string("ANY")) +
                 "/" + std::to_string(port.port) + "-" + std::to_string(port.end_port) + "/" +
                 port.name + ",";
          for (const CiliumL7& l7 : pr.l7) s += "l7:" + l7.kind + ":" + std::to_string(l7.rules);
          for (const std::string& n : pr.server_names) s += "sni:" + n;
          s += ")";
        }
      else
        s += "-";
      s += r.icmp_only ? ";icmp]" : "]";
    }
  };
  for (const CiliumSpec& spec : p.specs) {
    s += "|spec:";
    selector(spec.endpoint_selector);
    selector(spec.node_selector);
    flag(spec.default_deny_ingress);
    flag(spec.default_deny_egress);
    rules(spec.ingress, "in");
    rules(spec.ingress_deny, "indeny");
    rules(spec.egress, "eg");
    rules(spec.egress_deny, "egdeny");
  }
  return s;
}

}  // namespace stockade
