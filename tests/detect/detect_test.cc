// The detectors (src/detect) on ordinary traffic of real shape — the demo's Hubble records, the
// published Hubble samples, generated cluster traffic with DNS, probes, scrapes and fan-out —
// which must stay quiet, and on attacks hidden in that traffic, which must be found and named.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/event.h"
#include "detect/report.h"
#include "support/run_command.h"
#include "support/test_files.h"

namespace stockade {
namespace {

namespace fs = std::filesystem;
using detect::Signal;
using detect::SignalType;

const std::string kSource = STOCKADE_SOURCE_DIR;
const int64_t kDemoStart = 1767225600LL * 1000000000;  // 2026-01-01T00:00:00Z

struct Rec {
  int64_t t = 0;
  std::string src, dst;
  std::string proto = "TCP";  // TCP, UDP, ICMPv4
  int sport = 40000, dport = 80;
  std::string flags = R"("SYN":true)";
  bool reply = false;
  std::string verdict = "FORWARDED";
  std::string src_ns, src_pod;
};

// One Hubble record as `hubble observe -o json` prints it (the demo's shape).
std::string hubble(const Rec& r) {
  std::string l4;
  if (r.proto == "ICMPv4")
    l4 = R"({"ICMPv4":{"type":)" + std::string(r.reply ? "0" : "8") + "}}";
  else
    l4 = "{\"" + r.proto + R"(":{"source_port":)" + std::to_string(r.sport) +
         R"(,"destination_port":)" + std::to_string(r.dport) +
         (r.proto == "TCP" ? R"(,"flags":{)" + r.flags + "}" : "") + "}}";
  std::string src = r.src_pod.empty() ? R"({"identity":2,"labels":["reserved:world"]})"
                                      : R"({"identity":31748,"namespace":")" + r.src_ns +
                                            R"(","pod_name":")" + r.src_pod + "\"}";
  const std::string time = agent::format_rfc3339_nano(r.t);
  return R"({"flow":{"time":")" + time + R"(","verdict":")" + r.verdict + R"(","IP":{"source":")" +
         r.src + R"(","destination":")" + r.dst + R"(","ipVersion":"IPv4"},"l4":)" + l4 +
         R"(,"source":)" + src +
         R"(,"destination":{"identity":38509},"Type":"L3_L4","node_name":"default/node-1",)" +
         R"("event_type":{"type":4},"traffic_direction":"EGRESS","is_reply":)" +
         (r.reply ? "true" : "false") + R"(},"node_name":"default/node-1","time":")" + time +
         "\"}\n";
}

const char* kAttacker = "10.244.2.99";

// A port scan of `target` (ports 1..300, closed: each answered by a reset).
std::string port_scan(int64_t t0, const std::string& target = "10.244.1.52") {
  std::string out;
  for (int p = 1; p <= 300; ++p) {
    Rec syn{t0 + p * 1000000LL, kAttacker, target};
    syn.dport = p, syn.src_ns = "shop", syn.src_pod = "cart-5f7d9c6b8-x2x9z";
    out += hubble(syn);
    Rec rst{t0 + p * 1000000LL + 50000, target, kAttacker};
    rst.sport = p, rst.dport = 40000, rst.flags = R"("ACK":true,"RST":true)", rst.reply = true;
    out += hubble(rst);
  }
  return out;
}

// A sweep of 10.244.7.0/24 on TCP/22 (nobody answers), from 10.244.3.17.
std::string host_sweep(int64_t t0) {
  std::string out;
  for (int h = 1; h <= 60; ++h) {
    Rec syn{t0 + h * 2000000LL, "10.244.3.17", "10.244.7." + std::to_string(h)};
    syn.dport = 22;
    out += hubble(syn);
  }
  return out;
}

