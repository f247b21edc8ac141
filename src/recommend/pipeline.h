// recommend's pipeline around the synthesis (recommend.h), as values: the engines it reasons
// with, the learning window, the recommendation translated to the output kind and proved by the
// engine (selfcheck.h), and the files rendered and read back before anything is written.
// `stockade recommend` prints what these return; the server and the console call them too.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "engine/engine.h"
#include "model/cluster_state.h"
#include "recommend/calico_emit.h"
#include "recommend/cilium_emit.h"
#include "recommend/observed.h"
#include "recommend/recommend.h"
#include "recommend/selfcheck.h"

namespace stockade {

enum class RecommendKind { NetworkPolicy, Cilium, Calico };

// The kind named by --output-kind (networkpolicy, cilium, calico; anything else is
// NetworkPolicy), with what its CNI needs of the rules set in `options`: rules for a pod's
// traffic to its own node (Cilium and Calico) and from it (Calico). An error (ErrorCode::Usage)
// for guardrails with Cilium, which does not enforce them.
Result<RecommendKind> recommend_kind(const std::string& name, RecommendOptions& options);

// The policies in force, and the ones the synthesis builds on: the same, or with `replace` the
// input without its NetworkPolicies (they are regenerated; the admin tiers still apply).
struct RecommendEngines {
  std::unique_ptr<PolicyEngine> current;
  std::unique_ptr<PolicyEngine> without_np;  // only with `replace` and NetworkPolicies given
  const PolicyEngine& existing() const { return without_np ? *without_np : *current; }
};
RecommendEngines compile_recommend_engines(const ClusterState& state,
                                           std::vector<Endpoint> endpoints, bool replace);

// An error (ErrorCode::Usage) when the flows hold nothing to learn from.
Result<void> check_learnable(const Observed& observed);

// The learning window: the options' since/until when given, else the first and last record.
struct LearningWindow {
  int64_t from = 0, to = 0;
  int64_t length_ns() const { return to > from ? to - from : 0; }
};
LearningWindow learning_window(const Observed& observed, const RecommendOptions& options);

// The recommendation in its output kind, the cluster with it in force, and the self-check.
struct ProvedRecommendation {
  RecommendKind kind = RecommendKind::NetworkPolicy;
  CiliumRecommendation cilium;  // with RecommendKind::Cilium
  size_t fqdn_addresses = 0;    // Cilium: external addresses written as DNS names (fqdn.h)
  CalicoRecommendation calico;  // with RecommendKind::Calico
  ClusterState after_state;
  std::unique_ptr<PolicyEngine> after;
  SelfCheck check;
};

// Translates `rec` (to_cilium, to_calico), compiles the cluster with it and runs the
// self-check against `current` (the policies in force). An error when the translation cannot
// express the recommendation.
Result<ProvedRecommendation> prove_recommendation(
    const ClusterState& state, const PolicyEngine& current, const Observed& observed,
    const Recommendation& rec, const RecommendOptions& options, RecommendKind kind);

// A failed self-check (a bug): the message and up to ten more examples.
struct SelfCheckFailure {
  std::string message;
  std::vector<std::string> also;
};
SelfCheckFailure self_check_failure(const SelfCheck& check);

// Observed edges allowed today that the recommendation would deny, as the lines that say so
// (nothing is written unless accepted).
std::string blocked_text(const SelfCheck& check);

// The output: one text per file (path empty: standard output), and what each holds.
struct RenderedOutput {
  struct File {
    std::filesystem::path path;
    std::string text;
    std::vector<const NetworkPolicy*> policies;
    std::vector<const ClusterPolicy*> guardrails;
    std::vector<const CiliumPolicy*> cilium;
    std::vector<const CalicoPolicy*> calico;
  };
  std::vector<File> files;
};

// Every policy rendered (YAML, or JSON with `json`): into one text, or with `out_dir` one file
// per policy (NS.NAME.yaml) and per guardrail (cluster.NAME.yaml).
RenderedOutput render_output(const Recommendation& rec, const ProvedRecommendation& proved,
                             const std::string& out_dir, bool json);

// Writes the files of a rendering with `out_dir` into that directory (created if need be), all
// or nothing (core/write_files.h). Errors name --out-dir.
Result<void> write_rendered(const RenderedOutput& output, const std::string& out_dir);

// Reads every file's text back with the loader and compares it with the policies proved:
// "" when all are the same, else "FILE: what differs" for the first that is not.
std::string read_back(const RenderedOutput& output);

}  // namespace stockade
