#include "support/random_calico.h"

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

// Selector texts over the random cluster's vocabulary (app, team in {x, y, z}; zone never on
// pods) and Calico's own labels; network sets carry role=p or role=q.
const std::vector<std::string> kSelectors = {
    "all()",
    "app == 'x'",
    "app != 'y'",
    "has(team)",
    "!has(app)",
    "app in {'x', 'z'}",
    "team not in {'y'}",
    "app starts with 'x'",
    "team ends with 'z'",
    "(app == 'x' || team == 'y') && !has(zone)",
    "pcns.app == 'x'",
    "pcns.team != 'z'",
    "projectcalico.org/namespace == 'ns-a'",
    "projectcalico.org/serviceaccount == 'sa1'",
    "pcsa.tier == 'data'",
    "role == 'p'",
    "has(role) || app == 'y'",
};
const std::vector<std::string> kNamespaceSelectors = {
    "all()",
    "app == 'x'",
    "team != 'y'",
    "projectcalico.org/name == 'ns-b'",
    "kubernetes.io/metadata.name in {'ns-a', 'ns-c'}",
    "global()",
    "!has(app)",
    "global() || app == 'x'",
    "!global() && team != 'y'"};
const std::vector<std::string> kNets = {"10.0.0.0/24",  "10.0.0.0/25",  "10.0.0.128/25",
                                        "10.0.0.64/27", "0.0.0.0/0",    "fd00::/120",
                                        "192.0.2.0/24", "10.0.0.200/29"};
const std::vector<std::string> kTierNames = {"alpha", "beta"};

CalicoSelector selector(const std::string& text) {
  std::string err;
  auto s = CalicoSelector::parse(text, &err);
  if (!s) std::abort();  // a typo in the vocabulary above
  return *s;
}

Cidr net(const std::string& text) {
  auto c = Cidr::parse(text);
  if (!c) std::abort();
  return *c;
}

CalicoEntity random_entity(Rng& rng, bool destination, bool ports_ok) {
  CalicoEntity e;
  if (chance(rng, 2)) return e;
  if (chance(rng, 2)) e.selector = selector(pick_from(rng, kSelectors));
  if (chance(rng, 4)) e.not_selector = selector(pick_from(rng, kSelectors));
  if (chance(rng, 4)) e.namespace_selector = selector(pick_from(rng, kNamespaceSelectors));
  if (chance(rng, 4)) e.nets.push_back(net(pick_from(rng, kNets)));
  if (chance(rng, 5)) e.not_nets.push_back(net(pick_from(rng, kNets)));
  if (chance(rng, 8)) {
    CalicoEntity::ServiceAccounts sa;
    if (chance(rng, 2)) sa.names = {chance(rng, 2) ? "sa1" : "default"};
    if (chance(rng, 2)) sa.selector = selector(chance(rng, 2) ? "tier == 'data'" : "all()");
    e.service_accounts = sa;
  }
  if (destination && ports_ok) {
    auto port = [&] {
      CalicoPort p;
      switch (pick(rng, 3)) {
        case 0:
          p.lo = p.hi = pick_from(rng, std::vector<uint16_t>{80, 53, 443, 8080});
          break;
        case 1:
          p.lo = 53;
          p.hi = pick_from(rng, std::vector<uint16_t>{80, 443});
          break;
        default:
          p.name = pick_from(rng, std::vector<std::string>{"http", "dns", "metrics"});
      }
      return p;
    };
    if (chance(rng, 2)) e.ports.push_back(port());
    if (chance(rng, 3)) e.ports.push_back(port());
    if (chance(rng, 5)) e.not_ports.push_back(port());
  }
  return e;
}

