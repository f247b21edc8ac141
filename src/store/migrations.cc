// The schema, as numbered migrations both engines apply in the same order; each one's number
// is recorded in schema_migrations. A migration is never edited once released: a change is a
// new number. {id} is the engine's auto-numbered primary key.
#include <string>

#include "store/sql.h"

namespace stockade::store {
namespace {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, "initial schema", R"sql(
CREATE TABLE endpoints (
  id {id},
  name TEXT NOT NULL UNIQUE,        -- graph id: ns/name, world/IP, node/NAME
  first_seen BIGINT NOT NULL        -- ns since the epoch, when first stored
);
CREATE TABLE edges (                -- lifetime totals, one row per edge
  id {id},
  src BIGINT NOT NULL REFERENCES endpoints (id),
  dst BIGINT NOT NULL REFERENCES endpoints (id),
  protocol TEXT NOT NULL,
  port INTEGER NOT NULL,
  count BIGINT NOT NULL,
  established BIGINT NOT NULL,
  failed BIGINT NOT NULL,
  dropped BIGINT NOT NULL,
  first_seen BIGINT NOT NULL,       -- 0: unknown
  last_seen BIGINT NOT NULL,
  UNIQUE (src, dst, protocol, port)
);
CREATE TABLE edge_processes (
  edge BIGINT NOT NULL REFERENCES edges (id),
  name TEXT NOT NULL,
  PRIMARY KEY (edge, name)
);
CREATE TABLE edge_minutes (         -- 1-minute buckets (bucket: its start, ns)
  edge BIGINT NOT NULL REFERENCES edges (id),
  bucket BIGINT NOT NULL,
  count BIGINT NOT NULL,
  established BIGINT NOT NULL,
  failed BIGINT NOT NULL,
  dropped BIGINT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  PRIMARY KEY (edge, bucket)
);
CREATE INDEX edge_minutes_bucket ON edge_minutes (bucket);
CREATE TABLE edge_hours (           -- 1-hour buckets
  edge BIGINT NOT NULL REFERENCES edges (id),
  bucket BIGINT NOT NULL,
  count BIGINT NOT NULL,
  established BIGINT NOT NULL,
  failed BIGINT NOT NULL,
  dropped BIGINT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  PRIMARY KEY (edge, bucket)
);
CREATE INDEX edge_hours_bucket ON edge_hours (bucket);
CREATE TABLE baselines (
  namespace TEXT NOT NULL,
  workload TEXT NOT NULL,           -- '' for the whole namespace
  state TEXT NOT NULL CHECK (state IN ('learning', 'stable', 'locked')),
  since BIGINT NOT NULL,
  locked_by TEXT NOT NULL,
  PRIMARY KEY (namespace, workload)
);
CREATE TABLE decisions (
  id {id},
  src TEXT NOT NULL,
  dst TEXT NOT NULL,
  protocol TEXT NOT NULL,
  port INTEGER NOT NULL,
  verdict TEXT NOT NULL CHECK (verdict IN ('allow', 'deny')),
  decided_by TEXT NOT NULL,
  decided_at BIGINT NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX decisions_edge ON decisions (src, dst, protocol, port);
CREATE TABLE audit_events (
  id {id},
  at BIGINT NOT NULL,
  kind TEXT NOT NULL,
  src TEXT NOT NULL,
  dst TEXT NOT NULL,
  protocol TEXT NOT NULL,
  port INTEGER NOT NULL,
  process TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE TABLE agent_sequences (
  node TEXT NOT NULL,
  boot_id TEXT NOT NULL,
  last_sequence BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  PRIMARY KEY (node, boot_id)
);
)sql"},
    {2, "when each edge was first stored", R"sql(
ALTER TABLE edges ADD COLUMN stored_at BIGINT NOT NULL DEFAULT 0;  -- ns, the store's clock
)sql"},
    {3, "traffic as observed, record counts, data version", R"sql(
CREATE TABLE observed_peers (       -- a flow side as observed: flow/edge_graph.h peer_key
  id {id},
  name TEXT NOT NULL UNIQUE,
  first_seen BIGINT NOT NULL
);
CREATE TABLE observed_edges (       -- lifetime totals between sides as observed
  id {id},
  src BIGINT NOT NULL REFERENCES observed_peers (id),
  dst BIGINT NOT NULL REFERENCES observed_peers (id),
  protocol TEXT NOT NULL,
  port INTEGER NOT NULL,
  count BIGINT NOT NULL,
  established BIGINT NOT NULL,
  failed BIGINT NOT NULL,
  dropped BIGINT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  stored_at BIGINT NOT NULL,
  UNIQUE (src, dst, protocol, port)
);
CREATE TABLE observed_edge_minutes (
  edge BIGINT NOT NULL REFERENCES observed_edges (id),
  bucket BIGINT NOT NULL,
  count BIGINT NOT NULL,
  established BIGINT NOT NULL,
  failed BIGINT NOT NULL,
  dropped BIGINT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  PRIMARY KEY (edge, bucket)
);
CREATE INDEX observed_edge_minutes_bucket ON observed_edge_minutes (bucket);
CREATE TABLE observed_edge_hours (
  edge BIGINT NOT NULL REFERENCES observed_edges (id),
  bucket BIGINT NOT NULL,
  count BIGINT NOT NULL,
  established BIGINT NOT NULL,
  failed BIGINT NOT NULL,
  dropped BIGINT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  PRIMARY KEY (edge, bucket)
);
CREATE INDEX observed_edge_hours_bucket ON observed_edge_hours (bucket);
CREATE TABLE record_counts (        -- flow records taken in: 'lifetime' (bucket 0), 'minute', 'hour'
  resolution TEXT NOT NULL,
  bucket BIGINT NOT NULL,
  records BIGINT NOT NULL,
  malformed BIGINT NOT NULL,
  unresolved BIGINT NOT NULL,
  PRIMARY KEY (resolution, bucket)
);
CREATE TABLE data_version (         -- one row: one more per write of traffic, by any replica
  id INTEGER PRIMARY KEY,
  version BIGINT NOT NULL
);
INSERT INTO data_version (id, version) VALUES (1, 0);
)sql"},
};

std::string substitute(std::string sql, std::string_view id) {
  for (size_t at = sql.find("{id}"); at != std::string::npos; at = sql.find("{id}", at)) {
    sql.replace(at, 4, id);
    at += id.size();
  }
  return sql;
}

}  // namespace

int latest_schema_version() {
  return kMigrations[std::size(kMigrations) - 1].version;
}

Result<int> migrate(Connection& c, int64_t now) {
  auto run = [&]() -> Result<int> {
    if (auto r = c.advisory_lock(kMigrationLock, true); !r) return tl::unexpected(r.error());
    if (auto r = c.exec_script(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
        !r) {
      return tl::unexpected(r.error());
    }
    auto rows = c.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {});
    if (!rows) return tl::unexpected(rows.error());
    int current = rows->empty() ? 0 : static_cast<int>(as_int(rows->front().front()));
    if (current > latest_schema_version()) {
      return make_error("the store's schema is version " + std::to_string(current) +
                        ", newer than this stockade knows (" +
                        std::to_string(latest_schema_version()) + "): upgrade stockade");
    }
    for (const Migration& m : kMigrations) {
      if (m.version <= current) continue;
      if (auto r = c.exec_script(substitute(m.sql, c.id_column())); !r) {
        Error e = r.error();
        e.message = "migration " + std::to_string(m.version) + " (" + m.name + "): " + e.message;
        return tl::unexpected(e);
      }
      auto ins = c.query(
          "INSERT INTO schema_migrations (version, name, applied_at) "
          "VALUES ($1, $2, $3)",
          {Value{int64_t{m.version}}, Value{std::string(m.name)}, Value{now}});
      if (!ins) return tl::unexpected(ins.error());
      current = m.version;
    }
    return current;
  };
  if (auto r = c.begin(true); !r) return tl::unexpected(r.error());
  auto version = run();
  if (!version) {
    c.rollback();
    return version;
  }
  if (auto r = c.commit(); !r) return tl::unexpected(r.error());
  return version;
}

}  // namespace stockade::store
