// The store's behaviour, the same cases against both engines (TEST_P over "sqlite" and
// "postgres"): a SQLite file per case, a database per case on one PostgreSQL server that the
// suite starts (temp_postgres.h).
#include "store/store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "store/sql.h"
#include "store/temp_postgres.h"

namespace stockade::store {
namespace {
namespace fs = std::filesystem;
using testing::TempPostgres;

constexpr int64_t kT0 = 1'800'000'000LL * kSecondNs;  // 2027-01-15, on a minute boundary

TempPostgres* server(std::string* why) {
  static std::unique_ptr<TempPostgres> pg;
  static std::string error;
  static bool tried = false;
  if (!tried) {
    tried = true;
    auto started = TempPostgres::start();
    if (started) {
      pg = std::move(*started);
    } else {
      error = started.error().str();
    }
  }
  *why = error;
  return pg.get();
}

bool postgres_required() {
  const char* v = std::getenv("STOCKADE_REQUIRE_POSTGRES");
  return v && std::string(v) == "1";
}

std::string unique_name() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string n = std::string(info->test_suite_name()) + "_" + info->name();
  std::string out;
  for (char c : n)
    out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
  return out + "_" + std::to_string(getpid());
}

StoredEdge edge(std::string src, std::string dst, uint16_t port, uint64_t count, int64_t first = 0,
                int64_t last = 0, std::vector<std::string> procs = {}) {
  StoredEdge e;
  e.src = std::move(src);
  e.dst = std::move(dst);
  e.protocol = L4Protocol::TCP;
  e.port = port;
  e.stats.count = count;
  e.stats.established = count;
  e.stats.first_seen = first;
  e.stats.last_seen = last;
  e.processes = std::move(procs);
  return e;
}

EdgeBatch agent_batch(std::string node, std::string boot, uint64_t seq,
                      std::vector<StoredEdge> edges) {
  return EdgeBatch{AgentSequence{std::move(node), std::move(boot), seq}, std::move(edges)};
}

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    name_ = unique_name();
    if (GetParam() == "postgres") {
      std::string why;
      if (!TempPostgres::bin_dir()) {
        if (postgres_required()) {
          FAIL() << "STOCKADE_REQUIRE_POSTGRES=1 and no PostgreSQL binaries: install "
                    "postgresql-15 (scripts/install-deps.sh) or set STOCKADE_PG_BINDIR";
        }
        GTEST_SKIP() << "PostgreSQL server binaries not found (Debian's postgresql-15, or "
                        "STOCKADE_PG_BINDIR): PostgreSQL cases skipped";
      }
      TempPostgres* pg = server(&why);
      ASSERT_NE(pg, nullptr) << "could not start PostgreSQL: " << why;
      static int databases = 0;  // one per case; PostgreSQL names are short (63 bytes)
      auto url = pg->create_database("case_" + std::to_string(getpid()) + "_" +
                                     std::to_string(++databases));
      ASSERT_TRUE(url) << url.error().str();
      url_ = *url;
    } else {
      dir_ = fs::temp_directory_path() / ("stockade-store-" + name_);
      fs::remove_all(dir_);
      fs::create_directories(dir_);
      url_ = "sqlite:" + (dir_ / "store.db").string();
    }
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  StoreOptions options() {
    StoreOptions o;
    o.now = [this] { return clock_.load(); };
    return o;
  }
  std::unique_ptr<Store> open(StoreOptions o) {
    auto s = open_store(url_, std::move(o));
    EXPECT_TRUE(s) << s.error().str();
    return s ? std::move(*s) : nullptr;
  }
  std::unique_ptr<Store> open() { return open(options()); }

  // Raw SQL on the test's database, beside the store.
  std::unique_ptr<Connection> raw() {
    auto c = GetParam() == "postgres" ? open_postgres(url_) : open_sqlite(url_.substr(7), 5000);
    EXPECT_TRUE(c) << c.error().str();
    return c ? std::move(*c) : nullptr;
  }

  std::string name_, url_;
  fs::path dir_;
  std::atomic<int64_t> clock_{kT0};
};

TEST_P(StoreTest, MigrationsAppliedOnceAndRecorded) {
  auto s = open();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->schema_version(), latest_schema_version());
  EXPECT_EQ(s->engine(), GetParam());
  s.reset();
  auto again = open();
  ASSERT_TRUE(again);
  auto c = raw();
  auto rows =
      c->query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version", {});
  ASSERT_TRUE(rows) << rows.error().str();
  ASSERT_EQ(rows->size(), static_cast<size_t>(latest_schema_version()));
  EXPECT_EQ(as_int((*rows)[0][0]), 1);
  EXPECT_EQ(as_int((*rows)[0][2]), kT0);
}

TEST_P(StoreTest, NewerSchemaIsRefused) {
  ASSERT_TRUE(open());
  auto c = raw();
  ASSERT_TRUE(
      c->query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, "
               "'future', 0)",
               {}));
  auto s = open_store(url_, options());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().str().find("version 99, newer than this stockade knows"), std::string::npos)
      << s.error().str();
  EXPECT_EQ(s.error().str().find('\n'), std::string::npos);
}

