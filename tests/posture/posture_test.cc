// Posture checks (`stockade scan`): one failing and one passing object per check, RBAC
// matching corner cases, risk ordering, CVE range edges, SARIF shape, suppressions and bad
// input. The deliberately vulnerable set in demo/vulnerable is checked by
// vulnerable_set_test.cc.
#include "posture/posture.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/engine.h"
#include "input/loader.h"

namespace stockade::posture {
namespace {

ScanReport scan_text(const std::string& yaml, ScanOptions o = {}) {
  ClusterLoader l;
  auto r = l.add_text(yaml, "in.yaml");
  EXPECT_TRUE(r) << r.error().str();
  ClusterState s = std::move(l).finish();
  auto engine = PolicyEngine::compile(s, build_endpoints(s));
  auto rep = scan(s, *engine, o);
  EXPECT_TRUE(rep) << rep.error().str();
  return rep ? *rep : ScanReport{};
}

// Active findings of `id` on `resource` (KIND/NS/NAME).
int count(const ScanReport& r, std::string_view id, std::string_view resource = {}) {
  return static_cast<int>(
      std::count_if(r.findings.begin(), r.findings.end(), [&](const Finding& f) {
        return !f.suppressed && f.id == id && (resource.empty() || f.resource.text() == resource);
      }));
}

// A Deployment in namespace "app" whose pod spec is `spec` (indented by 6 spaces).
std::string deploy(const std::string& spec, const std::string& ns = "app") {
  return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: " + ns +
         "}\nspec:\n  selector: {matchLabels: {app: d}}\n  template:\n    metadata: {labels: "
         "{app: d}}\n    spec:\n" +
         spec;
}

// A pod spec with every hardening set. `sc_extra` lines go into the container's
// securityContext (replacing the default capabilities / readOnlyRootFilesystem when they set
// them), `container_extra` into the container, `pod_extra` into the pod spec (replacing the
// pod securityContext when it sets one).
std::string hardened(const std::string& sc_extra = "", const std::string& container_extra = "",
                     const std::string& pod_extra = "") {
  auto has = [](const std::string& s, const char* k) { return s.find(k) != std::string::npos; };
  std::string pod_sc = has(pod_extra, "securityContext")
                           ? ""
                           : "      securityContext: {runAsNonRoot: true, runAsUser: 1000, "
                             "seccompProfile: {type: RuntimeDefault}}\n";
  return "      automountServiceAccountToken: false\n      serviceAccountName: d\n" + pod_sc +
         pod_extra +
         "      containers:\n      - name: c\n        image: reg/app:1.2.3\n"
         "        resources: {limits: {cpu: 100m, memory: 64Mi}}\n" +
         container_extra + "        securityContext:\n          allowPrivilegeEscalation: false\n" +
         (has(sc_extra, "readOnlyRootFilesystem") ? ""
                                                  : "          readOnlyRootFilesystem: true\n") +
         (has(sc_extra, "capabilities") ? "" : "          capabilities: {drop: [ALL]}\n") +
         sc_extra;
}

const char* kRes = "Deployment/app/d";

TEST(PostureChecks, HardenedDeploymentHasNoPodFindings) {
  ScanReport r = scan_text(deploy(hardened()));
  for (const Finding& f : r.findings) EXPECT_TRUE(f.id == "NO_NETPOL") << f.id << ": " << f.message;
}

struct CheckCase {
  const char* id;
  std::string failing;  // pod spec
  std::string passing;
};

class PostureCheck : public ::testing::TestWithParam<CheckCase> {};

TEST_P(PostureCheck, FailsAndPasses) {
  const CheckCase& c = GetParam();
  ScanReport bad = scan_text(deploy(c.failing));
  EXPECT_GE(count(bad, c.id, kRes), 1) << c.id << " not reported on:\n" << c.failing;
  ScanReport good = scan_text(deploy(c.passing));
  EXPECT_EQ(count(good, c.id, kRes), 0) << c.id << " reported on:\n" << c.passing;
}

INSTANTIATE_TEST_SUITE_P(
    Pod, PostureCheck,
    ::testing::Values(
        CheckCase{"PRIVILEGED", hardened("          privileged: true\n"),
                  hardened("          privileged: false\n")},
        CheckCase{"PRIV_ESCALATION", "      containers:\n      - name: c\n        image: a:1\n",
                  hardened()},
        CheckCase{"HOST_PID", hardened("", "", "      hostPID: true\n"), hardened()},
        CheckCase{"HOST_IPC", hardened("", "", "      hostIPC: true\n"), hardened()},
        CheckCase{"HOST_NETWORK", hardened("", "", "      hostNetwork: true\n"), hardened()},
        CheckCase{"HOST_PORT",
                  hardened("", "        ports: [{containerPort: 80, hostPort: 8080}]\n"),
                  hardened("", "        ports: [{containerPort: 80}]\n")},
        CheckCase{"HOSTPATH",
                  hardened("", "", "      volumes: [{name: v, hostPath: {path: /data}}]\n"),
                  hardened("", "", "      volumes: [{name: v, emptyDir: {}}]\n")},
        CheckCase{"HOSTPATH_WRITABLE",
                  hardened("", "        volumeMounts: [{name: v, mountPath: /d}]\n",
                           "      volumes: [{name: v, hostPath: {path: /data}}]\n"),
                  hardened("", "        volumeMounts: [{name: v, mountPath: /d, readOnly: true}]\n",
                           "      volumes: [{name: v, hostPath: {path: /data}}]\n")},
        CheckCase{
            "HOSTPATH_SENSITIVE",
            hardened("", "", "      volumes: [{name: v, hostPath: {path: /etc/kubernetes/}}]\n"),
            hardened("", "", "      volumes: [{name: v, hostPath: {path: /etcetera}}]\n")},
        CheckCase{
            "RUNTIME_SOCKET",
            hardened(
                "", "",
                "      volumes: [{name: v, hostPath: {path: /run/containerd/containerd.sock}}]\n"),
            hardened("", "", "      volumes: [{name: v, hostPath: {path: /data/sockets}}]\n")},
        CheckCase{"DANGEROUS_CAPS", hardened("          capabilities: {add: [CAP_SYS_ADMIN]}\n"),
                  hardened("          capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}\n")},
        CheckCase{"CAPS_NOT_DROPPED", hardened("          capabilities: {drop: [NET_RAW]}\n"),
                  hardened()},
        CheckCase{"RUN_AS_ROOT", hardened("          runAsUser: 0\n"), hardened()},
        CheckCase{"RW_ROOTFS", hardened("          readOnlyRootFilesystem: false\n"), hardened()},
        CheckCase{
            "SECCOMP", hardened("          seccompProfile: {type: Unconfined}\n"),
            hardened("          seccompProfile: {type: Localhost, localhostProfile: p.json}\n")},
        CheckCase{"APPARMOR", hardened("          appArmorProfile: {type: Unconfined}\n"),
                  hardened("          appArmorProfile: {type: RuntimeDefault}\n")},
        CheckCase{"UNSAFE_SYSCTL_PROCMOUNT_SELINUX", hardened("          procMount: Unmasked\n"),
                  hardened("          procMount: Default\n")},
        CheckCase{
            "UNSAFE_SYSCTL_PROCMOUNT_SELINUX",
            hardened("", "",
                     "      securityContext: {sysctls: [{name: kernel.msgmax, value: '1'}]}\n"),
            hardened("", "",
                     "      securityContext: {runAsNonRoot: true, seccompProfile: {type: "
                     "RuntimeDefault}, sysctls: [{name: net.ipv4.tcp_syncookies, value: '1'}]}\n")},
        CheckCase{"WIN_HOSTPROCESS", hardened("          windowsOptions: {hostProcess: true}\n"),
                  hardened("          windowsOptions: {hostProcess: false}\n")},
        CheckCase{"SSH_PORT", hardened("", "        ports: [{containerPort: 22}]\n"),
                  hardened("", "        ports: [{containerPort: 2222}]\n")},
        CheckCase{"IMAGE_TAG", "      containers:\n      - {name: c, image: 'reg:5000/app'}\n",
                  "      containers:\n      - {name: c, image: 'reg:5000/app@sha256:abc'}\n"},
        CheckCase{"IMAGE_TAG", "      containers:\n      - {name: c, image: 'app:latest'}\n",
                  "      containers:\n      - {name: c, image: 'app:1.0'}\n"},
        CheckCase{
            "NO_LIMITS",
            "      containers:\n      - {name: c, image: a:1, resources: {limits: {cpu: 1}}}\n",
            "      containers:\n      - {name: c, image: a:1, resources: {limits: {cpu: 1, memory: "
            "1Gi}}}\n"},
        CheckCase{"PLAINTEXT_SECRET",
                  hardened("", "        env: [{name: DB_PASSWORD, value: s3cr3t-value}]\n"),
                  hardened("",
                           "        env: [{name: DB_PASSWORD, value: '$(FROM_FILE)'}, {name: MODE, "
                           "value: production}]\n")},
        CheckCase{
            "PLAINTEXT_SECRET",
            hardened("", "        env: [{name: CONFIG, value: 'key AKIAIOSFODNN7EXAMPLE'}]\n"),
            hardened("", "        env: [{name: CONFIG, value: 'key AKIA-not-a-key'}]\n")},
        CheckCase{"SECRET_AS_ENV", hardened("", "        envFrom: [{secretRef: {name: s}}]\n"),
                  hardened("", "        envFrom: [{configMapRef: {name: s}}]\n")},
        CheckCase{"SENSITIVE_UI",
                  "      containers:\n      - {name: c, image: 'kubernetesui/dashboard:v2.7.0'}\n",
                  "      containers:\n      - {name: c, image: 'grafana/grafana:10.0.0'}\n"},
        CheckCase{
            "DEFAULT_SA", "      containers:\n      - {name: c, image: a:1}\n",
            "      serviceAccountName: d\n      containers:\n      - {name: c, image: a:1}\n"},
        CheckCase{"SA_TOKEN_AUTOMOUNT", "      containers:\n      - {name: c, image: a:1}\n",
                  "      automountServiceAccountToken: false\n      containers:\n      - {name: c, "
                  "image: a:1}\n"}));

TEST(PostureChecks, InitAndEphemeralContainersAreChecked) {
  ScanReport r = scan_text(deploy(hardened("", "",
                                           "      initContainers:\n      - name: init\n"
                                           "        image: a:1\n"
                                           "        securityContext: {privileged: true}\n")));
  ASSERT_EQ(count(r, "PRIVILEGED", kRes), 1);
  auto it = std::find_if(r.findings.begin(), r.findings.end(),
                         [](const Finding& f) { return f.id == "PRIVILEGED"; });
  EXPECT_EQ(it->container, "init");
  EXPECT_EQ(it->file, "in.yaml");
  EXPECT_GT(it->line, 0);
}

TEST(PostureChecks, CronJobTemplateAndPodsOfKnownWorkloadsReportedOnce) {
  ScanReport r = scan_text(R"(apiVersion: batch/v1
kind: CronJob
metadata: {name: cj, namespace: b}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          hostPID: true
          containers: [{name: c, image: a:1}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs, namespace: b, uid: u1}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      hostIPC: true
      containers: [{name: c, image: a:1}]
---
apiVersion: v1
kind: Pod
metadata:
  name: rs-x
  namespace: b
  ownerReferences: [{kind: ReplicaSet, name: rs, uid: u1, controller: true}]
spec:
  hostIPC: true
  containers: [{name: c, image: a:1}]
)");
  EXPECT_EQ(count(r, "HOST_PID", "CronJob/b/cj"), 1);
  EXPECT_EQ(count(r, "HOST_IPC", "ReplicaSet/b/rs"), 1);
  EXPECT_EQ(count(r, "HOST_IPC", "Pod/b/rs-x"), 0);
}

TEST(PostureChecks, NamespacesServicesIngress) {
  ScanReport r =
      scan_text(deploy(hardened(), "default") + "---\n" + deploy(hardened(), "kube-system") +
                R"(---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: a}
spec: {externalIPs: [198.51.100.1], ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: ok, namespace: a}
spec: {ports: [{port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: i
  namespace: a
  annotations: {nginx.ingress.kubernetes.io/server-snippet: "x", nginx.ingress.kubernetes.io/rewrite-target: /}
spec: {rules: [{host: a.example}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: tls, namespace: a}
spec: {tls: [{hosts: [a.example], secretName: c}]}
)");
  EXPECT_EQ(count(r, "DEFAULT_NS", "Deployment/default/d"), 1);
  EXPECT_EQ(count(r, "DEFAULT_NS", "Deployment/kube-system/d"), 0);
  EXPECT_EQ(count(r, "KUBE_SYSTEM_WORKLOAD", "Deployment/kube-system/d"), 1);
  EXPECT_EQ(count(r, "SVC_EXTERNAL_IPS", "Service/a/s"), 1);
  EXPECT_EQ(count(r, "SVC_EXTERNAL_IPS", "Service/a/ok"), 0);
  EXPECT_EQ(count(r, "INGRESS_NO_TLS", "Ingress/a/i"), 1);
  EXPECT_EQ(count(r, "INGRESS_NO_TLS", "Ingress/a/tls"), 0);
  EXPECT_EQ(count(r, "NGINX_SNIPPETS", "Ingress/a/i"), 1);  // rewrite-target is no snippet
}

// ---- network isolation comes from the policy engine ------------------------------------------

TEST(PostureNetwork, IsolationFromEngineAndAllowAllRules) {
  std::string cluster = deploy(hardened()) + R"(---
apiVersion: apps/v1
kind: Deployment
metadata: {name: other, namespace: app}
spec:
  selector: {matchLabels: {app: other}}
  template:
    metadata: {labels: {app: other}}
    spec: {containers: [{name: c, image: a:1}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: d-in, namespace: app}
spec:
  podSelector: {matchExpressions: [{key: app, operator: In, values: [d]}]}
  ingress:
  - {}
)";
  ScanReport r = scan_text(cluster);
  // d: ingress isolated (by a policy that then allows all), egress not.
  ASSERT_EQ(count(r, "NO_NETPOL", kRes), 1);
  auto d = std::find_if(r.findings.begin(), r.findings.end(), [](const Finding& f) {
    return f.id == "NO_NETPOL" && f.resource.name == "d";
  });
  EXPECT_NE(d->message.find("not isolated for egress"), std::string::npos) << d->message;
  EXPECT_EQ(count(r, "NO_NETPOL", "Deployment/app/other"), 1);
  EXPECT_EQ(count(r, "NETPOL_ALLOW_ALL", "NetworkPolicy/app/d-in"), 1);

  // An AdminNetworkPolicy that applies to every pod isolates both directions.
  ScanReport r2 = scan_text(cluster + R"(---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: guard}
spec:
  priority: 10
  subject: {namespaces: {}}
  ingress: [{name: deny, action: Deny, from: [{namespaces: {matchLabels: {x: 'y'}}}]}]
  egress: [{name: deny, action: Deny, to: [{namespaces: {matchLabels: {x: 'y'}}}]}]
)");
  EXPECT_EQ(count(r2, "NO_NETPOL"), 0);
}

// ---- RBAC ---------------------------------------------------------------------------------

PolicyRuleSpec rule(std::vector<std::string> groups, std::vector<std::string> resources,
                    std::vector<std::string> verbs, std::vector<std::string> names = {}) {
  PolicyRuleSpec r;
  r.api_groups = std::move(groups);
  r.resources = std::move(resources);
  r.verbs = std::move(verbs);
  r.resource_names = std::move(names);
  return r;
}

TEST(PostureRbac, UpstreamMatchingSemantics) {
  // "*" matches every resource, subresources included.
  EXPECT_TRUE(rule_allows(rule({""}, {"*"}, {"create"}), "create", "", "pods/exec"));
  // "pods/*" is literal: it does not cover pods/exec, nor pods.
  EXPECT_FALSE(rule_allows(rule({""}, {"pods/*"}, {"create"}), "create", "", "pods/exec"));
  EXPECT_FALSE(rule_allows(rule({""}, {"pods/*"}, {"create"}), "create", "", "pods"));
  // A bare resource does not cover its subresources.
  EXPECT_FALSE(rule_allows(rule({""}, {"pods"}, {"create"}), "create", "", "pods/exec"));
  // "*/sub" covers that subresource of every resource, and nothing else.
  EXPECT_TRUE(rule_allows(rule({""}, {"*/exec"}, {"create"}), "create", "", "pods/exec"));
  EXPECT_FALSE(rule_allows(rule({""}, {"*/exec"}, {"create"}), "create", "", "pods"));
  EXPECT_FALSE(rule_allows(rule({""}, {"*/exec"}, {"create"}), "create", "", "pods/attach"));
  // Verbs and groups.
  EXPECT_TRUE(rule_allows(rule({"*"}, {"secrets"}, {"*"}), "list", "", "secrets"));
  EXPECT_FALSE(rule_allows(rule({"apps"}, {"secrets"}, {"*"}), "list", "", "secrets"));
  EXPECT_FALSE(rule_allows(rule({""}, {"secrets"}, {"get"}), "list", "", "secrets"));
  // resourceNames: empty means every name; a list restricts to those names.
  EXPECT_TRUE(rule_allows(rule({""}, {"configmaps"}, {"update"}, {"aws-auth"}), "update", "",
                          "configmaps", "aws-auth"));
  EXPECT_FALSE(rule_allows(rule({""}, {"configmaps"}, {"update"}, {"aws-auth"}), "update", "",
                           "configmaps"));
  EXPECT_FALSE(rule_allows(rule({""}, {"configmaps"}, {"update"}, {"aws-auth"}), "update", "",
                           "configmaps", "other"));
}

const char* kRole = R"(apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: %s}
rules:
%s
)";

std::string cluster_role(const std::string& name, const std::string& rules) {
  std::string s = kRole;
  s.replace(s.find("%s"), 2, name);
  s.replace(s.find("%s"), 2, rules);
  return s;
}

TEST(PostureRbac, PatternsOnRoles) {
  struct P {
    const char* id;
    const char* rules;
  };
  const P cases[] = {
      {"RBAC_WILDCARD", "- {apiGroups: ['*'], resources: ['*'], verbs: ['*']}"},
      {"RBAC_WILDCARD", "- {apiGroups: ['apps'], resources: ['deployments'], verbs: ['*']}"},
      {"RBAC_SECRETS", "- {apiGroups: [''], resources: ['secrets'], verbs: ['watch']}"},
      {"RBAC_EXEC_ATTACH_PF", "- {apiGroups: [''], resources: ['*/attach'], verbs: ['create']}"},
      {"RBAC_EXEC_ATTACH_PF",
       "- {apiGroups: [''], resources: ['pods/portforward'], verbs: ['create']}"},
      {"RBAC_ESCALATION",
       "- {apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['escalate']}"},
      {"RBAC_ESCALATION",
       "- {apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate']}"},
      {"RBAC_WORKLOAD_CREATE",
       "- {apiGroups: ['batch'], resources: ['cronjobs'], verbs: ['patch']}"},
      {"RBAC_NODES_PROXY", "- {apiGroups: [''], resources: ['nodes/proxy'], verbs: ['create']}"},
      {"RBAC_WEBHOOK_ADMIN",
       "- {apiGroups: ['admissionregistration.k8s.io'], resources: "
       "['validatingadmissionpolicies'], verbs: ['update']}"},
      {"RBAC_TOKEN_CSR_PV",
       "- {apiGroups: ['certificates.k8s.io'], resources: ['certificatesigningrequests/approval'], "
       "verbs: ['update']}"},
      {"RBAC_TOKEN_CSR_PV",
       "- {apiGroups: [''], resources: ['persistentvolumes'], verbs: ['create']}"},
      {"RBAC_CRD_WRITE",
       "- {apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: "
       "['delete']}"},
      {"RBAC_NETWORK_WRITE",
       "- {apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['delete']}"},
      {"RBAC_POLICY_ENGINE_WRITE",
       "- {apiGroups: ['kyverno.io'], resources: ['clusterpolicies'], verbs: ['update']}"},
      {"RBAC_CONFIGMAP_WRITE",
       "- {apiGroups: [''], resources: ['configmaps'], verbs: ['update'], resourceNames: "
       "['aws-auth']}"},
      {"RBAC_POD_LOG_DELETE", "- {apiGroups: [''], resources: ['pods/log'], verbs: ['delete']}"},
      {"RBAC_BINDING_PATCH",
       "- {apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'], verbs: ['get', "
       "'patch']}"},
  };
  for (const P& p : cases) {
    ScanReport r = scan_text(cluster_role("r", p.rules));
    EXPECT_EQ(count(r, p.id, "ClusterRole/r"), 1) << p.id << " on " << p.rules;
  }
  // Read-only, non-secret access matches nothing; pods/* does not mean pods/exec.
  ScanReport r = scan_text(cluster_role(
      "r",
      "- {apiGroups: [''], resources: ['pods', 'services'], verbs: ['get', 'list']}\n"
      "- {apiGroups: [''], resources: ['pods/*'], verbs: ['create']}\n"
      "- {apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['one']}"));
  for (const Finding& f : r.findings) ADD_FAILURE() << f.id << ": " << f.message;
}

TEST(PostureRbac, AggregationRoleBindingScopeAndWorkloadServiceAccount) {
  std::string yaml =
      cluster_role("part", "- {apiGroups: [''], resources: ['secrets'], verbs: ['list']}");
  yaml.replace(yaml.find("metadata: {name: part}"), 22,
               "metadata: {name: part, labels: {agg: 'yes'}}");
  yaml += R"(---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: agg}
aggregationRule: {clusterRoleSelectors: [{matchLabels: {agg: 'yes'}}]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b, namespace: app}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: agg}
subjects: [{kind: ServiceAccount, name: d}]
---
)" + deploy("      serviceAccountName: d\n      containers: [{name: c, image: a:1}]\n");
  ScanReport r = scan_text(yaml);
  EXPECT_EQ(count(r, "RBAC_SECRETS", "ClusterRole/agg"), 1);  // via aggregation
  // The RoleBinding grants the ClusterRole in namespace app only: high, not critical.
  auto w = std::find_if(r.findings.begin(), r.findings.end(),
                        [](const Finding& f) { return f.id == "WORKLOAD_PRIV_SA"; });
  ASSERT_NE(w, r.findings.end());
  EXPECT_EQ(w->severity, Severity::High);
  EXPECT_NE(w->message.find("(in app)"), std::string::npos) << w->message;
  // Not mounted: no takeover through the workload.
  std::string unmounted = yaml;
  unmounted.replace(unmounted.find("      serviceAccountName: d\n"), 0,
                    "      automountServiceAccountToken: false\n");
  EXPECT_EQ(count(scan_text(unmounted), "WORKLOAD_PRIV_SA"), 0);
}

TEST(PostureRbac, SubjectRisksAndDefaultExclusions) {
  ScanReport r = scan_text(R"(apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: sa-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: default, namespace: app}, {kind: User, name: bob}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: edit, namespace: app}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: Group, name: devs}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: anon}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:public-info-viewer}
subjects: [{kind: Group, name: system:unauthenticated}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: all-edit}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: Group, name: system:authenticated}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kube-system-sa}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: ctrl, namespace: kube-system}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: some-role}
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dangling, namespace: app}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: gone}
subjects: [{kind: User, name: carol}]
)");
  EXPECT_EQ(count(r, "CLUSTER_ADMIN_BINDING", "ClusterRoleBinding/sa-admin"), 2);
  EXPECT_EQ(count(r, "CLUSTER_ADMIN_BINDING", "RoleBinding/app/edit"), 1);
  EXPECT_EQ(count(r, "RBAC_PUBLIC_BINDING", "ClusterRoleBinding/all-edit"), 1);
  EXPECT_EQ(count(r, "RBAC_MISSING_ROLE", "RoleBinding/app/dangling"), 1);
  // Neither a kube-system service account nor a bootstrap role makes a binding a system one:
  // only the API server's and kubeadm's own bindings are (PostureRbac.BootstrapBindings...).
  EXPECT_EQ(count(r, "RBAC_PUBLIC_BINDING", "ClusterRoleBinding/anon"), 1);
  EXPECT_EQ(count(r, "CLUSTER_ADMIN_BINDING", "ClusterRoleBinding/kube-system-sa"), 1);
  int excluded = 0;
  for (const Finding& f : r.findings)
    if (f.suppressed && f.suppressed->by == "default-exclusion") ++excluded;
  EXPECT_EQ(excluded, 0);
  for (const Finding& f : r.findings) {
    if (f.id == "CLUSTER_ADMIN_BINDING" && f.resource.name == "sa-admin") {
      EXPECT_EQ(f.severity, Severity::Critical);
    }
  }
}

