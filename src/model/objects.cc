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

// ClusterNetworkPolicy's DomainName: `^(\*\.)?(LABEL\.)+LABEL\.?$`, a LABEL being
// `[a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?` (network-policy-api v0.3.0, v1beta1). The CRD of
// v0.2.0, which served v1alpha2, wrote the first character's class `[a-zA-z0-9]`: the range
// A-z also holds [ \ ] ^ _ and the backquote, so v1alpha2 objects may carry them there (fixed
// upstream by "apis: fix DomainName validation pattern to reject invalid characters").
// Empty when `name` matches, else why not.
std::string domain_name_problem(std::string_view name, bool beta) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  auto first = [&](char c) { return alnum(c) || (!beta && c >= 'Z' && c <= 'a'); };
  auto middle = [&](char c) { return alnum(c) || c == '-' || c == '_'; };
  if (name.starts_with("*.")) name.remove_prefix(2);
  if (name.ends_with(".")) name.remove_suffix(1);
  size_t labels = 0;
  for (size_t start = 0; start <= name.size();) {
    size_t dot = name.find('.', start);
    std::string_view label =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    ++labels;
    if (label.empty()) return "a label is empty";
    if (label.find('*') != std::string_view::npos)
      return "'*' may only be the whole first label (\"*.example.com\")";
    if (!first(label.front())) return "a label must start with a letter or a digit";
    if (label.size() > 1 && !alnum(label.back()))
      return "a label must end with a letter or a digit";
    for (char c : label.substr(1))
      if (!middle(c)) return "a label may hold only letters, digits, '-' and '_'";
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (labels < 2) return "at least two labels are needed (\"example.com\", \"*.example.com\")";
  return "";
}

}  // namespace stockade
