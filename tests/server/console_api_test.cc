// The console's own endpoints of `stockade serve`, against the server binary: GET
// /api/v1/events (server-sent events, read by a real HTTP client as the stream arrives) and GET
// /api/v1/posture (byte-equal to `stockade scan -o json`).
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/run_command.h"
#include "support/serve_process.h"
#include "support/test_files.h"

namespace fs = std::filesystem;
using stockade::test::ServeProcess;

namespace {

const fs::path kSource = STOCKADE_SOURCE_DIR;

using stockade::test::slurp;

fs::path temp_dir(const std::string& name) {
  return stockade::test::fresh_dir("stockade-console", name);
}

struct SseEvent {
  std::string name;
  nlohmann::json data;
};

// A client of GET /api/v1/events on its own thread, parsing events as the bytes arrive.
class EventReader {
 public:
  EventReader(int port, httplib::Headers headers) {
    thread_ = std::thread([this, port, headers] {
      httplib::Client c("127.0.0.1", port);
      c.set_connection_timeout(5, 0);
      c.set_read_timeout(60, 0);
      auto r = c.Get(
          "/api/v1/events", headers,
          [this](const httplib::Response& res) {
            std::lock_guard lock(mu_);
            status_ = res.status;
            content_type_ = res.get_header_value("Content-Type");
            cv_.notify_all();
            return true;
          },
          [this](const char* data, size_t len) {
            std::lock_guard lock(mu_);
            buffer_.append(data, len);
            for (size_t end; (end = buffer_.find("\n\n")) != std::string::npos;) {
              parse(buffer_.substr(0, end));
              buffer_.erase(0, end + 2);
            }
            cv_.notify_all();
            return !closing_;
          });
      std::lock_guard lock(mu_);
      if (!r && status_ == 0) status_ = -1;
      ended_ = true;
      cv_.notify_all();
    });
  }
  ~EventReader() {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    if (thread_.joinable()) thread_.join();
  }

  // The first event named `name` after the first `skip` events, within `timeout`.
  std::optional<SseEvent> next(const std::string& name, size_t skip,
                               std::chrono::seconds timeout = std::chrono::seconds(30)) {
    std::unique_lock lock(mu_);
    std::optional<SseEvent> found;
    cv_.wait_for(lock, timeout, [&] {
      for (size_t i = skip; i < events_.size(); ++i)
        if (events_[i].name == name) {
          found = events_[i];
          return true;
        }
      return ended_;
    });
    return found;
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return events_.size();
  }
  int status(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return status_ != 0; });
    return status_;
  }
  bool ended(std::chrono::seconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return ended_; });
  }
  std::string content_type() {
    std::lock_guard lock(mu_);
    return content_type_;
  }

 private:
  void parse(const std::string& block) {
    SseEvent e;
    std::string data;
    size_t start = 0;
    while (start < block.size()) {
      size_t end = block.find('\n', start);
      if (end == std::string::npos) end = block.size();
      const std::string line = block.substr(start, end - start);
      start = end + 1;
      if (line.rfind("event: ", 0) == 0) e.name = line.substr(7);
      if (line.rfind("data: ", 0) == 0) data += line.substr(6);
    }
    if (e.name.empty()) return;  // a comment (keep-alive) or the retry line alone
    e.data = nlohmann::json::parse(data, nullptr, false);
    events_.push_back(std::move(e));
  }

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string buffer_, content_type_;
  std::vector<SseEvent> events_;
  int status_ = 0;
  bool ended_ = false, closing_ = false;
};

}  // namespace

