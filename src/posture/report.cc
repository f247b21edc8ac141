// Rendering a ScanReport: JSON (the contract in docs/scan.md), SARIF 2.1.0, and a table.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/display.h"
#include "core/sarif.h"
#include "core/version.h"
#include "posture/posture.h"

namespace stockade::posture {
namespace {

using ojson = nlohmann::ordered_json;

ojson resource_json(const ResourceRef& r) {
  ojson j;
  j["kind"] = r.kind;
  if (!r.ns.empty()) j["namespace"] = r.ns;
  j["name"] = r.name;
  return j;
}

ojson finding_json(const Finding& f) {
  ojson j;
  j["id"] = f.id;
  j["severity"] = std::string(to_string(f.severity));
  j["resource"] = resource_json(f.resource);
  if (!f.container.empty()) j["container"] = f.container;
  if (!f.file.empty()) j["file"] = f.file;
  if (f.line > 0) j["line"] = f.line;
  j["message"] = f.message;
  const CheckInfo* ci = find_check(f.id);
  j["remediation"] = ci ? std::string(ci->remediation) : "";
  ojson aliases = ojson::array();
  if (ci)
    for (std::string_view a : ci->aliases) aliases.push_back(std::string(a));
  j["aliases"] = aliases;
  if (f.suppressed) {
    ojson s;
    s["by"] = f.suppressed->by;
    s["reason"] = f.suppressed->reason;
    if (!f.suppressed->expires.empty()) s["expires"] = f.suppressed->expires;
    j["suppression"] = s;
  }
  return j;
}

std::string sarif_level(Severity s) {
  return s >= Severity::High ? "error" : s == Severity::Medium ? "warning" : "note";
}
std::string security_severity(Severity s) {
  switch (s) {
    case Severity::Critical:
      return "9.5";
    case Severity::High:
      return "8.0";
    case Severity::Medium:
      return "5.5";
    case Severity::Low:
      return "2.0";
  }
  return "0.0";
}

}  // namespace

std::string render_json(const ScanReport& r) {
  ojson j;
  j["findings"] = ojson::array();
  j["suppressed"] = ojson::array();
  uint64_t counts[5] = {0, 0, 0, 0, 0};
  uint64_t suppressed = 0;
  for (const Finding& f : r.findings) {
    if (f.suppressed) {
      j["suppressed"].push_back(finding_json(f));
      ++suppressed;
    } else {
      j["findings"].push_back(finding_json(f));
      ++counts[static_cast<int>(f.severity)];
    }
  }
  j["risk"] = ojson::array();
  for (const RiskEntry& e : r.risk) {
    ojson x;
    x["resource"] = resource_json(e.resource);
    x["score"] = e.score;
    x["factors"] = e.factors;
    ojson ctx;
    ctx["exposure"] = std::string(to_string(e.exposure));
    ctx["isolated"] = {{"ingress", e.isolated_ingress}, {"egress", e.isolated_egress}};
    ctx["escape_capable"] = e.escape_capable;
    if (!e.service_account.empty()) ctx["service_account"] = e.service_account;
    ctx["sa_permission"] = e.sa_permission;
    ctx["environment"] = e.env == Environment::Prod  ? "prod"
                         : e.env == Environment::Dev ? "dev"
                                                     : "unknown";
    x["context"] = ctx;
    j["risk"].push_back(std::move(x));
  }
  ojson s;
  s["resources"] = r.resources;
  s["findings"] = counts[1] + counts[2] + counts[3] + counts[4];
  s["suppressed"] = suppressed;
  s["critical"] = counts[4];
  s["high"] = counts[3];
  s["medium"] = counts[2];
  s["low"] = counts[1];
  j["summary"] = s;
  return j.dump(2) + "\n";
}

std::string render_sarif(const ScanReport& r) {
  std::vector<sarif::Rule> rules;
  std::map<std::string_view, size_t> rule_index;
  for (const CheckInfo& c : catalog()) {
    rule_index[c.id] = rules.size();
    std::string aliases;
    for (std::string_view a : c.aliases) aliases += (aliases.empty() ? "" : ", ") + std::string(a);
    const std::string title(c.title), remediation(c.remediation);
    rules.push_back(
        {.id = std::string(c.id),
         .name = std::string(c.id),
         .short_description = title,
         .full_description = title,
         .help_text = title + ". Remediation: " + remediation +
                      (aliases.empty() ? "" : " Also known as: " + aliases + "."),
         .help_markdown = "**" + title + "**\n\n" + remediation +
                          (aliases.empty() ? "" : "\n\nAliases: " + aliases),
         .level = sarif_level(c.severity),
         .properties = {{"tags", std::vector<std::string>{"security", std::string(c.category)}},
                        {"security-severity", security_severity(c.severity)},
                        {"severity", std::string(to_string(c.severity))}}});
  }
  std::vector<sarif::Result> results;
  for (const Finding& f : r.findings) {
    sarif::Result res{.rule_id = f.id, .level = sarif_level(f.severity), .message = f.message};
    if (auto it = rule_index.find(f.id); it != rule_index.end()) res.rule_index = it->second;
    res.locations.push_back(
        {.file = f.file,
         .line = f.line,
         .logical = {{f.resource.name,
                      f.resource.text() + (f.container.empty() ? "" : "/" + f.container),
                      "resource"}}});
    res.properties = {{"severity", std::string(to_string(f.severity))}};
    if (f.suppressed)
      res.suppressions = {{f.suppressed->by == "annotation" ? "inSource" : "external",
                           f.suppressed->by + ": " + f.suppressed->reason}};
    results.push_back(std::move(res));
  }
  return sarif::write_log({"stockade", std::string(kVersion), std::string(kInformationUri)}, rules,
                          results);
}

std::string render_table(const ScanReport& r) {
  std::string out;
  auto d = [](std::string_view s) { return display_text(s); };  // names come from the input
  auto pad = [](std::string s, size_t n) {
    if (s.size() < n) s.append(n - s.size(), ' ');
    return s + " ";
  };
  uint64_t active = 0, suppressed = 0;
  uint64_t counts[5] = {0, 0, 0, 0, 0};
  for (const Finding& f : r.findings) {
    if (f.suppressed) {
      ++suppressed;
      continue;
    }
    ++active;
    ++counts[static_cast<int>(f.severity)];
  }
  if (active) out += pad("SEVERITY", 9) + pad("CHECK", 22) + pad("RESOURCE", 40) + "WHERE\n";
  auto where = [](const Finding& f) {
    std::string w = f.file.empty() ? "" : f.file + (f.line > 0 ? ":" + std::to_string(f.line) : "");
    return w;
  };
  for (const Finding& f : r.findings) {
    if (f.suppressed) continue;
    std::string sev(to_string(f.severity));
    for (char& c : sev) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out += pad(sev, 9) + pad(f.id, 22) +
           pad(d(f.resource.text() + (f.container.empty() ? "" : " [" + f.container + "]")), 40) +
           d(where(f)) + "\n";
    out += "  " + d(f.message) + "\n";
  }
  if (!r.risk.empty()) {
    out += "\nRISK (highest first)\n";
    size_t n = 0;
    for (const RiskEntry& e : r.risk) {
      if (n++ == 20) {
        out += "  ... " + std::to_string(r.risk.size() - 20) + " more (-o json lists all)\n";
        break;
      }
      char score[16];
      std::snprintf(score, sizeof score, "%5.1f", e.score);
      std::string factors;
      for (const auto& x : e.factors) factors += (factors.empty() ? "" : "; ") + x;
      out += std::string("  ") + score + "  " + d(e.resource.text()) + "\n         " + d(factors) +
             "\n";
    }
  }
  if (suppressed) {
    out += "\nSUPPRESSED (" + std::to_string(suppressed) + ")\n";
    for (const Finding& f : r.findings)
      if (f.suppressed)
        out += "  " + f.id + " " +
               d(f.resource.text() + (f.container.empty() ? "" : " [" + f.container + "]") + " — " +
                 f.suppressed->by + ": " + f.suppressed->reason) +
               "\n";
  }
  out += "\n" + std::to_string(active) + " findings (" + std::to_string(counts[4]) + " critical, " +
         std::to_string(counts[3]) + " high, " + std::to_string(counts[2]) + " medium, " +
         std::to_string(counts[1]) + " low), " + std::to_string(suppressed) + " suppressed, " +
         std::to_string(r.resources) + " resources\n";
  return out;
}

bool has_findings_at(const ScanReport& r, Severity threshold) {
  for (const Finding& f : r.findings)
    if (!f.suppressed && f.severity >= threshold) return true;
  return false;
}

}  // namespace stockade::posture
