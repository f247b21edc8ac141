#include "input/loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <tuple>

#include "support/random_cluster.h"

namespace stockade {
namespace {

Result<ClusterState> load(std::string_view text, const std::string& name = "in.yaml") {
  ClusterLoader l;
  auto r = l.add_text(text, name);
  if (!r) return tl::unexpected(r.error());
  return std::move(l).finish();
}

std::string error_of(std::string_view text) {
  auto r = load(text);
  if (r) return "<no error>";
  return r.error().str();
}

const char* kNpHead = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: ns}
)";

TEST(Loader, MultiDocumentYaml) {
  auto s = load(R"(apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {team: x}}
---
---
apiVersion: v1
kind: Pod
metadata: {name: p1, namespace: a, labels: {app: web}}
spec:
  hostNetwork: false
  nodeName: n1
  containers:
  - name: c
    ports:
    - {containerPort: 80, name: http}
    - {containerPort: 53, name: dns, protocol: UDP}
  initContainers:
  - name: sidecar
    ports: [{containerPort: 9090, name: metrics}]
status:
  podIP: 10.0.0.1
  podIPs: [{ip: 10.0.0.1}, {ip: "fd00::1"}]
  phase: Running
)");
  ASSERT_TRUE(s) << s.error().str();
  ASSERT_EQ(s->namespaces.size(), 1u);
  EXPECT_EQ(s->namespaces[0].labels.at("kubernetes.io/metadata.name"), "a");
  EXPECT_EQ(s->namespaces[0].labels.at("team"), "x");
  ASSERT_EQ(s->pods.size(), 1u);
  const Pod& p = s->pods[0];
  EXPECT_EQ(p.ns, "a");
  EXPECT_EQ(p.node, "n1");
  EXPECT_EQ(p.ips.size(), 2u);
  EXPECT_TRUE(p.ips[1].v6);
  ASSERT_EQ(p.spec.ports.size(), 3u);
  EXPECT_EQ(p.phase, "Running");
}

TEST(Loader, NamespaceNotInInputGetsMetadataNameLabel) {
  ClusterState s;
  EXPECT_EQ(s.namespace_labels("x").at("kubernetes.io/metadata.name"), "x");
}

TEST(Loader, DefaultNamespace) {
  ClusterLoader l(LoadOptions{"prod"});
  ASSERT_TRUE(l.add_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", "x"));
  auto s = std::move(l).finish();
  EXPECT_EQ(s.pods[0].ns, "prod");
}

// Without the security side of workloads (the flow commands), pods and templates keep what
// reachability needs (labels, ports, host network) and skip the rest, malformed or not.
TEST(Loader, WithoutWorkloadSecurity) {
  const char* text = R"(apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ns, labels: {app: web}}
spec:
  hostNetwork: true
  serviceAccountName: sa
  securityContext: [not, an, object]
  containers:
  - name: c
    ports: [{name: http, containerPort: 8080}]
    securityContext: {privileged: true}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: ns}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers: [{name: c, ports: [{containerPort: 9090}], securityContext: 7}]
)";
  EXPECT_NE(error_of(text), "<no error>");  // checked when decoded
  LoadOptions o;
  o.workload_security = false;
  ClusterLoader l(o);
  auto r = l.add_text(text, "x.yaml");
  ASSERT_TRUE(r) << r.error().str();
  auto s = std::move(l).finish();
  ASSERT_EQ(s.pods.size(), 1u);
  EXPECT_EQ(s.pods[0].spec.labels.at("app"), "web");
  EXPECT_TRUE(s.pods[0].spec.host_network);
  ASSERT_EQ(s.pods[0].spec.ports.size(), 1u);
  EXPECT_EQ(s.pods[0].spec.ports[0].port, 8080);
  EXPECT_FALSE(s.pods[0].security.present);
  EXPECT_TRUE(s.pods[0].security.containers.empty());
  ASSERT_EQ(s.workloads.size(), 1u);
  ASSERT_EQ(s.workloads[0].pod.ports.size(), 1u);
  EXPECT_FALSE(s.workloads[0].security.present);
}

TEST(Loader, KubectlListJson) {
  auto s = load(R"({"apiVersion":"v1","kind":"List","items":[
    {"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"x"},
     "status":{"podIP":"10.0.0.5"}},
    {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","namespace":"x"},
     "spec":{"replicas":2,"selector":{"matchLabels":{"app":"d"}},
             "template":{"metadata":{"labels":{"app":"d","pod-template-hash":"abc"}},
                         "spec":{"containers":[{"name":"c","ports":[{"containerPort":8080}]}]}}}},
    {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm","namespace":"x"}}
  ]})",
                "in.json");
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_EQ(s->pods.size(), 1u);
  ASSERT_EQ(s->workloads.size(), 1u);
  EXPECT_EQ(s->workloads[0].pod.labels.at("app"), "d");
  EXPECT_EQ(s->workloads[0].pod.ports.at(0).port, 8080);
  EXPECT_EQ(s->skipped_kinds.at("ConfigMap"), 1u);
}

TEST(Loader, TypedListsAndConcatenatedJson) {
  auto s = load(R"({"apiVersion":"v1","kind":"PodList","items":[
    {"kind":"Pod","metadata":{"name":"a","namespace":"x"}}]}
    {"kind":"Pod","metadata":{"name":"b","namespace":"x"}})",
                "in.json");
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_EQ(s->pods.size(), 2u);
}

TEST(Loader, CronJobTemplateAndReplicationControllerSelector) {
  auto s = load(R"(apiVersion: batch/v1
kind: CronJob
metadata: {name: cj, namespace: x}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {job: backup}}
        spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: rc, namespace: x}
spec:
  selector: {app: legacy}
  template:
    metadata: {labels: {app: legacy}}
)");
  ASSERT_TRUE(s) << s.error().str();
  ASSERT_EQ(s->workloads.size(), 2u);
  EXPECT_EQ(s->workloads[0].kind, WorkloadKind::CronJob);
  EXPECT_EQ(s->workloads[0].pod.labels.at("job"), "backup");
  ASSERT_TRUE(s->workloads[1].selector);
  EXPECT_TRUE(s->workloads[1].selector->matches({{"app", "legacy"}}));
}

TEST(Loader, LastObjectWins) {
  auto s = load(R"(apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {v: "1"}}
---
apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {v: "2"}}
)");
  ASSERT_TRUE(s);
  ASSERT_EQ(s->namespaces.size(), 1u);
  EXPECT_EQ(s->namespaces[0].labels.at("v"), "2");
}

// ---- NetworkPolicy decoding -----------------------------------------------------------------

TEST(NetworkPolicyDecode, PolicyTypesDefaulting) {
  auto only_ingress = load(std::string(kNpHead) + "spec: {podSelector: {}}\n");
  ASSERT_TRUE(only_ingress);
  EXPECT_TRUE(only_ingress->network_policies[0].affects_ingress);
  EXPECT_FALSE(only_ingress->network_policies[0].affects_egress);

  // An empty egress list does not make the policy affect egress.
  auto empty_egress = load(std::string(kNpHead) + "spec: {podSelector: {}, egress: []}\n");
  ASSERT_TRUE(empty_egress);
  EXPECT_FALSE(empty_egress->network_policies[0].affects_egress);

  auto with_egress = load(std::string(kNpHead) + "spec: {podSelector: {}, egress: [{}]}\n");
  ASSERT_TRUE(with_egress);
  EXPECT_TRUE(with_egress->network_policies[0].affects_ingress);
  EXPECT_TRUE(with_egress->network_policies[0].affects_egress);

  auto explicit_egress =
      load(std::string(kNpHead) + "spec: {podSelector: {}, policyTypes: [Egress]}\n");
  ASSERT_TRUE(explicit_egress);
  EXPECT_FALSE(explicit_egress->network_policies[0].affects_ingress);
  EXPECT_TRUE(explicit_egress->network_policies[0].affects_egress);

  // An explicit empty list is defaulted too.
  auto empty_types = load(std::string(kNpHead) + "spec: {podSelector: {}, policyTypes: []}\n");
  ASSERT_TRUE(empty_types);
  EXPECT_TRUE(empty_types->network_policies[0].affects_ingress);
}

