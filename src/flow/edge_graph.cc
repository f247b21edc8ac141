#include "flow/edge_graph.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <numeric>
#include <tuple>

#include "core/hash.h"
#include "model/resolution.h"

namespace stockade {

namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// A hash of a pod's namespace and name.
uint64_t pod_key(std::string_view ns, std::string_view name) {
  return hash_bytes(name, hash_bytes(ns));
}

struct KeyHash {
  size_t operator()(uint64_t k) const { return static_cast<size_t>(k ^ (k >> 29)); }
};

struct IpHash {
  size_t operator()(const IpAddr& ip) const {
    uint64_t h = ip.hi * 0x9E3779B97F4A7C15ULL ^ ip.lo ^ (ip.v6 ? 0x5555 : 0);
    return static_cast<size_t>(h ^ (h >> 31));
  }
};

// The pod labels of a Hubble record (["k8s:app=web", ...]), without Cilium's and Kubernetes'
// bookkeeping labels, which say nothing about the application.
Labels record_labels(simdjson::dom::parser& parser, std::string_view labels_json) {
  Labels labels;
  simdjson::dom::array items;
  if (labels_json.empty() || parser.parse(labels_json).get_array().get(items) != simdjson::SUCCESS)
    return labels;
  for (simdjson::dom::element item : items) {
    std::string_view l;
    if (item.get_string().get(l) != simdjson::SUCCESS || !l.starts_with("k8s:")) continue;
    l.remove_prefix(4);
    size_t eq = l.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key(l.substr(0, eq));
    if (key.starts_with("io.kubernetes.") || key.starts_with("io.cilium.") || is_per_pod_label(key))
      continue;
    labels.emplace(std::move(key), std::string(l.substr(eq + 1)));
  }
  return labels;
}

// Of the pods that held one address, the one that existed at `t`: created at or before it and
// not deleted before it; else the newest created before `t`; else the first.
uint32_t pick_by_time(const std::vector<Endpoint>& eps, const std::vector<uint32_t>& holders,
                      int64_t t) {
  if (holders.size() == 1 || t == 0) return holders.front();
  int64_t best_created = INT64_MIN;
  uint32_t best = holders.front();
  for (uint32_t e : holders) {
    const Endpoint& ep = eps[e];
    bool born = ep.created_ns == 0 || ep.created_ns <= t;
    bool alive = born && (ep.deleted_ns == 0 || t < ep.deleted_ns);
    if (alive) return e;
    if (born && ep.created_ns > best_created) {
      best_created = ep.created_ns;
      best = e;
    }
  }
  return best;
}

}  // namespace

struct EdgeGraph::Resolver {
  const ClusterState& state;
  const std::vector<Endpoint>& eps;
  GraphOptions options;
  StringMap<StringMap<uint32_t>> pods;  // ns -> pod -> endpoint
  // The same by pod_key(), with the names kept together in `pod_names` (compared on every
  // hit: one small array instead of the endpoints'). UINT32_MAX where two pods share a key
  // (then `pods` decides).
  struct PodEntry {
    uint32_t endpoint = 0, offset = 0, ns_len = 0, name_len = 0;
  };
  FlatMap<uint64_t, PodEntry, KeyHash> pod_by_key;
  std::string pod_names;
  StringMap<uint32_t> pod_uid;  // metadata.uid -> endpoint (agent events)
  // Pod addresses; an address several pods held over time lists them all.
  std::unordered_map<IpAddr, std::vector<uint32_t>, IpHash> pod_ip;
  std::unordered_map<IpAddr, std::string, IpHash> node_ip;  // node addresses, host-network IPs
  std::unordered_map<IpAddr, size_t, IpHash> service_ip;
  std::vector<int64_t> endpoint_node;  // graph node of each endpoint, -1 until needed
  StringMap<uint32_t> node_by_id;
  std::unordered_map<IpAddr, uint32_t, IpHash> external;
  uint64_t external_nodes = 0, external_grouped = 0;  // GraphOptions::max_external_nodes
  bool over_cap = false;                              // GraphOptions::refuse_past_cap
  std::unordered_map<size_t, uint32_t> service_node;  // Service index -> graph node
  simdjson::dom::parser labels_parser;                // labels of pods the objects lack
  // Pods that records name and the objects lack: resolved once per name by the one workload
  // resolution (model/resolution.h).
  WorkloadResolver workloads;
  bool has_objects = false;  // the input holds pods or workloads (else: what records carry)
  std::unordered_map<uint32_t, uint32_t> workload_endpoint;  // workload -> endpoint it is
  struct RecordPod {
    uint32_t workload = UINT32_MAX;  // top-level workload, UINT32_MAX when not established
    int64_t node = -1;               // its graph node once made
  };
  StringMap<RecordPod> record_pods;  // "ns/pod" -> what it resolved to
  std::vector<std::string> notes;    // why record pods stayed unresolved (first few)
  uint64_t unresolved_pods = 0;      // distinct record pods that fell back to their address

