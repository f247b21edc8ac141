#include "input/flow_reader.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace stockade {
namespace {

namespace fs = std::filesystem;

// A flow with its strings copied out of the reader's buffer.
struct Copied {
  Flow f;  // its string views are dangling: use the copies below
  FlowKind kind;
  FlowOutcome outcome_kind;
  std::string src_ns, src_pod, dst_ns, dst_pod, src_wl, drop, node, src_reserved, dst_reserved,
      dst_svc, outcome, comm;
};

std::vector<Copied> read_text(std::string_view text, FlowReadStats& stats, bool strict = false,
                              Result<void>* result = nullptr) {
  std::vector<Copied> out;
  FlowReadOptions o;
  o.strict = strict;
  auto r = read_flows_text(text, "flows.json", o, stats, [&](const Flow& f) {
    Copied c{f,
             classify(f),
             outcome_of(f),
             std::string(f.src.ns),
             std::string(f.src.pod),
             std::string(f.dst.ns),
             std::string(f.dst.pod),
             std::string(f.src.workload),
             std::string(f.drop_reason),
             std::string(f.node),
             std::string(f.src.reserved),
             std::string(f.dst.reserved),
             std::string(f.dst.service_ns) + "/" + std::string(f.dst.service_name),
             std::string(f.agent_outcome),
             std::string(f.comm)};
    out.push_back(std::move(c));
  });
  if (result) *result = r;
  return out;
}

std::string sample(const std::string& name) {
  std::ifstream in(std::string(STOCKADE_SOURCE_DIR) + "/tests/data/samples/hubble/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(FlowReader, HubbleWrappedPolicyDeny) {
  std::string text = sample("cilium-1.18-policy-deny.json");
  ASSERT_FALSE(text.empty()) << "tests/data/samples/hubble is missing";
  FlowReadStats st;
  auto flows = read_text(text, st);
  ASSERT_EQ(flows.size(), 1u);
  const Copied& c = flows[0];
  EXPECT_EQ(c.f.verdict, FlowVerdict::Dropped);
  EXPECT_EQ(c.drop, "POLICY_DENY");
  EXPECT_EQ(c.src_ns, "net-lab");
  EXPECT_EQ(c.src_pod, "traffic-generator-9b649846d-bxqfc");
  EXPECT_EQ(c.src_wl, "traffic-generator");
  EXPECT_EQ(c.dst_pod, "echo-server-65887564dc-jjw7k");
  EXPECT_EQ(c.f.l4, L4Protocol::TCP);
  EXPECT_EQ(c.f.src.port, 60524);
  EXPECT_EQ(c.f.dst.port, 80);
  EXPECT_TRUE(c.f.tcp.syn);
  EXPECT_FALSE(c.f.tcp.ack);
  EXPECT_EQ(c.f.direction, TrafficDirection::Egress);
  EXPECT_EQ(c.f.src.ip->str(), "10.0.1.235");
  EXPECT_EQ(c.f.time_ns, *parse_rfc3339("2026-07-31T10:41:02.202450754Z"));
  // A policy-verdict event (event_type 5) repeats the drop event of the same packet: evidence
  // of the edge, not another connection.
  EXPECT_TRUE(c.f.policy_verdict);
  EXPECT_EQ(c.kind, FlowKind::Other);
  EXPECT_EQ(c.outcome_kind, FlowOutcome::Dropped);
}

TEST(FlowReader, AllSamplesParse) {
  for (const char* name : {"cilium-1.18-policy-deny.json", "cilium-1.19-node-labels.json",
                           "docs-export-dropped.json", "gke-unwrapped-forwarded.json"}) {
    std::string text = sample(name);
    ASSERT_FALSE(text.empty()) << "tests/data/samples/hubble is missing";
    FlowReadStats st;
    auto flows = read_text(text, st);
    EXPECT_EQ(flows.size(), 1u) << name;
    EXPECT_EQ(st.malformed, 0u) << name;
  }
  FlowReadStats st;
  auto gke = read_text(sample("gke-unwrapped-forwarded.json"), st);
  ASSERT_EQ(gke.size(), 1u);
  EXPECT_EQ(gke[0].f.verdict, FlowVerdict::Forwarded);
  auto node = read_text(sample("cilium-1.19-node-labels.json"), st);
  ASSERT_EQ(node.size(), 1u);
  ASSERT_TRUE(node[0].f.is_reply.has_value());
  EXPECT_FALSE(*node[0].f.is_reply);
  EXPECT_EQ(node[0].dst_pod, "nginx-54c98b4f84-sw9q9");
  EXPECT_EQ(node[0].kind, FlowKind::Other);  // an ACK mid-connection
}

TEST(FlowReader, AgentEvents) {
  FlowReadStats st;
  auto flows = read_text(
      R"({"time":"2026-01-02T03:04:05.123456789Z","type":"connect","protocol":"TCP","direction":"outbound","outcome":"refused","src":{"ip":"10.0.0.1","port":40000},"dst":{"ip":"10.0.0.2","port":8080},"process":{"pid":42,"comm":"curl","cgroup_id":7},"netns":4026531840,"node":"n1"}
{"time":"2026-01-02T03:04:06Z","type":"connect","protocol":"UDP","direction":"outbound","outcome":"established","src":{"ip":"fd00::1","port":5353},"dst":{"ip":"fd00::2","port":53}}
)",
      st);
  ASSERT_EQ(flows.size(), 2u);
  EXPECT_EQ(flows[0].outcome, "refused");
  EXPECT_EQ(flows[0].comm, "curl");
  EXPECT_EQ(flows[0].f.pid, 42);
  EXPECT_EQ(flows[0].node, "n1");
  EXPECT_EQ(flows[0].f.dst.port, 8080);
  EXPECT_EQ(flows[0].kind, FlowKind::Start);
  EXPECT_EQ(flows[0].outcome_kind, FlowOutcome::Failed);
  EXPECT_EQ(flows[1].f.l4, L4Protocol::UDP);
  EXPECT_TRUE(flows[1].f.dst.ip->v6);
  EXPECT_EQ(flows[1].outcome_kind, FlowOutcome::Established);
}

TEST(FlowReader, MalformedLinesAreCountedAndNamed) {
  FlowReadStats st;
  std::string text =
      "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\",\"destination\":"
      "\"10.0.0.2\"}}}\n"
      "not json\n"
      "\n"
      "{\"lost_events\":{\"num_events_lost\":\"3\"}}\n"
      "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"999.0.0.1\"}}}\n"
      "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\"";
  auto flows = read_text(text, st);
  EXPECT_EQ(flows.size(), 1u);
  EXPECT_EQ(st.malformed, 3u);
  EXPECT_EQ(st.ignored, 1u);
  ASSERT_EQ(st.problems.size(), 3u);
  EXPECT_EQ(st.problems[0].line, 2);
  EXPECT_EQ(st.problems[1].line, 5);
  EXPECT_EQ(st.problems[2].line, 6);  // truncated last line
  EXPECT_EQ(st.problems[0].file, "flows.json");

  FlowReadStats strict_stats;
  Result<void> r;
  read_text(text, strict_stats, true, &r);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().line, 2);
}

