#include "engine/peers.h"

#include <algorithm>
#include <set>

#include "core/edit_distance.h"

namespace stockade {

namespace {

// "; did you mean "shop/frontend"?" for the closest namespace, pod or workload, if one is close.
std::string did_you_mean(const std::vector<Endpoint>& eps, const std::string& sel) {
  size_t slash = sel.find('/');
  std::string ns = sel.substr(0, slash),
              name = slash == std::string::npos ? "" : sel.substr(slash + 1);
  std::set<std::string> namespaces;
  for (const Endpoint& e : eps) namespaces.insert(e.ns);
  if (!namespaces.count(ns)) {
    std::string n = closest_name(ns, namespaces);
    return n.empty() ? "" : "; did you mean \"" + n + (name.empty() ? "" : "/" + name) + "\"?";
  }
  if (name.empty() || name == "*") return "";
  std::set<std::string> names;
  for (const Endpoint& e : eps)
    if (e.ns == ns) {
      names.insert(e.name);
      if (!e.workload_name.empty()) names.insert(e.workload_name);
    }
  std::string n = closest_name(name, names);
  return n.empty() ? "" : "; did you mean \"" + ns + "/" + n + "\"?";
}

// The peers an address stands for: its pod, else the address itself.
Result<std::vector<Peer>> peers_of_ip(const PolicyEngine& engine, const ClusterState& state,
                                      const IpAddr& ip, const std::string& text,
                                      const std::string& what) {
  // Two pods of the input may hold one address (a terminating pod and its successor, or a
  // dump taken across a restart): which one was meant is not for us to guess.
  std::vector<uint32_t> holders;
  const auto& all = engine.endpoints();
  for (uint32_t i = 0; i < all.size() && holders.size() < 6; ++i)
    if (!all[i].pod.host_network &&
        std::find(all[i].ips.begin(), all[i].ips.end(), ip) != all[i].ips.end())
      holders.push_back(i);
  if (holders.size() > 1) {
    std::string list;
    for (size_t k = 0; k < holders.size() && k < 5; ++k)
      list += (k ? ", " : "") + all[holders[k]].id();
    return make_error(what, 0,
                      text + " is the address of more than one pod in the input (" + list +
                          (holders.size() > 5 ? ", ..." : "") + "): name the pod instead");
  }
  if (auto ep = engine.find_endpoint_by_ip(ip)) return std::vector<Peer>{Peer::of_endpoint(*ep)};
  // Policies act after a Service's address is translated to one of its pods.
  for (const Service& svc : state.services) {
    if (std::find(svc.cluster_ips.begin(), svc.cluster_ips.end(), ip) == svc.cluster_ips.end())
      continue;
    std::string list;
    int n = 0;
    for (const Endpoint& e : all)
      if (service_selects(svc, e.ns, e.pod.labels) && n++ < 5)
        list += (list.empty() ? "" : ", ") + e.id();
    return make_error(what, 0,
                      text + " is the cluster IP of Service " + svc.ns + "/" + svc.name +
                          "; policies see the pod behind it" +
                          (list.empty() ? std::string(" (it selects no pod in the input)")
                                        : ": use one of " + list + (n > 5 ? ", ..." : "")));
  }
  return std::vector<Peer>{Peer::of_ip(ip)};
}

}  // namespace

Result<std::vector<uint8_t>> select_endpoints(const std::vector<Endpoint>& eps,
                                              const std::string& sel, const std::string& what) {
  std::vector<uint8_t> mask(eps.size(), 0);
  if (sel == "*") {
    std::fill(mask.begin(), mask.end(), 1);
    return mask;
  }
  size_t slash = sel.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == sel.size())
    return make_error(what, 0, "expected NS/NAME, NS/* or *, got \"" + sel + "\"");
  std::string ns = sel.substr(0, slash), name = sel.substr(slash + 1);
  bool any = false;
  for (size_t i = 0; i < eps.size(); ++i) {
    if (eps[i].ns == ns && (name == "*" || eps[i].name == name)) {
      mask[i] = 1;
      any = true;
    }
  }
  if (!any) {
    // NS/NAME of a workload: every pod it owns.
    for (size_t i = 0; i < eps.size(); ++i)
      if (eps[i].ns == ns && eps[i].workload_name == name) mask[i] = any = true;
  }
  if (!any)
    return make_error(what, 0,
                      "no pod or workload matches \"" + sel + "\"" + did_you_mean(eps, sel));
  return mask;
}

