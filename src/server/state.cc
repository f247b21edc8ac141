#include "server/state.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
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

// The store's observations resolved over one snapshot's endpoints, at the granularities asked
// for.
struct ServerState::Observed {
  std::shared_ptr<const Snapshot> snapshot;
  std::unique_ptr<EdgeGraph> graphs[3];

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
  void add(std::string_view src, std::string_view dst, L4Protocol protocol, uint16_t port,
           const EdgeStats& stats) {
    for (auto& g : graphs)
      if (g) g->add_observed(src, dst, protocol, port, stats);
  }
};

namespace {

// No objects: a graph `as_observed` resolves nothing, so it needs none.
const ClusterState kNoObjects;
const std::vector<Endpoint> kNoEndpoints;

std::unique_ptr<EdgeGraph> as_observed_graph() {
  GraphOptions go;
  go.as_observed = true;
  return std::make_unique<EdgeGraph>(kNoObjects, kNoEndpoints, go);
}

// A body's records as observed (EdgeGraph::as_observed: no resolution), with their counts per
// minute, for the store. `recent` carries the recent connection starts from one body to the
// next (a connection two nodes report, its reports in two bodies, counts once).
// `recent` is replaced only once the store took the body (`next`): a body refused and sent
// again must not find its own starts there.
store::EdgeBatch observe_body(std::string_view body, const FlowReadOptions& ro,
                              const EdgeGraph* recent, std::unique_ptr<EdgeGraph>& next,
                              IngestResult& out, Result<void>& read) {
  std::unique_ptr<EdgeGraph> graph = as_observed_graph();
  EdgeGraph& seen = *graph;
  if (recent) seen.continue_from(*recent);
  std::map<int64_t, store::RecordTally> tallies;  // by minute; 0: records without a time
  FlowReadStats stats;
  read = read_flows_text(body, "request body", ro, stats, [&](const Flow& f) {
    ++out.accepted;
    const uint64_t before = seen.unresolved();
    seen.add(f);
    const int64_t minute = f.time_ns ? f.time_ns - f.time_ns % store::kMinuteNs : 0;
    store::RecordTally& t = tallies[minute];
    t.time = minute;
    ++t.records;
    t.unresolved += seen.unresolved() - before;
  });
  out.skipped = stats.malformed;
  out.problems = std::move(stats.problems);
  if (stats.malformed) tallies[0].malformed += stats.malformed;
  store::EdgeBatch b;
  for (auto& [minute, t] : tallies) b.records.push_back(t);
  const auto& nodes = seen.nodes();
  for (const auto& [k, stats_of] : seen.edges())
    b.observed.push_back(
        store::StoredEdge{nodes[k.src].id, nodes[k.dst].id, k.protocol, k.port, stats_of, {}, 0});
  for (const auto& [k, n] : seen.late_resets()) {
    EdgeStats resets;
    resets.count = n;
    b.observed.push_back(store::StoredEdge{std::string(kResetKeyPrefix) + nodes[k.src].id,
                                           nodes[k.dst].id,
                                           k.protocol,
                                           k.port,
                                           resets,
                                           {},
                                           0});
  }
  next = as_observed_graph();
  next->continue_from(seen);
  return b;
}

// An agent batch as observed: each side as the agent named it; an inbound edge (the
// responder's evidence) keeps its times only, as EdgeGraph::add_aggregated counts it.
store::EdgeBatch observe_agent_batch(const batch::AgentBatch& b) {
  std::map<std::tuple<std::string, std::string, L4Protocol, uint16_t>, EdgeStats> merged;
  for (const batch::Edge& e : b.edges) {
    auto key = [&](const batch::Peer& p) {
      FlowPeer f;
      f.ns = p.ns;
      f.pod = p.pod;
      f.pod_uid = p.pod_uid;
      f.ip = p.ip;
      return peer_key(f, b.node);
    };
    std::string src = key(e.src), dst = key(e.dst);
    if (src.empty() || dst.empty()) continue;
    EdgeStats s = e.stats;
    if (e.inbound) s.count = s.established = s.failed = s.dropped = 0;
    EdgeStats& m = merged[{std::move(src), std::move(dst), e.protocol, e.port}];
    m.count += s.count;
    m.established += s.established;
    m.failed += s.failed;
    m.dropped += s.dropped;
    if (s.first_seen && (!m.first_seen || s.first_seen < m.first_seen)) m.first_seen = s.first_seen;
    m.last_seen = std::max(m.last_seen, s.last_seen);
  }
  store::EdgeBatch out;
  for (auto& [k, s] : merged)
    out.observed.push_back(store::StoredEdge{
        std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<3>(k), s, {}, 0});
  return out;
}

void merge_stats(EdgeStats& into, const EdgeStats& s) {
  into.count += s.count;
  into.established += s.established;
  into.failed += s.failed;
  into.dropped += s.dropped;
  if (s.first_seen && (!into.first_seen || s.first_seen < into.first_seen))
    into.first_seen = s.first_seen;
  into.last_seen = std::max(into.last_seen, s.last_seen);
}

bool is_reset(std::string_view src_key) {
  return src_key.starts_with(kResetKeyPrefix);
}

// Every row of `rows` to f, the edges before the reset rows (EdgeGraph::add_observed applies a
// reset to an edge the graph holds).
template <class F>
void edges_then_resets(const std::vector<store::StoredEdge>& rows, F&& f) {
  for (int pass = 0; pass < 2; ++pass)
    for (const store::StoredEdge& e : rows)
      if (is_reset(e.src) == (pass == 1)) f(e);
}

}  // namespace