TEST(FlowReader, EscapesTrailingContentAndWrongTypes) {
  FlowReadStats st;
  std::string text =
      // Escaped key and escaped values are read as their unescaped text.
      "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\",\"destination\":"
      "\"10.0.0.2\"},\"source\":{\"namesp\\u0061ce\":\"sh\\u006fp\",\"pod_name\":\"a\\u002db\"},"
      "\"node_name\" : \"n1\" }}\n"
      // Two objects on one line: not one record.
      "{\"flow\":{\"verdict\":\"FORWARDED\"}}{\"flow\":{\"verdict\":\"DROPPED\"}}\n"
      // A number where a string belongs.
      "{\"flow\":{\"verdict\":\"FORWARDED\",\"source\":{\"namespace\":5}}}\n"
      // Not an object.
      "[1,2]\n";
  auto flows = read_text(text, st);
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].src_ns, "shop");
  EXPECT_EQ(flows[0].src_pod, "a-b");  // (a quote is no pod name: such a record is refused)
  EXPECT_EQ(flows[0].node, "n1");
  EXPECT_EQ(st.malformed, 3u);
  ASSERT_EQ(st.problems.size(), 3u);
  EXPECT_EQ(st.problems[0].line, 2);
  EXPECT_EQ(st.problems[1].line, 3);
  EXPECT_EQ(st.problems[2].line, 4);
}

// The reader walks simdjson's stage-1 tokens itself: JSON grammar, numbers and literals are
// checked for every value it reads, and labels are read for their reserved entries only.
TEST(FlowReader, GrammarNumbersAndReservedLabels) {
  auto line = [](std::string_view inner) {
    return "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\",\"destination\":"
           "\"10.0.0.2\"}," +
           std::string(inner) + "}}\n";
  };
  std::string good =
      line("\"l4\" : { \"TCP\" : { \"destination_port\" : 80 , \"flags\":{\"SYN\":true} } }") +
      line("\"destination\":{\"labels\":[\"k8s:app=x\",\"\\u0072eserved:world\"]}") +
      line(
          "\"source\":{\"labels\":[\"reserved:host\",\"reserved:kube-apiserver\"]},"
          "\"is_reply\":null,\"event_type\":{\"type\":\"x\"},\"skipped\":[{\"a\":[1,{}]},2]");
  std::string bad = line("\"l4\":{\"TCP\":{\"destination_port\":08}}") +           // leading zero
                    line("\"l4\":{\"TCP\":{\"destination_port\":8.0}}") +          // not an integer
                    line("\"l4\":{\"TCP\":{\"destination_port\":-1}}") +           // negative
                    line("\"l4\":{\"TCP\":{\"destination_port\":80x}}") +          // trailing junk
                    line("\"l4\":{\"TCP\":{\"flags\":{\"SYN\":tru}}}") +           // not a literal
                    line("\"l4\":{\"TCP\":{\"destination_port\":80,}}") +          // trailing comma
                    line("\"node_name\" \"n1\"") +                                 // missing colon
                    line("\"skipped\":[1,2") +                                     // unclosed array
                    line("\"destination\":{\"labels\":[\"reserved:world\",5]}") +  // not a string
                    line("\"source\":{\"pod_name\":\"a\\qb\"}");                   // bad escape
  FlowReadStats st;
  auto flows = read_text(good + bad, st);
  ASSERT_EQ(flows.size(), 3u);
  EXPECT_EQ(flows[0].f.dst.port, 80);
  EXPECT_TRUE(flows[0].f.tcp.syn);
  EXPECT_EQ(flows[1].dst_reserved, "world");
  EXPECT_EQ(flows[2].src_reserved, "host");
  EXPECT_FALSE(flows[2].f.is_reply.has_value());
  EXPECT_EQ(st.malformed, 10u);
  for (size_t i = 0; i < st.problems.size(); ++i) EXPECT_EQ(st.problems[i].line, 4 + int(i));
}

