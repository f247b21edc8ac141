#include "server/events.h"

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

namespace stockade::server {

DataFingerprint fingerprint(const ServerState::Counters& c, uint64_t pokes) {
  DataFingerprint f;
  f.generation = c.generation;
  f.records = c.records;
  f.agent_batches = c.agent_batches;
  if (c.audit) {
    f.audit_events = c.audit->events;
    std::copy(std::begin(c.audit->baselines), std::end(c.audit->baselines), f.baselines);
  }
  f.pokes = pokes;
  return f;
}

std::string fingerprint_json(const DataFingerprint& f) {
  return nlohmann::json{
      {"generation", f.generation},
      {"records", f.records},
      {"agent_batches", f.agent_batches},
      {"audit_events", f.audit_events},
      {"baselines",
       {{"learning", f.baselines[0]}, {"stable", f.baselines[1]}, {"locked", f.baselines[2]}}},
      {"writes", f.pokes}}
      .dump();
}

EventStreams::EventStreams(ServerState& state, Options options)
    : state_(state), options_(options) {}

void EventStreams::poke() {
  {
    std::lock_guard lock(mu_);
    ++pokes_;
  }
  cv_.notify_all();
}

void EventStreams::stop() {
  stopping_ = true;
  cv_.notify_all();
}

uint64_t EventStreams::wait(uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return pokes_ != seen || stopping_; });
  return pokes_;
}

namespace {

using Clock = std::chrono::steady_clock;

// One open stream: what it last reported and when it last wrote.
struct Stream {
  bool started = false;
  DataFingerprint last;
  uint64_t seen = 0;  // pokes when `last` was taken
  uint64_t id = 0;
  Clock::time_point last_write;
};

std::string change_event(uint64_t id, const char* name, const DataFingerprint& f) {
  return "id: " + std::to_string(id) + "\nevent: " + name + "\ndata: " + fingerprint_json(f) +
         "\n\n";
}

}  // namespace

void EventStreams::handle(const httplib::Request&, httplib::Response& res) {
  auto error = [&](int status, const std::string& message) {
    res.status = status;
    res.set_content(nlohmann::json{{"error", message}}.dump() + "\n", "application/json");
  };
  if (!state_.ready()) return error(503, "not ready: the cluster objects are not loaded yet");
  if (++open_ > options_.max_streams) {
    --open_;
    res.set_header("Retry-After", "10");
    return error(503, "too many event streams open (" + std::to_string(options_.max_streams) +
                          "): poll /api/v1/map with If-None-Match instead");
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // a proxy in front must not buffer the stream
  auto s = std::make_shared<Stream>();
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, s](size_t, httplib::DataSink& sink) {
        auto write = [&](const std::string& text) {
          s->last_write = Clock::now();
          return sink.write(text.data(), text.size());
        };
        if (stopping_) {
          sink.done();
          return true;
        }
        if (!s->started) {
          // The first event says what the data is now, so that a client that (re)connects
          // knows whether it missed something; `retry` is how long a browser's EventSource
          // waits before it reconnects.
          s->started = true;
          s->seen = wait(~uint64_t{0}, std::chrono::milliseconds(0));
          s->last = fingerprint(state_.counters(), s->seen);
          return write("retry: 3000\n" + change_event(++s->id, "hello", s->last));
        }
        const auto beat = s->last_write + options_.heartbeat;
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(beat - Clock::now());
        uint64_t pokes =
            wait(s->seen, std::clamp(left, std::chrono::milliseconds(0), options_.check));
        if (stopping_) {
          sink.done();
          return true;
        }
        if (!sink.is_writable()) return false;  // the client went away
        DataFingerprint f = fingerprint(state_.counters(), pokes);
        if (!(f == s->last)) {
          // A burst of writes (batches posted back to back) is one event.
          std::this_thread::sleep_for(options_.coalesce);
          pokes = wait(~uint64_t{0}, std::chrono::milliseconds(0));
          f = fingerprint(state_.counters(), pokes);
          s->last = f;
          s->seen = pokes;
          return write(change_event(++s->id, "change", f));
        }
        s->seen = pokes;
        if (Clock::now() >= beat) return write(": keep-alive\n\n");
        return true;
      },
      [this](bool) { --open_; });
}

}  // namespace stockade::server
