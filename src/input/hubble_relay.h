// Flows from a Hubble Relay (or a Cilium agent's Hubble server): Observer.GetFlows with follow,
// over gRPC. Each flow is printed as `hubble observe -o jsonpb` prints it (proto field names),
// so it is read by the one flow reader like a line of a --flows file; flows are handed on in
// batches of NDJSON. The stream is followed until stop(): when it ends or fails, the follower
// reconnects with back-off (0.5 s doubling to 30 s) and asks for the flows since the last one
// it received, which Hubble's ring buffer may still hold.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace stockade::input {

struct RelayOptions {
  std::string address;  // host:port
  // TLS when a CA file is given (the relay's server certificate is checked against it);
  // a client certificate and key for mutual TLS, as Hubble Relay's TLS setup asks.
  std::string ca_file, cert_file, key_file, server_name;
  size_t batch_records = 2000;                    // a batch ends at this many flows,
  std::chrono::milliseconds batch_interval{500};  // or this long after its first one
  std::chrono::milliseconds max_backoff{30000};   // between reconnection attempts
};

struct RelayCounters {
  uint64_t flows = 0;        // flows received
  uint64_t lost_events = 0;  // events the relay reported lost before they reached it
  uint64_t connects = 0;     // streams opened
  uint64_t failures = 0;     // streams that ended in an error or could not be opened
  bool connected = false;
  std::string last_error;
};

class RelayFollower {
 public:
  // `on_batch` receives NDJSON text (one GetFlowsResponse per line, as `hubble observe -o
  // jsonpb` prints it), from the follower's own thread, one batch at a time.
  RelayFollower(RelayOptions options, std::function<void(std::string_view)> on_batch);
  ~RelayFollower();  // stops
  RelayFollower(const RelayFollower&) = delete;
  RelayFollower& operator=(const RelayFollower&) = delete;

  void start();
  void stop();
  RelayCounters counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stockade::input