  Resolver(const ClusterState& s, const std::vector<Endpoint>& e, GraphOptions o)
      : state(s), eps(e), options(std::move(o)), endpoint_node(e.size(), -1), workloads(s) {
    has_objects = !state.pods.empty() || !state.workloads.empty();
    {
      std::unordered_map<std::string, uint32_t> by_key;
      for (uint32_t i = 0; i < state.workloads.size(); ++i) {
        const Workload& w = state.workloads[i];
        by_key.emplace(w.ns + "/" + std::string(to_string(w.kind)) + "/" + w.name, i);
      }
      for (uint32_t i = 0; i < eps.size(); ++i)
        if (eps[i].kind != "Pod")
          if (auto it = by_key.find(eps[i].ns + "/" + eps[i].kind + "/" + eps[i].name);
              it != by_key.end())
            workload_endpoint.emplace(it->second, i);
    }
    for (uint32_t i = 0; i < eps.size(); ++i) {
      // Records name pods: a workload endpoint (no pod of it in the input) is reached through
      // the resolution, never by a pod name that happens to equal its own (StatefulSet `db`'s
      // pod `db-2` and a StatefulSet `db-2`).
      if (eps[i].kind != "Pod") continue;
      pods[eps[i].ns][eps[i].name] = i;
      PodEntry entry{i, static_cast<uint32_t>(pod_names.size()),
                     static_cast<uint32_t>(eps[i].ns.size()),
                     static_cast<uint32_t>(eps[i].name.size())};
      auto [slot, inserted] = pod_by_key.try_emplace(pod_key(eps[i].ns, eps[i].name), entry);
      if (inserted) {
        pod_names += eps[i].ns;
        pod_names += eps[i].name;
      } else if (slot->endpoint != UINT32_MAX) {  // the same pod again (the last counts), or not
        const Endpoint& other = eps[slot->endpoint];
        slot->endpoint = other.ns == eps[i].ns && other.name == eps[i].name ? i : UINT32_MAX;
      }
      for (const IpAddr& ip : eps[i].ips) {
        if (eps[i].pod.host_network)
          node_ip.emplace(ip, eps[i].node);
        else
          pod_ip[ip].push_back(i);
      }
    }
    for (const Pod& p : state.pods) {
      if (p.uid.empty()) continue;
      auto ns = pods.find(p.ns);
      if (ns == pods.end()) continue;
      if (auto it = ns->second.find(p.name); it != ns->second.end())
        pod_uid.emplace(p.uid, it->second);
    }
    for (const Node& n : state.nodes)
      for (const IpAddr& ip : n.addresses) node_ip[ip] = n.name;
    for (size_t i = 0; i < state.services.size(); ++i)
      for (const IpAddr& ip : state.services[i].cluster_ips) service_ip.emplace(ip, i);
  }
};

EdgeGraph::EdgeGraph(const ClusterState& state, const std::vector<Endpoint>& endpoints,
                     GraphOptions options)
    : resolver_(std::make_unique<Resolver>(state, endpoints, std::move(options))) {}

EdgeGraph::~EdgeGraph() = default;

uint32_t EdgeGraph::node(std::string id, std::string ns, std::string kind, const Labels* labels,
                         bool create) {
  auto& by_id = resolver_->node_by_id;
  auto it = by_id.find(id);
  if (it != by_id.end()) return it->second;
  if (!create) return UINT32_MAX;
  uint32_t idx = static_cast<uint32_t>(nodes_.size());
  GraphNode n;
  n.id = id;
  n.ns = std::move(ns);
  n.kind = std::move(kind);
  if (labels) n.labels = *labels;
  nodes_.push_back(std::move(n));
  by_id.emplace(std::move(id), idx);
  return idx;
}

