#include "recommend/recommend_settings.h"

namespace stockade {

RecommendOptions recommend_options(const RecommendSettings& s) {
  RecommendOptions ro = s.options;
  ro.min_prefix_v4 = static_cast<uint8_t>(s.widest_prefix);
  ro.min_prefix_v6 = static_cast<uint8_t>(s.widest_prefix == 0 ? 0 : s.widest_prefix + 32);
  ro.default_deny = !s.no_default_deny;
  ro.guardrail_api = "policy.networking.k8s.io/" + s.guardrail_api;
  return ro;
}

L7Options l7_options(const RecommendSettings& s) {
  L7Options l7;
  l7.kind = s.l7 == "istio" ? L7Kind::Istio : L7Kind::Cilium;
  l7.include_system = s.options.include_system;
  return l7;
}

std::vector<Setting> settings(RecommendSettings& s) {
  using B = Setting::Bound;
  return {
      {.name = "--out-dir",
       .help = "Write one file per policy into this directory",
       .field = &s.out_dir},
      {.name = "--min-count",
       .help = "Established connections an edge needs to become an allowance (default 1)",
       .field = &s.options.min_count,
       .bound = B::Positive},
      {.name = "--aggregate-after",
       .help = "External addresses per rule before they merge into covering prefixes "
               "(default 16)",
       .field = &s.options.aggregate_after,
       .bound = B::Positive},
      {.name = "--widest-external-prefix",
       .help = "Aggregated external prefixes are never wider than this IPv4 prefix length "
               "(IPv6: 32 more); 0 allows 0.0.0.0/0 and ::/0 (default 16)",
       .field = &s.widest_prefix,
       .bound = B::Range,
       .min = 0,
       .max = 32},
      {.name = "--no-default-deny",
       .help = "Do not add a default-deny policy per namespace",
       .field = &s.no_default_deny},
      {.name = "--replace",
       .help = "Regenerate: ignore the NetworkPolicies in the input (admin tiers still apply)",
       .field = &s.options.replace},
      {.name = "--guardrails",
       .help = "Also suggest cluster guardrails: DNS always allowed, cloud metadata denied, "
               "cross-namespace ingress denied except what was observed",
       .field = &s.options.guardrails},
      {.name = "--isolate-unobserved",
       .help = "Isolate workloads with no observed traffic too (by default they are left out of "
               "the default-deny and listed as not covered)",
       .field = &s.options.isolate_unobserved},
      {.name = "--include-system",
       .help = "Write policies in the system namespaces too (kube-system, kube-public, "
               "kube-node-lease, calico-system, calico-apiserver, tigera-operator, "
               "local-path-storage)",
       .field = &s.options.include_system},
      {.name = "--accept-blocked",
       .help = "Write the policies even when they deny observed edges that are allowed today "
               "(below --min-count, outside --since/--until)",
       .field = &s.accept_blocked},
      {.name = "--min-window",
       .help = "A learning window shorter than this is a warning, and every policy is "
               "annotated stockade.io/confidence: low (default 24h)",
       .field = &s.min_window,
       .show_default = true},
      {.name = "--output-kind",
       .help = "The kind of policy written: networkpolicy (Kubernetes NetworkPolicy, default), "
               "cilium (CiliumNetworkPolicy cilium.io/v2, for clusters whose CNI is Cilium), "
               "calico (NetworkPolicy projectcalico.org/v3, for clusters whose CNI is Calico)",
       .field = &s.output_kind,
       .show_default = true,
       .choices = {"networkpolicy", "cilium", "calico"}},
      {.name = "--l7",
       .help = "Also L7 policies from the HTTP records: cilium (CiliumNetworkPolicy "
               "toPorts[].rules.http) or istio (AuthorizationPolicy security.istio.io/v1)",
       .field = &s.l7,
       .choices = {"cilium", "istio"}},
      {.name = "--guardrail-api",
       .help = "v1beta1 (ClusterNetworkPolicy, default), v1alpha2 (ClusterNetworkPolicy, for "
               "network-policy-api v0.2) or v1alpha1 (AdminNetworkPolicy)",
       .field = &s.guardrail_api,
       .show_default = true,
       .choices = {"v1beta1", "v1alpha2", "v1alpha1"}},
  };
}

}  // namespace stockade
