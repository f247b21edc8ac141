#include "input/decode.h"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <set>
#include <span>

#include "core/json_text.h"
#include "input/node_adapters.h"
#include "model/flow.h"

namespace stockade::input {
namespace {

// Thrown inside this file only, caught at the document boundary: keeps the many field checks
// readable. Decoding is not a hot path for errors.
struct DecodeError {
  int line;
  std::string message;
};

// Whether `api_version` names an API group other than `group` (the group a kind we decode
// belongs to) that is no core or legacy group: another project's kind of the same name, such
// as Antrea's crd.antrea.io NetworkPolicy and ClusterNetworkPolicy.
bool foreign_group(std::string_view api_version, std::string_view group) {
  std::string_view g = api_version.substr(0, api_version.find('/'));
  return api_version.find('/') != std::string_view::npos && g.find('.') != std::string_view::npos &&
         g != group;
}

// A kind the loader does not model that allows or denies traffic, as "Kind (group)", else "":
// the verdicts ignore it, so every command warns about it on stderr (not only with -v) and the
// verdict commands exit 3. Any kind named like a network policy in any group (Antrea's,
// OpenShift's EgressNetworkPolicy, Multus' MultiNetworkPolicy, GKE's FQDNNetworkPolicy), every
// other kind of the Network Policy API's group, Istio's AuthorizationPolicy and OVN-Kubernetes'
// EgressFirewall. Other kinds (ConfigMaps, CRDs, Cilium's identities) are skipped silently.
std::string unmodelled_policy_kind(const std::string& kind, const std::string& api_version) {
  std::string group = api_version.substr(0, api_version.find('/'));
  if (api_version.find('/') == std::string::npos) group = "core";
  static constexpr std::pair<std::string_view, std::string_view> kOthers[] = {
      {"security.istio.io", "AuthorizationPolicy"},
      {"k8s.ovn.org", "EgressFirewall"},
  };
  bool policy =
      kind.find("NetworkPolicy") != std::string::npos || group == "policy.networking.k8s.io";
  for (const auto& [g, k] : kOthers) policy = policy || (group == g && kind == k);
  return policy ? kind + " (" + group + ")" : std::string();
}

template <class N>
class Decoder {
 public:
  explicit Decoder(DecodeContext& ctx) : ctx_(ctx) {}

  // `item_kind` / `item_api_version`: what the items of a typed list (PodList, as the API
  // server answers a list) are when they do not say it themselves.
  void document(const N& doc, int list_depth, const std::string& item_kind = {},
                const std::string& item_api_version = {}) {
    if (doc.is_null()) return;  // empty YAML document
    if (!doc.is_map()) fail(doc, "expected a Kubernetes object (a mapping)");
    check_duplicates(doc, "");
    if (auto md = doc.get("metadata")) check_duplicates(*md, "metadata");
    std::string kind = opt_string(doc, "kind", "kind");
    std::string api_version = opt_string(doc, "apiVersion", "apiVersion");
    if (kind.empty()) kind = item_kind;
    if (api_version.empty()) api_version = item_api_version;
    if (kind.empty()) fail(doc, "object has no kind");
    if (kind == "List" || (kind.size() > 4 && kind.ends_with("List") && doc.get("items"))) {
      if (list_depth >= 4) fail(doc, "Lists nested too deeply");
      auto items = doc.get("items");
      if (!items || items->is_null()) return;
      if (!items->is_seq()) fail(*items, "items: expected a list");
      std::string inner = kind == "List" ? std::string() : kind.substr(0, kind.size() - 4);
      std::string inner_api = kind == "List" ? std::string() : api_version;
      items->items([&](const N& item) {
        document(item, list_depth + 1, inner, inner_api);
        return true;
      });
      check_budget(doc);
      return;
    }
    object(doc, kind, api_version);
    check_budget(doc);
  }

 private:
  DecodeContext& ctx_;
  std::string where_;         // "NetworkPolicy ns/name: " prefix for messages
  std::string unknown_what_;  // the kind, for ClusterState::unknown_fields

  [[noreturn]] void fail(const N& at, const std::string& msg) const {
    throw DecodeError{at.line(), where_ + msg};
  }
  void check_budget(const N& at) const {
    if (at.budget_exhausted())
      throw DecodeError{at.line(), "document too large after expanding YAML aliases"};
  }

  // ---- small readers ---------------------------------------------------------------------

  std::string opt_string(const N& obj, std::string_view key, const std::string& path) const {
    auto v = obj.get(key);
    if (!v || v->is_null()) return {};
    auto s = v->as_string();
    if (!s) fail(*v, path + ": expected a string, got " + std::string(v->type_name()));
    return std::string(*s);
  }
  std::optional<int64_t> opt_int(const N& obj, std::string_view key,
                                 const std::string& path) const {
    auto v = obj.get(key);
    if (!v || v->is_null()) return std::nullopt;
    auto i = v->as_int();
    if (!i) fail(*v, path + ": expected an integer");
    return i;
  }
  bool opt_bool(const N& obj, std::string_view key, const std::string& path) const {
    auto v = obj.get(key);
    if (!v || v->is_null()) return false;
    auto b = v->as_bool();
    if (!b) fail(*v, path + ": expected true or false");
    return *b;
  }
  // Rejects fields the API does not define (kubectl's strict field validation).
  void check_fields(const N& obj, std::initializer_list<std::string_view> allowed,
                    const std::string& path) const {
    if (!obj.is_map()) fail(obj, path + ": expected an object");
    std::vector<std::string_view> seen;
    obj.fields([&](std::string_view key, const N& value) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        fail(value, (path.empty() ? "" : path + ".") + "unknown field " + quoted(key));
      // JSON input (YAML refuses duplicates while it is parsed): Go's decoder keeps the last
      // value, simdjson finds the first; strict field validation refuses both.
      if (std::find(seen.begin(), seen.end(), key) != seen.end())
        fail(value, (path.empty() ? "" : path + ".") + "duplicate field " + quoted(key));
      seen.push_back(key);
      return true;
    });
  }
  // Duplicate keys of an object that is not checked field by field (see check_fields).
  void check_duplicates(const N& obj, const std::string& path) const {
    if (!obj.is_map()) return;
    std::vector<std::string_view> seen;
    obj.fields([&](std::string_view key, const N& value) {
      if (std::find(seen.begin(), seen.end(), key) != seen.end())
        fail(value, (path.empty() ? "" : path + ".") + "duplicate field " + quoted(key));
      seen.push_back(key);
      return true;
    });
  }
  template <class F>
  void each_item(const N& obj, std::string_view key, const std::string& path, F&& f) const {
    auto v = obj.get(key);
    if (!v || v->is_null()) return;
    if (!v->is_seq()) fail(*v, path + ": expected a list");
    size_t i = 0;
    v->items([&](const N& item) {
      f(item, path + "[" + std::to_string(i++) + "]");
      return true;
    });
  }
  Labels string_map(const N& obj, std::string_view key, const std::string& path,
                    bool validate) const {
    Labels out;
    auto v = obj.get(key);
    if (!v || v->is_null()) return out;
    if (!v->is_map()) fail(*v, path + ": expected a map of strings");
    v->fields([&](std::string_view k, const N& val) {
      std::string value;
      if (!val.is_null()) {
        auto s = val.as_string();
        if (!s)
          fail(val, path + "." + std::string(k) + ": expected a string, got " +
                        std::string(val.type_name()));
        value = std::string(*s);
      }
      if (validate) {
        if (auto m = validate_label_key(k); !m.empty()) fail(val, path + ": " + m);
        if (auto m = validate_label_value(value); !m.empty()) fail(val, path + ": " + m);
      }
      out[std::string(k)] = std::move(value);
      return true;
    });
    return out;
  }

  // ---- unknown fields (LoadOptions::report_unknown_fields) ---------------------------------

