// Aggregation on the node and the batch format: windows and early flush (injected clock),
// encode/decode round trip, hostile bodies, a batch in the graph equal to `map` over the same
// events, delivery with back-off, replay from the spool, and a kill -9 of the agent binary.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "agent/aggregator.h"
#include "agent/batch_sender.h"
#include "agent/event.h"
#include "engine/engine.h"
#include "flow/agent_batch.h"
#include "flow/edge_graph.h"
#include "input/flow_reader.h"
#include "input/loader.h"

namespace stockade {
namespace {

namespace fs = std::filesystem;
using agent::AgentEvent;
constexpr int64_t kSec = 1000000000;
constexpr int64_t kT0 = int64_t{1767225600} * kSec;  // 2026-01-01T00:00:00Z

AgentEvent event(const char* src, const char* dst, uint16_t port, std::string_view outcome,
                 int64_t t, const char* comm = "curl", bool inbound = false) {
  AgentEvent e;
  e.time_ns = t;
  e.src = *IpAddr::parse(src);
  e.dst = *IpAddr::parse(dst);
  e.src_port = 40000;
  e.dst_port = port;
  e.outcome = outcome;
  e.comm = comm;
  e.pid = 7;
  e.inbound = inbound;
  return e;
}

agent::AggregatorOptions options() {
  agent::AggregatorOptions o;
  o.node = "n1";
  o.boot_id = "b00t";
  return o;
}

TEST(AgentAggregator, NewEdgeFlushesEarlyOtherwiseOnTheWindow) {
  agent::Aggregator a(options(), kT0);
  a.add(event("10.0.0.1", "10.0.0.2", 80, "established", kT0 + 1), kT0);
  EXPECT_FALSE(a.poll(kT0 + kSec / 2));  // waits up to a second for more new edges
  a.add(event("10.0.0.1", "10.0.0.2", 80, "refused", kT0 + 2), kT0 + kSec / 2);
  auto b1 = a.poll(kT0 + kSec);
  ASSERT_TRUE(b1);
  EXPECT_EQ(b1->seq, 1u);
  EXPECT_EQ(b1->node, "n1");
  EXPECT_EQ(b1->boot_id, "b00t");
  ASSERT_EQ(b1->edges.size(), 1u);
  EXPECT_EQ(b1->edges[0].stats.count, 2u);
  EXPECT_EQ(b1->edges[0].stats.established, 1u);
  EXPECT_EQ(b1->edges[0].stats.failed, 1u);
  EXPECT_EQ(b1->edges[0].stats.first_seen, kT0 + 1);
  EXPECT_EQ(b1->edges[0].stats.last_seen, kT0 + 2);
  EXPECT_EQ(b1->edges[0].processes, std::vector<std::string>{"curl"});

  // The same edge again is not new: it waits for the window (10 s from its start). A
  // never-seen edge meanwhile goes early, alone.
  a.add(event("10.0.0.1", "10.0.0.2", 80, "established", kT0 + 3 * kSec), kT0 + 3 * kSec);
  EXPECT_FALSE(a.poll(kT0 + 5 * kSec));
  a.add(event("10.0.0.1", "10.0.0.3", 80, "established", kT0 + 5 * kSec), kT0 + 5 * kSec);
  auto early = a.poll(kT0 + 6 * kSec);
  ASSERT_TRUE(early);
  EXPECT_EQ(early->seq, 2u);
  ASSERT_EQ(early->edges.size(), 1u);
  EXPECT_EQ(early->edges[0].dst.ip, *IpAddr::parse("10.0.0.3"));
  EXPECT_FALSE(a.poll(kT0 + 9 * kSec));
  a.add(event("10.0.0.1", "10.0.0.2", 80, "established", kT0 + 9 * kSec), kT0 + 9 * kSec);
  auto b2 = a.poll(kT0 + 10 * kSec);
  ASSERT_TRUE(b2);
  EXPECT_EQ(b2->seq, 3u);
  EXPECT_EQ(b2->window_start, kT0);
  EXPECT_EQ(b2->window_end, kT0 + 10 * kSec);
  ASSERT_EQ(b2->edges.size(), 1u);
  EXPECT_EQ(b2->edges[0].stats.count, 2u);
  EXPECT_EQ(b2->edges[0].stats.first_seen, kT0 + 3 * kSec);

  // A quiet window forms no batch; numbering stays dense.
  EXPECT_FALSE(a.poll(kT0 + 30 * kSec));
  // The server's interval is taken (clamped).
  a.set_window(500 * int64_t{1000000});
  EXPECT_EQ(a.window_ns(), kSec);
  a.add(event("10.0.0.1", "10.0.0.2", 80, "established", kT0 + 31 * kSec), kT0 + 31 * kSec);
  auto b3 = a.poll(kT0 + 31 * kSec + kSec);
  ASSERT_TRUE(b3);
  EXPECT_EQ(b3->seq, 4u);
}

TEST(AgentAggregator, KeysSidesAndBoundsProcessNames) {
  agent::Aggregator a(options(), kT0);
  for (int i = 0; i < 12; ++i)
    a.add(event("10.0.0.1", "10.0.0.2", 80, "established", kT0 + i,
                ("p" + std::to_string(i)).c_str()),
          kT0);
  a.add(event("10.0.0.1", "10.0.0.2", 81, "timeout", kT0), kT0);  // another port
  AgentEvent udp = event("10.0.0.1", "10.0.0.2", 80, "established", kT0);
  udp.udp = true;
  a.add(udp, kT0);
  AgentEvent in = event("10.0.0.9", "10.0.0.1", 80, "accepted", kT0, "nginx", true);
  in.pod_uid = "uid-1";
  a.add(in, kT0);
  a.add_lost(3);
  auto b = a.flush(kT0 + kSec);
  ASSERT_TRUE(b);
  ASSERT_EQ(b->edges.size(), 4u);
  EXPECT_EQ(b->edges[0].stats.count, 12u);
  EXPECT_EQ(b->edges[0].processes.size(), batch::kMaxProcesses);
  EXPECT_TRUE(b->edges[0].processes_truncated);
  EXPECT_EQ(b->edges[1].port, 81);
  EXPECT_EQ(b->edges[1].stats.failed, 1u);
  EXPECT_EQ(b->edges[2].protocol, L4Protocol::UDP);
  EXPECT_TRUE(b->edges[3].inbound);
  EXPECT_EQ(b->edges[3].dst.pod_uid, "uid-1");  // the process's side
  EXPECT_EQ(b->edges[3].src.pod_uid, "");
  EXPECT_EQ(b->lost_events, 3u);
  EXPECT_FALSE(a.flush(kT0 + 2 * kSec));  // nothing left
}

batch::AgentBatch sample_batch() {
  batch::AgentBatch b;
  b.node = "node-\"1\"";
  b.boot_id = "0123456789abcdef0123456789abcdef";
  b.seq = 42;
  b.window_start = kT0;
  b.window_end = kT0 + 10 * kSec + 5;
  b.lost_events = 2;
  b.dropped_batches = 1;
  batch::Edge e;
  e.src = {*IpAddr::parse("10.0.0.1"), "uid-a", "shop", "web-1"};
  e.dst = {*IpAddr::parse("10.0.0.2"), "", "", ""};
  e.protocol = L4Protocol::TCP;
  e.port = 5432;
  e.stats = {5, kT0 + 1, kT0 + 999999999, 3, 2, 0};
  e.processes = {"psql", "na\xc3\xafve"};
  b.edges.push_back(e);
  batch::Edge v6;
  v6.src = {*IpAddr::parse("fd00::1"), "", "", ""};
  v6.dst = {*IpAddr::parse("fd00::2"), "uid-b", "data", "db-0"};
  v6.protocol = L4Protocol::UDP;
  v6.port = 53;
  v6.inbound = true;
  v6.stats = {1, kT0 + 7, kT0 + 7, 1, 0, 0};
  v6.processes_truncated = true;
  b.edges.push_back(v6);
  return b;
}

TEST(AgentBatchFormat, RoundTripGzipAndPlain) {
  batch::AgentBatch b = sample_batch();
  std::string json = batch::encode_json(b);
  EXPECT_EQ(json.rfind("{\"version\":1,\"node\":\"node-\\\"1\\\"\"", 0), 0u) << json;
  EXPECT_NE(json.find("\"window_end\":\"2026-01-01T00:00:10.000000005Z\""), std::string::npos);
  auto plain = batch::decode(json);
  ASSERT_TRUE(plain) << plain.error().str();
  EXPECT_EQ(*plain, b);
  std::string gz = batch::gzip(json);
  EXPECT_LT(gz.size(), json.size());
  auto zipped = batch::decode(gz);
  ASSERT_TRUE(zipped) << zipped.error().str();
  EXPECT_EQ(*zipped, b);
}

TEST(AgentBatchFormat, HostileBodiesAreOneLineErrorsNamingTheField) {
  std::string good = batch::encode_json(sample_batch());
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  struct Case {
    std::string body, error;
  };
  std::string gz = batch::gzip(good);
  std::vector<Case> cases = {
      {"", "not valid JSON"},
      {"[]", "expected a JSON object"},
      {good.substr(0, good.size() / 2), "not valid JSON"},
      {gz.substr(0, gz.size() / 2), "gzip: the body is cut short"},
      {gz + "xx", "gzip: bytes after the end"},
      {"\x1f\x8bnot gzip at all", "gzip: the body is not valid gzip"},
      {batch::gzip(std::string(batch::kMaxJsonBytes + 1, ' ')), "gzip: the body expands past"},
      {std::string(10000, '[') + std::string(10000, ']'), "nests deeper"},
      {with("\"version\":1", "\"version\":2"), "version: version 2 is not understood"},
      {with("\"version\":1,", ""), "version: missing"},
      {with("\"seq\":42", "\"seq\":\"42\""), "seq: expected an integer"},
      {with("\"seq\":42", "\"seq\":0"), "seq: must be 1 or more"},
      {with("\"port\":5432", "\"port\":70000"), "edges[0].port: expected an integer 0..65535"},
      {with("\"port\":5432", "\"port\":-1"), "edges[0].port: expected an integer"},
      {with("\"ip\":\"10.0.0.2\"", "\"ip\":\"10.0.0.256\""), "edges[0].dst.ip: expected an IPv4"},
      {with("\"count\":5", "\"count\":6"), "edges[0].count: is not established + failed"},
      {with("\"protocol\":\"TCP\"", "\"protocol\":\"ICMP\""), "edges[0].protocol: expected"},
      {with("\"direction\":\"outbound\",", ""), "edges[0].direction: missing"},
      {with("\"first_seen\":\"2026", "\"first_seen\":\"1026"),
       "edges[0].first_seen: expected an RFC 3339"},
      {with("\"node\":\"node-\\\"1\\\"\"", "\"node\":\"" + std::string(300, 'n') + "\""),
       "node: longer than 253 bytes"},
      {with("\"processes\":[\"psql\"", "\"processes\":[1"),
       "edges[0].processes[0]: expected a string"},
      {with("\"processes\":[\"psql\",",
            "\"processes\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\","),
       "edges[0].processes: more than 8 names"},
      {with("\"processes\":[", "\"processes\":[\"a\",\"b\"],\"processes\":["),
       "edges[0].processes: given twice"},
      {with("\"edges\":[", "\"edges\":[],\"edges\":["), "edges: given twice"},
      {with("\"edges\":[", "\"edges\":{\"a\":["), "not valid JSON"},
      {with("\"edges\":[", "\"edges\":7,\"x\":["), "edges: expected an array"},
  };
  for (const Case& c : cases) {
    auto r = batch::decode(c.body);
    ASSERT_FALSE(r) << c.error;
    EXPECT_NE(r.error().str().find(c.error), std::string::npos)
        << "want: " << c.error << "\ngot: " << r.error().str();
    EXPECT_EQ(r.error().str().find('\n'), std::string::npos);
  }
}

// A cluster for resolution: a Deployment's pod (by UID), a StatefulSet's pod (by IP).
const char* kCluster = R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-7d9f8c6b5d-abcde
  namespace: shop
  uid: 6b1f2a4e-0000-4000-8000-000000000001
  labels: {app: web, pod-template-hash: 7d9f8c6b5d}
  ownerReferences: [{kind: ReplicaSet, name: web-7d9f8c6b5d, controller: true}]
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: data, uid: 6b1f2a4e-0000-4000-8000-000000000002}
status: {podIP: 10.0.0.2}
)";

