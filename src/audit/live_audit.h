// Live audit (issue 20 items 5 and 6): every batch of observed traffic the server takes in is
// stored (lifetime totals and time buckets, src/store), each of its edges classified against the
// policies in force — allowed or denied, and the rule that decided, exactly as `stockade verify`
// evaluates an observed edge — and against its namespaces' baselines. Denied edges and edges new
// to a locked baseline become audit events.
//
// Baselines are per namespace: learning from the first edge seen in (or out of) it, stable
// once no new edge has appeared for the quiet period, back to learning on a new edge, locked by
// a user (then every edge the store did not hold when it was locked is outside it), unlocked by
// a user (learning again). What a baseline holds is what the store held when it was locked:
// each stored edge keeps the time it was first stored.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "engine/engine.h"
#include "model/cluster_state.h"
#include "recommend/observed.h"
#include "store/store.h"

namespace stockade::audit {

struct AuditOptions {
  int64_t quiet_period_ns = 24 * store::kHourNs;  // learning -> stable without a new edge
  std::function<int64_t()> now;                   // ns since the epoch; the system clock if empty
};

// What one batch gave.
struct BatchReport {
  bool stored = true;  // false: an agent's batch stored before (a replay), nothing done
  uint64_t edges = 0;  // pod-level edges of the batch
  uint64_t allowed = 0, denied = 0;
  uint64_t not_evaluated = 0;  // an endpoint outside the objects, or not established
  uint64_t new_edges = 0;      // edges the store did not hold before
  uint64_t outside_baseline = 0;
  uint64_t events = 0;
  // Once the edges are stored the batch is accepted; what failed after that (a baseline, the
  // audit events) is reported here rather than refusing a batch already durable.
  std::vector<Error> problems;
  uint64_t data_version = 0;  // the store's data version after the write (WriteOutcome)
};

// How much a workload of a namespace was seen: enough to lock its namespace's baseline?
struct WorkloadCoverage {
  std::string id;    // as `map --by workload` names it: ns/name
  std::string kind;  // Deployment, CronJob, ..., or Pod
  uint64_t edges_in = 0, edges_out = 0;
  int64_t first_seen = 0, last_seen = 0;    // ns, 0: never seen
  std::vector<std::string> ports_declared;  // "TCP/8080", from the pod template
  std::vector<std::string> ports_unused;    // declared, never seen as a destination port
};

struct BaselineView {
  store::Baseline baseline;
  int64_t last_new_edge = 0;  // when an edge involving the namespace was last first stored
  uint64_t edges = 0;         // pod-level edges involving the namespace
  std::vector<WorkloadCoverage> workloads;
  uint64_t silent_workloads = 0;  // workloads never seen talking
};

class LiveAudit {
 public:
  LiveAudit(store::Store& store, AuditOptions options);

  // What the store holds: its edges (with when each was first stored) and its baselines.
  Result<void> load();

  // Stores the batch's edges (one transaction, with the agent's sequence when given), then
  // classifies them and appends the audit events. An error: the edges could not be stored
  // (nothing of the batch was).
  Result<BatchReport> record(const PolicyEngine& engine, const Observed& observed,
                             const std::optional<store::AgentSequence>& agent);

  // Audit events raised elsewhere (the threat detectors, src/server/detect_feed.h): appended
  // to the store and counted with the audit's own.
  Result<void> append_events(const std::vector<store::AuditEvent>& events);

  // Several batches stored in one transaction (group commit), then each classified as record()
  // does, their audit events appended in one transaction: one report per batch, in order.
  // `as_observed`, when given, holds for each batch its traffic as observed and its record
  // counts (store::EdgeBatch::observed, ::records), written in the same transaction.
  Result<std::vector<BatchReport>> record_many(
      const PolicyEngine& engine,
      const std::vector<std::pair<const Observed*, std::optional<store::AgentSequence>>>& batches,
      const std::vector<const store::EdgeBatch*>* as_observed = nullptr);

  // Learning baselines quiet for the quiet period become stable; the ones changed.
  Result<std::vector<store::Baseline>> settle();

  // A user's action: `by` names them. Errors: no such baseline, or the transition is not one.
  Result<store::Baseline> lock(std::string_view ns, std::string_view by);
  Result<store::Baseline> unlock(std::string_view ns, std::string_view by);

  // The baselines with their coverage, over the objects of `state` and `engine`.
  std::vector<BaselineView> baselines(const PolicyEngine& engine) const;
  // Whether the namespace's baseline is locked (the admission webhook's guardrails).
  bool locked(std::string_view ns) const;

  struct Counters {
    uint64_t edges = 0, allowed = 0, denied = 0, outside_baseline = 0, events = 0;
    uint64_t known_edges = 0;
    uint64_t baselines[3] = {0, 0, 0};  // learning, stable, locked
  };
  Counters counters() const;
  Result<uint64_t> store_bytes() const { return store_.size_bytes(); }
  Result<std::optional<uint64_t>> last_sequence(std::string_view node, std::string_view boot_id) {
    return store_.last_sequence(node, boot_id);
  }
  Result<store::AuditPage> events(const store::AuditQuery& q) const {
    return store_.audit_events(q);
  }
  // The traffic as observed that the store holds (the server's map: every replica's batches).
  Result<store::Observations> observations(int64_t since, int64_t until) const {
    return store_.observations(since, until);
  }
  Result<uint64_t> data_version() const { return store_.data_version(); }

 private:
  int64_t now() const;
  // A stored batch's edges: known edges, baselines, verdicts; its audit events onto `events`.
  void classify(const PolicyEngine& engine, const Observed& observed, BatchReport& report,
                std::vector<store::AuditEvent>& events);
  std::string_view namespace_of(const PolicyEngine& engine, const ObservedPeer& p) const;

  store::Store& store_;
  AuditOptions options_;
  mutable std::mutex mu_;
  struct Known {
    int64_t stored_at = 0;
    EdgeStats stats;
  };
  // Pod-level edges the store holds, by "src dst PROTO/port".
  std::unordered_map<std::string, Known> known_;
  std::map<std::string, int64_t, std::less<>> last_new_edge_;  // namespace -> time
  std::map<std::string, store::Baseline, std::less<>> baselines_;
  Counters counters_;
};

// The JSON object of an audit event's detail for a classified edge: the verdict and each side
// as verify's JSON shows it.
std::string verdict_detail(const Verdict& v, const std::string& src, const std::string& dst);

// The audit event of policies applied through the server (POST /api/v1/apply, not a dry run):
// kind "applied", `src` the user who asked, `dst` the objects ("NetworkPolicy shop/a, …"), the
// detail {"by", "objects": [{"kind","namespace","name","action"}]} from the apply's answer (the
// `stockade apply -o json` object). Null when the answer names no object.
std::optional<store::AuditEvent> applied_event(std::string_view by, std::string_view answer,
                                               int64_t at);

}  // namespace stockade::audit
