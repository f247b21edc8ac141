// What `stockade serve` holds: the cluster objects compiled into an engine snapshot, and the
// observed traffic aggregated over that snapshot's endpoints, fed by POST /api/v1/flows.
//
// A snapshot is immutable once published: readers take a shared_ptr and never wait for a
// rebuild. A rebuild (objects changed: SIGHUP, a file's change, a watch event) compiles the new
// engine off to the side, re-aggregates the journal's records over the new endpoints (the
// same records `stockade map --flows` would read, so the answers stay equal to the CLI's),
// then swaps both in under the ingest lock, so no accepted record is missed or counted twice.
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
#include <vector>

#include "audit/live_audit.h"
#include "core/error.h"
#include "engine/engine.h"
#include "flow/edge_graph.h"
#include "input/flow_reader.h"
#include "model/cluster_state.h"
#include "server/flow_journal.h"

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
  // `audit`, when given, stores and classifies every accepted batch (src/audit).
  // `batches`, when given, journals the agents' batches as `journal` does the records.
  ServerState(ObjectSource source, FlowJournal& journal, StateOptions options,
              audit::LiveAudit* audit = nullptr, FlowJournal* batches = nullptr);
  ~ServerState();

  // Loads the objects, compiles them, aggregates the journal's records and publishes the
  // result. On error the previous snapshot (if any) stays in place.
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
  // Changes when observe_kept(0, 0, …) would change: (generation, records, agent batches).
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

  // The `stockade map -o json` object for the records with a time in [since_ns, until_ns)
  // (0: unbounded; records without a time are always included, as `--since` treats them).
  // `columns`: the console's form (render_map_columns_json).
  std::string map_json(Granularity by, int64_t since_ns = 0, int64_t until_ns = 0,
                       bool columns = false) const;

  // Counters for /metrics.
  struct Counters {
    uint64_t records = 0, malformed = 0, batches = 0, rebuilds = 0, rebuild_failures = 0;
    double last_rebuild_seconds = 0;
    uint64_t edges = 0;  // workload-level edges now
    uint64_t generation = 0;
    uint64_t journal_bytes = 0;
    uint64_t agent_batches = 0, agent_replays = 0, agent_edges = 0;
    std::optional<audit::LiveAudit::Counters> audit;
    std::optional<uint64_t> store_bytes;
  };
  Counters counters() const;

  audit::LiveAudit* audit() const { return audit_; }

 private:
  struct Observed;  // the graphs of one snapshot
  std::unique_ptr<Observed> aggregate_journal(const std::shared_ptr<const Snapshot>& snap,
                                              int64_t since_ns, int64_t until_ns,
                                              const std::vector<Granularity>& by) const;
  FlowReadOptions read_options() const;
  // Every journaled record and agent batch in [since, until) into the graphs (the caller holds
  // the ingest lock); each record also to `each` when given (observe_kept's L7 records).
  void replay(const std::vector<EdgeGraph*>& graphs, int64_t since_ns, int64_t until_ns,
              uint64_t& records, uint64_t& malformed, const FlowSink& each = {}) const;

  struct PendingBatch;
  // One group of agent batches under the ingest lock: replays answered, the rest stored.
  void commit_group(const std::vector<PendingBatch*>& group);
  // False: nothing of the group was kept (each batch's result says why).
  bool store_group(const std::vector<PendingBatch*>& fresh,
                   const std::vector<stockade::Observed>& observed);

  ObjectSource source_;
  FlowJournal& journal_;
  FlowJournal* batches_ = nullptr;
  StateOptions options_;
  audit::LiveAudit* audit_ = nullptr;
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  std::mutex rebuild_mutex_;         // one rebuild at a time
  mutable std::mutex ingest_mutex_;  // journal order = aggregation order; guards observed_
  std::unique_ptr<Observed> observed_;
  // Group commit of agent batches (ingest_batch).
  std::mutex group_mu_;
  std::condition_variable group_cv_;
  std::vector<PendingBatch*> group_queue_;
  bool group_leader_ = false;
  // Each agent run's last stored sequence as this server stored or read it (under the ingest
  // lock); the store stays the authority (another replica may store a batch first).
  std::map<std::pair<std::string, std::string>, int64_t> last_sequence_;
  // Each agent run's highest sequence the graphs count (from the batch journal at the last
  // rebuild, then each batch added).
  std::map<std::pair<std::string, std::string>, uint64_t> journaled_sequence_;
  uint64_t generation_ = 0;
  Counters counters_;
  mutable std::mutex policy_cache_mutex_;        // guards policy_cache_
  mutable std::mutex policy_cache_build_mutex_;  // one policy_cache() made at a time
  mutable std::shared_ptr<PolicyCache> policy_cache_;
};

}  // namespace stockade::server