// The store's observations (lifetime totals) as of one data version. A side's key (peer_key:
// its names and Hubble labels, a few hundred bytes) is kept once, however many edges it has.
struct ServerState::Held {
  uint64_t version = 0;
  uint64_t records = 0, malformed = 0, unresolved = 0;

  void add(const store::StoredEdge& e) {
    merge_stats(edges_[Key{id(e.src), id(e.dst), e.protocol, e.port}], e.stats);
  }
  // f(src key, dst key, protocol, port, stats) for every edge, then every reset row.
  template <class F>
  void for_each(F&& f) const {
    for (int pass = 0; pass < 2; ++pass)
      for (const auto& [k, s] : edges_)
        if (is_reset(names_[k.src]) == (pass == 1))
          f(names_[k.src], names_[k.dst], k.protocol, k.port, s);
  }

 private:
  struct Key {
    uint32_t src = 0, dst = 0;
    L4Protocol protocol = L4Protocol::Unknown;
    uint16_t port = 0;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      uint64_t h = (uint64_t{k.src} << 32 | k.dst) * 0x9E3779B97F4A7C15ULL;
      h ^= uint64_t{k.port} << 8 | static_cast<uint8_t>(k.protocol);
      return static_cast<size_t>(h ^ (h >> 29));
    }
  };
  uint32_t id(const std::string& name) {
    if (auto it = ids_.find(name); it != ids_.end()) return it->second;
    names_.push_back(name);
    const auto n = static_cast<uint32_t>(names_.size() - 1);
    ids_.emplace(names_.back(), n);
    return n;
  }
  std::deque<std::string> names_;  // stable addresses: ids_ holds views of them
  std::unordered_map<std::string_view, uint32_t> ids_;
  std::unordered_map<Key, EdgeStats, KeyHash> edges_;
};

ServerState::ServerState(ObjectSource source, FlowJournal& journal, StateOptions options,
                         audit::LiveAudit* audit)
    : source_(std::move(source)), journal_(journal), options_(std::move(options)), audit_(audit) {
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
    if (auto r = sync(); !r) return tl::unexpected<Error>(r.error());
    snap = observed_->snapshot;
  }
  std::optional<store::Observations> window;
  if (since_ns || until_ns) {
    auto o = audit_->observations(since_ns, until_ns);
    if (!o) return tl::unexpected<Error>(o.error());
    window = std::move(*o);
  }
  // At pod level over this snapshot's endpoints, from the store's observations.
  ObserveOptions oo;
  oo.max_external_nodes = max_external;
  auto obs = observe_graph(
      snap->state, *snap->engine, oo, [&](EdgeGraph& g, const FlowSink& l7) -> uint64_t {
        std::lock_guard lock(ingest_mutex_);
        // HTTP requests too, so that verify and simulate judge them as the CLI does (L7 rules);
        // the store keeps edges, not requests, so they come from this server's journal of records.
        // DNS answers are left out: the CLI teaches the engine their names (toFQDNs, domainNames),
        // and this snapshot's engine is shared by concurrent requests, so neither side of a
        // simulation would see them alike.
        replay_requests(since_ns, until_ns, l7);
        if (window) {
          edges_then_resets(window->edges, [&](const store::StoredEdge& e) {
            g.add_observed(e.src, e.dst, e.protocol, e.port, e.stats);
          });
          return window->records;
        }
        if (!held_) return uint64_t{0};
        held_->for_each(
            [&](const std::string& src, const std::string& dst, L4Protocol protocol, uint16_t port,
                const EdgeStats& stats) { g.add_observed(src, dst, protocol, port, stats); });
        return held_->records;
      });
  if (!obs) return tl::unexpected<Error>(obs.error());
  return std::make_pair(std::move(snap), std::move(*obs));
}

