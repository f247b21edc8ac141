#include "input/decode.h"

#include "input/decode_impl.h"

namespace stockade::input {

namespace detail {

namespace {

// A kind the loader does not model that allows or denies traffic, as "Kind (group)", else "":
// the verdicts ignore it, so every command warns about it on stderr (not only with -v) and the
// verdict commands exit 3. Any kind named like a network policy in any group (Antrea's,
// OpenShift's EgressNetworkPolicy, Multus' MultiNetworkPolicy, GKE's FQDNNetworkPolicy), every
// other kind of the Network Policy API's group, Istio's AuthorizationPolicy and OVN-Kubernetes'
// EgressFirewall. Other kinds (ConfigMaps, CRDs, Cilium's identities) are skipped silently.
std::string unmodelled_policy_kind(const std::string& kind, const std::string& api_version) {
  std::string group = api_version.substr(0, api_version.find('/'));
  if (api_version.find('/') == std::string::npos) group = "core";
  static constexpr std::pair<std::string_view, std::string_view> kOthers[] = {
      {"security.istio.io", "AuthorizationPolicy"},
      {"k8s.ovn.org", "EgressFirewall"},
  };
  bool policy =
      kind.find("NetworkPolicy") != std::string::npos || group == "policy.networking.k8s.io";
  for (const auto& [g, k] : kOthers) policy = policy || (group == g && kind == k);
  return policy ? kind + " (" + group + ")" : std::string();
}

}  // namespace

// Which family decodes the object, by kind (and group, where another project's kind has the
// same name).
template <class N>
void Decoder<N>::object(const N& obj, const std::string& kind, const std::string& api_version) {
  where_.clear();
  if (calico_object(obj, kind, api_version)) return;
  if (kind == "Pod") return pod(obj);
  if (kind == "Namespace") return namespace_object(obj);
  if (kind == "Node") return node_object(obj);
  if (kind == "Service") return service(obj);
  if (kind == "NetworkPolicy" && !foreign_group(api_version, "networking.k8s.io"))
    return network_policy(obj, api_version);
  const bool network_policy_api = !foreign_group(api_version, "policy.networking.k8s.io");
  if (kind == "AdminNetworkPolicy" && network_policy_api)
    return cluster_policy(obj, ClusterPolicyKind::AdminNetworkPolicy, api_version);
  if (kind == "BaselineAdminNetworkPolicy" && network_policy_api)
    return cluster_policy(obj, ClusterPolicyKind::BaselineAdminNetworkPolicy, api_version);
  if (kind == "ClusterNetworkPolicy" && network_policy_api)
    return cluster_policy(obj, ClusterPolicyKind::ClusterNetworkPolicy, api_version);
  if (api_version.starts_with("cilium.io/") &&
      (kind == "CiliumNetworkPolicy" || kind == "CiliumClusterwideNetworkPolicy"))
    return cilium_policy(obj, kind, api_version);
  if (kind == "Ingress") return ingress(obj);
  if (kind == "EndpointSlice") return endpoint_slice(obj);
  if (api_version.starts_with("gateway.networking.k8s.io/") &&
      (kind == "HTTPRoute" || kind == "GRPCRoute" || kind == "TLSRoute" || kind == "TCPRoute" ||
       kind == "UDPRoute"))
    return gateway_route(obj, kind);
  if (api_version.starts_with("monitoring.coreos.com/") &&
      (kind == "ServiceMonitor" || kind == "PodMonitor"))
    return scrape_monitor(obj, kind);
  if (kind == "ServiceAccount") return service_account(obj);
  if (kind == "Secret") return secret(obj);
  if (kind == "Role") return rbac_role(obj, false);
  if (kind == "ClusterRole") return rbac_role(obj, true);
  if (kind == "RoleBinding") return rbac_binding(obj, false);
  if (kind == "ClusterRoleBinding") return rbac_binding(obj, true);
  static const std::pair<std::string_view, WorkloadKind> kWorkloads[] = {
      {"Deployment", WorkloadKind::Deployment},
      {"ReplicaSet", WorkloadKind::ReplicaSet},
      {"StatefulSet", WorkloadKind::StatefulSet},
      {"DaemonSet", WorkloadKind::DaemonSet},
      {"Job", WorkloadKind::Job},
      {"CronJob", WorkloadKind::CronJob},
      {"ReplicationController", WorkloadKind::ReplicationController},
  };
  for (const auto& [name, wk] : kWorkloads)
    if (kind == name) return workload(obj, wk);
  if (std::string k = unmodelled_policy_kind(kind, api_version); !k.empty()) {
    ctx_.state->unevaluated_policies[k]++;
    // Istio's: HTTP request verdicts read it (engine/istio.cc); connections still ignore it.
    if (kind == "AuthorizationPolicy" && api_version.starts_with("security.istio.io/"))
      istio_policy(obj, api_version);
    return;
  }
  ctx_.state->skipped_kinds[kind]++;
}

}  // namespace detail

template <class N>
Result<void> decode_document(const N& doc, DecodeContext& ctx, int list_depth) {
  try {
    detail::Decoder<N>(ctx).document(doc, list_depth);
  } catch (const detail::DecodeError& e) {
    return make_error(ctx.file, e.line, e.message);
  }
  return {};
}

template Result<void> decode_document<YamlNode>(const YamlNode&, DecodeContext&, int);
template Result<void> decode_document<JsonNode>(const JsonNode&, DecodeContext&, int);

}  // namespace stockade::input