// Endpoint objects seen before are not walked again (their text is remembered): a repeat
// reads exactly as the first, and one byte of difference is another endpoint.
TEST(FlowReader, RepeatedEndpointsReadAlike) {
  auto line = [](const std::string& pod, const std::string& extra = "") {
    return "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\",\"destination\":"
           "\"10.0.0.2\"},\"source\":{\"ID\":7,\"identity\":4242,\"namespace\":\"shop\","
           "\"labels\":[\"k8s:app=web\",\"reserved:host\"" +
           extra + "],\"pod_name\":\"" + pod +
           "\",\"workloads\":[{\"name\":\"web\",\"kind\":\"Deployment\"}]},"
           "\"destination\":{\"namespace\":\"db\",\"pod_name\":\"pg-0\"}}}\n";
  };
  std::string text = line("web-1") + line("web-1") + line("web-2") + line("web-1") +
                     line("web-1", ",\"reserved:world\"") + line("web-1");
  FlowReadStats st;
  auto flows = read_text(text, st);
  ASSERT_EQ(flows.size(), 6u);
  for (size_t i = 0; i < flows.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(flows[i].src_ns, "shop");
    EXPECT_EQ(flows[i].src_pod, i == 2 ? "web-2" : "web-1");
    EXPECT_EQ(flows[i].src_wl, "web");
    EXPECT_EQ(flows[i].src_reserved, "host");  // host wins over world
    EXPECT_EQ(flows[i].f.src.identity, 4242u);
    EXPECT_EQ(flows[i].dst_ns, "db");
    EXPECT_EQ(flows[i].dst_pod, "pg-0");
  }
}

// Endpoint objects that begin alike and differ in length by two bytes (the namespace): the
// shorter one's end falls on the `}` of the longer one's last workload, which must not be
// taken for its end. Both are read directly once remembered, and read right.
TEST(FlowReader, EndpointsThatBeginAlikeAreReadDirectly) {
  auto line = [](const std::string& ns) {
    return "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\","
           "\"destination\":\"10.0.0.2\"},\"source\":{\"identity\":15430,\"cluster_name\":"
           "\"default\",\"namespace\":\"" +
           ns +
           "\",\"labels\":[\"k8s:app=pg\"],\"pod_name\":\"pg-0\",\"workloads\":[{\"name\":"
           "\"pg\",\"kind\":\"StatefulSet\"}]},\"destination\":{\"identity\":2,\"labels\":"
           "[\"reserved:world\"]}}}\n";
  };
  std::string text;
  const int pairs = 50;
  for (int i = 0; i < pairs; ++i) text += line("db") + line("db-2");
  for (bool direct : {false, true}) {
    SCOPED_TRACE(direct);
    FlowReadOptions o;
    o.threads = 1;
    o.direct = direct;
    FlowReadStats st;
    std::vector<std::string> ns;
    auto r =
        read_flows_text(text, "f.json", o, st, [&](const Flow& f) { ns.emplace_back(f.src.ns); });
    ASSERT_TRUE(r) << r.error().str();
    ASSERT_EQ(ns.size(), 2u * pairs);
    for (size_t i = 0; i < ns.size(); ++i) ASSERT_EQ(ns[i], i % 2 ? "db-2" : "db") << i;
    // Only the first line with each source object is walked.
    EXPECT_EQ(st.direct, direct ? 2u * pairs - 2 : 0u);
  }
}

// The direct path's table of remembered endpoints starts small and grows with them: after
// thousands of distinct objects, every one of them is still found when it comes again.
TEST(FlowReader, ManyEndpointsAreAllFoundAgain) {
  auto line = [](int pod) {
    return "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\","
           "\"destination\":\"10.0.0.2\"},\"source\":{\"identity\":" +
           std::to_string(10000 + pod) +
           ",\"cluster_name\":\"default\",\"namespace\":\"shop\",\"pod_name\":\"web-" +
           std::to_string(pod) +
           "\"},\"destination\":{\"identity\":2,\"labels\":[\"reserved:world\"]}}}\n";
  };
  const int pods = 5000;
  std::string text;
  for (int round = 0; round < 2; ++round)
    for (int i = 0; i < pods; ++i) text += line(i);
  FlowReadOptions o;
  o.threads = 1;
  FlowReadStats st;
  std::vector<std::string> names;
  auto r =
      read_flows_text(text, "f.json", o, st, [&](const Flow& f) { names.emplace_back(f.src.pod); });
  ASSERT_TRUE(r) << r.error().str();
  ASSERT_EQ(names.size(), 2u * pods);
  for (int i = 0; i < 2 * pods; ++i) ASSERT_EQ(names[i], "web-" + std::to_string(i % pods)) << i;
  // The first round walks each line (its source is new); the second reads them directly,
  // but for the odd object whose bucket of the table was full.
  EXPECT_LE(st.direct, static_cast<uint64_t>(pods));
  EXPECT_GE(st.direct, static_cast<uint64_t>(pods) * 99 / 100);
}

// Strings with escapes that a record's fields hold (Hubble writes `&` as \u0026) are read
// directly too, unescaped, each record keeping its own.
TEST(FlowReader, EscapedStringsAreReadDirectly) {
  auto line = [](int page) {
    return "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\","
           "\"destination\":\"10.0.0.2\"},\"source\":{\"identity\":15430,\"namespace\":"
           "\"shop\",\"pod_name\":\"web-0\"},\"node_name\":\"node\\u002d1\",\"l7\":{\"type\":"
           "\"REQUEST\",\"http\":{\"method\":\"GET\",\"url\":\"http://shop/search?q=a\\u0026page=" +
           std::to_string(page) + "\"}}}}\n";
  };
  std::string text;
  for (int page = 1; page <= 9; ++page) text += line(page);
  FlowReadOptions o;
  o.threads = 1;
  FlowReadStats st;
  std::vector<std::string> urls, nodes;
  auto r = read_flows_text(text, "f.json", o, st, [&](const Flow& f) {
    urls.emplace_back(f.l7_info ? f.l7_info->http_url : "");
    nodes.emplace_back(f.node);
  });
  ASSERT_TRUE(r) << r.error().str();
  ASSERT_EQ(urls.size(), 9u);
  for (int page = 1; page <= 9; ++page) {
    EXPECT_EQ(urls[page - 1], "http://shop/search?q=a&page=" + std::to_string(page));
    EXPECT_EQ(nodes[page - 1], "node-1");
  }
  EXPECT_EQ(st.direct, 8u);  // all but the first: its source object was not remembered yet
}

