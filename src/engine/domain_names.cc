// ClusterNetworkPolicy `domainNames` egress peers (network-policy-api, experimental channel, in
// v1alpha2 since v0.2.0 and v1beta1 since v0.3.0), matched the way the API documents them:
//  - `kubernetes.io` matches that name only (not www.kubernetes.io);
//  - `*.kubernetes.io` matches one or more whole labels before `.kubernetes.io`
//    (www.kubernetes.io and latest.blog.kubernetes.io, not kubernetes.io itself);
//  - names compare without case and without a trailing dot (DNS names are case-insensitive,
//    RFC 4343; the CRD accepts "example.com." as well as "example.com").
// An address matches when a DNS answer the flows recorded gave it a matching name
// (PolicyEngine::learn_dns: implementations learn the same answers by snooping DNS, NPEP-133).
// Only addresses outside the cluster's pods are matched: the engine decides pods by identity,
// and NPEP-133 leaves selecting pods by their DNS names "not recommended".
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

#include "engine/engine_impl.h"

namespace stockade::engine_internal {

namespace {

std::string normalise(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (out.ends_with('.')) out.pop_back();
  return out;
}

// `pattern` and `name` normalised.
bool matches(std::string_view pattern, std::string_view name) {
  if (pattern.starts_with("*.")) {
    std::string_view suffix = pattern.substr(1);  // ".kubernetes.io"
    return name.size() > suffix.size() && name.ends_with(suffix) && name.front() != '.';
  }
  return pattern == name;
}

}  // namespace

void EngineImpl::add_domain_names(CompiledRule& r, const std::vector<std::string>& names) {
  if (r.domain_names < 0) {
    r.domain_names = static_cast<int32_t>(domain_names_.size());
    domain_names_.emplace_back();
  }
  for (const std::string& n : names)
    domain_names_[static_cast<size_t>(r.domain_names)].push_back(normalise(n));
}

const std::string* EngineImpl::domain_name_match(const CompiledRule& r, const IpAddr& ip) const {
  const auto& patterns = domain_names_[static_cast<size_t>(r.domain_names)];
  auto n = std::lower_bound(dns_names_.begin(), dns_names_.end(), ip,
                            [](const DnsName& e, const IpAddr& v) { return e.ip < v; });
  for (; n != dns_names_.end() && n->ip == ip; ++n)
    for (const std::string& p : patterns)
      if (matches(p, n->name)) return &n->name;
  return nullptr;
}

void EngineImpl::domain_name_notes(const CompiledRule& r, const IpAddr& ip, Decision& out) const {
  if (const std::string* name = domain_name_match(r, ip))
    out.notes.push_back("domainNames: a DNS answer named " + ip.str() + " \"" + *name + "\"");
  if (r.action != RuleAction::Allow)
    out.notes.push_back(
        "domainNames in a " + std::string(r.action == RuleAction::Deny ? "Deny" : "Pass") +
        " rule: the API supports them in Accept rules only, an implementation may not enforce "
        "this rule");
}

}  // namespace stockade::engine_internal
