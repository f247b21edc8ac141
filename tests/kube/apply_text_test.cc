// The lines `stockade apply` prints for each outcome and prune (kube/apply.h).
#include <gtest/gtest.h>

#include "kube/apply.h"

namespace stockade::kube {
namespace {

TEST(ApplyText, OutcomeWithChangesAndConflicts) {
  ApplyObject obj;
  obj.kind = "NetworkPolicy";
  obj.ns = "shop";
  obj.name = "allow-web";
  ApplyOutcome out;
  out.action = ApplyOutcome::Action::Configured;
  out.changes = {"~ .spec.ingress[0].ports[0].port: 80 -> 8080"};
  EXPECT_EQ(outcome_text(obj, out, "dry run"),
            "NetworkPolicy shop/allow-web: configured (dry run)\n"
            "    ~ .spec.ingress[0].ports[0].port: 80 -> 8080\n");
  out.action = ApplyOutcome::Action::Conflict;
  out.changes.clear();
  out.conflicts = {{"kubectl-edit", ".spec.podSelector"}};
  EXPECT_EQ(outcome_text(obj, out, "dry run"),
            "NetworkPolicy shop/allow-web: conflict (dry run)\n"
            "    conflict: .spec.podSelector is managed by \"kubectl-edit\"\n");
}

TEST(ApplyText, NamesFromTheServerAreEscaped) {
  ApplyOutcome out;
  out.action = ApplyOutcome::Action::Unchanged;
  out.conflicts = {{"evil\x1b[2J", ".spec"}};
  const std::string text =
      outcome_text(ApplyObject{"NetworkPolicy", "", "shop", "a"}, out, "applied");
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(pruned_text({"/apis/x", "NetworkPolicy shop/old"}, true),
            "NetworkPolicy shop/old: pruned (dry run)\n");
  EXPECT_EQ(pruned_text({"/apis/x", "NetworkPolicy shop/old"}, false),
            "NetworkPolicy shop/old: pruned\n");
}

}  // namespace
}  // namespace stockade::kube
