// Recommendations safe to apply (issue 27): unobserved workloads left out of the default-deny
// exactly, system namespaces left alone, declared exposure kept, the learning window's
// confidence, and the self-check that proves them (src/recommend/selfcheck.h).
#include <gtest/gtest.h>

#include <algorithm>

#include "input/loader.h"
#include "recommend/recommend.h"
#include "recommend/selfcheck.h"

namespace stockade {
namespace {

const char* kCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: kube-system}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web, part-of: shop}}
spec: {nodeName: n1, containers: [{name: c, ports: [{containerPort: 8080, name: http}, {containerPort: 9102, name: metrics}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api, part-of: shop}}
spec: {nodeName: n1, containers: [{name: c, ports: [{containerPort: 9090, name: grpc}]}]}
status: {podIP: 10.0.0.2}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: shop}
spec:
  schedule: "30 2 * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: report, part-of: shop}}
        spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Pod
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  nodeName: n1
  containers:
  - name: c
    ports:
    - {containerPort: 53, name: dns, protocol: UDP}
    - {containerPort: 53, name: dns-tcp, protocol: TCP}
status: {podIP: 10.0.9.1}
)";

std::string tcp(const std::string& src, const std::string& dst, int dport, int n = 1) {
  std::string out;
  static int sport = 40000;
  for (int i = 0; i < n; ++i)
    out += "{\"flow\":{\"time\":\"2026-01-01T00:00:0" + std::to_string(i % 10) +
           "Z\",\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"" + src + "\",\"destination\":\"" +
           dst + "\"},\"l4\":{\"TCP\":{\"source_port\":" + std::to_string(++sport) +
           ",\"destination_port\":" + std::to_string(dport) +
           ",\"flags\":{\"SYN\":true}}},\"is_reply\":false}}\n";
  return out;
}

struct Case {
  ClusterState state;
  std::unique_ptr<PolicyEngine> engine, after;
  Observed obs;
  Recommendation rec;
  SelfCheck check;
  Case(const std::string& flows, RecommendOptions o, const std::string& extra = "") {
    ClusterLoader l;
    EXPECT_TRUE(l.add_text(kCluster, "cluster.yaml"));
    if (!extra.empty()) {
      EXPECT_TRUE(l.add_text(extra, "extra.yaml"));
    }
    state = std::move(l).finish();
    engine = PolicyEngine::compile(state, build_endpoints(state));
    auto r = observe_flows_text(state, *engine, flows, {});
    EXPECT_TRUE(r);
    obs = std::move(*r);
    rec = recommend(state, *engine, obs, o);
    ClusterState s = with_recommendation(state, rec, false);
    after = PolicyEngine::compile(s, build_endpoints(s));
    check = self_check(*engine, *after, obs, rec, o);
  }
  const RecommendedPolicy* find(const std::string& ns, const std::string& name) const {
    for (const RecommendedPolicy& p : rec.policies)
      if (p.policy.ns == ns && p.policy.name == name) return &p;
    return nullptr;
  }
  uint32_t ep(const std::string& id) const {
    const auto& eps = engine->endpoints();
    for (uint32_t i = 0; i < eps.size(); ++i)
      if (eps[i].id() == id) return i;
    ADD_FAILURE() << id;
    return 0;
  }
};

std::string flows() {
  return tcp("10.0.0.1", "10.0.0.2", 9090, 3) + tcp("10.0.0.2", "10.0.0.1", 8080, 2);
}

TEST(SafeRecommend, UnobservedCronJobIsLeftOutOfTheDefaultDenyExactly) {
  Case c(flows(), {});
  const RecommendedPolicy* dd = c.find("shop", "stockade-default-deny");
  ASSERT_NE(dd, nullptr);
  // part-of: shop is shared with observed pods: only app sets the CronJob apart.
  EXPECT_EQ(dd->policy.pod_selector.canonical(), "app notin (report)");
  EXPECT_TRUE(c.check.unobserved_isolated.empty());
  EXPECT_FALSE(c.check.failed());
  // The engine: the CronJob's pods are isolated in no direction, web and api in both.
  const uint32_t report = c.ep("shop/report");
  EXPECT_FALSE(c.after->np_isolation(report).ingress);
  EXPECT_FALSE(c.after->np_isolation(report).egress);
  EXPECT_TRUE(c.after->np_isolation(c.ep("shop/web")).ingress);
  EXPECT_TRUE(c.after->np_isolation(c.ep("shop/api")).egress);
  // Its DNS stays allowed.
  EXPECT_TRUE(c.after->allowed(report, c.ep("kube-system/coredns"), Protocol::UDP, 53));
  bool listed = false;
  for (const auto& cov : c.rec.coverage)
    if (cov.name == "report") listed = !cov.observed && !cov.isolated;
  EXPECT_TRUE(listed);

  RecommendOptions isolate;
  isolate.isolate_unobserved = true;
  Case i(flows(), isolate);
  EXPECT_TRUE(i.find("shop", "stockade-default-deny")->policy.pod_selector.empty());
  EXPECT_TRUE(i.after->np_isolation(i.ep("shop/report")).egress);
}

