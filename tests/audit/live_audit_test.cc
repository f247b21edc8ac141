// The live audit over a real SQLite store and the demo's objects and Hubble records: denied
// edges are the ones `stockade verify` denies, baselines learn, settle, lock and report exactly
// the edges that are new since they were locked (also after a restart), and an agent's batch
// replayed is not recorded twice.
#include "audit/live_audit.h"

#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include <gtest/gtest.h>

#include "input/loader.h"
#include "support/run_command.h"

namespace stockade::audit {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = STOCKADE_SOURCE_DIR;
constexpr int64_t kT0 = 1'800'000'000LL * store::kSecondNs;

using EdgeId = std::tuple<std::string, std::string, uint16_t>;

std::string gunzip(const fs::path& p) {
  gzFile f = gzopen(p.c_str(), "rb");
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  gzclose(f);
  return out;
}

struct Demo {
  ClusterState state;
  std::unique_ptr<PolicyEngine> engine;
  std::string records;  // the demo's Hubble records, one per line

  Demo() {
    ClusterLoader loader;
    EXPECT_TRUE(loader.add_path((kSource / "demo/cluster").string()));
    EXPECT_TRUE(loader.add_path((kSource / "demo/policies").string()));
    state = std::move(loader).finish();
    engine = PolicyEngine::compile(state, build_endpoints(state));
    records = gunzip(kSource / "demo/flows/hubble.json.gz");
  }
  Observed observe(std::string_view text) const {
    auto o = observe_flows_text(state, *engine, text, ObserveOptions{});
    EXPECT_TRUE(o) << o.error().str();
    return o ? std::move(*o) : Observed{};
  }
  // The records split at a line boundary near the middle.
  std::pair<std::string, std::string> halves() const {
    size_t mid = records.find('\n', records.size() / 2) + 1;
    return {records.substr(0, mid), records.substr(mid)};
  }
};

class LiveAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("stockade-audit-" + std::string(info->name()) + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<store::Store> open_store() {
    store::StoreOptions so;
    so.now = [this] { return clock_.load(); };
    auto s = store::open_store("sqlite:" + (dir_ / "s.db").string(), so);
    EXPECT_TRUE(s) << s.error().str();
    return s ? std::move(*s) : nullptr;
  }
  AuditOptions options() {
    AuditOptions o;
    o.quiet_period_ns = store::kHourNs;
    o.now = [this] { return clock_.load(); };
    return o;
  }
  std::vector<store::AuditEvent> events(store::Store& s, std::string_view kind) {
    store::AuditQuery q;
    q.limit = 10000;
    auto page = s.audit_events(q);
    EXPECT_TRUE(page) << page.error().str();
    std::vector<store::AuditEvent> out;
    for (auto& e : page->events)
      if (e.kind == kind) out.push_back(e);
    return out;
  }

  fs::path dir_;
  std::atomic<int64_t> clock_{kT0};
};

std::set<EdgeId> ids_of(const std::vector<store::AuditEvent>& events) {
  std::set<EdgeId> out;
  for (const auto& e : events) out.emplace(e.src, e.dst, e.port);
  return out;
}

// The event of an apply, from the `stockade apply -o json` answer: the user, the objects (the
// first three in `dst`, every one in the detail); nothing for an answer that names none.
TEST(AppliedEvent, NamesTheUserAndEveryObject) {
  std::string answer = R"({"dryRun":false,"objects":[)";
  for (int i = 0; i < 4; ++i)
    answer += std::string(i ? "," : "") +
              R"({"kind":"NetworkPolicy","namespace":"shop","name":"p)" + std::to_string(i) +
              R"(","action":")" + (i ? "unchanged" : "created") +
              R"(","changes":[],"conflicts":[]})";
  answer += R"(],"pruned":[]})";
  auto e = applied_event("alice", answer, 1700000000000000000);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, "applied");
  EXPECT_EQ(e->at, 1700000000000000000);
  EXPECT_EQ(e->src, "alice");
  EXPECT_EQ(e->dst,
            "NetworkPolicy shop/p0, NetworkPolicy shop/p1, NetworkPolicy shop/p2, … (4 in all)");
  auto d = nlohmann::json::parse(e->detail);
  EXPECT_EQ(d["by"], "alice");
  ASSERT_EQ(d["objects"].size(), 4u);
  EXPECT_EQ(d["objects"][0], nlohmann::json({{"kind", "NetworkPolicy"},
                                             {"namespace", "shop"},
                                             {"name", "p0"},
                                             {"action", "created"}}));
  EXPECT_EQ(d["objects"][3]["action"], "unchanged");
  EXPECT_FALSE(applied_event("alice", R"({"dryRun":false,"objects":[]})", 1));
  EXPECT_FALSE(applied_event("alice", "not json", 1));
}

TEST_F(LiveAuditTest, DeniedEventsAreTheEdgesVerifyDenies) {
  Demo demo;
  auto s = open_store();
  ASSERT_TRUE(s);
  LiveAudit audit(*s, options());
  ASSERT_TRUE(audit.load());
  auto report = audit.record(*demo.engine, demo.observe(demo.records), std::nullopt);
  ASSERT_TRUE(report) << report.error().str();

  // verify aggregates per pod here (its --by, where it has one, says so).
  const bool has_by =
      test::run_command(std::string(STOCKADE_BINARY) + " verify --help").out.find("--by") !=
      std::string::npos;
  auto verify = test::run_command(std::string(STOCKADE_BINARY) + " verify -f " +
                                  (kSource / "demo/cluster").string() + " -f " +
                                  (kSource / "demo/policies").string() + " --flows " +
                                  (kSource / "demo/flows/hubble.json.gz").string() +
                                  (has_by ? " --by pod" : "") + " -o json 2>/dev/null");
  auto j = nlohmann::json::parse(verify.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << verify.out;
  std::set<EdgeId> denied;
  for (const auto& e : j["edges"])
    if (e["verdict"] == "denied")
      denied.emplace(e["src"].get<std::string>(), e["dst"].get<std::string>(),
                     e["port"].get<uint16_t>());
  ASSERT_FALSE(denied.empty());  // the demo has traffic its policies deny
  EXPECT_EQ(ids_of(events(*s, "denied")), denied);
  EXPECT_EQ(report->denied, denied.size());
  EXPECT_EQ(report->allowed, j["summary"]["allowed"].get<uint64_t>());
  // Each denied event names the side and the policies that decided.
  for (const auto& e : events(*s, "denied")) {
    auto d = nlohmann::json::parse(e.detail);
    EXPECT_EQ(d["verdict"], "denied");
    EXPECT_TRUE(!d["egress"]["allowed"].get<bool>() || !d["ingress"]["allowed"].get<bool>());
  }
}

TEST_F(LiveAuditTest, BaselinesLearnSettleLockAndReportOnlyNewEdges) {
  Demo demo;
  auto [first, second] = demo.halves();
  const Observed a = demo.observe(first), b = demo.observe(second);
  // Expected: edges of the second half that the first did not have and that touch a pod of
  // namespace data (the one to be locked).
  std::set<EdgeId> seen_first;
  for (const auto& e : a.edges) seen_first.emplace(e.src.id, e.dst.id, e.port);
  std::set<EdgeId> expected;
  auto in_data = [&](const ObservedPeer& p) {
    return p.kind == ObservedPeer::Kind::Endpoint &&
           demo.engine->endpoints()[p.endpoint].ns == "data";
  };
  for (const auto& e : b.edges)
    if (!seen_first.count({e.src.id, e.dst.id, e.port}) && (in_data(e.src) || in_data(e.dst)))
      expected.emplace(e.src.id, e.dst.id, e.port);
  ASSERT_FALSE(expected.empty()) << "the demo's second half must bring new edges to data";

  auto s = open_store();
  ASSERT_TRUE(s);
  {
    LiveAudit audit(*s, options());
    ASSERT_TRUE(audit.load());
    ASSERT_TRUE(audit.record(*demo.engine, a, std::nullopt));
    auto views = audit.baselines(*demo.engine);
    ASSERT_FALSE(views.empty());
    for (const auto& v : views) EXPECT_EQ(v.baseline.state, store::BaselineState::Learning);
    EXPECT_FALSE(audit.lock("nope", "alice"));  // no such baseline

    clock_ += store::kHourNs - 1;  // not quiet long enough yet
    ASSERT_TRUE(audit.settle());
    EXPECT_EQ(audit.baselines(*demo.engine)[0].baseline.state, store::BaselineState::Learning);
    clock_ += 1;
    auto settled = audit.settle();
    ASSERT_TRUE(settled);
    EXPECT_EQ(settled->size(), views.size());
    auto locked = audit.lock("data", "alice");
    ASSERT_TRUE(locked) << locked.error().str();
    EXPECT_EQ(locked->locked_by, "alice");
    EXPECT_FALSE(audit.lock("data", "alice"));  // already locked

    clock_ += store::kSecondNs;
    auto r = audit.record(*demo.engine, b, std::nullopt);
    ASSERT_TRUE(r) << r.error().str();
    EXPECT_EQ(ids_of(events(*s, "outside-baseline")), expected);
    // A new edge sent the stable baselines it touched back to learning; data stays locked.
    for (const auto& v : audit.baselines(*demo.engine)) {
      if (v.baseline.ns == "data") {
        EXPECT_EQ(v.baseline.state, store::BaselineState::Locked);
      }
    }
  }
  // Restarted on the same store: still locked, and the same edges are still outside it (the
  // store did not hold them when it was locked); edges of the first half are not.
  s.reset();
  s = open_store();
  LiveAudit again(*s, options());
  ASSERT_TRUE(again.load());
  const size_t before = events(*s, "outside-baseline").size();
  clock_ += store::kSecondNs;
  ASSERT_TRUE(again.record(*demo.engine, demo.observe(demo.records), std::nullopt));
  auto all = events(*s, "outside-baseline");
  std::vector<store::AuditEvent> later(all.begin() + static_cast<long>(before), all.end());
  EXPECT_EQ(ids_of(later), expected);
  // Unlocked: learning again, and nothing is outside a baseline any more.
  auto unlocked = again.unlock("data", "bob");
  ASSERT_TRUE(unlocked) << unlocked.error().str();
  EXPECT_EQ(unlocked->state, store::BaselineState::Learning);
  ASSERT_TRUE(again.record(*demo.engine, b, std::nullopt));
  EXPECT_EQ(events(*s, "outside-baseline").size(), all.size());
}

TEST_F(LiveAuditTest, AReplayedAgentBatchIsRecordedOnce) {
  Demo demo;
  auto s = open_store();
  ASSERT_TRUE(s);
  LiveAudit audit(*s, options());
  ASSERT_TRUE(audit.load());
  const Observed all = demo.observe(demo.records);
  store::AgentSequence seq{"node-1", "boot-a", 1};
  auto first = audit.record(*demo.engine, all, seq);
  ASSERT_TRUE(first) << first.error().str();
  EXPECT_TRUE(first->stored);
  const size_t events_after_first = events(*s, "denied").size();
  auto replay = audit.record(*demo.engine, all, seq);
  ASSERT_TRUE(replay) << replay.error().str();
  EXPECT_FALSE(replay->stored);
  EXPECT_EQ(events(*s, "denied").size(), events_after_first);
  EXPECT_EQ(audit.counters().edges, first->edges);
}

// Coverage: a workload never seen talking is counted silent, with its declared ports unused.
TEST_F(LiveAuditTest, CoverageNamesSilentWorkloadsAndUnusedPorts) {
  Demo demo;
  auto s = open_store();
  ASSERT_TRUE(s);
  LiveAudit audit(*s, options());
  ASSERT_TRUE(audit.load());
  ASSERT_TRUE(audit.record(*demo.engine, demo.observe(demo.records), std::nullopt));
  bool found_seen = false;
  for (const auto& v : audit.baselines(*demo.engine)) {
    uint64_t silent = 0;
    for (const auto& w : v.workloads) {
      EXPECT_EQ(w.id.substr(0, v.baseline.ns.size() + 1), v.baseline.ns + "/");
      if (w.edges_in + w.edges_out == 0) {
        ++silent;
        EXPECT_EQ(w.ports_unused, w.ports_declared) << w.id;
        EXPECT_EQ(w.first_seen, 0);
      } else {
        found_seen = true;
        EXPECT_NE(w.last_seen, 0) << w.id;
      }
    }
    EXPECT_EQ(silent, v.silent_workloads) << v.baseline.ns;
  }
  EXPECT_TRUE(found_seen);
}

}  // namespace
}  // namespace stockade::audit