// Peer hints are computed once per endpoint object a parser remembers and given to every
// repeat; a record that names its source twice, or an agent event's pod UID, gets the hint of
// what the record finally says.
TEST(FlowReader, PeerHintsFollowTheFinalPeer) {
  auto hubble = [](const std::string& endpoints) {
    return "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\","
           "\"destination\":\"10.0.0.2\"}," +
           endpoints + "}}\n";
  };
  const std::string web1 = "\"source\":{\"namespace\":\"shop\",\"pod_name\":\"web-1\"}";
  const std::string web2 = "\"source\":{\"namespace\":\"shop\",\"pod_name\":\"web-2\"}";
  const std::string pg = "\"destination\":{\"namespace\":\"db\",\"pod_name\":\"pg-0\"}";
  std::string text = hubble(web1 + "," + pg) + hubble(web1 + "," + pg) + hubble(web2 + "," + pg) +
                     hubble(web1 + "," + web2 + "," + pg) + hubble(web1 + "," + pg) +
                     // a first-seen object under a repeated key, then a bad one
                     hubble(
                         "\"source\":{\"namespace\":\"shop\",\"pod_name\":\"web-4\"},\"source\":{"
                         "\"namespace\":\"shop\",\"pod_name\":\"web-3\"}," +
                         pg) +
                     hubble("\"source\":{\"namespace\":\"shop\",\"pod_name\":7}," + pg) +
                     "{\"type\":\"connect\",\"direction\":\"outbound\",\"pod_uid\":\"u-1\","
                     "\"src\":{\"ip\":\"10.0.0.1\",\"port\":1},\"dst\":{\"ip\":\"10.0.0.2\","
                     "\"port\":2}}\n";
  std::atomic<int> calls{0};
  FlowReadOptions o;
  o.threads = 1;
  o.peer_hint = [&](const FlowPeer& p) -> uint32_t {
    ++calls;
    return static_cast<uint32_t>(std::hash<std::string>{}(std::string(p.pod_uid) + "|" +
                                                          std::string(p.ns) + "/" +
                                                          std::string(p.pod)) |
                                 1);
  };
  std::vector<std::string> pods;
  int checked = 0;
  FlowReadStats st;
  auto r = read_flows_text(text, "f.json", o, st, [&](const Flow& f) {
    SCOPED_TRACE(pods.size());
    pods.push_back(std::string(f.src.pod) + "," + std::string(f.dst.pod));
    for (const FlowPeer* p : {&f.src, &f.dst}) {
      FlowPeer copy = *p;
      copy.hint = 0;
      EXPECT_EQ(p->hint, o.peer_hint(copy));
      ++checked;
    }
  });
  ASSERT_TRUE(r) << r.error().str();
  ASSERT_EQ(pods.size(), 7u);
  EXPECT_EQ(pods[3], "web-2,pg-0");
  EXPECT_EQ(pods[5], "web-3,pg-0");
  EXPECT_EQ(st.malformed, 1u);
  ASSERT_EQ(st.problems.size(), 1u);
  EXPECT_EQ(st.problems[0].line, 7);
  EXPECT_EQ(checked, 14);
  // web-1, pg-0, web-2, the repeated source, web-4 and web-3, the agent event's two peers; and
  // the checks above.
  EXPECT_EQ(calls.load(), 8 + 14);
}

// A remembered endpoint reads as the object itself, whatever else of the record names the
// peer and in whichever order: each line below is read twice (first walked, then remembered)
// and must give the same peer both times.
TEST(FlowReader, RememberedEndpointsKeepTheOrderOfKeys) {
  const std::string obj =
      "{\"identity\":5,\"namespace\":\"shop\",\"labels\":[\"k8s:app=web\"],\"pod_name\":\"web-1\","
      "\"workloads\":[{\"name\":\"web\",\"kind\":\"Deployment\"}]}";
  const std::string agent_src =
      "\"src\":{\"ip\":\"10.0.0.1\",\"port\":1,\"namespace\":\"other\",\"pod\":\"p-9\"}";
  const std::string ip = "\"IP\":{\"source\":\"10.0.0.1\",\"destination\":\"10.0.0.2\"}";
  // In the order of the keys, the later one wins (the agent's peer has no workload).
  const std::pair<std::string, std::string> cases[] = {
      {"\"source\":" + obj + "," + agent_src + "," + ip, "other/p-9"},
      {agent_src + ",\"source\":" + obj + "," + ip, "shop/web-1"}};
  for (const auto& [body, peer] : cases) {
    SCOPED_TRACE(body);
    const std::string line = "{\"flow\":{\"verdict\":\"FORWARDED\"," + body + "}}\n";
    FlowReadStats st;
    auto flows = read_text(line + line, st);
    ASSERT_EQ(flows.size(), 2u);
    EXPECT_EQ(flows[0].src_ns + "/" + flows[0].src_pod, peer);
    EXPECT_EQ(flows[0].src_ns, flows[1].src_ns);
    EXPECT_EQ(flows[0].src_pod, flows[1].src_pod);
    EXPECT_EQ(flows[0].src_wl, flows[1].src_wl);
    EXPECT_EQ(flows[0].f.src.identity, flows[1].f.src.identity);
  }
}

