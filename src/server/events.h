// GET /api/v1/events: server-sent events (text/event-stream) that tell the console the data
// changed, so that it reloads the map, the audit and the baselines when there is something new
// instead of polling. One `change` event per change (several changes close together are one
// event), each carrying what the data is now (generation of the objects, records and agent
// batches kept, audit events, baselines per state) so that a client can tell what to reload;
// a comment line every `heartbeat` keeps proxies from closing an idle stream and finds clients
// that went away.
//
// Each open stream holds one of the server's worker threads, so at most `max_streams` are open
// at once; past that the answer is 503 with Retry-After and the console polls instead.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "server/state.h"

namespace stockade::server {

// What the data is now, as the event stream reports it; two equal fingerprints mean nothing a
// console shows has changed.
struct DataFingerprint {
  uint64_t generation = 0;
  uint64_t records = 0;
  uint64_t agent_batches = 0;
  uint64_t audit_events = 0;          // denied + outside-baseline written so far
  uint64_t baselines[3] = {0, 0, 0};  // learning, stable, locked
  uint64_t pokes = 0;  // changes the counters above do not show (a baseline locked, unlocked)
  bool operator==(const DataFingerprint&) const = default;
};

DataFingerprint fingerprint(const ServerState::Counters& c, uint64_t pokes);

// The `data:` of a change event: one JSON object on one line.
std::string fingerprint_json(const DataFingerprint& f);

class EventStreams {
 public:
  struct Options {
    size_t max_streams = 4;
    std::chrono::milliseconds heartbeat{15000};
    // How often a stream looks at the state's counters when nothing pokes it (changes that do
    // not come through HTTP: the Hubble Relay follower, a rebuild, the audit's timer).
    std::chrono::milliseconds check{1000};
    // Changes closer together than this are one event.
    std::chrono::milliseconds coalesce{200};
  };
  EventStreams(ServerState& state, Options options);

  // Something changed that the counters may not show (call after answering a write).
  void poke();
  // Ends every open stream (the server is stopping): they return within `check`.
  void stop();

  // The GET /api/v1/events handler.
  void handle(const httplib::Request& req, httplib::Response& res);

  size_t open_streams() const { return open_.load(); }

 private:
  // Waits until poked past `seen`, stopped, or `timeout`; returns the pokes now.
  uint64_t wait(uint64_t seen, std::chrono::milliseconds timeout);

  ServerState& state_;
  Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t pokes_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> open_{0};
};

}  // namespace stockade::server
