// Policy synthesis from observed traffic (src/recommend): selectors, ports, DNS, external
// peers, existing policies, learning controls, determinism, and the engine's self-check.
#include "recommend/recommend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "input/loader.h"

namespace stockade {
namespace {

const char* kCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: shop}}
---
apiVersion: v1
kind: Namespace
metadata: {name: data}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 192.168.0.10}]}
---
apiVersion: v1
kind: Node
metadata: {name: n2}
status: {addresses: [{type: InternalIP, address: 192.168.0.11}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, uid: d1}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec: {containers: [{name: c, ports: [{containerPort: 80, name: http}]}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-7d9f8c6b5d
  namespace: shop
  uid: r1
  ownerReferences: [{kind: Deployment, name: web, uid: d1, controller: true}]
spec:
  selector: {matchLabels: {app: web, pod-template-hash: 7d9f8c6b5d}}
  template:
    metadata: {labels: {app: web, tier: front, pod-template-hash: 7d9f8c6b5d}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-7d9f8c6b5d-aaaaa
  namespace: shop
  labels: {app: web, tier: front, pod-template-hash: 7d9f8c6b5d}
  ownerReferences: [{kind: ReplicaSet, name: web-7d9f8c6b5d, uid: r1, controller: true}]
spec: {nodeName: n1, containers: [{name: c, ports: [{containerPort: 80, name: http}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-7d9f8c6b5d-bbbbb
  namespace: shop
  labels: {app: web, tier: front, pod-template-hash: 7d9f8c6b5d}
  ownerReferences: [{kind: ReplicaSet, name: web-7d9f8c6b5d, uid: r1, controller: true}]
spec: {nodeName: n2, containers: [{name: c, ports: [{containerPort: 80, name: http}]}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec: {nodeName: n1, containers: [{name: c, ports: [{containerPort: 8080}]}]}
status: {podIP: 10.0.0.3}
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: shop, labels: {run: debug}}
spec: {nodeName: n1}
status: {podIP: 10.0.0.4}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: data, uid: s1}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, ports: [{containerPort: 5432, name: pg}]}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: db-0
  namespace: data
  labels: {app: db, controller-revision-hash: db-5d8f, statefulset.kubernetes.io/pod-name: db-0}
  ownerReferences: [{kind: StatefulSet, name: db, uid: s1, controller: true}]
spec: {nodeName: n2, containers: [{name: c, ports: [{containerPort: 5432, name: pg}]}]}
status: {podIP: 10.0.1.1}
---
apiVersion: batch/v1
kind: Job
metadata: {name: report, namespace: data, uid: j1}
spec:
  selector: {matchLabels: {batch.kubernetes.io/controller-uid: j1}}
  template:
    metadata: {labels: {app: report, batch.kubernetes.io/controller-uid: j1, job-name: report}}
---
apiVersion: v1
kind: Pod
metadata:
  name: report-x7k2p
  namespace: data
  labels: {app: report, batch.kubernetes.io/controller-uid: j1, job-name: report}
  ownerReferences: [{kind: Job, name: report, uid: j1, controller: true}]
spec: {nodeName: n2}
status: {podIP: 10.0.1.2}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, uid: d2}
spec:
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      containers:
      - name: coredns
        ports:
        - {containerPort: 5353, name: dns, protocol: UDP}
        - {containerPort: 5353, name: dns-tcp, protocol: TCP}
---
apiVersion: v1
kind: Pod
metadata:
  name: coredns-0
  namespace: kube-system
  labels: {k8s-app: kube-dns}
  ownerReferences: [{kind: Deployment, name: coredns, uid: d2, controller: true}]
spec:
  nodeName: n1
  containers:
  - name: coredns
    ports:
    - {containerPort: 5353, name: dns, protocol: UDP}
    - {containerPort: 5353, name: dns-tcp, protocol: TCP}
status: {podIP: 10.0.2.1}
)";

int g_port = 30000;

std::string tcp(const std::string& src, const std::string& dst, int dport,
                const std::string& time = "2026-01-01T00:00:00Z",
                const std::string& verdict = "FORWARDED") {
  return "{\"flow\":{\"time\":\"" + time + "\",\"verdict\":\"" + verdict +
         "\",\"IP\":{\"source\":\"" + src + "\",\"destination\":\"" + dst +
         "\"},\"l4\":{\"TCP\":{\"source_port\":" + std::to_string(++g_port) +
         ",\"destination_port\":" + std::to_string(dport) +
         ",\"flags\":{\"SYN\":true}}},\"is_reply\":false}}\n";
}

std::string udp(const std::string& src, const std::string& dst, int dport,
                const std::string& time = "2026-01-01T00:00:00Z") {
  return "{\"flow\":{\"time\":\"" + time + "\",\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"" +
         src + "\",\"destination\":\"" + dst +
         "\"},\"l4\":{\"UDP\":{\"source_port\":" + std::to_string(++g_port) +
         ",\"destination_port\":" + std::to_string(dport) + "}},\"is_reply\":false}}\n";
}

std::string base_flows() {
  std::string f;
  f += tcp("10.0.0.1", "10.0.1.1", 5432);                          // web -> db (cross-ns, named)
  f += tcp("10.0.0.2", "10.0.0.3", 8080, "2026-01-01T00:00:05Z");  // web -> api (numeric)
  f += udp("10.0.0.1", "10.0.2.1", 5353);                          // web -> DNS on 5353
  f += tcp("10.0.0.2", "203.0.113.7", 443);                        // web -> external
  f += tcp("10.0.1.2", "10.0.0.3", 8080);                          // job -> api
  f += tcp("10.0.0.4", "10.0.0.3", 8080, "2026-01-01T00:00:01Z", "DROPPED");  // failed only
  f += tcp("192.168.0.11", "10.0.0.3", 8080);  // node n2 -> api (probe)
  return f;
}

struct Fixture {
  ClusterState state;
  std::unique_ptr<PolicyEngine> engine;
  explicit Fixture(const std::string& extra = "") {
    ClusterLoader l;
    auto r = l.add_text(kCluster, "cluster.yaml");
    EXPECT_TRUE(r) << r.error().str();
    if (!extra.empty()) {
      auto r2 = l.add_text(extra, "existing.yaml");
      EXPECT_TRUE(r2) << r2.error().str();
    }
    state = std::move(l).finish();
    engine = PolicyEngine::compile(state, build_endpoints(state));
  }
  Observed observe(const std::string& flows, ObserveOptions o = {}) {
    auto r = observe_flows_text(state, *engine, flows, o);
    EXPECT_TRUE(r) << r.error().str();
    return r ? std::move(*r) : Observed{};
  }
};

const RecommendedPolicy* find(const Recommendation& r, const std::string& ns,
                              const std::string& name) {
  for (const RecommendedPolicy& p : r.policies)
    if (p.policy.ns == ns && p.policy.name == name) return &p;
  return nullptr;
}

// Rules of a policy that come from observed traffic (not only from what the objects declare).
size_t observed_rules(const RecommendedPolicy* p, bool egress) {
  if (!p) return 0;
  size_t n = 0;
  for (const auto& ev : egress ? p->egress_evidence : p->ingress_evidence)
    n +=
        std::any_of(ev.begin(), ev.end(), [](const PeerEvidence& e) { return e.declared.empty(); });
  return n;
}

// Every must-allow edge is allowed by the recommended set; returns how many.
size_t self_check(const Fixture& fx, const Observed& obs, const Recommendation& rec,
                  bool replace = false) {
  for (const RecommendedPolicy& p : rec.policies)
    EXPECT_EQ(render_policy_yaml(p), render_policy_yaml_via_tree(p));
  ClusterState after = with_recommendation(fx.state, rec, replace);
  auto engine = PolicyEngine::compile(after, build_endpoints(after));
  for (size_t i : rec.must_allow) {
    const ObservedEdge& e = obs.edges[i];
    EXPECT_TRUE(evaluate_edge(*engine, e).allowed)
        << e.src.id << " -> " << e.dst.id << " " << to_string(e.protocol) << "/" << e.port;
    EXPECT_TRUE(edge_allowed(*engine, e));  // the fast path agrees
  }
  return rec.must_allow.size();
}

TEST(Recommend, WorkloadSelectorsNamedPortsCrossNamespaceDnsExternal) {
  Fixture fx;
  Observed obs = fx.observe(base_flows());
  Recommendation rec = recommend(fx.state, *fx.engine, obs, {});
  std::string yaml = render_yaml(rec);

  // web's egress: selected by the Deployment's selector, never pod-template-hash.
  const RecommendedPolicy* web = find(rec, "shop", "stockade-egress-web");
  ASSERT_NE(web, nullptr) << yaml;
  EXPECT_EQ(web->policy.pod_selector.canonical(), "app in (web)");
  EXPECT_TRUE(web->policy.affects_egress);
  EXPECT_FALSE(web->policy.affects_ingress);
  bool db_rule = false, dns_rule = false, ext_rule = false;
  for (const NetworkPolicyRule& r : web->policy.egress) {
    for (const NetworkPolicyPeer& p : r.peers) {
      if (p.pod_selector && p.pod_selector->canonical() == "app in (db)") {
        db_rule = true;
        ASSERT_TRUE(p.namespace_selector);
        EXPECT_EQ(p.namespace_selector->canonical(), "kubernetes.io/metadata.name in (data)");
        ASSERT_EQ(r.ports.size(), 1u);
        EXPECT_EQ(r.ports[0].kind, NetworkPolicyPort::Kind::Name);
        EXPECT_EQ(r.ports[0].name, "pg");
        EXPECT_EQ(r.ports[0].protocol, Protocol::TCP);
      }
      if (p.pod_selector && p.pod_selector->canonical() == "k8s-app in (kube-dns)") {
        dns_rule = true;
        // DNS on both protocols, at the pods' own port (5353), by its names.
        ASSERT_EQ(r.ports.size(), 2u);
        std::set<std::pair<Protocol, std::string>> got;
        for (const auto& port : r.ports) got.insert({*port.protocol, port.name});
        EXPECT_EQ(got, (std::set<std::pair<Protocol, std::string>>{{Protocol::TCP, "dns-tcp"},
                                                                   {Protocol::UDP, "dns"}}));
      }
      if (p.ip_block) {
        ext_rule = true;
        EXPECT_EQ(p.ip_block->cidr.str(), "203.0.113.7/32");
        ASSERT_EQ(r.ports.size(), 1u);
        EXPECT_EQ(r.ports[0].port, 443);
      }
    }
  }
  EXPECT_TRUE(db_rule && dns_rule && ext_rule) << yaml;

  // api's ingress: numeric port (undeclared name), from web, from the Job (template labels
  // without controller-uid / job-name) and from node n2; never from debug (failed attempt).
  const RecommendedPolicy* api = find(rec, "shop", "stockade-ingress-api");
  ASSERT_NE(api, nullptr) << yaml;
  EXPECT_EQ(api->policy.pod_selector.canonical(), "app in (api)");
  std::set<std::string> peers;
  for (const NetworkPolicyRule& r : api->policy.ingress) {
    for (const auto& port : r.ports) {
      EXPECT_EQ(port.kind, NetworkPolicyPort::Kind::Number);
      EXPECT_EQ(port.port, 8080);
    }
    for (const NetworkPolicyPeer& p : r.peers)
      peers.insert(
          p.ip_block ? p.ip_block->cidr.str()
                     : p.pod_selector->canonical() +
                           (p.namespace_selector ? " @" + p.namespace_selector->canonical() : ""));
  }
  EXPECT_EQ(peers,
            (std::set<std::string>{"192.168.0.11/32", "app in (web)",
                                   "app in (report) @kubernetes.io/metadata.name in (data)"}))
      << yaml;
  // debug only failed: its egress policy holds the declared cluster DNS alone.
  EXPECT_EQ(observed_rules(find(rec, "shop", "stockade-egress-debug"), true), 0u);
  EXPECT_GE(rec.edges_failed_only, 1u);

  // The StatefulSet by its selector; default-deny in every namespace with policies.
  const RecommendedPolicy* db = find(rec, "data", "stockade-ingress-db");
  ASSERT_NE(db, nullptr) << yaml;
  EXPECT_EQ(db->policy.pod_selector.canonical(), "app in (db)");
  // kube-system is left alone (--include-system).
  for (const RecommendedPolicy& p : rec.policies) EXPECT_NE(p.policy.ns, "kube-system");
  for (const char* ns : {"shop", "data"}) {
    const RecommendedPolicy* dd = find(rec, ns, "stockade-default-deny");
    ASSERT_NE(dd, nullptr) << ns;
    EXPECT_TRUE(dd->policy.pod_selector.empty());
    EXPECT_TRUE(dd->policy.affects_ingress && dd->policy.affects_egress);
  }
  EXPECT_EQ(yaml.find("pod-template-hash"), std::string::npos);
  EXPECT_EQ(yaml.find("controller-uid"), std::string::npos);
  EXPECT_EQ(yaml.find("controller-revision-hash"), std::string::npos);
  // Evidence annotations.
  EXPECT_NE(yaml.find("stockade.io/observed-connections"), std::string::npos);
  EXPECT_NE(yaml.find("stockade.io/learning-window\": \"2026-01-01T00:00:00Z/2026-01-01T00:00:05Z"),
            std::string::npos)
      << yaml;

  EXPECT_EQ(self_check(fx, obs, rec), 6u);
  // The failed attempt stays denied.
  ClusterState after = with_recommendation(fx.state, rec, false);
  auto engine = PolicyEngine::compile(after, build_endpoints(after));
  EXPECT_FALSE(engine->allowed(*engine->find_endpoint("shop", "debug"),
                               *engine->find_endpoint("shop", "api"), Protocol::TCP, 8080));
  // Least privilege: web may not reach api on another port, nor db reach api.
  EXPECT_FALSE(engine->allowed(*engine->find_endpoint("shop", "web-7d9f8c6b5d-aaaaa"),
                               *engine->find_endpoint("shop", "api"), Protocol::TCP, 9090));
  EXPECT_FALSE(engine->allowed(*engine->find_endpoint("data", "db-0"),
                               *engine->find_endpoint("shop", "api"), Protocol::TCP, 8080));
}

TEST(Recommend, OutputRoundTripsThroughTheLoaderAndIsDeterministic) {
  Fixture fx;
  Observed obs = fx.observe(base_flows());
  Recommendation rec = recommend(fx.state, *fx.engine, obs, {});
  std::string yaml = render_yaml(rec), json = render_json(rec);
  // Same flows in the reverse order: byte-identical output.
  std::string flows = base_flows(), reversed;
  std::vector<std::string> lines;
  for (size_t p = 0, q; (q = flows.find('\n', p)) != std::string::npos; p = q + 1)
    lines.push_back(flows.substr(p, q - p + 1));
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) reversed += *it;
  Observed obs2 = fx.observe(reversed);
  Recommendation rec2 = recommend(fx.state, *fx.engine, obs2, {});
  EXPECT_EQ(render_yaml(rec2), yaml);
  EXPECT_EQ(render_json(rec2), json);
  // Built on two threads: the same bytes.
  RecommendOptions threaded;
  threaded.parallel_from = 0;
  Recommendation rec3 = recommend(fx.state, *fx.engine, obs, threaded);
  EXPECT_EQ(render_yaml(rec3), yaml);
  self_check(fx, obs, rec3);

  for (const std::string* text : {&yaml, &json}) {
    ClusterLoader l;
    ASSERT_TRUE(l.add_text(kCluster, "cluster.yaml"));
    auto r = l.add_text(*text, "recommended");
    ASSERT_TRUE(r) << r.error().str() << "\n" << *text;
    ClusterState s = std::move(l).finish();
    EXPECT_EQ(s.network_policies.size(), rec.policies.size());
    auto engine = PolicyEngine::compile(s, build_endpoints(s));
    for (size_t i : rec.must_allow) EXPECT_TRUE(evaluate_edge(*engine, obs.edges[i]).allowed);
  }
}

TEST(Recommend, ExternalPeersAggregateIntoACoveringPrefixPastTheLimit) {
  Fixture fx;
  std::string flows;
  for (int i = 1; i <= 6; ++i) flows += tcp("198.51.100." + std::to_string(i), "10.0.0.1", 80);
  flows += tcp("203.0.113.9", "10.0.0.1", 80);
  RecommendOptions o;
  o.aggregate_after = 4;
  Observed obs = fx.observe(flows);
  Recommendation rec = recommend(fx.state, *fx.engine, obs, o);
  const RecommendedPolicy* web = find(rec, "shop", "stockade-ingress-web");
  ASSERT_NE(web, nullptr);
  std::vector<std::string> cidrs;
  for (const auto& r : web->policy.ingress) {
    for (const auto& p : r.peers) cidrs.push_back(p.ip_block->cidr.str());
    ASSERT_EQ(r.ports.size(), 1u);
    EXPECT_EQ(r.ports[0].name, "http");  // named: the destination declares it
  }
  // Narrowest prefixes first, stopping as soon as the limit holds.
  EXPECT_EQ(cidrs,
            (std::vector<std::string>{"198.51.100.0/30", "198.51.100.4/30", "203.0.113.9/32"}));
  self_check(fx, obs, rec);

  // Below the limit: one /32 each; never 0.0.0.0/0 however many.
  o.aggregate_after = 16;
  rec = recommend(fx.state, *fx.engine, obs, o);
  EXPECT_EQ(find(rec, "shop", "stockade-ingress-web")->policy.ingress.front().peers.size(), 7u);
  std::string many;
  for (int i = 0; i < 40; ++i) many += tcp(std::to_string(1 + i * 6) + ".1.2.3", "10.0.0.1", 80);
  o.aggregate_after = 2;
  obs = fx.observe(many);
  rec = recommend(fx.state, *fx.engine, obs, o);
  for (const auto& r : find(rec, "shop", "stockade-ingress-web")->policy.ingress)
    for (const auto& p : r.peers) EXPECT_GE(p.ip_block->cidr.prefix, 16);
  self_check(fx, obs, rec);
  // Only when asked: as wide as 0.0.0.0/0.
  o.min_prefix_v4 = 0;
  o.aggregate_after = 1;
  rec = recommend(fx.state, *fx.engine, obs, o);
  const auto& peers = find(rec, "shop", "stockade-ingress-web")->policy.ingress.front().peers;
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers.front().ip_block->cidr.str(), "0.0.0.0/0");
  self_check(fx, obs, rec);
}

TEST(Recommend, ExistingPoliciesAreRespectedAndReplaceRegenerates) {
  // An existing policy already lets web reach api, and isolates db denying the Job.
  Fixture fx(R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 8080}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-locked, namespace: data}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: other}}}]}]
)");
  Observed obs = fx.observe(base_flows());
  Recommendation rec = recommend(fx.state, *fx.engine, obs, {});
  // api is isolated by api-from-web: web -> api is allowed already, the Job and the node are
  // denied by it and stay denied; nothing is written for api's ingress.
  EXPECT_EQ(find(rec, "shop", "stockade-ingress-api"), nullptr);
  EXPECT_NE(find(rec, "shop", "stockade-egress-web"), nullptr);
  // web -> db is denied by db-locked: nothing contradicts it.
  EXPECT_EQ(rec.edges_denied_existing, 3u);  // web -> db, report -> api, node -> api
  EXPECT_EQ(find(rec, "data", "stockade-ingress-db"), nullptr);
  for (const auto& r : find(rec, "shop", "stockade-egress-web")->policy.egress)
    for (const auto& p : r.peers)
      EXPECT_FALSE(p.pod_selector && p.pod_selector->canonical() == "app in (db)");
  ASSERT_FALSE(rec.notes.empty());
  self_check(fx, obs, rec);

  // --replace: the engine without the existing NetworkPolicies; everything regenerated.
  ClusterState base = fx.state;
  base.network_policies.clear();
  auto without = PolicyEngine::compile(base, build_endpoints(base));
  RecommendOptions o;
  o.replace = true;
  Recommendation rep = recommend(fx.state, *without, obs, o);
  EXPECT_EQ(rep.edges_denied_existing, 0u);
  EXPECT_NE(find(rep, "data", "stockade-ingress-db"), nullptr);
  self_check(fx, obs, rep, true);
}

