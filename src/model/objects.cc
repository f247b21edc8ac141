#include "model/objects.h"

namespace stockade {

bool service_selects(const Service& svc, std::string_view ns, const Labels& labels) {
  if (!svc.selector || svc.selector->empty() || svc.ns != ns) return false;
  for (const auto& [k, v] : *svc.selector)
    if (auto l = labels.find(k); l == labels.end() || l->second != v) return false;
  return true;
}

std::string_view to_string(WorkloadKind k) {
  switch (k) {
    case WorkloadKind::Deployment:
      return "Deployment";
    case WorkloadKind::ReplicaSet:
      return "ReplicaSet";
    case WorkloadKind::StatefulSet:
      return "StatefulSet";
    case WorkloadKind::DaemonSet:
      return "DaemonSet";
    case WorkloadKind::Job:
      return "Job";
    case WorkloadKind::CronJob:
      return "CronJob";
    case WorkloadKind::ReplicationController:
      return "ReplicationController";
  }
  return "?";
}

std::string_view to_string(ContainerKind k) {
  switch (k) {
    case ContainerKind::Container:
      return "containers";
    case ContainerKind::Init:
      return "initContainers";
    case ContainerKind::Ephemeral:
      return "ephemeralContainers";
  }
  return "?";
}

std::string_view to_string(ClusterPolicyKind k) {
  switch (k) {
    case ClusterPolicyKind::AdminNetworkPolicy:
      return "AdminNetworkPolicy";
    case ClusterPolicyKind::BaselineAdminNetworkPolicy:
      return "BaselineAdminNetworkPolicy";
    case ClusterPolicyKind::ClusterNetworkPolicy:
      return "ClusterNetworkPolicy";
  }
  return "?";
}

std::string_view to_string(RuleAction a) {
  switch (a) {
    case RuleAction::Allow:
      return "Allow";
    case RuleAction::Deny:
      return "Deny";
    case RuleAction::Pass:
      return "Pass";
  }
  return "?";
}

std::string_view to_string(PolicyTier t) {
  return t == PolicyTier::Admin ? "Admin" : "Baseline";
}

}  // namespace stockade
