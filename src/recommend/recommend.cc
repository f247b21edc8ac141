#include "recommend/recommend.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "input/loader.h"
#include "recommend/calico_emit.h"
#include "recommend/cilium_emit.h"

namespace stockade {

bool is_dns_port(const Endpoint& dst, Protocol protocol, uint16_t port) {
  if (protocol != Protocol::UDP && protocol != Protocol::TCP) return false;
  if (port == 53) return true;
  for (const ContainerPort& cp : dst.pod.ports)
    if (cp.port == port && cp.name.starts_with("dns")) return true;
  // A DNS server on an unnamed port: the cluster DNS pods' conventional label, over UDP.
  auto app = dst.pod.labels.find("k8s-app");
  return protocol == Protocol::UDP && app != dst.pod.labels.end() &&
         (app->second == "kube-dns" || app->second == "coredns");
}

namespace {

using ojson = nlohmann::ordered_json;
constexpr const char* kMetadataName = "kubernetes.io/metadata.name";

// The pods one policy selects: a top-level workload's pods, or a pod without an owner.
struct Unit {
  std::string ns, name, kind;
  LabelSelector selector;
  std::vector<uint32_t> endpoints;
  bool host_network = false;
  bool broad = false;  // no stable label: the selector picks every pod of the namespace
  std::string base;    // policy name stem
};

struct PortSpec {
  Protocol protocol = Protocol::TCP;
  std::string name;  // named port, else `number`
  uint16_t number = 0;
  friend auto operator<=>(const PortSpec&, const PortSpec&) = default;
};

struct Evidence {
  uint64_t connections = 0;
  uint64_t edges = 0;
  int64_t first = 0, last = 0;
  void add(const EdgeStats& s) {
    connections += s.established;
    ++edges;
    if (s.first_seen && (!first || s.first_seen < first)) first = s.first_seen;
    if (s.last_seen > last) last = s.last_seen;
  }
  void add(const Evidence& o) {
    connections += o.connections;
    edges += o.edges;
    if (o.first && (!first || o.first < first)) first = o.first;
    if (o.last > last) last = o.last;
  }
};

LabelSelector selector_of_labels(const Labels& l) {
  LabelSelector s;
  for (const auto& [k, v] : l) s.requirements.push_back({k, SelectorOp::In, {v}});
  return s;
}

bool selector_is_stable(const LabelSelector& s) {
  for (const SelectorRequirement& r : s.requirements)
    if (is_per_pod_label(r.key)) return false;
  return !s.empty();
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// A DNS-1123 subdomain name no longer than 253 characters.
std::string policy_name(const std::string& stem) {
  if (stem.size() <= 253) return stem;
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : stem) h = (h ^ c) * 0x100000001b3ULL;
  char buf[20];
  std::snprintf(buf, sizeof buf, "-%08x", static_cast<unsigned>(h & 0xffffffffu));
  std::string s = stem.substr(0, 244);
  while (!s.empty() && (s.back() == '-' || s.back() == '.')) s.pop_back();
  return s + buf;
}

std::string evidence_text_raw(const PeerEvidence& e, const std::vector<std::string>* names);

// Text that goes into a YAML comment: one line whatever it holds. Every byte outside printable
// ASCII (newlines, CR, other control characters, and the bytes of NEL, U+2028 and U+2029,
// which YAML 1.1 readers also take for line breaks) and the backslash are written \xNN.
std::string comment_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string evidence_text(const PeerEvidence& e, const std::vector<std::string>* names) {
  return comment_text(evidence_text_raw(e, names));
}

std::string evidence_text_raw(const PeerEvidence& e, const std::vector<std::string>* names) {
  std::string s;
  if (!e.declared.empty() && e.connections == 0) {
    if (e.name != UINT32_MAX && names && e.name < names->size())
      s = (*names)[e.name];
    else if (e.external)
      s = e.cidr.str() + " (outside the cluster)";
    else
      s = "every pod of the cluster";
    return s + ": declared by " + e.declared + "; kept whether observed or not";
  }
  if (e.name != UINT32_MAX && names && e.name < names->size())
    s = (*names)[e.name];
  else if (e.addresses > 1)
    s = e.cidr.str() + " (external, " + std::to_string(e.addresses) + " addresses)";
  else
    s = e.cidr.network.str() + (e.external ? " (external)" : " (node)");
  s += ": " + std::to_string(e.connections) + (e.connections == 1 ? " connection" : " connections");
  if (e.first) s += ", first " + format_rfc3339(e.first);
  if (e.last) s += ", last " + format_rfc3339(e.last);
  if (!e.declared.empty()) s += "; also declared by " + e.declared;
  return s;
}

// Merges external addresses into covering prefixes, narrowest first, until at most `limit`
// remain or the widest allowed prefix is reached.
std::vector<std::pair<Cidr, std::vector<size_t>>> aggregate(const std::vector<IpAddr>& ips,
                                                            size_t limit, uint8_t min_prefix) {
  std::vector<std::pair<Cidr, std::vector<size_t>>> out;
  for (size_t i = 0; i < ips.size(); ++i) {
    Cidr c;
    c.network = ips[i];
    c.prefix = static_cast<uint8_t>(ips[i].bits());
    out.push_back({c, {i}});
  }
  if (ips.empty()) return out;
  const int bits = ips.front().bits();
  for (int p = bits - 1; p >= min_prefix && out.size() > limit; --p) {
    std::vector<std::pair<Cidr, std::vector<size_t>>> next;
    for (auto& item : out) {
      auto net = Cidr::parse(item.first.network.str() + "/" + std::to_string(p));
      if (!next.empty() && net && next.back().first.prefix <= p &&
          next.back().first.contains(item.first.network) && next.back().first.contains(*net)) {
        // already covered by the previous, wider group
        auto& v = next.back().second;
        v.insert(v.end(), item.second.begin(), item.second.end());
        continue;
      }
      if (!next.empty() && net && next.back().first.prefix > p) {
        auto prev = Cidr::parse(next.back().first.network.str() + "/" + std::to_string(p));
        if (prev && *prev == *net) {
          next.back().first = *net;
          auto& v = next.back().second;
          v.insert(v.end(), item.second.begin(), item.second.end());
          continue;
        }
      }
      next.push_back(std::move(item));
    }
    out = std::move(next);
  }
  return out;
}

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

// Strings are written as JSON string literals, which YAML reads as double-quoted scalars, with
// everything outside ASCII escaped: a raw NEL or U+2028 inside double quotes would be folded
// into a space by a YAML 1.1 reader.
// JSON writes a character outside the BMP as a UTF-16 surrogate pair (\ud83d\ude00), which YAML
// refuses: it takes \U0001f600.
std::string yaml_surrogates(std::string s) {
  if (s.find("\\ud") == std::string::npos && s.find("\\uD") == std::string::npos) return s;
  auto hex = [&](size_t at) { return std::stoul(s.substr(at, 4), nullptr, 16); };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    if (s[i + 1] == 'u' && i + 11 < s.size() && s[i + 6] == '\\' && s[i + 7] == 'u') {
      unsigned long hi = hex(i + 2), lo = hex(i + 8);
      if (hi >= 0xD800 && hi <= 0xDBFF && lo >= 0xDC00 && lo <= 0xDFFF) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "\\U%08lx", 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00));
        out += buf;
        i += 11;
        continue;
      }
    }
    out += s[i];  // an escape: its next character is copied as is
    out += s[++i];
  }
  return out;
}

std::string yaml_scalar(const ojson& v) {
  if (v.is_string()) return yaml_surrogates(v.dump(-1, ' ', true, ojson::error_handler_t::replace));
  return v.dump();
}

