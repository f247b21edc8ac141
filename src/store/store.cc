// One store implementation over both engines (sql.h): the SQL is the same text for SQLite and
// PostgreSQL; the engines differ in how they run it.
#include "store/store.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <unordered_map>

#include "store/batch_rows.h"
#include "store/sql.h"

namespace stockade::store {

int64_t as_int(const Value& v) {
  if (const auto* n = std::get_if<int64_t>(&v)) return *n;
  if (const auto* s = std::get_if<std::string>(&v)) {
    try {
      return std::stoll(*s);
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

std::string as_text(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* n = std::get_if<int64_t>(&v)) return std::to_string(*n);
  return {};
}

std::string_view to_string(Resolution r) {
  return r == Resolution::Minute ? "minute" : "hour";
}

std::string_view to_string(BaselineState s) {
  switch (s) {
    case BaselineState::Learning:
      return "learning";
    case BaselineState::Stable:
      return "stable";
    case BaselineState::Locked:
      return "locked";
  }
  return "learning";
}

std::optional<BaselineState> parse_baseline_state(std::string_view s) {
  for (auto st : {BaselineState::Learning, BaselineState::Stable, BaselineState::Locked}) {
    if (to_string(st) == s) return st;
  }
  return std::nullopt;
}

std::string_view to_string(DecisionVerdict v) {
  return v == DecisionVerdict::Allow ? "allow" : "deny";
}

namespace {

using namespace rows;  // NOLINT: this file is their one user

constexpr int kMaxAttempts = 5;  // of a transaction that deadlocked

class SqlStore final : public Store {
 public:
  SqlStore(std::unique_ptr<Connection> writer, std::unique_ptr<Connection> reader, StoreOptions o,
           int version)
      : c_(std::move(writer)),
        reader_(std::move(reader)),
        options_(std::move(o)),
        version_(version) {}

  std::string_view engine() const override { return c_->engine(); }  // writer
  int schema_version() const override { return version_; }

  Result<WriteOutcome> write_batch(const EdgeBatch& batch) override {
    auto outs = write_batches({batch});
    if (!outs) return tl::unexpected(outs.error());
    return outs->front();
  }

  // Group commit: the batches' sequences checked in order (a later batch of the same agent run
  // sees the earlier one taken), the edges of those taken merged and written once, one
  // transaction, one sync.
  Result<std::vector<WriteOutcome>> write_batches(const std::vector<EdgeBatch>& batches) override {
    for (const EdgeBatch& b : batches) {
      if (auto r = check_batch(b); !r) return tl::unexpected(r.error());
    }
    const int64_t now = now_ns();
    std::unordered_map<std::string, int64_t> new_ids[2];
    auto result = transact(true, [&](Connection& c) -> Result<std::vector<WriteOutcome>> {
      new_ids[0].clear();
      new_ids[1].clear();
      std::vector<WriteOutcome> outs(batches.size());
      std::map<std::pair<std::string, std::string>, int64_t> taken;  // run -> last sequence
      EdgeBatch kept;
      for (size_t i = 0; i < batches.size(); ++i) {
        const EdgeBatch& b = batches[i];
        if (b.agent) {
          const auto& a = *b.agent;
          auto [it, fresh] = taken.try_emplace({a.node, a.boot_id}, -1);
          if (fresh) {
            auto stored = stored_sequence(c, a, now);
            if (!stored) return tl::unexpected(stored.error());
            it->second = *stored;
          }
          if (it->second >= 0 && static_cast<int64_t>(a.sequence) <= it->second) {
            outs[i].last_sequence = static_cast<uint64_t>(it->second);
            continue;  // a replay: stored = false
          }
          it->second = static_cast<int64_t>(a.sequence);
          outs[i].last_sequence = a.sequence;
        }
        outs[i].stored = true;
        std::set<EdgeName> distinct;
        for (const auto& e : b.edges) {
          distinct.emplace(e.src, e.dst, std::string(to_string(e.protocol)), e.port);
          kept.edges.push_back(e);
        }
        kept.observed.insert(kept.observed.end(), b.observed.begin(), b.observed.end());
        kept.records.insert(kept.records.end(), b.records.begin(), b.records.end());
        outs[i].edges = distinct.size();
      }
      for (const auto& [edges, tables] :
           {std::pair{&kept.edges, &kPodEdges}, {&kept.observed, &kObservedEdges}}) {
        auto merged = merge_batch(*edges, now);
        if (!merged) return tl::unexpected(merged.error());
        if (auto r = write_edges(c, *tables, *merged, now, new_ids[tables->cache]); !r)
          return tl::unexpected(r.error());
      }
      if (auto r = write_record_counts(c, kept.records, now); !r) return tl::unexpected(r.error());
      auto version = c.query(
          "UPDATE data_version SET version = version + 1 WHERE id = 1 RETURNING version", {});
      if (!version) return tl::unexpected(version.error());
      if (version->empty()) return make_error("the store has no data version row");
      for (WriteOutcome& o : outs)
        o.data_version = static_cast<uint64_t>(as_int(version->front().front()));
      for (const auto& [run, seq] : taken) {
        if (seq < 0) continue;
        auto up = c.query(
            "UPDATE agent_sequences SET last_sequence = $3, updated = $4 WHERE node = $1 AND "
            "boot_id = $2",
            {Value{run.first}, Value{run.second}, Value{seq}, Value{now}});
        if (!up) return tl::unexpected(up.error());
      }
      return outs;
    });
    // Ids are cached only once their rows are committed (a rolled-back insert's id is no id).
    if (result) {
      std::lock_guard cache(cache_mu_);
      for (int i = 0; i < 2; ++i) name_ids_[i].insert(new_ids[i].begin(), new_ids[i].end());
    }
    return result;
  }

  // Record counts into their lifetime row and their minute and hour buckets.
  Result<void> write_record_counts(Connection& c, const std::vector<RecordTally>& tallies,
                                   int64_t now) {
    std::map<std::pair<std::string, int64_t>, RecordTally> rows;
    for (const RecordTally& t : tallies) {
      const int64_t at = t.time ? t.time : now;
      for (auto [res, bucket] : {std::pair{"lifetime", int64_t{0}},
                                 {"minute", floor_to(at, kMinuteNs)},
                                 {"hour", floor_to(at, kHourNs)}}) {
        RecordTally& r = rows[{res, bucket}];
        r.records += t.records;
        r.malformed += t.malformed;
        r.unresolved += t.unresolved;
      }
    }
    if (rows.empty()) return {};
    std::vector<Column> cols = {text_column("resolution"), int_column("bucket"),
                                int_column("records"), int_column("malformed"),
                                int_column("unresolved")};
    for (const auto& [key, r] : rows) {
      cols[0].texts.push_back(key.first);
      cols[1].ints.push_back(key.second);
      cols[2].ints.push_back(static_cast<int64_t>(r.records));
      cols[3].ints.push_back(static_cast<int64_t>(r.malformed));
      cols[4].ints.push_back(static_cast<int64_t>(r.unresolved));
    }
    auto r = c.insert_many("record_counts", cols,
                           "ON CONFLICT (resolution, bucket) DO UPDATE SET records = "
                           "record_counts.records + excluded.records, malformed = "
                           "record_counts.malformed + excluded.malformed, unresolved = "
                           "record_counts.unresolved + excluded.unresolved");
    if (!r) return tl::unexpected(r.error());
    return {};
  }

  // A merged batch's endpoints, lifetime rows and buckets (inside the caller's transaction);
  // endpoint ids it inserted go to `new_ids`, cached by the caller once committed.
  Result<void> write_edges(Connection& c, const EdgeTables& t, const MergedBatch& merged,
                           int64_t now, std::unordered_map<std::string, int64_t>& new_ids) {
    // Endpoint ids: from the cache, else inserted or looked up in one statement.
    std::unordered_map<std::string, int64_t> ids;
    Column name_col = text_column("name"), seen_col = int_column("first_seen");
    {
      std::lock_guard cache(cache_mu_);
      for (const auto& n : merged.names) {
        if (auto it = name_ids_[t.cache].find(n); it != name_ids_[t.cache].end()) {
          ids.emplace(n, it->second);
        } else {
          name_col.texts.push_back(n);
          seen_col.ints.push_back(now);
        }
      }
    }
    if (!name_col.texts.empty()) {
      auto rows =
          c.insert_many(t.names, {name_col, seen_col},
                        "ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id, name");
      if (!rows) return tl::unexpected(rows.error());
      for (const auto& r : *rows) {
        ids[as_text(r[1])] = as_int(r[0]);
        new_ids[as_text(r[1])] = as_int(r[0]);
      }
    }
    auto id_of = [&](const std::string& n) { return ids.at(n); };

    // Lifetime rows, returning each edge's id.
    std::vector<Column> cols = stats_columns(
        {int_column("src"), int_column("dst"), text_column("protocol"), int_column("port")});
    cols.push_back(int_column("stored_at"));
    for (const auto& [key, s] : merged.lifetime) {
      cols[0].ints.push_back(id_of(std::get<0>(key)));
      cols[1].ints.push_back(id_of(std::get<1>(key)));
      cols[2].texts.push_back(std::get<2>(key));
      cols[3].ints.push_back(std::get<3>(key));
      push_stats(cols, 4, s);
      cols.back().ints.push_back(now);  // stored_at: kept from the first insert
    }
    std::map<std::tuple<int64_t, int64_t, std::string, int64_t>, int64_t> edge_ids;
    if (!merged.lifetime.empty()) {
      auto rows = c.insert_many(t.edges, cols,
                                upsert_stats_tail(t.edges, "src, dst, protocol, port") +
                                    " RETURNING id, src, dst, protocol, port");
      if (!rows) return tl::unexpected(rows.error());
      for (const auto& r : *rows) {
        edge_ids[{as_int(r[1]), as_int(r[2]), as_text(r[3]), as_int(r[4])}] = as_int(r[0]);
      }
    }
    auto edge_of = [&](const EdgeName& k) {
      return edge_ids.at(
          {id_of(std::get<0>(k)), id_of(std::get<1>(k)), std::get<2>(k), std::get<3>(k)});
    };

    if (auto r = write_buckets(c, t, merged.minutes, merged.hours, merged.processes, edge_of); !r)
      return tl::unexpected(r.error());

    return {};
  }

  Result<std::optional<uint64_t>> last_sequence(std::string_view node,
                                                std::string_view boot_id) override {
    return transact(false, [&](Connection& c) -> Result<std::optional<uint64_t>> {
      auto rows =
          c.query("SELECT last_sequence FROM agent_sequences WHERE node = $1 AND boot_id = $2",
                  {Value{std::string(node)}, Value{std::string(boot_id)}});
      if (!rows) return tl::unexpected(rows.error());
      if (rows->empty() || as_int(rows->front().front()) < 0) return std::nullopt;
      return static_cast<uint64_t>(as_int(rows->front().front()));
    });
  }

  Result<std::vector<StoredEdge>> lifetime_edges() override {
    return transact(false, [&](Connection& c) -> Result<std::vector<StoredEdge>> {
      return read_edges(
          c,
          "SELECT e.id, s.name, d.name, e.protocol, e.port, e.count, e.established, e.failed, "
          "e.dropped, e.first_seen, e.last_seen, e.stored_at FROM edges e JOIN endpoints s ON "
          "s.id = e.src JOIN endpoints d ON d.id = e.dst",
          {});
    });
  }

  Result<EdgeRange> edges_between(int64_t since, int64_t until) override {
    if (since >= until) return make_error("an edge range needs since < until");
    EdgeRange range;
    const int64_t now = now_ns();
    bool minutes = since >= now - options_.minute_retention;
    range.resolution = minutes ? Resolution::Minute : Resolution::Hour;
    range.since = floor_to(since, minutes ? kMinuteNs : kHourNs);
    range.until = until;
    std::string table = minutes ? "edge_minutes" : "edge_hours";
    auto edges = transact(false, [&](Connection& c) -> Result<std::vector<StoredEdge>> {
      return read_edges(
          c,
          "SELECT e.id, s.name, d.name, e.protocol, e.port, CAST(SUM(b.count) AS BIGINT), "
          "CAST(SUM(b.established) AS BIGINT), CAST(SUM(b.failed) AS BIGINT), "
          "CAST(SUM(b.dropped) AS BIGINT), CAST(COALESCE(MIN(NULLIF(b.first_seen, 0)), 0) AS "
          "BIGINT), CAST(MAX(b.last_seen) AS BIGINT) FROM " +
              table +
              " b JOIN edges e ON e.id = b.edge JOIN endpoints s ON s.id = e.src JOIN endpoints "
              "d ON d.id = e.dst WHERE b.bucket >= $1 AND b.bucket < $2 GROUP BY e.id, s.name, "
              "d.name, e.protocol, e.port",
          {Value{range.since}, Value{range.until}});
    });
    if (!edges) return tl::unexpected(edges.error());
    range.edges = std::move(*edges);
    return range;
  }

  Result<Observations> observations(int64_t since, int64_t until) override {
    using Source = Observations::Source;
    if (until == 0) until = kMaxCount;
    if (since >= until) return make_error("an observation range needs since < until");
    const int64_t now = now_ns();
    const bool whole = since == 0 && until == kMaxCount;
    Source source = whole                                      ? Source::Lifetime
                    : since >= now - options_.minute_retention ? Source::Minutes
                    : since >= now - options_.hour_retention   ? Source::Hours
                                                               : Source::LifetimeOverlap;
    const int64_t width = source == Source::Minutes ? kMinuteNs : kHourNs;
    const int64_t from = floor_to(since, width);
    return transact(false, [&](Connection& c) -> Result<Observations> {
      Observations out;
      out.source = source;
      // The version first: the rows read after it hold at least what it counts (PostgreSQL
      // reads each statement's own snapshot; a write committed in between is read again once
      // the reader sees the version move on).
      auto version = c.query("SELECT version FROM data_version WHERE id = 1", {});
      if (!version) return tl::unexpected(version.error());
      if (!version->empty()) out.data_version = static_cast<uint64_t>(as_int(version->front()[0]));
      const std::string peers =
          " JOIN observed_peers s ON s.id = e.src JOIN observed_peers d ON d.id = e.dst";
      Result<std::vector<StoredEdge>> edges;
      Result<Rows> counts;
      if (source == Source::Lifetime || source == Source::LifetimeOverlap) {
        std::string sql =
            "SELECT e.id, s.name, d.name, e.protocol, e.port, e.count, e.established, e.failed, "
            "e.dropped, e.first_seen, e.last_seen FROM observed_edges e" +
            peers;
        std::vector<Value> params;
        if (source == Source::LifetimeOverlap) {
          // The buckets of the range are gone: the edges seen in it, with their lifetime counts.
          sql += " WHERE (e.last_seen = 0 OR e.last_seen >= $1) AND e.first_seen < $2";
          params = {Value{since}, Value{until}};
        }
        edges = read_edges(c, sql, params, false);
        counts = c.query(
            "SELECT records, malformed, unresolved FROM record_counts WHERE resolution = "
            "'lifetime'",
            {});
      } else {
        const std::string table =
            source == Source::Minutes ? "observed_edge_minutes" : "observed_edge_hours";
        edges = read_edges(
            c,
            "SELECT e.id, s.name, d.name, e.protocol, e.port, CAST(SUM(b.count) AS BIGINT), "
            "CAST(SUM(b.established) AS BIGINT), CAST(SUM(b.failed) AS BIGINT), "
            "CAST(SUM(b.dropped) AS BIGINT), CAST(COALESCE(MIN(NULLIF(b.first_seen, 0)), 0) AS "
            "BIGINT), CAST(MAX(b.last_seen) AS BIGINT) FROM " +
                table + " b JOIN observed_edges e ON e.id = b.edge" + peers +
                " WHERE b.bucket >= $1 AND b.bucket < $2 GROUP BY e.id, s.name, d.name, "
                "e.protocol, e.port",
            {Value{from}, Value{until}}, false);
        counts = c.query(
            "SELECT CAST(COALESCE(SUM(records), 0) AS BIGINT), CAST(COALESCE(SUM(malformed), 0) "
            "AS BIGINT), CAST(COALESCE(SUM(unresolved), 0) AS BIGINT) FROM record_counts WHERE "
            "resolution = $1 AND bucket >= $2 AND bucket < $3",
            {Value{std::string(source == Source::Minutes ? "minute" : "hour")}, Value{from},
             Value{until}});
      }
      if (!edges) return tl::unexpected(edges.error());
      if (!counts) return tl::unexpected(counts.error());
      out.edges = std::move(*edges);
      if (!counts->empty()) {
        out.records = static_cast<uint64_t>(as_int(counts->front()[0]));
        out.malformed = static_cast<uint64_t>(as_int(counts->front()[1]));
        out.unresolved = static_cast<uint64_t>(as_int(counts->front()[2]));
      }
      return out;
    });
  }

  Result<uint64_t> data_version() override {
    return transact(false, [&](Connection& c) -> Result<uint64_t> {
      auto rows = c.query("SELECT version FROM data_version WHERE id = 1", {});
      if (!rows) return tl::unexpected(rows.error());
      return rows->empty() ? uint64_t{0} : static_cast<uint64_t>(as_int(rows->front()[0]));
    });
  }

  Result<Baseline> start_baseline(std::string_view ns, std::string_view workload) override {
    if (auto e = check_baseline_key(ns, workload); !e) return tl::unexpected(e.error());
    return transact(true, [&](Connection& c) -> Result<Baseline> {
      auto ins = c.query(
          "INSERT INTO baselines (namespace, workload, state, since, locked_by) VALUES ($1, $2, "
          "'learning', $3, '') ON CONFLICT (namespace, workload) DO NOTHING",
          {Value{std::string(ns)}, Value{std::string(workload)}, Value{now_ns()}});
      if (!ins) return tl::unexpected(ins.error());
      auto b = read_baseline(c, ns, workload, false);
      if (!b) return tl::unexpected(b.error());
      if (!*b) return make_error("baseline " + std::string(ns) + " vanished");
      return **b;
    });
  }

  Result<std::optional<Baseline>> baseline(std::string_view ns,
                                           std::string_view workload) override {
    return transact(false, [&](Connection& c) { return read_baseline(c, ns, workload, false); });
  }

  Result<std::vector<Baseline>> baselines() override {
    return transact(false, [&](Connection& c) -> Result<std::vector<Baseline>> {
      auto rows = c.query("SELECT namespace, workload, state, since, locked_by FROM baselines", {});
      if (!rows) return tl::unexpected(rows.error());
      std::vector<Baseline> out;
      for (const auto& r : *rows) out.push_back(to_baseline(r));
      std::sort(out.begin(), out.end(), [](const Baseline& a, const Baseline& b) {
        return std::tie(a.ns, a.workload) < std::tie(b.ns, b.workload);
      });
      return out;
    });
  }

  Result<Baseline> transition_baseline(std::string_view ns, std::string_view workload,
                                       BaselineState to, std::string_view by) override {
    std::string name = std::string(ns) + (workload.empty() ? "" : "/" + std::string(workload));
    bool user = to == BaselineState::Locked;
    if (user && (by.empty() || !storable(by))) {
      return make_error("locking baseline " + name + " needs who locks it");
    }
    return transact(true, [&](Connection& c) -> Result<Baseline> {
      auto cur = read_baseline(c, ns, workload, true);
      if (!cur) return tl::unexpected(cur.error());
      if (!*cur) return make_error(ErrorCode::NotFound, "no baseline " + name);
      Baseline b = **cur;
      BaselineState from = b.state;
      bool allowed = (from == BaselineState::Learning && to == BaselineState::Stable) ||
                     (from == BaselineState::Stable && to == BaselineState::Learning) ||
                     (from != BaselineState::Locked && to == BaselineState::Locked) ||
                     (from == BaselineState::Locked && to == BaselineState::Learning);
      if (!allowed) {
        return make_error("baseline " + name + " cannot go from " + std::string(to_string(from)) +
                          " to " + std::string(to_string(to)));
      }
      if (from == BaselineState::Locked && by.empty()) {
        return make_error("unlocking baseline " + name + " needs who unlocks it");
      }
      b.state = to;
      b.since = now_ns();
      b.locked_by = user ? std::string(by) : std::string();
      auto up = c.query(
          "UPDATE baselines SET state = $3, since = $4, locked_by = $5 WHERE namespace = $1 AND "
          "workload = $2",
          {Value{b.ns}, Value{b.workload}, Value{std::string(to_string(to))}, Value{b.since},
           Value{b.locked_by}});
      if (!up) return tl::unexpected(up.error());
      return b;
    });
  }

  Result<bool> delete_baseline(std::string_view ns, std::string_view workload) override {
    return transact(true, [&](Connection& c) -> Result<bool> {
      auto r = c.query("DELETE FROM baselines WHERE namespace = $1 AND workload = $2",
                       {Value{std::string(ns)}, Value{std::string(workload)}});
      if (!r) return tl::unexpected(r.error());
      return c.changes() > 0;
    });
  }

  Result<int64_t> add_decision(const Decision& d) override {
    for (const std::string* s : {&d.src, &d.dst, &d.by, &d.reason}) {
      if (!storable(*s)) return make_error("a decision's text must be UTF-8");
    }
    if (d.src.empty() || d.dst.empty() || d.by.empty()) {
      return make_error("a decision needs its edge's endpoints and who decided");
    }
    return transact(true, [&](Connection& c) -> Result<int64_t> {
      auto rows = c.query(
          "INSERT INTO decisions (src, dst, protocol, port, verdict, decided_by, decided_at, "
          "reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
          {Value{d.src}, Value{d.dst}, Value{std::string(to_string(d.protocol))},
           Value{int64_t{d.port}}, Value{std::string(to_string(d.verdict))}, Value{d.by},
           Value{d.at ? d.at : now_ns()}, Value{d.reason}});
      if (!rows) return tl::unexpected(rows.error());
      if (rows->empty()) return make_error("the decision got no id");
      return as_int(rows->front().front());
    });
  }

  Result<std::vector<Decision>> decisions() override {
    return transact(false, [&](Connection& c) -> Result<std::vector<Decision>> {
      auto rows = c.query(
          "SELECT id, src, dst, protocol, port, verdict, decided_by, decided_at, reason FROM "
          "decisions ORDER BY decided_at, id",
          {});
      if (!rows) return tl::unexpected(rows.error());
      std::vector<Decision> out;
      for (const auto& r : *rows) {
        Decision d;
        d.id = as_int(r[0]);
        d.src = as_text(r[1]);
        d.dst = as_text(r[2]);
        d.protocol = parse_l4(as_text(r[3]));
        d.port = static_cast<uint16_t>(as_int(r[4]));
        d.verdict = as_text(r[5]) == "deny" ? DecisionVerdict::Deny : DecisionVerdict::Allow;
        d.by = as_text(r[6]);
        d.at = as_int(r[7]);
        d.reason = as_text(r[8]);
        out.push_back(std::move(d));
      }
      return out;
    });
  }

  Result<void> append_audit(const std::vector<AuditEvent>& events) override {
    if (events.empty()) return {};
    std::vector<Column> cols = {int_column("at"),       text_column("kind"),     text_column("src"),
                                text_column("dst"),     text_column("protocol"), int_column("port"),
                                text_column("process"), text_column("detail")};
    for (const auto& e : events) {
      for (const std::string* s : {&e.kind, &e.src, &e.dst, &e.process, &e.detail}) {
        if (!storable(*s)) return make_error("an audit event's text must be UTF-8");
      }
      if (e.kind.empty()) return make_error("an audit event needs a kind");
      cols[0].ints.push_back(e.at ? e.at : now_ns());
      cols[1].texts.push_back(e.kind);
      cols[2].texts.push_back(e.src);
      cols[3].texts.push_back(e.dst);
      cols[4].texts.push_back(std::string(to_string(e.protocol)));
      cols[5].ints.push_back(e.port);
      cols[6].texts.push_back(e.process);
      cols[7].texts.push_back(e.detail);
    }
    return transact(true, [&](Connection& c) -> Result<void> {
      auto r = c.insert_many("audit_events", cols, "");
      if (!r) return tl::unexpected(r.error());
      return {};
    });
  }

  Result<AuditPage> audit_events(const AuditQuery& q) override {
    if (q.limit == 0 || q.limit > 10'000)
      return make_error("an audit page holds 1 to 10000 events");
    return transact(false, [&](Connection& c) -> Result<AuditPage> {
      auto rows = c.query(
          "SELECT id, at, kind, src, dst, protocol, port, process, detail FROM audit_events "
          "WHERE at >= $1 AND at < $2 AND (at > $3 OR (at = $3 AND id > $4)) ORDER BY at, id "
          "LIMIT $5",
          {Value{q.since}, Value{q.until}, Value{q.after_at}, Value{q.after_id},
           Value{static_cast<int64_t>(q.limit + 1)}});
      if (!rows) return tl::unexpected(rows.error());
      AuditPage page;
      for (const auto& r : *rows) {
        if (page.events.size() == q.limit) {
          page.more = true;
          break;
        }
        AuditEvent e;
        e.id = as_int(r[0]);
        e.at = as_int(r[1]);
        e.kind = as_text(r[2]);
        e.src = as_text(r[3]);
        e.dst = as_text(r[4]);
        e.protocol = parse_l4(as_text(r[5]));
        e.port = static_cast<uint16_t>(as_int(r[6]));
        e.process = as_text(r[7]);
        e.detail = as_text(r[8]);
        page.events.push_back(std::move(e));
      }
      return page;
    });
  }

  Result<RetentionReport> apply_retention() override {
    const int64_t now = now_ns();
    return transact(true, [&](Connection& c) -> Result<RetentionReport> {
      RetentionReport rep;
      auto locked = c.advisory_lock(kRetentionLock, false);
      if (!locked) return tl::unexpected(locked.error());
      if (!*locked) return rep;
      rep.ran = true;
      // A bucket expires once its end is older than the retention.
      auto del = [&](const char* sql, int64_t cutoff, uint64_t* count) -> Result<void> {
        auto r = c.query(sql, {Value{cutoff}});
        if (!r) return tl::unexpected(r.error());
        if (count) *count = c.changes();
        return {};
      };
      if (auto r = del("DELETE FROM edge_minutes WHERE bucket <= $1",
                       now - options_.minute_retention - kMinuteNs, &rep.minute_buckets);
          !r) {
        return tl::unexpected(r.error());
      }
      if (auto r = del("DELETE FROM edge_hours WHERE bucket <= $1",
                       now - options_.hour_retention - kHourNs, &rep.hour_buckets);
          !r) {
        return tl::unexpected(r.error());
      }
      // The traffic as observed and the record counts expire with the same buckets.
      for (auto [sql, cutoff] : {
               std::pair{"DELETE FROM observed_edge_minutes WHERE bucket <= $1",
                         now - options_.minute_retention - kMinuteNs},
               {"DELETE FROM observed_edge_hours WHERE bucket <= $1",
                now - options_.hour_retention - kHourNs},
               {"DELETE FROM record_counts WHERE resolution = 'minute' AND bucket <= $1",
                now - options_.minute_retention - kMinuteNs},
               {"DELETE FROM record_counts WHERE resolution = 'hour' AND bucket <= $1",
                now - options_.hour_retention - kHourNs},
           }) {
        if (auto r = del(sql, cutoff, nullptr); !r) return tl::unexpected(r.error());
      }
      if (auto r = del("DELETE FROM audit_events WHERE at < $1", now - options_.audit_retention,
                       &rep.audit_events);
          !r) {
        return tl::unexpected(r.error());
      }
      // An agent silent for as long as hour buckets are kept has no batch left to replay.
      if (auto r = del("DELETE FROM agent_sequences WHERE updated < $1",
                       now - options_.hour_retention, nullptr);
          !r) {
        return tl::unexpected(r.error());
      }
      return rep;
    });
  }

  Result<uint64_t> size_bytes() override {
    std::lock_guard lock(read_mu_);
    return reader_->size_bytes();
  }

 private:
  int64_t now_ns() const {
    if (options_.now) return options_.now();
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  // One transaction, retried when the database chose it as a deadlock or serialization victim.
  template <class F>
  auto transact(bool write, F&& f) -> decltype(f(std::declval<Connection&>())) {
    Connection& c = write ? *c_ : *reader_;
    std::lock_guard lock(write ? mu_ : read_mu_);
    for (int attempt = 1;; ++attempt) {
      if (auto r = c.begin(write); !r) return tl::unexpected(r.error());
      auto result = f(c);
      if (result) {
        auto done = c.commit();
        if (done) return result;
        bool retry = c.retryable() && attempt < kMaxAttempts;
        c.rollback();
        if (!retry) return tl::unexpected(done.error());
        continue;
      }
      bool retry = c.retryable() && attempt < kMaxAttempts;
      c.rollback();
      if (!retry) return result;
    }
  }

  Result<void> check_baseline_key(std::string_view ns, std::string_view workload) {
    if (ns.empty() || !storable(ns) || !storable(workload)) {
      return make_error("a baseline needs a namespace (and optionally a workload) as UTF-8 text");
    }
    return {};
  }

  static Baseline to_baseline(const Row& r) {
    Baseline b;
    b.ns = as_text(r[0]);
    b.workload = as_text(r[1]);
    b.state = parse_baseline_state(as_text(r[2])).value_or(BaselineState::Learning);
    b.since = as_int(r[3]);
    b.locked_by = as_text(r[4]);
    return b;
  }

  Result<std::optional<Baseline>> read_baseline(Connection& c, std::string_view ns,
                                                std::string_view workload, bool lock) {
    auto rows = c.query(
        "SELECT namespace, workload, state, since, locked_by FROM baselines "
        "WHERE namespace = $1 AND workload = $2" +
            std::string(lock ? c.for_update() : ""),
        {Value{std::string(ns)}, Value{std::string(workload)}});
    if (!rows) return tl::unexpected(rows.error());
    if (rows->empty()) return std::nullopt;
    return to_baseline(rows->front());
  }

  // Rows of (edge id, src, dst, protocol, port, count, established, failed, dropped, first,
  // last) with each edge's processes, sorted.
  Result<std::vector<StoredEdge>> read_edges(Connection& c, const std::string& sql,
                                             const std::vector<Value>& params,
                                             bool with_processes = true) {
    auto rows = c.query(sql, params);
    if (!rows) return tl::unexpected(rows.error());
    std::unordered_map<int64_t, size_t> index;
    std::vector<StoredEdge> out;
    out.reserve(rows->size());
    for (const auto& r : *rows) {
      StoredEdge e;
      e.src = as_text(r[1]);
      e.dst = as_text(r[2]);
      e.protocol = parse_l4(as_text(r[3]));
      e.port = static_cast<uint16_t>(as_int(r[4]));
      e.stats.count = static_cast<uint64_t>(as_int(r[5]));
      e.stats.established = static_cast<uint64_t>(as_int(r[6]));
      e.stats.failed = static_cast<uint64_t>(as_int(r[7]));
      e.stats.dropped = static_cast<uint64_t>(as_int(r[8]));
      e.stats.first_seen = as_int(r[9]);
      e.stats.last_seen = as_int(r[10]);
      if (r.size() > 11) e.stored_at = as_int(r[11]);
      index.emplace(as_int(r[0]), out.size());
      out.push_back(std::move(e));
    }
    if (!out.empty() && with_processes) {
      auto procs = c.query("SELECT edge, name FROM edge_processes", {});
      if (!procs) return tl::unexpected(procs.error());
      for (const auto& r : *procs) {
        if (auto it = index.find(as_int(r[0])); it != index.end()) {
          out[it->second].processes.push_back(as_text(r[1]));
        }
      }
    }
    for (auto& e : out) std::sort(e.processes.begin(), e.processes.end());
    std::sort(out.begin(), out.end(), edge_less);
    return out;
  }

  // Writes on one connection, reads on another: a long read (the whole map) does not hold up
  // ingestion, and in WAL mode (SQLite) or MVCC (PostgreSQL) it reads a consistent snapshot.
  std::mutex mu_, read_mu_;
  std::unique_ptr<Connection> c_;  // the writer
  std::unique_ptr<Connection> reader_;
  StoreOptions options_;
  int version_;
  std::mutex cache_mu_;  // of name_ids_ (filled after the writer's lock is released)
  // Committed rows of each EdgeTables::names table (endpoints, observed peers): name -> id.
  std::unordered_map<std::string, int64_t> name_ids_[2];
};

}  // namespace

Result<std::unique_ptr<Store>> open_store(std::string_view url, StoreOptions options) {
  std::string shown;
  std::function<Result<std::unique_ptr<Connection>>()> connect;
  if (url.starts_with("sqlite:")) {
    std::string path(url.substr(7));
    if (path.starts_with("//")) path.erase(0, 2);  // sqlite:///abs/path
    shown = path;
    int timeout = options.busy_timeout_ms;
    connect = [path, timeout] { return open_sqlite(path, timeout); };
  } else if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    shown = redact_url(url);
    connect = [u = std::string(url)] { return open_postgres(u); };
  } else {
    return make_error("unknown store '" + std::string(url) +
                      "': use sqlite:PATH or postgres://USER@HOST/DB");
  }
  auto writer = connect();
  if (!writer) return tl::unexpected(writer.error());
  int64_t now = options.now ? options.now()
                            : std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  auto version = migrate(**writer, now);
  if (!version) {
    Error e = version.error();
    if (e.file.empty()) e.file = shown;
    return tl::unexpected(e);
  }
  auto reader = connect();
  if (!reader) return tl::unexpected(reader.error());
  return std::unique_ptr<Store>(std::make_unique<SqlStore>(std::move(*writer), std::move(*reader),
                                                           std::move(options), *version));
}

}  // namespace stockade::store
