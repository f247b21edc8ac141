// The validating admission webhook of `stockade serve` (POST /admission/validate, AdmissionReview
// v1): a change of a policy is judged on the traffic observed (would it deny connections that
// are allowed now?), against the guardrails configured, and linted (the `policy` checks of
// `scan`, returned as warnings); a workload is judged by its posture findings.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "posture/posture.h"
#include "recommend/observed.h"
#include "server/state.h"

namespace stockade::server {

struct AdmissionOptions {
  // enforce: refuse what the checks find; warn: admit with warnings; off: admit everything.
  std::string mode = "warn";
  // Guardrail: in a locked namespace (its baseline locked through the API, or the namespace
  // labelled `locked_key=locked_value`) a change after which no default-deny NetworkPolicy is
  // left there (one existed before) is refused.
  bool guard_default_deny = false;
  // Guardrail: a NetworkPolicy ingress rule that allows every address outside the cluster (no
  // `from`, or an ipBlock of /0) is refused, except in namespaces labelled exempt.
  bool guard_public_ingress = false;
  // Guardrail: a Pod or workload whose posture findings (`stockade scan`, not suppressed) reach
  // this severity is refused.
  std::optional<posture::Severity> block_severity;
  std::string locked_key = "stockade.io/locked", locked_value = "true";
  std::string exempt_key = "stockade.io/public-ingress", exempt_value = "true";
  // The policy lint's findings for the admitted policy, as warnings.
  bool lint = true;
};

// A change of one policy, as an admission request carries it: the new object (JSON, absent for
// a delete) replaces the policy of that kind, namespace and name.
struct PolicyChange {
  std::string operation;  // CREATE, UPDATE, DELETE
  std::string group;  // networking.k8s.io, policy.networking.k8s.io, cilium.io, projectcalico.org
  std::string kind, ns, name;
  std::string object_json;  // the object after the change; empty for DELETE
};

// Observed edges a change would break: allowed by the policies in force, denied after it.
struct ChangeImpact {
  uint64_t checked = 0;  // established pod-level edges evaluated
  uint64_t broken = 0;
  std::vector<std::string> examples;  // "src -> dst PROTO/PORT", the first few
};

// Indexes over a snapshot and the traffic observed on it, built once per change of either, so
// that a review costs what its object concerns and not the cluster's size.
struct ImpactIndex {
  // Observed edges (indices into Observed::edges) established, with both sides resolved, that
  // the policies in force allow: the edges a change can break.
  std::vector<uint32_t> allowed;
  // Of those, the ones with an endpoint side in the namespace.
  std::unordered_map<std::string, std::vector<uint32_t>> allowed_by_ns;
  // Endpoints (engine order), NetworkPolicies and Services (ClusterState order) by namespace.
  std::unordered_map<std::string, std::vector<uint32_t>> endpoints_by_ns, policies_by_ns,
      services_by_ns;
  static ImpactIndex build(const Snapshot& snap, const Observed& observed);
};

// The cluster objects with the change made: the policy of that kind, namespace and name
// replaced by the new object, or removed. Errors: the object does not decode (ErrorCode::Input).
Result<void> apply_change(ClusterState& state, const PolicyChange& change);

// The observed edges (`observed`, at pod level over `snap`'s endpoints) that `change` would
// break. Only the policies that can decide the edges concerned are compiled again: a
// NetworkPolicy only decides for pods of its own namespace, so its change concerns the edges
// with a side there, and their verdicts need only the NetworkPolicies of their sides'
// namespaces. `whole` compiles the whole changed cluster instead (tests compare the two).
// An AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy only decides for
// the pods its subject selects (before or after the change), so its change concerns the edges
// with such a pod on a side. `whole` compiles the whole changed cluster instead (tests compare
// the two).
Result<ChangeImpact> change_impact(const Snapshot& snap, const Observed& observed,
                                   const PolicyChange& change, size_t max_examples = 10,
                                   bool whole = false);
// The same with the indexes kept and the change's object decoded (`added`: what `decode` of
// the object gives, empty for a delete).
Result<ChangeImpact> change_impact(const Snapshot& snap, const Observed& observed,
                                   const ImpactIndex& index, const PolicyChange& change,
                                   const ClusterState& added, size_t max_examples = 10,
                                   bool whole = false);

// What the webhook answers: the HTTP status and body.
struct AdmissionAnswer {
  int status = 200;
  std::string body;
};

class Admission {
 public:
  // `log` receives one JSON object per judged change (null: none).
  Admission(ServerState& state, AdmissionOptions options,
            std::function<void(const std::string&)> log = {});
  ~Admission();
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  // An AdmissionReview v1 in, the AdmissionReview with its response out; 400 for a body that
  // is no AdmissionReview.
  AdmissionAnswer review(std::string_view body);

 private:
  struct Request;
  struct Outcome;
  // A snapshot, the observed edges at pod level over its endpoints, and indexes over both.
  struct Kept {
    std::shared_ptr<const Snapshot> snap;
    Observed observed;
    ImpactIndex index;
  };
  void judge_policy(const Request& r, Outcome& out);
  void judge_workload(const Request& r, const Kept& k, Outcome& out) const;
  void guardrails(const Request& r, const PolicyChange& change, const ClusterState& added,
                  const Kept& k, Outcome& out) const;
  void lint(const Request& r, const PolicyChange& change, const ClusterState& added, const Kept& k,
            Outcome& out) const;
  bool locked(const Snapshot& snap, const std::string& ns) const;
  // What was kept, read again in the background when the traffic or the snapshot changed (the
  // webhook judges on what was kept up to then); null before the first read succeeds.
  std::shared_ptr<const Kept> kept();

  ServerState& state_;
  AdmissionOptions options_;
  std::function<void(const std::string&)> log_;
  std::mutex mu_;
  std::shared_ptr<const Kept> kept_;
  std::array<uint64_t, 3> kept_version_{};
  std::future<void> refresh_;
};

}  // namespace stockade::server
