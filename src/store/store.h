// The server's memory: observed edges (lifetime and in time buckets), baselines, user decisions,
// audit events and the agents' batch sequence numbers. One interface, two engines chosen by URL:
// `sqlite:PATH` (embedded, the default: one server) and `postgres://…` (libpq: several `serve`
// replicas share one database). Both run the same SQL schema, numbered migrations applied at
// open (docs/notes/store.md lists it). Every call is one transaction; a write that returns is
// durable. A Store is safe to call from several threads: writes are serialized on one
// connection, reads on another.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "flow/edge_graph.h"
#include "model/flow.h"

namespace stockade::store {

constexpr int64_t kSecondNs = 1'000'000'000;
constexpr int64_t kMinuteNs = 60 * kSecondNs;
constexpr int64_t kHourNs = 60 * kMinuteNs;
constexpr int64_t kDayNs = 24 * kHourNs;

struct StoreOptions {
  // Nanoseconds since the epoch; the system clock when empty (tests inject one).
  std::function<int64_t()> now;
  int64_t minute_retention = 48 * kHourNs;  // 1-minute buckets older than this are deleted
  int64_t hour_retention = 90 * kDayNs;     // 1-hour buckets
  int64_t audit_retention = 90 * kDayNs;    // audit events
  // SQLite: how long a write waits for another connection's (another process's) write lock.
  int busy_timeout_ms = 5000;
};

// One aggregated edge as the flow module and the agent produce it: endpoints by their graph
// ids ("ns/name", "world/IP", "node/NAME"), outcome counts, first/last seen (ns, 0: unknown)
// and the processes seen opening it.
struct StoredEdge {
  std::string src, dst;
  L4Protocol protocol = L4Protocol::Unknown;
  uint16_t port = 0;
  EdgeStats stats;
  std::vector<std::string> processes;  // sorted, distinct
  // When the store first held the edge (its clock, ns; read by lifetime_edges, set by
  // write_batch): what a baseline locked at time T had seen is what was stored before T.
  // Not part of the edge's value (==).
  int64_t stored_at = 0;
  friend bool operator==(const StoredEdge& a, const StoredEdge& b) {
    const EdgeStats &x = a.stats, &y = b.stats;
    return a.src == b.src && a.dst == b.dst && a.protocol == b.protocol && a.port == b.port &&
           x.count == y.count && x.established == y.established && x.failed == y.failed &&
           x.dropped == y.dropped && x.first_seen == y.first_seen && x.last_seen == y.last_seen &&
           a.processes == b.processes;
  }
};

// Who sent a batch: an agent numbers its batches per boot. A batch whose sequence is not above
// the last one stored for (node, boot id) is a replay: acknowledged again, not stored twice.
struct AgentSequence {
  std::string node, boot_id;
  uint64_t sequence = 0;  // at most INT64_MAX
};

// Flow records taken in at one time (counted in its minute and hour buckets; 0: the store's
// now), for the map's summary.
struct RecordTally {
  int64_t time = 0;
  uint64_t records = 0;     // records read
  uint64_t malformed = 0;   // lines that were no record
  uint64_t unresolved = 0;  // records without a side any resolution could place
};

struct EdgeBatch {
  std::optional<AgentSequence> agent;  // absent for records posted without numbering
  // Pod-level edges, resolved over the objects of the moment (the audit and the baselines).
  std::vector<StoredEdge> edges;
  // The same traffic as observed, before any resolution: each side as the record or the agent
  // named it (flow/edge_graph.h peer_key; EdgeGraph's `as_observed` edges), no processes. Any
  // later snapshot of the objects resolves these again (the server's map, verify, simulate):
  // what replicas sharing the store all read.
  std::vector<StoredEdge> observed;
  std::vector<RecordTally> records;
};

struct WriteOutcome {
  bool stored = false;         // false: a replay of a batch stored before
  uint64_t last_sequence = 0;  // the agent's last stored sequence after the call
  uint64_t edges = 0;          // distinct edges the batch touched (0 for a replay)
  // The store's data version after the call: one more per write_batch(es) call, by whichever
  // replica. A reader that knew version V and sees V + 1 after its own write missed nothing.
  uint64_t data_version = 0;
};

// The observed traffic (EdgeBatch::observed) of a time range, with the records' counts.
struct Observations {
  uint64_t data_version = 0;  // of the read
  // Where the range came from: lifetime totals (no range), minute or hour buckets, or — for a
  // range reaching back before the hour buckets kept — the lifetime rows seen in it (an edge's
  // first to last time overlaps the range), with the lifetime counts.
  enum class Source : uint8_t { Lifetime, Minutes, Hours, LifetimeOverlap } source{};
  std::vector<StoredEdge> edges;  // sorted by (src, dst, protocol, port)
  uint64_t records = 0, malformed = 0, unresolved = 0;
};

enum class Resolution : uint8_t { Minute, Hour };
std::string_view to_string(Resolution r);

// Edges of the buckets that start in [since, until): minute buckets while the range lies
// inside the minute retention, hour buckets otherwise. `since` is rounded down to the
// resolution (the range read is [since, until) of whole buckets).
struct EdgeRange {
  Resolution resolution = Resolution::Minute;
  int64_t since = 0, until = 0;
  std::vector<StoredEdge> edges;  // sorted by (src, dst, protocol, port)
};

enum class BaselineState : uint8_t { Learning, Stable, Locked };
std::string_view to_string(BaselineState s);
std::optional<BaselineState> parse_baseline_state(std::string_view s);

// Per namespace (workload empty) or per workload of a namespace.
struct Baseline {
  std::string ns, workload;
  BaselineState state = BaselineState::Learning;
  int64_t since = 0;      // when it entered its state
  std::string locked_by;  // who locked it (Locked only)
  friend bool operator==(const Baseline&, const Baseline&) = default;
};

enum class DecisionVerdict : uint8_t { Allow, Deny };
std::string_view to_string(DecisionVerdict v);

// A user's decision on an edge; the latest one for an edge is the one in force.
struct Decision {
  int64_t id = 0;  // assigned by the store
  std::string src, dst;
  L4Protocol protocol = L4Protocol::Unknown;
  uint16_t port = 0;
  DecisionVerdict verdict = DecisionVerdict::Allow;
  std::string by;
  int64_t at = 0;  // 0: now
  std::string reason;
  friend bool operator==(const Decision&, const Decision&) = default;
};

struct AuditEvent {
  int64_t id = 0;    // assigned by the store; orders events of the same time
  int64_t at = 0;    // ns since the epoch
  std::string kind;  // "denied", "outside-baseline", ...
  std::string src, dst;
  L4Protocol protocol = L4Protocol::Unknown;
  uint16_t port = 0;
  std::string process;
  std::string detail;  // JSON text: the deciding rule, ...
  friend bool operator==(const AuditEvent&, const AuditEvent&) = default;
};

// Events with since <= at < until, ordered by (at, id), after the cursor of the previous page.
struct AuditQuery {
  int64_t since = 0;
  int64_t until = std::numeric_limits<int64_t>::max();
  int64_t after_at = std::numeric_limits<int64_t>::min(), after_id = 0;  // the cursor
  size_t limit = 100;                                                    // 1 to 10,000
};
struct AuditPage {
  std::vector<AuditEvent> events;
  bool more = false;  // another page follows: ask again with the last event's (at, id)
};

struct RetentionReport {
  bool ran = false;  // false: another replica holds the retention lock (PostgreSQL)
  uint64_t minute_buckets = 0, hour_buckets = 0, audit_events = 0;  // rows deleted
};

class Store {
 public:
  virtual ~Store() = default;