TEST_P(StoreTest, BatchesAddUpInLifetimeEdges) {
  auto s = open();
  ASSERT_TRUE(s);
  // Two rows of one edge in a batch are one edge; unknown (0) times do not win.
  auto w = s->write_batch(EdgeBatch{
      std::nullopt,
      {edge("shop/web", "shop/api", 8080, 3, kT0 - 50 * kSecondNs, kT0 - 40 * kSecondNs, {"nginx"}),
       edge("shop/web", "shop/api", 8080, 2, 0, kT0 - 30 * kSecondNs, {"curl", "nginx"}),
       edge("shop/api", "world/203.0.113.9", 443, 1, kT0, kT0)}});
  ASSERT_TRUE(w) << w.error().str();
  EXPECT_TRUE(w->stored);
  EXPECT_EQ(w->edges, 2u);
  auto w2 = s->write_batch(EdgeBatch{std::nullopt,
                                     {edge("shop/web", "shop/api", 8080, 5, kT0 - 90 * kSecondNs,
                                           kT0 - 60 * kSecondNs, {"envoy"})}});
  ASSERT_TRUE(w2) << w2.error().str();

  auto edges = s->lifetime_edges();
  ASSERT_TRUE(edges) << edges.error().str();
  ASSERT_EQ(edges->size(), 2u);
  const StoredEdge& a = (*edges)[0];  // sorted: shop/api < shop/web
  EXPECT_EQ(a.src, "shop/api");
  EXPECT_EQ(a.dst, "world/203.0.113.9");
  EXPECT_EQ(a.port, 443);
  const StoredEdge& b = (*edges)[1];
  EXPECT_EQ(b.src, "shop/web");
  EXPECT_EQ(b.protocol, L4Protocol::TCP);
  EXPECT_EQ(b.stats.count, 10u);
  EXPECT_EQ(b.stats.established, 10u);
  EXPECT_EQ(b.stats.first_seen, kT0 - 90 * kSecondNs);
  EXPECT_EQ(b.stats.last_seen, kT0 - 30 * kSecondNs);
  EXPECT_EQ(b.processes, (std::vector<std::string>{"curl", "envoy", "nginx"}));

  // Reopened, the same.
  s.reset();
  auto again = open();
  auto edges2 = again->lifetime_edges();
  ASSERT_TRUE(edges2);
  EXPECT_EQ(*edges2, *edges);
}

// Each edge keeps when the store first held it (what a locked baseline had seen), whatever
// later batches add to it.
TEST_P(StoreTest, EdgesKeepWhenTheyWereFirstStored) {
  auto s = open();
  ASSERT_TRUE(s);
  clock_ = kT0;
  ASSERT_TRUE(s->write_batch(EdgeBatch{std::nullopt, {edge("a/x", "b/y", 80, 1)}}));
  clock_ = kT0 + kMinuteNs;
  ASSERT_TRUE(s->write_batch(
      EdgeBatch{std::nullopt, {edge("a/x", "b/y", 80, 2), edge("a/x", "b/y", 81, 1)}}));
  auto edges = s->lifetime_edges();
  ASSERT_TRUE(edges) << edges.error().str();
  ASSERT_EQ(edges->size(), 2u);
  EXPECT_EQ((*edges)[0].port, 80);
  EXPECT_EQ((*edges)[0].stats.count, 3u);
  EXPECT_EQ((*edges)[0].stored_at, kT0);
  EXPECT_EQ((*edges)[1].stored_at, kT0 + kMinuteNs);
}

// What PostgreSQL's array literals quote, and words that mean something there, are plain text.
TEST_P(StoreTest, TextWithQuotesBracesAndUnicodeRoundTrips) {
  auto s = open();
  ASSERT_TRUE(s);
  std::vector<std::string> odd = {
      "ns/\"quoted\"", "ns/back\\slash",          "ns/{braces},comma", "NULL",
      "ns/ spaced ",   "ns/\u00e9t\u00e9-\u6f22", "world/2001:db8::1"};
  std::vector<StoredEdge> edges;
  for (size_t i = 0; i < odd.size(); ++i) {
    edges.push_back(edge(odd[i], odd[(i + 1) % odd.size()], 80, 1, 0, 0, {odd[i], "p,{q}"}));
  }
  ASSERT_TRUE(s->write_batch(EdgeBatch{std::nullopt, edges}));
  ASSERT_TRUE(s->append_audit({AuditEvent{0, kT0, "denied", odd[0], odd[2], L4Protocol::TCP, 1,
                                          odd[1], "{\"rule\":\"a,b\"}"}}));
  auto got = s->lifetime_edges();
  ASSERT_TRUE(got) << got.error().str();
  std::sort(edges.begin(), edges.end(), [](const StoredEdge& a, const StoredEdge& b) {
    return std::tie(a.src, a.dst) < std::tie(b.src, b.dst);
  });
  for (auto& e : edges) std::sort(e.processes.begin(), e.processes.end());
  EXPECT_EQ(*got, edges);
  auto page = s->audit_events(AuditQuery{});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_EQ(page->events[0].src, odd[0]);
  EXPECT_EQ(page->events[0].process, odd[1]);
  EXPECT_EQ(page->events[0].detail, "{\"rule\":\"a,b\"}");
}

TEST_P(StoreTest, ReplayedBatchIsAcknowledgedNotStoredTwice) {
  auto s = open();
  ASSERT_TRUE(s);
  auto batch = agent_batch("node-1", "boot-a", 1, {edge("a/x", "a/y", 80, 4)});
  auto w = s->write_batch(batch);
  ASSERT_TRUE(w) << w.error().str();
  EXPECT_TRUE(w->stored);
  EXPECT_EQ(w->last_sequence, 1u);
  auto replay = s->write_batch(batch);
  ASSERT_TRUE(replay) << replay.error().str();
  EXPECT_FALSE(replay->stored);
  EXPECT_EQ(replay->last_sequence, 1u);
  ASSERT_TRUE(s->write_batch(agent_batch("node-1", "boot-a", 2, {edge("a/x", "a/y", 80, 1)})));
  auto old = s->write_batch(agent_batch("node-1", "boot-a", 1, {edge("a/x", "a/y", 80, 4)}));
  ASSERT_TRUE(old);
  EXPECT_FALSE(old->stored);
  EXPECT_EQ(old->last_sequence, 2u);
  // Another boot of the node numbers from the start again.
  auto reboot = s->write_batch(agent_batch("node-1", "boot-b", 1, {edge("a/x", "a/y", 80, 10)}));
  ASSERT_TRUE(reboot);
  EXPECT_TRUE(reboot->stored);

  auto edges = s->lifetime_edges();
  ASSERT_TRUE(edges);
  ASSERT_EQ(edges->size(), 1u);
  EXPECT_EQ((*edges)[0].stats.count, 15u);
  auto seq = s->last_sequence("node-1", "boot-a");
  ASSERT_TRUE(seq);
  EXPECT_EQ(*seq, std::optional<uint64_t>(2));
  auto none = s->last_sequence("node-2", "boot-a");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  // Also across a reopen (the store, not the process, remembers).
  s.reset();
  auto again = open();
  auto r = again->write_batch(agent_batch("node-1", "boot-a", 2, {edge("a/x", "a/y", 80, 1)}));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->stored);
}