// The bindings a real cluster is created with: kube-apiserver's bootstrap RBAC, as its own
// golden files print them (tests/data/rbac, from kubernetes' bootstrappolicy testdata), and
// kubeadm's (written from cmd/kubeadm). None may be an active finding; a binding planted the way
// Helm v2's Tiller was installed (and as deliberately vulnerable clusters do), or one dressed up
// with a system name, must be.
TEST(PostureRbac, BootstrapBindingsAreNotFindingsPlantedOnesAre) {
  const std::string kubeadm = R"(apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "kubeadm:cluster-admins"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: "kubeadm:cluster-admins"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "kubeadm:node-proxier"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:node-proxier"}
subjects: [{kind: ServiceAccount, name: kube-proxy, namespace: kube-system}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: "kubeadm:bootstrap-signer-clusterinfo", namespace: kube-public}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: "kubeadm:bootstrap-signer-clusterinfo"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:anonymous"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects: [{kind: ServiceAccount, name: coredns, namespace: kube-system}]
)";
  const std::string planted = R"(---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: tiller}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: tiller, namespace: kube-system}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:controller:namespace-controller-2"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: namespace-controller, namespace: kube-system}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "kubeadm:cluster-admins-ext"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: User, name: "system:kube-scheduler"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:discovery-anyone"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:discovery"}
