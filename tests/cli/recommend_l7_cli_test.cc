// `stockade recommend --l7 cilium|istio` on the command line, on the HTTP traffic of a small
// REST application (tests/data/l7, made by make_rest_app.py in the shape Hubble prints): the
// rules are few and anchored and valid against the upstream schemas; `verify` allows every
// observed request and every request of an observed shape with identifiers never observed;
// requests the application could make but was never seen making (other methods, paths,
// clients, ports) are refused; `diff --flows` reports them as broken and no observed one.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/run_command.h"
#include "support/test_files.h"

namespace {

using stockade::test::slurp;

namespace fs = std::filesystem;

const fs::path kSourceDir = STOCKADE_SOURCE_DIR;
const std::string kCluster = "tests/data/l7/cluster.yaml";
const std::string kObserved = "tests/data/l7/observed.json.gz";
const std::string kFresh = "tests/data/l7/fresh.json.gz";
const std::string kUnobserved = "tests/data/l7/unobserved.json";

class TempDir {
 public:
  explicit TempDir(const std::string& test) {
    std::string tmpl = (fs::temp_directory_path() / ("stockade-l7-" + test + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

using Proc = stockade::test::ProgramRun;

Proc run(const std::string& program, const std::vector<std::string>& args) {
  return stockade::test::run_program(program, args, kSourceDir);
}

Proc stockade(const std::vector<std::string>& args) {
  return run(STOCKADE_BINARY, args);
}

// Every document of the files in `dir` of kind `kind` against `schema` (a JSON Schema of the
// whole object, or of its spec with `spec_only`) with python3-jsonschema; false where missing.
bool validate(const fs::path& dir, const std::string& kind, const std::string& schema,
              bool spec_only, std::string& problems, int& docs) {
  if (std::system("python3 -c 'import yaml, jsonschema' >/dev/null 2>&1") != 0) return false;
  TempDir tmp("schema-" + kind);
  fs::path script = tmp.path() / "validate.py";
  std::ofstream(script) << R"(import sys, os, json, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
bad = docs = 0
for name in sorted(os.listdir(sys.argv[2])):
    for doc in yaml.safe_load_all(open(os.path.join(sys.argv[2], name))):
        if doc is None or doc.get('kind') != sys.argv[3]: continue
        docs += 1
        target = {'spec': doc['spec']} if sys.argv[4] == '1' else doc
        for e in jsonschema.Draft7Validator(schema).iter_errors(target):
            bad += 1
            print(name, list(e.path), e.message)
print('docs', docs)
sys.exit(1 if bad or not docs else 0)
)";
  Proc r = run("python3", {script.string(), (kSourceDir / schema).string(), dir.string(), kind,
                           spec_only ? "1" : "0"});
  if (r.code != 0) problems = "exit " + std::to_string(r.code) + ": " + r.out + r.err;
  size_t at = r.out.rfind("docs ");
  docs = at == std::string::npos ? 0 : std::atoi(r.out.c_str() + at + 5);
  return true;
}

nlohmann::json verify_json(const fs::path& dir, const std::string& flows, int& code) {
  Proc r = stockade({"verify", "-f", kCluster, "-f", dir.string(), "--flows", flows, "-o", "json"});
  code = r.code;
  EXPECT_TRUE(code == 0 || code == 1) << r.err;
  return nlohmann::json::parse(r.out, nullptr, false);
}

TEST(CliRecommendL7, CiliumRulesAllowWhatWasObservedAndNothingElse) {
  TempDir dir("cilium");
  Proc rec = stockade({"recommend", "-f", kCluster, "--flows", kObserved, "--l7", "cilium",
                       "--out-dir", dir.path().string(), "--min-window", "1m"});
  ASSERT_EQ(rec.code, 0) << rec.err;
  EXPECT_NE(rec.err.find("stockade: L7 (cilium):"), std::string::npos) << rec.err;

  // The HTTP rules: few, every expression anchored, no catch-all but a query's.
  int rules = 0;
  size_t l7_files = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    std::string text = slurp(e.path());
    if (e.path().filename().string().find(".l7-") == std::string::npos) continue;
    ++l7_files;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      size_t p = line.find("path: ");
      if (p == std::string::npos) continue;
      ++rules;
      std::string re = line.substr(p + 6);
      if (re.size() > 1 && re.front() == '"') re = re.substr(1, re.size() - 2);
      EXPECT_EQ(re.front(), '^') << re;
      EXPECT_EQ(re.back(), '$') << re;
      for (size_t at = re.find(".*"); at != std::string::npos; at = re.find(".*", at + 1))
        EXPECT_TRUE(at > 0 && re[at - 1] == '?') << "a catch-all outside a query: " << re;
    }
  }
  EXPECT_GE(l7_files, 3u);  // the three servers' ingress, and the clients' egress
  EXPECT_GT(rules, 5);
  EXPECT_LE(rules, 20) << "~900 distinct observed paths must become at most 20 HTTP rules";

  std::string problems;
  int docs = 0;
  if (validate(dir.path(), "CiliumNetworkPolicy",
               "tests/data/schemas/cilium.io_ciliumnetworkpolicy_v2.json", false, problems, docs)) {
    EXPECT_TRUE(problems.empty()) << problems;
  }

  // Everything observed is allowed; observed shapes with new identifiers too.
  int code = -1;
  nlohmann::json v = verify_json(dir.path(), kObserved, code);
  EXPECT_EQ(code, 0) << v.dump();
  EXPECT_EQ(v["summary"]["denied"], 0);
  EXPECT_GT(v["summary"]["requests"].get<int>(), 500);
  EXPECT_EQ(v["summary"]["requests_denied"], 0);
  v = verify_json(dir.path(), kFresh, code);
  EXPECT_EQ(code, 0);
  EXPECT_GT(v["summary"]["requests"].get<int>(), 50);
  EXPECT_EQ(v["summary"]["requests_denied"], 0) << v["requests"].dump(1);
  // What was never observed is refused: each held-out request.
  v = verify_json(dir.path(), kUnobserved, code);
  EXPECT_EQ(code, 1);
  EXPECT_GE(v["summary"]["requests"].get<int>(), 18);
  EXPECT_EQ(v["summary"]["requests_allowed"], 0);
  for (const auto& r : v["requests"]) EXPECT_EQ(r["verdict"], "denied") << r.dump();

  // diff --flows: from no policies to these, the held-out requests break, observed ones not.
  TempDir none("none");
  Proc d = stockade({"diff", "-f", kCluster, "--before", none.path().string(), "--after",
                     dir.path().string(), "--flows", kUnobserved, "-o", "json"});
  EXPECT_EQ(d.code, 1) << d.err;
  nlohmann::json dj = nlohmann::json::parse(d.out, nullptr, false);
  EXPECT_GE(dj["flows"]["summary"]["requests_broken"].get<int>(), 18) << d.out.substr(0, 2000);
  d = stockade({"diff", "-f", kCluster, "--before", none.path().string(), "--after",
                dir.path().string(), "--flows", kObserved, "-o", "json"});
  dj = nlohmann::json::parse(d.out, nullptr, false);
  EXPECT_EQ(dj["flows"]["summary"]["requests_broken"], 0) << d.err;
  EXPECT_EQ(dj["flows"]["summary"]["broken"], 0) << d.err;
}

TEST(CliRecommendL7, IstioAuthorizationPoliciesFromServiceAccounts) {
  TempDir dir("istio");
  Proc rec = stockade({"recommend", "-f", kCluster, "--flows", kObserved, "--l7", "istio",
                       "--out-dir", dir.path().string(), "--min-window", "1m"});
  ASSERT_EQ(rec.code, 0) << rec.err;
  std::string all;
  for (const auto& e : fs::directory_iterator(dir.path())) all += slurp(e.path());
  EXPECT_NE(all.find("kind: \"AuthorizationPolicy\""), std::string::npos);
  EXPECT_NE(all.find("cluster.local/ns/shop/sa/web"), std::string::npos);
  EXPECT_NE(all.find("/orders/{*}/items"), std::string::npos);
  EXPECT_EQ(all.find("kind: \"CiliumNetworkPolicy\""), std::string::npos);
  std::string problems;
  int docs = 0;
  if (validate(dir.path(), "AuthorizationPolicy",
               "tests/data/schemas/security.istio.io_authorizationpolicy_v1.json", true, problems,
               docs)) {
    EXPECT_TRUE(problems.empty()) << problems;
    EXPECT_EQ(docs, 3);
  }
}

TEST(CliRecommendL7, RefusesAnUnknownKind) {
  Proc r = stockade({"recommend", "-f", kCluster, "--flows", kObserved, "--l7", "nginx"});
  EXPECT_EQ(r.code, 2);
}

}  // namespace
