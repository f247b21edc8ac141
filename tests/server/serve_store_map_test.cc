// The map of `stockade serve` from its store. Two replicas sharing one PostgreSQL (a real
// PostgreSQL 15 started by tests/store/temp_postgres.h): flows and agent batches posted to each
// give both the map, and verify, that one server receiving all of them gives — also after one
// replica is killed -9 and restarted, and after the other rebuilds its snapshot. Each replica keeps
// only its own journal; the map comes from the store's observations, which both write.
#include <arpa/inet.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/event.h"
#include "flow/agent_batch.h"
#include "input/loader.h"
#include "store/temp_postgres.h"
#include "support/run_command.h"
#include "support/serve_process.h"
#include "support/test_files.h"

namespace fs = std::filesystem;
using stockade::test::ServeProcess;
using stockade::test::slurp;

namespace {

const fs::path kSource = STOCKADE_SOURCE_DIR;

bool postgres_required() {
  const char* v = std::getenv("STOCKADE_REQUIRE_POSTGRES");
  return v && std::string(v) == "1";
}

std::string cli_map(const std::string& by, const std::vector<fs::path>& flows,
                    const std::vector<fs::path>& objects) {
  std::string cmd = std::string(STOCKADE_BINARY) + " map --by " + by;
  for (const fs::path& p : objects) cmd += " -f " + p.string();
  for (const fs::path& p : flows) cmd += " --flows " + p.string();
  cmd += " -o json 2>/dev/null";
  return stockade::test::run_command(cmd).out;
}

std::string get(const ServeProcess& s, const std::string& path) {
  auto r = s.client().Get(path.c_str());
  if (!r) return "no answer";
  return std::to_string(r->status) + " " + r->body;
}

// Events between the demo's pods, by address, as a node agent reports them (`stockade agent
// --events` reads them).
std::string agent_events(const stockade::ClusterState& cluster, const std::string& node, int64_t t0,
                         int salt) {
  std::vector<stockade::IpAddr> ips;
  for (const auto& pod : cluster.pods)
    if (!pod.spec.host_network && !pod.ips.empty()) ips.push_back(pod.ips.front());
  const uint16_t ports[] = {5432, 8080, 6379, 53};
  const char* outcomes[] = {"established", "established", "refused", "timeout"};
  std::string events;
  for (int i = 0; i < 200; ++i) {
    stockade::agent::AgentEvent e;
    e.time_ns = t0 + int64_t{i} * 1'000'000;
    e.src = ips[static_cast<size_t>(i + salt) % ips.size()];
    e.dst = ips[static_cast<size_t>(i * 7 + 3 + salt) % ips.size()];
    e.src_port = static_cast<uint16_t>(40000 + i);
    e.dst_port = ports[(i + salt) % 4];
    e.outcome = outcomes[(i / 4) % 4];
    e.comm = i % 2 ? "curl" : "psql";
    e.pid = 7;
    events += stockade::agent::format_event_json(e, node) + "\n";
  }
  return events;
}

void run_agent(const fs::path& events, const std::string& node, const ServeProcess& to) {
  auto agent = stockade::test::run_command(
      std::string(STOCKADE_BINARY) + " agent --events " + events.string() + " --output '' --node " +
      node + " -q --server http://127.0.0.1:" + std::to_string(to.port));
  ASSERT_EQ(agent.status, 0) << agent.out;
}

// A verify answer without its HTTP requests: each replica judges the requests of the records
// posted to it (they are kept in its own journal, not in the shared store: docs/cli.md), so
// only the edges are the same on every replica.
std::string without_requests(const std::string& answer) {
  if (answer.rfind("200 ", 0) != 0) return answer;
  auto j = nlohmann::json::parse(answer.substr(4), nullptr, false);
  if (j.is_discarded()) return answer;
  j.erase("requests");
  for (const char* k : {"requests", "requests_allowed", "requests_denied"}) j["summary"].erase(k);
  return "200 " + j.dump();
}

}  // namespace