Result<std::vector<Peer>> find_peers(const PolicyEngine& engine, const ClusterState& state,
                                     const std::string& text, const std::string& what) {
  if (auto ip = IpAddr::parse(text)) return peers_of_ip(engine, state, *ip, text, what);
  size_t slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == text.size())
    return make_error(what, 0, "expected NS/NAME or an IP address, got \"" + text + "\"");
  std::string ns = text.substr(0, slash), name = text.substr(slash + 1);
  if (auto ep = engine.find_endpoint(ns, name)) return std::vector<Peer>{Peer::of_endpoint(*ep)};
  // A workload that has pods: every one of them.
  std::vector<Peer> pods;
  const auto& eps = engine.endpoints();
  for (uint32_t i = 0; i < eps.size(); ++i)
    if (eps[i].ns == ns && eps[i].workload_name == name) pods.push_back(Peer::of_endpoint(i));
  if (pods.empty())
    return make_error(what, 0,
                      "no pod or workload \"" + text + "\" in the input" + did_you_mean(eps, text));
  return pods;
}

Result<ExplainedConnection> explain_connection(const PolicyEngine& engine,
                                               const ClusterState& state,
                                               const std::vector<Peer>& srcs,
                                               const std::vector<Peer>& dsts, const PortQuery& q,
                                               const std::string& from, const std::string& to) {
  auto port_on = [&](const Peer& dst) -> Result<uint16_t> {
    if (q.name.empty()) return q.number;
    if (!dst.endpoint)
      return make_error("--port", 0,
                        "a named port needs a pod or workload as --to, not an address");
    auto p = engine.resolve_port(*dst.endpoint, q);
    if (!p)
      return make_error("--port", 0,
                        engine.endpoints()[*dst.endpoint].id() + " declares no " +
                            std::string(to_string(q.protocol)) + " port named \"" + q.name + "\"");
    return *p;
  };
  auto name = [&](const Peer& p) {
    if (p.endpoint) return engine.endpoints()[*p.endpoint].id();
    for (const Node& n : state.nodes)
      if (std::find(n.addresses.begin(), n.addresses.end(), p.ip) != n.addresses.end())
        return p.ip.str() + " (node " + n.name + ")";
    return p.ip.str();
  };
  // A workload stands for all its pods: explain one pair when every pair is decided alike.
  ExplainedConnection x{srcs[0], dsts[0], name(srcs[0]), name(dsts[0]), q.protocol};
  auto port = port_on(x.dst);
  if (!port) return tl::unexpected(port.error());
  x.port = *port;
  x.verdict = engine.evaluate(x.src, x.dst, q.protocol, x.port);
  const Verdict& v = x.verdict;
  auto same = [](const Decision& a, const Decision& b) {
    return a.allowed == b.allowed && a.tier == b.tier && a.rule_index == b.rule_index &&
           (a.policy ? a.policy->name : "") == (b.policy ? b.policy->name : "");
  };
  size_t pairs = 0;
  for (const Peer& s : srcs)
    for (const Peer& d : dsts) {
      if (++pairs > 10000) break;
      auto p = port_on(d);
      if (!p) return tl::unexpected(p.error());
      Verdict w = engine.evaluate(s, d, q.protocol, *p);
      if (!same(w.egress, v.egress) || !same(w.ingress, v.ingress))
        return make_error("the pods of " + from + " and " + to + " are not all decided alike (" +
                          x.src_name + " -> " + x.dst_name + " is " +
                          (v.allowed ? "allowed" : "denied") + ", " + name(s) + " -> " + name(d) +
                          " is " + (w.allowed ? "allowed" : "denied") +
                          "): explain one pod at a time");
    }
  x.pairs = srcs.size() * dsts.size();
  return x;
}

}  // namespace stockade