std::array<uint64_t, 3> ServerState::kept_version() const {
  std::lock_guard lock(ingest_mutex_);
  (void)sync();  // an unreadable store: what is held stays the answer
  return {counters_.generation, held_ ? held_->version : 0, 0};
}

Result<void> ServerState::load_observations() const {
  auto o = audit_->observations(0, 0);
  if (!o) return tl::unexpected<Error>(o.error());
  auto held = std::make_unique<Held>();
  for (const store::StoredEdge& e : o->edges) held->add(e);
  held->records = o->records;
  held->malformed = o->malformed;
  held->unresolved = o->unresolved;
  held->version = o->data_version;
  held_ = std::move(held);
  loaded_ = true;
  stale_ = false;
  return {};
}

Result<bool> ServerState::refresh() const {
  if (!audit_) return false;
  if (loaded_ && !stale_) {
    // One small read: nothing to do unless another replica wrote.
    auto v = audit_->data_version();
    if (!v) return tl::unexpected<Error>(v.error());
    if (*v == held_->version) return false;
  }
  if (auto r = load_observations(); !r) return tl::unexpected<Error>(r.error());
  return true;
}

Result<void> ServerState::sync() const {
  auto changed = refresh();
  if (!changed) return tl::unexpected<Error>(changed.error());
  if (*changed && observed_) {
    std::vector<Granularity> by;
    for (Granularity g : kAll)
      if (observed_->graphs[slot(g)]) by.push_back(g);
    observed_ = resolve_held(observed_->snapshot, by);
  }
  return {};
}

void ServerState::apply_written(const std::vector<const store::EdgeBatch*>& written,
                                uint64_t version) {
  if (!loaded_ || stale_ || version != held_->version + 1) {
    // Another replica wrote in between: the next reader (or rebuild) reads the store again.
    stale_ = true;
    return;
  }
  for (const store::EdgeBatch* b : written) {
    edges_then_resets(b->observed, [&](const store::StoredEdge& e) {
      held_->add(e);
      if (observed_) observed_->add(e.src, e.dst, e.protocol, e.port, e.stats);
    });
    for (const store::RecordTally& t : b->records) {
      held_->records += t.records;
      held_->malformed += t.malformed;
      held_->unresolved += t.unresolved;
    }
  }
  held_->version = version;
}

std::unique_ptr<ServerState::Observed> ServerState::resolve_held(
    const std::shared_ptr<const Snapshot>& snap, const std::vector<Granularity>& by) const {
  auto obs = std::make_unique<Observed>(snap, options_, by);
  if (held_)
    held_->for_each([&](const std::string& src, const std::string& dst, L4Protocol protocol,
                        uint16_t port,
                        const EdgeStats& stats) { obs->add(src, dst, protocol, port, stats); });
  return obs;
}