subjects: [{kind: Group, name: "system:unauthenticated"}]
)";
  auto run = [&](bool with_planted, bool include_system) {
    ClusterLoader l;
    for (const char* f :
         {"apiserver-cluster-role-bindings.yaml", "apiserver-controller-role-bindings.yaml"}) {
      auto r = l.add_path(std::string(STOCKADE_SOURCE_DIR) + "/tests/data/rbac/" + f);
      EXPECT_TRUE(r) << r.error().str();
    }
    auto r = l.add_text(kubeadm + (with_planted ? planted : ""), "kubeadm.yaml");
    EXPECT_TRUE(r) << r.error().str();
    ClusterState s = std::move(l).finish();
    EXPECT_EQ(s.bindings.size(), 10u + 27u + 4u + (with_planted ? 4u : 0u));
    auto engine = PolicyEngine::compile(s, build_endpoints(s));
    ScanOptions o;
    o.include_system = include_system;
    auto rep = scan(s, *engine, o);
    EXPECT_TRUE(rep);
    return rep ? *rep : ScanReport{};
  };
  auto rbac_ids = [](const ScanReport& r, bool suppressed) {
    std::multiset<std::string> out;
    for (const Finding& f : r.findings)
      if (f.id.starts_with("RBAC_") || f.id == "CLUSTER_ADMIN_BINDING")
        if (f.suppressed.has_value() == suppressed &&
            (!suppressed || f.suppressed->by == "default-exclusion"))
          out.insert(f.id + " " + f.resource.text());
    return out;
  };
  // The defaults alone: nothing active; the bindings that would be findings are listed as
  // excluded, with the list they come from.
  ScanReport base = run(false, false);
  EXPECT_EQ(rbac_ids(base, false), std::multiset<std::string>{});
  std::multiset<std::string> excluded = {
      "RBAC_PUBLIC_BINDING ClusterRoleBinding/cluster-admin",
      "RBAC_PUBLIC_BINDING ClusterRoleBinding/system:public-info-viewer",
      "RBAC_PUBLIC_BINDING RoleBinding/kube-public/kubeadm:bootstrap-signer-clusterinfo",
      "CLUSTER_ADMIN_BINDING ClusterRoleBinding/kubeadm:cluster-admins"};
  EXPECT_EQ(rbac_ids(base, true), excluded);
  for (const Finding& f : base.findings) {
    if (f.suppressed && f.resource.name == "cluster-admin") {
      EXPECT_EQ(f.suppressed->reason,
                "default exclusion: kube-apiserver bootstrap RBAC binding cluster-admin");
    }
  }
  // --include-system reports them.
  EXPECT_EQ(rbac_ids(run(false, true), false), excluded);
  // Planted: each is an active finding, nothing more is excluded.
  ScanReport attacked = run(true, false);
  EXPECT_EQ(rbac_ids(attacked, true), excluded);
  EXPECT_EQ(count(attacked, "CLUSTER_ADMIN_BINDING", "ClusterRoleBinding/tiller"), 1);
  EXPECT_EQ(count(attacked, "CLUSTER_ADMIN_BINDING",
                  "ClusterRoleBinding/system:controller:namespace-controller-2"),
            1);
  EXPECT_EQ(
      count(attacked, "CLUSTER_ADMIN_BINDING", "ClusterRoleBinding/kubeadm:cluster-admins-ext"), 1);
  EXPECT_EQ(count(attacked, "RBAC_PUBLIC_BINDING", "ClusterRoleBinding/system:discovery-anyone"),
            1);
  for (const Finding& f : attacked.findings) {
    if (f.id == "CLUSTER_ADMIN_BINDING" && f.resource.name == "tiller") {
      EXPECT_EQ(f.severity, Severity::Critical);
      EXPECT_NE(f.message.find("ServiceAccount kube-system/tiller"), std::string::npos)
          << f.message;
    }
  }
}