TEST_P(StoreTest, TimeRangesReadTheRightBuckets) {
  auto s = open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_batch(
      EdgeBatch{std::nullopt,
                {edge("n/recent", "n/db", 5432, 1, kT0 - 10 * kMinuteNs, kT0 - 10 * kMinuteNs),
                 edge("n/hours", "n/db", 5432, 2, kT0 - 5 * kHourNs, kT0 - 5 * kHourNs),
                 edge("n/days", "n/db", 5432, 4, kT0 - 3 * kDayNs, kT0 - 3 * kDayNs),
                 edge("n/now", "n/db", 5432, 8)}}));  // no time: now

  auto last_half_hour = s->edges_between(kT0 - 30 * kMinuteNs, kT0 + kMinuteNs);
  ASSERT_TRUE(last_half_hour) << last_half_hour.error().str();
  EXPECT_EQ(last_half_hour->resolution, Resolution::Minute);
  ASSERT_EQ(last_half_hour->edges.size(), 2u);
  EXPECT_EQ(last_half_hour->edges[0].src, "n/now");
  EXPECT_EQ(last_half_hour->edges[1].src, "n/recent");

  // Minute buckets: the bucket of T0-10min is inside [T0-10min, T0-9min), not in [.., T0-10min).
  auto before = s->edges_between(kT0 - 20 * kMinuteNs, kT0 - 10 * kMinuteNs);
  ASSERT_TRUE(before);
  EXPECT_TRUE(before->edges.empty());

  auto four_days = s->edges_between(kT0 - 4 * kDayNs, kT0 + kHourNs);
  ASSERT_TRUE(four_days);
  EXPECT_EQ(four_days->resolution, Resolution::Hour);
  EXPECT_EQ(four_days->since % kHourNs, 0);
  ASSERT_EQ(four_days->edges.size(), 4u);
  uint64_t total = 0;
  for (const auto& e : four_days->edges) total += e.stats.count;
  EXPECT_EQ(total, 15u);

  auto bad = s->edges_between(kT0, kT0);
  EXPECT_FALSE(bad);
}

// The traffic as observed (EdgeBatch::observed, ::records) beside the pod-level edges: its
// own lifetime totals and buckets, the records' counts, a data version that every write of two
// stores on one database moves on by one, and retention with the other buckets.
TEST_P(StoreTest, ObservationsKeepTheirOwnTotalsBucketsAndVersion) {
  auto s = open();
  ASSERT_TRUE(s);
  auto v0 = s->data_version();
  ASSERT_TRUE(v0) << v0.error().str();
  // Sides as observed: any text (the server's peer keys hold tabs and JSON).
  const std::string a = "p1\t10.0.0.1\t\tshop\tweb-1\t\t\t\t\t[\"k8s:app=web\"]";
  const std::string b = "p1\t10.0.0.2\t\t\t\t\t\t\t\t";
  EdgeBatch first;
  first.edges = {
      edge("shop/web-1", "world/10.0.0.2", 443, 3, kT0 - 90 * kMinuteNs, kT0 - 90 * kMinuteNs)};
  first.observed = {edge(a, b, 443, 3, kT0 - 90 * kMinuteNs, kT0 - 90 * kMinuteNs)};
  first.records = {RecordTally{kT0 - 90 * kMinuteNs, 5, 0, 1}, RecordTally{0, 0, 2, 0}};
  auto w1 = s->write_batch(first);
  ASSERT_TRUE(w1) << w1.error().str();
  EXPECT_EQ(w1->data_version, *v0 + 1);
  EdgeBatch second;
  second.observed = {edge(a, b, 443, 4, kT0 - 2 * kMinuteNs, kT0 - 2 * kMinuteNs),
                     edge(b, a, 53, 1, kT0 - 2 * kMinuteNs, kT0 - 2 * kMinuteNs)};
  second.records = {RecordTally{kT0 - 2 * kMinuteNs, 6, 0, 0}};
  auto w2 = s->write_batch(second);
  ASSERT_TRUE(w2);
  EXPECT_EQ(w2->data_version, *v0 + 2);

  auto all = s->observations(0, 0);
  ASSERT_TRUE(all) << all.error().str();
  EXPECT_EQ(all->source, Observations::Source::Lifetime);
  EXPECT_EQ(all->data_version, *v0 + 2);
  ASSERT_EQ(all->edges.size(), 2u);
  EXPECT_EQ(all->edges[0].src, a);  // sorted by (src, dst, protocol, port)
  EXPECT_EQ(all->edges[0].dst, b);
  EXPECT_EQ(all->edges[0].stats.count, 7u);
  EXPECT_EQ(all->edges[0].stats.first_seen, kT0 - 90 * kMinuteNs);
  EXPECT_EQ(all->edges[0].stats.last_seen, kT0 - 2 * kMinuteNs);
  EXPECT_EQ(all->edges[1].src, b);
  EXPECT_EQ(all->records, 11u);
  EXPECT_EQ(all->malformed, 2u);
  EXPECT_EQ(all->unresolved, 1u);
  // The pod-level edges are their own: one, unchanged by the observations.
  auto pods = s->lifetime_edges();
  ASSERT_TRUE(pods);
  ASSERT_EQ(pods->size(), 1u);
  EXPECT_EQ((*pods)[0].src, "shop/web-1");

  // The last ten minutes: minute buckets, the second write only.
  auto recent = s->observations(kT0 - 10 * kMinuteNs, 0);
  ASSERT_TRUE(recent) << recent.error().str();
  EXPECT_EQ(recent->source, Observations::Source::Minutes);
  ASSERT_EQ(recent->edges.size(), 2u);
  EXPECT_EQ(recent->edges[0].stats.count, 4u);
  EXPECT_EQ(recent->records, 6u);
  EXPECT_EQ(recent->malformed, 2u);  // the lines without a time: counted at the store's now
  auto now = s->observations(kT0, kT0 + kMinuteNs);
  ASSERT_TRUE(now);
  EXPECT_TRUE(now->edges.empty());
  EXPECT_EQ(now->malformed, 2u);

  // Another store on the same database writes: the version moves on for both.
  auto other = open();
  ASSERT_TRUE(other);
  EdgeBatch third;
  third.observed = {edge(b, a, 53, 2, kT0, kT0)};
  auto w3 = other->write_batch(third);
  ASSERT_TRUE(w3);
  EXPECT_EQ(w3->data_version, *v0 + 3);
  auto v3 = s->data_version();
  ASSERT_TRUE(v3);
  EXPECT_EQ(*v3, *v0 + 3);

  // Three days on: the minute buckets are gone, the hours answer; 91 days on, a range that
  // old is answered from the lifetime rows seen in it.
  clock_ = kT0 + 3 * kDayNs;
  ASSERT_TRUE(s->apply_retention());
  auto hours = s->observations(kT0 - 2 * kHourNs, kT0 + kHourNs);
  ASSERT_TRUE(hours);
  EXPECT_EQ(hours->source, Observations::Source::Hours);
  ASSERT_EQ(hours->edges.size(), 2u);
  EXPECT_EQ(hours->edges[0].stats.count, 7u);
  EXPECT_EQ(hours->records, 11u);
  clock_ = kT0 + 91 * kDayNs;
  ASSERT_TRUE(s->apply_retention());
  auto old = s->observations(kT0 - kHourNs, kT0 - 30 * kMinuteNs);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->source, Observations::Source::LifetimeOverlap);
  ASSERT_EQ(old->edges.size(), 1u);  // a -> b was seen then; b -> a only later
  EXPECT_EQ(old->edges[0].src, a);
  EXPECT_EQ(old->edges[0].stats.count, 7u);
  auto lifetime = s->observations(0, 0);
  ASSERT_TRUE(lifetime);
  EXPECT_EQ(lifetime->edges.size(), 2u);  // lifetime totals are never expired
  EXPECT_EQ(lifetime->records, 11u);
  EXPECT_FALSE(s->observations(kT0, kT0));
}

