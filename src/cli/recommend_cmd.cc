// stockade recommend: least-privilege NetworkPolicies from observed traffic, self-checked.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/observe_flags.h"
#include "core/write_files.h"
#include "recommend/l7.h"
#include "recommend/pipeline.h"
#include "recommend/summary.h"

namespace stockade::cli {

namespace {

struct RecommendOptionsCli {
  CommonOptions common;
  ObserveFlags observe;
  std::string out_dir;
  uint64_t min_count = 1;
  size_t aggregate_after = 16;
  int widest_prefix = 16;
  bool no_default_deny = false;
  bool replace = false;
  bool guardrails = false;
  std::string guardrail_api = "v1beta1";
  bool isolate_unobserved = false;
  bool include_system = false;
  bool accept_blocked = false;
  std::string min_window = "24h";
  std::string output_kind = "networkpolicy";  // networkpolicy | cilium | calico
  std::string l7;                             // "", cilium or istio
};

RecommendOptions recommend_options(const RecommendOptionsCli& o) {
  RecommendOptions ro;
  ro.min_count = o.min_count;
  ro.aggregate_after = o.aggregate_after;
  ro.min_prefix_v4 = static_cast<uint8_t>(o.widest_prefix);
  ro.min_prefix_v6 = static_cast<uint8_t>(o.widest_prefix == 0 ? 0 : o.widest_prefix + 32);
  ro.default_deny = !o.no_default_deny;
  ro.replace = o.replace;
  ro.guardrails = o.guardrails;
  ro.guardrail_api = "policy.networking.k8s.io/" + o.guardrail_api;
  ro.window_since = observe_time(o.observe.since, "--since");
  ro.window_until = observe_time(o.observe.until, "--until");
  ro.isolate_unobserved = o.isolate_unobserved;
  ro.include_system = o.include_system;
  ro.own_node_egress = o.output_kind != "networkpolicy";
  ro.own_node_ingress = o.output_kind == "calico";
  return ro;
}

void write_output(const RecommendOptionsCli& o, const RenderedOutput& out) {
  if (o.out_dir.empty()) {
    std::fwrite(out.files[0].text.data(), 1, out.files[0].text.size(), stdout);
    return;
  }
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec) throw UsageError{"--out-dir: cannot create " + o.out_dir + ": " + ec.message()};
  std::vector<FileText> files;
  for (const RenderedOutput::File& f : out.files) files.push_back({f.path, &f.text});
  if (auto r = write_files(files); !r) throw UsageError{"--out-dir: " + r.error().str()};
}

int run(const RecommendOptionsCli& o) {
  check_stdin_once({{"-f", &o.common.files}, {"--flows", &o.observe.flows}});
  const RecommendKind kind = o.output_kind == "cilium"   ? RecommendKind::Cilium
                             : o.output_kind == "calico" ? RecommendKind::Calico
                                                         : RecommendKind::NetworkPolicy;
  if (kind == RecommendKind::Cilium && o.guardrails)
    throw UsageError{
        "--guardrails with --output-kind cilium: not yet: the guardrails are "
        "AdminNetworkPolicies / ClusterNetworkPolicies, which Cilium does not enforce"};
  Stopwatch clock;
  CommonOptions common = o.common;
  common.workload_security = o.l7 == "istio";  // Istio principals: the service accounts
  ClusterState state = load_cluster(common);
  RecommendEngines engines =
      compile_recommend_engines(state, resolve_endpoints(state, o.common), o.replace);
  verbose_log(o.common, "cluster: " + clock.lap());
  Observed obs = read_observed(o.common, o.observe, state, engines.existing());
  verbose_log(o.common, "flows: " + clock.lap());
  if (auto r = check_learnable(obs); !r) throw UsageError{r.error().str()};
  L7Options l7o;
  l7o.kind = o.l7 == "istio" ? L7Kind::Istio : L7Kind::Cilium;
  l7o.include_system = o.include_system;
  L7Recommendation l7;
  Observed full;  // with --l7: every edge, for the proof of the L7 policies
  if (!o.l7.empty()) {
    l7 = recommend_l7(state, engines.existing(), obs.l7, l7o);
    full = obs;
    obs = without_carried(full, l7);
  }

  RecommendOptions ro = recommend_options(o);
  const LearningWindow window = learning_window(obs, ro);
  ro.low_confidence = window.length_ns() < parse_duration_ns(o.min_window, "--min-window");
  Recommendation rec = recommend(state, engines.existing(), obs, ro);
  verbose_log(o.common, "synthesis: " + clock.lap());
  if (ro.low_confidence && !o.common.quiet)  // -q: the annotation alone
    std::fprintf(stderr,
                 "stockade: warning: the learning window (%s) is shorter than --min-window %s: "
                 "traffic that happens less often was not seen; every policy is annotated "
                 "stockade.io/confidence: low\n",
                 human_duration(window.length_ns()).c_str(), o.min_window.c_str());

  auto proved = prove_recommendation(state, *engines.current, obs, rec, ro, kind);
  if (!proved) throw UsageError{proved.error().str()};
  verbose_log(o.common, "self-check: " + clock.lap());
  const SelfCheck& check = proved->check;
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
  RenderedOutput out = render_output(rec, *proved, o.out_dir, o.common.output == "json");
  if (std::string why = read_back(out); !why.empty()) {
    print_error("self-check failed: " + why + " (a bug in stockade; please report it)");
    return kExitInternal;
  }
  verbose_log(o.common, "read back: " + clock.lap());
  if (!o.l7.empty()) {
    if (std::string why = prove_l7(proved->after_state, *proved->after, full, l7); !why.empty()) {
      print_error("self-check failed: " + why + " (a bug in stockade; please report it)");
      return kExitInternal;
    }
    add_l7_output(out, l7, o.out_dir, o.common.output == "json");
  }
  write_output(o, out);
  if (!o.common.quiet) {
    std::string msg = summary_text(state, *engines.current, obs, rec, *proved,
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
  cmd->add_option("--min-count", opts->min_count,
                  "Established connections an edge needs to become an allowance (default 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--aggregate-after", opts->aggregate_after,
                  "External addresses per rule before they merge into covering prefixes "
                  "(default 16)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--widest-external-prefix", opts->widest_prefix,
                  "Aggregated external prefixes are never wider than this IPv4 prefix length "
                  "(IPv6: 32 more); 0 allows 0.0.0.0/0 and ::/0 (default 16)")
      ->check(CLI::Range(0, 32));
  cmd->add_flag("--no-default-deny", opts->no_default_deny,
                "Do not add a default-deny policy per namespace");
  cmd->add_flag("--replace", opts->replace,
                "Regenerate: ignore the NetworkPolicies in the input (admin tiers still apply)");
  cmd->add_flag("--guardrails", opts->guardrails,
                "Also suggest cluster guardrails: DNS always allowed, cloud metadata denied, "
                "cross-namespace ingress denied except what was observed");
  cmd->add_flag("--isolate-unobserved", opts->isolate_unobserved,
                "Isolate workloads with no observed traffic too (by default they are left out of "
                "the default-deny and listed as not covered)");
  cmd->add_flag("--include-system", opts->include_system,
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