TEST(Recommend, LearningWindowMinCountAndNoDefaultDeny) {
  Fixture fx;
  std::string flows = base_flows();
  flows += tcp("10.0.0.1", "10.0.0.3", 8080, "2026-01-02T00:00:00Z");  // outside the window
  ObserveOptions oo;
  oo.until_ns = *parse_rfc3339("2026-01-01T12:00:00Z");
  Observed obs = fx.observe(flows, oo);
  EXPECT_EQ(obs.outside_window, 1u);
  RecommendOptions o;
  o.min_count = 2;
  o.default_deny = false;
  Recommendation rec = recommend(fx.state, *fx.engine, obs, o);
  EXPECT_TRUE(rec.policies.empty());  // every edge was seen once
  EXPECT_GT(rec.edges_below_min_count, 0u);

  std::string twice = base_flows() + base_flows();
  obs = fx.observe(twice);
  rec = recommend(fx.state, *fx.engine, obs, o);
  EXPECT_FALSE(rec.policies.empty());
  EXPECT_EQ(find(rec, "shop", "stockade-default-deny"), nullptr);
  self_check(fx, obs, rec);
}

TEST(Recommend, PodsWithoutOwnersAndHostNetwork) {
  Fixture fx(R"(
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: kube-system, labels: {app: agent}}
spec: {hostNetwork: true, nodeName: n2}
status: {podIP: 192.168.0.11}
---
apiVersion: v1
kind: Pod
metadata: {name: bare, namespace: shop}
spec: {nodeName: n1}
status: {podIP: 10.0.0.9}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: logger, namespace: shop, uid: ds1}
spec:
  selector: {matchLabels: {name: logger}}
  template: {metadata: {labels: {name: logger}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: logger-x7k2p
  namespace: shop
  labels: {name: logger, controller-revision-hash: 6d5f8, pod-template-generation: "3"}
  ownerReferences: [{kind: DaemonSet, name: logger, uid: ds1, controller: true}]
spec: {nodeName: n2}
status: {podIP: 10.0.0.10}
)");
  std::string flows;
  flows += tcp("10.0.0.4", "10.0.0.3", 8080);       // debug (no owner) -> api
  flows += tcp("192.168.0.11", "10.0.0.3", 8080);   // host-network agent -> api
  flows += tcp("10.0.0.9", "10.0.0.3", 8080);       // a pod without labels -> api
  flows += tcp("10.0.0.3", "192.168.0.10", 10250);  // api -> its own node: always allowed
  flows += tcp("10.0.0.10", "10.0.0.3", 8080);      // DaemonSet pod -> api
  Observed obs = fx.observe(flows);
  Recommendation rec = recommend(fx.state, *fx.engine, obs, {});
  const RecommendedPolicy* debug = find(rec, "shop", "stockade-egress-debug");
  ASSERT_NE(debug, nullptr);
  EXPECT_EQ(debug->policy.pod_selector.canonical(), "run in (debug)");
  // The host-network pod is its node: no policy selects it, the peer is the node's address.
  EXPECT_EQ(find(rec, "kube-system", "stockade-egress-agent"), nullptr);
  bool node_peer = false;
  for (const auto& r : find(rec, "shop", "stockade-ingress-api")->policy.ingress)
    for (const auto& p : r.peers)
      node_peer |= p.ip_block && p.ip_block->cidr.str() == "192.168.0.11/32";
  EXPECT_TRUE(node_peer);
  EXPECT_EQ(observed_rules(find(rec, "shop", "stockade-egress-api"), true), 0u);  // own node
  const RecommendedPolicy* logger = find(rec, "shop", "stockade-egress-logger");
  ASSERT_NE(logger, nullptr);
  EXPECT_EQ(logger->policy.pod_selector.canonical(), "name in (logger)");
  bool broad_note = false;
  for (const auto& n : rec.notes) broad_note |= n.find("shop/bare") != std::string::npos;
  EXPECT_TRUE(broad_note);
  self_check(fx, obs, rec);
}

