#include "agent/batch_sender.h"

#include <fcntl.h>
#include <unistd.h>

#include <simdjson.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <tuple>
#include <vector>

#include "core/curl_lib.h"
#include "core/wall_clock.h"

namespace stockade::agent {

namespace fs = std::filesystem;

namespace {

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Writes `data` to `path` durably: a temporary file, fsync, rename, fsync of the directory.
// A crash leaves either the whole file or none (a stray temporary is removed at start).
Result<void> write_durably(const std::string& dir, const std::string& path,
                           const std::string& data) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(tmp, 0, std::string("cannot create: ") + std::strerror(errno));
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return make_error(tmp, 0, std::string("write error: ") + std::strerror(e));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return make_error(tmp, 0, std::string("fsync: ") + std::strerror(e));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return make_error(path, 0, std::string("rename: ") + std::strerror(e));
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

struct Answer {
  std::string body;
  std::optional<int64_t> retry_after_ms;
};

size_t on_body(char* p, size_t size, size_t n, void* ud) {
  auto* a = static_cast<Answer*>(ud);
  if (a->body.size() < 4096) a->body.append(p, std::min(size * n, 4096 - a->body.size()));
  return size * n;
}

size_t on_header(char* p, size_t size, size_t n, void* ud) {
  auto* a = static_cast<Answer*>(ud);
  std::string_view h(p, size * n);
  constexpr std::string_view kName = "retry-after:";
  if (h.size() > kName.size()) {
    bool match = true;
    for (size_t i = 0; i < kName.size() && match; ++i)
      match = static_cast<char>(std::tolower(static_cast<unsigned char>(h[i]))) == kName[i];
    if (match) {
      long s = 0;
      // Seconds (the HTTP-date form is not used by Stockade's server: ignored).
      if (std::sscanf(std::string(h.substr(kName.size())).c_str(), "%ld", &s) == 1 && s >= 0)
        a->retry_after_ms = std::min<int64_t>(s, 3600) * 1000;
    }
  }
  return size * n;
}

}  // namespace

std::string Sender::endpoint(const std::string& server) {
  std::string base = server;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/api/v1/agent/batches";
}

Sender::Sender(SenderOptions options)
    : options_(std::move(options)), url_(endpoint(options_.server)) {}

Result<std::unique_ptr<Sender>> Sender::start(SenderOptions options) {
  std::unique_ptr<Sender> s(new Sender(std::move(options)));
  const std::string& dir = s->options_.spool;
  if (!dir.empty()) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return make_error(dir, 0, "cannot create the spool directory: " + ec.message());
    std::vector<std::string> names;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (name.ends_with(".tmp")) {  // a write cut short by a crash: never sent, never acked
        fs::remove(it->path(), ec);
        ec.clear();
        continue;
      }
      if (name.ends_with(".json.gz")) names.push_back(name);
    }
    if (ec) return make_error(dir, 0, "cannot read the spool directory: " + ec.message());
    std::sort(names.begin(), names.end());
    // Names sort by the wall clock at spooling, which may have stepped back. The receiver takes
    // a boot id's batches in sequence order only (a lower one after a higher is a replay to
    // it): each boot id's batches go in seq order, the boot ids in the order their first batch
    // was spooled.
    struct Spooled {
      size_t boot_rank;
      uint64_t seq;
      Pending pending;
    };
    std::vector<Spooled> spooled;
    std::vector<std::string> boots;
    for (const std::string& name : names) {
      std::string path = dir + "/" + name;
      std::ifstream in(path, std::ios::binary);
      std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto b = batch::decode(body);
      if (!b) {  // not a batch this agent wrote whole: set aside, never sent
        s->log("warning: spool: " + path + ": " + b.error().str() + " (renamed to .bad)");
        fs::rename(path, path + ".bad", ec);
        continue;
      }
      size_t rank = std::find(boots.begin(), boots.end(), b->boot_id) - boots.begin();
      if (rank == boots.size()) boots.push_back(b->boot_id);
      spooled.push_back({rank, b->seq, Pending{std::move(body), path, b->seq, true}});
    }
    std::stable_sort(spooled.begin(), spooled.end(), [](const Spooled& a, const Spooled& b) {
      return std::tie(a.boot_rank, a.seq) < std::tie(b.boot_rank, b.seq);
    });
    for (Spooled& e : spooled) s->queue_.push_back(std::move(e.pending));
    while (s->queue_.size() > s->options_.max_pending) s->drop_oldest_locked();
    if (!s->queue_.empty())
      s->log("agent: " + std::to_string(s->queue_.size()) + " unacknowledged batches in " + dir +
             " to replay");
  }
  s->stats_.pending = s->queue_.size();
  Sender* raw = s.get();
  s->thread_ = std::thread([raw] { raw->run(); });
  return s;
}