// The stream says hello with what the data is now, then says so when records are taken in and
// when a baseline is locked; it needs the token like every /api/ request; streams past half the
// server's threads are refused with a 503 (the console then polls); a SIGTERM ends open streams
// and the server exits 0.
TEST(ConsoleApi, EventsSayWhenTheDataChanges) {
  const fs::path dir = temp_dir("events");
  std::ofstream(dir / "token") << "tok-events\n";
  ServeProcess serve(
      {"-f", (kSource / "demo/cluster").string(), "-f", (kSource / "demo/policies").string(),
       "--store", "sqlite:" + (dir / "db").string(), "--listen", "127.0.0.1:0", "--token-file",
       (dir / "token").string()},
      dir / "log");
  ASSERT_GT(serve.port, 0) << slurp(dir / "log");
  auto c = serve.client();
  EXPECT_EQ(c.Get("/api/v1/events")->status, 401);
  const httplib::Headers auth = {{"Authorization", "Bearer tok-events"}};

  EventReader reader(serve.port, auth);
  ASSERT_EQ(reader.status(), 200);
  EXPECT_EQ(reader.content_type(), "text/event-stream");
  auto hello = reader.next("hello", 0);
  ASSERT_TRUE(hello) << slurp(dir / "log");
  EXPECT_EQ(hello->data["records"], 0);
  EXPECT_GE(hello->data["generation"].get<int>(), 1);

  const std::string flows =
      stockade::test::run_command("zcat " + (kSource / "demo/flows/hubble.json.gz").string()).out;
  auto posted = c.Post("/api/v1/flows", auth, flows, "application/x-ndjson");
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 200) << posted->body;
  const uint64_t accepted = nlohmann::json::parse(posted->body)["accepted"];
  auto change = reader.next("change", 1);
  ASSERT_TRUE(change) << "no change event after POST /api/v1/flows";
  EXPECT_EQ(change->data["records"], accepted);
  EXPECT_GT(change->data["audit_events"].get<uint64_t>(), 0u);  // the demo has denied edges
  EXPECT_EQ(change->data["baselines"]["locked"], 0);

  // A baseline locked: no record changes, the stream still says so.
  const size_t seen = reader.count();
  ASSERT_EQ(c.Post("/api/v1/baselines/data/lock", auth, "", "text/plain")->status, 200);
  auto locked = reader.next("change", seen);
  ASSERT_TRUE(locked) << "no change event after a baseline lock";
  EXPECT_EQ(locked->data["baselines"]["locked"], 1);
  EXPECT_EQ(locked->data["records"], accepted);

  // A simulation changes nothing: no event follows it (a write is told within the 200 ms the
  // server folds changes into one event; two seconds is ample).
  const size_t before_sim = reader.count();
  auto sim = c.Post("/api/v1/simulate", auth,
                    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x, "
                    "namespace: shop}\nspec: {podSelector: {}}\n",
                    "application/yaml");
  ASSERT_TRUE(sim);
  ASSERT_EQ(sim->status, 200) << sim->body;
  EXPECT_FALSE(reader.next("change", before_sim, std::chrono::seconds(2)))
      << "a simulation was told as a change";

  // At most half of the 8 worker threads stream: this one and three more, then a 503.
  std::vector<std::unique_ptr<EventReader>> more;
  for (int i = 0; i < 3; ++i) {
    more.push_back(std::make_unique<EventReader>(serve.port, auth));
    ASSERT_EQ(more.back()->status(), 200);
    ASSERT_TRUE(more.back()->next("hello", 0));
  }
  auto refused = c.Get("/api/v1/events", auth);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_FALSE(refused->get_header_value("Retry-After").empty());
  EXPECT_NE(refused->body.find("If-None-Match"), std::string::npos) << refused->body;
  // The other requests are still answered while four streams are open.
  EXPECT_EQ(c.Get("/api/v1/map", auth)->status, 200);

  // SIGTERM with streams open: they end and the server exits 0.
  const int status = serve.kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << slurp(dir / "log");
  EXPECT_TRUE(reader.ended(std::chrono::seconds(10)));
  fs::remove_all(dir);
}

