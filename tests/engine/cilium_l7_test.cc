// The engine's L7 and FQDN semantics of CiliumNetworkPolicy (src/engine/cilium.cc): an HTTP
// request's verdict by method, path and host (full matches), an L4 allow of the same peer and
// port letting every request through, rules with header conditions not judged; toFQDNs
// matching the addresses that DNS answers gave a matching name (matchName, matchPattern).
#include <gtest/gtest.h>

#include <string>

#include "engine/engine.h"
#include "input/loader.h"

namespace stockade {
namespace {

const char* const kPods = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {kubernetes.io/metadata.name: shop}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: i}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: api-1, namespace: shop, labels: {app: api}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 8080, name: http}]}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: job-1, namespace: shop, labels: {app: job}}
spec: {containers: [{name: c, image: i}]}
status: {podIP: 10.0.0.3}
)";

const char* const kHttpPolicy = R"(
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api-l7, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: web}}]
    toPorts:
    - ports: [{port: "8080", protocol: TCP}]
      rules:
        http:
        - {method: "^(GET|PUT)$", path: "^/api/v1/users/[0-9]+$"}
        - {method: GET, path: "/healthz"}
        - {method: POST, path: "/admin", headers: ["X-Admin: yes"]}
        - {path: "/public/.*", host: "api\\.shop\\..*"}
  - fromEndpoints: [{matchLabels: {app: job}}]
    toPorts:
    - ports: [{port: "http", protocol: TCP}]
)";

struct Fixture {
  ClusterState state;
  std::unique_ptr<PolicyEngine> engine;
  explicit Fixture(const std::string& text) {
    ClusterLoader l;
    auto r = l.add_text(text, "cluster.yaml");
    EXPECT_TRUE(r) << r.error().str();
    state = std::move(l).finish();
    engine = PolicyEngine::compile(state, build_endpoints(state));
  }
  Peer pod(const std::string& name) const {
    return Peer::of_endpoint(*engine->find_endpoint("shop", name));
  }
  bool http(const std::string& from, const std::string& method, const std::string& path,
            const std::string& host = "api.shop.svc:8080") const {
    return engine->evaluate_http(pod(from), pod("api-1"), 8080, {method, path, host}).allowed;
  }
};

TEST(CiliumL7, RequestsAreJudgedByMethodPathAndHost) {
  Fixture f(std::string(kPods) + kHttpPolicy);
  EXPECT_TRUE(f.http("web-1", "GET", "/api/v1/users/42"));
  EXPECT_TRUE(f.http("web-1", "PUT", "/api/v1/users/7"));
  EXPECT_TRUE(f.http("web-1", "GET", "/healthz"));
  // A full match, as Envoy's: no prefix, no suffix, no other method.
  EXPECT_FALSE(f.http("web-1", "DELETE", "/api/v1/users/42"));
  EXPECT_FALSE(f.http("web-1", "GET", "/api/v1/users/42/orders"));
  EXPECT_FALSE(f.http("web-1", "GET", "/x/api/v1/users/42"));
  EXPECT_FALSE(f.http("web-1", "GETX", "/healthz"));
  EXPECT_FALSE(f.http("web-1", "GET", "/healthz?verbose=1"));  // the query is part of the path
  // Header conditions cannot be checked on records: not judged as allowing.
  EXPECT_FALSE(f.http("web-1", "POST", "/admin"));
  // Host: any method when the rule names none.
  EXPECT_TRUE(f.http("web-1", "PATCH", "/public/a", "api.shop.svc:8080"));
  EXPECT_FALSE(f.http("web-1", "PATCH", "/public/a", "evil.example"));
  // An L4 rule (no L7 rules) of the same port lets every request of its peers through.
  EXPECT_TRUE(f.http("job-1", "DELETE", "/anything"));
  // The connection itself is still the L3/L4 verdict.
  Verdict v = f.engine->evaluate(f.pod("web-1"), f.pod("api-1"), Protocol::TCP, 8080);
  EXPECT_TRUE(v.allowed);
  Verdict denied = f.engine->evaluate_http(f.pod("web-1"), f.pod("api-1"), 8080,
                                           {"DELETE", "/api/v1/users/1", ""});
  EXPECT_FALSE(denied.allowed);
  EXPECT_FALSE(denied.ingress.allowed);
  EXPECT_TRUE(denied.egress.allowed);
  ASSERT_FALSE(denied.ingress.notes.empty());
  EXPECT_NE(denied.ingress.notes.back().find("no L7 http rule allows DELETE"), std::string::npos);
}

TEST(CiliumL7, WithoutL7RulesRequestsFollowTheConnection) {
  Fixture f(kPods);
  EXPECT_TRUE(f.http("web-1", "DELETE", "/whatever"));
}

const char* const kFqdnPolicy = R"(
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web-egress, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  egress:
  - toFQDNs: [{matchName: api.github.com}, {matchPattern: "*.s3.amazonaws.com"}]
    toPorts: [{ports: [{port: "443", protocol: TCP}]}]
)";

TEST(CiliumFqdn, ToFqdnsMatchesTheAddressesDnsNamed) {
  Fixture f(std::string(kPods) + kFqdnPolicy);
  auto to = [&](const char* ip) {
    return f.engine->evaluate(f.pod("web-1"), Peer::of_ip(*IpAddr::parse(ip)), Protocol::TCP, 443)
        .allowed;
  };
  EXPECT_FALSE(to("140.82.112.5"));  // no DNS answer named it yet
  f.engine->learn_dns({{*IpAddr::parse("140.82.112.5"), "api.github.com"},
                       {*IpAddr::parse("52.216.1.1"), "bucket.s3.amazonaws.com"},
                       {*IpAddr::parse("52.216.1.2"), "a.b.s3.amazonaws.com"},
                       {*IpAddr::parse("52.216.1.3"), "s3.amazonaws.com"},
                       {*IpAddr::parse("1.2.3.4"), "github.com"}});
  EXPECT_TRUE(to("140.82.112.5"));
  EXPECT_TRUE(to("52.216.1.1"));
  EXPECT_FALSE(to("52.216.1.2"));  // `*` stays within one label
  EXPECT_FALSE(to("52.216.1.3"));
  EXPECT_FALSE(to("1.2.3.4"));
  EXPECT_FALSE(to("8.8.8.8"));
  EXPECT_FALSE(
      f.engine
          ->evaluate(f.pod("web-1"), Peer::of_ip(*IpAddr::parse("140.82.112.5")), Protocol::TCP, 80)
          .allowed);
}

}  // namespace
}  // namespace stockade
