// Progress on stderr (core/progress.h): drawn when stderr is a terminal, never in a pipe, a
// file or with -q, and never on stdout. The terminal is a pseudo-terminal (openpty).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/progress.h"

namespace {

namespace fs = std::filesystem;

struct Outcome {
  std::string out, err;
  int code = -1;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs stockade with `args` from the repository root, stdout to a file and stderr to a
// pseudo-terminal (`tty`) or to a file.
Outcome run_stockade(const std::vector<std::string>& args, bool tty, const std::string& tag) {
  fs::path dir = fs::temp_directory_path() / ("stockade-progress-" + tag);
  fs::create_directories(dir);
  fs::path out = dir / "out", err = dir / "err";
  int master = -1, slave = -1;
  if (tty && ::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::chdir(STOCKADE_SOURCE_DIR) != 0) ::_exit(127);
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = tty ? slave : ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(e, 2);
    std::vector<char*> argv{const_cast<char*>(STOCKADE_BINARY)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(STOCKADE_BINARY, argv.data());
    ::_exit(127);
  }
  Outcome r;
  if (tty) {
    ::close(slave);
    char buf[4096];
    for (;;) {  // EIO once the child has closed its side
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n > 0)
        r.err.append(buf, static_cast<size_t>(n));
      else if (n < 0 && errno == EINTR)
        continue;
      else
        break;
    }
    ::close(master);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  if (!tty) r.err = slurp(err);
  fs::remove_all(dir);
  return r;
}

const std::vector<std::string> kMap = {
    "map", "-f", "demo/cluster", "--flows", "demo/flows/hubble.json.gz", "-o", "json"};

TEST(Progress, DrawnOnATerminalAndErased) {
  Outcome r = run_stockade(kMap, true, "tty");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("demo/flows/hubble.json.gz: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" records"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("%)"), std::string::npos) << r.err;  // the size of a file is known
  // The last thing on the terminal is the erased line.
  EXPECT_NE(r.err.rfind("\r\033[K"), std::string::npos);
  // The map is what it is without a terminal.
  Outcome plain = run_stockade(kMap, false, "plain");
  ASSERT_EQ(plain.code, 0);
  EXPECT_EQ(r.out, plain.out);
}

TEST(Progress, NothingWhenStderrIsNotATerminal) {
  Outcome r = run_stockade(kMap, false, "file");
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(r.err.find("records"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos);
  EXPECT_EQ(r.out.find('\r'), std::string::npos);
}

TEST(Progress, NothingWithQuiet) {
  std::vector<std::string> args = kMap;
  args.push_back("-q");
  Outcome r = run_stockade(args, true, "quiet");
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(r.err.find("records"), std::string::npos) << r.err;
}

TEST(Progress, VerifyShowsItToo) {
  Outcome r = run_stockade({"verify", "-f", "demo/cluster", "-f", "demo/policies", "--flows",
                            "demo/flows/hubble.json.gz"},
                           true, "verify");
  EXPECT_NE(r.err.find("demo/flows/hubble.json.gz: "), std::string::npos) << r.err;
}

// detect reads flow files as map does: a line per file on a terminal, none in a file or with -q;
// its report is the same either way.
const std::vector<std::string> kDetect = {"detect", "--flows", "demo/flows/hubble.json.gz", "-o",
                                          "json"};

TEST(Progress, DetectShowsItToo) {
  Outcome r = run_stockade(kDetect, true, "detect");
  ASSERT_TRUE(r.code == 0 || r.code == 1) << r.err;
  EXPECT_NE(r.err.find("demo/flows/hubble.json.gz: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" records"), std::string::npos) << r.err;
  EXPECT_NE(r.err.rfind("\r\033[K"), std::string::npos);
  Outcome plain = run_stockade(kDetect, false, "detect-plain");
  EXPECT_EQ(plain.code, r.code);
  EXPECT_EQ(plain.err.find("records"), std::string::npos) << plain.err;
  EXPECT_EQ(plain.err.find('\r'), std::string::npos);
  EXPECT_EQ(r.out, plain.out);
  std::vector<std::string> quiet = kDetect;
  quiet.push_back("-q");
  Outcome q = run_stockade(quiet, true, "detect-quiet");
  EXPECT_EQ(q.err.find("records"), std::string::npos) << q.err;
}

// A cluster dump as `kubectl get pods -A -o json` prints it, large enough (over 4 MiB, over
// 2048 items) to be decoded item by item (LoadOptions::split_list_bytes): the loader shows a
// progress line for it on a terminal, none otherwise, and the answer is the same.
std::string write_large_dump(const std::string& tag) {
  fs::path dir = fs::temp_directory_path() / ("stockade-dump-" + tag);
  fs::create_directories(dir);
  const fs::path path = dir / "dump.json";
  std::ofstream out(path, std::ios::binary);
  const std::string pad(1200, 'x');
  out << "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n";
  for (int i = 0; i < 3500; ++i)
    out << (i ? ",\n" : "")
        << "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": "
        << "\"p" << i << "\", \"namespace\": \"ns" << i % 7 << "\", \"labels\": {\"app\": \"a"
        << i % 50 << "\"}, \"annotations\": {\"note\": \"" << pad
        << "\"}}, \"spec\": {\"containers\": "
        << "[{\"name\": \"c\", \"image\": \"nginx\"}]}, \"status\": {\"phase\": \"Running\", "
        << "\"podIP\": \"10.1." << i / 250 << "." << i % 250 + 1 << "\"}}";
  out << "\n]}\n";
  return path.string();
}

TEST(Progress, LargeManifestDump) {
  const std::string dump = write_large_dump("tty");
  ASSERT_GT(fs::file_size(dump), size_t{4} << 20);
  const std::vector<std::string> args = {"reach", "-f", dump, "-o", "summary"};
  Outcome r = run_stockade(args, true, "dump-tty");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find(dump + ": "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" records"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("%)"), std::string::npos) << r.err;  // a file: its size is known
  EXPECT_NE(r.err.rfind("\r\033[K"), std::string::npos);
  Outcome plain = run_stockade(args, false, "dump-plain");
  ASSERT_EQ(plain.code, 0) << plain.err;
  EXPECT_EQ(plain.err.find(dump + ": "), std::string::npos) << plain.err;
  EXPECT_EQ(plain.err.find('\r'), std::string::npos);
  EXPECT_EQ(r.out, plain.out);
  EXPECT_NE(r.out.find("3500"), std::string::npos) << r.out;  // every pod was loaded
  std::vector<std::string> quiet = args;
  quiet.push_back("-q");
  Outcome q = run_stockade(quiet, true, "dump-quiet");
  EXPECT_EQ(q.err.find(dump + ": "), std::string::npos) << q.err;
  fs::remove_all(fs::path(dump).parent_path());
}

TEST(Progress, Line) {
  using stockade::ProgressMeter;
  EXPECT_EQ(ProgressMeter::line("f", 512u << 20, 2048u << 20, 1200000, 4.0),
            "f: 512 MiB of 2048 MiB (25%), 1200k records, 128 MiB/s, 12 s left");
  EXPECT_EQ(ProgressMeter::line("-", 3u << 10, 0, 12, 0.0), "-: 3 KiB, 12 records");
  // A pipe: no size, so no share and no time left, but a rate.
  EXPECT_EQ(ProgressMeter::line("<stdin>", 100u << 20, 0, 5, 2.0),
            "<stdin>: 100 MiB, 5 records, 50 MiB/s");
}

TEST(Progress, DisabledDrawsNothing) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    stockade::ProgressMeter m("x", false, f);
    m.update(10, 100, 1);
    m.on_read(20, 100, 2, true);
  }
  EXPECT_EQ(std::ftell(f), 0);
  {
    stockade::ProgressMeter m("x", true, f);
    m.update(10, 100, 1);  // the first update draws at once
  }
  EXPECT_GT(std::ftell(f), 0);
  std::fclose(f);
}

}  // namespace
