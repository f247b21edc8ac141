// `stockade serve --hubble-relay`: a gRPC server speaking Hubble's Observer.GetFlows (built
// here from proto/, the upstream field numbers) streams the demo's real Hubble records; the
// server's map must equal `stockade map` over the same records, also when the stream breaks
// half-way and the follower resumes from the last flow's time (no flow lost or counted twice).
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "observer/observer.grpc.pb.h"
#include "support/run_command.h"
#include "support/serve_process.h"

namespace {

namespace fs = std::filesystem;
const fs::path kSource = STOCKADE_SOURCE_DIR;

std::vector<observer::GetFlowsResponse> demo_responses() {
  gzFile f = gzopen((kSource / "demo/flows/hubble.json.gz").c_str(), "rb");
  std::string text;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  gzclose(f);
  std::vector<observer::GetFlowsResponse> out;
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = true;  // the records carry fields Stockade does not read
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    observer::GetFlowsResponse r;
    auto st = google::protobuf::util::JsonStringToMessage(line, &r, opts);
    EXPECT_TRUE(st.ok()) << st.ToString() << "\n" << line.substr(0, 200);
    out.push_back(std::move(r));
  }
  return out;
}

bool before(const google::protobuf::Timestamp& a, const google::protobuf::Timestamp& b) {
  return a.seconds() < b.seconds() || (a.seconds() == b.seconds() && a.nanos() < b.nanos());
}

// A relay: the first call sends the first `break_after` responses then ends the stream (as a
// relay restarting would); later calls send every response at or after `since`, then follow
// (stay open) until the client goes away.
class FakeRelay final : public observer::Observer::Service {
 public:
  FakeRelay(std::vector<observer::GetFlowsResponse> responses, size_t break_after)
      : responses_(std::move(responses)), break_after_(break_after) {}

  grpc::Status GetFlows(grpc::ServerContext* ctx, const observer::GetFlowsRequest* req,
                        grpc::ServerWriter<observer::GetFlowsResponse>* writer) override {
    const int call = ++calls_;
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(*req);
    }
    // A lost-events notice first, as a relay sends when a node's buffer overflowed.
    observer::GetFlowsResponse lost;
    lost.mutable_lost_events()->set_num_events_lost(3);
    writer->Write(lost);
    size_t sent = 0;
    for (const auto& r : responses_) {
      if (req->has_since() && before(r.flow().time(), req->since())) continue;
      if (call == 1 && sent == break_after_) return grpc::Status::OK;
      if (!writer->Write(r)) return grpc::Status::CANCELLED;
      ++sent;
    }
    while (!ctx->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return grpc::Status::OK;
  }
  std::vector<observer::GetFlowsRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  std::vector<observer::GetFlowsResponse> responses_;
  size_t break_after_;
  std::atomic<int> calls_{0};
  std::mutex mutex_;
  std::vector<observer::GetFlowsRequest> requests_;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

uint64_t metric(const std::string& text, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("\n" + name + " (\\d+)"))) return 0;
  return std::stoull(m[1]);
}

void follow_and_compare(size_t break_after, const std::string& name) {
  const auto responses = demo_responses();
  ASSERT_EQ(responses.size(), 1518u);
  FakeRelay relay(responses, break_after);
  grpc::ServerBuilder builder;
  int relay_port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &relay_port);
  builder.RegisterService(&relay);
  auto server = builder.BuildAndStart();
  ASSERT_TRUE(server);
  ASSERT_GT(relay_port, 0);

  const fs::path dir =
      fs::temp_directory_path() / ("stockade-relay-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    stockade::test::ServeProcess serve(
        {"-f", (kSource / "demo/cluster").string(), "-f", (kSource / "demo/policies").string(),
         "--store", "sqlite:" + (dir / "db").string(), "--listen", "127.0.0.1:0", "--hubble-relay",
         "127.0.0.1:" + std::to_string(relay_port)},
        dir / "log");
    ASSERT_GT(serve.port, 0) << slurp(dir / "log");
    httplib::Client c("127.0.0.1", serve.port);
    c.set_connection_timeout(5, 0);
    std::string metrics;
    for (int i = 0; i < 300; ++i) {  // up to 30 s on a loaded machine
      auto r = c.Get("/metrics");
      if (r) metrics = r->body;
      if (metric(metrics, "stockade_flow_records_total") >= 1518 &&
          metric(metrics, "stockade_hubble_relay_connected") == 1 &&
          metric(metrics, "stockade_detect_counted_total\\{source=\"records\"\\}") > 900)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(metric(metrics, "stockade_flow_records_total"), 1518u) << metrics;
    EXPECT_EQ(metric(metrics, "stockade_hubble_relay_flows_total"), 1518u);
    EXPECT_EQ(metric(metrics, "stockade_hubble_relay_connected"), 1u);
    // The threat detectors counted them too (the demo's connection starts and replies).
    EXPECT_GT(metric(metrics, "stockade_detect_counted_total\\{source=\"records\"\\}"), 900u)
        << metrics;
    EXPECT_GE(metric(metrics, "stockade_hubble_relay_lost_events_total"), 3u);
    const std::string cli =
        stockade::test::run_command(std::string(STOCKADE_BINARY) + " map -f " +
                                    (kSource / "demo/cluster").string() + " -f " +
                                    (kSource / "demo/policies").string() + " --flows " +
                                    (kSource / "demo/flows/hubble.json.gz").string() + " -o json")
            .out;
    auto m = c.Get("/api/v1/map");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->body, cli);
  }
  const auto requests = relay.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_TRUE(requests[0].follow());
  EXPECT_FALSE(requests[0].has_since());
  if (break_after < responses.size()) {
    ASSERT_GE(requests.size(), 2u);
    ASSERT_TRUE(requests[1].has_since());  // resumed from the last flow it had
    EXPECT_EQ(requests[1].since().seconds(), responses[break_after - 1].flow().time().seconds());
  }
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  fs::remove_all(dir);
}

TEST(HubbleRelay, ServeFollowsItAndItsMapEqualsTheCommandLine) {
  follow_and_compare(1u << 30, "whole");
}

TEST(HubbleRelay, AStreamBrokenHalfWayIsResumedWithoutLossOrDoubles) {
  follow_and_compare(700, "broken");
}

}  // namespace
