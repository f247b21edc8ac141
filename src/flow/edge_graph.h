// Observed traffic as a graph: flow endpoints resolved to pods, workloads, namespaces, nodes,
// services or external addresses, and flows aggregated into edges as soon as they are read.
// Memory grows with edges, not with flows.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/flat_map.h"
#include "core/ip.h"
#include "model/cluster_state.h"
#include "model/flow.h"

namespace stockade {

struct GraphNode {
  std::string id;                   // "ns/name", "ns" (by namespace), "world/IP|CIDR", "node/NAME"
  std::string ns;                   // "world" for external peers, "" for nodes
  std::string kind;                 // Pod, Deployment, ..., Namespace, External, Node, Service
  Labels labels;                    // pod (template) labels of the representative pod
  std::vector<uint32_t> endpoints;  // cluster endpoints it stands for (indices)
  // An address that a record named as a pod the objects lack (and that is no pod, node or
  // Service of the input): shown by its address, but not a peer a policy can be written for.
  bool absent_pod = false;
};

struct EdgeKey {
  uint32_t src = 0, dst = 0;
  L4Protocol protocol = L4Protocol::Unknown;
  uint16_t port = 0;
  friend bool operator==(const EdgeKey&, const EdgeKey&) = default;
};

struct EdgeStats {
  uint64_t count = 0;                     // connection attempts seen
  int64_t first_seen = 0, last_seen = 0;  // ns since the epoch, 0 when unknown
  uint64_t established = 0, failed = 0, dropped = 0;
  friend bool operator==(const EdgeStats&, const EdgeStats&) = default;
};

struct EdgeKeyHash {
  size_t operator()(const EdgeKey& k) const {
    uint64_t h = (uint64_t{k.src} << 32) ^ k.dst;
    h ^= (uint64_t{k.port} << 8 | static_cast<uint8_t>(k.protocol)) * 0x9E3779B97F4A7C15ULL;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

struct GraphOptions {
  Granularity by = Granularity::Workload;
  std::vector<Cidr> external_groups;  // external addresses inside one are one node
  // At most this many external nodes (0: no limit). Past it, an address that has no node yet
  // joins the node of its prefix: the finest that exists of /24, /16, /8 (IPv6 /48, /32,
  // /16), else a new one as coarse as needed (a new /24 while fewer than twice the cap exist,
  // /16 under three times, /8 under four, then world/0.0.0.0/0 or world/::/0): a stream of
  // ever-new addresses holds a bounded number of nodes.
  uint32_t max_external_nodes = 0;
  // Past the cap, refuse instead of grouping: the address is not resolved (the record is
  // dropped) and over_cap() says so. For the commands that evaluate or write rules from each
  // address (verify, recommend, diff --flows), where a group would be a wider peer.
  bool refuse_past_cap = false;
  // No resolution: each side is a node of its own for every distinct way a record or an agent
  // names it (peer_key), so the graph's edges are the traffic as observed, which any later
  // snapshot of the objects resolves again (add_observed). The server's store keeps these.
  // `by` and the external options are not used.
  bool as_observed = false;
};

// A flow side as observed, as one line of text (the node ids of an `as_observed` graph and the
// store's observation rows): everything resolution reads of it — address, pod UID,
// namespace/name, Hubble's workload and labels, reserved identity — and the record's node when
// the side is the node itself (reserved "host"). Empty when no resolution could use it.
std::string peer_key(const FlowPeer& p, std::string_view flow_node);
// The source of a reset row (EdgeGraph::late_resets in the store): the edge's source key after
// this prefix.
inline constexpr std::string_view kResetKeyPrefix = "reset\t";
// The side back from its key: views into `key`, which must outlive `out` and `flow_node`.
// False when `key` is no peer key.
bool parse_peer_key(std::string_view key, FlowPeer& out, std::string_view& flow_node);

// GraphOptions::external_groups from their text (--external-cidr of map and serve), the longest
// prefix first so that the most specific group names an address. Errors name the flag.
Result<std::vector<Cidr>> parse_external_groups(const std::vector<std::string>& cidrs);

class EdgeGraph {
 public:
  // `endpoints` must outlive the graph (normally PolicyEngine::endpoints()).
  EdgeGraph(const ClusterState& state, const std::vector<Endpoint>& endpoints,
            GraphOptions options);
  ~EdgeGraph();
  EdgeGraph(const EdgeGraph&) = delete;
  EdgeGraph& operator=(const EdgeGraph&) = delete;

  // Resolves and aggregates one record.
  void add(const Flow& f);
  // One edge aggregated elsewhere (a node agent's batch: flow/agent_batch.h): both sides
  // resolved as add() resolves a record's, its statistics merged into the edge. With
  // `evidence_only` (an inbound edge: the initiator's node counts the attempts) only its times
  // are, as add() does with an inbound agent event. `records`: the events it stands for.
  void add_aggregated(const FlowPeer& src, const FlowPeer& dst, L4Protocol protocol, uint16_t port,
                      const EdgeStats& stats, bool evidence_only, std::string_view node,
                      uint64_t records);
  // Fetches what add(f) will touch in the graph's tables, for a record a few ahead of the one
  // added next (FlowReadOptions::upcoming): changes nothing.
  void prefetch(const Flow& f) const;
  // Starts from `previous`'s recent connection starts (duplicate detection: a connection two
  // nodes report is counted once), so that a stream read in parts, a graph per part, counts
  // as one graph over the whole stream would.
  void continue_from(const EdgeGraph& previous);
  // One edge of an `as_observed` graph (the store's observation rows: peer_key sides) resolved
  // and merged as add_aggregated does (its connection attempts counted unresolved when a side
  // cannot be resolved). A reset row (reset_key source: late_resets) turns up to `stats.count`
  // established connections of its edge to failed, as add() does with a reset; add those after
  // the edges. False: a side is no peer key (nothing added).
  bool add_observed(std::string_view src_key, std::string_view dst_key, L4Protocol protocol,
                    uint16_t port, const EdgeStats& stats);
  // The part of resolving that reads only the cluster objects (pods by UID or by name), for
  // FlowReadOptions::peer_hint: safe to call from several threads at once. Records passed to
  // add() must have their hints from this graph or none (0).
  uint32_t hint(const FlowPeer& p) const { return pod_of(p); }

  const std::vector<GraphNode>& nodes() const { return nodes_; }
  // Edges sorted by (src id, dst id, protocol, port).
  std::vector<std::pair<EdgeKey, EdgeStats>> edges() const;
  // An `as_observed` graph's TCP resets from the responder that answer a connection this graph
  // holds no established count of (its start came in an earlier part of the stream): the
  // connection's edge (initiator, responder, protocol, port) and how many.
  std::vector<std::pair<EdgeKey, uint64_t>> late_resets() const;
  uint64_t flows() const { return flows_; }
  uint64_t unresolved() const { return unresolved_; }  // records without usable endpoints
  // Connection starts seen a second time from another node (Hubble reports a cross-node
  // connection at both ends): counted once.
  uint64_t duplicates() const { return duplicates_; }
  // Pods that records name, the objects lack, and the one resolution could not place under a
  // declared workload: how many (distinct names), and why for the first few (-v).
  uint64_t unresolved_pods() const;
  const std::vector<std::string>& resolution_notes() const;
  // Whether the input holds pods or workloads; without them the graph is built from what the
  // records carry and isolation is unknown.
  bool has_objects() const;
  // Records whose external address was grouped by prefix because the external nodes had
  // reached GraphOptions::max_external_nodes, and the external nodes there are.
  uint64_t external_grouped() const;
  // A new external address came past GraphOptions::max_external_nodes with refuse_past_cap.
  bool over_cap() const;
  uint64_t external_nodes() const;

 private:
  struct Resolver;
  static constexpr uint32_t kNotPrepared = 0, kNoPod = 1;  // FlowPeer::hint; else endpoint + 2
  static constexpr size_t kMaxNotes = 20;
  uint32_t pod_of(const FlowPeer& p) const;  // endpoint index + 2, or kNoPod
  std::optional<uint32_t> record_pod(const FlowPeer& p, bool create);
  std::string capped_external_id(const IpAddr& ip) const;  // GraphOptions::max_external_nodes
  // The graph node of a flow peer; with `lookup_only`, UINT32_MAX unless it exists already.
  uint32_t resolve(const FlowPeer& p, std::string_view flow_node, int64_t time_ns,
                   bool lookup_only);
  uint32_t node(std::string id, std::string ns, std::string kind, const Labels* labels,
                bool create);
  uint32_t endpoint_node(uint32_t endpoint, bool create);
  std::string endpoint_node_id(uint32_t endpoint) const;
  uint32_t service_node(size_t service, bool create);

  std::vector<GraphNode> nodes_;
  FlatMap<EdgeKey, EdgeStats, EdgeKeyHash> edges_;
  std::unordered_map<EdgeKey, uint64_t, EdgeKeyHash> late_resets_;  // as_observed
  std::unique_ptr<Resolver> resolver_;
  uint64_t flows_ = 0;
  uint64_t unresolved_ = 0;
  uint64_t duplicates_ = 0;
  bool seen_elsewhere(const Flow& f);
  static uint64_t start_key(const Flow& f);  // of recent_starts_
  struct RecentStart {
    uint64_t node_hash;
    int64_t time_ns;
  };
  struct MixHash {
    size_t operator()(uint64_t k) const { return static_cast<size_t>(k ^ (k >> 31)); }
  };
  FlatMap<uint64_t, RecentStart, MixHash> recent_starts_;  // 5-tuple hash -> last report
  int64_t newest_start_ = 0;
  size_t recent_limit_ = size_t{1} << 16;  // purged of entries older than the window beyond
};

}  // namespace stockade
