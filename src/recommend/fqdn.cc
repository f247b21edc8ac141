#include "recommend/fqdn.h"

#include <algorithm>
#include <map>
#include <optional>
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

// The external names DNS answers gave each address.
std::map<IpAddr, std::set<std::string>> external_names(const ObservedL7& l7) {
  std::map<IpAddr, std::set<std::string>> names;
  for (const ObservedDns& d : l7.dns)
    if (external_name(d.answer.name)) names[d.answer.ip].insert(d.answer.name);
  return names;
}

// A NetworkPolicy rule's ports as ClusterNetworkPolicy protocols; false when one cannot be
// written beside domainNames (a named port).
bool cnp_ports(const NetworkPolicyRule& r, std::optional<std::vector<ClusterPolicyPort>>& out) {
  if (r.ports.empty()) return true;  // every port: no `protocols`
  out.emplace();
  for (const NetworkPolicyPort& p : r.ports) {
    ClusterPolicyPort c;
    c.protocol = p.effective_protocol();
    switch (p.kind) {
      case NetworkPolicyPort::Kind::Name:
        return false;
      case NetworkPolicyPort::Kind::Any:  // every port of the protocol
        c.kind = ClusterPolicyPort::Kind::Range;
        c.start = 1;
        c.end = 65535;
        break;
      case NetworkPolicyPort::Kind::Number:
        c.kind =
            p.end_port > p.port ? ClusterPolicyPort::Kind::Range : ClusterPolicyPort::Kind::Number;
        c.start = p.port;
        c.end = std::max(p.port, p.end_port);
        break;
    }
    out->push_back(c);
  }
  return true;
}

constexpr int32_t kPriorityDomainNames = 920;  // after guardrails.cc's DNS (900), metadata (910)
constexpr size_t kMaxItems = 25;               // the CRD's MaxItems: rules, peers, names

}  // namespace

size_t use_domain_names(Recommendation& rec, const ObservedL7& l7, const std::string& api,
                        const FqdnOptions& o) {
  const auto names = external_names(l7);
  if (names.empty()) return 0;
  size_t replaced = 0;
  for (RecommendedPolicy& rp : rec.policies) {
    NetworkPolicy& np = rp.policy;
    ClusterPolicy cp;
    cp.kind = ClusterPolicyKind::ClusterNetworkPolicy;
    cp.api_version = api;
    cp.name = "stockade-egress-domains-" + np.ns + "-" + np.name;
    cp.tier = PolicyTier::Admin;
    cp.priority = kPriorityDomainNames;
    cp.subject.namespace_selector.requirements.push_back(
        {"kubernetes.io/metadata.name", SelectorOp::In, {np.ns}});
    cp.subject.pod_selector = np.pod_selector;
    cp.source.file = "<recommended>";
    for (size_t i = 0; i < np.egress.size() && cp.egress.size() < kMaxItems; ++i) {
      NetworkPolicyRule& r = np.egress[i];
      ClusterPolicyRule cr;
      cr.name = "observed-domains-" + std::to_string(cp.egress.size());
      cr.action = RuleAction::Allow;
      if (!cnp_ports(r, cr.ports)) continue;
      std::set<std::string> fq;
      std::vector<size_t> named;  // peers that become names
      for (size_t k = 0; k < r.peers.size(); ++k) {
        const NetworkPolicyPeer& peer = r.peers[k];
        if (!peer.ip_block || !peer.ip_block->except.empty() ||
            peer.ip_block->cidr.prefix != peer.ip_block->cidr.network.bits())
          continue;
        auto it = names.find(peer.ip_block->cidr.network);
        if (it == names.end()) continue;
        // Every name must be one the CRD accepts (a DNS answer may carry "_dmarc.x.org").
        const bool beta = api == kCnpV1beta1;
        if (!std::all_of(it->second.begin(), it->second.end(), [&](const std::string& n) {
              return domain_name_problem(n, beta).empty();
            }))
          continue;
        fq.insert(it->second.begin(), it->second.end());
        named.push_back(k);
      }
      if (named.empty()) continue;
      std::vector<std::string> list = fold(fq, o.wildcard_after);
      if (list.size() > kMaxItems * kMaxItems) continue;  // more than one rule can name
      for (size_t at = 0; at < list.size(); at += kMaxItems) {
        ClusterPeer to;
        to.kind = ClusterPeer::Kind::DomainNames;
        to.domain_names.assign(
            list.begin() + static_cast<std::ptrdiff_t>(at),
            list.begin() + static_cast<std::ptrdiff_t>(std::min(list.size(), at + kMaxItems)));
        cr.peers.push_back(std::move(to));
      }
      cp.egress.push_back(std::move(cr));
      replaced += named.size();
      // The named peers leave the rule, with their evidence.
      auto* ev = i < rp.egress_evidence.size() ? &rp.egress_evidence[i] : nullptr;
      for (size_t n = named.size(); n-- > 0;) {
        r.peers.erase(r.peers.begin() + static_cast<std::ptrdiff_t>(named[n]));
        if (ev && named[n] < ev->size())
          ev->erase(ev->begin() + static_cast<std::ptrdiff_t>(named[n]));
      }
    }
    if (cp.egress.empty()) continue;
    // A rule whose every peer became a name goes: with no peer it would allow everything.
    for (size_t i = np.egress.size(); i-- > 0;)
      if (np.egress[i].peers.empty()) {
        np.egress.erase(np.egress.begin() + static_cast<std::ptrdiff_t>(i));
        if (i < rp.egress_evidence.size())
          rp.egress_evidence.erase(rp.egress_evidence.begin() + static_cast<std::ptrdiff_t>(i));
      }
    rec.guardrails.push_back(std::move(cp));
  }
  std::sort(rec.guardrails.begin(), rec.guardrails.end(),
            [](const ClusterPolicy& a, const ClusterPolicy& b) { return a.name < b.name; });
  return replaced;
}

size_t use_fqdns(CiliumRecommendation& c, const ObservedL7& l7, const FqdnOptions& o) {
  const auto names = external_names(l7);
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
