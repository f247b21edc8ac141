#include "recommend/declared.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <optional>
#include <tuple>

namespace stockade {

bool is_system_namespace(std::string_view ns) {
  // The Kubernetes ones, and those where CNIs and node-level platform components install
  // themselves (their traffic is the platform's, not the applications').
  static constexpr std::array<std::string_view, 7> kSystem = {
      "kube-system",      "kube-public",     "kube-node-lease",   "calico-system",
      "calico-apiserver", "tigera-operator", "local-path-storage"};
  return std::find(kSystem.begin(), kSystem.end(), ns) != kSystem.end();
}

bool is_cluster_dns_pod(const Endpoint& ep) {
  auto app = ep.pod.labels.find("k8s-app");
  return app != ep.pod.labels.end() && (app->second == "kube-dns" || app->second == "coredns");
}

namespace {

std::string_view label(const Endpoint& ep, std::string_view key) {
  auto it = ep.pod.labels.find(key);
  return it == ep.pod.labels.end() ? std::string_view() : std::string_view(it->second);
}

// Ingress controllers as their upstream charts label them; Gateway API implementations label
// their data-plane pods with the Gateway they serve.
bool is_ingress_controller(const Endpoint& ep) {
  static constexpr std::array<std::string_view, 8> kNames = {
      "ingress-nginx", "nginx-ingress",        "traefik", "contour", "haproxy-ingress",
      "kong",          "istio-ingressgateway", "envoy"};
  for (std::string_view key : {"app.kubernetes.io/name", "app"})
    if (std::find(kNames.begin(), kNames.end(), label(ep, key)) != kNames.end()) return true;
  return label(ep, "istio") == "ingressgateway" ||
         !label(ep, "gateway.networking.k8s.io/gateway-name").empty();
}

bool is_prometheus(const Endpoint& ep) {
  return label(ep, "app.kubernetes.io/name") == "prometheus" || label(ep, "app") == "prometheus";
}

std::optional<uint16_t> parse_port(std::string_view s) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

// The pod port a Service port sends to, resolved on the pod; nullopt when the pod does not
// declare a named target.
std::optional<uint16_t> target_on(const Endpoint& ep, const ServicePort& sp) {
  if (sp.target_number) return sp.target_number;
  if (sp.target_name.empty()) return sp.port;
  for (const ContainerPort& cp : ep.pod.ports)
    if (cp.name == sp.target_name && cp.protocol == sp.protocol) return cp.port;
  return std::nullopt;
}

}  // namespace

namespace {

// The declared ingress of one cluster, collected kind of declaration by kind.
class Declarations {
 public:
  Declarations(const ClusterState& state, const std::vector<Endpoint>& eps)
      : state_(state), eps_(eps) {
    for (uint32_t e = 0; e < eps.size(); ++e) by_ns_[eps[e].ns].push_back(e);
    for (uint32_t e = 0; e < eps.size(); ++e) {
      if (eps[e].pod.host_network) continue;
      if (is_ingress_controller(eps[e])) controllers_.push_back(e);
      if (is_prometheus(eps[e])) prometheus_.push_back(e);
    }
    for (const Service& svc : state.services) services_[{svc.ns, svc.name}] = &svc;
  }

  std::vector<DeclaredIngress> run(std::vector<std::string>& notes) {
    exposed_services();
    route_backends();
    annotated_scrape_targets();
    for (const ScrapeMonitor& m : state_.monitors) monitor_targets(m);
    cluster_dns();
    if (targets_ && prometheus_.empty())
      notes.push_back(std::to_string(targets_) +
                      " pod(s) ask to be scraped (prometheus.io/scrape, ServiceMonitors, "
                      "PodMonitors) but no Prometheus pod "
                      "(app or app.kubernetes.io/name: prometheus) is in the input: nothing kept "
                      "for them beyond what was observed");
    auto key = [](const DeclaredIngress& d) {
      return std::tie(d.endpoint, d.reason, d.protocol, d.port, d.from_outside, d.from_all_pods,
                      d.sources);
    };
    std::sort(out_.begin(), out_.end(),
              [&](const DeclaredIngress& a, const DeclaredIngress& b) { return key(a) < key(b); });
    out_.erase(std::unique(out_.begin(), out_.end(),
                           [&](const DeclaredIngress& a, const DeclaredIngress& b) {
                             return key(a) == key(b);
                           }),
               out_.end());
    return std::move(out_);
  }

 private:
  const ClusterState& state_;
  const std::vector<Endpoint>& eps_;
  std::vector<DeclaredIngress> out_;
  std::map<std::string, std::vector<uint32_t>, std::less<>> by_ns_;
  std::vector<uint32_t> controllers_, prometheus_;
  std::map<std::pair<std::string, std::string>, const Service*> services_;
  size_t targets_ = 0;  // scrape targets asked for

