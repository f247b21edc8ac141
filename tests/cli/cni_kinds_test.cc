// The CNIs' own policy kinds: Cilium's and Calico's are evaluated and explained by name; what
// is not evaluated (Cilium host policies, Calico host-endpoint policies) is warned about on
// stderr for every command, and the commands whose output is verdicts (reach, explain, diff,
// verify) exit 3 naming what the verdicts ignore. Staged policies are never enforced, so no
// verdict ignores them.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

struct RunResult {
  int code = -1;
  std::string out, err;
};

// Runs `stockade ARGS` in the repository root (ARGS: shell words, trusted test text).
RunResult stockade(const std::string& args) {
  fs::path dir = fs::temp_directory_path() / ("stockade-cni-kinds-" + std::to_string(::getpid()) +
                                              "-" + std::to_string(std::hash<std::string>{}(args)));
  fs::create_directories(dir);
  std::string cmd = std::string("cd '") + STOCKADE_SOURCE_DIR + "' && '" + STOCKADE_BINARY + "' " +
                    args + " </dev/null >'" + (dir / "out").string() + "' 2>'" +
                    (dir / "err").string() + "'";
  int status = std::system(cmd.c_str());
  RunResult r;
  if (status != -1 && WIFEXITED(status)) r.code = WEXITSTATUS(status);
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  r.out = slurp(dir / "out");
  r.err = slurp(dir / "err");
  fs::remove_all(dir);
  return r;
}

const std::string kDemo = "-f demo/cluster -f demo/policies";
const std::string kCalico = " -f tests/data/cni/calico-policies.yaml";
// A Calico host-endpoint policy: not evaluated, so verdicts say so (exit 3).
const std::string kHostOnly = " -f tests/data/cni/calico-host-policy.yaml";

TEST(CniKinds, CalicoPoliciesAreEvaluatedNotWarnedAbout) {
  // Calico's NetworkPolicy shares its kind with Kubernetes': it used to be refused as an
  // unsupported apiVersion, then counted as not evaluated (exit 3); now it is evaluated.
  RunResult r = stockade("reach " + kDemo + kCalico + " -o summary");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"pairs\":"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
  // ... and it changes the verdicts: the global default deny (order 2000) ends the default
  // tier for every pod outside kube-system.
  RunResult before = stockade("reach " + kDemo + " -o summary");
  EXPECT_NE(r.out, before.out);
}

TEST(CniKinds, CalicoExplainNamesTierPolicyAndRule) {
  RunResult r = stockade("explain " + kDemo + kCalico +
                         " --from shop/checkout-6f8d7c9b54-h4d8s --to data/postgres-0 "
                         "--port tcp/5432 -o json");
  EXPECT_EQ(r.code, 0) << r.err;
  // The ingress of postgres: the Calico policy allow-checkout (order 100) of the default
  // tier, its rule ingress[0], before the Kubernetes NetworkPolicy data/postgres (order 1000).
  EXPECT_NE(r.out.find("\"calico_tier\":\"default\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ingress rule ingress[0] (Allow) of NetworkPolicy (projectcalico.org) "
                       "data/allow-checkout"),
            std::string::npos)
      << r.out;
  // The staged policy of shop is reported, not enforced.
  RunResult e = stockade("explain " + kDemo + kCalico +
                         " --from data/postgres-0 --to shop/checkout-6f8d7c9b54-h4d8s "
                         "--port tcp/8080 -o json");
  EXPECT_NE(e.out.find("staged StagedNetworkPolicy shop/staged-deny-all (tier default, not "
                       "enforced) selects it"),
            std::string::npos)
      << e.out;
}