CalicoRule random_rule(Rng& rng) {
  CalicoRule r;
  r.action = pick_from(
      rng, std::vector<CalicoAction>{CalicoAction::Allow, CalicoAction::Allow, CalicoAction::Deny,
                                     CalicoAction::Pass, CalicoAction::Log});
  if (chance(rng, 2)) {
    static const std::vector<std::pair<uint8_t, std::string>> kProtos = {
        {6, "TCP"}, {17, "UDP"}, {132, "SCTP"}, {1, "ICMP"}};
    auto [n, w] = pick_from(rng, kProtos);
    r.protocol = CalicoProtocol{n, w};
  } else if (chance(rng, 6)) {
    r.not_protocol = CalicoProtocol{17, "UDP"};
  }
  bool ports_ok = r.protocol && r.protocol->number != 1;
  r.source = random_entity(rng, false, false);
  r.destination = random_entity(rng, true, ports_ok);
  return r;
}

}  // namespace

void add_random_calico_policies(ClusterState& s, uint64_t seed) {
  Rng rng(seed * 0x9e3779b97f4a7c15ULL + 0xca11c0);
  std::set<std::string> nss;
  for (const Pod& p : s.pods) nss.insert(p.ns);
  for (const Namespace& n : s.namespaces) nss.insert(n.name);
  std::vector<std::string> ns(nss.begin(), nss.end());
  if (ns.empty()) ns.push_back("ns-a");

  for (Pod& p : s.pods)
    if (chance(rng, 3)) p.security.service_account = chance(rng, 2) ? "sa1" : "sa2";
  for (const std::string& n : ns)
    if (chance(rng, 2)) {
      ServiceAccount sa;
      sa.ns = n;
      sa.name = "sa1";
      sa.labels["tier"] = "data";
      s.service_accounts.push_back(sa);
    }

  size_t tiers = pick(rng, 3);
  for (size_t i = 0; i < tiers; ++i) {
    CalicoTier t;
    t.name = kTierNames[i];
    if (!chance(rng, 5))
      t.order = pick_from(rng, std::vector<double>{100, 500, 1000, 2000000, 20000000});
    if (chance(rng, 3)) t.default_action = CalicoAction::Pass;
    s.calico_tiers.push_back(t);
  }
  size_t sets = pick(rng, 3);
  for (size_t i = 0; i < sets; ++i) {
    CalicoNetworkSet n;
    n.global = chance(rng, 2);
    if (!n.global) n.ns = pick_from(rng, ns);
    n.name = "set" + std::to_string(i);
    n.labels["role"] = chance(rng, 2) ? "p" : "q";
    n.nets.push_back(net(pick_from(rng, kNets)));
    if (chance(rng, 3)) n.nets.push_back(net(pick_from(rng, kNets)));
    s.calico_network_sets.push_back(n);
  }
  size_t policies = 1 + pick(rng, 4);
  for (size_t i = 0; i < policies; ++i) {
    CalicoPolicy p;
    p.kind =
        chance(rng, 2) ? CalicoPolicyKind::GlobalNetworkPolicy : CalicoPolicyKind::NetworkPolicy;
    if (chance(rng, 8))
      p.kind = p.global() ? CalicoPolicyKind::StagedGlobalNetworkPolicy
                          : CalicoPolicyKind::StagedNetworkPolicy;
    if (!p.global()) p.ns = pick_from(rng, ns);
    // Names whose order differs between "name" and "namespace/name", and a name that is a
    // prefix of another ('-' sorts before '/'), for Felix's tie-break on equal order.
    p.name = pick_from(rng, std::vector<std::string>{"a", "z", "m-x", "m"}) + std::to_string(i);
    p.tier = "default";
    if (tiers > 0 && chance(rng, 2)) p.tier = kTierNames[pick(rng, tiers)];
    if (!chance(rng, 3)) p.order = pick_from(rng, std::vector<double>{10, 1000, 1000, 2000});
    p.selector = selector(pick_from(rng, kSelectors));
    if (p.global() && chance(rng, 4))
      p.namespace_selector = selector(pick_from(rng, kNamespaceSelectors));
    if (chance(rng, 8)) p.service_account_selector = selector("tier == 'data'");
    for (size_t k = pick(rng, 4); k > 0; --k) p.ingress.push_back(random_rule(rng));
    for (size_t k = pick(rng, 3); k > 0; --k) p.egress.push_back(random_rule(rng));
    if (chance(rng, 3)) {
      p.types_ingress = chance(rng, 2) || chance(rng, 2);
      p.types_egress = !p.types_ingress || chance(rng, 2);
    } else {  // Calico's defaulting, as the loader applies it
      p.types_egress = !p.egress.empty();
      p.types_ingress = !p.ingress.empty() || p.egress.empty();
    }
    s.calico_policies.push_back(std::move(p));
  }
}

