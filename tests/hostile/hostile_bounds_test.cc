// Hostile input, round three (issue 25's leftovers): stdin read as it comes (no copy of the
// whole input), typed YAML scalars where Kubernetes wants strings, and the cap on distinct
// external addresses for the commands that evaluate observed traffic.
//
// What Kubernetes does with a typed scalar, from the upstream decoding code:
//  - k8s.io/apimachinery/pkg/runtime/serializer/json/json.go (Serializer.Decode): YAML input
//    is converted with sigs.k8s.io/yaml's YAMLToJSON(data), then decoded into the Go struct.
//  - sigs.k8s.io/yaml/yaml.go (yamlToJSONTarget, convertToJSONableObject): YAMLToJSON passes
//    no target type (jsonTarget nil), so a scalar that go-yaml v2 resolved to a bool, an int
//    or a float is written to the JSON as one. Only yaml.Unmarshal(y, &typed) coerces
//    numbers and booleans into string fields; the API server and kubectl do not use it.
//  - encoding/json then refuses the value for a string field: "json: cannot unmarshal bool
//    into Go struct field ObjectMeta.metadata.labels of type string" (a request error, the
//    object is not created).
//  - Map keys: convertToJSONableObject makes every key a string: a bool "true"/"false", an
//    int strconv.Itoa, a float strconv.FormatFloat(f, 'g', -1, 32). So `on: x` in labels is
//    the label key "true".
//  - goyaml.v2/resolve.go (resolve): a plain scalar is an int when strconv.ParseInt or
//    ParseUint (base 0, '_' removed) takes it, a float when it matches YAML's float syntax or
//    is .inf/.nan, a bool from the YAML 1.1 table (y, yes, on, true...); a timestamp-looking
//    scalar (2024-01-01) stays a string when decoded into interface{} (decode.go, "for
//    backward compatibility reasons we set it as a string").
//  - IntOrString (k8s.io/apimachinery/pkg/util/intstr, UnmarshalJSON): a JSON string or an
//    int32; a float or a boolean is an error. A string port in a NetworkPolicy is a port
//    name, which validation refuses unless it holds a letter (ValidatePortName,
//    validation.IsValidPortName: "must contain at least one letter (a-z)").
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "engine/engine.h"
#include "input/loader.h"
#include "input/yaml_tree.h"
#include "recommend/observed.h"
#include "support/run_command.h"
#include "support/sanitizers.h"