// GET /api/v1/posture is `stockade scan -o json` byte for byte: on the demo, and on a
// sock-shop-shaped cluster whose policies select nothing (issue 26's policy category); after
// the objects change, the answer follows.
TEST(ConsoleApi, PostureEqualsTheCommandLine) {
  const fs::path dir = temp_dir("posture");
  const fs::path objects = dir / "objects";
  fs::create_directories(objects);
  fs::copy(kSource / "demo/cluster", objects, fs::copy_options::recursive);
  ServeProcess serve({"-f", objects.string(), "--store", "sqlite:" + (dir / "db").string(),
                      "--listen", "127.0.0.1:0"},
                     dir / "log");
  ASSERT_GT(serve.port, 0) << slurp(dir / "log");
  auto c = serve.client();
  auto scan = [&] {
    return stockade::test::run_command(std::string(STOCKADE_BINARY) + " scan -f " +
                                       objects.string() + " -o json --fail-on none 2>/dev/null")
        .out;
  };
  auto r = c.Get("/api/v1/posture");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const std::string cli = scan();
  ASSERT_FALSE(cli.empty());
  EXPECT_EQ(r->body, cli);
  EXPECT_EQ(r->body.find("POLICY_"), std::string::npos);  // the demo's policies work

  // A browser accepts brotli; the server answers gzip (the library's brotli is its slowest
  // setting: a second for the console page).
  const httplib::Headers browser = {{"Accept-Encoding", "gzip, deflate, br, zstd"}};
  for (const char* path : {"/", "/api/v1/posture"}) {
    auto page = c.Get(path, browser);
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    EXPECT_EQ(page->get_header_value("Content-Encoding"), "gzip") << path;
  }
  EXPECT_EQ(c.Get("/", {{"Accept-Encoding", "br"}})->get_header_value("Content-Encoding"), "");

  // The sock-shop fixture's dead selectors: the server's answer follows the new objects.
  fs::copy_file(kSource / "tests/data/policy_lint/sock-shop.yaml", objects / "sock-shop.yaml");
  const std::string want = scan();
  ASSERT_NE(want.find("POLICY_SELECTS_NOTHING"), std::string::npos);
  std::string got;
  for (int i = 0; i < 100 && got != want; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto again = c.Get("/api/v1/posture");
    ASSERT_TRUE(again);
    got = again->body;
  }
  EXPECT_EQ(got, want);
  fs::remove_all(dir);
}

namespace {

// The plain form's edges rebuilt from ?format=columns (times back to RFC 3339 text).
nlohmann::json edges_from_columns(const nlohmann::json& m) {
  const auto& c = m.at("edge_columns");
  const auto& nodes = m.at("nodes");
  auto time = [](int64_t s) -> nlohmann::json {
    if (!s) return nullptr;
    const std::time_t t = s;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf);
  };
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < c.at("src").size(); ++i) {
    out.push_back({{"src", nodes.at(c["src"][i].get<size_t>())["id"]},
                   {"dst", nodes.at(c["dst"][i].get<size_t>())["id"]},
                   {"protocol", c["protocols"].at(c["protocol"][i].get<size_t>())},
                   {"port", c["port"][i]},
                   {"count", c["count"][i]},
                   {"first_seen", time(c["first_seen"][i].get<int64_t>())},
                   {"last_seen", time(c["last_seen"][i].get<int64_t>())},
                   {"outcomes",
                    {{"established", c["established"][i]},
                     {"failed", c["failed"][i]},
                     {"dropped", c["dropped"][i]}}}});
  }
  return out;
}

}  // namespace

// GET /api/v1/map?format=columns (the console's form): the same nodes, summary and edges as the
// plain map, at every granularity and in a time window; an unknown format is a 400.
TEST(ConsoleApi, MapColumnsHoldTheSameMap) {
  const fs::path dir = temp_dir("columns");
  ServeProcess serve(
      {"-f", (kSource / "demo/cluster").string(), "-f", (kSource / "demo/policies").string(),
       "--store", "sqlite:" + (dir / "db").string(), "--listen", "127.0.0.1:0"},
      dir / "log");
  ASSERT_GT(serve.port, 0) << slurp(dir / "log");
  auto c = serve.client();
  const std::string gz = slurp(kSource / "demo/flows/hubble.json.gz");
  auto posted = c.Post("/api/v1/flows", {{"Content-Encoding", "gzip"}}, gz, "application/x-ndjson");
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 200) << posted->body;
  for (const std::string q : {"by=workload", "by=pod", "by=namespace",
                              "by=pod&since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z"}) {
    auto plain = c.Get(("/api/v1/map?" + q).c_str());
    auto cols = c.Get(("/api/v1/map?format=columns&" + q).c_str());
    ASSERT_TRUE(plain && cols);
    ASSERT_EQ(cols->status, 200) << cols->body;
    auto p = nlohmann::json::parse(plain->body);
    auto k = nlohmann::json::parse(cols->body);
    ASSERT_GT(p["edges"].size(), 0u) << q;
    EXPECT_FALSE(k.contains("edges")) << q;
    EXPECT_EQ(k["nodes"], p["nodes"]) << q;
    EXPECT_EQ(k["summary"], p["summary"]) << q;
    EXPECT_EQ(edges_from_columns(k), p["edges"]) << q;
    EXPECT_LT(cols->body.size(), plain->body.size()) << q;
    EXPECT_NE(cols->get_header_value("ETag"), plain->get_header_value("ETag"));
  }
  auto bad = c.Get("/api/v1/map?format=csv");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("format"), std::string::npos) << bad->body;
  fs::remove_all(dir);
}