TEST_P(StoreTest, RetentionDeletesExpiredBucketsByTheClock) {
  StoreOptions o = options();
  auto s = open(o);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_batch(EdgeBatch{std::nullopt, {edge("a/x", "a/y", 80, 3, kT0, kT0)}}));
  ASSERT_TRUE(s->append_audit(
      {AuditEvent{0, kT0, "denied", "a/x", "a/y", L4Protocol::TCP, 80, "curl", "{}"}}));

  clock_ = kT0 + 47 * kHourNs;
  auto r1 = s->apply_retention();
  ASSERT_TRUE(r1) << r1.error().str();
  EXPECT_TRUE(r1->ran);
  EXPECT_EQ(r1->minute_buckets, 0u);

  clock_ = kT0 + 49 * kHourNs;
  auto r2 = s->apply_retention();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->minute_buckets, 1u);
  EXPECT_EQ(r2->hour_buckets, 0u);
  auto hours = s->edges_between(kT0 - kHourNs, kT0 + kHourNs);
  ASSERT_TRUE(hours);
  EXPECT_EQ(hours->resolution, Resolution::Hour);
  ASSERT_EQ(hours->edges.size(), 1u);
  EXPECT_EQ(hours->edges[0].stats.count, 3u);

  clock_ = kT0 + 91 * kDayNs;
  auto r3 = s->apply_retention();
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->hour_buckets, 1u);
  EXPECT_EQ(r3->audit_events, 1u);
  auto gone = s->edges_between(kT0 - kHourNs, kT0 + kHourNs);
  ASSERT_TRUE(gone);
  EXPECT_TRUE(gone->edges.empty());
  auto lifetime = s->lifetime_edges();  // lifetime totals are never expired
  ASSERT_TRUE(lifetime);
  ASSERT_EQ(lifetime->size(), 1u);
  EXPECT_EQ((*lifetime)[0].stats.count, 3u);
}

TEST_P(StoreTest, RetentionPeriodsAreConfigurable) {
  StoreOptions o = options();
  o.minute_retention = 2 * kHourNs;
  o.hour_retention = 1 * kDayNs;
  auto s = open(o);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_batch(EdgeBatch{std::nullopt, {edge("a/x", "a/y", 80, 3, kT0, kT0)}}));
  clock_ = kT0 + 3 * kHourNs;
  auto r = s->apply_retention();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->minute_buckets, 1u);
  EXPECT_EQ(r->hour_buckets, 0u);
  clock_ = kT0 + 26 * kHourNs;
  r = s->apply_retention();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->hour_buckets, 1u);
}

