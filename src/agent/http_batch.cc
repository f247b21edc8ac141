#include "agent/http_batch.h"

#include <chrono>

#include "agent/event.h"
#include "core/curl_lib.h"

namespace stockade::agent {

namespace {
size_t discard(char*, size_t size, size_t n, void*) {
  return size * n;
}
int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

BatchPoster::BatchPoster(std::string server, std::string node, size_t max_batch, size_t max_backlog)
    : url_(endpoint(server)),
      node_(std::move(node)),
      max_batch_(max_batch),
      max_backlog_(max_backlog) {
  thread_ = std::thread([this] { run(); });
}

BatchPoster::~BatchPoster() {
  finish();
}

void BatchPoster::finish() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    flush_requested_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::string BatchPoster::endpoint(const std::string& server) {
  std::string base = server;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/api/v1/agent/events";
}

std::string BatchPoster::body(const std::string& node, int64_t now, uint64_t lost_total,
                              const std::vector<std::string>& events) {
  std::string b = "{\"node\":\"";
  for (char c : node) {
    if (c == '"' || c == '\\') b.push_back('\\');
    if (static_cast<unsigned char>(c) >= 0x20) b.push_back(c);
  }
  b += "\",\"sent_at\":\"" + format_rfc3339_nano(now) +
       "\",\"lost_total\":" + std::to_string(lost_total) + ",\"events\":[";
  for (size_t i = 0; i < events.size(); ++i) {
    if (i) b.push_back(',');
    b += events[i];
  }
  b += "]}";
  return b;
}

void BatchPoster::add(std::string event_json) {
  std::lock_guard<std::mutex> lock(mu_);
  if (queue_.size() >= max_backlog_) {
    ++stats_.dropped_events;
    return;
  }
  queue_.push_back(std::move(event_json));
  if (queue_.size() >= max_batch_) {
    flush_requested_ = true;
    cv_.notify_one();
  }
}

void BatchPoster::flush(uint64_t lost_total) {
  std::lock_guard<std::mutex> lock(mu_);
  lost_total_ = lost_total;
  flush_requested_ = true;
  cv_.notify_one();
}

BatchStats BatchPoster::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

bool BatchPoster::post(const std::string& body, std::string& error) {
  auto lib = curl_lib();
  if (!lib) {
    error = lib.error().str();
    return false;
  }
  const CurlLib& cu = **lib;
  CURL* curl = cu.easy_init();
  if (!curl) {
    error = "curl_easy_init failed";
    return false;
  }
  curl_slist* headers = cu.slist_append(nullptr, "Content-Type: application/json");
  cu.easy_setopt(curl, CURLOPT_URL, url_.c_str());
  cu.easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  cu.easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  cu.easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  cu.easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  cu.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  cu.easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
  CURLcode rc = cu.easy_perform(curl);
  long status = 0;
  cu.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  cu.slist_free_all(headers);
  cu.easy_cleanup(curl);
  if (rc != CURLE_OK) {
    error = url_ + ": " + cu.easy_strerror(rc);
    return false;
  }
  if (status < 200 || status >= 300) {
    error = url_ + ": HTTP " + std::to_string(status);
    return false;
  }
  return true;
}

void BatchPoster::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return flush_requested_ || stopping_; });
    flush_requested_ = false;
    bool stopping = stopping_;
    while (!queue_.empty()) {
      size_t n = std::min(queue_.size(), max_batch_);
      std::vector<std::string> batch(std::make_move_iterator(queue_.begin()),
                                     std::make_move_iterator(queue_.begin() + n));
      queue_.erase(queue_.begin(), queue_.begin() + n);
      uint64_t lost = lost_total_;
      lock.unlock();
      std::string error;
      bool ok = post(body(node_, now_ns(), lost, batch), error);
      lock.lock();
      if (ok) {
        stats_.posted_events += n;
        ++stats_.posted_batches;
        continue;
      }
      ++stats_.failed_posts;
      stats_.last_error = error;
      if (stopping) {  // one attempt at exit
        stats_.dropped_events += n + queue_.size();
        queue_.clear();
        break;
      }
      // Put the batch back in front, as far as the backlog allows, and retry at the next
      // flush (once a second).
      size_t room = max_backlog_ > queue_.size() ? max_backlog_ - queue_.size() : 0;
      size_t keep = std::min(room, batch.size());
      stats_.dropped_events += batch.size() - keep;
      queue_.insert(queue_.begin(), std::make_move_iterator(batch.begin()),
                    std::make_move_iterator(batch.begin() + keep));
      break;
    }
    if (stopping) return;
  }
}

}  // namespace stockade::agent