namespace stockade {
namespace {

namespace fs = std::filesystem;
using test::run_command;

const std::string kDemo = std::string(STOCKADE_SOURCE_DIR) + "/demo";

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

int exit_code(const test::CommandOutput& r) {
  return WIFEXITED(r.status) ? WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status);
}

// `prefix | stockade ARGS` with stderr after stdout.
test::CommandOutput run(const std::string& args, const std::string& prefix = "") {
  return run_command(prefix + " " + quote(STOCKADE_BINARY) + " " + args + " 2>&1");
}

void expect_one_line_error(const test::CommandOutput& r, const std::string& what) {
  EXPECT_EQ(exit_code(r), 2) << r.out.substr(0, 500);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out.substr(0, 500);
  EXPECT_TRUE(r.out.starts_with("stockade: error: ")) << r.out.substr(0, 500);
  EXPECT_NE(r.out.find(what), std::string::npos) << r.out.substr(0, 500);
}

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name) {
    std::string t = (fs::temp_directory_path() / ("stockade-" + name + "-XXXXXX")).string();
    path = ::mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

Result<ClusterState> load(std::string_view text) {
  ClusterLoader l;
  auto r = l.add_text(text, "in.yaml");
  if (!r) return tl::unexpected(r.error());
  return std::move(l).finish();
}

std::string error_of(std::string_view text) {
  auto r = load(text);
  return r ? "<no error>" : r.error().str();
}

// ---- stdin read as it comes ------------------------------------------------------------------

#ifndef STOCKADE_ASAN
// 600 MB of blank lines and spaces on stdin with the address space limited to 384 MiB: no
// object, exit 0. Before, the whole input was copied into memory first (out of memory here).
TEST(HostileStdin, WhitespaceIsNotHeld) {
  auto r = run("reach -f - -o summary",
               "ulimit -v 393216; head -c 600000000 /dev/zero | tr '\\0' ' ' | fold -w 4000 |");
  EXPECT_EQ(exit_code(r), 0) << r.out.substr(0, 500);
  EXPECT_EQ(r.out.find("error"), std::string::npos) << r.out.substr(0, 500);
}

// A stream of 300 documents of 1 MB each (300 MB) on stdin, same limit: one document is held
// at a time.
TEST(HostileStdin, YamlStreamHoldsOneDocumentAtATime) {
  TempDir dir("stdin-stream");
  std::string gen = (dir.path / "gen.sh").string();
  {
    std::ofstream f(gen);
    f << "doc=$(printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: c, namespace: "
         "default}\\ndata:\\n  blob: '; head -c 1000000 /dev/zero | tr '\\0' 'a'; printf "
         "'\\n---\\n')\n"
         "for i in $(seq 300); do printf '%s\\n' \"$doc\"; done\n"
         "printf 'apiVersion: v1\\nkind: Namespace\\nmetadata: {name: last}\\n'\n";
  }
  auto r = run("reach -f - -o summary", "ulimit -v 393216; sh " + quote(gen) + " |");
  EXPECT_EQ(exit_code(r), 0) << r.out.substr(0, 500);
}

#endif

// Lines on stdin are the file's lines: the blank lines skipped before the first character are
// counted, and documents read one at a time keep their place.
TEST(HostileStdin, LinesAreTheFilesLines) {
  TempDir dir("stdin-lines");
  fs::path yaml = dir.path / "bad.yaml";
  {
    std::ofstream f(yaml);
    f << "\n\n   \n\n# comment\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n"
         "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: a\n  labels:\n"
         "    app: true\nspec: {containers: [{name: c, image: x}]}\n";
  }
  auto file = run("reach -f " + quote(yaml.string()) + " -o summary");
  auto pipe = run("reach -f - -o summary", "cat " + quote(yaml.string()) + " |");
  expect_one_line_error(file, ":16: metadata.labels.app: expected a string, got a boolean");
  expect_one_line_error(pipe, "<stdin>:16: metadata.labels.app: expected a string, got a boolean");
  // Indented first line: its blanks are kept (they are its indentation).
  auto indented = run("reach -f - -o summary",
                      "printf '\\n\\n  apiVersion: v1\\n  kind: Namespace\\n   bad: [\\n' |");
  expect_one_line_error(indented, "<stdin>:");
  // JSON after blank lines: the error's line counts them.
  auto json = run("reach -f - -o summary",
                  "printf '\\n\\n\\n{\"apiVersion\": \"v1\", \"kind\": \"Namespace\",\\n"
                  "\"metadata\": {\"name\": \"a\", \"labels\": {\"x\": 1}}}\\n' |");
  expect_one_line_error(json, "<stdin>:5: metadata.labels.x: expected a string, got a number");
  // A NUL byte in a piped stream: named with its line.
  auto nul = run("reach -f - -o summary",
                 "printf 'apiVersion: v1\\nkind: Namespace\\nmetadata: {name: a}\\n\\0' |");
  expect_one_line_error(nul, "<stdin>:4: binary data (NUL byte) in manifest");
  // The same stream read whole and read piped: the same objects.
  auto same = run("reach -f - -o json", "cat " + quote(kDemo + "/cluster/shop.yaml") + " |");
  auto whole = run("reach -f " + quote(kDemo + "/cluster/shop.yaml") + " -o json");
  EXPECT_EQ(exit_code(same), exit_code(whole));
  EXPECT_GT(same.out.size(), 100u);
  EXPECT_EQ(same.out, whole.out);
}

// ---- typed scalars where Kubernetes wants strings --------------------------------------------

std::string pod_with(const std::string& metadata_extra, const std::string& spec_extra = "") {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: default\n" +
         metadata_extra + "spec:\n  containers: [{name: c, image: x}]\n" + spec_extra;
}

TEST(HostileTypedScalars, LabelValuesMustBeStrings) {
  EXPECT_EQ(error_of(pod_with("  labels:\n    app: true\n")),
            "in.yaml:7: metadata.labels.app: expected a string, got a boolean");
  EXPECT_EQ(error_of(pod_with("  labels:\n    enabled: yes\n")),
            "in.yaml:7: metadata.labels.enabled: expected a string, got a boolean");
  EXPECT_EQ(error_of(pod_with("  labels:\n    version: 1.0\n")),
            "in.yaml:7: metadata.labels.version: expected a string, got a number");
  EXPECT_EQ(error_of(pod_with("  labels:\n    mask: 0x1F\n")),
            "in.yaml:7: metadata.labels.mask: expected a string, got a number");
  EXPECT_EQ(error_of(pod_with("  labels:\n    num: 1_000\n")),
            "in.yaml:7: metadata.labels.num: expected a string, got a number");
  // `n` is a YAML 1.1 boolean too: as a key it is "false".
  EXPECT_EQ(error_of(pod_with("  labels:\n    n: 1_000\n")),
            "in.yaml:7: metadata.labels.false: expected a string, got a number");
  EXPECT_EQ(error_of(pod_with("  labels:\n    big: 18446744073709551615\n")),
            "in.yaml:7: metadata.labels.big: expected a string, got a number");
  EXPECT_EQ(error_of(pod_with("  annotations:\n    x: .inf\n")),
            "in.yaml:7: metadata.annotations.x: expected a string, got a number");
  // What Kubernetes takes as strings: quoted, timestamps, words, versions with two dots,
  // a hex literal too large for 64 bits, null (the empty string).
  auto s =
      load(pod_with("  labels:\n    a: \"true\"\n    b: '1.0'\n    c: 2024-01-01\n    d: v1.0\n"
                    "    e: 1.2.3\n    f: 0x1FFFFFFFFFFFFFFFFF\n    g: ~\n    h: yess\n"));
  ASSERT_TRUE(s) << s.error().str();
  const Labels& l = s->pods.at(0).spec.labels;
  EXPECT_EQ(l.at("a"), "true");
  EXPECT_EQ(l.at("b"), "1.0");
  EXPECT_EQ(l.at("c"), "2024-01-01");
  EXPECT_EQ(l.at("d"), "v1.0");
  EXPECT_EQ(l.at("e"), "1.2.3");
  EXPECT_EQ(l.at("f"), "0x1FFFFFFFFFFFFFFFFF");
  EXPECT_EQ(l.at("g"), "");
  EXPECT_EQ(l.at("h"), "yess");
}

TEST(HostileTypedScalars, NamesAndSelectorsMustBeStrings) {
  EXPECT_EQ(error_of("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: 0x50\n"),
            "in.yaml:4: metadata.name: expected a string, got a number");
  EXPECT_EQ(error_of("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: true\n"),
            "in.yaml:4: metadata.name: expected a string, got a boolean");
  EXPECT_EQ(error_of(pod_with("", "  serviceAccountName: 12\n")),
            "in.yaml:8: Pod default/p: spec.serviceAccountName: expected a string, got a number");
  const std::string np =
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: "
      "{name: p, namespace: default}\nspec:\n  podSelector:\n";
  EXPECT_EQ(error_of(np + "    matchLabels:\n      tier: on\n"),
            "in.yaml:7: NetworkPolicy default/p: spec.podSelector.matchLabels.tier: expected a "
            "string, got a boolean");
  EXPECT_NE(error_of(np + "    matchExpressions:\n    - {key: v, operator: In, values: [1.5]}\n")
                .find("expected a string, got a number"),
            std::string::npos);
  // The same manifest with the values quoted is what Kubernetes takes.
  auto s = load(np +
                "    matchLabels:\n      tier: \"on\"\n    matchExpressions:\n"
                "    - {key: v, operator: In, values: [\"1.5\"]}\n");
  ASSERT_TRUE(s) << s.error().str();
}

TEST(HostileTypedScalars, JsonNumbersAndBooleansWhereStringsBelong) {
  EXPECT_EQ(error_of(R"({"apiVersion": "v1", "kind": "Pod",
 "metadata": {"name": "p", "namespace": "default", "labels": {"app": 1}},
 "spec": {"containers": [{"name": "c", "image": "x"}]}})"),
            "in.yaml:2: metadata.labels.app: expected a string, got a number");
  EXPECT_EQ(error_of(R"({"apiVersion": "v1", "kind": "Namespace",
 "metadata": {"name": false}})"),
            "in.yaml:2: metadata.name: expected a string, got a boolean");
}

