// Observed traffic against the policies in force: each observed edge's verdict and deciding
// rule, grouped into rows by pod, workload or namespace (`stockade verify`, GET /api/v1/verify).
// The one home of verify's classification; the command line prints it as a table, JSON or SARIF.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "recommend/observed.h"

namespace stockade::audit {

struct VerifyRow {
  GroupedEdge group;  // the row's names and summed statistics, and the edges it stands for
  size_t rep = 0;     // the member whose verdict and rule the row shows
  Verdict verdict;
};

struct Verification {
  std::vector<VerifyRow> rows;
  // Pod-level edges, whatever the rows: the summary means the same with every grouping.
  uint64_t allowed = 0, denied = 0;
  uint64_t unresolved = 0;       // an endpoint outside the objects: not evaluated
  uint64_t not_established = 0;  // attempts that never connected: not traffic a policy let in
  // HTTP requests (L7 records), each (client, server, port, method, path) under the rows'
  // names with the verdict of its L7 rules (PolicyEngine::evaluate_http).
  struct Request {
    std::string src, dst;
    uint16_t port = 0;
    std::string method, path;
    uint64_t count = 0;
    Verdict verdict;
  };
  std::vector<Request> requests;
  uint64_t requests_allowed = 0, requests_denied = 0;  // distinct requests at pod level
};

Verification verify_observed(const PolicyEngine& engine, const Observed& obs, Granularity by);

// The side that denied (egress first), or the side that decided.
const Decision& deciding_side(const Verdict& v);

// The `stockade verify -o json` object.
nlohmann::json verify_json(const Verification& v, const Observed& obs, Granularity by);

// Without cluster objects: every established edge as the records name it, verdict unknown.
nlohmann::json verify_json_without_objects(const Observed& obs);

}  // namespace stockade::audit
