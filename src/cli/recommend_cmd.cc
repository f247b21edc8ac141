// stockade recommend: least-privilege NetworkPolicies from observed traffic, self-checked.
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/observe_flags.h"
#include "recommend/l7.h"
#include "recommend/pipeline.h"
#include "recommend/summary.h"

namespace stockade::cli {

namespace {

struct RecommendOptionsCli {
  CommonOptions common;
  ObserveFlags observe;
  // --min-count, --aggregate-after, --replace, --guardrails, --isolate-unobserved,
  // --include-system
  RecommendOptions ro;
  std::string out_dir;
  int widest_prefix = 16;
  bool no_default_deny = false;
  std::string guardrail_api = "v1beta1";
  bool accept_blocked = false;
  std::string min_window = "24h";
  std::string output_kind = "networkpolicy";  // networkpolicy | cilium | calico
  std::string l7;                             // "", cilium or istio
};

// The options from the flags, but the learning window (--since and --until are checked when the
// flows are read).
RecommendOptions recommend_options(const RecommendOptionsCli& o) {
  RecommendOptions ro = o.ro;
  ro.min_prefix_v4 = static_cast<uint8_t>(o.widest_prefix);
  ro.min_prefix_v6 = static_cast<uint8_t>(o.widest_prefix == 0 ? 0 : o.widest_prefix + 32);
  ro.default_deny = !o.no_default_deny;
  ro.guardrail_api = "policy.networking.k8s.io/" + o.guardrail_api;
  return ro;
}

int run(const RecommendOptionsCli& o) {
  check_stdin_once({{"-f", &o.common.files}, {"--flows", &o.observe.flows}});
  RecommendOptions ro = recommend_options(o);
  const RecommendKind kind = value_or_usage_error(recommend_kind(o.output_kind, ro));
  // The standard channel's CRD has no domainNames: keep the addresses there.
  if (o.common.policy_api_channel == "standard") ro.domain_names = false;
  Stopwatch clock;
  CommonOptions common = o.common;
  common.workload_security = o.l7 == "istio";  // Istio principals: the service accounts
  ClusterState state = load_cluster(common);
  RecommendEngines engines =
      compile_recommend_engines(state, resolve_endpoints(state, o.common), ro.replace);
  verbose_log(o.common, "cluster: " + clock.lap());
  Observed obs = read_observed(o.common, o.observe, state, engines.existing());
  verbose_log(o.common, "flows: " + clock.lap());
  value_or_usage_error(check_learnable(obs));
  L7Options l7o;
  l7o.kind = o.l7 == "istio" ? L7Kind::Istio : L7Kind::Cilium;
  l7o.include_system = o.ro.include_system;
  L7Recommendation l7;
  Observed full;  // with --l7: every edge, for the proof of the L7 policies
  if (!o.l7.empty()) {
    l7 = recommend_l7(state, engines.existing(), obs.l7, l7o);
    full = obs;
    obs = without_carried(full, l7);
  }

  ro.window_since = observe_time(o.observe.since, "--since");
  ro.window_until = observe_time(o.observe.until, "--until");
  const LearningWindow window = learning_window(obs, ro);
  ro.low_confidence = window.length_ns() < parse_duration_ns(o.min_window, "--min-window");
  Recommendation rec = recommend(state, engines.existing(), obs, ro);
  verbose_log(o.common, "synthesis: " + clock.lap());
  if (ro.low_confidence && !o.common.quiet)  // -q: the annotation alone
    std::fprintf(stderr, "stockade: warning: %s\n",
                 low_confidence_warning(window, o.min_window).c_str());

  auto proved =
      value_or_usage_error(prove_recommendation(state, *engines.current, obs, rec, ro, kind));
  verbose_log(o.common, "self-check: " + clock.lap());
  const SelfCheck& check = proved.check;
  if (check.failed()) {
    SelfCheckFailure f = self_check_failure(check);
    print_error(f.message);
    for (const std::string& also : f.also) std::fprintf(stderr, "  also: %s\n", also.c_str());
    return kExitInternal;
  }
  if (check.blocked && !o.accept_blocked) {
    std::string msg = blocked_text(check);
    std::fwrite(msg.data(), 1, msg.size(), stderr);
    return kExitFound;
  }
  // Rendered in full, read back with the loader and compared with the policies just proved
  // (the exact bytes that are written), and only then written.
  RenderedOutput out = render_output(rec, proved, o.out_dir, o.common.output == "json");
  if (std::string why = read_back(out); !why.empty()) {
    print_error("self-check failed: " + why + " (a bug in stockade; please report it)");
    return kExitInternal;
  }
  verbose_log(o.common, "read back: " + clock.lap());
  if (!o.l7.empty()) {
    if (std::string why = prove_l7(proved.after_state, *proved.after, full, l7); !why.empty()) {
      print_error("self-check failed: " + why + " (a bug in stockade; please report it)");
      return kExitInternal;
    }
    add_l7_output(out, l7, o.out_dir, o.common.output == "json");
  }
  if (o.out_dir.empty())
    std::fwrite(out.files[0].text.data(), 1, out.files[0].text.size(), stdout);
  else
    value_or_usage_error(write_rendered(out, o.out_dir));
  if (!o.common.quiet) {
    std::string msg = summary_text(state, *engines.current, obs, rec, proved,
                                   {o.out_dir, o.guardrail_api, window, o.common.verbose > 0});
    if (!o.l7.empty()) msg += l7_summary(l7, l7o.kind);
    std::fflush(stdout);
    std::fwrite(msg.data(), 1, msg.size(), stderr);
  }
  return kExitOk;
}

}  // namespace

Runner register_recommend(CLI::App& app) {
  auto opts = std::make_shared<RecommendOptionsCli>();
  CLI::App* cmd = app.add_subcommand(
      "recommend", "Least-privilege NetworkPolicies from observed traffic, checked by the engine");
  add_common_flags(*cmd, opts->common, {"yaml", "json"}, "yaml");
  opts->common.workload_security = false;  // no posture checks here
  add_observe_flags(*cmd, opts->observe, true);
  cmd->add_option("--out-dir", opts->out_dir, "Write one file per policy into this directory");
  cmd->add_option("--min-count", opts->ro.min_count,
                  "Established connections an edge needs to become an allowance (default 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--aggregate-after", opts->ro.aggregate_after,
                  "External addresses per rule before they merge into covering prefixes "
                  "(default 16)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--widest-external-prefix", opts->widest_prefix,
                  "Aggregated external prefixes are never wider than this IPv4 prefix length "
                  "(IPv6: 32 more); 0 allows 0.0.0.0/0 and ::/0 (default 16)")
      ->check(CLI::Range(0, 32));
  cmd->add_flag("--no-default-deny", opts->no_default_deny,
                "Do not add a default-deny policy per namespace");
  cmd->add_flag("--replace", opts->ro.replace,
                "Regenerate: ignore the NetworkPolicies in the input (admin tiers still apply)");
  cmd->add_flag("--guardrails", opts->ro.guardrails,
                "Also suggest cluster guardrails: DNS always allowed, cloud metadata denied, "
                "cross-namespace ingress denied except what was observed");
  cmd->add_flag("--isolate-unobserved", opts->ro.isolate_unobserved,
                "Isolate workloads with no observed traffic too (by default they are left out of "
                "the default-deny and listed as not covered)");
  cmd->add_flag("--include-system", opts->ro.include_system,
                "Write policies in the system namespaces too (kube-system, kube-public, "
                "kube-node-lease, calico-system, calico-apiserver, tigera-operator, "
                "local-path-storage)");
  cmd->add_flag("--accept-blocked", opts->accept_blocked,
                "Write the policies even when they deny observed edges that are allowed today "
                "(below --min-count, outside --since/--until)");
  cmd->add_option("--min-window", opts->min_window,
                  "A learning window shorter than this is a warning, and every policy is "
                  "annotated stockade.io/confidence: low (default 24h)")
      ->default_str("24h");
  cmd->add_option("--output-kind", opts->output_kind,
                  "The kind of policy written: networkpolicy (Kubernetes NetworkPolicy, default), "
                  "cilium (CiliumNetworkPolicy cilium.io/v2, for clusters whose CNI is Cilium), "
                  "calico (NetworkPolicy projectcalico.org/v3, for clusters whose CNI is Calico)")
      ->check(CLI::IsMember({"networkpolicy", "cilium", "calico"}))
      ->default_str("networkpolicy");
  cmd->add_option("--l7", opts->l7,
                  "Also L7 policies from the HTTP records: cilium (CiliumNetworkPolicy "
                  "toPorts[].rules.http) or istio (AuthorizationPolicy security.istio.io/v1)")
      ->check(CLI::IsMember({"cilium", "istio"}));
  cmd->add_option("--guardrail-api", opts->guardrail_api,
                  "v1beta1 (ClusterNetworkPolicy, default), v1alpha2 (ClusterNetworkPolicy, for "
                  "network-policy-api v0.2) or v1alpha1 (AdminNetworkPolicy)")
      ->check(CLI::IsMember({"v1beta1", "v1alpha2", "v1alpha1"}))
      ->default_str("v1beta1");
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli
