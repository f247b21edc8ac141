#include "recommend/observed.h"

#include "flow/agent_batch.h"

#include <algorithm>
#include <csignal>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <tuple>

namespace stockade {

namespace {

ObservedPeer to_peer(const GraphNode& n,
                     const std::map<std::string, std::vector<IpAddr>, std::less<>>& node_addrs) {
  ObservedPeer p;
  p.id = n.id;
  if (n.kind == "External") {
    // A record named this address as a pod the objects lack: not an external peer.
    if (n.absent_pod) return p;
    if (auto ip = IpAddr::parse(std::string_view(n.id).substr(n.id.find('/') + 1))) {
      p.kind = ObservedPeer::Kind::External;
      p.addresses.push_back(*ip);
    }
    return p;
  }
  if (n.kind == "Node") {
    p.node_name = n.id.substr(5);
    auto it = node_addrs.find(p.node_name);
    if (it != node_addrs.end() && !it->second.empty()) {
      p.kind = ObservedPeer::Kind::Node;
      p.addresses = it->second;
    }
    return p;
  }
  if (n.kind != "Service" && n.endpoints.size() == 1) {
    p.kind = ObservedPeer::Kind::Endpoint;
    p.endpoint = n.endpoints.front();
  }
  return p;
}

}  // namespace

namespace {

// The graph's edges as ObservedEdges: peers resolved to what a policy can name.
void collect(const ClusterState& state, const PolicyEngine& engine, const EdgeGraph& graph,
             const EdgeGraph* outside, Observed& out) {
  out.unresolved_pods = graph.unresolved_pods();
  out.resolution_notes = graph.resolution_notes();

  // Node addresses: Node objects, plus the addresses of host-network pods on each node.
  std::map<std::string, std::vector<IpAddr>, std::less<>> node_addrs;
  for (const Node& n : state.nodes) node_addrs[n.name] = n.addresses;
  for (const Endpoint& ep : engine.endpoints())
    if (ep.pod.host_network && !ep.node.empty())
      for (const IpAddr& ip : ep.ips) {
        auto& v = node_addrs[ep.node];
        if (std::find(v.begin(), v.end(), ip) == v.end()) v.push_back(ip);
      }
  for (auto& [name, v] : node_addrs) std::sort(v.begin(), v.end());

  auto edges_of = [&](const EdgeGraph& g, std::vector<ObservedEdge>& sink, uint64_t* other) {
    std::vector<ObservedPeer> peers;
    peers.reserve(g.nodes().size());
    for (const GraphNode& n : g.nodes()) peers.push_back(to_peer(n, node_addrs));
    for (const auto& [key, stats] : g.edges()) {
      auto proto = to_protocol(key.protocol);
      if (!proto) {
        if (other) ++*other;
        continue;
      }
      ObservedEdge e;
      e.src = peers[key.src];
      e.dst = peers[key.dst];
      e.protocol = *proto;
      e.port = key.port;
      e.stats = stats;
      sink.push_back(std::move(e));
    }
  };
  edges_of(graph, out.edges, &out.other_protocols);
  if (outside) edges_of(*outside, out.outside_edges, nullptr);
}

using Feed = std::function<Result<void>(const FlowReadOptions&, const FlowSink&, FlowReadStats&)>;

Result<Observed> observe(const ClusterState& state, const PolicyEngine& engine,
                         const ObserveOptions& options, const Feed& feed) {
  Observed out;
  GraphOptions go;
  go.by = Granularity::Pod;
  go.max_external_nodes = options.max_external_nodes;
  go.refuse_past_cap = true;
  EdgeGraph graph(state, engine.endpoints(), go);
  std::optional<EdgeGraph> outside;
  if (options.since_ns || options.until_ns) outside.emplace(state, engine.endpoints(), go);
  L7Collector l7(engine, graph);
  FlowReadOptions read = options.read;
  read.peer_hint = [&graph](const FlowPeer& p) { return graph.hint(p); };
  // Past the cap the read ends at once (an endless stream too), unless the caller watches
  // for an interruption itself; the error follows either way.
  StopFlag over_cap{false};
  if (!read.stop) read.stop = &over_cap;
  auto check_cap = [&](const EdgeGraph& g) {
    if (g.over_cap()) over_cap.store(true, std::memory_order_relaxed);
  };
  {
    auto r = feed(
        read,
        [&](const Flow& f) {
          if (f.time_ns != 0 && ((options.since_ns && f.time_ns < options.since_ns) ||
                                 (options.until_ns && f.time_ns >= options.until_ns))) {
            ++out.outside_window;
            outside->add(f);
            check_cap(*outside);
            return;
          }
          if (f.time_ns) {
            if (!out.first_ns || f.time_ns < out.first_ns) out.first_ns = f.time_ns;
            if (f.time_ns > out.last_ns) out.last_ns = f.time_ns;
          }
          graph.add(f);
          if (f.l7_info) [[unlikely]]
            l7.add(f);
          check_cap(graph);
        },
        out.read_stats);
    if (!r) return tl::unexpected(r.error());
  }
  if (graph.over_cap() || (outside && outside->over_cap()))
    return make_error(
        "more than " + std::to_string(options.max_external_nodes) +
        " distinct external addresses in the flows (--max-external-nodes): each is a peer of "
        "its own here, and grouping them by prefix would widen the rules; narrow the flows "
        "(--since/--until, fewer files) or raise the cap (0: no limit)");
  out.records = out.read_stats.records;
  collect(state, engine, graph, outside ? &*outside : nullptr, out);
  out.l7 = l7.finish();
  if (!out.l7.dns.empty()) engine.learn_dns(out.l7.names());
  return out;
}

}  // namespace

Result<Observed> observe_flows(const ClusterState& state, const PolicyEngine& engine,
                               const std::vector<std::string>& paths,
                               const ObserveOptions& options) {
  return observe(
      state, engine, options,
      [&](const FlowReadOptions& read, const FlowSink& sink, FlowReadStats& stats) -> Result<void> {
        for (const std::string& path : paths) {
          auto r = read_flows(path, read, stats, sink);
          if (!r) return r;
        }
        return {};
      });
}

Result<Observed> observe_flows_text(const ClusterState& state, const PolicyEngine& engine,
                                    std::string_view text, const ObserveOptions& options) {
  return observe(
      state, engine, options,
      [&](const FlowReadOptions& read, const FlowSink& sink, FlowReadStats& stats) -> Result<void> {
        return read_flows_text(text, "flows", read, stats, sink);
      });
}

Result<Observed> observe_batch(const ClusterState& state, const PolicyEngine& engine,
                               const batch::AgentBatch& b, const ObserveOptions& options) {
  Observed out;
  GraphOptions go;
  go.by = Granularity::Pod;
  go.max_external_nodes = options.max_external_nodes;
  go.refuse_past_cap = true;
  EdgeGraph graph(state, engine.endpoints(), go);
  batch::add_to_graph(b, graph);
  if (graph.over_cap())
    return make_error("more than " + std::to_string(options.max_external_nodes) +
                      " distinct external addresses in the batch");
  if (b.window_start) out.first_ns = b.window_start;
  if (b.window_end) out.last_ns = b.window_end;
  collect(state, engine, graph, nullptr, out);
  return out;
}

Result<Observed> observe_graph(const ClusterState& state, const PolicyEngine& engine,
                               const ObserveOptions& options,
                               const std::function<uint64_t(EdgeGraph&, const FlowSink&)>& fill) {
  Observed out;
  GraphOptions go;
  go.by = Granularity::Pod;
  go.max_external_nodes = options.max_external_nodes;
  go.refuse_past_cap = true;
  EdgeGraph graph(state, engine.endpoints(), go);
  L7Collector l7(engine, graph);
  out.records = fill(graph, [&l7](const Flow& f) {
    if (f.l7_info) l7.add(f);
  });
  if (graph.over_cap())
    return make_error("more than " + std::to_string(options.max_external_nodes) +
                      " distinct external addresses in the flows");
  collect(state, engine, graph, nullptr, out);
  out.l7 = l7.finish();
  // The time span of what was observed (recommend's learning window).
  for (const ObservedEdge& e : out.edges) {
    if (e.stats.first_seen && (!out.first_ns || e.stats.first_seen < out.first_ns))
      out.first_ns = e.stats.first_seen;
    out.last_ns = std::max(out.last_ns, e.stats.last_seen);
  }
  return out;
}

bool to_engine_peer(const ObservedPeer& p, Peer& out) {
  switch (p.kind) {
    case ObservedPeer::Kind::Endpoint:
      out = Peer::of_endpoint(p.endpoint);
      return true;
    case ObservedPeer::Kind::External:
    case ObservedPeer::Kind::Node:
      out = Peer::of_ip(p.addresses.front());
      return true;
    case ObservedPeer::Kind::Unresolved:
      return false;
  }
  return false;
}

Verdict evaluate_edge(const PolicyEngine& engine, const ObservedEdge& e) {
  Peer src, dst;
  to_engine_peer(e.src, src);
  to_engine_peer(e.dst, dst);
  Verdict v = engine.evaluate(src, dst, e.protocol, e.port);
  // A node may use any of its addresses: the edge holds only if every one is allowed.
  auto others = [](const ObservedPeer& p) {
    return p.kind == ObservedPeer::Kind::Node ? p.addresses.size() : size_t{1};
  };
  for (size_t i = 1; i < others(e.src) && v.allowed; ++i)
    v = engine.evaluate(Peer::of_ip(e.src.addresses[i]), dst, e.protocol, e.port);
  for (size_t i = 1; i < others(e.dst) && v.allowed; ++i)
    v = engine.evaluate(src, Peer::of_ip(e.dst.addresses[i]), e.protocol, e.port);
  return v;
}

bool edge_allowed(const PolicyEngine& engine, const ObservedEdge& e) {
  if (e.src.kind == ObservedPeer::Kind::Endpoint && e.dst.kind == ObservedPeer::Kind::Endpoint)
    return engine.allowed(e.src.endpoint, e.dst.endpoint, e.protocol, e.port);
  return evaluate_edge(engine, e).allowed;
}

std::string peer_name(const ObservedPeer& p, const std::vector<Endpoint>& eps,
                      const PeerNaming& naming) {
  if (p.kind == ObservedPeer::Kind::Endpoint && p.endpoint < eps.size())
    return group_id(eps[p.endpoint], naming.by);
  if (p.kind == ObservedPeer::Kind::External && naming.parts && p.addresses.size() == 1)
    if (const WorldPart* w = world_part_of(*naming.parts, p.addresses.front())) return w->id;
  return p.id;
}

std::vector<GroupedEdge> group_edges(const std::vector<ObservedEdge>& edges,
                                     const std::vector<std::pair<size_t, uint8_t>>& items,
                                     const std::vector<Endpoint>& eps, const PeerNaming& naming) {
  using Key = std::tuple<std::string, std::string, Protocol, uint16_t, uint8_t>;
  std::map<Key, GroupedEdge> rows;
  for (const auto& [i, cls] : items) {
    const ObservedEdge& e = edges[i];
    Key k{peer_name(e.src, eps, naming), peer_name(e.dst, eps, naming), e.protocol, e.port, cls};
    auto [it, fresh] = rows.try_emplace(k);
    GroupedEdge& g = it->second;
    if (fresh) {
      g.src = std::get<0>(k);
      g.dst = std::get<1>(k);
      g.protocol = e.protocol;
      g.port = e.port;
      g.cls = cls;
    }
    g.stats.count += e.stats.count;
    g.stats.established += e.stats.established;
    g.stats.failed += e.stats.failed;
    g.stats.dropped += e.stats.dropped;
    if (e.stats.first_seen && (!g.stats.first_seen || e.stats.first_seen < g.stats.first_seen))
      g.stats.first_seen = e.stats.first_seen;
    g.stats.last_seen = std::max(g.stats.last_seen, e.stats.last_seen);
    g.members.push_back(i);
  }
  std::vector<GroupedEdge> out;
  out.reserve(rows.size());
  for (auto& [k, g] : rows) out.push_back(std::move(g));
  return out;
}

}  // namespace stockade