TEST(ServeReplicas, TwoOnOnePostgresGiveTheMapOfOne) {
  using stockade::testing::TempPostgres;
  if (!TempPostgres::bin_dir()) {
    if (postgres_required()) FAIL() << "STOCKADE_REQUIRE_POSTGRES=1 and no PostgreSQL binaries";
    GTEST_SKIP() << "PostgreSQL server binaries not found: skipped";
  }
  auto pg = TempPostgres::start();
  ASSERT_TRUE(pg) << pg.error().str();
  auto shared = (*pg)->create_database("replicas");
  ASSERT_TRUE(shared) << shared.error().str();
  auto alone = (*pg)->create_database("alone");
  ASSERT_TRUE(alone) << alone.error().str();

  const fs::path dir = stockade::test::fresh_dir("stockade-serve", "replicas");
  const std::vector<fs::path> objects = {kSource / "demo/cluster", kSource / "demo/policies"};
  auto args = [&](const std::string& store, const std::string& journal) {
    return std::vector<std::string>{
        "-f",        objects[0].string(),      "-f",       objects[1].string(), "--store", store,
        "--journal", (dir / journal).string(), "--listen", "127.0.0.1:0"};
  };
  // The demo's real Hubble records in four parts: replica 1 takes parts 0 and 2, replica 2
  // parts 1 and 3; the single server all four, in order.
  const std::string records = stockade::test::gunzip(kSource / "demo/flows/hubble.json.gz");
  std::vector<std::string> parts;
  for (size_t at = 0, i = 1; i <= 4; ++i) {
    const size_t end = i == 4 ? records.size() : records.find('\n', records.size() * i / 4) + 1;
    parts.push_back(records.substr(at, end - at));
    at = end;
  }
  stockade::ClusterLoader loader;
  for (const fs::path& p : objects) ASSERT_TRUE(loader.add_path(p.string()));
  const stockade::ClusterState cluster = std::move(loader).finish();
  const int64_t t0 = 1'790'000'000LL * 1'000'000'000LL;
  std::ofstream(dir / "node-1.ndjson") << agent_events(cluster, "node-1", t0, 0);
  std::ofstream(dir / "node-2.ndjson") << agent_events(cluster, "node-2", t0, 5);

  ServeProcess one(args(*shared, "j1"), dir / "log1");
  ServeProcess two(args(*shared, "j2"), dir / "log2");
  ServeProcess single(args(*alone, "j3"), dir / "log3");
  ASSERT_GT(one.port, 0) << slurp(dir / "log1");
  ASSERT_GT(two.port, 0) << slurp(dir / "log2");
  ASSERT_GT(single.port, 0) << slurp(dir / "log3");
  auto post = [](const ServeProcess& s, const std::string& body) {
    auto r = s.client().Post("/api/v1/flows", body, "application/x-ndjson");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  };
  for (size_t i = 0; i < parts.size(); ++i) {
    post(i % 2 ? two : one, parts[i]);
    post(single, parts[i]);
  }

  // Records only: each replica's map is the whole map, the command line's over every record.
  const std::string demo = (kSource / "demo/flows/hubble.json.gz").string();
  for (const std::string by : {"pod", "workload", "namespace"}) {
    const std::string want = "200 " + cli_map(by, {demo}, objects);
    EXPECT_EQ(get(one, "/api/v1/map?by=" + by), want) << by;
    EXPECT_EQ(get(two, "/api/v1/map?by=" + by), want) << by;
    EXPECT_EQ(get(single, "/api/v1/map?by=" + by), want) << by;
  }

  // Agent batches: node-1's agent sends to replica 1, node-2's to replica 2; both to the single.
  run_agent(dir / "node-1.ndjson", "node-1", one);
  run_agent(dir / "node-2.ndjson", "node-2", two);
  run_agent(dir / "node-1.ndjson", "node-1", single);
  run_agent(dir / "node-2.ndjson", "node-2", single);
  auto same_everywhere = [&](const std::string& when) {
    for (const std::string by : {"pod", "workload", "namespace"}) {
      const std::string want = get(single, "/api/v1/map?by=" + by);
      ASSERT_EQ(want.substr(0, 4), "200 ") << want;
      EXPECT_EQ(get(one, "/api/v1/map?by=" + by), want) << by << ", " << when;
      EXPECT_EQ(get(two, "/api/v1/map?by=" + by), want) << by << ", " << when;
      const std::string verify = without_requests(get(single, "/api/v1/verify?by=" + by));
      EXPECT_EQ(without_requests(get(one, "/api/v1/verify?by=" + by)), verify)
          << by << ", " << when;
      EXPECT_EQ(without_requests(get(two, "/api/v1/verify?by=" + by)), verify)
          << by << ", " << when;
    }
  };
  same_everywhere("after the agents");
  // The agents' events are in the map: it differs from the records' alone.
  EXPECT_NE(get(one, "/api/v1/map?by=pod"), "200 " + cli_map("pod", {demo}, objects));

  // Replica 1 killed -9 and started again on the same store (a new journal: it keeps nothing
  // of its own); replica 2 rebuilds its snapshot (SIGHUP).
  one.kill(SIGKILL);
  ServeProcess again(args(*shared, "j1-again"), dir / "log4");
  ASSERT_GT(again.port, 0) << slurp(dir / "log4");
  ASSERT_EQ(::kill(two.pid, SIGHUP), 0);
  for (int i = 0;
       i < 100 && get(two, "/metrics").find("stockade_engine_generation 2") == std::string::npos;
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (const std::string by : {"pod", "workload", "namespace"}) {
    const std::string want = get(single, "/api/v1/map?by=" + by);
    EXPECT_EQ(get(again, "/api/v1/map?by=" + by), want) << by;
    EXPECT_EQ(get(two, "/api/v1/map?by=" + by), want) << by;
  }
  // More records to the restarted replica only: the other sees them at its next answer.
  post(again, parts[0]);
  post(single, parts[0]);
  for (const std::string by : {"pod", "workload"}) {
    const std::string want = get(single, "/api/v1/map?by=" + by);
    EXPECT_EQ(get(two, "/api/v1/map?by=" + by), want) << by;
    EXPECT_EQ(get(again, "/api/v1/map?by=" + by), want) << by;
  }
  fs::remove_all(dir);
}

// GET /api/v1/map is rendered once per data version, not per request: the same answer (and
// entity tag) until records arrive or the objects change; gzip-compressed once, the
// compressed body inflating to the plain one; If-None-Match answered 304.
TEST(ServeMapCache, RenderedOncePerDataVersion) {
  const fs::path dir = stockade::test::fresh_dir("stockade-serve", "map-cache");
  const std::vector<fs::path> objects = {kSource / "demo/cluster", kSource / "demo/policies"};
  ServeProcess serve({"-f", objects[0].string(), "-f", objects[1].string(), "--store",
                      "sqlite:" + (dir / "db").string(), "--listen", "127.0.0.1:0"},
                     dir / "log");
  ASSERT_GT(serve.port, 0) << slurp(dir / "log");
  auto renders = [&] {
    const std::string m = get(serve, "/metrics");
    const size_t at = m.find("\nstockade_map_renders_total ");
    return at == std::string::npos ? -1 : std::stoll(m.substr(at + 28));
  };
  const std::string records = stockade::test::gunzip(kSource / "demo/flows/hubble.json.gz");
  const size_t half = records.find('\n', records.size() / 2) + 1;
  auto c = serve.client();
  ASSERT_EQ(c.Post("/api/v1/flows", records.substr(0, half), "application/x-ndjson")->status, 200);
  const long long before = renders();
  ASSERT_GE(before, 0);
  auto first = c.Get("/api/v1/map?by=pod");
  auto second = c.Get("/api/v1/map?by=pod");
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->body, second->body);
  EXPECT_EQ(first->get_header_value("ETag"), second->get_header_value("ETag"));
  EXPECT_EQ(renders(), before + 1);  // two requests, one rendering
  // Compressed once: what a gzip client receives inflates to the same body.
  httplib::Client raw("127.0.0.1", serve.port);
  raw.set_decompress(false);
  auto gz = raw.Get("/api/v1/map?by=pod", {{"Accept-Encoding", "gzip, deflate"}});
  ASSERT_TRUE(gz);
  EXPECT_EQ(gz->get_header_value("Content-Encoding"), "gzip");
  auto inflated = stockade::batch::gunzip(gz->body);
  ASSERT_TRUE(inflated) << inflated.error().str();
  EXPECT_EQ(*inflated, first->body);
  auto plain = raw.Get("/api/v1/map?by=pod", {{"Accept-Encoding", "identity"}});
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->get_header_value("Content-Encoding"), "");
  EXPECT_EQ(plain->body, first->body);
  // The entity tag sent back: 304, no body.
  auto same = c.Get("/api/v1/map?by=pod", {{"If-None-Match", first->get_header_value("ETag")}});
  ASSERT_TRUE(same);
  EXPECT_EQ(same->status, 304);
  EXPECT_EQ(renders(), before + 1);
  // Another granularity is another answer; then new records: rendered again, and the whole
  // map equals the command line's over every record.
  ASSERT_EQ(get(serve, "/api/v1/map?by=namespace").substr(0, 3), "200");
  EXPECT_EQ(renders(), before + 2);
  ASSERT_EQ(c.Post("/api/v1/flows", records.substr(half), "application/x-ndjson")->status, 200);
  auto after = c.Get("/api/v1/map?by=pod", {{"If-None-Match", first->get_header_value("ETag")}});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  EXPECT_NE(after->get_header_value("ETag"), first->get_header_value("ETag"));
  EXPECT_EQ(after->body, cli_map("pod", {kSource / "demo/flows/hubble.json.gz"}, objects));
  EXPECT_EQ(renders(), before + 3);
  fs::remove_all(dir);
}
