#include "input/hubble_relay.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "observer/observer.grpc.pb.h"

namespace stockade::input {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

struct RelayFollower::Impl {
  RelayOptions options;
  std::function<void(std::string_view)> on_batch;
  mutable std::mutex mutex;
  std::condition_variable cv;
  bool stopping = false;
  RelayCounters counters;
  std::shared_ptr<grpc::ClientContext> context;  // of the stream open now, to cancel it
  std::thread thread;
  google::protobuf::Timestamp last_time;  // the latest flow time received
  bool have_last = false;
  std::set<std::string> uuids_at_last;  // uuids of the flows received with that time

  static bool before(const google::protobuf::Timestamp& a, const google::protobuf::Timestamp& b) {
    return a.seconds() < b.seconds() || (a.seconds() == b.seconds() && a.nanos() < b.nanos());
  }
  static bool equal(const google::protobuf::Timestamp& a, const google::protobuf::Timestamp& b) {
    return a.seconds() == b.seconds() && a.nanos() == b.nanos();
  }

  std::shared_ptr<grpc::ChannelCredentials> credentials() const {
    if (options.ca_file.empty()) return grpc::InsecureChannelCredentials();
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = read_file(options.ca_file);
    if (!options.cert_file.empty()) ssl.pem_cert_chain = read_file(options.cert_file);
    if (!options.key_file.empty()) ssl.pem_private_key = read_file(options.key_file);
    return grpc::SslCredentials(ssl);
  }

  // One stream, until it ends, fails or stop() cancels it; false when it failed.
  // The batch being formed; ended by the stream's reader (size) or the flusher (age), so a
  // quiet stream's last flows do not wait for the next one.
  std::mutex batch_mutex;
  std::string batch;
  size_t in_batch = 0;
  std::chrono::steady_clock::time_point batch_start;
  std::thread flusher;

  void flush_locked() {
    if (batch.empty()) return;
    on_batch(batch);
    batch.clear();
    in_batch = 0;
  }

  void flush_loop() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      cv.wait_for(lock, options.batch_interval / 2, [&] { return stopping; });
      lock.unlock();
      {
        std::lock_guard b(batch_mutex);
        if (in_batch && std::chrono::steady_clock::now() - batch_start >= options.batch_interval)
          flush_locked();
      }
      lock.lock();
    }
  }

  bool follow_once(const std::shared_ptr<grpc::Channel>& channel) {
    auto stub = observer::Observer::NewStub(channel);
    auto ctx = std::make_shared<grpc::ClientContext>();
    {
      std::lock_guard lock(mutex);
      if (stopping) return true;
      context = ctx;
    }
    observer::GetFlowsRequest request;
    request.set_follow(true);
    const bool resumed = have_last;
    const google::protobuf::Timestamp resume_time = last_time;
    const std::set<std::string> resume_uuids = uuids_at_last;
    if (resumed) *request.mutable_since() = resume_time;
    auto reader = stub->GetFlows(ctx.get(), request);

    google::protobuf::util::JsonPrintOptions json;
    json.preserve_proto_field_names = true;  // as `hubble observe -o jsonpb` prints them
    std::string line;
    observer::GetFlowsResponse response;
    bool first = true;
    while (reader->Read(&response)) {
      if (first) {
        std::lock_guard lock(mutex);
        counters.connected = true;
        ++counters.connects;
        first = false;
      }
      if (response.has_lost_events()) {
        std::lock_guard lock(mutex);
        counters.lost_events += response.lost_events().num_events_lost();
        continue;
      }
      if (!response.has_flow()) continue;
      const auto& t = response.flow().time();
      const std::string& uuid = response.flow().uuid();
      // Asked again from the latest time received (since is inclusive) after a reconnection:
      // what came before it was received already, and so were the flows of that very time
      // whose uuid was seen. Within a stream, flows out of time order are kept.
      if (resumed && (before(t, resume_time) ||
                      (equal(t, resume_time) && !uuid.empty() && resume_uuids.count(uuid))))
        continue;
      line.clear();
      if (!google::protobuf::util::MessageToJsonString(response, &line, json).ok()) continue;
      if (!have_last || before(last_time, t)) {
        last_time = t;
        have_last = true;
        uuids_at_last.clear();
      }
      if (equal(t, last_time) && !uuid.empty()) uuids_at_last.insert(uuid);
      {
        std::lock_guard lock(mutex);
        ++counters.flows;
      }
      std::lock_guard b(batch_mutex);
      if (in_batch == 0) batch_start = std::chrono::steady_clock::now();
      batch += line;
      batch += '\n';
      if (++in_batch >= options.batch_records) flush_locked();
    }
    {
      std::lock_guard b(batch_mutex);
      flush_locked();
    }
    grpc::Status status = reader->Finish();
    std::lock_guard lock(mutex);
    counters.connected = false;
    context.reset();
    if (stopping) return true;
    if (!status.ok()) {
      ++counters.failures;
      counters.last_error = status.error_message().empty()
                                ? "gRPC status " + std::to_string(status.error_code())
                                : status.error_message();
      return false;
    }
    return true;
  }

  void run() {
    flusher = std::thread([this] { flush_loop(); });
    auto channel = grpc::CreateChannel(options.address, credentials());
    std::chrono::milliseconds backoff{500};
    for (;;) {
      {
        std::lock_guard lock(mutex);
        if (stopping) return;
      }
      const bool ok = follow_once(channel);
      std::unique_lock lock(mutex);
      if (stopping) return;
      if (ok) backoff = std::chrono::milliseconds(500);
      cv.wait_for(lock, backoff, [&] { return stopping; });
      if (!ok) backoff = std::min(backoff * 2, options.max_backoff);
    }
  }
};

RelayFollower::RelayFollower(RelayOptions options, std::function<void(std::string_view)> on_batch)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->on_batch = std::move(on_batch);
}

RelayFollower::~RelayFollower() {
  stop();
}

void RelayFollower::start() {
  impl_->thread = std::thread([this] { impl_->run(); });
}

void RelayFollower::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
    if (impl_->context) impl_->context->TryCancel();
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->flusher.joinable()) impl_->flusher.join();
}

RelayCounters RelayFollower::counters() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->counters;
}

}  // namespace stockade::input
