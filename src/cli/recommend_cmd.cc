// stockade recommend: least-privilege NetworkPolicies from observed traffic, self-checked.
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/observe_flags.h"
#include "model/duration.h"
#include "recommend/l7.h"
#include "recommend/pipeline.h"
#include "recommend/recommend_settings.h"
#include "recommend/summary.h"

namespace stockade::cli {

namespace {

// recommend's settings (recommend/recommend_settings.h) and the flags every command takes.
struct RecommendOptionsCli : RecommendSettings {
  CommonOptions common;
  ObserveSettings observe;
};

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
  const L7Options l7o = l7_options(o);
  L7Recommendation l7;
  Observed full;  // with --l7: every edge, for the proof of the L7 policies
  if (!o.l7.empty()) {
    l7 = recommend_l7(state, engines.existing(), obs.l7, l7o);
    full = obs;
    obs = without_carried(full, l7);
  }

  const ObserveOptions window_options = observe_options(o.observe);
  ro.window_since = window_options.since_ns;
  ro.window_until = window_options.until_ns;
  const LearningWindow window = learning_window(obs, ro);
  ro.low_confidence = window.length_ns() <
                      value_or_usage_error(parse_duration_setting(o.min_window, "--min-window"));
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
  opts->common.workload_security = false;             // no posture checks here
  add_settings(*cmd, settings(opts->observe, true));  // --flows … --max-external-nodes
  add_settings(*cmd, settings(*opts));                // --out-dir … --guardrail-api
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli
