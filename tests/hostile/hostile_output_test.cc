// Hostile inputs, the output side (issue 25 items 3, 4, 7, 8, 9): RBAC aggregation to a fixed
// point and within bounds, terminal and CSV injection, lost output and unread input. One
// small input per class lives next to this file (rbac-*, output-*, stream-*); the large ones
// are generated here.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>

#include "core/display.h"
#include "engine/engine.h"
#include "input/loader.h"
#include "posture/posture.h"
#include "posture/posture_impl.h"
#include "support/run_command.h"

namespace stockade {
namespace {

namespace fs = std::filesystem;
using test::run_command;

const fs::path kDir = fs::path(STOCKADE_SOURCE_DIR) / "tests/hostile";

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs the program with `args` (already quoted as needed); stdout and stderr together.
test::CommandOutput run(const std::string& args) {
  return run_command(quote(STOCKADE_BINARY) + " " + args + " 2>&1");
}

int exit_code(const test::CommandOutput& r) {
  return WIFEXITED(r.status) ? WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status);
}

bool has_raw_controls(const std::string& s) {
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\n') || c == 0x7f) return true;
  return s.find("\xc2\x9b") != std::string::npos || s.find("\xe2\x80\xae") != std::string::npos;
}

// A one-line error, exit 2, that says `what`.
void expect_one_line_error(const test::CommandOutput& r, const std::string& what) {
  EXPECT_EQ(exit_code(r), 2) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_TRUE(r.out.starts_with("stockade: error: ")) << r.out;
  EXPECT_NE(r.out.find(what), std::string::npos) << r.out;
  EXPECT_FALSE(has_raw_controls(r.out)) << r.out;
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "stockade-hostile-XXXXXX").string();
    path = ::mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path, ec);
  }
};

posture::ScanReport scan_file(const fs::path& file) {
  ClusterLoader l;
  auto r = l.add_path(file.string());
  EXPECT_TRUE(r) << r.error().str();
  ClusterState s = std::move(l).finish();
  auto engine = PolicyEngine::compile(s, build_endpoints(s));
  auto rep = posture::scan(s, *engine, {});
  EXPECT_TRUE(rep) << rep.error().str();
  return rep ? *rep : posture::ScanReport{};
}

std::set<std::string> flagged(const posture::ScanReport& r, std::string_view id) {
  std::set<std::string> out;
  for (const auto& f : r.findings)
    if (f.id == id) out.insert(f.resource.text());
  return out;
}

// ---- items 3 and 4: RBAC aggregation ------------------------------------------------------

TEST(HostileRbac, AggregationChainIsFollowedToTheEnd) {
  auto r = scan_file(kDir / "rbac-aggregation-chain.yaml");
  auto roles = flagged(r, "RBAC_SECRETS");
  for (int i = 0; i < 12; ++i)
    EXPECT_TRUE(roles.count("ClusterRole/r" + std::to_string(i))) << "r" << i;
}

TEST(HostileRbac, AggregationCycleSharesEveryRule) {
  auto r = scan_file(kDir / "rbac-aggregation-cycle.yaml");
  auto roles = flagged(r, "RBAC_SECRETS");
  EXPECT_TRUE(roles.count("ClusterRole/a"));
  EXPECT_TRUE(roles.count("ClusterRole/b"));
  EXPECT_TRUE(roles.count("ClusterRole/c"));
}

// The fixed point against the obvious definition (iterate until nothing changes), on random
// labels and selectors (matchLabels, In, NotIn, Exists, DoesNotExist; cycles and chains).
TEST(HostileRbac, AggregationEqualsNaiveFixedPoint) {
  std::mt19937 rng(25);
  for (int round = 0; round < 40; ++round) {
    std::string yaml;
    const int n = 30;
    auto pick = [&](int k) { return static_cast<int>(rng() % static_cast<unsigned>(k)); };
    for (int i = 0; i < n; ++i) {
      yaml +=
          "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n"
          "  name: r" +
          std::to_string(i) + "\n  labels: {";
      for (int k = 0; k < 3; ++k)
        if (pick(2)) yaml += "k" + std::to_string(k) + ": v" + std::to_string(pick(3)) + ", ";
      yaml += "}\n";
      if (pick(3) == 0) {
        yaml += "aggregationRule:\n  clusterRoleSelectors:\n";
        for (int s = pick(2) + 1; s > 0; --s) {
          std::string key = "k" + std::to_string(pick(3));
          switch (pick(5)) {
            case 0:
              yaml += "  - matchLabels: {" + key + ": v" + std::to_string(pick(3)) + "}\n";
              break;
            case 1:
              yaml += "  - matchExpressions: [{key: " + key + ", operator: In, values: [v0, v" +
                      std::to_string(pick(3)) + "]}]\n";
              break;
            case 2:
              yaml += "  - matchExpressions: [{key: " + key + ", operator: NotIn, values: [v" +
                      std::to_string(pick(3)) + "]}]\n";
              break;
            case 3:
              yaml += "  - matchExpressions: [{key: " + key + ", operator: Exists}]\n";
              break;
            default:
              yaml += "  - matchExpressions: [{key: " + key +
                      ", operator: DoesNotExist}, {key: k2, operator: Exists}]\n";
          }
        }
      }
      yaml += "rules:\n";
      for (int k = pick(3); k > 0; --k)
        yaml += "- {apiGroups: [\"\"], resources: [res" + std::to_string(pick(8)) +
                "], verbs: [get]}\n";
    }
    ClusterLoader l;
    ASSERT_TRUE(l.add_text(yaml, "random.yaml")) << yaml;
    ClusterState s = std::move(l).finish();
    posture::detail::RbacIndex index(s);
    ASSERT_FALSE(index.error());
    // Naive: rule sets by role, grown until nothing changes.
    std::vector<std::set<std::string>> naive(s.roles.size());
    for (size_t i = 0; i < s.roles.size(); ++i)
      for (const auto& rule : s.roles[i].rules) naive[i].insert(rule.resources.at(0));
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t i = 0; i < s.roles.size(); ++i)
        for (size_t j = 0; j < s.roles.size(); ++j) {
          bool selected = false;
          for (const auto& sel : s.roles[i].aggregation_selectors)
            selected |= !sel.empty() && sel.matches(s.roles[j].labels);
          if (!selected) continue;
          for (const auto& res : naive[j]) changed |= naive[i].insert(res).second;
        }
    }
    for (size_t i = 0; i < s.roles.size(); ++i) {
      std::set<std::string> got;
      size_t entries = 0;
      for (const PolicyRuleSpec* rule : index.resolved(i)) {
        got.insert(rule->resources.at(0));
        ++entries;
      }
      EXPECT_EQ(got, naive[i]) << "round " << round << " role " << s.roles[i].name << "\n" << yaml;
      // Each distinct rule once, the role's own first (with their lines).
      std::set<std::string> own;
      for (const auto& rule : s.roles[i].rules) own.insert(rule.resources.at(0));
      EXPECT_EQ(entries, s.roles[i].rules.size() + got.size() - own.size());
      for (size_t k = 0; k < s.roles[i].rules.size(); ++k)
        EXPECT_EQ(index.resolved(i)[k], &s.roles[i].rules[k]);
    }
  }
}

std::string many_roles_aggregating_each_other(int n, bool one_reads_secrets) {
  std::string yaml;
  for (int i = 0; i < n; ++i)
    yaml += "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: m" +
            std::to_string(i) +
            ", labels: {mesh: 'yes'}}\naggregationRule: {clusterRoleSelectors: [{matchLabels: "
            "{mesh: 'yes'}}]}\nrules:\n- {apiGroups: [''], resources: [" +
            (one_reads_secrets && i == n / 2 ? std::string("secrets") : "r" + std::to_string(i)) +
            "], verbs: [get]}\n";
  return yaml;
}

// 220 ClusterRoles that all aggregate each other (the tester's 50 KB case, > 20 s before):
// each gets every rule, the secret-reading one included.
TEST(HostileRbac, RolesAggregatingEachOther) {
  TempDir dir;
  std::ofstream(dir.path / "mesh.yaml") << many_roles_aggregating_each_other(220, true);
  auto r = scan_file(dir.path / "mesh.yaml");
  EXPECT_EQ(flagged(r, "RBAC_SECRETS").size(), 220u);
}

// Past the bound the scan is refused with one line naming a role, not cut short silently.
TEST(HostileRbac, AggregationPastTheBoundIsAnError) {
  TempDir dir;
  std::ofstream(dir.path / "mesh.yaml") << many_roles_aggregating_each_other(1100, false);
  auto r = run("scan -f " + quote((dir.path / "mesh.yaml").string()));
  expect_one_line_error(r, "aggregationRule takes the aggregated rules past 1000000");
  EXPECT_NE(r.out.find("mesh.yaml:"), std::string::npos) << r.out;
}

// One ClusterRole of 10k rules bound 10k times, to service accounts and to the group of all
// service accounts, with pods that use them (2.7 MB; > 100 s before: every binding matched
// the 10k rules again, and every account went through every binding).
TEST(HostileRbac, RoleWithManyRulesBoundManyTimes) {
  TempDir dir;
  {
    std::ofstream f(dir.path / "bound.yaml");
    f << "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: big}\n"
         "rules:\n";
    for (int i = 0; i < 10000; ++i)
      f << "- {apiGroups: [''], resources: [res" << i << "], verbs: [get, list]}\n";
    f << "- {apiGroups: [''], resources: [secrets], verbs: [get]}\n";
    for (int i = 0; i < 10000; ++i)
      f << "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b"
        << i << ", namespace: ns" << i % 100
        << "}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: big}\n"
           "subjects:\n- {kind: ServiceAccount, name: sa"
        << i << ", namespace: ns" << i % 100
        << "}\n- {kind: Group, name: system:serviceaccounts}\n";
    for (int i = 0; i < 200; ++i)
      f << "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p" << i << ", namespace: ns" << i % 100
        << "}\nspec:\n  serviceAccountName: sa" << i
        << "\n  containers: [{name: c, image: nginx}]\n";
  }
  auto r = scan_file(dir.path / "bound.yaml");
  EXPECT_EQ(flagged(r, "RBAC_SECRETS"), std::set<std::string>{"ClusterRole/big"});
  // The pods' accounts read secrets through their bindings, named in binding order.
  bool named = false;
  for (const auto& f : r.findings)
    if (f.id == "WORKLOAD_PRIV_SA" && f.resource.text() == "Pod/ns0/p0")
      named = f.message.find(
                  "ClusterRole big via RoleBinding ns0/b0 (in ns0): get secrets; "
                  "ClusterRole big via RoleBinding ns0/b100 ") != std::string::npos;
  EXPECT_TRUE(named);
}

// ---- item 9: terminal and CSV injection ---------------------------------------------------

TEST(HostileDisplay, ControlCharactersAreEscaped) {
  EXPECT_EQ(display_text("plain text, é ü 日本"), "plain text, é ü 日本");
  EXPECT_EQ(display_text("a\x1b[31mb\x07"), "a\\e[31mb\\a");
  EXPECT_EQ(display_text("l1\r\nl2\tx"), "l1\\r\\nl2\\tx");
  EXPECT_EQ(display_text(std::string("nul\0x\x7f", 6)), "nul\\x00x\\x7f");
  EXPECT_EQ(display_text("csi\xc2\x9b"
                         "2J"),
            "csi\\u009b2J");  // C1 CSI in UTF-8
  EXPECT_EQ(display_text("raw\x9b"
                         "2J"),
            "raw\\x9b2J");  // not UTF-8
  EXPECT_EQ(display_text("rtl\xe2\x80\xae"
                         "txt"),
            "rtl\\u202etxt");
  EXPECT_EQ(display_text("bad\xc0\xaf"
                         "x\xed\xa0\x80"),
            "bad\\xc0\\xafx\\xed\\xa0\\x80");
  EXPECT_EQ(display_text("cut\xe6\x97"), "cut\\xe6\\x97");
}

TEST(HostileDisplay, CsvFieldsPerRfc4180WithFormulasNeutralised) {
  EXPECT_EQ(csv_field("default/web"), "default/web");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
  EXPECT_EQ(csv_field("+1"), "'+1");
  EXPECT_EQ(csv_field("-1"), "'-1");
  EXPECT_EQ(csv_field("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(csv_field("\tx"), "'\\tx");
  EXPECT_EQ(csv_field("two\nlines"), "two\\nlines");
}

// A name with escapes: every table and CSV shows it escaped (or, where names are validated,
// the one-line refusal is escaped).
TEST(HostileDisplay, TablesAndCsvShowInjectedNamesEscaped) {
  std::string f = quote((kDir / "output-terminal-injection.yaml").string());
  for (std::string args : {"reach -f " + f, "reach -o csv -f " + f, "scan -f " + f}) {
    auto r = run(args);
    SCOPED_TRACE(args + "\n" + r.out);
    EXPECT_FALSE(has_raw_controls(r.out));
    if (exit_code(r) == 2) {
      EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1);
      continue;
    }
    EXPECT_NE(r.out.find("\\e"), std::string::npos);
  }
  auto csv = run("reach -o csv -f " + f);
  if (exit_code(csv) == 0) {
    EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), 2) << csv.out;  // header + 1
  }
  auto scan = run("scan -f " + f);
  if (exit_code(scan) != 2) {
    EXPECT_NE(scan.out.find("nginx\\e]0;pwned\\a:latest"), std::string::npos);
  }
}