std::string edges_text(const EdgeGraph& g) {
  std::string out;
  for (const auto& [k, s] : g.edges())
    out += g.nodes()[k.src].id + " -> " + g.nodes()[k.dst].id + " " +
           std::string(to_string(k.protocol)) + "/" + std::to_string(k.port) +
           " n=" + std::to_string(s.count) + " est=" + std::to_string(s.established) +
           " fail=" + std::to_string(s.failed) + " drop=" + std::to_string(s.dropped) +
           " first=" + std::to_string(s.first_seen) + " last=" + std::to_string(s.last_seen) + "\n";
  return out;
}

TEST(AgentBatchFormat, BatchInTheGraphEqualsMapOverTheSameEvents) {
  ClusterLoader l;
  ASSERT_TRUE(l.add_text(kCluster, "c.yaml"));
  ClusterState state = std::move(l).finish();
  auto eps = build_endpoints(state);
  std::vector<AgentEvent> events;
  const char* uid = "6b1f2a4e-0000-4000-8000-000000000001";
  for (int i = 0; i < 50; ++i) {
    AgentEvent e = event("10.0.0.1", i % 5 == 0 ? "203.0.113.7" : "10.0.0.2", 5432,
                         i % 7 == 0 ? "refused" : "established", kT0 + i * kSec / 10, "psql");
    e.pod_uid = uid;
    events.push_back(e);
  }
  AgentEvent in = event("198.51.100.3", "10.0.0.1", 8080, "accepted", kT0 + 3, "web", true);
  in.pod_uid = uid;
  events.push_back(in);
  events.push_back(event("10.0.0.9", "10.0.0.2", 5432, "timeout", kT0 + 4));  // no pod
  AgentEvent named = event("10.0.0.8", "10.0.0.2", 53, "established", kT0 + 5);
  named.udp = true;
  named.src_ns = "shop";
  named.src_pod = "web-7d9f8c6b5d-zzzzz";  // a pod the objects lack, named by the agent
  events.push_back(named);

  for (Granularity by : {Granularity::Pod, Granularity::Workload, Granularity::Namespace}) {
    EdgeGraph from_events(state, eps, GraphOptions{by, {}});
    std::string ndjson;
    for (const AgentEvent& e : events) ndjson += agent::format_event_json(e, "n1") + "\n";
    FlowReadStats st;
    ASSERT_TRUE(
        read_flows_text(ndjson, "e.ndjson", {}, st, [&](const Flow& f) { from_events.add(f); }));
    ASSERT_EQ(st.records, events.size());

    agent::Aggregator a(options(), kT0);
    for (const AgentEvent& e : events) a.add(e, kT0);
    auto b = a.flush(kT0 + kSec);
    ASSERT_TRUE(b);
    auto decoded = batch::decode(batch::gzip(batch::encode_json(*b)));
    ASSERT_TRUE(decoded) << decoded.error().str();
    EdgeGraph from_batch(state, eps, GraphOptions{by, {}});
    batch::add_to_graph(*decoded, from_batch);
    EXPECT_EQ(edges_text(from_batch), edges_text(from_events));
    EXPECT_FALSE(edges_text(from_batch).empty());
    EXPECT_EQ(from_batch.flows(), from_events.flows());
  }
}

