#include "server/admission.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <utility>

#include "audit/policy_diff.h"
#include "input/loader.h"
#include "server/http.h"

namespace stockade::server {

namespace {

bool is_network_policy(const PolicyChange& c) {
  return c.group == "networking.k8s.io" && c.kind == "NetworkPolicy";
}
bool is_calico(std::string_view group) {
  return group == "projectcalico.org" || group == "crd.projectcalico.org";
}
bool is_cluster_policy(std::string_view group, std::string_view kind) {
  return group == "policy.networking.k8s.io" &&
         (kind == "AdminNetworkPolicy" || kind == "BaselineAdminNetworkPolicy" ||
          kind == "ClusterNetworkPolicy");
}
bool is_policy(std::string_view group, std::string_view kind) {
  return (group == "networking.k8s.io" && kind == "NetworkPolicy") ||
         is_cluster_policy(group, kind) ||
         (group == "cilium.io" &&
          (kind == "CiliumNetworkPolicy" || kind == "CiliumClusterwideNetworkPolicy")) ||
         (is_calico(group) && (kind == "NetworkPolicy" || kind == "GlobalNetworkPolicy"));
}
bool is_workload(std::string_view group, std::string_view kind) {
  return (group.empty() && kind == "Pod") ||
         (group == "apps" && (kind == "Deployment" || kind == "StatefulSet" ||
                              kind == "DaemonSet" || kind == "ReplicaSet")) ||
         (group == "batch" && (kind == "Job" || kind == "CronJob"));
}

std::string text(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The new object, decoded as the loader reads a file (empty for a delete).
Result<ClusterState> decode(const PolicyChange& change) {
  if (change.operation == "DELETE" || change.object_json.empty()) return ClusterState{};
  ClusterLoader loader;
  if (auto r = loader.add_text(change.object_json, "the admission request's object"); !r)
    return tl::unexpected<Error>(r.error());
  return std::move(loader).finish();
}

// The change made: a delete removes the policy of that kind, namespace and name; otherwise the
// new object's policies go in as audit::with_policies puts a proposal in (one of the same
// kind, namespace and name replaced). Errors: the object holds no policy (ErrorCode::Input).
Result<void> replace_policy(ClusterState& s, const PolicyChange& change, ClusterState added) {
  if (change.operation != "DELETE") {
    auto out = audit::with_policies(s, std::move(added));
    if (!out) return tl::unexpected<Error>(out.error());
    s = std::move(*out);
    return {};
  }
  std::erase_if(s.network_policies, [&](const NetworkPolicy& p) {
    return is_network_policy(change) && p.ns == change.ns && p.name == change.name;
  });
  std::erase_if(s.cluster_policies, [&](const ClusterPolicy& p) {
    return change.group == "policy.networking.k8s.io" && to_string(p.kind) == change.kind &&
           p.name == change.name;
  });
  // The CNIs' own kinds (docs/notes/cni-policies.md): Calico's NetworkPolicy shares its kind
  // with Kubernetes', told apart by the group.
  if (change.group == "cilium.io")
    std::erase_if(s.cilium_policies, [&](const CiliumPolicy& p) {
      return p.clusterwide == (change.kind == "CiliumClusterwideNetworkPolicy") &&
             p.ns == change.ns && p.name == change.name;
    });
  if (is_calico(change.group))
    std::erase_if(s.calico_policies, [&](const CalicoPolicy& p) {
      return to_string(p.kind) == change.kind && p.ns == change.ns && p.name == change.name;
    });
  return {};
}

// What the engine needs to decide edges between endpoints of the namespaces `nss`: every
// cluster-scoped policy, the NetworkPolicies of those namespaces (a NetworkPolicy selects pods
// of its own namespace only), namespaces and nodes; not the pods (the endpoints are given to the
// compile) nor the objects only posture reads.
ClusterState decision_state(const ClusterState& full, const ImpactIndex& index,
                            const std::set<std::string, std::less<>>& nss) {
  ClusterState s;
  s.namespaces = full.namespaces;
  s.nodes = full.nodes;
  for (const std::string& ns : nss)
    if (auto it = index.policies_by_ns.find(ns); it != index.policies_by_ns.end())
      for (uint32_t i : it->second) s.network_policies.push_back(full.network_policies[i]);
  s.cluster_policies = full.cluster_policies;
  return s;
}

bool in(const ObservedPeer& p, const std::vector<uint8_t>& selected) {
  return p.kind == ObservedPeer::Kind::Endpoint && selected[p.endpoint];
}

const std::vector<uint32_t>& lookup(const std::unordered_map<std::string, std::vector<uint32_t>>& m,
                                    const std::string& key) {
  static const std::vector<uint32_t> none;
  auto it = m.find(key);
  return it == m.end() ? none : it->second;
}

// The endpoints the subject of the changed cluster policy selects, before the change (the
// policy in force of that kind and name) or after it (the new object's): the only pods whose
// verdicts it takes part in.
std::vector<uint8_t> cluster_subjects(const Snapshot& snap, const PolicyChange& change,
                                      const ClusterState& added) {
  std::vector<uint8_t> out(snap.engine->endpoints().size());
  auto add = [&](const ClusterPolicy& p) {
    SelectorQuery q{"", &p.subject.namespace_selector,
                    p.subject.pod_selector ? &*p.subject.pod_selector : nullptr, nullptr};
    const std::vector<uint8_t> s = snap.engine->selected_endpoints(q);
    for (size_t i = 0; i < out.size(); ++i) out[i] |= s[i];
  };
  for (const ClusterPolicy& p : snap.state.cluster_policies)
    if (to_string(p.kind) == change.kind && p.name == change.name) add(p);
  for (const ClusterPolicy& p : added.cluster_policies) add(p);
  return out;
}

// A default-deny of one direction: every pod of the namespace selected, that direction in
// policyTypes, no rule of it (as `stockade guardrails --emit vap` defines it).
bool is_default_deny(const NetworkPolicy& p, bool ingress) {
  return p.pod_selector.empty() &&
         (ingress ? p.affects_ingress && p.ingress.empty() : p.affects_egress && p.egress.empty());
}

// Whether every peer of the object's NetworkPolicies names pods of the policy's own namespace
// (a podSelector without namespaceSelector or ipBlock; a rule without peers names every peer).
bool own_namespace_only(const ClusterState& added) {
  for (const NetworkPolicy& p : added.network_policies)
    for (const auto* rules : {&p.ingress, &p.egress})
      for (const NetworkPolicyRule& r : *rules) {
        if (r.peers.empty()) return false;
        for (const NetworkPolicyPeer& peer : r.peers)
          if (peer.namespace_selector || peer.ip_block) return false;
      }
  return true;
}

bool has_label(const ClusterState& s, const std::string& ns, const std::string& key,
               const std::string& value) {
  const Labels labels = s.namespace_labels(ns);
  auto it = labels.find(key);
  return it != labels.end() && it->second == value;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : std::string(sep)) + p;
  return out;
}

}  // namespace

Result<void> apply_change(ClusterState& state, const PolicyChange& change) {
  auto added = decode(change);
  if (!added) return tl::unexpected<Error>(added.error());
  return replace_policy(state, change, std::move(*added));
}

ImpactIndex ImpactIndex::build(const Snapshot& snap, const Observed& observed) {
  ImpactIndex x;
  const std::vector<Endpoint>& eps = snap.engine->endpoints();
  for (uint32_t i = 0; i < eps.size(); ++i) x.endpoints_by_ns[eps[i].ns].push_back(i);
  const ClusterState& s = snap.state;
  for (uint32_t i = 0; i < s.network_policies.size(); ++i)
    x.policies_by_ns[s.network_policies[i].ns].push_back(i);
  for (uint32_t i = 0; i < s.services.size(); ++i) x.services_by_ns[s.services[i].ns].push_back(i);
  for (uint32_t i = 0; i < observed.edges.size(); ++i) {
    const ObservedEdge& e = observed.edges[i];
    if (e.stats.established == 0 || e.src.kind == ObservedPeer::Kind::Unresolved ||
        e.dst.kind == ObservedPeer::Kind::Unresolved || !edge_allowed(*snap.engine, e))
      continue;
    x.allowed.push_back(i);
    const ObservedPeer* src_side = e.src.kind == ObservedPeer::Kind::Endpoint ? &e.src : nullptr;
    const ObservedPeer* dst_side = e.dst.kind == ObservedPeer::Kind::Endpoint ? &e.dst : nullptr;
    if (src_side) x.allowed_by_ns[eps[src_side->endpoint].ns].push_back(i);
    if (dst_side && (!src_side || eps[dst_side->endpoint].ns != eps[src_side->endpoint].ns))
      x.allowed_by_ns[eps[dst_side->endpoint].ns].push_back(i);
  }
  return x;
}

Result<ChangeImpact> change_impact(const Snapshot& snap, const Observed& observed,
                                   const PolicyChange& change, size_t max_examples, bool whole) {
  auto added = decode(change);
  if (!added) return tl::unexpected<Error>(added.error());
  return change_impact(snap, observed, ImpactIndex::build(snap, observed), change, *added,
                       max_examples, whole);
}

Result<ChangeImpact> change_impact(const Snapshot& snap, const Observed& observed,
                                   const ImpactIndex& index, const PolicyChange& change,
                                   const ClusterState& added, size_t max_examples, bool whole) {
  // Cilium's and Calico's policies are compiled with the pods, Services and service accounts
  // they name: judged on the whole cluster.
  whole = whole || !snap.state.cilium_policies.empty() || !snap.state.calico_policies.empty() ||
          !added.cilium_policies.empty() || !added.calico_policies.empty();
  const std::vector<Endpoint>& eps = snap.engine->endpoints();
  // The edges the change can concern, among those allowed now.
  std::vector<uint32_t> concerned;
  if (whole || !is_network_policy(change)) {
    std::vector<uint8_t> subjects;
    if (!whole && is_cluster_policy(change.group, change.kind))
      subjects = cluster_subjects(snap, change, added);
    for (uint32_t i : index.allowed)
      if (subjects.empty() || in(observed.edges[i].src, subjects) ||
          in(observed.edges[i].dst, subjects))
        concerned.push_back(i);
  } else {
    concerned = lookup(index.allowed_by_ns, change.ns);
  }
  ChangeImpact out;
  out.checked = concerned.size();
  if (concerned.empty()) return out;
  // Their endpoints, renumbered for an engine over them alone (a verdict between two endpoints
  // depends on them, their namespaces, nodes and the policies, not on the other pods).
  std::unordered_map<uint32_t, uint32_t> renumbered;
  std::vector<Endpoint> sub;
  std::set<std::string, std::less<>> nss;
  if (whole) {
    sub = eps;
    for (uint32_t i = 0; i < eps.size(); ++i) renumbered.emplace(i, i);
  } else {
    for (uint32_t i : concerned)
      for (const ObservedPeer* p : {&observed.edges[i].src, &observed.edges[i].dst})
        if (p->kind == ObservedPeer::Kind::Endpoint &&
            renumbered.emplace(p->endpoint, static_cast<uint32_t>(sub.size())).second) {
          sub.push_back(eps[p->endpoint]);
          nss.insert(eps[p->endpoint].ns);
        }
  }
  ClusterState after = whole ? snap.state : decision_state(snap.state, index, nss);
  if (auto r = replace_policy(after, change, added); !r) return tl::unexpected<Error>(r.error());
  auto engine_after = PolicyEngine::compile(after, std::move(sub));
  for (uint32_t i : concerned) {
    const ObservedEdge& e = observed.edges[i];
    ObservedEdge moved = e;
    for (ObservedPeer* p : {&moved.src, &moved.dst})
      if (p->kind == ObservedPeer::Kind::Endpoint) p->endpoint = renumbered.at(p->endpoint);
    if (edge_allowed(*engine_after, moved)) continue;
    ++out.broken;
    if (out.examples.size() < max_examples)
      out.examples.push_back(e.src.id + " -> " + e.dst.id + " " +
                             std::string(to_string(e.protocol)) + "/" + std::to_string(e.port));
  }
  return out;
}

// ---- the webhook ------------------------------------------------------------------------------

struct Admission::Request {
  std::string uid, operation, group, kind, ns, name;
  std::string object_json;  // request.object with its namespace and name filled in
  nlohmann::json object;
};

struct Admission::Outcome {
  std::vector<std::string> refusals;  // refused in enforce mode, warnings in warn mode
  std::vector<std::string> warnings;  // always warnings
  uint64_t broken = 0;
};

namespace {

// The request of an AdmissionReview; nullopt when the body is none.
std::optional<nlohmann::json> review_request(std::string_view body) {
  auto review = nlohmann::json::parse(body, nullptr, false);
  if (review.is_discarded() || !review.is_object() || !review.contains("request") ||
      !review["request"].is_object())
    return std::nullopt;
  return review["request"];
}

// A Pod created by a controller has only a generateName; the loader needs a name, and the
// object's namespace is the request's when the object names none.
void complete_metadata(nlohmann::json& object, const std::string& ns, std::string& name) {
  nlohmann::json& meta = object["metadata"];
  if (!meta.is_object()) meta = nlohmann::json::object();
  if (!ns.empty() && text(meta, "namespace").empty()) meta["namespace"] = ns;
  if (text(meta, "name").empty()) {
    const std::string generated = text(meta, "generateName") + "<generated>";
    meta["name"] = name.empty() ? generated : name;
  }
  if (name.empty()) name = text(meta, "name");
}

std::string ref_text(const std::string& kind, const std::string& ns, const std::string& name) {
  return kind + " " + (ns.empty() ? "" : ns + "/") + name;
}

}  // namespace

Admission::Admission(ServerState& state, AdmissionOptions options,
                     std::function<void(const std::string&)> log)
    : state_(state), options_(std::move(options)), log_(std::move(log)) {}

Admission::~Admission() {
  if (refresh_.valid()) refresh_.wait();
}

std::shared_ptr<const Admission::Kept> Admission::kept() {
  const std::array<uint64_t, 3> version = state_.kept_version();
  auto compute = [this]() -> std::shared_ptr<const Kept> {
    auto k = state_.observe_kept(0, 0, 0);
    if (!k) return nullptr;
    ImpactIndex index = ImpactIndex::build(*k->first, k->second);
    return std::make_shared<const Kept>(
        Kept{std::move(k->first), std::move(k->second), std::move(index)});
  };
  std::unique_lock lock(mu_);
  if (kept_ && kept_version_ == version) return kept_;
  if (kept_) {
    // Stale: the answer uses what was kept until now (a snapshot and its traffic, consistent),
    // and the next requests the new traffic once read, so no request waits for the journals.
    if (!refresh_.valid() ||
        refresh_.wait_for(std::chrono::seconds(0)) == std::future_status::ready)
      refresh_ = std::async(std::launch::async, [this, version, compute] {
        auto k = compute();
        std::lock_guard l(mu_);
        if (k) kept_ = std::move(k), kept_version_ = version;
      });
    return kept_;
  }
  lock.unlock();
  auto k = compute();
  lock.lock();
  if (k && !kept_) kept_ = std::move(k), kept_version_ = version;
  return kept_;
}

bool Admission::locked(const Snapshot& snap, const std::string& ns) const {
  if (state_.audit() && state_.audit()->locked(ns)) return true;
  return has_label(snap.state, ns, options_.locked_key, options_.locked_value);
}

void Admission::guardrails(const Request& r, const PolicyChange& change, const ClusterState& added,
                           const Kept& k, Outcome& out) const {
  if (!is_network_policy(change)) return;
  const Snapshot& snap = *k.snap;
  const std::string who = r.operation + " " + ref_text(r.kind, r.ns, r.name);
  if (options_.guard_public_ingress &&
      !has_label(snap.state, r.ns, options_.exempt_key, options_.exempt_value)) {
    for (const NetworkPolicy& np : added.network_policies) {
      if (!np.affects_ingress) continue;
      for (size_t i = 0; i < np.ingress.size(); ++i) {
        const NetworkPolicyRule& rule = np.ingress[i];
        std::string why = rule.peers.empty() ? "has no `from` (every source)" : "";
        for (const NetworkPolicyPeer& p : rule.peers)
          if (p.ip_block && p.ip_block->cidr.prefix == 0)
            why = "allows ipBlock " + p.ip_block->cidr.str();
        if (!why.empty())
          out.refusals.push_back(who + ": ingress rule " + std::to_string(i) + " " + why +
                                 ", which allows ingress from every address outside the "
                                 "cluster (guardrail public-ingress; namespaces labelled " +
                                 options_.exempt_key + "=" + options_.exempt_value +
                                 " are exempt)");
      }
    }
  }
  if (options_.guard_default_deny && locked(snap, r.ns)) {
    ClusterState after;
    for (uint32_t i : lookup(k.index.policies_by_ns, r.ns))
      after.network_policies.push_back(snap.state.network_policies[i]);
    const std::vector<NetworkPolicy> before = after.network_policies;
    if (!replace_policy(after, change, added)) return;
    for (const bool ingress : {true, false}) {
      auto deny = [&](const NetworkPolicy& p) { return is_default_deny(p, ingress); };
      if (std::any_of(before.begin(), before.end(), deny) &&
          std::none_of(after.network_policies.begin(), after.network_policies.end(), deny))
        out.refusals.push_back(who + " would leave the locked namespace " + r.ns +
                               " without a default-deny NetworkPolicy for " +
                               (ingress ? "ingress" : "egress") +
                               " (an empty podSelector, that direction in policyTypes, no rule "
                               "of it) (guardrail default-deny)");
    }
  }
}

// The policy lint's findings (the `policy` checks of `stockade scan`) about the admitted object
// and its namespace, for the cluster with the change made: its policies of that tier and every
// endpoint (a selector selects nothing only among all of them).
void Admission::lint(const Request& r, const PolicyChange& change, const ClusterState& added,
                     const Kept& k, Outcome& out) const {
  const bool np = is_network_policy(change), cluster = is_cluster_policy(r.group, r.kind);
  const bool ns_object = r.group.empty() && r.kind == "Namespace";
  if (!options_.lint || (!np && !cluster && !ns_object) || r.operation == "DELETE") return;
  const Snapshot& snap = *k.snap;
  ClusterState s;
  // Nodes only matter to the cluster-scoped kinds' node peers (and would bring the version
  // checks along).
  if (cluster) s.nodes = snap.state.nodes;
  s.namespaces = snap.state.namespaces;
  if (ns_object) {
    std::erase_if(s.namespaces, [&](const Namespace& n) { return n.name == r.name; });
    for (const Namespace& n : added.namespaces) s.namespaces.push_back(n);
  }
  if (np)
    for (uint32_t i : lookup(k.index.policies_by_ns, r.ns))
      s.network_policies.push_back(snap.state.network_policies[i]);
  if (cluster) s.cluster_policies = snap.state.cluster_policies;
  const bool own_namespace = ns_object || (np && own_namespace_only(added));
  if (!ns_object && !replace_policy(s, change, added)) return;
  // A NetworkPolicy whose peers are all pods of its own namespace is linted among that
  // namespace's endpoints: what it selects, declares and covers is there (a "did you mean" is
  // then looked for among that namespace's labels only).
  std::vector<Endpoint> eps;
  if (own_namespace)
    for (uint32_t i : lookup(k.index.endpoints_by_ns, ns_object ? r.name : r.ns))
      eps.push_back(snap.engine->endpoints()[i]);
  else
    eps = snap.engine->endpoints();
  auto engine = PolicyEngine::compile(s, std::move(eps));
  auto report = posture::scan(s, *engine, posture::ScanOptions{});
  if (!report) return;
  const posture::ResourceRef self{r.kind, cluster || ns_object ? "" : r.ns, r.name};
  const posture::ResourceRef home{"Namespace", "", ns_object ? r.name : r.ns};
  for (const posture::Finding& f : report->findings) {
    const posture::CheckInfo* c = posture::find_check(f.id);
    if (f.suppressed || !c || c->category != "policy" || (f.resource != self && f.resource != home))
      continue;
    out.warnings.push_back(f.id + " (" + std::string(posture::to_string(f.severity)) +
                           "): " + f.message);
  }
}

void Admission::judge_policy(const Request& r, Outcome& out) {
  PolicyChange change{r.operation, r.group,
                      r.kind,      r.ns,
                      r.name,      r.operation == "DELETE" ? std::string() : r.object_json};
  auto k = kept();
  if (!k) return;
  // The object decoded once, for the guardrails, the lint and the impact.
  auto added = decode(change);
  if (!added) {
    out.warnings.push_back("stockade could not judge this change: " + added.error().str());
    return;
  }
  guardrails(r, change, *added, *k, out);
  lint(r, change, *added, *k, out);
  if (!is_policy(r.group, r.kind)) return;
  auto impact = change_impact(*k->snap, k->observed, k->index, change, *added);
  if (!impact) {
    out.warnings.push_back("stockade could not judge this change: " + impact.error().str());
    return;
  }
  out.broken = impact->broken;
  if (impact->broken == 0) return;
  std::string edges = join(impact->examples, ", ");
  if (impact->broken > impact->examples.size())
    edges += " and " + std::to_string(impact->broken - impact->examples.size()) + " more";
  out.refusals.push_back(r.operation + " " + ref_text(r.kind, r.ns, r.name) + " would deny " +
                         std::to_string(impact->broken) + " observed connection(s): " + edges);
}

// A workload is scanned as `stockade scan` would scan it in its namespace (its policies, the
// cluster-scoped ones, Services): findings on it at or above the severity refuse it.
void Admission::judge_workload(const Request& r, const Kept& k, Outcome& out) const {
  const Snapshot& snap = *k.snap;
  if (!options_.block_severity || r.operation == "DELETE") return;
  ClusterLoader loader;
  if (!loader.add_text(r.object_json, "the admission request's object")) return;
  ClusterState s = std::move(loader).finish();
  if (s.pods.empty() && s.workloads.empty()) return;
  s.namespaces = snap.state.namespaces;
  for (uint32_t i : lookup(k.index.policies_by_ns, r.ns))
    s.network_policies.push_back(snap.state.network_policies[i]);
  s.cluster_policies = snap.state.cluster_policies;
  for (uint32_t i : lookup(k.index.services_by_ns, r.ns))
    s.services.push_back(snap.state.services[i]);
  auto engine = PolicyEngine::compile(s, build_endpoints(s));
  auto report = posture::scan(s, *engine, posture::ScanOptions{});
  if (!report) return;
  std::vector<std::string> found;
  for (const posture::Finding& f : report->findings)
    if (!f.suppressed && f.severity >= *options_.block_severity && f.resource.kind == r.kind &&
        f.resource.ns == r.ns && f.resource.name == r.name)
      found.push_back(f.id + " (" + std::string(posture::to_string(f.severity)) + ")" +
                      (f.container.empty() ? "" : " container " + f.container) + ": " + f.message);
  if (!found.empty())
    out.refusals.push_back(r.operation + " " + ref_text(r.kind, r.ns, r.name) + ": " +
                           std::to_string(found.size()) + " posture finding(s) at or above " +
                           std::string(posture::to_string(*options_.block_severity)) +
                           " (guardrail block-severity): " + join(found, "; "));
}

AdmissionAnswer Admission::review(std::string_view body) {
  auto request = review_request(body);
  if (!request)
    return {400, nlohmann::json{{"error",
                                 "expected an AdmissionReview (admission.k8s.io/v1) "
                                 "with a request"}}
                         .dump() +
                     "\n"};
  const nlohmann::json& q = *request;
  Request r;
  r.uid = text(q, "uid");
  r.operation = text(q, "operation");
  const nlohmann::json gvk =
      q.contains("kind") && q["kind"].is_object() ? q["kind"] : nlohmann::json::object();
  r.group = text(gvk, "group");
  r.kind = text(gvk, "kind");
  r.ns = text(q, "namespace");
  r.name = text(q, "name");
  if (r.operation != "DELETE" && q.contains("object") && q["object"].is_object()) {
    r.object = q["object"];
    complete_metadata(r.object, r.ns, r.name);
    r.object_json = r.object.dump();
  }
  Outcome out;
  const bool known = r.operation == "CREATE" || r.operation == "UPDATE" || r.operation == "DELETE";
  if (options_.mode != "off" && known && state_.ready()) {
    if (is_policy(r.group, r.kind) || (r.group.empty() && r.kind == "Namespace"))
      judge_policy(r, out);
    else if (is_workload(r.group, r.kind) && options_.block_severity)
      if (auto k = kept()) judge_workload(r, *k, out);
  }
  nlohmann::json response = {{"uid", r.uid}, {"allowed", true}};
  const bool refuse = options_.mode == "enforce" && !out.refusals.empty();
  if (refuse) {
    response["allowed"] = false;
    response["status"] = {
        {"code", 403}, {"reason", "Forbidden"}, {"message", join(out.refusals, "; ")}};
  }
  std::vector<std::string> warnings = refuse ? std::vector<std::string>{} : out.refusals;
  warnings.insert(warnings.end(), out.warnings.begin(), out.warnings.end());
  if (!warnings.empty()) response["warnings"] = warnings;
  if (log_ && (!out.refusals.empty() || !out.warnings.empty()))
    log_(nlohmann::json{{"level", "info"},
                        {"msg", "admission"},
                        {"mode", options_.mode},
                        {"change", r.operation + " " + ref_text(r.kind, r.ns, r.name)},
                        {"allowed", !refuse},
                        {"broken", out.broken},
                        {"refusals", out.refusals.size()},
                        {"warnings", out.warnings.size()},
                        {"time", log_time_now()}}
             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return {200, nlohmann::json{{"apiVersion", "admission.k8s.io/v1"},
                              {"kind", "AdmissionReview"},
                              {"response", response}}
                       .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                   "\n"};
}

}  // namespace stockade::server
