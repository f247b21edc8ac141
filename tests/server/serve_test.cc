// stockade serve: the flow journal, and the server as a process (the binary users run), checked
// against the CLI: the same objects and records give the same map, also after a kill -9.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <zlib.h>
#include <nlohmann/json.hpp>

#include "agent/event.h"
#include "flow/agent_batch.h"
#include "input/loader.h"
#include "server/flow_journal.h"
#include "server/http.h"
#include "support/run_command.h"
#include "support/serve_process.h"
#include "support/test_files.h"

namespace fs = std::filesystem;
using stockade::server::FlowJournal;
using stockade::test::ServeProcess;

namespace {

using stockade::test::gunzip;
using stockade::test::slurp;

fs::path temp_dir(const std::string& name) {
  return stockade::test::fresh_dir("stockade-serve", name);
}

const fs::path kSource = STOCKADE_SOURCE_DIR;

// A loopback port nothing listens on now: bound to port 0, read back, released.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

std::string cli_map(const std::string& by, const fs::path& flows,
                    const std::vector<fs::path>& objects) {
  std::string cmd = std::string(STOCKADE_BINARY) + " map --by " + by;
  for (const fs::path& p : objects) cmd += " -f " + p.string();
  cmd += " --flows " + flows.string() + " -o json 2>/dev/null";
  return stockade::test::run_command(cmd).out;
}

std::string cli_verify(const std::string& by, const fs::path& flows,
                       const std::vector<fs::path>& objects) {
  std::string cmd = std::string(STOCKADE_BINARY) + " verify --by " + by;
  for (const fs::path& p : objects) cmd += " -f " + p.string();
  cmd += " --flows " + flows.string() + " -o json 2>/dev/null";
  return stockade::test::run_command(cmd).out;
}

}  // namespace

TEST(FlowJournal, ReplaysWhatWasAppendedAndDropsATornLastBatch) {
  const fs::path dir = temp_dir("journal");
  const fs::path path = dir / "j.flows";
  {
    FlowJournal j;
    ASSERT_TRUE(j.open(path.string()));
    ASSERT_TRUE(j.append("{\"a\":1}\n"));
    ASSERT_TRUE(j.append("{\"b\":2}\n{\"c\":3}\n"));
    EXPECT_EQ(j.batches(), 2u);
  }
  const auto complete = fs::file_size(path);
  {
    // A crash in the middle of a write: the header of a third batch and part of its body.
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out.write("STKB\x40\x00\x00\x00\x01\x02\x03\x04{\"d\"", 16);
  }
  FlowJournal j;
  ASSERT_TRUE(j.open(path.string()));
  EXPECT_EQ(j.batches(), 2u);
  EXPECT_EQ(j.torn_bytes(), 16u);
  EXPECT_EQ(fs::file_size(path), complete);
  std::vector<std::string> bodies;
  ASSERT_TRUE(j.replay([&](std::string_view b) { bodies.emplace_back(b); }));
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_EQ(bodies[0], "{\"a\":1}\n");
  EXPECT_EQ(bodies[1], "{\"b\":2}\n{\"c\":3}\n");
  // Appending goes on after the last complete batch.
  ASSERT_TRUE(j.append("{\"e\":5}\n"));
  FlowJournal again;
  ASSERT_TRUE(again.open(path.string()));
  EXPECT_EQ(again.batches(), 3u);
  fs::remove_all(dir);
}

// A batch whose request is refused after it was journaled (the store refused it) is taken out
// again: a restart must not replay what was never acknowledged.
TEST(FlowJournal, DropLastTakesTheLastBatchOutDurably) {
  const fs::path dir = temp_dir("journal-drop");
  const fs::path path = dir / "j.flows";
  {
    FlowJournal j;
    ASSERT_TRUE(j.open(path.string()));
    EXPECT_FALSE(j.drop_last());  // nothing appended yet
    ASSERT_TRUE(j.append("{\"a\":1}\n"));
    ASSERT_TRUE(j.append("{\"b\":2}\n"));
    ASSERT_TRUE(j.drop_last());
    EXPECT_EQ(j.batches(), 1u);
    ASSERT_TRUE(j.append("{\"c\":3}\n"));
  }
  FlowJournal j;
  ASSERT_TRUE(j.open(path.string()));
  std::vector<std::string> seen;
  ASSERT_TRUE(j.replay([&](std::string_view b) { seen.emplace_back(b); }));
  EXPECT_EQ(seen, (std::vector<std::string>{"{\"a\":1}\n", "{\"c\":3}\n"}));
  EXPECT_EQ(j.torn_bytes(), 0u);
  fs::remove_all(dir);
}

TEST(FlowJournal, ADamagedBatchEndsTheJournal) {
  const fs::path dir = temp_dir("journal-crc");
  const fs::path path = dir / "j.flows";
  {
    FlowJournal j;
    ASSERT_TRUE(j.open(path.string()));
    ASSERT_TRUE(j.append("first\n"));
    ASSERT_TRUE(j.append("second\n"));
  }
  {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(12 + 6 + 12 + 2));  // inside the second body
    f.put('X');
  }
  FlowJournal j;
  ASSERT_TRUE(j.open(path.string()));
  EXPECT_EQ(j.batches(), 1u);
  EXPECT_GT(j.torn_bytes(), 0u);
  fs::remove_all(dir);
}

TEST(FlowJournal, AnUnwritablePathIsAOneLineError) {
  FlowJournal j;
  auto r = j.open("/proc/stockade-no-such-dir/j.flows");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().str().find("/proc/stockade-no-such-dir/j.flows"), std::string::npos);
}

TEST(ServeAuth, TokensCompareWhole) {
  using stockade::server::token_matches;
  EXPECT_TRUE(token_matches("s3cret", "s3cret"));
  EXPECT_FALSE(token_matches("s3cre", "s3cret"));
  EXPECT_FALSE(token_matches("s3cretX", "s3cret"));
  EXPECT_FALSE(token_matches("", "s3cret"));
  EXPECT_FALSE(token_matches("", ""));  // no token configured is not "any token matches"
}