// The graph node an endpoint falls into at the chosen granularity.
uint32_t EdgeGraph::endpoint_node(uint32_t e, bool create) {
  Resolver& r = *resolver_;
  if (r.endpoint_node[e] >= 0) return static_cast<uint32_t>(r.endpoint_node[e]);
  const Endpoint& ep = r.eps[e];
  uint32_t idx;
  if (r.options.by == Granularity::Namespace) {
    Labels l = r.state.namespace_labels(ep.ns);
    idx = node(ep.ns, ep.ns, "Namespace", &l, create);
  } else if (r.options.by == Granularity::Workload && !ep.workload_name.empty()) {
    Labels l;
    for (const auto& [k, v] : ep.pod.labels)
      if (!is_per_pod_label(k)) l.emplace(k, v);
    idx = node(ep.ns + "/" + ep.workload_name, ep.ns, ep.workload_kind, &l, create);
  } else {
    idx = node(ep.id(), ep.ns, ep.kind, &ep.pod.labels, create);
  }
  if (idx == UINT32_MAX) return idx;
  nodes_[idx].endpoints.push_back(e);
  r.endpoint_node[e] = idx;
  return idx;
}

std::string EdgeGraph::endpoint_node_id(uint32_t e) const {
  return group_id(resolver_->eps[e], resolver_->options.by);
}

// A Service's address: the workload (pod, namespace) behind it when all its pods fall into
// one graph node, else a node for the Service itself. Decided once per Service.
uint32_t EdgeGraph::service_node(size_t svc_index, bool create) {
  Resolver& r = *resolver_;
  if (auto it = r.service_node.find(svc_index); it != r.service_node.end()) return it->second;
  const Service& svc = r.state.services[svc_index];
  std::vector<uint32_t> pods;
  if (svc.selector && !svc.selector->empty())
    for (uint32_t e = 0; e < r.eps.size(); ++e) {
      const Endpoint& ep = r.eps[e];
      if (!ep.pod.host_network && service_selects(svc, ep.ns, ep.pod.labels)) pods.push_back(e);
    }
  else  // no selector: the endpoints someone else keeps in the Service's EndpointSlices
    for (const EndpointSlice& es : r.state.endpoint_slices) {
      if (es.ns != svc.ns || es.service != svc.name) continue;
      auto ns = r.pods.find(es.ns);
      for (const std::string& name : es.pods)
        if (ns != r.pods.end())
          if (auto it = ns->second.find(name);
              it != ns->second.end() && !r.eps[it->second].pod.host_network)
            pods.push_back(it->second);
      for (const IpAddr& ip : es.addresses)
        if (auto it = r.pod_ip.find(ip); it != r.pod_ip.end())
          for (uint32_t e : it->second)
            if (r.eps[e].ns == svc.ns) pods.push_back(e);
    }
  std::sort(pods.begin(), pods.end());
  pods.erase(std::unique(pods.begin(), pods.end()), pods.end());
  bool one = !pods.empty();
  for (uint32_t e : pods) one = one && endpoint_node_id(e) == endpoint_node_id(pods.front());
  uint32_t idx = UINT32_MAX;
  if (one) {
    for (uint32_t e : pods) idx = endpoint_node(e, create);
  } else {
    idx = node(svc.ns + "/" + svc.name, svc.ns, "Service", nullptr, create);
  }
  if (idx != UINT32_MAX) r.service_node.emplace(svc_index, idx);
  return idx;
}

