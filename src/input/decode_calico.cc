// Calico's policy kinds (projectcalico.org/v3 and crd.projectcalico.org/v1): members of
// Decoder<N> (decode_impl.h), so that these readers share its helpers and FILE:LINE errors. Fields
// follow api/pkg/apis/projectcalico/v3 of projectcalico/calico; unknown fields are refused (a
// misspelt `notNets` must not read as "no restriction"), selectors are parsed here so that a bad
// one is an error at its line.
#include "input/decode_impl.h"

namespace stockade::input::detail {

template <class N>
CalicoSelector Decoder<N>::calico_selector(const N& obj, std::string_view key,
                                           const std::string& path) const {
  auto v = obj.get(key);
  std::string text = opt_string(obj, key, path);
  std::string err;
  auto s = CalicoSelector::parse(text, &err);
  if (!s) fail(*v, path + ": invalid selector \"" + text + "\": " + err);
  return std::move(*s);
}

template <class N>
std::optional<CalicoSelector> Decoder<N>::calico_opt_selector(const N& obj, std::string_view key,
                                                              const std::string& path) const {
  auto v = obj.get(key);
  if (!v || v->is_null()) return std::nullopt;
  return calico_selector(obj, key, path);
}

template <class N>
std::optional<double> Decoder<N>::calico_order(const N& obj, std::string_view key,
                                               const std::string& path) const {
  auto v = obj.get(key);
  if (!v || v->is_null()) return std::nullopt;
  // A float64 in Calico's API: a number, never a quoted one (the API server refuses a string).
  if (auto d = v->as_number()) return *d;
  if (std::string_view(v->type_name()) == "a number") fail(*v, path + ": expected a finite number");
  fail(*v, path + ": expected a number, got " + std::string(v->type_name()));
}

template <class N>
std::vector<Cidr> Decoder<N>::calico_nets(const N& obj, std::string_view key,
                                          const std::string& path) const {
  std::vector<Cidr> out;
  each_item(obj, key, path, [&](const N& n, const std::string& np) {
    auto s = n.as_string();
    if (!s || !n.is_scalar()) fail(n, np + ": expected a CIDR");
    // Calico accepts a bare address as a /32 or /128.
    if (s->find('/') == std::string_view::npos)
      if (auto ip = IpAddr::parse(*s)) {
        out.push_back(Cidr{*ip, static_cast<uint8_t>(ip->bits())});
        return;
      }
    out.push_back(cidr(n, *s, np));
  });
  return out;
}

template <class N>
std::vector<CalicoPort> Decoder<N>::calico_ports(const N& obj, std::string_view key,
                                                 const std::string& path) const {
  std::vector<CalicoPort> out;
  each_item(obj, key, path, [&](const N& p, const std::string& pp) {
    CalicoPort port;
    std::string text;
    if (auto i = p.as_int())
      text = std::to_string(*i);
    else if (auto s = p.as_string(); s && p.is_scalar())
      text = std::string(*s);
    else
      fail(p, pp + ": expected a port number, a range \"lo:hi\" or a port name");
    auto number = [&](std::string_view t) -> std::optional<uint16_t> {
      if (t.empty() || t.size() > 5 ||
          !std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
      int v = std::stoi(std::string(t));
      if (v > 65535) fail(p, pp + ": port " + std::string(t) + " is above 65535");
      return static_cast<uint16_t>(v);
    };
    if (size_t colon = text.find(':'); colon != std::string::npos) {
      auto lo = number(std::string_view(text).substr(0, colon));
      auto hi = number(std::string_view(text).substr(colon + 1));
      if (!lo || !hi || *lo > *hi)
        fail(p, pp + ": invalid port range \"" + text + "\" (expected \"lo:hi\", lo <= hi)");
      port.lo = *lo;
      port.hi = *hi;
    } else if (auto n = number(text)) {
      port.lo = port.hi = *n;
    } else {
      if (auto m = validate_port_name(text); !m.empty())
        fail(p, pp + ": invalid port name \"" + text + "\": " + m);
      port.name = text;
    }
    out.push_back(std::move(port));
  });
  return out;
}

template <class N>
std::optional<CalicoProtocol> Decoder<N>::calico_protocol(const N& obj, std::string_view key,
                                                          const std::string& path) const {
  auto v = obj.get(key);
  if (!v || v->is_null()) return std::nullopt;
  CalicoProtocol p;
  if (auto i = v->as_int()) {
    if (*i < 1 || *i > 255) fail(*v, path + ": protocol number must be between 1 and 255");
    p.number = static_cast<uint8_t>(*i);
    p.written = std::to_string(*i);
    return p;
  }
  auto s = v->as_string();
  if (!s || !v->is_scalar()) fail(*v, path + ": expected a protocol name or number");
  p.written = std::string(*s);
  // A quoted number is a number (numorstring's Uint8OrString reads "6" as 6).
  if (!s->empty() && s->size() <= 3 &&
      std::all_of(s->begin(), s->end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int n = std::stoi(std::string(*s));
    if (n < 1 || n > 255) fail(*v, path + ": protocol number must be between 1 and 255");
    p.number = static_cast<uint8_t>(n);
    return p;
  }
  static constexpr std::pair<std::string_view, uint8_t> kNames[] = {
      {"TCP", 6}, {"UDP", 17}, {"ICMP", 1}, {"ICMPv6", 58}, {"SCTP", 132}, {"UDPLite", 136}};
  for (auto [name, num] : kNames)
    if (*s == name) p.number = num;
  if (p.number == 0)
    fail(*v, path + ": unsupported value \"" + p.written +
                 "\": supported values: \"TCP\", \"UDP\", \"ICMP\", \"ICMPv6\", \"SCTP\", "
                 "\"UDPLite\" or a number 1-255");
  return p;
}

template <class N>
CalicoEntity Decoder<N>::calico_entity(const N& e, const std::string& path) const {
  check_fields(e,
               {"nets", "notNets", "selector", "notSelector", "namespaceSelector", "ports",
                "notPorts", "serviceAccounts", "services"},
               path);
  CalicoEntity out;
  out.nets = calico_nets(e, "nets", path + ".nets");
  out.not_nets = calico_nets(e, "notNets", path + ".notNets");
  out.selector = calico_opt_selector(e, "selector", path + ".selector");
  out.not_selector = calico_opt_selector(e, "notSelector", path + ".notSelector");
  out.namespace_selector = calico_opt_selector(e, "namespaceSelector", path + ".namespaceSelector");
  out.ports = calico_ports(e, "ports", path + ".ports");
  out.not_ports = calico_ports(e, "notPorts", path + ".notPorts");
  if (auto sa = e.get("serviceAccounts"); sa && !sa->is_null()) {
    check_fields(*sa, {"names", "selector"}, path + ".serviceAccounts");
    CalicoEntity::ServiceAccounts s;
    each_item(*sa, "names", path + ".serviceAccounts.names",
              [&](const N& n, const std::string& np) {
                auto v = n.as_string();
                if (!v || !n.is_scalar()) fail(n, np + ": expected a string");
                s.names.emplace_back(*v);
              });
    s.selector = calico_opt_selector(*sa, "selector", path + ".serviceAccounts.selector");
    out.service_accounts = std::move(s);
  }
  if (auto sv = e.get("services"); sv && !sv->is_null()) {
    check_fields(*sv, {"name", "namespace"}, path + ".services");
    out.service =
        CalicoEntity::ServiceRef{opt_string(*sv, "name", path + ".services.name"),
                                 opt_string(*sv, "namespace", path + ".services.namespace")};
  }
  return out;
}

template <class N>
CalicoRule Decoder<N>::calico_rule(const N& r, const std::string& path) const {
  check_fields(r,
               {"action", "protocol", "notProtocol", "icmp", "notICMP", "ipVersion", "source",
                "destination", "http", "metadata"},
               path);
  CalicoRule rule;
  rule.line = r.line();
  std::string action = opt_string(r, "action", path + ".action");
  static constexpr std::pair<std::string_view, CalicoAction> kActions[] = {
      {"Allow", CalicoAction::Allow},
      {"Deny", CalicoAction::Deny},
      {"Pass", CalicoAction::Pass},
      {"Log", CalicoAction::Log}};
  bool known = false;
  for (auto [name, a] : kActions)
    if (action == name) rule.action = a, known = true;
  if (!known)
    fail(r.get("action") ? *r.get("action") : r,
         path + ".action: " +
             (action.empty() ? std::string("required") : "unsupported value \"" + action + "\"") +
             ": supported values: \"Allow\", \"Deny\", \"Pass\", \"Log\"");
  rule.protocol = calico_protocol(r, "protocol", path + ".protocol");
  rule.not_protocol = calico_protocol(r, "notProtocol", path + ".notProtocol");
  for (std::string_view k : {"icmp", "notICMP"})
    if (auto v = r.get(k); v && !v->is_null()) rule.icmp = rule.icmp || k == "icmp";
  if (auto v = r.get("http"); v && !v->is_null()) rule.http = true;
  if (auto v = r.get("ipVersion"); v && !v->is_null()) {
    auto i = v->as_int();
    if (!i || (*i != 4 && *i != 6)) fail(*v, path + ".ipVersion: must be 4 or 6");
    rule.ip_version = std::to_string(*i);
  }
  if (auto s = r.get("source"); s && !s->is_null())
    rule.source = calico_entity(*s, path + ".source");
  if (auto d = r.get("destination"); d && !d->is_null())
    rule.destination = calico_entity(*d, path + ".destination");
  // Calico's validation: ports need a protocol that has them.
  bool has_ports = !rule.source.ports.empty() || !rule.source.not_ports.empty() ||
                   !rule.destination.ports.empty() || !rule.destination.not_ports.empty();
  if (has_ports) {
    uint8_t n = rule.protocol ? rule.protocol->number : 0;
    if (n != 6 && n != 17 && n != 132 && n != 136)
      fail(r, path + ": ports are only valid with protocol TCP, UDP, SCTP or UDPLite");
  }
  return rule;
}

template <class N>
void Decoder<N>::calico_policy(const N& obj, const std::string& kind,
                               const std::string& api_version) {
  CalicoPolicy p;
  static constexpr std::pair<std::string_view, CalicoPolicyKind> kKinds[] = {
      {"NetworkPolicy", CalicoPolicyKind::NetworkPolicy},
      {"GlobalNetworkPolicy", CalicoPolicyKind::GlobalNetworkPolicy},
      {"StagedNetworkPolicy", CalicoPolicyKind::StagedNetworkPolicy},
      {"StagedGlobalNetworkPolicy", CalicoPolicyKind::StagedGlobalNetworkPolicy},
      {"StagedKubernetesNetworkPolicy", CalicoPolicyKind::StagedKubernetesNetworkPolicy}};
  for (auto [name, k] : kKinds)
    if (kind == name) p.kind = k;
  calico_api_version(obj, kind, api_version);
  check_fields(obj, {"apiVersion", "kind", "metadata", "spec", "status"}, "");
  Meta m = metadata(obj, !p.global(), NameRule::Subdomain);
  where_ = kind + " " + (p.global() ? m.name : m.ns + "/" + m.name) + ": ";
  p.ns = m.ns;
  p.name = m.name;
  p.file = ctx_.file;
  p.line = obj.line();
  auto spec = obj.get("spec");
  if (p.kind == CalicoPolicyKind::StagedKubernetesNetworkPolicy) {
    // A Kubernetes NetworkPolicy spec staged: never enforced; not evaluated, said so.
    ctx_.state->unevaluated_policies[kind + " (projectcalico.org)"]++;
    ctx_.state->calico_policies.push_back(std::move(p));
    return;
  }
  if (spec && !spec->is_null()) {
    // GlobalNetworkPolicy adds namespaceSelector and the host-endpoint settings; staged
    // kinds add stagedAction.
    if (p.global())
      check_fields(*spec,
                   {"order", "tier", "selector", "types", "ingress", "egress",
                    "serviceAccountSelector", "performanceHints", "namespaceSelector", "doNotTrack",
                    "preDNAT", "applyOnForward", "stagedAction"},
                   "spec");
    else
      check_fields(*spec,
                   {"order", "tier", "selector", "types", "ingress", "egress",
                    "serviceAccountSelector", "performanceHints", "stagedAction"},
                   "spec");
    if (!p.staged())
      if (auto v = spec->get("stagedAction"))
        fail(*v, "spec: unknown field \"stagedAction\" (staged kinds only)");
    const N& s = *spec;
    p.order = calico_order(s, "order", "spec.order");
    p.tier = opt_string(s, "tier", "spec.tier");
    p.selector = calico_selector(s, "selector", "spec.selector");
    p.namespace_selector = calico_opt_selector(s, "namespaceSelector", "spec.namespaceSelector");
    p.service_account_selector =
        calico_opt_selector(s, "serviceAccountSelector", "spec.serviceAccountSelector");
    p.staged_action = opt_string(s, "stagedAction", "spec.stagedAction");
    // Felix gives workload endpoints every policy but the untracked (doNotTrack) and
    // pre-DNAT ones (felix/calc event_sequencer.go, tierInfoToProtoTierInfo):
    // applyOnForward alone adds forwarded host traffic and changes nothing for pods.
    for (std::string_view f : {"doNotTrack", "preDNAT", "applyOnForward"})
      if (auto v = s.get(f); v && !v->is_null()) {
        auto b = v->as_bool();
        if (!b) fail(*v, "spec." + std::string(f) + ": expected true or false");
        if (f != "applyOnForward") p.host_only = p.host_only || *b;
      }
    each_item(s, "types", "spec.types", [&](const N& t, const std::string& tp) {
      auto v = t.as_string();
      if (v && *v == "Ingress")
        p.types_ingress = true;
      else if (v && *v == "Egress")
        p.types_egress = true;
      else
        fail(t, tp + ": unsupported value: supported values: \"Ingress\", \"Egress\"");
      p.types_written = true;
    });
    each_item(s, "ingress", "spec.ingress",
              [&](const N& r, const std::string& rp) { p.ingress.push_back(calico_rule(r, rp)); });
    each_item(s, "egress", "spec.egress",
              [&](const N& r, const std::string& rp) { p.egress.push_back(calico_rule(r, rp)); });
  }
  if (p.tier.empty()) p.tier = "default";
  // Calico's defaulting of `types`: Ingress, plus Egress when there are egress rules; Egress
  // alone when there are egress rules and no ingress rules.
  if (!p.types_written) {
    p.types_egress = !p.egress.empty();
    p.types_ingress = !p.ingress.empty() || p.egress.empty();
  }
  // Host-endpoint policies act on nodes' interfaces (untracked, pre-DNAT, forwarded
  // traffic), which the engine does not model: counted, warned about, not evaluated.
  if (p.host_only)
    ctx_.state->unevaluated_policies[kind + " with doNotTrack/preDNAT (projectcalico.org)"]++;
  ctx_.state->calico_policies.push_back(std::move(p));
}

template <class N>
void Decoder<N>::calico_api_version(const N& obj, const std::string& kind,
                                    const std::string& api_version) const {
  if (api_version != "projectcalico.org/v3" && api_version != "crd.projectcalico.org/v1")
    fail(obj, kind + ": unsupported apiVersion \"" + api_version +
                  "\" (expected projectcalico.org/v3 or crd.projectcalico.org/v1)");
}

template <class N>
void Decoder<N>::calico_tier(const N& obj, const std::string& kind,
                             const std::string& api_version) {
  calico_api_version(obj, kind, api_version);
  check_fields(obj, {"apiVersion", "kind", "metadata", "spec", "status"}, "");
  Meta m = metadata(obj, false, NameRule::Subdomain);
  where_ = kind + " " + m.name + ": ";
  CalicoTier t;
  t.name = m.name;
  t.file = ctx_.file;
  t.line = obj.line();
  if (auto s = obj.get("spec"); s && !s->is_null()) {
    check_fields(*s, {"order", "defaultAction"}, "spec");
    t.order = calico_order(*s, "order", "spec.order");
    std::string a = opt_string(*s, "defaultAction", "spec.defaultAction");
    if (a == "Pass")
      t.default_action = CalicoAction::Pass;
    else if (!a.empty() && a != "Deny")
      fail(*s->get("defaultAction"), "spec.defaultAction: unsupported value \"" + a +
                                         "\": supported values: \"Deny\", \"Pass\"");
  }
  ctx_.state->calico_tiers.push_back(std::move(t));
}

template <class N>
void Decoder<N>::calico_network_set(const N& obj, const std::string& kind,
                                    const std::string& api_version) {
  calico_api_version(obj, kind, api_version);
  check_fields(obj, {"apiVersion", "kind", "metadata", "spec", "status"}, "");
  CalicoNetworkSet n;
  n.global = kind == "GlobalNetworkSet";
  Meta m = metadata(obj, !n.global, NameRule::Subdomain);
  where_ = kind + " " + (n.global ? m.name : m.ns + "/" + m.name) + ": ";
  n.ns = m.ns;
  n.name = m.name;
  n.labels = m.labels;
  n.file = ctx_.file;
  n.line = obj.line();
  if (auto s = obj.get("spec"); s && !s->is_null()) {
    check_fields(*s, {"nets", "allowedEgressDomains"}, "spec");
    n.nets = calico_nets(*s, "nets", "spec.nets");
    each_item(*s, "allowedEgressDomains", "spec.allowedEgressDomains",
              [&](const N& d, const std::string& dp) {
                auto v = d.as_string();
                if (!v || !d.is_scalar()) fail(d, dp + ": expected a string");
                n.allowed_egress_domains.emplace_back(*v);
              });
  }
  ctx_.state->calico_network_sets.push_back(std::move(n));
}

// Whether this object is one of Calico's kinds read here (and reads it).
template <class N>
bool Decoder<N>::calico_object(const N& obj, const std::string& kind,
                               const std::string& api_version) {
  std::string_view group = std::string_view(api_version).substr(0, api_version.find('/'));
  if (group != "projectcalico.org" && group != "crd.projectcalico.org") return false;
  if (kind == "NetworkPolicy" || kind == "GlobalNetworkPolicy" || kind == "StagedNetworkPolicy" ||
      kind == "StagedGlobalNetworkPolicy" || kind == "StagedKubernetesNetworkPolicy") {
    calico_policy(obj, kind, api_version);
    return true;
  }
  if (kind == "Tier") {
    calico_tier(obj, kind, api_version);
    return true;
  }
  if (kind == "NetworkSet" || kind == "GlobalNetworkSet") {
    calico_network_set(obj, kind, api_version);
    return true;
  }
  return false;
}

template bool Decoder<YamlNode>::calico_object(const YamlNode&, const std::string&,
                                               const std::string&);
template bool Decoder<JsonNode>::calico_object(const JsonNode&, const std::string&,
                                               const std::string&);

}  // namespace stockade::input::detail
