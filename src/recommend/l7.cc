#include "recommend/l7.h"

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "recommend/declared.h"
#include "recommend/render.h"
#include "recommend/units.h"

namespace stockade {

namespace {

using ojson = nlohmann::ordered_json;
constexpr const char* kNamespaceKey = "k8s:io.kubernetes.pod.namespace";

// What one client unit sent to one (destination unit, port).
struct ClientRequests {
  std::vector<l7::ObservedRequest> requests;
};

// Per destination unit, per port, per client unit.
using Plan = std::map<uint32_t, std::map<uint16_t, std::map<uint32_t, ClientRequests>>>;

ojson method_regex(const std::set<std::string>& methods) {
  std::string s = "^";
  if (methods.size() > 1) s += "(";
  bool first = true;
  for (const std::string& m : methods) {
    if (!first) s += "|";
    first = false;
    for (char c : m)  // methods are tokens; anything else is escaped
      s += std::isalnum(static_cast<unsigned char>(c)) ? std::string(1, c)
                                                       : "\\" + std::string(1, c);
  }
  if (methods.size() > 1) s += ")";
  return s + "$";
}

// A unit's pods as a Cilium peer seen from a policy in `ns`.
ojson peer_selector(const rec::Unit& u, const std::string& ns) {
  LabelSelector s = u.selector;
  if (u.ns != ns) s.requirements.push_back({kNamespaceKey, SelectorOp::In, {u.ns}});
  return emit::selector(s);
}

std::string service_account(const ClusterState& state, const std::vector<Endpoint>& eps,
                            const rec::Unit& u) {
  for (uint32_t e : u.endpoints) {
    const Endpoint& ep = eps[e];
    for (const Pod& p : state.pods)
      if (p.ns == ep.ns && p.name == ep.name)
        return p.security.service_account.empty() ? "default" : p.security.service_account;
    for (const Workload& w : state.workloads)
      if (w.ns == ep.ns && w.name == ep.workload_name)
        return w.security.service_account.empty() ? "default" : w.security.service_account;
  }
  return "default";
}

// The patterns of each client, clients with the same patterns together.
struct Group {
  std::vector<uint32_t> clients;
  std::vector<l7::HttpPattern> patterns;
};

std::vector<Group> group_clients(const std::map<uint32_t, ClientRequests>& by_client,
                                 const L7Options& o, L7Recommendation& out) {
  std::map<std::string, size_t> index;
  std::vector<Group> groups;
  for (const auto& [client, cr] : by_client) {
    std::vector<l7::HttpPattern> ps = l7::generalise(cr.requests, o.paths);
    std::string key;
    for (const l7::HttpPattern& p : ps) {
      key += p.path_regex + " ";
      for (const std::string& m : p.methods) key += m + ",";
      key += "\n";
    }
    auto [it, fresh] = index.emplace(key, groups.size());
    if (fresh) groups.push_back(Group{{}, std::move(ps)});
    Group& g = groups[it->second];
    g.clients.push_back(client);
    if (!fresh)
      for (size_t i = 0; i < ps.size(); ++i) {
        g.patterns[i].requests += ps[i].requests;
        g.patterns[i].distinct_paths += ps[i].distinct_paths;
      }
  }
  for (const Group& g : groups)
    for (const l7::HttpPattern& p : g.patterns) {
      out.distinct_paths += p.distinct_paths;
      out.requests += p.requests;
    }
  return groups;
}

ojson metadata(const std::string& name, const std::string& ns) {
  return ojson{{"name", name},
               {"namespace", ns},
               {"labels", {{"app.kubernetes.io/managed-by", "stockade"}}}};
}

L7Policy finish(std::string kind, const std::string& ns, const std::string& name, ojson doc) {
  L7Policy p{std::move(kind), ns, name, emit::yaml_document(doc), doc.dump(2)};
  return p;
}

// Cilium: the destination's ingress with the http rules, one rule per client group and port.
L7Policy cilium_ingress(const rec::Unit& d, const std::map<uint16_t, std::vector<Group>>& ports,
                        const rec::Units& units, L7Recommendation& out) {
  ojson ingress = ojson::array();
  for (const auto& [port, groups] : ports)
    for (const Group& g : groups) {
      ojson from = ojson::array();
      for (uint32_t c : g.clients) from.push_back(peer_selector(units.units[c], d.ns));
      ojson http = ojson::array();
      for (const l7::HttpPattern& p : g.patterns) {
        http.push_back({{"method", method_regex(p.methods)}, {"path", p.path_regex}});
        ++out.http_rules;
      }
      ingress.push_back({{"fromEndpoints", from},
                         {"toPorts",
                          {{{"ports", {{{"port", std::to_string(port)}, {"protocol", "TCP"}}}},
                            {"rules", {{"http", http}}}}}}});
    }
  std::string name = rec::policy_name("l7-" + d.base);
  ojson doc = {{"apiVersion", "cilium.io/v2"},
               {"kind", "CiliumNetworkPolicy"},
               {"metadata", metadata(name, d.ns)},
               {"spec", {{"endpointSelector", emit::selector(d.selector)}, {"ingress", ingress}}}};
  return finish("CiliumNetworkPolicy", d.ns, name, std::move(doc));
}

// Cilium: each client's egress to the destinations it sent requests to, without isolating it
// (enableDefaultDeny.egress false: its other egress stays as the L4 policies say).
L7Policy cilium_egress(const rec::Unit& c, const std::map<uint32_t, std::set<uint16_t>>& to,
                       const rec::Units& units) {
  ojson egress = ojson::array();
  for (const auto& [d, ports] : to) {
    ojson ps = ojson::array();
    for (uint16_t p : ports) ps.push_back({{"port", std::to_string(p)}, {"protocol", "TCP"}});
    egress.push_back(
        {{"toEndpoints", {peer_selector(units.units[d], c.ns)}}, {"toPorts", {{{"ports", ps}}}}});
  }
  std::string name = rec::policy_name("l7-egress-" + c.base);
  ojson doc = {{"apiVersion", "cilium.io/v2"},
               {"kind", "CiliumNetworkPolicy"},
               {"metadata", metadata(name, c.ns)},
               {"spec",
                {{"endpointSelector", emit::selector(c.selector)},
                 {"enableDefaultDeny", {{"egress", false}}},
                 {"egress", egress}}}};
  return finish("CiliumNetworkPolicy", c.ns, name, std::move(doc));
}

// Istio: ALLOW rules from the clients' service accounts; paths as exact paths or `{*}`
// templates (a generalised segment becomes any one segment: Istio has no regular expressions).
L7Policy istio_policy(const rec::Unit& d, const std::map<uint16_t, std::vector<Group>>& ports,
                      const rec::Units& units, const ClusterState& state,
                      const std::vector<Endpoint>& eps, const L7Options& o, L7Recommendation& out) {
  ojson rules = ojson::array();
  for (const auto& [port, groups] : ports)
    for (const Group& g : groups) {
      std::set<std::string> principals;
      for (uint32_t c : g.clients) {
        const rec::Unit& u = units.units[c];
        principals.insert(o.trust_domain + "/ns/" + u.ns + "/sa/" + service_account(state, eps, u));
      }
      ojson to = ojson::array();
      for (const l7::HttpPattern& p : g.patterns) {
        ojson op = {
            {"ports", {std::to_string(port)}},
            {"methods", ojson(std::vector<std::string>(p.methods.begin(), p.methods.end()))}};
        op["paths"] = p.istio_paths;
        to.push_back({{"operation", op}});
        ++out.http_rules;
      }
      rules.push_back({{"from", {{{"source", {{"principals", principals}}}}}}, {"to", to}});
    }
  ojson labels = ojson::object();
  for (const SelectorRequirement& r : d.selector.requirements) labels[r.key] = r.values.front();
  std::string name = rec::policy_name("l7-" + d.base);
  ojson doc = {
      {"apiVersion", "security.istio.io/v1"},
      {"kind", "AuthorizationPolicy"},
      {"metadata", metadata(name, d.ns)},
      {"spec", {{"selector", {{"matchLabels", labels}}}, {"action", "ALLOW"}, {"rules", rules}}}};
  return finish("AuthorizationPolicy", d.ns, name, std::move(doc));
}

bool match_labels_only(const LabelSelector& s) {
  for (const SelectorRequirement& r : s.requirements)
    if (r.op != SelectorOp::In || r.values.size() != 1) return false;
  return !s.requirements.empty();
}

}  // namespace

L7Recommendation recommend_l7(const ClusterState& state, const PolicyEngine& engine,
                              const ObservedL7& observed, const L7Options& o) {
  L7Recommendation out;
  out.kind = o.kind;
  const std::vector<Endpoint>& eps = engine.endpoints();
  rec::Units units = rec::build_units(state, eps);
  Plan plan;
  std::set<std::string> skipped;
  for (const ObservedHttp& h : observed.http) {
    if (!h.src.endpoint || !h.dst.endpoint) {
      skipped.insert("requests from or to addresses outside the pods are not written (" +
                     std::string(h.src.endpoint ? "to " : "from ") + "outside)");
      continue;
    }
    uint32_t cu = units.unit_of[*h.src.endpoint], du = units.unit_of[*h.dst.endpoint];
    const rec::Unit& d = units.units[du];
    const rec::Unit& c = units.units[cu];
    if (cu == du) continue;  // a workload's own traffic: never filtered by its policies
    if (!o.include_system && is_system_namespace(d.ns)) continue;
    if (d.broad || c.broad || d.host_network || c.host_network ||
        (o.kind == L7Kind::Istio && !match_labels_only(d.selector))) {
      skipped.insert(d.ns + "/" + d.name + " or its client " + c.ns + "/" + c.name +
                     " has no stable labels to select it by: its requests stay under L4 rules");
      continue;
    }
    plan[du][h.port][cu].requests.push_back({h.method, h.path, h.count});
  }
  std::map<uint32_t, std::map<uint32_t, std::set<uint16_t>>> egress;  // client -> dst -> ports
  for (const auto& [du, ports] : plan) {
    std::map<uint16_t, std::vector<Group>> groups;
    for (const auto& [port, clients] : ports) {
      groups[port] = group_clients(clients, o, out);
      ++out.destinations;
      for (const auto& [cu, cr] : clients) {
        egress[cu][du].insert(port);
        for (uint32_t ce : units.units[cu].endpoints)
          for (uint32_t de : units.units[du].endpoints) out.carried.insert({ce, de, port});
      }
    }
    const rec::Unit& d = units.units[du];
    out.policies.push_back(o.kind == L7Kind::Cilium
                               ? cilium_ingress(d, groups, units, out)
                               : istio_policy(d, groups, units, state, eps, o, out));
  }
  if (o.kind == L7Kind::Cilium)
    for (const auto& [cu, to] : egress)
      out.policies.push_back(cilium_egress(units.units[cu], to, units));
  std::sort(out.policies.begin(), out.policies.end(), [](const L7Policy& a, const L7Policy& b) {
    return std::tie(a.ns, a.name) < std::tie(b.ns, b.name);
  });
  out.notes.assign(skipped.begin(), skipped.end());
  return out;
}

std::vector<std::string> refused_requests(const PolicyEngine& engine, const ObservedL7& observed,
                                          size_t limit) {
  std::vector<std::string> out;
  const std::vector<Endpoint>& eps = engine.endpoints();
  auto name = [&](const L7Peer& p) { return p.endpoint ? eps[*p.endpoint].id() : p.ip.str(); };
  auto peer = [](const L7Peer& p) {
    return p.endpoint ? Peer::of_endpoint(*p.endpoint) : Peer::of_ip(p.ip);
  };
  for (const ObservedHttp& h : observed.http) {
    Verdict v = engine.evaluate_http(peer(h.src), peer(h.dst), h.port, {h.method, h.path, h.host});
    if (v.allowed) continue;
    if (out.size() < limit)
      out.push_back(name(h.src) + " -> " + name(h.dst) + ":" + std::to_string(h.port) + " " +
                    h.method + " " + h.path);
  }
  return out;
}

}  // namespace stockade