TEST(Recommend, GuardrailsInEveryApiVersion) {
  for (std::string_view version : {kAnpV1alpha1, kCnpV1alpha2, kCnpV1beta1}) {
    SCOPED_TRACE(version);
    const bool cnp = version != kAnpV1alpha1;
    Fixture fx;
    std::string flows = base_flows();
    flows += tcp("10.0.1.2", "169.254.169.254", 80);  // the Job reads the cloud metadata
    Observed obs = fx.observe(flows);
    RecommendOptions o;
    o.guardrails = true;
    o.guardrail_api = std::string(version);
    Recommendation rec = recommend(fx.state, *fx.engine, obs, o);
    std::map<std::string, const ClusterPolicy*> by_name;
    for (const ClusterPolicy& p : rec.guardrails) {
      by_name[p.name] = &p;
      EXPECT_EQ(p.kind, cnp ? ClusterPolicyKind::ClusterNetworkPolicy
                            : ClusterPolicyKind::AdminNetworkPolicy);
      EXPECT_EQ(p.api_version, version);
    }
    ASSERT_TRUE(by_name.count("stockade-allow-dns"));
    ASSERT_TRUE(by_name.count("stockade-deny-cloud-metadata"));
    ASSERT_TRUE(by_name.count("stockade-cross-namespace-data"));
    // The metadata address stays reachable from the namespace that used it, only.
    EXPECT_EQ(by_name["stockade-deny-cloud-metadata"]->subject.namespace_selector.canonical(),
              "kubernetes.io/metadata.name notin (data)");
    // DNS on both protocols at the pods' port.
    const auto& dns_ports = *by_name["stockade-allow-dns"]->egress.front().ports;
    ASSERT_EQ(dns_ports.size(), 2u);
    EXPECT_EQ(dns_ports[0].start, 5353);
    // Every observed edge still allowed; an unobserved cross-namespace call is not, even
    // without the NetworkPolicies (the guardrail alone), and the metadata is denied elsewhere.
    self_check(fx, obs, rec);
    Recommendation only_guardrails = rec;
    only_guardrails.policies.clear();
    ClusterState g = with_recommendation(fx.state, only_guardrails, false);
    auto engine = PolicyEngine::compile(g, build_endpoints(g));
    uint32_t db = *engine->find_endpoint("data", "db-0");
    uint32_t api = *engine->find_endpoint("shop", "api");
    uint32_t web = *engine->find_endpoint("shop", "web-7d9f8c6b5d-aaaaa");
    uint32_t dns = *engine->find_endpoint("kube-system", "coredns-0");
    EXPECT_TRUE(engine->allowed(web, db, Protocol::TCP, 5432));  // observed shop -> data
    EXPECT_TRUE(engine->allowed(db, api, Protocol::TCP, 8080)) << "data -> shop: observed (Job)";
    EXPECT_FALSE(engine->allowed(dns, api, Protocol::TCP, 8080))
        << "kube-system -> shop: unobserved";
    EXPECT_TRUE(engine->allowed(db, dns, Protocol::TCP, 5353)) << "DNS is always allowed";
    EXPECT_FALSE(engine
                     ->evaluate(Peer::of_endpoint(web),
                                Peer::of_ip(*IpAddr::parse("169.254.169.254")), Protocol::TCP, 80)
                     .allowed);
    // Rendered, they load back.
    ClusterLoader l;
    ASSERT_TRUE(l.add_text(kCluster, "cluster.yaml"));
    std::string text = render_yaml(rec);
    EXPECT_NE(text.find("apiVersion: \"" + std::string(version) + "\"\n"), std::string::npos)
        << text;
    auto r = l.add_text(text, "recommended");
    ASSERT_TRUE(r) << r.error().str() << text;
    ClusterState back = std::move(l).finish();
    EXPECT_EQ(back.cluster_policies.size(), rec.guardrails.size());
    for (const ClusterPolicy& p : back.cluster_policies) {
      EXPECT_EQ(p.api_version, version);
    }
  }
}