Sender::~Sender() {
  finish(0);
}

void Sender::drop_oldest_locked() {
  // The oldest batch not being sent right now (the front is, while the thread posts it).
  auto victim = queue_.begin();
  if (in_flight_ && queue_.size() >= 2) ++victim;
  Pending& p = *victim;
  if (!p.file.empty()) ::unlink(p.file.c_str());
  ++stats_.dropped;
  log("warning: " + std::to_string(options_.max_pending) +
      " batches unacknowledged: the oldest dropped (" + std::to_string(stats_.dropped) +
      " dropped in all)");
  queue_.erase(victim);
}

Result<void> Sender::submit(const batch::AgentBatch& b) {
  Pending p;
  p.body = batch::gzip(batch::encode_json(b));
  p.seq = b.seq;
  Result<void> written;
  if (!options_.spool.empty()) {
    char name[80];
    std::lock_guard<std::mutex> lock(mu_);
    std::snprintf(name, sizeof name, "/%020lld-%08llu.json.gz",
                  static_cast<long long>(wall_now_ns()),
                  static_cast<unsigned long long>(++spool_counter_ % 100000000));
    p.file = options_.spool + name;
  }
  if (!p.file.empty()) {
    written = write_durably(options_.spool, p.file, p.body);
    if (!written) p.file.clear();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(p));
    // The front may be in flight: drop the oldest after it.
    while (queue_.size() > options_.max_pending) drop_oldest_locked();
    stats_.pending = queue_.size();
  }
  cv_.notify_all();
  return written;
}

void Sender::finish(int64_t wait_ms) {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    deadline_ns_ = steady_ns() + wait_ms * 1000000;
  }
  cv_.notify_all();
  thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (const Pending& p : queue_)
    if (p.file.empty()) ++stats_.dropped;
  stats_.pending = queue_.size();
}

SenderStats Sender::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

long Sender::post(const std::string& body, int64_t& retry_after_ms,
                  std::optional<int64_t>& interval, std::string& error) {
  auto lib = curl_lib();
  if (!lib) {
    error = lib.error().str();
    return 0;
  }
  const CurlLib& cu = **lib;
  CURL* curl = cu.easy_init();
  if (!curl) {
    error = "curl_easy_init failed";
    return 0;
  }
  Answer answer;
  curl_slist* headers = cu.slist_append(nullptr, "Content-Type: application/json");
  headers = cu.slist_append(headers, "Content-Encoding: gzip");
  if (!options_.token_file.empty()) {
    // Read for every request: a projected token is replaced on disk before it expires.
    std::ifstream in(options_.token_file, std::ios::binary);
    std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
      token.pop_back();
    if (token.empty() || token.find_first_of("\r\n") != std::string::npos) {
      cu.slist_free_all(headers);
      cu.easy_cleanup(curl);
      error = options_.token_file + ": no token (empty or unreadable)";
      return 0;
    }
    headers = cu.slist_append(headers, ("Authorization: Bearer " + token).c_str());
  }
  cu.easy_setopt(curl, CURLOPT_URL, url_.c_str());
  if (!options_.ca_file.empty()) cu.easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  cu.easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  cu.easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  cu.easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  cu.easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  cu.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  cu.easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  cu.easy_setopt(curl, CURLOPT_WRITEDATA, static_cast<void*>(&answer));
  cu.easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  cu.easy_setopt(curl, CURLOPT_HEADERDATA, static_cast<void*>(&answer));
  CURLcode rc = cu.easy_perform(curl);
  long status = 0;
  cu.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  cu.slist_free_all(headers);
  cu.easy_cleanup(curl);
  if (rc != CURLE_OK) {
    error = url_ + ": " + cu.easy_strerror(rc);
    return 0;
  }
  retry_after_ms = answer.retry_after_ms.value_or(-1);
  if (status >= 200 && status < 300 && !answer.body.empty()) {
    simdjson::dom::parser parser;
    simdjson::padded_string text(answer.body);
    simdjson::dom::element root;
    int64_t ms = 0;
    if (parser.parse(text).get(root) == simdjson::SUCCESS &&
        root["next_interval_ms"].get_int64().get(ms) == simdjson::SUCCESS && ms > 0)
      interval = ms;
  }
  if (status < 200 || status >= 300) {
    std::string first_line = answer.body.substr(0, std::min<size_t>(answer.body.find('\n'), 200));
    error =
        url_ + ": HTTP " + std::to_string(status) + (first_line.empty() ? "" : ": " + first_line);
  }
  return status;
}

