// What `stockade serve` holds: the cluster objects compiled into an engine snapshot, and the
// observed traffic aggregated over that snapshot's endpoints, fed by POST /api/v1/flows, agents
// and Hubble Relay.
//
// The traffic's home is the store: each accepted body or batch is written there as observed,
// before any resolution (store::EdgeBatch::observed: each side as the record or the agent named
// it), beside its pod-level edges (the audit's). The map, verify, simulate and recommendations
// resolve those observations over the snapshot in force, exactly as `stockade map --flows`
// resolves records, so the answers stay equal to the CLI's after a restart, after the objects
// change, and across replicas sharing one PostgreSQL: each holds the store's observations in
// memory at a data version, adds its own writes, and reads the store again when another
// replica's write moved the version on.
//
// A snapshot is immutable once published: readers take a shared_ptr and never wait for a
// rebuild. A rebuild (objects changed: SIGHUP, a file's change, a watch event) compiles the new
// engine off to the side, resolves the observations over the new endpoints, then swaps both in
// under the ingest lock, so no accepted record is missed or counted twice.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "audit/live_audit.h"
#include "core/error.h"
#include "engine/engine.h"
#include "flow/edge_graph.h"
#include "input/flow_reader.h"
#include "model/cluster_state.h"
#include "server/flow_journal.h"
#include "store/store.h"

namespace stockade::server {

struct Snapshot {
  ClusterState state;
  std::unique_ptr<PolicyEngine> engine;  // over engine->endpoints()
  uint64_t generation = 0;
  double build_seconds = 0;  // load + endpoints + compile
};

// Where the objects come from: files (read again on each call) or a live cluster's informers.
using ObjectSource = std::function<Result<ClusterState>()>;

struct StateOptions {
  // As `stockade map`: --external-cidr groups and --max-external-nodes.
  std::vector<Cidr> external_groups;
  uint32_t max_external_nodes = 10000;
  uint32_t max_gzip_ratio = kDefaultMaxGzipRatio;
};

// An HTTP entity tag of an answer's body: "…", a 64-bit FNV-1a hash in hex.
std::string entity_tag(std::string_view body);

struct IngestResult {
  uint64_t accepted = 0;  // records handed to aggregation
  uint64_t skipped = 0;   // malformed lines
  std::vector<Error> problems;
  std::optional<audit::BatchReport> audit;  // with a live audit
};

// What POST /api/v1/agent/batches gave.
struct AgentBatchResult {
  bool stored = true;  // false: a replay of a batch stored before (acknowledged again)
  uint64_t edges = 0;
  std::optional<audit::BatchReport> audit;
};

class ServerState {
 public:
  // `audit` stores and classifies every accepted batch (src/audit); its store is where the
  // traffic is kept (without it nothing can be taken in). `journal` keeps the raw bodies of
  // POST /api/v1/flows on this host.
  ServerState(ObjectSource source, FlowJournal& journal, StateOptions options,
              audit::LiveAudit* audit = nullptr);
  ~ServerState();

  // Loads the objects, compiles them, resolves the store's observations over them and
  // publishes the result. On error the previous snapshot (if any) stays in place.
  Result<void> rebuild();

  // The current snapshot; null before the first successful rebuild().
  std::shared_ptr<const Snapshot> snapshot() const { return snapshot_.load(); }
  bool ready() const { return snapshot() != nullptr; }

  // Appends `body` (NDJSON flow records, already decompressed) to the journal, durably, hands
  // its pod-level edges to the live audit (stored, classified), then aggregates it. Errors:
  // the journal or the store could not be written (nothing of the body is kept then).
  Result<IngestResult> ingest(std::string_view body);

  // A node agent's batch (docs/agent-batches.md; gzip or JSON): decoded (errors: one line,
  // ErrorCode::Input), and unless it is a replay of one stored before, journaled, stored and
  // audited with its sequence number, then aggregated. Needs the live audit and a batch
  // journal.
  Result<AgentBatchResult> ingest_batch(std::string_view body);

  // The `stockade verify -o json --by BY` object for every record and batch kept in
  // [since, until) (0: unbounded).
  Result<std::string> verify_json(Granularity by, int64_t since_ns = 0, int64_t until_ns = 0) const;

  // The snapshot now and every record and batch kept in [since, until), at pod level over its
  // endpoints (0 external cap: none).
  Result<std::pair<std::shared_ptr<const Snapshot>, stockade::Observed>> observe_kept(
      int64_t since_ns, int64_t until_ns, uint32_t max_external) const;
  // Changes when observe_kept(0, 0, …) would change: (generation, the store's data version,
  // 0); another replica's write is seen here.
  std::array<uint64_t, 3> kept_version() const;

  // What `stockade recommend -o json` prints for the same objects and every record and batch
  // kept (its default options; a learning window under `min_window_ns` annotates every policy
  // confidence: low), only the policies of `ns` when not empty. Errors: no traffic yet
  // (Conflict), observed edges in force the recommendation would block (Conflict, unless
  // `accept_blocked`), a failed self-check (Internal).
  Result<std::string> recommendations_json(const std::string& ns, bool accept_blocked,
                                           int64_t min_window_ns) const;

  // The `stockade diff --flows -o json --by BY` object from the policies in force to those plus
  // `body`'s (YAML or JSON, multi-document; one with the kind, namespace and name of a policy in
  // force replaces it), over every record and batch kept (POST /api/v1/simulate). Errors: the
  // body is no policies (ErrorCode::Input, one line naming its line or object).
  Result<std::string> simulate_json(std::string_view body, Granularity by) const;
  // What simulate_json and recommendations_json reuse while kept_version() stays the same
  // (policy_cache.h, simulate.cc).
  struct PolicyCache;
  Result<std::shared_ptr<PolicyCache>> policy_cache() const;

