// diff_policies (src/engine/diff.h): the outside of the cluster split by the policies' CIDRs,
// each part one endpoint of the diff.
#include "engine/diff.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "input/loader.h"

namespace stockade {
namespace {

const char* kPods = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, ports: [{containerPort: 8080}]}]}
status: {podIP: 10.0.0.1}
)";

ClusterState load(const std::string& policies) {
  ClusterLoader l;
  EXPECT_TRUE(l.add_text(kPods, "pods.yaml"));
  if (!policies.empty()) {
    EXPECT_TRUE(l.add_text(policies, "policies.yaml"));
  }
  return std::move(l).finish();
}

const char* kPublic = R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]
    ports: [{port: 8080}]
  egress:
  - to: [{ipBlock: {cidr: 203.0.113.0/24}}]
    ports: [{port: 443}]
)";

const char* kPartner = R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{ipBlock: {cidr: 198.51.100.0/24}}]
    ports: [{port: 8080}]
)";

TEST(PolicyDiff, WorldPartsAreTheAddressSpaceSplitByEveryCidr) {
  ClusterState a = load(kPublic), b = load(kPartner);
  auto parts = world_parts(a, b, build_endpoints(a));
  std::vector<std::string> ids;
  for (const WorldPart& p : parts) {
    ids.push_back(p.id);
    EXPECT_NE(p.probe, *IpAddr::parse("10.0.0.1")) << "a pod's address is no probe";
  }
  EXPECT_EQ(ids, (std::vector<std::string>{
                     "world/0.0.0.0/0 except 10.0.0.0/8, 198.51.100.0/24, 203.0.113.0/24",
                     "world/10.0.0.0/8", "world/198.51.100.0/24", "world/203.0.113.0/24"}));
  for (const WorldPart& p : parts) {
    auto c = Cidr::parse(p.id.substr(
        6, p.id.find(' ') == std::string::npos ? std::string::npos : p.id.find(' ') - 6));
    ASSERT_TRUE(c) << p.id;
    EXPECT_TRUE(c->contains(p.probe)) << p.id << " " << p.probe.str();
  }
}

TEST(PolicyDiff, LosingTheInternetIsALine) {
  ClusterState a = load(kPublic), b = load(kPartner);
  auto ea = PolicyEngine::compile(a, build_endpoints(a));
  auto eb = PolicyEngine::compile(b, build_endpoints(b));
  PolicyDiff d = diff_policies(a, *ea, b, *eb, {});
  auto has = [&](const std::string& src, const std::string& dst, uint16_t port, bool after) {
    return std::any_of(d.changes.begin(), d.changes.end(), [&](const DiffChange& c) {
      return c.src == src && c.dst == dst && c.port == port && c.after == after &&
             c.before != after;
    });
  };
  // Internet -> web lost; the partner's range still allowed (no line); web -> gateway lost.
  EXPECT_TRUE(has("world/0.0.0.0/0 except 10.0.0.0/8, 198.51.100.0/24, 203.0.113.0/24", "shop/web",
                  8080, false));
  EXPECT_FALSE(std::any_of(d.changes.begin(), d.changes.end(),
                           [](const DiffChange& c) { return c.src == "world/198.51.100.0/24"; }));
  EXPECT_TRUE(has("shop/web", "world/203.0.113.0/24", 443, false));
  EXPECT_EQ(d.world_parts, 4u);
  EXPECT_EQ(d.newly_allowed + d.newly_denied, d.changes.size());
}

// diff --flows names an outside address by the part holding it: the most specific CIDR.
TEST(PolicyDiff, AnAddressBelongsToTheMostSpecificPart) {
  ClusterState a = load(kPublic), b = load(kPartner);
  auto parts = world_parts(a, b, build_endpoints(a));
  auto part = [&](const char* ip) {
    const WorldPart* w = world_part_of(parts, *IpAddr::parse(ip));
    return w ? w->id : std::string("none");
  };
  EXPECT_EQ(part("203.0.113.7"), "world/203.0.113.0/24");
  EXPECT_EQ(part("198.51.100.200"), "world/198.51.100.0/24");
  EXPECT_EQ(part("8.8.8.8"), "world/0.0.0.0/0 except 10.0.0.0/8, 198.51.100.0/24, 203.0.113.0/24");
  EXPECT_EQ(part("10.1.2.3"), "world/10.0.0.0/8");
  EXPECT_EQ(part("2001:db8::1"), "none");  // no IPv6 CIDR: no IPv6 part
}

// diff --by workload: pod-level changes under their workloads, with the pairs counted; parts
// of the outside stay as they are; changes in opposite directions are separate rows.
TEST(PolicyDiff, ChangesGroupedByWorkloadCountTheirPodPairs) {
  std::vector<Endpoint> eps(3);
  for (int i = 0; i < 3; ++i) {
    eps[i].ns = "shop";
    eps[i].name = "web-" + std::to_string(i);
    eps[i].kind = "Pod";
    eps[i].workload_kind = "Deployment";
    eps[i].workload_name = i < 2 ? "web" : "";  // web-2 has no known owner: stays itself
  }
  std::vector<DiffChange> changes = {
      {"shop/web-0", "shop/web-1", Protocol::TCP, 80, true, false, 0, 1},
      {"shop/web-1", "shop/web-0", Protocol::TCP, 80, true, false, 1, 0},
      {"shop/web-2", "shop/web-0", Protocol::TCP, 80, true, false, 2, 0},
      {"world/0.0.0.0/0", "shop/web-0", Protocol::TCP, 80, true, false, UINT32_MAX, 0},
      {"world/0.0.0.0/0", "shop/web-1", Protocol::TCP, 80, true, false, UINT32_MAX, 1},
      {"world/0.0.0.0/0", "shop/web-1", Protocol::TCP, 81, false, true, UINT32_MAX, 1},
  };
  auto g = group_changes(changes, eps, Granularity::Workload);
  ASSERT_EQ(g.size(), 4u);
  EXPECT_EQ(g[0].src + " " + g[0].dst, "shop/web shop/web");
  EXPECT_EQ(g[0].pairs, 2u);
  EXPECT_EQ(g[1].src + " " + g[1].dst, "shop/web-2 shop/web");
  EXPECT_EQ(g[2].src + " " + g[2].dst + " " + std::to_string(g[2].pairs),
            "world/0.0.0.0/0 shop/web 2");
  EXPECT_TRUE(g[3].after);
  auto ns = group_changes(changes, eps, Granularity::Namespace);
  ASSERT_EQ(ns.size(), 3u);
  EXPECT_EQ(ns[0].src + " " + ns[0].dst + " " + std::to_string(ns[0].pairs), "shop shop 3");
  EXPECT_EQ(group_changes(changes, eps, Granularity::Pod).size(), changes.size());
}

}  // namespace
}  // namespace stockade
