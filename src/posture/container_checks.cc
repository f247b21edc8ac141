// The checks of one container of a pod spec (POSTURE.md section 1): its security context,
// capabilities, user, filesystem, profiles and host mounts, then its resources, image and
// environment.
#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include "posture/posture_impl.h"

namespace stockade::posture::detail {

namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string normalize_cap(std::string c) {
  c = upper(std::move(c));
  if (c.starts_with("CAP_")) c = c.substr(4);
  return c;
}

bool secret_like_name(const std::string& name) {
  std::string n = upper(name);
  for (std::string_view k : {"PASSWORD", "PASSWD", "PWD", "SECRET", "TOKEN", "API_KEY", "APIKEY",
                             "ACCESS_KEY", "PRIVATE_KEY", "CREDENTIAL", "AUTH_KEY", "CLIENT_KEY"})
    if (n.find(k) != std::string::npos) return true;
  return false;
}

// A value that is a credential whatever the variable is called.
bool secret_like_value(const std::string& v) {
  static const std::regex kPatterns(
      R"((AKIA|ASIA)[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|gh[pousr]_[A-Za-z0-9]{36}|xox[abpr]-[A-Za-z0-9-]{10,}|sk_live_[0-9a-zA-Z]{24})");
  return std::regex_search(v, kPatterns);
}

// Values that are clearly not secrets even under a secret-like name.
bool placeholder_value(const std::string& v) {
  if (v.empty() || v.starts_with("$(") || v.starts_with("/")) return true;
  std::string u = upper(v);
  return u == "TRUE" || u == "FALSE" || u == "CHANGEME" || u == "NONE" || u == "NULL";
}

struct ImageRef {
  bool digest = false;
  std::string tag;  // "" when none
};
ImageRef parse_image(const std::string& image) {
  ImageRef r;
  if (image.find('@') != std::string::npos) {
    r.digest = true;
    return r;
  }
  size_t slash = image.rfind('/');
  size_t colon = image.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash))
    r.tag = image.substr(colon + 1);
  return r;
}

// "nginx" -> "docker.io/library/nginx", "reg:5000/a" stays: the form --allowed-registry
// prefixes are compared with.
std::string normalized_image(const std::string& image) {
  size_t slash = image.find('/');
  if (slash == std::string::npos) return "docker.io/library/" + image;
  std::string first = image.substr(0, slash);
  bool registry = first.find('.') != std::string::npos || first.find(':') != std::string::npos ||
                  first == "localhost";
  return registry ? image : "docker.io/" + image;
}

void security_checks(const ContainerCheckContext& x, const ContainerSpec& c,
                     const ContainerReport& cont) {
  const PodSecuritySpec& s = x.pod;
  const SecurityContext& cs = c.security;
  int scl = cs.line;
  bool privileged = cs.privileged.value_or(false);
  if (privileged) cont("PRIVILEGED", scl, "runs privileged (full access to the host)");
  if (!cs.allow_privilege_escalation.has_value() || *cs.allow_privilege_escalation)
    cont("PRIV_ESCALATION", scl,
         cs.allow_privilege_escalation ? "sets allowPrivilegeEscalation: true"
                                       : "does not set allowPrivilegeEscalation: false");
  if (cs.windows_host_process.value_or(s.security.windows_host_process.value_or(false)))
    cont("WIN_HOSTPROCESS", scl, "runs as a Windows HostProcess container");
  for (const ContainerPortSpec& p : c.ports) {
    if (p.host_port) cont("HOST_PORT", p.line, "binds host port " + std::to_string(p.host_port));
    if (p.container_port == 22) cont("SSH_PORT", p.line, "declares port 22 (SSH)");
  }
  // Capabilities.
  std::vector<std::string> bad;
  static const std::set<std::string, std::less<>> kDangerous = {
      "ALL",       "SYS_ADMIN",       "NET_ADMIN", "SYS_MODULE", "SYS_PTRACE", "NET_RAW",  "BPF",
      "SYS_RAWIO", "DAC_READ_SEARCH", "SYS_BOOT",  "PERFMON",    "SYS_TIME",   "MAC_ADMIN"};
  for (const std::string& cap : cs.capabilities_add)
    if (kDangerous.count(normalize_cap(cap))) bad.push_back(normalize_cap(cap));
  if (!bad.empty()) {
    std::string list;
    for (const auto& b : bad) list += (list.empty() ? "" : ", ") + b;
    cont("DANGEROUS_CAPS", scl, "adds the capabilities " + list);
  }
  bool drops_all = std::any_of(cs.capabilities_drop.begin(), cs.capabilities_drop.end(),
                               [](const std::string& d) { return normalize_cap(d) == "ALL"; });
  if (!drops_all && !privileged) cont("CAPS_NOT_DROPPED", scl, "does not drop ALL capabilities");
  // Root.
  std::optional<int64_t> uid = cs.run_as_user ? cs.run_as_user : s.security.run_as_user;
  std::optional<bool> nonroot =
      cs.run_as_non_root ? cs.run_as_non_root : s.security.run_as_non_root;
  if (uid && *uid == 0)
    cont("RUN_AS_ROOT", scl, "runs as user 0 (root)");
  else if (!nonroot.value_or(false) && !(uid && *uid > 0))
    cont("RUN_AS_ROOT", scl, "may run as root (runAsNonRoot is not true, no runAsUser)");
  if (!cs.read_only_root_filesystem.value_or(false))
    cont("RW_ROOTFS", scl, "has a writable root filesystem");
  // seccomp and AppArmor.
  std::string seccomp = cs.seccomp_type.empty() ? x.pod_seccomp : cs.seccomp_type;
  if (!privileged && (seccomp.empty() || seccomp == "Unconfined"))
    cont("SECCOMP", scl, seccomp.empty() ? "has no seccomp profile" : "sets seccomp Unconfined");
  std::string apparmor = cs.apparmor_type.empty() ? s.security.apparmor_type : cs.apparmor_type;
  if (auto it = s.annotations.find("container.apparmor.security.beta.kubernetes.io/" + c.name);
      it != s.annotations.end() && cs.apparmor_type.empty() && it->second == "unconfined")
    apparmor = "Unconfined";
  if (apparmor == "Unconfined") cont("APPARMOR", scl, "runs AppArmor unconfined");
  if (cs.proc_mount == "Unmasked")
    cont("UNSAFE_SYSCTL_PROCMOUNT_SELINUX", scl, "sets procMount: Unmasked");
  if (unsafe_selinux_type(cs.selinux_type))
    cont("UNSAFE_SYSCTL_PROCMOUNT_SELINUX", scl, "sets the SELinux type " + cs.selinux_type);
  // hostPath mounts.
  for (const VolumeMount& m : c.mounts) {
    auto hv = x.host_volumes.find(m.name);
    if (hv != x.host_volumes.end() && !m.read_only)
      cont("HOSTPATH_WRITABLE", hv->second->line,
           "mounts host path " + normalize_path(*hv->second->host_path) + " writable at " +
               m.mount_path);
  }
}