TEST(SafeRecommend, AnUnobservedPodThatCannotBeToldApartGetsNoDefaultDeny) {
  Case c(flows(), {}, R"(
apiVersion: v1
kind: Pod
metadata: {name: web-shadow, namespace: shop, labels: {app: web, part-of: shop}}
spec: {nodeName: n1}
status: {podIP: 10.0.0.7}
)");
  // The shadow pod's labels are web's: the CronJob can still be excluded, the shadow cannot.
  EXPECT_EQ(c.find("shop", "stockade-default-deny"), nullptr);
  EXPECT_TRUE(std::any_of(c.rec.notes.begin(), c.rec.notes.end(), [](const std::string& n) {
    return n.find("web-shadow") != std::string::npos;
  }));
  EXPECT_FALSE(c.check.failed());
}

TEST(SafeRecommend, SystemNamespacesAreLeftAloneUnlessIncluded) {
  std::string f = flows() + tcp("10.0.0.1", "10.0.9.1", 53, 2);
  Case c(f, {});
  for (const RecommendedPolicy& p : c.rec.policies) EXPECT_NE(p.policy.ns, "kube-system");
  EXPECT_EQ(c.rec.system_namespaces_skipped, std::vector<std::string>{"kube-system"});

  RecommendOptions o;
  o.include_system = true;
  Case s(f, o);
  const RecommendedPolicy* eg = s.find("kube-system", "stockade-egress-coredns");
  ASSERT_NE(eg, nullptr);  // unobserved egress, but it keeps its upstream
  const IpAddr upstream = *IpAddr::parse("8.8.8.8");
  const Peer dns = Peer::of_endpoint(s.ep("kube-system/coredns"));
  EXPECT_TRUE(s.after->evaluate(dns, Peer::of_ip(upstream), Protocol::UDP, 53).allowed);
  EXPECT_TRUE(s.after->evaluate(dns, Peer::of_ip(upstream), Protocol::TCP, 53).allowed);
  EXPECT_FALSE(s.after->evaluate(dns, Peer::of_ip(upstream), Protocol::TCP, 443).allowed);
  // The cluster DNS takes queries from every pod, observed or not (the CronJob's).
  EXPECT_TRUE(
      s.after->allowed(s.ep("shop/report"), s.ep("kube-system/coredns"), Protocol::UDP, 53));
  EXPECT_FALSE(s.check.failed());
}

TEST(SafeRecommend, LoadBalancerServiceStaysReachableFromOutside) {
  Case c(flows(), {});
  const RecommendedPolicy* in = c.find("shop", "stockade-ingress-web");
  ASSERT_NE(in, nullptr);
  bool kept = false;
  for (size_t r = 0; r < in->policy.ingress.size(); ++r)
    for (size_t k = 0; k < in->policy.ingress[r].peers.size(); ++k)
      if (in->policy.ingress[r].peers[k].ip_block &&
          in->policy.ingress[r].peers[k].ip_block->cidr.str() == "0.0.0.0/0") {
        kept = true;
        EXPECT_NE(in->ingress_evidence[r][k].declared.find("Service shop/web (LoadBalancer)"),
                  std::string::npos);
        EXPECT_EQ(in->policy.ingress[r].ports.at(0).name, "http");
      }
  EXPECT_TRUE(kept) << render_yaml(c.rec);
  const Peer world = Peer::of_ip(*IpAddr::parse("203.0.113.50"));
  EXPECT_TRUE(
      c.after->evaluate(world, Peer::of_endpoint(c.ep("shop/web")), Protocol::TCP, 8080).allowed);
  EXPECT_FALSE(
      c.after->evaluate(world, Peer::of_endpoint(c.ep("shop/web")), Protocol::TCP, 9102).allowed);
  EXPECT_GT(c.check.declared_checked, 0u);
  EXPECT_TRUE(c.check.declared_denied.empty());
  EXPECT_NE(render_yaml(c.rec).find("declared by Service shop/web (LoadBalancer)"),
            std::string::npos);
}

