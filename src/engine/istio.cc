// Istio's AuthorizationPolicy, for HTTP request verdicts (PolicyEngine::evaluate_http).
// Semantics as Istio defines them (istio.io "Authorization Policy" reference):
//  - a policy applies to the workloads its selector's matchLabels select in its namespace
//    (no selector: every workload of the namespace; in the root namespace istio-system:
//    of every namespace); targetRefs (waypoints, gateways) are not workloads here;
//  - CUSTOM is not evaluated (an external authorizer decides); AUDIT decides nothing;
//  - a DENY policy whose rule matches refuses; then without ALLOW policies the request passes;
//    with some, one of their rules must match; an ALLOW policy without rules matches nothing;
//  - a rule matches when one of its sources (none: any) and one of its operations (none: any)
//    match; each field of a source or operation must match (and its not- field must not);
//  - principals are "TRUST_DOMAIN/ns/NS/sa/SA" of the client's service account (trust domain
//    cluster.local); a client outside the pods has none. Strings match exactly, or with one
//    `*` as a prefix or suffix, or `*` alone (present); paths also with `{*}` (one segment)
//    and `{**}` (the rest) templates, against the path without its query;
//  - conditions (`when`) and request attributes the records do not carry (request principals,
//    remote addresses) cannot be checked: such a rule is not judged as matching, with a note.
#include <algorithm>

#include "engine/engine_impl.h"

namespace stockade::engine_internal {

namespace {

constexpr std::string_view kRootNamespace = "istio-system";

bool string_match(std::string_view pattern, std::string_view value) {
  if (pattern == "*") return !value.empty();
  if (pattern.size() > 1 && pattern.front() == '*') return value.ends_with(pattern.substr(1));
  if (pattern.size() > 1 && pattern.back() == '*')
    return value.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == value;
}

bool path_match(std::string_view pattern, std::string_view path) {
  if (pattern.find('{') == std::string_view::npos) return string_match(pattern, path);
  // Templates: segment by segment; {*} one segment, {**} what remains.
  size_t p = 0, v = 0;
  while (p <= pattern.size() && v <= path.size()) {
    size_t pe = pattern.find('/', p), ve = path.find('/', v);
    std::string_view ps = pattern.substr(p, pe == std::string_view::npos ? pe : pe - p);
    std::string_view vs = path.substr(v, ve == std::string_view::npos ? ve : ve - v);
    if (ps == "{**}") return true;
    if (ps == "{*}" ? vs.empty() : ps != vs) return false;
    if (pe == std::string_view::npos || ve == std::string_view::npos)
      return pe == std::string_view::npos && ve == std::string_view::npos;
    p = pe + 1;
    v = ve + 1;
  }
  return false;
}

template <class F>
bool field(const std::vector<std::string>& in, const std::vector<std::string>& not_in, F&& match) {
  if (!in.empty() && std::none_of(in.begin(), in.end(), match)) return false;
  return std::none_of(not_in.begin(), not_in.end(), match);
}

}  // namespace

void EngineImpl::compile_istio(const ClusterState& state) {
  istio_policies_ = state.istio_policies;
  if (istio_policies_.empty()) return;
  istio_principals_.assign(endpoints_.size(), "");
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    const Endpoint& e = endpoints_[i];
    std::string sa;
    for (const Pod& p : state.pods)
      if (p.ns == e.ns && p.name == e.name) sa = p.security.service_account;
    if (sa.empty())
      for (const Workload& w : state.workloads)
        if (w.ns == e.ns && w.name == e.workload_name) sa = w.security.service_account;
    istio_principals_[i] = "cluster.local/ns/" + e.ns + "/sa/" + (sa.empty() ? "default" : sa);
  }
}

