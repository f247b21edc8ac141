// The node agent's aggregated batches (docs/agent-batches.md): the one definition of the
// format, its encoder (the agent) and its decoder/validator (the server). A batch holds the
// edges one agent saw in one window, numbered by (node, boot id, sequence) so the receiver can
// drop a batch it has already stored when the agent replays it.
//
// Decoding is hostile-input safe: gzip bombs, truncation, deep nesting, wrong types, huge
// strings or arrays are one-line errors naming the field, never a crash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/ip.h"
#include "flow/edge_graph.h"
#include "model/flow.h"

namespace stockade::batch {

inline constexpr int kVersion = 1;

// Limits of what a valid batch may hold (the decoder refuses more; the agent never sends more).
inline constexpr size_t kMaxCompressedBytes = size_t{8} << 20;
inline constexpr size_t kMaxJsonBytes = size_t{64} << 20;
inline constexpr size_t kMaxEdges = 200000;
inline constexpr size_t kMaxProcesses = 8;  // distinct process names kept per edge
inline constexpr size_t kMaxNameBytes = 253;
inline constexpr size_t kMaxDepth = 8;

// One side of an edge, as the agent knows it: its address always; the pod's UID on the
// process's own side when its cgroup names one; namespace/name when the agent could name it.
struct Peer {
  IpAddr ip;
  std::string pod_uid, ns, pod;
  friend bool operator==(const Peer&, const Peer&) = default;
};

struct Edge {
  Peer src, dst;                              // initiator, responder
  L4Protocol protocol = L4Protocol::Unknown;  // TCP or UDP from the agent
  uint16_t port = 0;                          // the responder's port
  bool inbound = false;  // seen by the responder's node (evidence of the edge, not attempts)
  EdgeStats stats;       // count = connection attempts; established + failed + dropped = count
  std::vector<std::string> processes;  // distinct process names (comm), at most kMaxProcesses
  bool processes_truncated = false;    // more names were seen than are listed
  friend bool operator==(const Edge&, const Edge&) = default;
};

struct AgentBatch {
  int version = kVersion;
  std::string node;
  std::string boot_id;                       // the agent run's start id (docs/agent-batches.md)
  uint64_t seq = 0;                          // 1, 2, ... within one boot id
  int64_t window_start = 0, window_end = 0;  // ns since the epoch
  uint64_t lost_events = 0;      // events the kernel dropped (ring full) during the window
  uint64_t dropped_batches = 0;  // batches this agent run gave up on before this one (total)
  std::vector<Edge> edges;
  friend bool operator==(const AgentBatch&, const AgentBatch&) = default;
};

// The JSON text of a batch (compact, one object).
std::string encode_json(const AgentBatch& b);
// gzip (RFC 1952) of `data`.
std::string gzip(std::string_view data);
// The JSON text of a gzip member, refused past `max_out` bytes (a gzip bomb) or when cut short.
Result<std::string> gunzip(std::string_view data, size_t max_out = kMaxJsonBytes);

// A request body (gzip when it starts with the gzip magic, else JSON text) to a validated batch.
// Errors are one line naming the field: "edges[3].dst.port: expected an integer 0..65535".
Result<AgentBatch> decode(std::string_view body);

// The edges of a batch added to a graph: each side resolved by the one endpoint resolution
// (pod UID, then namespace/name, then address, as for agent events read by `map`), the
// counts merged into the graph's aggregated edge. Outbound edges count connection attempts;
// inbound ones are evidence of the edge (the initiator's node counts the attempt), exactly as
// `map` treats the agent's events.
void add_to_graph(const AgentBatch& b, EdgeGraph& graph);

}  // namespace stockade::batch
