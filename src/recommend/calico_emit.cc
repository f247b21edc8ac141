#include "recommend/calico_emit.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>

namespace stockade {

namespace {

using ojson = nlohmann::ordered_json;

constexpr const char* kMetadataName = "kubernetes.io/metadata.name";
constexpr const char* kCalicoNamespaceName = "projectcalico.org/name";

// A key Calico gives endpoints itself (their namespace, service account, orchestrator, the
// namespace's and service account's labels): a pod label spelt so would not be what the
// selector reads.
bool calico_reserved_key(std::string_view key) {
  return key.starts_with("projectcalico.org/") || key.starts_with("pcns.") ||
         key.starts_with("pcsa.");
}

bool calico_key_chars(std::string_view key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '/' || c == '-';
  });
}

// Calico's selector strings have no escapes: a value is quoted with a quote it does not hold.
std::optional<std::string> selector_string(std::string_view v) {
  if (v.find('\'') == std::string_view::npos) return "'" + std::string(v) + "'";
  if (v.find('"') == std::string_view::npos) return "\"" + std::string(v) + "\"";
  return std::nullopt;
}

// The And chain of a parsed conjunction, left to right.
void conjuncts(const CalicoSelector::Node* n, std::vector<const CalicoSelector::Node*>& out) {
  if (n && n->op == CalicoSelector::Op::And) {
    conjuncts(n->a.get(), out);
    conjuncts(n->b.get(), out);
  } else {
    out.push_back(n);
  }
}

bool leaf_is(const CalicoSelector::Node* n, const SelectorRequirement& r) {
  using Op = CalicoSelector::Op;
  if (!n) return false;
  switch (r.op) {
    case SelectorOp::In:
      if (r.values.size() == 1) return n->op == Op::Eq && n->key == r.key && n->values == r.values;
      return n->op == Op::In && n->key == r.key && n->values == r.values;
    case SelectorOp::NotIn:
      return n->op == Op::NotIn && n->key == r.key && n->values == r.values;
    case SelectorOp::Exists:
      return n->op == Op::Has && n->key == r.key;
    case SelectorOp::DoesNotExist:
      return n->op == Op::Not && n->a && n->a->op == Op::Has && n->a->key == r.key;
  }
  return false;
}

void dump_selector(const CalicoSelector::Node* n, std::string& s) {
  if (!n) {
    s += "all()";
    return;
  }
  s += "(" + std::to_string(static_cast<int>(n->op)) + ":" + n->key;
  for (const std::string& v : n->values) s += "," + std::to_string(v.size()) + ":" + v;
  if (n->a) dump_selector(n->a.get(), s);
  if (n->b) dump_selector(n->b.get(), s);
  s += ")";
}

void dump_selector(const std::optional<CalicoSelector>& sel, std::string& s) {
  if (!sel) {
    s += "-";
    return;
  }
  dump_selector(sel->root(), s);
}

constexpr const char* kOrchestrator = "projectcalico.org/orchestrator";

struct Builder {
  const NetworkPolicy& np;
  std::string& error;
  const std::vector<CalicoNetworkSet>& network_sets;

