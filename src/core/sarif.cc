#include "core/sarif.h"

#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace stockade::sarif {
namespace {

using ojson = nlohmann::ordered_json;

ojson properties_json(const std::vector<Property>& props) {
  ojson j = ojson::object();
  for (const Property& p : props) std::visit([&](const auto& v) { j[p.name] = v; }, p.value);
  return j;
}

ojson rule_json(const Rule& r) {
  ojson j;
  j["id"] = r.id;
  j["name"] = r.name;
  j["shortDescription"] = {{"text", r.short_description}};
  j["fullDescription"] = {{"text", r.full_description}};
  if (!r.help_text.empty()) {
    ojson help = {{"text", r.help_text}};
    if (!r.help_markdown.empty()) help["markdown"] = r.help_markdown;
    j["help"] = help;
  }
  j["defaultConfiguration"] = {{"level", r.level}};
  if (!r.properties.empty()) j["properties"] = properties_json(r.properties);
  return j;
}

ojson location_json(const Location& l) {
  ojson j = ojson::object();
  if (!l.file.empty()) {
    ojson phys;
    phys["artifactLocation"] = {{"uri", path_uri(l.file)}};
    if (l.line > 0) phys["region"] = {{"startLine", l.line}};
    j["physicalLocation"] = phys;
  }
  if (!l.logical.empty()) {
    ojson logical = ojson::array();
    for (const LogicalLocation& x : l.logical)
      logical.push_back(
          {{"name", x.name}, {"fullyQualifiedName", x.fully_qualified_name}, {"kind", x.kind}});
    j["logicalLocations"] = logical;
  }
  return j;
}

ojson result_json(const Result& r) {
  ojson j;
  j["ruleId"] = r.rule_id;
  if (r.rule_index) j["ruleIndex"] = *r.rule_index;
  j["level"] = r.level;
  j["message"] = {{"text", r.message}};
  if (!r.locations.empty()) {
    ojson locs = ojson::array();
    for (const Location& l : r.locations) locs.push_back(location_json(l));
    j["locations"] = locs;
  }
  if (!r.properties.empty()) j["properties"] = properties_json(r.properties);
  if (!r.suppressions.empty()) {
    ojson s = ojson::array();
    for (const Suppression& x : r.suppressions)
      s.push_back({{"kind", x.kind}, {"justification", x.justification}});
    j["suppressions"] = s;
  }
  return j;
}

}  // namespace

std::string write_log(const Tool& tool, const std::vector<Rule>& rules,
                      const std::vector<Result>& results) {
  ojson driver;
  driver["name"] = tool.name;
  driver["version"] = tool.version;
  if (!tool.information_uri.empty()) driver["informationUri"] = tool.information_uri;
  driver["rules"] = ojson::array();
  for (const Rule& r : rules) driver["rules"].push_back(rule_json(r));
  ojson run;
  run["tool"] = {{"driver", driver}};
  run["results"] = ojson::array();
  for (const Result& r : results) run["results"].push_back(result_json(r));
  ojson j;
  j["$schema"] = "https://json.schemastore.org/sarif-2.1.0.json";
  j["version"] = "2.1.0";
  j["runs"] = ojson::array({run});
  return j.dump(2, ' ', false, ojson::error_handler_t::replace) + "\n";
}

std::string path_uri(const std::string& path) {
  std::string out = path.starts_with("/") ? "file://" : "";
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace stockade::sarif