TEST_P(StoreTest, BaselinesMoveThroughTheirStates) {
  auto s = open();
  ASSERT_TRUE(s);
  auto b = s->start_baseline("shop", "web");
  ASSERT_TRUE(b) << b.error().str();
  EXPECT_EQ(b->state, BaselineState::Learning);
  EXPECT_EQ(b->since, kT0);
  clock_ = kT0 + kHourNs;
  auto same = s->start_baseline("shop", "web");  // no reset of one that exists
  ASSERT_TRUE(same);
  EXPECT_EQ(same->since, kT0);
  ASSERT_TRUE(s->start_baseline("shop", ""));
  ASSERT_TRUE(s->start_baseline("data", "postgres"));

  auto stable = s->transition_baseline("shop", "web", BaselineState::Stable, "");
  ASSERT_TRUE(stable) << stable.error().str();
  EXPECT_EQ(stable->state, BaselineState::Stable);
  EXPECT_EQ(stable->since, kT0 + kHourNs);
  auto nobody = s->transition_baseline("shop", "web", BaselineState::Locked, "");
  ASSERT_FALSE(nobody);
  EXPECT_NE(nobody.error().str().find("needs who locks it"), std::string::npos);
  auto locked = s->transition_baseline("shop", "web", BaselineState::Locked, "alice");
  ASSERT_TRUE(locked);
  EXPECT_EQ(locked->locked_by, "alice");
  auto to_stable = s->transition_baseline("shop", "web", BaselineState::Stable, "");
  ASSERT_FALSE(to_stable);
  EXPECT_NE(to_stable.error().str().find("cannot go from locked to stable"), std::string::npos);
  EXPECT_FALSE(s->transition_baseline("shop", "web", BaselineState::Learning, ""));
  auto unlocked = s->transition_baseline("shop", "web", BaselineState::Learning, "bob");
  ASSERT_TRUE(unlocked);
  EXPECT_EQ(unlocked->locked_by, "");
  EXPECT_FALSE(s->transition_baseline("nope", "", BaselineState::Stable, ""));

  auto got = s->baseline("shop", "web");
  ASSERT_TRUE(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, *unlocked);
  auto all = s->baselines();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].ns, "data");
  EXPECT_EQ((*all)[1].workload, "");
  EXPECT_EQ((*all)[2].workload, "web");
  auto del = s->delete_baseline("shop", "web");
  ASSERT_TRUE(del);
  EXPECT_TRUE(*del);
  del = s->delete_baseline("shop", "web");
  ASSERT_TRUE(del);
  EXPECT_FALSE(*del);
  auto missing = s->baseline("shop", "web");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
}

TEST_P(StoreTest, DecisionsAreKeptInOrder) {
  auto s = open();
  ASSERT_TRUE(s);
  Decision d{0,       "shop/web", "data/db",          L4Protocol::TCP, 5432, DecisionVerdict::Deny,
             "alice", kT0 + 5,    "not in the design"};
  auto id1 = s->add_decision(d);
  ASSERT_TRUE(id1) << id1.error().str();
  Decision d2 = d;
  d2.verdict = DecisionVerdict::Allow;
  d2.at = 0;  // now
  d2.reason = "migration job";
  auto id2 = s->add_decision(d2);
  ASSERT_TRUE(id2);
  EXPECT_NE(*id1, *id2);
  auto all = s->decisions();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  d2.id = *id2;
  d2.at = kT0;
  d.id = *id1;
  EXPECT_EQ((*all)[0], d2);  // at kT0, before kT0 + 5
  EXPECT_EQ((*all)[1], d);
  EXPECT_FALSE(s->add_decision(Decision{}));
}

TEST_P(StoreTest, AuditEventsPageByTime) {
  auto s = open();
  ASSERT_TRUE(s);
  std::vector<AuditEvent> events;
  for (int i = 0; i < 25; ++i) {
    // Pairs of events share a time: the id orders them.
    events.push_back(AuditEvent{0, kT0 + (i / 2) * kSecondNs, i % 3 ? "denied" : "outside-baseline",
                                "a/x", "b/y", L4Protocol::UDP, static_cast<uint16_t>(53 + i), "dig",
                                "{\"rule\":" + std::to_string(i) + "}"});
  }
  ASSERT_TRUE(s->append_audit(events));
  std::vector<AuditEvent> seen;
  AuditQuery q;
  q.limit = 10;
  std::vector<size_t> sizes;
  for (;;) {
    auto page = s->audit_events(q);
    ASSERT_TRUE(page) << page.error().str();
    sizes.push_back(page->events.size());
    for (auto& e : page->events) seen.push_back(e);
    if (!page->more) break;
    q.after_at = page->events.back().at;
    q.after_id = page->events.back().id;
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 10, 5}));
  ASSERT_EQ(seen.size(), 25u);
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].port, 53 + i);
    EXPECT_EQ(seen[i].detail, events[i].detail);
    EXPECT_EQ(seen[i].protocol, L4Protocol::UDP);
  }
  AuditQuery window;
  window.since = kT0 + 2 * kSecondNs;
  window.until = kT0 + 4 * kSecondNs;
  auto w = s->audit_events(window);
  ASSERT_TRUE(w);
  ASSERT_EQ(w->events.size(), 4u);
  EXPECT_EQ(w->events.front().port, 57);
  EXPECT_FALSE(w->more);
  window.limit = 0;
  EXPECT_FALSE(s->audit_events(window));
}

