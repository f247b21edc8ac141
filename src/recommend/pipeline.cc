#include "recommend/pipeline.h"

#include "recommend/fqdn.h"

#include <fmt/format.h>

#include <utility>

#include "core/display.h"
#include "core/write_files.h"

namespace stockade {

RecommendEngines compile_recommend_engines(const ClusterState& state,
                                           std::vector<Endpoint> endpoints, bool replace) {
  RecommendEngines e;
  e.current = PolicyEngine::compile(state, std::move(endpoints));
  if (replace && !state.network_policies.empty()) {
    ClusterState base = state;
    base.network_policies.clear();
    e.without_np = PolicyEngine::compile(base, build_endpoints(base));
  }
  return e;
}

Result<RecommendKind> recommend_kind(const std::string& name, RecommendOptions& options) {
  const RecommendKind kind = name == "cilium"   ? RecommendKind::Cilium
                             : name == "calico" ? RecommendKind::Calico
                                                : RecommendKind::NetworkPolicy;
  if (kind == RecommendKind::Cilium && options.guardrails)
    return make_error(ErrorCode::Usage,
                      "--guardrails with --output-kind cilium: not yet: the guardrails are "
                      "AdminNetworkPolicies / ClusterNetworkPolicies, which Cilium does not "
                      "enforce");
  // ClusterNetworkPolicy guardrails name external peers by DNS (AdminNetworkPolicy v1alpha1's
  // domainNames is not read; Calico's translation has no such peer).
  options.domain_names = kind == RecommendKind::NetworkPolicy && options.guardrails &&
                         options.guardrail_api != kAnpV1alpha1;
  options.own_node_egress = kind != RecommendKind::NetworkPolicy;
  options.own_node_ingress = kind == RecommendKind::Calico;
  return kind;
}

Result<void> check_learnable(const Observed& obs) {
  if (obs.records == 0)
    return make_error(ErrorCode::Usage,
                      "no flow records in the --flows input: nothing to learn from");
  if (obs.edges.empty())
    return make_error(ErrorCode::Usage, "no flow records inside --since/--until (" +
                                            std::to_string(obs.outside_window) +
                                            " outside): nothing to learn from");
  return {};
}

LearningWindow learning_window(const Observed& obs, const RecommendOptions& o) {
  return {o.window_since ? o.window_since : obs.first_ns,
          o.window_until ? o.window_until : obs.last_ns};
}

Result<ProvedRecommendation> prove_recommendation(const ClusterState& state,
                                                  const PolicyEngine& current, const Observed& obs,
                                                  const Recommendation& rec,
                                                  const RecommendOptions& ro, RecommendKind kind) {
  // Self-check (selfcheck.h): observed edges that became allowances, declared ingress and the
  // unobserved workloads must come out as intended; observed edges left denied are reported.
  // Cilium and Calico: the same recommendation translated (cilium_emit.h, calico_emit.h), and
  // the check proves those policies, through the engine's Cilium or Calico semantics.
  ProvedRecommendation p;
  p.kind = kind;
  if (kind == RecommendKind::Cilium) {
    p.cilium = to_cilium(rec, state, current.endpoints());
    if (!p.cilium.error.empty()) return make_error(p.cilium.error);
    p.fqdn_addresses = use_fqdns(p.cilium, obs.l7);
    p.after_state = with_cilium_recommendation(state, p.cilium, ro.replace);
  } else if (kind == RecommendKind::Calico) {
    p.calico = to_calico(rec, state.calico_network_sets);
    if (!p.calico.error.empty()) return make_error(p.calico.error);
    p.after_state = with_calico_recommendation(state, p.calico, ro.replace, rec.guardrails);
  } else {
    p.after_state = with_recommendation(state, rec, ro.replace);
  }
  p.after = PolicyEngine::compile(p.after_state, build_endpoints(p.after_state));
  if (!obs.l7.dns.empty()) p.after->learn_dns(obs.l7.names());  // toFQDNs, as Cilium learns
  p.check = self_check(current, *p.after, obs, rec, ro);
  return p;
}

SelfCheckFailure self_check_failure(const SelfCheck& check) {
  const auto& first = !check.observed_denied.empty()   ? check.observed_denied
                      : !check.declared_denied.empty() ? check.declared_denied
                                                       : check.unobserved_isolated;
  SelfCheckFailure f;
  f.message = fmt::format(
      "self-check failed (a bug in stockade; please report it): the recommended policies deny "
      "{} observed edge(s), deny {} declared connection(s), isolate {} pod(s) of unobserved "
      "workloads; the first: {}",
      check.observed_denied.size(), check.declared_denied.size(), check.unobserved_isolated.size(),
      first.front());
  for (const auto* list :
       {&check.observed_denied, &check.declared_denied, &check.unobserved_isolated})
    for (size_t i = 0; i < list->size() && i < 10; ++i)
      if ((*list)[i] != first.front()) f.also.push_back(display_text((*list)[i]));
  return f;
}

std::string blocked_text(const SelfCheck& check) {
  std::string msg = fmt::format(
      "stockade: {} observed edge(s) that the policies in force allow would be denied by the "
      "recommended policies (nothing written; --accept-blocked writes them anyway):\n",
      check.blocked);
  for (const std::string& x : check.blocked_examples) msg += "  " + x + "\n";
  if (check.blocked > check.blocked_examples.size())
    msg += fmt::format("  ... and {} more\n", check.blocked - check.blocked_examples.size());
  return msg;
}

namespace {

// One file per policy of the output kind, and per guardrail, into `dir`.
void render_per_policy(RenderedOutput& out, const Recommendation& rec,
                       const ProvedRecommendation& p, const std::filesystem::path& dir, bool json) {
  const std::string ext = json ? ".json" : ".yaml";
  auto path = [&](const auto& policy) { return dir / (policy.ns + "." + policy.name + ext); };
  if (p.kind == RecommendKind::Cilium) {
    for (const RecommendedCiliumPolicy& c : p.cilium.policies)
      out.files.push_back(
          {path(c.policy),
           json ? render_cilium_policy_json(c, 2) + "\n" : render_cilium_policy_yaml(c),
           {},
           {},
           {&c.policy},
           {}});
  } else if (p.kind == RecommendKind::Calico) {
    for (const RecommendedCalicoPolicy& c : p.calico.policies)
      out.files.push_back(
          {path(c.policy),
           json ? render_calico_policy_json(c, 2) + "\n" : render_calico_policy_yaml(c),
           {},
           {},
           {},
           {&c.policy}});
  } else {
    for (const RecommendedPolicy& r : rec.policies)
      out.files.push_back({path(r.policy),
                           json ? render_policy_json(r, 2) + "\n" : render_policy_yaml(r),
                           {&r.policy},
                           {},
                           {},
                           {}});
  }
  for (const ClusterPolicy& g : rec.guardrails)
    out.files.push_back({dir / ("cluster." + g.name + ext),
                         json ? render_cluster_policy_json(g, 2, rec.low_confidence) + "\n"
                              : render_cluster_policy_yaml(g, rec.low_confidence),
                         {},
                         {&g},
                         {},
                         {}});
}

// Everything in one text, for standard output.
RenderedOutput::File render_one(const Recommendation& rec, const ProvedRecommendation& p,
                                bool json) {
  RenderedOutput::File f;
  if (p.kind == RecommendKind::Cilium) {
    f.text = json ? render_cilium_json(p.cilium) : render_cilium_yaml(p.cilium);
    for (const RecommendedCiliumPolicy& c : p.cilium.policies) f.cilium.push_back(&c.policy);
    return f;
  }
  if (p.kind == RecommendKind::Calico) {
    // The guardrails stay ClusterNetworkPolicies (AdminNetworkPolicies with --guardrail-api
    // v1alpha1): Calico enforces them itself, in its kube-admin tier.
    f.text = json ? render_calico_json(p.calico, rec.guardrails, rec.low_confidence)
                  : render_calico_yaml(p.calico, rec.guardrails, rec.low_confidence);
    for (const RecommendedCalicoPolicy& c : p.calico.policies) f.calico.push_back(&c.policy);
  } else {
    f.text = json ? render_json(rec) : render_yaml(rec);
    for (const RecommendedPolicy& r : rec.policies) f.policies.push_back(&r.policy);
  }
  for (const ClusterPolicy& g : rec.guardrails) f.guardrails.push_back(&g);
  return f;
}

}  // namespace

RenderedOutput render_output(const Recommendation& rec, const ProvedRecommendation& proved,
                             const std::string& out_dir, bool json) {
  RenderedOutput out;
  if (out_dir.empty())
    out.files.push_back(render_one(rec, proved, json));
  else
    render_per_policy(out, rec, proved, out_dir, json);
  return out;
}

Result<void> write_rendered(const RenderedOutput& output, const std::string& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec)
    return make_error(ErrorCode::Usage,
                      "--out-dir: cannot create " + out_dir + ": " + ec.message());
  std::vector<FileText> files;
  for (const RenderedOutput::File& f : output.files) files.push_back({f.path, &f.text});
  if (auto r = write_files(files); !r)
    return make_error(r.error().code, "--out-dir: " + r.error().str());
  return {};
}

std::string read_back(const RenderedOutput& output) {
  for (const RenderedOutput::File& f : output.files) {
    std::string name = f.path.empty() ? "<stdout>" : f.path.string();
    std::string why = check_written(f.text, name, f.policies, f.guardrails, f.cilium, f.calico);
    if (!why.empty()) return name + ": " + why;
  }
  return {};
}

}  // namespace stockade