TEST(CniKinds, CalicoEndOfTierDenyIsExplained) {
  RunResult r = stockade("explain " + kDemo + kCalico +
                         " --from shop/checkout-6f8d7c9b54-h4d8s --to data/postgres-0 "
                         "--port tcp/80");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("DENIED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("GlobalNetworkPolicy default-deny (tests/data/cni/calico-policies.yaml:"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("in Calico tier default, and no rule of it decides: the end-of-tier deny"),
            std::string::npos)
      << r.out;
}

TEST(CniKinds, BadCalicoSelectorIsOneLineError) {
  fs::path f =
      fs::temp_directory_path() / ("stockade-calico-bad-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(f) << "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
                      "metadata:\n  name: bad\nspec:\n  selector: app == 'x' &&\n";
  RunResult r = stockade("reach " + kDemo + " -f '" + f.string() + "' -o summary");
  fs::remove(f);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("stockade: error: " + f.string() +
                            ":6: GlobalNetworkPolicy bad: "
                            "spec.selector: invalid selector",
                        0),
            0u)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(CniKinds, WithoutThemNothingChanges) {
  RunResult r = stockade("reach " + kDemo + " -o summary");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST(CniKinds, EveryVerdictCommandExits3) {
  for (const std::string& args :
       {"explain " + kDemo + kHostOnly +
            " --from shop/checkout-6f8d7c9b54-h4d8s --to data/postgres-0 --port tcp/5432",
        "explain " + kDemo + kHostOnly +
            " --from shop/checkout-6f8d7c9b54-h4d8s --to data/postgres-0 --port tcp/5432 -o json",
        "reach " + kDemo + kHostOnly + " --from shop/* --to data/*",
        "diff -f demo/cluster --before demo/policies --after demo/policies" + kHostOnly,
        "verify " + kDemo + kHostOnly + " --flows demo/flows/hubble.json.gz --fail-on none"}) {
    RunResult r = stockade(args);
    EXPECT_EQ(r.code, 3) << args << "\n" << r.err;
    EXPECT_NE(r.err.find("these verdicts ignore 1 GlobalNetworkPolicy with "
                         "doNotTrack/preDNAT (projectcalico.org) object"),
              std::string::npos)
        << args << "\n"
        << r.err;
    EXPECT_FALSE(r.out.empty()) << args;  // the verdicts are still printed
  }
}

// Any policy kind the loader does not model is warned about by every command without -v,
// named with its group (Antrea's kinds share names with Kubernetes' and used to be refused as
// an unsupported apiVersion); other unknown kinds stay a -v count.
TEST(CniKinds, UnknownPolicyKindsOfAnyProjectAreWarnedAbout) {
  const std::string other = " -f tests/data/cni/other-policies.yaml";
  for (const std::string& cmd :
       {"reach " + kDemo + other + " -o summary", "scan " + kDemo + other + " --fail-on none",
        "map " + kDemo + other + " --flows demo/flows/hubble.json.gz -o json"}) {
    RunResult r = stockade(cmd);
    EXPECT_NE(r.code, 2) << cmd << "\n" << r.err;
    for (const char* kind :
         {"stockade: warning: 1 ClusterNetworkPolicy (crd.antrea.io) object is not evaluated",
          "stockade: warning: 1 NetworkPolicy (crd.antrea.io) object is not evaluated",
          "stockade: warning: 1 AuthorizationPolicy (security.istio.io) object is not evaluated"})
      EXPECT_NE(r.err.find(kind), std::string::npos) << cmd << "\n" << r.err;
    EXPECT_EQ(r.err.find("ConfigMap"), std::string::npos) << cmd << "\n" << r.err;
  }
  RunResult r = stockade("reach " + kDemo + other + " -o summary");
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("these verdicts ignore 1 AuthorizationPolicy (security.istio.io) object"),
            std::string::npos)
      << r.err;
  r = stockade("reach " + kDemo + other + " -o summary -v");
  EXPECT_NE(r.err.find("skipped 1 ConfigMap"), std::string::npos) << r.err;
  // Kubernetes' own NetworkPolicy at an old version is still an error, not another project's.
  fs::path f =
      fs::temp_directory_path() / ("stockade-np-v1beta1-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(f) << "apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata:\n  name: "
                      "p\n  namespace: shop\nspec:\n  podSelector: {}\n";
  r = stockade("reach " + kDemo + " -f '" + f.string() + "' -o summary");
  fs::remove(f);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("unsupported apiVersion"), std::string::npos) << r.err;
}

TEST(CniKinds, OtherCommandsWarnOnly) {
  RunResult r = stockade("scan " + kDemo + kHostOnly + " -o json --fail-on none");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("stockade: warning: 1 GlobalNetworkPolicy with"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("these verdicts ignore"), std::string::npos) << r.err;
}

TEST(CniKinds, QuietSilencesTheWarningNotTheExitCode) {
  RunResult r = stockade("reach " + kDemo + kHostOnly + " -o summary -q");
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.err, "");
}

TEST(CniKinds, StagedKubernetesPoliciesAreWarnedAboutOnly) {
  // StagedKubernetesNetworkPolicy is read but not evaluated (explain does not report it):
  // warned about, and as staged policies are never enforced, the exit code stays 0.
  fs::path f =
      fs::temp_directory_path() / ("stockade-staged-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(f) << "apiVersion: projectcalico.org/v3\nkind: StagedKubernetesNetworkPolicy\n"
                      "metadata:\n  name: s\n  namespace: shop\nspec:\n  podSelector: {}\n";
  RunResult r = stockade("reach " + kDemo + " -f '" + f.string() + "' -o summary");
  fs::remove(f);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("1 StagedKubernetesNetworkPolicy (projectcalico.org) object is not "
                       "evaluated"),
            std::string::npos)
      << r.err;
}

TEST(CniKinds, CiliumPoliciesAreEvaluatedAndExplained) {
  const std::string cilium = " -f tests/data/cni/cilium-policy.yaml";
  RunResult r = stockade("explain " + kDemo + cilium +
                         " --from monitoring/prometheus-6d4b9c8f7f-c4j9m --to data/postgres-0 "
                         "--port tcp/5432");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("DENIED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CiliumNetworkPolicy data/postgres-from-checkout"), std::string::npos)
      << r.out;
  r = stockade("explain " + kDemo + cilium +
               " --from shop/checkout-6f8d7c9b54-h4d8s --to data/postgres-0 --port tcp/5432 -o "
               "json");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"allowed\":true"), std::string::npos) << r.out;
}