// Inputs larger than one chunk are parsed by worker threads; the records, their order, the
// counts and the line numbers of bad lines are the same as with one thread.
TEST(FlowReader, ParallelReadingMatchesOneThread) {
  std::string text;
  std::vector<int> bad_lines;
  int line = 0;
  for (int i = 0; i < 60000; ++i) {
    ++line;
    if (i % 7919 == 5) {
      text += "{\"flow\": {\"verdict\": \"FORWARDED\", \"IP\": {\"source\": \"10.0.0.1\"\n";
      bad_lines.push_back(line);
      continue;
    }
    if (i % 5000 == 1) {  // blank and ignored lines
      text += "\n";
      continue;
    }
    if (i == 30000) {  // one line longer than a chunk
      text +=
          "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.9\",\"destination\":"
          "\"10.0.0.8\"},\"Summary\":\"" +
          std::string(3 << 20, 'x') + "\"}}\n";
      continue;
    }
    text +=
        "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\",\"destination\":"
        "\"10.0.0.2\"},\"source\":{\"namespace\":\"ns" +
        std::to_string(i % 97) + "\",\"pod_name\":\"p\\u002d" + std::to_string(i) +
        "\"},\"l4\":{\"TCP\":{\"source_port\":" + std::to_string(1024 + i % 60000) +
        ",\"destination_port\":80,\"flags\":{\"SYN\":true}}}}}\n";
  }
  // The same text read from a file: the same again.
  fs::path file =
      fs::temp_directory_path() / ("stockade-big-" + std::to_string(getpid()) + ".json");
  std::ofstream(file, std::ios::binary) << text;
  auto read = [&](unsigned threads, FlowReadStats& st, bool from_file = false) {
    std::vector<std::string> out;
    std::vector<std::pair<std::string, size_t>> upcoming;  // and how many had reached the sink
    FlowReadOptions o;
    o.threads = threads;
    o.max_reported = 100;
    auto key = [](const Flow& f) {
      return std::string(f.src.ns) + "/" + std::string(f.src.pod) + ":" +
             std::to_string(f.src.port) + ">" + (f.dst.ip ? f.dst.ip->str() : "-");
    };
    o.upcoming = [&](const Flow& f) { upcoming.emplace_back(key(f), out.size()); };
    auto sink = [&](const Flow& f) { out.push_back(key(f)); };
    auto r = from_file ? read_flows(file.string(), o, st, sink)
                       : read_flows_text(text, "big.json", o, st, sink);
    EXPECT_TRUE(r);
    // A record announced as upcoming reaches the sink a few records later.
    EXPECT_GT(upcoming.size(), out.size() * 9 / 10);
    for (const auto& [k, delivered] : upcoming) {
      bool later = false;
      for (size_t i = delivered; i < out.size() && i < delivered + 16; ++i) later |= out[i] == k;
      EXPECT_TRUE(later) << k;
      if (!later) break;
    }
    return out;
  };
  // One thread parses everything; two and four: the calling thread and workers share chunks.
  FlowReadStats one, two, four, file_one, file_four;
  auto a = read(1, one);
  EXPECT_EQ(read(2, two), a);
  auto b = read(4, four);
  EXPECT_EQ(a, b);
  EXPECT_EQ(read(1, file_one, true), a);
  EXPECT_EQ(read(4, file_four, true), a);
  EXPECT_EQ(file_four.lines, four.lines);
  EXPECT_EQ(two.lines, four.lines);
  ASSERT_EQ(file_four.problems.size(), bad_lines.size());
  for (size_t i = 0; i < bad_lines.size(); ++i) EXPECT_EQ(file_four.problems[i].line, bad_lines[i]);
  fs::remove(file);
  EXPECT_EQ(a.size(), one.records);
  EXPECT_EQ(one.records, four.records);
  EXPECT_EQ(one.lines, four.lines);
  EXPECT_EQ(one.lines, 60000u);
  ASSERT_EQ(four.problems.size(), bad_lines.size());
  for (size_t i = 0; i < bad_lines.size(); ++i) EXPECT_EQ(four.problems[i].line, bad_lines[i]);
  EXPECT_EQ(a[1], "ns2/p-2:1026>10.0.0.2");  // line 2 is blank

  // --strict stops at the first bad line, after every record before it.
  FlowReadStats strict_stats;
  FlowReadOptions o;
  o.strict = true;
  o.threads = 4;
  uint64_t seen = 0;
  auto r = read_flows_text(text, "big.json", o, strict_stats, [&](const Flow&) { ++seen; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().line, bad_lines[0]);
  EXPECT_EQ(seen, static_cast<uint64_t>(bad_lines[0] - 1 - 1));  // minus the blank line 2
}

// A flow file that another process cuts short while it is read: what was read is not the
// file, an error names it (the command exits 2), not a silent partial answer.
TEST(FlowReader, AFileCutShortWhileItIsReadIsAnError) {
  fs::path file =
      fs::temp_directory_path() / ("stockade-truncated-" + std::to_string(getpid()) + ".json");
  {
    std::ofstream out(file, std::ios::binary);
    const std::string line =
        "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\",\"destination\":"
        "\"10.0.0.2\"},\"l4\":{\"TCP\":{\"source_port\":1234,\"destination_port\":80}}}}\n";
    for (size_t n = 0; n < (size_t{16} << 20); n += line.size()) out << line;
  }
  FlowReadOptions o;
  o.threads = 2;
  FlowReadStats st;
  bool truncated = false;
  auto r = read_flows(file.string(), o, st, [&](const Flow&) {
    if (!truncated) fs::resize_file(file, 4096);
    truncated = true;
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().file, file.string());
  EXPECT_EQ(r.error().message, "the file changed while it was read");

  // The same file read whole is fine.
  FlowReadStats whole;
  uint64_t records = 0;
  ASSERT_TRUE(read_flows(file.string(), o, whole, [&](const Flow&) { ++records; }));
  EXPECT_EQ(records, whole.records);
  EXPECT_GT(records, 0u);
  fs::remove(file);
}

// Stdin may be a regular file that another program has read partly (`(head -n 1; stockade map
// --flows -) < flows.json`): what is left of it is the input, not a file cut short.
TEST(FlowReader, StdinFromAFileReadPartlyIsWhatIsLeft) {
  fs::path file =
      fs::temp_directory_path() / ("stockade-stdin-" + std::to_string(getpid()) + ".json");
  const std::string line =
      "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\",\"destination\":"
      "\"10.0.0.2\"},\"l4\":{\"TCP\":{\"source_port\":1234,\"destination_port\":80}}}}\n";
  {
    std::ofstream out(file, std::ios::binary);
    for (int i = 0; i < 10; ++i) out << line;
  }
  int saved = ::dup(0);
  ASSERT_GE(saved, 0);
  int fd = ::open(file.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::lseek(fd, static_cast<off_t>(3 * line.size()), SEEK_SET),
            static_cast<off_t>(3 * line.size()));
  ASSERT_EQ(::dup2(fd, 0), 0);
  ::close(fd);
  FlowReadStats st;
  auto r = read_flows("-", FlowReadOptions{}, st, [](const Flow&) {});
  ::dup2(saved, 0);
  ::close(saved);
  fs::remove(file);
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(st.records, 7u);
}

// Lines of the common shape are read straight from their text (the direct path), the others
// walked through simdjson's index. Each line below, its remembered endpoints warm, is
// mutated a byte at a time (replaced by a byte that matters to JSON, or deleted): read both
// ways, every variant gives the same records, the same bad lines and the same errors.
TEST(FlowReader, DirectPathMatchesTheWalk) {
  const std::string src =
      "\"source\":{\"ID\":3997,\"identity\":8370,\"cluster_name\":\"default\",\"namespace\":"
      "\"shop\",\"labels\":[\"k8s:app=web\",\"k8s:tier=api\"],\"pod_name\":\"web-5d9f-abcde\","
      "\"workloads\":[{\"name\":\"web\",\"kind\":\"Deployment\"}]}";
  const std::string dst =
      "\"destination\":{\"identity\":15430,\"cluster_name\":\"default\",\"namespace\":\"db\","
      "\"labels\":[\"k8s:app=pg\"],\"pod_name\":\"pg-0\",\"workloads\":[{\"name\":\"pg\","
      "\"kind\":\"StatefulSet\"}]}";
  const std::string host = "\"source\":{\"identity\":1,\"labels\":[\"reserved:host\"]}";
  std::vector<std::string> lines = {
      "{\"flow\":{\"time\":\"2026-01-01T00:00:00.000099450Z\",\"uuid\":\"9c42-33ff\","
      "\"verdict\":\"DROPPED\",\"drop_reason\":133,\"ethernet\":{\"source\":\"46:a5\","
      "\"destination\":\"56:00\"},\"IP\":{\"source\":\"10.64.80.21\",\"destination\":"
      "\"10.64.13.14\",\"ipVersion\":\"IPv4\"},\"l4\":{\"UDP\":{\"source_port\":49890,"
      "\"destination_port\":514}}," +
          src + "," + dst +
          ",\"Type\":\"L3_L4\",\"node_name\":\"default/node-0080\",\"event_type\":{\"type\":1,"
          "\"sub_type\":133},\"traffic_direction\":\"EGRESS\",\"file\":{\"name\":\"bpf_lxc.c\","
          "\"line\":1375},\"drop_reason_desc\":\"POLICY_DENIED\",\"Summary\":\"UDP\"},"
          "\"node_name\":\"default/node-0080\",\"time\":\"2026-01-01T00:00:00.000099450Z\"}",
      "{\"time\":\"2026-01-01T00:00:01Z\",\"verdict\":\"FORWARDED\",\"IP\":{\"source\":"
      "\"10.1.0.104\",\"destination\":\"10.64.94.18\"},\"l4\":{\"TCP\":{\"source_port\":44289,"
      "\"destination_port\":9090,\"flags\":{\"SYN\":true,\"ACK\":false}}}," +
          host + "," + dst +
          ",\"is_reply\":false,\"destination_service\":{\"name\":\"pg\",\"namespace\":\"db\"},"
          "\"event_type\":{\"type\":5},\"Type\":\"SOCK\",\"interface\":{\"index\":107,\"name\":"
          "\"lxcaf\"},\"trace_observation_point\":\"TO_ENDPOINT\",\"x\":[1,-2.5e3,true,null,{}]}",
  };
  lines.push_back("  " + lines[1] + " \t\r");  // blanks around it
  // L7: DNS and HTTP, with an escape in a string that is skipped.
  lines.push_back(
      "{\"flow\":{\"time\":\"2026-01-01T00:00:00.017724452Z\",\"verdict\":\"FORWARDED\",\"IP\":{"
      "\"source\":\"10.64.1.1\",\"destination\":\"10.64.48.14\"},\"l4\":{\"UDP\":{\"source_port\":"
      "53,"
      "\"destination_port\":53238}}," +
      src + "," + dst +
      ",\"Type\":\"L7\",\"l7\":{\"type\":\"RESPONSE\",\"latency_ns\":\"2931260\",\"dns\":{"
      "\"query\":"
      "\"web.shop.svc.cluster.local.\",\"ips\":[\"10.96.5.253\",\"fd00::1\"],\"rcode\":3,\"ttl\":"
      "30,"
      "\"qtypes\":[\"A\"]}},\"is_reply\":true,\"Summary\":\"DNS Answer \\\"10.96.5.253\\\" TTL: "
      "30\"}}");
  lines.push_back(
      "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.64.26.8\",\"destination\":"
      "\"10.64.48.21\"}," +
      src + "," + dst +
      ",\"Type\":\"L7\",\"l7\":{\"type\":\"REQUEST\",\"latency_ns\":120,\"http\":{\"method\":"
      "\"PUT\","
      "\"url\":\"http://10.64.48.21:15090/v1/orders/4711\",\"protocol\":\"HTTP/1.1\",\"code\":200,"
      "\"headers\":[{\"key\":\"User-Agent\",\"value\":\"curl/8\"}]}}}}");
  // Escapes in strings that are read (Go's encoder writes `&` as \u0026), and a bad one.
  for (const char* url : {"http://shop/search?q=red+shoes\\u0026page=2",
                          "http://shop/\\\"quoted\\\"\\/\\ud83d\\ude00", "http://shop/\\ud83d"})
    lines.push_back(
        "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.64.26.8\",\"destination\":"
        "\"10.64.48.21\"}," +
        src + "," + dst +
        ",\"node_name\":\"default/node-\\u0031\",\"l7\":{\"type\":\"REQUEST\","
        "\"http\":{\"method\":\"GET\",\"url\":\"" +
        url + "\"}}}}");
  for (const char* name : {"cilium-1.18-policy-deny.json", "gke-unwrapped-forwarded.json",
                           "docs-export-dropped.json"}) {
    std::string text = sample(name);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (!text.empty() && text.find('\n') == std::string::npos) lines.push_back(text);
  }
  // (A newline splits the line in two: the direct path finds a line's end as it reads.)
  const std::string replacements = std::string("\"\\{}[],: x0-e\x01\xc3\x7f\r\n") + '\t';
  std::string text;
  int variants = 0;
  for (const std::string& line : lines) {
    text += line + "\n" + line + "\n";  // the second time, read directly
    for (size_t k = 0; k < line.size(); ++k) {
      for (size_t j = 0; j < 6; ++j) {  // six of the edits at each byte
        const size_t r = (k + j * 3) % (replacements.size() + 1);
        std::string m = line;
        if (r == replacements.size()) {
          m.erase(k, 1);
        } else {
          if (m[k] == replacements[r]) continue;
          m[k] = replacements[r];
        }
        text += m + "\n" + line + "\n";
        ++variants;
      }
    }
  }
  ASSERT_GT(variants, 5000);
  auto read = [&](bool direct, FlowReadStats& st) {
    std::vector<std::string> out;
    FlowReadOptions o;
    o.threads = 1;
    o.direct = direct;
    o.max_reported = SIZE_MAX;
    o.peer_hint = [](const FlowPeer& p) {
      return static_cast<uint32_t>(
          std::hash<std::string>{}(std::string(p.ns) + "/" + std::string(p.pod)) | 1);
    };
    auto r =
        read_flows_text(text, "f.json", o, st, [&](const Flow& f) { out.push_back(describe(f)); });
    EXPECT_TRUE(r) << r.error().str();
    return out;
  };
  FlowReadStats walked_stats, direct_stats;
  const std::vector<std::string> walked = read(false, walked_stats);
  const std::vector<std::string> direct = read(true, direct_stats);
  ASSERT_EQ(walked.size(), direct.size());
  for (size_t i = 0; i < walked.size(); ++i) ASSERT_EQ(walked[i], direct[i]) << "record " << i;
  EXPECT_EQ(walked_stats.records, direct_stats.records);
  EXPECT_EQ(walked_stats.ignored, direct_stats.ignored);
  ASSERT_EQ(walked_stats.problems.size(), direct_stats.problems.size());
  for (size_t i = 0; i < walked_stats.problems.size(); ++i)
    ASSERT_EQ(walked_stats.problems[i].str(), direct_stats.problems[i].str());
  // Most variants are still records, and some are not; most lines were read directly.
  EXPECT_GT(walked_stats.records, static_cast<uint64_t>(variants));
  EXPECT_GT(walked_stats.malformed, static_cast<uint64_t>(variants / 4));
  EXPECT_EQ(walked_stats.direct, 0u);
  EXPECT_GT(direct_stats.direct, static_cast<uint64_t>(variants));
}

// A mapped file that ends on a page boundary, its last line without a newline: the padding
// the parser reads past a line must not run off the mapping.
TEST(FlowReader, MappedFileEndingOnAPageBoundary) {
  const std::string rec =
      "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\",\"destination\":"
      "\"10.0.0.2\"},\"l4\":{\"TCP\":{\"destination_port\":80,\"flags\":{\"SYN\":true}}}}}";
  const size_t size = size_t{5} << 20;
  std::string text;
  while (text.size() + 2 * (rec.size() + 1) < size) text += rec + "\n";
  size_t fill = size - text.size() - rec.size();  // the last record, padded with spaces to fit
  text += rec.substr(0, rec.size() - 1) + std::string(fill, ' ') + "}";
  ASSERT_EQ(text.size(), size);
  fs::path file =
      fs::temp_directory_path() / ("stockade-page-" + std::to_string(getpid()) + ".json");
  std::ofstream(file, std::ios::binary) << text;
  FlowReadStats st;
  uint64_t n = 0;
  auto r = read_flows(file.string(), {}, st, [&](const Flow& f) { n += f.dst.port == 80; });
  fs::remove(file);
  ASSERT_TRUE(r);
  EXPECT_EQ(st.malformed, 0u);
  EXPECT_EQ(n, st.records);
  EXPECT_EQ(st.lines, static_cast<uint64_t>(std::count(text.begin(), text.end(), '\n')) + 1);
}

TEST(FlowReader, GzipAndTruncatedGzip) {
  fs::path dir =
      fs::temp_directory_path() / ("stockade_flow_reader_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string line =
      "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\",\"destination\":"
      "\"10.0.0.2\"},\"l4\":{\"UDP\":{\"source_port\":1,\"destination_port\":53}}}}\n";
  std::string text;
  for (int i = 0; i < 20000; ++i) text += line;
  std::string gz = (dir / "f.json.gz").string();
  gzFile f = gzopen(gz.c_str(), "wb");
  ASSERT_TRUE(f);
  gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
  gzclose(f);
  FlowReadStats st;
  uint64_t n = 0;
  ASSERT_TRUE(read_flows(gz, {}, st, [&](const Flow&) { ++n; }));
  EXPECT_EQ(n, 20000u);

  // Two gzip members one after another read as one stream.
  std::string twice = (dir / "twice.json.gz").string();
  {
    std::ifstream a(gz, std::ios::binary);
    std::stringstream bytes;
    bytes << a.rdbuf();
    std::ofstream b(twice, std::ios::binary);
    b << bytes.str() << bytes.str();
  }
  FlowReadStats st3;
  n = 0;
  ASSERT_TRUE(read_flows(twice, {}, st3, [&](const Flow&) { ++n; }));
  EXPECT_EQ(n, 40000u);

  // Cut the compressed file in half: an error, also with --strict (not a malformed line).
  auto size = fs::file_size(gz);
  fs::resize_file(gz, size / 2);
  for (bool strict : {false, true}) {
    FlowReadStats st2;
    FlowReadOptions o;
    o.strict = strict;
    auto r = read_flows(gz, o, st2, [](const Flow&) {});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("truncated gzip"), std::string::npos) << r.error().str();
  }
  FlowReadStats st2;

  auto missing = read_flows((dir / "nope.json").string(), {}, st2, [](const Flow&) {});
  ASSERT_FALSE(missing);
  fs::remove_all(dir);
}

TEST(FlowTime, Rfc3339) {
  EXPECT_EQ(*parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*parse_rfc3339("1970-01-01T00:00:01.5Z"), 1500000000);
  EXPECT_EQ(*parse_rfc3339("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(*parse_rfc3339("2026-07-31T10:41:02.202450754Z") % 1000000000, 202450754);
  EXPECT_FALSE(parse_rfc3339("2026-07-31"));
  EXPECT_FALSE(parse_rfc3339("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-01-01T00:00:00"));
  EXPECT_FALSE(parse_rfc3339("2024-02-31T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2023-02-29T00:00:00Z"));
  EXPECT_TRUE(parse_rfc3339("2024-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-01-01T00:00:00+99:99"));
  EXPECT_FALSE(parse_rfc3339("9999-12-31T23:59:59Z"));  // past int64 nanoseconds
  EXPECT_FALSE(parse_rfc3339("0001-01-01T00:00:00Z"));
  EXPECT_LT(*parse_rfc3339("1969-12-31T23:59:59.5Z"), 0);
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("2026-07-31T10:41:02.9Z")), "2026-07-31T10:41:02Z");
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("2000-02-29T23:59:59Z")), "2000-02-29T23:59:59Z");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(format_rfc3339(INT64_MIN), "1677-09-21T00:12:43Z");
  EXPECT_EQ(format_rfc3339(INT64_MAX), "2262-04-11T23:47:16Z");
  std::string out = "t=";
  append_rfc3339(out, 0);
  EXPECT_EQ(out, "t=1970-01-01T00:00:00Z");
}