TEST(NetworkPolicyDecode, AbsentNullAndEmptySelectors) {
  auto s = load(std::string(kNpHead) + R"(spec:
  podSelector: {}
  ingress:
  - from:
    - podSelector: null
      namespaceSelector: {}
    - podSelector: {matchLabels: {a: b}}
  - from: []
  - {}
)");
  ASSERT_TRUE(s) << s.error().str();
  const auto& rules = s->network_policies[0].ingress;
  ASSERT_EQ(rules.size(), 3u);
  ASSERT_EQ(rules[0].peers.size(), 2u);
  EXPECT_FALSE(rules[0].peers[0].pod_selector.has_value());  // null is absent
  ASSERT_TRUE(rules[0].peers[0].namespace_selector.has_value());
  EXPECT_TRUE(rules[0].peers[0].namespace_selector->empty());  // {} is present and empty
  EXPECT_FALSE(rules[0].peers[1].namespace_selector.has_value());
  EXPECT_TRUE(rules[1].peers.empty());  // from: [] means every source
  EXPECT_TRUE(rules[2].peers.empty());
}

TEST(NetworkPolicyDecode, Ports) {
  auto s = load(std::string(kNpHead) + R"(spec:
  podSelector: {}
  ingress:
  - ports:
    - {port: 80}
    - {port: http}
    - {protocol: UDP}
    - {port: 1000, endPort: 2000, protocol: SCTP}
    - {port: "8080"}
)");
  // "8080" quoted is a string: an invalid port name, as the API server says.
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("invalid port name"), std::string::npos);

  s = load(std::string(kNpHead) + R"(spec:
  podSelector: {}
  ingress:
  - ports:
    - {port: 80}
    - {port: http}
    - {protocol: UDP}
    - {port: 1000, endPort: 2000, protocol: SCTP}
)");
  ASSERT_TRUE(s) << s.error().str();
  const auto& ports = s->network_policies[0].ingress[0].ports;
  ASSERT_EQ(ports.size(), 4u);
  EXPECT_EQ(ports[0].kind, NetworkPolicyPort::Kind::Number);
  EXPECT_EQ(ports[0].effective_protocol(), Protocol::TCP);
  EXPECT_EQ(ports[1].kind, NetworkPolicyPort::Kind::Name);
  EXPECT_EQ(ports[2].kind, NetworkPolicyPort::Kind::Any);
  EXPECT_EQ(ports[2].effective_protocol(), Protocol::UDP);
  EXPECT_EQ(ports[3].end_port, 2000);
}

struct BadCase {
  const char* name;
  const char* spec;
  const char* message;
  int line;
};

void PrintTo(const BadCase& c, std::ostream* os) {
  *os << c.name;
}

class NetworkPolicyRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(NetworkPolicyRejects, AsTheApiServerWould) {
  const BadCase& c = GetParam();
  auto r = load(std::string(kNpHead) + c.spec);
  ASSERT_FALSE(r) << c.name;
  EXPECT_NE(r.error().message.find(c.message), std::string::npos) << r.error().str();
  EXPECT_EQ(r.error().file, "in.yaml");
  if (c.line) {
    EXPECT_EQ(r.error().line, c.line) << r.error().str();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Validation, NetworkPolicyRejects,
    ::testing::Values(
        BadCase{"endPortBelowPort",
                "spec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - {port: 90, endPort: 80}\n",
                "must be greater than or equal to `port`", 8},
        BadCase{"endPortWithNamedPort",
                "spec:\n  podSelector: {}\n  ingress:\n  - ports: [{port: http, endPort: 80}]\n",
                "may not be specified when `port` is non-numeric", 7},
        BadCase{"endPortWithoutPort",
                "spec:\n  podSelector: {}\n  ingress:\n  - ports: [{endPort: 80}]\n",
                "may not be specified when `port` is not specified", 7},
        BadCase{"portOutOfRange", "spec:\n  podSelector: {}\n  ingress:\n  - ports: [{port: 0}]\n",
                "between 1 and 65535", 7},
        BadCase{"unknownProtocol",
                "spec:\n  podSelector: {}\n  ingress:\n  - ports: [{protocol: ICMP}]\n",
                "unsupported value \"ICMP\"", 7},
        BadCase{"lowercaseProtocol",
                "spec:\n  podSelector: {}\n  ingress:\n  - ports: [{protocol: tcp}]\n",
                "unsupported value \"tcp\"", 7},
        BadCase{"badCidr",
                "spec:\n  podSelector: {}\n  egress:\n  - to: [{ipBlock: {cidr: 10.0.0.0/33}}]\n",
                "invalid CIDR", 7},
        BadCase{"cidrWithoutPrefix",
                "spec:\n  podSelector: {}\n  egress:\n  - to: [{ipBlock: {cidr: 10.0.0.1}}]\n",
                "invalid CIDR", 7},
        BadCase{"exceptOutsideCidr",
                "spec:\n  podSelector: {}\n  egress:\n  - to:\n    - ipBlock:\n        cidr: "
                "10.0.0.0/16\n        except: [10.1.0.0/24]\n",
                "strict subset", 10},
        BadCase{"exceptEqualToCidr",
                "spec:\n  podSelector: {}\n  egress:\n  - to:\n    - ipBlock:\n        cidr: "
                "10.0.0.0/16\n        except: [10.0.0.0/16]\n",
                "strict subset", 0},
        BadCase{"ipBlockWithSelector",
                "spec:\n  podSelector: {}\n  egress:\n  - to:\n    - ipBlock: {cidr: "
                "10.0.0.0/8}\n      podSelector: {}\n",
                "may not specify both ipBlock and another peer", 0},
        BadCase{"emptyPeer", "spec:\n  podSelector: {}\n  ingress:\n  - from: [{}]\n",
                "must specify a peer", 7},
        BadCase{"badOperator",
                "spec:\n  podSelector:\n    matchExpressions: [{key: a, operator: Equals, "
                "values: [x]}]\n",
                "not a valid label selector operator", 6},
        BadCase{"inWithoutValues",
                "spec:\n  podSelector:\n    matchExpressions: [{key: a, operator: In}]\n",
                "must be specified when operator is In or NotIn", 6},
        BadCase{"existsWithValues",
                "spec:\n  podSelector:\n    matchExpressions: [{key: a, operator: Exists, values: "
                "[x]}]\n",
                "may not be specified when operator is Exists", 6},
        BadCase{"badLabelKey", "spec:\n  podSelector: {matchLabels: {\"-bad\": x}}\n",
                "invalid label key", 5},
        BadCase{"unknownSpecField", "spec:\n  podSelector: {}\n  ingres: []\n",
                "unknown field \"ingres\"", 6},
        BadCase{"unknownPortField",
                "spec:\n  podSelector: {}\n  ingress:\n  - ports: [{port: 80, prot: TCP}]\n",
                "unknown field \"prot\"", 7},
        BadCase{"badPolicyType", "spec:\n  podSelector: {}\n  policyTypes: [Both]\n",
                "supported values: \"Ingress\", \"Egress\"", 6}),
    [](const ::testing::TestParamInfo<BadCase>& i) { return std::string(i.param.name); });

TEST(NetworkPolicyDecode, WrongApiVersion) {
  auto r = load("apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {name: p}\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("unsupported apiVersion"), std::string::npos);
}

// ---- AdminNetworkPolicy / BaselineAdminNetworkPolicy / ClusterNetworkPolicy -------------------

TEST(ClusterPolicyDecode, AdminNetworkPolicy) {
  auto s = load(R"(apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: a}
spec:
  priority: 10
  subject:
    pods:
      namespaceSelector: {matchLabels: {env: prod}}
      podSelector: {}
  ingress:
  - name: from-monitoring
    action: Allow
    from: [{namespaces: {matchLabels: {team: mon}}}]
    ports:
    - portNumber: {protocol: TCP, port: 9090}
    - namedPort: metrics
    - portRange: {protocol: UDP, start: 1000, end: 2000}
  egress:
  - action: Pass
    to: [{networks: [10.0.0.0/8, "fd00::/8"]}]
  - action: Deny
    to: [{nodes: {matchExpressions: [{key: node-role.kubernetes.io/control-plane, operator: Exists}]}}]
)");
  ASSERT_TRUE(s) << s.error().str();
  ASSERT_EQ(s->cluster_policies.size(), 1u);
  const ClusterPolicy& p = s->cluster_policies[0];
  EXPECT_EQ(p.tier, PolicyTier::Admin);
  EXPECT_EQ(p.priority, 10);
  ASSERT_TRUE(p.subject.pod_selector);
  ASSERT_EQ(p.ingress.size(), 1u);
  ASSERT_TRUE(p.ingress[0].ports);
  EXPECT_EQ(p.ingress[0].ports->size(), 3u);
  EXPECT_EQ((*p.ingress[0].ports)[1].kind, ClusterPolicyPort::Kind::Named);
  EXPECT_EQ((*p.ingress[0].ports)[2].end, 2000);
  ASSERT_EQ(p.egress.size(), 2u);
  EXPECT_EQ(p.egress[0].action, RuleAction::Pass);
  EXPECT_EQ(p.egress[0].peers[0].networks.size(), 2u);
  EXPECT_EQ(p.egress[1].peers[0].kind, ClusterPeer::Kind::Nodes);
}

TEST(ClusterPolicyDecode, ClusterNetworkPolicy) {
  auto s = load(R"(apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: c}
spec:
  tier: Baseline
  priority: 5
  subject: {namespaces: {}}
  ingress:
  - action: Accept
    from: [{pods: {podSelector: {matchLabels: {app: x}}}}]
    protocols:
    - tcp: {destinationPort: {number: 80}}
    - udp: {destinationPort: {range: {start: 53, end: 54}}}
    - destinationNamedPort: dns
)");
  ASSERT_TRUE(s) << s.error().str();
  const ClusterPolicy& p = s->cluster_policies[0];
  EXPECT_EQ(p.kind, ClusterPolicyKind::ClusterNetworkPolicy);
  EXPECT_EQ(p.tier, PolicyTier::Baseline);
  EXPECT_EQ(p.ingress[0].action, RuleAction::Allow);
  const auto& ports = *p.ingress[0].ports;
  EXPECT_EQ(ports[0].kind, ClusterPolicyPort::Kind::Number);
  EXPECT_EQ(ports[1].protocol, Protocol::UDP);
  EXPECT_EQ(ports[1].kind, ClusterPolicyPort::Kind::Range);
  EXPECT_EQ(ports[2].kind, ClusterPolicyPort::Kind::Named);
  // pods without namespaceSelector: every namespace.
  EXPECT_TRUE(p.ingress[0].peers[0].pods.namespace_selector.empty());
}

TEST(ClusterPolicyDecode, Rejects) {
  const char* anp =
      "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\n"
      "metadata: {name: a}\n";
  EXPECT_NE(error_of(std::string(anp) + "spec: {priority: 1001, subject: {namespaces: {}}}\n")
                .find("between 0 and 1000"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(anp) + "spec: {subject: {namespaces: {}}}\n")
                .find("spec.priority: required"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(anp) +
                     "spec: {priority: 1, subject: {namespaces: {}, pods: {namespaceSelector: {}, "
                     "podSelector: {}}}}\n")
                .find("exactly one of namespaces or pods"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(anp) +
                     "spec: {priority: 1, subject: {namespaces: {}}, ingress: [{action: Accept, "
                     "from: [{namespaces: {}}]}]}\n")
                .find("unsupported value \"Accept\""),
            std::string::npos);
  EXPECT_NE(error_of(std::string(anp) +
                     "spec: {priority: 1, subject: {namespaces: {}}, ingress: [{action: Allow, "
                     "from: [{networks: [10.0.0.0/8]}]}]}\n")
                .find("unknown field \"networks\""),
            std::string::npos);
  EXPECT_NE(error_of(std::string(anp) +
                     "spec: {priority: 1, subject: {namespaces: {}}, egress: [{action: Allow, "
                     "to: [{namespaces: {}}], ports: [{portRange: {start: 9, end: 9}}]}]}\n")
                .find("Start port must be less than End port"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(anp) +
                     "spec: {priority: 1, subject: {namespaces: {}}, egress: [{action: Allow, "
                     "to: []}]}\n")
                .find("between 1 and 100 peers"),
            std::string::npos);
  EXPECT_NE(error_of("apiVersion: policy.networking.k8s.io/v1alpha1\nkind: "
                     "BaselineAdminNetworkPolicy\nmetadata: {name: other}\nspec: {subject: "
                     "{namespaces: {}}}\n")
                .find("metadata.name=\"default\""),
            std::string::npos);
  EXPECT_NE(error_of("apiVersion: policy.networking.k8s.io/v1alpha1\nkind: "
                     "BaselineAdminNetworkPolicy\nmetadata: {name: default}\nspec: {subject: "
                     "{namespaces: {}}, ingress: [{action: Pass, from: [{namespaces: {}}]}]}\n")
                .find("supported values: \"Allow\", \"Deny\""),
            std::string::npos);
  EXPECT_NE(error_of("apiVersion: policy.networking.k8s.io/v1alpha2\nkind: "
                     "ClusterNetworkPolicy\nmetadata: {name: c}\nspec: {tier: Middle, priority: "
                     "1, subject: {namespaces: {}}}\n")
                .find("spec.tier"),
            std::string::npos);
}

// ClusterNetworkPolicy v1beta1 and v1alpha2, each by the rules of the CRDs that served it:
// upstream's CRD validation cases (network-policy-api pkg/crdtest/testdata, pull request 383)
// and the v0.2.1 / v0.3.0 release notes (canonical CIDRs; destinationNamedPort experimental
// again; v1beta1 = v0.2.1's schema). Where the versions differ: v0.2.0's v1alpha2 CRD took a
// CIDR with host bits and had destinationNamedPort in its standard channel.
std::string cnp_error(std::string_view version, std::string_view spec_tail,
                      PolicyApiChannel channel = PolicyApiChannel::Experimental) {
  LoadOptions o;
  o.policy_api_channel = channel;
  ClusterLoader l(o);
  std::string text = "apiVersion: policy.networking.k8s.io/" + std::string(version) +
                     "\nkind: ClusterNetworkPolicy\nmetadata: {name: c}\nspec:\n  tier: Admin\n"
                     "  priority: 10\n  subject:\n    namespaces:\n      matchLabels: "
                     "{kubernetes.io/metadata.name: sensitive-ns}\n" +
                     std::string(spec_tail);
  auto r = l.add_text(text, "cnp.yaml");
  return r ? "" : r.error().str();
}

// Found by the validation differential against the real API server
// (tests/apiserver/validation_test.cc): where the loader and the server disagreed.
std::string load_error(const std::string& text,
                       PolicyApiChannel channel = PolicyApiChannel::Experimental) {
  LoadOptions o;
  o.policy_api_channel = channel;
  ClusterLoader l(o);
  auto r = l.add_text(text, "case.yaml");
  return r ? "" : r.error().str();
}

TEST(ApiServerDifferential, EmptyNetworkPolicyProtocolIsRefused) {
  std::string np =
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: "
      "d}\nspec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - {protocol: %s, port: 80}\n";
  auto with = [&](const std::string& p) {
    std::string t = np;
    return t.replace(t.find("%s"), 2, p);
  };
  EXPECT_EQ(load_error(with("TCP")), "");
  EXPECT_NE(load_error(with("\"\""))
                .find("spec.ingress[0].ports[0].protocol: unsupported value "
                      "\"\""),
            std::string::npos)
      << load_error(with("\"\""));
}

TEST(ApiServerDifferential, SubdomainNamesHaveNoPerPartLimit) {
  // IsDNS1123Subdomain: 253 characters in all, however long the parts between dots.
  auto np = [](const std::string& name) {
    return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: " + name +
           ", namespace: d}\nspec:\n  podSelector: {}\n";
  };
  EXPECT_EQ(load_error(np(std::string(253, 'a'))), "");
  EXPECT_EQ(load_error(np(std::string(100, 'a') + "." + std::string(100, 'b'))), "");
  EXPECT_NE(load_error(np(std::string(254, 'a'))), "");
}

TEST(ApiServerDifferential, AdminNetworkPolicyExperimentalFieldsOnTheStandardChannel) {
  std::string anp =
      "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: "
      "{name: a}\nspec:\n  priority: 10\n  subject: {namespaces: {}}\n";
  std::string named = anp +
                      "  ingress:\n  - name: r\n    action: Allow\n    from: [{namespaces: {}}]\n"
                      "    ports: [{namedPort: http}]\n";
  std::string nodes = anp + "  egress:\n  - name: r\n    action: Allow\n    to: [{nodes: {}}]\n";
  for (const auto& t : {named, nodes}) {
    EXPECT_EQ(load_error(t), "");
    EXPECT_NE(load_error(t, PolicyApiChannel::Standard).find("experimental channel"),
              std::string::npos)
        << load_error(t, PolicyApiChannel::Standard);
  }
}

TEST(ClusterPolicyDecode, V1beta1AndV1alpha2EachByTheirOwnCrds) {
  const char* egress_networks = "  egress:\n  - action: Accept\n    to:\n    - networks: [%s]\n";
  auto networks = [&](const std::string& list) {
    char buf[256];
    std::snprintf(buf, sizeof buf, egress_networks, list.c_str());
    return std::string(buf);
  };
  for (const char* v : {"v1beta1", "v1alpha2"}) {
    SCOPED_TRACE(v);
    // cidr-valid / cidr-invalid
    EXPECT_EQ(cnp_error(v, networks("\"10.0.0.0/24\", \"2001:db8::/32\"")), "");
    EXPECT_NE(cnp_error(v, networks("\"10.0.0.300/24\"")).find("invalid CIDR"), std::string::npos);
    // port-range-valid / port-range-invalid(-equal, -greater)
    std::string range =
        "  egress:\n  - action: Accept\n    to: [{namespaces: {matchLabels: "
        "{kubernetes.io/metadata.name: other-ns}}}]\n    protocols:\n    - tcp: {destinationPort: "
        "{range: {start: %d, end: %d}}}\n";
    char buf[512];
    std::snprintf(buf, sizeof buf, range.c_str(), 80, 90);
    EXPECT_EQ(cnp_error(v, buf), "");
    for (auto [a, b] : {std::pair{80, 80}, std::pair{90, 80}}) {
      std::snprintf(buf, sizeof buf, range.c_str(), a, b);
      EXPECT_NE(cnp_error(v, buf).find("Start port must be less than End port"), std::string::npos);
    }
    // invalid-ingress-action: Allow is the v1alpha1 spelling.
    EXPECT_NE(cnp_error(v, "  ingress:\n  - action: Allow\n    from: [{namespaces: {}}]\n")
                  .find("unsupported value \"Allow\""),
              std::string::npos);
    // egress-peer-namedport-conflict (experimental validation)
    std::string conflict =
        networks("10.0.0.0/24") + "    protocols:\n    - destinationNamedPort: http\n";
    EXPECT_NE(cnp_error(v, conflict)
                  .find("networks/nodes/domainNames peer cannot be set with "
                        "namedPorts"),
              std::string::npos);
    // nodes peers: experimental in every release.
    std::string nodes = "  egress:\n  - action: Accept\n    to: [{nodes: {}}]\n";
    EXPECT_EQ(cnp_error(v, nodes), "");
    EXPECT_NE(cnp_error(v, nodes, PolicyApiChannel::Standard).find("experimental channel"),
              std::string::npos);
    // MaxItems 25: rules, peers, protocols.
    std::string rules = "  ingress:\n";
    for (int i = 0; i < 26; ++i) rules += "  - {action: Deny, from: [{namespaces: {}}]}\n";
    EXPECT_NE(cnp_error(v, rules).find("at most 25 rules"), std::string::npos);
    std::string peers = "  ingress:\n  - action: Deny\n    from:\n";
    for (int i = 0; i < 26; ++i) peers += "    - namespaces: {}\n";
    EXPECT_NE(cnp_error(v, peers).find("between 1 and 25 peers"), std::string::npos);
    std::string protos =
        "  ingress:\n  - action: Deny\n    from: [{namespaces: {}}]\n    protocols:\n";
    for (int i = 0; i < 26; ++i)
      protos += "    - tcp: {destinationPort: {number: " + std::to_string(1000 + i) + "}}\n";
    EXPECT_NE(cnp_error(v, protos).find("at most 25 items"), std::string::npos);
  }
  // Where they differ. A CIDR with host bits (the v0.2.1 release note's example):
  EXPECT_NE(cnp_error("v1beta1", networks("10.1.2.3/8")).find("Invalid CIDR format provided"),
            std::string::npos);
  EXPECT_NE(cnp_error("v1beta1", networks("10.1.2.3/8")).find("the network is 10.0.0.0/8"),
            std::string::npos);
  EXPECT_NE(cnp_error("v1beta1", networks("\"2001:db8::1/32\"")).find("host bits"),
            std::string::npos);
  EXPECT_EQ(cnp_error("v1alpha2", networks("10.1.2.3/8")), "");  // v0.2.0 took it, masked
  {
    ClusterLoader l;
    ASSERT_TRUE(
        l.add_text("apiVersion: policy.networking.k8s.io/v1alpha2\nkind: "
                   "ClusterNetworkPolicy\nmetadata: {name: c}\nspec:\n  tier: Admin\n  "
                   "priority: 1\n  subject: {namespaces: {}}\n" +
                       networks("10.1.2.3/8"),
                   "a.yaml"));
    ClusterState s = std::move(l).finish();
    EXPECT_EQ(s.cluster_policies[0].egress[0].peers[0].networks[0].str(), "10.0.0.0/8");
  }
  // destinationNamedPort: experimental in v1beta1, standard in v0.2.0's v1alpha2.
  std::string named =
      "  ingress:\n  - action: Accept\n    from: [{namespaces: {}}]\n    protocols:\n"
      "    - destinationNamedPort: http\n";
  EXPECT_EQ(cnp_error("v1beta1", named), "");
  EXPECT_NE(cnp_error("v1beta1", named, PolicyApiChannel::Standard)
                .find("protocols[0].destinationNamedPort: only the experimental channel"),
            std::string::npos);
  EXPECT_EQ(cnp_error("v1alpha2", named, PolicyApiChannel::Standard), "");
  // domainNames (experimental): the CRDs' DomainName pattern, 1 to 25 names, a set.
  auto domains = [](const std::string& list, const std::string& action = "Accept") {
    return "  egress:\n  - action: " + action + "\n    to: [{domainNames: " + list + "}]\n";
  };
  for (const char* v : {"v1beta1", "v1alpha2"}) {
    SCOPED_TRACE(v);
    for (const char* ok : {"[kubernetes.io]", "[\"*.kubernetes.io\"]", "[blog.kubernetes.io.]",
                           "[a.b]", "[EXAMPLE.com]", "[x_y.example.com, my-host.example.com]",
                           "[\"1.2.3.4\"]", "[a--b.example.com]"})
      EXPECT_EQ(cnp_error(v, domains(ok)), "") << ok;
    // The CRD has no rule on the action (upstream documents Accept only).
    EXPECT_EQ(cnp_error(v, domains("[kubernetes.io]", "Deny")), "");
    for (auto [bad, why] : std::initializer_list<std::pair<const char*, const char*>>{
             {"[kubernetes]", "at least two labels"},
             {"[\"*.io\"]", "at least two labels"},
             {"[\"*\"]", "'*' may only be the whole first label"},
             {"[\"*.*.example.com\"]", "'*' may only be the whole first label"},
             {"[\"www.*.example.com\"]", "'*' may only be the whole first label"},
             {"[\"a*.example.com\"]", "'*' may only be the whole first label"},
             {"[-a.example.com]", "must start with a letter or a digit"},
             {"[a-.example.com]", "must end with a letter or a digit"},
             {"[a..example.com]", "a label is empty"},
             {"[\".example.com\"]", "a label is empty"},
             {"[\"example.com..\"]", "a label is empty"},
             {"[\"exa mple.com\"]", "only letters, digits"},
             {"[\"ex\u00e4mple.com\"]", "only letters, digits"},
             {"[\"\"]", "a label is empty"},
             {"[]", "between 1 and 25 domain names"},
             {"[a.com, a.com]", "domainNames[1]: Duplicate value: \"a.com\""},
             {"kubernetes.io", "expected a list of domain names"}}) {
      std::string e = cnp_error(v, domains(bad));
      EXPECT_NE(e.find(why), std::string::npos) << bad << ": " << e;
      EXPECT_NE(e.find("egress[0].to[0].domainNames"), std::string::npos) << e;
    }
    std::string many = "[";
    for (int i = 0; i < 26; ++i) many += (i ? ", d" : "d") + std::to_string(i) + ".example.com";
    EXPECT_NE(cnp_error(v, domains(many + "]")).find("between 1 and 25 domain names"),
              std::string::npos);
    EXPECT_NE(cnp_error(v, domains("[kubernetes.io]"), PolicyApiChannel::Standard)
                  .find("domainNames: only the experimental channel"),
              std::string::npos);
    EXPECT_NE(cnp_error(v,
                        "  egress:\n  - action: Accept\n    to: [{domainNames: [a.io], "
                        "networks: [10.0.0.0/8]}]\n")
                  .find("exactly one of namespaces, pods, nodes, networks or domainNames"),
              std::string::npos);
    EXPECT_NE(cnp_error(v, domains("[a.io]") + "    protocols:\n    - destinationNamedPort: http\n")
                  .find("networks/nodes/domainNames peer cannot be set with namedPorts"),
              std::string::npos);
    // Ingress peers have no domainNames.
    EXPECT_NE(cnp_error(v, "  ingress:\n  - action: Accept\n    from: [{domainNames: [a.io]}]\n")
                  .find("unknown field \"domainNames\""),
              std::string::npos);
  }
  // v0.2.0's pattern (v1alpha2) let a label start with [ \ ] ^ _ or a backquote (`A-z`);
  // v0.3.0's (v1beta1) does not.
  for (const char* odd : {"[_dmarc.example.com]", "[\"^a.example.com\"]", "[\"x.[b\"]"}) {
    EXPECT_EQ(cnp_error("v1alpha2", domains(odd)), "") << odd;
    EXPECT_NE(cnp_error("v1beta1", domains(odd)).find("must start with a letter or a digit"),
              std::string::npos)
        << odd;
  }
  {
    ClusterLoader l;
    ASSERT_TRUE(
        l.add_text("apiVersion: policy.networking.k8s.io/v1beta1\nkind: "
                   "ClusterNetworkPolicy\nmetadata: {name: c}\nspec:\n  tier: Admin\n  "
                   "priority: 1\n  subject: {namespaces: {}}\n" +
                       domains("[\"*.Example.com.\", api.example.org]"),
                   "a.yaml"));
    ClusterState s = std::move(l).finish();
    const ClusterPeer& p = s.cluster_policies[0].egress[0].peers[0];
    EXPECT_EQ(p.kind, ClusterPeer::Kind::DomainNames);
    EXPECT_EQ(p.domain_names, (std::vector<std::string>{"*.Example.com.", "api.example.org"}));
  }
  // Versions that never existed.
  EXPECT_NE(cnp_error("v1", "").find("expected policy.networking.k8s.io/v1beta1 or "
                                     "policy.networking.k8s.io/v1alpha2"),
            std::string::npos);
  EXPECT_NE(cnp_error("v1alpha1", "").find("unsupported apiVersion"), std::string::npos);
}

// ---- bad input ------------------------------------------------------------------------------

TEST(LoaderErrors, YamlSyntaxNamesTheLine) {
  auto r = load("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().file, "in.yaml");
  EXPECT_GT(r.error().line, 0);
  EXPECT_NE(r.error().message.find("invalid YAML"), std::string::npos);
}

TEST(LoaderErrors, TruncatedJsonIsAnError) {
  auto r = load("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{\"kind\":\"Pod\",", "t.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().file, "t.json");
}

TEST(LoaderErrors, JsonSemanticErrorNamesTheLine) {
  auto r = load(R"({"apiVersion":"v1","kind":"List","items":[
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"}},
{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"p"},
 "spec":{"podSelector":{},"ingress":[{"ports":[{"port":90,"endPort":80}]}]}}
]})",
                "d.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().file, "d.json");
  EXPECT_EQ(r.error().line, 4) << r.error().str();
  EXPECT_NE(r.error().message.find("endPort"), std::string::npos);
}

TEST(LoaderErrors, NotAnObject) {
  EXPECT_NE(error_of("- a\n- b\n").find("expected a Kubernetes object"), std::string::npos);
  EXPECT_NE(error_of("just text\n").find("expected a Kubernetes object"), std::string::npos);
  EXPECT_NE(error_of("apiVersion: v1\nmetadata: {name: x}\n").find("no kind"), std::string::npos);
  EXPECT_NE(error_of("apiVersion: v1\nkind: Pod\nmetadata: {}\n").find("metadata.name"),
            std::string::npos);
}

TEST(LoaderErrors, WrongTypes) {
  EXPECT_NE(error_of("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - "
                     "ports: [{containerPort: http}]\n")
                .find("expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of("apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: [a]}\n")
                .find("expected a map"),
            std::string::npos);
  EXPECT_NE(error_of("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {podIP: 1.2.3}\n")
                .find("invalid IP address"),
            std::string::npos);
}

TEST(LoaderErrors, HostileNestingIsRefused) {
  std::string deep(100000, '[');
  auto r = load(deep);
  ASSERT_FALSE(r);
  std::string dashes;
  for (int i = 0; i < 50000; ++i) dashes += "- ";
  r = load(dashes + "x\n");
  ASSERT_FALSE(r);
}

TEST(LoaderErrors, AliasBombIsBounded) {
  std::string text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'k'; ++c) {
    text += std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" +
            prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
            ", *" + prev + "]\n";
    prev = c;
  }
  text += "kind: List\napiVersion: v1\nitems: *k\n";
  auto r = load(text);
  ASSERT_FALSE(r);  // 10^11 items: refused, not expanded
}

