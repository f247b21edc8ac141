// The decoder's object families (decode_workloads.cc, decode_services.cc, decode_policies.cc,
// decode_rbac.cc, decode_calico.cc, decode_cilium.cc), each instantiated for both node views:
// one object of every family read from YAML and from the same object as JSON gives the same
// model, and a refused one the same message.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include "input/loader.h"

namespace stockade {
namespace {

// YAML to JSON for these samples: plain integers and booleans keep their type.
nlohmann::json to_json(const YAML::Node& n) {
  if (n.IsMap()) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& kv : n) j[kv.first.as<std::string>()] = to_json(kv.second);
    return j;
  }
  if (n.IsSequence()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& v : n) j.push_back(to_json(v));
    return j;
  }
  if (n.IsNull()) return nullptr;
  const std::string s = n.Scalar();
  if (n.Tag() == "?") {
    if (s == "true" || s == "false") return s == "true";
    if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) return std::stoll(s);
  }
  return s;
}

std::string summary(const ClusterState& s) {
  std::string out;
  auto add = [&](const char* what, size_t n) {
    if (n) out += std::string(what) + "=" + std::to_string(n) + " ";
  };
  add("pods", s.pods.size());
  add("workloads", s.workloads.size());
  add("namespaces", s.namespaces.size());
  add("nodes", s.nodes.size());
  add("services", s.services.size());
  add("slices", s.endpoint_slices.size());
  add("ingresses", s.ingresses.size());
  add("routes", s.routes.size());
  add("monitors", s.monitors.size());
  add("netpols", s.network_policies.size());
  add("cluster_policies", s.cluster_policies.size());
  add("accounts", s.service_accounts.size());
  add("secrets", s.secrets.size());
  add("roles", s.roles.size());
  add("bindings", s.bindings.size());
  add("calico", s.calico_policies.size());
  add("cilium", s.cilium_policies.size());
  for (const auto& [kind, n] : s.skipped_kinds) add(kind.c_str(), n);
  return out;
}

// Loads `yaml` as it is and as JSON; returns the summaries (or errors without their FILE:LINE).
std::pair<std::string, std::string> both_views(const std::string& yaml) {
  auto load = [](const std::string& text, const std::string& name) -> std::string {
    ClusterLoader l;
    if (auto r = l.add_text(text, name); !r) return "error: " + r.error().message;
    return summary(std::move(l).finish());
  };
  std::string json;
  for (const YAML::Node& doc : YAML::LoadAll(yaml)) json += to_json(doc).dump() + "\n";
  return {load(yaml, "objects.yaml"), load(json, "objects.json")};
}

struct Family {
  const char* name;
  const char* yaml;
  const char* expect;  // the summary both views give
};

const Family kFamilies[] = {
    {"workloads", R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 192.168.0.10}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: nginx, ports: [{containerPort: 80, name: http}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, securityContext: {privileged: true}}]}
status: {podIP: 10.0.0.1}
)",
     "pods=1 workloads=1 namespaces=1 nodes=1 "},
    {"services", R"(
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: http}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [10.0.0.1]}]
ports: [{port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: shop}
spec: {rules: [{backendRefs: [{name: web, port: 80}]}]}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: web, namespace: shop}
spec: {selector: {matchLabels: {app: web}}, endpoints: [{port: http}]}
)",
     "services=1 slices=1 ingresses=1 routes=1 monitors=1 "},
    {"policies", R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {}}], ports: [{port: 80}]}]
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: admin}
spec:
  priority: 10
  subject: {namespaces: {}}
  ingress: [{name: deny, action: Deny, from: [{namespaces: {}}]}]
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  egress: [{name: deny, action: Deny, to: [{networks: [0.0.0.0/0]}]}]
---
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: cnp}
spec:
  tier: Admin
  priority: 5
  subject: {namespaces: {}}
  ingress: [{name: ok, action: Accept, from: [{namespaces: {}}]}]
)",
     "netpols=1 cluster_policies=3 "},
    {"rbac", R"(
apiVersion: v1
kind: ServiceAccount
metadata: {name: app, namespace: shop}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: shop}
type: Opaque
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: shop}
rules: [{apiGroups: [""], resources: [secrets], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: app}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: app, namespace: shop}]
)",
     "accounts=1 secrets=1 roles=1 bindings=1 "},
    {"calico", R"(
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-db}
spec:
  selector: app == 'db'
  types: [Ingress]
  ingress: [{action: Deny, source: {selector: app == 'web'}}]
)",
     "calico=1 "},
    {"cilium", R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress: [{fromEndpoints: [{matchLabels: {app: api}}], toPorts: [{ports: [{port: "80", protocol: TCP}]}]}]
)",
     "cilium=1 "},
};

TEST(DecodeFamilies, EveryFamilyReadsAlikeFromYamlAndJson) {
  for (const Family& f : kFamilies) {
    auto [yaml, json] = both_views(f.yaml);
    EXPECT_EQ(yaml, f.expect) << f.name;
    EXPECT_EQ(json, f.expect) << f.name;
  }
}

TEST(DecodeFamilies, EveryFamilyRefusesAlikeFromYamlAndJson) {
  const char* kBad[] = {
      // workloads: a port out of range
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
      "spec: {containers: [{name: c, ports: [{containerPort: 70000}]}]}\n",
      // services: a Service port out of range
      "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 0}]}\n",
      // policies: an unknown field
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np}\n"
      "spec: {podSelector: {}, ingres: []}\n",
      // rbac: a binding without a roleRef name
      "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b}\n"
      "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role}\n",
      // calico: an unknown field
      "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: c}\n"
      "spec: {selector: all(), notAField: 1}\n",
      // cilium: a misspelt rule list
      "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: c}\n"
      "spec: {endpointSelector: {}, ingresDeny: []}\n",
  };
  for (const char* bad : kBad) {
    auto [yaml, json] = both_views(bad);
    EXPECT_TRUE(yaml.starts_with("error: ")) << bad << " -> " << yaml;
    EXPECT_EQ(yaml, json) << bad;
  }
}

}  // namespace
}  // namespace stockade
