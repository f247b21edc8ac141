// kubectl's --request-timeout as the client takes it (src/kube/connect.h).
#include <gtest/gtest.h>

#include "kube/connect.h"

namespace stockade::kube {
namespace {

TEST(Connect, RequestTimeoutAsKubectlWritesIt) {
  EXPECT_EQ(*parse_request_timeout("0", "--request-timeout"), std::chrono::seconds(0));
  EXPECT_EQ(*parse_request_timeout("45", "--request-timeout"), std::chrono::seconds(45));
  EXPECT_EQ(*parse_request_timeout("30s", "--request-timeout"), std::chrono::seconds(30));
  EXPECT_EQ(*parse_request_timeout("2m", "--request-timeout"), std::chrono::seconds(120));
  EXPECT_EQ(*parse_request_timeout("1h", "--request-timeout"), std::chrono::seconds(3600));
  for (const char* bad : {"", "s", "1d", "1.5s", "-1", "1234567s", "10ms"}) {
    auto r = parse_request_timeout(bad, "--request-timeout");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().str(), std::string("--request-timeout: expected a duration such as 30s, "
                                           "2m or 0, got \"") +
                                   bad + "\"");
    EXPECT_EQ(r.error().code, ErrorCode::Usage);
  }
}

TEST(Connect, NoConfigurationIsAnErrorNotAClient) {
  ConnectOptions o;
  o.kubeconfig = "/nonexistent/stockade-connect-test/kubeconfig";
  auto c = connect(o);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().str().find("stockade-connect-test"), std::string::npos) << c.error().str();
}

}  // namespace
}  // namespace stockade::kube