// ---- risk ranking ---------------------------------------------------------------------------

TEST(PostureRisk, ExposureIsolationPrivilegeAndEnvironmentOrder) {
  auto dep = [](const std::string& name, const std::string& ns, const std::string& extra) {
    return "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: " + name +
           ", namespace: " + ns + "}\nspec:\n  selector: {matchLabels: {app: " + name +
           "}}\n  template:\n    metadata: {labels: {app: " + name +
           "}}\n    spec:\n      automountServiceAccountToken: false\n      containers:\n      - "
           "name: c\n        image: a:1\n        securityContext: {allowPrivilegeEscalation: "
           "false" +
           extra + "}\n";
  };
  std::string y = R"(apiVersion: v1
kind: Namespace
metadata: {name: prod, labels: {env: prod}}
---
apiVersion: v1
kind: Namespace
metadata: {name: dev, labels: {env: dev}}
---
apiVersion: v1
kind: Service
metadata: {name: lb, namespace: prod}
spec: {type: LoadBalancer, selector: {app: exposed-priv}, ports: [{port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: iso, namespace: prod}
spec: {podSelector: {matchLabels: {app: isolated-priv}}, policyTypes: [Ingress, Egress]}
)";
  y += dep("exposed-priv", "prod", ", privileged: true");
  y += dep("internal-priv", "prod", ", privileged: true");
  y += dep("isolated-priv", "prod", ", privileged: true");
  y += dep("dev-priv", "dev", ", privileged: true");
  y += dep("plain", "prod", "");
  ScanReport r = scan_text(y);
  std::vector<std::string> order;
  for (const RiskEntry& e : r.risk) order.push_back(e.resource.name);
  std::vector<std::string> want = {"exposed-priv", "internal-priv", "isolated-priv", "dev-priv",
                                   "plain"};
  EXPECT_EQ(order, want);
  ASSERT_FALSE(r.risk.empty());
  EXPECT_EQ(r.risk[0].exposure, Exposure::External);
  EXPECT_TRUE(r.risk[0].escape_capable);
  EXPECT_LE(r.risk[0].score, 100.0);
}

// ---- versions and CVEs ----------------------------------------------------------------------

TEST(PostureCve, VersionParsing) {
  auto v = parse_k8s_version("v1.29.3-eks-adc7111");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->major, 1);
  EXPECT_EQ(v->minor, 29);
  EXPECT_EQ(v->patch, 3);
  EXPECT_EQ(v->suffix, "-eks-adc7111");
  EXPECT_EQ(parse_k8s_version("v1.31.2+k3s1")->suffix, "+k3s1");
  EXPECT_EQ(parse_k8s_version("1.30.5-gke.1014000")->patch, 5);
  EXPECT_EQ(parse_k8s_version("1.29")->patch, 0);
  EXPECT_FALSE(parse_k8s_version("latest"));
  EXPECT_FALSE(parse_k8s_version("v1.x.3"));
  EXPECT_FALSE(parse_k8s_version("v1.29.3junk"));
  EXPECT_FALSE(parse_k8s_version(""));
}