// A pod the record names and the objects lack. Without objects: what the record carries (its
// names, Hubble's `workloads`, its labels). With objects: the declared workload the one
// resolution establishes for it, else nothing (the caller falls back to the address).
std::optional<uint32_t> EdgeGraph::record_pod(const FlowPeer& p, bool create) {
  Resolver& r = *resolver_;
  std::string ns_name(p.ns);
  if (!r.has_objects) {
    if (r.options.by == Granularity::Namespace) {
      Labels l = r.state.namespace_labels(ns_name);
      return node(ns_name, ns_name, "Namespace", &l, create);
    }
    std::string id = ns_name + "/";
    std::string kind = "Pod";
    if (r.options.by == Granularity::Workload && !p.workload.empty()) {
      id += p.workload;
      if (!p.workload_kind.empty()) kind = p.workload_kind;
    } else {
      id += p.pod;
    }
    if (auto it = r.node_by_id.find(id); it != r.node_by_id.end()) return it->second;
    Labels labels = record_labels(r.labels_parser, p.labels_json);
    return node(std::move(id), std::move(ns_name), std::move(kind), &labels, create);
  }
  std::string key = ns_name + "/" + std::string(p.pod);
  auto it = r.record_pods.find(key);
  // Names are remembered up to a bound (4 x the external cap): a stream of ever-new pod names
  // the objects lack would otherwise grow the table without end. Past it a name is resolved
  // again each time it comes, and one the objects cannot place falls back to its address,
  // which the external cap bounds.
  Resolver::RecordPod uncached;
  const uint64_t cap = r.options.max_external_nodes;
  if (it == r.record_pods.end() && cap && r.record_pods.size() >= 4 * cap) {
    Labels labels = record_labels(r.labels_parser, p.labels_json);
    WorkloadResolution res = r.workloads.of_record(p.ns, p.pod, p.workload, p.workload_kind,
                                                   p.labels_json.empty() ? nullptr : &labels);
    if (!res.workload) return std::nullopt;
    if (r.state.workloads[*res.workload].pod.host_network) return std::nullopt;
    // By pod, such a pod would be a node of its own name: one more per name.
    if (r.options.by == Granularity::Pod && !r.workload_endpoint.count(*res.workload))
      return std::nullopt;
    uncached.workload = *res.workload;
  } else if (it == r.record_pods.end()) {
    Labels labels = record_labels(r.labels_parser, p.labels_json);
    WorkloadResolution res = r.workloads.of_record(p.ns, p.pod, p.workload, p.workload_kind,
                                                   p.labels_json.empty() ? nullptr : &labels);
    Resolver::RecordPod rp;
    if (res.workload && r.state.workloads[*res.workload].pod.host_network) {
      // A host-network pod is its node: its address says which.
      rp.workload = UINT32_MAX;
    } else if (res.workload) {
      rp.workload = *res.workload;
    } else {
      ++r.unresolved_pods;
      if (r.notes.size() < kMaxNotes) r.notes.push_back(res.why + ": resolved by its address");
    }
    it = r.record_pods.emplace(std::move(key), rp).first;
  }
  Resolver::RecordPod& rp = it == r.record_pods.end() ? uncached : it->second;
  if (rp.workload == UINT32_MAX) return std::nullopt;
  if (rp.node >= 0) return static_cast<uint32_t>(rp.node);
  const Workload& w = r.state.workloads[rp.workload];
  uint32_t idx;
  if (auto ep = r.workload_endpoint.find(rp.workload); ep != r.workload_endpoint.end()) {
    // The workload stands for its pods (none is in the input): this pod is that endpoint.
    idx = endpoint_node(ep->second, create);
  } else if (r.options.by == Granularity::Namespace) {
    Labels l = r.state.namespace_labels(w.ns);
    idx = node(w.ns, w.ns, "Namespace", &l, create);
  } else if (r.options.by == Granularity::Workload) {
    Labels l;
    for (const auto& [k, v] : w.pod.labels)
      if (!is_per_pod_label(k)) l.emplace(k, v);
    idx = node(w.ns + "/" + w.name, w.ns, std::string(to_string(w.kind)), &l, create);
  } else {
    // By pod, a pod of a workload whose other pods are in the input: shown under its own name,
    // with no endpoint to evaluate it as (its isolation is unknown).
    Labels labels = record_labels(r.labels_parser, p.labels_json);
    idx = node(ns_name + "/" + std::string(p.pod), ns_name, "Pod", &labels, create);
  }
  if (idx != UINT32_MAX) rp.node = idx;
  return idx;
}