  std::optional<CalicoSelector> selector(const LabelSelector& s, bool peer = false) {
    for (const SelectorRequirement& r : s.requirements)
      if (calico_reserved_key(r.key)) {
        fail("selects by the label key \"" + r.key +
             "\", which Calico reserves for the labels it gives endpoints itself");
        return std::nullopt;
      }
    std::string why;
    std::optional<CalicoSelector> out;
    if (peer && looks_like_a_set(s)) {
      LabelSelector pods_only = s;
      pods_only.requirements.push_back({kOrchestrator, SelectorOp::Exists, {}});
      out = calico_selector(pods_only, &why);
    } else {
      out = calico_selector(s, &why);
    }
    if (!out) fail(why);
    return out;
  }
  // Whether a NetworkSet of the input has labels `s` matches (in any namespace: a peer that
  // might select one is kept to pods, whatever its namespace scope).
  bool looks_like_a_set(const LabelSelector& s) const {
    return std::any_of(network_sets.begin(), network_sets.end(),
                       [&](const CalicoNetworkSet& set) { return s.matches(set.labels); });
  }
  std::optional<CalicoSelector> namespace_selector(const LabelSelector& s) {
    // One namespace by name: Calico's own label for it.
    if (s.requirements.size() == 1 && s.requirements[0].key == kMetadataName &&
        s.requirements[0].op == SelectorOp::In && s.requirements[0].values.size() == 1) {
      LabelSelector by_name;
      by_name.requirements.push_back(
          {kCalicoNamespaceName, SelectorOp::In, s.requirements[0].values});
      std::string why;
      auto out = calico_selector(by_name, &why);
      if (!out) fail(why);
      return out;
    }
    return selector(s);
  }
  void fail(const std::string& why) {
    if (error.empty())
      error = "NetworkPolicy " + np.ns + "/" + np.name + ": " + why +
              ": it cannot be written as a Calico policy (--output-kind networkpolicy can)";
  }
};

std::optional<CalicoProtocol> protocol_of(Protocol p) {
  CalicoProtocol c;
  c.written = std::string(to_string(p));
  c.number = p == Protocol::TCP ? 6 : p == Protocol::UDP ? 17 : 132;
  return c;
}

// One NetworkPolicy rule as Calico rules: one per peer and protocol, ports kept.
void translate_rule(const NetworkPolicyRule& r, const std::vector<PeerEvidence>* ev,
                    const std::vector<std::string>* names, bool ingress, Builder& b,
                    std::vector<CalicoRule>& out, std::vector<std::string>& evidence) {
  // Ports grouped by protocol, in the order protocols first appear; a protocol with a port
  // entry of no number or name is every port of it.
  struct Group {
    Protocol protocol;
    std::vector<CalicoPort> ports;
    bool every_port = false;
  };
  std::vector<Group> groups;
  for (const NetworkPolicyPort& p : r.ports) {
    const Protocol proto = p.effective_protocol();
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const Group& g) { return g.protocol == proto; });
    if (it == groups.end()) {
      groups.push_back({proto, {}, false});
      it = groups.end() - 1;
    }
    CalicoPort cp;
    if (p.kind == NetworkPolicyPort::Kind::Name) {
      cp.name = p.name;
    } else if (p.kind == NetworkPolicyPort::Kind::Number) {
      cp.lo = p.port;
      cp.hi = p.end_port ? p.end_port : p.port;
    } else {
      it->every_port = true;
      continue;
    }
    it->ports.push_back(std::move(cp));
  }
  for (Group& g : groups)
    if (g.every_port) g.ports.clear();

  // Peers: an empty list is every peer (an entity with nothing in it).
  std::vector<CalicoEntity> peers;
  std::vector<std::string> peer_ev;
  if (r.peers.empty()) {
    peers.emplace_back();
    peer_ev.push_back("every peer");
  }
  for (size_t k = 0; k < r.peers.size(); ++k) {
    const NetworkPolicyPeer& peer = r.peers[k];
    CalicoEntity e;
    if (peer.pod_selector || peer.namespace_selector) {
      if (peer.namespace_selector)
        e.namespace_selector = b.namespace_selector(*peer.namespace_selector);
      // In a namespaced policy an entity without namespaceSelector selects in the policy's
      // namespace, as a NetworkPolicy's podSelector alone does; a namespaceSelector alone
      // selects every endpoint (and network set) of those namespaces.
      const LabelSelector pods = peer.pod_selector.value_or(LabelSelector{});
      if (!peer.namespace_selector || !pods.empty() || b.looks_like_a_set(pods))
        e.selector = b.selector(pods, true);
      if (!e.selector) e.selector = CalicoSelector{};
    } else if (peer.ip_block) {
      e.nets.push_back(peer.ip_block->cidr);
      e.not_nets = peer.ip_block->except;
    } else {
      continue;  // a peer the loader would have refused
    }
    peers.push_back(std::move(e));
    peer_ev.push_back(ev && k < ev->size() ? emit::evidence((*ev)[k], names) : std::string());
  }

  for (size_t k = 0; k < peers.size(); ++k) {
    auto add = [&](const Group* g) {
      CalicoRule rule;
      rule.action = CalicoAction::Allow;
      if (g) rule.protocol = protocol_of(g->protocol);
      (ingress ? rule.source : rule.destination) = peers[k];
      if (g) rule.destination.ports = g->ports;
      out.push_back(std::move(rule));
      evidence.push_back(peer_ev[k]);
    };
    if (groups.empty())
      add(nullptr);
    else
      for (const Group& g : groups) add(&g);
  }
}

