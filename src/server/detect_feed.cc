#include "server/detect_feed.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "core/wall_clock.h"
#include "detect/report.h"
#include "flow/agent_batch.h"
#include "input/flow_reader.h"

namespace stockade::server {

namespace {

std::string peer_name(const batch::Peer& p) {
  return p.ns.empty() || p.pod.empty() ? std::string() : p.ns + "/" + p.pod;
}

}  // namespace

void DetectFeed::records(std::string_view body) {
  std::lock_guard lock(mu_);
  FlowReadOptions ro;
  ro.threads = 1;  // one request's body: the request's own thread
  FlowReadStats stats;
  const uint64_t before = detector_.records();
  (void)read_flows_text(body, "request body", ro, stats,
                        [this](const Flow& f) { detector_.add(f); });
  records_ += detector_.records() - before;
  flush();
}

void DetectFeed::batch(std::string_view body) {
  auto b = batch::decode(body);
  if (!b) return;  // the server refused it already
  std::lock_guard lock(mu_);
  for (const batch::Edge& e : b->edges) {
    // The initiator's node counts the attempts; an inbound edge is the other side's evidence.
    if (e.inbound) continue;
    const std::string src = peer_name(e.src), dst = peer_name(e.dst);
    detector_.add(
        detect::AggregatedEdge{e.src.ip, e.dst.ip, src, dst, e.protocol, e.port, e.stats});
    ++edges_;
  }
  flush();
}

void DetectFeed::flush() {
  const int64_t now = wall_now_ns();
  std::vector<store::AuditEvent> events;
  for (detect::Signal& s : detector_.take_closed(now)) {
    auto it = reported_.find(detect::identity(s));
    // Judged again (the next pair of windows, records arriving late), or going on: the same
    // activity, reported once.
    if (it != reported_.end() && s.first_seen <= it->second.last_seen + 2 * t_.window_ns) {
      it->second.last_seen = std::max(it->second.last_seen, s.last_seen);
      continue;
    }
    reported_[detect::identity(s)] = {s.last_seen, now};
    ++signals_[static_cast<size_t>(s.type)];
    store::AuditEvent e;
    e.at = s.last_seen ? s.last_seen : now;
    e.kind = std::string(detect::to_string(s.type));
    e.src = s.src;
    e.dst = s.dst;
    e.protocol = s.protocol;
    e.port = s.port;
    e.detail =
        detect::signal_json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    events.push_back(std::move(e));
  }
  // Reports are remembered for ten minutes (or 30 windows): long enough for every window that
  // could judge the same activity again.
  const int64_t keep = std::max<int64_t>(30 * t_.window_ns, int64_t{600} * 1000000000);
  std::erase_if(reported_, [&](const auto& kv) { return kv.second.at + keep < now; });
  if (audit::LiveAudit* audit = state_.audit(); audit && !events.empty())
    if (!audit->append_events(events)) ++audit_failures_;
}

std::string DetectFeed::metrics() const {
  std::lock_guard lock(mu_);
  std::string out =
      "# HELP stockade_detect_signals_total Threat signals raised (each an audit event), by "
      "type.\n# TYPE stockade_detect_signals_total counter\n";
  for (detect::SignalType t :
       {detect::SignalType::PortScan, detect::SignalType::HostSweep, detect::SignalType::SynFlood,
        detect::SignalType::UdpFlood, detect::SignalType::IcmpFlood})
    out += "stockade_detect_signals_total{type=\"" + std::string(detect::to_string(t)) + "\"} " +
           std::to_string(signals_[static_cast<size_t>(t)]) + "\n";
  out +=
      "# HELP stockade_detect_counted_total Flow records and agent edges the detectors "
      "counted, by source.\n# TYPE stockade_detect_counted_total counter\n";
  out += "stockade_detect_counted_total{source=\"records\"} " + std::to_string(records_) + "\n";
  out += "stockade_detect_counted_total{source=\"agent-edges\"} " + std::to_string(edges_) + "\n";
  out +=
      "# HELP stockade_detect_open_windows Counting windows not judged yet.\n"
      "# TYPE stockade_detect_open_windows gauge\n";
  out += "stockade_detect_open_windows " + std::to_string(detector_.open_windows()) + "\n";
  out +=
      "# HELP stockade_detect_audit_failures_total Signals the store could not record as audit "
      "events.\n# TYPE stockade_detect_audit_failures_total counter\n";
  out += "stockade_detect_audit_failures_total " + std::to_string(audit_failures_) + "\n";
  return out;
}

}  // namespace stockade::server