TEST(HostileDisplay, ErrorMessagesStayOneEscapedLine) {
  auto r = run("reach -f \"$(printf 'no\\nsuch\\033[2J\\007.yaml')\"");
  expect_one_line_error(r, "no\\nsuch\\e[2J\\a.yaml");
}

// ---- item 7: lost output and unread input -------------------------------------------------

const std::string kDemo = quote(std::string(STOCKADE_SOURCE_DIR) + "/demo");

TEST(HostileOutput, FullDiskIsAnError) {
  for (std::string args :
       {"reach -f " + kDemo + "/cluster -f " + kDemo + "/policies",
        "reach -o summary -f " + kDemo + "/cluster", "scan -o json -f " + kDemo + "/vulnerable",
        "map -o json -f " + kDemo + "/cluster --flows " + kDemo + "/flows/hubble.json.gz",
        "recommend -q -f " + kDemo + "/cluster --flows " + kDemo + "/flows/hubble.json.gz",
        std::string("--help")}) {
    auto r = run_command(quote(STOCKADE_BINARY) + " " + args + " 2>&1 >/dev/full");
    SCOPED_TRACE(args);
    expect_one_line_error(r, "<stdout>: write failed");
  }
}

TEST(HostileOutput, ClosedStdoutIsAnError) {
  auto r = run_command(quote(STOCKADE_BINARY) + " reach -f " + kDemo + "/cluster 2>&1 >&-");
  expect_one_line_error(r, "<stdout>: write failed: Bad file descriptor");
}

TEST(HostileOutput, SymlinkLoopSaysLoop) {
  TempDir dir;
  fs::create_symlink("loop.yaml", dir.path / "loop.yaml");
  expect_one_line_error(run("reach -f " + quote((dir.path / "loop.yaml").string())),
                        "symbolic link loop");
  // Inside a directory given to -f: named, not skipped.
  fs::create_directory(dir.path / "d");
  fs::copy_file(kDir / "rbac-aggregation-cycle.yaml", dir.path / "d/ok.yaml");
  fs::create_symlink("x.yaml", dir.path / "d/x.yaml");
  expect_one_line_error(run("scan -f " + quote((dir.path / "d").string())),
                        "x.yaml: cannot open: a symbolic link loop");
}

TEST(HostileOutput, DirectoryWhereAFileIsExpected) {
  TempDir dir;
  expect_one_line_error(
      run("scan -f " + kDemo + "/vulnerable --accept " + quote(dir.path.string())),
      "is a directory");
  expect_one_line_error(
      run("scan -f " + kDemo + "/vulnerable --kubeconfig " + quote(dir.path.string())),
      "cannot read kubeconfig");
  std::ofstream(dir.path / "file") << "x";
  expect_one_line_error(
      run("recommend -q -f " + kDemo + "/cluster --flows " + kDemo +
          "/flows/hubble.json.gz --out-dir " + quote((dir.path / "file").string())),
      "--out-dir");
}

// recommend --out-dir writes all its files or none.
TEST(HostileOutput, OutDirIsNeverHalfWritten) {
  TempDir dir;
  fs::create_directories(dir.path / "out/shop.stockade-ingress-payments.yaml");
  auto r = run("recommend -q -f " + kDemo + "/cluster --flows " + kDemo +
               "/flows/hubble.json.gz --out-dir " + quote((dir.path / "out").string()));
  expect_one_line_error(r, "Is a directory");
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir.path / "out"))
    left.push_back(e.path().filename());
  EXPECT_EQ(left, std::vector<std::string>{"shop.stockade-ingress-payments.yaml"});
}

