#include "recommend/keep_declared.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "recommend/aggregate.h"

namespace stockade::rec {

namespace {

// The port as a rule towards `dst` writes it: its name when every pod of the unit declares the
// number under one name, else the number.
NetworkPolicyPort rule_port(const Unit& dst, const std::vector<Endpoint>& eps, Protocol proto,
                            uint16_t port) {
  NetworkPolicyPort np;
  np.protocol = proto;
  np.kind = NetworkPolicyPort::Kind::Number;
  np.port = port;
  std::string name;
  for (uint32_t e : dst.endpoints) {
    std::string found;
    for (const ContainerPort& cp : eps[e].pod.ports)
      if (cp.port == port && cp.protocol == proto && !cp.name.empty()) found = cp.name;
    if (found.empty() || (!name.empty() && found != name)) return np;
    name = found;
  }
  np.kind = NetworkPolicyPort::Kind::Name;
  np.port = 0;
  np.name = name;
  return np;
}

// Structural: the peers compared are built from the same unit selectors (a difference in
// order only means a redundant rule).
bool same_selector(const std::optional<LabelSelector>& a, const std::optional<LabelSelector>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  const auto &x = a->requirements, &y = b->requirements;
  if (x.size() != y.size()) return false;
  for (size_t i = 0; i < x.size(); ++i)
    if (x[i].key != y[i].key || x[i].op != y[i].op || x[i].values != y[i].values) return false;
  return true;
}

bool same_port(const NetworkPolicyPort& a, const NetworkPolicyPort& b) {
  return a.effective_protocol() == b.effective_protocol() && a.kind == b.kind && a.port == b.port &&
         a.name == b.name;
}

// A declared peer that an observed rule already allows on all its ports: that rule's evidence
// says it is declared too, and no rule is added for it.
bool already(RecommendedPolicy& rp, bool is_ingress, const NetworkPolicyPeer& peer,
             const std::vector<NetworkPolicyPort>& ports, const std::string& reason) {
  auto& rules = is_ingress ? rp.policy.ingress : rp.policy.egress;
  auto& evidence = is_ingress ? rp.ingress_evidence : rp.egress_evidence;
  for (size_t i = 0; i < rules.size(); ++i) {
    bool all = true;
    for (const NetworkPolicyPort& p : ports)
      all = all && std::any_of(rules[i].ports.begin(), rules[i].ports.end(),
                               [&](const NetworkPolicyPort& q) { return same_port(p, q); });
    if (!all) continue;
    for (size_t k = 0; k < rules[i].peers.size(); ++k) {
      const NetworkPolicyPeer& q = rules[i].peers[k];
      if (same_selector(q.pod_selector, peer.pod_selector) &&
          same_selector(q.namespace_selector, peer.namespace_selector) &&
          q.ip_block == peer.ip_block) {
        if (i < evidence.size() && k < evidence[i].size() && evidence[i][k].declared.empty())
          evidence[i][k].declared = reason;
        return true;
      }
    }
  }
  return false;
}

void add_rule(RecommendedPolicy& rp, bool is_ingress, NetworkPolicyRule rule,
              std::vector<PeerEvidence> ev) {
  const std::string reason = ev.empty() ? std::string() : ev.front().declared;
  for (size_t k = rule.peers.size(); k-- > 0;)
    if (already(rp, is_ingress, rule.peers[k], rule.ports, reason)) {
      rule.peers.erase(rule.peers.begin() + static_cast<std::ptrdiff_t>(k));
      ev.erase(ev.begin() + static_cast<std::ptrdiff_t>(k));
    }
  if (rule.peers.empty()) return;
  (is_ingress ? rp.policy.ingress : rp.policy.egress).push_back(std::move(rule));
  (is_ingress ? rp.ingress_evidence : rp.egress_evidence).push_back(std::move(ev));
}

using Ports = std::set<std::pair<Protocol, uint16_t>>;

class Keeper {
 public:
  Keeper(Recommendation& out, const ClusterState& state, const std::vector<Endpoint>& eps,
         const Units& units, const Contributions& seen,
         const std::shared_ptr<const std::vector<std::string>>& names, const std::string& window,
         const RecommendOptions& options)
      : out_(out),
        eps_(eps),
        units_(units.units),
        unit_of_(units.unit_of),
        seen_(seen),
        names_(names),
        window_(window),
        options_(options),
        pod_prefixes_(pod_prefixes(state, eps)) {
    bool v6 = false;
    for (const Endpoint& ep : eps)
      for (const IpAddr& ip : ep.ips) v6 = v6 || ip.v6;
    everywhere_ = {*Cidr::parse("0.0.0.0/0")};
    if (v6) everywhere_.push_back(*Cidr::parse("::/0"));
    for (size_t i = 0; i < out.policies.size(); ++i)
      index_[{out.policies[i].policy.ns, out.policies[i].policy.name}] = i;
  }