  std::vector<uint32_t> service_pods(const Service& svc) const {
    std::vector<uint32_t> pods;
    if (!svc.selector || svc.selector->empty()) return pods;  // no selector: no pods of ours
    auto it = by_ns_.find(svc.ns);
    if (it == by_ns_.end()) return pods;
    for (uint32_t e : it->second)
      if (!eps_[e].pod.host_network && service_selects(svc, eps_[e].ns, eps_[e].pod.labels))
        pods.push_back(e);
    return pods;
  }

  void expose_service(const Service& svc, bool outside, const std::vector<uint32_t>& from,
                      const std::string& reason) {
    for (uint32_t e : service_pods(svc))
      for (const ServicePort& sp : svc.ports)
        if (auto port = target_on(eps_[e], sp))
          out_.push_back({e, outside, false, outside ? std::vector<uint32_t>{} : from, sp.protocol,
                          *port, reason});
  }

  // Services reachable from outside the cluster.
  void exposed_services() {
    for (const Service& svc : state_.services) {
      if (svc.type == "LoadBalancer" || svc.type == "NodePort")
        expose_service(svc, true, {}, "Service " + svc.ns + "/" + svc.name + " (" + svc.type + ")");
      else if (!svc.external_ips.empty())
        expose_service(svc, true, {}, "Service " + svc.ns + "/" + svc.name + " (externalIPs)");
    }
  }

  // Ingress and Gateway route backends: from the ingress controller's pods when the input holds
  // them, else from outside (a cloud load balancer sending to the pods directly).
  void route_backends() {
    const bool known_controllers = !controllers_.empty();
    const std::string via = known_controllers ? " (from the ingress controller's pods)" : "";
    for (const Ingress& ing : state_.ingresses)
      for (const std::string& name : ing.services)
        if (auto it = services_.find({ing.ns, name}); it != services_.end())
          expose_service(*it->second, !known_controllers, controllers_,
                         "Ingress " + ing.ns + "/" + ing.name + " backend " + name + via);
    for (const GatewayRoute& r : state_.routes)
      for (const auto& [ns, name] : r.services)
        if (auto it = services_.find({ns, name}); it != services_.end())
          expose_service(*it->second, !known_controllers, controllers_,
                         r.kind + " " + r.ns + "/" + r.name + " backend " + name + via);
  }

  // A scrape target: port from prometheus.io/port, else the declared ports named *metrics*,
  // else every declared TCP port (Prometheus' pod discovery).
  void add_scrape(uint32_t e, std::string_view port_text, const std::string& reason) {
    ++targets_;
    if (prometheus_.empty() || eps_[e].pod.host_network) return;
    std::vector<uint16_t> ports;
    if (auto p = parse_port(port_text)) {
      ports.push_back(*p);
    } else {
      for (const ContainerPort& cp : eps_[e].pod.ports)
        if (cp.protocol == Protocol::TCP && cp.name.find("metrics") != std::string::npos)
          ports.push_back(cp.port);
      if (ports.empty())
        for (const ContainerPort& cp : eps_[e].pod.ports)
          if (cp.protocol == Protocol::TCP) ports.push_back(cp.port);
    }
    std::vector<uint32_t> from;
    for (uint32_t p : prometheus_)
      if (p != e) from.push_back(p);
    if (from.empty()) return;
    for (uint16_t port : ports)
      out_.push_back({e, false, false, from, Protocol::TCP, port, reason});
  }

  // The endpoint of a pod, or of a workload standing for its pods (endpoints are sorted by
  // namespace and name); only the annotated objects are looked up.
  std::optional<uint32_t> endpoint_of(const std::string& ns, const std::string& name,
                                      bool pod) const {
    auto it = std::lower_bound(eps_.begin(), eps_.end(), std::pair(&ns, &name),
                               [](const Endpoint& e, const auto& k) {
                                 return std::tie(e.ns, e.name) < std::tie(*k.first, *k.second);
                               });
    if (it == eps_.end() || it->ns != ns || it->name != name || (it->kind == "Pod") != pod)
      return std::nullopt;
    return static_cast<uint32_t>(it - eps_.begin());
  }