// The parser that remembers the last date and second reads every time as parse_rfc3339 does,
// whatever came before: times that share the prefix and times that differ in one character of
// it (valid or not), in random order.
TEST(FlowTime, Rfc3339ParserMatchesTheFunction) {
  const std::vector<std::string> base = {"2026-07-31T10:41:02.202450754Z",
                                         "2026-07-31T10:41:02Z",
                                         "2026-07-31T10:41:02.5+01:00",
                                         "2024-02-29T23:59:59.999999999Z",
                                         "2023-02-29T00:00:00Z",
                                         "2026-07-31T10:41:02.",
                                         "2026-07-31T10:41:02.1234567891Z",
                                         "2026-07-31T10:41:02+24:00",
                                         "2026-07-31T10:41:0",
                                         "2026-07-31t10:41:02z",
                                         "2026-07-31 10:41:02-03:30",
                                         "2026-07-31T10:41:02Zx"};
  std::vector<std::string> times = base;
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string t = base[rng() % base.size()];
    if (!t.empty() && rng() % 2) t[rng() % t.size()] = "0123456789:-.TZ+ x"[rng() % 18];
    times.push_back(t);
  }
  Rfc3339Parser parser;
  for (int round = 0; round < 3; ++round) {
    std::shuffle(times.begin(), times.end(), rng);
    for (const std::string& t : times) {
      SCOPED_TRACE(t);
      EXPECT_EQ(parser.parse(t), parse_rfc3339(t));
      EXPECT_EQ(parser.parse(t), parse_rfc3339(t));  // and again, from the remembered prefix
    }
  }
}

TEST(FlowClassify, StartsRepliesAndOther) {
  Flow f;
  f.l4 = L4Protocol::TCP;
  f.tcp.syn = true;
  EXPECT_EQ(classify(f), FlowKind::Start);
  f.tcp.ack = true;
  EXPECT_EQ(classify(f), FlowKind::Reply);  // SYN-ACK
  f.tcp = {};
  f.tcp.ack = true;
  EXPECT_EQ(classify(f), FlowKind::Other);
  f.is_reply = true;
  EXPECT_EQ(classify(f), FlowKind::Reply);
  Flow u;
  u.l4 = L4Protocol::UDP;
  EXPECT_EQ(classify(u), FlowKind::Start);
  u.is_reply = true;
  EXPECT_EQ(classify(u), FlowKind::Reply);
  Flow l7;
  l7.l7 = true;
  EXPECT_EQ(classify(l7), FlowKind::Other);
}

}  // namespace
}  // namespace stockade
