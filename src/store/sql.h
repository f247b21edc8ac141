// The store's private seam between its one implementation (store.cc) and the two engines: a
// connection that runs parameterised SQL ($1, $2, … in both dialects) and inserts many rows at
// once. Not for use outside src/store/.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/error.h"

namespace stockade::store {

// PostgreSQL advisory lock keys (pg_locks.objid shows them): the migrations, and retention.
constexpr int64_t kMigrationLock = 0x53544B4D49470001;  // "STKMIG" 1
constexpr int64_t kRetentionLock = 0x53544B5245540001;  // "STKRET" 1

using Value = std::variant<std::monostate, int64_t, std::string>;
using Row = std::vector<Value>;
using Rows = std::vector<Row>;

int64_t as_int(const Value& v);       // 0 for NULL
std::string as_text(const Value& v);  // "" for NULL

// One column of a multi-row insert: all integer or all text values, one per row.
struct Column {
  std::string name;
  std::vector<int64_t> ints;
  std::vector<std::string> texts;
  bool is_text = false;
  size_t size() const { return is_text ? texts.size() : ints.size(); }
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual std::string_view engine() const = 0;
  // Statements are prepared once per SQL text and kept.
  virtual Result<Rows> query(std::string_view sql, const std::vector<Value>& params) = 0;
  // INSERT INTO table (columns…) <rows> <tail>, where tail is an ON CONFLICT / RETURNING clause
  // naming the columns; returns what RETURNING returns, in no particular order.
  virtual Result<Rows> insert_many(std::string_view table, const std::vector<Column>& columns,
                                   std::string_view tail) = 0;
  // Rows the last INSERT, UPDATE or DELETE changed.
  virtual uint64_t changes() const = 0;
  // Several statements without parameters (migrations).
  virtual Result<void> exec_script(std::string_view sql) = 0;
  // Transactions; a writing one takes the write lock at once (SQLite: BEGIN IMMEDIATE).
  virtual Result<void> begin(bool write) = 0;
  virtual Result<void> commit() = 0;
  virtual void rollback() = 0;
  // Whether the last error is worth retrying the transaction for (deadlock, serialization).
  virtual bool retryable() const = 0;
  // A transaction-scoped lock among the database's clients; true when taken. `wait`: block.
  virtual Result<bool> advisory_lock(int64_t key, bool wait) = 0;
  virtual Result<uint64_t> size_bytes() = 0;
  // The column type of an auto-numbered primary key, for the migrations' {id}.
  virtual std::string_view id_column() const = 0;
  // " FOR UPDATE" where rows can be locked (PostgreSQL), "" otherwise.
  virtual std::string_view for_update() const = 0;
};

Result<std::unique_ptr<Connection>> open_sqlite(const std::string& path, int busy_timeout_ms);
Result<std::unique_ptr<Connection>> open_postgres(const std::string& url);
std::string redact_url(std::string_view url);  // without its password, for messages

// The numbered migrations, applied in order in one transaction; the version reached.
Result<int> migrate(Connection& c, int64_t now);
int latest_schema_version();

}  // namespace stockade::store