  // prometheus.io/scrape on the pod (or the template of a workload that stands for its pods)
  // or on a Service.
  void annotated_scrape_targets() {
    auto scrape = [](const Labels* a) -> std::pair<bool, std::string_view> {
      if (!a) return {false, {}};
      auto s = a->find("prometheus.io/scrape");
      if (s == a->end() || s->second != "true") return {false, {}};
      auto p = a->find("prometheus.io/port");
      return {true, p == a->end() ? std::string_view() : std::string_view(p->second)};
    };
    const std::string on_pod = "prometheus.io/scrape on the pod (Prometheus scrapes it)";
    for (const Pod& p : state_.pods)
      if (auto [on, port] = scrape(&p.security.annotations); on)
        if (auto e = endpoint_of(p.ns, p.name, true)) add_scrape(*e, port, on_pod);
    for (const Workload& w : state_.workloads)
      if (auto [on, port] = scrape(&w.security.annotations); on)
        if (auto e = endpoint_of(w.ns, w.name, false)) add_scrape(*e, port, on_pod);
    for (const Service& svc : state_.services)
      if (auto [on, port] = scrape(&svc.annotations); on)
        for (uint32_t e : service_pods(svc)) {
          std::string_view text = port;
          std::string number;
          if (text.empty() && !svc.ports.empty())
            if (auto t = target_on(eps_[e], svc.ports.front())) text = number = std::to_string(*t);
          add_scrape(e, text,
                     "prometheus.io/scrape on Service " + svc.ns + "/" + svc.name +
                         " (Prometheus scrapes it)");
        }
  }

  static std::optional<uint16_t> named_port(const Endpoint& ep, const std::string& name) {
    for (const ContainerPort& cp : ep.pod.ports)
      if (cp.name == name && cp.protocol == Protocol::TCP) return cp.port;
    return std::nullopt;
  }

  // ServiceMonitors and PodMonitors (Prometheus Operator): the Services (pods) their selector
  // picks in their namespaceSelector's namespaces (their own by default), on the ports named.
  // A port that does not resolve on a pod keeps nothing there (Prometheus finds no target).
  void monitor_targets(const ScrapeMonitor& m) {
    auto monitor_namespace = [&](const std::string& ns) {
      return m.any_namespace ||
             (m.namespaces.empty()
                  ? ns == m.ns
                  : std::find(m.namespaces.begin(), m.namespaces.end(), ns) != m.namespaces.end());
    };
    const std::string reason =
        m.kind + " " + m.ns + "/" + m.name + " (Prometheus Operator scrapes it)";
    auto keep = [&](uint32_t e, std::optional<uint16_t> port) {
      if (port) add_scrape(e, std::to_string(*port), reason);
    };
    if (m.kind == "PodMonitor") {
      for (uint32_t e = 0; e < eps_.size(); ++e) {
        if (!monitor_namespace(eps_[e].ns) || !m.selector.matches(eps_[e].pod.labels)) continue;
        for (const ScrapeMonitor::Port& p : m.ports)
          keep(e, p.number                 ? std::optional<uint16_t>(p.number)
                  : !p.target_name.empty() ? named_port(eps_[e], p.target_name)
                                           : named_port(eps_[e], p.name));
      }
      return;
    }
    for (const Service& svc : state_.services) {
      if (!monitor_namespace(svc.ns) || !m.selector.matches(svc.labels)) continue;
      for (uint32_t e : service_pods(svc))
        for (const ScrapeMonitor::Port& p : m.ports) {
          if (p.number) {
            keep(e, p.number);
          } else if (!p.target_name.empty()) {
            keep(e, named_port(eps_[e], p.target_name));
          } else {
            for (const ServicePort& sp : svc.ports)
              if (sp.name == p.name && sp.protocol == Protocol::TCP)
                keep(e, target_on(eps_[e], sp));
          }
        }
    }
  }

  // The cluster DNS: the kubelet points every pod at it, observed or not.
  void cluster_dns() {
    for (uint32_t e = 0; e < eps_.size(); ++e) {
      if (!is_cluster_dns_pod(eps_[e]) || eps_[e].pod.host_network) continue;
      bool any = false;
      for (const ContainerPort& cp : eps_[e].pod.ports)
        if (cp.port == 53 || cp.name.starts_with("dns")) {
          dns_entry(e, cp.protocol, cp.port);
          any = true;
        }
      if (!any)
        for (Protocol p : {Protocol::UDP, Protocol::TCP}) dns_entry(e, p, 53);
    }
  }
  void dns_entry(uint32_t e, Protocol protocol, uint16_t port) {
    DeclaredIngress d;
    d.endpoint = e;
    d.from_all_pods = true;
    d.protocol = protocol;
    d.port = port;
    d.reason = "the cluster DNS (every pod resolves names through it)";
    out_.push_back(std::move(d));
  }
};

}  // namespace

std::vector<DeclaredIngress> declared_ingress(const ClusterState& state,
                                              const std::vector<Endpoint>& eps,
                                              std::vector<std::string>& notes) {
  return Declarations(state, eps).run(notes);
}

}  // namespace stockade