// 3,000 SYNs to 10.244.1.60:8080 from 203.0.113.50 over a second, dropped.
std::string syn_flood(int64_t t0) {
  std::string out;
  for (int i = 0; i < 3000; ++i) {
    Rec syn{t0 + i * 300000LL, "203.0.113.50", "10.244.1.60"};
    syn.sport = 1024 + i, syn.dport = 8080, syn.verdict = i % 2 ? "DROPPED" : "FORWARDED";
    out += hubble(syn);
  }
  return out;
}

// 4,000 datagrams to 10.244.1.70:5060 from 10.244.2.30, none answered.
std::string udp_flood(int64_t t0) {
  std::string out;
  for (int i = 0; i < 4000; ++i) {
    Rec d{t0 + i * 200000LL, "10.244.2.30", "10.244.1.70", "UDP"};
    d.sport = 30000 + i % 20000, d.dport = 5060;
    out += hubble(d);
  }
  return out;
}

std::vector<Signal> detect_text(const std::string& text, detect::Thresholds t = {}) {
  detect::Detector d(t);
  FlowReadStats stats;
  FlowReadOptions ro;
  EXPECT_TRUE(read_flows_text(text, "test", ro, stats, [&d](const Flow& f) { d.add(f); }));
  return d.finish();
}

std::string demo_flows() {
  return test::gunzip(kSource + "/demo/flows/hubble.json.gz");
}

std::string describe(const std::vector<Signal>& v) {
  std::string s;
  for (const Signal& g : v) s += std::string(to_string(g.type)) + " " + g.evidence + "\n";
  return s;
}

TEST(Detect, DemoTrafficIsQuiet) {
  std::string demo = demo_flows();
  ASSERT_GT(demo.size(), 100000u);
  auto signals = detect_text(demo);
  EXPECT_TRUE(signals.empty()) << describe(signals);
}

TEST(Detect, PublishedHubbleSamplesAreQuiet) {
  std::string all;
  for (const auto& e : fs::directory_iterator(kSource + "/tests/data/samples/hubble"))
    all += test::slurp(e.path()) + "\n";
  auto signals = detect_text(all);
  EXPECT_TRUE(signals.empty()) << describe(signals);
}

// The four attacks of the bar hidden in the demo's ordinary traffic: each found once, naming
// the right source (scans, sweeps) or target (floods), nothing else.
TEST(Detect, FindsAttacksHiddenInOrdinaryTraffic) {
  std::string text = demo_flows() + port_scan(kDemoStart + 100000000) +
                     host_sweep(kDemoStart + 500000000) + syn_flood(kDemoStart + 200000000) +
                     udp_flood(kDemoStart + 1000000000);
  auto signals = detect_text(text);
  ASSERT_EQ(signals.size(), 4u) << describe(signals);
  std::map<SignalType, Signal> by;
  for (const Signal& s : signals) by[s.type] = s;
  const Signal& scan = by.at(SignalType::PortScan);
  EXPECT_EQ(scan.src, "shop/cart-5f7d9c6b8-x2x9z");       // named by the record
  EXPECT_EQ(scan.dst, "shop/payments-84b7f6d9c5-p9l2b");  // named by the demo's records
  EXPECT_EQ(scan.ports, 300u);
  const Signal& sweep = by.at(SignalType::HostSweep);
  EXPECT_EQ(sweep.src, "10.244.3.17");
  EXPECT_EQ(sweep.dst, "10.244.7.0/26");
  EXPECT_EQ(sweep.port, 22);
  EXPECT_EQ(sweep.targets, 60u);
  const Signal& syn = by.at(SignalType::SynFlood);
  EXPECT_EQ(syn.dst, "data/postgres-0");
  EXPECT_EQ(syn.src, "203.0.113.50");
  EXPECT_EQ(syn.port, 8080);
  EXPECT_EQ(syn.count, 3000u);
  const Signal& udp = by.at(SignalType::UdpFlood);
  EXPECT_EQ(udp.dst, "10.244.1.70");
  EXPECT_EQ(udp.src, "10.244.2.30");
  EXPECT_EQ(udp.port, 5060);
}

