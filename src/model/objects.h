// The Kubernetes object model Stockade reasons about. Plain values; no behaviour beyond
// small helpers. Every object remembers where it came from (file, line) for error messages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
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
  SourceRef source;
};

struct Node {
  std::string name;
  Labels labels;
  std::vector<IpAddr> addresses;  // status.addresses InternalIP/ExternalIP
  SourceRef source;
};

// What a pod (or a pod template) looks like to network policies.
struct PodTemplate {
  Labels labels;
  std::vector<ContainerPort> ports;  // containers[].ports and initContainers[].ports
  bool host_network = false;
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
  SourceRef source;
};

// ---- AdminNetworkPolicy / BaselineAdminNetworkPolicy (v1alpha1) and
// ---- ClusterNetworkPolicy (v1alpha2), one shape for all three -----------------------------

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
  enum class Kind : uint8_t { Namespaces, Pods, Nodes, Networks } kind = Kind::Namespaces;
  ClusterPodSet pods;           // Namespaces, Pods
  LabelSelector node_selector;  // Nodes
  std::vector<Cidr> networks;   // Networks
};

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
  std::string name;
  PolicyTier tier = PolicyTier::Admin;
  int32_t priority = 0;  // BANP: none, treated as 0
  ClusterPodSet subject;
  std::vector<ClusterPolicyRule> ingress;
  std::vector<ClusterPolicyRule> egress;
  SourceRef source;
};

}  // namespace stockade
