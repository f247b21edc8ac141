// `stockade serve`'s settings checked and turned into a ServeConfig by the library
// (server/serve_settings.h), as any front end (flags, a chart's values) would use them.
#include "server/serve_settings.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/test_files.h"

namespace stockade::server {
namespace {

std::string refusal(const ServeSettings& s, bool live = false) {
  ServeConfig c;
  auto r = apply_settings(s, live, c);
  if (r) return "";
  EXPECT_EQ(r.error().code, ErrorCode::Usage);
  return r.error().str();
}

TEST(ServeSettings, DefaultsListenOnLoopbackWithTheJournalBesideTheStore) {
  ServeConfig c;
  ASSERT_TRUE(apply_settings(ServeSettings{}, false, c));
  EXPECT_EQ(c.http.host, "127.0.0.1");
  EXPECT_EQ(c.http.port, 7080);
  EXPECT_EQ(c.store, "sqlite:stockade.db");
  EXPECT_EQ(c.journal_path, "stockade.db.flows");
  EXPECT_EQ(c.baseline_quiet_ns, int64_t{24} * 3600 * 1'000'000'000);
  EXPECT_EQ(c.http.agent_interval_ms, 10000);
  EXPECT_EQ(c.http.max_body, size_t{32} << 20);
  EXPECT_EQ(c.http.admission.mode, "warn");
  EXPECT_EQ(c.http.admission.locked_key, "stockade.io/locked");
  EXPECT_EQ(c.http.admission.exempt_value, "true");
  EXPECT_TRUE(c.http.token.empty());
  EXPECT_TRUE(c.relay.address.empty());
}

TEST(ServeSettings, ListenAddresses) {
  EXPECT_EQ(*split_listen("[::1]:9000"), (std::pair<std::string, int>{"::1", 9000}));
  EXPECT_EQ(*split_listen(":80"), (std::pair<std::string, int>{"0.0.0.0", 80}));
  EXPECT_EQ(split_listen("host").error().str(), "--listen: expected ADDR:PORT, got \"host\"");
  EXPECT_EQ(split_listen("a:65536").error().str(), "--listen: invalid port in \"a:65536\"");
  EXPECT_EQ(split_listen("a:8x").error().str(), "--listen: invalid port in \"a:8x\"");
}

TEST(ServeSettings, AnOpenAddressNeedsATokenOrACluster) {
  ServeSettings s;
  s.listen = "0.0.0.0:7080";
  EXPECT_NE(refusal(s).find("--listen 0.0.0.0:7080: without --token-file"), std::string::npos);
  EXPECT_EQ(refusal(s, /*live=*/true), "");
  const auto dir = test::fresh_dir("serve-settings", "token");
  s.token_file = (dir / "token").string();
  std::ofstream(s.token_file) << "s3cret \r\n";
  ServeConfig c;
  ASSERT_TRUE(apply_settings(s, false, c));
  EXPECT_EQ(c.http.token, "s3cret");  // the file's line end and spaces are not the token's
  std::ofstream(s.token_file) << "\n";
  EXPECT_EQ(refusal(s), s.token_file + ": empty token");
  s.token_file = (dir / "absent").string();
  EXPECT_NE(refusal(s).find("absent"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(ServeSettings, StoreAndJournal) {
  ServeSettings s;
  s.store = "postgres://db/stockade";
  EXPECT_NE(refusal(s).find("needs --journal PATH"), std::string::npos);
  s.journal = "/var/lib/stockade/flows";
  ServeConfig c;
  ASSERT_TRUE(apply_settings(s, false, c));
  EXPECT_EQ(c.store, "postgres://db/stockade");
  EXPECT_EQ(c.journal_path, "/var/lib/stockade/flows");
  s.store = "sqlite:";
  EXPECT_EQ(refusal(s), "--store: expected sqlite:PATH or postgres://…, got \"sqlite:\"");
  s.store = "mysql://x";
  EXPECT_NE(refusal(s), "");
}

TEST(ServeSettings, DurationsLabelsRelayAndGroups) {
  ServeSettings s;
  s.agent_interval = "500ms";
  EXPECT_NE(refusal(s).find("--agent-interval: expected a duration from 1s to 5m"),
            std::string::npos);
  s = {};
  s.baseline_quiet = "0s";
  EXPECT_NE(refusal(s).find("--baseline-quiet"), std::string::npos);
  s = {};
  s.locked_label = "no-equals-sign";
  EXPECT_NE(refusal(s).find("--locked-label"), std::string::npos);
  s = {};
  s.hubble_ca = "ca.pem";
  EXPECT_EQ(refusal(s), "--hubble-ca, --hubble-cert and --hubble-key go with --hubble-relay");
  s.hubble_relay = "hubble-relay";
  EXPECT_NE(refusal(s).find("--hubble-relay: expected HOST:PORT"), std::string::npos);
  s = {};
  s.external_cidrs = {"10.0.0.0/8", "10.1.0.0/16"};
  s.guard_block_severity = "high";
  ServeConfig c;
  ASSERT_TRUE(apply_settings(s, false, c));
  ASSERT_EQ(c.state.external_groups.size(), 2u);
  EXPECT_EQ(c.state.external_groups[0].prefix, 16);  // the most specific first
  EXPECT_EQ(c.http.admission.block_severity, posture::Severity::High);
  s.external_cidrs = {"10.0.0.0/33"};
  EXPECT_EQ(refusal(s), "--external-cidr: invalid CIDR \"10.0.0.0/33\"");
}

}  // namespace
}  // namespace stockade::server

namespace stockade::server {
namespace {

TEST(ServeSettings, ObjectsFromFilesOrACluster) {
  EXPECT_TRUE(check_object_source({"cluster.yaml"}, false));
  EXPECT_TRUE(check_object_source({}, true));
  EXPECT_EQ(check_object_source({"cluster.yaml"}, true).error().str(),
            "-f and a live cluster (--kubeconfig, --context, --in-cluster) exclude each other");
  EXPECT_NE(check_object_source({}, false).error().str().find("no cluster objects"),
            std::string::npos);
  auto stdin_refused = check_object_source({"a.yaml", "-"}, false);
  ASSERT_FALSE(stdin_refused);
  EXPECT_EQ(stdin_refused.error().code, ErrorCode::Usage);
  EXPECT_NE(stdin_refused.error().str().find("-f -:"), std::string::npos);
}

}  // namespace
}  // namespace stockade::server
