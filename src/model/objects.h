// The Kubernetes object model Stockade reasons about. Plain values; no behaviour beyond
// small helpers. Every object remembers where it came from (file, line) for error messages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ip.h"
#include "core/labels.h"
#include "core/ports.h"

namespace stockade {

struct SourceRef {
  std::string file;
  int line = 0;
};

struct OwnerRef {
  std::string kind;
  std::string name;
  std::string uid;
  bool controller = false;
};

struct ContainerPort {
  std::string name;  // empty when unnamed
  uint16_t port = 0;
  Protocol protocol = Protocol::TCP;
  friend bool operator==(const ContainerPort&, const ContainerPort&) = default;
  friend auto operator<=>(const ContainerPort&, const ContainerPort&) = default;
};

struct Namespace {
  std::string name;
  Labels labels;  // always includes kubernetes.io/metadata.name (the API server sets it)
  Labels annotations;
  SourceRef source;
};

struct Node {
  std::string name;
  Labels labels;
  std::vector<IpAddr> addresses;  // status.addresses InternalIP/ExternalIP
  std::string kubelet_version;    // status.nodeInfo.kubeletVersion, empty when absent
  std::string os;                 // status.nodeInfo.operatingSystem (or kubernetes.io/os label)
  SourceRef source;
};

// What a pod (or a pod template) looks like to network policies.
struct PodTemplate {
  Labels labels;
  std::vector<ContainerPort> ports;  // containers[].ports and initContainers[].ports
  bool host_network = false;
};

// ---- Pod security: the fields of a pod spec that posture checks read ----------------------
// Optional fields stay optional: "not set" and "set to the default" differ for the checks.

struct SecurityContext {
  std::optional<bool> privileged;
  std::optional<bool> allow_privilege_escalation;
  std::optional<bool> run_as_non_root;
  std::optional<int64_t> run_as_user;
  std::optional<bool> read_only_root_filesystem;
  std::optional<bool> windows_host_process;
  std::vector<std::string> capabilities_add;
  std::vector<std::string> capabilities_drop;
  std::string seccomp_type;  // seccompProfile.type: RuntimeDefault, Localhost, Unconfined; "" unset
  std::string apparmor_type;         // appArmorProfile.type, "" unset
  std::string proc_mount;            // procMount, "" unset
  std::string selinux_type;          // seLinuxOptions.type, "" unset
  std::vector<std::string> sysctls;  // pod level only: spec.securityContext.sysctls[].name
  int line = 0;                      // where the securityContext starts, 0 when absent
};

struct EnvVar {
  std::string name;
  std::optional<std::string> value;  // a literal value
  std::string secret_name;           // valueFrom.secretKeyRef.name, "" otherwise
  int line = 0;
};

struct VolumeMount {
  std::string name;
  std::string mount_path;
  bool read_only = false;
  bool sub_path = false;  // subPath or subPathExpr set
};

struct ContainerPortSpec {
  uint16_t container_port = 0;
  uint16_t host_port = 0;  // 0 when unset
  int line = 0;
};

enum class ContainerKind : uint8_t { Container, Init, Ephemeral };
std::string_view to_string(ContainerKind k);  // "containers", "initContainers", ...

struct ContainerSpec {
  ContainerKind kind = ContainerKind::Container;
  std::string name;
  std::string image;
  SecurityContext security;
  std::vector<EnvVar> env;
  std::vector<std::string> env_from_secrets;  // envFrom[].secretRef.name
  std::vector<VolumeMount> mounts;
  std::vector<ContainerPortSpec> ports;
  bool cpu_limit = false;
  bool memory_limit = false;
  int line = 0;
};

struct Volume {
  std::string name;
  std::optional<std::string> host_path;  // hostPath.path when a hostPath volume
  std::string secret_name;               // secret.secretName when a secret volume
  bool git_repo = false;
  int line = 0;
};

// What posture checks need from a pod spec (a Pod's spec or a workload's pod template).
struct PodSecuritySpec {
  bool present = false;  // a spec was given at all
  bool host_pid = false;
  bool host_ipc = false;
  bool host_network = false;
  std::optional<bool> automount_service_account_token;
  std::string service_account;  // serviceAccountName (or the deprecated serviceAccount); "" unset
  SecurityContext security;     // spec.securityContext
  std::vector<ContainerSpec> containers;
  std::vector<Volume> volumes;
  Labels annotations;  // the pod's (template's) annotations: AppArmor, suppressions
  int line = 0;        // where the spec starts
};

struct Pod {
  std::string ns;
  std::string name;
  std::string uid;
  PodTemplate spec;
  std::vector<IpAddr> ips;  // status.podIPs (or status.podIP)
  std::string node;         // spec.nodeName
  std::string phase;
  std::vector<OwnerRef> owners;
  int64_t created_ns = 0;  // metadata.creationTimestamp, 0 when absent
  int64_t deleted_ns = 0;  // metadata.deletionTimestamp (terminating), 0 when absent
  PodSecuritySpec security;
  SourceRef source;
};

enum class WorkloadKind : uint8_t {
  Deployment,
  ReplicaSet,
  StatefulSet,
  DaemonSet,
  Job,
  CronJob,
  ReplicationController,
};
std::string_view to_string(WorkloadKind k);

struct Workload {
  WorkloadKind kind = WorkloadKind::Deployment;
  std::string ns;
  std::string name;
  std::string uid;
  Labels labels;                          // the workload's own metadata labels
  std::optional<LabelSelector> selector;  // spec.selector when present
  PodTemplate pod;                        // spec.template (CronJob: jobTemplate.spec.template)
  std::optional<int64_t> replicas;
  std::vector<OwnerRef> owners;
  Labels annotations;        // the workload's own metadata annotations
  PodSecuritySpec security;  // of the pod template
  SourceRef source;
};

struct ServicePort {
  std::string name;
  Protocol protocol = Protocol::TCP;
  uint16_t port = 0;
  uint16_t target_number = 0;  // 0 when the target is a name
  std::string target_name;
  uint16_t node_port = 0;
};

struct Service {
  std::string ns;
  std::string name;
  std::string type;  // ClusterIP, NodePort, LoadBalancer, ExternalName
  std::optional<Labels> selector;
  std::vector<IpAddr> cluster_ips;
  std::vector<ServicePort> ports;
  std::vector<std::string> external_ips;  // spec.externalIPs
  Labels labels;                          // metadata.labels
  Labels annotations;
  SourceRef source;
};

// Whether `svc`'s selector picks a pod of namespace `ns` with `labels`: the pods Kubernetes
// keeps in the Service's EndpointSlices. A Service without a selector (or with an empty one)
// picks none; its endpoints are whatever someone else writes into its EndpointSlices.
bool service_selects(const Service& svc, std::string_view ns, const Labels& labels);

// ---- EndpointSlice (discovery.k8s.io/v1): the endpoints behind a Service ---------------------

struct EndpointSlice {
  std::string ns;
  std::string name;
  std::string service;            // the kubernetes.io/service-name label
  std::vector<IpAddr> addresses;  // endpoints' addresses (IPv4 and IPv6 slices; not FQDN ones)
  std::vector<std::string> pods;  // endpoints' targetRef pods (in the slice's namespace)
  SourceRef source;
};

// ---- Ingress (networking.k8s.io/v1) ---------------------------------------------------------

struct Ingress {
  std::string ns;
  std::string name;
  Labels annotations;
  bool tls = false;                   // spec.tls has at least one entry
  std::vector<std::string> services;  // backend service names (default backend and rules)
  SourceRef source;
};

// A Gateway API route (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute): the Services it
// sends traffic to from a Gateway, i.e. exposes.
struct GatewayRoute {
  std::string kind;
  std::string ns;
  std::string name;
  std::vector<std::pair<std::string, std::string>> services;  // (namespace, name) backendRefs
  SourceRef source;
};

// A Prometheus Operator ServiceMonitor or PodMonitor (monitoring.coreos.com/v1): the Services'
// (or pods') ports that Prometheus is declared to scrape, read for `recommend` to keep.
struct ScrapeMonitor {
  std::string kind;  // ServiceMonitor or PodMonitor
  std::string ns;
  std::string name;
  LabelSelector selector;               // of Services (ServiceMonitor) or pods (PodMonitor)
  bool any_namespace = false;           // namespaceSelector.any
  std::vector<std::string> namespaces;  // namespaceSelector.matchNames; empty: its own
  struct Port {
    std::string name;     // endpoints[].port (a Service port's name) / podMetricsEndpoints[].port
    uint16_t number = 0;  // targetPort / portNumber as a number
    std::string target_name;  // targetPort as a name
  };
  std::vector<Port> ports;  // endpoints / podMetricsEndpoints
  SourceRef source;
};

// ---- ServiceAccount, Secret (metadata only) --------------------------------------------------

struct ServiceAccount {
  std::string ns;
  std::string name;
  Labels labels;  // Calico's serviceAccountSelector reads them
  Labels annotations;
  std::optional<bool> automount_token;  // automountServiceAccountToken
  SourceRef source;
};

struct Secret {
  std::string ns;
  std::string name;
  std::string type;
  Labels annotations;
  SourceRef source;
};

// ---- RBAC (rbac.authorization.k8s.io/v1) ----------------------------------------------------

struct PolicyRuleSpec {
  std::vector<std::string> verbs;
  std::vector<std::string> api_groups;
  std::vector<std::string> resources;
  std::vector<std::string> resource_names;
  std::vector<std::string> non_resource_urls;
  int line = 0;
};

// A Role (namespaced) or a ClusterRole (cluster_scoped).
struct RbacRole {
  bool cluster_scoped = false;
  std::string ns;  // empty for a ClusterRole
  std::string name;
  Labels labels;
  Labels annotations;
  std::vector<PolicyRuleSpec> rules;
  // aggregationRule.clusterRoleSelectors; when set, the API server fills `rules` from the
  // ClusterRoles they select.
  std::vector<LabelSelector> aggregation_selectors;
  SourceRef source;
};

struct RbacSubject {
  std::string kind;  // User, Group, ServiceAccount
  std::string name;
  std::string ns;  // ServiceAccount only
};

// A RoleBinding (namespaced) or a ClusterRoleBinding (cluster_scoped).
struct RbacBinding {
  bool cluster_scoped = false;
  std::string ns;
  std::string name;
  Labels annotations;
  std::string role_kind;  // Role or ClusterRole
  std::string role_name;
  std::vector<RbacSubject> subjects;
  SourceRef source;
};

// ---- NetworkPolicy (networking.k8s.io/v1) --------------------------------------------------

struct NetworkPolicyPort {
  std::optional<Protocol> protocol;  // absent means TCP
  enum class Kind : uint8_t { Any, Number, Name } kind = Kind::Any;
  uint16_t port = 0;      // Kind::Number
  uint16_t end_port = 0;  // Kind::Number, 0 when absent (single port)
  std::string name;       // Kind::Name