TEST(LoaderErrors, InvalidUtf8NamesItsLine) {
  auto r = load("apiVersion: v1\nkind: Pod\nmetadata: {name: \"a\xff\"}\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().line, 3) << r.error().str();
}

TEST(LoaderErrors, AliasesDoNotCrossDocuments) {
  auto r = load(
      "apiVersion: v1\nkind: Namespace\nmetadata: &m {name: a}\n---\napiVersion: v1\n"
      "kind: Namespace\nmetadata: *m\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("unknown alias"), std::string::npos);
}

TEST(LoaderFiles, PseudoFilesOfSizeZeroAreRead) {
  ClusterLoader l;
  auto r = l.add_path("/proc/self/status");  // reports size 0; not a manifest
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.find("binary"), std::string::npos) << r.error().str();
}

TEST(LoaderErrors, BinaryInput) {
  std::string bin("apiVersion: v1\n\0\x01\x02", 18);
  auto r = load(bin);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("binary"), std::string::npos);
}

TEST(LoaderFiles, DirectoryRecursiveAndMissing) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("stockade_loader_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "a.yaml") << "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n";
  std::ofstream(dir / "sub" / "b.json") << R"({"kind":"Namespace","metadata":{"name":"b"}})";
  std::ofstream(dir / "sub" / "notes.txt") << "not a manifest";
  ClusterLoader l;
  ASSERT_TRUE(l.add_path(dir.string()));
  auto s = std::move(l).finish();
  EXPECT_EQ(s.namespaces.size(), 2u);
  ClusterLoader m;
  auto r = m.add_path((dir / "missing.yaml").string());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().str().find("missing.yaml: no such file"), std::string::npos);
  fs::remove_all(dir);
}

