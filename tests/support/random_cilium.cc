#include "support/random_cilium.h"

#include <algorithm>
#include <random>
#include <set>

namespace stockade::testing {

namespace {

using Rng = std::mt19937_64;

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

const std::vector<std::string> kValues = {"x", "y", "z"};
const std::vector<std::string> kKeys = {"app", "team", "k8s:app", "any:team", "zone"};
const std::vector<std::string> kEntities = {"world", "cluster", "host",           "remote-node",
                                            "all",   "health",  "kube-apiserver", "world-ipv6"};
const std::vector<std::string> kCidrs = {"10.0.0.0/24", "10.0.0.0/25", "10.0.0.192/26",
                                         "10.0.0.0/8",  "0.0.0.0/0",   "fd00::/120",
                                         "192.0.2.0/24"};
const std::vector<std::string> kPortNames = {"http", "dns", "metrics"};

std::vector<std::string> values(Rng& rng, const std::vector<std::string>& vocab) {
  std::set<std::string> v;
  for (size_t i = 0, n = 1 + pick(rng, 2); i < n; ++i) v.insert(pick_from(rng, vocab));
  return {v.begin(), v.end()};
}

LabelSelector selector(Rng& rng, const std::vector<std::string>& namespaces, bool peer) {
  LabelSelector sel;
  for (size_t i = 0, n = chance(rng, 3) ? 0 : 1 + pick(rng, 2); i < n; ++i) {
    SelectorRequirement r;
    std::vector<std::string> vocab = kValues;
    size_t what = pick(rng, 10);
    if (what < 2) {
      r.key = chance(rng, 2) ? "k8s:io.kubernetes.pod.namespace" : "io.kubernetes.pod.namespace";
      vocab = namespaces;
    } else if (what == 2) {
      r.key = "io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name";
      vocab = namespaces;
    } else if (what == 3) {
      r.key = "k8s:io.cilium.k8s.policy.serviceaccount";
      vocab = {"default", "sa1", "sa2"};
    } else if (what == 4 && peer) {
      r.key = chance(rng, 2) ? "reserved:host" : "reserved:world";
      r.op = SelectorOp::Exists;
      sel.requirements.push_back(std::move(r));
      continue;
    } else {
      r.key = pick_from(rng, kKeys);
    }
    r.op = static_cast<SelectorOp>(pick(rng, 4));
    if (r.op == SelectorOp::In || r.op == SelectorOp::NotIn) r.values = values(rng, vocab);
    sel.requirements.push_back(std::move(r));
  }
  return sel;
}

CiliumRule rule(Rng& rng, const std::vector<std::string>& namespaces, bool egress, bool deny) {
  CiliumRule r;
  if (chance(rng, 2)) {
    r.endpoints.emplace();
    for (size_t i = 0, n = pick(rng, 3); i < n; ++i)
      r.endpoints->push_back(selector(rng, namespaces, true));
  }
  if (chance(rng, 3)) {
    r.entities.emplace();
    for (size_t i = 0, n = pick(rng, 3); i < n; ++i)
      r.entities->push_back(pick_from(rng, kEntities));
  }
  if (chance(rng, 4)) {
    r.cidrs.emplace();
    for (size_t i = 0, n = pick(rng, 3); i < n; ++i) {
      CiliumCidr c{*Cidr::parse(pick_from(rng, kCidrs)), {}};
      if (!c.cidr.network.v6 && c.cidr.prefix < 26 && chance(rng, 2))
        c.except.push_back(*Cidr::parse("10.0.0.128/26"));
      r.cidrs->push_back(c);
    }
  }
  if (chance(rng, 6)) {
    r.nodes.emplace();
    LabelSelector sel;
    if (!chance(rng, 3))
      sel.requirements.push_back({"role", SelectorOp::In, values(rng, {"worker", "infra"})});
    r.nodes->push_back(sel);
  }
  if (egress && !deny && chance(rng, 12)) r.fqdns.push_back("*.example.com");
  if (chance(rng, 2)) {
    r.to_ports.emplace();
    for (size_t i = 0, n = pick(rng, 3); i < n; ++i) {
      CiliumPortRule pr;
      for (size_t j = 0, m = pick(rng, 3); j < m; ++j) {
        CiliumPort p;
        if (!chance(rng, 3)) p.protocol = static_cast<Protocol>(pick(rng, kProtocolCount));
        switch (pick(rng, 6)) {
          case 0:
            p.kind = CiliumPort::Kind::All;
            break;
          case 1:
            p.kind = CiliumPort::Kind::Named;
            p.name = pick_from(rng, kPortNames);
            break;
          case 2:
            p.kind = CiliumPort::Kind::Range;
            p.port = 53;
            p.end_port = 443;
            break;
          case 3:
            p.kind = CiliumPort::Kind::NotL4;
            p.protocol.reset();
            break;
          default:
            p.kind = CiliumPort::Kind::Range;
            p.port = p.end_port = pick_from(rng, std::vector<uint16_t>{80, 81, 443, 53, 8080});
        }
        pr.ports.push_back(p);
      }
      if (!deny && chance(rng, 4)) pr.l7.push_back({"http", 1});
      r.to_ports->push_back(std::move(pr));
    }
  }
  if (!r.to_ports && chance(rng, 10)) r.icmp_only = true;
  return r;
}

std::optional<std::vector<CiliumRule>> rules(Rng& rng, const std::vector<std::string>& namespaces,
                                             bool egress, bool deny) {
  if (chance(rng, 2)) return std::nullopt;
  std::vector<CiliumRule> out;
  if (chance(rng, 8)) return out;  // present and empty
  for (size_t i = 0, n = 1 + pick(rng, 2); i < n; ++i)
    out.push_back(rule(rng, namespaces, egress, deny));
  return out;
}

std::string sel_str(const LabelSelector& s) {
  std::string c = s.canonical();
  return c.empty() ? "{}" : c;
}

}  // namespace

void add_random_cilium_policies(ClusterState& s, uint64_t seed) {
  Rng rng(seed * 0x9e3779b97f4a7c15ULL + 7);
  std::vector<std::string> namespaces;
  for (const Namespace& n : s.namespaces) namespaces.push_back(n.name);
  for (const Pod& p : s.pods)
    if (std::find(namespaces.begin(), namespaces.end(), p.ns) == namespaces.end())
      namespaces.push_back(p.ns);
  if (namespaces.empty()) namespaces.push_back("ns-a");
  for (Pod& p : s.pods)
    if (chance(rng, 2)) p.security.service_account = chance(rng, 2) ? "sa1" : "sa2";
  if (chance(rng, 2)) {
    EndpointSlice es;
    es.ns = "default";
    es.name = "kubernetes";
    es.service = "kubernetes";
    if (!s.nodes.empty() && !s.nodes[0].addresses.empty() && chance(rng, 2))
      es.addresses.push_back(s.nodes[0].addresses[0]);
    else
      es.addresses.push_back(*IpAddr::parse("192.0.2.10"));
    s.endpoint_slices.push_back(es);
  }
  for (size_t i = 0, n = 1 + pick(rng, 4); i < n; ++i) {
    CiliumPolicy p;
    p.clusterwide = chance(rng, 3);
    p.ns = p.clusterwide ? "" : pick_from(rng, namespaces);
    p.name = "cnp" + std::to_string(i);
    for (size_t j = 0, m = 1 + (chance(rng, 4) ? 1 : 0); j < m; ++j) {
      CiliumSpec spec;
      spec.endpoint_selector = selector(rng, namespaces, false);
      if (chance(rng, 4)) spec.default_deny_ingress = chance(rng, 2);
      if (chance(rng, 4)) spec.default_deny_egress = chance(rng, 2);
      spec.ingress = rules(rng, namespaces, false, false);
      spec.egress = rules(rng, namespaces, true, false);
      if (chance(rng, 3)) spec.ingress_deny = rules(rng, namespaces, false, true);
      if (chance(rng, 3)) spec.egress_deny = rules(rng, namespaces, true, true);
      p.specs.push_back(std::move(spec));
    }
    s.cilium_policies.push_back(std::move(p));
  }
}

std::string dump_cilium(const ClusterState& s) {
  std::string out = "cilium policies:\n";
  for (const Pod& p : s.pods)
    if (!p.security.service_account.empty())
      out +=
          "  (pod " + p.ns + "/" + p.name + " serviceAccount " + p.security.service_account + ")\n";
  for (const EndpointSlice& es : s.endpoint_slices)
    for (const IpAddr& a : es.addresses) out += "  (" + es.service + " endpoint " + a.str() + ")\n";
  for (const CiliumPolicy& p : s.cilium_policies) {
    out += std::string("  ") + (p.clusterwide ? "CCNP " : "CNP " + p.ns + "/") + p.name + "\n";
    for (const CiliumSpec& spec : p.specs) {
      out += "    spec endpointSelector=" + sel_str(*spec.endpoint_selector);
      if (spec.default_deny_ingress)
        out += " defaultDenyIngress=" + std::string(*spec.default_deny_ingress ? "1" : "0");
      if (spec.default_deny_egress)
        out += " defaultDenyEgress=" + std::string(*spec.default_deny_egress ? "1" : "0");
      out += "\n";
      auto list = [&](const char* name, const std::optional<std::vector<CiliumRule>>& rules) {
        if (!rules) return;
        out += std::string("      ") + name + (rules->empty() ? ": []\n" : ":\n");
        for (const CiliumRule& r : *rules) {
          out += "        -";
          if (r.endpoints) {
            out += " endpoints[";
            for (const LabelSelector& sel : *r.endpoints) out += sel_str(sel) + ";";
            out += "]";
          }
          if (r.entities) {
            out += " entities[";
            for (const std::string& e : *r.entities) out += e + ",";
            out += "]";
          }
          if (r.cidrs) {
            out += " cidrs[";
            for (const CiliumCidr& c : *r.cidrs) {
              out += c.cidr.str();
              for (const Cidr& x : c.except) out += "-" + x.str();
              out += ",";
            }
            out += "]";
          }
          if (r.nodes) out += " nodes[" + std::to_string(r.nodes->size()) + "]";
          for (const std::string& f : r.fqdns) out += " fqdn " + f;
          if (r.icmp_only) out += " icmp-only";
          if (r.to_ports) {
            out += " toPorts[";
            for (const CiliumPortRule& pr : *r.to_ports) {
              out += "{";
              for (const CiliumPort& port : pr.ports) {
                out += port.protocol ? std::string(to_string(*port.protocol)) : "ANY";
                out += "/";
                switch (port.kind) {
                  case CiliumPort::Kind::All:
                    out += "all";
                    break;
                  case CiliumPort::Kind::Range:
                    out += std::to_string(port.port) + "-" + std::to_string(port.end_port);
                    break;
                  case CiliumPort::Kind::Named:
                    out += port.name;
                    break;
                  case CiliumPort::Kind::NotL4:
                    out += "icmp";
                    break;
                }
                out += " ";
              }
              out += pr.l7.empty() ? "}" : "+L7}";
            }
            out += "]";
          }
          out += "\n";
        }
      };
      list("ingress", spec.ingress);
      list("egress", spec.egress);
      list("ingressDeny", spec.ingress_deny);
      list("egressDeny", spec.egress_deny);
    }
  }
  return out;
}

}  // namespace stockade::testing