ojson selector_text(const CalicoSelector& s) {
  return s.text();
}

ojson entity_json(const CalicoEntity& e) {
  ojson j = ojson::object();
  if (e.namespace_selector) j["namespaceSelector"] = selector_text(*e.namespace_selector);
  if (e.selector) j["selector"] = selector_text(*e.selector);
  if (!e.nets.empty()) {
    ojson a = ojson::array();
    for (const Cidr& c : e.nets) a.push_back(c.str());
    j["nets"] = std::move(a);
  }
  if (!e.not_nets.empty()) {
    ojson a = ojson::array();
    for (const Cidr& c : e.not_nets) a.push_back(c.str());
    j["notNets"] = std::move(a);
  }
  if (!e.ports.empty()) {
    ojson a = ojson::array();
    for (const CalicoPort& p : e.ports) {
      if (!p.name.empty())
        a.push_back(p.name);
      else if (p.lo == p.hi)
        a.push_back(p.lo);
      else
        a.push_back(std::to_string(p.lo) + ":" + std::to_string(p.hi));
    }
    j["ports"] = std::move(a);
  }
  return j;
}

ojson rules_json(const std::vector<CalicoRule>& rules, const std::vector<std::string>& evidence,
                 bool comments) {
  ojson a = ojson::array();
  for (size_t i = 0; i < rules.size(); ++i) {
    const CalicoRule& r = rules[i];
    ojson j = ojson::object();
    if (comments && i < evidence.size() && !evidence[i].empty()) j["#"] = evidence[i];
    j["action"] = std::string(to_string(r.action));
    if (r.protocol) j["protocol"] = r.protocol->written;
    if (!r.source.empty()) j["source"] = entity_json(r.source);
    if (!r.destination.empty()) j["destination"] = entity_json(r.destination);
    a.push_back(std::move(j));
  }
  return a;
}

ojson calico_policy_json(const RecommendedCalicoPolicy& rp, bool comments) {
  const CalicoPolicy& p = rp.policy;
  ojson meta = {{"name", p.name}, {"namespace", p.ns}};
  meta["labels"] = {{"app.kubernetes.io/managed-by", "stockade"}};
  ojson ann = ojson::object();
  for (const auto& [k, v] : rp.annotations) ann[k] = v;
  if (!ann.empty()) meta["annotations"] = std::move(ann);
  ojson spec = ojson::object();
  spec["tier"] = p.tier;
  if (p.order) {
    const double o = *p.order;
    if (o == static_cast<double>(static_cast<int64_t>(o)))
      spec["order"] = static_cast<int64_t>(o);
    else
      spec["order"] = o;
  }
  spec["selector"] = selector_text(p.selector);
  ojson types = ojson::array();
  if (p.types_ingress) types.push_back("Ingress");
  if (p.types_egress) types.push_back("Egress");
  spec["types"] = std::move(types);
  if (!p.ingress.empty()) spec["ingress"] = rules_json(p.ingress, rp.ingress_evidence, comments);
  if (!p.egress.empty()) spec["egress"] = rules_json(p.egress, rp.egress_evidence, comments);
  return ojson{{"apiVersion", "projectcalico.org/v3"},
               {"kind", "NetworkPolicy"},
               {"metadata", std::move(meta)},
               {"spec", std::move(spec)}};
}

}  // namespace

