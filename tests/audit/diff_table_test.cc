// The `stockade diff` table from a PolicyChanges value (audit/policy_diff.h); the command's
// golden tests hold the whole output of real diffs.
#include <gtest/gtest.h>

#include "audit/policy_diff.h"

namespace stockade::audit {
namespace {

TEST(DiffTable, NothingChanged) {
  EXPECT_EQ(diff_table(PolicyChanges{}), "0 connections change: 0 newly allowed, 0 newly denied\n");
}

TEST(DiffTable, ChangesAndObservedFlows) {
  PolicyChanges d;
  d.by = Granularity::Workload;
  DiffChange c;
  c.src = "shop/web";
  c.dst = "data/postgres";
  c.port = 5432;
  c.before = true;
  c.pairs = 2;
  d.changes.push_back(c);
  d.newly_denied = 2;
  FlowChanges f;
  GroupedEdge g;
  g.src = "shop/web";
  g.dst = "data/postgres";
  g.port = 5432;
  g.cls = 0;
  g.stats.established = 7;
  f.rows.push_back(g);
  f.checked = 3;
  f.broken = 1;
  d.flows = f;
  const std::string pad = std::string(40 - 8, ' ') + " ";  // after "shop/web"
  EXPECT_EQ(diff_table(d), "SOURCE" + std::string(35, ' ') + "DESTINATION" + std::string(30, ' ') +
                               "PORT        CHANGE\n"
                               "shop/web" +
                               pad + "data/postgres" + std::string(28, ' ') +
                               "TCP/5432    allowed -> denied (2 pod pairs)\n\n"
                               "2 connections change: 0 newly allowed, 2 newly denied\n\n"
                               "Observed flows whose verdict changes:\n"
                               "SOURCE" +
                               std::string(35, ' ') + "DESTINATION" + std::string(30, ' ') +
                               "PORT           COUNT CHANGE\n"
                               "shop/web" +
                               pad + "data/postgres" + std::string(28, ' ') +
                               "TCP/5432           7 BROKEN (allowed -> denied)\n"
                               "3 observed edges checked: 1 would break, 0 newly allowed\n");
  d.by = Granularity::Pod;  // a pod pair is one connection: no count
  d.flows.reset();
  EXPECT_NE(diff_table(d).find("allowed -> denied\n"), std::string::npos);
}

}  // namespace
}  // namespace stockade::audit