uint32_t EdgeGraph::resolve(const FlowPeer& p, std::string_view flow_node, int64_t time_ns,
                            bool lookup_only) {
  Resolver& r = *resolver_;
  const bool create = !lookup_only;
  if (r.options.as_observed) {
    std::string key = peer_key(p, flow_node);
    return key.empty() ? UINT32_MAX : node(std::move(key), "", "Observed", nullptr, create);
  }
  auto node_node = [&](std::string_view name) {
    return node("node/" + std::string(name.empty() ? "unknown" : name), "", "Node", nullptr,
                create);
  };

  // 0. By pod UID (agent events: the process's pod, from its cgroup path), 1. by name.
  uint32_t pod = p.hint != kNotPrepared ? p.hint : pod_of(p);
  if (pod != kNoPod) return endpoint_node(pod - 2, create);
  if (!p.pod.empty() && !p.ns.empty())
    if (auto n = record_pod(p, create)) return *n;
  // 2. By address.
  const bool named_absent = !p.pod.empty() && !p.ns.empty();
  if (p.ip) {
    if (auto it = r.pod_ip.find(*p.ip); it != r.pod_ip.end())
      return endpoint_node(pick_by_time(r.eps, it->second, time_ns), create);
    if (auto it = r.node_ip.find(*p.ip); it != r.node_ip.end()) return node_node(it->second);
    if (auto it = r.service_ip.find(*p.ip); it != r.service_ip.end())
      return service_node(it->second, create);
    if (p.reserved == "host") {
      // Hubble names the node "cluster/node".
      auto slash = flow_node.rfind('/');
      return node_node(slash == std::string_view::npos ? flow_node : flow_node.substr(slash + 1));
    }
    if (p.reserved == "remote-node") return node_node("");
    if (auto it = r.external.find(*p.ip); it != r.external.end()) {
      if (named_absent) nodes_[it->second].absent_pod = true;
      return it->second;
    }
    std::string id = "world/" + p.ip->str();
    for (const Cidr& c : r.options.external_groups)
      if (c.contains(*p.ip)) {
        id = "world/" + c.str();
        break;
      }
    const uint64_t cap = r.options.max_external_nodes;
    if (cap && r.external_nodes >= cap && !r.node_by_id.count(id)) {
      if (r.options.refuse_past_cap) {
        if (create) r.over_cap = true;
        return UINT32_MAX;
      }
      id = capped_external_id(*p.ip);
      if (create) ++r.external_grouped;
    }
    const size_t before = nodes_.size();
    uint32_t idx = node(std::move(id), "world", "External", nullptr, create);
    if (idx != UINT32_MAX && named_absent) nodes_[idx].absent_pod = true;
    r.external_nodes += nodes_.size() - before;
    if (idx != UINT32_MAX && r.external.size() < 1000000) r.external.emplace(*p.ip, idx);
    return idx;
  }
  if (!p.reserved.empty())
    return node("world/" + std::string(p.reserved), "world", "External", nullptr, create);
  return UINT32_MAX;
}

const std::vector<std::string>& EdgeGraph::resolution_notes() const {
  return resolver_->notes;
}

uint64_t EdgeGraph::unresolved_pods() const {
  return resolver_->unresolved_pods;
}

bool EdgeGraph::has_objects() const {
  return resolver_->has_objects;
}

std::string EdgeGraph::capped_external_id(const IpAddr& ip) const {
  const Resolver& r = *resolver_;
  const uint64_t cap = r.options.max_external_nodes;
  const int levels[2][3] = {{24, 16, 8}, {48, 32, 16}};
  const int* prefixes = levels[ip.v6 ? 1 : 0];
  auto group = [&](int prefix) {
    auto c = Cidr::parse(ip.str() + "/" + std::to_string(prefix));
    return "world/" + (c ? c->str() : ip.str());
  };
  for (int k = 0; k < 3; ++k)
    if (std::string id = group(prefixes[k]); r.node_by_id.count(id)) return id;
  for (int k = 0; k < 3; ++k)
    if (r.external_nodes < cap * static_cast<uint64_t>(k + 2)) return group(prefixes[k]);
  return ip.v6 ? "world/::/0" : "world/0.0.0.0/0";
}

bool EdgeGraph::over_cap() const {
  return resolver_->over_cap;
}

uint64_t EdgeGraph::external_grouped() const {
  return resolver_->external_grouped;
}
uint64_t EdgeGraph::external_nodes() const {
  return resolver_->external_nodes;
}

uint32_t EdgeGraph::pod_of(const FlowPeer& p) const {
  const Resolver& r = *resolver_;
  if (!p.pod_uid.empty())
    if (auto it = r.pod_uid.find(p.pod_uid); it != r.pod_uid.end()) return it->second + 2;
  if (p.pod.empty() || p.ns.empty()) return kNoPod;
  const Resolver::PodEntry* e = r.pod_by_key.find(pod_key(p.ns, p.pod));
  if (e == nullptr) return kNoPod;
  if (e->endpoint != UINT32_MAX) {
    std::string_view names(r.pod_names.data() + e->offset, e->ns_len + e->name_len);
    return names.substr(0, e->ns_len) == p.ns && names.substr(e->ns_len) == p.pod ? e->endpoint + 2
                                                                                  : kNoPod;
  }
  // Two pods share the key: by name.
  if (auto ns = r.pods.find(p.ns); ns != r.pods.end())
    if (auto it = ns->second.find(p.pod); it != ns->second.end()) return it->second + 2;
  return kNoPod;
}