// A batch that fails half-way (here: a trigger refuses its hour buckets, written after its
// endpoints, lifetime rows and minute buckets) leaves nothing of itself, and its sequence is
// not taken; the endpoint ids its rolled-back transaction handed out are not reused.
// Group commit: several batches in one transaction answer as write_batch would have one after
// the other (a replay inside the group, a later batch of the same run after an earlier one, a
// batch stored before), and a group failing half-way leaves nothing of any of its batches.
TEST_P(StoreTest, AGroupOfBatchesAnswersEachAndFailsWhole) {
  auto s = open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_batch(agent_batch("n1", "b", 1, {edge("a/x", "a/y", 80, 1)})));
  auto group = s->write_batches({
      agent_batch("n1", "b", 1, {edge("a/x", "a/y", 80, 100)}),  // stored before
      agent_batch("n1", "b", 2, {edge("a/x", "a/y", 80, 2), edge("a/x", "a/z", 81, 3)}),
      agent_batch("n1", "b", 3, {edge("a/x", "a/y", 80, 4)}),
      agent_batch("n1", "b", 3, {edge("a/x", "a/y", 80, 1000)}),  // the one before it again
      agent_batch("n2", "b", 7, {edge("a/q", "a/y", 80, 5)}),
  });
  ASSERT_TRUE(group) << group.error().str();
  ASSERT_EQ(group->size(), 5u);
  const bool stored[] = {false, true, true, false, true};
  const uint64_t last[] = {1, 2, 3, 3, 7};
  const uint64_t distinct[] = {0, 2, 1, 0, 1};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ((*group)[i].stored, stored[i]) << i;
    EXPECT_EQ((*group)[i].last_sequence, last[i]) << i;
    EXPECT_EQ((*group)[i].edges, distinct[i]) << i;
  }
  auto edges = s->lifetime_edges();
  ASSERT_TRUE(edges);
  ASSERT_EQ(edges->size(), 3u);  // a/q->a/y, a/x->a/y, a/x->a/z
  EXPECT_EQ((*edges)[0].stats.count, 5u);
  EXPECT_EQ((*edges)[1].stats.count, 7u);
  EXPECT_EQ((*edges)[2].stats.count, 3u);
  EXPECT_EQ(*s->last_sequence("n1", "b"), std::optional<uint64_t>(3));
  EXPECT_EQ(*s->last_sequence("n2", "b"), std::optional<uint64_t>(7));

  auto c = raw();
  if (GetParam() == "postgres") {
    ASSERT_TRUE(c->exec_script(
        "CREATE FUNCTION refuse_666() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.count "
        "= 666 THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$; CREATE "
        "TRIGGER refuse_666 BEFORE INSERT ON edge_hours FOR EACH ROW EXECUTE FUNCTION "
        "refuse_666();"));
  } else {
    ASSERT_TRUE(
        c->exec_script("CREATE TRIGGER refuse_666 BEFORE INSERT ON edge_hours WHEN "
                       "NEW.count = 666 BEGIN SELECT RAISE(ABORT, 'injected failure'); "
                       "END;"));
  }
  auto failed = s->write_batches({agent_batch("n1", "b", 4, {edge("a/x", "a/y", 80, 1)}),
                                  agent_batch("n3", "b", 1, {edge("a/new", "a/w", 80, 666)})});
  ASSERT_FALSE(failed);
  EXPECT_EQ(*s->last_sequence("n1", "b"), std::optional<uint64_t>(3));
  EXPECT_FALSE(s->last_sequence("n3", "b")->has_value());
  edges = s->lifetime_edges();
  ASSERT_TRUE(edges);
  ASSERT_EQ(edges->size(), 3u);
  EXPECT_EQ((*edges)[1].stats.count, 7u);
}

TEST_P(StoreTest, ABatchFailingHalfWayLeavesNothing) {
  auto s = open();
  ASSERT_TRUE(s);
  auto c = raw();
  if (GetParam() == "postgres") {
    ASSERT_TRUE(c->exec_script(
        "CREATE FUNCTION refuse_666() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.count "
        "= 666 THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$; CREATE "
        "TRIGGER refuse_666 BEFORE INSERT ON edge_hours FOR EACH ROW EXECUTE FUNCTION "
        "refuse_666();"));
  } else {
    ASSERT_TRUE(
        c->exec_script("CREATE TRIGGER refuse_666 BEFORE INSERT ON edge_hours WHEN "
                       "NEW.count = 666 BEGIN SELECT RAISE(ABORT, 'injected failure'); "
                       "END;"));
  }
  ASSERT_TRUE(s->write_batch(agent_batch("n", "b", 1, {edge("a/x", "a/y", 80, 1, kT0, kT0)})));
  auto failed = s->write_batch(agent_batch(
      "n", "b", 2, {edge("a/x", "a/y", 80, 5, kT0, kT0), edge("a/new", "a/y", 80, 666, kT0, kT0)}));
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().str().find("injected failure"), std::string::npos)
      << failed.error().str();
  EXPECT_EQ(failed.error().str().find('\n'), std::string::npos);
  auto seq = s->last_sequence("n", "b");
  ASSERT_TRUE(seq);
  EXPECT_EQ(*seq, std::optional<uint64_t>(1));
  auto edges = s->lifetime_edges();
  ASSERT_TRUE(edges);
  ASSERT_EQ(edges->size(), 1u);
  EXPECT_EQ((*edges)[0].stats.count, 1u);
  auto minutes = s->edges_between(kT0 - kMinuteNs, kT0 + kMinuteNs);
  ASSERT_TRUE(minutes);
  ASSERT_EQ(minutes->edges.size(), 1u);
  EXPECT_EQ(minutes->edges[0].stats.count, 1u);
  // The same sequence again, without the refused edge, but with its new endpoint.
  auto again = s->write_batch(agent_batch(
      "n", "b", 2, {edge("a/x", "a/y", 80, 5, kT0, kT0), edge("a/new", "a/y", 80, 7, kT0, kT0)}));
  ASSERT_TRUE(again) << again.error().str();
  EXPECT_TRUE(again->stored);
  edges = s->lifetime_edges();
  ASSERT_TRUE(edges);
  ASSERT_EQ(edges->size(), 2u);
  EXPECT_EQ((*edges)[0].src, "a/new");
  EXPECT_EQ((*edges)[0].stats.count, 7u);
  EXPECT_EQ((*edges)[1].stats.count, 6u);
}

// Reads run on their own connection: one made while a write transaction is open (held open
// here by a clock that blocks inside it) completes. Without that it would wait for the write;
// the 60 s bound only keeps a regression from hanging the suite.
TEST_P(StoreTest, ReadsDoNotWaitForAWriteInProgress) {
  std::mutex m;
  std::condition_variable cv;
  bool block = false, entered = false, release = false;
  StoreOptions o;
  o.now = [&] {
    std::unique_lock l(m);
    if (block) {
      block = false;
      entered = true;
      cv.notify_all();
      cv.wait(l, [&] { return release; });
    }
    return kT0;
  };
  auto s = open(o);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_batch(EdgeBatch{std::nullopt, {edge("a/x", "a/y", 80, 1, kT0, kT0)}}));
  {
    std::lock_guard l(m);
    block = true;
  }
  std::thread writer([&] { EXPECT_TRUE(s->start_baseline("held", "")); });
  {
    std::unique_lock l(m);
    cv.wait(l, [&] { return entered; });
  }
  auto reading = std::async(std::launch::async, [&] { return s->lifetime_edges(); });
  bool done = reading.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  {
    std::lock_guard l(m);
    release = true;
  }
  cv.notify_all();
  writer.join();
  ASSERT_TRUE(done) << "a read waited for the write in progress";
  auto edges = reading.get();
  ASSERT_TRUE(edges) << edges.error().str();
  EXPECT_EQ(edges->size(), 1u);
  auto b = s->baseline("held", "");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->has_value());
}