TEST(Serve, MapEqualsTheCommandLineAndSurvivesAKill9) {
  const fs::path dir = temp_dir("map");
  const fs::path flows = kSource / "demo/flows/hubble.json.gz";
  const std::vector<fs::path> objects = {kSource / "demo/cluster", kSource / "demo/policies"};
  const std::vector<std::string> args = {"-f",       objects[0].string(),
                                         "-f",       objects[1].string(),
                                         "--store",  "sqlite:" + (dir / "db").string(),
                                         "--listen", "127.0.0.1:0"};
  const std::string records = gunzip(flows);
  ASSERT_GT(records.size(), 1000u);
  {
    ServeProcess serve(args, dir / "log");
    ASSERT_GT(serve.port, 0) << slurp(dir / "log");
    auto c = serve.client();
    auto ready = c.Get("/readyz");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 200);
    // In two batches, the second gzip-compressed, as a shipper would send them.
    const size_t half = records.find('\n', records.size() / 2) + 1;
    auto r1 = c.Post("/api/v1/flows", records.substr(0, half), "application/x-ndjson");
    ASSERT_TRUE(r1);
    ASSERT_EQ(r1->status, 200) << r1->body;
    std::string gz;
    {
      const fs::path second = dir / "second.ndjson";
      std::ofstream(second, std::ios::binary) << records.substr(half);
      gz = stockade::test::run_command("gzip -c " + second.string()).out;
    }
    httplib::Headers h = {{"Content-Encoding", "gzip"}};
    auto r2 = c.Post("/api/v1/flows", h, gz, "application/x-ndjson");
    ASSERT_TRUE(r2);
    ASSERT_EQ(r2->status, 200) << r2->body;
    const auto count = [](const std::string& body, const char* key) {
      std::smatch m;
      std::regex_search(body, m, std::regex(std::string("\"") + key + R"(":(\d+))"));
      return std::stoull(m[1]);
    };
    EXPECT_EQ(count(r1->body, "accepted") + count(r2->body, "accepted"), 1518u);
    for (const std::string by : {"workload", "pod", "namespace"}) {
      auto m = c.Get(("/api/v1/map?by=" + by).c_str());
      ASSERT_TRUE(m);
      ASSERT_EQ(m->status, 200);
      EXPECT_EQ(m->body, cli_map(by, flows, objects)) << by;
      // verify: the same object `stockade verify -o json` prints, row for row.
      auto v = c.Get(("/api/v1/verify?by=" + by).c_str());
      ASSERT_TRUE(v);
      ASSERT_EQ(v->status, 200) << v->body;
      EXPECT_EQ(nlohmann::json::parse(v->body),
                nlohmann::json::parse(cli_verify(by, flows, objects)))
          << by;
    }
    // Answered means durable: killed without a chance to flush anything.
    serve.kill(SIGKILL);
  }
  ServeProcess again(args, dir / "log2");
  ASSERT_GT(again.port, 0) << slurp(dir / "log2");
  auto c = again.client();
  auto m = c.Get("/api/v1/map?by=workload");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->body, cli_map("workload", flows, objects));
  auto v = c.Get("/api/v1/verify");  // by workload, as the command's default
  ASSERT_TRUE(v);
  EXPECT_EQ(nlohmann::json::parse(v->body),
            nlohmann::json::parse(cli_verify("workload", flows, objects)));
  EXPECT_EQ(c.Get("/api/v1/verify?by=node")->status, 400);
  // A time window: the demo's records span a few seconds; none are after their end.
  auto later = c.Get("/api/v1/map?since=2100-01-01T00:00:00Z");
  ASSERT_TRUE(later);
  EXPECT_NE(later->body.find("\"edges\":[]"), std::string::npos) << later->body.substr(0, 300);
  // SIGTERM: graceful, exit 0.
  const int status = again.kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  fs::remove_all(dir);
}

// The live audit through the server: denied edges as audit events (paged), baselines locked
// and unlocked over HTTP (404 and 409 for what is not a transition), kept across a kill -9,
// and a locked namespace reporting the edges new to it.
TEST(Serve, AuditAndBaselinesOverHttpSurviveAKill9) {
  const fs::path dir = temp_dir("audit");
  const std::string records = gunzip(kSource / "demo/flows/hubble.json.gz");
  const size_t half = records.find('\n', records.size() / 2) + 1;
  const std::vector<std::string> args = {"-f",       (kSource / "demo/cluster").string(),
                                         "-f",       (kSource / "demo/policies").string(),
                                         "--store",  "sqlite:" + (dir / "db").string(),
                                         "--listen", "127.0.0.1:0"};
  auto json = [](const httplib::Result& r) {
    EXPECT_TRUE(r);
    return r ? nlohmann::json::parse(r->body, nullptr, false) : nlohmann::json();
  };
  uint64_t denied_events = 0;
  {
    ServeProcess serve(args, dir / "log");
    ASSERT_GT(serve.port, 0) << slurp(dir / "log");
    auto c = serve.client();
    auto r = c.Post("/api/v1/flows", records.substr(0, half), "application/x-ndjson");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    // Paged by 5: every page but the last names the next; together, every event once.
    std::set<int64_t> ids;
    std::string next;
    for (int pages = 0; pages < 100; ++pages) {
      auto page =
          json(c.Get(("/api/v1/audit?limit=5" + (next.empty() ? "" : "&after=" + next)).c_str()));
      for (const auto& e : page["events"]) {
        EXPECT_EQ(e["kind"], "denied");
        EXPECT_TRUE(ids.insert(e["id"].get<int64_t>()).second);
      }
      if (!page.contains("next")) break;
      next = page["next"].get<std::string>();
    }
    denied_events = ids.size();
    EXPECT_GT(denied_events, 5u);
    auto bad = c.Get("/api/v1/audit?limit=0");
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400);
    EXPECT_EQ(c.Get("/api/v1/audit?after=x")->status, 400);

    auto baselines = json(c.Get("/api/v1/baselines"));
    std::set<std::string> spaces;
    for (const auto& b : baselines["baselines"]) {
      spaces.insert(b["namespace"].get<std::string>());
      EXPECT_EQ(b["state"], "learning");
    }
    EXPECT_TRUE(spaces.count("data")) << baselines.dump();
    auto locked = c.Post("/api/v1/baselines/data/lock", "", "application/json");
    ASSERT_TRUE(locked);
    EXPECT_EQ(locked->status, 200) << locked->body;
    EXPECT_EQ(json(locked)["state"], "locked");
    EXPECT_EQ(c.Post("/api/v1/baselines/data/lock", "", "application/json")->status, 409);
    EXPECT_EQ(c.Post("/api/v1/baselines/nowhere/lock", "", "application/json")->status, 404);
    serve.kill(SIGKILL);
  }
  ServeProcess again(args, dir / "log2");
  ASSERT_GT(again.port, 0) << slurp(dir / "log2");
  auto c = again.client();
  const nlohmann::json after_restart = json(c.Get("/api/v1/baselines"));
  for (const auto& b : after_restart["baselines"]) {
    if (b["namespace"] == "data") {
      EXPECT_EQ(b["state"], "locked");
    }
  }
  auto r = c.Post("/api/v1/flows", records.substr(half), "application/x-ndjson");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  uint64_t outside = 0;
  auto events = c.Get("/api/v1/audit?limit=10000");
  ASSERT_TRUE(events);
  ASSERT_EQ(events->status, 200) << events->body;
  const nlohmann::json listed = json(events);  // named: a temporary's member dangles in a for
  for (const auto& e : listed["events"]) {
    if (e["kind"] != "outside-baseline") continue;
    ++outside;
    EXPECT_EQ(e["detail"]["namespace"], "data");
    EXPECT_TRUE(e["src"].get<std::string>().rfind("data/", 0) == 0 ||
                e["dst"].get<std::string>().rfind("data/", 0) == 0)
        << e.dump();
  }
  EXPECT_GT(outside, 0u);
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("stockade_audit_events_total{kind=\"outside-baseline\"} " +
                               std::to_string(outside)),
            std::string::npos)
      << metrics->body;
  auto unlocked = c.Post("/api/v1/baselines/data/unlock", "", "application/json");
  ASSERT_TRUE(unlocked);
  EXPECT_EQ(json(unlocked)["state"], "learning");
  fs::remove_all(dir);
}

