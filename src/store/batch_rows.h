// A batch as the store's tables take it (store.cc's one user): checked, merged per row of each
// table in key order, and the SQL text and columns the rows are written with. Private to
// src/store.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "store/sql.h"
#include "store/store.h"

namespace stockade::store::rows {

L4Protocol parse_l4(std::string_view s);
// Text both engines store alike: PostgreSQL refuses NUL bytes and invalid UTF-8, so the store
// refuses them for SQLite too.
bool storable(std::string_view s);
int64_t floor_to(int64_t t, int64_t width);
void merge(EdgeStats& into, const EdgeStats& s);
// Counts add up; first_seen is the earliest known (0: unknown), last_seen the latest.
std::string upsert_stats_tail(std::string_view table, std::string_view key);
Column int_column(std::string name);
Column text_column(std::string name);
void push_stats(std::vector<Column>& cols, size_t first, const EdgeStats& s);
std::vector<Column> stats_columns(std::vector<Column> head);
bool edge_less(const StoredEdge& a, const StoredEdge& b);

constexpr int64_t kMaxCount = std::numeric_limits<int64_t>::max();

// A batch's names, sequence and counts as the tables can hold them.
Result<void> check_edges(const std::vector<StoredEdge>& edges);
Result<void> check_batch(const EdgeBatch& batch);

using EdgeName = std::tuple<std::string, std::string, std::string, int64_t>;  // src dst proto port
using Buckets = std::map<std::pair<EdgeName, int64_t>, EdgeStats>;

// A batch merged per row of each table, in key order (replicas lock rows in one order).
struct MergedBatch {
  std::map<EdgeName, EdgeStats> lifetime;
  Buckets minutes, hours;
  std::set<std::pair<EdgeName, std::string>> processes;
  std::set<std::string> names;
};

Result<MergedBatch> merge_batch(const std::vector<StoredEdge>& edges, int64_t now);

// The agent run's last stored sequence (-1: none yet), its row locked until the transaction
// ends (PostgreSQL), created when missing.
Result<int64_t> stored_sequence(Connection& c, const AgentSequence& a, int64_t now);

// One family of edge tables: the pod-level edges (the audit's), or the traffic as observed.
struct EdgeTables {
  const char* names;    // (id, name, first_seen)
  const char* edges;    // lifetime rows
  const char* minutes;  // buckets
  const char* hours;
  int cache;  // SqlStore::name_ids_ index
};
constexpr EdgeTables kPodEdges{"endpoints", "edges", "edge_minutes", "edge_hours", 0};
constexpr EdgeTables kObservedEdges{"observed_peers", "observed_edges", "observed_edge_minutes",
                                    "observed_edge_hours", 1};

// The minute and hour buckets and the process names of edges whose ids `edge_of` gives.
template <class EdgeOf>
Result<void> write_buckets(Connection& c, const EdgeTables& t, const Buckets& minutes,
                           const Buckets& hours,
                           const std::set<std::pair<EdgeName, std::string>>& processes,
                           const EdgeOf& edge_of) {
  for (auto [table, buckets] : {std::pair{t.minutes, &minutes}, {t.hours, &hours}}) {
    std::vector<Column> b = stats_columns({int_column("edge"), int_column("bucket")});
    for (const auto& [kb, s] : *buckets) {
      b[0].ints.push_back(edge_of(kb.first));
      b[1].ints.push_back(kb.second);
      push_stats(b, 2, s);
    }
    if (b[0].ints.empty()) continue;
    auto rows = c.insert_many(table, b, upsert_stats_tail(table, "edge, bucket"));
    if (!rows) return tl::unexpected(rows.error());
  }

  if (!processes.empty()) {
    Column edge_col = int_column("edge"), pname = text_column("name");
    for (const auto& [k, p] : processes) {
      edge_col.ints.push_back(edge_of(k));
      pname.texts.push_back(p);
    }
    auto rows =
        c.insert_many("edge_processes", {edge_col, pname}, "ON CONFLICT (edge, name) DO NOTHING");
    if (!rows) return tl::unexpected(rows.error());
  }

  return {};
}

}  // namespace stockade::store::rows
