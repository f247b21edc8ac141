#include "store/temp_postgres.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace stockade::testing {
namespace fs = std::filesystem;
namespace {

// Runs argv (as nobody when asked) with its output appended to `log`; the exit status.
int run(const std::vector<std::string>& args, bool as_nobody, const std::string& log) {
  std::vector<std::string> full;
  if (as_nobody) full = {"runuser", "-u", "nobody", "--"};
  full.insert(full.end(), args.begin(), args.end());
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    std::vector<char*> argv;
    for (auto& a : full) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string tail_of(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  for (size_t i = lines.size() > 5 ? lines.size() - 5 : 0; i < lines.size(); ++i) {
    last += (last.empty() ? "" : " | ") + lines[i];
  }
  return last;
}

// Servers of test programs that were killed before their end (their owner file names a
// process that is gone): stopped and removed, so they do not pile up.
void reap_orphans(const std::string& bin) {
  std::error_code ec;
  for (const auto& d : fs::directory_iterator("/tmp", ec)) {
    if (d.path().filename().string().rfind("stockade-pg-", 0) != 0) continue;
    std::ifstream owner(d.path() / "owner");
    long pid = 0;
    if (!(owner >> pid) || pid <= 0) continue;
    if (kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    std::string dir = d.path().string();
    bool as_nobody = geteuid() == 0;
    if (fs::exists(dir + "/data/postmaster.pid")) {
      run({bin + "/pg_ctl", "-D", dir + "/data", "-m", "immediate", "-w", "stop"}, as_nobody,
          "/dev/null");
    }
    fs::remove_all(dir, ec);
  }
}

}  // namespace

std::optional<std::string> TempPostgres::bin_dir() {
  if (const char* env = std::getenv("STOCKADE_PG_BINDIR"); env && *env) {
    if (fs::exists(fs::path(env) / "initdb")) return std::string(env);
    return std::nullopt;
  }
  std::vector<std::pair<int, std::string>> found;
  std::error_code ec;
  for (const auto& d : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    auto bin = d.path() / "bin";
    if (!fs::exists(bin / "initdb") || !fs::exists(bin / "pg_ctl")) continue;
    int version = std::atoi(d.path().filename().c_str());
    found.emplace_back(version, bin.string());
  }
  if (found.empty()) return std::nullopt;
  std::sort(found.begin(), found.end());
  return found.back().second;
}

Result<std::unique_ptr<TempPostgres>> TempPostgres::start() {
  auto bin = bin_dir();
  if (!bin) return make_error("no PostgreSQL server binaries (initdb, pg_ctl)");
  reap_orphans(*bin);
  std::unique_ptr<TempPostgres> pg(new TempPostgres());
  pg->bin_ = *bin;
  // /tmp, not $TMPDIR: the server's user must reach it, and a unix socket path is short.
  std::string templ = "/tmp/stockade-pg-XXXXXX";
  if (!mkdtemp(templ.data())) return make_error("cannot create a directory under /tmp");
  pg->dir_ = templ;
  std::ofstream(pg->dir_ + "/owner") << getpid() << "\n";
  if (geteuid() == 0) {
    const passwd* nobody = getpwnam("nobody");
    if (!nobody)
      return make_error("running as root and there is no user 'nobody' to run PostgreSQL");
    if (chown(pg->dir_.c_str(), nobody->pw_uid, nobody->pw_gid) != 0) {
      return make_error(pg->dir_ + ": cannot give the directory to nobody");
    }
    pg->as_nobody_ = true;
  }
  std::string log = pg->dir_ + "/setup.log";
  std::string data = pg->dir_ + "/data";
  // initdb writes the log as the server's user; create it for them.
  int fd = open(log.c_str(), O_WRONLY | O_CREAT, 0666);
  if (fd >= 0) {
    fchmod(fd, 0666);
    close(fd);
  }
  if (run({pg->bin_ + "/initdb", "-D", data, "-U", "stockade", "-A", "trust", "-E", "UTF8",
           "--locale=C", "--no-sync"},
          pg->as_nobody_, log) != 0) {
    return make_error("initdb failed: " + tail_of(log));
  }
  std::string opts = "-k " + pg->dir_ + " -c listen_addresses= -c max_connections=50";
  if (run({pg->bin_ + "/pg_ctl", "-D", data, "-l", pg->dir_ + "/server.log", "-w", "-t", "60", "-o",
           opts, "start"},
          pg->as_nobody_, log) != 0) {
    return make_error("pg_ctl start failed: " + tail_of(pg->dir_ + "/server.log"));
  }
  pg->started_ = true;
  return pg;
}

TempPostgres::~TempPostgres() {
  if (started_) {
    run({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-m", "immediate", "-w", "stop"}, as_nobody_,
        dir_ + "/setup.log");
  }
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string TempPostgres::url(const std::string& database) const {
  return "postgres:///" + database + "?host=" + dir_ + "&user=stockade";
}

Result<std::string> TempPostgres::create_database(const std::string& name) {
  PGconn* c = PQconnectdb(url("postgres").c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    return make_error("cannot connect to the test server: " + msg);
  }
  PGresult* r = PQexec(c, ("CREATE DATABASE \"" + name + "\"").c_str());
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  std::string msg = PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
  if (!ok) return make_error("CREATE DATABASE " + name + ": " + msg);
  return url(name);
}

}  // namespace stockade::testing