// The OpenAPI document parses, and each of its operations is one the server has (not a 404);
// the 501 routes of the contract not built yet are not in it.
TEST(Serve, OpenApiDocumentListsWhatTheServerAnswers) {
  const fs::path dir = temp_dir("openapi");
  ServeProcess serve({"-f", (kSource / "demo/cluster").string(), "--store",
                      "sqlite:" + (dir / "db").string(), "--listen", "127.0.0.1:0"},
                     dir / "log");
  ASSERT_GT(serve.port, 0) << slurp(dir / "log");
  auto c = serve.client();
  // Traffic first, so that namespace data has a baseline to lock and unlock.
  auto posted = c.Post("/api/v1/flows", gunzip(kSource / "demo/flows/hubble.json.gz"),
                       "application/x-ndjson");
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 200) << posted->body;
  auto r = c.Get("/api/v1/openapi.json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  const auto doc = nlohmann::json::parse(r->body, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << r->body;
  EXPECT_EQ(doc["openapi"], "3.0.3");
  // A body each POST takes: a batch for the agents' endpoint, a (skipped) line elsewhere.
  auto post_body = [](const std::string& path) -> std::string {
    if (path == "/admission/validate")
      return std::string(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",)") +
             R"("request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE"}})";
    if (path == "/api/v1/simulate")
      return std::string(R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",)") +
             R"("metadata":{"name":"x","namespace":"shop"},"spec":{"podSelector":{}}})";
    if (path.rfind("/api/v1/shadow/", 0) == 0)
      return std::string(R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",)") +
             R"("metadata":{"name":"x","namespace":"shop"},"spec":{"podSelector":{}}})";
    if (path != "/api/v1/agent/batches") return "{}\n";
    stockade::batch::AgentBatch b;
    b.node = "n";
    b.boot_id = "b";
    b.seq = 1;
    return stockade::batch::encode_json(b);
  };
  size_t operations = 0;
  for (const auto& [path, ops] : doc["paths"].items()) {
    const std::string concrete = std::regex_replace(path, std::regex(R"(\{[^}]+\})"), "data");
    for (const auto& [method, op] : ops.items()) {
      ++operations;
      // An event stream does not end: its status and first event are the answer.
      // (A pointer: not every operation has a 200 with content, and a const operator[] on a
      // missing key is undefined.)
      if (op.contains(nlohmann::json::json_pointer("/responses/200/content/text~1event-stream"))) {
        int status = 0;
        c.Get(
            concrete.c_str(),
            [&](const httplib::Response& r) {
              status = r.status;
              return true;
            },
            [](const char*, size_t) { return false; });
        EXPECT_EQ(status, 200) << path;
        continue;
      }
      // A staged set to read, drop or promote (operations run in any order).
      if (path.rfind("/api/v1/shadow/", 0) == 0) {
        ASSERT_LT(c.Post("/api/v1/shadow/data", post_body(path), "application/yaml")->status, 400);
      }
      httplib::Result res = method == "get" ? c.Get(concrete.c_str())
                            : method == "delete"
                                ? c.Delete(concrete.c_str())
                                : c.Post(concrete.c_str(), post_body(path), "application/json");
      ASSERT_TRUE(res) << method << " " << path;
      if (path == "/api/v1/apply" || path == "/api/v1/shadow/{name}/promote") {
        // Objects from files: no cluster to apply to.
        EXPECT_EQ(res->status, 409) << res->body;
        EXPECT_NE(res->body.find("nothing to apply to"), std::string::npos) << res->body;
        continue;
      }
      EXPECT_LT(res->status, 400) << method << " " << path << ": " << res->body;
      EXPECT_TRUE(op.contains("responses")) << path;
    }
  }
  EXPECT_GE(operations, 11u);
  fs::remove_all(dir);
}

