// Path generalisation for `recommend --l7`: identifiers become classes, words stay, patterns
// merge only into alternations of what was observed, and every regex is anchored.
#include <gtest/gtest.h>
#include <re2/re2.h>

#include <string>
#include <vector>

#include "recommend/l7_paths.h"

namespace stockade::l7 {
namespace {

std::vector<ObservedRequest> reqs(const std::vector<std::pair<std::string, std::string>>& v) {
  std::vector<ObservedRequest> out;
  for (const auto& [m, p] : v) out.push_back({m, p, 1});
  return out;
}

bool allows(const std::vector<HttpPattern>& ps, const std::string& method,
            const std::string& path) {
  for (const HttpPattern& p : ps)
    if (p.methods.count(method) && RE2::FullMatch(path, p.path_regex)) return true;
  return false;
}

TEST(L7Paths, SplitsHubbleUrls) {
  SplitUrl u = split_url("http://api.shop.svc.cluster.local:8080/api/v1/users/7?x=1#frag");
  EXPECT_EQ(u.host, "api.shop.svc.cluster.local:8080");
  EXPECT_EQ(u.path, "/api/v1/users/7?x=1");
  EXPECT_EQ(split_url("http://web").path, "/");
  EXPECT_EQ(split_url("http://web?q=1").path, "/?q=1");
  EXPECT_EQ(split_url("/healthz").path, "/healthz");
}

TEST(L7Paths, IdentifiersBecomeClassesWordsStay) {
  bool g = false;
  EXPECT_EQ(segment_pattern("4711", g), "[0-9]+");
  EXPECT_TRUE(g);
  EXPECT_EQ(segment_pattern("0b2c3e1a-7f6d-4c1e-9a8b-112233445566", g).substr(0, 13),
            "[0-9a-fA-F]{8");
  EXPECT_EQ(segment_pattern("main.3f2a9c1b.js", g), "main\\.[0-9a-f]{8}\\.js");
  EXPECT_EQ(segment_pattern("users", g), "users");
  EXPECT_FALSE(g);
  EXPECT_EQ(segment_pattern("v1", g), "v1");  // a version, not an id
  EXPECT_EQ(segment_pattern("oauth2callback", g), "oauth2callback");
  EXPECT_EQ(segment_pattern("deadbeef", g), "deadbeef");  // hex, but no digit: a word
  EXPECT_EQ(segment_pattern("a+b(c)", g), "a\\+b\\(c\\)");
}

TEST(L7Paths, GeneralisesARestApiIntoFewAnchoredPatterns) {
  std::vector<std::pair<std::string, std::string>> v;
  for (int i = 1; i <= 200; ++i) {
    v.push_back({"GET", "/api/v1/users/" + std::to_string(i * 37)});
    v.push_back({"PUT", "/api/v1/users/" + std::to_string(i * 11)});
  }
  v.push_back({"GET", "/"});  // an empty segment merges too, and stays allowed
  v.push_back({"GET", "/healthz"});
  v.push_back({"GET", "/readyz"});
  v.push_back({"GET", "/static/js/main.3f2a9c1b.js"});
  v.push_back({"GET", "/static/js/main.77aa0c1b.js"});
  v.push_back({"GET", "/static/js/12.0a1b2c3d.chunk.js"});
  v.push_back({"GET", "/api/v1/users?page=2"});
  v.push_back({"POST", "/api/v1/users"});
  auto ps = generalise(reqs(v));
  EXPECT_LE(ps.size(), 5u);
  for (const HttpPattern& p : ps) {
    EXPECT_EQ(p.path_regex.front(), '^') << p.path_regex;
    EXPECT_EQ(p.path_regex.back(), '$') << p.path_regex;
    EXPECT_TRUE(RE2(p.path_regex).ok()) << p.path_regex;
    EXPECT_LE(RE2(p.path_regex).ProgramSize(), 100) << "Envoy's default limit: " << p.path_regex;
    EXPECT_EQ(p.path_regex.find(".*)?$") == std::string::npos,
              p.path_regex.find("\\?") == std::string::npos)
        << "only a query may be any text: " << p.path_regex;
  }
  // Everything observed, and the same shapes with other identifiers.
  for (const auto& [m, path] : v) EXPECT_TRUE(allows(ps, m, path)) << m << " " << path;
  EXPECT_TRUE(allows(ps, "GET", "/api/v1/users/999999"));
  EXPECT_TRUE(allows(ps, "PUT", "/api/v1/users/5"));
  // Nothing else: other methods, other words, other shapes.
  EXPECT_FALSE(allows(ps, "DELETE", "/api/v1/users/5"));
  EXPECT_FALSE(allows(ps, "GET", "/api/v1/users/me"));
  EXPECT_FALSE(allows(ps, "GET", "/api/v1/users/5/orders"));
  EXPECT_FALSE(allows(ps, "GET", "/api/v2/users/5"));
  EXPECT_FALSE(allows(ps, "GET", "/livez"));
  EXPECT_FALSE(allows(ps, "GET", "/static/js/evil.js"));
  EXPECT_FALSE(allows(ps, "PUT", "/api/v1/users"));  // only GET and POST there
  EXPECT_FALSE(allows(ps, "GET", "/healthz/../admin"));
  EXPECT_FALSE(allows(ps, "GET", "/healthzz"));
}

TEST(L7Paths, AlternationsAreExactAndBounded) {
  // /a/x and /b/y observed: merging them one position at a time never yields /a/y.
  auto ps = generalise(reqs({{"GET", "/a/x"}, {"GET", "/b/y"}}));
  EXPECT_FALSE(allows(ps, "GET", "/a/y"));
  EXPECT_FALSE(allows(ps, "GET", "/b/x"));
  // Past the bound, patterns stay apart rather than grow.
  std::vector<std::pair<std::string, std::string>> v;
  for (char c = 'a'; c <= 'z'; ++c) v.push_back({"GET", std::string("/docs/") + c + "page"});
  GeneraliseOptions o;
  o.max_alternatives = 8;
  o.max_joined_length = 0;  // no joining: the alternations alone
  ps = generalise(reqs(v), o);
  EXPECT_GE(ps.size(), 4u);
  for (const auto& [m, path] : v) EXPECT_TRUE(allows(ps, m, path));
  EXPECT_FALSE(allows(ps, "GET", "/docs/zzpage"));
}

TEST(L7Paths, SameMethodsJoinIntoOneExactExpression) {
  auto ps = generalise(reqs({{"GET", "/a/x"}, {"GET", "/b/y/z"}, {"POST", "/c"}}));
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_TRUE(allows(ps, "GET", "/a/x"));
  EXPECT_TRUE(allows(ps, "GET", "/b/y/z"));
  EXPECT_FALSE(allows(ps, "GET", "/a/y/z"));
  EXPECT_FALSE(allows(ps, "GET", "/c"));
  EXPECT_FALSE(allows(ps, "POST", "/a/x"));
}

TEST(L7Paths, IstioPathsUseSegmentTemplates) {
  auto ps = generalise(reqs({{"GET", "/orders/0b2c3e1a-7f6d-4c1e-9a8b-112233445566/items"}}));
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].istio_paths, std::vector<std::string>{"/orders/{*}/items"});
}

}  // namespace
}  // namespace stockade::l7