TEST(Recommend, DirectYamlWriterMatchesTheTreeWriter) {
  RecommendedPolicy rp;
  NetworkPolicy& p = rp.policy;
  p.ns = "shop";
  p.name = "stockade-ingress-x";
  p.affects_ingress = true;
  p.pod_selector.requirements = {{"app", SelectorOp::In, {"x"}},
                                 {"app", SelectorOp::In, {"y"}},  // duplicate key
                                 {"tier", SelectorOp::NotIn, {"a", "b"}},
                                 {"legacy", SelectorOp::DoesNotExist, {}},
                                 {"example.com/team", SelectorOp::In, {"caf\u00e9 \"q\""}}};
  NetworkPolicyRule r;
  NetworkPolicyPeer a;
  a.pod_selector = LabelSelector{};
  a.namespace_selector = p.pod_selector;
  NetworkPolicyPeer b;
  b.ip_block = IpBlock{*Cidr::parse("2001:db8::/64"), {}};
  r.peers = {a, b, NetworkPolicyPeer{}};
  NetworkPolicyPort named;
  named.protocol = Protocol::UDP;
  named.kind = NetworkPolicyPort::Kind::Name;
  named.name = "dns";
  NetworkPolicyPort any;
  r.ports = {named, any};
  p.ingress = {r, NetworkPolicyRule{}};
  rp.annotations = {{"stockade.io/x", "1"}, {"plain", "tab\there"}};
  PeerEvidence ev;
  ev.cidr = *Cidr::parse("2001:db8::/64");
  ev.addresses = 3;
  ev.external = true;
  ev.connections = 7;
  rp.ingress_evidence = {{PeerEvidence{}, ev}};
  EXPECT_EQ(render_policy_yaml(rp), render_policy_yaml_via_tree(rp));
  p.affects_ingress = false;
  EXPECT_EQ(render_policy_yaml(rp), render_policy_yaml_via_tree(rp));
}

TEST(Recommend, EmptyInputGivesNoPolicies) {
  Fixture fx;
  Observed obs = fx.observe("");
  Recommendation rec = recommend(fx.state, *fx.engine, obs, {});
  EXPECT_TRUE(rec.policies.empty());
  EXPECT_EQ(render_yaml(rec), "");
}

}  // namespace
}  // namespace stockade