void EdgeGraph::add(const Flow& f) {
  ++flows_;
  FlowKind kind = classify(f);
  if (kind == FlowKind::Reply && !(f.l4 == L4Protocol::TCP && f.tcp.rst)) return;
  // Other records say the edge exists when they travel from the initiator: known from
  // is_reply, or implied for policy-verdict events (about the initiator's first packet) and
  // agent events. Socket events are left out: they may name a Service's address and port
  // before translation, and the packet's own trace follows.
  if (kind == FlowKind::Other) {
    if (f.sock) return;
    bool forward =
        f.is_reply.has_value() ? !*f.is_reply : (f.policy_verdict || !f.agent_outcome.empty());
    if (!forward) return;
  }
  // A reset from the responder marks the connection it answers as failed; it makes no node.
  bool lookup_only = kind == FlowKind::Reply;
  uint32_t src = resolve(f.src, f.node, f.time_ns, lookup_only);
  uint32_t dst = resolve(f.dst, f.node, f.time_ns, lookup_only);
  if (kind == FlowKind::Reply) {
    EdgeStats* e = src == UINT32_MAX || dst == UINT32_MAX
                       ? nullptr
                       : edges_.find(EdgeKey{dst, src, f.l4, f.src.port});
    if (e != nullptr && e->established > 0) {
      --e->established;
      ++e->failed;
    } else if (resolver_->options.as_observed) {
      // The connection's start came in an earlier part of the stream: kept to be applied
      // where the parts meet (add_observed's reset rows).
      src = resolve(f.src, f.node, f.time_ns, false);
      dst = resolve(f.dst, f.node, f.time_ns, false);
      if (src != UINT32_MAX && dst != UINT32_MAX)
        ++late_resets_[EdgeKey{dst, src, f.l4, f.src.port}];
    }
    return;
  }
  if (src == UINT32_MAX || dst == UINT32_MAX) {
    ++unresolved_;
    return;
  }
  EdgeStats& e = edges_[EdgeKey{src, dst, f.l4, f.dst.port}];
  if (f.time_ns) {
    if (!e.first_seen || f.time_ns < e.first_seen) e.first_seen = f.time_ns;
    if (!e.last_seen || f.time_ns > e.last_seen) e.last_seen = f.time_ns;
  }
  if (kind != FlowKind::Start) return;
  if (seen_elsewhere(f)) {
    ++duplicates_;
    return;
  }
  ++e.count;
  switch (outcome_of(f)) {
    case FlowOutcome::Established:
      ++e.established;
      break;
    case FlowOutcome::Failed:
      ++e.failed;
      break;
    case FlowOutcome::Dropped:
      ++e.dropped;
      break;
  }
}

void EdgeGraph::add_aggregated(const FlowPeer& src_peer, const FlowPeer& dst_peer,
                               L4Protocol protocol, uint16_t port, const EdgeStats& stats,
                               bool evidence_only, std::string_view flow_node, uint64_t records) {
  flows_ += records;
  const int64_t t = stats.first_seen;
  uint32_t src = resolve(src_peer, flow_node, t, false);
  uint32_t dst = resolve(dst_peer, flow_node, t, false);
  if (src == UINT32_MAX || dst == UINT32_MAX) {
    unresolved_ += records;
    return;
  }
  EdgeStats& e = edges_[EdgeKey{src, dst, protocol, port}];
  if (stats.first_seen && (!e.first_seen || stats.first_seen < e.first_seen))
    e.first_seen = stats.first_seen;
  if (stats.last_seen && (!e.last_seen || stats.last_seen > e.last_seen))
    e.last_seen = stats.last_seen;
  if (evidence_only) return;
  e.count += stats.count;
  e.established += stats.established;
  e.failed += stats.failed;
  e.dropped += stats.dropped;
}

