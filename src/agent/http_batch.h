// Batches of agent events POSTed to a Stockade server (docs/agent.md describes the endpoint
// and body). Sending runs on its own thread so a slow server never stalls the ring buffer.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stockade::agent {

struct BatchStats {
  uint64_t posted_events = 0;  // events the server accepted (2xx)
  uint64_t posted_batches = 0;
  uint64_t failed_posts = 0;    // attempts that failed (retried)
  uint64_t dropped_events = 0;  // events given up on: the backlog was full
  std::string last_error;
};

class BatchPoster {
 public:
  // `server` is the base URL (http://host:port); batches go to SERVER/api/v1/agent/events.
  BatchPoster(std::string server, std::string node, size_t max_batch = 1000,
              size_t max_backlog = 100000);
  ~BatchPoster();  // finish()
  // Sends what is queued (one attempt), then stops the sending thread.
  void finish();
  BatchPoster(const BatchPoster&) = delete;
  BatchPoster& operator=(const BatchPoster&) = delete;

  // One event as a JSON object (format_event_json).
  void add(std::string event_json);
  // Asks for a send of what is queued (called once a second by the agent).
  void flush(uint64_t lost_total);
  BatchStats stats() const;
  static std::string endpoint(const std::string& server);
  // The request body: {"node":…,"sent_at":…,"lost_total":N,"events":[…]}.
  static std::string body(const std::string& node, int64_t now_ns, uint64_t lost_total,
                          const std::vector<std::string>& events);

 private:
  void run();
  bool post(const std::string& body, std::string& error);
  std::string url_, node_;
  size_t max_batch_, max_backlog_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  uint64_t lost_total_ = 0;
  bool flush_requested_ = false, stopping_ = false;
  BatchStats stats_;
  std::thread thread_;
};

}  // namespace stockade::agent