void image_and_env_checks(const ContainerCheckContext& x, const ContainerSpec& c,
                          const ContainerReport& cont) {
  // Resources, images.
  if (c.kind != ContainerKind::Ephemeral && (!c.cpu_limit || !c.memory_limit))
    cont("NO_LIMITS", 0,
         std::string("has no ") + (!c.cpu_limit && !c.memory_limit ? "cpu and memory limits"
                                   : !c.cpu_limit                  ? "cpu limit"
                                                                   : "memory limit"));
  ImageRef img = parse_image(c.image);
  if (!c.image.empty() && !img.digest && (img.tag.empty() || img.tag == "latest"))
    cont("IMAGE_TAG", 0,
         "image " + c.image + (img.tag.empty() ? " has no tag" : " uses :latest") +
             " and no digest");
  if (!x.allowed_registries.empty() && !c.image.empty()) {
    std::string full = normalized_image(c.image);
    bool ok = std::any_of(x.allowed_registries.begin(), x.allowed_registries.end(),
                          [&](const std::string& p) { return full.starts_with(p); });
    if (!ok)
      cont("UNTRUSTED_REGISTRY", 0,
           "image " + c.image + " (" + full + ") is not from an allowed registry");
  }
  if (x.subpath_cve)
    for (const VolumeMount& m : c.mounts)
      if (m.sub_path) {
        cont("SUBPATH_CVE", 0,
             "mounts volume " + m.name + " with subPath while " + *x.subpath_cve +
                 " is affected by CVE-2021-25741 (symlink escape to the host filesystem)");
        break;
      }
  for (std::string_view ui : {"kubernetes-dashboard", "kubernetesui/dashboard", "jupyter",
                              "kubeflow", "tensorboard", "mlflow", "kube-web-view"})
    if (c.image.find(ui) != std::string::npos) {
      cont("SENSITIVE_UI", 0, "runs a sensitive UI (" + c.image + ")");
      break;
    }
  // Secrets in env.
  for (const EnvVar& e : c.env) {
    if (e.value && !placeholder_value(*e.value) &&
        (secret_like_value(*e.value) || (secret_like_name(e.name) && e.value->size() >= 4)))
      cont("PLAINTEXT_SECRET", e.line,
           "environment variable " + e.name + " holds a literal secret-like value");
    if (!e.secret_name.empty())
      cont("SECRET_AS_ENV", e.line,
           "environment variable " + e.name + " comes from Secret " + e.secret_name);
  }
  for (const std::string& sec : c.env_from_secrets)
    cont("SECRET_AS_ENV", 0, "imports every key of Secret " + sec + " as environment");
}

}  // namespace

std::string normalize_path(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

bool unsafe_selinux_type(const std::string& t) {
  return !t.empty() && t != "container_t" && t != "container_init_t" && t != "container_kvm_t" &&
         t != "container_engine_t";
}

void container_checks(const ContainerCheckContext& x, const ContainerSpec& c,
                      const ContainerReport& report) {
  security_checks(x, c, report);
  image_and_env_checks(x, c, report);
}

}  // namespace stockade::posture::detail