std::optional<CalicoSelector> calico_selector(const LabelSelector& s, std::string* error) {
  std::string text;
  for (const SelectorRequirement& r : s.requirements) {
    if (!calico_key_chars(r.key)) {
      if (error) *error = "the label key \"" + r.key + "\" is not a Calico selector key";
      return std::nullopt;
    }
    std::vector<std::string> values;
    for (const std::string& v : r.values) {
      auto q = selector_string(v);
      if (!q) {
        if (error)
          *error = "a value of the label key \"" + r.key +
                   "\" holds both quote characters, which a Calico selector cannot write";
        return std::nullopt;
      }
      values.push_back(std::move(*q));
    }
    auto set = [&] {
      std::string t = "{";
      for (size_t i = 0; i < values.size(); ++i) t += (i ? ", " : "") + values[i];
      return t + "}";
    };
    if (!text.empty()) text += " && ";
    switch (r.op) {
      case SelectorOp::In:
        text += values.size() == 1 ? r.key + " == " + values[0] : r.key + " in " + set();
        break;
      case SelectorOp::NotIn:
        text += r.key + " not in " + set();
        break;
      case SelectorOp::Exists:
        text += "has(" + r.key + ")";
        break;
      case SelectorOp::DoesNotExist:
        text += "!has(" + r.key + ")";
        break;
    }
  }
  if (text.empty()) text = "all()";
  std::string why;
  auto parsed = CalicoSelector::parse(text, &why);
  // What was written must read back as exactly these requirements: a key or value that the
  // grammar reads otherwise (an operator, a closing quote) is refused, never written.
  bool same = parsed.has_value();
  if (same && s.requirements.empty()) same = parsed->is_all();
  if (same && !s.requirements.empty()) {
    std::vector<const CalicoSelector::Node*> leaves;
    conjuncts(parsed->root(), leaves);
    same = leaves.size() == s.requirements.size();
    for (size_t i = 0; same && i < leaves.size(); ++i) same = leaf_is(leaves[i], s.requirements[i]);
  }
  if (!same) {
    if (error) *error = "the selector cannot be written as a Calico selector expression";
    return std::nullopt;
  }
  return parsed;
}

CalicoRecommendation to_calico(const Recommendation& rec,
                               const std::vector<CalicoNetworkSet>& network_sets) {
  CalicoRecommendation out;
  for (const RecommendedPolicy& rp : rec.policies) {
    const NetworkPolicy& np = rp.policy;
    Builder b{np, out.error, network_sets};
    RecommendedCalicoPolicy cp;
    cp.annotations = rp.annotations;
    CalicoPolicy& p = cp.policy;
    p.kind = CalicoPolicyKind::NetworkPolicy;
    p.ns = np.ns;
    p.name = np.name;
    p.tier = "default";
    p.order = kRecommendedCalicoOrder;
    p.file = "<recommended>";
    if (auto s = b.selector(np.pod_selector)) p.selector = std::move(*s);
    p.types_ingress = np.affects_ingress;
    p.types_egress = np.affects_egress;
    p.types_written = true;
    for (bool ingress : {true, false}) {
      if (!(ingress ? np.affects_ingress : np.affects_egress)) continue;
      const auto& rules = ingress ? np.ingress : np.egress;
      const auto& evidence = ingress ? rp.ingress_evidence : rp.egress_evidence;
      for (size_t i = 0; i < rules.size(); ++i)
        translate_rule(rules[i], i < evidence.size() ? &evidence[i] : nullptr, rp.names.get(),
                       ingress, b, ingress ? p.ingress : p.egress,
                       ingress ? cp.ingress_evidence : cp.egress_evidence);
    }
    if (!out.error.empty()) return out;
    out.policies.push_back(std::move(cp));
  }
  return out;
}

ClusterState with_calico_recommendation(const ClusterState& state, const CalicoRecommendation& c,
                                        bool replace,
                                        const std::vector<ClusterPolicy>& guardrails) {
  ClusterState s = state;
  if (replace) s.network_policies.clear();
  for (const RecommendedCalicoPolicy& p : c.policies) s.calico_policies.push_back(p.policy);
  for (const ClusterPolicy& p : guardrails) s.cluster_policies.push_back(p);
  return s;
}

