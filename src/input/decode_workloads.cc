// Pods, the workloads that own them (and their pod templates), Namespaces and Nodes: the
// endpoints every command reasons about, with the pod security fields posture reads.
#include "input/decode_impl.h"

namespace stockade::input::detail {

// ---- workloads and pods ----------------------------------------------------------------
template <class N>
void Decoder<N>::container_ports(const N& pod_spec, const std::string& path,
                                 std::vector<ContainerPort>& out) const {
  for (std::string_view list : {"containers", "initContainers"}) {
    each_item(pod_spec, list, path + "." + std::string(list),
              [&](const N& c, const std::string& cp) {
                each_item(c, "ports", cp + ".ports", [&](const N& p, const std::string& pp) {
                  ContainerPort port;
                  port.name = opt_string(p, "name", pp + ".name");
                  auto n = opt_int(p, "containerPort", pp + ".containerPort");
                  if (!n) fail(p, pp + ".containerPort: required");
                  port.port = port_number(p, *n, pp + ".containerPort");
                  port.protocol = protocol(p, "protocol", pp + ".protocol");
                  out.push_back(std::move(port));
                });
              });
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
}

// ---- pod security fields (posture) -------------------------------------------------------
// No unknown-field checks here: the API server accepts these objects with fields newer than
// this reader knows, so a scan must too. Types are checked.
template <class N>
std::optional<bool> Decoder<N>::tri_bool(const N& obj, std::string_view key,
                                         const std::string& path) const {
  auto v = obj.get(key);
  if (!v || v->is_null()) return std::nullopt;
  auto b = v->as_bool();
  if (!b) fail(*v, path + ": expected true or false");
  return b;
}

template <class N>
std::vector<std::string> Decoder<N>::string_list(const N& obj, std::string_view key,
                                                 const std::string& path) const {
  std::vector<std::string> out;
  each_item(obj, key, path, [&](const N& v, const std::string& p) {
    auto s = v.as_string();
    if (!s || !v.is_scalar()) fail(v, p + ": expected a string, got " + std::string(v.type_name()));
    out.emplace_back(*s);
  });
  return out;
}

template <class N>
std::string Decoder<N>::nested_string(const N& obj, std::string_view outer, std::string_view key,
                                      const std::string& path) const {
  auto v = obj.get(outer);
  if (!v || v->is_null()) return {};
  if (!v->is_map()) fail(*v, path + "." + std::string(outer) + ": expected an object");
  return opt_string(*v, key, path + "." + std::string(outer) + "." + std::string(key));
}

template <class N>
SecurityContext Decoder<N>::security_context(const N& parent, const std::string& parent_path,
                                             bool pod_level) const {
  SecurityContext sc;
  auto v = parent.get("securityContext");
  if (!v || v->is_null()) return sc;
  std::string path = parent_path + ".securityContext";
  if (!v->is_map()) fail(*v, path + ": expected an object");
  const N& c = *v;
  sc.line = c.line();
  sc.run_as_non_root = tri_bool(c, "runAsNonRoot", path + ".runAsNonRoot");
  sc.run_as_user = opt_int(c, "runAsUser", path + ".runAsUser");
  sc.seccomp_type = nested_string(c, "seccompProfile", "type", path);
  sc.apparmor_type = nested_string(c, "appArmorProfile", "type", path);
  sc.selinux_type = nested_string(c, "seLinuxOptions", "type", path);
  if (auto w = c.get("windowsOptions"); w && !w->is_null()) {
    if (!w->is_map()) fail(*w, path + ".windowsOptions: expected an object");
    sc.windows_host_process = tri_bool(*w, "hostProcess", path + ".windowsOptions.hostProcess");
  }
  if (pod_level) {
    each_item(c, "sysctls", path + ".sysctls", [&](const N& s, const std::string& p) {
      sc.sysctls.push_back(opt_string(s, "name", p + ".name"));
    });
    return sc;
  }
  sc.privileged = tri_bool(c, "privileged", path + ".privileged");
  sc.allow_privilege_escalation =
      tri_bool(c, "allowPrivilegeEscalation", path + ".allowPrivilegeEscalation");
  sc.read_only_root_filesystem =
      tri_bool(c, "readOnlyRootFilesystem", path + ".readOnlyRootFilesystem");
  sc.proc_mount = opt_string(c, "procMount", path + ".procMount");
  if (auto caps = c.get("capabilities"); caps && !caps->is_null()) {
    if (!caps->is_map()) fail(*caps, path + ".capabilities: expected an object");
    sc.capabilities_add = string_list(*caps, "add", path + ".capabilities.add");
    sc.capabilities_drop = string_list(*caps, "drop", path + ".capabilities.drop");
  }
  return sc;
}

template <class N>
ContainerSpec Decoder<N>::container_spec(const N& c, ContainerKind kind,
                                         const std::string& path) const {
  if (!c.is_map()) fail(c, path + ": expected an object");
  ContainerSpec out;
  out.kind = kind;
  out.line = c.line();
  out.name = opt_string(c, "name", path + ".name");
  out.image = opt_string(c, "image", path + ".image");
  out.security = security_context(c, path, false);
  each_item(c, "env", path + ".env", [&](const N& e, const std::string& p) {
    EnvVar ev;
    ev.line = e.line();
    ev.name = opt_string(e, "name", p + ".name");
    if (auto val = e.get("value"); val && !val->is_null()) ev.value = opt_string(e, "value", p);
    if (auto vf = e.get("valueFrom"); vf && !vf->is_null())
      ev.secret_name = nested_string(*vf, "secretKeyRef", "name", p + ".valueFrom");
    if (ev.secret_name.empty()) {  // secretKeyRef with no name still reads a secret
      if (auto vf = e.get("valueFrom"); vf && vf->get("secretKeyRef")) ev.secret_name = "?";
    }
    out.env.push_back(std::move(ev));
  });
  each_item(c, "envFrom", path + ".envFrom", [&](const N& e, const std::string& p) {
    if (auto r = e.get("secretRef"); r && !r->is_null()) {
      std::string n = nested_string(e, "secretRef", "name", p);
      out.env_from_secrets.push_back(n.empty() ? "?" : n);
    }
  });
  each_item(c, "volumeMounts", path + ".volumeMounts", [&](const N& m, const std::string& p) {
    VolumeMount vm;
    vm.name = opt_string(m, "name", p + ".name");
    vm.mount_path = opt_string(m, "mountPath", p + ".mountPath");
    vm.read_only = opt_bool(m, "readOnly", p + ".readOnly");
    vm.sub_path = !opt_string(m, "subPath", p + ".subPath").empty() ||
                  !opt_string(m, "subPathExpr", p + ".subPathExpr").empty();
    out.mounts.push_back(std::move(vm));
  });
  each_item(c, "ports", path + ".ports", [&](const N& p, const std::string& pp) {
    ContainerPortSpec ps;
    ps.line = p.line();
    if (auto n = opt_int(p, "containerPort", pp + ".containerPort"))
      ps.container_port = port_number(p, *n, pp + ".containerPort");
    if (auto h = opt_int(p, "hostPort", pp + ".hostPort"); h && *h != 0)
      ps.host_port = port_number(p, *h, pp + ".hostPort");
    out.ports.push_back(ps);
  });
  if (auto r = c.get("resources"); r && !r->is_null()) {
    if (auto l = r->get("limits"); l && !l->is_null()) {
      if (!l->is_map()) fail(*l, path + ".resources.limits: expected an object");
      out.cpu_limit = l->get("cpu").has_value();
      out.memory_limit = l->get("memory").has_value();
    }
  }
  return out;
}

template <class N>
PodSecuritySpec Decoder<N>::pod_security(const N& spec, Labels annotations,
                                         const std::string& path) const {
  PodSecuritySpec ps;
  ps.annotations = std::move(annotations);
  if (spec.is_null()) return ps;
  if (!spec.is_map()) fail(spec, path + ": expected an object");
  ps.present = true;
  ps.line = spec.line();
  ps.host_pid = opt_bool(spec, "hostPID", path + ".hostPID");
  ps.host_ipc = opt_bool(spec, "hostIPC", path + ".hostIPC");
  ps.host_network = opt_bool(spec, "hostNetwork", path + ".hostNetwork");
  ps.automount_service_account_token =
      tri_bool(spec, "automountServiceAccountToken", path + ".automountServiceAccountToken");
  ps.service_account = opt_string(spec, "serviceAccountName", path + ".serviceAccountName");
  if (ps.service_account.empty())
    ps.service_account = opt_string(spec, "serviceAccount", path + ".serviceAccount");
  ps.security = security_context(spec, path, true);
  static constexpr std::pair<std::string_view, ContainerKind> kLists[] = {
      {"containers", ContainerKind::Container},
      {"initContainers", ContainerKind::Init},
      {"ephemeralContainers", ContainerKind::Ephemeral},
  };
  for (const auto& list : kLists) {
    ContainerKind kind = list.second;  // (clang 14 cannot capture structured bindings)
    each_item(spec, list.first, path + "." + std::string(list.first),
              [&](const N& c, const std::string& p) {
                ps.containers.push_back(container_spec(c, kind, p));
              });
  }
  each_item(spec, "volumes", path + ".volumes", [&](const N& v, const std::string& p) {
    Volume vol;
    vol.line = v.line();
    vol.name = opt_string(v, "name", p + ".name");
    if (auto hp = v.get("hostPath"); hp && !hp->is_null())
      vol.host_path = nested_string(v, "hostPath", "path", p);
    if (auto sec = v.get("secret"); sec && !sec->is_null())
      vol.secret_name = nested_string(v, "secret", "secretName", p);
    if (auto g = v.get("gitRepo"); g && !g->is_null()) vol.git_repo = true;
    ps.volumes.push_back(std::move(vol));
  });
  return ps;
}

template <class N>
PodTemplate Decoder<N>::pod_template(const N& tmpl, const std::string& path,
                                     PodSecuritySpec* security) const {
  PodTemplate t;
  if (tmpl.is_null()) return t;
  Labels annotations;
  if (auto md = tmpl.get("metadata"); md && !md->is_null()) {
    t.labels = string_map(*md, "labels", path + ".metadata.labels", false);
    annotations = string_map(*md, "annotations", path + ".metadata.annotations", false);
    check_labels(*md, t.labels, path + ".metadata.labels");
    check_labels(*md, annotations, path + ".metadata.annotations");
  }
  if (auto spec = tmpl.get("spec"); spec && !spec->is_null()) {
    note_unknown_pod_spec(*spec, unknown_what_ + " " + path + ".spec");
    container_ports(*spec, path + ".spec", t.ports);
    t.host_network = opt_bool(*spec, "hostNetwork", path + ".spec.hostNetwork");
    if (security && ctx_.options->workload_security)
      *security = pod_security(*spec, std::move(annotations), path + ".spec");
    else if (security)  // recommend reads prometheus.io/* from them
      security->annotations = std::move(annotations);
  }
  return t;
}

template <class N>
void Decoder<N>::pod(const N& obj) {
  Meta m = metadata(obj, true);
  where_ = "Pod " + m.ns + "/" + m.name + ": ";
  Pod p;
  p.ns = m.ns;
  p.name = m.name;
  p.uid = m.uid;
  p.spec.labels = std::move(m.labels);
  p.owners = std::move(m.owners);
  p.created_ns = m.created_ns;
  p.deleted_ns = m.deleted_ns;
  p.source = source(obj);
  if (ctx_.options->report_unknown_fields) {
    note_unknown(obj, kObjectFields, "Pod");
    if (auto md = obj.get("metadata")) note_unknown(*md, kMetaFields, "Pod metadata");
    if (auto spec = obj.get("spec")) note_unknown_pod_spec(*spec, "Pod spec");
  }
  if (auto spec = obj.get("spec"); spec && !spec->is_null()) {
    container_ports(*spec, "spec", p.spec.ports);
    p.spec.host_network = opt_bool(*spec, "hostNetwork", "spec.hostNetwork");
    p.node = opt_string(*spec, "nodeName", "spec.nodeName");
    if (ctx_.options->workload_security)
      p.security = pod_security(*spec, std::move(m.annotations), "spec");
    else  // recommend reads prometheus.io/* from them
      p.security.annotations = std::move(m.annotations);
  }
  if (auto st = obj.get("status"); st && !st->is_null()) {
    p.phase = opt_string(*st, "phase", "status.phase");
    auto add_ip = [&](const N& at, std::string_view text, const std::string& path) {
      if (text.empty()) return;
      auto ip = IpAddr::parse(text);
      if (!ip) fail(at, path + ": invalid IP address \"" + std::string(text) + "\"");
      if (std::find(p.ips.begin(), p.ips.end(), *ip) == p.ips.end()) p.ips.push_back(*ip);
    };
    if (auto v = st->get("podIP"); v && !v->is_null())
      add_ip(*v, opt_string(*st, "podIP", "status.podIP"), "status.podIP");
    each_item(*st, "podIPs", "status.podIPs", [&](const N& e, const std::string& path) {
      if (auto v = e.get("ip")) add_ip(*v, opt_string(e, "ip", path + ".ip"), path + ".ip");
    });
  }
  ctx_.state->pods.push_back(std::move(p));
}

template <class N>
void Decoder<N>::workload(const N& obj, WorkloadKind kind) {
  Meta m = metadata(obj, true);
  where_ = std::string(to_string(kind)) + " " + m.ns + "/" + m.name + ": ";
  unknown_what_ = std::string(to_string(kind));
  Workload w;
  w.kind = kind;
  w.ns = m.ns;
  w.name = m.name;
  w.uid = m.uid;
  w.labels = std::move(m.labels);
  w.owners = std::move(m.owners);
  w.annotations = std::move(m.annotations);
  w.source = source(obj);
  auto spec = obj.get("spec");
  if (spec && !spec->is_null()) {
    std::optional<N> tmpl_parent = spec;
    std::string path = "spec";
    if (kind == WorkloadKind::CronJob) {
      auto jt = spec->get("jobTemplate");
      tmpl_parent = jt ? jt->get("spec") : std::nullopt;
      path = "spec.jobTemplate.spec";
    }
    if (tmpl_parent && !tmpl_parent->is_null()) {
      if (auto t = tmpl_parent->get("template"); t && !t->is_null())
        w.pod = pod_template(*t, path + ".template", &w.security);
    }
    if (auto sel = spec->get("selector"); sel && !sel->is_null()) {
      if (kind == WorkloadKind::ReplicationController) {
        LabelSelector s;
        for (auto& [k, v] : string_map(*spec, "selector", "spec.selector", false))
          s.requirements.push_back({k, SelectorOp::In, {v}});
        w.selector = std::move(s);
      } else if (kind != WorkloadKind::CronJob) {
        w.selector = label_selector(*sel, "spec.selector", false);
      }
    }
    w.replicas = opt_int(*spec, "replicas", "spec.replicas");
  }
  ctx_.state->workloads.push_back(std::move(w));
}

template <class N>
void Decoder<N>::namespace_object(const N& obj) {
  Meta m = metadata(obj, false, NameRule::Label);
  Namespace ns;
  ns.name = m.name;
  ns.labels = std::move(m.labels);
  ns.labels["kubernetes.io/metadata.name"] = ns.name;  // the API server always sets it
  ns.annotations = std::move(m.annotations);
  ns.source = source(obj);
  ctx_.state->namespaces.push_back(std::move(ns));
}

template <class N>
void Decoder<N>::node_object(const N& obj) {
  Meta m = metadata(obj, false);
  where_ = "Node " + m.name + ": ";
  Node n;
  n.name = m.name;
  n.labels = std::move(m.labels);
  n.source = source(obj);
  if (auto st = obj.get("status"); st && !st->is_null()) {
    each_item(*st, "addresses", "status.addresses", [&](const N& a, const std::string& p) {
      std::string type = opt_string(a, "type", p + ".type");
      if (type != "InternalIP" && type != "ExternalIP") return;
      std::string text = opt_string(a, "address", p + ".address");
      auto ip = IpAddr::parse(text);
      if (!ip) fail(a, p + ".address: invalid IP address \"" + text + "\"");
      n.addresses.push_back(*ip);
    });
    if (auto info = st->get("nodeInfo"); info && !info->is_null()) {
      n.kubelet_version = opt_string(*info, "kubeletVersion", "status.nodeInfo.kubeletVersion");
      n.os = opt_string(*info, "operatingSystem", "status.nodeInfo.operatingSystem");
    }
  }
  if (n.os.empty())
    if (auto it = n.labels.find("kubernetes.io/os"); it != n.labels.end()) n.os = it->second;
  ctx_.state->nodes.push_back(std::move(n));
}

// string_list serves the services' and RBAC decoders too: instantiated here, where it is
// defined, for them to link against (an inlining compiler emits no copy of its own).
template std::vector<std::string> Decoder<YamlNode>::string_list(const YamlNode&, std::string_view,
                                                                 const std::string&) const;
template std::vector<std::string> Decoder<JsonNode>::string_list(const JsonNode&, std::string_view,
                                                                 const std::string&) const;
template void Decoder<YamlNode>::pod(const YamlNode&);
template void Decoder<JsonNode>::pod(const JsonNode&);
template void Decoder<YamlNode>::workload(const YamlNode&, WorkloadKind);
template void Decoder<JsonNode>::workload(const JsonNode&, WorkloadKind);
template void Decoder<YamlNode>::namespace_object(const YamlNode&);
template void Decoder<JsonNode>::namespace_object(const JsonNode&);
template void Decoder<YamlNode>::node_object(const YamlNode&);
template void Decoder<JsonNode>::node_object(const JsonNode&);

}  // namespace stockade::input::detail
