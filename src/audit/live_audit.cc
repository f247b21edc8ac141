#include "audit/live_audit.h"

#include "audit/decision_text.h"
#include "core/wall_clock.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

namespace stockade::audit {

namespace {

std::string edge_key(std::string_view src, std::string_view dst, std::string_view proto,
                     uint16_t port) {
  std::string k;
  k.reserve(src.size() + dst.size() + proto.size() + 8);
  k.append(src).append(1, ' ').append(dst).append(1, ' ').append(proto).append(1, '/');
  k.append(std::to_string(port));
  return k;
}

L4Protocol to_l4(Protocol p) {
  switch (p) {
    case Protocol::TCP:
      return L4Protocol::TCP;
    case Protocol::UDP:
      return L4Protocol::UDP;
    case Protocol::SCTP:
      return L4Protocol::SCTP;
  }
  return L4Protocol::Unknown;
}

}  // namespace

std::string verdict_detail(const Verdict& v, const std::string& src, const std::string& dst) {
  // Each side as verify's JSON shows it (decision_text.h).
  nlohmann::json j = {{"verdict", v.allowed ? "allowed" : "denied"},
                      {"egress", side_json(v.egress, src, "egress")},
                      {"ingress", side_json(v.ingress, dst, "ingress")}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

LiveAudit::LiveAudit(store::Store& store, AuditOptions options)
    : store_(store), options_(std::move(options)) {}

int64_t LiveAudit::now() const {
  if (options_.now) return options_.now();
  return wall_now_ns();
}

std::string_view LiveAudit::namespace_of(const PolicyEngine& engine, const ObservedPeer& p) const {
  if (p.kind != ObservedPeer::Kind::Endpoint) return {};
  const auto& eps = engine.endpoints();
  if (p.endpoint >= eps.size()) return {};
  return eps[p.endpoint].ns;
}

Result<void> LiveAudit::load() {
  auto edges = store_.lifetime_edges();
  if (!edges) return tl::unexpected(edges.error());
  auto baselines = store_.baselines();
  if (!baselines) return tl::unexpected(baselines.error());
  std::lock_guard lock(mu_);
  known_.clear();
  last_new_edge_.clear();
  baselines_.clear();
  for (const store::StoredEdge& e : *edges) {
    known_[edge_key(e.src, e.dst, to_string(e.protocol), e.port)] = Known{e.stored_at, e.stats};
    // The namespace of a pod-level id "ns/name"; world/ and node/ ids have none that counts.
    for (const std::string* id : {&e.src, &e.dst}) {
      size_t slash = id->find('/');
      if (slash == std::string::npos) continue;
      std::string ns = id->substr(0, slash);
      if (ns == "world" || ns == "node") continue;
      int64_t& t = last_new_edge_[ns];
      t = std::max(t, e.stored_at);
    }
  }
  for (store::Baseline& b : *baselines)
    if (b.workload.empty()) baselines_[b.ns] = std::move(b);
  counters_.known_edges = known_.size();
  return {};
}

namespace {

// The observed edges as the store keeps them.
store::EdgeBatch edge_batch(const Observed& observed,
                            const std::optional<store::AgentSequence>& agent) {
  store::EdgeBatch batch;
  batch.agent = agent;
  for (const ObservedEdge& e : observed.edges) {
    store::StoredEdge s;
    s.src = e.src.id;
    s.dst = e.dst.id;
    s.protocol = to_l4(e.protocol);
    s.port = e.port;
    s.stats = e.stats;
    batch.edges.push_back(std::move(s));
  }
  return batch;
}

store::AuditEvent audit_event(const ObservedEdge& e, int64_t at, std::string kind,
                              std::string detail) {
  store::AuditEvent ev;
  ev.at = at;
  ev.kind = std::move(kind);
  ev.src = e.src.id;
  ev.dst = e.dst.id;
  ev.protocol = to_l4(e.protocol);
  ev.port = e.port;
  ev.detail = std::move(detail);
  return ev;
}

}  // namespace

Result<BatchReport> LiveAudit::record(const PolicyEngine& engine, const Observed& observed,
                                      const std::optional<store::AgentSequence>& agent) {
  auto reports = record_many(engine, {{&observed, agent}}, nullptr);
  if (!reports) return tl::unexpected(reports.error());
  return std::move(reports->front());
}

Result<std::vector<BatchReport>> LiveAudit::record_many(
    const PolicyEngine& engine,
    const std::vector<std::pair<const Observed*, std::optional<store::AgentSequence>>>& batches,
    const std::vector<const store::EdgeBatch*>* as_observed) {
  std::lock_guard lock(mu_);  // one group at a time: "new edge" and the baselines stay exact
  std::vector<store::EdgeBatch> edges;
  for (size_t i = 0; i < batches.size(); ++i) {
    edges.push_back(edge_batch(*batches[i].first, batches[i].second));
    if (as_observed && i < as_observed->size() && (*as_observed)[i]) {
      edges.back().observed = (*as_observed)[i]->observed;
      edges.back().records = (*as_observed)[i]->records;
    }
  }
  auto written = store_.write_batches(edges);
  if (!written) return tl::unexpected(written.error());
  std::vector<BatchReport> reports(batches.size());
  for (size_t i = 0; i < batches.size(); ++i) reports[i].data_version = (*written)[i].data_version;
  std::vector<store::AuditEvent> events;
  std::vector<size_t> first_event(batches.size() + 1, 0);
  for (size_t i = 0; i < batches.size(); ++i) {
    first_event[i] = events.size();
    if (!(*written)[i].stored) {
      reports[i].stored = false;
      continue;
    }
    classify(engine, *batches[i].first, reports[i], events);
  }
  first_event[batches.size()] = events.size();
  // The group's audit events in one transaction too.
  Result<void> appended = events.empty() ? Result<void>{} : store_.append_audit(events);
  for (size_t i = 0; i < batches.size(); ++i) {
    BatchReport& report = reports[i];
    if (!appended && first_event[i + 1] > first_event[i])
      report.problems.push_back(appended.error());
    if (appended) report.events = first_event[i + 1] - first_event[i];
    counters_.edges += report.edges;
    counters_.allowed += report.allowed;
    counters_.denied += report.denied;
    counters_.outside_baseline += report.outside_baseline;
    counters_.events += report.events;
  }
  counters_.known_edges = known_.size();
  return reports;
}

void LiveAudit::classify(const PolicyEngine& engine, const Observed& observed, BatchReport& report,
                         std::vector<store::AuditEvent>& events) {
  const int64_t t = now();
  std::set<std::string, std::less<>> touched;  // namespaces with a new edge
  for (const ObservedEdge& e : observed.edges) {
    ++report.edges;
    const std::string proto(to_string(e.protocol));
    auto [it, fresh] = known_.try_emplace(edge_key(e.src.id, e.dst.id, proto, e.port));
    if (fresh) {
      it->second.stored_at = t;
      ++report.new_edges;
    }
    Known& k = it->second;
    k.stats.count += e.stats.count;
    k.stats.established += e.stats.established;
    k.stats.failed += e.stats.failed;
    k.stats.dropped += e.stats.dropped;
    if (e.stats.first_seen && (!k.stats.first_seen || e.stats.first_seen < k.stats.first_seen))
      k.stats.first_seen = e.stats.first_seen;
    k.stats.last_seen = std::max(k.stats.last_seen, e.stats.last_seen);

    // The namespaces whose baselines this edge belongs to: its pod sides'.
    std::string_view spaces[2] = {namespace_of(engine, e.src), namespace_of(engine, e.dst)};
    bool outside = false;
    std::string outside_ns;
    for (std::string_view ns : spaces) {
      if (ns.empty()) continue;
      auto b = baselines_.find(ns);
      if (b == baselines_.end()) {
        auto started = store_.start_baseline(ns, "");
        if (!started) {
          report.problems.push_back(started.error());
          continue;
        }
        b = baselines_.emplace(std::string(ns), *started).first;
      }
      if (fresh) {
        last_new_edge_[std::string(ns)] = t;
        touched.emplace(ns);
      }
      if (b->second.state == store::BaselineState::Locked && k.stored_at > b->second.since &&
          !outside) {
        outside = true;
        outside_ns = std::string(ns);
      }
    }

    const bool resolved = e.src.kind != ObservedPeer::Kind::Unresolved &&
                          e.dst.kind != ObservedPeer::Kind::Unresolved;
    std::optional<Verdict> verdict;
    // As verify: attempts that never connected are not traffic a policy let through.
    if (resolved && e.stats.established > 0) verdict = evaluate_edge(engine, e);
    if (!verdict) {
      ++report.not_evaluated;
    } else if (verdict->allowed) {
      ++report.allowed;
    } else {
      ++report.denied;
    }
    auto event = [&](std::string kind, std::string detail) {
      events.push_back(audit_event(e, t, std::move(kind), std::move(detail)));
    };
    if (verdict && !verdict->allowed) event("denied", verdict_detail(*verdict, e.src.id, e.dst.id));
    if (outside) {
      ++report.outside_baseline;
      nlohmann::json d = {{"namespace", outside_ns},
                          {"count", e.stats.count},
                          {"established", e.stats.established}};
      if (verdict) d["verdict"] = verdict->allowed ? "allowed" : "denied";
      event("outside-baseline", d.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
  }
  // A new edge sends a stable baseline back to learning.
  for (const std::string& ns : touched) {
    auto b = baselines_.find(ns);
    if (b == baselines_.end() || b->second.state != store::BaselineState::Stable) continue;
    auto moved = store_.transition_baseline(ns, "", store::BaselineState::Learning, "");
    if (!moved) {
      report.problems.push_back(moved.error());
      continue;
    }
    b->second = *moved;
  }
}

Result<void> LiveAudit::append_events(const std::vector<store::AuditEvent>& events) {
  if (events.empty()) return {};
  std::lock_guard lock(mu_);
  if (auto r = store_.append_audit(events); !r) return r;
  counters_.events += events.size();
  return {};
}

Result<std::vector<store::Baseline>> LiveAudit::settle() {
  std::lock_guard lock(mu_);
  std::vector<store::Baseline> changed;
  const int64_t t = now();
  for (auto& [ns, b] : baselines_) {
    if (b.state != store::BaselineState::Learning) continue;
    auto last = last_new_edge_.find(ns);
    const int64_t quiet_since = std::max(b.since, last == last_new_edge_.end() ? 0 : last->second);
    if (t - quiet_since < options_.quiet_period_ns) continue;
    auto moved = store_.transition_baseline(ns, "", store::BaselineState::Stable, "");
    if (!moved) return tl::unexpected(moved.error());
    b = *moved;
    changed.push_back(b);
  }
  return changed;
}

Result<store::Baseline> LiveAudit::lock(std::string_view ns, std::string_view by) {
  std::lock_guard lock(mu_);
  auto moved = store_.transition_baseline(ns, "", store::BaselineState::Locked, by);
  if (!moved) return moved;
  baselines_[std::string(ns)] = *moved;
  return moved;
}

Result<store::Baseline> LiveAudit::unlock(std::string_view ns, std::string_view by) {
  std::lock_guard lock(mu_);
  auto moved = store_.transition_baseline(ns, "", store::BaselineState::Learning, by);
  if (!moved) return moved;
  baselines_[std::string(ns)] = *moved;
  return moved;
}

std::vector<BaselineView> LiveAudit::baselines(const PolicyEngine& engine) const {
  std::lock_guard lock(mu_);
  const auto& eps = engine.endpoints();
  // Workload of each pod-level id, and the workloads of each namespace with their ports.
  std::unordered_map<std::string, std::string> workload_of;  // ns/pod -> ns/workload
  std::map<std::string, WorkloadCoverage> workloads;         // by id
  std::map<std::string, std::set<std::string>> declared;     // workload id -> "TCP/8080"
  for (const Endpoint& ep : eps) {
    const bool owned = !ep.workload_name.empty();
    std::string wid = ep.ns + "/" + (owned ? ep.workload_name : ep.name);
    workload_of[ep.id()] = wid;
    WorkloadCoverage& w = workloads[wid];
    w.id = wid;
    w.kind = owned ? ep.workload_kind : ep.kind;
    for (const ContainerPort& p : ep.pod.ports)
      declared[wid].insert(std::string(to_string(p.protocol)) + "/" + std::to_string(p.port));
  }
  std::map<std::string, std::set<std::string>> used;  // workload id -> destination ports seen
  std::map<std::string, uint64_t> ns_edges;
  for (const auto& [key, k] : known_) {
    // key: "src dst PROTO/port"; ids hold no spaces (names are DNS labels or addresses).
    size_t a = key.find(' '), b = key.find(' ', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string src = key.substr(0, a), dst = key.substr(a + 1, b - a - 1);
    std::string port = key.substr(b + 1);
    auto touch = [&](const std::string& id, bool in) {
      auto w = workload_of.find(id);
      if (w == workload_of.end()) return;
      WorkloadCoverage& c = workloads[w->second];
      (in ? c.edges_in : c.edges_out)++;
      if (k.stats.first_seen && (!c.first_seen || k.stats.first_seen < c.first_seen))
        c.first_seen = k.stats.first_seen;
      c.last_seen = std::max(c.last_seen, k.stats.last_seen);
      if (in) used[w->second].insert(port);
    };
    touch(src, false);
    touch(dst, true);
    std::set<std::string> spaces;
    for (const std::string* id : {&src, &dst})
      if (auto w = workload_of.find(*id); w != workload_of.end())
        spaces.insert(w->second.substr(0, w->second.find('/')));
    for (const std::string& ns : spaces) ++ns_edges[ns];
  }
  std::vector<BaselineView> out;
  for (const auto& [ns, b] : baselines_) {
    BaselineView v;
    v.baseline = b;
    if (auto it = last_new_edge_.find(ns); it != last_new_edge_.end()) v.last_new_edge = it->second;
    if (auto it = ns_edges.find(ns); it != ns_edges.end()) v.edges = it->second;
    const std::string prefix = ns + "/";
    for (auto it = workloads.lower_bound(prefix);
         it != workloads.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      WorkloadCoverage c = it->second;
      const auto& decl = declared[c.id];
      c.ports_declared.assign(decl.begin(), decl.end());
      const auto& u = used[c.id];
      for (const std::string& p : decl)
        if (!u.count(p)) c.ports_unused.push_back(p);
      if (c.edges_in + c.edges_out == 0) ++v.silent_workloads;
      v.workloads.push_back(std::move(c));
    }
    out.push_back(std::move(v));
  }
  return out;
}

bool LiveAudit::locked(std::string_view ns) const {
  std::lock_guard lock(mu_);
  auto it = baselines_.find(ns);
  return it != baselines_.end() && it->second.state == store::BaselineState::Locked;
}

LiveAudit::Counters LiveAudit::counters() const {
  std::lock_guard lock(mu_);
  Counters c = counters_;
  for (const auto& [ns, b] : baselines_) ++c.baselines[static_cast<size_t>(b.state)];
  return c;
}

std::optional<store::AuditEvent> applied_event(std::string_view by, std::string_view answer,
                                               int64_t at) {
  auto j = nlohmann::json::parse(answer, nullptr, false);
  if (j.is_discarded() || !j.contains("objects") || !j["objects"].is_array() ||
      j["objects"].empty())
    return std::nullopt;
  nlohmann::json objects = nlohmann::json::array();
  std::string names;
  size_t n = 0;
  for (const auto& o : j["objects"]) {
    auto text = [&](const char* k) {
      return o.contains(k) && o[k].is_string() ? o[k].get<std::string>() : std::string();
    };
    const std::string ns = text("namespace");
    objects.push_back({{"kind", text("kind")},
                       {"namespace", ns},
                       {"name", text("name")},
                       {"action", text("action")}});
    // The first three by name; the detail holds every one.
    if (n++ < 3)
      names += (names.empty() ? "" : ", ") + text("kind") + " " + (ns.empty() ? "" : ns + "/") +
               text("name");
  }
  if (n > 3) names += ", … (" + std::to_string(n) + " in all)";
  store::AuditEvent e;
  e.at = at;
  e.kind = "applied";
  e.src = std::string(by);
  e.dst = names;
  e.detail = nlohmann::json{{"by", std::string(by)}, {"objects", std::move(objects)}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  return e;
}

}  // namespace stockade::audit
