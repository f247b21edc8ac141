// The phases of recommend() one by one, through their private headers: units.h,
// contributions.h, policy_build.h, keep_declared.h, aggregate.h, yaml_writer.h and
// check_written.h. The whole is tested in recommend_test.cc; these pin each seam.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "input/loader.h"
#include "recommend/aggregate.h"
#include "recommend/check_written.h"
#include "recommend/contributions.h"
#include "recommend/keep_declared.h"
#include "recommend/policy_build.h"
#include "recommend/units.h"
#include "recommend/yaml_writer.h"

namespace stockade {
namespace {

using rec::Contributions;
using rec::Units;

// shop: web (2 pods, a per-pod label each), api (1 pod, port 8080 named http), lone (only
// per-pod labels); a node and a host-network pod on it.
const char* kCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 192.168.0.10}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web, pod-template-hash: a1}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, namespace: shop, labels: {app: web, pod-template-hash: b2}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec: {nodeName: n1, containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}
status: {podIP: 10.0.0.3}
---
apiVersion: v1
kind: Pod
metadata: {name: lone, namespace: shop, labels: {pod-template-hash: c3}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.0.0.4}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: shop, labels: {app: agent}}
spec: {nodeName: n1, hostNetwork: true, containers: [{name: c}]}
status: {podIP: 192.168.0.10}
)";

std::string tcp(const std::string& src, const std::string& dst, int port, bool ok = true) {
  static int sport = 40000;
  return std::string("{\"flow\":{\"time\":\"2026-01-01T00:00:00Z\",\"verdict\":\"") +
         (ok ? "FORWARDED" : "DROPPED") + "\",\"IP\":{\"source\":\"" + src +
         "\",\"destination\":\"" + dst +
         "\"},\"l4\":{\"TCP\":{\"source_port\":" + std::to_string(++sport) +
         ",\"destination_port\":" + std::to_string(port) +
         ",\"flags\":{\"SYN\":true}}},\"is_reply\":false}}\n";
}

struct Fixture {
  ClusterState state;
  std::unique_ptr<PolicyEngine> engine;
  Fixture() {
    ClusterLoader l;
    auto r = l.add_text(kCluster, "cluster.yaml");
    EXPECT_TRUE(r) << r.error().str();
    state = std::move(l).finish();
    engine = PolicyEngine::compile(state, build_endpoints(state));
  }
  const std::vector<Endpoint>& eps() const { return engine->endpoints(); }
  uint32_t unit(const Units& u, const std::string& name) const {
    for (uint32_t i = 0; i < u.units.size(); ++i)
      if (u.units[i].name == name) return i;
    ADD_FAILURE() << "no unit " << name;
    return 0;
  }
};

TEST(RecommendUnits, CommonLabelsWithoutPerPodOnesSelectAUnit) {
  Fixture fx;
  Units u = rec::build_units(fx.state, fx.eps());
  ASSERT_EQ(u.unit_of.size(), fx.eps().size());
  const rec::Unit& web = u.units[fx.unit(u, "web-1")];
  EXPECT_EQ(web.selector.canonical(), "app in (web)");  // pod-template-hash left out
  EXPECT_FALSE(web.broad);
  EXPECT_EQ(web.base, "web-1");
  const rec::Unit& lone = u.units[fx.unit(u, "lone")];
  EXPECT_TRUE(lone.broad);  // only per-pod labels: its selector picks the whole namespace
  EXPECT_TRUE(lone.selector.empty());
  EXPECT_TRUE(u.units[fx.unit(u, "agent")].host_network);
  for (uint32_t e = 0; e < u.unit_of.size(); ++e)
    EXPECT_EQ(u.units[u.unit_of[e]].name, fx.eps()[e].name);
}

TEST(RecommendUnits, ExclusionLeavesExactlyOneUnitOut) {
  Fixture fx;
  Units u = rec::build_units(fx.state, fx.eps());
  auto x = rec::exclusion_for(u, fx.unit(u, "api"), fx.eps());
  ASSERT_TRUE(x);
  EXPECT_EQ(x->key, "app");
  EXPECT_EQ(x->op, SelectorOp::NotIn);
  EXPECT_EQ(x->values, std::vector<std::string>{"api"});
  // web-1 and web-2 share app=web: no requirement tells web-1 from web-2.
  EXPECT_FALSE(rec::exclusion_for(u, fx.unit(u, "web-1"), fx.eps()));
}