// Node agents: the real `stockade agent --events` binary aggregates events between the demo's
// pods and posts its batches; the server's map edges equal `stockade map` over the same raw
// events, a batch sent again is acknowledged and not counted twice (also after a kill -9), a
// malformed batch is a 400 naming the field, and denied edges of batches are audited.
TEST(Serve, AgentBatchesAreTakenInOnceAndMapLikeTheCommandLine) {
  const fs::path dir = temp_dir("agent-batches");
  const std::vector<fs::path> objects = {kSource / "demo/cluster", kSource / "demo/policies"};
  // Events between the demo's pods, by address, as the node agent reports them.
  stockade::ClusterLoader loader;
  for (const fs::path& p : objects) ASSERT_TRUE(loader.add_path(p.string()));
  const stockade::ClusterState cluster = std::move(loader).finish();
  std::vector<stockade::IpAddr> ips;
  for (const auto& pod : cluster.pods)
    if (!pod.spec.host_network && !pod.ips.empty()) ips.push_back(pod.ips.front());
  ASSERT_GE(ips.size(), 6u);
  const int64_t t0 = 1'790'000'000LL * 1'000'000'000LL;
  const uint16_t ports[] = {5432, 8080, 6379, 53};
  const char* outcomes[] = {"established", "established", "refused", "timeout"};
  std::string events;
  for (int i = 0; i < 400; ++i) {
    stockade::agent::AgentEvent e;
    e.time_ns = t0 + int64_t{i} * 1'000'000;
    e.src = ips[static_cast<size_t>(i) % ips.size()];
    e.dst = ips[static_cast<size_t>(i * 7 + 3) % ips.size()];
    e.src_port = static_cast<uint16_t>(40000 + i);
    e.dst_port = ports[i % 4];
    e.outcome = outcomes[(i / 4) % 4];
    e.comm = i % 2 ? "curl" : "psql";
    e.pid = 7;
    events += stockade::agent::format_event_json(e, "node-1") + "\n";
  }
  std::ofstream(dir / "events.ndjson") << events;
  auto edges_of = [](const std::string& map) {
    auto j = nlohmann::json::parse(map, nullptr, false);
    return j.is_discarded() ? nlohmann::json() : j["edges"];
  };
  const nlohmann::json expected = edges_of(cli_map("workload", dir / "events.ndjson", objects));
  ASSERT_FALSE(expected.empty());

  const std::vector<std::string> args = {"-f",       objects[0].string(),
                                         "-f",       objects[1].string(),
                                         "--store",  "sqlite:" + (dir / "db").string(),
                                         "--listen", "127.0.0.1:0"};
  // A batch of our own, to send twice.
  stockade::batch::AgentBatch b;
  b.node = "node-9";
  b.boot_id = "00112233445566778899aabbccddeeff";
  b.seq = 1;
  b.window_start = t0;
  b.window_end = t0 + 10'000'000'000LL;
  stockade::batch::Edge edge;
  edge.src.ip = ips[0];
  edge.dst.ip = ips[1];
  edge.protocol = stockade::L4Protocol::TCP;
  edge.port = 9999;
  edge.stats.count = edge.stats.established = 3;
  edge.stats.first_seen = t0;
  edge.stats.last_seen = t0 + 1;
  b.edges.push_back(edge);
  const std::string mine = stockade::batch::gzip(stockade::batch::encode_json(b));
  {
    ServeProcess serve(args, dir / "log");
    ASSERT_GT(serve.port, 0) << slurp(dir / "log");
    const std::string url = "http://127.0.0.1:" + std::to_string(serve.port);
    auto agent = stockade::test::run_command(std::string(STOCKADE_BINARY) + " agent --events " +
                                             (dir / "events.ndjson").string() +
                                             " --output '' --node node-1 -q --server " + url);
    ASSERT_EQ(agent.status, 0) << agent.out;
    auto c = serve.client();
    EXPECT_EQ(edges_of(c.Get("/api/v1/map")->body), expected);
    auto audit = nlohmann::json::parse(c.Get("/api/v1/audit?limit=10000")->body);
    EXPECT_FALSE(audit["events"].empty());  // the demo's policies deny some of these pairs

    httplib::Headers gz = {{"Content-Encoding", "gzip"}};
    auto first = c.Post("/api/v1/agent/batches", mine, "application/json");
    ASSERT_TRUE(first);
    ASSERT_EQ(first->status, 200) << first->body;
    EXPECT_EQ(nlohmann::json::parse(first->body)["stored"], true);
    EXPECT_EQ(nlohmann::json::parse(first->body)["next_interval_ms"], 10000);
    auto again = c.Post("/api/v1/agent/batches", mine, "application/json");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 200);
    EXPECT_EQ(nlohmann::json::parse(again->body)["stored"], false);
    auto bad = c.Post("/api/v1/agent/batches",
                      R"({"version":1,"node":"n","boot_id":"b",)"
                      R"("seq":0,"edges":[]})",
                      "application/json");
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400);
    EXPECT_NE(bad->body.find("seq"), std::string::npos) << bad->body;
    serve.kill(SIGKILL);
  }
  // With a token on the server, the agent sends its own (--server-token-file, read for every
  // request); without one its batches are refused.
  {
    std::ofstream(dir / "token") << "tok-agents\n";
    ServeProcess guarded(
        {"-f", objects[0].string(), "--store", "sqlite:" + (dir / "db-guarded").string(),
         "--listen", "127.0.0.1:0", "--token-file", (dir / "token").string()},
        dir / "log-guarded");
    ASSERT_GT(guarded.port, 0) << slurp(dir / "log-guarded");
    const std::string url = "http://127.0.0.1:" + std::to_string(guarded.port);
    const std::string agent = std::string(STOCKADE_BINARY) + " agent --events " +
                              (dir / "events.ndjson").string() + " --output '' --node node-1 -q " +
                              "--server " + url;
    auto with =
        stockade::test::run_command(agent + " --server-token-file " + (dir / "token").string());
    EXPECT_EQ(with.status, 0) << with.out;
    auto gc = guarded.client();
    const std::string m = gc.Get("/metrics")->body;
    EXPECT_EQ(m.find("stockade_agent_batches_total 0"), std::string::npos) << m;
    const std::string before = m.substr(m.find("stockade_agent_batches_total"), 40);
    (void)stockade::test::run_command(agent);  // no token: refused (401), nothing taken in
    const std::string m2 = gc.Get("/metrics")->body;
    EXPECT_EQ(m2.substr(m2.find("stockade_agent_batches_total"), 40), before);
  }
  ServeProcess again(args, dir / "log2");
  ASSERT_GT(again.port, 0) << slurp(dir / "log2");
  auto c = again.client();
  auto replay = c.Post("/api/v1/agent/batches", mine, "application/json");
  ASSERT_TRUE(replay);
  EXPECT_EQ(nlohmann::json::parse(replay->body)["stored"], false);
  // After the restart the journaled batches give the same edges, plus our own once.
  auto after = edges_of(c.Get("/api/v1/map?by=pod")->body);
  size_t ours = 0;
  for (const auto& e : after)
    if (e["port"] == 9999) {
      ++ours;
      EXPECT_EQ(e["count"], 3);
    }
  EXPECT_EQ(ours, 1u);
  const std::string metrics = c.Get("/metrics")->body;
  EXPECT_NE(metrics.find("stockade_agent_batch_replays_total 1"), std::string::npos) << metrics;
  fs::remove_all(dir);
}

