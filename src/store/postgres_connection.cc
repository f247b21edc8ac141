// The shared engine: PostgreSQL through libpq, one connection per Store. Statements are
// prepared once per connection; a batch's rows go in one INSERT … SELECT FROM unnest(arrays)
// per table (one round trip for 1,000 rows, where a statement per row would be 1,000).
#include <libpq-fe.h>

#include <charconv>
#include <string>
#include <unordered_map>

#include "store/sql.h"

namespace stockade::store {
namespace {

constexpr unsigned kBoolOid = 16, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23, kNumericOid = 1700;

std::string one_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return s;
}

}  // namespace

std::string redact_url(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  auto at = url.find('@', scheme + 3);
  auto slash = url.find('/', scheme + 3);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) {
    return std::string(url);
  }
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon)) + ":***" + std::string(url.substr(at));
}

namespace {

void append_array_text(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

void ignore_notice(void*, const char*) {}

class PostgresConnection final : public Connection {
 public:
  explicit PostgresConnection(std::string url) : url_(std::move(url)) {}
  ~PostgresConnection() override {
    if (conn_) PQfinish(conn_);
  }

  Result<void> open() {
    conn_ = PQconnectdb(url_.c_str());
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
      return make_error(
          redact_url(url_), 0,
          "cannot connect: " + one_line(conn_ ? PQerrorMessage(conn_) : "out of memory"));
    }
    PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
    return {};
  }

  std::string_view engine() const override { return "postgres"; }

  Result<Rows> query(std::string_view sql, const std::vector<Value>& params) override {
    if (PQstatus(conn_) != CONNECTION_OK) return lost();
    auto name = prepare(sql, params.size());
    if (!name) return tl::unexpected(name.error());
    std::vector<std::string> text(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      if (const auto* n = std::get_if<int64_t>(&params[i])) {
        text[i] = std::to_string(*n);
        values[i] = text[i].c_str();
      } else if (const auto* t = std::get_if<std::string>(&params[i])) {
        values[i] = t->c_str();
      }
    }
    PGresult* res = PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()),
                                   values.data(), nullptr, nullptr, 0);
    return collect(res);
  }

  Result<Rows> insert_many(std::string_view table, const std::vector<Column>& columns,
                           std::string_view tail) override {
    size_t n = columns.empty() ? 0 : columns.front().size();
    if (n == 0) return Rows{};
    std::string sql = "INSERT INTO " + std::string(table) + " (";
    std::string arrays, names;
    std::vector<Value> params;
    for (size_t i = 0; i < columns.size(); ++i) {
      const Column& c = columns[i];
      sql += (i ? ", " : "") + c.name;
      names += (i ? ", " : "") + c.name;
      arrays += (i ? ", $" : "$") + std::to_string(i + 1) + (c.is_text ? "::text[]" : "::bigint[]");
      std::string a = "{";
      for (size_t r = 0; r < n; ++r) {
        if (r) a += ',';
        if (c.is_text) {
          append_array_text(a, c.texts[r]);
        } else {
          a += std::to_string(c.ints[r]);
        }
      }
      a += '}';
      params.emplace_back(std::move(a));
    }
    sql += ") SELECT * FROM unnest(" + arrays + ") AS v(" + names + ") " + std::string(tail);
    return query(sql, params);
  }

  uint64_t changes() const override { return changes_; }

  Result<void> exec_script(std::string_view sql) override {
    if (PQstatus(conn_) != CONNECTION_OK) return lost();
    auto r = collect(PQexec(conn_, std::string(sql).c_str()));
    if (!r) return tl::unexpected(r.error());
    return {};
  }

  Result<void> begin(bool) override {
    // Between transactions a broken connection can be re-established; inside one it cannot
    // (what the transaction did is gone), so that is an error for the caller to retry.
    if (PQstatus(conn_) != CONNECTION_OK) {
      PQreset(conn_);
      prepared_.clear();
      if (PQstatus(conn_) != CONNECTION_OK) return lost();
    }
    return exec_script("BEGIN");
  }
  Result<void> commit() override { return exec_script("COMMIT"); }
  void rollback() override {
    if (PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) != PQTRANS_IDLE) {
      PQclear(PQexec(conn_, "ROLLBACK"));
    }
  }
  bool retryable() const override {
    return last_state_ == "40001" || last_state_ == "40P01";  // serialization, deadlock
  }

  Result<bool> advisory_lock(int64_t key, bool wait) override {
    auto rows = query(wait ? "SELECT pg_advisory_xact_lock($1::bigint)::text"
                           : "SELECT pg_try_advisory_xact_lock($1::bigint)",
                      {Value{key}});
    if (!rows) return tl::unexpected(rows.error());
    if (wait) return true;
    return !rows->empty() && as_int(rows->front().front()) == 1;
  }

  Result<uint64_t> size_bytes() override {
    auto rows = query("SELECT pg_database_size(current_database())", {});
    if (!rows) return tl::unexpected(rows.error());
    return static_cast<uint64_t>(rows->empty() ? 0 : as_int(rows->front().front()));
  }
  std::string_view id_column() const override {
    return "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY";
  }
  std::string_view for_update() const override { return " FOR UPDATE"; }

 private:
  Result<std::string> prepare(std::string_view sql, size_t nparams) {
    auto it = prepared_.find(std::string(sql));
    if (it != prepared_.end()) return it->second;
    std::string name = "s" + std::to_string(prepared_.size() + 1);
    auto r = collect(PQprepare(conn_, name.c_str(), std::string(sql).c_str(),
                               static_cast<int>(nparams), nullptr));
    if (!r) return tl::unexpected(r.error());
    prepared_.emplace(std::string(sql), name);
    return name;
  }

  tl::unexpected<Error> lost() {
    last_state_.clear();
    return make_error(redact_url(url_), 0, "connection lost: " + one_line(PQerrorMessage(conn_)));
  }

  Result<Rows> collect(PGresult* res) {
    last_state_.clear();
    if (!res) return lost();
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      last_state_ = state ? state : "";
      const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
      std::string msg = primary ? primary : PQerrorMessage(conn_);
      PQclear(res);
      if (PQstatus(conn_) != CONNECTION_OK) return lost();
      return make_error(redact_url(url_), 0, one_line(msg));
    }
    const char* tuples = PQcmdTuples(res);
    changes_ = 0;
    std::from_chars(tuples, tuples + std::char_traits<char>::length(tuples), changes_);
    Rows rows;
    int nrows = PQntuples(res), ncols = PQnfields(res);
    rows.reserve(static_cast<size_t>(nrows));
    for (int r = 0; r < nrows; ++r) {
      Row row;
      row.reserve(static_cast<size_t>(ncols));
      for (int c = 0; c < ncols; ++c) {
        if (PQgetisnull(res, r, c)) {
          row.emplace_back(std::monostate{});
          continue;
        }
        const char* v = PQgetvalue(res, r, c);
        int len = PQgetlength(res, r, c);
        switch (PQftype(res, c)) {
          case kBoolOid:
            row.emplace_back(int64_t{v[0] == 't'});
            break;
          case kInt8Oid:
          case kInt2Oid:
          case kInt4Oid:
          case kNumericOid: {
            int64_t n = 0;
            std::from_chars(v, v + len, n);
            row.emplace_back(n);
            break;
          }
          default:
            row.emplace_back(std::string(v, static_cast<size_t>(len)));
        }
      }
      rows.push_back(std::move(row));
    }
    PQclear(res);
    return rows;
  }

  std::string url_;
  PGconn* conn_ = nullptr;
  std::unordered_map<std::string, std::string> prepared_;
  std::string last_state_;
  uint64_t changes_ = 0;
};

}  // namespace

Result<std::unique_ptr<Connection>> open_postgres(const std::string& url) {
  auto c = std::make_unique<PostgresConnection>(url);
  if (auto r = c->open(); !r) return tl::unexpected(r.error());
  return std::unique_ptr<Connection>(std::move(c));
}

}  // namespace stockade::store