// Answered traffic of the same shapes is ordinary: a scraper reaching 60 pods on one port, a
// client opening 3,000 answered connections, DNS answered.
TEST(Detect, AnsweredFanOutAndLoadAreQuiet) {
  std::string text;
  for (int h = 1; h <= 60; ++h) {
    Rec syn{kDemoStart + h * 1000000LL, "10.244.0.5", "10.244.7." + std::to_string(h)};
    syn.dport = 9090;
    text += hubble(syn);
    Rec ack{syn.t + 100000, syn.dst, syn.src};
    ack.sport = 9090, ack.dport = 40000, ack.flags = R"("SYN":true,"ACK":true)", ack.reply = true;
    text += hubble(ack);
  }
  for (int i = 0; i < 3000; ++i) {
    Rec syn{kDemoStart + i * 300000LL, "10.244.2.8", "10.244.1.60"};
    syn.sport = 1024 + i, syn.dport = 8080;
    text += hubble(syn);
    Rec ack{syn.t + 50000, syn.dst, syn.src};
    ack.sport = 8080, ack.dport = syn.sport, ack.flags = R"("SYN":true,"ACK":true)";
    ack.reply = true;
    text += hubble(ack);
    Rec q{syn.t, "10.244.2.8", "10.96.0.10", "UDP"};
    q.sport = 20000 + i, q.dport = 53;
    text += hubble(q);
    Rec a{syn.t + 20000, "10.96.0.10", "10.244.2.8", "UDP"};
    a.sport = 53, a.dport = q.sport, a.reply = true;
    text += hubble(a);
  }
  auto signals = detect_text(text);
  EXPECT_TRUE(signals.empty()) << describe(signals);
}

TEST(Detect, IcmpFloodAndSweep) {
  std::string text;
  for (int i = 0; i < 1500; ++i)
    text += hubble(Rec{kDemoStart + i * 1000000LL, "10.244.2.40", "10.244.1.80", "ICMPv4"});
  for (int h = 1; h <= 30; ++h)
    text += hubble(
        Rec{kDemoStart + h * 1000000LL, "10.244.2.41", "10.244.9." + std::to_string(h), "ICMPv4"});
  // Pings answered are ordinary.
  for (int i = 0; i < 1500; ++i) {
    text += hubble(Rec{kDemoStart + i * 1000000LL, "10.244.2.42", "10.244.1.81", "ICMPv4"});
    Rec r{kDemoStart + i * 1000000LL + 1000, "10.244.1.81", "10.244.2.42", "ICMPv4"};
    r.reply = true;
    text += hubble(r);
  }
  auto signals = detect_text(text);
  ASSERT_EQ(signals.size(), 2u) << describe(signals);
  EXPECT_EQ(signals[0].type == SignalType::IcmpFlood ? signals[0].dst : signals[1].dst,
            "10.244.1.80");
  const Signal& sweep = signals[0].type == SignalType::HostSweep ? signals[0] : signals[1];
  EXPECT_EQ(sweep.type, SignalType::HostSweep);
  EXPECT_EQ(sweep.src, "10.244.2.41");
  EXPECT_EQ(sweep.protocol, L4Protocol::ICMPv4);
  EXPECT_EQ(sweep.targets, 30u);
}

