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

}  // namespace
}  // namespace stockade
