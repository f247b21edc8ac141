// One Hubble record of each kind (tests/flow/fixtures/hubble_kinds.jsonl, written from the
// Hubble format notes in HUBBLE_FORMAT.md) with what each must count as: a connection on a
// named workload edge, or nothing.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "flow/edge_graph.h"
#include "input/flow_reader.h"

namespace stockade {
namespace {

TEST(HubbleKinds, EachRecordCountsAsDocumented) {
  std::string dir = std::string(STOCKADE_SOURCE_DIR) + "/tests/flow/fixtures/";
  std::ifstream records(dir + "hubble_kinds.jsonl");
  std::ifstream expected(dir + "hubble_kinds.expected.jsonl");
  ASSERT_TRUE(records && expected);
  ClusterState empty;  // no cluster objects: names come from the records
  std::vector<Endpoint> eps;
  std::string line, want_text;
  int checked = 0;
  while (std::getline(records, line) && std::getline(expected, want_text)) {
    auto want = nlohmann::json::parse(want_text);
    SCOPED_TRACE("line " + std::to_string(want["line"].get<int>()) + ": " +
                 want["what"].get<std::string>());
    EdgeGraph g(empty, eps, GraphOptions{});
    FlowReadStats st;
    ASSERT_TRUE(read_flows_text(line + "\n", "kinds", {}, st, [&](const Flow& f) { g.add(f); }));
    uint64_t counted = 0;
    // Without Node objects a node's address does not name it: any node/… will do.
    auto same_peer = [](const std::string& got, const std::string& expect) {
      if (expect.starts_with("node/")) return got.starts_with("node/");
      return got == expect;
    };
    for (const auto& [k, s] : g.edges()) {
      if (!s.count) continue;
      counted += s.count;
      EXPECT_TRUE(same_peer(g.nodes()[k.src].id, want.value("src", "")))
          << g.nodes()[k.src].id << " vs " << want.value("src", "");
      EXPECT_TRUE(same_peer(g.nodes()[k.dst].id, want.value("dst", "")))
          << g.nodes()[k.dst].id << " vs " << want.value("dst", "");
      EXPECT_EQ(std::string(to_string(k.protocol)), want.value("protocol", ""));
      EXPECT_EQ(k.port, want.value("port", 0));
    }
    EXPECT_EQ(counted, want["counted"].get<bool>() ? 1u : 0u);
    ++checked;
  }
  EXPECT_EQ(checked, 41);
}

}  // namespace
}  // namespace stockade

namespace stockade {
namespace {

// L7 records are not connections, but what they say is kept: DNS names, answers and return
// codes, HTTP method, URL (unescaped) and status.
TEST(HubbleKinds, L7ContentIsKept) {
  std::ifstream records(std::string(STOCKADE_SOURCE_DIR) +
                        "/tests/flow/fixtures/hubble_kinds.jsonl");
  std::string text((std::istreambuf_iterator<char>(records)), std::istreambuf_iterator<char>());
  struct Seen {
    L7Info::Type type;
    std::string query, first_ip, method, url, protocol;
    int32_t rcode;
    uint32_t code;
    uint64_t latency;
  };
  std::vector<Seen> l7;
  FlowReadStats st;
  ASSERT_TRUE(read_flows_text(text, "kinds", {}, st, [&](const Flow& f) {
    if (!f.l7) return;
    if (f.l7_info == nullptr) {
      ADD_FAILURE() << "an L7 record without its content";
      return;
    }
    const L7Info& i = *f.l7_info;
    l7.push_back({i.type, std::string(i.dns_query), i.dns_ip_count ? std::string(i.dns_ips[0]) : "",
                  std::string(i.http_method), std::string(i.http_url), std::string(i.http_protocol),
                  i.dns_rcode, i.http_code, i.latency_ns});
  }));
  auto find = [&](auto pred) {
    for (const Seen& s : l7)
      if (pred(s)) return &s;
    return static_cast<const Seen*>(nullptr);
  };
  const Seen* answer = find([](const Seen& s) { return !s.first_ip.empty(); });
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->type, L7Info::Type::Response);
  EXPECT_EQ(answer->query, "payments-api.payments-prod-4.svc.cluster.local.");
  EXPECT_EQ(answer->first_ip, "10.96.5.43");
  EXPECT_EQ(answer->latency, 650487u);
  const Seen* nx = find([](const Seen& s) { return s.rcode == 3; });
  ASSERT_TRUE(nx);
  EXPECT_TRUE(nx->query.starts_with("shipping-api-3."));
  const Seen* post = find([](const Seen& s) { return s.method == "POST"; });
  ASSERT_TRUE(post);
  EXPECT_EQ(post->type, L7Info::Type::Request);
  EXPECT_EQ(post->url,
            "http://billing-accounts-3.billing-dev.svc.cluster.local/api/v1/cart?session=9f3c&"
            "currency=EUR");  // \u0026 unescaped
  EXPECT_EQ(post->protocol, "HTTP/1.1");
  const Seen* ok = find([](const Seen& s) { return s.code == 200; });
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->method, "GET");
}

}  // namespace
}  // namespace stockade
