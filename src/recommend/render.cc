#include "recommend/render.h"

#include <set>
#include <string_view>

#include "recommend/recommend_impl.h"
#include "recommend/yaml_writer.h"

namespace stockade {

using namespace rec;

namespace {

ojson selector_json(const LabelSelector& s) {
  ojson j = ojson::object();
  ojson ml = ojson::object(), me = ojson::array();
  for (const SelectorRequirement& r : s.requirements) {
    if (r.op == SelectorOp::In && r.values.size() == 1 && !ml.contains(r.key)) {
      ml[r.key] = r.values.front();
      continue;
    }
    ojson e = {{"key", r.key}, {"operator", std::string(to_string(r.op))}};
    if (r.op == SelectorOp::In || r.op == SelectorOp::NotIn) e["values"] = r.values;
    me.push_back(std::move(e));
  }
  if (!ml.empty()) j["matchLabels"] = std::move(ml);
  if (!me.empty()) j["matchExpressions"] = std::move(me);
  return j;
}

ojson ports_json(const std::vector<NetworkPolicyPort>& ports) {
  ojson a = ojson::array();
  for (const NetworkPolicyPort& p : ports) {
    ojson j = {{"protocol", std::string(to_string(p.effective_protocol()))}};
    if (p.kind == NetworkPolicyPort::Kind::Name)
      j["port"] = p.name;
    else if (p.kind == NetworkPolicyPort::Kind::Number)
      j["port"] = p.port;
    a.push_back(std::move(j));
  }
  return a;
}

// The policy as an object; with `comments`, peers carry a "#" member (evidence) that the YAML
// writer turns into a comment line.
ojson policy_json(const RecommendedPolicy& rp, bool comments) {
  const NetworkPolicy& p = rp.policy;
  ojson meta = {{"name", p.name}, {"namespace", p.ns}};
  meta["labels"] = {{"app.kubernetes.io/managed-by", "stockade"}};
  ojson ann = ojson::object();
  for (const auto& [k, v] : rp.annotations) ann[k] = v;
  if (!ann.empty()) meta["annotations"] = std::move(ann);
  ojson spec = ojson::object();
  spec["podSelector"] = selector_json(p.pod_selector);
  ojson types = ojson::array();
  if (p.affects_ingress) types.push_back("Ingress");
  if (p.affects_egress) types.push_back("Egress");
  spec["policyTypes"] = types;
  auto rules = [&](const std::vector<NetworkPolicyRule>& rs,
                   const std::vector<std::vector<PeerEvidence>>& ev, const char* peers_key) {
    ojson a = ojson::array();
    for (size_t i = 0; i < rs.size(); ++i) {
      ojson r = ojson::object();
      ojson peers = ojson::array();
      for (size_t k = 0; k < rs[i].peers.size(); ++k) {
        const NetworkPolicyPeer& peer = rs[i].peers[k];
        ojson pj = ojson::object();
        if (comments && i < ev.size() && k < ev[i].size())
          pj["#"] = evidence_text_raw(ev[i][k], rp.names.get());
        if (peer.pod_selector) pj["podSelector"] = selector_json(*peer.pod_selector);
        if (peer.namespace_selector)
          pj["namespaceSelector"] = selector_json(*peer.namespace_selector);
        if (peer.ip_block) {
          pj["ipBlock"] = {{"cidr", peer.ip_block->cidr.str()}};
          if (!peer.ip_block->except.empty()) {
            ojson ex = ojson::array();
            for (const Cidr& c : peer.ip_block->except) ex.push_back(c.str());
            pj["ipBlock"]["except"] = std::move(ex);
          }
        }
        peers.push_back(std::move(pj));
      }
      r[peers_key] = std::move(peers);
      r["ports"] = ports_json(rs[i].ports);
      a.push_back(std::move(r));
    }
    return a;
  };
  if (p.affects_ingress && !p.ingress.empty())
    spec["ingress"] = rules(p.ingress, rp.ingress_evidence, "from");
  if (p.affects_egress && !p.egress.empty())
    spec["egress"] = rules(p.egress, rp.egress_evidence, "to");
  return ojson{{"apiVersion", "networking.k8s.io/v1"},
               {"kind", "NetworkPolicy"},
               {"metadata", std::move(meta)},
               {"spec", std::move(spec)}};
}

// The same YAML as yaml_object(policy_json(p, true)) writes, without building the tree: a
// recommendation for a large cluster is tens of megabytes (checked byte for byte in tests).

void put_string(std::string& out, std::string_view v) {
  bool simple = true;
  for (unsigned char c : v) simple = simple && c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  if (!simple) {
    out += yaml_scalar(ojson(std::string(v)));
    return;
  }
  out += '"';
  out += v;
  out += '"';
}

void put_key(std::string& out, std::string_view k) {
  if (plain_key(k))
    out += k;
  else
    put_string(out, k);
}

void put_pad(std::string& out, int indent, bool item) {
  out.append(static_cast<size_t>(item ? indent - 2 : indent), ' ');
  if (item) out += "- ";
}

// "KEY:" + selector members at indent + 2; `item`: the key opens an array element.
void put_selector(std::string& out, int indent, bool item, std::string_view key,
                  const LabelSelector& s) {
  put_pad(out, indent, item);
  put_key(out, key);
  if (s.empty()) {
    out += ": {}\n";
    return;
  }
  out += ":\n";
  // As selector_json: In with one value -> matchLabels (first occurrence of a key), else
  // matchExpressions.
  std::vector<const SelectorRequirement*> labels, exprs;
  std::set<std::string_view> seen;
  for (const SelectorRequirement& r : s.requirements) {
    if (r.op == SelectorOp::In && r.values.size() == 1 && seen.insert(r.key).second)
      labels.push_back(&r);
    else
      exprs.push_back(&r);
  }
  // ordered_json keeps the first insertion of a key: a later duplicate overwrote the value.
  if (!labels.empty()) {
    put_pad(out, indent + 2, false);
    out += "matchLabels:\n";
    for (const SelectorRequirement* r : labels) {
      put_pad(out, indent + 4, false);
      put_key(out, r->key);
      out += ": ";
      put_string(out, r->values.front());
      out += '\n';
    }
  }
  if (!exprs.empty()) {
    put_pad(out, indent + 2, false);
    out += "matchExpressions:\n";
    for (const SelectorRequirement* r : exprs) {
      put_pad(out, indent + 4, true);
      out += "key: ";
      put_string(out, r->key);
      out += '\n';
      put_pad(out, indent + 4, false);
      out += "operator: ";
      put_string(out, to_string(r->op));
      out += '\n';
      if (r->op == SelectorOp::In || r->op == SelectorOp::NotIn) {
        put_pad(out, indent + 4, false);
        if (r->values.empty()) {
          out += "values: []\n";
          continue;
        }
        out += "values:\n";
        for (const std::string& v : r->values) {
          put_pad(out, indent + 6, true);
          put_string(out, v);
          out += '\n';
        }
      }
    }
  }
}

void put_rules(std::string& out, const std::vector<NetworkPolicyRule>& rules,
               const std::vector<std::vector<PeerEvidence>>& evidence, const char* key,
               const char* peers_key, const std::vector<std::string>* names) {
  out += "  ";
  out += key;
  out += ":\n";
  for (size_t i = 0; i < rules.size(); ++i) {
    const NetworkPolicyRule& r = rules[i];
    put_pad(out, 4, true);
    out += peers_key;
    if (r.peers.empty()) {
      out += ": []\n";
    } else {
      out += ":\n";
      for (size_t k = 0; k < r.peers.size(); ++k) {
        const NetworkPolicyPeer& peer = r.peers[k];
        if (i < evidence.size() && k < evidence[i].size()) {
          out += "    # ";
          out += evidence_text(evidence[i][k], names);
          out += '\n';
        }
        bool item = true;
        if (peer.pod_selector) {
          put_selector(out, 6, item, "podSelector", *peer.pod_selector);
          item = false;
        }
        if (peer.namespace_selector) {
          put_selector(out, 6, item, "namespaceSelector", *peer.namespace_selector);
          item = false;
        }
        if (peer.ip_block) {
          put_pad(out, 6, item);
          out += "ipBlock:\n        cidr: ";
          put_string(out, peer.ip_block->cidr.str());
          out += '\n';
          if (!peer.ip_block->except.empty()) {
            out += "        except:\n";
            for (const Cidr& c : peer.ip_block->except) {
              out += "        - ";
              put_string(out, c.str());
              out += '\n';
            }
          }
          item = false;
        }
        if (item) out += "    - {}\n";
      }
    }
    put_pad(out, 4, false);
    if (r.ports.empty()) {
      out += "ports: []\n";
      continue;
    }
    out += "ports:\n";
    for (const NetworkPolicyPort& port : r.ports) {
      put_pad(out, 6, true);  // "    - "
      out += "protocol: ";
      put_string(out, to_string(port.effective_protocol()));
      out += '\n';
      if (port.kind == NetworkPolicyPort::Kind::Name) {
        out += "      port: ";
        put_string(out, port.name);
        out += '\n';
      } else if (port.kind == NetworkPolicyPort::Kind::Number) {
        out += "      port: " + std::to_string(port.port) + "\n";
      }
    }
  }
}

}  // namespace

namespace emit {

nlohmann::ordered_json selector(const LabelSelector& s) {
  return selector_json(s);
}

}  // namespace emit

std::string render_policy_yaml(const RecommendedPolicy& rp) {
  const NetworkPolicy& p = rp.policy;
  std::string out;
  out.reserve(1024);
  out += "apiVersion: \"networking.k8s.io/v1\"\nkind: \"NetworkPolicy\"\nmetadata:\n  name: ";
  put_string(out, p.name);
  out += "\n  namespace: ";
  put_string(out, p.ns);
  out += "\n  labels:\n    \"app.kubernetes.io/managed-by\": \"stockade\"\n";
  if (!rp.annotations.empty()) {
    out += "  annotations:\n";
    for (const auto& [k, v] : rp.annotations) {
      out += "    ";
      put_key(out, k);
      out += ": ";
      put_string(out, v);
      out += '\n';
    }
  }
  out += "spec:\n";
  put_selector(out, 2, false, "podSelector", p.pod_selector);
  out += "  policyTypes:";
  if (!p.affects_ingress && !p.affects_egress) out += " []";
  out += '\n';
  if (p.affects_ingress) out += "  - \"Ingress\"\n";
  if (p.affects_egress) out += "  - \"Egress\"\n";
  if (p.affects_ingress && !p.ingress.empty())
    put_rules(out, p.ingress, rp.ingress_evidence, "ingress", "from", rp.names.get());
  if (p.affects_egress && !p.egress.empty())
    put_rules(out, p.egress, rp.egress_evidence, "egress", "to", rp.names.get());
  return out;
}

std::string render_policy_yaml_via_tree(const RecommendedPolicy& p) {
  std::string out;
  yaml_object(policy_json(p, true), 0, out, false);
  return out;
}

std::string render_policy_json(const RecommendedPolicy& p, int indent) {
  return policy_json(p, false).dump(indent, ' ', false, ojson::error_handler_t::replace);
}

static ojson cluster_selector_json(const LabelSelector& s) {
  return selector_json(s);
}

static ojson pod_set_json(const ClusterPodSet& s, bool subject) {
  if (!s.pod_selector) return {{"namespaces", cluster_selector_json(s.namespace_selector)}};
  (void)subject;
  return {{"pods",
           {{"namespaceSelector", cluster_selector_json(s.namespace_selector)},
            {"podSelector", cluster_selector_json(*s.pod_selector)}}}};
}

static ojson cluster_policy_json(const ClusterPolicy& p, bool low_confidence) {
  const bool cnp = p.kind == ClusterPolicyKind::ClusterNetworkPolicy;
  ojson spec = ojson::object();
  if (cnp) spec["tier"] = std::string(to_string(p.tier));
  spec["priority"] = p.priority;
  spec["subject"] = pod_set_json(p.subject, true);
  auto rules = [&](const std::vector<ClusterPolicyRule>& rs, const char* peers_key) {
    ojson a = ojson::array();
    for (const ClusterPolicyRule& r : rs) {
      ojson j = ojson::object();
      j["name"] = r.name;
      j["action"] = r.action == RuleAction::Allow ? (cnp ? "Accept" : "Allow")
                                                  : std::string(to_string(r.action));
      ojson peers = ojson::array();
      for (const ClusterPeer& peer : r.peers) {
        if (peer.kind == ClusterPeer::Kind::Networks) {
          ojson nets = ojson::array();
          for (const Cidr& c : peer.networks) nets.push_back(c.str());
          peers.push_back({{"networks", nets}});
        } else if (peer.kind == ClusterPeer::Kind::DomainNames) {
          ojson names = ojson::array();
          for (const std::string& n : peer.domain_names) names.push_back(n);
          peers.push_back({{"domainNames", names}});
        } else {
          peers.push_back(pod_set_json(peer.pods, false));
        }
      }
      j[peers_key] = std::move(peers);
      if (r.ports) {
        ojson ports = ojson::array();
        for (const ClusterPolicyPort& port : *r.ports) {
          if (cnp && port.kind == ClusterPolicyPort::Kind::Range)
            ports.push_back(
                {{lower(std::string(to_string(port.protocol))),
                  {{"destinationPort", {{"range", {{"start", port.start}, {"end", port.end}}}}}}}});
          else if (cnp)
            ports.push_back({{lower(std::string(to_string(port.protocol))),
                              {{"destinationPort", {{"number", port.start}}}}}});
          else
            ports.push_back(
                {{"portNumber",
                  {{"protocol", std::string(to_string(port.protocol))}, {"port", port.start}}}});
        }
        j[cnp ? "protocols" : "ports"] = std::move(ports);
      }
      a.push_back(std::move(j));
    }
    return a;
  };
  if (!p.ingress.empty()) spec["ingress"] = rules(p.ingress, "from");
  if (!p.egress.empty()) spec["egress"] = rules(p.egress, "to");
  ojson meta = {{"name", p.name},
                {"labels", {{"app.kubernetes.io/managed-by", "stockade"}}},
                {"annotations", {{"stockade.io/generated-by", "stockade recommend --guardrails"}}}};
  if (low_confidence) meta["annotations"]["stockade.io/confidence"] = "low";
  std::string api = !p.api_version.empty() ? p.api_version
                    : cnp                  ? std::string(kCnpV1beta1)
                                           : std::string(kAnpV1alpha1);
  return ojson{{"apiVersion", std::move(api)},
               {"kind", std::string(to_string(p.kind))},
               {"metadata", std::move(meta)},
               {"spec", std::move(spec)}};
}

std::string render_cluster_policy_yaml(const ClusterPolicy& p, bool low_confidence) {
  std::string out;
  yaml_object(cluster_policy_json(p, low_confidence), 0, out, false);
  return out;
}

std::string render_cluster_policy_json(const ClusterPolicy& p, int indent, bool low_confidence) {
  return cluster_policy_json(p, low_confidence)
      .dump(indent, ' ', false, ojson::error_handler_t::replace);
}

std::string render_yaml(const Recommendation& r) {
  std::string out;
  for (size_t i = 0; i < r.policies.size(); ++i) {
    out += "---\n";
    out += render_policy_yaml(r.policies[i]);
  }
  for (const ClusterPolicy& p : r.guardrails) {
    out += "---\n";
    out += render_cluster_policy_yaml(p, r.low_confidence);
  }
  return out;
}

std::string render_json(const Recommendation& r) {
  ojson items = ojson::array();
  for (const RecommendedPolicy& p : r.policies) items.push_back(policy_json(p, false));
  for (const ClusterPolicy& p : r.guardrails)
    items.push_back(cluster_policy_json(p, r.low_confidence));
  ojson list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", std::move(items)}};
  return list.dump(2, ' ', false, ojson::error_handler_t::replace) + "\n";
}

}  // namespace stockade
