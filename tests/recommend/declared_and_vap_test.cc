// declared_ingress (declared.cc, one method of its Declarations class per kind of declaration)
// and the admission guardrails as ValidatingAdmissionPolicies (vap_emit.cc, one function per
// guardrail), each on its own.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "engine/engine.h"
#include "input/loader.h"
#include "recommend/declared.h"
#include "recommend/vap_emit.h"

namespace stockade {
namespace {

const char* kCluster = R"(
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}, annotations: {prometheus.io/scrape: "true"}}
spec: {containers: [{name: c, ports: [{containerPort: 9102, name: metrics}, {containerPort: 8080}]}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: nginx, namespace: ingress, labels: {app.kubernetes.io/name: ingress-nginx}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.3}
---
apiVersion: v1
kind: Pod
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.4}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80, targetPort: http}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {selector: {app: api}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: api, namespace: shop}
spec:
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}
)";

TEST(Declared, EachKindOfDeclaration) {
  ClusterLoader l;
  ASSERT_TRUE(l.add_text(kCluster, "c.yaml"));
  ClusterState state = std::move(l).finish();
  std::vector<Endpoint> eps = build_endpoints(state);
  auto at = [&](const std::string& name) {
    for (uint32_t e = 0; e < eps.size(); ++e)
      if (eps[e].name == name) return e;
    ADD_FAILURE() << name;
    return uint32_t{0};
  };
  std::vector<std::string> notes;
  std::vector<DeclaredIngress> d = declared_ingress(state, eps, notes);
  auto find = [&](const std::string& pod, std::string_view reason) -> const DeclaredIngress* {
    for (const DeclaredIngress& x : d)
      if (x.endpoint == at(pod) && x.reason.find(reason) != std::string::npos) return &x;
    return nullptr;
  };
  // A LoadBalancer Service: from outside, on the pod's port its named target resolves to.
  const DeclaredIngress* lb = find("web", "Service shop/web (LoadBalancer)");
  ASSERT_NE(lb, nullptr);
  EXPECT_TRUE(lb->from_outside);
  EXPECT_EQ(lb->port, 8080);
  // An Ingress backend: from the ingress controller's pods, which the input holds.
  const DeclaredIngress* ing = find("api", "Ingress shop/api backend api");
  ASSERT_NE(ing, nullptr);
  EXPECT_FALSE(ing->from_outside);
  EXPECT_EQ(ing->sources, std::vector<uint32_t>{at("nginx")});
  // The cluster DNS: from every pod, UDP and TCP 53 (it declares no port).
  size_t dns = 0;
  for (const DeclaredIngress& x : d)
    if (x.endpoint == at("coredns")) {
      EXPECT_TRUE(x.from_all_pods);
      EXPECT_EQ(x.port, 53);
      ++dns;
    }
  EXPECT_EQ(dns, 2u);
  // A scrape target without a Prometheus pod: kept nowhere, and said so.
  EXPECT_EQ(find("api", "prometheus.io/scrape"), nullptr);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_TRUE(notes[0].starts_with("1 pod(s) ask to be scraped")) << notes[0];
  // Sorted and unique.
  EXPECT_TRUE(std::is_sorted(d.begin(), d.end(), [](const auto& a, const auto& b) {
    return std::tie(a.endpoint, a.reason, a.protocol, a.port) <
           std::tie(b.endpoint, b.reason, b.protocol, b.port);
  }));
}

TEST(VapEmit, TwoGuardrailsEachWithItsBinding) {
  recommend::VapOptions o;
  o.action = "Warn";
  o.locked_key = "example.com/locked";
  std::string text = recommend::emit_guardrail_vaps(o);
  std::vector<YAML::Node> docs = YAML::LoadAll(text);
  ASSERT_EQ(docs.size(), 4u);
  const char* kinds[] = {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
                         "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"};
  const char* names[] = {"stockade-no-ingress-from-anywhere", "stockade-no-ingress-from-anywhere",
                         "stockade-locked-default-deny", "stockade-locked-default-deny"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(docs[i]["kind"].as<std::string>(), kinds[i]);
    EXPECT_EQ(docs[i]["metadata"]["name"].as<std::string>(), names[i]);
  }
  EXPECT_EQ(docs[1]["spec"]["validationActions"][0].as<std::string>(), "Warn");
  EXPECT_EQ(
      docs[3]["spec"]["matchResources"]["namespaceSelector"]["matchLabels"]["example.com/locked"]
          .as<std::string>(),
      "true");
  EXPECT_EQ(docs[2]["spec"]["variables"].size(), 4u);
  EXPECT_NE(docs[0]["spec"]["validations"][1]["expression"].as<std::string>().find("'/0'"),
            std::string::npos);
}

}  // namespace
}  // namespace stockade
