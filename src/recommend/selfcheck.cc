#include "recommend/selfcheck.h"

#include <set>
#include <tuple>

namespace stockade {

namespace {

std::string edge_text(const ObservedEdge& e) {
  return e.src.id + " -> " + e.dst.id + " " + std::string(to_string(e.protocol)) + "/" +
         std::to_string(e.port);
}

bool resolved(const ObservedEdge& e) {
  return e.src.kind != ObservedPeer::Kind::Unresolved &&
         e.dst.kind != ObservedPeer::Kind::Unresolved;
}

}  // namespace

SelfCheck self_check(const PolicyEngine& before, const PolicyEngine& after,
                     const Observed& observed, const Recommendation& rec,
                     const RecommendOptions& options, size_t max_examples) {
  SelfCheck out;
  const std::vector<Endpoint>& eps = after.endpoints();

  // Observed edges that became allowances.
  std::vector<uint8_t> must(observed.edges.size());
  for (size_t i : rec.must_allow) {
    must[i] = 1;
    const ObservedEdge& e = observed.edges[i];
    if (!edge_allowed(after, e)) out.observed_denied.push_back(edge_text(e));
  }

  // Observed established edges left out, which the policies in force allow.
  auto left_out = [&](const ObservedEdge& e, const char* why) {
    if (!edge_allowed(before, e) || edge_allowed(after, e)) return;
    ++out.blocked;
    if (out.blocked_examples.size() < max_examples)
      out.blocked_examples.push_back(edge_text(e) + " (" + std::to_string(e.stats.established) +
                                     " established, " + why + ")");
  };
  for (size_t i = 0; i < observed.edges.size(); ++i) {
    const ObservedEdge& e = observed.edges[i];
    if (must[i] || e.stats.established == 0 || !resolved(e)) continue;
    left_out(e, e.stats.established < options.min_count ? "below --min-count" : "not allowed");
  }
  for (const ObservedEdge& e : observed.outside_edges)
    if (e.stats.established && resolved(e)) left_out(e, "outside --since/--until");

  // Declared ingress: what was allowed before stays allowed.
  const IpAddr outside = *IpAddr::parse("198.51.100.1");  // TEST-NET-2: never a cluster address
  auto probe = [&](const Peer& src, uint32_t dst, const DeclaredIngress& d) {
    ++out.declared_checked;
    const Peer to = Peer::of_endpoint(dst);
    bool b, a;
    if (src.endpoint) {
      b = before.allowed(*src.endpoint, dst, d.protocol, d.port);
      a = after.allowed(*src.endpoint, dst, d.protocol, d.port);
    } else {
      b = before.evaluate(src, to, d.protocol, d.port).allowed;
      a = after.evaluate(src, to, d.protocol, d.port).allowed;
    }
    if (b && !a && out.declared_denied.size() < max_examples)
      out.declared_denied.push_back((src.endpoint ? eps[*src.endpoint].id() : outside.str()) +
                                    " -> " + eps[dst].id() + " " +
                                    std::string(to_string(d.protocol)) + "/" +
                                    std::to_string(d.port) + " (declared by " + d.reason + ")");
  };
  for (const DeclaredIngress& d : rec.declared) {
    if (d.from_outside) {
      probe(Peer::of_ip(outside), d.endpoint, d);
    } else if (d.from_all_pods) {
      for (uint32_t s = 0; s < eps.size(); ++s)
        if (s != d.endpoint && !eps[s].pod.host_network) probe(Peer::of_endpoint(s), d.endpoint, d);
    } else {
      for (uint32_t s : d.sources) probe(Peer::of_endpoint(s), d.endpoint, d);
    }
  }

  // Workloads left out of isolation: no recommended policy newly selects their pods.
  for (uint32_t e : rec.unobserved_endpoints) {
    Isolation b = before.np_isolation(e), a = after.np_isolation(e);
    if ((a.ingress && !b.ingress) || (a.egress && !b.egress))
      out.unobserved_isolated.push_back(eps[e].id());
  }

  // Every declared port of a pod, from the clients of its own namespace observed calling it.
  std::set<std::tuple<uint32_t, uint32_t, Protocol, uint16_t>> seen;
  for (const ObservedEdge& e : observed.edges) {
    if (e.stats.established == 0 || e.src.kind != ObservedPeer::Kind::Endpoint ||
        e.dst.kind != ObservedPeer::Kind::Endpoint || e.src.endpoint == e.dst.endpoint)
      continue;
    const Endpoint& s = eps[e.src.endpoint];
    const Endpoint& d = eps[e.dst.endpoint];
    if (s.ns != d.ns || s.pod.host_network || d.pod.host_network) continue;
    for (const ContainerPort& cp : d.pod.ports) {
      if (!seen.insert({e.src.endpoint, e.dst.endpoint, cp.protocol, cp.port}).second) continue;
      ++out.declared_ports_checked;
      if (!before.allowed(e.src.endpoint, e.dst.endpoint, cp.protocol, cp.port) ||
          after.allowed(e.src.endpoint, e.dst.endpoint, cp.protocol, cp.port))
        continue;
      ++out.declared_ports_denied;
      if (out.declared_ports_examples.size() < max_examples)
        out.declared_ports_examples.push_back(
            s.id() + " -> " + d.id() + " " + std::string(to_string(cp.protocol)) + "/" +
            std::to_string(cp.port) + (cp.name.empty() ? std::string() : " (" + cp.name + ")"));
    }
  }
  return out;
}

}  // namespace stockade