  using FieldList = std::span<const std::string_view>;
  static constexpr std::string_view kObjectFields[] = {"apiVersion", "kind", "metadata", "spec",
                                                       "status"};
  static constexpr std::string_view kMetaFields[] = {"name",
                                                     "generateName",
                                                     "namespace",
                                                     "selfLink",
                                                     "uid",
                                                     "resourceVersion",
                                                     "generation",
                                                     "creationTimestamp",
                                                     "deletionTimestamp",
                                                     "deletionGracePeriodSeconds",
                                                     "labels",
                                                     "annotations",
                                                     "ownerReferences",
                                                     "finalizers",
                                                     "managedFields"};
  static constexpr std::string_view kPodSpecFields[] = {"volumes",
                                                        "initContainers",
                                                        "containers",
                                                        "ephemeralContainers",
                                                        "restartPolicy",
                                                        "terminationGracePeriodSeconds",
                                                        "activeDeadlineSeconds",
                                                        "dnsPolicy",
                                                        "nodeSelector",
                                                        "serviceAccountName",
                                                        "serviceAccount",
                                                        "automountServiceAccountToken",
                                                        "nodeName",
                                                        "hostNetwork",
                                                        "hostPID",
                                                        "hostIPC",
                                                        "shareProcessNamespace",
                                                        "securityContext",
                                                        "imagePullSecrets",
                                                        "hostname",
                                                        "subdomain",
                                                        "affinity",
                                                        "schedulerName",
                                                        "tolerations",
                                                        "hostAliases",
                                                        "priorityClassName",
                                                        "priority",
                                                        "dnsConfig",
                                                        "readinessGates",
                                                        "runtimeClassName",
                                                        "enableServiceLinks",
                                                        "preemptionPolicy",
                                                        "overhead",
                                                        "topologySpreadConstraints",
                                                        "setHostnameAsFQDN",
                                                        "os",
                                                        "hostUsers",
                                                        "schedulingGates",
                                                        "resourceClaims",
                                                        "resources"};
  static constexpr std::string_view kContainerFields[] = {"name",
                                                          "image",
                                                          "command",
                                                          "args",
                                                          "workingDir",
                                                          "ports",
                                                          "envFrom",
                                                          "env",
                                                          "resources",
                                                          "resizePolicy",
                                                          "restartPolicy",
                                                          "volumeMounts",
                                                          "volumeDevices",
                                                          "livenessProbe",
                                                          "readinessProbe",
                                                          "startupProbe",
                                                          "lifecycle",
                                                          "terminationMessagePath",
                                                          "terminationMessagePolicy",
                                                          "imagePullPolicy",
                                                          "securityContext",
                                                          "stdin",
                                                          "stdinOnce",
                                                          "tty",
                                                          "targetContainerName"};
  static constexpr std::string_view kSecurityContextFields[] = {"capabilities",
                                                                "privileged",
                                                                "seLinuxOptions",
                                                                "windowsOptions",
                                                                "runAsUser",
                                                                "runAsGroup",
                                                                "runAsNonRoot",
                                                                "readOnlyRootFilesystem",
                                                                "allowPrivilegeEscalation",
                                                                "procMount",
                                                                "seccompProfile",
                                                                "appArmorProfile",
                                                                "supplementalGroups",
                                                                "supplementalGroupsPolicy",
                                                                "fsGroup",
                                                                "fsGroupChangePolicy",
                                                                "sysctls",
                                                                "seLinuxChangePolicy"};

  void note_unknown(const N& obj, FieldList known, const std::string& what) const {
    if (!ctx_.options->report_unknown_fields || !obj.is_map()) return;
    obj.fields([&](std::string_view key, const N&) {
      if (std::find(known.begin(), known.end(), key) == known.end())
        ctx_.state->unknown_fields[what + "." + quoted(key)]++;
      return true;
    });
  }
  // A pod spec (of a Pod or a template): its own fields, its containers' and security contexts'.
  void note_unknown_pod_spec(const N& spec, const std::string& what) const {
    if (!ctx_.options->report_unknown_fields) return;
    note_unknown(spec, kPodSpecFields, what);
    if (auto sc = spec.get("securityContext"))
      note_unknown(*sc, kSecurityContextFields, what + ".securityContext");
    for (std::string_view list : {"containers", "initContainers", "ephemeralContainers"}) {
      auto v = spec.get(list);
      if (!v || !v->is_seq()) continue;
      std::string p = what + "." + std::string(list) + "[]";
      v->items([&](const N& c) {
        note_unknown(c, kContainerFields, p);
        if (auto sc = c.get("securityContext"))
          note_unknown(*sc, kSecurityContextFields, p + ".securityContext");
        return true;
      });
    }
  }

  // ---- shared pieces -----------------------------------------------------------------------

  struct Meta {
    std::string name, ns, uid;
    Labels labels;
    Labels annotations;
    std::vector<OwnerRef> owners;
    int64_t created_ns = 0, deleted_ns = 0;
  };

  // How the API server validates an object's name (apimachinery's ValidateObjectMeta with the
  // kind's name function).
  enum class NameRule : uint8_t { Subdomain, Label, Dns1035, PathSegment };

  static std::string quoted(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
  }

  // Labels are validated on every object (a label with a newline or a quote would otherwise
  // reach generated policies and output); annotation keys are qualified names too.
  void check_labels(const N& md, const Labels& labels, const std::string& path) const {
    auto at = md.get(path.ends_with("annotations") ? "annotations" : "labels");
    size_t total = 0;
    for (const auto& [k, v] : labels) total += k.size() + v.size();
    if (path.ends_with("annotations") && total > 256 * 1024)
      fail(at ? *at : md, path + ": Too long: must have at most 262144 bytes");
    for (const auto& [k, v] : labels) {
      if (auto msg = validate_label_key(k); !msg.empty())
        fail(at ? *at : md, path + ": invalid key " + quoted(k) + ": " + after_quote(msg));
      if (path.ends_with("annotations")) continue;
      if (auto msg = validate_label_value(v); !msg.empty())
        fail(at ? *at : md,
             path + "." + k + ": invalid value " + quoted(v) + ": " + after_quote(msg));
    }
  }
  // The reason part of validate_label_*'s message (which quotes the text unescaped).
  static std::string after_quote(const std::string& msg) {
    size_t colon = msg.rfind("\": ");
    return colon == std::string::npos ? msg : msg.substr(colon + 3);
  }
  void check_name(const N& at, std::string_view name, NameRule rule,
                  const std::string& path) const {
    std::string msg = rule == NameRule::Label         ? validate_dns1123_label(name)
                      : rule == NameRule::Dns1035     ? validate_dns1035_label(name)
                      : rule == NameRule::PathSegment ? validate_path_segment_name(name)
                                                      : validate_dns1123_subdomain(name);
    if (!msg.empty()) fail(at, path + ": invalid value " + quoted(name) + ": " + msg);
  }