// ---- delivery ----

// A batch receiver on loopback (cpp-httplib, as the server uses): answers from a script of
// statuses, then 200; keeps every batch it acknowledged.
struct Receiver {
  httplib::Server http;
  std::thread thread;
  int port = 0;
  std::mutex mu;
  std::vector<int> script;  // statuses to answer first, in order
  // Retry-After of the scripted 429/503 answers, in order ("" for none); "0" once it is empty.
  std::vector<std::string> retry_after;
  std::vector<batch::AgentBatch> acked;  // each (boot id, seq) once
  std::set<std::pair<std::string, uint64_t>> stored;
  int replays = 0;  // batches received again after they were stored
  std::vector<std::string> errors;
  int requests = 0;
  Receiver() {
    http.Post("/api/v1/agent/batches", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      ++requests;
      if (req.get_header_value("Content-Encoding") != "gzip") errors.push_back("not gzip");
      if (!script.empty()) {
        res.status = script.front();
        script.erase(script.begin());
        if (res.status == 429 || res.status == 503) {
          std::string ra = "0";
          if (!retry_after.empty()) {
            ra = retry_after.front();
            retry_after.erase(retry_after.begin());
          }
          if (!ra.empty()) res.set_header("Retry-After", ra);
        }
        return;
      }
      auto b = batch::decode(req.body);
      if (!b) {
        errors.push_back(b.error().str());
        res.status = 400;
        return;
      }
      // A batch stored before (its answer never reached the agent: killed, timed out) is
      // acknowledged again and not kept twice, as docs/agent-batches.md asks of a server.
      if (stored.emplace(b->boot_id, b->seq).second)
        acked.push_back(std::move(*b));
      else
        ++replays;
      res.status = 200;
      res.set_content("{\"next_interval_ms\":2000}", "application/json");
    });
    port = http.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { http.listen_after_bind(); });
    while (!http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~Receiver() {
    http.stop();
    thread.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

batch::AgentBatch numbered(uint64_t seq) {
  batch::AgentBatch b;
  b.node = "n1";
  b.boot_id = "run1";
  b.seq = seq;
  b.window_start = b.window_end = kT0;
  return b;
}

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("stockade-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(d);
  return d;
}

TEST(AgentSender, BacksOffOnRetryAfterAndDeliversInOrder) {
  Receiver r;
  r.script = {503, 429, 500, 400};  // back off twice, a transient failure, then a refusal
  agent::SenderOptions o;
  o.server = r.url();
  o.backoff_min_ms = 10;
  auto s = agent::Sender::start(o);
  ASSERT_TRUE(s) << s.error().str();
  for (uint64_t i = 1; i <= 4; ++i) ASSERT_TRUE((*s)->submit(numbered(i)));
  (*s)->finish(10000);
  agent::SenderStats st = (*s)->stats();
  std::lock_guard<std::mutex> lock(r.mu);
  EXPECT_TRUE(r.errors.empty()) << r.errors.front();
  // Batch 1 was answered 503, 429, 500 (kept and sent again), then 400: refused for good.
  ASSERT_EQ(r.acked.size(), 3u);
  EXPECT_EQ(r.acked[0].seq, 2u);
  EXPECT_EQ(r.acked[1].seq, 3u);
  EXPECT_EQ(r.acked[2].seq, 4u);
  EXPECT_EQ(st.backoffs, 2u);
  EXPECT_EQ(st.failed_attempts, 1u);
  EXPECT_EQ(st.rejected, 1u);
  EXPECT_EQ(st.sent, 3u);
  EXPECT_EQ(st.pending, 0u);
  EXPECT_EQ(st.next_interval_ms, 2000);
}

// The wait after 429/503 is the server's Retry-After when it gives one, else the back-off,
// which doubles from attempt to attempt (the sender's waits recorded, not timed).
TEST(AgentSender, RetryAfterIsHonouredElseTheBackOffDoubles) {
  Receiver r;
  r.script = {503, 429, 429, 503, 500};
  r.retry_after = {"7", "", "", "120"};
  agent::SenderOptions o;
  o.server = r.url();
  o.backoff_min_ms = 10;
  o.backoff_max_ms = 30;
  std::mutex mu;
  std::vector<int64_t> waits;
  o.sleep = [&](int64_t ms) {
    std::lock_guard<std::mutex> lock(mu);
    waits.push_back(ms);
  };
  auto s = agent::Sender::start(o);
  ASSERT_TRUE(s) << s.error().str();
  ASSERT_TRUE((*s)->submit(numbered(1)));
  (*s)->finish(10000);
  EXPECT_EQ((*s)->stats().sent, 1u);
  EXPECT_EQ((*s)->stats().backoffs, 4u);
  std::lock_guard<std::mutex> lock(mu);
  // 7 s and 120 s from the server; 20 and 30 ms from the back-off (10 doubled at each answer,
  // at most 30); the transient 500 waits the back-off too.
  EXPECT_EQ(waits, (std::vector<int64_t>{7000, 20, 30, 120000, 30}));
  std::lock_guard<std::mutex> rl(r.mu);
  ASSERT_EQ(r.acked.size(), 1u);
  EXPECT_EQ(r.requests, 6);  // the same batch, sent until it was taken
}

TEST(AgentSender, SpoolIsReplayedByTheNextRunAndTheBoundIsCounted) {
  fs::path spool = temp_dir("SpoolIsReplayed");
  {
    agent::SenderOptions o;
    o.server = "http://127.0.0.1:9";  // nothing listens: every attempt fails
    o.spool = spool.string();
    o.max_pending = 3;
    o.backoff_min_ms = 10;
    auto s = agent::Sender::start(o);
    ASSERT_TRUE(s) << s.error().str();
    for (uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE((*s)->submit(numbered(i)));
    (*s)->finish(0);
    EXPECT_EQ((*s)->stats().dropped, 2u);  // two of the oldest (below)
    EXPECT_EQ((*s)->stats().pending, 3u);
  }
  size_t files = 0;
  for (const auto& f : fs::directory_iterator(spool))
    files += f.path().string().ends_with(".json.gz");
  EXPECT_EQ(files, 3u);
  Receiver r;
  agent::SenderOptions o;
  o.server = r.url();
  o.spool = spool.string();
  auto s = agent::Sender::start(o);
  ASSERT_TRUE(s) << s.error().str();
  ASSERT_TRUE((*s)->submit(numbered(6)));
  (*s)->finish(10000);
  EXPECT_EQ((*s)->stats().replayed, 3u);
  EXPECT_EQ((*s)->stats().sent, 4u);
  std::lock_guard<std::mutex> lock(r.mu);
  ASSERT_EQ(r.acked.size(), 4u);
  // In order, the replay first. The two dropped were the oldest not being posted at that
  // moment: 1 and 2, unless 1 (or 2) was in flight when the bound was hit, then it was kept
  // and the next one dropped. 4 and 5, the newest, were kept in any case.
  EXPECT_LE(r.acked[0].seq, 3u);
  for (size_t i = 1; i < 4; ++i) EXPECT_EQ(r.acked[i].seq, i + 3);
  EXPECT_TRUE(fs::is_empty(spool));
  fs::remove_all(spool);
}

// The spool's file names follow the wall clock, which can step back: replay still sends each
// boot id's batches in sequence order (a receiver takes a lower number after a higher one as a
// replay of a batch it has), the boot ids in the order of their first file by name.
TEST(AgentSender, SpoolReplaysEachBootIdInSequenceOrder) {
  fs::path spool = temp_dir("SpoolSequenceOrder");
  fs::create_directories(spool);
  auto put = [&](const char* name, const char* boot, uint64_t seq) {
    batch::AgentBatch b = numbered(seq);
    b.boot_id = boot;
    std::ofstream(spool / name, std::ios::binary) << batch::gzip(batch::encode_json(b));
  };
  // Run "old" spooled 1 and 2 with the clock stepping back in between; then run "new".
  put("00000000000000000500-00000001.json.gz", "old", 1);
  put("00000000000000000100-00000002.json.gz", "old", 2);
  put("00000000000000000200-00000001.json.gz", "new", 1);
  put("00000000000000000300-00000002.json.gz", "new", 2);
  Receiver r;
  agent::SenderOptions o;
  o.server = r.url();
  o.spool = spool.string();
  auto s = agent::Sender::start(o);
  ASSERT_TRUE(s) << s.error().str();
  (*s)->finish(10000);
  EXPECT_EQ((*s)->stats().replayed, 4u);
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::pair<std::string, uint64_t>> got;
  for (const auto& b : r.acked) got.emplace_back(b.boot_id, b.seq);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, uint64_t>>{
                     {"old", 1}, {"old", 2}, {"new", 1}, {"new", 2}}));
  fs::remove_all(spool);
}

// The window the server answers (next_interval_ms: 2 s) replaces --batch-window (300 s): an
// edge seen again after the first batch arrives with the next window, long before 300 s.
TEST(AgentCliBatches, TheServersIntervalIsTheWindow) {
  Receiver r;
  int in[2];
  ASSERT_EQ(pipe(in), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    close(in[1]);
    execl(STOCKADE_BINARY, STOCKADE_BINARY, "agent", "--events", "-", "--output", "", "--server",
          r.url().c_str(), "--batch-window", "300", "--node", "n1", "-q",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  auto send = [&](int64_t t) {
    std::string l =
        agent::format_event_json(event("10.0.0.1", "10.0.0.2", 443, "established", t), "n1") + "\n";
    return write(in[1], l.data(), l.size()) == static_cast<ssize_t>(l.size());
  };
  auto acked = [&] {
    std::lock_guard<std::mutex> lock(r.mu);
    return r.acked.size();
  };
  // A never-seen edge: an early batch, answered with the interval.
  EXPECT_TRUE(send(kT0));
  for (int i = 0; i < 600 && acked() < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(acked(), 1u);
  // The same edge again: not new, it waits for the window, which is now the server's. (Generous
  // wait: 2 s against 300 s; the pipe stays open, so no flush at exit can deliver it instead.)
  EXPECT_TRUE(send(kT0 + kSec));
  for (int i = 0; i < 600 && acked() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(acked(), 2u);
  close(in[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::lock_guard<std::mutex> lock(r.mu);
  ASSERT_GE(r.acked.size(), 2u);
  EXPECT_EQ(r.acked[0].seq, 1u);
  EXPECT_EQ(r.acked[1].seq, 2u);
  ASSERT_EQ(r.acked[1].edges.size(), 1u);
  EXPECT_EQ(r.acked[1].edges[0].stats.first_seen, kT0 + kSec);
}

// The agent binary, fed events on stdin (no eBPF), killed with SIGKILL while the server
// refuses everything; the next run replays the spool: every event that was in a formed batch
// arrives. (A request of the killed agent may still be taken after the refusals end: the
// receiver, like a server, stores each (boot id, seq) once, so counts are not doubled.)
TEST(AgentCliBatches, KillNineLosesNoFormedBatch) {
  fs::path spool = temp_dir("KillNine");
  Receiver r;
  r.script = std::vector<int>(100000, 503);
  int in[2];
  ASSERT_EQ(pipe(in), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    close(in[1]);
    execl(STOCKADE_BINARY, STOCKADE_BINARY, "agent", "--events", "-", "--output", "", "--server",
          r.url().c_str(), "--spool", spool.c_str(), "--node", "n1", "-q",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  // 30 events, each a new edge (a port of its own): each is in a batch within about a second.
  constexpr int kEvents = 30;
  for (int i = 0; i < kEvents; ++i) {
    std::string l =
        agent::format_event_json(
            event("10.0.0.1", "10.0.0.2", static_cast<uint16_t>(1000 + i), "established", kT0 + i),
            "n1") +
        "\n";
    ASSERT_EQ(write(in[1], l.data(), l.size()), static_cast<ssize_t>(l.size()));
    if (i % 10 == 9) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  auto spooled = [&] {
    uint64_t n = 0;
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(spool, ec)) {
      if (!f.path().string().ends_with(".json.gz")) continue;
      std::ifstream s(f.path(), std::ios::binary);
      std::string body((std::istreambuf_iterator<char>(s)), std::istreambuf_iterator<char>());
      if (auto b = batch::decode(body))
        for (const auto& e : b->edges) n += e.stats.count;
    }
    return n;
  };
  for (int i = 0; i < 200 && spooled() < kEvents; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(spooled(), static_cast<uint64_t>(kEvents));
  // Spooled before its first attempt: on a loaded machine the first POST may not have reached
  // the server yet (failed once under ctest -j2).
  auto requests = [&] {
    std::lock_guard<std::mutex> lock(r.mu);
    return r.requests;
  };
  for (int i = 0; i < 200 && requests() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(in[1]);
  EXPECT_TRUE(WIFSIGNALED(status));
  {
    std::lock_guard<std::mutex> lock(r.mu);
    EXPECT_TRUE(r.acked.empty());
    EXPECT_GT(r.requests, 0);  // it was trying
    r.script.clear();          // the server is back
  }
  // The next run, with one event of its own: it replays the spool first, then numbers its
  // own batches from 1 under a boot id of its own.
  fs::path more = temp_dir("KillNine-events");
  fs::create_directories(more);
  {
    std::ofstream f(more / "e.ndjson");
    f << agent::format_event_json(event("10.0.0.1", "10.0.0.2", 2000, "established", kT0 + 99),
                                  "n1")
      << "\n";
  }
  std::string cmd = std::string(STOCKADE_BINARY) + " agent --events " +
                    (more / "e.ndjson").string() + " --output '' --server " + r.url() +
                    " --spool " + spool.string() + " --node n1 -q";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  fs::remove_all(more);
  std::lock_guard<std::mutex> lock(r.mu);
  EXPECT_TRUE(r.errors.empty());
  uint64_t total = 0;
  std::vector<std::string> boots;  // in the order the server saw them
  std::map<std::string, std::vector<uint64_t>> seqs;
  for (const auto& b : r.acked) {
    EXPECT_EQ(b.node, "n1");
    if (std::find(boots.begin(), boots.end(), b.boot_id) == boots.end()) boots.push_back(b.boot_id);
    seqs[b.boot_id].push_back(b.seq);
    for (const auto& e : b.edges) total += e.stats.count;
  }
  EXPECT_EQ(total, static_cast<uint64_t>(kEvents) + 1);
  // Two runs, two boot ids (32 hex digits); the killed run's batches first, each run's
  // numbered 1, 2, 3, ... in order.
  ASSERT_EQ(boots.size(), 2u);
  for (const std::string& id : boots) {
    EXPECT_EQ(id.size(), 32u) << id;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    const std::vector<uint64_t>& q = seqs[id];
    for (size_t i = 0; i < q.size(); ++i) EXPECT_EQ(q[i], i + 1) << id;
  }
  EXPECT_EQ(seqs[boots[1]], std::vector<uint64_t>{1});
  EXPECT_TRUE(fs::is_empty(spool));
  fs::remove_all(spool);
}

std::pair<int, std::string> run_cli(const std::string& args) {
  std::string cmd = std::string(STOCKADE_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  return {WEXITSTATUS(st), out};
}

// Bad batch flags and bad --events input: one line, exit 2, nothing sent. A Hubble record
// (a real one, tests/data/samples) is no agent event: refused with its line, not skipped.
TEST(AgentCliBatches, BadFlagsAndEventsAreOneLineErrors) {
  auto [code, out] = run_cli("agent --events /dev/null --server http://x --batch-window 0");
  EXPECT_EQ(code, 2);
  EXPECT_EQ(out, "stockade: error: --batch-window: must be 1 to 300 seconds\n");
  std::tie(code, out) = run_cli("agent --events /dev/null --spool /tmp/x");
  EXPECT_EQ(code, 2);
  EXPECT_EQ(out, "stockade: error: --spool: keeps batches for --server, which is not given\n");
  std::tie(code, out) = run_cli("agent --events /dev/null --server http://x --server-ca /dev/null");
  EXPECT_EQ(code, 2);
  EXPECT_EQ(out,
            "stockade: error: --server-ca: a CA for an https:// --server, which is not given\n");
  std::tie(code, out) =
      run_cli("agent --events /dev/null --server https://x --server-ca /nonexistent.pem");
  EXPECT_EQ(code, 2);
  EXPECT_EQ(out, "stockade: error: --server-ca: cannot read /nonexistent.pem\n");
  std::tie(code, out) = run_cli("agent --events /nonexistent.ndjson --output ''");
  EXPECT_EQ(code, 2);
  EXPECT_EQ(out, "stockade: error: /nonexistent.ndjson: cannot open: No such file or directory\n");

  fs::path dir = temp_dir("BadFlagsAndEvents");
  fs::create_directories(dir);
  std::ifstream hubble(std::string(STOCKADE_SOURCE_DIR) +
                       "/tests/data/samples/hubble/gke-unwrapped-forwarded.json");
  std::string hubble_line;
  ASSERT_TRUE(std::getline(hubble, hubble_line));
  const std::string good =
      agent::format_event_json(event("10.0.0.1", "10.0.0.2", 80, "established", kT0), "n1");
  std::ofstream(dir / "hubble.ndjson") << good << "\n" << hubble_line << "\n";
  std::ofstream(dir / "broken.ndjson") << good << "\n\n"
                                       << "{\"time\":\n";
  Receiver r;
  for (const char* name : {"hubble.ndjson", "broken.ndjson"}) {
    std::string path = (dir / name).string();
    std::tie(code, out) = run_cli("agent --events " + path + " --output '' --server " + r.url());
    EXPECT_EQ(code, 2) << out;
    const std::string want = "stockade: error: " + path + (name[0] == 'h' ? ":2: " : ":3: ");
    EXPECT_EQ(out.rfind(want, 0), 0u) << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  }
  {
    std::lock_guard<std::mutex> lock(r.mu);
    EXPECT_EQ(r.requests, 0);  // the good line before the bad one was not sent either
  }
  std::tie(code, out) = run_cli("agent --events /dev/null --server " + r.url() + " --spool " +
                                (dir / "hubble.ndjson").string());
  EXPECT_EQ(code, 2);
  EXPECT_EQ(out.rfind("stockade: error: " + (dir / "hubble.ndjson").string() +
                          ": cannot create the spool directory",
                      0),
            0u)
      << out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stockade
