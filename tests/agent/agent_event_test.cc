// Kernel-free parts of the agent: decoding, NDJSON, cgroup paths to pod UIDs, the reader and
// the map taking agent events, the --server batches. Run anywhere.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agent/event.h"
#include "engine/engine.h"
#include "flow/edge_graph.h"
#include "input/flow_reader.h"
#include "input/loader.h"
#include "stockade_agent.h"

namespace stockade {
namespace {

namespace fs = std::filesystem;
using agent::AgentEvent;

stk_event raw_v4(const char* src, uint16_t sport, const char* dst, uint16_t dport) {
  stk_event r = {};
  r.boot_ns = 5'000'000'123;
  r.family = AF_INET;
  r.protocol = 6;
  r.direction = STK_DIR_OUTBOUND;
  r.outcome = STK_OUT_ESTABLISHED;
  inet_pton(AF_INET, src, r.saddr);
  inet_pton(AF_INET, dst, r.daddr);
  r.sport = sport;
  r.dport = dport;
  r.netns = 4026531840u;
  return r;
}

TEST(AgentEvent, DecodesAndFormatsOneLine) {
  stk_event r = raw_v4("10.0.0.1", 40000, "10.0.0.3", 8080);
  r.flags = STK_F_PID | STK_F_CGROUP;
  r.pid = 4242;
  std::strcpy(r.comm, "curl");
  r.cgroup_id = 77;
  // 2026-01-01T00:00:00Z is 1767225600 s.
  AgentEvent e = agent::decode_event(r, 1767225600LL * 1'000'000'000 - 5'000'000'000);
  e.pod_uid = "0b5e4b43-3a4c-4d4e-9b1f-2f6c7b9c1d2e";
  EXPECT_EQ(agent::format_event_json(e, "n1"),
            R"({"time":"2026-01-01T00:00:00.000000123Z","type":"connect","protocol":"TCP",)"
            R"("direction":"outbound","outcome":"established",)"
            R"("src":{"ip":"10.0.0.1","port":40000},"dst":{"ip":"10.0.0.3","port":8080},)"
            R"("process":{"pid":4242,"comm":"curl","cgroup_id":77},"netns":4026531840,)"
            R"("pod_uid":"0b5e4b43-3a4c-4d4e-9b1f-2f6c7b9c1d2e","node":"n1"})");
}

TEST(AgentEvent, UnknownProcessIsOmittedNotInvented) {
  stk_event r = raw_v4("10.0.0.1", 1, "10.0.0.3", 2);
  r.outcome = STK_OUT_REFUSED;
  r.sk_err = 111;
  std::strcpy(r.comm, "ghost");  // not flagged as known: must not appear
  std::string j = agent::format_event_json(agent::decode_event(r, 0), "");
  EXPECT_EQ(j.find("process"), std::string::npos) << j;
  EXPECT_EQ(j.find("ghost"), std::string::npos) << j;
  EXPECT_EQ(j.find("node"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("outcome":"refused")"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("errno":111)"), std::string::npos) << j;
}

TEST(AgentEvent, SocketAttributionAndEscapedComm) {
  stk_event r = raw_v4("10.0.0.1", 1, "10.0.0.3", 2);
  r.direction = STK_DIR_INBOUND;
  r.outcome = STK_OUT_ACCEPTED;
  r.flags = STK_F_PID | STK_F_SOCKET;
  r.pid = 7;
  std::memcpy(r.comm, "a\"b\\c\x01\xff", 7);
  std::string j = agent::format_event_json(agent::decode_event(r, 0), "");
  EXPECT_NE(j.find(R"("process":{"pid":7,"comm":"a\"b\\c\u0001\u00ff","attribution":"socket"})"),
            std::string::npos)
      << j;
  EXPECT_NE(j.find(R"("direction":"inbound","outcome":"accepted")"), std::string::npos);
}

TEST(AgentEvent, Ipv6AndIpv4MappedAddresses) {
  stk_event r = {};
  r.family = AF_INET6;
  r.protocol = 17;
  r.outcome = STK_OUT_ESTABLISHED;
  r.direction = STK_DIR_OUTBOUND;
  inet_pton(AF_INET6, "2001:db8::1", r.saddr);
  inet_pton(AF_INET6, "::ffff:192.0.2.7", r.daddr);
  AgentEvent e = agent::decode_event(r, 0);
  EXPECT_TRUE(e.udp);
  EXPECT_EQ(e.src.str(), "2001:db8::1");
  EXPECT_EQ(e.dst.str(), "192.0.2.7");
  EXPECT_FALSE(e.dst.v6);
}

TEST(AgentEvent, EveryOutcomeHasItsName) {
  const char* names[] = {"established", "accepted", "refused", "timeout",
                         "unreachable", "reset",    "failed"};
  for (uint8_t o = STK_OUT_ESTABLISHED; o <= STK_OUT_FAILED; ++o) {
    stk_event r = raw_v4("10.0.0.1", 1, "10.0.0.3", 2);
    r.outcome = o;
    EXPECT_EQ(agent::decode_event(r, 0).outcome, names[o - 1]);
  }
}

TEST(AgentEvent, Rfc3339Nano) {
  EXPECT_EQ(agent::format_rfc3339_nano(0), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(agent::format_rfc3339_nano(1767225600LL * 1'000'000'000 + 999'999'999),
            "2026-01-01T00:00:00.999999999Z");
  EXPECT_EQ(parse_rfc3339(agent::format_rfc3339_nano(1'700'000'000'123'456'789LL)),
            1'700'000'000'123'456'789LL);
  EXPECT_EQ(agent::format_rfc3339_nano(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(agent::format_rfc3339_nano(INT64_MIN), "1677-09-21T00:12:43.145224192Z");
}

TEST(AgentPodUid, FromCgroupPaths) {
  using agent::pod_uid_from_cgroup_path;
  EXPECT_EQ(
      pod_uid_from_cgroup_path("/kubepods.slice/kubepods-burstable.slice/"
                               "kubepods-burstable-pod0b5e4b43_3a4c_4d4e_9b1f_2f6c7b9c1d2e.slice/"
                               "cri-containerd-4f1c.scope"),
      "0b5e4b43-3a4c-4d4e-9b1f-2f6c7b9c1d2e");
  EXPECT_EQ(pod_uid_from_cgroup_path("/kubepods.slice/kubepods-pod0b5e4b43_3a4c_4d4e_9b1f_"
                                     "2f6c7b9c1d2e.slice"),
            "0b5e4b43-3a4c-4d4e-9b1f-2f6c7b9c1d2e");  // Guaranteed QoS: no class slice
  EXPECT_EQ(pod_uid_from_cgroup_path(
                "/kubepods/besteffort/pod0b5e4b43-3a4c-4d4e-9b1f-2f6c7b9c1d2e/4f1c2d"),
            "0b5e4b43-3a4c-4d4e-9b1f-2f6c7b9c1d2e");
  EXPECT_EQ(pod_uid_from_cgroup_path("/system.slice/sshd.service"), std::nullopt);
  EXPECT_EQ(pod_uid_from_cgroup_path(""), std::nullopt);
  EXPECT_EQ(pod_uid_from_cgroup_path("/kubepods/podnot-a-uid"), std::nullopt);
  EXPECT_EQ(pod_uid_from_cgroup_path("/kubepods/pod0B5E4B43-3A4C-4D4E-9B1F-2F6C7B9C1D2E"),
            std::nullopt);  // the API server writes UIDs in lower case
}

TEST(AgentPodUid, CgroupIdsToPathsByInode) {
  fs::path root = fs::temp_directory_path() / ("stk-cg-" + std::to_string(getpid()));
  fs::path pod = root / "kubepods/burstable/pod0b5e4b43-3a4c-4d4e-9b1f-2f6c7b9c1d2e/ctr";
  fs::create_directories(pod);
  fs::create_directories(root / "system.slice");
  struct stat st;
  ASSERT_EQ(stat(pod.c_str(), &st), 0);
  agent::CgroupPaths paths(root.string(), 1'000'000'000);
  EXPECT_EQ(paths.path(st.st_ino, 0),
            "/kubepods/burstable/pod0b5e4b43-3a4c-4d4e-9b1f-2f6c7b9c1d2e/ctr");
  EXPECT_EQ(paths.pod_uid(st.st_ino, 0), "0b5e4b43-3a4c-4d4e-9b1f-2f6c7b9c1d2e");
  ASSERT_EQ(stat((root / "system.slice").c_str(), &st), 0);
  EXPECT_EQ(paths.pod_uid(st.st_ino, 0), "");
  // A cgroup created later is found by a rescan, not before the interval has passed.
  fs::create_directories(root / "late");
  ASSERT_EQ(stat((root / "late").c_str(), &st), 0);
  EXPECT_EQ(paths.path(st.st_ino, 1), std::nullopt);
  EXPECT_EQ(paths.path(st.st_ino, 2'000'000'000), "/late");
  fs::remove_all(root);
}

TEST(AgentPodUid, FindsTheCgroup2Mount) {
  fs::path f = fs::temp_directory_path() / ("stk-mounts-" + std::to_string(getpid()));
  std::ofstream(f) << "sysfs /sys sysfs rw 0 0\n"
                      "tmpfs /sys/fs/cgroup tmpfs rw 0 0\n"
                      "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"
                      "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n";
  EXPECT_EQ(agent::find_cgroup2_mount(f.string()), "/sys/fs/cgroup/unified");
  std::ofstream(f) << "sysfs /sys sysfs rw 0 0\n";
  EXPECT_EQ(agent::find_cgroup2_mount(f.string()), std::nullopt);
  fs::remove(f);
  EXPECT_EQ(agent::find_cgroup2_mount("/nonexistent/mounts"), std::nullopt);
}

// ---- the agent's output read back by the flow reader and the map ----

const char* kCluster = R"(
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: shop, uid: 0b5e4b43-3a4c-4d4e-9b1f-2f6c7b9c1d2e}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: data, uid: 11111111-2222-3333-4444-555555555555}
spec: {containers: [{name: c, ports: [{containerPort: 5432}]}]}
status: {podIP: 10.0.0.3}
)";

std::string line(const char* src, const char* dst, uint16_t dport, uint8_t outcome,
                 bool inbound = false, const std::string& pod_uid = "") {
  stk_event r = raw_v4(src, 40000, dst, dport);
  r.outcome = outcome;
  r.direction = inbound ? STK_DIR_INBOUND : STK_DIR_OUTBOUND;
  r.flags = STK_F_PID;
  r.pid = 1;
  std::strcpy(r.comm, "psql");
  AgentEvent e = agent::decode_event(r, 1767225600LL * 1'000'000'000);
  e.pod_uid = pod_uid;
  return agent::format_event_json(e, "n1") + "\n";
}

TEST(AgentFlows, ReaderTakesAgentEventsAndLostNotices) {
  std::string text = line("10.0.0.1", "10.0.0.3", 5432, STK_OUT_REFUSED) +
                     agent::format_lost_json(0, 3, 3, "n1") + "\n";
  FlowReadStats st;
  std::vector<std::string> seen;
  auto r = read_flows_text(text, "events.ndjson", {}, st, [&](const Flow& f) {
    seen.push_back(std::string(f.agent_outcome) + " " + f.src.ip->str() + ":" +
                   std::to_string(f.src.port) + " " + f.dst.ip->str() + ":" +
                   std::to_string(f.dst.port) + " " + std::string(f.comm) + " " +
                   std::to_string(f.pid) + " " + std::string(f.node));
    EXPECT_EQ(classify(f), FlowKind::Start);
    EXPECT_EQ(outcome_of(f), FlowOutcome::Failed);
    EXPECT_EQ(f.l4, L4Protocol::TCP);
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(st.records, 1u);
  EXPECT_EQ(st.ignored, 1u) << "the lost notice carries no flow";
  EXPECT_EQ(st.malformed, 0u);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "refused 10.0.0.1:40000 10.0.0.3:5432 psql 1 n1");
}

TEST(AgentFlows, MapResolvesThePodByUidElseByAddress) {
  ClusterLoader l;
  ASSERT_TRUE(l.add_text(kCluster, "cluster.yaml"));
  ClusterState state = std::move(l).finish();
  auto eps = build_endpoints(state);
  EdgeGraph g(state, eps, GraphOptions{Granularity::Pod, {}});
  // The client runs in a pod the UID names, behind a node address (e.g. SNAT or host port):
  // the UID wins over the address. The inbound event's UID names the server side.
  std::string text =
      line("192.168.0.10", "10.0.0.3", 5432, STK_OUT_ESTABLISHED, false,
           "0b5e4b43-3a4c-4d4e-9b1f-2f6c7b9c1d2e") +
      line("10.0.0.1", "10.0.0.3", 5432, STK_OUT_REFUSED) +
      line("10.0.0.1", "192.0.2.50", 5432, STK_OUT_TIMEOUT, false, "not-in-the-cluster") +
      line("10.0.0.1", "172.16.0.9", 5432, STK_OUT_ACCEPTED, true,
           "11111111-2222-3333-4444-555555555555");
  FlowReadStats st;
  ASSERT_TRUE(read_flows_text(text, "e.ndjson", {}, st, [&](const Flow& f) { g.add(f); }));
  EXPECT_EQ(st.records, 4u);
  std::string out;
  for (const auto& [k, s] : g.edges())
    out += g.nodes()[k.src].id + " -> " + g.nodes()[k.dst].id + " " + std::to_string(k.port) +
           " n=" + std::to_string(s.count) + " est=" + std::to_string(s.established) +
           " fail=" + std::to_string(s.failed) + "\n";
  EXPECT_EQ(out,
            "shop/client -> data/db 5432 n=2 est=1 fail=1\n"
            "shop/client -> world/192.0.2.50 5432 n=1 est=0 fail=1\n");
  // The inbound event (10.0.0.1 -> data/db by UID) is evidence, not a new connection: it
  // adds the edge shop/client -> data/db (already counted) without counting it twice.
}

TEST(AgentFlows, PodNamesFromAgentDashF) {
  // `stockade agent -f` writes the pod of each side; the reader uses the names.
  std::string text =
      R"({"time":"2026-01-01T00:00:00.5Z","type":"connect","protocol":"UDP","direction":"outbound",)"
      R"("outcome":"established","src":{"ip":"10.9.9.9","port":5000,"namespace":"shop","pod":"client"},)"
      R"("dst":{"ip":"10.0.0.3","port":53},"netns":1})"
      "\n";
  ClusterLoader l;
  ASSERT_TRUE(l.add_text(kCluster, "cluster.yaml"));
  ClusterState state = std::move(l).finish();
  auto eps = build_endpoints(state);
  EdgeGraph g(state, eps, GraphOptions{Granularity::Pod, {}});
  FlowReadStats st;
  ASSERT_TRUE(read_flows_text(text, "e.ndjson", {}, st, [&](const Flow& f) { g.add(f); }));
  ASSERT_EQ(g.edges().size(), 1u);
  auto [k, s] = g.edges()[0];
  EXPECT_EQ(g.nodes()[k.src].id, "shop/client");
  EXPECT_EQ(g.nodes()[k.dst].id, "data/db");
  EXPECT_EQ(k.protocol, L4Protocol::UDP);
}

TEST(AgentFlows, MalformedAgentLinesAreCounted) {
  std::string text =
      R"({"type":"connect","protocol":"TCP","src":{"ip":"10.0.0.1","port":1}})"
      "\n"  // no dst
      R"({"type":"connect","src":{"ip":"10.0.0.1","port":70000},"dst":{"ip":"10.0.0.3","port":1}})"
      "\n"
      R"({"type":"exec","pid":1})"
      "\n";
  FlowReadStats st;
  ASSERT_TRUE(read_flows_text(text, "e.ndjson", {}, st, [](const Flow&) {}));
  EXPECT_EQ(st.malformed, 3u);
  EXPECT_EQ(st.records, 0u);
  FlowReadOptions strict;
  strict.strict = true;
  FlowReadStats st2;
  auto r = read_flows_text(text, "e.ndjson", strict, st2, [](const Flow&) {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().str().rfind("e.ndjson:1: ", 0), 0u) << r.error().str();
}

// ---- the command line ----

std::pair<int, std::string> run(const std::string& args) {
  std::string cmd = std::string(STOCKADE_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  return {WEXITSTATUS(st), out};
}

TEST(AgentCli, BadFlagsAreOneLineErrors) {
  auto [code, out] = run("agent --duration -1");
  EXPECT_EQ(code, 2);
  EXPECT_EQ(out, "stockade: error: --duration: must be 0 (until stopped) or more seconds\n");
  std::tie(code, out) = run("agent --server ftp://x --duration 1");
  EXPECT_EQ(code, 2);
  EXPECT_EQ(out.rfind("stockade: error: --server: expected an http:// or https:// URL", 0), 0u);
  std::tie(code, out) = run("agent -f /nonexistent.yaml --duration 1");
  EXPECT_EQ(code, 2);
  EXPECT_EQ(out.rfind("stockade: error: /nonexistent.yaml", 0), 0u) << out;
}

TEST(AgentCli, NotPrivilegedIsAOneLineError) {
  if (geteuid() != 0) {
    auto [code, out] = run("agent --duration 1");
    EXPECT_EQ(code, 2);
    EXPECT_EQ(out.rfind("stockade: error: the agent needs root", 0), 0u) << out;
    return;
  }
  // As root: drop every capability for the child (setpriv is util-linux, always present).
  if (!::testing::internal::FilePath("/usr/bin/setpriv").FileOrDirectoryExists())
    GTEST_SKIP() << "no setpriv";
  std::string cmd = "/usr/bin/setpriv --inh-caps=-all --bounding-set=-all " +
                    std::string(STOCKADE_BINARY) + " agent --duration 1 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  EXPECT_EQ(WEXITSTATUS(st), 2);
  EXPECT_EQ(out,
            "stockade: error: the agent needs root (CAP_SYS_ADMIN, or CAP_BPF and CAP_PERFMON) to "
            "load its eBPF programs\n");
}

TEST(AgentCli, MapReadsAgentEvents) {
  fs::path dir = fs::temp_directory_path() / ("stk-agent-map-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "cluster.yaml") << kCluster;
  std::ofstream(dir / "events.ndjson") << line("10.0.0.1", "10.0.0.3", 5432, STK_OUT_ESTABLISHED)
                                       << line("10.0.0.1", "10.0.0.3", 5432, STK_OUT_REFUSED)
                                       << line("10.0.0.1", "192.0.2.50", 443, STK_OUT_TIMEOUT);
  auto [code, out] = run("map -f " + (dir / "cluster.yaml").string() + " --flows " +
                         (dir / "events.ndjson").string() + " --by pod -o json");
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(
      out.find(R"("src":"shop/client","dst":"data/db","protocol":"TCP","port":5432,"count":2)"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find(R"("outcomes":{"established":1,"failed":1,"dropped":0})"), std::string::npos)
      << out;
  EXPECT_NE(out.find(R"("dst":"world/192.0.2.50")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("summary":{"flows":3,"skipped":0)"), std::string::npos) << out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stockade
