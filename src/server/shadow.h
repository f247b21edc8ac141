// Shadow (staged) policies in `stockade serve`: a proposed policy set is staged under a name,
// not applied; the traffic the server takes in is evaluated against the policies in force and
// against those plus the staged set (audit/: the one classification, as simulate and verify
// do it); per staged policy and rule, the edges it would allow and block, with examples; a set
// whose counts are right is promoted through the apply endpoint's handler.
//
//   GET    /api/v1/shadow                      staged sets with their summaries
//   POST   /api/v1/shadow/{name}               stage (or replace) a set: body = policies
//   GET    /api/v1/shadow/{name}[?since=T]     the counts (default: traffic since staged)
//   DELETE /api/v1/shadow/{name}               drop it
//   POST   /api/v1/shadow/{name}/promote[?dryRun=All]   apply it (then it is no longer staged)
//
// Sets live in memory: a restarted server has none staged (docs/notes/detect.md).
#pragma once

#include <httplib.h>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "server/http.h"
#include "server/state.h"

namespace stockade::server {

struct StagedSet {
  std::string name;
  std::string body;  // the policies as sent (YAML or JSON)
  int64_t staged_at = 0;
  std::string staged_by;
  std::vector<PolicyRef> policies;
};

// The counts of one staged set over the traffic kept since `since_ns` (0: all).
Result<nlohmann::json> shadow_report(const ServerState& state, const StagedSet& set,
                                     int64_t since_ns, size_t max_examples = 5);

class ShadowRoutes {
 public:
  // `apply` (may be null: no cluster) promotes; `who` names the requester of this request.
  ShadowRoutes(ServerState& state, const ApplyHandler& apply, std::function<Requester()> who)
      : state_(state), apply_(apply), who_(std::move(who)) {}
  void add(httplib::Server& s);
  size_t staged() const;

 private:
  void list(httplib::Response& res);
  void stage(const httplib::Request& req, httplib::Response& res);
  // A copy of the set the path names (its first match); false after a 404 answer.
  bool named_set(const httplib::Request& req, httplib::Response& res, StagedSet& set) const;
  void report(const httplib::Request& req, httplib::Response& res);
  void remove(const httplib::Request& req, httplib::Response& res);
  void promote(const httplib::Request& req, httplib::Response& res);

  ServerState& state_;
  const ApplyHandler& apply_;
  std::function<Requester()> who_;
  mutable std::mutex mu_;
  std::map<std::string, StagedSet> sets_;
};

}  // namespace stockade::server