TEST(PostureCve, RangeEdges) {
  const auto& table = cve_table();
  ASSERT_GT(table.size(), 40u);
  auto find = [&](std::string_view id) {
    auto it =
        std::find_if(table.begin(), table.end(), [&](const CveEntry& e) { return e.cve == id; });
    EXPECT_NE(it, table.end()) << id;
    return *it;
  };
  CveEntry e = find("CVE-2024-3177");  // <=1.27.12; 1.28.0-1.28.8; 1.29.0-1.29.3
  auto aff = [&](const char* v) { return affected(e, *parse_k8s_version(v)); };
  EXPECT_TRUE(aff("1.20.0"));
  EXPECT_TRUE(aff("1.27.12"));
  EXPECT_FALSE(aff("1.27.13"));
  EXPECT_TRUE(aff("1.28.0"));
  EXPECT_TRUE(aff("1.28.8"));
  EXPECT_FALSE(aff("1.28.9"));
  EXPECT_TRUE(aff("1.29.3"));
  EXPECT_FALSE(aff("1.29.4"));
  EXPECT_FALSE(aff("1.30.0"));
  CveEntry k = find("CVE-2021-25741");  // fixed 1.19.15, 1.20.11, 1.21.5, 1.22.2
  EXPECT_TRUE(affected(k, *parse_k8s_version("1.19.14")));
  EXPECT_FALSE(affected(k, *parse_k8s_version("1.19.15")));
  EXPECT_TRUE(affected(k, *parse_k8s_version("1.22.1")));
  EXPECT_FALSE(affected(k, *parse_k8s_version("1.22.2")));
  for (const CveEntry& c : table) {
    EXPECT_FALSE(c.url.empty()) << c.cve;
    EXPECT_FALSE(c.sources.empty()) << c.cve;
  }
}