TEST_P(StoreTest, BadInputIsRefusedAndNothingIsWritten) {
  auto s = open();
  ASSERT_TRUE(s);
  auto bad_text = s->write_batch(EdgeBatch{
      std::nullopt, {edge("a/x", "a/y", 80, 1), edge(std::string("a/\xff\xfe", 4), "a/y", 80, 1)}});
  EXPECT_FALSE(bad_text);
  auto nul = s->write_batch(EdgeBatch{std::nullopt, {edge(std::string("a\0b", 3), "a/y", 80, 1)}});
  EXPECT_FALSE(nul);
  auto big = s->write_batch(agent_batch("n", "b", uint64_t{1} << 63, {edge("a/x", "a/y", 80, 1)}));
  EXPECT_FALSE(big);
  auto no_node = s->write_batch(agent_batch("", "b", 1, {edge("a/x", "a/y", 80, 1)}));
  EXPECT_FALSE(no_node);
  auto edges = s->lifetime_edges();
  ASSERT_TRUE(edges);
  EXPECT_TRUE(edges->empty());
  auto seq = s->last_sequence("n", "b");
  ASSERT_TRUE(seq);
  EXPECT_FALSE(seq->has_value());
}

TEST_P(StoreTest, SizeIsReported) {
  auto s = open();
  ASSERT_TRUE(s);
  auto before = s->size_bytes();
  ASSERT_TRUE(before) << before.error().str();
  EXPECT_GT(*before, 0u);
  std::vector<StoredEdge> many;
  for (int i = 0; i < 5000; ++i) {
    many.push_back(
        edge("ns/src-" + std::to_string(i), "ns/dst-" + std::to_string(i % 7), 443, 1, kT0, kT0));
  }
  ASSERT_TRUE(s->write_batch(EdgeBatch{std::nullopt, many}));
  auto after = s->size_bytes();
  ASSERT_TRUE(after);
  EXPECT_GT(*after, *before);
}

// The batch a writer numbered `seq` holds: 20 fixed edges counting seq each, and one edge of
// its own, so what is stored says exactly which batches are.
EdgeBatch numbered_batch(const std::string& node, uint64_t seq) {
  std::vector<StoredEdge> edges;
  for (int i = 0; i < 20; ++i) {
    edges.push_back(edge("w/client-" + std::to_string(i), "w/server", 8443, seq, kT0, kT0));
  }
  edges.push_back(edge("w/" + node + "-" + std::to_string(seq), "w/server", 9000, 1, kT0, kT0));
  return agent_batch(node, "boot", seq, std::move(edges));
}

void expect_exactly_batches(Store& s, const std::map<std::string, uint64_t>& last_by_node) {
  auto edges = s.lifetime_edges();
  ASSERT_TRUE(edges) << edges.error().str();
  uint64_t expected_fixed = 0, expected_own = 0;
  for (const auto& [node, last] : last_by_node) {
    expected_fixed += last * (last + 1) / 2;
    expected_own += last;
  }
  uint64_t own = 0;
  for (const auto& e : *edges) {
    if (e.port == 8443) {
      EXPECT_EQ(e.stats.count, expected_fixed) << e.src;
    } else {
      ++own;
    }
  }
  EXPECT_EQ(own, expected_own);
}