// Keys are JSON strings after the conversion: a plain `on` is the key "true", `0x1F` is "31",
// a float key is FormatFloat(f, 'g', -1, 32).
TEST(HostileTypedScalars, KeysAsSigsYamlConvertsThem) {
  auto s =
      load(pod_with("  labels:\n    on: a\n    0x1F: b\n    1.5: c\n    007: d\n"
                    "    \"yes\": e\n"));
  ASSERT_TRUE(s) << s.error().str();
  const Labels& l = s->pods.at(0).spec.labels;
  EXPECT_EQ(l.count("on"), 0u);
  EXPECT_EQ(l.at("true"), "a");
  EXPECT_EQ(l.at("31"), "b");
  EXPECT_EQ(l.at("1.5"), "c");
  EXPECT_EQ(l.at("7"), "d");
  EXPECT_EQ(l.at("yes"), "e");                   // quoted: a string
  EXPECT_EQ(input::yaml11_key("1e6"), "1e+06");  // not a valid label key: refused as such
  EXPECT_NE(error_of(pod_with("  labels:\n    1e6: f\n")).find("1e+06"), std::string::npos);
  EXPECT_EQ(input::yaml11_key("0.1"), "0.1");  // float32's shortest digits
  EXPECT_EQ(input::yaml11_key("-2.5e-5"), "-2.5e-05");
  EXPECT_EQ(input::yaml11_key("123456"), "123456");
  EXPECT_EQ(input::yaml11_key("123456.0"), "123456");
  EXPECT_EQ(input::yaml11_key("1234567.0"), "1.234567e+06");
  EXPECT_EQ(input::yaml11_key("-.inf"), "-.inf");
  EXPECT_EQ(input::yaml11_key("off"), "false");
}