namespace {

constexpr char kPeerKeyVersion[] = "p1";
constexpr size_t kPeerKeyFields = 10;  // the version and nine fields

void append_field(std::string& out, std::string_view v) {
  out += '\t';
  // Tabs and line ends never occur in names; in labels JSON only as insignificant whitespace.
  for (char c : v) out += (c == '\t' || c == '\n' || c == '\r') ? ' ' : c;
}

}  // namespace

std::string peer_key(const FlowPeer& p, std::string_view flow_node) {
  // What resolve() can place: an address, a pod UID, a namespaced pod name, a reserved identity.
  if (!p.ip && p.pod_uid.empty() && (p.ns.empty() || p.pod.empty()) && p.reserved.empty())
    return {};
  std::string out = kPeerKeyVersion;
  append_field(out, p.ip ? p.ip->str() : std::string());
  for (std::string_view f : {p.pod_uid, p.ns, p.pod, p.workload, p.workload_kind, p.reserved})
    append_field(out, f);
  // The record's node names the peer only when the peer is the node itself.
  append_field(out, p.reserved == "host" ? flow_node : std::string_view());
  append_field(out, p.labels_json);
  return out;
}

bool parse_peer_key(std::string_view key, FlowPeer& out, std::string_view& flow_node) {
  std::string_view f[kPeerKeyFields];
  size_t n = 0;
  for (size_t at = 0; n < kPeerKeyFields; ++n) {
    size_t tab = n + 1 < kPeerKeyFields ? key.find('\t', at) : std::string_view::npos;
    if (tab == std::string_view::npos && n + 1 < kPeerKeyFields) return false;
    f[n] = key.substr(at, tab == std::string_view::npos ? std::string_view::npos : tab - at);
    at = tab + 1;
  }
  if (f[0] != kPeerKeyVersion) return false;
  out = FlowPeer{};
  if (!f[1].empty()) {
    auto ip = IpAddr::parse(f[1]);
    if (!ip) return false;
    out.ip = *ip;
  }
  out.pod_uid = f[2];
  out.ns = f[3];
  out.pod = f[4];
  out.workload = f[5];
  out.workload_kind = f[6];
  out.reserved = f[7];
  flow_node = f[8];
  out.labels_json = f[9];
  return true;
}

void EdgeGraph::continue_from(const EdgeGraph& previous) {
  recent_starts_ = previous.recent_starts_;
  newest_start_ = previous.newest_start_;
  recent_limit_ = previous.recent_limit_;
}

std::vector<std::pair<EdgeKey, uint64_t>> EdgeGraph::late_resets() const {
  return {late_resets_.begin(), late_resets_.end()};
}

bool EdgeGraph::add_observed(std::string_view src_key, std::string_view dst_key,
                             L4Protocol protocol, uint16_t port, const EdgeStats& stats) {
  const bool reset = src_key.starts_with(kResetKeyPrefix);
  if (reset) src_key.remove_prefix(kResetKeyPrefix.size());
  FlowPeer src, dst;
  std::string_view src_node, dst_node;
  if (!parse_peer_key(src_key, src, src_node) || !parse_peer_key(dst_key, dst, dst_node))
    return false;
  dst.port = port;
  if (reset) {
    // As add() takes a reset: on an edge that exists, established connections become failed.
    const std::string_view node = src_node.empty() ? dst_node : src_node;
    const uint32_t s = resolve(src, node, 0, true), d = resolve(dst, node, 0, true);
    if (s == UINT32_MAX || d == UINT32_MAX) return true;
    if (EdgeStats* e = edges_.find(EdgeKey{s, d, protocol, port})) {
      const uint64_t n = std::min(stats.count, e->established);
      e->established -= n;
      e->failed += n;
    }
    return true;
  }
  add_aggregated(src, dst, protocol, port, stats, false, src_node.empty() ? dst_node : src_node,
                 stats.count);
  return true;
}

