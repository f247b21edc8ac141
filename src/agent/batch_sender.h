// Delivery of the agent's batches (docs/agent-batches.md): POST SERVER/api/v1/agent/batches,
// gzip JSON, in order, one at a time. A batch is kept until the server acknowledges it (2xx):
// in memory (bounded: past `max_pending` the oldest is dropped and counted) and, with a spool
// directory, on disk before the first attempt, so a kill -9 of the agent loses no batch that
// was formed; the next run replays the spool first. 429/503 are back-pressure: wait
// Retry-After (else back off), then send the same batch again. A 2xx answer may carry
// {"next_interval_ms":N}: the window the server wants (Sender::next_interval_ms).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/error.h"
#include "flow/agent_batch.h"

namespace stockade::agent {

struct SenderOptions {
  std::string server;  // base URL; batches go to SERVER/api/v1/agent/batches
  std::string spool;   // directory ("" for none)
  // A file holding the bearer token to send (a projected service-account token, audience
  // `stockade`: the kubelet rotates it, so it is read again for every request); "" for none.
  std::string token_file;
  // PEM CA certificates the server's certificate must chain to (empty: the system's).
  std::string ca_file;
  size_t max_pending = 1000;  // batches kept unacknowledged (memory and spool)
  int64_t timeout_ms = 10000;
  int64_t backoff_min_ms = 500, backoff_max_ms = 30000;
  std::function<void(const std::string&)> log;  // drops and failures (rate-limited by caller)
  // When set, every wait between attempts (back-off, Retry-After) goes through it instead of
  // the sending thread sleeping: tests record the waits the sender chose, without a clock.
  std::function<void(int64_t ms)> sleep;
};

struct SenderStats {
  uint64_t sent = 0;             // batches acknowledged
  uint64_t replayed = 0;         // of them, batches read back from the spool at start
  uint64_t dropped = 0;          // given up on: the bound was hit
  uint64_t rejected = 0;         // the server refused them for good (400, 413, 422, ...)
  uint64_t failed_attempts = 0;  // transport errors and 5xx (retried)
  uint64_t backoffs = 0;         // 429/503 answers
  uint64_t pending = 0;
  std::optional<int64_t> next_interval_ms;  // the server's last suggestion
  std::string last_error;
};

class Sender {
 public:
  // Reads the spool (batches of earlier runs; each boot id's in seq order) and starts the
  // sending thread. Errors: the spool directory cannot be created or read.
  static Result<std::unique_ptr<Sender>> start(SenderOptions options);
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  // Queues a batch: encoded, gzipped, written to the spool (fsync) before it is sent.
  // Errors: the spool cannot be written (the batch is still queued in memory).
  Result<void> submit(const batch::AgentBatch& b);
  // Tries to deliver what is queued for at most `wait_ms`, then stops the thread. What is
  // left stays in the spool (without one, it is counted as dropped).
  void finish(int64_t wait_ms);
  SenderStats stats() const;
  static std::string endpoint(const std::string& server);

 private:
  struct Pending {
    std::string body;  // gzip JSON
    std::string file;  // its spool file, "" when not spooled
    uint64_t seq = 0;
    bool replayed = false;
  };
  explicit Sender(SenderOptions options);
  void run();
  // One POST. Returns the HTTP status (0 on a transport error), the Retry-After in ms and
  // the answer's next_interval_ms.
  long post(const std::string& body, int64_t& retry_after_ms, std::optional<int64_t>& interval,
            std::string& error);
  void drop_oldest_locked();
  bool wait_locked(std::unique_lock<std::mutex>& lock, int64_t ms);
  void log(const std::string& m) {
    if (options_.log) options_.log(m);
  }

  SenderOptions options_;
  std::string url_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  bool in_flight_ = false;   // the front batch is being posted
  int64_t deadline_ns_ = 0;  // with stopping_: give up at this steady-clock time
  uint64_t spool_counter_ = 0;
  SenderStats stats_;
  std::thread thread_;
};

}  // namespace stockade::agent
