// A throw-away PostgreSQL server for tests and benchmarks: initdb into a temporary directory,
// started with pg_ctl on a unix socket in that directory (no TCP port), as an unprivileged
// user (`runuser -u nobody` when run as root: PostgreSQL refuses to run as root), stopped and
// removed by the destructor. A server left behind by a test program killed before its end is
// stopped and removed by the next start().
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/error.h"

namespace stockade::testing {

class TempPostgres {
 public:
  // The directory holding initdb and pg_ctl: $STOCKADE_PG_BINDIR, else the newest
  // /usr/lib/postgresql/N/bin (Debian's layout); nullopt when there is none.
  static std::optional<std::string> bin_dir();
  static Result<std::unique_ptr<TempPostgres>> start();
  ~TempPostgres();

  // A libpq URL of a new, empty database.
  Result<std::string> create_database(const std::string& name);
  std::string url(const std::string& database) const;
  const std::string& dir() const { return dir_; }

 private:
  TempPostgres() = default;
  std::string bin_, dir_;
  bool started_ = false;
  bool as_nobody_ = false;
};

}  // namespace stockade::testing