// GET /api/v1/recommendations: 409 before any traffic, then byte for byte what
// `stockade recommend -o json` prints for the same objects and records; ?namespace= keeps
// that namespace's policies.
TEST(Serve, RecommendationsEqualTheCommandLine) {
  const fs::path dir = temp_dir("recommendations");
  const fs::path flows = kSource / "demo/flows/hubble.json.gz";
  const std::vector<fs::path> objects = {kSource / "demo/cluster", kSource / "demo/policies"};
  ServeProcess serve({"-f", objects[0].string(), "-f", objects[1].string(), "--store",
                      "sqlite:" + (dir / "db").string(), "--listen", "127.0.0.1:0"},
                     dir / "log");
  ASSERT_GT(serve.port, 0) << slurp(dir / "log");
  auto c = serve.client();
  EXPECT_EQ(c.Get("/api/v1/recommendations")->status, 409);
  auto posted = c.Post("/api/v1/flows", gunzip(flows), "application/x-ndjson");
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 200);
  auto r = c.Get("/api/v1/recommendations");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const std::string cli =
      stockade::test::run_command(std::string(STOCKADE_BINARY) + " recommend -f " +
                                  objects[0].string() + " -f " + objects[1].string() + " --flows " +
                                  flows.string() + " -o json 2>/dev/null")
          .out;
  ASSERT_FALSE(cli.empty());
  EXPECT_EQ(r->body, cli);
  auto one = nlohmann::json::parse(c.Get("/api/v1/recommendations?namespace=shop")->body);
  ASSERT_FALSE(one["items"].empty());
  for (const auto& item : one["items"]) EXPECT_EQ(item["metadata"]["namespace"], "shop");
  fs::remove_all(dir);
}

// POST /api/v1/simulate: byte for byte what `stockade diff --flows -o json` prints from the
// policies in force to those plus the body's (the scrape policy replaced by one on another port,
// a new policy added); bad bodies are a one-line 400 naming the line or the object, an
// oversized one a 413, and nothing of a simulation stays in force.
TEST(Serve, SimulateEqualsTheCommandLineDiff) {
  const fs::path dir = temp_dir("simulate");
  const fs::path flows = kSource / "demo/flows/hubble.json.gz";
  const fs::path cluster = kSource / "demo/cluster", policies = kSource / "demo/policies";
  const std::string body = R"(# the scrape moves to a port nobody serves
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-prometheus-scrape
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: monitoring
    ports:
    - {protocol: TCP, port: 9999}
---
{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"isolate",
 "namespace":"monitoring"},"spec":{"podSelector":{},"policyTypes":["Egress"]}}
)";
  std::ofstream(dir / "body.yaml") << body;
  ServeProcess serve(
      {"-f", cluster.string(), "-f", policies.string(), "--store",
       "sqlite:" + (dir / "db").string(), "--listen", "127.0.0.1:0", "--max-body", "2"},
      dir / "log");
  ASSERT_GT(serve.port, 0) << slurp(dir / "log");
  auto c = serve.client();
  ASSERT_EQ(c.Post("/api/v1/flows", gunzip(flows), "application/x-ndjson")->status, 200);
  const std::string map_before = c.Get("/api/v1/map")->body;
  for (const std::string by : {"workload", "pod", "namespace"}) {
    auto r = c.Post(("/api/v1/simulate?by=" + by).c_str(), body, "application/yaml");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    // The command line reads --after's files in order and keeps the last version of an object.
    auto cli = stockade::test::run_command(std::string(STOCKADE_BINARY) + " diff -f " +
                                           cluster.string() + " --before " + policies.string() +
                                           " --after " + policies.string() + " --after " +
                                           (dir / "body.yaml").string() + " --flows " +
                                           flows.string() + " --by " + by + " -o json 2>/dev/null");
    EXPECT_EQ(WEXITSTATUS(cli.status), 1) << "an observed flow breaks";
    EXPECT_EQ(nlohmann::json::parse(r->body), nlohmann::json::parse(cli.out)) << by;
    auto j = nlohmann::json::parse(r->body);
    EXPECT_GT(j["flows"]["summary"]["broken"].get<int>(), 0) << r->body;
  }
  // The policies in force are unchanged: the map is the same, a second simulation too.
  EXPECT_EQ(c.Get("/api/v1/map")->body, map_before);
  auto again = c.Post("/api/v1/simulate", body, "application/yaml");
  EXPECT_EQ(again->body, c.Post("/api/v1/simulate", body, "application/yaml")->body);
  // Bad bodies: one line, naming where.
  auto bad = [&](const std::string& b, int status, const std::string& needle) {
    auto r = c.Post("/api/v1/simulate", b, "application/yaml");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << b << " -> " << r->body;
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r->body;
    const std::string msg = j.value("error", "");
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  };
  bad("", 400, "empty body");
  bad("apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: shop}\nspec: {}\n", 400,
      "Pod shop/x");
  bad("kind: NetworkPolicy\nmetadata:\n  name: [unclosed\n", 400, "request body:");
  bad("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", 400, "ConfigMap");
  bad(std::string(3u << 20, '#'), 413, "larger than");
  EXPECT_EQ(c.Get("/api/v1/map")->body, map_before);
  fs::remove_all(dir);
}