TEST(CniKinds, CiliumHostPoliciesAreNotEvaluatedAndSaySo) {
  fs::path f =
      fs::temp_directory_path() / ("stockade-ccnp-host-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(f) << "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\n"
                      "metadata:\n  name: host-fw\nspec:\n  nodeSelector: {}\n  ingress:\n"
                      "  - fromEntities: [cluster]\n";
  RunResult r = stockade("reach " + kDemo + " -f '" + f.string() + "' -o summary");
  fs::remove(f);
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("1 CiliumClusterwideNetworkPolicy with nodeSelector (cilium.io) object "
                       "is not evaluated"),
            std::string::npos)
      << r.err;
}

// What `kubectl get cnp -A -o yaml` prints: a typed List, status and managed fields.
TEST(CniKinds, CiliumListAsKubectlPrintsIt) {
  fs::path f =
      fs::temp_directory_path() / ("stockade-cnp-list-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(f) << R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicyList
items:
- metadata:
    name: deny-world
    namespace: data
    managedFields: [{manager: kubectl, operation: Apply}]
  spec:
    endpointSelector: {}
    ingress:
    - fromEntities: [none]
    egressDeny:
    - toEntities: [world]
  status:
    conditions: [{type: Valid, status: "True"}]
)";
  RunResult r = stockade("explain " + kDemo + " -f '" + f.string() +
                         "' --from data/postgres-0 --to 203.0.113.9 --port tcp/443");
  fs::remove(f);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("egress deny rule egressDeny[0] of CiliumNetworkPolicy data/deny-world"),
            std::string::npos)
      << r.out;
}

TEST(CniKinds, MisspeltCiliumFieldIsAnError) {
  fs::path f =
      fs::temp_directory_path() / ("stockade-cnp-bad-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(f) << "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\n"
                      "metadata:\n  name: bad\n  namespace: shop\nspec:\n"
                      "  endpointSelector: {}\n  ingresDeny:\n  - fromEntities: [world]\n";
  RunResult r = stockade("reach " + kDemo + " -f '" + f.string() + "' -o summary");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("stockade: error: " + f.string() + ":", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("CiliumNetworkPolicy shop/bad: spec.unknown field \"ingresDeny\""),
            std::string::npos)
      << r.err;
  fs::remove(f);
}

}  // namespace