// A key is written plain only when no YAML reader can take it for anything but that string:
// a letter, then letters, digits, '_' and '-', and not one of YAML 1.1's booleans or nulls
// (go-yaml, which kubectl uses, reads a plain `on:` or `y:` key as true).
bool plain_key(std::string_view k) {
  if (k.empty() || !((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z'))) return false;
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  static constexpr std::string_view kSpecial[] = {
      "y",    "Y",    "yes",   "Yes",   "YES",   "n",   "N",   "no",  "No",  "NO",  "true",
      "True", "TRUE", "false", "False", "FALSE", "on",  "On",  "ON",  "off", "Off", "OFF",
      "null", "Null", "NULL",  "nan",   "NaN",   "NAN", "inf", "Inf", "INF"};
  for (std::string_view sp : kSpecial)
    if (k == sp) return false;
  return true;
}

void yaml_emit(const ojson& v, int indent, std::string& out, bool first_is_item);

// Writes the members of an object at `indent`; when `item`, the first line starts with "- ".
void yaml_object(const ojson& obj, int indent, std::string& out, bool item) {
  bool first = true;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it.key() == "#") continue;
    std::string pad(static_cast<size_t>(indent), ' ');
    if (first && item) pad.replace(pad.size() - 2, 2, "- ");
    first = false;
    std::string key = it.key();
    std::string k = plain_key(key) ? key : yaml_scalar(ojson(key));
    const ojson& val = it.value();
    if (val.is_object()) {
      if (val.empty()) {
        out += pad + k + ": {}\n";
      } else {
        out += pad + k + ":\n";
        yaml_object(val, indent + 2, out, false);
      }
    } else if (val.is_array()) {
      if (val.empty()) {
        out += pad + k + ": []\n";
      } else {
        out += pad + k + ":\n";
        for (const ojson& e : val) yaml_emit(e, indent, out, true);
      }
    } else {
      out += pad + k + ": " + yaml_scalar(val) + "\n";
    }
  }
}

// An array element at `indent` ("- " at indent, members at indent + 2).
void yaml_emit(const ojson& v, int indent, std::string& out, bool) {
  std::string pad(static_cast<size_t>(indent), ' ');
  if (v.is_object()) {
    if (v.contains("#")) out += pad + "# " + comment_text(v["#"].get<std::string>()) + "\n";
    if (v.empty() || (v.size() == 1 && v.contains("#")))
      out += pad + "- {}\n";
    else
      yaml_object(v, indent + 2, out, true);
  } else if (v.is_array()) {
    out += pad + "- " + v.dump() + "\n";
  } else {
    out += pad + "- " + yaml_scalar(v) + "\n";
  }
}

}  // namespace

namespace emit {

std::string yaml_document(const nlohmann::ordered_json& doc) {
  std::string out;
  yaml_object(doc, 0, out, false);
  return out;
}

nlohmann::ordered_json selector(const LabelSelector& s) {
  return selector_json(s);
}

std::string evidence(const PeerEvidence& e, const std::vector<std::string>* names) {
  return evidence_text_raw(e, names);
}

}  // namespace emit

