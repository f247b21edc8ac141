// The check catalog: Stockade's check IDs (POSTURE.md table 1.7 and the RBAC patterns of
// section 2), with base severities, remediation and other tools' IDs as aliases.
#include <algorithm>

#include "posture/posture_impl.h"

namespace stockade::posture {

std::string_view to_string(Severity s) {
  switch (s) {
    case Severity::Low:
      return "low";
    case Severity::Medium:
      return "medium";
    case Severity::High:
      return "high";
    case Severity::Critical:
      return "critical";
  }
  return "?";
}

std::optional<Severity> parse_severity(std::string_view s) {
  for (Severity v : {Severity::Low, Severity::Medium, Severity::High, Severity::Critical})
    if (to_string(v) == s) return v;
  return std::nullopt;
}

std::string_view to_string(Exposure e) {
  switch (e) {
    case Exposure::Internal:
      return "internal";
    case Exposure::Node:
      return "node";
    case Exposure::External:
      return "external";
  }
  return "?";
}

std::string ResourceRef::text() const {
  return kind + "/" + (ns.empty() ? "" : ns + "/") + name;
}

const std::vector<CheckInfo>& catalog() {
  using S = Severity;
  static const std::vector<CheckInfo> kCatalog = {
      // ---- pod security ----
      {"PRIVILEGED",
       S::Critical,
       "pod-security",
       "Privileged container",
       "Remove securityContext.privileged: true; grant only the capabilities the container needs.",
       {"C-0057", "KSV-0017"}},
      {"PRIV_ESCALATION",
       S::High,
       "pod-security",
       "Privilege escalation allowed",
       "Set securityContext.allowPrivilegeEscalation: false on every container.",
       {"C-0016", "KSV-0001"}},
      {"HOST_PID",
       S::High,
       "pod-security",
       "Host PID namespace",
       "Remove hostPID: true.",
       {"C-0038", "KSV-0010"}},
      {"HOST_IPC",
       S::High,
       "pod-security",
       "Host IPC namespace",
       "Remove hostIPC: true.",
       {"C-0038", "KSV-0008"}},
      {"HOST_NETWORK",
       S::High,
       "pod-security",
       "Host network namespace",
       "Remove hostNetwork: true; expose ports through a Service.",
       {"C-0041", "KSV-0009"}},
      {"HOST_PORT",
       S::Medium,
       "pod-security",
       "Container port bound on the host",
       "Remove ports[].hostPort; use a Service.",
       {"C-0044", "KSV-0024"}},
      {"HOSTPATH",
       S::Medium,
       "pod-security",
       "hostPath volume",
       "Replace the hostPath volume with a PersistentVolumeClaim, emptyDir or ConfigMap.",
       {"C-0048", "KSV-0023"}},
      {"HOSTPATH_WRITABLE",
       S::High,
       "pod-security",
       "Writable hostPath mount",
       "Mount the hostPath volume with readOnly: true, or remove it.",
       {"C-0045"}},
      {"HOSTPATH_SENSITIVE",
       S::High,
       "pod-security",
       "Sensitive host directory mounted",
       "Do not mount host system directories (/, /etc, /proc, /root, /var/lib/kubelet, ...).",
       {"KSV-0121"}},
      {"RUNTIME_SOCKET",
       S::Critical,
       "pod-security",
       "Container runtime socket mounted",
       "Do not mount the docker, containerd or CRI-O socket: it grants root on the node.",
       {"C-0074", "KSV-0006"}},
      {"DANGEROUS_CAPS",
       S::High,
       "pod-security",
       "Dangerous capabilities added",
       "Remove ALL, SYS_ADMIN, NET_ADMIN, SYS_MODULE, SYS_PTRACE, NET_RAW, BPF... from "
       "capabilities.add.",
       {"C-0046", "KSV-0005", "KSV-0022"}},
      {"CAPS_NOT_DROPPED",
       S::Low,
       "pod-security",
       "Capabilities not dropped",
       "Set securityContext.capabilities.drop: [ALL] and add back only what is needed.",
       {"KSV-0003"}},
      {"RUN_AS_ROOT",
       S::Medium,
       "pod-security",
       "Container may run as root",
       "Set runAsNonRoot: true and a non-zero runAsUser (pod or container securityContext).",
       {"C-0013", "KSV-0012"}},
      {"RW_ROOTFS",
       S::Low,
       "pod-security",
       "Writable root filesystem",
       "Set securityContext.readOnlyRootFilesystem: true; mount emptyDir where writes are needed.",
       {"C-0017", "KSV-0014"}},
      {"SECCOMP",
       S::Medium,
       "pod-security",
       "No seccomp profile",
       "Set securityContext.seccompProfile.type: RuntimeDefault (pod or container).",
       {"C-0210", "KSV-0104"}},
      {"APPARMOR",
       S::Low,
       "pod-security",
       "AppArmor unconfined",
       "Use appArmorProfile.type RuntimeDefault (or a Localhost profile), not Unconfined.",
       {"KSV-0002"}},
      {"UNSAFE_SYSCTL_PROCMOUNT_SELINUX",
       S::Medium,
       "pod-security",
       "Unsafe sysctl, unmasked /proc or custom SELinux type",
       "Use only the safe sysctls, the Default procMount and the container SELinux types.",
       {"KSV-0026", "KSV-0027", "KSV-0025"}},
      {"WIN_HOSTPROCESS",
       S::High,
       "pod-security",
       "Windows HostProcess container",
       "Remove windowsOptions.hostProcess: true.",
       {"C-0202", "KSV-0103"}},
      {"SA_TOKEN_AUTOMOUNT",
       S::Medium,
       "pod-security",
       "Service account token mounted",
       "Set automountServiceAccountToken: false on the pod (or its ServiceAccount) unless it "
       "calls the API.",
       {"C-0034", "KSV-0036"}},
      {"DEFAULT_SA",
       S::Low,
       "pod-security",
       "Uses the default service account",
       "Create a dedicated ServiceAccount and set serviceAccountName.",
       {"C-0189"}},
      {"NO_LIMITS",
       S::Low,
       "pod-security",
       "CPU or memory limit missing",
       "Set resources.limits.cpu and resources.limits.memory.",
       {"C-0270", "C-0271", "KSV-0011", "KSV-0018"}},
      {"IMAGE_TAG",
       S::Medium,
       "pod-security",
       "Image not pinned",
       "Use an explicit version tag, better a digest (@sha256:...), never :latest.",
       {"C-0075", "KSV-0013"}},
      {"UNTRUSTED_REGISTRY",
       S::Medium,
       "pod-security",
       "Image from a registry that is not allowed",
       "Pull images only from the registries given with --allowed-registry (mirror others).",
       {"C-0078", "KSV-0125"}},
      {"SUBPATH_CVE",
       S::Medium,
       "pod-security",
       "subPath mount on a kubelet affected by CVE-2021-25741",
       "Upgrade the kubelet (1.19.15, 1.20.11, 1.21.5, 1.22.2 or later) or avoid subPath.",
       {"C-0058"}},
      {"SSH_PORT",
       S::Medium,
       "pod-security",
       "SSH port declared",
       "Do not run sshd in containers; use kubectl exec (audited).",
       {"C-0042"}},
      {"SENSITIVE_UI",
       S::Medium,
       "pod-security",
       "Sensitive dashboard deployed",
       "Do not run the Kubernetes dashboard or notebook UIs with cluster credentials; keep "
       "them internal.",
       {"C-0014"}},
      // ---- secrets ----
      {"PLAINTEXT_SECRET",
       S::High,
       "secrets",
       "Secret-looking value in an environment variable",
       "Move the value into a Secret and reference it (or mount it as a file).",
       {"C-0012", "KSV-0109"}},
      {"SECRET_AS_ENV",
       S::Low,
       "secrets",
       "Secret passed as environment variable",
       "Mount the Secret as a read-only volume instead of env (env leaks into logs and child "
       "processes).",
       {"C-0207"}},
      // ---- namespaces ----
      {"DEFAULT_NS",
       S::Low,
       "namespace",
       "Workload in the default namespace",
       "Deploy into a dedicated namespace.",
       {"C-0061", "KSV-0110"}},
      {"KUBE_SYSTEM_WORKLOAD",
       S::Medium,
       "namespace",
       "User workload in kube-system",
       "Move the workload out of kube-system.",
       {"KSV-0037"}},
      // ---- services and ingress ----
      {"EXPOSED_EXTERNAL",
       S::Low,
       "service",
       "Workload exposed outside the cluster",
       "Check that the exposure is intended; restrict loadBalancerSourceRanges / Ingress.",
       {"C-0256"}},
      {"SVC_EXTERNAL_IPS",
       S::High,
       "service",
       "Service with externalIPs (CVE-2020-8554)",
       "Remove spec.externalIPs; enable the DenyServiceExternalIPs admission plugin.",
       {"KSV-0108"}},
      {"INGRESS_NO_TLS",
       S::Medium,
       "ingress",
       "Ingress without TLS",
       "Add spec.tls with a certificate for every host.",
       {"C-0263"}},
      {"NGINX_SNIPPETS",
       S::High,
       "ingress",
       "ingress-nginx snippet annotation",
       "Remove *-snippet annotations; set allow-snippet-annotations: false in ingress-nginx.",
       {"C-0059", "KCV-0093"}},
      // ---- network (policy engine) ----
      {"NO_NETPOL",
       S::Medium,
       "network",
       "Workload not isolated by any network policy",
       "Add a NetworkPolicy (or AdminNetworkPolicy) selecting the workload for ingress and "
       "egress; `stockade recommend` writes one from observed traffic.",
       {"C-0260", "KSV-0038"}},
      {"NETPOL_ALLOW_ALL",
       S::Medium,
       "network",
       "Network policy rule allows everything",
       "Replace the empty rule ({}) with the peers and ports that are needed.",
       {}},
      // ---- RBAC ----
      {"CLUSTER_ADMIN_BINDING",
       S::Critical,
       "rbac",
       "cluster-admin, admin or edit bound",
       "Bind a role with only the permissions needed; never cluster-admin to a service account.",
       {"C-0035", "C-0185", "KSV-0111"}},
      {"RBAC_WILDCARD",
       S::High,
       "rbac",
       "Wildcard in RBAC rule",
       "List the verbs, resources and API groups explicitly.",
       {"C-0187", "KSV-0044", "KSV-0045", "KSV-0046", "KSV-0112"}},
      {"RBAC_SECRETS",
       S::High,
       "rbac",
       "Can read secrets",
       "Remove get/list/watch on secrets, or restrict with resourceNames.",
       {"C-0015", "C-0186", "KSV-0041", "KSV-0113"}},
      {"RBAC_EXEC_ATTACH_PF",
       S::High,
       "rbac",
       "Can exec, attach or port-forward into pods",
       "Remove create on pods/exec, pods/attach, pods/portforward and patch on "
       "pods/ephemeralcontainers.",
       {"C-0002", "C-0063", "KSV-0053", "KSV-0054"}},
      {"RBAC_ESCALATION",
       S::Critical,
       "rbac",
       "Can escalate privileges (escalate, bind, "
       "impersonate, create bindings)",
       "Remove escalate/bind on roles, create on (cluster)rolebindings and impersonate.",
       {"C-0191", "C-0065", "KSV-0043", "KSV-0050", "KSV-0051", "KSV-0052"}},
      {"RBAC_WORKLOAD_CREATE",
       S::High,
       "rbac",
       "Can create or change workloads",
       "Limit create/update/patch on pods and controllers; such a subject can run a pod with "
       "any service account of the namespace.",
       {"C-0188", "KSV-0048"}},
      {"RBAC_NODES_PROXY",
       S::Critical,
       "rbac",
       "Can reach the kubelet API (nodes/proxy)",
       "Remove get/create on nodes/proxy.",
       {"C-0279", "KSV-0047"}},
      {"RBAC_WEBHOOK_ADMIN",
       S::Critical,
       "rbac",
       "Can manage admission webhooks or policies",
       "Remove write access to webhook configurations and validating admission policies.",
       {"C-0281", "KSV-0114"}},
      {"RBAC_TOKEN_CSR_PV",
       S::High,
       "rbac",
       "Can mint tokens, approve CSRs or create PersistentVolumes",
       "Remove create on serviceaccounts/token, update on certificatesigningrequests/approval "
       "and create on persistentvolumes.",
       {"C-0282", "C-0280", "C-0278"}},
      {"RBAC_CRD_WRITE",
       S::Medium,
       "rbac",
       "Can change CustomResourceDefinitions",
       "Remove write access to customresourcedefinitions.",
       {}},
      {"RBAC_NETWORK_WRITE",
       S::High,
       "rbac",
       "Can change network policies, services, ingresses or endpoints",
       "Limit write access to networkpolicies, ingresses, services, endpoints and "
       "endpointslices.",
       {"KSV-0056"}},
      {"RBAC_POLICY_ENGINE_WRITE",
       S::High,
       "rbac",
       "Can change policy-engine guardrails",
       "Remove write access to Gatekeeper ConstraintTemplates and Kyverno policies.",
       {}},
      {"RBAC_CONFIGMAP_WRITE",
       S::Medium,
       "rbac",
       "Can change ConfigMaps (aws-auth)",
       "Limit write access to configmaps, never kube-system/aws-auth.",
       {"KSV-0049", "KSV-0115"}},
      {"RBAC_POD_LOG_DELETE",
       S::Medium,
       "rbac",
       "Can delete pod logs",
       "Remove delete on pods/log.",
       {"KSV-0042"}},
      {"RBAC_BINDING_PATCH",
       S::Low,
       "rbac",
       "Can add subjects to existing role bindings",
       "Remove patch on rolebindings.",
       {"KSV-0055"}},
      {"RBAC_PUBLIC_BINDING",
       S::Critical,
       "rbac",
       "Role bound to anonymous, all authenticated users or system:masters",
       "Remove system:anonymous, system:unauthenticated, system:authenticated and "
       "system:masters subjects.",
       {"C-0262", "C-0265", "C-0246", "KSV-0122", "KSV-0123"}},
      {"RBAC_MISSING_ROLE",
       S::Low,
       "rbac",
       "Binding to a role that does not exist",
       "Delete the binding or create the role it refers to.",
       {}},
      {"WORKLOAD_PRIV_SA",
       S::High,
       "rbac",
       "Workload's mounted service account can take over the cluster",
       "Give the workload its own service account with least privilege, or do not mount its "
       "token.",
       {"C-0267", "C-0272"}},
      // ---- policy (policy_lint.cc): policies that do nothing, or not what was meant ----
      {"POLICY_SELECTS_NOTHING",
       S::Medium,
       "policy",
       "Policy selects no endpoint",
       "Fix the policy's pod/namespace selector to match the labels the pods carry (see the "
       "suggestion), or delete the policy.",
       {}},
      {"POLICY_PEER_SELECTS_NOTHING",
       S::Medium,
       "policy",
       "Policy rule peer selects no endpoint",
       "Fix the peer's podSelector/namespaceSelector to match the labels the pods and "
       "namespaces carry (see the suggestion), or remove the peer.",
       {}},
      {"POLICY_RULES_IGNORED",
       S::Medium,
       "policy",
       "Policy rules ignored: their direction is not in policyTypes",
       "Add the direction to spec.policyTypes, or delete the rules that are ignored.",
       {}},
      {"POLICY_NAMED_PORT_UNDECLARED",
       S::Medium,
       "policy",
       "Named port that no selected pod declares",
       "Use a port name that the destination pods declare in containers[].ports, or a number.",
       {}},
      {"POLICY_DEPRECATED_ANNOTATION",
       S::Medium,
       "policy",
       "Namespace relies on the ignored net.beta.kubernetes.io/network-policy annotation",
       "Remove the annotation and add a default-deny NetworkPolicy (podSelector: {}, "
       "policyTypes: [Ingress]) to the namespace.",
       {}},
      {"POLICY_NAMESPACE_MISSING",
       S::Low,
       "policy",
       "Policy in a namespace that does not exist",
       "Create the namespace, or fix metadata.namespace of the policy.",
       {}},
      {"POLICY_CIDR_HOST_BITS",
       S::Low,
       "policy",
       "CIDR with host bits set",
       "Write the network address (e.g. 10.0.0.0/8, not 10.1.2.3/8): the API server masks the "
       "host bits off, so the block is wider than it reads.",
       {}},
      {"POLICY_IPBLOCK_PODS",
       S::Low,
       "policy",
       "ipBlock covers pod addresses",
       "Select pods with podSelector/namespaceSelector: pod addresses change when pods are "
       "rescheduled, and CNIs differ on whether ipBlock applies to pod traffic.",
       {}},
      {"POLICY_RULE_SHADOWED",
       S::Medium,
       "policy",
       "Policy rule shadowed: earlier rules decide every connection it matches",
       "Remove the rule, or, if it was meant to decide, move it before the rule that covers it "
       "(earlier in the list, or into a policy of higher priority).",
       {}},
      {"POLICY_RULE_REDUNDANT",
       S::Low,
       "policy",
       "NetworkPolicy rule allows nothing that other rules do not",
       "Remove the rule, or narrow the covering rule if this one was meant to be the only one "
       "allowing that traffic.",
       {}},
      // ---- version ----
      {"K8S_VERSION_CVE",
       S::High,
       "version",
       "Kubernetes version with a known CVE",
       "Upgrade the control plane and nodes to a fixed patch release.",
       {"C-0273"}},
  };
  return kCatalog;
}

const CheckInfo* find_check(std::string_view id) {
  const auto& c = catalog();
  auto it = std::find_if(c.begin(), c.end(), [&](const CheckInfo& ci) { return ci.id == id; });
  return it == c.end() ? nullptr : &*it;
}

namespace detail {

Finding make_finding(std::string_view id, ResourceRef r, const SourceRef& src, int line,
                     std::string message) {
  Finding f;
  f.id = std::string(id);
  const CheckInfo* ci = find_check(id);
  f.severity = ci ? ci->severity : Severity::Medium;
  f.resource = std::move(r);
  f.file = src.file;
  f.line = line;
  f.message = std::move(message);
  return f;
}

}  // namespace detail
}  // namespace stockade::posture