std::string dump_calico(const ClusterState& s) {
  std::string out;
  auto entity = [](const CalicoEntity& e) {
    std::string o;
    if (e.selector) o += " sel[" + e.selector->text() + "]";
    if (e.not_selector) o += " notSel[" + e.not_selector->text() + "]";
    if (e.namespace_selector) o += " nsSel[" + e.namespace_selector->text() + "]";
    for (const Cidr& c : e.nets) o += " net " + c.str();
    for (const Cidr& c : e.not_nets) o += " notNet " + c.str();
    for (const CalicoPort& p : e.ports)
      o += " port " + (p.name.empty() ? std::to_string(p.lo) + ":" + std::to_string(p.hi) : p.name);
    for (const CalicoPort& p : e.not_ports)
      o += " notPort " +
           (p.name.empty() ? std::to_string(p.lo) + ":" + std::to_string(p.hi) : p.name);
    if (e.service_accounts) {
      o += " sa[";
      for (const std::string& n : e.service_accounts->names) o += n + " ";
      if (e.service_accounts->selector) o += e.service_accounts->selector->text();
      o += "]";
    }
    return o;
  };
  for (const CalicoTier& t : s.calico_tiers)
    out += "Tier " + t.name + " order " + (t.order ? std::to_string(*t.order) : "-") +
           (t.default_action == CalicoAction::Pass ? " pass" : "") + "\n";
  for (const CalicoNetworkSet& n : s.calico_network_sets) {
    out += (n.global ? "GlobalNetworkSet " : "NetworkSet " + n.ns + "/") + n.name +
           " role=" + n.labels.at("role");
    for (const Cidr& c : n.nets) out += " " + c.str();
    out += "\n";
  }
  for (const ServiceAccount& sa : s.service_accounts) out += "SA " + sa.ns + "/" + sa.name + "\n";
  for (const Pod& p : s.pods)
    if (!p.security.service_account.empty())
      out += "pod " + p.ns + "/" + p.name + " sa " + p.security.service_account + "\n";
  for (const CalicoPolicy& p : s.calico_policies) {
    out += std::string(to_string(p.kind)) + " " + (p.ns.empty() ? "" : p.ns + "/") + p.name +
           " tier " + p.tier + " order " + (p.order ? std::to_string(*p.order) : "-") + " sel[" +
           p.selector.text() + "]" +
           (p.namespace_selector ? " nsSel[" + p.namespace_selector->text() + "]" : "") +
           (p.service_account_selector ? " saSel" : "") + " types " + (p.types_ingress ? "I" : "") +
           (p.types_egress ? "E" : "") + "\n";
    for (const auto* rules : {&p.ingress, &p.egress})
      for (const CalicoRule& r : *rules)
        out += std::string("  ") + (rules == &p.ingress ? "in " : "eg ") +
               std::string(to_string(r.action)) +
               (r.protocol ? " proto " + r.protocol->written : "") +
               (r.not_protocol ? " notProto " + r.not_protocol->written : "") + " src{" +
               entity(r.source) + " } dst{" + entity(r.destination) + " }\n";
  }
  return out;
}

}  // namespace stockade::testing