TEST(HostileTypedScalars, IntOrStringPorts) {
  const std::string np =
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: "
      "{name: p, namespace: default}\nspec:\n  podSelector: {}\n  ingress:\n"
      "  - ports:\n    - port: ";
  // A string is a port name: "80" has no letter, which validation refuses.
  EXPECT_NE(error_of(np + "\"80\"\n").find("invalid port name \"80\""), std::string::npos);
  EXPECT_NE(error_of(np + "true\n").find("expected a port number or name"), std::string::npos);
  auto named = load(np + "http\n");
  ASSERT_TRUE(named) << named.error().str();
  EXPECT_EQ(named->network_policies[0].ingress[0].ports[0].kind, NetworkPolicyPort::Kind::Name);
  const std::string svc =
      "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: "
      "default}\nspec:\n  ports:\n  - port: 80\n    targetPort: ";
  EXPECT_EQ(error_of(svc + "1.5\n"),
            "in.yaml:7: Service default/s: spec.ports[0].targetPort: expected an integer or a "
            "string, got a number");
  EXPECT_EQ(error_of(svc + "yes\n"),
            "in.yaml:7: Service default/s: spec.ports[0].targetPort: expected an integer or a "
            "string, got a boolean");
  auto s = load(svc + "\"8080\"\n");
  ASSERT_TRUE(s) << s.error().str();
  auto t = load(svc + "8080\n");
  ASSERT_TRUE(t) << t.error().str();
  EXPECT_EQ(t->services.at(0).ports.at(0).target_number, 8080);
}

