#include "flow/edge_graph.h"

#include <gtest/gtest.h>

#include "input/flow_reader.h"
#include "input/loader.h"

namespace stockade {
namespace {

const char* kCluster = R"(
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 192.168.0.10}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, uid: d1}
spec: {template: {metadata: {labels: {app: web}}}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-7d9f8c6b5d
  namespace: shop
  uid: r1
  ownerReferences: [{kind: Deployment, name: web, uid: d1}]
---
apiVersion: v1
kind: Pod
metadata:
  name: web-7d9f8c6b5d-aaaaa
  namespace: shop
  labels: {app: web, pod-template-hash: 7d9f8c6b5d}
  ownerReferences: [{kind: ReplicaSet, name: web-7d9f8c6b5d, uid: r1}]
spec: {nodeName: n1}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-7d9f8c6b5d-bbbbb
  namespace: shop
  labels: {app: web, pod-template-hash: 7d9f8c6b5d}
  ownerReferences: [{kind: ReplicaSet, name: web-7d9f8c6b5d, uid: r1}]
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: api-0, namespace: shop, labels: {app: api}}
spec: {containers: [{name: c, ports: [{containerPort: 8080}]}]}
status: {podIP: 10.0.0.3}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {selector: {app: api}, clusterIP: 10.96.0.10, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: kube-system}
spec: {hostNetwork: true, nodeName: n1}
status: {podIP: 192.168.0.10}
---
apiVersion: v1
kind: Service
metadata: {name: legacy, namespace: shop}
spec: {clusterIP: 10.96.0.20, ports: [{port: 81}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: legacy-x1, namespace: shop, labels: {kubernetes.io/service-name: legacy}}
addressType: IPv4
endpoints: [{addresses: [10.0.0.3], targetRef: {kind: Pod, name: api-0, namespace: shop}}]
---
apiVersion: v1
kind: Service
metadata: {name: byaddr, namespace: shop}
spec: {clusterIP: 10.96.0.21, ports: [{port: 82}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: byaddr-x1, namespace: shop, labels: {kubernetes.io/service-name: byaddr}}
addressType: IPv4
endpoints: [{addresses: [10.0.0.3]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: byaddr-x2, namespace: shop, labels: {kubernetes.io/service-name: byaddr}}
addressType: FQDN
endpoints: [{addresses: [db.example.com]}]
---
apiVersion: v1
kind: Service
metadata: {name: nowhere, namespace: shop}
spec: {clusterIP: 10.96.0.22, ports: [{port: 83}]}
---
apiVersion: v1
kind: Service
metadata: {name: node-agent, namespace: kube-system}
spec: {clusterIP: 10.96.0.23, ports: [{port: 84}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: node-agent-x1, namespace: kube-system, labels: {kubernetes.io/service-name: node-agent}}
addressType: IPv4
endpoints: [{addresses: [192.168.0.10], targetRef: {kind: Pod, name: agent, namespace: kube-system}}]
)";

// Hubble-style record between two addresses (no names), TCP unless `udp`.
std::string record(const std::string& src, const std::string& dst, int sport, int dport,
                   const std::string& flags, bool reply, const std::string& verdict = "FORWARDED",
                   const std::string& time = "2026-01-01T00:00:00Z") {
  return "{\"flow\":{\"time\":\"" + time + "\",\"verdict\":\"" + verdict +
         "\",\"IP\":{\"source\":\"" + src + "\",\"destination\":\"" + dst +
         "\"},\"l4\":{\"TCP\":{\"source_port\":" + std::to_string(sport) +
         ",\"destination_port\":" + std::to_string(dport) + ",\"flags\":{" + flags +
         "}}},\"is_reply\":" + (reply ? "true" : "false") + "}}\n";
}

std::string edge_text(const EdgeGraph& g);

struct Fixture {
  ClusterState state;
  std::vector<Endpoint> eps;
  Fixture() {
    ClusterLoader l;
    auto r = l.add_text(kCluster, "cluster.yaml");
    EXPECT_TRUE(r) << r.error().str();
    state = std::move(l).finish();
    eps = build_endpoints(state);
  }
  std::unique_ptr<EdgeGraph> graph(const std::string& flows, Granularity by,
                                   std::vector<Cidr> groups = {}) {
    // Records prepared on the parsing threads (as `map` reads) and not: the same graph.
    auto plain = std::make_unique<EdgeGraph>(state, eps, GraphOptions{by, groups});
    auto g = std::make_unique<EdgeGraph>(state, eps, GraphOptions{by, std::move(groups)});
    FlowReadStats st, st2;
    auto r = read_flows_text(flows, "f.json", {}, st, [&](const Flow& f) { plain->add(f); });
    FlowReadOptions o;
    o.peer_hint = [&](const FlowPeer& p) { return g->hint(p); };
    auto r2 = read_flows_text(flows, "f.json", o, st2, [&](const Flow& f) { g->add(f); });
    EXPECT_TRUE(r && r2);
    EXPECT_EQ(st.malformed, 0u);
    EXPECT_EQ(edge_text(*plain), edge_text(*g));
    return g;
  }
};

std::string edge_text(const EdgeGraph& g) {
  std::string out;
  for (const auto& [k, s] : g.edges())
    out += g.nodes()[k.src].id + " -> " + g.nodes()[k.dst].id + " " +
           std::string(to_string(k.protocol)) + "/" + std::to_string(k.port) +
           " n=" + std::to_string(s.count) + " est=" + std::to_string(s.established) +
           " fail=" + std::to_string(s.failed) + " drop=" + std::to_string(s.dropped) + "\n";
  return out;
}

TEST(EdgeGraph, WorkloadsThroughOwnerReferencesAndRepliesNotCounted) {
  Fixture fx;
  std::string flows =
      record("10.0.0.1", "10.0.0.3", 40000, 8080, "\"SYN\":true", false) +
      record("10.0.0.3", "10.0.0.1", 8080, 40000, "\"SYN\":true,\"ACK\":true", true) +
      record("10.0.0.1", "10.0.0.3", 40000, 8080, "\"ACK\":true", false) +
      record("10.0.0.2", "10.0.0.3", 40001, 8080, "\"SYN\":true", false);
  auto g = fx.graph(flows, Granularity::Workload);
  EXPECT_EQ(edge_text(*g), "shop/web -> shop/api-0 TCP/8080 n=2 est=2 fail=0 drop=0\n");
  auto p = fx.graph(flows, Granularity::Pod);
  EXPECT_EQ(edge_text(*p),
            "shop/web-7d9f8c6b5d-aaaaa -> shop/api-0 TCP/8080 n=1 est=1 fail=0 drop=0\n"
            "shop/web-7d9f8c6b5d-bbbbb -> shop/api-0 TCP/8080 n=1 est=1 fail=0 drop=0\n");
  auto ns = fx.graph(flows, Granularity::Namespace);
  EXPECT_EQ(edge_text(*ns), "shop -> shop TCP/8080 n=2 est=2 fail=0 drop=0\n");
}

TEST(EdgeGraph, ResetRepliesAndDropsAreOutcomes) {
  Fixture fx;
  std::string flows =
      record("10.0.0.1", "10.0.0.3", 40000, 8080, "\"SYN\":true", false) +
      record("10.0.0.3", "10.0.0.1", 8080, 40000, "\"RST\":true,\"ACK\":true", true) +
      record("10.0.0.1", "10.0.0.3", 40001, 8080, "\"SYN\":true", false, "DROPPED") +
      record("10.0.0.1", "10.0.0.3", 40002, 8080, "\"SYN\":true", false);
  auto g = fx.graph(flows, Granularity::Workload);
  EXPECT_EQ(edge_text(*g), "shop/web -> shop/api-0 TCP/8080 n=3 est=1 fail=1 drop=1\n");
}

TEST(EdgeGraph, AddressesResolveToPodsNodesServicesAndExternal) {
  Fixture fx;
  std::string flows = record("10.0.0.1", "10.96.0.10", 40000, 80, "\"SYN\":true", false) +
                      record("192.168.0.10", "10.0.0.3", 40000, 8080, "\"SYN\":true", false) +
                      record("10.0.0.1", "203.0.113.7", 40000, 443, "\"SYN\":true", false) +
                      record("10.0.0.1", "203.0.113.9", 40000, 443, "\"SYN\":true", false) +
                      record("10.0.0.1", "198.51.100.1", 40000, 443, "\"SYN\":true", false);
  auto g = fx.graph(flows, Granularity::Workload, {*Cidr::parse("203.0.113.0/24")});
  // The Service address resolves to the workload behind it; the host-network pod's address
  // to its node; external addresses inside a --external-cidr group to the group.
  EXPECT_EQ(edge_text(*g),
            "node/n1 -> shop/api-0 TCP/8080 n=1 est=1 fail=0 drop=0\n"
            "shop/web -> shop/api-0 TCP/80 n=1 est=1 fail=0 drop=0\n"
            "shop/web -> world/198.51.100.1 TCP/443 n=1 est=1 fail=0 drop=0\n"
            "shop/web -> world/203.0.113.0/24 TCP/443 n=2 est=2 fail=0 drop=0\n");
}

// A Service without a selector resolves through its EndpointSlices (pods by targetRef or by
// address; FQDN slices and host-network pods name no pod); without any, it stays a Service node.
TEST(EdgeGraph, ServicesWithoutSelectorResolveThroughEndpointSlices) {
  Fixture fx;
  ASSERT_EQ(fx.state.endpoint_slices.size(), 4u);
  std::string flows = record("10.0.0.1", "10.96.0.20", 40000, 81, "\"SYN\":true", false) +
                      record("10.0.0.1", "10.96.0.21", 40001, 82, "\"SYN\":true", false) +
                      record("10.0.0.1", "10.96.0.22", 40002, 83, "\"SYN\":true", false) +
                      record("10.0.0.1", "10.96.0.23", 40003, 84, "\"SYN\":true", false);
  auto g = fx.graph(flows, Granularity::Workload);
  EXPECT_EQ(edge_text(*g),
            "shop/web -> kube-system/node-agent TCP/84 n=1 est=1 fail=0 drop=0\n"
            "shop/web -> shop/api-0 TCP/81 n=1 est=1 fail=0 drop=0\n"
            "shop/web -> shop/api-0 TCP/82 n=1 est=1 fail=0 drop=0\n"
            "shop/web -> shop/nowhere TCP/83 n=1 est=1 fail=0 drop=0\n");
}

TEST(EdgeGraph, NamesFromTheRecordWithoutObjects) {
  ClusterState empty;
  const std::vector<Endpoint> none;
  std::string flows =
      "{\"flow\":{\"verdict\":\"FORWARDED\",\"l4\":{\"UDP\":{\"source_port\":5000,"
      "\"destination_port\":53}},\"source\":{\"namespace\":\"other\",\"pod_name\":\"cart-"
      "5c6b9f7d48-m5r7t\",\"labels\":[\"k8s:app=cart\",\"k8s:tier=f\\u0072ont\",\"k8s:io."
      "kubernetes.pod.namespace="
      "other\",\"k8s:pod-template-hash=5c6b9f7d48\"]},\"destination\":{\"namespace\":\"kube-"
      "system\",\"pod_name\":"
      "\"coredns-0\",\"workloads\":[{\"name\":\"coredns\",\"kind\":\"Deployment\"}]}}}\n";
  auto g = std::make_unique<EdgeGraph>(empty, none, GraphOptions{Granularity::Workload, {}});
  FlowReadStats st;
  ASSERT_TRUE(read_flows_text(flows, "f.json", {}, st, [&](const Flow& f) { g->add(f); }));
  // Hubble's `workloads` groups a pod; without it the pod stays itself (no name is guessed).
  EXPECT_EQ(edge_text(*g),
            "other/cart-5c6b9f7d48-m5r7t -> kube-system/coredns UDP/53 n=1 est=1 fail=0 drop=0\n");
  EXPECT_FALSE(g->has_objects());
  // Labelled from the record, without Kubernetes' and Cilium's bookkeeping labels.
  const GraphNode& cart = g->nodes()[g->edges()[0].first.src];
  EXPECT_EQ(cart.labels, (Labels{{"app", "cart"}, {"tier", "front"}}));
}

TEST(EdgeGraph, ReusedPodAddressesResolveByTheFlowsTime) {
  ClusterLoader l;
  ASSERT_TRUE(l.add_text(R"(
apiVersion: v1
kind: Pod
metadata:
  name: old
  namespace: x
  creationTimestamp: "2026-01-01T00:00:00Z"
  deletionTimestamp: "2026-01-01T01:00:00Z"
status: {podIP: 10.0.0.9}
---
apiVersion: v1
kind: Pod
metadata: {name: new, namespace: x, creationTimestamp: "2026-01-01T01:00:05Z"}
status: {podIP: 10.0.0.9}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: x}
status: {podIP: 10.0.0.1}
)",
                         "c.yaml"));
  ClusterState state = std::move(l).finish();
  auto eps = build_endpoints(state);
  EdgeGraph g(state, eps, GraphOptions{Granularity::Pod, {}});
  FlowReadStats st;
  ASSERT_TRUE(read_flows_text(record("10.0.0.1", "10.0.0.9", 1000, 80, "\"SYN\":true", false,
                                     "FORWARDED", "2026-01-01T00:30:00Z") +
                                  record("10.0.0.1", "10.0.0.9", 1001, 80, "\"SYN\":true", false,
                                         "FORWARDED", "2026-01-01T01:30:00Z"),
                              "f.json", {}, st, [&](const Flow& f) { g.add(f); }));
  EXPECT_EQ(edge_text(g),
            "x/client -> x/new TCP/80 n=1 est=1 fail=0 drop=0\n"
            "x/client -> x/old TCP/80 n=1 est=1 fail=0 drop=0\n");
}

TEST(EdgeGraph, L7RepliesAreNotEdges) {
  Fixture fx;
  std::string flows =
      "{\"flow\":{\"verdict\":\"FORWARDED\",\"Type\":\"L7\",\"is_reply\":true,"
      "\"IP\":{\"source\":\"10.0.0.3\",\"destination\":\"10.0.0.1\"},\"l4\":{\"UDP\":"
      "{\"source_port\":53,\"destination_port\":40000}},\"l7\":{\"dns\":{}}}}\n"
      "{\"flow\":{\"verdict\":\"FORWARDED\",\"Type\":\"L7\",\"is_reply\":false,"
      "\"IP\":{\"source\":\"10.0.0.1\",\"destination\":\"10.0.0.3\"},\"l4\":{\"UDP\":"
      "{\"source_port\":40000,\"destination_port\":53}},\"l7\":{\"dns\":{}}}}\n";
  auto g = fx.graph(flows, Granularity::Workload);
  // The request is evidence of the edge (no new connection); the response is nothing.
  EXPECT_EQ(edge_text(*g), "shop/web -> shop/api-0 UDP/53 n=0 est=0 fail=0 drop=0\n");
}

TEST(EdgeGraph, RecordsThatMakeNoEdgeMakeNoNode) {
  Fixture fx;
  // A mid-connection ACK without is_reply, and a reset that answers no known connection.
  std::string flows =
      "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\","
      "\"destination\":\"203.0.113.5\"},\"l4\":{\"TCP\":{\"source_port\":1,"
      "\"destination_port\":443,\"flags\":{\"ACK\":true}}}}}\n" +
      record("10.0.0.3", "198.51.100.9", 8080, 40000, "\"RST\":true", true);
  auto g = fx.graph(flows, Granularity::Workload);
  EXPECT_TRUE(g->nodes().empty());
  EXPECT_TRUE(g->edges().empty());
}

TEST(EdgeGraph, TimesBefore1970) {
  Fixture fx;
  auto g = fx.graph(record("10.0.0.1", "10.0.0.3", 1, 8080, "\"SYN\":true", false, "FORWARDED",
                           "1969-12-31T23:59:59.5Z"),
                    Granularity::Workload);
  ASSERT_EQ(g->edges().size(), 1u);
  EXPECT_LT(g->edges()[0].second.first_seen, 0);
  EXPECT_EQ(g->edges()[0].second.last_seen, g->edges()[0].second.first_seen);
}

// The same SYN as seen from a node name (Hubble's node_name on the wrapper).
std::string on_node(const std::string& rec, const std::string& node) {
  return "{\"node_name\":\"" + node + "\"," + rec.substr(1);
}

TEST(EdgeGraph, ACrossNodeConnectionReportedAtBothEndsCountsOnce) {
  Fixture fx;
  std::string syn = record("10.0.0.1", "10.0.0.3", 40000, 8080, "\"SYN\":true", false, "FORWARDED",
                           "2026-01-01T00:00:00Z");
  std::string syn_later = record("10.0.0.1", "10.0.0.3", 40000, 8080, "\"SYN\":true", false,
                                 "FORWARDED", "2026-01-01T00:01:00Z");
  auto both_ends = fx.graph(on_node(syn, "c/n1") + on_node(syn, "c/n2"), Granularity::Workload);
  EXPECT_EQ(edge_text(*both_ends), "shop/web -> shop/api-0 TCP/8080 n=1 est=1 fail=0 drop=0\n");
  EXPECT_EQ(both_ends->duplicates(), 1u);
  // From one node twice (a retransmission): both count, as do reports a minute apart.
  auto same_node = fx.graph(on_node(syn, "c/n1") + on_node(syn, "c/n1"), Granularity::Workload);
  EXPECT_EQ(edge_text(*same_node), "shop/web -> shop/api-0 TCP/8080 n=2 est=2 fail=0 drop=0\n");
  auto apart = fx.graph(on_node(syn, "c/n1") + on_node(syn_later, "c/n2"), Granularity::Workload);
  EXPECT_EQ(edge_text(*apart), "shop/web -> shop/api-0 TCP/8080 n=2 est=2 fail=0 drop=0\n");
}

TEST(EdgeGraph, CountsAddUp) {
  Fixture fx;
  std::string flows;
  for (int i = 0; i < 100; ++i)
    flows += record(i % 2 ? "10.0.0.1" : "10.0.0.2", "10.0.0.3", 30000 + i, 8080, "\"SYN\":true",
                    false, i % 10 == 0 ? "DROPPED" : "FORWARDED");
  auto g = fx.graph(flows, Granularity::Workload);
  uint64_t total = 0;
  for (const auto& [k, s] : g->edges()) {
    EXPECT_EQ(s.count, s.established + s.failed + s.dropped);
    total += s.count;
  }
  EXPECT_EQ(total, 100u);
  EXPECT_EQ(g->flows(), 100u);
}

}  // namespace
}  // namespace stockade