std::unique_ptr<ServerState::Observed> ServerState::resolve_observations(
    const std::shared_ptr<const Snapshot>& snap, const std::vector<store::StoredEdge>& edges,
    const std::vector<Granularity>& by) const {
  auto obs = std::make_unique<Observed>(snap, options_, by);
  edges_then_resets(edges, [&](const store::StoredEdge& e) {
    obs->add(e.src, e.dst, e.protocol, e.port, e.stats);
  });
  return obs;
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

void ServerState::replay_requests(int64_t since_ns, int64_t until_ns, const FlowSink& each) const {
  const FlowReadOptions ro = read_options();
  std::string http;
  (void)journal_.replay([&](std::string_view body) {
    // Records are lines, and most carry no HTTP request: only the lines that name one are
    // parsed (the journal holds every record kept).
    http.clear();
    for (size_t at = 0; at < body.size();) {
      size_t end = body.find('\n', at);
      if (end == std::string_view::npos) end = body.size();
      const std::string_view line = body.substr(at, end - at);
      if (line.find("\"http\"") != std::string_view::npos) http.append(line).push_back('\n');
      at = end + 1;
    }
    if (http.empty()) return;
    FlowReadStats stats;
    (void)read_flows_text(http, journal_.path(), ro, stats, [&](const Flow& f) {
      if (!f.l7_info || f.l7_info->http_method.empty()) return;
      if (f.time_ns != 0 &&
          ((since_ns && f.time_ns < since_ns) || (until_ns && f.time_ns >= until_ns)))
        return;
      each(f);
    });
  });
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

  // Records accepted while the observations are resolved would be missed: the swap and the
  // resolution happen under the ingest lock. Resolving is the cost of a rebuild that grows with
  // the distinct edges observed (not with the records: docs/notes/serve.md).
  std::lock_guard lock(ingest_mutex_);
  if (auto r = refresh(); !r) {
    ++counters_.rebuild_failures;
    return tl::unexpected<Error>(r.error());
  }
  observed_ = resolve_held(published, {std::begin(kAll), std::end(kAll)});
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
  if (!audit_) return make_error(ErrorCode::Unavailable, "flows need the store");
  // The journal keeps the raw body on this host (docs/notes/serve.md: what reads it); the
  // store is what the answers come from. A body the store refuses is taken back out of the
  // journal: refused means not kept.
  if (auto r = journal_.append(body); !r) return tl::unexpected<Error>(r.error());
  auto refuse = [&](const Error& e) -> Result<IngestResult> {
    if (auto d = journal_.drop_last(); !d) return tl::unexpected<Error>(d.error());
    return tl::unexpected<Error>(e);
  };
  const Snapshot& snap = *observed_->snapshot;
  // The pod-level edges of the body, resolved as verify resolves them (the audit's).
  ObserveOptions oo;
  oo.read = read_options();
  oo.max_external_nodes = 0;  // the body's size bounds them
  auto obs = observe_flows_text(snap.state, *snap.engine, body, oo);
  if (!obs) return refuse(obs.error());
  // The body as observed: what the store keeps for every later snapshot and every replica.
  IngestResult out;
  Result<void> read;
  std::unique_ptr<EdgeGraph> next_starts;
  store::EdgeBatch seen =
      observe_body(body, read_options(), recent_starts_.get(), next_starts, out, read);
  if (!read) return refuse(read.error());
  const std::vector<const store::EdgeBatch*> as_observed{&seen};
  auto reports = audit_->record_many(*snap.engine, {{&*obs, std::nullopt}}, &as_observed);
  if (!reports) return refuse(reports.error());
  out.audit = std::move(reports->front());
  recent_starts_ = std::move(next_starts);
  apply_written(as_observed, out.audit->data_version);
  counters_.batches = journal_.batches();
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
  if (!audit_)
    return fail_all(Error{"", 0, "agent batches need the store", ErrorCode::Unavailable});
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
  std::vector<std::pair<const stockade::Observed*, std::optional<store::AgentSequence>>> rows;
  std::vector<store::EdgeBatch> seen;
  seen.reserve(fresh.size());
  for (size_t i = 0; i < fresh.size(); ++i) {
    const batch::AgentBatch& b = fresh[i]->batch;
    rows.emplace_back(&observed[i], store::AgentSequence{b.node, b.boot_id, b.seq});
    seen.push_back(observe_agent_batch(b));
  }
  std::vector<const store::EdgeBatch*> as_observed;
  for (const store::EdgeBatch& b : seen) as_observed.push_back(&b);
  // One store transaction for the group: durable when it returns (the store is the batches'
  // only copy; an agent resends what was not acknowledged).
  const Snapshot& snap = *observed_->snapshot;
  auto reports = audit_->record_many(*snap.engine, rows, &as_observed);
  if (!reports) return fail(reports.error());
  std::vector<const store::EdgeBatch*> written;
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
    written.push_back(as_observed[i]);
    out.edges = p.batch.edges.size();
    out.audit = std::move(report);
    ++counters_.agent_batches;
    counters_.agent_edges += out.edges;
    p.result = std::move(out);
  }
  if (!reports->empty()) apply_written(written, reports->front().data_version);
  return true;
}