  Meta metadata(const N& obj, bool namespaced, NameRule rule = NameRule::Subdomain) const {
    Meta m;
    auto md = obj.get("metadata");
    if (md && !md->is_null()) {
      if (!md->is_map()) fail(*md, "metadata: expected an object");
      m.name = opt_string(*md, "name", "metadata.name");
      m.ns = opt_string(*md, "namespace", "metadata.namespace");
      m.uid = opt_string(*md, "uid", "metadata.uid");
      for (auto [key, out] : {std::pair{"creationTimestamp", &m.created_ns},
                              std::pair{"deletionTimestamp", &m.deleted_ns}}) {
        std::string t = opt_string(*md, key, std::string("metadata.") + key);
        if (t.empty()) continue;
        // A time outside 1678..2261 (e.g. Go's zero time) or malformed is left unknown: it
        // only orders pods that reused an address.
        if (auto ns = parse_rfc3339(t)) *out = *ns;
      }
      m.labels = string_map(*md, "labels", "metadata.labels", false);
      m.annotations = string_map(*md, "annotations", "metadata.annotations", false);
      each_item(*md, "ownerReferences", "metadata.ownerReferences",
                [&](const N& o, const std::string& p) {
                  OwnerRef r;
                  r.kind = opt_string(o, "kind", p + ".kind");
                  r.name = opt_string(o, "name", p + ".name");
                  r.uid = opt_string(o, "uid", p + ".uid");
                  r.controller = opt_bool(o, "controller", p + ".controller");
                  m.owners.push_back(std::move(r));
                });
    }
    if (m.name.empty()) fail(obj, "metadata.name is required");
    if (namespaced && m.ns.empty()) m.ns = ctx_.options->default_namespace;
    if (!namespaced) m.ns.clear();
    const N& at = md && !md->is_null() ? *md : obj;
    check_name(at, m.name, rule, "metadata.name");
    if (namespaced) check_name(at, m.ns, NameRule::Label, "metadata.namespace");
    check_labels(at, m.labels, "metadata.labels");
    check_labels(at, m.annotations, "metadata.annotations");
    return m;
  }

  SourceRef source(const N& obj) const { return SourceRef{ctx_.file, obj.line()}; }

  LabelSelector label_selector(const N& sel, const std::string& path, bool validate) const {
    LabelSelector out;
    if (sel.is_null()) return out;
    if (!sel.is_map()) fail(sel, path + ": expected a label selector");
    if (validate) check_fields(sel, {"matchLabels", "matchExpressions"}, path);
    Labels ml = string_map(sel, "matchLabels", path + ".matchLabels", validate);
    for (auto& [k, v] : ml) out.requirements.push_back({k, SelectorOp::In, {v}});
    each_item(sel, "matchExpressions", path + ".matchExpressions",
              [&](const N& e, const std::string& p) {
                if (validate) check_fields(e, {"key", "operator", "values"}, p);
                SelectorRequirement r;
                r.key = opt_string(e, "key", p + ".key");
                std::string op = opt_string(e, "operator", p + ".operator");
                if (op == "In") {
                  r.op = SelectorOp::In;
                } else if (op == "NotIn") {
                  r.op = SelectorOp::NotIn;
                } else if (op == "Exists") {
                  r.op = SelectorOp::Exists;
                } else if (op == "DoesNotExist") {
                  r.op = SelectorOp::DoesNotExist;
                } else {
                  fail(e, p + ".operator: \"" + op + "\" is not a valid label selector operator");
                }
                each_item(e, "values", p + ".values", [&](const N& v, const std::string& vp) {
                  auto s = v.as_string();
                  if (!s) fail(v, vp + ": expected a string, got " + std::string(v.type_name()));
                  if (validate)
                    if (auto m = validate_label_value(*s); !m.empty()) fail(v, vp + ": " + m);
                  r.values.emplace_back(*s);
                });
                if (validate) {
                  if (auto m = validate_label_key(r.key); !m.empty()) fail(e, p + ".key: " + m);
                  bool needs_values = r.op == SelectorOp::In || r.op == SelectorOp::NotIn;
                  if (needs_values && r.values.empty())
                    fail(e, p + ".values: must be specified when operator is In or NotIn");
                  if (!needs_values && !r.values.empty())
                    fail(e, p + ".values: may not be specified when operator is Exists or "
                                "DoesNotExist");
                }
                std::sort(r.values.begin(), r.values.end());
                r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
                out.requirements.push_back(std::move(r));
              });
    return out;
  }

  std::optional<LabelSelector> opt_selector(const N& obj, std::string_view key,
                                            const std::string& path, bool validate) const {
    auto v = obj.get(key);
    if (!v || v->is_null()) return std::nullopt;
    return label_selector(*v, path, validate);
  }

  Protocol protocol(const N& obj, std::string_view key, const std::string& path) const {
    std::string p = opt_string(obj, key, path);
    if (p.empty()) return Protocol::TCP;
    auto pr = parse_protocol(p);
    if (!pr)
      fail(*obj.get(key), path + ": unsupported value \"" + p +
                              "\": supported values: \"SCTP\", \"TCP\", \"UDP\"");
    return *pr;
  }

  uint16_t port_number(const N& at, int64_t v, const std::string& path) const {
    if (v < 1 || v > 65535) fail(at, path + ": must be between 1 and 65535, inclusive");
    return static_cast<uint16_t>(v);
  }

  Cidr cidr(const N& at, std::string_view text, const std::string& path) const {
    auto c = Cidr::parse(text);
    if (!c) fail(at, path + ": invalid CIDR \"" + std::string(text) + "\"");
    return *c;
  }

  // ---- workloads and pods ----------------------------------------------------------------