// The same YAML as yaml_object(policy_json(p, true)) writes, without building the tree: a
// recommendation for a large cluster is tens of megabytes (checked byte for byte in tests).
namespace {

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
        } else {
          peers.push_back(pod_set_json(peer.pods, false));
        }
      }
      j[peers_key] = std::move(peers);
      if (r.ports) {
        ojson ports = ojson::array();
        for (const ClusterPolicyPort& port : *r.ports) {
          if (cnp)
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

namespace {

// A requirement that selects every pod of `unit` and no pod of another unit of its namespace,
// negated (NotIn / DoesNotExist): added to a policy's selector it leaves exactly `unit` out.
std::optional<SelectorRequirement> exclusion_for(const Unit& unit, uint32_t u,
                                                 const std::vector<Unit>& units,
                                                 const std::vector<uint32_t>& unit_of,
                                                 const std::vector<Endpoint>& eps) {
  (void)units;
  // The endpoints are sorted by (namespace, name): the namespace is one range.
  auto lo = std::lower_bound(eps.begin(), eps.end(), unit.ns,
                             [](const Endpoint& e, const std::string& ns) { return e.ns < ns; });
  auto hi = std::upper_bound(eps.begin(), eps.end(), unit.ns,
                             [](const std::string& ns, const Endpoint& e) { return ns < e.ns; });
  for (const SelectorRequirement& r : unit.selector.requirements) {
    if (r.op != SelectorOp::In && r.op != SelectorOp::Exists) continue;
    if (is_per_pod_label(r.key)) continue;
    LabelSelector positive;
    positive.requirements.push_back(r);
    bool exact = true;
    for (uint32_t e : unit.endpoints) exact = exact && positive.matches(eps[e].pod.labels);
    for (auto it = lo; exact && it != hi; ++it) {
      const uint32_t e = static_cast<uint32_t>(it - eps.begin());
      if (unit_of[e] != u && !it->pod.host_network && positive.matches(it->pod.labels))
        exact = false;
    }
    if (!exact) continue;
    SelectorRequirement x = r;
    x.op = r.op == SelectorOp::In ? SelectorOp::NotIn : SelectorOp::DoesNotExist;
    return x;
  }
  return std::nullopt;
}

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

// Declared ingress (declared.h) added to the recommended policies: a rule per (reason, peers)
// in the destination's ingress policy and, for pod sources, in the sources' egress policies;
// the cluster DNS keeps its upstream resolvers. A unit gets a policy of its own for it only
// when the default-deny will isolate it.
void keep_declared(Recommendation& out, const ClusterState& state, const std::vector<Endpoint>& eps,
                   const std::vector<Unit>& units, const std::vector<uint32_t>& unit_of,
                   const std::vector<uint8_t>& unit_covered, const std::vector<uint8_t>& unit_seen,
                   const std::shared_ptr<std::vector<std::string>>& names,
                   const std::string& window, const RecommendOptions& options,
                   std::set<std::string>& notes) {
  std::vector<std::string> dnotes;
  out.declared = declared_ingress(state, eps, dnotes);
  notes.insert(dnotes.begin(), dnotes.end());
  auto active = [&](uint32_t u) {
    return unit_covered[u] && !units[u].host_network &&
           (unit_seen[u] || options.isolate_unobserved);
  };
  bool v6 = false;
  for (const Endpoint& ep : eps)
    for (const IpAddr& ip : ep.ips) v6 = v6 || ip.v6;
  std::vector<Cidr> everywhere = {*Cidr::parse("0.0.0.0/0")};
  if (v6) everywhere.push_back(*Cidr::parse("::/0"));
  // "From outside the cluster" excepts the pods' addresses (ipBlock matches pod IPs too): the
  // prefixes covering them, /16 at the widest, or their own addresses where such a prefix holds
  // a node address (traffic a load balancer sends through another node comes from that node).
  std::vector<Cidr> pod_prefixes;
  {
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
      for (const auto& [cidr, members] : aggregate(ips, 1, fam6 ? 48 : 16)) {
        bool node = false;
        for (const IpAddr& ip : node_ips) node = node || cidr.contains(ip);
        if (!node) {
          pod_prefixes.push_back(cidr);
          continue;
        }
        for (size_t m : members)  // a node among the pods: their own addresses
          pod_prefixes.push_back(Cidr{ips[m], static_cast<uint8_t>(ips[m].bits())});
      }
    }
  }
  auto outside_block = [&](const Cidr& c) {
    IpBlock b{c, {}};
    for (const Cidr& p : pod_prefixes)
      if (p.network.v6 == c.network.v6) b.except.push_back(p);
    return b;
  };

  std::map<std::pair<std::string, std::string>, size_t> index;
  for (size_t i = 0; i < out.policies.size(); ++i)
    index[{out.policies[i].policy.ns, out.policies[i].policy.name}] = i;
  auto policy_of = [&](uint32_t u, bool ingress) -> RecommendedPolicy* {
    const Unit& unit = units[u];
    std::string name =
        policy_name("stockade-" + std::string(ingress ? "ingress-" : "egress-") + unit.base);
    if (auto it = index.find({unit.ns, name}); it != index.end()) return &out.policies[it->second];
    if (!options.default_deny || !active(u)) return nullptr;  // not isolated: nothing to keep
    RecommendedPolicy rp;
    rp.policy.ns = unit.ns;
    rp.policy.name = name;
    rp.policy.pod_selector = unit.selector;
    rp.policy.affects_ingress = ingress;
    rp.policy.affects_egress = !ingress;
    rp.policy.source.file = "<recommended>";
    rp.names = names;
    rp.annotations = {{"stockade.io/generated-by", "stockade recommend"},
                      {"stockade.io/observed-connections", "0"},
                      {"stockade.io/workload", unit.kind + "/" + unit.name}};
    if (!window.empty()) rp.annotations.push_back({"stockade.io/learning-window", window});
    std::sort(rp.annotations.begin(), rp.annotations.end());
    index[{unit.ns, name}] = out.policies.size();
    out.policies.push_back(std::move(rp));
    return &out.policies.back();
  };
  auto unit_peer = [&](uint32_t peer, const std::string& ns) {
    NetworkPolicyPeer p;
    p.pod_selector = units[peer].selector;
    if (units[peer].ns != ns) {
      LabelSelector sel;
      sel.requirements.push_back({kMetadataName, SelectorOp::In, {units[peer].ns}});
      p.namespace_selector = std::move(sel);
    }
    return p;
  };
  // (destination unit, reason, from outside, from all pods, source units) -> ports
  using Key = std::tuple<uint32_t, std::string, bool, bool, std::vector<uint32_t>>;
  std::map<Key, std::set<std::pair<Protocol, uint16_t>>> ingress;
  // (source unit, destination unit, reason id) -> ports; reasons interned (the cluster DNS adds
  // one entry per unit)
  std::map<std::tuple<uint32_t, uint32_t, uint32_t>, std::set<std::pair<Protocol, uint16_t>>>
      egress;
  std::vector<std::string> reasons;
  std::map<std::string_view, uint32_t> reason_ids;
  for (const DeclaredIngress& d : out.declared) {
    auto [rit, fresh] = reason_ids.try_emplace(d.reason, static_cast<uint32_t>(reasons.size()));
    if (fresh) reasons.push_back(d.reason);
    const uint32_t reason = rit->second;
    const uint32_t u = unit_of[d.endpoint];
    std::vector<uint32_t> srcs;
    for (uint32_t s : d.sources) srcs.push_back(unit_of[s]);
    std::sort(srcs.begin(), srcs.end());
    srcs.erase(std::unique(srcs.begin(), srcs.end()), srcs.end());
    for (uint32_t su : srcs)
      if (su != u && active(su)) egress[{su, u, reason}].insert({d.protocol, d.port});
    if (d.from_all_pods)  // every pod's egress policy lets it reach the cluster DNS
      for (uint32_t su = 0; su < units.size(); ++su)
        if (su != u && active(su)) egress[{su, u, reason}].insert({d.protocol, d.port});
    if (active(u))
      ingress[{u, d.reason, d.from_outside, d.from_all_pods, srcs}].insert({d.protocol, d.port});
  }
  // Structural: the peers compared are built from the same unit selectors (a difference in
  // order only means a redundant rule).
  auto same_selector = [](const std::optional<LabelSelector>& a,
                          const std::optional<LabelSelector>& b) {
    if (a.has_value() != b.has_value()) return false;
    if (!a) return true;
    const auto &x = a->requirements, &y = b->requirements;
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (x[i].key != y[i].key || x[i].op != y[i].op || x[i].values != y[i].values) return false;
    return true;
  };
  auto same_port = [](const NetworkPolicyPort& a, const NetworkPolicyPort& b) {
    return a.effective_protocol() == b.effective_protocol() && a.kind == b.kind &&
           a.port == b.port && a.name == b.name;
  };
  // A declared peer that an observed rule already allows on all its ports: that rule's evidence
  // says it is declared too, and no rule is added for it.
  auto already = [&](RecommendedPolicy& rp, bool is_ingress, const NetworkPolicyPeer& peer,
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
  };
  auto add_rule = [&](RecommendedPolicy& rp, bool is_ingress, NetworkPolicyRule rule,
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
  };
  for (const auto& [key, ports] : ingress) {
    const auto& [u, reason, outside, all_pods, srcs] = key;
    RecommendedPolicy* rp = policy_of(u, true);
    if (!rp) continue;
    NetworkPolicyRule rule;
    std::vector<PeerEvidence> ev;
    PeerEvidence pe;
    pe.declared = reason;
    if (outside) {
      for (const Cidr& c : everywhere) {
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
        rule.peers.push_back(unit_peer(su, units[u].ns));
        pe.name = su;
        ev.push_back(pe);
      }
    }
    for (const auto& [proto, port] : ports)
      rule.ports.push_back(rule_port(units[u], eps, proto, port));
    add_rule(*rp, true, std::move(rule), std::move(ev));
  }
  for (const auto& [key, ports] : egress) {
    const auto& [su, u, reason_id] = key;
    const std::string& reason = reasons[reason_id];
    RecommendedPolicy* rp = policy_of(su, false);
    if (!rp) continue;
    NetworkPolicyRule rule;
    rule.peers.push_back(unit_peer(u, units[su].ns));
    PeerEvidence pe;
    pe.declared = reason;
    pe.name = u;
    for (const auto& [proto, port] : ports)
      rule.ports.push_back(rule_port(units[u], eps, proto, port));
    add_rule(*rp, false, std::move(rule), {pe});
  }
  // The cluster DNS forwards what it does not serve to upstream resolvers, which a short window
  // may not see (answers are cached).
  for (uint32_t u = 0; u < units.size(); ++u) {
    if (!active(u)) continue;
    bool dns = false;
    for (uint32_t e : units[u].endpoints) dns = dns || is_cluster_dns_pod(eps[e]);
    if (!dns) continue;
    RecommendedPolicy* rp = policy_of(u, false);
    if (!rp) continue;
    NetworkPolicyRule rule;
    std::vector<PeerEvidence> ev;
    PeerEvidence pe;
    pe.declared = "the cluster DNS (it forwards to upstream resolvers)";
    pe.external = true;
    for (const Cidr& c : everywhere) {
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

// What a policy says, as text (selectors canonical, rules and peers in order): two policies
// with the same text select, allow and deny the same traffic.
std::string canonical(const NetworkPolicy& p) {
  std::string s = p.ns + "/" + p.name + "|" + p.pod_selector.canonical() + "|" +
                  (p.affects_ingress ? "I" : "") + (p.affects_egress ? "E" : "");
  auto rules = [&](const std::vector<NetworkPolicyRule>& rs, const char* dir) {
    for (const NetworkPolicyRule& r : rs) {
      s += std::string("|") + dir + "[";
      for (const NetworkPolicyPeer& peer : r.peers) {
        s += "(";
        if (peer.pod_selector) s += "pod:" + peer.pod_selector->canonical() + ";";
        if (peer.namespace_selector) s += "ns:" + peer.namespace_selector->canonical() + ";";
        if (peer.ip_block) s += "ip:" + peer.ip_block->str() + ";";
        s += ")";
      }
      s += "]ports[";
      for (const NetworkPolicyPort& port : r.ports)
        s += std::string(to_string(port.effective_protocol())) + "/" +
             std::to_string(static_cast<int>(port.kind)) + "/" + std::to_string(port.port) + "-" +
             std::to_string(port.end_port) + "/" + port.name + ",";
      s += "]";
    }
  };
  rules(p.ingress, "in");
  rules(p.egress, "eg");
  return s;
}

std::string canonical(const ClusterPodSet& ps) {
  return "ns:" + ps.namespace_selector.canonical() +
         (ps.pod_selector ? ";pod:" + ps.pod_selector->canonical() : std::string());
}

std::string canonical(const ClusterPolicy& p) {
  std::string s = std::string(to_string(p.kind)) + "/" + p.name + "|" +
                  std::string(to_string(p.tier)) + "|" + std::to_string(p.priority) + "|" +
                  canonical(p.subject);
  auto rules = [&](const std::vector<ClusterPolicyRule>& rs, const char* dir) {
    for (const ClusterPolicyRule& r : rs) {
      s += std::string("|") + dir + ":" + r.name + ":" + std::string(to_string(r.action)) + "[";
      for (const ClusterPeer& peer : r.peers) {
        s += "(" + std::to_string(static_cast<int>(peer.kind)) + ":" + canonical(peer.pods) +
             ";nodes:" + peer.node_selector.canonical() + ";nets:";
        for (const Cidr& c : peer.networks) s += c.str() + ",";
        s += ")";
      }
      s += "]";
      if (r.ports) {
        s += "ports[";
        for (const ClusterPolicyPort& port : *r.ports)
          s += std::to_string(static_cast<int>(port.kind)) + "/" +
               std::string(to_string(port.protocol)) + "/" + std::to_string(port.start) + "-" +
               std::to_string(port.end) + "/" + port.name + ",";
        s += "]";
      }
    }
  };
  rules(p.ingress, "in");
  rules(p.egress, "eg");
  return s;
}

}  // namespace

std::string check_written(std::string_view text, const std::string& name,
                          const std::vector<const NetworkPolicy*>& policies,
                          const std::vector<const ClusterPolicy*>& guardrails,
                          const std::vector<const CiliumPolicy*>& cilium,
                          const std::vector<const CalicoPolicy*>& calico) {
  // Large YAML is read on two threads, split where a document starts near the middle: a line
  // "---" starts a document wherever it stands (inside a quoted scalar it is an error either
  // way), so the two halves hold the documents the whole text holds. (The output of a large
  // cluster is tens of megabytes, and libyaml reads a few tens of MB/s.)
  std::string_view parts[2] = {text, {}};
  if (text.size() > (size_t{1} << 20) && text.front() != '{') {
    size_t at = text.find("\n---\n", text.size() / 2);
    if (at != std::string_view::npos) {
      parts[0] = text.substr(0, at + 1);
      parts[1] = text.substr(at + 1);
    }
  }
  ClusterState halves[2];
  std::string errors[2];
  auto load_part = [&](int i) {
    ClusterLoader loader;
    if (auto r = loader.add_text(parts[i], name); !r) {
      errors[i] = "the output does not load back: " + r.error().str();
      return;
    }
    halves[i] = std::move(loader).finish();
  };
  std::thread second;
  if (!parts[1].empty()) second = std::thread(load_part, 1);
  load_part(0);
  if (second.joinable()) second.join();
  for (const std::string& e : errors)
    if (!e.empty()) return e;
  ClusterState& back = halves[0];
  for (NetworkPolicy& p : halves[1].network_policies) back.network_policies.push_back(std::move(p));
  for (ClusterPolicy& p : halves[1].cluster_policies) back.cluster_policies.push_back(std::move(p));
  for (CiliumPolicy& p : halves[1].cilium_policies) back.cilium_policies.push_back(std::move(p));
  for (CalicoPolicy& p : halves[1].calico_policies) back.calico_policies.push_back(std::move(p));
  std::vector<std::string> want, got;
  for (const NetworkPolicy* p : policies) want.push_back(canonical(*p));
  for (const ClusterPolicy* p : guardrails) want.push_back(canonical(*p));
  for (const CiliumPolicy* p : cilium) want.push_back(canonical_cilium(*p));
  for (const CalicoPolicy* p : calico) want.push_back(canonical_calico(*p));
  for (const NetworkPolicy& p : back.network_policies) got.push_back(canonical(p));
  for (const ClusterPolicy& p : back.cluster_policies) got.push_back(canonical(p));
  for (const CiliumPolicy& p : back.cilium_policies) got.push_back(canonical_cilium(p));
  for (const CalicoPolicy& p : back.calico_policies) got.push_back(canonical_calico(p));
  size_t other = 0;
  for (const ClusterState& h : halves) {
    other += h.pods.size() + h.workloads.size() + h.namespaces.size() + h.services.size() +
             h.nodes.size() + h.endpoint_slices.size() + h.ingresses.size() + h.routes.size() +
             h.service_accounts.size() + h.secrets.size() + h.roles.size() + h.bindings.size() +
             h.calico_tiers.size() + h.calico_network_sets.size();
    for (const auto& [kind, n] : h.skipped_kinds) other += n;
  }
  if (other != 0) return "the output holds objects other than the recommended policies";
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  if (want.size() != got.size())
    return "the output holds " + std::to_string(got.size()) + " policies, not the " +
           std::to_string(want.size()) + " proved";
  for (size_t i = 0; i < want.size(); ++i)
    if (want[i] != got[i]) return "a policy read back differs from the one proved: " + got[i];
  return {};
}

Recommendation recommend(const ClusterState& state, const PolicyEngine& existing,
                         const Observed& observed, const RecommendOptions& options) {
  Recommendation out;
  const std::vector<Endpoint>& eps = existing.endpoints();
  std::set<std::string> notes;

  // ---- units: which pods one policy selects, and how ----
  std::map<std::tuple<std::string, std::string, std::string>, const Workload*> workloads;
  for (const Workload& w : state.workloads)
    workloads[{w.ns, std::string(to_string(w.kind)), w.name}] = &w;
  std::map<std::tuple<std::string, std::string, std::string>, uint32_t> unit_index;
  std::vector<Unit> units;
  std::vector<uint32_t> unit_of(eps.size());
  {
    // endpoints are sorted by (namespace, name); units are created in that order and then
    // sorted by (namespace, name, kind) for stable output.
    std::vector<std::tuple<std::string, std::string, std::string>> keys(eps.size());
    for (uint32_t e = 0; e < eps.size(); ++e) {
      const Endpoint& ep = eps[e];
      keys[e] = ep.workload_name.empty() ? std::tuple{ep.ns, ep.name, std::string("Pod")}
                                         : std::tuple{ep.ns, ep.workload_name, ep.workload_kind};
      unit_index.emplace(keys[e], 0);
    }
    uint32_t n = 0;
    for (auto& [k, v] : unit_index) v = n++;
    units.resize(n);
    for (auto& [k, v] : unit_index) {
      units[v].ns = std::get<0>(k);
      units[v].name = std::get<1>(k);
      units[v].kind = std::get<2>(k);
    }
    for (uint32_t e = 0; e < eps.size(); ++e) {
      unit_of[e] = unit_index[keys[e]];
      units[unit_of[e]].endpoints.push_back(e);
    }
    std::map<std::pair<std::string, std::string>, int> name_uses;
    for (const Unit& u : units) ++name_uses[{u.ns, u.name}];
    for (Unit& u : units) {
      u.host_network = eps[u.endpoints.front()].pod.host_network;
      auto w = workloads.find({u.ns, u.kind, u.name});
      if (w != workloads.end() && w->second->selector && selector_is_stable(*w->second->selector)) {
        u.selector = *w->second->selector;
      } else {
        // The labels every pod of the unit carries, minus the per-pod ones.
        Labels common;
        bool first = true;
        for (uint32_t e : u.endpoints) {
          const Labels& l = eps[e].pod.labels;
          if (first) {
            for (const auto& [k, v] : l)
              if (!is_per_pod_label(k)) common.emplace(k, v);
            first = false;
          } else {
            for (auto it = common.begin(); it != common.end();) {
              auto f = l.find(it->first);
              it = f == l.end() || f->second != it->second ? common.erase(it) : std::next(it);
            }
          }
        }
        u.selector = selector_of_labels(common);
        u.broad = common.empty();
      }
      u.base = lower(u.name);
      if (name_uses[{u.ns, u.name}] > 1) u.base += "-" + lower(u.kind);
    }
  }

  // How a port is written for a destination unit: its name when every pod of the unit declares
  // the number under one name for that protocol, else the number.
  auto port_spec = [&](const Unit* dst, Protocol proto, uint16_t port) {
    PortSpec s{proto, {}, port};
    if (!dst) return s;
    std::string name;
    for (uint32_t e : dst->endpoints) {
      std::string found;
      for (const ContainerPort& cp : eps[e].pod.ports)
        if (cp.port == port && cp.protocol == proto && !cp.name.empty()) found = cp.name;
      if (found.empty() || (!name.empty() && found != name)) return s;
      name = found;
    }
    s.name = name;
    return s;
  };
  // Port specs are interned: rules compare and group small integer lists.
  std::vector<PortSpec> spec_table;
  std::unordered_map<uint64_t, uint32_t> spec_cache;
  auto spec_id = [&](uint32_t dst_unit, Protocol proto, uint16_t port) {
    uint64_t key =
        (uint64_t{dst_unit} << 24) | (uint64_t{static_cast<uint8_t>(proto)} << 16) | port;
    auto [it, inserted] = spec_cache.try_emplace(key, 0);
    if (inserted) {
      it->second = static_cast<uint32_t>(spec_table.size());
      spec_table.push_back(
          port_spec(dst_unit == UINT32_MAX ? nullptr : &units[dst_unit], proto, port));
    }
    return it->second;
  };
  auto is_dns = [&](const ObservedEdge& e) {
    return e.dst.kind == ObservedPeer::Kind::Endpoint &&
           is_dns_port(eps[e.dst.endpoint], e.protocol, e.port);
  };
  auto on_node = [&](const ObservedPeer& pod_side, const ObservedPeer& other) {
    const std::string& node = eps[pod_side.endpoint].node;
    if (node.empty()) return false;
    if (other.kind == ObservedPeer::Kind::Node) return other.node_name == node;
    return other.kind == ObservedPeer::Kind::Endpoint && eps[other.endpoint].pod.host_network &&
           eps[other.endpoint].node == node;
  };
  auto decided_by_policy = [](const Decision& d) {
    return d.tier == DecisionTier::Admin || d.tier == DecisionTier::NetworkPolicy ||
           d.tier == DecisionTier::Loopback || d.tier == DecisionTier::NotEvaluated;
  };

  // What each edge asks of each policy, as flat records sorted once: (side = unit * 2 +
  // direction, peer, port, edge). Peers are units, or interned addresses (high bit set).
  struct Contrib {
    uint32_t side, peer, spec, edge;  // edge | kHigh: a DNS twin port, no evidence of its own
  };
  // The one marker bit: on `peer`, an interned address; on `edge`, a DNS twin.
  constexpr uint32_t kHigh = 0x80000000u;
  std::vector<Contrib> contribs;
  contribs.reserve(observed.edges.size() * 2);
  std::vector<Evidence> side_evidence(units.size() * 2);
  // The evidence of the edges that contribute, compact: read again when policies are built.
  std::vector<EdgeStats> edge_stats(observed.edges.size());
  std::vector<std::pair<IpAddr, bool>> address_table;
  std::map<std::pair<IpAddr, bool>, uint32_t> address_ids;
  std::vector<std::string> denied_examples, unresolved_examples;
  // Which units the window saw (any attempt, whatever its outcome), and which may receive
  // policies (the system namespaces only with include_system).
  std::vector<uint8_t> unit_covered(units.size());
  for (uint32_t u = 0; u < units.size(); ++u)
    unit_covered[u] = options.include_system || !is_system_namespace(units[u].ns);
  std::vector<uint8_t> unit_seen(units.size());
  std::vector<Evidence> unit_evidence(units.size());
  std::vector<uint64_t> unit_attempts(units.size());
  for (size_t i = 0; i < observed.edges.size(); ++i) {
    const ObservedEdge& e = observed.edges[i];
    for (const ObservedPeer* p : {&e.src, &e.dst})
      if (p->kind == ObservedPeer::Kind::Endpoint) {
        const uint32_t u = unit_of[p->endpoint];
        unit_seen[u] = 1;
        unit_attempts[u] += e.stats.count;
        if (e.stats.established) unit_evidence[u].add(e.stats);
      }
    if (e.stats.established == 0) {
      ++out.edges_failed_only;
      continue;
    }
    ++out.edges_established;
    if (e.stats.established < options.min_count) {
      ++out.edges_below_min_count;
      continue;
    }
    if (e.src.kind == ObservedPeer::Kind::Unresolved ||
        e.dst.kind == ObservedPeer::Kind::Unresolved) {
      ++out.edges_unresolved;
      const std::string& who = e.src.kind == ObservedPeer::Kind::Unresolved ? e.src.id : e.dst.id;
      if (unresolved_examples.size() < 3 &&
          std::find(unresolved_examples.begin(), unresolved_examples.end(), who) ==
              unresolved_examples.end())
        unresolved_examples.push_back(who);
      continue;
    }
    // Most edges meet no policy at all (nothing selects either side): no need to ask for an
    // explained verdict.
    auto undecided = [&](const ObservedPeer& p, bool egress_side) {
      if (p.kind != ObservedPeer::Kind::Endpoint) return true;
      Isolation iso = existing.isolation(p.endpoint);
      return egress_side ? !iso.egress : !iso.ingress;
    };
    Verdict v;
    if (undecided(e.src, true) && undecided(e.dst, false)) {
      if (e.src.kind != ObservedPeer::Kind::Endpoint) v.egress.tier = DecisionTier::NotEvaluated;
      if (e.dst.kind != ObservedPeer::Kind::Endpoint) v.ingress.tier = DecisionTier::NotEvaluated;
    } else {
      v = evaluate_edge(existing, e);
    }
    // A side that an admin policy or an existing NetworkPolicy denies stays denied: nothing
    // is emitted against it (NetworkPolicies cannot override the admin tier, and existing
    // NetworkPolicies win unless --replace).
    const Decision* denied_by = nullptr;
    for (const Decision* d : {&v.egress, &v.ingress})
      if (!d->allowed && !denied_by &&
          (d->tier == DecisionTier::Admin || d->tier == DecisionTier::NetworkPolicy))
        denied_by = d;
    if (denied_by) {
      ++out.edges_denied_existing;
      // Named by kind: a Cilium policy's deny rule or isolation decides here as a
      // NetworkPolicy's would, and the user must know which object to look at.
      auto named = [](const PolicyRef& r) {
        return r.kind + " " + (r.ns.empty() ? r.name : r.ns + "/" + r.name);
      };
      std::string who = denied_by->policy ? named(*denied_by->policy)
                        : !denied_by->isolated_by.empty()
                            ? "the isolation of " + named(denied_by->isolated_by.front())
                            : std::string("an existing policy");
      if (denied_examples.size() < 3)
        denied_examples.push_back(e.src.id + " -> " + e.dst.id + " " +
                                  std::string(to_string(e.protocol)) + "/" +
                                  std::to_string(e.port) + " (denied by " + who + ")");
      continue;
    }
    out.must_allow.push_back(i);
    const bool src_pod =
        e.src.kind == ObservedPeer::Kind::Endpoint && !eps[e.src.endpoint].pod.host_network;
    const bool dst_pod =
        e.dst.kind == ObservedPeer::Kind::Endpoint && !eps[e.dst.endpoint].pod.host_network;
    if (e.src.kind == ObservedPeer::Kind::Endpoint && e.dst.kind == ObservedPeer::Kind::Endpoint &&
        e.src.endpoint == e.dst.endpoint) {
      ++out.edges_already_allowed;
      continue;
    }
    // Allowed today only as the pod's own node (an existing NetworkPolicy isolates it): where
    // the output kind's CNI isolates that traffic too, it needs a rule like any other.
    bool need_egress =
        src_pod && unit_covered[unit_of[e.src.endpoint]] &&
        (!decided_by_policy(v.egress) || (options.own_node_egress && v.egress.own_node)) &&
        (options.own_node_egress || !on_node(e.src, e.dst));
    bool need_ingress =
        dst_pod && unit_covered[unit_of[e.dst.endpoint]] &&
        (!decided_by_policy(v.ingress) || (options.own_node_ingress && v.ingress.own_node)) &&
        (options.own_node_ingress || !on_node(e.dst, e.src));
    if (!need_egress && !need_ingress) {
      ++out.edges_already_allowed;
      continue;
    }
    out.edges_own_node +=
        (need_egress && on_node(e.src, e.dst)) || (need_ingress && on_node(e.dst, e.src));
    const uint32_t dst_unit = dst_pod ? unit_of[e.dst.endpoint] : UINT32_MAX;
    uint32_t specs[2] = {spec_id(dst_unit, e.protocol, e.port), 0};
    uint32_t numeric[2] = {spec_id(UINT32_MAX, e.protocol, e.port), 0};
    size_t n_specs = 1;
    if (is_dns(e)) {
      Protocol twin = e.protocol == Protocol::UDP ? Protocol::TCP : Protocol::UDP;
      specs[1] = spec_id(dst_unit, twin, e.port);
      numeric[1] = spec_id(UINT32_MAX, twin, e.port);
      n_specs = 2;
    }
    // The other side of the edge: a unit for a pod, addresses for the rest (a host-network
    // pod is its node).
    auto add_peer = [&](uint32_t side, const ObservedPeer& p, const uint32_t* ids) {
      side_evidence[side].add(e.stats);
      auto add = [&](uint32_t peer) {
        for (size_t k = 0; k < n_specs; ++k)
          contribs.push_back({side, peer, ids[k], static_cast<uint32_t>(i) | (k ? kHigh : 0u)});
      };
      auto address = [&](const IpAddr& ip, bool external) {
        auto [it, inserted] = address_ids.try_emplace({ip, external}, 0);
        if (inserted) {
          it->second = static_cast<uint32_t>(address_table.size());
          address_table.push_back({ip, external});
        }
        add(kHigh | it->second);
      };
      if (p.kind == ObservedPeer::Kind::Endpoint && !eps[p.endpoint].pod.host_network) {
        add(unit_of[p.endpoint]);
      } else if (p.kind == ObservedPeer::Kind::Endpoint) {
        for (const IpAddr& ip : eps[p.endpoint].ips) address(ip, false);
      } else {
        for (const IpAddr& ip : p.addresses) address(ip, p.kind == ObservedPeer::Kind::External);
      }
    };
    edge_stats[i] = e.stats;
    // Ports towards an address are numbers: a name resolves only on a destination pod.
    if (need_egress) add_peer(unit_of[e.src.endpoint] * 2 + 1, e.dst, dst_pod ? specs : numeric);
    if (need_ingress) add_peer(unit_of[e.dst.endpoint] * 2, e.src, specs);
  }

  // Port ids ranked by the specs' order: rules sort and group deterministically.
  std::vector<uint32_t> rank(spec_table.size());
  {
    std::vector<uint32_t> order(spec_table.size());
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](uint32_t a, uint32_t b) { return spec_table[a] < spec_table[b]; });
    // Equal specs (a numeric port interned for two destinations) share a rank.
    for (uint32_t i = 0, r = 0; i < order.size(); ++i) {
      if (i > 0 && spec_table[order[i]] != spec_table[order[i - 1]]) ++r;
      rank[order[i]] = r;
    }
  }
  std::vector<PortSpec> by_rank(spec_table.size());
  for (uint32_t i = 0; i < spec_table.size(); ++i) by_rank[rank[i]] = spec_table[i];
  std::vector<std::pair<IpAddr, bool>> sorted_addresses;
  for (const auto& [key, id] : address_ids) sorted_addresses.push_back(key);
  // Addresses after the units, in (address, external) order; then one sort.
  {
    std::vector<uint32_t> addr_rank(address_table.size());
    uint32_t r = static_cast<uint32_t>(units.size());
    for (const auto& [key, id] : address_ids) addr_rank[id] = r++;
    for (Contrib& c : contribs) {
      c.spec = rank[c.spec];
      if (c.peer & kHigh) c.peer = addr_rank[c.peer & ~kHigh];
    }
    std::sort(contribs.begin(), contribs.end(), [](const Contrib& a, const Contrib& b) {
      uint64_t ka = uint64_t{a.side} << 32 | a.peer, kb = uint64_t{b.side} << 32 | b.peer;
      if (ka != kb) return ka < kb;
      return (uint64_t{a.spec} << 32 | a.edge) < (uint64_t{b.spec} << 32 | b.edge);
    });
  }
  auto address_of = [&](uint32_t peer) -> const std::pair<IpAddr, bool>& {
    static const std::pair<IpAddr, bool> none{};
    uint32_t k = peer - static_cast<uint32_t>(units.size());
    return k < sorted_addresses.size() ? sorted_addresses[k] : none;
  };

  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& x : v) s += (s.empty() ? "" : "; ") + x;
    return s;
  };
  if (out.edges_denied_existing)
    notes.insert(std::to_string(out.edges_denied_existing) +
                 " observed established edge(s) are denied by existing policies and stay denied "
                 "(--replace regenerates the NetworkPolicies), e.g. " +
                 join(denied_examples));
  if (out.edges_unresolved)
    notes.insert(std::to_string(out.edges_unresolved) +
                 " observed edge(s) have an endpoint the cluster objects do not hold (a pod not "
                 "in the input, a Service address, an unknown node) and are not allowed, e.g. " +
                 join(unresolved_examples));

  // ---- policies ----
  std::string window;
  {
    int64_t from = options.window_since ? options.window_since : observed.first_ns;
    int64_t to = options.window_until ? options.window_until : observed.last_ns;
    if (from || to)
      window = (from ? format_rfc3339(from) : std::string("..")) + "/" +
               (to ? format_rfc3339(to) : std::string(".."));
  }
  auto names = std::make_shared<std::vector<std::string>>();
  names->reserve(units.size());
  for (const Unit& u : units) names->push_back(u.ns + "/" + u.name + " (" + u.kind + ")");
  std::set<std::string> namespaces;
  auto build = [&](uint32_t u, bool is_ingress, const Contrib* begin, const Contrib* end,
                   std::vector<RecommendedPolicy>& sink) {
    const Unit& unit = units[u];
    RecommendedPolicy rp;
    NetworkPolicy& p = rp.policy;
    p.ns = unit.ns;
    p.name =
        policy_name("stockade-" + std::string(is_ingress ? "ingress-" : "egress-") + unit.base);
    p.pod_selector = unit.selector;
    p.affects_ingress = is_ingress;
    p.affects_egress = !is_ingress;
    p.source.file = "<recommended>";
    rp.names = names;
    // One run per peer: its distinct ports (sorted) and its evidence.
    struct PeerRun {
      uint32_t peer;
      uint32_t ports_begin, ports_end;  // into `ports`
      Evidence evidence;
    };
    std::vector<uint32_t> ports;
    std::vector<PeerRun> runs;
    for (const Contrib* c = begin; c != end;) {
      PeerRun run{c->peer, static_cast<uint32_t>(ports.size()), 0, {}};
      for (; c != end && c->peer == run.peer; ++c) {
        if (ports.size() == run.ports_begin || ports.back() != c->spec) ports.push_back(c->spec);
        if (!(c->edge & kHigh)) run.evidence.add(edge_stats[c->edge]);
      }
      run.ports_end = static_cast<uint32_t>(ports.size());
      runs.push_back(run);
    }
    // Peers with the same ports share a rule; rules ordered by their ports, peers by id.
    auto ports_less = [&](const PeerRun& a, const PeerRun& b) {
      return std::lexicographical_compare(
          ports.begin() + a.ports_begin, ports.begin() + a.ports_end, ports.begin() + b.ports_begin,
          ports.begin() + b.ports_end);
    };
    std::stable_sort(runs.begin(), runs.end(), ports_less);
    struct Members {
      std::vector<uint32_t> units;
      std::vector<std::pair<const std::pair<IpAddr, bool>*, Evidence>> addresses;
      std::vector<Evidence> unit_evidence;
    };
    std::vector<std::pair<std::vector<uint32_t>, Members>> rules;
    for (size_t r = 0; r < runs.size(); ++r) {
      if (r == 0 || ports_less(runs[r - 1], runs[r]))
        rules.push_back({std::vector<uint32_t>(ports.begin() + runs[r].ports_begin,
                                               ports.begin() + runs[r].ports_end),
                         {}});
      Members& m = rules.back().second;
      if (runs[r].peer < units.size()) {
        m.units.push_back(runs[r].peer);
        m.unit_evidence.push_back(runs[r].evidence);
      } else {
        m.addresses.push_back({&address_of(runs[r].peer), runs[r].evidence});
      }
    }
    auto& evidence = is_ingress ? rp.ingress_evidence : rp.egress_evidence;
    auto& rule_list = is_ingress ? p.ingress : p.egress;
    auto pe_of = [](const Evidence& ev) {
      PeerEvidence pe;
      pe.connections = ev.connections;
      pe.first = ev.first;
      pe.last = ev.last;
      return pe;
    };
    for (auto& [ports, members] : rules) {
      NetworkPolicyRule rule;
      std::vector<PeerEvidence> ev;
      rule.peers.reserve(members.units.size() + members.addresses.size());
      ev.reserve(members.units.size() + members.addresses.size());
      for (size_t j = 0; j < members.units.size(); ++j) {
        const uint32_t k = members.units[j];
        const Unit& pu = units[k];
        NetworkPolicyPeer peer;
        peer.pod_selector = pu.selector;
        if (pu.ns != unit.ns) {
          LabelSelector ns;
          ns.requirements.push_back({kMetadataName, SelectorOp::In, {pu.ns}});
          peer.namespace_selector = std::move(ns);
        }
        rule.peers.push_back(std::move(peer));
        PeerEvidence pe = pe_of(members.unit_evidence[j]);
        pe.name = k;
        ev.push_back(pe);
      }
      std::vector<IpAddr> ext4, ext6;
      std::vector<const Evidence*> ext4_acc, ext6_acc;
      for (const auto& [addr, acc] : members.addresses) {
        const IpAddr& ip = addr->first;
        if (addr->second) {
          (ip.v6 ? ext6 : ext4).push_back(ip);
          (ip.v6 ? ext6_acc : ext4_acc).push_back(&acc);
          continue;
        }
        NetworkPolicyPeer peer;
        Cidr host{ip, static_cast<uint8_t>(ip.bits())};
        peer.ip_block = IpBlock{host, {}};
        rule.peers.push_back(std::move(peer));
        PeerEvidence pe = pe_of(acc);
        pe.cidr = host;
        ev.push_back(pe);
      }
      for (int fam = 0; fam < 2; ++fam) {
        const auto& ips = fam ? ext6 : ext4;
        const auto& accs = fam ? ext6_acc : ext4_acc;
        for (const auto& [cidr, merged] :
             aggregate(ips, options.aggregate_after,
                       fam ? options.min_prefix_v6 : options.min_prefix_v4)) {
          NetworkPolicyPeer peer;
          peer.ip_block = IpBlock{cidr, {}};
          rule.peers.push_back(std::move(peer));
          Evidence total;
          for (size_t m : merged) total.add(*accs[m]);
          PeerEvidence pe = pe_of(total);
          pe.cidr = cidr;
          pe.external = true;
          pe.addresses = static_cast<uint32_t>(merged.size());
          ev.push_back(pe);
        }
      }
      for (uint32_t r : ports) {
        const PortSpec& s = by_rank[r];
        NetworkPolicyPort np;
        np.protocol = s.protocol;
        if (!s.name.empty()) {
          np.kind = NetworkPolicyPort::Kind::Name;
          np.name = s.name;
        } else {
          np.kind = NetworkPolicyPort::Kind::Number;
          np.port = s.number;
        }
        rule.ports.push_back(std::move(np));
      }
      rule_list.push_back(std::move(rule));
      evidence.push_back(std::move(ev));
    }
    const Evidence& side_ev = side_evidence[u * 2 + (is_ingress ? 0 : 1)];
    rp.annotations = {
        {"stockade.io/first-seen", side_ev.first ? format_rfc3339(side_ev.first) : std::string()},
        {"stockade.io/generated-by", "stockade recommend"},
        {"stockade.io/last-seen", side_ev.last ? format_rfc3339(side_ev.last) : std::string()},
        {"stockade.io/learning-window", window},
        {"stockade.io/observed-connections", std::to_string(side_ev.connections)},
        {"stockade.io/observed-edges", std::to_string(side_ev.edges)},
        {"stockade.io/workload", unit.kind + "/" + unit.name},
    };
    std::erase_if(rp.annotations, [](const auto& a) { return a.second.empty(); });
    sink.push_back(std::move(rp));
  };
  // Policies are independent of each other: built on two threads, each over a contiguous
  // half of the contributions, then concatenated (the order is fixed by the final sort).
  std::vector<std::pair<size_t, size_t>> side_ranges;
  for (size_t a = 0; a < contribs.size();) {
    size_t b = a;
    while (b < contribs.size() && contribs[b].side == contribs[a].side) ++b;
    if (!units[contribs[a].side / 2].host_network) side_ranges.push_back({a, b});
    a = b;
  }
  auto build_ranges = [&](size_t from, size_t to, std::vector<RecommendedPolicy>& sink) {
    for (size_t r = from; r < to; ++r) {
      const auto [a, b] = side_ranges[r];
      build(contribs[a].side / 2, contribs[a].side % 2 == 0, contribs.data() + a,
            contribs.data() + b, sink);
    }
  };
  size_t split = 0;
  while (split < side_ranges.size() && side_ranges[split].first < contribs.size() / 2) ++split;
  std::vector<RecommendedPolicy> first_half;
  if (contribs.size() >= options.parallel_from) {
    std::thread worker([&] { build_ranges(0, split, first_half); });
    build_ranges(split, side_ranges.size(), out.policies);
    worker.join();
  } else {
    build_ranges(0, split, first_half);
    build_ranges(split, side_ranges.size(), out.policies);
  }
  out.policies.insert(out.policies.end(), std::make_move_iterator(first_half.begin()),
                      std::make_move_iterator(first_half.end()));
  keep_declared(out, state, eps, units, unit_of, unit_covered, unit_seen, names, window, options,
                notes);
  for (const RecommendedPolicy& rp : out.policies) namespaces.insert(rp.policy.ns);
  for (const auto& [a, b] : side_ranges) {
    const Unit& unit = units[contribs[a].side / 2];
    if (unit.broad)
      notes.insert(unit.ns + "/" + unit.name +
                   ": its pods share no stable label; its policies select every pod of the "
                   "namespace");
  }
  if (options.guardrails)
    out.guardrails = suggest_guardrails(state, eps, observed, out.must_allow, options.guardrail_api,
                                        out.declared, options.include_system);
  // Workloads the window did not see: excluded from every recommended policy of their
  // namespace by a requirement that none of the observed workloads' pods meets.
  std::map<std::string, std::vector<SelectorRequirement>, std::less<>> exclusions;
  std::set<std::string> no_default_deny;
  if (!options.isolate_unobserved) {
    for (uint32_t u = 0; u < units.size(); ++u) {
      if (unit_seen[u] || !unit_covered[u] || units[u].host_network) continue;
      const Unit& unit = units[u];
      std::optional<SelectorRequirement> excl;
      if (namespaces.count(unit.ns)) excl = exclusion_for(unit, u, units, unit_of, eps);
      // Proved by the self-check: no recommended policy selects these pods.
      if (excl || !namespaces.count(unit.ns))
        for (uint32_t e : unit.endpoints) out.unobserved_endpoints.push_back(e);
      if (!namespaces.count(unit.ns)) continue;  // nothing is written there
      if (excl) {
        exclusions[unit.ns].push_back(std::move(*excl));
      } else {
        no_default_deny.insert(unit.ns);
        notes.insert(unit.ns + "/" + unit.name +
                     " (not observed) has no label that sets it apart from the observed "
                     "workloads: it cannot be left out of a default-deny exactly, so " +
                     unit.ns +
                     " gets no default-deny (policies of observed workloads whose selectors "
                     "match its pods apply to it)");
      }
    }
    std::sort(out.unobserved_endpoints.begin(), out.unobserved_endpoints.end());
  }
  if (options.default_deny) {
    for (const std::string& ns : namespaces) {
      if (no_default_deny.count(ns)) continue;
      RecommendedPolicy rp;
      rp.policy.ns = ns;
      rp.policy.name = "stockade-default-deny";
      rp.policy.affects_ingress = rp.policy.affects_egress = true;
      rp.policy.source.file = "<recommended>";
      rp.annotations = {{"stockade.io/generated-by", "stockade recommend"}};
      if (!window.empty()) rp.annotations.push_back({"stockade.io/learning-window", window});
      if (auto it = exclusions.find(ns); it != exclusions.end())
        rp.annotations.push_back(
            {"stockade.io/not-isolated",
             "workloads not observed in the learning window are left out (--isolate-unobserved "
             "isolates them)"});
      out.policies.push_back(std::move(rp));
    }
  }
  // Every recommended policy of a namespace that would select an unobserved workload's pods
  // (the default-deny, a workload without stable labels) gets the exclusions.
  std::map<std::string_view, std::vector<uint32_t>> unobserved_in;
  for (uint32_t e : out.unobserved_endpoints) unobserved_in[eps[e].ns].push_back(e);
  if (!exclusions.empty())
    for (RecommendedPolicy& rp : out.policies) {
      auto it = exclusions.find(rp.policy.ns);
      if (it == exclusions.end()) continue;
      bool selects = false;
      for (uint32_t e : unobserved_in[rp.policy.ns])
        selects = selects || rp.policy.pod_selector.matches(eps[e].pod.labels);
      if (!selects) continue;
      // One NotIn per key, values merged.
      for (const SelectorRequirement& x : it->second) {
        auto& reqs = rp.policy.pod_selector.requirements;
        auto same = std::find_if(reqs.begin(), reqs.end(), [&](const SelectorRequirement& r) {
          return r.key == x.key && r.op == x.op && x.op == SelectorOp::NotIn;
        });
        if (same != reqs.end()) {
          for (const std::string& v : x.values)
            if (std::find(same->values.begin(), same->values.end(), v) == same->values.end())
              same->values.push_back(v);
          std::sort(same->values.begin(), same->values.end());
        } else {
          reqs.push_back(x);
        }
      }
    }
  if (options.low_confidence)
    for (RecommendedPolicy& rp : out.policies) {
      rp.annotations.push_back({"stockade.io/confidence", "low"});
      std::sort(rp.annotations.begin(), rp.annotations.end());
    }
  out.low_confidence = options.low_confidence;
  std::sort(out.policies.begin(), out.policies.end(), [](const auto& a, const auto& b) {
    return std::tie(a.policy.ns, a.policy.name) < std::tie(b.policy.ns, b.policy.name);
  });

  // Coverage of every unit that policies may be written for.
  std::set<std::pair<std::string_view, std::string_view>> own_policy;
  std::set<std::string_view> default_denied;
  for (const RecommendedPolicy& rp : out.policies) {
    std::string_view name = rp.policy.name;
    if (name == "stockade-default-deny")
      default_denied.insert(rp.policy.ns);
    else if (name.starts_with("stockade-ingress-"))
      own_policy.insert({rp.policy.ns, name.substr(17)});
    else if (name.starts_with("stockade-egress-"))
      own_policy.insert({rp.policy.ns, name.substr(16)});
  }
  for (uint32_t u = 0; u < units.size(); ++u) {
    const Unit& unit = units[u];
    if (unit.host_network) continue;
    if (!unit_covered[u]) {
      out.system_namespaces_skipped.push_back(unit.ns);
      continue;
    }
    Recommendation::Coverage c;
    c.ns = unit.ns;
    c.name = unit.name;
    c.kind = unit.kind;
    c.connections = unit_evidence[u].connections;
    c.attempts = unit_attempts[u];
    c.first = unit_evidence[u].first;
    c.last = unit_evidence[u].last;
    c.observed = unit_seen[u];
    // Its own policies, or the default-deny of its namespace unless it is left out of it.
    c.isolated = own_policy.count({unit.ns, unit.base}) ||
                 (default_denied.count(unit.ns) && (unit_seen[u] || options.isolate_unobserved));
    out.coverage.push_back(std::move(c));
  }
  std::sort(out.system_namespaces_skipped.begin(), out.system_namespaces_skipped.end());
  out.system_namespaces_skipped.erase(
      std::unique(out.system_namespaces_skipped.begin(), out.system_namespaces_skipped.end()),
      out.system_namespaces_skipped.end());
  out.notes.assign(notes.begin(), notes.end());
  return out;
}

ClusterState with_recommendation(const ClusterState& state, const Recommendation& r, bool replace) {
  ClusterState s = state;
  if (replace) s.network_policies.clear();
  for (const RecommendedPolicy& p : r.policies) s.network_policies.push_back(p.policy);
  for (const ClusterPolicy& p : r.guardrails) s.cluster_policies.push_back(p);
  return s;
}

}  // namespace stockade
