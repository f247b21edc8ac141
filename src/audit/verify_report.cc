#include "audit/verify_report.h"

#include <fmt/format.h>

#include "audit/decision_text.h"
#include "core/display.h"
#include "core/version.h"

namespace stockade::audit {

std::string verify_table(const Verification& ver, const Observed& obs) {
  std::string table;
  for (const VerifyRow& row : ver.rows) {
    const ObservedEdge& e = obs.edges[row.rep];
    table += fmt::format("{:<40} {:<40} {:<11} {:>8} {:<8} {}\n", display_text(row.group.src),
                         display_text(row.group.dst),
                         fmt::format("{}/{}", to_string(e.protocol), e.port),
                         row.group.stats.established, row.verdict.allowed ? "allowed" : "denied",
                         display_text(short_reason(deciding_side(row.verdict))));
  }
  std::string out;
  if (!table.empty())
    out = fmt::format("{:<40} {:<40} {:<11} {:>8} {:<8} {}\n", "SOURCE", "DESTINATION", "PORT",
                      "COUNT", "VERDICT", "DECIDED BY") +
          table + "\n";
  out += fmt::format(
      "{} observed edges: {} allowed, {} denied ({} not established, {} with an endpoint "
      "outside the objects: not evaluated)\n",
      ver.allowed + ver.denied, ver.allowed, ver.denied, ver.not_established, ver.unresolved);
  if (ver.requests.empty()) return out;
  // HTTP requests: the denied ones (the allowed are in -o json), then the count.
  std::string denied;
  for (const Verification::Request& r : ver.requests)
    if (!r.verdict.allowed)
      denied +=
          fmt::format("{:<30} {:<30} {:>5} {:<7} {:<40} {:>6} {}\n", display_text(r.src),
                      display_text(r.dst), r.port, display_text(r.method), display_text(r.path),
                      r.count, display_text(short_reason(deciding_side(r.verdict))));
  if (!denied.empty())
    out += "\n" +
           fmt::format("{:<30} {:<30} {:>5} {:<7} {:<40} {:>6} {}\n", "CLIENT", "SERVER", "PORT",
                       "METHOD", "PATH (DENIED REQUESTS)", "COUNT", "DECIDED BY") +
           denied;
  out += fmt::format("{} observed HTTP requests: {} allowed, {} denied\n",
                     ver.requests_allowed + ver.requests_denied, ver.requests_allowed,
                     ver.requests_denied);
  return out;
}

std::string verify_table_without_objects(const Observed& obs) {
  uint64_t edges = 0, not_established = 0;
  std::string table;
  for (const ObservedEdge& e : obs.edges) {
    if (e.stats.established == 0) {
      ++not_established;
      continue;
    }
    ++edges;
    table += fmt::format("{:<40} {:<40} {:<11} {:>8} {:<8}\n", e.src.id, e.dst.id,
                         fmt::format("{}/{}", to_string(e.protocol), e.port), e.stats.established,
                         "unknown");
  }
  std::string out;
  if (!table.empty())
    out = fmt::format("{:<40} {:<40} {:<11} {:>8} {:<8}\n", "SOURCE", "DESTINATION", "PORT",
                      "COUNT", "VERDICT") +
          table + "\n";
  return out + fmt::format(
                   "{} observed edges, verdicts unknown without cluster objects ({} not "
                   "established)\n",
                   edges, not_established);
}

namespace {

nlohmann::json sarif_result(const VerifyRow& row, const ObservedEdge& e) {
  const GroupedEdge& g = row.group;
  const Verdict& v = row.verdict;
  const Decision& d = deciding_side(v);
  const std::string proto(to_string(e.protocol));
  const char* dir = &d == &v.egress ? "egress" : "ingress";
  const std::string& who = &d == &v.egress ? e.src.id : e.dst.id;
  nlohmann::json r = {
      {"ruleId", "observed-flow-denied"},
      {"level", "error"},
      {"message",
       {{"text", fmt::format("Observed flow {} -> {} {}/{} ({} established) is denied: {}", g.src,
                             g.dst, proto, e.port, g.stats.established, reason(d, who, dir))}}},
      {"properties", {{"src", g.src}, {"dst", g.dst}, {"protocol", proto}, {"port", e.port}}}};
  if (auto loc = decision_location(d)) {
    nlohmann::json region = nlohmann::json::object();
    if (loc->line > 0) region["startLine"] = loc->line;
    nlohmann::json phys = {{"artifactLocation", {{"uri", loc->file}}}};
    if (!region.empty()) phys["region"] = region;
    r["locations"] = nlohmann::json::array({{{"physicalLocation", phys}}});
  }
  return r;
}

}  // namespace

nlohmann::json verify_sarif(const Verification& ver, const Observed& obs) {
  nlohmann::json results = nlohmann::json::array();
  for (const VerifyRow& row : ver.rows)
    if (!row.verdict.allowed) results.push_back(sarif_result(row, obs.edges[row.rep]));
  nlohmann::json rule = {
      {"id", "observed-flow-denied"},
      {"name", "ObservedFlowDenied"},
      {"shortDescription", {{"text", "An observed connection is denied by the policies"}}},
      {"fullDescription",
       {{"text",
         "A connection that was observed established in the cluster would be denied by the "
         "loaded network policies: applying them breaks that traffic."}}},
      {"defaultConfiguration", {{"level", "error"}}}};
  return {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
          {"version", "2.1.0"},
          {"runs", nlohmann::json::array({{{"tool",
                                            {{"driver",
                                              {{"name", "stockade"},
                                               {"version", std::string(kVersion)},
                                               {"rules", nlohmann::json::array({rule})}}}}},
                                           {"results", std::move(results)}}})}};
}

}  // namespace stockade::audit
