#include "input/flow_pipeline.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

#include <algorithm>
#include <climits>
#include <cstring>

namespace stockade::input {

Pipeline::Pipeline(const std::string& name, const FlowReadOptions& options, FlowReadStats& stats,
                   const FlowSink& sink)
    : name_(name), options_(options), stats_(stats), sink_(sink) {
  unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  threads_ = options.threads > 0 ? options.threads : std::min(hw, 8u);
  local_parser_ = std::make_unique<RecordParser>(options.direct, options.strict);
}

Pipeline::~Pipeline() {
  stop_workers();
}

Result<void> Pipeline::run(const std::function<long(char*, size_t)>& read) {
  std::unique_ptr<Chunk> cur = take_chunk();
  for (;;) {
    if (cur->len == cur->capacity()) {
      // Full: pass on the whole lines, keep the last partial one for the next chunk.
      const char* last_nl = static_cast<const char*>(memrchr(cur->text.data(), '\n', cur->len));
      if (!last_nl) {
        if (cur->capacity() >= kMaxFlowLine)
          return make_error(name_, 0, "a line is longer than 64 MiB: not a flow file?");
        cur->text.resize(cur->capacity() * 2 + simdjson::SIMDJSON_PADDING);
        continue;
      }
      std::unique_ptr<Chunk> next = take_chunk();
      size_t whole = static_cast<size_t>(last_nl - cur->text.data()) + 1;
      size_t rest = cur->len - whole;
      if (next->capacity() < rest) next->text.resize(rest + kChunk + simdjson::SIMDJSON_PADDING);
      std::memcpy(next->text.data(), cur->text.data() + whole, rest);
      next->len = rest;
      cur->len = whole;
      if (auto r = submit(std::move(cur), false); !r) return r;
      cur = std::move(next);
    }
    if (stopped()) break;
    long n = read(cur->text.data() + cur->len, cur->capacity() - cur->len);
    if (n < 0 && stopped()) break;
    if (n == -1 && errno == EINTR) continue;               // another signal: read on
    if (n < 0) return make_error(name_, 0, "read error");  // the caller names the cause
    if (n == 0) break;
    cur->len += static_cast<size_t>(n);
  }
  if (stopped()) {  // a last line without newline may be cut off: drop it
    const char* last_nl = static_cast<const char*>(memrchr(cur->text.data(), '\n', cur->len));
    cur->len = last_nl ? static_cast<size_t>(last_nl - cur->text.data()) + 1 : 0;
  }
  if (auto r = submit(std::move(cur), true); !r) return r;
  while (!pending_.empty())
    if (auto r = deliver_front(); !r) return r;
  return {};
}

std::unique_ptr<Chunk> Pipeline::take_chunk() {
  std::unique_ptr<Chunk> c;
  if (!spare_.empty()) {
    c = std::move(spare_.back());
    spare_.pop_back();
  } else {
    c = std::make_unique<Chunk>();
    c->text.resize(kChunk + simdjson::SIMDJSON_PADDING);
  }
  c->len = 0;
  c->ready = false;
  return c;
}

// Parses the chunk here when it is the whole input or there is one thread, else queues it
// for the workers; delivers finished chunks so that no more than a few are in flight.
Result<void> Pipeline::submit(std::unique_ptr<Chunk> c, bool last) {
  if (c->len == 0) {
    spare_.push_back(std::move(c));
    return {};
  }
  if (threads_ <= 1 || (last && workers_.empty() && pending_.empty())) {
    local_parser_->parse(*c, options_.peer_hint);
    c->ready = true;
    pending_.push_back(std::move(c));
    return deliver_front();
  }
  start_workers();
  {
    std::lock_guard lock(mu_);
    queue_.push_back(c.get());
  }
  work_cv_.notify_one();
  pending_.push_back(std::move(c));
  while (pending_.size() > 2 * threads_ + 2)
    if (auto r = deliver_front(); !r) return r;
  return {};
}

// Hands the oldest chunk's records to the sink; until a worker has parsed it, parses the
// queued chunks here (the oldest one itself, when no worker has taken it yet).
Result<void> Pipeline::deliver_front() {
  Chunk& c = *pending_.front();
  for (;;) {
    Chunk* queued = nullptr;
    {
      std::unique_lock lock(mu_);
      if (c.ready) break;
      if (queue_.empty()) {
        done_cv_.wait(lock, [&] { return c.ready; });
        break;
      }
      queued = queue_.front();
      queue_.pop_front();
    }
    local_parser_->parse(*queued, options_.peer_hint);
    std::lock_guard lock(mu_);
    queued->ready = true;
  }
  size_t fi = 0;
  auto deliver = [&](size_t i) {
    if (options_.upcoming && i + kUpcoming < c.flows.size())
      options_.upcoming(c.flows[i + kUpcoming]);
    ++stats_.records;
    sink_(c.flows[i]);
  };
  for (const Chunk::Bad& b : c.bad) {
    for (; fi < b.flows_before; ++fi) deliver(fi);
    ++stats_.malformed;
    uint64_t line = line_base_ + b.line + 1;
    Error e{name_, static_cast<int>(std::min<uint64_t>(line, INT32_MAX)), malformed_message(b.err)};
    if (options_.strict) return tl::unexpected(e);
    if (stats_.problems.size() < options_.max_reported) stats_.problems.push_back(std::move(e));
  }
  for (; fi < c.flows.size(); ++fi) deliver(fi);
  stats_.lines += c.lines;
  stats_.ignored += c.ignored;
  stats_.direct += c.direct;
  line_base_ += c.lines;
  spare_.push_back(std::move(pending_.front()));
  pending_.pop_front();
  return {};
}

void Pipeline::start_workers() {
  if (!workers_.empty()) return;
  // Signals (SIGINT ending a stream) stay with the reading thread; the faults a thread
  // causes itself reach it.
  sigset_t all, old;
  sigfillset(&all);
  for (int fault : {SIGBUS, SIGSEGV, SIGFPE, SIGILL}) sigdelset(&all, fault);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  for (unsigned i = 1; i < threads_; ++i) workers_.emplace_back([this] { work(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void Pipeline::work() {
  RecordParser parser(options_.direct, options_.strict);
  std::unique_lock lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return shutdown_ || !queue_.empty(); });
    if (shutdown_) return;
    Chunk* c = queue_.front();
    queue_.pop_front();
    lock.unlock();
    parser.parse(*c, options_.peer_hint);
    lock.lock();
    c->ready = true;
    done_cv_.notify_all();
  }
}

void Pipeline::stop_workers() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
    queue_.clear();
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

}  // namespace stockade::input