// Hubble on the source's node and on the destination's node both report a cross-node
// connection's first packet. The same 5-tuple reported by another node within a few seconds
// is that connection again; from the same node it is a retransmission or a new attempt and
// counts. Memory stays bounded: entries older than the window are purged as the table grows.
bool EdgeGraph::seen_elsewhere(const Flow& f) {
  constexpr int64_t kWindow = int64_t{5} * 1000000000;
  if (f.node.empty() || !f.src.ip || !f.dst.ip || f.time_ns == 0) return false;
  const uint64_t key = start_key(f);
  const uint64_t node = f.node_hash != 0 ? f.node_hash : hash_bytes(f.node);
  newest_start_ = std::max(newest_start_, f.time_ns);
  auto [last, inserted] = recent_starts_.try_emplace(key, RecentStart{node, f.time_ns});
  bool duplicate =
      !inserted && last->node_hash != node && std::llabs(f.time_ns - last->time_ns) <= kWindow;
  if (!inserted) *last = RecentStart{node, f.time_ns};
  if (recent_starts_.size() > recent_limit_) {
    recent_starts_.retain(
        [&](uint64_t, const RecentStart& r) { return newest_start_ - r.time_ns <= kWindow; });
    // More connections than that within the window: let the table grow rather than purge
    // again at every record.
    if (recent_starts_.size() > recent_limit_ / 2) recent_limit_ *= 2;
  }
  return duplicate;
}

// The 5-tuple's hash: of both addresses (which must be set), both ports and the protocol.
uint64_t EdgeGraph::start_key(const Flow& f) {
  auto mix = [](uint64_t h, uint64_t v) {
    h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    return h;
  };
  uint64_t key = 0;
  for (const IpAddr* ip : {&*f.src.ip, &*f.dst.ip}) key = mix(mix(key, ip->hi), ip->lo);
  return mix(
      key, (uint64_t{f.src.port} << 24) | (uint64_t{f.dst.port} << 8) | static_cast<uint8_t>(f.l4));
}

// Only the common case is fetched: both peers pods with hints whose nodes exist already.
void EdgeGraph::prefetch(const Flow& f) const {
  const Resolver& r = *resolver_;
  auto node_of = [&](const FlowPeer& p) -> int64_t {
    return p.hint >= 2 ? r.endpoint_node[p.hint - 2] : -1;
  };
  const int64_t src = node_of(f.src), dst = node_of(f.dst);
  if (src < 0 || dst < 0) return;
  const FlowKind kind = classify(f);
  if (kind == FlowKind::Reply) return;
  edges_.prefetch(
      EdgeKey{static_cast<uint32_t>(src), static_cast<uint32_t>(dst), f.l4, f.dst.port});
  if (kind == FlowKind::Start && !f.node.empty() && f.src.ip && f.dst.ip && f.time_ns != 0)
    recent_starts_.prefetch(start_key(f));
}

std::vector<std::pair<EdgeKey, EdgeStats>> EdgeGraph::edges() const {
  std::vector<std::pair<EdgeKey, EdgeStats>> all;
  all.reserve(edges_.size());
  edges_.for_each([&](const EdgeKey& k, const EdgeStats& e) { all.emplace_back(k, e); });
  // By the nodes' ids (which are unique), then protocol and port: each node's rank in the
  // order of ids is found once, and small integer keys are sorted instead of the edges.
  std::vector<uint32_t> order(nodes_.size()), rank(nodes_.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return nodes_[a].id < nodes_[b].id; });
  for (uint32_t i = 0; i < order.size(); ++i) rank[order[i]] = i;
  struct Key {
    uint64_t nodes;
    uint32_t rest, at;
  };
  std::vector<Key> keys(all.size());
  for (uint32_t i = 0; i < all.size(); ++i) {
    const EdgeKey& k = all[i].first;
    keys[i] = {uint64_t{rank[k.src]} << 32 | rank[k.dst],
               uint32_t{static_cast<uint8_t>(k.protocol)} << 16 | k.port, i};
  }
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    return std::tie(a.nodes, a.rest) < std::tie(b.nodes, b.rest);
  });
  std::vector<std::pair<EdgeKey, EdgeStats>> out;
  out.reserve(all.size());
  for (const Key& k : keys) out.push_back(all[k.at]);
  return out;
}

Result<std::vector<Cidr>> parse_external_groups(const std::vector<std::string>& cidrs) {
  std::vector<Cidr> groups;
  for (const std::string& text : cidrs) {
    auto cidr = Cidr::parse(text);
    if (!cidr)
      return make_error(ErrorCode::Usage, "--external-cidr: invalid CIDR \"" + text + "\"");
    groups.push_back(*cidr);
  }
  std::sort(groups.begin(), groups.end(),
            [](const Cidr& a, const Cidr& b) { return a.prefix > b.prefix; });
  return groups;
}

}  // namespace stockade