// A burst that straddles a window boundary is judged whole (each window is judged with the one
// before), and a sweep of one host every two seconds (ten per two windows) is none until the
// window is longer.
TEST(Detect, WindowsOverlapAndThresholdsAreConfigurable) {
  const int64_t boundary = kDemoStart + 10000000000LL;
  auto signals = detect_text(host_sweep(boundary - 60000000));  // half before, half after
  ASSERT_EQ(signals.size(), 1u) << describe(signals);
  EXPECT_EQ(signals[0].targets, 60u);
  std::string slow;
  for (int h = 1; h <= 60; ++h) {
    Rec syn{kDemoStart + h * 2000000000LL, "10.244.3.17", "10.244.7." + std::to_string(h)};
    syn.dport = 22;
    slow += hubble(syn);
  }
  EXPECT_TRUE(detect_text(slow).empty());
  detect::Thresholds t;
  t.window_ns = int64_t{60} * 1000000000;
  EXPECT_EQ(detect_text(slow, t).size(), 1u);
  t = {};
  t.sweep_hosts = 61;
  EXPECT_TRUE(detect_text(host_sweep(kDemoStart), t).empty());
}

// Agent events (NDJSON) through the same reader: refused and unanswered connects count, an
// established one is answered, inbound events are the other side's evidence.
TEST(Detect, AgentEventsScanAndSynFlood) {
  std::string text;
  auto event = [](int64_t t, const std::string& dst, int port, const char* outcome,
                  const char* dir = "outbound") {
    return R"({"time":")" + agent::format_rfc3339_nano(t) +
           R"(","type":"connect","protocol":"TCP","direction":")" + dir + R"(","outcome":")" +
           outcome +
           R"(","src":{"ip":"192.0.2.1","port":40000,"namespace":"shop","pod":"client"},"dst":{"ip":")" +
           dst + R"(","port":)" + std::to_string(port) + R"(},"node":"n1"}
)";
  };
  for (int p = 1; p <= 100; ++p) text += event(kDemoStart + p * 1000, "192.0.2.2", p, "refused");
  for (int i = 0; i < 1200; ++i) text += event(kDemoStart + i * 1000, "192.0.2.99", 443, "timeout");
  for (int i = 0; i < 1200; ++i)
    text += event(kDemoStart + i * 1000, "192.0.2.3", 443, "established");
  for (int i = 0; i < 1200; ++i)
    text += event(kDemoStart + i * 1000, "192.0.2.4", 443, "accepted", "inbound");
  auto signals = detect_text(text);
  ASSERT_EQ(signals.size(), 2u) << describe(signals);
  for (const Signal& s : signals) {
    EXPECT_EQ(s.src, "shop/client");
    EXPECT_EQ(s.dst, s.type == SignalType::PortScan ? "192.0.2.2" : "192.0.2.99");
  }
}

// Aggregated edges (a node agent's batches): one edge per port or target carries the counts.
TEST(Detect, AggregatedEdges) {
  detect::Detector d;
  auto ip = [](const std::string& s) { return *IpAddr::parse(s); };
  for (uint16_t p = 1; p <= 40; ++p) {
    detect::AggregatedEdge e{ip("10.0.0.1"), ip("10.0.0.2"), "ns/a", "", L4Protocol::TCP, p, {}};
    e.stats = {2, kDemoStart, kDemoStart + 1000, 0, 2, 0};
    d.add(e);
  }
  detect::AggregatedEdge ok{ip("10.0.0.1"), ip("10.0.0.3"), "", "", L4Protocol::TCP, 80, {}};
  ok.stats = {5000, kDemoStart, kDemoStart + 1000, 5000, 0, 0};
  d.add(ok);
  detect::AggregatedEdge flood{ip("10.0.0.5"), ip("10.0.0.3"), "", "", L4Protocol::TCP, 81, {}};
  flood.stats = {5000, kDemoStart, kDemoStart + 1000, 10, 4990, 0};
  d.add(flood);
  auto signals = d.finish();
  ASSERT_EQ(signals.size(), 2u) << describe(signals);
  EXPECT_EQ(signals[0].src, "ns/a");
  EXPECT_EQ(signals[1].type, SignalType::SynFlood);
  EXPECT_EQ(signals[1].dst, "10.0.0.3");
  EXPECT_EQ(signals[1].count, 4990u);
}

