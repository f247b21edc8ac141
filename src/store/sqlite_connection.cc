// The embedded engine: one SQLite file in write-ahead-log mode. synchronous=FULL because a
// batch is acknowledged to the agent as durable, and the agent then forgets it: NORMAL would
// survive a kill -9 of the server but not a power cut or kernel crash, whose last commits a
// WAL without fsync can lose. FULL costs one fsync per commit, and commits are whole batches.
#include <sqlite3.h>

#include <string>
#include <unordered_map>

#include "store/sql.h"

namespace stockade::store {
namespace {

std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(std::string path) : path_(std::move(path)) {}
  ~SqliteConnection() override {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    statements_.clear();
    if (db_) sqlite3_close_v2(db_);
  }

  Result<void> open(int busy_timeout_ms) {
    int rc =
        sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      return make_error(path_, 0, "cannot open the store: " + one_line(msg));
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, busy_timeout_ms);
    // The first statement reads the header: a file that is no SQLite database fails here.
    auto mode = query("PRAGMA journal_mode=WAL", {});
    if (!mode) return tl::unexpected(mode.error());
    if (mode->empty() || as_text(mode->front().front()) != "wal") {
      return make_error(path_, 0,
                        "the store needs write-ahead logging, which this file system does not "
                        "allow (journal mode " +
                            (mode->empty() ? std::string("?") : as_text(mode->front().front())) +
                            ")");
    }
    if (auto r = exec_script("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"); !r) return r;
    return {};
  }

  std::string_view engine() const override { return "sqlite"; }

  Result<Rows> query(std::string_view sql, const std::vector<Value>& params) override {
    auto stmt = prepare(sql);
    if (!stmt) return tl::unexpected(stmt.error());
    sqlite3_stmt* s = *stmt;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    for (size_t i = 0; i < params.size(); ++i) {
      // "$N" is a named parameter to SQLite: bound by name, so its order in the text is free.
      std::string name = "$" + std::to_string(i + 1);
      int index = sqlite3_bind_parameter_index(s, name.c_str());
      if (index == 0) continue;
      int rc = SQLITE_OK;
      if (const auto* n = std::get_if<int64_t>(&params[i])) {
        rc = sqlite3_bind_int64(s, index, *n);
      } else if (const auto* t = std::get_if<std::string>(&params[i])) {
        rc = sqlite3_bind_text(s, index, t->data(), static_cast<int>(t->size()), SQLITE_STATIC);
      } else {
        rc = sqlite3_bind_null(s, index);
      }
      if (rc != SQLITE_OK) return fail(rc);
    }
    Rows rows;
    for (;;) {
      int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        auto e = fail(rc);
        sqlite3_reset(s);
        return e;
      }
      int n = sqlite3_column_count(s);
      Row row;
      row.reserve(static_cast<size_t>(n));
      for (int c = 0; c < n; ++c) {
        switch (sqlite3_column_type(s, c)) {
          case SQLITE_INTEGER:
            row.emplace_back(static_cast<int64_t>(sqlite3_column_int64(s, c)));
            break;
          case SQLITE_NULL:
            row.emplace_back(std::monostate{});
            break;
          default: {
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
            row.emplace_back(
                std::string(text ? text : "", static_cast<size_t>(sqlite3_column_bytes(s, c))));
          }
        }
      }
      rows.push_back(std::move(row));
    }
    sqlite3_reset(s);
    return rows;
  }

  // One prepared single-row statement run per row: inside one transaction SQLite does this at
  // memory speed, there is no round trip to save.
  Result<Rows> insert_many(std::string_view table, const std::vector<Column>& columns,
                           std::string_view tail) override {
    std::string sql = "INSERT INTO " + std::string(table) + " (";
    std::string values;
    for (size_t i = 0; i < columns.size(); ++i) {
      sql += (i ? ", " : "") + columns[i].name;
      values += (i ? ", $" : "$") + std::to_string(i + 1);
    }
    sql += ") VALUES (" + values + ") " + std::string(tail);
    Rows out;
    size_t n = columns.empty() ? 0 : columns.front().size();
    std::vector<Value> params(columns.size());
    for (size_t r = 0; r < n; ++r) {
      for (size_t i = 0; i < columns.size(); ++i) {
        if (columns[i].is_text) {
          params[i] = columns[i].texts[r];
        } else {
          params[i] = columns[i].ints[r];
        }
      }
      auto rows = query(sql, params);
      if (!rows) return rows;
      for (auto& row : *rows) out.push_back(std::move(row));
    }
    return out;
  }

  uint64_t changes() const override { return static_cast<uint64_t>(sqlite3_changes64(db_)); }

  Result<void> exec_script(std::string_view sql) override {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      return make_error(path_, 0, one_line(msg));
    }
    return {};
  }

  Result<void> begin(bool write) override {
    return exec_script(write ? "BEGIN IMMEDIATE" : "BEGIN");
  }
  Result<void> commit() override { return exec_script("COMMIT"); }
  void rollback() override {
    if (!sqlite3_get_autocommit(db_)) (void)exec_script("ROLLBACK");
  }
  // BEGIN IMMEDIATE serializes writers before they read, so there are no deadlocks; a busy
  // database past the busy timeout is an error for the caller.
  bool retryable() const override { return false; }
  Result<bool> advisory_lock(int64_t, bool) override { return true; }  // one writer already

  Result<uint64_t> size_bytes() override {
    auto rows =
        query("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()", {});
    if (!rows) return tl::unexpected(rows.error());
    return static_cast<uint64_t>(rows->empty() ? 0 : as_int(rows->front().front()));
  }
  std::string_view id_column() const override { return "INTEGER PRIMARY KEY"; }
  std::string_view for_update() const override { return ""; }

 private:
  Result<sqlite3_stmt*> prepare(std::string_view sql) {
    auto it = statements_.find(std::string(sql));
    if (it != statements_.end()) return it->second;
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) return fail(rc);
    statements_.emplace(std::string(sql), s);
    return s;
  }

  tl::unexpected<Error> fail(int rc) {
    std::string msg = sqlite3_errmsg(db_);
    if ((rc & 0xff) == SQLITE_NOTADB) msg = "not a SQLite database (" + msg + ")";
    return make_error(path_, 0, one_line(msg));
  }

  std::string path_;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace

Result<std::unique_ptr<Connection>> open_sqlite(const std::string& path, int busy_timeout_ms) {
  if (path.empty()) return make_error("sqlite: the store URL names no file (sqlite:PATH)");
  auto c = std::make_unique<SqliteConnection>(path);
  if (auto r = c->open(busy_timeout_ms); !r) return tl::unexpected(r.error());
  return std::unique_ptr<Connection>(std::move(c));
}

}  // namespace stockade::store