TEST(RecommendContributions, EdgesCountedAndSortedBySide) {
  Fixture fx;
  std::string flows = tcp("10.0.0.1", "10.0.0.3", 8080) + tcp("10.0.0.2", "10.0.0.3", 8080) +
                      tcp("10.0.0.1", "10.0.0.4", 9000, false) +
                      tcp("10.0.0.1", "203.0.113.9", 443);
  auto obs = observe_flows_text(fx.state, *fx.engine, flows, {});
  ASSERT_TRUE(obs) << obs.error().str();
  Units u = rec::build_units(fx.state, fx.eps());
  Recommendation out;
  Contributions c = rec::collect_contributions(*fx.engine, *obs, u, {}, out);
  EXPECT_EQ(out.edges_established, 3u);
  EXPECT_EQ(out.edges_failed_only, 1u);
  EXPECT_EQ(out.must_allow.size(), 3u);
  EXPECT_TRUE(std::is_sorted(c.contribs.begin(), c.contribs.end(), [](auto& a, auto& b) {
    return std::tie(a.side, a.peer, a.spec, a.edge) < std::tie(b.side, b.peer, b.spec, b.edge);
  }));
  // api's ingress (side api*2) from web-1 and web-2 on the named port; web-1's egress to api
  // and to the external address (a peer after the units).
  const uint32_t api = fx.unit(u, "api"), web1 = fx.unit(u, "web-1");
  std::set<uint32_t> api_from;
  size_t external = 0;
  for (const rec::Contrib& x : c.contribs) {
    if (x.side == api * 2) {
      api_from.insert(x.peer);
      EXPECT_EQ(c.by_rank[x.spec].name, "http");
    }
    if (x.side == web1 * 2 + 1 && x.peer >= u.units.size()) {
      ++external;
      EXPECT_EQ(c.address_of(x.peer, u.units.size()).first.str(), "203.0.113.9");
      EXPECT_TRUE(c.address_of(x.peer, u.units.size()).second);
    }
  }
  EXPECT_EQ(api_from, (std::set<uint32_t>{web1, fx.unit(u, "web-2")}));
  EXPECT_EQ(external, 1u);
  EXPECT_TRUE(c.unit_seen[fx.unit(u, "lone")]);  // a failed attempt is still seen
  EXPECT_EQ(c.unit_evidence[fx.unit(u, "lone")].connections, 0u);
}

TEST(RecommendPolicyBuild, PeersWithTheSamePortsShareARule) {
  Fixture fx;
  std::string flows = tcp("10.0.0.1", "10.0.0.3", 8080) + tcp("10.0.0.2", "10.0.0.3", 8080);
  auto obs = observe_flows_text(fx.state, *fx.engine, flows, {});
  ASSERT_TRUE(obs);
  Units u = rec::build_units(fx.state, fx.eps());
  Recommendation out;
  Contributions c = rec::collect_contributions(*fx.engine, *obs, u, {}, out);
  auto names = std::make_shared<std::vector<std::string>>(u.units.size(), "n");
  RecommendOptions options;
  std::vector<std::pair<size_t, size_t>> ranges;
  auto policies = rec::build_policies({u.units, c, names, "w", options}, ranges);
  EXPECT_EQ(ranges.size(), 3u);  // api's ingress, web-1's and web-2's egress
  ASSERT_EQ(policies.size(), 3u);
  const RecommendedPolicy* api = nullptr;
  for (const RecommendedPolicy& p : policies)
    if (p.policy.name == "stockade-ingress-api") api = &p;
  ASSERT_NE(api, nullptr);
  ASSERT_EQ(api->policy.ingress.size(), 1u);  // both sources, one rule
  EXPECT_EQ(api->policy.ingress[0].peers.size(), 2u);
  ASSERT_EQ(api->policy.ingress[0].ports.size(), 1u);
  EXPECT_EQ(api->policy.ingress[0].ports[0].name, "http");
  ASSERT_EQ(api->ingress_evidence.size(), 1u);
  EXPECT_EQ(api->ingress_evidence[0][0].connections, 1u);
  // The same policy whichever thread builds it.
  options.parallel_from = 1;
  std::vector<std::pair<size_t, size_t>> ranges2;
  auto parallel = rec::build_policies({u.units, c, names, "w", options}, ranges2);
  ASSERT_EQ(parallel.size(), policies.size());
  for (size_t i = 0; i < policies.size(); ++i)
    EXPECT_EQ(render_policy_yaml(parallel[i]), render_policy_yaml(policies[i]));
}

