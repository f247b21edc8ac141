#include "agent/aggregator.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>

#include "core/hash.h"
#include "model/flow.h"

namespace stockade::agent {

namespace {

void append_ip(std::string& k, const IpAddr& ip) {
  char b[17];
  std::memcpy(b, &ip.hi, 8);
  std::memcpy(b + 8, &ip.lo, 8);
  b[16] = ip.v6 ? 1 : 0;
  k.append(b, sizeof b);
}

void append_str(std::string& k, std::string_view s) {
  k.append(s);
  k.push_back('\0');
}

// The key of an edge: both sides as the agent knows them, protocol, port, direction.
void make_key(std::string& k, const IpAddr& src, const IpAddr& dst, bool udp, bool inbound,
              uint16_t port, std::string_view src_uid, std::string_view dst_uid,
              std::string_view src_ns, std::string_view src_pod, std::string_view dst_ns,
              std::string_view dst_pod) {
  k.clear();
  append_ip(k, src);
  append_ip(k, dst);
  k.push_back(udp ? 'u' : 't');
  k.push_back(inbound ? 'i' : 'o');
  k.append(reinterpret_cast<const char*>(&port), 2);
  append_str(k, src_uid);
  append_str(k, dst_uid);
  append_str(k, src_ns);
  append_str(k, src_pod);
  append_str(k, dst_ns);
  append_str(k, dst_pod);
}

}  // namespace

Aggregator::Aggregator(AggregatorOptions options, int64_t now_ns)
    : options_(std::move(options)), window_start_(now_ns) {}

void Aggregator::set_window(int64_t ns) {
  options_.window_ns = std::clamp<int64_t>(ns, int64_t{1} * 1000000000, int64_t{300} * 1000000000);
}

void Aggregator::add(const AgentEvent& e, int64_t now_ns) {
  // The side the process runs on carries its pod UID.
  const std::string_view src_uid = e.inbound ? std::string_view() : e.pod_uid;
  const std::string_view dst_uid = e.inbound ? std::string_view(e.pod_uid) : std::string_view();
  make_key(key_, e.src, e.dst, e.udp, e.inbound, e.dst_port, src_uid, dst_uid, e.src_ns, e.src_pod,
           e.dst_ns, e.dst_pod);
  auto [it, inserted] = index_.try_emplace(key_, static_cast<uint32_t>(edges_.size()));
  if (inserted) {
    batch::Edge edge;
    edge.src.ip = e.src;
    edge.src.pod_uid = std::string(src_uid);
    edge.src.ns = e.src_ns;
    edge.src.pod = e.src_pod;
    edge.dst.ip = e.dst;
    edge.dst.pod_uid = std::string(dst_uid);
    edge.dst.ns = e.dst_ns;
    edge.dst.pod = e.dst_pod;
    edge.protocol = e.udp ? L4Protocol::UDP : L4Protocol::TCP;
    edge.port = e.dst_port;
    edge.inbound = e.inbound;
    edges_.push_back(std::move(edge));
    if (seen_.size() >= options_.max_seen) seen_.clear();
    const bool never_seen = seen_.insert(hash_bytes(key_)).second;
    is_new_.push_back(never_seen);
    if (never_seen && new_since_ == 0) new_since_ = now_ns;
  }
  batch::Edge& edge = edges_[it->second];
  EdgeStats& s = edge.stats;
  ++s.count;
  // The outcome as every reader of agent events classifies it (model/flow.h).
  Flow f;
  f.agent_outcome = e.outcome;
  switch (outcome_of(f)) {
    case FlowOutcome::Established:
      ++s.established;
      break;
    case FlowOutcome::Failed:
      ++s.failed;
      break;
    case FlowOutcome::Dropped:
      ++s.dropped;
      break;
  }
  if (e.time_ns) {
    if (!s.first_seen || e.time_ns < s.first_seen) s.first_seen = e.time_ns;
    if (!s.last_seen || e.time_ns > s.last_seen) s.last_seen = e.time_ns;
  }
  if (!e.comm.empty() &&
      std::find(edge.processes.begin(), edge.processes.end(), e.comm) == edge.processes.end()) {
    if (edge.processes.size() < batch::kMaxProcesses)
      edge.processes.push_back(e.comm);
    else
      edge.processes_truncated = true;
  }
}

std::optional<batch::AgentBatch> Aggregator::poll(int64_t now_ns) {
  bool window_over = now_ns - window_start_ >= options_.window_ns;
  bool new_edge = new_since_ != 0 && now_ns - new_since_ >= options_.new_edge_delay_ns;
  bool full = edges_.size() >= options_.max_edges;
  if (!window_over && !new_edge && !full) return std::nullopt;
  if (edges_.empty() && lost_ == 0) {  // a quiet window: nothing to send
    window_start_ = now_ns;
    return std::nullopt;
  }
  return take(now_ns, !window_over && !full);
}

std::optional<batch::AgentBatch> Aggregator::flush(int64_t now_ns) {
  if (edges_.empty() && lost_ == 0) return std::nullopt;
  return take(now_ns, false);
}

batch::AgentBatch Aggregator::take(int64_t now_ns, bool only_new) {
  batch::AgentBatch b;
  b.node = options_.node;
  b.boot_id = options_.boot_id;
  b.seq = ++seq_;
  b.window_start = window_start_;
  b.window_end = std::max(now_ns, window_start_);
  b.lost_events = lost_;
  b.dropped_batches = dropped_batches_;
  lost_ = 0;
  new_since_ = 0;
  if (only_new) {
    // The never-seen edges go now; the others stay in the window, which goes on.
    std::vector<batch::Edge> kept;
    for (size_t i = 0; i < edges_.size(); ++i)
      (is_new_[i] ? b.edges : kept).push_back(std::move(edges_[i]));
    edges_ = std::move(kept);
    is_new_.assign(edges_.size(), false);
    index_.clear();
    for (uint32_t i = 0; i < edges_.size(); ++i) index_.emplace(edge_key(edges_[i]), i);
    return b;
  }
  b.edges = std::move(edges_);
  edges_.clear();
  is_new_.clear();
  index_.clear();
  window_start_ = b.window_end;
  return b;
}

std::string Aggregator::edge_key(const batch::Edge& e) {
  std::string k;
  make_key(k, e.src.ip, e.dst.ip, e.protocol == L4Protocol::UDP, e.inbound, e.port, e.src.pod_uid,
           e.dst.pod_uid, e.src.ns, e.src.pod, e.dst.ns, e.dst.pod);
  return k;
}

std::string new_boot_id() {
  std::random_device rd;
  char buf[33];
  std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return buf;
}

}  // namespace stockade::agent
