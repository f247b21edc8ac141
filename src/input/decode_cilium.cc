// CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy (cilium.io/v2): members of
// Decoder<N> (decode_impl.h), so that these readers share its helpers and error reporting. Fields
// follow pkg/policy/api of Cilium; unknown fields are refused as the CRD's structural schema would
// prune them silently, which would be worse here: a misspelt `ingresDeny` must not read as "no deny
// rules".
#include "input/decode_impl.h"

namespace stockade::input::detail {

template <class N>
std::vector<LabelSelector> Decoder<N>::cilium_selectors(const N& obj, std::string_view key,
                                                        const std::string& path) const {
  std::vector<LabelSelector> out;
  each_item(obj, key, path, [&](const N& s, const std::string& sp) {
    // Cilium keys carry a source ("k8s:app", "reserved:host"): not Kubernetes label keys.
    if (!s.is_null()) check_fields(s, {"matchLabels", "matchExpressions"}, sp);
    out.push_back(label_selector(s, sp, false));
  });
  return out;
}

template <class N>
template <class T, class F>
void Decoder<N>::cilium_list(const N& obj, std::string_view key, const std::string& path,
                             std::optional<std::vector<T>>& out, F&& read) const {
  auto v = obj.get(key);
  if (!v || v->is_null()) return;
  if (!out) out.emplace();
  each_item(obj, key, path,
            [&](const N& item, const std::string& ip) { out->push_back(read(item, ip)); });
}

// rules.http entries (PortRuleHTTP): method, path, host are regular expressions the proxy
// matches; headers and headerMatches are kept as a count (records carry no headers).
template <class N>
std::vector<CiliumHttpRule> Decoder<N>::cilium_http_rules(const N& rules,
                                                          const std::string& path) const {
  std::vector<CiliumHttpRule> out;
  each_item(rules, "http", path, [&](const N& h, const std::string& hp) {
    if (!h.is_map()) fail(h, hp + ": expected an object");
    check_fields(h, {"method", "path", "host", "headers", "headerMatches"}, hp);
    CiliumHttpRule r;
    r.method = opt_string(h, "method", hp + ".method");
    r.path = opt_string(h, "path", hp + ".path");
    r.host = opt_string(h, "host", hp + ".host");
    r.line = h.line();
    for (std::string_view key : {"headers", "headerMatches"})
      if (auto v = h.get(key); v && v->is_seq())
        v->items([&](const N&) { return ++r.header_conditions, true; });
    out.push_back(std::move(r));
  });
  return out;
}

template <class N>
std::vector<CiliumPortRule> Decoder<N>::cilium_ports(const N& r, const std::string& path,
                                                     bool deny) const {
  std::vector<CiliumPortRule> out;
  each_item(r, "toPorts", path, [&](const N& pr, const std::string& pp) {
    if (deny)
      check_fields(pr, {"ports"}, pp);
    else
      check_fields(
          pr, {"ports", "terminatingTLS", "originatingTLS", "serverNames", "listener", "rules"},
          pp);
    CiliumPortRule rule;
    each_item(pr, "ports", pp + ".ports", [&](const N& p, const std::string& ppp) {
      check_fields(p, {"port", "endPort", "protocol"}, ppp);
      CiliumPort port;
      std::string proto = opt_string(p, "protocol", ppp + ".protocol");
      if (!proto.empty() && proto != "ANY") {
        std::string upper = proto;
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (upper == "ICMP" || upper == "ICMPV6" || upper == "VRRP" || upper == "IGMP") {
          port.kind = CiliumPort::Kind::NotL4;
          rule.ports.push_back(port);
          return;
        }
        port.protocol = parse_protocol(upper);
        if (!port.protocol)
          fail(*p.get("protocol"), ppp + ".protocol: unsupported value \"" + proto +
                                       "\": supported values: \"TCP\", \"UDP\", \"SCTP\", "
                                       "\"ICMP\", \"ICMPV6\", \"VRRP\", \"IGMP\", \"ANY\"");
      }
      std::string text;
      if (auto v = p.get("port"); v && !v->is_null()) {
        if (auto i = v->as_int())
          text = std::to_string(*i);
        else if (auto s = v->as_string())
          text = std::string(*s);
        else
          fail(*v, ppp + ".port: expected a port number or name");
      }
      bool numeric = !text.empty() && std::all_of(text.begin(), text.end(),
                                                  [](char c) { return c >= '0' && c <= '9'; });
      if (text.empty() || (numeric && text.size() < 7 && std::stoi(text) == 0)) {
        port.kind = CiliumPort::Kind::All;
      } else if (numeric) {
        if (text.size() > 5 || std::stoi(text) > 65535)
          fail(p, ppp + ".port: must be between 0 and 65535, inclusive");
        port.kind = CiliumPort::Kind::Range;
        port.port = port.end_port = static_cast<uint16_t>(std::stoi(text));
        if (auto e = opt_int(p, "endPort", ppp + ".endPort"); e && *e != 0) {
          if (*e < port.port || *e > 65535)
            fail(*p.get("endPort"), ppp + ".endPort: must be between port and 65535");
          port.end_port = static_cast<uint16_t>(*e);
        }
      } else {
        if (auto m = validate_port_name(text); !m.empty()) fail(p, ppp + ".port: " + m);
        port.kind = CiliumPort::Kind::Named;
        port.name = text;
      }
      rule.ports.push_back(std::move(port));
    });
    if (auto rules = pr.get("rules"); rules && !rules->is_null()) {
      if (!rules->is_map()) fail(*rules, pp + ".rules: expected an object");
      rules->fields([&](std::string_view k, const N& v) {
        if (k != "http" && k != "kafka" && k != "dns" && k != "l7proto" && k != "l7")
          fail(v, pp + ".rules: unknown field \"" + std::string(k) + "\"");
        if (k == "l7proto") return true;  // the parser's name; its rules are under `l7`
        CiliumL7 l7;
        l7.kind = k == "l7" ? "l7proto" : std::string(k);
        if (v.is_seq()) v.items([&](const N&) { return ++l7.rules, true; });
        if (k == "http") l7.http = cilium_http_rules(*rules, pp + ".rules.http");
        if (k == "dns")
          each_item(*rules, "dns", pp + ".rules.dns", [&](const N& d, const std::string& dp) {
            check_fields(d, {"matchName", "matchPattern"}, dp);
            std::string name = opt_string(d, "matchName", dp + ".matchName");
            std::string pattern = opt_string(d, "matchPattern", dp + ".matchPattern");
            if (name.empty() == pattern.empty())
              fail(d, dp + ": exactly one of matchName or matchPattern is required");
            l7.dns.push_back(name.empty() ? pattern : name);
          });
        rule.l7.push_back(std::move(l7));
        return true;
      });
    }
    each_item(pr, "serverNames", pp + ".serverNames", [&](const N& s, const std::string& sp) {
      auto t = s.as_string();
      if (!t) fail(s, sp + ": expected a string, got " + std::string(s.type_name()));
      rule.server_names.emplace_back(*t);
    });
    out.push_back(std::move(rule));
  });
  return out;
}

template <class N>
CiliumRule Decoder<N>::cilium_rule(const N& r, const std::string& path, bool ingress,
                                   bool deny) const {
  if (ingress)
    check_fields(r,
                 {"fromEndpoints", "fromRequires", "fromCIDR", "fromCIDRSet", "fromEntities",
                  "fromGroups", "fromNodes", "toPorts", "icmps", "authentication"},
                 path);
  else
    check_fields(r,
                 {"toEndpoints", "toRequires", "toCIDR", "toCIDRSet", "toEntities", "toServices",
                  "toGroups", "toNodes", "toPorts", "icmps", "toFQDNs", "authentication"},
                 path);
  std::string dir = ingress ? "from" : "to";
  CiliumRule rule;
  rule.line = r.line();
  auto present = [&](const std::string& key) {
    auto v = r.get(key);
    return v && !v->is_null();
  };
  if (present(dir + "Endpoints"))
    rule.endpoints = cilium_selectors(r, dir + "Endpoints", path + "." + dir + "Endpoints");
  if (present(dir + "Nodes"))
    rule.nodes = cilium_selectors(r, dir + "Nodes", path + "." + dir + "Nodes");
  cilium_list(
      r, dir + "Entities", path + "." + dir + "Entities", rule.entities,
      [&](const N& e, const std::string& ep) {
        auto s = e.as_string();
        static constexpr std::string_view kEntities[] = {
            "all",     "world",     "world-ipv4",  "world-ipv6", "cluster",        "host", "init",
            "ingress", "unmanaged", "remote-node", "health",     "kube-apiserver", "none"};
        if (!s || std::find(std::begin(kEntities), std::end(kEntities), *s) == std::end(kEntities))
          fail(e, ep + ": unknown entity" + (s ? " \"" + std::string(*s) + "\"" : ""));
        return std::string(*s);
      });
  cilium_list(r, dir + "CIDR", path + "." + dir + "CIDR", rule.cidrs,
              [&](const N& c, const std::string& cp) {
                auto s = c.as_string();
                if (!s) fail(c, cp + ": expected a CIDR");
                return CiliumCidr{cidr_or_address(c, *s, cp), {}};
              });
  std::vector<std::string> unevaluated;
  cilium_list(r, dir + "CIDRSet", path + "." + dir + "CIDRSet", rule.cidrs,
              [&](const N& c, const std::string& cp) {
                check_fields(c, {"cidr", "except", "cidrGroupRef", "cidrGroupSelector"}, cp);
                CiliumCidr out;
                std::string text = opt_string(c, "cidr", cp + ".cidr");
                if (text.empty()) {
                  // A CiliumCIDRGroup: its CIDRs are not in the input's model; it matches
                  // nothing here and the explanation says so.
                  unevaluated.push_back(cp + " (CIDR group)");
                  out.cidr = Cidr{IpAddr{}, 255};
                  return out;
                }
                out.cidr = cidr_or_address(*c.get("cidr"), text, cp + ".cidr");
                each_item(c, "except", cp + ".except", [&](const N& e, const std::string& xp) {
                  auto s = e.as_string();
                  if (!s) fail(e, xp + ": expected a CIDR");
                  out.except.push_back(cidr_or_address(e, *s, xp));
                });
                return out;
              });
  if (!ingress)
    cilium_list(r, "toServices", path + ".toServices", rule.services,
                [&](const N& s, const std::string& sp) {
                  check_fields(s, {"k8sService", "k8sServiceSelector"}, sp);
                  CiliumRule::ServiceRef ref;
                  if (auto k = s.get("k8sService"); k && !k->is_null()) {
                    check_fields(*k, {"serviceName", "namespace"}, sp + ".k8sService");
                    ref.name = opt_string(*k, "serviceName", sp + ".k8sService.serviceName");
                    ref.ns = opt_string(*k, "namespace", sp + ".k8sService.namespace");
                  } else if (auto k = s.get("k8sServiceSelector"); k && !k->is_null()) {
                    check_fields(*k, {"selector", "namespace"}, sp + ".k8sServiceSelector");
                    ref.ns = opt_string(*k, "namespace", sp + ".k8sServiceSelector.namespace");
                    auto sel = k->get("selector");
                    ref.selector =
                        sel ? label_selector(*sel, sp + ".k8sServiceSelector.selector", false)
                            : LabelSelector{};
                  } else {
                    fail(s, sp + ": one of k8sService or k8sServiceSelector is required");
                  }
                  return ref;
                });
  if (!ingress)
    each_item(r, "toFQDNs", path + ".toFQDNs", [&](const N& f, const std::string& fp) {
      check_fields(f, {"matchName", "matchPattern"}, fp);
      std::string name = opt_string(f, "matchName", fp + ".matchName");
      std::string pattern = opt_string(f, "matchPattern", fp + ".matchPattern");
      if (name.empty() == pattern.empty())
        fail(f, fp + ": exactly one of matchName or matchPattern is required");
      rule.fqdns.push_back(name.empty() ? pattern : name);
    });
  for (std::string field : {dir + "Requires", dir + "Groups"})
    if (present(field)) unevaluated.push_back(path + "." + field);
  rule.unevaluated = std::move(unevaluated);
  if (auto tp = r.get("toPorts"); tp && !tp->is_null())
    rule.to_ports = cilium_ports(r, path + ".toPorts", deny);
  rule.icmp_only = present("icmps") && !rule.to_ports;
  return rule;
}

// Cilium accepts a bare address where a CIDR is expected (a /32 or /128).
template <class N>
Cidr Decoder<N>::cidr_or_address(const N& at, std::string_view text,
                                 const std::string& path) const {
  if (text.find('/') == std::string_view::npos)
    if (auto ip = IpAddr::parse(text)) return Cidr{*ip, static_cast<uint8_t>(ip->bits())};
  return cidr(at, text, path);
}

template <class N>
CiliumSpec Decoder<N>::cilium_spec(const N& s, const std::string& path, bool clusterwide) const {
  check_fields(s,
               {"endpointSelector", "nodeSelector", "ingress", "ingressDeny", "egress",
                "egressDeny", "labels", "description", "enableDefaultDeny", "log"},
               path);
  CiliumSpec spec;
  spec.line = s.line();
  spec.description = opt_string(s, "description", path + ".description");
  if (auto v = s.get("endpointSelector"); v && !v->is_null()) {
    check_fields(*v, {"matchLabels", "matchExpressions"}, path + ".endpointSelector");
    spec.endpoint_selector = label_selector(*v, path + ".endpointSelector", false);
  }
  if (auto v = s.get("nodeSelector"); v && !v->is_null()) {
    if (!clusterwide)
      fail(*v, path + ".nodeSelector: only a CiliumClusterwideNetworkPolicy selects nodes");
    check_fields(*v, {"matchLabels", "matchExpressions"}, path + ".nodeSelector");
    spec.node_selector = label_selector(*v, path + ".nodeSelector", false);
  }
  if (spec.endpoint_selector.has_value() == spec.node_selector.has_value())
    fail(s, path + ": exactly one of endpointSelector or nodeSelector is required");
  if (auto v = s.get("enableDefaultDeny"); v && !v->is_null()) {
    check_fields(*v, {"ingress", "egress"}, path + ".enableDefaultDeny");
    for (auto [key, out] : {std::pair{"ingress", &spec.default_deny_ingress},
                            std::pair{"egress", &spec.default_deny_egress}})
      if (auto b = v->get(key); b && !b->is_null()) {
        auto val = b->as_bool();
        if (!val) fail(*b, path + ".enableDefaultDeny." + key + ": expected true or false");
        *out = *val;
      }
  }
  auto rules = [&](std::string_view key, bool ingress, bool deny,
                   std::optional<std::vector<CiliumRule>>& out) {
    auto v = s.get(key);
    if (!v || v->is_null()) return;
    out.emplace();
    each_item(s, key, path + "." + std::string(key), [&](const N& r, const std::string& rp) {
      out->push_back(cilium_rule(r, rp, ingress, deny));
    });
  };
  rules("ingress", true, false, spec.ingress);
  rules("ingressDeny", true, true, spec.ingress_deny);
  rules("egress", false, false, spec.egress);
  rules("egressDeny", false, true, spec.egress_deny);
  return spec;
}

template <class N>
void Decoder<N>::cilium_policy(const N& obj, const std::string& kind,
                               const std::string& api_version) {
  if (api_version != "cilium.io/v2")
    fail(obj, kind + ": unsupported apiVersion \"" + api_version + "\" (expected cilium.io/v2)");
  check_fields(obj, {"apiVersion", "kind", "metadata", "spec", "specs", "status"}, "");
  bool clusterwide = kind == "CiliumClusterwideNetworkPolicy";
  Meta m = metadata(obj, !clusterwide);
  where_ = kind + " " + (clusterwide ? m.name : m.ns + "/" + m.name) + ": ";
  CiliumPolicy p;
  p.clusterwide = clusterwide;
  p.ns = m.ns;
  p.name = m.name;
  p.file = ctx_.file;
  p.line = obj.line();
  if (auto s = obj.get("spec"); s && !s->is_null())
    p.specs.push_back(cilium_spec(*s, "spec", clusterwide));
  each_item(obj, "specs", "specs", [&](const N& s, const std::string& sp) {
    p.specs.push_back(cilium_spec(s, sp, clusterwide));
  });
  if (p.specs.empty()) fail(obj, "spec or specs is required");
  // Host policies: the engine evaluates pods, not the nodes' own traffic.
  if (std::any_of(p.specs.begin(), p.specs.end(),
                  [](const CiliumSpec& s) { return s.node_selector.has_value(); }))
    ctx_.state->unevaluated_policies[kind + " with nodeSelector (cilium.io)"]++;
  ctx_.state->cilium_policies.push_back(std::move(p));
}

template void Decoder<YamlNode>::cilium_policy(const YamlNode&, const std::string&,
                                               const std::string&);
template void Decoder<JsonNode>::cilium_policy(const JsonNode&, const std::string&,
                                               const std::string&);

}  // namespace stockade::input::detail
