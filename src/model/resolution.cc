#include "model/resolution.h"

#include <algorithm>

namespace stockade {

bool is_per_pod_label(std::string_view k) {
  return k == "pod-template-hash" || k == "controller-revision-hash" ||
         k == "statefulset.kubernetes.io/pod-name" || k == "apps.kubernetes.io/pod-index" ||
         k == "pod-template-generation" || k == "batch.kubernetes.io/controller-uid" ||
         k == "controller-uid" || k == "job-name" || k == "batch.kubernetes.io/job-name" ||
         k == "batch.kubernetes.io/job-completion-index";
}

namespace {

std::string key_of(std::string_view ns, std::string_view kind, std::string_view name) {
  std::string k;
  k.reserve(ns.size() + kind.size() + name.size() + 2);
  k.append(ns).push_back('\0');
  k.append(kind).push_back('\0');
  k.append(name);
  return k;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "a-b-c" -> {"a-b", "c"}; {"", ""} when there is no dash to split at.
std::pair<std::string_view, std::string_view> split_last(std::string_view s) {
  auto dash = s.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == s.size()) return {};
  return {s.substr(0, dash), s.substr(dash + 1)};
}

std::string ref(std::string_view kind, std::string_view ns, std::string_view name) {
  return std::string(kind) + " " + std::string(ns) + "/" + std::string(name);
}

}  // namespace

WorkloadResolver::WorkloadResolver(const ClusterState& state) : state_(state) {
  by_uid_.reserve(state.workloads.size());
  by_key_.reserve(state.workloads.size());
  for (uint32_t i = 0; i < state.workloads.size(); ++i) {
    const Workload& w = state.workloads[i];
    if (!w.uid.empty()) by_uid_.emplace(w.uid, i);
    by_key_[key_of(w.ns, to_string(w.kind), w.name)] = i;
  }
}

std::optional<uint32_t> WorkloadResolver::find(std::string_view ns, std::string_view kind,
                                               std::string_view name) const {
  auto it = by_key_.find(key_of(ns, kind, name));
  if (it == by_key_.end()) return std::nullopt;
  return it->second;
}

std::optional<uint32_t> WorkloadResolver::find_owner(const std::string& ns,
                                                     const OwnerRef& o) const {
  if (!o.uid.empty())
    if (auto it = by_uid_.find(o.uid); it != by_uid_.end()) return it->second;
  return find(ns, o.kind, o.name);
}

bool WorkloadResolver::fits(uint32_t w, const Labels& labels) const {
  const Workload& wl = state_.workloads[w];
  if (wl.selector && !wl.selector->empty()) {
    // A generated selector (a Job's controller-uid) names per-pod labels that flow records
    // leave out: then the rest of the selector and the template's labels decide.
    LabelSelector stable;
    bool generated = false;
    for (const SelectorRequirement& r : wl.selector->requirements) {
      if (is_per_pod_label(r.key) && !labels.contains(r.key))
        generated = true;
      else
        stable.requirements.push_back(r);
    }
    if (!generated) return wl.selector->matches(labels);
    if (!stable.matches(labels)) return false;
  }
  // No selector (a CronJob's jobs get a generated one): the pod template's own labels, minus
  // the per-pod ones, must all be on the pod.
  bool any = false;
  for (const auto& [k, v] : wl.pod.labels) {
    if (is_per_pod_label(k)) continue;
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
    any = true;
  }
  return any;
}

uint32_t WorkloadResolver::top(uint32_t w) const {
  // Bounded: ownerReferences may form a cycle in hostile input.
  for (int depth = 0; depth < 16; ++depth) {
    const Workload& wl = state_.workloads[w];
    std::optional<uint32_t> up;
    for (const OwnerRef& o : wl.owners)
      if (auto found = find_owner(wl.ns, o); found && *found != w) {
        up = found;
        if (o.controller) break;
      }
    if (!up) return w;
    w = *up;
  }
  return w;
}

WorkloadResolution WorkloadResolver::of_pod(const Pod& pod) const {
  WorkloadResolution r;
  if (pod.owners.empty()) return r;
  // The controller owner when one is marked, else each owner in turn.
  std::vector<const OwnerRef*> owners;
  for (const OwnerRef& o : pod.owners)
    if (o.controller) owners.push_back(&o);
  if (owners.empty())
    for (const OwnerRef& o : pod.owners) owners.push_back(&o);

  for (const OwnerRef* o : owners) {
    if (auto w = find_owner(pod.ns, *o)) {
      r.workload = top(*w);
      r.why.clear();
      return r;
    }
    // The owner is absent: infer the one above it by name, and check it.
    auto [stem, suffix] = split_last(o->name);
    std::string_view parent_kind;
    bool suffix_ok = false;
    if (o->kind == "ReplicaSet") {
      parent_kind = "Deployment";
      auto hash = pod.spec.labels.find("pod-template-hash");
      suffix_ok = hash == pod.spec.labels.end() || hash->second == suffix;
    } else if (o->kind == "Job") {
      parent_kind = "CronJob";
      suffix_ok = all_digits(suffix);  // the scheduled time, in minutes since the epoch
    }
    if (parent_kind.empty()) {
      r.why = "its owner " + ref(o->kind, pod.ns, o->name) + " is not in the input";
      continue;
    }
    if (stem.empty() || !suffix_ok) {
      r.why = "its owner " + ref(o->kind, pod.ns, o->name) + " is not in the input and its name " +
              "is not <" + std::string(parent_kind == "Deployment" ? "deployment" : "cronjob") +
              ">-<" + (parent_kind == "Deployment" ? "pod-template-hash" : "scheduled-time") + ">";
      continue;
    }
    auto parent = find(pod.ns, parent_kind, stem);
    if (!parent) {
      r.why = "its owner " + ref(o->kind, pod.ns, o->name) + " is not in the input, nor " +
              ref(parent_kind, pod.ns, stem);
      continue;
    }
    if (!fits(*parent, pod.spec.labels)) {
      r.why = "its owner " + ref(o->kind, pod.ns, o->name) + " is not in the input and " +
              ref(parent_kind, pod.ns, stem) + " does not select the pod's labels";
      continue;
    }
    r.workload = top(*parent);
    r.inferred = true;
    r.why = "owner " + ref(o->kind, pod.ns, o->name) + " absent; inferred " +
            ref(parent_kind, pod.ns, stem) + " (selector matches)";
    return r;
  }
  return r;
}

WorkloadResolution WorkloadResolver::of_record(std::string_view ns, std::string_view pod,
                                               std::string_view workload,
                                               std::string_view workload_kind,
                                               const Labels* labels) const {
  WorkloadResolution r;
  const std::string who = "pod " + std::string(ns) + "/" + std::string(pod);
  if (labels == nullptr || labels->empty()) {
    r.why = who + " is not in the input and the record carries no labels to check";
    return r;
  }
  // Candidates, most specific first: what the record declares, then what the name says.
  std::vector<std::pair<std::string_view, std::string_view>> candidates;  // kind, name
  if (!workload.empty()) {
    candidates.emplace_back(workload_kind, workload);
    if (workload_kind == "ReplicaSet")
      if (auto [stem, hash] = split_last(workload); !stem.empty())
        candidates.emplace_back("Deployment", stem);
    if (workload_kind == "Job")
      if (auto [stem, t] = split_last(workload); !stem.empty() && all_digits(t))
        candidates.emplace_back("CronJob", stem);
  } else if (auto [owner, tail] = split_last(pod); !owner.empty()) {
    // <statefulset>-<ordinal>; <daemonset|job|replicaset>-<random>; then the owner's owner.
    if (all_digits(tail)) candidates.emplace_back("StatefulSet", owner);
    candidates.emplace_back("DaemonSet", owner);
    candidates.emplace_back("Job", owner);
    candidates.emplace_back("ReplicaSet", owner);
    candidates.emplace_back("ReplicationController", owner);
    if (auto [stem, mid] = split_last(owner); !stem.empty()) {
      auto hash = labels->find("pod-template-hash");
      if (hash == labels->end() || hash->second == mid) candidates.emplace_back("Deployment", stem);
      if (all_digits(mid)) candidates.emplace_back("CronJob", stem);
    }
  }
  bool named = false;
  for (const auto& [kind, name] : candidates) {
    auto w = find(ns, kind, name);
    if (!w) continue;
    named = true;
    if (!fits(*w, *labels)) {
      r.why = who + " is not in the input and the record's labels do not fit the selector of " +
              ref(kind, ns, name);
      continue;
    }
    r.workload = top(*w);
    r.why.clear();
    return r;
  }
  if (!named)
    r.why = who + " is not in the input, nor " +
            (workload.empty() ? std::string("a workload its name says it belongs to")
                              : ref(workload_kind, ns, workload));
  return r;
}

}  // namespace stockade