TEST(PostureCve, ParseTableRejectsBadData) {
  EXPECT_FALSE(parse_cve_table("[]", "t.json"));
  EXPECT_FALSE(
      parse_cve_table(R"({"cves":[{"id":"CVE-1","affected":[{"fixed":"x"}]}]})", "t.json"));
  EXPECT_FALSE(parse_cve_table(
      R"({"cves":[{"id":"CVE-1","affected":[{"introduced":"1.2.0","fixed":"1.1.0"}]}]})",
      "t.json"));
  EXPECT_FALSE(parse_cve_table(R"({"cves":[{"id":"CVE-1"}]})", "t.json"));
}

TEST(PostureCve, KubeletAndExplicitVersions) {
  std::string node = R"(apiVersion: v1
kind: Node
metadata: {name: n1}
status: {nodeInfo: {kubeletVersion: v1.29.3-gke.100}}
)";
  ScanReport r = scan_text(node);
  bool potentially = false;
  int n = 0;
  for (const Finding& f : r.findings)
    if (f.id == "K8S_VERSION_CVE" && f.resource.text() == "Node/n1") {
      ++n;
      potentially = f.message.find("potentially affected") != std::string::npos;
    }
  EXPECT_GT(n, 0);
  EXPECT_TRUE(potentially);
  ScanOptions o;
  o.k8s_version = "v1.29.3";
  ScanReport r2 = scan_text(node, o);
  bool cve3177 = false;
  for (const Finding& f : r2.findings)
    if (f.message.starts_with("CVE-2024-3177")) {
      cve3177 = true;
      EXPECT_EQ(f.resource.text(), "Cluster/kubernetes");
      EXPECT_EQ(f.message.find("potentially"), std::string::npos);
    }
  EXPECT_TRUE(cve3177);
  o.k8s_version = "v1.29.4";
  for (const Finding& f : scan_text(node, o).findings)
    EXPECT_FALSE(f.message.starts_with("CVE-2024-3177"));
  // A bad --k8s-version is an error, not a crash.
  ClusterState s;
  auto engine = PolicyEngine::compile(s, {});
  o.k8s_version = "one.two";
  EXPECT_FALSE(scan(s, *engine, o));
}

