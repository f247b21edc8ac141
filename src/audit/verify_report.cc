#include "audit/verify_report.h"

#include <fmt/format.h>

#include "audit/decision_text.h"
#include "core/display.h"
#include "core/sarif.h"
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

sarif::Result sarif_result(const VerifyRow& row, const ObservedEdge& e) {
  const GroupedEdge& g = row.group;
  const Verdict& v = row.verdict;
  const Decision& d = deciding_side(v);
  const std::string proto(to_string(e.protocol));
  const char* dir = &d == &v.egress ? "egress" : "ingress";
  const std::string& who = &d == &v.egress ? e.src.id : e.dst.id;
  sarif::Result r{
      .rule_id = "observed-flow-denied",
      .level = "error",
      .message = fmt::format("Observed flow {} -> {} {}/{} ({} established) is denied: {}", g.src,
                             g.dst, proto, e.port, g.stats.established, reason(d, who, dir)),
      .properties = {{"src", g.src},
                     {"dst", g.dst},
                     {"protocol", proto},
                     {"port", static_cast<int64_t>(e.port)}}};
  if (auto loc = decision_location(d))
    r.locations.push_back({.file = loc->file, .line = loc->line});
  return r;
}

}  // namespace

std::string verify_sarif(const Verification& ver, const Observed& obs) {
  std::vector<sarif::Result> results;
  for (const VerifyRow& row : ver.rows)
    if (!row.verdict.allowed) results.push_back(sarif_result(row, obs.edges[row.rep]));
  const sarif::Rule rule{
      .id = "observed-flow-denied",
      .name = "ObservedFlowDenied",
      .short_description = "An observed connection is denied by the policies",
      .full_description =
          "A connection that was observed established in the cluster would be denied by the "
          "loaded network policies: applying them breaks that traffic.",
      .level = "error"};
  return sarif::write_log({"stockade", std::string(kVersion), std::string(kInformationUri)}, {rule},
                          results);
}

}  // namespace stockade::audit
