// The threat detectors (src/detect) in `stockade serve`: fed with every flow record body
// POST /api/v1/flows accepts and every agent batch POST /api/v1/agent/batches stores; each
// signal of a closed window becomes one audit event (kind port-scan, host-sweep, syn-flood,
// udp-flood or icmp-flood; GET /api/v1/audit, the event stream) and counts in /metrics.
//
// Agent batches are aggregated edges (docs/agent-batches.md): per window and (source, target,
// protocol, port) the attempts and how many established. Scans, sweeps and SYN floods are
// judged on them as on records; what needs the raw events (rates inside a window, source ports,
// ICMP, a UDP flood from one socket) is said in docs/notes/detect.md.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "detect/detect.h"
#include "server/state.h"

namespace stockade::server {

class DetectFeed {
 public:
  DetectFeed(ServerState& state, detect::Thresholds t) : state_(state), detector_(t), t_(t) {}

  // A request body of flow records, accepted (durable) before.
  void records(std::string_view body);
  // An agent batch stored before (not a replay).
  void batch(std::string_view body);
  // The Prometheus text of the detectors' counters.
  std::string metrics() const;

 private:
  // Signals of the windows closed by now: an ongoing one already reported is extended, not
  // reported again.
  void flush();

  ServerState& state_;
  mutable std::mutex mu_;
  detect::Detector detector_;
  detect::Thresholds t_;
  struct Reported {
    int64_t last_seen = 0;  // of the activity
    int64_t at = 0;         // when reported (wall clock)
  };
  std::map<std::string, Reported> reported_;  // by detect::identity
  std::array<uint64_t, 5> signals_{};
  uint64_t records_ = 0, edges_ = 0, audit_failures_ = 0;
};

}  // namespace stockade::server
