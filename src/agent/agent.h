// stockade agent: the node agent's loop. Events from the kernel probe are decoded,
// attributed (pod UID from the cgroup path, pods by the caller's `enrich`), written as NDJSON
// and optionally aggregated on the node into numbered batches of edges that are posted to a
// server (agent/aggregator.h, agent/batch_sender.h). Lost events are reported, never silent.
#pragma once

#include <atomic>
#include <csignal>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "agent/event.h"
#include "agent/probe.h"
#include "core/error.h"
#include "core/log.h"
#include "core/stop.h"

namespace stockade::agent {

// A source of events other than the kernel probe (event_file.h): it calls `emit` for each and
// returns when the source ends; it must return soon after `stop` becomes true.
using EventSource = std::function<Result<void>(const std::function<void(AgentEvent&)>& emit,
                                               const std::atomic<bool>& stop)>;

struct AgentOptions {
  std::string output = "-";       // file, or "-" for stdout; "" for none
  std::string server;             // base URL; empty: no posting
  std::string spool;              // directory keeping unacknowledged batches across restarts
  std::string server_token_file;  // bearer token for the server, read for every request
  std::string server_ca;          // PEM CA file for an https server (empty: the system's CAs)
  int64_t window_ns = int64_t{10} * 1000000000;  // aggregation window (until the server says)
  size_t max_pending = 1000;                     // unacknowledged batches kept
  // Instead of the kernel probe: events from another source (a file of agent events), run on
  // a thread of its own; when it ends, the agent stops.
  EventSource events;
  double duration_s = 0;  // 0: until `stop`
  std::string node;       // added to every event
  ProbeOptions probe;
  const StopFlag* stop = nullptr;
  std::function<void(AgentEvent&)> enrich;          // e.g. pods from cluster objects
  std::function<void(const std::string&)> log;      // progress and warnings (stderr)
  std::function<void(const AgentEvent&)> on_event;  // every event (tests, benchmarks)
};

struct AgentSummary {
  uint64_t events = 0;  // events written
  ProbeCounters kernel;
  std::vector<ProgramStats> programs;
  double loop_cpu_s = 0;  // the agent's CPU time after start-up (loading costs more than events) //
                          // run counts and times (kernel.bpf_stats_enabled=1)
  uint64_t batches = 0;   // batches formed
  uint64_t posted = 0, replayed = 0, post_failures = 0, post_dropped = 0, post_rejected = 0,
           post_pending = 0;
  std::string post_error;
};

Result<AgentSummary> run_agent(const AgentOptions& options);

// What a run says at its end, in order: figures at LogLevel::Info (-v), losses and delivery
// problems at LogLevel::Warning (always). `to_server`: batches were posted; `spool`: kept.
std::vector<std::pair<LogLevel, std::string>> describe_summary(const AgentSummary& s,
                                                               bool to_server, bool spool);

}  // namespace stockade::agent