// ---- endpoints ------------------------------------------------------------------------------

TEST(Endpoints, WorkloadsWithoutPodsStandForThem) {
  auto s = load(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: x, uid: d1}
spec:
  template: {metadata: {labels: {app: web}}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-abc
  namespace: x
  uid: r1
  ownerReferences: [{kind: Deployment, name: web, uid: d1, controller: true}]
---
apiVersion: v1
kind: Pod
metadata:
  name: web-abc-1
  namespace: x
  ownerReferences: [{kind: ReplicaSet, name: web-abc, uid: r1}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: x}
spec:
  template: {metadata: {labels: {app: db}}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: orphan-owner-missing
  namespace: x
  ownerReferences: [{kind: Deployment, name: gone, uid: zz}]
---
apiVersion: v1
kind: Pod
metadata: {name: done, namespace: x}
status: {phase: Succeeded}
)");
  ASSERT_TRUE(s) << s.error().str();
  auto eps = build_endpoints(*s);
  std::vector<std::string> ids;
  for (const auto& e : eps) ids.push_back(e.id() + ":" + e.kind);
  EXPECT_EQ(ids, (std::vector<std::string>{"x/db:StatefulSet", "x/orphan-owner-missing:ReplicaSet",
                                           "x/web-abc-1:Pod"}));
}

// ---- large Lists, parsed one item at a time -------------------------------------------------

// Everything ClusterLoader reads, as text: what dump_cluster shows, and more of each object.
std::string describe_state(const ClusterState& s) {
  std::ostringstream o;
  o << testing::dump_cluster(s);
  for (const Pod& p : s.pods) {
    o << "pod " << p.ns << "/" << p.name << " uid=" << p.uid << " created=" << p.created_ns
      << " deleted=" << p.deleted_ns << " owners=";
    for (const OwnerRef& r : p.owners) o << r.kind << ":" << r.name << ":" << r.uid << ",";
    o << "\n";
  }
  for (const Workload& w : s.workloads) {
    o << "workload " << w.ns << "/" << w.name << " uid=" << w.uid << " owners=";
    for (const OwnerRef& r : w.owners) o << r.kind << ":" << r.name << ",";
    o << "\n";
  }
  for (const Service& v : s.services) {
    o << "service " << v.ns << "/" << v.name << " ips=";
    for (const IpAddr& ip : v.cluster_ips) o << ip.str() << ",";
    o << " selector=";
    if (v.selector)
      for (const auto& [k, val] : *v.selector) o << k << "=" << val << ",";
    o << "\n";
  }
  o << "sizes " << s.endpoint_slices.size() << " " << s.ingresses.size() << " " << s.routes.size()
    << " " << s.service_accounts.size() << " " << s.secrets.size() << " " << s.roles.size() << " "
    << s.bindings.size() << "\n";
  for (const auto& [k, n] : s.skipped_kinds) o << "skipped " << k << " " << n << "\n";
  return o.str();
}

struct Loaded {
  std::string result;  // describe_state(), or the error
  size_t split_items = 0;
};

// `window`: the bytes of the split path's windows (LoadOptions::list_window_bytes).
Loaded load_with(std::string_view text, bool split, const std::string& name = "in.json",
                 size_t window = LoadOptions{}.list_window_bytes) {
  LoadOptions o;
  if (split) {
    o.split_list_bytes = 0;
    o.split_list_items = 1;
    o.list_window_bytes = window;
  } else {
    o.split_list_bytes = SIZE_MAX;
  }
  ClusterLoader l(o);
  auto r = l.add_text(text, name);
  if (!r) return {"error: " + r.error().str(), l.split_items()};
  size_t n = l.split_items();
  return {describe_state(std::move(l).finish()), n};
}

// Both ways give the same objects or the same error; returns how many items were split.
size_t expect_same_both_ways(std::string_view text) {
  Loaded whole = load_with(text, false);
  Loaded split = load_with(text, true);
  EXPECT_EQ(whole.split_items, 0u);
  EXPECT_EQ(split.result, whole.result) << text;
  // Windows of a few bytes: a line each (a window ends after a newline), so that keys, items
  // and the "items" key's colon fall in other windows than what they belong with.
  for (size_t window : {1, 7, 64}) {
    Loaded small = load_with(text, true, "in.json", window);
    EXPECT_EQ(small.result, whole.result) << window << "\n" << text;
    EXPECT_EQ(small.split_items, split.split_items) << window << "\n" << text;
  }
  return split.split_items;
}

TEST(LoaderLargeList, AGeneratedClusterDumpIsReadTheSameItemByItem) {
  namespace fs = std::filesystem;
  fs::path file =
      fs::temp_directory_path() / ("stockade_large_list_" + std::to_string(::getpid()) + ".json");
  ASSERT_EQ(std::system((std::string(STOCKADE_GEN_CLUSTER) + " --pods 1200 --admin --out " +
                         file.string() + " 2>/dev/null")
                            .c_str()),
            0);
  ASSERT_GT(fs::file_size(file), size_t{4} << 20);  // the default threshold applies
  auto read = [&](LoadOptions o) {
    ClusterLoader l(o);
    auto r = l.add_path(file.string());
    EXPECT_TRUE(r) << r.error().str();
    size_t n = l.split_items();
    return std::pair{describe_state(std::move(l).finish()), n};
  };
  LoadOptions whole;
  whole.split_list_bytes = SIZE_MAX;
  auto [want, none] = read(whole);
  auto [got, split] = read(LoadOptions{});
  LoadOptions windows;  // hundreds of windows of 16 KiB
  windows.list_window_bytes = size_t{16} << 10;
  auto [windowed, split_windowed] = read(windows);
  fs::remove(file);
  EXPECT_EQ(none, 0u);
  EXPECT_GT(split, 2048u);
  EXPECT_EQ(got, want);
  EXPECT_EQ(split_windowed, split);
  EXPECT_EQ(windowed, want);
  EXPECT_NE(want.find("pods:\n  "), std::string::npos);
}

TEST(LoaderLargeList, ShapesAndErrorsMatchTheWholeDocument) {
  const std::string pod = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"x",
    "labels":{"app":"a"}},"spec":{"volumes":[{"name":"v","configMap":{"name":"c",
    "items":[{"key":"k","path":"p"}]}}],"containers":[{"name":"c","ports":[{"containerPort":80}]}]},
    "status":{"podIP":"10.0.0.5"}})";
  const std::string np = R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
    "metadata":{"name":"p","namespace":"x"},"spec":{"podSelector":{},"ingress":[{"from":[
    {"podSelector":{"matchLabels":{"app":"a"}}}]}]}})";
  // Read item by item: pretty-printed, keys around "items", an "items" inside an item.
  EXPECT_EQ(expect_same_both_ways(R"({"apiVersion":"v1","kind":"List","items":[)" + pod + "," + np +
                                  "]}"),
            2u);
  EXPECT_EQ(expect_same_both_ways("{\n  \"metadata\": {\"items\": [1]},\n  \"items\" : [\n    " +
                                  pod + " ,\n    " + np + "\n  ],\n  \"kind\": \"List\"\n}\n"),
            2u);
  // `kubectl get -o json`'s layout, and the "items" key's colon on the next line.
  EXPECT_EQ(expect_same_both_ways("{\n    \"apiVersion\": \"v1\",\n    \"items\"\n  : [\n" + pod +
                                  ",\n\n\n" + np + "\n    ],\n    \"kind\": \"List\"\n}\n"),
            2u);
  EXPECT_EQ(expect_same_both_ways(R"({"kind":"List","items":[)" + pod + R"(,{"kind":"List",
    "items":[{"kind":"List","items":[{"kind":"List","items":[)" +
                                  np + "]}]}]}]}"),
            2u);
  // The same answer through the whole document: errors, other shapes, other documents.
  const std::vector<std::string> whole_only = {
      R"({"kind":"List","items":[)" + pod + "," + np + "]}{\"kind\":\"Pod\"}",
      R"({"kind":"List","items":[)" + pod + R"(],"items":[)" + np + "]}",
      R"({"kind":"List","items":[)" + pod + "," + np + ",]}",
      R"({"kind":"List","items":[)" + pod + " " + np + "]}",
      R"({"kind":"List","items":[)" + pod + R"(,{"kind":"Pod","metadata":{"name":5}}]})",
      R"({"kind":"List","items":[)" + pod + R"(,{"kind":"Pod","metadata":{"name":tru}}]})",
      R"({"kind":"List","items":[)" + pod + "," + np + R"(],"metadata":{"x":nul}})",
      R"({"kind":"PodList","items":[)" + pod + "]}",
      R"({"kind":"Lis","items":[)" + pod + "]}",
      R"({"kind":"List","items":[]})",
      R"({"kind":"List","items":null})",
      R"({"kind":"List","items":[)" + pod + "," + np + "]",
      R"({"kind":"List","items":[)" + pod + "," + np + "]}}",
      R"({"kind":"List","items":[)" + pod + ",\"\xff\"]}",
      // A raw newline inside a string (invalid JSON): a window may end inside the string.
      R"({"kind":"List","items":[)" + pod + R"(,{"kind":"Pod","metadata":{"name":"a
b","namespace":"x"}}]})",
      "[" + pod + "]",
  };
  for (const std::string& text : whole_only) EXPECT_EQ(expect_same_both_ways(text), 0u) << text;
  // Nesting: the items sit two levels down, under the same limit as the whole document's.
  for (size_t levels : {1021, 1022}) {
    std::string deep = std::string(levels, '[') + std::string(levels, ']');
    std::string text = R"({"kind":"List","items":[)" + pod +
                       R"(,{"kind":"Pod","metadata":{"name":"d","namespace":"x"},"x":)" + deep +
                       "}]}";
    EXPECT_EQ(expect_same_both_ways(text), levels == 1021 ? 2u : 0u) << levels;
  }
}

}  // namespace
}  // namespace stockade

namespace stockade {
namespace {

// Calico's kinds (decode_calico.cc): what the loader keeps, its defaults and its errors.
TEST(LoaderCalico, ReadsPoliciesTiersAndSetsInBothApiForms) {
  auto s = load(R"(apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100, defaultAction: Pass}
---
apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata: {name: security.g}
spec:
  tier: security
  order: 10.5
  selector: has(app)
  egress:
  - action: Deny
    protocol: 6
    destination: {nets: [10.0.0.1], ports: [80, '8000:8080', http], notPorts: [8081]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: "n", namespace: x}
spec:
  ingress:
  - action: Log
  egress:
  - action: Allow
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: s, namespace: x, labels: {role: p}}
spec: {nets: [192.0.2.0/24]}
)");
  ASSERT_TRUE(s) << s.error().str();
  ASSERT_EQ(s->calico_tiers.size(), 1u);
  EXPECT_EQ(s->calico_tiers[0].default_action, CalicoAction::Pass);
  ASSERT_EQ(s->calico_policies.size(), 2u);
  const CalicoPolicy& g = s->calico_policies[0];
  EXPECT_EQ(g.tier, "security");
  EXPECT_EQ(g.order, 10.5);
  // types default: egress rules only -> Egress only.
  EXPECT_FALSE(g.types_ingress);
  EXPECT_TRUE(g.types_egress);
  ASSERT_EQ(g.egress.size(), 1u);
  EXPECT_EQ(g.egress[0].protocol->number, 6);
  EXPECT_EQ(g.egress[0].destination.nets[0].str(), "10.0.0.1/32");
  ASSERT_EQ(g.egress[0].destination.ports.size(), 3u);
  EXPECT_EQ(g.egress[0].destination.ports[1].lo, 8000);
  EXPECT_EQ(g.egress[0].destination.ports[1].hi, 8080);
  EXPECT_EQ(g.egress[0].destination.ports[2].name, "http");
  const CalicoPolicy& n = s->calico_policies[1];
  EXPECT_EQ(n.tier, "default");
  EXPECT_FALSE(n.order.has_value());
  EXPECT_TRUE(n.selector.is_all());
  EXPECT_TRUE(n.types_ingress && n.types_egress);  // both kinds of rules
  EXPECT_EQ(n.ingress[0].action, CalicoAction::Log);
  ASSERT_EQ(s->calico_network_sets.size(), 1u);
  EXPECT_EQ(s->calico_network_sets[0].labels.at("role"), "p");
  EXPECT_TRUE(s->unevaluated_policies.empty());
}

TEST(LoaderCalico, ErrorsNameTheFieldAndLine) {
  const std::string head =
      "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\n"
      "spec:\n";
  EXPECT_EQ(error_of(head + "  ingress:\n  - action: Allow\n    destination: {ports: [80]}\n"),
            "in.yaml:6: GlobalNetworkPolicy g: spec.ingress[0]: ports are only valid with "
            "protocol TCP, UDP, SCTP or UDPLite");
  EXPECT_EQ(error_of(head + "  ingress:\n  - action: Reject\n"),
            "in.yaml:6: GlobalNetworkPolicy g: spec.ingress[0].action: unsupported value "
            "\"Reject\": supported values: \"Allow\", \"Deny\", \"Pass\", \"Log\"");
  EXPECT_EQ(error_of(head + "  ingress:\n  - action: Allow\n    source: {notNet: [10.0.0.0/8]}\n"),
            "in.yaml:7: GlobalNetworkPolicy g: spec.ingress[0].source.unknown field \"notNet\"");
  EXPECT_EQ(error_of(head + "  selector: app in {'a'\n"),
            "in.yaml:5: GlobalNetworkPolicy g: spec.selector: invalid selector \"app in {'a'\": "
            "expected ',' or '}' but found end of selector at column 12");
  EXPECT_EQ(error_of(head + "  ingress:\n  - action: Allow\n    protocol: TCP\n"
                            "    destination: {ports: ['90:80']}\n"),
            "in.yaml:8: GlobalNetworkPolicy g: spec.ingress[0].destination.ports[0]: invalid "
            "port range \"90:80\" (expected \"lo:hi\", lo <= hi)");
  EXPECT_EQ(error_of("apiVersion: projectcalico.org/v2\nkind: Tier\nmetadata: {name: t}\n"),
            "in.yaml:1: Tier: unsupported apiVersion \"projectcalico.org/v2\" (expected "
            "projectcalico.org/v3 or crd.projectcalico.org/v1)");
}

// order is a float64 in Calico's API: a fraction reads from JSON as from YAML, a quoted number
// is a string the API server refuses, and so are YAML's .inf and a boolean.
TEST(LoaderCalico, OrderIsANumberInJsonAndYaml) {
  auto j = load(R"j({"apiVersion":"projectcalico.org/v3","kind":"GlobalNetworkPolicy",
    "metadata":{"name":"g"},"spec":{"order":100.5,"selector":"all()"}})j",
                "in.json");
  ASSERT_TRUE(j) << j.error().str();
  ASSERT_EQ(j->calico_policies.size(), 1u);
  EXPECT_EQ(j->calico_policies[0].order, 100.5);
  const std::string head =
      "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\n"
      "spec:\n";
  auto y = load(head + "  order: 1_000.25\n", "in.yaml");
  ASSERT_TRUE(y) << y.error().str();
  EXPECT_EQ(y->calico_policies[0].order, 1000.25);
  EXPECT_EQ(error_of(head + "  order: '100'\n"),
            "in.yaml:5: GlobalNetworkPolicy g: spec.order: expected a number, got a string");
  EXPECT_EQ(error_of(head + "  order: .inf\n"),
            "in.yaml:5: GlobalNetworkPolicy g: spec.order: expected a finite number");
  EXPECT_EQ(error_of(head + "  order: yes\n"),
            "in.yaml:5: GlobalNetworkPolicy g: spec.order: expected a number, got a boolean");
}