  void container_ports(const N& pod_spec, const std::string& path,
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

  std::optional<bool> tri_bool(const N& obj, std::string_view key, const std::string& path) const {
    auto v = obj.get(key);
    if (!v || v->is_null()) return std::nullopt;
    auto b = v->as_bool();
    if (!b) fail(*v, path + ": expected true or false");
    return b;
  }
  std::vector<std::string> string_list(const N& obj, std::string_view key,
                                       const std::string& path) const {
    std::vector<std::string> out;
    each_item(obj, key, path, [&](const N& v, const std::string& p) {
      auto s = v.as_string();
      if (!s || !v.is_scalar())
        fail(v, p + ": expected a string, got " + std::string(v.type_name()));
      out.emplace_back(*s);
    });
    return out;
  }
  std::string nested_string(const N& obj, std::string_view outer, std::string_view key,
                            const std::string& path) const {
    auto v = obj.get(outer);
    if (!v || v->is_null()) return {};
    if (!v->is_map()) fail(*v, path + "." + std::string(outer) + ": expected an object");
    return opt_string(*v, key, path + "." + std::string(outer) + "." + std::string(key));
  }

  SecurityContext security_context(const N& parent, const std::string& parent_path,
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

  ContainerSpec container_spec(const N& c, ContainerKind kind, const std::string& path) const {
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

  PodSecuritySpec pod_security(const N& spec, Labels annotations, const std::string& path) const {
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

  PodTemplate pod_template(const N& tmpl, const std::string& path,
                           PodSecuritySpec* security = nullptr) const {
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

  void pod(const N& obj) {
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

  void workload(const N& obj, WorkloadKind kind) {
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

  void namespace_object(const N& obj) {
    Meta m = metadata(obj, false, NameRule::Label);
    Namespace ns;
    ns.name = m.name;
    ns.labels = std::move(m.labels);
    ns.labels["kubernetes.io/metadata.name"] = ns.name;  // the API server always sets it
    ns.annotations = std::move(m.annotations);
    ns.source = source(obj);
    ctx_.state->namespaces.push_back(std::move(ns));
  }

  void node_object(const N& obj) {
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

  void service(const N& obj) {
    Meta m = metadata(obj, true, NameRule::Dns1035);
    where_ = "Service " + m.ns + "/" + m.name + ": ";
    Service s;
    s.ns = m.ns;
    s.name = m.name;
    s.labels = std::move(m.labels);  // what ServiceMonitors select
    s.annotations = std::move(m.annotations);
    s.source = source(obj);
    if (auto spec = obj.get("spec"); spec && !spec->is_null()) {
      s.external_ips = string_list(*spec, "externalIPs", "spec.externalIPs");
      s.type = opt_string(*spec, "type", "spec.type");
      if (s.type.empty()) s.type = "ClusterIP";
      if (auto sel = spec->get("selector"); sel && !sel->is_null())
        s.selector = string_map(*spec, "selector", "spec.selector", false);
      auto add_ip = [&](const N& at, const std::string& text) {
        if (text.empty() || text == "None") return;
        auto ip = IpAddr::parse(text);
        if (!ip) fail(at, "spec.clusterIP: invalid IP address \"" + text + "\"");
        if (std::find(s.cluster_ips.begin(), s.cluster_ips.end(), *ip) == s.cluster_ips.end())
          s.cluster_ips.push_back(*ip);
      };
      add_ip(*spec, opt_string(*spec, "clusterIP", "spec.clusterIP"));
      each_item(*spec, "clusterIPs", "spec.clusterIPs", [&](const N& v, const std::string& p) {
        auto t = v.as_string();
        if (!t) fail(v, p + ": expected a string, got " + std::string(v.type_name()));
        add_ip(v, std::string(*t));
      });
      each_item(*spec, "ports", "spec.ports", [&](const N& p, const std::string& pp) {
        ServicePort sp;
        sp.name = opt_string(p, "name", pp + ".name");
        sp.protocol = protocol(p, "protocol", pp + ".protocol");
        auto n = opt_int(p, "port", pp + ".port");
        if (!n) fail(p, pp + ".port: required");
        sp.port = port_number(p, *n, pp + ".port");
        if (auto t = p.get("targetPort"); t && !t->is_null()) {
          if (auto i = t->as_int())
            sp.target_number = port_number(*t, *i, pp + ".targetPort");
          else if (auto str = t->as_string())
            sp.target_name = std::string(*str);
          else  // IntOrString: a JSON string or an int32; a float or a boolean is neither
            fail(*t, pp + ".targetPort: expected an integer or a string, got " +
                         std::string(t->type_name()));
        } else {
          sp.target_number = sp.port;
        }
        if (auto np = opt_int(p, "nodePort", pp + ".nodePort"))
          sp.node_port = port_number(p, *np, pp + ".nodePort");
        s.ports.push_back(std::move(sp));
      });
    }
    ctx_.state->services.push_back(std::move(s));
  }

  // ---- NetworkPolicy -----------------------------------------------------------------------

  NetworkPolicyPort np_port(const N& p, const std::string& path) const {
    check_fields(p, {"protocol", "port", "endPort"}, path);
    NetworkPolicyPort out;
    if (auto pr = p.get("protocol"); pr && !pr->is_null()) {
      // Set but empty is not "unset" to the API server: it refuses it (only an absent
      // protocol defaults to TCP).
      if (auto s = pr->as_string(); s && s->empty())
        fail(*pr, path +
                      ".protocol: unsupported value \"\": supported values: \"SCTP\", "
                      "\"TCP\", \"UDP\"");
      out.protocol = protocol(p, "protocol", path + ".protocol");
    }
    auto port = p.get("port");
    auto end = opt_int(p, "endPort", path + ".endPort");
    if (port && !port->is_null()) {
      if (auto n = port->as_int()) {
        out.kind = NetworkPolicyPort::Kind::Number;
        out.port = port_number(*port, *n, path + ".port");
        if (end) {
          if (*end < *n) fail(p, path + ".endPort: must be greater than or equal to `port`");
          out.end_port = port_number(p, *end, path + ".endPort");
        }
      } else if (auto s = port->as_string()) {
        out.kind = NetworkPolicyPort::Kind::Name;
        out.name = std::string(*s);
        if (auto m = validate_port_name(out.name); !m.empty())
          fail(*port, path + ".port: invalid port name \"" + out.name + "\": " + m);
        if (end) fail(p, path + ".endPort: may not be specified when `port` is non-numeric");
      } else {
        fail(*port, path + ".port: expected a port number or name");
      }
    } else if (end) {
      fail(p, path + ".endPort: may not be specified when `port` is not specified");
    }
    return out;
  }

  NetworkPolicyPeer np_peer(const N& p, const std::string& path) const {
    check_fields(p, {"podSelector", "namespaceSelector", "ipBlock"}, path);
    NetworkPolicyPeer out;
    out.pod_selector = opt_selector(p, "podSelector", path + ".podSelector", true);
    out.namespace_selector =
        opt_selector(p, "namespaceSelector", path + ".namespaceSelector", true);
    if (auto ib = p.get("ipBlock"); ib && !ib->is_null()) {
      std::string ip_path = path + ".ipBlock";
      check_fields(*ib, {"cidr", "except"}, ip_path);
      std::string text = opt_string(*ib, "cidr", ip_path + ".cidr");
      if (text.empty()) fail(*ib, ip_path + ".cidr: required");
      IpBlock block;
      block.cidr = cidr(*ib, text, ip_path + ".cidr");
      out.ip_block_cidr = text;
      each_item(*ib, "except", ip_path + ".except", [&](const N& e, const std::string& ep) {
        auto s = e.as_string();
        if (!s) fail(e, ep + ": expected a string, got " + std::string(e.type_name()));
        Cidr c = cidr(e, *s, ep);
        if (!(c.network.v6 == block.cidr.network.v6 && c.prefix > block.cidr.prefix &&
              block.cidr.contains(c.network)))
          fail(e, ep + ": must be a strict subset of `cidr`");
        block.except.push_back(c);
      });
      out.ip_block = std::move(block);
    }
    int n = out.pod_selector.has_value() + out.namespace_selector.has_value() +
            out.ip_block.has_value();
    if (n == 0) fail(p, path + ": must specify a peer");
    if (n > 1 && out.ip_block) fail(p, path + ": may not specify both ipBlock and another peer");
    return out;
  }

  std::vector<NetworkPolicyRule> np_rules(const N& spec, std::string_view key,
                                          std::string_view peers_key) const {
    std::vector<NetworkPolicyRule> rules;
    each_item(spec, key, "spec." + std::string(key), [&](const N& r, const std::string& rp) {
      if (r.is_null()) {  // `- ` : an empty rule, matches everything
        rules.emplace_back().line = r.line();
        return;
      }
      check_fields(r, {"ports", peers_key}, rp);
      NetworkPolicyRule rule;
      rule.line = r.line();
      each_item(r, "ports", rp + ".ports",
                [&](const N& p, const std::string& pp) { rule.ports.push_back(np_port(p, pp)); });
      each_item(r, peers_key, rp + "." + std::string(peers_key),
                [&](const N& p, const std::string& pp) { rule.peers.push_back(np_peer(p, pp)); });
      rules.push_back(std::move(rule));
    });
    return rules;
  }

  void network_policy(const N& obj, const std::string& api_version) {
    if (api_version != "networking.k8s.io/v1")
      fail(obj, "NetworkPolicy: unsupported apiVersion \"" + api_version +
                    "\" (expected networking.k8s.io/v1)");
    check_fields(obj, {"apiVersion", "kind", "metadata", "spec", "status"}, "");
    Meta m = metadata(obj, true);
    where_ = "NetworkPolicy " + m.ns + "/" + m.name + ": ";
    NetworkPolicy np;
    np.ns = m.ns;
    np.name = m.name;
    np.annotations = std::move(m.annotations);
    np.source = source(obj);
    auto spec = obj.get("spec");
    bool has_egress_rules = false;
    bool types_given = false;
    if (spec && !spec->is_null()) {
      check_fields(*spec, {"podSelector", "policyTypes", "ingress", "egress"}, "spec");
      if (auto ps = spec->get("podSelector"))
        np.pod_selector = label_selector(*ps, "spec.podSelector", true);
      np.ingress = np_rules(*spec, "ingress", "from");
      np.egress = np_rules(*spec, "egress", "to");
      has_egress_rules = !np.egress.empty();
      int count = 0;
      each_item(*spec, "policyTypes", "spec.policyTypes", [&](const N& t, const std::string& p) {
        auto s = t.as_string();
        if (s && *s == "Ingress") {
          np.affects_ingress = true;
        } else if (s && *s == "Egress") {
          np.affects_egress = true;
        } else {
          fail(t, p + ": unsupported value: supported values: \"Ingress\", \"Egress\"");
        }
        ++count;
      });
      if (count > 2) fail(*spec, "spec.policyTypes: may not specify more than two policyTypes");
      types_given = count > 0;
    }
    if (!types_given) {  // the API server's defaulting
      np.affects_ingress = true;
      np.affects_egress = has_egress_rules;
    }
    ctx_.state->network_policies.push_back(std::move(np));
  }

  // ---- AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy ----------------

  ClusterPodSet pod_set(const N& v, bool namespaces_form, const std::string& path) const {
    ClusterPodSet s;
    if (namespaces_form) {
      s.namespace_selector = label_selector(v, path, true);
      return s;
    }
    check_fields(v, {"namespaceSelector", "podSelector"}, path);
    auto ns = v.get("namespaceSelector");
    auto ps = v.get("podSelector");
    // CNP requires only podSelector; ANP requires both.
    if (!ps || ps->is_null()) fail(v, path + ".podSelector: required");
    if (ns && !ns->is_null())
      s.namespace_selector = label_selector(*ns, path + ".namespaceSelector", true);
    else if (!cnp_)
      fail(v, path + ".namespaceSelector: required");
    s.pod_selector = label_selector(*ps, path + ".podSelector", true);
    return s;
  }

  ClusterPodSet subject(const N& spec) const {
    auto subj = spec.get("subject");
    if (!subj || subj->is_null()) fail(spec, "spec.subject: required");
    check_fields(*subj, {"namespaces", "pods"}, "spec.subject");
    auto ns = subj->get("namespaces");
    auto pods = subj->get("pods");
    if (ns.has_value() == pods.has_value())
      fail(*subj, "spec.subject: exactly one of namespaces or pods must be set");
    return ns ? pod_set(*ns, true, "spec.subject.namespaces")
              : pod_set(*pods, false, "spec.subject.pods");
  }

  ClusterPeer cluster_peer(const N& p, bool egress, const std::string& path) const {
    // An experimental-channel peer this reader cannot evaluate: which addresses a name stands
    // for is DNS at run time, not something the objects say.
    if (cnp_ && egress && p.is_map() && p.get("domainNames"))
      fail(*p.get("domainNames"), path +
                                      ".domainNames: domain name peers are not supported "
                                      "(the addresses they stand for are only known to DNS)");
    if (egress)
      check_fields(p, {"namespaces", "pods", "nodes", "networks"}, path);
    else
      check_fields(p, {"namespaces", "pods"}, path);
    int n = 0;
    ClusterPeer out;
    p.fields([&](std::string_view key, const N& v) {
      ++n;
      std::string kp = path + "." + std::string(key);
      if (key == "namespaces") {
        out.kind = ClusterPeer::Kind::Namespaces;
        out.pods = pod_set(v, true, kp);
      } else if (key == "pods") {
        out.kind = ClusterPeer::Kind::Pods;
        out.pods = pod_set(v, false, kp);
      } else if (key == "nodes") {
        experimental_only(v, kp);  // experimental in every release of every kind
        out.kind = ClusterPeer::Kind::Nodes;
        out.node_selector = label_selector(v, kp, true);
      } else {
        out.kind = ClusterPeer::Kind::Networks;
        if (!v.is_seq()) fail(v, kp + ": expected a list of CIDRs");
        size_t i = 0;
        v.items([&](const N& c) {
          auto s = c.as_string();
          std::string cp = kp + "[" + std::to_string(i++) + "]";
          if (!s) fail(c, cp + ": expected a string, got " + std::string(c.type_name()));
          out.networks.push_back(cidr(c, *s, cp));
          // v1beta1 (like v1alpha2 since network-policy-api v0.2.1) wants the network address
          // itself: `isCIDR(self) && cidr(self) == cidr(self).masked()`. v0.2.0's v1alpha2 CRD
          // took host bits (and implementations masked them), so v1alpha2 objects may carry them.
          if (cnp_beta_ && IpAddr::parse(s->substr(0, s->find('/'))) != out.networks.back().network)
            fail(c, cp + ": Invalid CIDR format provided: \"" + std::string(*s) +
                        "\" has host bits set (the network is " + out.networks.back().str() + ")");
          return true;
        });
        if (out.networks.empty() || out.networks.size() > 25)
          fail(v, kp + ": must have between 1 and 25 CIDRs");
      }
      return true;
    });
    if (n != 1) fail(p, path + ": exactly one of namespaces, pods, nodes or networks must be set");
    return out;
  }

  ClusterPolicyPort anp_port(const N& p, const std::string& path) const {
    check_fields(p, {"portNumber", "namedPort", "portRange"}, path);
    ClusterPolicyPort out;
    int n = 0;
    if (auto v = p.get("portNumber"); v && !v->is_null()) {
      ++n;
      std::string pp = path + ".portNumber";
      check_fields(*v, {"protocol", "port"}, pp);
      out.kind = ClusterPolicyPort::Kind::Number;
      out.protocol = protocol(*v, "protocol", pp + ".protocol");
      auto port = opt_int(*v, "port", pp + ".port");
      if (!port) fail(*v, pp + ".port: required");
      out.start = out.end = port_number(*v, *port, pp + ".port");
    }
    if (auto v = p.get("namedPort"); v && !v->is_null()) {
      ++n;
      experimental_only(*v, path + ".namedPort");  // not in the standard CRD (v0.1.7)
      out.kind = ClusterPolicyPort::Kind::Named;
      auto s = v->as_string();
      if (!s) fail(*v, path + ".namedPort: expected a string, got " + std::string(v->type_name()));
      out.name = std::string(*s);
    }
    if (auto v = p.get("portRange"); v && !v->is_null()) {
      ++n;
      std::string pp = path + ".portRange";
      check_fields(*v, {"protocol", "start", "end"}, pp);
      out.kind = ClusterPolicyPort::Kind::Range;
      out.protocol = protocol(*v, "protocol", pp + ".protocol");
      range(*v, pp, out);
    }
    if (n != 1) fail(p, path + ": exactly one of portNumber, namedPort or portRange must be set");
    return out;
  }

  void range(const N& v, const std::string& path, ClusterPolicyPort& out) const {
    auto s = opt_int(v, "start", path + ".start");
    auto e = opt_int(v, "end", path + ".end");
    if (!s || !e) fail(v, path + ": start and end are required");
    out.start = port_number(v, *s, path + ".start");
    out.end = port_number(v, *e, path + ".end");
    if (out.start >= out.end) fail(v, path + ": Start port must be less than End port");
  }

  // ClusterNetworkPolicy `protocols` entries: {tcp|udp|sctp: {destinationPort: {number|range}}}
  // or {destinationNamedPort: NAME}.
  ClusterPolicyPort cnp_protocol(const N& p, const std::string& path) const {
    check_fields(p, {"tcp", "udp", "sctp", "destinationNamedPort"}, path);
    ClusterPolicyPort out;
    int n = 0;
    p.fields([&](std::string_view key, const N& v) {
      ++n;
      std::string kp = path + "." + std::string(key);
      if (key == "destinationNamedPort") {
        // Standard in v0.2.0's v1alpha2 CRD; experimental again since v0.2.1, so in v1beta1.
        if (cnp_beta_) experimental_only(v, kp);
        auto s = v.as_string();
        if (!s) fail(v, kp + ": expected a string, got " + std::string(v.type_name()));
        out.kind = ClusterPolicyPort::Kind::Named;
        out.name = std::string(*s);
        return true;
      }
      out.protocol = key == "tcp" ? Protocol::TCP : key == "udp" ? Protocol::UDP : Protocol::SCTP;
      check_fields(v, {"destinationPort"}, kp);
      auto dp = v.get("destinationPort");
      if (!dp || dp->is_null()) fail(v, kp + ".destinationPort: required");
      std::string dpp = kp + ".destinationPort";
      check_fields(*dp, {"number", "range"}, dpp);
      auto num = dp->get("number");
      auto rng = dp->get("range");
      if (num.has_value() == rng.has_value())
        fail(*dp, dpp + ": exactly one of number or range must be set");
      if (num) {
        auto i = num->as_int();
        if (!i) fail(*num, dpp + ".number: expected an integer");
        out.kind = ClusterPolicyPort::Kind::Number;
        out.start = out.end = port_number(*num, *i, dpp + ".number");
      } else {
        check_fields(*rng, {"start", "end"}, dpp + ".range");
        out.kind = ClusterPolicyPort::Kind::Range;
        range(*rng, dpp + ".range", out);
      }
      return true;
    });
    if (n != 1)
      fail(p, path + ": exactly one of tcp, udp, sctp or destinationNamedPort must be set");
    return out;
  }

  std::vector<ClusterPolicyRule> cluster_rules(const N& spec, bool egress,
                                               bool baseline_anp) const {
    std::vector<ClusterPolicyRule> rules;
    std::string key = egress ? "egress" : "ingress";
    std::string peers_key = egress ? "to" : "from";
    std::string ports_key = cnp_ ? "protocols" : "ports";
    // MaxItems of rules, peers and protocols: 25 in ClusterNetworkPolicy (every version),
    // 100 in the v1alpha1 kinds.
    const size_t max_items = cnp_ ? 25 : 100;
    each_item(spec, key, "spec." + key, [&](const N& r, const std::string& rp) {
      check_fields(r, {"name", "action", std::string_view(peers_key), std::string_view(ports_key)},
                   rp);
      ClusterPolicyRule rule;
      rule.line = r.line();
      rule.name = opt_string(r, "name", rp + ".name");
      if (rule.name.size() > 100) fail(r, rp + ".name: may not be longer than 100 characters");
      std::string action = opt_string(r, "action", rp + ".action");
      if (action == (cnp_ ? "Accept" : "Allow")) {
        rule.action = RuleAction::Allow;
      } else if (action == "Deny") {
        rule.action = RuleAction::Deny;
      } else if (action == "Pass" && !baseline_anp) {
        rule.action = RuleAction::Pass;
      } else {
        std::string allowed = cnp_           ? "\"Accept\", \"Deny\", \"Pass\""
                              : baseline_anp ? "\"Allow\", \"Deny\""
                                             : "\"Allow\", \"Deny\", \"Pass\"";
        fail(r, rp + ".action: unsupported value \"" + action + "\": supported values: " + allowed);
      }
      each_item(r, peers_key, rp + "." + peers_key, [&](const N& p, const std::string& pp) {
        rule.peers.push_back(cluster_peer(p, egress, pp));
      });
      if (rule.peers.empty() || rule.peers.size() > max_items)
        fail(r, rp + "." + peers_key + ": must have between 1 and " + std::to_string(max_items) +
                    " peers");
      if (auto ports = r.get(ports_key); ports && !ports->is_null()) {
        rule.ports.emplace();
        each_item(r, ports_key, rp + "." + ports_key, [&](const N& p, const std::string& pp) {
          rule.ports->push_back(cnp_ ? cnp_protocol(p, pp) : anp_port(p, pp));
        });
        if (rule.ports->empty()) fail(*ports, rp + "." + ports_key + ": must not be empty");
        if (rule.ports->size() > max_items)
          fail(*ports, rp + "." + ports_key + ": must have at most " + std::to_string(max_items) +
                           " items");
        // The experimental CRDs' rule on egress: a named port means nothing for an address.
        if (cnp_ && egress && ctx_.options->policy_api_channel == PolicyApiChannel::Experimental &&
            std::any_of(rule.ports->begin(), rule.ports->end(),
                        [](const ClusterPolicyPort& p) {
                          return p.kind == ClusterPolicyPort::Kind::Named;
                        }) &&
            std::any_of(rule.peers.begin(), rule.peers.end(), [](const ClusterPeer& p) {
              return p.kind == ClusterPeer::Kind::Networks || p.kind == ClusterPeer::Kind::Nodes;
            }))
          fail(r, rp + ": networks/nodes/domainNames peer cannot be set with namedPorts since "
                       "there are no namedPorts for networks/nodes/domainNames");
      }
      rules.push_back(std::move(rule));
    });
    if (rules.size() > max_items)
      fail(spec, "spec." + key + ": must have at most " + std::to_string(max_items) + " rules");
    return rules;
  }

  void cluster_policy(const N& obj, ClusterPolicyKind kind, const std::string& api_version) {
    if (kind == ClusterPolicyKind::ClusterNetworkPolicy) {
      if (api_version != kCnpV1beta1 && api_version != kCnpV1alpha2)
        fail(obj, "ClusterNetworkPolicy: unsupported apiVersion \"" + api_version +
                      "\" (expected " + std::string(kCnpV1beta1) + " or " +
                      std::string(kCnpV1alpha2) + ")");
    } else if (api_version != kAnpV1alpha1) {
      fail(obj, std::string(to_string(kind)) + ": unsupported apiVersion \"" + api_version +
                    "\" (expected " + std::string(kAnpV1alpha1) + ")");
    }
    cnp_beta_ = api_version == kCnpV1beta1;
    check_fields(obj, {"apiVersion", "kind", "metadata", "spec", "status"}, "");
    Meta m = metadata(obj, false);
    where_ = std::string(to_string(kind)) + " " + m.name + ": ";
    cnp_ = kind == ClusterPolicyKind::ClusterNetworkPolicy;
    bool banp = kind == ClusterPolicyKind::BaselineAdminNetworkPolicy;
    if (banp && m.name != "default")
      fail(obj,
           "Only one baseline admin network policy with metadata.name=\"default\" can be "
           "created in the cluster");
    auto spec = obj.get("spec");
    if (!spec || spec->is_null()) fail(obj, "spec: required");
    ClusterPolicy cp;
    cp.kind = kind;
    cp.api_version = api_version;
    cp.name = m.name;
    cp.annotations = m.annotations;  // stockade.io/suppress (scan's policy lint)
    cp.source = source(obj);
    if (cnp_) {
      check_fields(*spec, {"tier", "priority", "subject", "ingress", "egress"}, "spec");
      std::string tier = opt_string(*spec, "tier", "spec.tier");
      if (tier == "Admin")
        cp.tier = PolicyTier::Admin;
      else if (tier == "Baseline")
        cp.tier = PolicyTier::Baseline;
      else
        fail(*spec, "spec.tier: unsupported value \"" + tier +
                        "\": supported values: \"Admin\", \"Baseline\"");
    } else if (banp) {
      check_fields(*spec, {"subject", "ingress", "egress"}, "spec");
      cp.tier = PolicyTier::Baseline;
    } else {
      check_fields(*spec, {"priority", "subject", "ingress", "egress"}, "spec");
      cp.tier = PolicyTier::Admin;
    }
    if (!banp) {
      auto prio = opt_int(*spec, "priority", "spec.priority");
      if (!prio) fail(*spec, "spec.priority: required");
      if (*prio < 0 || *prio > 1000) fail(*spec, "spec.priority: must be between 0 and 1000");
      cp.priority = static_cast<int32_t>(*prio);
    }
    cp.subject = subject(*spec);
    cp.ingress = cluster_rules(*spec, false, banp);
    cp.egress = cluster_rules(*spec, true, banp);
    ctx_.state->cluster_policies.push_back(std::move(cp));
  }

  // A field that only the policy API's experimental CRDs declare: with the standard channel
  // the API server refuses it, as an unknown field.
  void experimental_only(const N& at, const std::string& path) const {
    if (ctx_.options->policy_api_channel == PolicyApiChannel::Standard)
      fail(at, path +
                   ": only the experimental channel of the policy API has this field (the "
                   "standard channel's CRD does not declare it)");
  }

  bool cnp_ = false;
  bool cnp_beta_ = false;  // ClusterNetworkPolicy policy.networking.k8s.io/v1beta1

  // ---- Ingress, ServiceAccount, Secret, RBAC (posture) -----------------------------------

  void endpoint_slice(const N& obj) {
    Meta m = metadata(obj, true);
    where_ = "EndpointSlice " + m.ns + "/" + m.name + ": ";
    EndpointSlice es;
    es.ns = m.ns;
    es.name = m.name;
    if (auto it = m.labels.find("kubernetes.io/service-name"); it != m.labels.end())
      es.service = it->second;
    es.source = source(obj);
    std::string type = opt_string(obj, "addressType", "addressType");
    each_item(obj, "endpoints", "endpoints", [&](const N& e, const std::string& p) {
      if (!e.is_map()) fail(e, p + ": expected an object");
      each_item(e, "addresses", p + ".addresses", [&](const N& a, const std::string& pa) {
        auto text = a.as_string();
        if (!text) fail(a, pa + ": expected a string, got " + std::string(a.type_name()));
        if (type == "FQDN") return;  // names, not addresses
        auto ip = IpAddr::parse(*text);
        if (!ip) fail(a, pa + ": invalid IP address \"" + std::string(*text) + "\"");
        es.addresses.push_back(*ip);
      });
      if (auto ref = e.get("targetRef"); ref && !ref->is_null()) {
        if (!ref->is_map()) fail(*ref, p + ".targetRef: expected an object");
        std::string ns = opt_string(*ref, "namespace", p + ".targetRef.namespace");
        if (opt_string(*ref, "kind", p + ".targetRef.kind") == "Pod" && (ns.empty() || ns == es.ns))
          es.pods.push_back(opt_string(*ref, "name", p + ".targetRef.name"));
      }
    });
    ctx_.state->endpoint_slices.push_back(std::move(es));
  }

  void ingress(const N& obj) {
    Meta m = metadata(obj, true);
    where_ = "Ingress " + m.ns + "/" + m.name + ": ";
    Ingress ing;
    ing.ns = m.ns;
    ing.name = m.name;
    ing.annotations = std::move(m.annotations);
    ing.source = source(obj);
    auto backend_service = [&](const N& b, const std::string& p) {
      if (b.is_null()) return;
      if (!b.is_map()) fail(b, p + ": expected an object");
      std::string n = nested_string(b, "service", "name", p);
      if (n.empty()) n = opt_string(b, "serviceName", p + ".serviceName");  // v1beta1
      if (!n.empty()) ing.services.push_back(std::move(n));
    };
    if (auto spec = obj.get("spec"); spec && !spec->is_null()) {
      if (!spec->is_map()) fail(*spec, "spec: expected an object");
      each_item(*spec, "tls", "spec.tls", [&](const N&, const std::string&) { ing.tls = true; });
      for (std::string_view key : {"defaultBackend", "backend"})
        if (auto b = spec->get(key)) backend_service(*b, "spec." + std::string(key));
      each_item(*spec, "rules", "spec.rules", [&](const N& r, const std::string& rp) {
        auto http = r.get("http");
        if (!http || http->is_null()) return;
        each_item(*http, "paths", rp + ".http.paths", [&](const N& pth, const std::string& pp) {
          if (auto b = pth.get("backend")) backend_service(*b, pp + ".backend");
        });
      });
    }
    std::sort(ing.services.begin(), ing.services.end());
    ing.services.erase(std::unique(ing.services.begin(), ing.services.end()), ing.services.end());
    ctx_.state->ingresses.push_back(std::move(ing));
  }

  void gateway_route(const N& obj, const std::string& kind) {
    Meta m = metadata(obj, true);
    where_ = kind + " " + m.ns + "/" + m.name + ": ";
    GatewayRoute r;
    r.kind = kind;
    r.ns = m.ns;
    r.name = m.name;
    r.source = source(obj);
    if (auto spec = obj.get("spec"); spec && !spec->is_null()) {
      if (!spec->is_map()) fail(*spec, "spec: expected an object");
      each_item(*spec, "rules", "spec.rules", [&](const N& rule, const std::string& rp) {
        each_item(rule, "backendRefs", rp + ".backendRefs", [&](const N& b, const std::string& bp) {
          std::string bkind = opt_string(b, "kind", bp + ".kind");
          std::string group = opt_string(b, "group", bp + ".group");
          if ((!bkind.empty() && bkind != "Service") || !group.empty()) return;
          std::string name = opt_string(b, "name", bp + ".name");
          std::string ns = opt_string(b, "namespace", bp + ".namespace");
          if (!name.empty()) r.services.emplace_back(ns.empty() ? r.ns : ns, name);
        });
      });
    }
    ctx_.state->routes.push_back(std::move(r));
  }

  // ServiceMonitor / PodMonitor: which Services' (pods') ports Prometheus scrapes. Only what
  // names a target is read; the rest of the spec (intervals, relabelings, TLS) is not ours.
  void scrape_monitor(const N& obj, const std::string& kind) {
    Meta m = metadata(obj, true);
    where_ = kind + " " + m.ns + "/" + m.name + ": ";
    ScrapeMonitor sm;
    sm.kind = kind;
    sm.ns = m.ns;
    sm.name = m.name;
    sm.source = source(obj);
    auto spec = obj.get("spec");
    if (!spec || spec->is_null()) fail(obj, "spec: required");
    if (!spec->is_map()) fail(*spec, "spec: expected an object");
    // An absent selector is invalid upstream; an empty one selects every object.
    if (auto sel = opt_selector(*spec, "selector", "spec.selector", false)) sm.selector = *sel;
    if (auto nss = spec->get("namespaceSelector"); nss && !nss->is_null()) {
      if (!nss->is_map()) fail(*nss, "spec.namespaceSelector: expected an object");
      sm.any_namespace = opt_bool(*nss, "any", "spec.namespaceSelector.any");
      sm.namespaces = string_list(*nss, "matchNames", "spec.namespaceSelector.matchNames");
    }
    const bool pods = kind == "PodMonitor";
    const char* list = pods ? "podMetricsEndpoints" : "endpoints";
    each_item(*spec, list, std::string("spec.") + list, [&](const N& e, const std::string& ep) {
      if (!e.is_map()) fail(e, ep + ": expected an object");
      ScrapeMonitor::Port port;
      port.name = opt_string(e, "port", ep + ".port");
      if (pods)
        if (auto n = opt_int(e, "portNumber", ep + ".portNumber"))
          port.number = port_number(e, *n, ep + ".portNumber");
      if (auto t = e.get("targetPort"); t && !t->is_null()) {
        if (auto i = t->as_int())
          port.number = port_number(*t, *i, ep + ".targetPort");
        else if (auto str = t->as_string())
          port.target_name = std::string(*str);
        else
          fail(*t, ep + ".targetPort: expected an integer or a string");
      }
      sm.ports.push_back(std::move(port));
    });
    ctx_.state->monitors.push_back(std::move(sm));
  }

  void service_account(const N& obj) {
    Meta m = metadata(obj, true);
    where_ = "ServiceAccount " + m.ns + "/" + m.name + ": ";
    ServiceAccount sa;
    sa.ns = m.ns;
    sa.name = m.name;
    sa.labels = std::move(m.labels);
    sa.annotations = std::move(m.annotations);
    sa.automount_token =
        tri_bool(obj, "automountServiceAccountToken", "automountServiceAccountToken");
    sa.source = source(obj);
    ctx_.state->service_accounts.push_back(std::move(sa));
  }

  void secret(const N& obj) {  // metadata and type only: values are never kept
    Meta m = metadata(obj, true);
    where_ = "Secret " + m.ns + "/" + m.name + ": ";
    Secret sec;
    sec.ns = m.ns;
    sec.name = m.name;
    sec.annotations = std::move(m.annotations);
    sec.type = opt_string(obj, "type", "type");
    sec.source = source(obj);
    ctx_.state->secrets.push_back(std::move(sec));
  }

  void rbac_role(const N& obj, bool cluster) {
    Meta m = metadata(obj, !cluster, NameRule::PathSegment);
    where_ = std::string(cluster ? "ClusterRole " : "Role ") + (cluster ? "" : m.ns + "/") +
             m.name + ": ";
    RbacRole r;
    r.cluster_scoped = cluster;
    r.ns = m.ns;
    r.name = m.name;
    r.labels = std::move(m.labels);
    r.annotations = std::move(m.annotations);
    r.source = source(obj);
    each_item(obj, "rules", "rules", [&](const N& rule, const std::string& p) {
      if (!rule.is_map()) fail(rule, p + ": expected an object");
      PolicyRuleSpec pr;
      pr.line = rule.line();
      pr.verbs = string_list(rule, "verbs", p + ".verbs");
      pr.api_groups = string_list(rule, "apiGroups", p + ".apiGroups");
      pr.resources = string_list(rule, "resources", p + ".resources");
      pr.resource_names = string_list(rule, "resourceNames", p + ".resourceNames");
      pr.non_resource_urls = string_list(rule, "nonResourceURLs", p + ".nonResourceURLs");
      r.rules.push_back(std::move(pr));
    });
    if (auto ag = obj.get("aggregationRule"); cluster && ag && !ag->is_null()) {
      if (!ag->is_map()) fail(*ag, "aggregationRule: expected an object");
      each_item(*ag, "clusterRoleSelectors", "aggregationRule.clusterRoleSelectors",
                [&](const N& sel, const std::string& p) {
                  r.aggregation_selectors.push_back(label_selector(sel, p, false));
                });
    }
    ctx_.state->roles.push_back(std::move(r));
  }

  void rbac_binding(const N& obj, bool cluster) {
    Meta m = metadata(obj, !cluster, NameRule::PathSegment);
    where_ = std::string(cluster ? "ClusterRoleBinding " : "RoleBinding ") +
             (cluster ? "" : m.ns + "/") + m.name + ": ";
    RbacBinding b;
    b.cluster_scoped = cluster;
    b.ns = m.ns;
    b.name = m.name;
    b.annotations = std::move(m.annotations);
    b.source = source(obj);
    auto ref = obj.get("roleRef");
    if (!ref || ref->is_null()) fail(obj, "roleRef: required");
    if (!ref->is_map()) fail(*ref, "roleRef: expected an object");
    b.role_kind = opt_string(*ref, "kind", "roleRef.kind");
    b.role_name = opt_string(*ref, "name", "roleRef.name");
    if (b.role_kind != "Role" && b.role_kind != "ClusterRole")
      fail(*ref, "roleRef.kind: unsupported value \"" + b.role_kind +
                     "\": supported values: \"Role\", \"ClusterRole\"");
    if (cluster && b.role_kind == "Role")
      fail(*ref, "roleRef.kind: a ClusterRoleBinding may only reference a ClusterRole");
    if (b.role_name.empty()) fail(*ref, "roleRef.name: required");
    each_item(obj, "subjects", "subjects", [&](const N& sub, const std::string& p) {
      if (!sub.is_map()) fail(sub, p + ": expected an object");
      RbacSubject s;
      s.kind = opt_string(sub, "kind", p + ".kind");
      s.name = opt_string(sub, "name", p + ".name");
      s.ns = opt_string(sub, "namespace", p + ".namespace");
      if (s.kind != "User" && s.kind != "Group" && s.kind != "ServiceAccount")
        fail(sub, p + ".kind: unsupported value \"" + s.kind +
                      "\": supported values: \"User\", \"Group\", \"ServiceAccount\"");
      if (s.name.empty()) fail(sub, p + ".name: required");
      if (s.kind == "ServiceAccount" && s.ns.empty()) {
        if (cluster) fail(sub, p + ".namespace: required for a ServiceAccount subject");
        s.ns = b.ns;
      }
      if (s.kind != "ServiceAccount") s.ns.clear();
      b.subjects.push_back(std::move(s));
    });
    ctx_.state->bindings.push_back(std::move(b));
  }

#include "input/decode_calico.inc"
#include "input/decode_cilium.inc"

  void object(const N& obj, const std::string& kind, const std::string& api_version) {
    where_.clear();
    if (calico_object(obj, kind, api_version)) return;
    if (kind == "Pod") return pod(obj);
    if (kind == "Namespace") return namespace_object(obj);
    if (kind == "Node") return node_object(obj);
    if (kind == "Service") return service(obj);
    if (kind == "NetworkPolicy" && !foreign_group(api_version, "networking.k8s.io"))
      return network_policy(obj, api_version);
    const bool network_policy_api = !foreign_group(api_version, "policy.networking.k8s.io");
    if (kind == "AdminNetworkPolicy" && network_policy_api)
      return cluster_policy(obj, ClusterPolicyKind::AdminNetworkPolicy, api_version);
    if (kind == "BaselineAdminNetworkPolicy" && network_policy_api)
      return cluster_policy(obj, ClusterPolicyKind::BaselineAdminNetworkPolicy, api_version);
    if (kind == "ClusterNetworkPolicy" && network_policy_api)
      return cluster_policy(obj, ClusterPolicyKind::ClusterNetworkPolicy, api_version);
    if (api_version.starts_with("cilium.io/") &&
        (kind == "CiliumNetworkPolicy" || kind == "CiliumClusterwideNetworkPolicy"))
      return cilium_policy(obj, kind, api_version);
    if (kind == "Ingress") return ingress(obj);
    if (kind == "EndpointSlice") return endpoint_slice(obj);
    if (api_version.starts_with("gateway.networking.k8s.io/") &&
        (kind == "HTTPRoute" || kind == "GRPCRoute" || kind == "TLSRoute" || kind == "TCPRoute" ||
         kind == "UDPRoute"))
      return gateway_route(obj, kind);
    if (api_version.starts_with("monitoring.coreos.com/") &&
        (kind == "ServiceMonitor" || kind == "PodMonitor"))
      return scrape_monitor(obj, kind);
    if (kind == "ServiceAccount") return service_account(obj);
    if (kind == "Secret") return secret(obj);
    if (kind == "Role") return rbac_role(obj, false);
    if (kind == "ClusterRole") return rbac_role(obj, true);
    if (kind == "RoleBinding") return rbac_binding(obj, false);
    if (kind == "ClusterRoleBinding") return rbac_binding(obj, true);
    static const std::pair<std::string_view, WorkloadKind> kWorkloads[] = {
        {"Deployment", WorkloadKind::Deployment},
        {"ReplicaSet", WorkloadKind::ReplicaSet},
        {"StatefulSet", WorkloadKind::StatefulSet},
        {"DaemonSet", WorkloadKind::DaemonSet},
        {"Job", WorkloadKind::Job},
        {"CronJob", WorkloadKind::CronJob},
        {"ReplicationController", WorkloadKind::ReplicationController},
    };
    for (const auto& [name, wk] : kWorkloads)
      if (kind == name) return workload(obj, wk);
    if (std::string k = unmodelled_policy_kind(kind, api_version); !k.empty()) {
      ctx_.state->unevaluated_policies[k]++;
      return;
    }
    ctx_.state->skipped_kinds[kind]++;
  }
};

}  // namespace

template <class N>
Result<void> decode_document(const N& doc, DecodeContext& ctx, int list_depth) {
  try {
    Decoder<N>(ctx).document(doc, list_depth);
  } catch (const DecodeError& e) {
    return make_error(ctx.file, e.line, e.message);
  }
  return {};
}

template Result<void> decode_document<YamlNode>(const YamlNode&, DecodeContext&, int);
template Result<void> decode_document<JsonNode>(const JsonNode&, DecodeContext&, int);

}  // namespace stockade::input
