// Aggregation on the node: the agent's events folded into edges per window (source,
// destination, protocol, port, direction -> counts by outcome, first/last seen, process
// names), and the window's edges turned into a numbered batch (flow/agent_batch.h). Flows are
// many, edges are few: a node's batch carries edges, never raw events.
//
// A batch is formed when the window ends, and early when an edge this agent run has never
// seen is waiting (at most `new_edge_delay` after it appeared), so a new edge reaches the
// server within about a second plus the send. An early batch carries only the never-seen
// edges (the known ones wait for the window: churn does not resend the whole window). The
// clock is the caller's (tests inject it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "agent/event.h"
#include "flow/agent_batch.h"

namespace stockade::agent {

struct AggregatorOptions {
  std::string node;
  std::string boot_id;
  int64_t window_ns = int64_t{10} * 1000000000;
  int64_t new_edge_delay_ns = int64_t{1} * 1000000000;
  // Edges held in one window; past it the window is closed early (memory stays bounded).
  size_t max_edges = 50000;
  // Edge keys remembered as seen (hashes); past it the memory is cleared, so an old edge may
  // count as new once more (an early batch, nothing lost).
  size_t max_seen = size_t{1} << 20;
};

class Aggregator {
 public:
  // `now_ns`: when the first window starts (ns since the epoch).
  Aggregator(AggregatorOptions options, int64_t now_ns);

  void add(const AgentEvent& e, int64_t now_ns);
  // Events the kernel dropped, counted into the current window.
  void add_lost(uint64_t n) { lost_ += n; }
  // The batch due at `now_ns`: the window has ended, or a never-seen edge has waited
  // `new_edge_delay`, or the window is full. nullopt when nothing is due (a window without
  // events forms no batch).
  std::optional<batch::AgentBatch> poll(int64_t now_ns);
  // Whatever the window holds now, as a batch (nullopt when it holds nothing): at exit.
  std::optional<batch::AgentBatch> flush(int64_t now_ns);
  // The window the server asked for (clamped to 1 s .. 5 min).
  void set_window(int64_t ns);
  int64_t window_ns() const { return options_.window_ns; }
  // Batches dropped by the sender, reported in the next batches.
  void set_dropped_batches(uint64_t n) { dropped_batches_ = n; }
  uint64_t next_seq() const { return seq_ + 1; }
  size_t pending_edges() const { return edges_.size(); }

 private:
  // The batch of the window's edges (all, or only the never-seen ones).
  batch::AgentBatch take(int64_t now_ns, bool only_new);
  static std::string edge_key(const batch::Edge& e);
  AggregatorOptions options_;
  int64_t window_start_;
  int64_t new_since_ = 0;  // when the first never-seen edge of this window arrived; 0: none
  uint64_t seq_ = 0;
  uint64_t lost_ = 0, dropped_batches_ = 0;
  std::string key_;                                  // scratch
  std::unordered_map<std::string, uint32_t> index_;  // key -> edges_
  std::vector<batch::Edge> edges_;
  std::vector<bool> is_new_;  // per edges_: never seen before this window
  std::unordered_set<uint64_t> seen_;
};

// A start id for this agent run: 128 random bits as 32 hex digits (docs/agent-batches.md).
std::string new_boot_id();

}  // namespace stockade::agent