std::string entity_tag(std::string_view body) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : body) h = (h ^ c) * 1099511628211ull;
  char etag[24];
  std::snprintf(etag, sizeof etag, "\"%016llx\"", static_cast<unsigned long long>(h));
  return etag;
}

namespace {

// The map object of a graph, with the summary `stockade map` prints.
std::string render_map(const EdgeGraph& graph, const PolicyEngine& engine, uint64_t records,
                       uint64_t skipped, bool columns) {
  MapSummary summary{records, skipped + graph.unresolved()};
  summary.isolation_known = graph.has_objects();
  return columns ? render_map_columns_json(graph, engine, summary)
                 : render_map_json(graph, engine, summary);
}

}  // namespace

Result<std::string> ServerState::map_json(Granularity by, int64_t since_ns, int64_t until_ns,
                                          bool columns) const {
  if (!since_ns && !until_ns) {
    auto a = map_answer(by, columns);
    if (!a) return tl::unexpected<Error>(a.error());
    return (*a)->body.substr(0, (*a)->body.size() - 1);
  }
  std::lock_guard lock(ingest_mutex_);
  if (!observed_) return make_error(ErrorCode::Unavailable, "not ready");
  if (auto r = sync(); !r) return tl::unexpected<Error>(r.error());
  auto o = audit_ ? audit_->observations(since_ns, until_ns) : store::Observations{};
  if (!o) return tl::unexpected<Error>(o.error());
  auto window = resolve_observations(observed_->snapshot, o->edges, {by});
  return render_map(*window->graphs[slot(by)], *window->snapshot->engine, o->records,
                    o->malformed + o->unresolved, columns);
}

Result<std::shared_ptr<const ServerState::MapAnswer>> ServerState::map_answer(Granularity by,
                                                                              bool columns) const {
  std::lock_guard render(map_cache_mutex_);
  auto answer = std::make_shared<MapAnswer>();
  std::array<uint64_t, 2> version;
  {
    std::lock_guard lock(ingest_mutex_);
    if (!observed_) return make_error(ErrorCode::Unavailable, "not ready");
    if (auto r = sync(); !r) return tl::unexpected<Error>(r.error());
    version = {observed_->snapshot->generation, held_ ? held_->version : 0};
    if (version == map_cache_version_)
      if (auto it = map_cache_.find({by, columns}); it != map_cache_.end()) return it->second;
    answer->body = render_map(*observed_->graphs[slot(by)], *observed_->snapshot->engine,
                              held_ ? held_->records : 0,
                              held_ ? held_->malformed + held_->unresolved : 0, columns);
  }
  // Compressed and hashed outside the ingest lock: ingestion waits only for the rendering.
  answer->body += '\n';
  answer->gzip = batch::gzip(answer->body);
  answer->etag = entity_tag(answer->body);
  if (version != map_cache_version_) {
    map_cache_.clear();
    map_cache_version_ = version;
  }
  map_cache_[{by, columns}] = answer;
  ++map_renders_;
  return answer;
}

ServerState::Counters ServerState::counters() const {
  std::lock_guard lock(ingest_mutex_);
  Counters c = counters_;
  if (held_) {
    c.records = held_->records;  // the store's: every replica's
    c.malformed = held_->malformed;
  }
  c.map_renders = map_renders_.load();
  c.journal_bytes = journal_.bytes();
  if (observed_) c.edges = observed_->graphs[slot(Granularity::Workload)]->edges().size();
  if (audit_) {
    c.audit = audit_->counters();
    if (auto b = audit_->store_bytes()) c.store_bytes = *b;
  }
  return c;
}

}  // namespace stockade::server
