// The policy kinds of Kubernetes: NetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy
// and ClusterNetworkPolicy (v1beta1 and v1alpha2, each by the rules of the CRD that serves it),
// validated as the API server would.
#include "input/decode_impl.h"

namespace stockade::input::detail {

// ---- NetworkPolicy -----------------------------------------------------------------------
template <class N>
NetworkPolicyPort Decoder<N>::np_port(const N& p, const std::string& path) const {
  check_fields(p, {"protocol", "port", "endPort"}, path);
  NetworkPolicyPort out;
  if (auto pr = p.get("protocol"); pr && !pr->is_null()) {
    // Set but empty is not "unset" to the API server: it refuses it (only an absent
    // protocol defaults to TCP).
    if (auto s = pr->as_string(); s && s->empty())
      fail(*pr, path +
                    ".protocol: unsupported value \"\": supported values: \"SCTP\", "
                    "\"TCP\", \"UDP\"");
    out.protocol = protocol(p, "protocol", path + ".protocol");
  }
  auto port = p.get("port");
  auto end = opt_int(p, "endPort", path + ".endPort");
  if (port && !port->is_null()) {
    if (auto n = port->as_int()) {
      out.kind = NetworkPolicyPort::Kind::Number;
      out.port = port_number(*port, *n, path + ".port");
      if (end) {
        if (*end < *n) fail(p, path + ".endPort: must be greater than or equal to `port`");
        out.end_port = port_number(p, *end, path + ".endPort");
      }
    } else if (auto s = port->as_string()) {
      out.kind = NetworkPolicyPort::Kind::Name;
      out.name = std::string(*s);
      if (auto m = validate_port_name(out.name); !m.empty())
        fail(*port, path + ".port: invalid port name \"" + out.name + "\": " + m);
      if (end) fail(p, path + ".endPort: may not be specified when `port` is non-numeric");
    } else {
      fail(*port, path + ".port: expected a port number or name");
    }
  } else if (end) {
    fail(p, path + ".endPort: may not be specified when `port` is not specified");
  }
  return out;
}

template <class N>
NetworkPolicyPeer Decoder<N>::np_peer(const N& p, const std::string& path) const {
  check_fields(p, {"podSelector", "namespaceSelector", "ipBlock"}, path);
  NetworkPolicyPeer out;
  out.pod_selector = opt_selector(p, "podSelector", path + ".podSelector", true);
  out.namespace_selector = opt_selector(p, "namespaceSelector", path + ".namespaceSelector", true);
  if (auto ib = p.get("ipBlock"); ib && !ib->is_null()) {
    std::string ip_path = path + ".ipBlock";
    check_fields(*ib, {"cidr", "except"}, ip_path);
    std::string text = opt_string(*ib, "cidr", ip_path + ".cidr");
    if (text.empty()) fail(*ib, ip_path + ".cidr: required");
    IpBlock block;
    block.cidr = cidr(*ib, text, ip_path + ".cidr");
    out.ip_block_cidr = text;
    each_item(*ib, "except", ip_path + ".except", [&](const N& e, const std::string& ep) {
      auto s = e.as_string();
      if (!s) fail(e, ep + ": expected a string, got " + std::string(e.type_name()));
      Cidr c = cidr(e, *s, ep);
      if (!(c.network.v6 == block.cidr.network.v6 && c.prefix > block.cidr.prefix &&
            block.cidr.contains(c.network)))
        fail(e, ep + ": must be a strict subset of `cidr`");
      block.except.push_back(c);
    });
    out.ip_block = std::move(block);
  }
  int n =
      out.pod_selector.has_value() + out.namespace_selector.has_value() + out.ip_block.has_value();
  if (n == 0) fail(p, path + ": must specify a peer");
  if (n > 1 && out.ip_block) fail(p, path + ": may not specify both ipBlock and another peer");
  return out;
}

template <class N>
std::vector<NetworkPolicyRule> Decoder<N>::np_rules(const N& spec, std::string_view key,
                                                    std::string_view peers_key) const {
  std::vector<NetworkPolicyRule> rules;
  each_item(spec, key, "spec." + std::string(key), [&](const N& r, const std::string& rp) {
    if (r.is_null()) {  // `- ` : an empty rule, matches everything
      rules.emplace_back().line = r.line();
      return;
    }
    check_fields(r, {"ports", peers_key}, rp);
    NetworkPolicyRule rule;
    rule.line = r.line();
    each_item(r, "ports", rp + ".ports",
              [&](const N& p, const std::string& pp) { rule.ports.push_back(np_port(p, pp)); });
    each_item(r, peers_key, rp + "." + std::string(peers_key),
              [&](const N& p, const std::string& pp) { rule.peers.push_back(np_peer(p, pp)); });
    rules.push_back(std::move(rule));
  });
  return rules;
}

template <class N>
void Decoder<N>::network_policy(const N& obj, const std::string& api_version) {
  if (api_version != "networking.k8s.io/v1")
    fail(obj, "NetworkPolicy: unsupported apiVersion \"" + api_version +
                  "\" (expected networking.k8s.io/v1)");
  check_fields(obj, {"apiVersion", "kind", "metadata", "spec", "status"}, "");
  Meta m = metadata(obj, true);
  where_ = "NetworkPolicy " + m.ns + "/" + m.name + ": ";
  NetworkPolicy np;
  np.ns = m.ns;
  np.name = m.name;
  np.annotations = std::move(m.annotations);
  np.source = source(obj);
  auto spec = obj.get("spec");
  bool has_egress_rules = false;
  bool types_given = false;
  if (spec && !spec->is_null()) {
    check_fields(*spec, {"podSelector", "policyTypes", "ingress", "egress"}, "spec");
    if (auto ps = spec->get("podSelector"))
      np.pod_selector = label_selector(*ps, "spec.podSelector", true);
    np.ingress = np_rules(*spec, "ingress", "from");
    np.egress = np_rules(*spec, "egress", "to");
    has_egress_rules = !np.egress.empty();
    int count = 0;
    each_item(*spec, "policyTypes", "spec.policyTypes", [&](const N& t, const std::string& p) {
      auto s = t.as_string();
      if (s && *s == "Ingress") {
        np.affects_ingress = true;
      } else if (s && *s == "Egress") {
        np.affects_egress = true;
      } else {
        fail(t, p + ": unsupported value: supported values: \"Ingress\", \"Egress\"");
      }
      ++count;
    });
    if (count > 2) fail(*spec, "spec.policyTypes: may not specify more than two policyTypes");
    types_given = count > 0;
  }
  if (!types_given) {  // the API server's defaulting
    np.affects_ingress = true;
    np.affects_egress = has_egress_rules;
  }
  ctx_.state->network_policies.push_back(std::move(np));
}

// ---- AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy ----------------
template <class N>
ClusterPodSet Decoder<N>::pod_set(const N& v, bool namespaces_form, const std::string& path) const {
  ClusterPodSet s;
  if (namespaces_form) {
    s.namespace_selector = label_selector(v, path, true);
    return s;
  }
  check_fields(v, {"namespaceSelector", "podSelector"}, path);
  auto ns = v.get("namespaceSelector");
  auto ps = v.get("podSelector");
  // CNP requires only podSelector; ANP requires both.
  if (!ps || ps->is_null()) fail(v, path + ".podSelector: required");
  if (ns && !ns->is_null())
    s.namespace_selector = label_selector(*ns, path + ".namespaceSelector", true);
  else if (!cnp_)
    fail(v, path + ".namespaceSelector: required");
  s.pod_selector = label_selector(*ps, path + ".podSelector", true);
  return s;
}

template <class N>
ClusterPodSet Decoder<N>::subject(const N& spec) const {
  auto subj = spec.get("subject");
  if (!subj || subj->is_null()) fail(spec, "spec.subject: required");
  check_fields(*subj, {"namespaces", "pods"}, "spec.subject");
  auto ns = subj->get("namespaces");
  auto pods = subj->get("pods");
  if (ns.has_value() == pods.has_value())
    fail(*subj, "spec.subject: exactly one of namespaces or pods must be set");
  return ns ? pod_set(*ns, true, "spec.subject.namespaces")
            : pod_set(*pods, false, "spec.subject.pods");
}

template <class N>
ClusterPeer Decoder<N>::cluster_peer(const N& p, bool egress, const std::string& path) const {
  if (egress && cnp_)
    check_fields(p, {"namespaces", "pods", "nodes", "networks", "domainNames"}, path);
  else if (egress)
    check_fields(p, {"namespaces", "pods", "nodes", "networks"}, path);
  else
    check_fields(p, {"namespaces", "pods"}, path);
  int n = 0;
  ClusterPeer out;
  p.fields([&](std::string_view key, const N& v) {
    ++n;
    std::string kp = path + "." + std::string(key);
    if (key == "namespaces") {
      out.kind = ClusterPeer::Kind::Namespaces;
      out.pods = pod_set(v, true, kp);
    } else if (key == "pods") {
      out.kind = ClusterPeer::Kind::Pods;
      out.pods = pod_set(v, false, kp);
    } else if (key == "nodes") {
      experimental_only(v, kp);  // experimental in every release of every kind
      out.kind = ClusterPeer::Kind::Nodes;
      out.node_selector = label_selector(v, kp, true);
    } else if (key == "domainNames") {
      experimental_only(v, kp);  // experimental in v0.2.0 and v0.3.0
      out.kind = ClusterPeer::Kind::DomainNames;
      if (!v.is_seq()) fail(v, kp + ": expected a list of domain names");
      size_t i = 0;
      v.items([&](const N& c) {
        auto s = c.as_string();
        std::string cp = kp + "[" + std::to_string(i++) + "]";
        if (!s) fail(c, cp + ": expected a string, got " + std::string(c.type_name()));
        if (std::string m = domain_name_problem(*s, cnp_beta_); !m.empty())
          fail(c, cp + ": invalid domain name \"" + std::string(*s) + "\": " + m);
        // x-kubernetes-list-type: set
        if (std::find(out.domain_names.begin(), out.domain_names.end(), *s) !=
            out.domain_names.end())
          fail(c, cp + ": Duplicate value: \"" + std::string(*s) + "\"");
        out.domain_names.emplace_back(*s);
        return true;
      });
      if (out.domain_names.empty() || out.domain_names.size() > 25)
        fail(v, kp + ": must have between 1 and 25 domain names");
    } else {
      out.kind = ClusterPeer::Kind::Networks;
      if (!v.is_seq()) fail(v, kp + ": expected a list of CIDRs");
      size_t i = 0;
      v.items([&](const N& c) {
        auto s = c.as_string();
        std::string cp = kp + "[" + std::to_string(i++) + "]";
        if (!s) fail(c, cp + ": expected a string, got " + std::string(c.type_name()));
        out.networks.push_back(cidr(c, *s, cp));
        // v1beta1 (like v1alpha2 since network-policy-api v0.2.1) wants the network address
        // itself: `isCIDR(self) && cidr(self) == cidr(self).masked()`. v0.2.0's v1alpha2 CRD
        // took host bits (and implementations masked them), so v1alpha2 objects may carry them.
        if (cnp_beta_ && IpAddr::parse(s->substr(0, s->find('/'))) != out.networks.back().network)
          fail(c, cp + ": Invalid CIDR format provided: \"" + std::string(*s) +
                      "\" has host bits set (the network is " + out.networks.back().str() + ")");
        return true;
      });
      if (out.networks.empty() || out.networks.size() > 25)
        fail(v, kp + ": must have between 1 and 25 CIDRs");
    }
    return true;
  });
  if (n != 1)
    fail(p, path + (egress && cnp_
                        ? ": exactly one of namespaces, pods, nodes, networks or domainNames must "
                          "be set"
                        : ": exactly one of namespaces, pods, nodes or networks must be set"));
  return out;
}

template <class N>
ClusterPolicyPort Decoder<N>::anp_port(const N& p, const std::string& path) const {
  check_fields(p, {"portNumber", "namedPort", "portRange"}, path);
  ClusterPolicyPort out;
  int n = 0;
  if (auto v = p.get("portNumber"); v && !v->is_null()) {
    ++n;
    std::string pp = path + ".portNumber";
    check_fields(*v, {"protocol", "port"}, pp);
    out.kind = ClusterPolicyPort::Kind::Number;
    out.protocol = protocol(*v, "protocol", pp + ".protocol");
    auto port = opt_int(*v, "port", pp + ".port");
    if (!port) fail(*v, pp + ".port: required");
    out.start = out.end = port_number(*v, *port, pp + ".port");
  }
  if (auto v = p.get("namedPort"); v && !v->is_null()) {
    ++n;
    experimental_only(*v, path + ".namedPort");  // not in the standard CRD (v0.1.7)
    out.kind = ClusterPolicyPort::Kind::Named;
    auto s = v->as_string();
    if (!s) fail(*v, path + ".namedPort: expected a string, got " + std::string(v->type_name()));
    out.name = std::string(*s);
  }
  if (auto v = p.get("portRange"); v && !v->is_null()) {
    ++n;
    std::string pp = path + ".portRange";
    check_fields(*v, {"protocol", "start", "end"}, pp);
    out.kind = ClusterPolicyPort::Kind::Range;
    out.protocol = protocol(*v, "protocol", pp + ".protocol");
    range(*v, pp, out);
  }
  if (n != 1) fail(p, path + ": exactly one of portNumber, namedPort or portRange must be set");
  return out;
}

template <class N>
void Decoder<N>::range(const N& v, const std::string& path, ClusterPolicyPort& out) const {
  auto s = opt_int(v, "start", path + ".start");
  auto e = opt_int(v, "end", path + ".end");
  if (!s || !e) fail(v, path + ": start and end are required");
  out.start = port_number(v, *s, path + ".start");
  out.end = port_number(v, *e, path + ".end");
  if (out.start >= out.end) fail(v, path + ": Start port must be less than End port");
}

// ClusterNetworkPolicy `protocols` entries: {tcp|udp|sctp: {destinationPort: {number|range}}}
// or {destinationNamedPort: NAME}.
template <class N>
ClusterPolicyPort Decoder<N>::cnp_protocol(const N& p, const std::string& path) const {
  check_fields(p, {"tcp", "udp", "sctp", "destinationNamedPort"}, path);
  ClusterPolicyPort out;
  int n = 0;
  p.fields([&](std::string_view key, const N& v) {
    ++n;
    std::string kp = path + "." + std::string(key);
    if (key == "destinationNamedPort") {
      // Standard in v0.2.0's v1alpha2 CRD; experimental again since v0.2.1, so in v1beta1.
      if (cnp_beta_) experimental_only(v, kp);
      auto s = v.as_string();
      if (!s) fail(v, kp + ": expected a string, got " + std::string(v.type_name()));
      out.kind = ClusterPolicyPort::Kind::Named;
      out.name = std::string(*s);
      return true;
    }
    out.protocol = key == "tcp" ? Protocol::TCP : key == "udp" ? Protocol::UDP : Protocol::SCTP;
    check_fields(v, {"destinationPort"}, kp);
    auto dp = v.get("destinationPort");
    if (!dp || dp->is_null()) fail(v, kp + ".destinationPort: required");
    std::string dpp = kp + ".destinationPort";
    check_fields(*dp, {"number", "range"}, dpp);
    auto num = dp->get("number");
    auto rng = dp->get("range");
    if (num.has_value() == rng.has_value())
      fail(*dp, dpp + ": exactly one of number or range must be set");
    if (num) {
      auto i = num->as_int();
      if (!i) fail(*num, dpp + ".number: expected an integer");
      out.kind = ClusterPolicyPort::Kind::Number;
      out.start = out.end = port_number(*num, *i, dpp + ".number");
    } else {
      check_fields(*rng, {"start", "end"}, dpp + ".range");
      out.kind = ClusterPolicyPort::Kind::Range;
      range(*rng, dpp + ".range", out);
    }
    return true;
  });
  if (n != 1) fail(p, path + ": exactly one of tcp, udp, sctp or destinationNamedPort must be set");
  return out;
}

template <class N>
std::vector<ClusterPolicyRule> Decoder<N>::cluster_rules(const N& spec, bool egress,
                                                         bool baseline_anp) const {
  std::vector<ClusterPolicyRule> rules;
  std::string key = egress ? "egress" : "ingress";
  std::string peers_key = egress ? "to" : "from";
  std::string ports_key = cnp_ ? "protocols" : "ports";
  // MaxItems of rules, peers and protocols: 25 in ClusterNetworkPolicy (every version),
  // 100 in the v1alpha1 kinds.
  const size_t max_items = cnp_ ? 25 : 100;
  each_item(spec, key, "spec." + key, [&](const N& r, const std::string& rp) {
    check_fields(r, {"name", "action", std::string_view(peers_key), std::string_view(ports_key)},
                 rp);
    ClusterPolicyRule rule;
    rule.line = r.line();
    rule.name = opt_string(r, "name", rp + ".name");
    if (rule.name.size() > 100) fail(r, rp + ".name: may not be longer than 100 characters");
    std::string action = opt_string(r, "action", rp + ".action");
    if (action == (cnp_ ? "Accept" : "Allow")) {
      rule.action = RuleAction::Allow;
    } else if (action == "Deny") {
      rule.action = RuleAction::Deny;
    } else if (action == "Pass" && !baseline_anp) {
      rule.action = RuleAction::Pass;
    } else {
      std::string allowed = cnp_           ? "\"Accept\", \"Deny\", \"Pass\""
                            : baseline_anp ? "\"Allow\", \"Deny\""
                                           : "\"Allow\", \"Deny\", \"Pass\"";
      fail(r, rp + ".action: unsupported value \"" + action + "\": supported values: " + allowed);
    }
    each_item(r, peers_key, rp + "." + peers_key, [&](const N& p, const std::string& pp) {
      rule.peers.push_back(cluster_peer(p, egress, pp));
    });
    if (rule.peers.empty() || rule.peers.size() > max_items)
      fail(r, rp + "." + peers_key + ": must have between 1 and " + std::to_string(max_items) +
                  " peers");
    if (auto ports = r.get(ports_key); ports && !ports->is_null()) {
      rule.ports.emplace();
      each_item(r, ports_key, rp + "." + ports_key, [&](const N& p, const std::string& pp) {
        rule.ports->push_back(cnp_ ? cnp_protocol(p, pp) : anp_port(p, pp));
      });
      if (rule.ports->empty()) fail(*ports, rp + "." + ports_key + ": must not be empty");
      if (rule.ports->size() > max_items)
        fail(*ports,
             rp + "." + ports_key + ": must have at most " + std::to_string(max_items) + " items");
      // The experimental CRDs' rule on egress: a named port means nothing for an address.
      if (cnp_ && egress && ctx_.options->policy_api_channel == PolicyApiChannel::Experimental &&
          std::any_of(rule.ports->begin(), rule.ports->end(),
                      [](const ClusterPolicyPort& p) {
                        return p.kind == ClusterPolicyPort::Kind::Named;
                      }) &&
          std::any_of(rule.peers.begin(), rule.peers.end(), [](const ClusterPeer& p) {
            return p.kind == ClusterPeer::Kind::Networks || p.kind == ClusterPeer::Kind::Nodes ||
                   p.kind == ClusterPeer::Kind::DomainNames;
          }))
        fail(r, rp + ": networks/nodes/domainNames peer cannot be set with namedPorts since "
                     "there are no namedPorts for networks/nodes/domainNames");
    }
    rules.push_back(std::move(rule));
  });
  if (rules.size() > max_items)
    fail(spec, "spec." + key + ": must have at most " + std::to_string(max_items) + " rules");
  return rules;
}

template <class N>
void Decoder<N>::cluster_policy(const N& obj, ClusterPolicyKind kind,
                                const std::string& api_version) {
  if (kind == ClusterPolicyKind::ClusterNetworkPolicy) {
    if (api_version != kCnpV1beta1 && api_version != kCnpV1alpha2)
      fail(obj, "ClusterNetworkPolicy: unsupported apiVersion \"" + api_version + "\" (expected " +
                    std::string(kCnpV1beta1) + " or " + std::string(kCnpV1alpha2) + ")");
  } else if (api_version != kAnpV1alpha1) {
    fail(obj, std::string(to_string(kind)) + ": unsupported apiVersion \"" + api_version +
                  "\" (expected " + std::string(kAnpV1alpha1) + ")");
  }
  cnp_beta_ = api_version == kCnpV1beta1;
  check_fields(obj, {"apiVersion", "kind", "metadata", "spec", "status"}, "");
  Meta m = metadata(obj, false);
  where_ = std::string(to_string(kind)) + " " + m.name + ": ";
  cnp_ = kind == ClusterPolicyKind::ClusterNetworkPolicy;
  bool banp = kind == ClusterPolicyKind::BaselineAdminNetworkPolicy;
  if (banp && m.name != "default")
    fail(obj,
         "Only one baseline admin network policy with metadata.name=\"default\" can be "
         "created in the cluster");
  auto spec = obj.get("spec");
  if (!spec || spec->is_null()) fail(obj, "spec: required");
  ClusterPolicy cp;
  cp.kind = kind;
  cp.api_version = api_version;
  cp.name = m.name;
  cp.annotations = m.annotations;  // stockade.io/suppress (scan's policy lint)
  cp.source = source(obj);
  if (cnp_) {
    check_fields(*spec, {"tier", "priority", "subject", "ingress", "egress"}, "spec");
    std::string tier = opt_string(*spec, "tier", "spec.tier");
    if (tier == "Admin")
      cp.tier = PolicyTier::Admin;
    else if (tier == "Baseline")
      cp.tier = PolicyTier::Baseline;
    else
      fail(*spec, "spec.tier: unsupported value \"" + tier +
                      "\": supported values: \"Admin\", \"Baseline\"");
  } else if (banp) {
    check_fields(*spec, {"subject", "ingress", "egress"}, "spec");
    cp.tier = PolicyTier::Baseline;
  } else {
    check_fields(*spec, {"priority", "subject", "ingress", "egress"}, "spec");
    cp.tier = PolicyTier::Admin;
  }
  if (!banp) {
    auto prio = opt_int(*spec, "priority", "spec.priority");
    if (!prio) fail(*spec, "spec.priority: required");
    if (*prio < 0 || *prio > 1000) fail(*spec, "spec.priority: must be between 0 and 1000");
    cp.priority = static_cast<int32_t>(*prio);
  }
  cp.subject = subject(*spec);
  cp.ingress = cluster_rules(*spec, false, banp);
  cp.egress = cluster_rules(*spec, true, banp);
  ctx_.state->cluster_policies.push_back(std::move(cp));
}

// A field that only the policy API's experimental CRDs declare: with the standard channel
// the API server refuses it, as an unknown field.
template <class N>
void Decoder<N>::experimental_only(const N& at, const std::string& path) const {
  if (ctx_.options->policy_api_channel == PolicyApiChannel::Standard)
    fail(at, path +
                 ": only the experimental channel of the policy API has this field (the "
                 "standard channel's CRD does not declare it)");
}

template void Decoder<YamlNode>::network_policy(const YamlNode&, const std::string&);
template void Decoder<JsonNode>::network_policy(const JsonNode&, const std::string&);
template void Decoder<YamlNode>::cluster_policy(const YamlNode&, ClusterPolicyKind,
                                                const std::string&);
template void Decoder<JsonNode>::cluster_policy(const JsonNode&, ClusterPolicyKind,
                                                const std::string&);

}  // namespace stockade::input::detail
