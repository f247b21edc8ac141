// Istio AuthorizationPolicy for HTTP request verdicts (src/engine/istio.cc): selection by
// matchLabels in the namespace (and the root namespace's for all), DENY before ALLOW, ALLOW
// policies deny what none of their rules matches, principals from service accounts, path
// forms (exact, prefix, suffix, templates), conditions not judged.
#include <gtest/gtest.h>

#include <string>

#include "engine/engine.h"
#include "input/loader.h"

namespace stockade {
namespace {

const char* const kCluster = R"(
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec: {serviceAccountName: web, containers: [{name: c, image: i}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: api-1, namespace: shop, labels: {app: api}}
spec: {serviceAccountName: api, containers: [{name: c, image: i}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: job-1, namespace: shop, labels: {app: job}}
spec: {containers: [{name: c, image: i}]}
status: {podIP: 10.0.0.3}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  action: ALLOW
  rules:
  - from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}]
    to:
    - operation: {ports: ["8080"], methods: [GET], paths: ["/api/v1/users/{*}", "/static/*"]}
    - operation: {methods: [POST], paths: ["/orders"]}
  - from: [{source: {namespaces: [shop]}}]
    to: [{operation: {paths: ["/healthz"]}}]
  - to: [{operation: {paths: ["/admin"]}}]
    when: [{key: "request.auth.claims[iss]", values: [x]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-debug, namespace: istio-system}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: ["*/debug"]}}]}]
)";

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
  bool http(const std::string& from, const std::string& to, const std::string& method,
            const std::string& path, uint16_t port = 8080) const {
    return engine
        ->evaluate_http(Peer::of_endpoint(*engine->find_endpoint("shop", from)),
                        Peer::of_endpoint(*engine->find_endpoint("shop", to)), port,
                        {method, path, ""})
        .allowed;
  }
};

TEST(IstioAuthorization, AllowRulesDecideRequests) {
  Fixture f;
  ASSERT_EQ(f.state.istio_policies.size(), 2u);
  EXPECT_TRUE(f.http("web-1", "api-1", "GET", "/api/v1/users/42"));
  EXPECT_TRUE(f.http("web-1", "api-1", "GET", "/api/v1/users/42?full=1"));  // path without query
  EXPECT_TRUE(f.http("web-1", "api-1", "GET", "/static/js/app.js"));
  EXPECT_TRUE(f.http("web-1", "api-1", "POST", "/orders", 9000));  // any port in that operation
  EXPECT_FALSE(f.http("web-1", "api-1", "GET", "/api/v1/users/42/x"));  // {*}: one segment
  EXPECT_FALSE(f.http("web-1", "api-1", "GET", "/api/v1/users/"));
  EXPECT_FALSE(f.http("web-1", "api-1", "DELETE", "/api/v1/users/42"));
  EXPECT_FALSE(f.http("web-1", "api-1", "GET", "/api/v1/users/42", 9090));
  EXPECT_FALSE(f.http("job-1", "api-1", "GET", "/api/v1/users/42"));  // sa default: not web
  EXPECT_TRUE(f.http("job-1", "api-1", "GET", "/healthz"));           // by namespace
  EXPECT_FALSE(f.http("web-1", "api-1", "GET", "/admin"));            // a condition: not judged
  // DENY of the root namespace applies everywhere, before ALLOW.
  EXPECT_FALSE(f.http("web-1", "api-1", "GET", "/static/debug"));
  EXPECT_FALSE(f.http("api-1", "web-1", "GET", "/x/debug"));
  // No ALLOW policy selects web: everything else passes.
  EXPECT_TRUE(f.http("api-1", "web-1", "PATCH", "/anything"));
  // Connections are not AuthorizationPolicy's: the warning stays for them.
  EXPECT_EQ(f.state.unevaluated_policies.count("AuthorizationPolicy (security.istio.io)"), 1u);
}

TEST(IstioAuthorization, BadActionIsAnError) {
  ClusterLoader l;
  auto r = l.add_text(
      "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, "
      "namespace: shop}\nspec: {action: MAYBE}\n",
      "p.yaml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().str().find("p.yaml:4"), std::string::npos) << r.error().str();
}

}  // namespace
}  // namespace stockade