bool Sender::wait_locked(std::unique_lock<std::mutex>& lock, int64_t ms) {
  // Wakes early only to stop; returns false when stopping and the deadline has passed.
  if (options_.sleep) {
    lock.unlock();
    options_.sleep(ms);
    lock.lock();
    return !(stopping_ && steady_ns() >= deadline_ns_);
  }
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    if (stopping_ && steady_ns() >= deadline_ns_) return false;
    auto step = std::chrono::milliseconds(50);
    cv_.wait_for(lock, step);
  }
  return !(stopping_ && steady_ns() >= deadline_ns_);
}

void Sender::run() {
  std::unique_lock<std::mutex> lock(mu_);
  int64_t backoff = options_.backoff_min_ms;
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, all sent
    if (stopping_ && steady_ns() >= deadline_ns_) return;
    in_flight_ = true;  // the front stays while it is posted (drops take the next one)
    std::string body = queue_.front().body;
    uint64_t seq = queue_.front().seq;
    lock.unlock();
    int64_t retry_after = -1;
    std::optional<int64_t> interval;
    std::string error;
    long status = post(body, retry_after, interval, error);
    lock.lock();
    in_flight_ = false;
    if (status >= 200 && status < 300) {
      backoff = options_.backoff_min_ms;
      if (interval) stats_.next_interval_ms = interval;
      if (!queue_.front().file.empty()) ::unlink(queue_.front().file.c_str());
      if (queue_.front().replayed) ++stats_.replayed;
      queue_.pop_front();
      ++stats_.sent;
      stats_.pending = queue_.size();
      continue;
    }
    stats_.last_error = error;
    if (status == 429 || status == 503) {
      ++stats_.backoffs;
      int64_t wait = retry_after >= 0 ? retry_after : backoff;
      backoff = std::min(backoff * 2, options_.backoff_max_ms);
      if (!wait_locked(lock, wait)) return;
      continue;
    }
    if (status >= 400 && status < 500 && status != 408) {
      // The server will never take this batch (malformed, too large, refused): keeping it
      // would stop every later one.
      ++stats_.rejected;
      log("warning: batch " + std::to_string(seq) + " rejected: " + error);
      if (!queue_.front().file.empty()) ::unlink(queue_.front().file.c_str());
      queue_.pop_front();
      stats_.pending = queue_.size();
      continue;
    }
    ++stats_.failed_attempts;
    if (stats_.failed_attempts == 1 || stats_.failed_attempts % 100 == 0)
      log("warning: --server: " + error + " (" + std::to_string(stats_.failed_attempts) +
          " failed attempts; retrying)");
    int64_t wait = backoff;
    backoff = std::min(backoff * 2, options_.backoff_max_ms);
    if (!wait_locked(lock, wait)) return;
  }
}

}  // namespace stockade::agent