// A stream: a window's signals come out once a whole window has passed after it, once.
TEST(Detect, StreamingTakesClosedWindowsOnce) {
  detect::Detector d;
  FlowReadStats stats;
  ASSERT_TRUE(
      read_flows_text(host_sweep(kDemoStart), "t", {}, stats, [&d](const Flow& f) { d.add(f); }));
  EXPECT_TRUE(d.take_closed(kDemoStart + 15000000000LL).empty());  // not closed yet
  auto s = d.take_closed(kDemoStart + 20000000000LL);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(d.take_closed(kDemoStart + 60000000000LL).empty());
  EXPECT_TRUE(d.finish().empty());
}

TEST(Detect, CoveringCidr) {
  auto ip = [](const std::string& s) { return *IpAddr::parse(s); };
  EXPECT_EQ(detect::covering_cidr({ip("10.1.2.3"), ip("10.1.2.200")}), "10.1.2.0/24");
  EXPECT_EQ(detect::covering_cidr({ip("10.1.2.3"), ip("10.1.3.3")}), "10.1.2.0/23");
  EXPECT_EQ(detect::covering_cidr({ip("10.1.2.3")}), "10.1.2.3/32");
  EXPECT_EQ(detect::covering_cidr({ip("2001:db8::1"), ip("2001:db8::ff")}), "2001:db8::/120");
}

// Generated cluster traffic (bench/gen_flows: DNS, probes, kubelet and pod scrapes, service
// fan-out, drops, refused connections) at 10,000 records/s: quiet. The CLI end to end: exit 0
// and the contract's object; with an attack added, exit 1 and the signal.
TEST(DetectCli, GeneratedClusterTrafficIsQuietAndTheContractHolds) {
  fs::path dir = test::fresh_dir("stk-detect", "cli");
  fs::path cluster = dir / "cluster.json", flows = dir / "flows.json";
  ASSERT_EQ(test::run_command(std::string(STOCKADE_GEN_CLUSTER) + " --pods 600 --namespaces 6 " +
                              "--policies 0 --out " + cluster.string())
                .status,
            0);
  ASSERT_EQ(test::run_command(std::string(STOCKADE_GEN_FLOWS) + " --cluster " + cluster.string() +
                              " --records 200000 --out " + flows.string())
                .status,
            0);
  auto r = test::run_command(std::string(STOCKADE_BINARY) + " detect -f " + cluster.string() +
                             " --flows " + flows.string() + " -o json 2>&1");
  ASSERT_EQ(r.status, 0) << r.out.substr(0, 4000);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["signals"].size(), 0u);
  EXPECT_EQ(j["summary"]["records"], 200000);
  std::ofstream(dir / "scan.json") << port_scan(kDemoStart + 100000000, "192.0.2.52");
  r = test::run_command(std::string(STOCKADE_BINARY) + " detect --flows " + flows.string() +
                        " --flows " + (dir / "scan.json").string() + " -o json");
  ASSERT_EQ(WEXITSTATUS(r.status), 1) << r.out.substr(0, 4000);
  j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["signals"].size(), 1u) << r.out.substr(0, 4000);
  const auto& s = j["signals"][0];
  EXPECT_EQ(s["type"], "port-scan");
  EXPECT_EQ(s["src"], "shop/cart-5f7d9c6b8-x2x9z");
  EXPECT_EQ(s["dst"], "192.0.2.52");
  EXPECT_EQ(s["ports"], 300);
  EXPECT_EQ(s["targets"], 1);
  EXPECT_EQ(s["count"], 300);
  EXPECT_EQ(s["first_seen"], "2026-01-01T00:00:00Z");
  EXPECT_TRUE(s["evidence"].is_string());
  r = test::run_command(std::string(STOCKADE_BINARY) + " detect --flows " + flows.string() +
                        " --window 0s 2>&1");
  EXPECT_EQ(WEXITSTATUS(r.status), 2) << r.out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stockade