// The validating webhook (AdmissionReview v1): deleting the policy that lets Prometheus scrape
// the shop is refused in enforce mode, naming the observed edges it would deny, and allowed with
// warnings in warn mode; a policy that selects nothing (with the lint's warning), and other
// kinds, are allowed.
TEST(Serve, AdmissionWebhookJudgesPolicyChangesByObservedTraffic) {
  const fs::path dir = temp_dir("admission");
  const std::string records = gunzip(kSource / "demo/flows/hubble.json.gz");
  auto review = [](const std::string& op, const std::string& kind, const std::string& ns,
                   const std::string& name, const std::string& object,
                   const std::string& group = "networking.k8s.io") {
    std::string r = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{)"
                    R"("uid":"u-)" +
                    name + R"(","kind":{"group":")" + group + R"(","version":"v1","kind":")" +
                    kind + R"("},"operation":")" + op + R"(","namespace":")" + ns +
                    R"(","name":")" + name + "\"";
    if (!object.empty()) r += ",\"object\":" + object;
    return r + "}}";
  };
  const std::string remove_scrape =
      review("DELETE", "NetworkPolicy", "shop", "allow-prometheus-scrape", "");
  const std::string harmless = review(
      "CREATE", "NetworkPolicy", "data", "nothing",
      R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"nothing",)"
      R"("namespace":"data"},"spec":{"podSelector":{"matchLabels":{"app":"none"}},)"
      R"("policyTypes":["Ingress"]}})");
  const std::string pod = review("DELETE", "Pod", "shop", "x", "", "");
  // Cilium's kinds too: a deny of the monitoring namespace's ingress into the shop.
  const std::string cilium_deny = review(
      "CREATE", "CiliumNetworkPolicy", "shop", "deny-monitoring",
      R"({"apiVersion":"cilium.io/v2","kind":"CiliumNetworkPolicy","metadata":{"name":)"
      R"("deny-monitoring","namespace":"shop"},"spec":{"endpointSelector":{},"ingressDeny":)"
      R"([{"fromEndpoints":[{"matchLabels":{"k8s:io.kubernetes.pod.namespace":"monitoring"}}]}]}})",
      "cilium.io");
  for (const std::string mode : {"enforce", "warn"}) {
    ServeProcess serve(
        {"-f", (kSource / "demo/cluster").string(), "-f", (kSource / "demo/policies").string(),
         "--store", "sqlite:" + (dir / (mode + ".db")).string(), "--listen", "127.0.0.1:0",
         "--admission", mode},
        dir / ("log-" + mode));
    ASSERT_GT(serve.port, 0) << slurp(dir / ("log-" + mode));
    auto c = serve.client();
    ASSERT_EQ(c.Post("/api/v1/flows", records, "application/x-ndjson")->status, 200);
    auto r = c.Post("/admission/validate", remove_scrape, "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    auto j = nlohmann::json::parse(r->body);
    EXPECT_EQ(j["kind"], "AdmissionReview");
    EXPECT_EQ(j["response"]["uid"], "u-allow-prometheus-scrape");
    const std::string edge =
        "monitoring/prometheus-6d4b9c8f7f-c4j9m -> shop/cart-5c6b9f7d48-m5r7t TCP/9102";
    if (mode == "enforce") {
      EXPECT_EQ(j["response"]["allowed"], false) << r->body;
      const std::string msg = j["response"]["status"]["message"];
      EXPECT_NE(msg.find(edge), std::string::npos) << msg;
      EXPECT_NE(msg.find("would deny 7 observed connection(s)"), std::string::npos) << msg;
    } else {
      EXPECT_EQ(j["response"]["allowed"], true) << r->body;
      ASSERT_EQ(j["response"]["warnings"].size(), 1u) << r->body;
      EXPECT_NE(j["response"]["warnings"][0].get<std::string>().find(edge), std::string::npos);
    }
    if (mode == "enforce") {
      auto cj = nlohmann::json::parse(
          c.Post("/admission/validate", cilium_deny, "application/json")->body);
      EXPECT_EQ(cj["response"]["allowed"], false) << cj.dump();
      EXPECT_NE(cj.dump().find(edge), std::string::npos) << cj.dump();
    }
    for (const std::string* ok : {&harmless, &pod}) {
      auto a = nlohmann::json::parse(c.Post("/admission/validate", *ok, "application/json")->body);
      EXPECT_EQ(a["response"]["allowed"], true) << a.dump();
      // The policy that selects nothing denies nothing, but the lint says so.
      if (ok == &pod)
        EXPECT_FALSE(a["response"].contains("warnings")) << a.dump();
      else
        EXPECT_NE(a.dump().find("POLICY_SELECTS_NOTHING"), std::string::npos) << a.dump();
    }
    EXPECT_EQ(c.Post("/admission/validate", "not json", "application/json")->status, 400);
  }
  fs::remove_all(dir);
}