  virtual std::string_view engine() const = 0;  // "sqlite" or "postgres"
  virtual int schema_version() const = 0;

  // The batch's edges into the lifetime table and their minute and hour buckets (the bucket of
  // each edge's last_seen, or of now when unknown), with the agent's sequence number, in one
  // transaction: durable when it returns.
  virtual Result<WriteOutcome> write_batch(const EdgeBatch& batch) = 0;
  // Several batches in one transaction (group commit): the outcome of each, in order, as
  // write_batch would have answered them one after the other. An error: none was written.
  virtual Result<std::vector<WriteOutcome>> write_batches(
      const std::vector<EdgeBatch>& batches) = 0;
  virtual Result<std::optional<uint64_t>> last_sequence(std::string_view node,
                                                        std::string_view boot_id) = 0;

  virtual Result<std::vector<StoredEdge>> lifetime_edges() = 0;
  virtual Result<EdgeRange> edges_between(int64_t since, int64_t until) = 0;

  // The observed traffic: lifetime totals when since = until = 0, else the buckets starting in
  // [since, until) (until 0: no end), as edges_between chooses them (Observations::Source).
  virtual Result<Observations> observations(int64_t since, int64_t until) = 0;
  // The data version now (WriteOutcome::data_version): a cheap check that nothing changed.
  virtual Result<uint64_t> data_version() = 0;

  // Creates a baseline learning since now, or returns the one there is.
  virtual Result<Baseline> start_baseline(std::string_view ns, std::string_view workload) = 0;
  virtual Result<std::optional<Baseline>> baseline(std::string_view ns,
                                                   std::string_view workload) = 0;
  virtual Result<std::vector<Baseline>> baselines() = 0;  // sorted by (ns, workload)
  // learning -> stable (quiet period over), stable -> learning (a new edge), learning or
  // stable -> locked (a user: `by` required), locked -> learning (a user unlocks). Other
  // transitions, and one on a baseline that does not exist, are errors.
  virtual Result<Baseline> transition_baseline(std::string_view ns, std::string_view workload,
                                               BaselineState to, std::string_view by) = 0;
  virtual Result<bool> delete_baseline(std::string_view ns, std::string_view workload) = 0;

  virtual Result<int64_t> add_decision(const Decision& d) = 0;  // its id
  virtual Result<std::vector<Decision>> decisions() = 0;        // by (at, id)

  virtual Result<void> append_audit(const std::vector<AuditEvent>& events) = 0;
  virtual Result<AuditPage> audit_events(const AuditQuery& q) = 0;

  // Deletes expired buckets and audit events. On PostgreSQL guarded by an advisory lock, so
  // one replica runs it at a time (choosing which replica should is the server's job).
  virtual Result<RetentionReport> apply_retention() = 0;
  virtual Result<uint64_t> size_bytes() = 0;  // the database's size on disk
};

// `sqlite:PATH` or `postgres://…` / `postgresql://…` (a libpq connection URI). Creates the
// SQLite file when missing and applies the migrations the database lacks.
Result<std::unique_ptr<Store>> open_store(std::string_view url, StoreOptions options = {});

}  // namespace stockade::store
