#include "audit/verify.h"

#include <map>
#include <tuple>

#include "audit/decision_text.h"

namespace stockade::audit {

const Decision& deciding_side(const Verdict& v) {
  if (!v.egress.allowed) return v.egress;
  if (!v.ingress.allowed) return v.ingress;
  if (v.ingress.policy) return v.ingress;
  if (v.egress.policy) return v.egress;
  return v.ingress.tier == DecisionTier::NotEvaluated ? v.egress : v.ingress;
}

namespace {

// Each observed HTTP request's verdict, rows keyed by the peers' names (a row never mixes
// verdicts).
void verify_requests(const PolicyEngine& engine, const Observed& obs, Granularity by,
                     Verification& out) {
  const std::vector<Endpoint>& eps = engine.endpoints();
  auto name = [&](const L7Peer& p) {
    return p.endpoint ? group_id(eps[*p.endpoint], by) : "world/" + p.ip.str();
  };
  auto peer = [](const L7Peer& p) {
    return p.endpoint ? Peer::of_endpoint(*p.endpoint) : Peer::of_ip(p.ip);
  };
  using Key = std::tuple<std::string, std::string, uint16_t, std::string, std::string, bool>;
  std::map<Key, size_t> rows;
  for (const ObservedHttp& h : obs.l7.http) {
    Verdict v = engine.evaluate_http(peer(h.src), peer(h.dst), h.port, {h.method, h.path, h.host});
    (v.allowed ? out.requests_allowed : out.requests_denied) += 1;
    Key k{name(h.src), name(h.dst), h.port, h.method, h.path, v.allowed};
    auto [it, fresh] = rows.emplace(k, out.requests.size());
    if (fresh)
      out.requests.push_back({std::get<0>(k), std::get<1>(k), h.port, h.method, h.path, 0, v});
    out.requests[it->second].count += h.count;
  }
}

}  // namespace

Verification verify_observed(const PolicyEngine& engine, const Observed& obs, Granularity by) {
  Verification out;
  // Each evaluable edge's verdict, then the rows `by` groups them into (observed.h): a row
  // holds edges of one verdict, and shows a member's deciding rule.
  std::vector<std::pair<size_t, uint8_t>> evaluated;
  std::vector<Verdict> verdicts(obs.edges.size());
  for (size_t i = 0; i < obs.edges.size(); ++i) {
    const ObservedEdge& e = obs.edges[i];
    if (e.stats.established == 0) {
      ++out.not_established;
      continue;
    }
    if (e.src.kind == ObservedPeer::Kind::Unresolved ||
        e.dst.kind == ObservedPeer::Kind::Unresolved) {
      ++out.unresolved;
      continue;
    }
    verdicts[i] = evaluate_edge(engine, e);
    evaluated.emplace_back(i, verdicts[i].allowed ? 1 : 0);
  }
  for (GroupedEdge& g : group_edges(obs.edges, evaluated, engine.endpoints(), {by})) {
    // The rule shown: a member's between two pods rather than a pod's own traffic.
    size_t rep = g.members.front();
    for (size_t m : g.members)
      if (obs.edges[m].src.id != obs.edges[m].dst.id) {
        rep = m;
        break;
      }
    const Verdict& v = verdicts[rep];
    (v.allowed ? out.allowed : out.denied) += g.members.size();
    out.rows.push_back(VerifyRow{std::move(g), rep, v});
  }
  verify_requests(engine, obs, by, out);
  return out;
}

nlohmann::json verify_json(const Verification& v, const Observed& obs, Granularity by) {
  nlohmann::json edges = nlohmann::json::array();
  for (const VerifyRow& row : v.rows) {
    const ObservedEdge& e = obs.edges[row.rep];
    const GroupedEdge& g = row.group;
    nlohmann::json j = {{"src", g.src},
                        {"dst", g.dst},
                        {"protocol", std::string(to_string(e.protocol))},
                        {"port", e.port},
                        {"count", g.stats.count},
                        {"established", g.stats.established},
                        {"verdict", row.verdict.allowed ? "allowed" : "denied"},
                        {"egress", side_json(row.verdict.egress, e.src.id, "egress")},
                        {"ingress", side_json(row.verdict.ingress, e.dst.id, "ingress")}};
    if (by != Granularity::Pod) j["pod_edges"] = g.members.size();
    if (g.stats.first_seen) j["first_seen"] = format_rfc3339(g.stats.first_seen);
    if (g.stats.last_seen) j["last_seen"] = format_rfc3339(g.stats.last_seen);
    edges.push_back(std::move(j));
  }
  nlohmann::json out = {{"edges", std::move(edges)},
                        {"summary",
                         {{"edges", v.allowed + v.denied},
                          {"allowed", v.allowed},
                          {"denied", v.denied},
                          {"unresolved", v.unresolved},
                          {"not_established", v.not_established},
                          {"flows", obs.records}}}};
  if (obs.l7.http_records == 0) return out;
  nlohmann::json requests = nlohmann::json::array();
  for (const Verification::Request& r : v.requests) {
    const Decision& side = deciding_side(r.verdict);
    requests.push_back({{"src", r.src},
                        {"dst", r.dst},
                        {"port", r.port},
                        {"method", r.method},
                        {"path", r.path},
                        {"count", r.count},
                        {"verdict", r.verdict.allowed ? "allowed" : "denied"},
                        {"decided_by", short_reason(side)}});
  }
  out["requests"] = std::move(requests);
  out["summary"]["requests"] = v.requests_allowed + v.requests_denied;
  out["summary"]["requests_allowed"] = v.requests_allowed;
  out["summary"]["requests_denied"] = v.requests_denied;
  return out;
}

nlohmann::json verify_json_without_objects(const Observed& obs) {
  uint64_t edges = 0, not_established = 0;
  nlohmann::json list = nlohmann::json::array();
  for (const ObservedEdge& e : obs.edges) {
    if (e.stats.established == 0) {
      ++not_established;
      continue;
    }
    ++edges;
    list.push_back({{"src", e.src.id},
                    {"dst", e.dst.id},
                    {"protocol", std::string(to_string(e.protocol))},
                    {"port", e.port},
                    {"count", e.stats.count},
                    {"established", e.stats.established},
                    {"verdict", "unknown"}});
  }
  return {{"edges", std::move(list)},
          {"summary",
           {{"edges", edges},
            {"allowed", 0},
            {"denied", 0},
            {"unknown", edges},
            {"not_established", not_established},
            {"flows", obs.records},
            {"isolation", "unknown"}}}};
}

}  // namespace stockade::audit