TEST(Serve, RefusesWhatItShouldWithAOneLineReason) {
  const fs::path dir = temp_dir("refuse");
  const fs::path token = dir / "token";
  std::ofstream(token) << "tok-123\n";
  ServeProcess serve(
      {"-f", (kSource / "demo/cluster").string(), "--store", "sqlite:" + (dir / "db").string(),
       "--listen", "127.0.0.1:0", "--token-file", token.string(), "--max-body", "1"},
      dir / "log");
  ASSERT_GT(serve.port, 0) << slurp(dir / "log");
  auto c = serve.client();
  // No token, a wrong one: 401; health and metrics need none.
  auto r = c.Get("/api/v1/map");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_NE(r->body.find("bearer token"), std::string::npos);
  httplib::Headers wrong = {{"Authorization", "Bearer tok-12"}};
  EXPECT_EQ(c.Get("/api/v1/map", wrong)->status, 401);
  EXPECT_EQ(c.Get("/healthz")->status, 200);
  EXPECT_EQ(c.Get("/metrics")->status, 200);
  httplib::Headers auth = {{"Authorization", "Bearer tok-123"}};
  EXPECT_EQ(c.Get("/api/v1/map", auth)->status, 200);
  // Over --max-body (1 MiB): plainly, and as a small gzip that inflates past it.
  const std::string big(2u << 20, '\n');
  auto r413 = c.Post("/api/v1/flows", auth, big, "application/x-ndjson");
  ASSERT_TRUE(r413);
  EXPECT_EQ(r413->status, 413) << r413->body;
  const fs::path zeros = dir / "zeros";
  std::ofstream(zeros, std::ios::binary) << std::string(8u << 20, '\n');
  const std::string bomb = stockade::test::run_command("gzip -c " + zeros.string()).out;
  ASSERT_LT(bomb.size(), 64u * 1024);
  httplib::Headers gz = auth;
  gz.emplace("Content-Encoding", "gzip");
  auto rbomb = c.Post("/api/v1/flows", gz, bomb, "application/x-ndjson");
  ASSERT_TRUE(rbomb);
  EXPECT_EQ(rbomb->status, 413) << rbomb->body;
  // Bad parameters, an empty body, an unknown path: 4xx with {"error": one line}.
  EXPECT_EQ(c.Get("/api/v1/map?by=cluster", auth)->status, 400);
  EXPECT_EQ(c.Get("/api/v1/map?since=yesterday", auth)->status, 400);
  EXPECT_EQ(c.Post("/api/v1/flows", auth, "", "application/x-ndjson")->status, 400);
  auto missing = c.Get("/api/v1/nothing", auth);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body.find('\n'), missing->body.size() - 1);
  // Garbage lines are skipped and counted, as `stockade map` does.
  auto mixed = c.Post("/api/v1/flows", auth, "not json\n{\"flow\": 5}\n", "application/x-ndjson");
  ASSERT_TRUE(mixed);
  EXPECT_EQ(mixed->status, 200);
  EXPECT_NE(mixed->body.find("\"accepted\":0"), std::string::npos) << mixed->body;
  // A body without policies is the request's fault; so is apply where no cluster is followed.
  EXPECT_EQ(c.Post("/api/v1/simulate", auth, "{}", "application/json")->status, 400);
  EXPECT_EQ(c.Post("/api/v1/apply", auth, "{}", "application/json")->status, 409);
  fs::remove_all(dir);
}

TEST(Serve, ListensBeyondLoopbackOnlyWithAToken) {
  auto r =
      stockade::test::run_command(std::string(STOCKADE_BINARY) + " serve -f " +
                                  (kSource / "demo/cluster").string() + " --listen 0.0.0.0:0 2>&1");
  EXPECT_EQ(WEXITSTATUS(r.status), 2);
  EXPECT_NE(r.out.find("loopback only"), std::string::npos) << r.out;
}

