// What the cluster's objects declare as intended ingress, whether or not the learning window saw
// it: Services exposed outside the cluster (LoadBalancer, NodePort, externalIPs), Ingress and
// Gateway API route backends, Prometheus scrape targets (prometheus.io/scrape on pods, pod
// templates and Services; ServiceMonitors and PodMonitors), the cluster DNS (every pod's
// resolv.conf names it). `recommend` keeps these allowed, and its self-check proves it.
//
// Kubelet probes and other traffic from a pod's own node need nothing: NetworkPolicies always
// allow it (the engine's own-node rule), and the self-check covers them with the rest.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/cluster_state.h"

namespace stockade {

struct DeclaredIngress {
  uint32_t endpoint = 0;          // the destination pod (index into the endpoints)
  bool from_outside = false;      // from any address outside the cluster
  bool from_all_pods = false;     // from every pod of the cluster (the cluster DNS)
  std::vector<uint32_t> sources;  // else from these pods (ingress controller, Prometheus)
  Protocol protocol = Protocol::TCP;
  uint16_t port = 0;
  std::string reason;  // e.g. "Service shop/frontend (LoadBalancer)"
};

// Sorted by (endpoint, reason, protocol, port). `notes` receives what could not be honoured
// (a Prometheus scrape target with no Prometheus pods known, ...).
std::vector<DeclaredIngress> declared_ingress(const ClusterState& state,
                                              const std::vector<Endpoint>& eps,
                                              std::vector<std::string>& notes);

// Namespaces `recommend` leaves alone unless --include-system: kube-system, kube-public,
// kube-node-lease, and the CNI/platform ones listed in declared.cc.
bool is_system_namespace(std::string_view ns);

// The pods of the cluster DNS (k8s-app: kube-dns or coredns).
bool is_cluster_dns_pod(const Endpoint& ep);

}  // namespace stockade
