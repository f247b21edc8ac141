#include "core/curl_lib.h"

#include <gtest/gtest.h>

#include <string>

#include "support/run_command.h"

namespace stockade {
namespace {

TEST(CurlLib, LoadsOnceAndWorks) {
  auto lib = curl_lib();
  ASSERT_TRUE(lib) << lib.error().str();
  auto again = curl_lib();
  ASSERT_TRUE(again);
  EXPECT_EQ(*lib, *again);
  const CurlLib& cu = **lib;
  char* esc = cu.easy_escape(nullptr, "a b&c", 5);
  ASSERT_NE(esc, nullptr);
  EXPECT_STREQ(esc, "a%20b%26c");
  cu.free(esc);
  CURL* h = cu.easy_init();
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(cu.easy_setopt(h, CURLOPT_URL, "http://127.0.0.1:1/"), CURLE_OK);
  EXPECT_STREQ(cu.easy_strerror(CURLE_COULDNT_CONNECT), "Couldn't connect to server");
  cu.easy_cleanup(h);
}

// The binary does not load libcurl (and the libraries it needs) at start: ld.so lists what it
// would load, as ldd does.
TEST(CurlLib, TheBinaryDoesNotLoadItAtStart) {
  auto [out, status] =
      test::run_command(std::string("LD_TRACE_LOADED_OBJECTS=1 ") + STOCKADE_BINARY + " 2>&1");
  EXPECT_EQ(status, 0);
  EXPECT_NE(out.find("libc.so.6"), std::string::npos) << out;
  EXPECT_EQ(out.find("libcurl"), std::string::npos) << out;
}

}  // namespace
}  // namespace stockade