TEST(SafeRecommend, PrometheusScrapeTargetsAreKept) {
  const std::string extra = R"(
apiVersion: v1
kind: Namespace
metadata: {name: monitoring}
---
apiVersion: v1
kind: Pod
metadata: {name: prometheus, namespace: monitoring, labels: {app: prometheus}}
spec: {nodeName: n1}
status: {podIP: 10.0.5.1}
---
apiVersion: v1
kind: Pod
metadata:
  name: metered
  namespace: shop
  labels: {app: metered}
  annotations: {prometheus.io/scrape: "true", prometheus.io/port: "9102"}
spec: {nodeName: n1, containers: [{name: c, ports: [{containerPort: 9102}]}]}
status: {podIP: 10.0.0.9}
)";
  // metered is seen (it calls api); the scrape is not.
  Case c(flows() + tcp("10.0.0.9", "10.0.0.2", 9090) + tcp("10.0.5.1", "10.0.0.2", 9090), {},
         extra);
  const uint32_t prom = c.ep("monitoring/prometheus"), metered = c.ep("shop/metered");
  EXPECT_TRUE(c.after->allowed(prom, metered, Protocol::TCP, 9102));
  EXPECT_FALSE(c.after->allowed(prom, metered, Protocol::TCP, 9090));
  EXPECT_FALSE(c.check.failed());

  // With guardrails, a Prometheus never seen in the window still passes the cross-namespace
  // guardrail of shop (declared callers count as observed ones), in every API version; and
  // kube-system gets no cross-namespace guardrail by default.
  for (std::string_view version : {kCnpV1beta1, kCnpV1alpha2, kAnpV1alpha1}) {
    RecommendOptions o;
    o.guardrails = true;
    o.guardrail_api = std::string(version);
    Case g(flows() + tcp("10.0.0.9", "10.0.0.2", 9090) + tcp("10.0.0.1", "10.0.9.1", 53), o, extra);
    EXPECT_TRUE(g.check.declared_denied.empty())
        << (g.check.declared_denied.empty() ? "" : g.check.declared_denied.front());
    EXPECT_TRUE(
        g.after->allowed(g.ep("monitoring/prometheus"), g.ep("shop/metered"), Protocol::TCP, 9102));
    for (const ClusterPolicy& p : g.rec.guardrails)
      EXPECT_NE(p.name, "stockade-cross-namespace-kube-system");
    EXPECT_TRUE(std::any_of(
        g.rec.guardrails.begin(), g.rec.guardrails.end(),
        [](const ClusterPolicy& p) { return p.name == "stockade-cross-namespace-shop"; }));
  }
}

// ServiceMonitors and PodMonitors are declared scrape targets, like the annotations. Their
// shapes follow the Prometheus Operator's getting-started guide (prometheus-operator/
// prometheus-operator Documentation, Apache-2.0): `endpoints: [{port: web}]` naming a Service
// port, `podMetricsEndpoints: [{port: web}]` naming a container port, namespaceSelector
// matchNames; Prometheus' pods labelled as the operator labels them.
TEST(SafeRecommend, ServiceMonitorsAndPodMonitorsAreDeclaredScrapeTargets) {
  const std::string prometheus = R"(
apiVersion: v1
kind: Namespace
metadata: {name: monitoring}
---
apiVersion: v1
kind: Pod
metadata:
  name: prometheus-k8s-0
  namespace: monitoring
  labels: {app.kubernetes.io/name: prometheus, app.kubernetes.io/managed-by: prometheus-operator, prometheus: k8s}
spec: {nodeName: n1}
status: {podIP: 10.0.5.1}
---
apiVersion: v1
kind: Service
metadata: {name: web-metrics, namespace: shop, labels: {app: web}}
spec:
  selector: {app: web}
  ports: [{name: metrics, port: 9102, targetPort: metrics}]
)";
  const std::string monitors = R"(
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: web, namespace: monitoring, labels: {team: frontend}}
spec:
  namespaceSelector: {matchNames: [shop]}
  selector: {matchLabels: {app: web}}
  endpoints:
  - {port: metrics, interval: 30s, path: /metrics}