TEST(Serve, RebuildsWhenTheObjectFilesChange) {
  const fs::path dir = temp_dir("reload");
  fs::copy(kSource / "demo/cluster", dir / "cluster", fs::copy_options::recursive);
  fs::create_directories(dir / "policies");
  const fs::path flows = kSource / "demo/flows/hubble.json.gz";
  ServeProcess serve({"-f", (dir / "cluster").string(), "-f", (dir / "policies").string(),
                      "--store", "sqlite:" + (dir / "db").string(), "--listen", "127.0.0.1:0"},
                     dir / "log");
  ASSERT_GT(serve.port, 0) << slurp(dir / "log");
  auto c = serve.client();
  ASSERT_EQ(c.Post("/api/v1/flows", gunzip(flows), "application/x-ndjson")->status, 200);
  const std::string before = c.Get("/api/v1/map")->body;
  EXPECT_EQ(before, cli_map("workload", flows, {dir / "cluster", dir / "policies"}));
  // The demo's policies appear: isolation changes, and the map follows without a restart.
  fs::copy(kSource / "demo/policies", dir / "policies",
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  const std::string expected = cli_map("workload", flows, {dir / "cluster", dir / "policies"});
  ASSERT_NE(expected, before);
  std::string now;
  for (int i = 0; i < 200 && now != expected; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    now = c.Get("/api/v1/map")->body;
  }
  EXPECT_EQ(now, expected);
  // SIGHUP rebuilds too (the generation counter moves).
  const auto generation = [&] {
    std::smatch m;
    const std::string text = c.Get("/metrics")->body;
    std::regex_search(text, m, std::regex(R"(stockade_engine_generation (\d+))"));
    return std::stoi(m[1]);
  };
  const int g = generation();
  ::kill(serve.pid, SIGHUP);
  int after = g;
  for (int i = 0; i < 100 && after == g; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = generation();
  }
  EXPECT_GT(after, g);
  fs::remove_all(dir);
}

TEST(Serve, MetricsPassPromtool) {
  if (::access("/usr/bin/promtool", X_OK) != 0)
    GTEST_SKIP() << "promtool (Debian's prometheus package) is not installed";
  const fs::path dir = temp_dir("metrics");
  ServeProcess serve({"-f", (kSource / "demo/cluster").string(), "--store",
                      "sqlite:" + (dir / "db").string(), "--listen", "127.0.0.1:0"},
                     dir / "log");
  ASSERT_GT(serve.port, 0);
  auto c = serve.client();
  c.Get("/healthz");
  // A response is counted once it is written (the request log's hook runs after the answer),
  // so the count of the one before may lag a moment behind.
  std::string text;
  for (int i = 0; i < 100; ++i) {
    text = c.Get("/metrics")->body;
    if (text.find("stockade_http_responses_total{code=\"200\"}") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::ofstream(dir / "metrics.txt") << text;
  auto r = stockade::test::run_command("promtool check metrics < " +
                                       (dir / "metrics.txt").string() + " 2>&1");
  EXPECT_EQ(r.status, 0) << r.out << "\n" << text;
  EXPECT_NE(text.find("stockade_http_responses_total{code=\"200\"}"), std::string::npos);
  fs::remove_all(dir);
}

TEST(Serve, ScrapedByARealPrometheus) {
  if (::access("/usr/bin/prometheus", X_OK) != 0)
    GTEST_SKIP() << "prometheus (Debian's package) is not installed";
  const fs::path dir = temp_dir("prometheus");
  ServeProcess serve({"-f", (kSource / "demo/cluster").string(), "--store",
                      "sqlite:" + (dir / "db").string(), "--listen", "127.0.0.1:0"},
                     dir / "log");
  ASSERT_GT(serve.port, 0);
  ASSERT_EQ(serve.client()
                .Post("/api/v1/flows", gunzip(kSource / "demo/flows/hubble.json.gz"),
                      "application/x-ndjson")
                ->status,
            200);
  std::ofstream(dir / "prometheus.yml")
      << "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: stockade\n"
         "    static_configs:\n      - targets: ['127.0.0.1:"
      << serve.port << "']\n";
  // Prometheus is given a port free a moment before: a parallel test can take it first, and
  // then Prometheus exits at start and is started again on another port.
  std::string answer;
  pid_t prom = -1;
  for (int attempt = 0; attempt < 3 && answer.empty(); ++attempt) {
    const int prom_port = free_port();
    ASSERT_GT(prom_port, 0);
    prom = ::fork();
    if (prom == 0) {
      FILE* f = std::freopen((dir / "prometheus.log").c_str(), "w", stderr);
      (void)f;
      const std::string config = "--config.file=" + (dir / "prometheus.yml").string();
      const std::string data = "--storage.tsdb.path=" + (dir / "tsdb").string();
      const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(prom_port);
      ::execl("/usr/bin/prometheus", "prometheus", config.c_str(), data.c_str(), listen.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    httplib::Client p("127.0.0.1", prom_port);
    p.set_connection_timeout(2, 0);
    for (int i = 0; i < 300; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (::waitpid(prom, nullptr, WNOHANG) == prom) {
        prom = -1;
        break;
      }
      auto r = p.Get("/api/v1/query?query=stockade_flow_records_total");
      if (r && r->status == 200 && r->body.find("\"1518\"") != std::string::npos) {
        answer = r->body;
        break;
      }
    }
    // Answered, or running without the answer: no other attempt.
    if (prom > 0 ||
        slurp(dir / "prometheus.log").find("address already in use") == std::string::npos)
      break;
  }
  if (prom > 0) {
    ::kill(prom, SIGTERM);
    ::waitpid(prom, nullptr, 0);
  }
  EXPECT_NE(answer.find("\"1518\""), std::string::npos) << slurp(dir / "prometheus.log");
  fs::remove_all(dir);
}

TEST(Serve, ServesHttpsWithTheGivenCertificate) {
  const fs::path dir = temp_dir("tls");
  const std::string key = (dir / "key.pem").string(), cert = (dir / "cert.pem").string();
  auto gen = stockade::test::run_command(
      "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 -keyout " + key +
      " -out " + cert + " 2>&1");
  ASSERT_EQ(gen.status, 0) << gen.out;
  ServeProcess serve(
      {"-f", (kSource / "demo/cluster").string(), "--store", "sqlite:" + (dir / "db").string(),
       "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key},
      dir / "log");
  ASSERT_GT(serve.port, 0) << slurp(dir / "log");
  httplib::SSLClient c("127.0.0.1", serve.port);
  c.set_connection_timeout(5, 0);
  c.set_read_timeout(10, 0);
  c.set_ca_cert_path(cert.c_str());
  c.enable_server_certificate_verification(true);
  auto r = c.Get("/healthz");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  // Plain HTTP on the TLS port gets nothing.
  httplib::Client plain("127.0.0.1", serve.port);
  plain.set_connection_timeout(5, 0);
  plain.set_read_timeout(5, 0);
  auto none = plain.Get("/healthz");
  EXPECT_TRUE(!none || none->status != 200);
  // A key that does not go with the certificate: exit 2, one line.
  std::ofstream(dir / "other.pem") << "not a key\n";
  auto bad = stockade::test::run_command(
      std::string(STOCKADE_BINARY) + " serve -f " + (kSource / "demo/cluster").string() +
      " --listen 127.0.0.1:0 --store sqlite:" + (dir / "db2").string() + " --tls-cert " + cert +
      " --tls-key " + (dir / "other.pem").string() + " 2>&1");
  EXPECT_EQ(WEXITSTATUS(bad.status), 2) << bad.out;
  EXPECT_NE(bad.out.find("cannot use this certificate"), std::string::npos) << bad.out;
  fs::remove_all(dir);
}

// The console page loads without a token (a browser cannot send one when it opens a URL; the
// page holds no data), the API still needs it; the map answers 304 to its own ETag until it
// changes, which is how the console polls.
TEST(Serve, ConsoleLoadsWithoutATokenAndTheMapHasAnETag) {
  const fs::path dir = temp_dir("console");
  const fs::path token = dir / "token";
  std::ofstream(token) << "tok-console\n";
  ServeProcess serve(
      {"-f", (kSource / "demo/cluster").string(), "--store", "sqlite:" + (dir / "db").string(),
       "--listen", "127.0.0.1:0", "--token-file", token.string()},
      dir / "log");
  ASSERT_GT(serve.port, 0) << slurp(dir / "log");
  auto c = serve.client();
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("Stockade · console"), std::string::npos);
  EXPECT_EQ(page->body.find("http://"), std::string::npos);
  EXPECT_EQ(c.Get("/api/v1/map")->status, 401);
  httplib::Headers auth = {{"Authorization", "Bearer tok-console"}};
  auto first = c.Get("/api/v1/map", auth);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200);
  const std::string etag = first->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  httplib::Headers cond = auth;
  cond.emplace("If-None-Match", etag);
  auto same = c.Get("/api/v1/map", cond);
  EXPECT_EQ(same->status, 304);
  EXPECT_TRUE(same->body.empty());
  // New records change the map and its tag; another granularity is another answer.
  const std::string flows =
      stockade::test::run_command("zcat " + (kSource / "demo/flows/hubble.json.gz").string()).out;
  ASSERT_EQ(c.Post("/api/v1/flows", auth, flows, "application/x-ndjson")->status, 200);
  auto changed = c.Get("/api/v1/map", cond);
  EXPECT_EQ(changed->status, 200);
  const std::string etag2 = changed->get_header_value("ETag");
  EXPECT_NE(etag2, etag);
  httplib::Headers cond2 = auth;
  cond2.emplace("If-None-Match", etag2);
  EXPECT_EQ(c.Get("/api/v1/map", cond2)->status, 304);
  EXPECT_EQ(c.Get("/api/v1/map?by=pod", cond2)->status, 200);
  fs::remove_all(dir);
}