  // The `stockade map -o json` object for every record and batch the store holds, or (a range)
  // those of the store's buckets in [since_ns, until_ns) (store::Store::observations: minute
  // buckets within their retention, then hour buckets; before those the edges seen in the
  // range). `columns`: the console's form (render_map_columns_json). Errors: not ready, the
  // store could not be read.
  Result<std::string> map_json(Granularity by, int64_t since_ns = 0, int64_t until_ns = 0,
                               bool columns = false) const;

  // GET /api/v1/map without a range: rendered and gzipped once per data version (the objects'
  // generation and the store's data version) and granularity and form, not per request.
  struct MapAnswer {
    std::string body;  // the JSON and a line end
    std::string gzip;  // the body gzipped (RFC 1952)
    std::string etag;  // "…": a hash of the body
  };
  Result<std::shared_ptr<const MapAnswer>> map_answer(Granularity by, bool columns) const;

  // Counters for /metrics.
  struct Counters {
    uint64_t records = 0, malformed = 0, batches = 0, rebuilds = 0, rebuild_failures = 0;
    double last_rebuild_seconds = 0;
    uint64_t edges = 0;  // workload-level edges now
    uint64_t generation = 0;
    uint64_t journal_bytes = 0;
    uint64_t agent_batches = 0, agent_replays = 0, agent_edges = 0;
    uint64_t map_renders = 0;  // map answers rendered (map_answer: once per data version)
    std::optional<audit::LiveAudit::Counters> audit;
    std::optional<uint64_t> store_bytes;
  };
  Counters counters() const;

  audit::LiveAudit* audit() const { return audit_; }

 private:
  struct Observed;  // the graphs of one snapshot
  // The graphs of `snap` at the granularities `by`, from the observations held, or from
  // `edges` (a range of the store's).
  std::unique_ptr<Observed> resolve_held(const std::shared_ptr<const Snapshot>& snap,
                                         const std::vector<Granularity>& by) const;
  std::unique_ptr<Observed> resolve_observations(const std::shared_ptr<const Snapshot>& snap,
                                                 const std::vector<store::StoredEdge>& edges,
                                                 const std::vector<Granularity>& by) const;
  FlowReadOptions read_options() const;
  // The HTTP requests (Hubble L7 records) of this server's journal of records with a time in
  // [since, until) to `each` (the caller holds the ingest lock): the store keeps edges only.
  void replay_requests(int64_t since_ns, int64_t until_ns, const FlowSink& each) const;
  // The caller holds the ingest lock. Reads the store's observations again when another
  // replica's write moved its data version past the one held (or a write of ours could not
  // be followed), and resolves them over the snapshot in force. Errors: the store's.
  Result<void> sync() const;
  // The same without resolving: true when the observations held were read again.
  Result<bool> refresh() const;
  Result<void> load_observations() const;
  // Our own write of `written` (the store's data version after it: `version`) into the
  // observations held and the graphs; when another write came in between, marks them stale.
  void apply_written(const std::vector<const store::EdgeBatch*>& written, uint64_t version);

  struct PendingBatch;
  // One group of agent batches under the ingest lock: replays answered, the rest stored.
  void commit_group(const std::vector<PendingBatch*>& group);
  // False: nothing of the group was kept (each batch's result says why).
  bool store_group(const std::vector<PendingBatch*>& fresh,
                   const std::vector<stockade::Observed>& observed);

  ObjectSource source_;
  FlowJournal& journal_;
  StateOptions options_;
  audit::LiveAudit* audit_ = nullptr;
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  std::mutex rebuild_mutex_;         // one rebuild at a time
  mutable std::mutex ingest_mutex_;  // store order = aggregation order; guards what follows
  // The store's observations as of a data version (a cache of the store, hence mutable: a
  // reader brings it up to date), and the graphs of the snapshot in force over them.
  mutable std::unique_ptr<Observed> observed_;
  struct Held;
  mutable std::unique_ptr<Held> held_;
  // map_answer's: the answers of one data version (objects' generation, store's version).
  mutable std::mutex map_cache_mutex_;  // held while one is rendered: a version rendered once
  mutable std::array<uint64_t, 2> map_cache_version_{};
  mutable std::map<std::pair<Granularity, bool>, std::shared_ptr<const MapAnswer>> map_cache_;
  mutable std::atomic<uint64_t> map_renders_{0};
  // The last body's recent connection starts (EdgeGraph::continue_from), for the next body.
  std::unique_ptr<EdgeGraph> recent_starts_;
  mutable bool loaded_ = false, stale_ = false;
  // Group commit of agent batches (ingest_batch).
  std::mutex group_mu_;
  std::condition_variable group_cv_;
  std::vector<PendingBatch*> group_queue_;
  bool group_leader_ = false;
  // Each agent run's last stored sequence as this server stored or read it (under the ingest
  // lock); the store stays the authority (another replica may store a batch first).
  std::map<std::pair<std::string, std::string>, int64_t> last_sequence_;
  uint64_t generation_ = 0;
  Counters counters_;
  mutable std::mutex policy_cache_mutex_;        // guards policy_cache_
  mutable std::mutex policy_cache_build_mutex_;  // one policy_cache() made at a time
  mutable std::shared_ptr<PolicyCache> policy_cache_;
};

}  // namespace stockade::server