TEST(LoaderCalico, HostEndpointPoliciesAreCountedAsNotEvaluated) {
  auto s = load(
      "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
      "metadata: {name: g}\nspec:\n  preDNAT: true\n  applyOnForward: true\n");
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_EQ(
      s->unevaluated_policies.at("GlobalNetworkPolicy with doNotTrack/preDNAT (projectcalico.org)"),
      1u);
}

// applyOnForward alone: Felix applies the policy to workload endpoints like any other
// (projectcalico/calico felix/calc/event_sequencer.go, tierInfoToProtoTierInfo).
TEST(LoaderCalico, ApplyOnForwardAloneIsEvaluated) {
  auto s = load(
      "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
      "metadata: {name: g}\nspec:\n  applyOnForward: true\n");
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_TRUE(s->unevaluated_policies.empty());
  ASSERT_EQ(s->calico_policies.size(), 1u);
  EXPECT_FALSE(s->calico_policies[0].host_only);
}

// ClusterLoader::finish orders pods by (namespace, name), workloads by (namespace, name, kind),
// and keeps the last of two objects of one key (a later file or document replaces an earlier
// one): 3,000 pods and 1,500 workloads in random order, names drawn from few enough to repeat,
// namespaces that are prefixes of one another, against a stable sort of the input.
TEST(LoaderOrder, PodsAndWorkloadsSortedTheLastOfADuplicateKept) {
  std::mt19937_64 rng(7);
  const std::vector<std::string> namespaces = {"b", "a", "ab", "a-b", "default", "aa"};
  struct Written {
    std::string ns, name, node;
  };
  std::vector<Written> written;
  std::string text;
  for (int i = 0; i < 3000; ++i) {
    Written w{namespaces[rng() % namespaces.size()], "p" + std::to_string(rng() % 900),
              "n" + std::to_string(i)};
    text += "---\napiVersion: v1\nkind: Pod\nmetadata: {name: " + w.name + ", namespace: " + w.ns +
            "}\nspec: {nodeName: " + w.node + "}\n";
    written.push_back(std::move(w));
  }
  std::vector<size_t> order(written.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto key = [&](size_t i) { return std::tie(written[i].ns, written[i].name); };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
  std::vector<Written> want;
  for (size_t i = 0; i < order.size(); ++i)
    if (i + 1 == order.size() || key(order[i]) < key(order[i + 1]))
      want.push_back(written[order[i]]);
  // Workloads: by (namespace, name, kind), a Deployment and a StatefulSet of one name apart.
  struct Workload_ {
    std::string ns, name;
    WorkloadKind kind;
    int64_t replicas;
  };
  std::vector<Workload_> workloads;
  for (int i = 0; i < 1500; ++i) {
    const bool deployment = rng() % 2;
    Workload_ w{namespaces[rng() % namespaces.size()], "w" + std::to_string(rng() % 400),
                deployment ? WorkloadKind::Deployment : WorkloadKind::StatefulSet, i};
    text += std::string("---\napiVersion: apps/v1\nkind: ") +
            (deployment ? "Deployment" : "StatefulSet") + "\nmetadata: {name: " + w.name +
            ", namespace: " + w.ns + "}\nspec: {replicas: " + std::to_string(i) + "}\n";
    workloads.push_back(std::move(w));
  }
  std::vector<size_t> by(workloads.size());
  for (size_t i = 0; i < by.size(); ++i) by[i] = i;
  auto wkey = [&](size_t i) {
    return std::tie(workloads[i].ns, workloads[i].name, workloads[i].kind);
  };
  std::stable_sort(by.begin(), by.end(), [&](size_t a, size_t b) { return wkey(a) < wkey(b); });
  std::vector<Workload_> want_workloads;
  for (size_t i = 0; i < by.size(); ++i)
    if (i + 1 == by.size() || wkey(by[i]) < wkey(by[i + 1]))
      want_workloads.push_back(workloads[by[i]]);
  auto s = load(text);
  ASSERT_TRUE(s) << s.error().str();
  ASSERT_EQ(s->workloads.size(), want_workloads.size());
  for (size_t i = 0; i < want_workloads.size(); ++i) {
    EXPECT_EQ(s->workloads[i].ns, want_workloads[i].ns) << i;
    EXPECT_EQ(s->workloads[i].name, want_workloads[i].name) << i;
    EXPECT_EQ(s->workloads[i].kind, want_workloads[i].kind) << i;
    EXPECT_EQ(s->workloads[i].replicas, want_workloads[i].replicas) << i;
  }
  ASSERT_EQ(s->pods.size(), want.size());
  ASSERT_LT(want.size(), written.size()) << "no duplicate was drawn";
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(s->pods[i].ns, want[i].ns) << i;
    EXPECT_EQ(s->pods[i].name, want[i].name) << i;
    EXPECT_EQ(s->pods[i].node, want[i].node) << "pod " << i << ": not the last of its name";
  }
}

}  // namespace
}  // namespace stockade
