// What `scan` decides from a report (posture.h): --fail-on's threshold and today's date for
// expiries, shared with the server's posture view.
#include <gtest/gtest.h>

#include <regex>

#include "posture/posture.h"

namespace stockade::posture {
namespace {

TEST(ScanResult, FailsOnUnsuppressedFindingsAtOrAboveTheThreshold) {
  ScanReport r;
  EXPECT_FALSE(has_findings_at(r, Severity::Low));
  Finding f;
  f.id = "PRIVILEGED";
  f.severity = Severity::High;
  f.suppressed = Suppression{"accepted-file", "needs the host", ""};
  r.findings.push_back(f);
  EXPECT_FALSE(has_findings_at(r, Severity::Low));  // suppressed: never a failure
  f.suppressed.reset();
  f.severity = Severity::Medium;
  r.findings.push_back(f);
  EXPECT_TRUE(has_findings_at(r, Severity::Low));
  EXPECT_TRUE(has_findings_at(r, Severity::Medium));
  EXPECT_FALSE(has_findings_at(r, Severity::High));
}

TEST(ScanResult, TodayIsADate) {
  EXPECT_TRUE(std::regex_match(today_utc(), std::regex("20[0-9]{2}-[01][0-9]-[0-3][0-9]")));
}

}  // namespace
}  // namespace stockade::posture