std::string render_calico_policy_yaml(const RecommendedCalicoPolicy& p) {
  return emit::yaml_document(calico_policy_json(p, true));
}

std::string render_calico_policy_json(const RecommendedCalicoPolicy& p, int indent) {
  return calico_policy_json(p, false).dump(indent, ' ', false, ojson::error_handler_t::replace);
}

std::string render_calico_yaml(const CalicoRecommendation& r,
                               const std::vector<ClusterPolicy>& guardrails, bool low_confidence) {
  std::string out;
  for (const RecommendedCalicoPolicy& p : r.policies) {
    out += "---\n";
    out += render_calico_policy_yaml(p);
  }
  for (const ClusterPolicy& p : guardrails) {
    out += "---\n";
    out += render_cluster_policy_yaml(p, low_confidence);
  }
  return out;
}

std::string render_calico_json(const CalicoRecommendation& r,
                               const std::vector<ClusterPolicy>& guardrails, bool low_confidence) {
  ojson items = ojson::array();
  for (const RecommendedCalicoPolicy& p : r.policies) items.push_back(calico_policy_json(p, false));
  for (const ClusterPolicy& p : guardrails)
    items.push_back(ojson::parse(render_cluster_policy_json(p, -1, low_confidence)));
  ojson list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", std::move(items)}};
  return list.dump(2, ' ', false, ojson::error_handler_t::replace) + "\n";
}

std::string canonical_calico(const CalicoPolicy& p) {
  std::string s =
      std::string(to_string(p.kind)) + "/" + p.ns + "/" + p.name + "|tier:" + p.tier + "|order:";
  if (p.order) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", *p.order);
    s += buf;
  } else {
    s += "-";
  }
  s += "|sel:";
  dump_selector(p.selector.root(), s);
  s += "|nssel:";
  dump_selector(p.namespace_selector, s);
  s += "|sasel:";
  dump_selector(p.service_account_selector, s);
  s += std::string("|types:") + (p.types_ingress ? "I" : "") + (p.types_egress ? "E" : "") +
       (p.host_only ? "|host" : "") + "|staged:" + p.staged_action;
  auto ports = [&](const std::vector<CalicoPort>& v) {
    s += "[";
    for (const CalicoPort& port : v)
      s += std::to_string(port.lo) + "-" + std::to_string(port.hi) + "/" + port.name + ",";
    s += "]";
  };
  auto entity = [&](const CalicoEntity& e) {
    s += "{nets";
    for (const Cidr& c : e.nets) s += "," + c.str();
    s += ";notnets";
    for (const Cidr& c : e.not_nets) s += "," + c.str();
    s += ";sel";
    dump_selector(e.selector, s);
    s += ";notsel";
    dump_selector(e.not_selector, s);
    s += ";nssel";
    dump_selector(e.namespace_selector, s);
    s += ";ports";
    ports(e.ports);
    s += ";notports";
    ports(e.not_ports);
    s += ";sa";
    if (e.service_accounts) {
      for (const std::string& n : e.service_accounts->names) s += "," + n;
      dump_selector(e.service_accounts->selector, s);
    } else {
      s += "-";
    }
    s += ";svc";
    if (e.service) s += e.service->ns + "/" + e.service->name;
    s += "}";
  };
  auto rules = [&](const std::vector<CalicoRule>& rs, const char* dir) {
    s += std::string("|") + dir;
    for (const CalicoRule& r : rs) {
      s += "[" + std::string(to_string(r.action));
      s += ";proto:" + (r.protocol ? std::to_string(r.protocol->number) : std::string("-"));
      s += ";notproto:" +
           (r.not_protocol ? std::to_string(r.not_protocol->number) : std::string("-"));
      s += std::string(";icmp:") + (r.icmp ? "1" : "0") + ";http:" + (r.http ? "1" : "0") +
           ";ipv:" + r.ip_version + ";src";
      entity(r.source);
      s += ";dst";
      entity(r.destination);
      s += "]";
    }
  };
  rules(p.ingress, "in");
  rules(p.egress, "eg");
  return s;
}

}  // namespace stockade