// ---- distinct external addresses in observed flows -------------------------------------------

std::string flows_to_new_addresses(int n, bool absent_pods = false) {
  std::string out;
  std::mt19937 rng(25);
  for (int i = 0; i < n; ++i) {
    std::string ip = std::to_string(11 + rng() % 190) + "." + std::to_string(rng() % 256) + "." +
                     std::to_string(rng() % 256) + "." + std::to_string(1 + rng() % 254);
    std::string dst = absent_pods
                          ? R"({"namespace":"gone","pod_name":"p-)" + std::to_string(i) + R"("})"
                          : R"({"labels":["reserved:world"]})";
    out +=
        R"({"flow":{"time":"2026-01-01T00:00:01Z","verdict":"FORWARDED","IP":{"source":"10.244.9.9","destination":")" +
        ip +
        R"(","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":40000,"destination_port":443,"flags":{"SYN":true}}},"source":{"namespace":"shop","pod_name":"frontend-x"},"destination":)" +
        dst + R"(,"Type":"L3_L4","node_name":"default/node-1","is_reply":false}})" + "\n";
  }
  return out;
}

Result<Observed> observe_text(const std::string& flows, uint32_t cap) {
  ClusterLoader l;
  EXPECT_TRUE(l.add_path(kDemo + "/cluster"));
  static ClusterState state;
  state = std::move(l).finish();
  static std::unique_ptr<PolicyEngine> engine;
  engine = PolicyEngine::compile(state, build_endpoints(state));
  EXPECT_TRUE(engine);
  ObserveOptions o;
  o.max_external_nodes = cap;
  return observe_flows_text(state, *engine, flows, o);
}

TEST(HostileObservedCap, ObserveRefusesPastTheCap) {
  std::string flows = flows_to_new_addresses(2000);
  auto capped = observe_text(flows, 100);
  ASSERT_FALSE(capped);
  EXPECT_NE(capped.error().message.find("more than 100 distinct external addresses"),
            std::string::npos)
      << capped.error().str();
  auto lifted = observe_text(flows, 0);
  ASSERT_TRUE(lifted) << lifted.error().str();
  size_t external = 0;
  for (const ObservedEdge& e : lifted->edges)
    external += e.dst.kind == ObservedPeer::Kind::External;
  EXPECT_GT(external, 1900u);  // each address its own peer, never a prefix
  auto under = observe_text(flows, 5000);
  ASSERT_TRUE(under) << under.error().str();
  EXPECT_EQ(under->edges.size(), lifted->edges.size());
}

// Pods the objects lack fall back to their addresses, which the cap counts.
TEST(HostileObservedCap, AbsentPodsCountTowardsTheCap) {
  auto capped = observe_text(flows_to_new_addresses(2000, true), 100);
  ASSERT_FALSE(capped);
  EXPECT_NE(capped.error().message.find("distinct external addresses"), std::string::npos);
}

TEST(HostileObservedCap, VerifyRecommendDiffRefuseWithOneLine) {
  TempDir dir("observed-cap");
  fs::path flows = dir.path / "flows.json";
  {
    std::ofstream f(flows);
    f << flows_to_new_addresses(2000);
  }
  const std::string in = "-f " + quote(kDemo + "/cluster") + " --flows " + quote(flows.string());
  for (const char* cmd : {"verify", "recommend", "diff"}) {
    std::string args = std::string(cmd) + " " + in + " --max-external-nodes 100";
    if (std::string(cmd) == "diff")
      args += " --before " + quote(kDemo + "/policies") + " --after " +
              quote(kDemo + "/policies-change");
    SCOPED_TRACE(cmd);
    expect_one_line_error(run(args), "more than 100 distinct external addresses in the flows");
  }
  auto ok = run("verify " + in + " -o json > /dev/null");
  EXPECT_LE(exit_code(ok), 1) << ok.out.substr(0, 500);
}

}  // namespace
}  // namespace stockade