// Unreadable files and directories under -f are errors, not gaps (as another user: root
// reads everything).
TEST(HostileOutput, UnreadableInputIsAnError) {
  if (::geteuid() != 0 || run_command("command -v setpriv >/dev/null && echo yes").out != "yes\n")
    GTEST_SKIP() << "needs root and setpriv to run the program as another user";
  TempDir dir;
  fs::permissions(dir.path, fs::perms::all);
  fs::create_directories(dir.path / "in/sub");
  fs::copy_file(kDir / "rbac-aggregation-cycle.yaml", dir.path / "in/ok.yaml");
  fs::copy_file(kDir / "rbac-aggregation-cycle.yaml", dir.path / "in/sub/hidden.yaml");
  fs::permissions(dir.path / "in", fs::perms::all);
  fs::permissions(dir.path / "in/ok.yaml", fs::perms::owner_read | fs::perms::others_read);
  fs::permissions(dir.path / "in/sub", fs::perms::owner_all);  // others: nothing
  auto as_nobody = [&](const std::string& args) {
    return run_command("setpriv --reuid=65534 --regid=65534 --clear-groups " +
                       quote(STOCKADE_BINARY) + " " + args + " 2>&1");
  };
  auto probe = as_nobody("--version");
  if (exit_code(probe) != 0) GTEST_SKIP() << "the binary is not runnable as nobody: " << probe.out;
  expect_one_line_error(as_nobody("scan -f " + quote((dir.path / "in").string())),
                        "Permission denied");
  fs::permissions(dir.path / "in/sub", fs::perms::all);
  fs::permissions(dir.path / "in/sub/hidden.yaml", fs::perms::owner_read);
  expect_one_line_error(as_nobody("scan -f " + quote((dir.path / "in").string())),
                        "Permission denied");
}

}  // namespace
}  // namespace stockade

namespace stockade {
namespace {

// ---- item 8: bounded resources on streams -------------------------------------------------

// 300 gzip members of 1 MiB of newlines each: 300 KiB that inflate 1000 times. Refused once
// past the floor with one line; --max-gzip-ratio 0 reads it all (and finds no record).
TEST(HostileStream, GzipBombIsRefused) {
  TempDir dir;
  std::string bomb = (dir.path / "bomb.json.gz").string();
  ASSERT_EQ(
      run_command("head -c 1048576 /dev/zero | tr '\\0' '\\n' | gzip -9 > " + quote(bomb) +
                  ".1 && for i in $(seq 300); do cat " + quote(bomb) + ".1; done > " + quote(bomb))
          .status,
      0);
  expect_one_line_error(run("map -f " + kDemo + "/cluster --flows " + quote(bomb)),
                        "gzip data inflates more than 100 times");
  expect_one_line_error(run("verify -f " + kDemo + "/cluster --flows " + quote(bomb)),
                        "a decompression bomb? --max-gzip-ratio 0 reads it anyway");
  auto r = run_command(quote(STOCKADE_BINARY) + " map -f " + kDemo + "/cluster --flows " +
                       quote(bomb) + " --max-gzip-ratio 0 2>/dev/null");
  EXPECT_EQ(exit_code(r), 0) << r.out;
  EXPECT_NE(r.out.find("\"flows\":0"), std::string::npos) << r.out.substr(0, 300);
}

// Ever-new external addresses: past --max-external-nodes they are grouped by prefix, counted
// on stderr, and the map holds a bounded number of nodes.
TEST(HostileStream, ExternalNodesAreCapped) {
  TempDir dir;
  fs::path flows = dir.path / "stream-external-ips.json";
  {
    std::ofstream f(flows);
    std::mt19937 rng(8);
    for (int i = 0; i < 20000; ++i) {
      std::string ip = std::to_string(11 + rng() % 190) + "." + std::to_string(rng() % 256) + "." +
                       std::to_string(rng() % 256) + "." + std::to_string(1 + rng() % 254);
      f << R"({"flow":{"time":"2026-01-01T00:00:01Z","verdict":"FORWARDED","IP":{"source":"10.244.9.9","destination":")"
        << ip
        << R"(","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":40000,"destination_port":443,"flags":{"SYN":true}}},"source":{"namespace":"shop","pod_name":"frontend-x"},"destination":{"labels":["reserved:world"]},"Type":"L3_L4","node_name":"default/node-1","is_reply":false}})"
        << "\n";
    }
  }
  auto r = run_command(quote(STOCKADE_BINARY) + " map -f " + kDemo + "/cluster --flows " +
                       quote(flows.string()) + " --max-external-nodes 100 2>" +
                       quote((dir.path / "err").string()));
  ASSERT_EQ(exit_code(r), 0) << r.out.substr(0, 300);
  size_t external = 0;
  for (size_t at = 0; (at = r.out.find("\"id\":\"world/", at)) != std::string::npos; ++at)
    ++external;
  EXPECT_GT(external, 100u);
  EXPECT_LE(external, 401u);  // 100 addresses, at most 100 /24s, 100 /16s, 100 /8s, and /0
  std::ifstream err(dir.path / "err");
  std::string warning((std::istreambuf_iterator<char>(err)), {});
  EXPECT_NE(warning.find("more than 100 external addresses"), std::string::npos) << warning;
  EXPECT_NE(warning.find("grouped by prefix"), std::string::npos) << warning;
}

}  // namespace
}  // namespace stockade