  void run() {
    collect();
    for (const auto& [key, ports] : ingress_) ingress_rule(key, ports);
    for (const auto& [key, ports] : egress_) {
      const auto& [su, u, reason_id] = key;
      RecommendedPolicy* rp = policy_of(su, false);
      if (!rp) continue;
      NetworkPolicyRule rule;
      rule.peers.push_back(unit_peer(u, units_[su].ns));
      PeerEvidence pe;
      pe.declared = reasons_[reason_id];
      pe.name = u;
      for (const auto& [proto, port] : ports)
        rule.ports.push_back(rule_port(units_[u], eps_, proto, port));
      add_rule(*rp, false, std::move(rule), {pe});
    }
    dns_upstream();
  }

 private:
  Recommendation& out_;
  const std::vector<Endpoint>& eps_;
  const std::vector<Unit>& units_;
  const std::vector<uint32_t>& unit_of_;
  const Contributions& seen_;
  const std::shared_ptr<const std::vector<std::string>>& names_;
  const std::string& window_;
  const RecommendOptions& options_;
  std::vector<Cidr> pod_prefixes_;
  std::vector<Cidr> everywhere_;
  std::map<std::pair<std::string, std::string>, size_t> index_;
  // (destination unit, reason, from outside, from all pods, source units) -> ports
  using Key = std::tuple<uint32_t, std::string, bool, bool, std::vector<uint32_t>>;
  std::map<Key, Ports> ingress_;
  // (source unit, destination unit, reason id) -> ports; reasons interned (the cluster DNS adds
  // one entry per unit)
  std::map<std::tuple<uint32_t, uint32_t, uint32_t>, Ports> egress_;
  std::vector<std::string> reasons_;

  bool active(uint32_t u) const {
    return seen_.unit_covered[u] && !units_[u].host_network &&
           (seen_.unit_seen[u] || options_.isolate_unobserved);
  }

  IpBlock outside_block(const Cidr& c) const {
    IpBlock b{c, {}};
    for (const Cidr& p : pod_prefixes_)
      if (p.network.v6 == c.network.v6) b.except.push_back(p);
    return b;
  }

  NetworkPolicyPeer unit_peer(uint32_t peer, const std::string& ns) const {
    NetworkPolicyPeer p;
    p.pod_selector = units_[peer].selector;
    if (units_[peer].ns != ns) {
      LabelSelector sel;
      sel.requirements.push_back({kMetadataName, SelectorOp::In, {units_[peer].ns}});
      p.namespace_selector = std::move(sel);
    }
    return p;
  }