  Protocol effective_protocol() const { return protocol.value_or(Protocol::TCP); }
};

struct NetworkPolicyPeer {
  std::optional<LabelSelector> pod_selector;        // absent vs present-empty matters
  std::optional<LabelSelector> namespace_selector;  // absent vs present-empty matters
  std::optional<IpBlock> ip_block;
  std::string ip_block_cidr;  // ipBlock.cidr as written: host bits set are masked off above
};

struct NetworkPolicyRule {
  std::vector<NetworkPolicyPeer> peers;  // empty: every peer (from/to absent, null or [])
  std::vector<NetworkPolicyPort> ports;  // empty: every port
  int line = 0;                          // where the rule starts in its file, 0 if unknown
};

struct NetworkPolicy {
  std::string ns;
  std::string name;
  LabelSelector pod_selector;
  bool affects_ingress = false;  // after policyTypes defaulting
  bool affects_egress = false;
  std::vector<NetworkPolicyRule> ingress;
  std::vector<NetworkPolicyRule> egress;
  Labels annotations;
  SourceRef source;
};

// ---- AdminNetworkPolicy / BaselineAdminNetworkPolicy (v1alpha1) and
// ---- ClusterNetworkPolicy (v1beta1, v1alpha2), one shape for all three --------------------

// ClusterNetworkPolicy is served as v1beta1 (the storage version since network-policy-api
// v0.3.0) and as v1alpha2 (v0.2.x, still served). The shapes are the same; what each accepts
// differs where the released CRDs did (decode.cc, cluster_policy).
inline constexpr std::string_view kCnpV1beta1 = "policy.networking.k8s.io/v1beta1";
inline constexpr std::string_view kCnpV1alpha2 = "policy.networking.k8s.io/v1alpha2";
inline constexpr std::string_view kAnpV1alpha1 = "policy.networking.k8s.io/v1alpha1";

enum class ClusterPolicyKind : uint8_t {
  AdminNetworkPolicy,
  BaselineAdminNetworkPolicy,
  ClusterNetworkPolicy,
};
std::string_view to_string(ClusterPolicyKind k);

enum class PolicyTier : uint8_t { Admin, Baseline };
std::string_view to_string(PolicyTier t);

// Allow (ANP/BANP) and Accept (CNP) are the same action.
enum class RuleAction : uint8_t { Allow, Deny, Pass };
std::string_view to_string(RuleAction a);  // "Allow", "Deny", "Pass"

// The pods a cluster policy applies to, or a pod/namespace peer:
// `namespaces: SEL` is namespace_selector with no pod_selector (every pod in them);
// `pods: {namespaceSelector, podSelector}` sets both.
struct ClusterPodSet {
  LabelSelector namespace_selector;
  std::optional<LabelSelector> pod_selector;
};

struct ClusterPeer {
  enum class Kind : uint8_t {
    Namespaces,
    Pods,
    Nodes,
    Networks,
    DomainNames
  } kind = Kind::Namespaces;
  ClusterPodSet pods;           // Namespaces, Pods
  LabelSelector node_selector;  // Nodes
  std::vector<Cidr> networks;   // Networks
  // DomainNames (ClusterNetworkPolicy egress, experimental): as written, "name" or "*.name"
  // (engine/domain_names.cc has their meaning).
  std::vector<std::string> domain_names;
};

// Why `name` is not a ClusterNetworkPolicy DomainName as the CRD of `v1beta1` (else v1alpha2's,
// v0.2.0) validates it; empty when it is one (objects.cc).
std::string domain_name_problem(std::string_view name, bool v1beta1);

struct ClusterPolicyPort {
  enum class Kind : uint8_t { Number, Range, Named } kind = Kind::Number;
  Protocol protocol = Protocol::TCP;
  uint16_t start = 0;  // Number: the port; Range: first port
  uint16_t end = 0;    // Range: last port (inclusive); Number: same as start
  std::string name;    // Named
};

struct ClusterPolicyRule {
  std::string name;
  RuleAction action = RuleAction::Deny;
  std::vector<ClusterPeer> peers;                       // never empty once validated
  std::optional<std::vector<ClusterPolicyPort>> ports;  // absent: every port
  int line = 0;  // where the rule starts in its file, 0 if unknown
};

struct ClusterPolicy {
  ClusterPolicyKind kind = ClusterPolicyKind::AdminNetworkPolicy;
  std::string api_version;  // as written (kCnpV1beta1, kCnpV1alpha2, kAnpV1alpha1)
  std::string name;
  PolicyTier tier = PolicyTier::Admin;
  int32_t priority = 0;  // BANP: none, treated as 0
  ClusterPodSet subject;
  std::vector<ClusterPolicyRule> ingress;
  std::vector<ClusterPolicyRule> egress;
  Labels annotations;
  SourceRef source;
};

}  // namespace stockade