---
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata: {name: api, namespace: shop, labels: {team: backend}}
spec:
  selector: {matchLabels: {app: api}}
  podMetricsEndpoints:
  - port: grpc
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: elsewhere, namespace: monitoring}
spec:
  selector: {matchLabels: {app: web}}
  endpoints:
  - port: http
)";
  Case c(flows(), {}, prometheus + "---\n" + monitors);
  ASSERT_EQ(c.state.monitors.size(), 3u);
  const uint32_t prom = c.ep("monitoring/prometheus-k8s-0");
  EXPECT_TRUE(c.after->allowed(prom, c.ep("shop/web"), Protocol::TCP, 9102));
  EXPECT_TRUE(c.after->allowed(prom, c.ep("shop/api"), Protocol::TCP, 9090));
  // The ServiceMonitor without a namespaceSelector looks in its own namespace only.
  EXPECT_FALSE(c.after->allowed(prom, c.ep("shop/web"), Protocol::TCP, 8080));
  EXPECT_FALSE(c.check.failed());
  EXPECT_TRUE(c.check.declared_denied.empty());
  const std::string yaml = render_yaml(c.rec);
  EXPECT_NE(yaml.find("declared by ServiceMonitor monitoring/web (Prometheus Operator scrapes it)"),
            std::string::npos)
      << yaml;
  EXPECT_NE(yaml.find("declared by PodMonitor shop/api"), std::string::npos);
  // Without the monitors, the scrapes were never observed: denied.
  Case none(flows(), {}, prometheus);
  EXPECT_FALSE(none.after->allowed(none.ep("monitoring/prometheus-k8s-0"), none.ep("shop/web"),
                                   Protocol::TCP, 9102));
}

TEST(SafeRecommend, ObservedEdgesLeftDeniedAreCounted) {
  RecommendOptions o;
  o.min_count = 3;  // web -> api has 3, api -> web 2: left denied
  Case c(flows(), o);
  EXPECT_EQ(c.check.blocked, 1u);
  ASSERT_EQ(c.check.blocked_examples.size(), 1u);
  EXPECT_NE(c.check.blocked_examples[0].find("shop/api -> shop/web TCP/8080"), std::string::npos);
  EXPECT_NE(c.check.blocked_examples[0].find("below --min-count"), std::string::npos);
  Case all(flows(), {});
  EXPECT_EQ(all.check.blocked, 0u);
}

TEST(SafeRecommend, ShortWindowMarksEveryPolicyLowConfidence) {
  RecommendOptions o;
  o.low_confidence = true;
  Case c(flows(), o);
  ASSERT_FALSE(c.rec.policies.empty());
  for (const RecommendedPolicy& p : c.rec.policies)
    EXPECT_TRUE(std::count(p.annotations.begin(), p.annotations.end(),
                           std::pair<std::string, std::string>{"stockade.io/confidence", "low"}))
        << p.policy.name;
  Case n(flows(), {});
  EXPECT_EQ(render_yaml(n.rec).find("stockade.io/confidence"), std::string::npos);
}

}  // namespace
}  // namespace stockade

namespace stockade {
namespace {

// A Cilium deny rule in force wins over anything a NetworkPolicy allows: the observed edge it
// denies is reported as denied by that policy (as an existing NetworkPolicy's denial is), not
// as a failure of the self-check; the declared exposure it denies is not "lost" either.
TEST(SafeRecommend, ACiliumDenyInForceIsReportedAsTheExistingPolicyThatWins) {
  const std::string deny = R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: no-web-to-api, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  enableDefaultDeny: {ingress: false, egress: false}
  ingressDeny:
  - fromEndpoints: [{matchLabels: {app: web}}]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: no-world-to-web}
spec:
  endpointSelector: {matchLabels: {k8s:io.kubernetes.pod.namespace: shop, app: web}}
  enableDefaultDeny: {ingress: false, egress: false}
  ingressDeny:
  - fromEntities: [world]
)";
  Case c(flows(), {}, deny);
  EXPECT_FALSE(c.check.failed()) << (c.check.observed_denied.empty()
                                         ? std::string()
                                         : c.check.observed_denied.front());
  EXPECT_TRUE(c.check.observed_denied.empty());
  EXPECT_TRUE(c.check.declared_denied.empty());
  EXPECT_EQ(c.rec.edges_denied_existing, 1u);  // web -> api; api -> web stays allowed
  bool named = false;
  for (const std::string& n : c.rec.notes)
    named = named || n.find(
                         "shop/web -> shop/api TCP/9090 (denied by CiliumNetworkPolicy "
                         "shop/no-web-to-api)") != std::string::npos;
  EXPECT_TRUE(named) << ::testing::PrintToString(c.rec.notes);
  // Nothing is written for the denied edge, and it stays denied after.
  EXPECT_FALSE(c.after->allowed(c.ep("shop/web"), c.ep("shop/api"), Protocol::TCP, 9090));
  EXPECT_TRUE(c.after->allowed(c.ep("shop/api"), c.ep("shop/web"), Protocol::TCP, 8080));
  // The LoadBalancer's declared exposure, denied from the world before, is not reported lost.
  const Peer world = Peer::of_ip(*IpAddr::parse("203.0.113.50"));
  EXPECT_FALSE(
      c.after->evaluate(world, Peer::of_endpoint(c.ep("shop/web")), Protocol::TCP, 8080).allowed);
}

}  // namespace
}  // namespace stockade
