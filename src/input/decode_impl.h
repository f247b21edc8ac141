// The decoder of one Kubernetes object (private to src/input/): a class over the node view
// (YAML or JSON, node_adapters.h) whose shared readers live here and whose object families are
// defined one file each: decode_workloads.cc, decode_services.cc, decode_policies.cc,
// decode_rbac.cc, decode_calico.cc, decode_cilium.cc; decode.cc dispatches by kind. Each family
// file instantiates its entry points for both node views.
#pragma once

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_text.h"
#include "input/decode.h"
#include "input/node_adapters.h"
#include "model/flow.h"

namespace stockade::input::detail {

// Thrown inside the decoder only, caught at the document boundary (decode_document): keeps the
// many field checks readable. Decoding is not a hot path for errors.
struct DecodeError {
  int line;
  std::string message;
};

// Whether `api_version` names an API group other than `group` (the group a kind we decode
// belongs to) that is no core or legacy group: another project's kind of the same name, such
// as Antrea's crd.antrea.io NetworkPolicy and ClusterNetworkPolicy.
inline bool foreign_group(std::string_view api_version, std::string_view group) {
  std::string_view g = api_version.substr(0, api_version.find('/'));
  return api_version.find('/') != std::string_view::npos && g.find('.') != std::string_view::npos &&
         g != group;
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

  // ---- workloads and pods (decode_workloads.cc) ---------------------------------------
  void container_ports(const N& pod_spec, const std::string& path,
                       std::vector<ContainerPort>& out) const;
  std::optional<bool> tri_bool(const N& obj, std::string_view key, const std::string& path) const;
  std::vector<std::string> string_list(const N& obj, std::string_view key,
                                       const std::string& path) const;
  std::string nested_string(const N& obj, std::string_view outer, std::string_view key,
                            const std::string& path) const;
  SecurityContext security_context(const N& parent, const std::string& parent_path,
                                   bool pod_level) const;
  ContainerSpec container_spec(const N& c, ContainerKind kind, const std::string& path) const;
  PodSecuritySpec pod_security(const N& spec, Labels annotations, const std::string& path) const;
  PodTemplate pod_template(const N& tmpl, const std::string& path,
                           PodSecuritySpec* security = nullptr) const;
  void pod(const N& obj);
  void workload(const N& obj, WorkloadKind kind);
  void namespace_object(const N& obj);
  void node_object(const N& obj);

  // ---- Services and what declares traffic to them (decode_services.cc) ------------------
  void service(const N& obj);
  void endpoint_slice(const N& obj);
  void ingress(const N& obj);
  void gateway_route(const N& obj, const std::string& kind);
  void scrape_monitor(const N& obj, const std::string& kind);

  // ---- the policy kinds of Kubernetes (decode_policies.cc) -----------------------------
  NetworkPolicyPort np_port(const N& p, const std::string& path) const;
  NetworkPolicyPeer np_peer(const N& p, const std::string& path) const;
  std::vector<NetworkPolicyRule> np_rules(const N& spec, std::string_view key,
                                          std::string_view peers_key) const;
  void network_policy(const N& obj, const std::string& api_version);
  ClusterPodSet pod_set(const N& v, bool namespaces_form, const std::string& path) const;
  ClusterPodSet subject(const N& spec) const;
  ClusterPeer cluster_peer(const N& p, bool egress, const std::string& path) const;
  ClusterPolicyPort anp_port(const N& p, const std::string& path) const;
  void range(const N& v, const std::string& path, ClusterPolicyPort& out) const;
  ClusterPolicyPort cnp_protocol(const N& p, const std::string& path) const;
  std::vector<ClusterPolicyRule> cluster_rules(const N& spec, bool egress, bool baseline_anp) const;
  void cluster_policy(const N& obj, ClusterPolicyKind kind, const std::string& api_version);
  void experimental_only(const N& at, const std::string& path) const;
  bool cnp_ = false;
  bool cnp_beta_ = false;  // ClusterNetworkPolicy policy.networking.k8s.io/v1beta1

  // ---- ServiceAccounts, Secrets, RBAC (decode_rbac.cc) ---------------------------------
  void service_account(const N& obj);
  void secret(const N& obj);  // metadata and type only: values are never kept
  void rbac_role(const N& obj, bool cluster);
  void rbac_binding(const N& obj, bool cluster);

  // ---- Calico (decode_calico.cc) ---------------------------------------------------------
  CalicoSelector calico_selector(const N& obj, std::string_view key, const std::string& path) const;
  std::optional<CalicoSelector> calico_opt_selector(const N& obj, std::string_view key,
                                                    const std::string& path) const;
  std::optional<double> calico_order(const N& obj, std::string_view key,
                                     const std::string& path) const;
  std::vector<Cidr> calico_nets(const N& obj, std::string_view key, const std::string& path) const;
  std::vector<CalicoPort> calico_ports(const N& obj, std::string_view key,
                                       const std::string& path) const;
  std::optional<CalicoProtocol> calico_protocol(const N& obj, std::string_view key,
                                                const std::string& path) const;
  CalicoEntity calico_entity(const N& e, const std::string& path) const;
  CalicoRule calico_rule(const N& r, const std::string& path) const;
  void calico_policy(const N& obj, const std::string& kind, const std::string& api_version);
  void calico_api_version(const N& obj, const std::string& kind,
                          const std::string& api_version) const;
  void calico_tier(const N& obj, const std::string& kind, const std::string& api_version);
  void calico_network_set(const N& obj, const std::string& kind, const std::string& api_version);
  bool calico_object(const N& obj, const std::string& kind, const std::string& api_version);

  // ---- Cilium (decode_cilium.cc) ---------------------------------------------------------
  std::vector<LabelSelector> cilium_selectors(const N& obj, std::string_view key,
                                              const std::string& path) const;
  template <class T, class F>
  void cilium_list(const N& obj, std::string_view key, const std::string& path,
                   std::optional<std::vector<T>>& out, F&& read) const;
  std::vector<CiliumPortRule> cilium_ports(const N& r, const std::string& path, bool deny) const;
  std::vector<CiliumHttpRule> cilium_http_rules(const N& rules, const std::string& path) const;
  CiliumRule cilium_rule(const N& r, const std::string& path, bool ingress, bool deny) const;
  Cidr cidr_or_address(const N& at, std::string_view text, const std::string& path) const;
  CiliumSpec cilium_spec(const N& s, const std::string& path, bool clusterwide) const;
  void cilium_policy(const N& obj, const std::string& kind, const std::string& api_version);
  // ---- Istio (decode_istio.cc) -------------------------------------------------------------
  void istio_policy(const N& obj, const std::string& api_version);

  void object(const N& obj, const std::string& kind, const std::string& api_version);
};

}  // namespace stockade::input::detail
