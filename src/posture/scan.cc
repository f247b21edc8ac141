// `scan`: runs the configuration checks on every pod spec (Pods and workload templates,
// CronJob job templates included), services, ingresses, namespaces, network isolation (from
// the policy engine), RBAC and Kubernetes versions; then ranks workloads by context and
// applies suppressions (reported, never dropped).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <tuple>

#include "posture/posture_impl.h"

namespace stockade::posture {
namespace {

using detail::container_checks;
using detail::ContainerCheckContext;
using detail::make_finding;
using detail::normalize_path;
using detail::PermissionLevel;
using detail::unsafe_selinux_type;

// A thing with a pod spec that findings are reported on: a top-level workload, or a Pod that
// no workload in the input owns (pods of a known workload are reported once, on it).
struct Unit {
  ResourceRef ref;
  const PodSecuritySpec* spec = nullptr;
  const Labels* pod_labels = nullptr;
  Labels annotations;  // object's and pod template's
  SourceRef source;
  std::vector<uint32_t> endpoints;
  Exposure exposure = Exposure::Internal;
  std::vector<std::string> exposed_by;
  bool isolated_ingress = true, isolated_egress = true;
  bool has_endpoints = false;
};

bool subset(const Labels& sel, const Labels& labels) {
  if (sel.empty()) return false;  // a Service with an empty selector selects nothing
  for (const auto& [k, v] : sel) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

bool under(const std::string& path, std::string_view dir) {
  return path == dir ||
         (path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/');
}

bool runtime_socket(const std::string& path) {
  static const std::vector<std::string_view> kSockets = {
      "docker.sock", "containerd.sock", "crio.sock", "cri-dockerd.sock", "dockershim.sock"};
  std::string_view base = path;
  if (size_t s = base.rfind('/'); s != std::string_view::npos) base = base.substr(s + 1);
  for (std::string_view s : kSockets)
    if (base == s) return true;
  // Directories that hold the sockets.
  for (std::string_view d :
       {"/var/run", "/run", "/var/run/docker", "/run/docker", "/var/run/containerd",
        "/run/containerd", "/var/run/crio", "/run/crio", "/var/run/cri-dockerd"})
    if (path == d) return true;
  return false;
}

bool sensitive_path(const std::string& path) {
  if (path == "/") return true;
  for (std::string_view d : {"/etc", "/proc", "/root", "/sys", "/boot", "/dev", "/var/lib/kubelet",
                             "/etc/kubernetes", "/var/lib/docker", "/var/lib/containerd",
                             "/var/lib/etcd", "/home", "/var/log", "/lib/modules", "/usr"})
    if (under(path, d)) return true;
  return false;
}

// PSS baseline "safe" sysctls.
bool safe_sysctl(const std::string& s) {
  static const std::set<std::string, std::less<>> kSafe = {"kernel.shm_rmid_forced",
                                                           "net.ipv4.ip_local_port_range",
                                                           "net.ipv4.ip_unprivileged_port_start",
                                                           "net.ipv4.tcp_syncookies",
                                                           "net.ipv4.ping_group_range",
                                                           "net.ipv4.ip_local_reserved_ports",
                                                           "net.ipv4.tcp_keepalive_time",
                                                           "net.ipv4.tcp_fin_timeout",
                                                           "net.ipv4.tcp_keepalive_intvl",
                                                           "net.ipv4.tcp_keepalive_probes"};
  return kSafe.count(s) > 0;
}

std::string container_where(const ContainerSpec& c) {
  return c.kind == ContainerKind::Container ? "container " + c.name
         : c.kind == ContainerKind::Init    ? "init container " + c.name
                                            : "ephemeral container " + c.name;
}

bool system_workload(const Unit& u) {
  if (!u.pod_labels) return false;
  for (std::string_view k : {"k8s-app", "component", "tier"})
    if (u.pod_labels->count(k)) return true;
  static const std::vector<std::string_view> kNames = {"coredns",
                                                       "kube-dns",
                                                       "kube-proxy",
                                                       "etcd",
                                                       "kube-apiserver",
                                                       "kube-controller-manager",
                                                       "kube-scheduler",
                                                       "metrics-server",
                                                       "calico",
                                                       "cilium",
                                                       "aws-node",
                                                       "konnectivity",
                                                       "cloud-controller-manager",
                                                       "csi",
                                                       "ebs-csi",
                                                       "kindnet",
                                                       "local-path-provisioner"};
  for (std::string_view n : kNames)
    if (u.ref.name.starts_with(n)) return true;
  return false;
}

class Scanner {
 public:
  Scanner(const ClusterState& s, const PolicyEngine& e, const ScanOptions& o)
      : state_(s), engine_(e), opt_(o), rbac_(s) {}
  const std::optional<Error>& rbac_error() const { return rbac_.error(); }

  // Where CVE-2021-25741 applies: "--k8s-version v…" or "the kubelet of node N (v…)".
  std::optional<std::string> subpath_cve_;

  void find_subpath_cve() {
    const auto& table = cve_table();
    auto it = std::find_if(table.begin(), table.end(),
                           [](const CveEntry& e) { return e.cve == "CVE-2021-25741"; });
    if (it == table.end()) return;
    if (!opt_.k8s_version.empty()) {
      if (auto v = parse_k8s_version(opt_.k8s_version); v && affected(*it, *v))
        subpath_cve_ = "--k8s-version " + opt_.k8s_version;
      return;
    }
    for (const Node& n : state_.nodes)
      if (auto v = parse_k8s_version(n.kubelet_version); v && affected(*it, *v)) {
        subpath_cve_ = "the kubelet of node " + n.name + " (" + n.kubelet_version + ")";
        return;
      }
  }

  ScanReport run() {
    find_subpath_cve();
    for (const ServiceAccount& a : state_.service_accounts) service_accounts_[{a.ns, a.name}] = &a;
    build_units();
    exposure();
    isolation();
    for (Unit& u : units_) pod_checks(u);
    service_checks();
    ingress_checks();
    network_policy_checks();
    detail::policy_lint(state_, engine_, report_.findings, report_.warnings);
    for (const NetworkPolicy& np : state_.network_policies)
      annotations_[{"NetworkPolicy", np.ns, np.name}] = np.annotations;
    for (const ClusterPolicy& cp : state_.cluster_policies)
      annotations_[{std::string(to_string(cp.kind)), "", cp.name}] = cp.annotations;
    for (const Namespace& n : state_.namespaces)
      annotations_[{"Namespace", "", n.name}] = n.annotations;
    detail::rbac_findings(rbac_, opt_, report_.findings);
    for (const RbacRole& r : state_.roles)
      annotations_[{r.cluster_scoped ? "ClusterRole" : "Role", r.ns, r.name}] = r.annotations;
    for (const RbacBinding& b : state_.bindings)
      annotations_[{b.cluster_scoped ? "ClusterRoleBinding" : "RoleBinding", b.ns, b.name}] =
          b.annotations;
    cve_checks();
    suppress();
    risk();
    std::sort(report_.findings.begin(), report_.findings.end(),
              [](const Finding& a, const Finding& b) {
                // Severity descending, then resource, check, container, line (no copies).
                return std::tie(b.severity, a.resource.kind, a.resource.ns, a.resource.name, a.id,
                                a.container, a.line) < std::tie(a.severity, b.resource.kind,
                                                                b.resource.ns, b.resource.name,
                                                                b.id, b.container, b.line);
              });
    report_.resources = units_.size() + state_.services.size() + state_.ingresses.size() +
                        state_.network_policies.size() + state_.roles.size() +
                        state_.bindings.size() + state_.service_accounts.size();
    return std::move(report_);
  }

 private:
  const ClusterState& state_;
  const PolicyEngine& engine_;
  const ScanOptions& opt_;
  detail::RbacIndex rbac_;
  std::vector<Unit> units_;
  std::map<ResourceRef, size_t> unit_index_;
  std::map<ResourceRef, Labels> annotations_;
  std::map<ResourceRef, size_t> finding_unit_;  // for the risk ranking
  ScanReport report_;

  void add(Finding f) { report_.findings.push_back(std::move(f)); }

  // ---- units ------------------------------------------------------------------------------

  void build_units() {
    std::map<std::string, size_t> by_uid;
    std::map<std::tuple<std::string, std::string, std::string>, size_t> by_key;
    for (size_t i = 0; i < state_.workloads.size(); ++i) {
      const Workload& w = state_.workloads[i];
      if (!w.uid.empty()) by_uid[w.uid] = i;
      by_key[{w.ns, std::string(to_string(w.kind)), w.name}] = i;
    }
    auto owned = [&](const std::string& ns, const std::vector<OwnerRef>& owners) {
      for (const OwnerRef& o : owners)
        if ((!o.uid.empty() && by_uid.count(o.uid)) || by_key.count({ns, o.kind, o.name}))
          return true;
      return false;
    };
    for (const Workload& w : state_.workloads) {
      if (owned(w.ns, w.owners)) continue;
      Unit u;
      u.ref = {std::string(to_string(w.kind)), w.ns, w.name};
      u.spec = &w.security;
      u.pod_labels = &w.pod.labels;
      u.annotations = w.annotations;
      for (const auto& [k, v] : w.security.annotations) u.annotations.emplace(k, v);
      u.source = w.source;
      units_.push_back(std::move(u));
    }
    for (const Pod& p : state_.pods) {
      if (owned(p.ns, p.owners)) continue;
      Unit u;
      u.ref = {"Pod", p.ns, p.name};
      u.spec = &p.security;
      u.pod_labels = &p.spec.labels;
      u.annotations = p.security.annotations;
      u.source = p.source;
      units_.push_back(std::move(u));
    }
    for (size_t i = 0; i < units_.size(); ++i) {
      unit_index_[units_[i].ref] = i;
      annotations_[units_[i].ref] = units_[i].annotations;
    }
    const auto& eps = engine_.endpoints();
    for (uint32_t i = 0; i < eps.size(); ++i) {
      const Endpoint& e = eps[i];
      ResourceRef key = e.workload_name.empty()
                            ? ResourceRef{"Pod", e.ns, e.name}
                            : ResourceRef{e.workload_kind, e.ns, e.workload_name};
      auto it = unit_index_.find(key);
      if (it == unit_index_.end() && e.kind == "Pod") it = unit_index_.find({"Pod", e.ns, e.name});
      if (it != unit_index_.end()) units_[it->second].endpoints.push_back(i);
    }
  }

  // ---- exposure (Services, Ingresses, host ports) -----------------------------------------

  void exposure() {
    std::map<std::pair<std::string, std::string>, const Service*> svc_by_name;
    for (const Service& s : state_.services) svc_by_name[{s.ns, s.name}] = &s;
    auto raise = [](Unit& u, Exposure e, std::string why) {
      u.exposure = std::max(u.exposure, e);
      if (e != Exposure::Internal) u.exposed_by.push_back(std::move(why));
    };
    // Services by namespace, then units of that namespace.
    std::map<std::string, std::vector<const Service*>> by_ns;
    for (const Service& s : state_.services)
      if (s.type != "ExternalName" && s.selector) by_ns[s.ns].push_back(&s);
    std::map<const Service*, std::vector<size_t>> selected;
    for (size_t i = 0; i < units_.size(); ++i) {
      Unit& u = units_[i];
      auto it = by_ns.find(u.ref.ns);
      if (it != by_ns.end() && u.pod_labels)
        for (const Service* s : it->second) {
          if (!subset(*s->selector, *u.pod_labels)) continue;
          selected[s].push_back(i);
          if (s->type == "LoadBalancer")
            raise(u, Exposure::External, "LoadBalancer Service " + s->ns + "/" + s->name);
          else if (s->type == "NodePort")
            raise(u, Exposure::Node, "NodePort Service " + s->ns + "/" + s->name);
          if (!s->external_ips.empty())
            raise(u, Exposure::External, "externalIPs of Service " + s->ns + "/" + s->name);
        }
      if (u.spec && u.spec->host_network) raise(u, Exposure::Node, "hostNetwork");
      if (u.spec)
        for (const ContainerSpec& c : u.spec->containers)
          for (const ContainerPortSpec& p : c.ports)
            if (p.host_port) raise(u, Exposure::Node, "hostPort " + std::to_string(p.host_port));
    }
    for (const Ingress& ing : state_.ingresses)
      for (const std::string& name : ing.services) {
        auto s = svc_by_name.find({ing.ns, name});
        if (s == svc_by_name.end()) continue;
        for (size_t i : selected[s->second])
          raise(units_[i], Exposure::External, "Ingress " + ing.ns + "/" + ing.name);
      }
    for (const GatewayRoute& r : state_.routes)
      for (const auto& [ns, name] : r.services) {
        auto s = svc_by_name.find({ns, name});
        if (s == svc_by_name.end()) continue;
        for (size_t i : selected[s->second])
          raise(units_[i], Exposure::External, r.kind + " " + r.ns + "/" + r.name);
      }
    for (Unit& u : units_) {
      std::sort(u.exposed_by.begin(), u.exposed_by.end());
      u.exposed_by.erase(std::unique(u.exposed_by.begin(), u.exposed_by.end()), u.exposed_by.end());
      if (u.exposure == Exposure::External) {
        std::string via;
        for (const auto& b : u.exposed_by) via += (via.empty() ? "" : ", ") + b;
        add(make_finding("EXPOSED_EXTERNAL", u.ref, u.source, u.source.line,
                         u.ref.kind + " " + u.ref.name +
                             " is reachable from outside the "
                             "cluster through " +
                             via));
      }
    }
  }

  // ---- isolation (policy engine) ------------------------------------------------------------

  void isolation() {
    for (Unit& u : units_) {
      u.has_endpoints = !u.endpoints.empty();
      for (uint32_t e : u.endpoints) {
        Isolation iso = engine_.isolation(e);
        u.isolated_ingress = u.isolated_ingress && iso.ingress;
        u.isolated_egress = u.isolated_egress && iso.egress;
      }
      if (!u.has_endpoints) continue;
      if (u.isolated_ingress && u.isolated_egress) continue;
      std::string dirs = !u.isolated_ingress && !u.isolated_egress ? "ingress and egress"
                         : !u.isolated_ingress                     ? "ingress"
                                                                   : "egress";
      Finding f = make_finding("NO_NETPOL", u.ref, u.source, u.source.line,
                               u.ref.kind + " " + u.ref.name + " is not isolated for " + dirs +
                                   ": no NetworkPolicy or admin/baseline policy selects it, "
                                   "so every peer may connect");
      if (!u.isolated_ingress && u.exposure == Exposure::External) {
        f.severity = Severity::High;
        f.message += " (and it is exposed outside the cluster)";
      }
      add(std::move(f));
    }
  }

  // ---- pod spec checks ----------------------------------------------------------------------

  void pod_checks(const Unit& u) {
    const PodSecuritySpec& s = *u.spec;
    if (!s.present) return;
    const std::string what = u.ref.kind + " " + u.ref.name;
    auto at = [&](int line) { return line ? line : (s.line ? s.line : u.source.line); };
    auto pod = [&](std::string_view id, int line, std::string msg) {
      add(make_finding(id, u.ref, u.source, at(line), what + ": " + msg));
    };
    auto cont = [&](std::string_view id, const ContainerSpec& c, int line, std::string msg) {
      Finding f = make_finding(id, u.ref, u.source, at(line ? line : c.line),
                               what + ", " + container_where(c) + ": " + msg);
      f.container = c.name;
      add(std::move(f));
    };

    if (s.host_pid) pod("HOST_PID", 0, "shares the host's PID namespace (hostPID)");
    if (s.host_ipc) pod("HOST_IPC", 0, "shares the host's IPC namespace (hostIPC)");
    if (s.host_network) pod("HOST_NETWORK", 0, "uses the host's network namespace (hostNetwork)");

    // Namespaces.
    if (u.ref.ns == "default") pod("DEFAULT_NS", u.source.line, "runs in the default namespace");
    if (u.ref.ns == "kube-system" && !system_workload(u))
      pod("KUBE_SYSTEM_WORKLOAD", u.source.line,
          "runs in kube-system, next to the control plane's privileged service accounts");

    // Volumes.
    std::map<std::string, const Volume*> host_volumes;
    for (const Volume& v : s.volumes) {
      if (!v.host_path) continue;
      std::string path = normalize_path(*v.host_path);
      host_volumes[v.name] = &v;
      pod("HOSTPATH", v.line, "mounts host path " + path + " (volume " + v.name + ")");
      if (runtime_socket(path))
        pod("RUNTIME_SOCKET", v.line,
            "mounts the container runtime socket " + path + " (root on the node)");
      else if (sensitive_path(path))
        pod("HOSTPATH_SENSITIVE", v.line, "mounts the sensitive host directory " + path);
    }

    // Service account and its token.
    std::string sa = s.service_account.empty() ? "default" : s.service_account;
    if (sa == "default") pod("DEFAULT_SA", 0, "uses the namespace's default service account");
    bool mounted = true;
    std::string mount_why = "the default";
    if (s.automount_service_account_token) {
      mounted = *s.automount_service_account_token;
      mount_why = "spec.automountServiceAccountToken";
    } else if (auto a = service_accounts_.find({u.ref.ns, sa});
               a != service_accounts_.end() && a->second->automount_token) {
      mounted = *a->second->automount_token;
      mount_why = "ServiceAccount " + sa;
    }
    if (mounted) {
      const SaRights& rights = sa_rights(u.ref.ns, sa);
      PermissionLevel lvl = rights.level;
      const std::string& detail = rights.detail;
      Finding f = make_finding(
          "SA_TOKEN_AUTOMOUNT", u.ref, u.source, at(0),
          what + ": mounts the token of service account " + sa + " (" + mount_why + ")");
      if (lvl >= PermissionLevel::Elevated) {
        f.severity = Severity::High;
        f.message +=
            "; the account has RBAC permissions (" + std::string(detail::to_string(lvl)) + ")";
      }
      add(std::move(f));
      if (lvl >= PermissionLevel::Takeover) {
        Finding p = make_finding("WORKLOAD_PRIV_SA", u.ref, u.source, at(0),
                                 what + ": its mounted service account " + u.ref.ns + "/" + sa +
                                     " can take over (" + std::string(detail::to_string(lvl)) +
                                     "): " + detail);
        if (lvl == PermissionLevel::ClusterAdmin || u.exposure == Exposure::External)
          p.severity = Severity::Critical;
        add(std::move(p));
      }
      sa_level_[u.ref] = {u.ref.ns + "/" + sa, lvl};
    }

    // Pod-level securityContext pieces.
    for (const std::string& sc : s.security.sysctls)
      if (!safe_sysctl(sc))
        pod("UNSAFE_SYSCTL_PROCMOUNT_SELINUX", s.security.line, "sets the unsafe sysctl " + sc);
    if (unsafe_selinux_type(s.security.selinux_type))
      pod("UNSAFE_SYSCTL_PROCMOUNT_SELINUX", s.security.line,
          "sets the SELinux type " + s.security.selinux_type);

    std::string pod_seccomp = s.security.seccomp_type;
    if (pod_seccomp.empty())
      if (auto it = s.annotations.find("seccomp.security.alpha.kubernetes.io/pod");
          it != s.annotations.end())
        pod_seccomp = it->second == "unconfined" ? "Unconfined" : "RuntimeDefault";

    const ContainerCheckContext x{s, pod_seccomp, host_volumes, opt_.allowed_registries,
                                  subpath_cve_};
    for (const ContainerSpec& c : s.containers)
      container_checks(x, c, [&](std::string_view id, int line, std::string msg) {
        cont(id, c, line, std::move(msg));
      });
  }

  std::map<ResourceRef, std::pair<std::string, PermissionLevel>> sa_level_;
  std::map<std::pair<std::string, std::string>, const ServiceAccount*> service_accounts_;

  // What a service account's token can do (cached: many pods share an account).
  struct SaRights {
    PermissionLevel level = PermissionLevel::None;
    std::string detail;  // the grants that make it a takeover risk
  };
  std::map<std::pair<std::string, std::string>, SaRights> sa_rights_;
  const SaRights& sa_rights(const std::string& ns, const std::string& sa) {
    auto [it, fresh] = sa_rights_.try_emplace({ns, sa});
    if (!fresh) return it->second;
    SaRights& r = it->second;
    auto rights = rbac_.account_rights(ns, sa);
    r.level = rights.level;
    for (const auto& g : rights.takeover) {
      if (r.detail.size() < 400) {
        std::string pats;
        for (const auto& h : g.hits) pats += (pats.empty() ? "" : ", ") + h.what;
        r.detail += (r.detail.empty() ? "" : "; ") + g.role + " via " + g.binding +
                    (g.scope == "cluster" ? " (cluster-wide)" : " (in " + g.scope + ")") + ": " +
                    pats;
      }
    }
    return r;
  }

  // ---- services, ingresses, network policies ----------------------------------------------

  void service_checks() {
    for (const Service& s : state_.services) {
      ResourceRef ref{"Service", s.ns, s.name};
      annotations_[ref] = s.annotations;
      if (!s.external_ips.empty()) {
        std::string ips;
        for (const auto& ip : s.external_ips) ips += (ips.empty() ? "" : ", ") + ip;
        add(make_finding("SVC_EXTERNAL_IPS", ref, s.source, s.source.line,
                         "Service " + s.name + " sets externalIPs (" + ips +
                             "): whoever can create Services can intercept traffic to them "
                             "(CVE-2020-8554)"));
      }
    }
  }

  void ingress_checks() {
    for (const Ingress& ing : state_.ingresses) {
      ResourceRef ref{"Ingress", ing.ns, ing.name};
      annotations_[ref] = ing.annotations;
      if (!ing.tls)
        add(make_finding("INGRESS_NO_TLS", ref, ing.source, ing.source.line,
                         "Ingress " + ing.name + " has no spec.tls: traffic is plain HTTP"));
      for (const auto& [k, v] : ing.annotations)
        if (k.starts_with("nginx.ingress.kubernetes.io/") && k.find("snippet") != std::string::npos)
          add(make_finding("NGINX_SNIPPETS", ref, ing.source, ing.source.line,
                           "Ingress " + ing.name + " sets " + k +
                               ": configuration injected into ingress-nginx (which can read "
                               "every secret of the cluster)"));
    }
  }

  void network_policy_checks() {
    for (const NetworkPolicy& np : state_.network_policies) {
      ResourceRef ref{"NetworkPolicy", np.ns, np.name};
      auto rules = [&](const std::vector<NetworkPolicyRule>& rs, bool active, const char* dir) {
        if (!active) return;
        for (size_t i = 0; i < rs.size(); ++i) {
          const NetworkPolicyRule& r = rs[i];
          std::string why;
          if (r.peers.empty() && r.ports.empty()) {
            why = "allows every peer on every port (an empty rule {})";
          } else if (r.ports.empty()) {
            for (const NetworkPolicyPeer& p : r.peers)
              if (p.namespace_selector && p.namespace_selector->empty() &&
                  (!p.pod_selector || p.pod_selector->empty()))
                why = "allows every pod of every namespace on every port (namespaceSelector: {})";
          }
          if (why.empty()) continue;
          add(make_finding(
              "NETPOL_ALLOW_ALL", ref, np.source, r.line ? r.line : np.source.line,
              "NetworkPolicy " + np.name + " " + dir + " rule " + std::to_string(i) + " " + why));
        }
      };
      rules(np.ingress, np.affects_ingress, "ingress");
      rules(np.egress, np.affects_egress, "egress");
    }
  }

  // ---- versions ---------------------------------------------------------------------------

  void cve_checks() {
    for (const CveMatch& m : detail::version_cves(state_, opt_, report_.warnings)) {
      ResourceRef ref{"Cluster", "", "kubernetes"};
      SourceRef src;
      if (m.where.starts_with("Node ")) {
        std::string node = m.where.substr(5, m.where.find(' ', 5) - 5);
        ref = {"Node", "", node};
        for (const Node& n : state_.nodes)
          if (n.name == node) src = n.source;
      }
      Finding f =
          make_finding("K8S_VERSION_CVE", ref, src, src.line,
                       m.cve + " (" + m.component + ", " + m.summary + "): " + m.where +
                           " version " + m.version +
                           (m.potentially ? " is potentially affected (vendor build: the fix may "
                                            "be backported)"
                                          : " is affected") +
                           "; fixed in " + m.fixed + "; " + m.url);
      f.severity = m.cvss >= 9   ? Severity::Critical
                   : m.cvss >= 7 ? Severity::High
                   : m.cvss >= 4 ? Severity::Medium
                                 : Severity::Low;
      if (m.cvss == 0) f.severity = Severity::Medium;  // no score published
      add(std::move(f));
    }
  }

  // ---- suppressions -----------------------------------------------------------------------

  void suppress() {
    for (Finding& f : report_.findings) {
      auto it = annotations_.find(f.resource);
      if (it != annotations_.end()) {
        auto a = it->second.find("stockade.io/suppress");
        if (a != it->second.end()) {
          const std::string& v = a->second;
          size_t colon = v.find(':');
          std::string ids = v.substr(0, colon);
          std::string reason = colon == std::string::npos ? "" : v.substr(colon + 1);
          while (!reason.empty() && reason.front() == ' ') reason.erase(0, 1);
          bool match = false;
          size_t pos = 0;
          while (pos <= ids.size()) {
            size_t comma = ids.find(',', pos);
            std::string id =
                ids.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
            id.erase(0, id.find_first_not_of(' '));
            id.erase(id.find_last_not_of(' ') + 1);
            if (id == "*" || id == f.id) match = true;
            if (comma == std::string::npos) break;
            pos = comma + 1;
          }
          if (match) {
            f.suppressed =
                Suppression{"annotation", reason.empty() ? "stockade.io/suppress" : reason, ""};
            continue;
          }
        }
      }
      for (const AcceptedFinding& a : opt_.accepted) {
        auto m = [](const std::string& pat, const std::string& v) {
          return pat == "*" || pat == v;
        };
        if (!m(a.check, f.id) || !m(a.kind, f.resource.kind) || !m(a.ns, f.resource.ns) ||
            !m(a.name, f.resource.name) || (!a.container.empty() && !m(a.container, f.container)))
          continue;
        if (!a.expires.empty() && !opt_.today.empty() && a.expires < opt_.today) continue;
        f.suppressed = Suppression{"accepted-file", a.reason, a.expires};
        break;
      }
    }
    for (const AcceptedFinding& a : opt_.accepted)
      if (!a.expires.empty() && !opt_.today.empty() && a.expires < opt_.today)
        report_.warnings.push_back(a.file + ":" + std::to_string(a.line) + ": acceptance of " +
                                   a.check + " on " + a.kind + "/" +
                                   (a.ns.empty() ? "" : a.ns + "/") + a.name + " expired on " +
                                   a.expires + "; the finding is reported again");
  }

  // ---- risk ranking -------------------------------------------------------------------------
  // score = 100 * raw / max_raw, raw = base(worst active finding: low 1, medium 2, high 3,
  // critical 4) * exposure(internal 1, node 1.5, external 2) * (not isolated for ingress 1.3)
  // * (escape-capable 2) * (mounted service account: takeover 1.5, cluster-admin 2)
  // * environment(prod 1.5, dev 0.7). max_raw = 4 * 2 * 1.3 * 2 * 2 * 1.5 = 62.4.

  static Environment environment(const ClusterState& st, const std::string& ns, std::string& why) {
    for (const Namespace& n : st.namespaces) {
      if (n.name != ns) continue;
      for (std::string_view key : {"environment", "env", "tier", "stage"}) {
        auto it = n.labels.find(key);
        if (it == n.labels.end()) continue;
        std::string v = it->second;
        for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        why = "namespace label " + std::string(key) + "=" + it->second;
        if (v == "prod" || v == "production" || v == "prd" || v == "live") return Environment::Prod;
        if (v == "dev" || v == "development" || v == "test" || v == "testing" || v == "qa" ||
            v == "staging" || v == "sandbox")
          return Environment::Dev;
      }
    }
    why = "namespace name " + ns;
    if (ns.find("prod") != std::string::npos) return Environment::Prod;
    for (std::string_view d : {"dev", "test", "staging", "sandbox", "qa"})
      if (ns.find(d) != std::string::npos) return Environment::Dev;
    why.clear();
    return Environment::Unknown;
  }

  void risk() {
    std::map<ResourceRef, std::vector<const Finding*>> by_res;
    for (const Finding& f : report_.findings)
      if (!f.suppressed) by_res[f.resource].push_back(&f);
    for (const Unit& u : units_) {
      auto it = by_res.find(u.ref);
      if (it == by_res.end()) continue;
      RiskEntry r;
      r.resource = u.ref;
      const Finding* worst = nullptr;
      std::set<std::string> escape;
      for (const Finding* f : it->second) {
        if (!worst || f->severity > worst->severity) worst = f;
        if (f->id == "PRIVILEGED" || f->id == "HOST_PID" || f->id == "HOST_NETWORK" ||
            f->id == "DANGEROUS_CAPS" || f->id == "RUNTIME_SOCKET" || f->id == "HOST_IPC" ||
            f->id == "WIN_HOSTPROCESS" || f->id == "HOSTPATH_SENSITIVE")
          escape.insert(f->id);
      }
      double base = static_cast<double>(worst->severity);
      r.factors.push_back("worst finding: " + std::string(to_string(worst->severity)) + " " +
                          worst->id);
      double exp = u.exposure == Exposure::External ? 2 : u.exposure == Exposure::Node ? 1.5 : 1;
      r.exposure = u.exposure;
      std::string via;
      for (const auto& b : u.exposed_by) via += (via.empty() ? "" : ", ") + b;
      r.factors.push_back("exposure: " + std::string(to_string(u.exposure)) +
                          (via.empty() ? "" : " (" + via + ")"));
      r.isolated_ingress = u.has_endpoints && u.isolated_ingress;
      r.isolated_egress = u.has_endpoints && u.isolated_egress;
      double iso = r.isolated_ingress ? 1 : 1.3;
      r.factors.push_back(r.isolated_ingress ? "isolated for ingress" : "not isolated for ingress");
      r.escape_capable = !escape.empty();
      double priv = r.escape_capable ? 2 : 1;
      if (r.escape_capable) {
        std::string list;
        for (const auto& e : escape) list += (list.empty() ? "" : ", ") + e;
        r.factors.push_back("escape-capable: " + list);
      }
      double sa = 1;
      r.sa_permission = "none";
      if (auto s = sa_level_.find(u.ref); s != sa_level_.end()) {
        r.service_account = s->second.first;
        r.sa_permission = std::string(detail::to_string(s->second.second));
        if (s->second.second == PermissionLevel::ClusterAdmin) sa = 2;
        if (s->second.second == PermissionLevel::Takeover) sa = 1.5;
        r.factors.push_back("service account " + s->second.first + " token mounted (" +
                            r.sa_permission + ")");
      }
      std::string env_why;
      r.env = environment(state_, u.ref.ns, env_why);
      double env = r.env == Environment::Prod ? 1.5 : r.env == Environment::Dev ? 0.7 : 1;
      if (r.env != Environment::Unknown)
        r.factors.push_back(std::string("environment: ") +
                            (r.env == Environment::Prod ? "prod" : "dev") + " (" + env_why + ")");
      double raw = base * exp * iso * priv * sa * env;
      r.score = std::round(1000.0 * raw / 62.4) / 10.0;
      report_.risk.push_back(std::move(r));
    }
    std::stable_sort(report_.risk.begin(), report_.risk.end(),
                     [](const RiskEntry& a, const RiskEntry& b) {
                       if (a.score != b.score) return a.score > b.score;
                       return a.resource < b.resource;
                     });
  }
};

}  // namespace

Result<ScanReport> scan(const ClusterState& state, const PolicyEngine& engine,
                        const ScanOptions& options) {
  if (!options.k8s_version.empty() && !parse_k8s_version(options.k8s_version))
    return make_error("--k8s-version: expected a version such as v1.29.3, got \"" +
                      options.k8s_version + "\"");
  Scanner scanner(state, engine, options);
  if (const auto& e = scanner.rbac_error()) return tl::unexpected<Error>(*e);
  return scanner.run();
}

}  // namespace stockade::posture
