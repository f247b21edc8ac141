// Hostile input (issue 25 items 1, 2, 5, 10, 11): one small input per class under
// tests/hostile/ (injection-*, yaml-*, objects-*, flags-*), each checked for the answer
// Kubernetes would give or a one-line error with exit 2.
//
// YAML semantics follow go-yaml v2 as vendored by sigs.k8s.io/yaml (goyaml.v2, the fork of
// gopkg.in/yaml.v2 v2.4.0 that kubectl and the API server convert YAML to JSON with):
//  - resolve.go: a plain scalar is an int when strconv.ParseInt(s without '_', 0, 64) takes it
//    (Go 1.13+: 0x, 0o, 0b prefixes and a leading 0 for octal), else a float when it matches
//    ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$; y/yes/on/true… are booleans.
//  - decode.go: `<<` (plain or !!merge) merges a map or a sequence of maps (earlier ones take
//    precedence); in strict mode setMapIndex refuses a key already set ("line N: key \"x\"
//    already set in map"), merged keys included.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "input/loader.h"
#include "input/yaml_tree.h"
#include "recommend/recommend.h"
#include "support/run_command.h"
#include "support/sanitizers.h"

namespace stockade {
namespace {

namespace fs = std::filesystem;
using input::yaml11_bool;
using input::yaml11_int;

const fs::path kSource = STOCKADE_SOURCE_DIR;
const fs::path kHostile = kSource / "tests/hostile";

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

struct Outcome {
  int code = -1;
  std::string out;  // stdout and stderr, in that order
  std::string err;
};

// Runs `stockade ARGS` (ARGS already shell text) in the repository root.
Outcome stockade(const std::string& args, const std::string& prefix = "") {
  char dir[] = "/tmp/stockade-hostile-XXXXXX";
  EXPECT_NE(mkdtemp(dir), nullptr);
  std::string err = std::string(dir) + "/err";
  std::string cmd = "cd " + quote(kSource.string()) + " && " + prefix + " " +
                    quote(STOCKADE_BINARY) + " " + args + " 2>" + quote(err) +
                    "; echo \"@exit=$?\"";
  auto r = test::run_command(cmd);
  Outcome out;
  size_t at = r.out.rfind("@exit=");
  if (at != std::string::npos) {
    out.code = std::atoi(r.out.c_str() + at + 6);
    out.out = r.out.substr(0, at);
  }
  std::ifstream in(err);
  std::stringstream ss;
  ss << in.rdbuf();
  out.err = ss.str();
  fs::remove_all(dir);
  return out;
}

size_t lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

Result<ClusterState> load(std::string_view text, LoadOptions o = {}) {
  ClusterLoader l(o);
  auto r = l.add_text(text, "in.yaml");
  if (!r) return tl::unexpected(r.error());
  return std::move(l).finish();
}

std::string error_of(std::string_view text) {
  auto r = load(text);
  return r ? "<no error>" : r.error().str();
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---- item 1: injection into generated policies -------------------------------------------

const char* kEvil =
    "shop/web\n    - ipBlock: {cidr: 0.0.0.0/0}\n\xc2\x85- ipBlock: {cidr: ::/0}\xe2\x80\xa8#"
    "\xf0\x9f\x98\x80";

RecommendedPolicy evil_policy() {
  RecommendedPolicy rp;
  rp.policy.ns = "shop";
  rp.policy.name = "stockade-ingress-db";
  rp.policy.source.file = "<recommended>";
  rp.policy.pod_selector.requirements.push_back({"app", SelectorOp::In, {"db"}});
  rp.policy.affects_ingress = true;
  NetworkPolicyRule rule;
  NetworkPolicyPeer peer;
  peer.pod_selector = LabelSelector{};
  peer.pod_selector->requirements.push_back({"app", SelectorOp::In, {"web"}});
  // YAML 1.1 booleans as keys: go-yaml reads a plain `on:` as true.
  peer.pod_selector->requirements.push_back({"on", SelectorOp::In, {"yes"}});
  rule.peers.push_back(peer);
  NetworkPolicyPort port;
  port.kind = NetworkPolicyPort::Kind::Number;
  port.port = 5432;
  port.protocol = Protocol::TCP;
  rule.ports.push_back(port);
  rp.policy.ingress.push_back(rule);
  rp.annotations.push_back({"stockade.io/workload", std::string(kEvil)});
  PeerEvidence ev;
  ev.name = 0;
  ev.connections = 3;
  rp.ingress_evidence = {{ev}};
  rp.names = std::make_shared<std::vector<std::string>>(
      std::vector<std::string>{std::string(kEvil) + " (Deployment)"});
  return rp;
}

TEST(HostileInjection, EmitterCannotBeBrokenOutOf) {
  RecommendedPolicy rp = evil_policy();
  std::string yaml = render_policy_yaml(rp);
  EXPECT_EQ(yaml, render_policy_yaml_via_tree(rp));
  EXPECT_EQ(yaml.find("0.0.0.0/0\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("\"on\": \"yes\""), std::string::npos) << yaml;
  // Every comment is one line, the evidence escaped.
  EXPECT_NE(yaml.find("# shop/web\\x0a    - ipBlock: {cidr: 0.0.0.0/0}\\x0a\\xc2\\x85"),
            std::string::npos)
      << yaml;
  // Read back by the loader: exactly the policy (no ipBlock peer), and the self-check agrees.
  auto back = load(yaml);
  ASSERT_TRUE(back) << back.error().str() << "\n" << yaml;
  ASSERT_EQ(back->network_policies.size(), 1u);
  const NetworkPolicy& np = back->network_policies[0];
  ASSERT_EQ(np.ingress.size(), 1u);
  ASSERT_EQ(np.ingress[0].peers.size(), 1u);
  EXPECT_FALSE(np.ingress[0].peers[0].ip_block.has_value());
  EXPECT_EQ(check_written(yaml, "out.yaml", {&rp.policy}, {}), "");
  // The same for the JSON form.
  EXPECT_EQ(check_written(render_policy_json(rp, 2), "out.json", {&rp.policy}, {}), "");
}

TEST(HostileInjection, SelfCheckSeesWhatIsWritten) {
  RecommendedPolicy rp = evil_policy();
  std::string yaml = render_policy_yaml(rp);
  // What an emitter that could be broken out of would have written: the comment as a rule.
  std::string widened = yaml;
  size_t at = widened.find("    - podSelector:");
  ASSERT_NE(at, std::string::npos);
  widened.insert(at, "    - ipBlock: {cidr: 0.0.0.0/0}\n");
  EXPECT_NE(check_written(widened, "out.yaml", {&rp.policy}, {}), "");
  // A document more (an injected second policy) is seen too.
  std::string other = yaml;
  other.replace(other.find("stockade-ingress-db"), 19, "stockade-ingress-xx");
  EXPECT_NE(check_written(yaml + "---\n" + other, "out.yaml", {&rp.policy}, {}), "");
}

TEST(HostileInjection, SelfCheckOfLargeOutputReadsAllOfIt) {
  // Past 1 MiB the text is read in two halves on two threads: both are checked.
  std::vector<RecommendedPolicy> many;
  std::string yaml;
  for (int i = 0; i < 2000; ++i) {
    RecommendedPolicy rp = evil_policy();
    rp.policy.name = "stockade-ingress-db" + std::to_string(i);
    yaml += "---\n" + render_policy_yaml(rp);
    many.push_back(std::move(rp));
  }
  ASSERT_GT(yaml.size(), size_t{1} << 20);
  std::vector<const NetworkPolicy*> proved;
  for (const RecommendedPolicy& rp : many) proved.push_back(&rp.policy);
  EXPECT_EQ(check_written(yaml, "out.yaml", proved, {}), "");
  std::string widened = yaml;
  size_t at = widened.rfind("    - podSelector:");
  widened.insert(at, "    - ipBlock: {cidr: 0.0.0.0/0}\n");
  EXPECT_NE(check_written(widened, "out.yaml", proved, {}), "");
  proved.pop_back();
  EXPECT_NE(check_written(yaml, "out.yaml", proved, {}), "");
}

TEST(HostileInjection, ClusterPodNameWithNewlineRefused) {
  Outcome r = stockade(
      "recommend -f demo/cluster -f tests/hostile/injection-cluster-pod-newline.json "
      "--flows demo/flows/hubble.json.gz");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("injection-cluster-pod-newline.json"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("metadata.name: invalid value \"web\\n"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(HostileInjection, FlowPodNameWithNewlineDropped) {
  // The demo's flows and a record whose pod name carries a rule: it is counted and named as
  // malformed; nothing the output allows is wider than without it.
  Outcome base = stockade("recommend -f demo/cluster --flows demo/flows/hubble.json.gz");
  ASSERT_EQ(base.code, 0) << base.err;
  Outcome r = stockade(
      "recommend -f demo/cluster --flows demo/flows/hubble.json.gz "
      "--flows tests/hostile/injection-flows-pod-newline.json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, base.out);
  EXPECT_EQ(r.out.find("0.0.0.0/0"), std::string::npos);
  EXPECT_NE(r.err.find("injection-flows-pod-newline.json:1: not a flow record: an endpoint's "
                       "namespace, pod or workload name is not a valid Kubernetes name"),
            std::string::npos)
      << r.err;
  Outcome strict = stockade(
      "recommend -f demo/cluster --strict "
      "--flows tests/hostile/injection-flows-pod-newline.json");
  EXPECT_EQ(strict.code, 2) << strict.err;
  EXPECT_EQ(lines(strict.err), 1u) << strict.err;
}

// ---- item 2: out of memory ----------------------------------------------------------------

TEST(HostileMemory, OutOfMemoryOnStdinIsOneLine) {
#ifdef STOCKADE_ASAN
  GTEST_SKIP() << "AddressSanitizer reserves terabytes of address space: RLIMIT_AS cannot apply";
#else
  // 600 MB of JSON on stdin with the address space limited to 384 MiB (the issue's 700 MB
  // without needing that much memory): JSON is parsed whole, its copy cannot grow. (Blanks
  // alone are no longer held: HostileStdin.WhitespaceIsNotHeld.)
  Outcome closed =
      stockade("reach -f - -o summary",
               "ulimit -v 393216; (printf '['; head -c 600000000 /dev/zero | tr '\\0' ' ') |");
  EXPECT_EQ(closed.code, 2) << closed.err;
  EXPECT_EQ(closed.err,
            "stockade: error: out of memory (the input is too large for the memory available)\n");
#endif
}

// ---- item 5: YAML as Kubernetes reads it --------------------------------------------------

const char* kNp = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: ns}
spec:
  podSelector: {}
  ingress:
  - ports:
    - port: )";

uint16_t port_of(const std::string& value) {
  auto s = load(std::string(kNp) + value + "\n");
  EXPECT_TRUE(s) << value << ": " << s.error().str();
  if (!s || s->network_policies.empty()) return 0;
  const NetworkPolicyPort& p = s->network_policies[0].ingress.at(0).ports.at(0);
  EXPECT_EQ(p.kind, NetworkPolicyPort::Kind::Number) << value << " read as the name " << p.name;
  return p.port;
}

TEST(HostileYaml, IntegersAsYaml11) {
  EXPECT_EQ(port_of("0120"), 80);   // octal
  EXPECT_EQ(port_of("0x50"), 80);   // hex
  EXPECT_EQ(port_of("0o120"), 80);  // ParseInt base 0 takes 0o since Go 1.13
  EXPECT_EQ(port_of("0b1010000"), 80);
  EXPECT_EQ(port_of("8e1"), 80);  // a float, written 80 by the JSON conversion
  EXPECT_EQ(port_of("80.0"), 80);
  EXPECT_EQ(port_of("+80"), 80);
  EXPECT_EQ(port_of("8_0"), 80);
  EXPECT_EQ(port_of("80"), 80);
  // Quoted, they are strings: named ports (valid IANA names) or errors.
  auto s = load(std::string(kNp) + "\"0x50\"\n");
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_EQ(s->network_policies[0].ingress[0].ports[0].kind, NetworkPolicyPort::Kind::Name);
  // 8.5 is a float no integer field takes: not a name either.
  EXPECT_NE(error_of(std::string(kNp) + "8.5\n"), "<no error>");
  EXPECT_EQ(yaml11_int("0120"), 80);
  EXPECT_EQ(yaml11_int("-0x50"), -80);
  EXPECT_EQ(yaml11_int("08"), 8);  // not octal: ParseFloat("08")
  EXPECT_FALSE(yaml11_int("0x"));
  EXPECT_FALSE(yaml11_int("1e21"));
  EXPECT_FALSE(yaml11_int("web"));
  EXPECT_FALSE(yaml11_int(".inf"));
  EXPECT_EQ(yaml11_int("9223372036854775807"), INT64_MAX);
  EXPECT_FALSE(yaml11_int("9223372036854775808"));
}

TEST(HostileYaml, BooleansAsYaml11) {
  for (const char* t : {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True"})
    EXPECT_EQ(yaml11_bool(t), true) << t;
  for (const char* f : {"n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "FALSE"})
    EXPECT_EQ(yaml11_bool(f), false) << f;
  EXPECT_FALSE(yaml11_bool("yEs"));
  auto s = load(R"(apiVersion: v1
kind: Pod
metadata: {name: p, namespace: default}
spec:
  hostNetwork: yes
  containers: [{name: c, image: x, securityContext: {privileged: on}}]
)");
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_TRUE(s->pods[0].spec.host_network);
  EXPECT_EQ(s->pods[0].security.containers.at(0).security.privileged, true);
}

TEST(HostileYaml, MergeKeyHidesNothing) {
  auto s = load(read(kHostile / "yaml-merge-privileged.yaml"));
  ASSERT_TRUE(s) << s.error().str();
  ASSERT_EQ(s->pods.size(), 1u);
  const SecurityContext& sc = s->pods[0].security.containers.at(0).security;
  EXPECT_EQ(sc.privileged, true);
  EXPECT_EQ(sc.allow_privilege_escalation, true);
  EXPECT_EQ(sc.read_only_root_filesystem, true);
  // And scan says so.
  Outcome r = stockade("scan -f tests/hostile/yaml-merge-privileged.yaml -o json");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.out.find("privileged"), std::string::npos) << r.out;

  // Aliases and sequences of maps; a tagged merge key; a merge of something else is refused.
  auto seq = load(R"(base: &base {hostNetwork: true}
more: &more {hostPID: true, hostNetwork: false}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: default}
spec:
  !!merge <<: [*base]
  containers: [{name: c, image: x}]
)");
  // (documents do not share anchors: the second cannot name *base)
  EXPECT_FALSE(seq);
  auto seq2 = load(R"(apiVersion: v1
kind: Pod
metadata: {name: p, namespace: default}
x-defaults: &d {hostPID: true}
spec:
  !!merge <<: [*d, {hostIPC: true}]
  containers: [{name: c, image: x}]
)");
  ASSERT_TRUE(seq2) << seq2.error().str();
  EXPECT_TRUE(seq2->pods[0].security.host_pid);
  EXPECT_TRUE(seq2->pods[0].security.host_ipc);
  EXPECT_NE(error_of("a: {<<: 3}\n")
                .find("in.yaml:1: invalid YAML: map merge requires map or sequence of maps"),
            std::string::npos);
  // A quoted "<<" is an ordinary key.
  EXPECT_EQ(error_of("\"<<\": {a: 1}\nkind: Foo\nmetadata: {name: x}\n"), "<no error>");
}

TEST(HostileYaml, DuplicateKeysRefusedWithTheLine) {
  EXPECT_EQ(error_of(read(kHostile / "yaml-duplicate-key.yaml")),
            "in.yaml:9: invalid YAML: key \"podSelector\" already set in map");
  EXPECT_EQ(error_of(read(kHostile / "yaml-kind-twice.yaml")),
            "in.yaml:5: invalid YAML: key \"kind\" already set in map");
  // Through a merge (go-yaml v2 strict refuses an explicit key a merge also sets).
  EXPECT_NE(error_of("a: &a {x: 1}\nb: {<<: *a, x: 2}\n").find("key \"x\" already set in map"),
            std::string::npos);
  // Large maps take the hashed path.
  std::string big = "m:\n";
  for (int i = 0; i < 100; ++i) big += "  k" + std::to_string(i) + ": 1\n";
  big += "  k42: 2\n";
  EXPECT_EQ(error_of(big), "in.yaml:102: invalid YAML: key \"k42\" already set in map");
  // JSON: simdjson keeps the first, Go the last; both refused.
  EXPECT_NE(
      error_of(R"({"apiVersion":"v1","kind":"Pod","kind":"Namespace","metadata":{"name":"x"}})")
          .find("duplicate field \"kind\""),
      std::string::npos);
  Outcome r = stockade("reach -f tests/hostile/yaml-kind-twice.yaml");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
}

TEST(HostileYaml, MergeBombBounded) {
  std::string e = error_of(read(kHostile / "yaml-merge-bomb.yaml"));
  EXPECT_NE(e.find("document too large after expanding YAML merge keys"), std::string::npos) << e;
}

TEST(HostileYaml, OctalPortAsKubernetesReadsIt) {
  auto s = load(read(kHostile / "yaml-octal-port.yaml"));
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_EQ(s->network_policies[0].ingress[0].ports[0].port, 80);
}

// ---- item 11: objects validated like policies ---------------------------------------------

TEST(HostileObjects, NamesAndLabelsValidated) {
  EXPECT_NE(error_of(read(kHostile / "objects-pod-bad-label.yaml"))
                .find("metadata.labels.app: invalid value"),
            std::string::npos);
  EXPECT_NE(error_of(read(kHostile / "objects-uppercase-name.yaml"))
                .find("in.yaml:4: metadata.name: invalid value \"Web_Frontend\": a lowercase RFC "
                      "1123 subdomain"),
            std::string::npos);
  auto obj = [](const std::string& kind, const std::string& meta) {
    return "apiVersion: v1\nkind: " + kind + "\nmetadata: " + meta + "\n";
  };
  EXPECT_NE(error_of(obj("Namespace", "{name: a.b}")).find("RFC 1123 label"), std::string::npos);
  EXPECT_NE(error_of(obj("Service", "{name: 1abc, namespace: x}")).find("DNS-1035"),
            std::string::npos);
  EXPECT_NE(error_of(obj("Pod", "{name: p, namespace: " + std::string(64, 'a') + "}"))
                .find("metadata.namespace: invalid value"),
            std::string::npos);
  EXPECT_NE(error_of(obj("Pod", "{name: " + std::string(254, 'a') + "}")).find("253"),
            std::string::npos);
  EXPECT_NE(error_of(obj("Pod", "{name: p, labels: {\"a/b/c\": x}}")).find("invalid key"),
            std::string::npos);
  EXPECT_NE(error_of(obj("Pod", "{name: p, annotations: {\"bad key\": x}}")).find("invalid key"),
            std::string::npos);
  // RBAC names are path segments (system:node is fine, a/b is not).
  EXPECT_EQ(error_of("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
                     "metadata: {name: \"system:node\"}\n"),
            "<no error>");
  EXPECT_NE(error_of("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
                     "metadata: {name: \"a/b\"}\n"),
            "<no error>");
  // Pod templates' labels too.
  EXPECT_NE(error_of("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n"
                     "  template:\n    metadata: {labels: {app: \"a b\"}}\n")
                .find("spec.template.metadata.labels.app: invalid value \"a b\""),
            std::string::npos);
}

TEST(HostileObjects, UnknownFieldsReportedUnderVerbose) {
  std::string pod = R"(apiVersion: v1
kind: Pod
metadata: {name: p, namespace: default, labelz: {a: b}}
spec:
  containers:
  - name: c
    image: x
    securityContext: {privilegd: true}
  hostnetwork: true
)";
  LoadOptions o;
  o.report_unknown_fields = true;
  auto s = load(pod, o);
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_EQ(s->unknown_fields.count("Pod metadata.\"labelz\""), 1u);
  EXPECT_EQ(s->unknown_fields.count("Pod spec.\"hostnetwork\""), 1u);
  EXPECT_EQ(s->unknown_fields.count("Pod spec.containers[].securityContext.\"privilegd\""), 1u);
  EXPECT_TRUE(load(pod)->unknown_fields.empty());  // off by default: no cost
  char path[] = "/tmp/stockade-unknown-XXXXXX.yaml";
  int fd = mkstemps(path, 5);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, pod.data(), pod.size()), static_cast<ssize_t>(pod.size()));
  close(fd);
  Outcome r = stockade("reach -v -o summary -f " + quote(path));
  unlink(path);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(
      r.err.find("unknown field (ignored, as a lenient API server would; strict field "
                 "validation refuses it): Pod spec.containers[].securityContext.\"privilegd\""),
      std::string::npos)
      << r.err;
}

// ---- item 10: flags and stream inputs -----------------------------------------------------

TEST(HostileFlags, StdinOnlyOnce) {
  for (const char* cmd : {"map", "verify", "recommend"}) {
    Outcome r = stockade(std::string(cmd) + " -f - --flows -");
    EXPECT_EQ(r.code, 2) << cmd << ": " << r.err;
    EXPECT_EQ(r.err,
              "stockade: error: -f - and --flows -: standard input can be read only once; give "
              "all but one a file\n")
        << cmd;
  }
  Outcome d = stockade("diff -f - --before demo/policies --after demo/policies");
  EXPECT_EQ(d.code, 2) << d.err;
  EXPECT_EQ(lines(d.err), 1u);
}

TEST(HostileFlags, DurationMustBeFinite) {
  for (const char* v : {"nan", "inf", "-inf", "NaN"}) {
    Outcome r = stockade(std::string("agent --duration ") + v);
    EXPECT_EQ(r.code, 2) << v << ": " << r.err;
    EXPECT_NE(r.err.find("--duration: must be 0"), std::string::npos) << v << ": " << r.err;
  }
}

TEST(HostileFlags, StrictRefusesBadEscapesAndUtf8Anywhere) {
  for (const char* f : {"flags-strict-bad-escape.json", "flags-strict-bad-utf8.json"}) {
    std::string path = "tests/hostile/" + std::string(f);
    Outcome strict = stockade("map -f demo/cluster --strict -o json --flows " + path);
    EXPECT_EQ(strict.code, 2) << f << ": " << strict.err;
    EXPECT_EQ(lines(strict.err), 1u) << strict.err;
    EXPECT_NE(strict.err.find(path + ":1: not a flow record"), std::string::npos) << strict.err;
  }
}

TEST(HostileFlags, FifoWithoutWriterTimesOut) {
  char dir[] = "/tmp/stockade-fifo-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string fifo = std::string(dir) + "/in.yaml";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  Outcome r = stockade("reach -o summary -f " + quote(fifo), "STOCKADE_FIFO_TIMEOUT=1");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("a FIFO that no process opened for writing within 1 s"), std::string::npos)
      << r.err;
  Outcome f = stockade("map -f demo/cluster --flows " + quote(fifo), "STOCKADE_FIFO_TIMEOUT=1");
  EXPECT_EQ(f.code, 2) << f.err;
  EXPECT_EQ(lines(f.err), 1u) << f.err;
  // A FIFO inside a directory given to -f is not read (only regular files are).
  Outcome d =
      stockade("reach -o summary -f demo/cluster -f " + quote(dir), "STOCKADE_FIFO_TIMEOUT=1");
  EXPECT_EQ(d.code, 0) << d.err;
  // With a writer, it is read.
  Outcome w = stockade("reach -o summary -f demo/cluster -f " + quote(fifo),
                       "(cat demo/policies/shop.yaml > " + quote(fifo) + " &) ;");
  EXPECT_EQ(w.code, 0) << w.err;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stockade
