#include "recommend/fqdn.h"

#include <algorithm>
#include <map>
#include <set>

namespace stockade {

namespace {

// Names of the cluster's own Services are not external peers.
bool external_name(const std::string& n) {
  return !n.empty() && !n.ends_with(".cluster.local") && !n.ends_with(".svc") &&
         n.find('.') != std::string::npos;
}

std::string parent(const std::string& n) {
  size_t dot = n.find('.');
  return dot == std::string::npos ? std::string() : n.substr(dot + 1);
}

// The names of one rule: wildcards where `wildcard_after` names share a parent that has at
// least two labels itself.
std::vector<std::string> fold(const std::set<std::string>& names, size_t wildcard_after) {
  std::map<std::string, std::vector<std::string>> by_parent;
  for (const std::string& n : names) by_parent[parent(n)].push_back(n);
  std::vector<std::string> out;
  for (const auto& [p, list] : by_parent) {
    if (list.size() >= wildcard_after && p.find('.') != std::string::npos)
      out.push_back("*." + p);
    else
      out.insert(out.end(), list.begin(), list.end());
  }
  return out;
}

CiliumRule dns_visibility_rule() {
  CiliumRule r;
  LabelSelector kube_dns;
  kube_dns.requirements.push_back(
      {"k8s:io.kubernetes.pod.namespace", SelectorOp::In, {"kube-system"}});
  kube_dns.requirements.push_back({"k8s:k8s-app", SelectorOp::In, {"kube-dns"}});
  r.endpoints = std::vector<LabelSelector>{kube_dns};
  CiliumPortRule pr;
  CiliumPort port;
  port.kind = CiliumPort::Kind::Range;
  port.port = port.end_port = 53;  // protocol ANY: DNS over UDP and TCP
  pr.ports.push_back(port);
  CiliumL7 dns;
  dns.kind = "dns";
  dns.rules = 1;
  dns.dns = {"*"};
  pr.l7.push_back(std::move(dns));
  r.to_ports = std::vector<CiliumPortRule>{std::move(pr)};
  return r;
}

}  // namespace

size_t use_fqdns(CiliumRecommendation& c, const ObservedL7& l7, const FqdnOptions& o) {
  std::map<IpAddr, std::set<std::string>> names;
  for (const ObservedDns& d : l7.dns)
    if (external_name(d.answer.name)) names[d.answer.ip].insert(d.answer.name);
  if (names.empty()) return 0;
  size_t replaced = 0;
  for (RecommendedCiliumPolicy& rp : c.policies) {
    if (rp.policy.specs.empty() || !rp.policy.specs.front().egress) continue;
    std::vector<CiliumRule>& rules = *rp.policy.specs.front().egress;
    std::vector<CiliumRule> added;
    std::vector<std::vector<std::string>> added_ev;
    for (size_t i = 0; i < rules.size(); ++i) {
      CiliumRule& r = rules[i];
      if (!r.cidrs) continue;
      std::set<std::string> fq;
      std::vector<CiliumCidr> kept;
      std::vector<std::string> kept_ev, named_ev;
      for (size_t k = 0; k < r.cidrs->size(); ++k) {
        const CiliumCidr& cidr = (*r.cidrs)[k];
        auto it = cidr.cidr.prefix == cidr.cidr.network.bits() && cidr.except.empty()
                      ? names.find(cidr.cidr.network)
                      : names.end();
        std::string ev = i < rp.egress_evidence.size() && k < rp.egress_evidence[i].size()
                             ? rp.egress_evidence[i][k]
                             : std::string();
        if (it == names.end()) {
          kept.push_back(cidr);
          kept_ev.push_back(ev);
          continue;
        }
        fq.insert(it->second.begin(), it->second.end());
        if (!ev.empty()) named_ev.push_back(cidr.cidr.str() + ": " + ev);
        ++replaced;
      }
      if (fq.empty()) continue;
      CiliumRule f;
      f.fqdns = fold(fq, o.wildcard_after);
      f.to_ports = r.to_ports;
      std::string ev;
      for (const std::string& e : named_ev) ev += (ev.empty() ? "" : "; ") + e;
      added.push_back(std::move(f));
      added_ev.push_back({ev});
      *r.cidrs = std::move(kept);
      if (i < rp.egress_evidence.size()) rp.egress_evidence[i] = std::move(kept_ev);
    }
    if (added.empty()) continue;
    // A rule whose every address became a name goes (an empty toCIDRSet selects nothing).
    for (size_t i = rules.size(); i-- > 0;)
      if (rules[i].cidrs && rules[i].cidrs->empty()) {
        rules.erase(rules.begin() + static_cast<std::ptrdiff_t>(i));
        if (i < rp.egress_evidence.size())
          rp.egress_evidence.erase(rp.egress_evidence.begin() + static_cast<std::ptrdiff_t>(i));
      }
    rp.egress_evidence.resize(rules.size());
    for (size_t k = 0; k < added.size(); ++k) {
      rules.push_back(std::move(added[k]));
      rp.egress_evidence.push_back(std::move(added_ev[k]));
    }
    rules.push_back(dns_visibility_rule());
    rp.egress_evidence.push_back({"DNS through Cilium's proxy: how it learns the names above"});
  }
  return replaced;
}

}  // namespace stockade