TEST(RecommendKeepDeclared, PodPrefixesLeaveNodeAddressesOut) {
  Fixture fx;
  std::vector<Cidr> p = rec::pod_prefixes(fx.state, fx.eps());
  ASSERT_FALSE(p.empty());
  for (const char* pod : {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}) {
    bool covered = false;
    for (const Cidr& c : p) covered = covered || c.contains(*IpAddr::parse(pod));
    EXPECT_TRUE(covered) << pod;
  }
  for (const Cidr& c : p) EXPECT_FALSE(c.contains(*IpAddr::parse("192.168.0.10"))) << c.str();
}

TEST(RecommendAggregate, MergesPastTheLimitNeverWiderThanAllowed) {
  std::vector<IpAddr> ips;
  for (int i = 1; i <= 20; ++i) ips.push_back(*IpAddr::parse("203.0.113." + std::to_string(i)));
  auto one = aggregate_prefixes(ips, 1, 16);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].first.str(), "203.0.113.0/27");
  EXPECT_EQ(one[0].second.size(), 20u);
  auto kept = aggregate_prefixes(ips, 16, 30);  // /30 at the widest: more than 16 remain
  EXPECT_GT(kept.size(), 1u);
  std::vector<size_t> all;
  for (const auto& [cidr, members] : kept) {
    EXPECT_GE(cidr.prefix, 30);
    for (size_t m : members) {
      EXPECT_TRUE(cidr.contains(ips[m]));
      all.push_back(m);
    }
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all.size(), 20u);
  EXPECT_EQ(std::unique(all.begin(), all.end()), all.end());
  EXPECT_EQ(aggregate_prefixes(ips, 20, 16).size(), 20u);  // within the limit: untouched
}

TEST(RecommendYamlWriter, KeysScalarsAndComments) {
  EXPECT_TRUE(rec::plain_key("app"));
  EXPECT_FALSE(rec::plain_key("on"));   // YAML 1.1 reads it as true
  EXPECT_FALSE(rec::plain_key("a.b"));  // quoted
  EXPECT_EQ(rec::comment_text("a\nb\\c"), "a\\x0ab\\x5cc");
  EXPECT_EQ(rec::yaml_scalar(rec::ojson("\xF0\x9F\x98\x80")), "\"\\U0001f600\"");
  rec::ojson item = rec::ojson::object();
  item["#"] = "why\n";
  item["v"] = 1;
  rec::ojson doc = rec::ojson::object();
  doc["k"] = rec::ojson::array({item});
  std::string out;
  rec::yaml_object(doc, 0, out, false);
  EXPECT_EQ(out, "k:\n# why\\x0a\n- v: 1\n");
}

TEST(RecommendCheckWritten, WhatDiffersIsNamed) {
  ClusterLoader l;
  ASSERT_TRUE(l.add_text(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a, namespace: shop}
spec: {podSelector: {matchLabels: {app: a}}, policyTypes: [Ingress]}
)",
                         "p.yaml"));
  ClusterState s = std::move(l).finish();
  ASSERT_EQ(s.network_policies.size(), 1u);
  RecommendedPolicy rp;
  rp.policy = s.network_policies[0];
  std::string text = render_policy_yaml(rp);
  EXPECT_EQ(check_written(text, "out.yaml", {&rp.policy}, {}), "");
  NetworkPolicy other = rp.policy;
  other.affects_egress = true;
  EXPECT_NE(check_written(text, "out.yaml", {&other}, {}).find("differs"), std::string::npos);
  EXPECT_NE(check_written(text, "out.yaml", {&rp.policy, &other}, {}), "");  // one missing
  EXPECT_NE(check_written("a: [", "out.yaml", {}, {}).find("does not load back"),
            std::string::npos);
}

}  // namespace
}  // namespace stockade
