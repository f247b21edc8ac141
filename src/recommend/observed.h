// Observed traffic at endpoint level, ready for the policy engine: flows read, filtered by the
// learning window, aggregated per (source, destination, protocol, port) at pod granularity, and
// each side resolved to something a policy can name (a cluster endpoint, an external address, a
// node) or marked as unresolvable (a pod the objects do not hold, an untranslated Service
// address, an unknown node).
#pragma once

#include <functional>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/ip.h"
#include "engine/diff.h"
#include "engine/engine.h"
#include "flow/edge_graph.h"
#include "input/flow_reader.h"
#include "model/cluster_state.h"
#include "recommend/l7_observed.h"

namespace stockade {

struct ObservedPeer {
  enum class Kind : uint8_t { Endpoint, External, Node, Unresolved } kind = Kind::Unresolved;
  uint32_t endpoint = 0;          // Kind::Endpoint: index into the engine's endpoints
  std::vector<IpAddr> addresses;  // External: the address; Node: the node's addresses
  std::string id;                 // as `map --by pod` names it: ns/pod, world/IP, node/NAME
  std::string node_name;          // Kind::Node
};

struct ObservedEdge {
  ObservedPeer src, dst;
  Protocol protocol = Protocol::TCP;
  uint16_t port = 0;
  EdgeStats stats;
};

inline constexpr uint32_t kDefaultMaxObservedExternal = 100000;

struct ObserveOptions {
  int64_t since_ns = 0;  // 0: no bound
  int64_t until_ns = 0;  // 0: no bound (exclusive)
  FlowReadOptions read;
  // Distinct external addresses at most (0: no limit). Past it the read stops and is an error:
  // these commands evaluate and write rules per address, and grouping addresses by prefix (as
  // `map` does) would make recommend's peers wider than what was observed.
  uint32_t max_external_nodes = kDefaultMaxObservedExternal;
};

struct Observed {
  std::vector<ObservedEdge> edges;  // TCP/UDP/SCTP edges, sorted by (src id, dst id, proto, port)
  uint64_t records = 0;             // flow records read
  uint64_t outside_window = 0;      // records left out by --since/--until
  // The records left out by --since/--until, aggregated the same way (recommend reports the
  // established ones its policies would deny).
  std::vector<ObservedEdge> outside_edges;
  uint64_t other_protocols = 0;       // edges of ICMP and unknown protocols (policies cannot name)
  int64_t first_ns = 0, last_ns = 0;  // time span of the records inside the window
  FlowReadStats read_stats;
  // Pods named by records that the objects lack and the endpoint resolution could not place
  // (distinct names), and why for the first few (EdgeGraph::resolution_notes).
  uint64_t unresolved_pods = 0;
  std::vector<std::string> resolution_notes;
  // What the L7 records of the window said (HTTP requests, DNS answers). observe_flows gives
  // the DNS names to the engine (PolicyEngine::learn_dns) so that toFQDNs rules match.
  ObservedL7 l7;
};

// Reads every path into one Observed. Errors: unreadable input, malformed lines with strict.
Result<Observed> observe_flows(const ClusterState& state, const PolicyEngine& engine,
                               const std::vector<std::string>& paths,
                               const ObserveOptions& options);

// The same from in-memory text (tests).
Result<Observed> observe_flows_text(const ClusterState& state, const PolicyEngine& engine,
                                    std::string_view text, const ObserveOptions& options);

// The same from a node agent's aggregated batch (docs/agent-batches.md): each edge's sides
// resolved as `map` resolves an agent's events (batch::add_to_graph).
namespace batch {
struct AgentBatch;
}
Result<Observed> observe_batch(const ClusterState& state, const PolicyEngine& engine,
                               const batch::AgentBatch& b, const ObserveOptions& options);

// The same from a pod-level graph the caller fills (`fill` adds records and batches and returns
// how many records it added): a server's journals. The L7 records the caller hands to `l7`
// (its second argument) become Observed::l7, as observe_flows keeps them; unlike there, the
// engine is not taught DNS names (a server's engine is shared by its requests).
Result<Observed> observe_graph(const ClusterState& state, const PolicyEngine& engine,
                               const ObserveOptions& options,
                               const std::function<uint64_t(EdgeGraph&, const FlowSink& l7)>& fill);

// The engine's view of an observed peer (endpoint or address); false when it has none.
bool to_engine_peer(const ObservedPeer& p, Peer& out);

// Evaluates an observed edge; for a node peer every node address is tried and the edge is
// allowed only when all are (a node may use any of them).
Verdict evaluate_edge(const PolicyEngine& engine, const ObservedEdge& e);
// The same verdict without the explanation (the engine's fast path between two endpoints).
bool edge_allowed(const PolicyEngine& engine, const ObservedEdge& e);

// How the rows of a listing of observed edges name their peers: endpoints by their group
// (`--by pod|workload|namespace`), outside addresses by the part of the outside holding them
// when `parts` is given (diff --flows: the same parts as diff's connections), else by address.
// Nodes and unresolved peers keep their own names.
struct PeerNaming {
  Granularity by = Granularity::Pod;
  const std::vector<WorldPart>* parts = nullptr;
};
std::string peer_name(const ObservedPeer& p, const std::vector<Endpoint>& eps,
                      const PeerNaming& naming);

// Observed edges under their peers' names: one row per (source, destination, protocol, port,
// class), where the class is the caller's (verify: the verdict; diff: the change), so a row
// never mixes verdicts. Statistics add up; `members` are the edges it stands for, in order.
struct GroupedEdge {
  std::string src, dst;
  Protocol protocol = Protocol::TCP;
  uint16_t port = 0;
  uint8_t cls = 0;
  EdgeStats stats;
  std::vector<size_t> members;  // indices into the edges grouped
};
// `items`: (index into `edges`, class). Rows sorted by (src, dst, protocol, port, class).
std::vector<GroupedEdge> group_edges(const std::vector<ObservedEdge>& edges,
                                     const std::vector<std::pair<size_t, uint8_t>>& items,
                                     const std::vector<Endpoint>& eps, const PeerNaming& naming);

}  // namespace stockade