// A child process writes numbered batches and reports each one once write_batch returned (as
// the server answers); it is killed with SIGKILL by itself right after its `self_kill_at`-th
// write returned, or by the test after `test_kill_after` acknowledgements (then most likely in
// the middle of a write). Reopened, the store holds every acknowledged batch, whole.
void kill_writer_and_check(const std::string& url, uint64_t self_kill_at,
                           uint64_t test_kill_after) {
  int acks[2];
  ASSERT_EQ(pipe(acks), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(acks[0]);
    auto s = open_store(url, StoreOptions{});
    if (!s) _exit(3);
    for (uint64_t seq = 1;; ++seq) {
      auto w = (*s)->write_batch(numbered_batch("node-k", seq));
      if (!w || !w->stored) _exit(4);
      if (write(acks[1], &seq, sizeof seq) != sizeof seq) _exit(5);
      if (seq == self_kill_at) kill(getpid(), SIGKILL);
    }
  }
  close(acks[1]);
  uint64_t last_ack = 0, seq = 0;
  bool killed = false;
  while (read(acks[0], &seq, sizeof seq) == sizeof seq) {
    last_ack = seq;
    if (!killed && test_kill_after && seq >= test_kill_after) {
      kill(pid, SIGKILL);
      killed = true;
    }
  }
  close(acks[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "writer status " << status;
  if (self_kill_at) {
    ASSERT_EQ(last_ack, self_kill_at);
  }

  auto s = open_store(url, StoreOptions{});
  ASSERT_TRUE(s) << s.error().str();
  auto stored = (*s)->last_sequence("node-k", "boot");
  ASSERT_TRUE(stored);
  ASSERT_TRUE(stored->has_value());
  // Every acknowledged batch; beyond them at most the one committed but not yet acknowledged
  // when the kill came, and no part of any other.
  EXPECT_GE(**stored, last_ack);
  EXPECT_LE(**stored, last_ack + 1);
  expect_exactly_batches(**s, {{"node-k", **stored}});
  auto replay = (*s)->write_batch(numbered_batch("node-k", last_ack));
  ASSERT_TRUE(replay);
  EXPECT_FALSE(replay->stored);
}

TEST_P(StoreTest, KillNineRightAfterAWriteReturnedLosesNothing) {
  ASSERT_TRUE(open());
  kill_writer_and_check(url_, 40, 0);
}

TEST_P(StoreTest, KillNineDuringWritesLosesNoAcknowledgedBatch) {
  ASSERT_TRUE(open());
  kill_writer_and_check(url_, 0, 25);
}

TEST_P(StoreTest, TwoStoresOnOneDatabaseGiveTheUnion) {
  ASSERT_TRUE(open());  // migrated once; the writers then open concurrently
  constexpr uint64_t kBatches = 30;
  std::atomic<int> failures{0};
  auto writer = [&](std::string node) {
    StoreOptions o;
    o.busy_timeout_ms = 60'000;  // the other writer's lock, on a loaded machine (SQLite)
    auto s = open_store(url_, o);
    if (!s) {
      ++failures;
      return;
    }
    for (uint64_t seq = 1; seq <= kBatches; ++seq) {
      auto w = (*s)->write_batch(numbered_batch(node, seq));
      if (!w || !w->stored) ++failures;
    }
  };
  std::thread a(writer, "node-a"), b(writer, "node-b");
  a.join();
  b.join();
  ASSERT_EQ(failures.load(), 0);
  auto s = open();
  expect_exactly_batches(*s, {{"node-a", kBatches}, {"node-b", kBatches}});
}

// The server calls one Store from its request threads: writes of several agents and reads at
// once.
TEST_P(StoreTest, OneStoreFromSeveralThreads) {
  auto s = open(StoreOptions{});
  ASSERT_TRUE(s);
  constexpr uint64_t kBatches = 15;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (std::string node : {"node-a", "node-b", "node-c"}) {
    threads.emplace_back([&, node] {
      for (uint64_t seq = 1; seq <= kBatches; ++seq) {
        auto w = s->write_batch(numbered_batch(node, seq));
        if (!w || !w->stored) ++failures;
        if (!s->lifetime_edges()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  expect_exactly_batches(*s, {{"node-a", kBatches}, {"node-b", kBatches}, {"node-c", kBatches}});
}

INSTANTIATE_TEST_SUITE_P(Engines, StoreTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

// ---- engine-specific cases ----

std::string temp_dir_for_test() {
  auto d = fs::temp_directory_path() / ("stockade-store-" + unique_name());
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

TEST(SqliteStore, CorruptedFileIsOneLineNamingTheFile) {
  std::string dir = temp_dir_for_test();
  std::string path = dir + "/store.db";
  std::ofstream(path) << std::string(8192, 'x') << "\nnot a database\n";
  auto s = open_store("sqlite:" + path);
  ASSERT_FALSE(s);
  std::string msg = s.error().str();
  EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
  EXPECT_NE(msg.find("not a SQLite database"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
  fs::remove_all(dir);
}

TEST(SqliteStore, DamagedPagesAreAnErrorNotACrash) {
  std::string dir = temp_dir_for_test();
  std::string path = dir + "/store.db";
  {
    auto s = open_store("sqlite:" + path);
    ASSERT_TRUE(s);
    std::vector<StoredEdge> many;
    for (int i = 0; i < 3000; ++i) many.push_back(edge("a/s" + std::to_string(i), "a/d", 80, 1));
    ASSERT_TRUE((*s)->write_batch(EdgeBatch{std::nullopt, many}));
  }
  // Checkpointed into the main file at close; overwrite pages past the schema with garbage.
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f);
    f.seekp(4096 * 6);
    std::string junk(4096 * 20, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto s = open_store("sqlite:" + path);
  if (s) {
    auto edges = (*s)->lifetime_edges();
    ASSERT_FALSE(edges);
    EXPECT_EQ(edges.error().file, path);
    EXPECT_EQ(edges.error().str().find('\n'), std::string::npos);
  } else {
    EXPECT_EQ(s.error().file, path);
  }
  fs::remove_all(dir);
}

TEST(SqliteStore, UnopenablePathAndUnknownUrl) {
  auto missing = open_store("sqlite:/nonexistent-dir-for-stockade/x/store.db");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().file, "/nonexistent-dir-for-stockade/x/store.db");
  auto unknown = open_store("mysql://db/x");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().str().find("use sqlite:PATH or postgres://"), std::string::npos);
  EXPECT_FALSE(open_store("sqlite:"));
}

TEST(PostgresStore, ConnectionErrorIsOneLineWithoutThePassword) {
  auto s = open_store("postgres://alice:s3cret@/stockade?host=/nonexistent-stockade-socket-dir");
  ASSERT_FALSE(s);
  std::string msg = s.error().str();
  EXPECT_EQ(msg.find("s3cret"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cannot connect"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(PostgresStore, RetentionRunsOnOneReplicaAtATime) {
  if (!TempPostgres::bin_dir()) {
    if (postgres_required()) FAIL() << "STOCKADE_REQUIRE_POSTGRES=1 and no PostgreSQL binaries";
    GTEST_SKIP() << "PostgreSQL server binaries not found: skipped";
  }
  std::string why;
  TempPostgres* pg = server(&why);
  ASSERT_NE(pg, nullptr) << why;
  auto url = pg->create_database("retention_lock_" + std::to_string(getpid()));
  ASSERT_TRUE(url) << url.error().str();
  auto s = open_store(*url);
  ASSERT_TRUE(s) << s.error().str();
  // Another replica in the middle of its retention run holds the lock.
  auto other = open_postgres(*url);
  ASSERT_TRUE(other);
  ASSERT_TRUE((*other)->begin(true));
  auto held = (*other)->advisory_lock(kRetentionLock, false);
  ASSERT_TRUE(held);
  ASSERT_TRUE(*held);
  auto skipped = (*s)->apply_retention();
  ASSERT_TRUE(skipped) << skipped.error().str();
  EXPECT_FALSE(skipped->ran);
  ASSERT_TRUE((*other)->commit());
  auto ran = (*s)->apply_retention();
  ASSERT_TRUE(ran);
  EXPECT_TRUE(ran->ran);
}

}  // namespace
}  // namespace stockade::store
