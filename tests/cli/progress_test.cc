// Progress on stderr (core/progress.h): drawn when stderr is a terminal, never in a pipe, a
// file or with -q, and never on stdout. The terminal is a pseudo-terminal (openpty).

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/progress.h"
#include "support/run_command.h"

namespace {

namespace fs = std::filesystem;

using Outcome = stockade::test::ProgramRun;

// Runs stockade with `args` from the repository root, stdout to a file and stderr to a
// pseudo-terminal (`tty`) or to a file.
Outcome run_stockade(const std::vector<std::string>& args, bool tty) {
  return tty ? stockade::test::run_program_on_terminal(STOCKADE_BINARY, args, STOCKADE_SOURCE_DIR)
             : stockade::test::run_program(STOCKADE_BINARY, args, STOCKADE_SOURCE_DIR);
}

// The same with `file` on stdin: through a pipe (`cat file |`, whose size is unknown) or
// redirected (`< file`, a regular file).
Outcome run_stockade_stdin(const std::vector<std::string>& args, bool tty, const std::string& file,
                           bool pipe) {
  std::vector<std::string> sh = {"-c", pipe ? "cat \"$0\" | exec \"$@\"" : "exec \"$@\" < \"$0\"",
                                 file, STOCKADE_BINARY};
  sh.insert(sh.end(), args.begin(), args.end());
  return tty ? stockade::test::run_program_on_terminal("/bin/sh", sh, STOCKADE_SOURCE_DIR)
             : stockade::test::run_program("/bin/sh", sh, STOCKADE_SOURCE_DIR);
}

const std::vector<std::string> kMap = {
    "map", "-f", "demo/cluster", "--flows", "demo/flows/hubble.json.gz", "-o", "json"};

TEST(Progress, DrawnOnATerminalAndErased) {
  Outcome r = run_stockade(kMap, true);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("demo/flows/hubble.json.gz: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" records"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("%)"), std::string::npos) << r.err;  // the size of a file is known
  // The last thing on the terminal is the erased line.
  EXPECT_NE(r.err.rfind("\r\033[K"), std::string::npos);
  // The map is what it is without a terminal.
  Outcome plain = run_stockade(kMap, false);
  ASSERT_EQ(plain.code, 0);
  EXPECT_EQ(r.out, plain.out);
}

TEST(Progress, NothingWhenStderrIsNotATerminal) {
  Outcome r = run_stockade(kMap, false);
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(r.err.find("records"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos);
  EXPECT_EQ(r.out.find('\r'), std::string::npos);
}

TEST(Progress, NothingWithQuiet) {
  std::vector<std::string> args = kMap;
  args.push_back("-q");
  Outcome r = run_stockade(args, true);
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(r.err.find("records"), std::string::npos) << r.err;
}

TEST(Progress, VerifyShowsItToo) {
  Outcome r = run_stockade({"verify", "-f", "demo/cluster", "-f", "demo/policies", "--flows",
                            "demo/flows/hubble.json.gz"},
                           true);
  EXPECT_NE(r.err.find("demo/flows/hubble.json.gz: "), std::string::npos) << r.err;
}

// detect reads flow files as map does: a line per file on a terminal, none in a file or with -q;
// its report is the same either way.
const std::vector<std::string> kDetect = {"detect", "--flows", "demo/flows/hubble.json.gz", "-o",
                                          "json"};

TEST(Progress, DetectShowsItToo) {
  Outcome r = run_stockade(kDetect, true);
  ASSERT_TRUE(r.code == 0 || r.code == 1) << r.err;
  EXPECT_NE(r.err.find("demo/flows/hubble.json.gz: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" records"), std::string::npos) << r.err;
  EXPECT_NE(r.err.rfind("\r\033[K"), std::string::npos);
  Outcome plain = run_stockade(kDetect, false);
  EXPECT_EQ(plain.code, r.code);
  EXPECT_EQ(plain.err.find("records"), std::string::npos) << plain.err;
  EXPECT_EQ(plain.err.find('\r'), std::string::npos);
  EXPECT_EQ(r.out, plain.out);
  std::vector<std::string> quiet = kDetect;
  quiet.push_back("-q");
  Outcome q = run_stockade(quiet, true);
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
  Outcome r = run_stockade(args, true);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find(dump + ": "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" records"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("%)"), std::string::npos) << r.err;  // a file: its size is known
  EXPECT_NE(r.err.rfind("\r\033[K"), std::string::npos);
  Outcome plain = run_stockade(args, false);
  ASSERT_EQ(plain.code, 0) << plain.err;
  EXPECT_EQ(plain.err.find(dump + ": "), std::string::npos) << plain.err;
  EXPECT_EQ(plain.err.find('\r'), std::string::npos);
  EXPECT_EQ(r.out, plain.out);
  EXPECT_NE(r.out.find("3500"), std::string::npos) << r.out;  // every pod was loaded
  std::vector<std::string> quiet = args;
  quiet.push_back("-q");
  Outcome q = run_stockade(quiet, true);
  EXPECT_EQ(q.err.find(dump + ": "), std::string::npos) << q.err;
  fs::remove_all(fs::path(dump).parent_path());
}

// A multi-document YAML stream of `pods` Pods (and their Namespaces), as `kubectl get -o yaml`
// items joined with "---" or a chart's rendered manifests are: each pod about 1.5 KB.
std::string write_yaml_stream(const std::string& tag, int pods) {
  fs::path dir = fs::temp_directory_path() / ("stockade-yaml-" + tag);
  fs::create_directories(dir);
  const fs::path path = dir / "stream.yaml";
  std::ofstream out(path, std::ios::binary);
  const std::string pad(1200, 'y');
  for (int n = 0; n < 7; ++n)
    out << "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns" << n << "\n---\n";
  for (int i = 0; i < pods; ++i)
    out << "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p" << i << "\n  namespace: ns" << i % 7
        << "\n  labels:\n    app: a" << i % 50 << "\n  annotations:\n    note: " << pad
        << "\nspec:\n  containers:\n  - name: c\n    image: nginx\nstatus:\n  phase: Running\n"
        << "  podIP: 10.1." << i / 250 << "." << i % 250 + 1 << "\n---\n";
  return path.string();
}

// Large YAML streams (-f FILE, -f - from a pipe or a redirected file) show progress by bytes
// read and documents decoded on a terminal, none in a file or with -q; the answer is the same.
TEST(Progress, LargeYamlStream) {
  const std::string yaml = write_yaml_stream("tty", 4000);
  ASSERT_GT(fs::file_size(yaml), size_t{5} << 20);
  const std::vector<std::string> args = {"reach", "-f", yaml, "-o", "summary"};
  Outcome r = run_stockade(args, true);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find(yaml + ": "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" documents"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("%)"), std::string::npos) << r.err;  // a file: its size is known
  EXPECT_NE(r.err.rfind("\r\033[K"), std::string::npos);
  // The last thing drawn is the erasure: the terminal is left clean.
  EXPECT_TRUE(r.err.ends_with("\r\033[K"))
      << r.err.substr(r.err.size() > 200 ? r.err.size() - 200 : 0);
  Outcome plain = run_stockade(args, false);
  ASSERT_EQ(plain.code, 0) << plain.err;
  EXPECT_EQ(plain.err, "");
  EXPECT_EQ(r.out, plain.out);
  EXPECT_NE(r.out.find("4000"), std::string::npos) << r.out;  // every pod was loaded
  std::vector<std::string> quiet = args;
  quiet.push_back("-q");
  Outcome q = run_stockade(quiet, true);
  EXPECT_EQ(q.err, "");
  EXPECT_EQ(q.out, plain.out);

  // stdin: a pipe (no size: bytes, documents and rate, no share) and a redirected file.
  const std::vector<std::string> from_stdin = {"reach", "-f", "-", "-o", "summary"};
  Outcome piped = run_stockade_stdin(from_stdin, true, yaml, true);
  ASSERT_EQ(piped.code, 0) << piped.err;
  EXPECT_NE(piped.err.find("<stdin>: "), std::string::npos) << piped.err;
  EXPECT_NE(piped.err.find(" documents"), std::string::npos) << piped.err;
  EXPECT_EQ(piped.err.find("%)"), std::string::npos) << piped.err;
  EXPECT_EQ(piped.out, plain.out);
  Outcome piped_plain = run_stockade_stdin(from_stdin, false, yaml, true);
  EXPECT_EQ(piped_plain.err, "");
  EXPECT_EQ(piped_plain.out, plain.out);
  Outcome redirected = run_stockade_stdin(from_stdin, true, yaml, false);
  ASSERT_EQ(redirected.code, 0) << redirected.err;
  EXPECT_NE(redirected.err.find("<stdin>: "), std::string::npos) << redirected.err;
  EXPECT_NE(redirected.err.find("%)"), std::string::npos) << redirected.err;
  EXPECT_EQ(redirected.out, plain.out);
  Outcome redirected_quiet =
      run_stockade_stdin({"reach", "-f", "-", "-o", "summary", "-q"}, true, yaml, false);
  EXPECT_EQ(redirected_quiet.err, "");
  fs::remove_all(fs::path(yaml).parent_path());
}

// A small YAML stream is decoded before a line is worth drawing: none, even on a terminal.
TEST(Progress, SmallYamlStreamDrawsNothing) {
  const std::string yaml = write_yaml_stream("small", 200);
  ASSERT_LT(fs::file_size(yaml), size_t{4} << 20);
  Outcome r = run_stockade({"reach", "-f", yaml, "-o", "summary"}, true);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  Outcome piped = run_stockade_stdin({"reach", "-f", "-", "-o", "summary"}, true, yaml, true);
  ASSERT_EQ(piped.code, 0) << piped.err;
  EXPECT_EQ(piped.err, "");
  fs::remove_all(fs::path(yaml).parent_path());
}

TEST(Progress, Line) {
  using stockade::ProgressMeter;
  EXPECT_EQ(ProgressMeter::line("f", 512u << 20, 2048u << 20, 1200000, 4.0),
            "f: 512 MiB of 2048 MiB (25%), 1200k records, 128 MiB/s, 12 s left");
  EXPECT_EQ(ProgressMeter::line("-", 3u << 10, 0, 12, 0.0), "-: 3 KiB, 12 records");
  // A pipe: no size, so no share and no time left, but a rate.
  EXPECT_EQ(ProgressMeter::line("<stdin>", 100u << 20, 0, 5, 2.0),
            "<stdin>: 100 MiB, 5 records, 50 MiB/s");
  EXPECT_EQ(ProgressMeter::line("a.yaml", 6u << 20, 12u << 20, 2000, 2.0, "documents"),
            "a.yaml: 6 MiB of 12 MiB (50%), 2000 documents, 3 MiB/s, 2 s left");
}

TEST(Progress, ListLine) {
  using stockade::ListTally;
  using stockade::ProgressMeter;
  ListTally t;
  t.kinds_done = 2;
  t.kinds_total = 21;
  t.kind = "pods";
  t.kind_objects = 1500;
  t.kind_expected = 20000;
  t.objects = 1620;
  t.pages = 5;
  t.bytes = 8u << 20;
  EXPECT_EQ(ProgressMeter::list_line("https://10.0.0.1:6443", t, 4.0),
            "https://10.0.0.1:6443: kind 3 of 21 (pods, 1500 of 20k), 1620 objects, 5 pages, "
            "8 MiB, 2 MiB/s");
  // The first page of the first kind, at once: no total said by the server, no rate yet.
  ListTally first;
  first.kinds_total = 21;
  first.kind = "namespaces";
  first.kind_objects = first.objects = 12;
  first.pages = 1;
  first.bytes = 3u << 10;
  EXPECT_EQ(ProgressMeter::list_line("s", first, 0.0),
            "s: kind 1 of 21 (namespaces, 12), 12 objects, 1 page, 3 KiB");
}

TEST(Progress, UpdateWithDrawsOnlyWhenDueAndEnabled) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  int made = 0;
  auto make = [&](const std::string& what, double) {
    ++made;
    return what + " line";
  };
  {
    stockade::ProgressMeter off("x", false, f);
    off.update_with(make);
  }
  EXPECT_EQ(made, 0);  // disabled: the line is not even made
  EXPECT_EQ(std::ftell(f), 0);
  {
    stockade::ProgressMeter on("x", true, f, std::chrono::hours(1));
    on.update_with(make);  // the first draws at once
    on.update_with(make);  // not due for an hour
  }
  EXPECT_EQ(made, 1);
  std::rewind(f);
  char buf[64] = {};
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  EXPECT_EQ(std::string(buf, n), "\r\033[Kx line\r\033[K");
  std::fclose(f);
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
