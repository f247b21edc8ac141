#include "server/state.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "audit/verify.h"
#include "flow/agent_batch.h"
#include "map/map_view.h"
#include "recommend/observed.h"
#include "recommend/recommend.h"
#include "recommend/selfcheck.h"
#include "server/policy_cache.h"

namespace stockade::server {

namespace {

constexpr Granularity kAll[] = {Granularity::Pod, Granularity::Workload, Granularity::Namespace};

size_t slot(Granularity g) {
  return g == Granularity::Pod ? 0 : g == Granularity::Workload ? 1 : 2;
}

}  // namespace

// The observed traffic over one snapshot's endpoints, at the granularities asked for.
struct ServerState::Observed {
  std::shared_ptr<const Snapshot> snapshot;
  std::unique_ptr<EdgeGraph> graphs[3];
  uint64_t records = 0, malformed = 0;

  Observed(std::shared_ptr<const Snapshot> snap, const StateOptions& o,
           const std::vector<Granularity>& by)
      : snapshot(std::move(snap)) {
    for (Granularity g : by) {
      GraphOptions go;
      go.by = g;
      go.external_groups = o.external_groups;
      go.max_external_nodes = o.max_external_nodes;
      graphs[slot(g)] =
          std::make_unique<EdgeGraph>(snapshot->state, snapshot->engine->endpoints(), go);
    }
  }
  void add(const Flow& f) {
    for (auto& g : graphs)
      if (g) g->add(f);
  }
};

ServerState::ServerState(ObjectSource source, FlowJournal& journal, StateOptions options,
                         audit::LiveAudit* audit, FlowJournal* batches)
    : source_(std::move(source)),
      journal_(journal),
      batches_(batches),
      options_(std::move(options)),
      audit_(audit) {
  // Longest prefix first, so the most specific group names an address (as `map` sorts them).
  std::sort(options_.external_groups.begin(), options_.external_groups.end(),
            [](const Cidr& a, const Cidr& b) { return a.prefix > b.prefix; });
}

ServerState::~ServerState() = default;

FlowReadOptions ServerState::read_options() const {
  FlowReadOptions ro;
  ro.threads = 1;  // request bodies are small; the HTTP server's threads give the parallelism
  ro.max_gzip_ratio = options_.max_gzip_ratio;
  return ro;
}

Result<std::pair<std::shared_ptr<const Snapshot>, Observed>> ServerState::observe_kept(
    int64_t since_ns, int64_t until_ns, uint32_t max_external) const {
  std::shared_ptr<const Snapshot> snap;
  {
    std::lock_guard lock(ingest_mutex_);
    if (!observed_) return make_error(ErrorCode::Unavailable, "not ready");
    snap = observed_->snapshot;
  }
  // At pod level over this snapshot's endpoints. Read from the journals on each request: its
  // cost grows with the traffic kept (docs/notes/serve.md).
  ObserveOptions oo;
  oo.max_external_nodes = max_external;
  auto obs = observe_graph(snap->state, *snap->engine, oo, [&](EdgeGraph& g, const FlowSink& l7) {
    std::lock_guard lock(ingest_mutex_);
    uint64_t records = 0, malformed = 0;
    // HTTP requests too, so that verify and simulate judge them as the CLI does (L7 rules).
    // DNS answers are left out: the CLI teaches the engine their names (toFQDNs, domainNames),
    // and this snapshot's engine is shared by concurrent requests, so neither side of a
    // simulation would see them alike.
    replay({&g}, since_ns, until_ns, records, malformed, [&l7](const Flow& f) {
      if (f.l7_info && !f.l7_info->http_method.empty()) l7(f);
    });
    return records;
  });
  if (!obs) return tl::unexpected<Error>(obs.error());
  return std::make_pair(std::move(snap), std::move(*obs));
}

std::array<uint64_t, 3> ServerState::kept_version() const {
  std::lock_guard lock(ingest_mutex_);
  return {counters_.generation, counters_.records, counters_.agent_batches};
}

Result<std::string> ServerState::recommendations_json(const std::string& ns, bool accept_blocked,
                                                      int64_t min_window_ns) const {
  // The observation and the answers are kept per data version (policy_cache.h).
  auto cache = policy_cache();
  if (!cache) return tl::unexpected<Error>(cache.error());
  const std::shared_ptr<const Snapshot>& snap = (*cache)->snapshot;
  const stockade::Observed* obs = &(*cache)->observed;
  if (obs->edges.empty())
    return make_error(ErrorCode::Conflict, "no observed traffic yet: nothing to learn from");
  // As `stockade recommend` with its defaults: synthesis, then the self-check against the
  // policies in force (recommend/selfcheck.h).
  RecommendOptions ro;
  const int64_t window = obs->last_ns > obs->first_ns ? obs->last_ns - obs->first_ns : 0;
  ro.low_confidence = window < min_window_ns;
  std::lock_guard lock((*cache)->recommendations_mutex);
  const auto key = std::make_tuple(ns, accept_blocked, ro.low_confidence);
  if (auto it = (*cache)->recommendations.find(key); it != (*cache)->recommendations.end())
    return it->second;
  auto answer = [&]() -> Result<std::string> {
    Recommendation rec = recommend(snap->state, *snap->engine, *obs, ro);
    ClusterState after_state = with_recommendation(snap->state, rec, false);
    auto after = PolicyEngine::compile(after_state, build_endpoints(after_state));
    SelfCheck check = self_check(*snap->engine, *after, *obs, rec, ro);
    if (check.failed())
      return make_error(ErrorCode::Internal,
                        "self-check failed (a bug in stockade; please report it): the "
                        "recommendation denies " +
                            std::to_string(check.observed_denied.size()) + " observed edge(s)");
    if (check.blocked && !accept_blocked) {
      std::string msg = std::to_string(check.blocked) +
                        " observed edge(s) that the policies in force allow would be denied by the "
                        "recommendation (acceptBlocked=true answers it anyway)";
      if (!check.blocked_examples.empty()) msg += ": " + check.blocked_examples.front();
      return make_error(ErrorCode::Conflict, msg);
    }
    if (!ns.empty()) {
      std::erase_if(rec.policies, [&](const RecommendedPolicy& p) { return p.policy.ns != ns; });
      rec.guardrails.clear();  // cluster-scoped
    }
    return render_json(rec);
  }();
  (*cache)->recommendations.emplace(key, answer);
  return answer;
}

void ServerState::replay(const std::vector<EdgeGraph*>& graphs, int64_t since_ns, int64_t until_ns,
                         uint64_t& records, uint64_t& malformed, const FlowSink& each) const {
  const FlowReadOptions ro = read_options();
  (void)journal_.replay([&](std::string_view body) {
    FlowReadStats stats;
    (void)read_flows_text(body, journal_.path(), ro, stats, [&](const Flow& f) {
      if (f.time_ns != 0 &&
          ((since_ns && f.time_ns < since_ns) || (until_ns && f.time_ns >= until_ns)))
        return;
      ++records;
      for (EdgeGraph* g : graphs) g->add(f);
      if (each) each(f);
    });
    malformed += stats.malformed;
  });
  if (!batches_) return;
  // An agent's batch journaled twice (the store's answer lost in a crash between the two
  // writes, then the agent's replay) counts once.
  std::set<std::tuple<std::string, std::string, uint64_t>> seen;
  (void)batches_->replay([&](std::string_view body) {
    auto b = batch::decode(body);
    if (!b || !seen.emplace(b->node, b->boot_id, b->seq).second) return;
    if (since_ns || until_ns) {
      // A window keeps the edges seen in it (an edge's first to last time overlaps it).
      std::erase_if(b->edges, [&](const batch::Edge& e) {
        return (since_ns && e.stats.last_seen && e.stats.last_seen < since_ns) ||
               (until_ns && e.stats.first_seen >= until_ns);
      });
    }
    for (EdgeGraph* g : graphs) batch::add_to_graph(*b, *g);
  });
}

std::unique_ptr<ServerState::Observed> ServerState::aggregate_journal(
    const std::shared_ptr<const Snapshot>& snap, int64_t since_ns, int64_t until_ns,
    const std::vector<Granularity>& by) const {
  auto obs = std::make_unique<Observed>(snap, options_, by);
  std::vector<EdgeGraph*> graphs;
  for (auto& g : obs->graphs)
    if (g) graphs.push_back(g.get());
  replay(graphs, since_ns, until_ns, obs->records, obs->malformed);
  return obs;
}

Result<std::string> ServerState::verify_json(Granularity by, int64_t since_ns,
                                             int64_t until_ns) const {
  auto kept = observe_kept(since_ns, until_ns, 0);
  if (!kept) return tl::unexpected<Error>(kept.error());
  const std::shared_ptr<const Snapshot>& snap = kept->first;
  const stockade::Observed* obs = &kept->second;
  // Every record and batch kept, classified as `stockade verify` classifies them.
  if (snap->state.pods.empty() && snap->state.workloads.empty())
    return audit::verify_json_without_objects(*obs).dump(-1, ' ', false,
                                                         nlohmann::json::error_handler_t::replace);
  return audit::verify_json(audit::verify_observed(*snap->engine, *obs, by), *obs, by)
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<void> ServerState::rebuild() {
  std::lock_guard rebuild_lock(rebuild_mutex_);
  const auto start = std::chrono::steady_clock::now();
  auto fail = [&](Error e) -> Result<void> {
    std::lock_guard lock(ingest_mutex_);
    ++counters_.rebuild_failures;
    return tl::unexpected<Error>(std::move(e));
  };
  auto state = source_();
  if (!state) return fail(state.error());
  auto snap = std::make_shared<Snapshot>();
  snap->state = std::move(*state);
  snap->engine = PolicyEngine::compile(snap->state, build_endpoints(snap->state));
  snap->generation = ++generation_;
  snap->build_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::shared_ptr<const Snapshot> published = snap;

  // Records accepted while the journal is re-aggregated would be missed: the swap and the
  // re-aggregation happen under the ingest lock. Re-aggregating is the cost of a rebuild that
  // grows with the journal (docs/notes/serve.md).
  std::lock_guard lock(ingest_mutex_);
  observed_ = aggregate_journal(published, 0, 0, {std::begin(kAll), std::end(kAll)});
  // What the graphs now count of each agent run (a batch journaled but never stored, the
  // server killed in between, is counted by the replay: its resend must not count it again).
  journaled_sequence_.clear();
  if (batches_)
    (void)batches_->replay([&](std::string_view body) {
      if (auto b = batch::decode(body)) {
        uint64_t& seq = journaled_sequence_[{b->node, b->boot_id}];
        seq = std::max(seq, b->seq);
      }
    });
  counters_.records = observed_->records;
  counters_.malformed = observed_->malformed;
  counters_.batches = journal_.batches();
  snapshot_.store(published);
  ++counters_.rebuilds;
  counters_.generation = published->generation;
  counters_.last_rebuild_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {};
}

Result<IngestResult> ServerState::ingest(std::string_view body) {
  std::lock_guard lock(ingest_mutex_);
  if (!observed_) return make_error("not ready: the cluster objects are not loaded yet");
  if (auto r = journal_.append(body); !r) return tl::unexpected<Error>(r.error());
  IngestResult out;
  if (audit_) {
    // The pod-level edges of the body, resolved as verify resolves them, for the store and the
    // audit. A batch the store refuses is taken back out of the journal: refused means not kept.
    const Snapshot& snap = *observed_->snapshot;
    ObserveOptions oo;
    oo.read = read_options();
    oo.max_external_nodes = 0;  // the body's size bounds them
    auto obs = observe_flows_text(snap.state, *snap.engine, body, oo);
    Result<audit::BatchReport> report =
        obs ? audit_->record(*snap.engine, *obs, std::nullopt)
            : Result<audit::BatchReport>(tl::unexpected<Error>(obs.error()));
    if (!report) {
      if (auto d = journal_.drop_last(); !d) return tl::unexpected<Error>(d.error());
      return tl::unexpected<Error>(report.error());
    }
    out.audit = std::move(*report);
  }
  FlowReadStats stats;
  // Lines of the body are read exactly as the journal's replay will read them again.
  auto r = read_flows_text(body, "request body", read_options(), stats, [&](const Flow& f) {
    ++out.accepted;
    observed_->add(f);
  });
  out.skipped = stats.malformed;
  out.problems = std::move(stats.problems);
  observed_->records += out.accepted;
  observed_->malformed += out.skipped;
  counters_.records += out.accepted;
  counters_.malformed += out.skipped;
  counters_.batches = journal_.batches();
  if (!r) return tl::unexpected<Error>(r.error());
  return out;
}

// One agent batch waiting for its group's commit.
struct ServerState::PendingBatch {
  batch::AgentBatch batch;
  std::string_view body;
  Result<AgentBatchResult> result = make_error(ErrorCode::Internal, "not committed");
  bool done = false;
};

Result<AgentBatchResult> ServerState::ingest_batch(std::string_view body) {
  auto b = batch::decode(body);
  if (!b) return tl::unexpected<Error>(b.error());
  // Group commit: the batches that arrive while a group is being written wait and go together
  // in the next one (one journal sync, one store transaction). The first waiter without a
  // leader writes the group, its own batch included.
  PendingBatch p{std::move(*b), body};
  std::unique_lock gl(group_mu_);
  group_queue_.push_back(&p);
  while (!p.done) {
    if (group_leader_) {
      group_cv_.wait(gl);
      continue;
    }
    group_leader_ = true;
    std::vector<PendingBatch*> group = std::move(group_queue_);
    group_queue_.clear();
    gl.unlock();
    commit_group(group);
    gl.lock();
    for (PendingBatch* q : group) q->done = true;
    group_leader_ = false;
    group_cv_.notify_all();
  }
  return std::move(p.result);
}

void ServerState::commit_group(const std::vector<PendingBatch*>& group) {
  std::lock_guard lock(ingest_mutex_);
  auto fail_all = [&](const Error& e) {
    for (PendingBatch* p : group) p->result = tl::unexpected<Error>(e);
  };
  if (!observed_)
    return fail_all(
        Error{"", 0, "not ready: the cluster objects are not loaded yet", ErrorCode::Unavailable});
  if (!audit_ || !batches_)
    return fail_all(
        Error{"", 0, "agent batches need the store and a batch journal", ErrorCode::Unavailable});
  // A replay of a batch stored before is acknowledged again and not journaled: the store holds
  // each agent run's last sequence number, read once per run and then followed here.
  std::map<std::pair<std::string, std::string>, int64_t> taken;
  std::vector<PendingBatch*> fresh;
  const Snapshot& snap = *observed_->snapshot;
  std::vector<stockade::Observed> observed;
  observed.reserve(group.size());
  for (PendingBatch* p : group) {
    const batch::AgentBatch& b = p->batch;
    const std::pair<std::string, std::string> run{b.node, b.boot_id};
    auto it = taken.find(run);
    if (it == taken.end()) {
      if (auto c = last_sequence_.find(run); c != last_sequence_.end()) {
        it = taken.emplace(run, c->second).first;
      } else {
        auto last = audit_->last_sequence(b.node, b.boot_id);
        if (!last) {
          p->result = tl::unexpected<Error>(last.error());
          continue;
        }
        it = taken.emplace(run, *last ? static_cast<int64_t>(**last) : -1).first;
      }
    }
    if (it->second >= 0 && static_cast<int64_t>(b.seq) <= it->second) {
      p->result = AgentBatchResult{false, 0, std::nullopt};
      ++counters_.agent_replays;
      continue;
    }
    ObserveOptions oo;
    oo.max_external_nodes = 0;  // the batch's bounds bound them
    auto obs = observe_batch(snap.state, *snap.engine, b, oo);
    if (!obs) {
      p->result = tl::unexpected<Error>(obs.error());
      continue;
    }
    it->second = static_cast<int64_t>(b.seq);
    observed.push_back(std::move(*obs));
    fresh.push_back(p);
  }
  if (fresh.empty()) return;
  if (!store_group(fresh, observed)) return;
  for (const auto& [run, seq] : taken)
    if (seq >= 0) last_sequence_[run] = seq;
}

bool ServerState::store_group(const std::vector<PendingBatch*>& fresh,
                              const std::vector<stockade::Observed>& observed) {
  auto fail = [&](const Error& e) {
    for (PendingBatch* p : fresh) p->result = tl::unexpected<Error>(e);
    return false;
  };
  std::vector<std::string_view> bodies;
  std::vector<std::pair<const stockade::Observed*, std::optional<store::AgentSequence>>> rows;
  for (size_t i = 0; i < fresh.size(); ++i) {
    const batch::AgentBatch& b = fresh[i]->batch;
    bodies.push_back(fresh[i]->body);
    rows.emplace_back(&observed[i], store::AgentSequence{b.node, b.boot_id, b.seq});
  }
  // Journal first, then the store: the journal holds every batch the store does (a batch
  // journaled twice, after a crash between the two writes and the agent's resend, is replayed
  // once). A group the store refuses is taken back out of the journal: refused means not kept.
  if (auto r = batches_->append_many(bodies); !r) return fail(r.error());
  const Snapshot& snap = *observed_->snapshot;
  auto reports = audit_->record_many(*snap.engine, rows);
  if (!reports) {
    if (auto d = batches_->drop_last(); !d) return fail(d.error());
    return fail(reports.error());
  }
  for (size_t i = 0; i < fresh.size(); ++i) {
    PendingBatch& p = *fresh[i];
    audit::BatchReport& report = (*reports)[i];
    AgentBatchResult out;
    if (!report.stored) {
      // Stored by another replica in the meantime: acknowledged, not counted here.
      out.stored = false;
      ++counters_.agent_replays;
      p.result = out;
      continue;
    }
    uint64_t& counted = journaled_sequence_[{p.batch.node, p.batch.boot_id}];
    if (p.batch.seq > counted) {
      for (auto& g : observed_->graphs)
        if (g) batch::add_to_graph(p.batch, *g);
      counted = p.batch.seq;
    }
    out.edges = p.batch.edges.size();
    out.audit = std::move(report);
    ++counters_.agent_batches;
    counters_.agent_edges += out.edges;
    p.result = std::move(out);
  }
  return true;
}

std::string ServerState::map_json(Granularity by, int64_t since_ns, int64_t until_ns,
                                  bool columns) const {
  std::lock_guard lock(ingest_mutex_);
  if (!observed_) return {};
  const Observed* obs = observed_.get();
  std::unique_ptr<Observed> filtered;
  if (since_ns || until_ns) {
    filtered = aggregate_journal(observed_->snapshot, since_ns, until_ns, {by});
    obs = filtered.get();
  }
  const EdgeGraph& graph = *obs->graphs[slot(by)];
  MapSummary summary{obs->records, obs->malformed + graph.unresolved()};
  summary.isolation_known = graph.has_objects();
  return columns ? render_map_columns_json(graph, *obs->snapshot->engine, summary)
                 : render_map_json(graph, *obs->snapshot->engine, summary);
}

ServerState::Counters ServerState::counters() const {
  std::lock_guard lock(ingest_mutex_);
  Counters c = counters_;
  c.journal_bytes = journal_.bytes();
  if (observed_) c.edges = observed_->graphs[slot(Granularity::Workload)]->edges().size();
  if (audit_) {
    c.audit = audit_->counters();
    if (auto b = audit_->store_bytes()) c.store_bytes = *b;
  }
  return c;
}

}  // namespace stockade::server