  RecommendedPolicy* policy_of(uint32_t u, bool ingress);
  void collect();
  void ingress_rule(const Key& key, const Ports& ports);
  void dns_upstream();
};

RecommendedPolicy* Keeper::policy_of(uint32_t u, bool ingress) {
  const Unit& unit = units_[u];
  std::string name =
      policy_name("stockade-" + std::string(ingress ? "ingress-" : "egress-") + unit.base);
  if (auto it = index_.find({unit.ns, name}); it != index_.end()) return &out_.policies[it->second];
  if (!options_.default_deny || !active(u)) return nullptr;  // not isolated: nothing to keep
  RecommendedPolicy rp;
  rp.policy.ns = unit.ns;
  rp.policy.name = name;
  rp.policy.pod_selector = unit.selector;
  rp.policy.affects_ingress = ingress;
  rp.policy.affects_egress = !ingress;
  rp.policy.source.file = "<recommended>";
  rp.names = names_;
  rp.annotations = {{"stockade.io/generated-by", "stockade recommend"},
                    {"stockade.io/observed-connections", "0"},
                    {"stockade.io/workload", unit.kind + "/" + unit.name}};
  if (!window_.empty()) rp.annotations.push_back({"stockade.io/learning-window", window_});
  std::sort(rp.annotations.begin(), rp.annotations.end());
  index_[{unit.ns, name}] = out_.policies.size();
  out_.policies.push_back(std::move(rp));
  return &out_.policies.back();
}

void Keeper::collect() {
  std::map<std::string_view, uint32_t> reason_ids;
  for (const DeclaredIngress& d : out_.declared) {
    auto [rit, fresh] = reason_ids.try_emplace(d.reason, static_cast<uint32_t>(reasons_.size()));
    if (fresh) reasons_.push_back(d.reason);
    const uint32_t reason = rit->second;
    const uint32_t u = unit_of_[d.endpoint];
    std::vector<uint32_t> srcs;
    for (uint32_t s : d.sources) srcs.push_back(unit_of_[s]);
    std::sort(srcs.begin(), srcs.end());
    srcs.erase(std::unique(srcs.begin(), srcs.end()), srcs.end());
    for (uint32_t su : srcs)
      if (su != u && active(su)) egress_[{su, u, reason}].insert({d.protocol, d.port});
    if (d.from_all_pods)  // every pod's egress policy lets it reach the cluster DNS
      for (uint32_t su = 0; su < units_.size(); ++su)
        if (su != u && active(su)) egress_[{su, u, reason}].insert({d.protocol, d.port});
    if (active(u))
      ingress_[{u, d.reason, d.from_outside, d.from_all_pods, srcs}].insert({d.protocol, d.port});
  }
}

void Keeper::ingress_rule(const Key& key, const Ports& ports) {
  const auto& [u, reason, outside, all_pods, srcs] = key;
  RecommendedPolicy* rp = policy_of(u, true);
  if (!rp) return;
  NetworkPolicyRule rule;
  std::vector<PeerEvidence> ev;
  PeerEvidence pe;
  pe.declared = reason;
  if (outside) {
    for (const Cidr& c : everywhere_) {
      NetworkPolicyPeer p;
      p.ip_block = outside_block(c);
      rule.peers.push_back(std::move(p));
      pe.cidr = c;
      pe.external = true;
      ev.push_back(pe);
    }
  } else if (all_pods) {
    NetworkPolicyPeer p;
    p.namespace_selector = LabelSelector{};
    p.pod_selector = LabelSelector{};
    rule.peers.push_back(std::move(p));
    PeerEvidence all = pe;
    all.cidr = Cidr{};
    ev.push_back(all);
  } else {
    for (uint32_t su : srcs) {
      rule.peers.push_back(unit_peer(su, units_[u].ns));
      pe.name = su;
      ev.push_back(pe);
    }
  }
  for (const auto& [proto, port] : ports)
    rule.ports.push_back(rule_port(units_[u], eps_, proto, port));
  add_rule(*rp, true, std::move(rule), std::move(ev));
}

// The cluster DNS forwards what it does not serve to upstream resolvers, which a short window
// may not see (answers are cached).
void Keeper::dns_upstream() {
  for (uint32_t u = 0; u < units_.size(); ++u) {
    if (!active(u)) continue;
    bool dns = false;
    for (uint32_t e : units_[u].endpoints) dns = dns || is_cluster_dns_pod(eps_[e]);
    if (!dns) continue;
    RecommendedPolicy* rp = policy_of(u, false);
    if (!rp) continue;
    NetworkPolicyRule rule;
    std::vector<PeerEvidence> ev;
    PeerEvidence pe;
    pe.declared = "the cluster DNS (it forwards to upstream resolvers)";
    pe.external = true;
    for (const Cidr& c : everywhere_) {
      NetworkPolicyPeer p;
      p.ip_block = IpBlock{c, {}};
      rule.peers.push_back(std::move(p));
      pe.cidr = c;
      ev.push_back(pe);
    }
    for (Protocol proto : {Protocol::UDP, Protocol::TCP}) {
      NetworkPolicyPort np;
      np.protocol = proto;
      np.kind = NetworkPolicyPort::Kind::Number;
      np.port = 53;
      rule.ports.push_back(np);
    }
    add_rule(*rp, false, std::move(rule), std::move(ev));
  }
}

}  // namespace

std::vector<Cidr> pod_prefixes(const ClusterState& state, const std::vector<Endpoint>& eps) {
  std::vector<Cidr> out;
  std::vector<IpAddr> pod_ips, node_ips;
  for (const Endpoint& ep : eps)
    for (const IpAddr& ip : ep.ips) (ep.pod.host_network ? node_ips : pod_ips).push_back(ip);
  for (const Node& n : state.nodes)
    node_ips.insert(node_ips.end(), n.addresses.begin(), n.addresses.end());
  for (bool fam6 : {false, true}) {
    std::vector<IpAddr> ips;
    for (const IpAddr& ip : pod_ips)
      if (ip.v6 == fam6) ips.push_back(ip);
    std::sort(ips.begin(), ips.end());
    ips.erase(std::unique(ips.begin(), ips.end()), ips.end());
    for (const auto& [cidr, members] : aggregate_prefixes(ips, 1, fam6 ? 48 : 16)) {
      bool node = false;
      for (const IpAddr& ip : node_ips) node = node || cidr.contains(ip);
      if (!node) {
        out.push_back(cidr);
        continue;
      }
      for (size_t m : members)  // a node among the pods: their own addresses
        out.push_back(Cidr{ips[m], static_cast<uint8_t>(ips[m].bits())});
    }
  }
  return out;
}

void keep_declared(Recommendation& out, const ClusterState& state, const std::vector<Endpoint>& eps,
                   const Units& units, const Contributions& seen,
                   const std::shared_ptr<const std::vector<std::string>>& names,
                   const std::string& window, const RecommendOptions& options,
                   std::set<std::string>& notes) {
  std::vector<std::string> dnotes;
  out.declared = declared_ingress(state, eps, dnotes);
  notes.insert(dnotes.begin(), dnotes.end());
  Keeper(out, state, eps, units, seen, names, window, options).run();
}

}  // namespace stockade::rec