// ---- suppressions ---------------------------------------------------------------------------

std::filesystem::path temp_file(const std::string& name, const std::string& text) {
  // Per process: ctest runs the tests that write one in parallel.
  auto p = std::filesystem::temp_directory_path() /
           ("stockade_posture_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p) << text;
  return p;
}

TEST(PostureSuppress, AnnotationAndAcceptedFileAreReportedNotDropped) {
  std::string y = deploy(hardened("          privileged: true\n", "", "      hostPID: true\n"));
  y.replace(y.find("metadata: {name: d, namespace: app}"), 35,
            "metadata: {name: d, namespace: app, annotations: {stockade.io/suppress: "
            "'PRIVILEGED: needed for the CNI'}}");
  auto path = temp_file("accept.yaml", R"(accepted:
- check: HOST_PID
  resource: Deployment/app/d
  reason: reviewed by security, ticket SEC-1
  expires: 2999-01-01
- check: NO_NETPOL
  resource: Deployment/*/d
  reason: old acceptance
  expires: 2000-01-01
)");
  auto acc = load_accepted(path.string());
  ASSERT_TRUE(acc) << acc.error().str();
  ScanOptions o;
  o.accepted = *acc;
  o.today = "2026-11-22";
  ScanReport r = scan_text(y, o);
  std::map<std::string, std::string> by;
  for (const Finding& f : r.findings)
    if (f.suppressed) by[f.id] = f.suppressed->by + ": " + f.suppressed->reason;
  EXPECT_EQ(by["PRIVILEGED"], "annotation: needed for the CNI");
  EXPECT_EQ(by["HOST_PID"], "accepted-file: reviewed by security, ticket SEC-1");
  EXPECT_EQ(by.count("NO_NETPOL"), 0u);  // expired: active again, with a warning
  EXPECT_EQ(count(r, "NO_NETPOL", kRes), 1);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("expired on 2000-01-01"), std::string::npos);
}

TEST(PostureSuppress, BadAcceptedFiles) {
  struct Bad {
    const char* text;
    const char* error;
  };
  const Bad cases[] = {
      {"accepted: 3\n", "accept.yaml:1: accepted: expected a list"},
      {"accepted:\n- check: NOPE\n  resource: Pod/a/b\n  reason: r\n",
       ":2: accepted[]: unknown check \"NOPE\""},
      {"accepted:\n- check: PRIVILEGED\n  resource: Pod/b\n  reason: r\n",
       ":3: resource: Pod is namespaced"},
      {"accepted:\n- check: PRIVILEGED\n  resource: Pod/a/b\n",
       ":2: accepted[]: reason is required"},
      {"accepted:\n- check: PRIVILEGED\n  resource: Pod/a/b\n  reason: r\n  expires: tomorrow\n",
       ":5: expires: expected a date"},
      {"accepted:\n- check: PRIVILEGED\n  resource: Pod/a/b\n  reason: r\n  owner: me\n",
       ":5: accepted[]: unknown field \"owner\""},
      {"accepted: [\n", "accept.yaml:"},
  };
  for (const Bad& b : cases) {
    auto p = temp_file("accept.yaml", b.text);
    auto r = load_accepted(p.string());
    ASSERT_FALSE(r) << b.text;
    EXPECT_NE(r.error().str().find(b.error), std::string::npos) << r.error().str();
  }
  EXPECT_FALSE(load_accepted("/nonexistent/accept.yaml"));
}

// ---- output ---------------------------------------------------------------------------------

TEST(PostureOutput, JsonContractAndSarif) {
  ScanReport r = scan_text(deploy(hardened("          privileged: true\n")));
  auto j = nlohmann::json::parse(render_json(r));
  ASSERT_TRUE(j["findings"].is_array());
  bool seen = false;
  for (const auto& f : j["findings"]) {
    for (const char* k : {"id", "severity", "resource", "message", "remediation", "aliases"})
      EXPECT_TRUE(f.contains(k)) << k;
    if (f["id"] == "PRIVILEGED") {
      seen = true;
      EXPECT_EQ(f["severity"], "critical");
      EXPECT_EQ(f["resource"],
                (nlohmann::json{{"kind", "Deployment"}, {"namespace", "app"}, {"name", "d"}}));
      EXPECT_EQ(f["container"], "c");
      EXPECT_EQ(f["file"], "in.yaml");
      EXPECT_GT(f["line"].get<int>(), 0);
      EXPECT_EQ(f["aliases"], (nlohmann::json{"C-0057", "KSV-0017"}));
    }
  }
  EXPECT_TRUE(seen);
  ASSERT_TRUE(j["risk"].is_array());
  ASSERT_FALSE(j["risk"].empty());
  EXPECT_TRUE(j["risk"][0].contains("score"));
  EXPECT_TRUE(j["risk"][0]["factors"].is_array());
  EXPECT_EQ(j["summary"]["critical"], 1);

  auto s = nlohmann::json::parse(render_sarif(r));
  EXPECT_EQ(s["version"], "2.1.0");
  ASSERT_EQ(s["runs"].size(), 1u);
  const auto& run = s["runs"][0];
  const auto& rules = run["tool"]["driver"]["rules"];
  EXPECT_EQ(rules.size(), catalog().size());
  std::set<std::string> ids;
  for (const auto& rule : rules) {
    ids.insert(rule["id"].get<std::string>());
    EXPECT_FALSE(rule["help"]["text"].get<std::string>().empty());
    EXPECT_TRUE(rule["properties"].contains("security-severity"));
  }
  EXPECT_EQ(ids.size(), rules.size());  // unique rule IDs
  for (const auto& res : run["results"]) {
    std::string id = res["ruleId"];
    EXPECT_TRUE(ids.count(id)) << id;
    EXPECT_EQ(rules[res["ruleIndex"].get<size_t>()]["id"], id);
    std::string level = res["level"];
    EXPECT_TRUE(level == "error" || level == "warning" || level == "note");
    const auto& loc = res["locations"][0];
    EXPECT_EQ(loc["physicalLocation"]["artifactLocation"]["uri"], "in.yaml");
    EXPECT_GE(loc["physicalLocation"]["region"]["startLine"].get<int>(), 1);
    EXPECT_FALSE(loc["logicalLocations"][0]["fullyQualifiedName"].get<std::string>().empty());
  }
  // Live objects (no file) carry only logical locations.
  ScanReport live = r;
  for (Finding& f : live.findings) f.file.clear(), f.line = 0;
  auto l = nlohmann::json::parse(render_sarif(live));
  for (const auto& res : l["runs"][0]["results"]) {
    EXPECT_FALSE(res["locations"][0].contains("physicalLocation"));
    EXPECT_TRUE(res["locations"][0].contains("logicalLocations"));
  }
}

TEST(PostureCatalog, IdsUniqueAndComplete) {
  std::set<std::string_view> ids;
  for (const CheckInfo& c : catalog()) {
    EXPECT_TRUE(ids.insert(c.id).second) << c.id;
    EXPECT_FALSE(c.title.empty());
    EXPECT_FALSE(c.remediation.empty());
  }
  EXPECT_GE(ids.size(), 50u);
}

// ---- bad input through the decoder ------------------------------------------------------------

TEST(PostureDecode, BadRbacAndPodFieldsNameTheLine) {
  struct Bad {
    const char* text;
    const char* error;
  };
  const Bad cases[] = {
      {"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\n"
       "roleRef: {kind: Role, name: r}\n",
       "in.yaml:4: ClusterRoleBinding b: roleRef.kind: a ClusterRoleBinding may only reference a "
       "ClusterRole"},
      {"apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b, "
       "namespace: 'n'}\n",
       "in.yaml:1: RoleBinding n/b: roleRef: required"},
      {"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\n"
       "roleRef: {kind: ClusterRole, name: r}\nsubjects:\n- {kind: ServiceAccount, name: x}\n",
       "in.yaml:6: ClusterRoleBinding b: subjects[0].namespace: required for a ServiceAccount "
       "subject"},
      {"apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, namespace: 'n'}\n"
       "rules:\n- verbs: get\n",
       "in.yaml:5: Role n/r: rules[0].verbs: expected a list"},
      {"apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: 'n'}\nspec:\n  containers:\n"
       "  - name: c\n    securityContext: {privileged: yes-please}\n",
       "in.yaml:7: Pod n/p: spec.containers[0].securityContext.privileged: expected true or false"},
  };
  for (const Bad& b : cases) {
    ClusterLoader l;
    auto r = l.add_text(b.text, "in.yaml");
    ASSERT_FALSE(r) << b.text;
    EXPECT_EQ(r.error().str(), b.error);
  }
}

}  // namespace
}  // namespace stockade::posture

namespace stockade::posture {
namespace {

TEST(PostureChecks, UntrustedRegistrySubPathCveAndExposure) {
  std::string y =
      deploy(hardened("", "        volumeMounts: [{name: v, mountPath: /d, subPath: x}]\n",
                      "      volumes: [{name: v, emptyDir: {}}]\n"));
  ScanOptions o;
  o.allowed_registries = {"docker.io/reg/"};  // reg/app is Docker Hub user reg
  EXPECT_EQ(count(scan_text(y, o), "UNTRUSTED_REGISTRY", kRes), 0);
  o.allowed_registries = {"docker.io/library/"};
  EXPECT_EQ(count(scan_text(y, o), "UNTRUSTED_REGISTRY", kRes), 1);
  EXPECT_EQ(count(scan_text(y), "UNTRUSTED_REGISTRY", kRes), 0);  // not configured
  ScanOptions v;
  v.k8s_version = "v1.22.1";
  EXPECT_EQ(count(scan_text(y, v), "SUBPATH_CVE", kRes), 1);
  v.k8s_version = "v1.22.2";
  EXPECT_EQ(count(scan_text(y, v), "SUBPATH_CVE", kRes), 0);
  std::string svc =
      "---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: app}\n"
      "spec: {type: LoadBalancer, selector: {app: d}, ports: [{port: 80}]}\n";
  EXPECT_EQ(count(scan_text(y + svc), "EXPOSED_EXTERNAL", kRes), 1);
  std::string route =
      "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, "
      "namespace: gw}\nspec:\n  rules:\n  - backendRefs: [{name: s, namespace: app, port: 80}]\n";
  std::string cluster_ip = svc;
  cluster_ip.replace(cluster_ip.find("type: LoadBalancer, "), 20, "");
  EXPECT_EQ(count(scan_text(y + cluster_ip), "EXPOSED_EXTERNAL", kRes), 0);
  EXPECT_EQ(count(scan_text(y + cluster_ip + route), "EXPOSED_EXTERNAL", kRes), 1);
  std::string node_port = svc;
  node_port.replace(node_port.find("LoadBalancer"), 12, "NodePort");
  EXPECT_EQ(count(scan_text(y + node_port), "EXPOSED_EXTERNAL", kRes), 0);
}

TEST(PostureCve, WindowsOnlyCvesSkipLinuxNodes) {
  std::string nodes = R"(apiVersion: v1
kind: Node
metadata: {name: lin, labels: {kubernetes.io/os: linux}}
status: {nodeInfo: {kubeletVersion: v1.27.1}}
---
apiVersion: v1
kind: Node
metadata: {name: win}
status: {nodeInfo: {kubeletVersion: v1.27.1, operatingSystem: windows}}
)";
  ScanReport r = scan_text(nodes);
  int lin = 0, win = 0;
  for (const Finding& f : r.findings) {
    if (!f.message.starts_with("CVE-2023-3676")) continue;
    if (f.resource.name == "lin") ++lin;
    if (f.resource.name == "win") ++win;
  }
  EXPECT_EQ(lin, 0);
  EXPECT_EQ(win, 1);
}

}  // namespace
}  // namespace stockade::posture
