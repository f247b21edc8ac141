// Istio's AuthorizationPolicy (security.istio.io/v1, v1beta1): a member of Decoder<N>
// (decode_impl.h). Fields as the CRD declares them (istio/api security/v1beta1
// authorization.proto); unknown fields are refused. The policy is kept for HTTP request
// verdicts and still counted as a kind the verdicts of connections ignore.
#include "input/decode_impl.h"

namespace stockade::input::detail {

template <class N>
void Decoder<N>::istio_policy(const N& obj, const std::string& api_version) {
  if (api_version != "security.istio.io/v1" && api_version != "security.istio.io/v1beta1")
    fail(obj, "AuthorizationPolicy: unsupported apiVersion \"" + api_version + "\"");
  check_fields(obj, {"apiVersion", "kind", "metadata", "spec", "status"}, "");
  Meta m = metadata(obj, true);
  where_ = "AuthorizationPolicy " + m.ns + "/" + m.name + ": ";
  auto strings = [this](const N& o, std::string_view key, const std::string& path) {
    std::vector<std::string> out;
    each_item(o, key, path + "." + std::string(key), [&](const N& s, const std::string& sp) {
      auto t = s.as_string();
      if (!t) fail(s, sp + ": expected a string");
      out.emplace_back(*t);
    });
    return out;
  };
  IstioAuthorizationPolicy p;
  p.ns = m.ns;
  p.name = m.name;
  p.file = ctx_.file;
  p.line = obj.line();
  auto spec = obj.get("spec");
  if (spec && !spec->is_null()) {
    check_fields(*spec, {"selector", "targetRef", "targetRefs", "action", "provider", "rules"},
                 "spec");
    if (auto sel = spec->get("selector"); sel && !sel->is_null()) {
      check_fields(*sel, {"matchLabels"}, "spec.selector");
      p.selector = string_map(*sel, "matchLabels", "spec.selector.matchLabels", false);
    }
    p.target_refs = spec->get("targetRef") || spec->get("targetRefs");
    std::string action = opt_string(*spec, "action", "spec.action");
    if (action == "DENY")
      p.action = IstioAuthorizationPolicy::Action::Deny;
    else if (action == "AUDIT")
      p.action = IstioAuthorizationPolicy::Action::Audit;
    else if (action == "CUSTOM")
      p.action = IstioAuthorizationPolicy::Action::Custom;
    else if (!action.empty() && action != "ALLOW")
      fail(*spec->get("action"), "spec.action: unsupported value \"" + action +
                                     "\": supported values: ALLOW, DENY, AUDIT, CUSTOM");
    if (auto rules = spec->get("rules"); rules && !rules->is_null()) p.rules.emplace();
    each_item(*spec, "rules", "spec.rules", [&](const N& r, const std::string& rp) {
      check_fields(r, {"from", "to", "when"}, rp);
      IstioRule rule;
      rule.line = r.line();
      each_item(r, "from", rp + ".from", [&](const N& f, const std::string& fp) {
        check_fields(f, {"source"}, fp);
        IstioSource s;
        if (auto src = f.get("source"); src && !src->is_null()) {
          const std::string sp = fp + ".source";
          s.principals = strings(*src, "principals", sp);
          s.not_principals = strings(*src, "notPrincipals", sp);
          s.namespaces = strings(*src, "namespaces", sp);
          s.not_namespaces = strings(*src, "notNamespaces", sp);
          s.ip_blocks = strings(*src, "ipBlocks", sp);
          s.not_ip_blocks = strings(*src, "notIpBlocks", sp);
          src->fields([&](std::string_view k, const N&) {
            static constexpr std::string_view kRead[] = {"principals", "notPrincipals",
                                                         "namespaces", "notNamespaces",
                                                         "ipBlocks",   "notIpBlocks"};
            if (std::find(std::begin(kRead), std::end(kRead), k) == std::end(kRead))
              s.unevaluated.push_back(sp + "." + std::string(k));
            return true;
          });
        }
        rule.from.push_back(std::move(s));
      });
      each_item(r, "to", rp + ".to", [&](const N& t, const std::string& tp) {
        check_fields(t, {"operation"}, tp);
        IstioOperation o;
        if (auto op = t.get("operation"); op && !op->is_null()) {
          const std::string opp = tp + ".operation";
          check_fields(*op,
                       {"hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths",
                        "notPaths"},
                       opp);
          o.hosts = strings(*op, "hosts", opp);
          o.not_hosts = strings(*op, "notHosts", opp);
          o.ports = strings(*op, "ports", opp);
          o.not_ports = strings(*op, "notPorts", opp);
          o.methods = strings(*op, "methods", opp);
          o.not_methods = strings(*op, "notMethods", opp);
          o.paths = strings(*op, "paths", opp);
          o.not_paths = strings(*op, "notPaths", opp);
        }
        rule.to.push_back(std::move(o));
      });
      if (auto w = r.get("when"); w && w->is_seq())
        w->items([&](const N&) { return ++rule.when, true; });
      p.rules->push_back(std::move(rule));
    });
  }
  ctx_.state->istio_policies.push_back(std::move(p));
}

template void Decoder<YamlNode>::istio_policy(const YamlNode&, const std::string&);
template void Decoder<JsonNode>::istio_policy(const JsonNode&, const std::string&);

}  // namespace stockade::input::detail
