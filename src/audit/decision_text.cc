#include "audit/decision_text.h"

#include <fmt/format.h>

#include "core/display.h"

namespace stockade::audit {

std::string tier_id(DecisionTier t) {
  switch (t) {
    case DecisionTier::Loopback:
      return "loopback";
    case DecisionTier::NotEvaluated:
      return "external";
    case DecisionTier::Admin:
      return "admin";
    case DecisionTier::NetworkPolicy:
      return "networkpolicy";
    case DecisionTier::Baseline:
      return "baseline";
    case DecisionTier::Default:
      return "default";
  }
  return "default";
}

std::string ref_text(const PolicyRef& r, int line) {
  std::string s = r.kind + " " + (r.ns.empty() ? "" : r.ns + "/") + r.name;
  if (line == 0) line = r.source.line;
  if (!r.source.file.empty())
    s += " (" + r.source.file + (line ? ":" + std::to_string(line) : "") + ")";
  return s;
}

nlohmann::json ref_json(const PolicyRef& r) {
  nlohmann::json j = {{"kind", r.kind}, {"name", r.name}};
  if (!r.ns.empty()) j["namespace"] = r.ns;
  if (!r.source.file.empty()) j["file"] = r.source.file;
  if (r.source.line) j["line"] = r.source.line;
  return j;
}

// One sentence saying how a side was decided.
std::string reason(const Decision& d, const std::string& who, const char* direction) {
  std::string pass;
  for (const PolicyRef& p : d.passed_by) pass += "passed on by " + ref_text(p) + "; ";
  if (!d.calico_tier.empty()) {  // Calico's tiers: a rule, or the tier's end, decided
    if (d.policy)
      return pass + fmt::format("{} rule {} ({}) of {} in Calico tier {} {}", direction,
                                d.rule_name.empty() ? std::to_string(d.rule_index) : d.rule_name,
                                d.action, ref_text(*d.policy, d.rule_line), d.calico_tier,
                                d.allowed ? "allows it" : "denies it");
    std::string sel;
    for (size_t i = 0; i < d.isolated_by.size(); ++i)
      sel += (i ? ", " : "") + ref_text(d.isolated_by[i]);
    return pass + fmt::format(
                      "{} applies to {} of {} in Calico tier {}, and no rule of it decides: "
                      "the end-of-tier deny",
                      sel, direction, who, d.calico_tier);
  }
  switch (d.tier) {
    case DecisionTier::Loopback:
      return "a pod's traffic to itself is always allowed";
    case DecisionTier::NotEvaluated:
      return "outside the cluster's pods: not evaluated";
    case DecisionTier::Admin:
    case DecisionTier::Baseline:
      return pass + fmt::format("{} rule {}{} ({}) of {} {}", direction, d.rule_index,
                                d.rule_name.empty() ? "" : " \"" + d.rule_name + "\"", d.action,
                                ref_text(*d.policy, d.rule_line),
                                d.allowed ? "allows it" : "denies it");
    case DecisionTier::NetworkPolicy: {
      std::string rule = d.rule_name.empty() ? std::to_string(d.rule_index) : d.rule_name;
      if (d.policy && !d.allowed)  // a Cilium deny rule: it wins over every allow
        return pass + fmt::format("{} deny rule {} of {} denies it (deny rules win over allows)",
                                  direction, rule, ref_text(*d.policy, d.rule_line));
      std::string iso;
      for (size_t i = 0; i < d.isolated_by.size(); ++i)
        iso += (i ? ", " : "") + ref_text(d.isolated_by[i]);
      if (d.own_node)
        return pass + fmt::format(
                          "{} is isolated for {} by {}, but traffic between a pod and its own "
                          "node is always allowed",
                          who, direction, iso);
      if (d.allowed)
        return pass + fmt::format("{} rule {} of {} allows it ({} is isolated for {} by {})",
                                  direction, rule, ref_text(*d.policy, d.rule_line), who, direction,
                                  iso);
      return pass + fmt::format("{} is isolated for {} by {}, and no rule of them allows it", who,
                                direction, iso);
    }
    case DecisionTier::Default:
      return pass + fmt::format("no policy decides {} of {}: allowed by default", direction, who);
  }
  return {};
}

nlohmann::json side_json(const Decision& d, const std::string& who, const char* direction) {
  nlohmann::json j = {
      {"allowed", d.allowed}, {"tier", tier_id(d.tier)}, {"reason", reason(d, who, direction)}};
  if (!d.notes.empty()) j["notes"] = d.notes;
  if (d.policy) j["policy"] = ref_json(*d.policy);
  if (d.rule_index >= 0) j["rule"] = d.rule_index;
  if (d.rule_line > 0) j["rule_line"] = d.rule_line;
  if (!d.rule_name.empty()) j["rule_name"] = d.rule_name;
  if (!d.action.empty()) j["action"] = d.action;
  if (!d.calico_tier.empty()) j["calico_tier"] = d.calico_tier;
  if (d.own_node) j["own_node"] = true;
  if (!d.isolated_by.empty()) {
    j["isolated_by"] = nlohmann::json::array();
    for (const auto& r : d.isolated_by) j["isolated_by"].push_back(ref_json(r));
  }
  if (!d.passed_by.empty()) {
    j["passed_by"] = nlohmann::json::array();
    for (const auto& r : d.passed_by) j["passed_by"].push_back(ref_json(r));
  }
  return j;
}

std::optional<SourceRef> decision_location(const Decision& d) {
  if (d.policy && !d.policy->source.file.empty())
    return SourceRef{d.policy->source.file, d.rule_line ? d.rule_line : d.policy->source.line};
  if (!d.isolated_by.empty() && !d.isolated_by.front().source.file.empty())
    return d.isolated_by.front().source;
  return std::nullopt;
}

std::string short_reason(const Decision& d) {
  if (d.policy) return tier_id(d.tier) + " " + ref_text(*d.policy, d.rule_line);
  if (!d.isolated_by.empty())
    return d.own_node ? "own node" : "isolated by " + ref_text(d.isolated_by.front());
  return tier_id(d.tier);
}

std::string explanation_text(const ExplainedConnection& x) {
  const Verdict& v = x.verdict;
  const std::string &s = x.src_name, &d = x.dst_name;
  std::string out = fmt::format("{} -> {} {}/{}: {}\n", display_text(s), display_text(d),
                                to_string(x.protocol), x.port, v.allowed ? "ALLOWED" : "DENIED");
  out += fmt::format("  egress of {}: {} ({}): {}\n", display_text(s),
                     v.egress.allowed ? "allowed" : "denied", tier_id(v.egress.tier),
                     display_text(reason(v.egress, s, "egress")));
  for (const std::string& note : v.egress.notes) out += "    note: " + display_text(note) + "\n";
  out += fmt::format("  ingress of {}: {} ({}): {}\n", display_text(d),
                     v.ingress.allowed ? "allowed" : "denied", tier_id(v.ingress.tier),
                     display_text(reason(v.ingress, d, "ingress")));
  for (const std::string& note : v.ingress.notes) out += "    note: " + display_text(note) + "\n";
  return out;
}

nlohmann::json explanation_json(const ExplainedConnection& x) {
  return {{"allowed", x.verdict.allowed},
          {"src", x.src_name},
          {"dst", x.dst_name},
          {"protocol", std::string(to_string(x.protocol))},
          {"port", x.port},
          {"egress", side_json(x.verdict.egress, x.src_name, "egress")},
          {"ingress", side_json(x.verdict.ingress, x.dst_name, "ingress")}};
}

}  // namespace stockade::audit
