#include "agent/pod_names.h"

#include <chrono>

namespace stockade::agent {

Result<void> PodNames::follow(kube::Client& client, const std::string& node,
                              std::function<void(const Error&)> on_stopped) {
  kube::LiveStateOptions lo;
  lo.resources = {"pods"};
  lo.field_selectors["pods"] = "spec.nodeName=" + node;
  lo.on_stopped = [on_stopped = std::move(on_stopped)](const std::string&, const Error& e) {
    if (on_stopped) on_stopped(e);
  };
  auto started = kube::LiveState::start(client, lo, pods_.handler(client.config().server));
  if (!started) return tl::unexpected(started.error());
  live_ = std::move(*started);
  return live_->wait_synced(std::chrono::minutes(2));
}

void PodNames::name(AgentEvent& e) const {
  auto set = [](std::string& ns, std::string& pod, const kube::PodDirectory::Name& p) {
    ns = p.ns;
    pod = p.name;
  };
  std::string& local_ns = e.inbound ? e.dst_ns : e.src_ns;
  std::string& local_pod = e.inbound ? e.dst_pod : e.src_pod;
  if (!e.pod_uid.empty())
    if (auto p = pods_.by_uid(e.pod_uid)) set(local_ns, local_pod, *p);
  if (e.src_pod.empty())
    if (auto p = pods_.by_ip(e.src)) set(e.src_ns, e.src_pod, *p);
  if (e.dst_pod.empty())
    if (auto p = pods_.by_ip(e.dst)) set(e.dst_ns, e.dst_pod, *p);
}

}  // namespace stockade::agent