bool EngineImpl::istio_http_allowed(const Peer& src, uint32_t dst, uint16_t port,
                                    const HttpRequest& req, Decision& out) const {
  const Endpoint& d = endpoints_[dst];
  std::string_view path = req.path.substr(0, req.path.find('?'));
  std::string_view host = req.host;
  const std::string principal = src.endpoint ? istio_principals_[*src.endpoint] : "";
  const std::string src_ns = src.endpoint ? endpoints_[*src.endpoint].ns : "";
  std::vector<IpAddr> src_ips;
  if (src.endpoint)
    src_ips = endpoints_[*src.endpoint].ips;
  else
    src_ips.push_back(src.ip);
  auto ip_in = [&](const std::string& block) {
    auto c = Cidr::parse(block);
    if (!c) {
      if (auto ip = IpAddr::parse(block)) c = Cidr{*ip, static_cast<uint8_t>(ip->bits())};
    }
    return c && std::any_of(src_ips.begin(), src_ips.end(),
                            [&](const IpAddr& ip) { return c->contains(ip); });
  };
  auto source_matches = [&](const IstioSource& s) {
    if (!s.unevaluated.empty()) return false;
    auto pr = [&](const std::string& x) {
      return !principal.empty() && string_match(x, principal);
    };
    auto ns = [&](const std::string& x) { return !src_ns.empty() && string_match(x, src_ns); };
    return field(s.principals, s.not_principals, pr) && field(s.namespaces, s.not_namespaces, ns) &&
           field(s.ip_blocks, s.not_ip_blocks, ip_in);
  };
  const std::string port_text = std::to_string(port);
  auto op_matches = [&](const IstioOperation& o) {
    auto h = [&](const std::string& x) {
      std::string_view bare = host.substr(0, host.rfind(':'));
      auto lower = [](std::string_view s) {
        std::string r(s);
        for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return r;
      };
      return string_match(lower(x), lower(host)) || string_match(lower(x), lower(bare));
    };
    return field(o.hosts, o.not_hosts, h) &&
           field(o.ports, o.not_ports, [&](const std::string& x) { return x == port_text; }) &&
           field(o.methods, o.not_methods,
                 [&](const std::string& x) { return string_match(x, req.method); }) &&
           field(o.paths, o.not_paths, [&](const std::string& x) { return path_match(x, path); });
  };
  auto rule_matches = [&](const IstioRule& r) {
    if (r.when) return false;
    bool from = r.from.empty() || std::any_of(r.from.begin(), r.from.end(), source_matches);
    return from && (r.to.empty() || std::any_of(r.to.begin(), r.to.end(), op_matches));
  };
  using Action = IstioAuthorizationPolicy::Action;
  bool any_allow = false;
  const IstioAuthorizationPolicy* allowed_by = nullptr;
  for (const Action pass : {Action::Deny, Action::Allow})
    for (const IstioAuthorizationPolicy& p : istio_policies_) {
      if (p.action != pass || p.target_refs) continue;
      if (p.ns != d.ns && p.ns != kRootNamespace) continue;
      if (p.selector) {
        bool all = std::all_of(p.selector->begin(), p.selector->end(), [&](const auto& kv) {
          auto it = d.pod.labels.find(kv.first);
          return it != d.pod.labels.end() && it->second == kv.second;
        });
        if (!all) continue;
      }
      bool hit = p.rules && std::any_of(p.rules->begin(), p.rules->end(), rule_matches);
      PolicyRef ref{"AuthorizationPolicy", p.ns, p.name, SourceRef{p.file, p.line}};
      if (pass == Action::Deny && hit) {
        out.allowed = false;
        out.policy = ref;
        out.action = "DENY";
        return false;
      }
      if (pass == Action::Allow) {
        any_allow = true;
        if (hit && !allowed_by) allowed_by = &p;
      }
    }
  if (!any_allow) return true;
  if (allowed_by) {
    out.policy = PolicyRef{"AuthorizationPolicy", allowed_by->ns, allowed_by->name,
                           SourceRef{allowed_by->file, allowed_by->line}};
    out.action = "ALLOW";
    return true;
  }
  out.allowed = false;
  out.notes.push_back("no rule of the Istio AuthorizationPolicies (ALLOW) of " + d.id() +
                      " allows " + std::string(req.method) + " " + std::string(req.path) +
                      " from " +
                      (principal.empty() ? "a client without a mesh identity" : principal));
  return false;
}

}  // namespace stockade::engine_internal
