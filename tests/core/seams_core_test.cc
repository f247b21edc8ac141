// Small pieces of core the commands and the server share: the stop flag set by signals,
// "did you mean", the resource-use text of -v.
#include <gtest/gtest.h>
#include <signal.h>

#include <regex>
#include <set>
#include <vector>

#include "core/edit_distance.h"
#include "core/process_memory.h"
#include "core/stop.h"

namespace stockade {
namespace {

TEST(StopOnSignals, SigtermAndSigintSetTheFlag) {
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, nullptr, &old_int);
  sigaction(SIGTERM, nullptr, &old_term);
  StopFlag first{false}, second{false};
  stop_on_signals(first);
  ASSERT_EQ(raise(SIGTERM), 0);
  EXPECT_TRUE(first);
  stop_on_signals(second);  // a later call replaces the flag
  ASSERT_EQ(raise(SIGINT), 0);
  EXPECT_TRUE(second);
  struct sigaction now {};
  sigaction(SIGINT, nullptr, &now);
  EXPECT_EQ(now.sa_flags & SA_RESTART, 0);  // a blocked read returns
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
}

TEST(ClosestName, WithinAThirdOfTheWordAndAtLeastTwoEdits) {
  const std::set<std::string> namespaces = {"data", "monitoring", "shop"};
  EXPECT_EQ(closest_name("shpo", namespaces), "shop");
  EXPECT_EQ(closest_name("monitorign", namespaces), "monitoring");
  EXPECT_EQ(closest_name("payments", namespaces), "");
  const std::vector<std::string> flags = {"-f", "--from", "--force"};
  EXPECT_EQ(closest_name("--fromm", flags, 3), "--from");
  EXPECT_EQ(closest_name("-g", flags, 3), "");  // "-f" is one edit away but too short
  EXPECT_EQ(closest_name("-g", flags), "-f");
}

TEST(ResourceUse, CpuAlwaysMemoryWhenKnown) {
  const std::string text = resource_use_text();
  EXPECT_TRUE(std::regex_match(
      text, std::regex("(; [0-9]+ MB resident, peak [0-9]+ MB)?; cpu [0-9]+\\.[0-9]{2} s user, "
                       "[0-9]+\\.[0-9]{2} s sys")))
      << text;
  if (process_memory().resident_kib > 0) {
    EXPECT_NE(text.find(" MB resident"), std::string::npos);
  }
}

}  // namespace
}  // namespace stockade

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/allocator.h"

namespace stockade {
namespace {

TEST(Allocator, NoTransparentHugePagesFromHereOn) {
  // In a child: the setting stays with the process (and this one runs the other tests).
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const bool before = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1;
    no_transparent_huge_pages();
    _exit(!before && prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace stockade
