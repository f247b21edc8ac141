// Calico's selector expressions: the operators libcalico-go's lib/selector documents and tests
// (shapes taken from its parser tests and Calico's NetworkPolicy reference), and bad input.
#include <gtest/gtest.h>

#include <string>

#include "model/calico.h"

namespace stockade {
namespace {

bool sel(const std::string& text, const Labels& l, bool global = false) {
  std::string err;
  auto s = CalicoSelector::parse(text, &err);
  EXPECT_TRUE(s) << text << ": " << err;
  return s && s->matches(l, global);
}

std::string error_of(const std::string& text) {
  std::string err;
  auto s = CalicoSelector::parse(text, &err);
  EXPECT_FALSE(s) << text << " parsed";
  return err;
}

const Labels kLabels = {{"a", "b"}, {"c", "d"}, {"app", "web-frontend"}, {"x/y.z", "1"}};

TEST(CalicoSelector, AllAndEmpty) {
  EXPECT_TRUE(sel("all()", kLabels));
  EXPECT_TRUE(sel("", kLabels));
  EXPECT_TRUE(sel("   ", {}));
  EXPECT_TRUE(CalicoSelector::parse("all()", nullptr)->is_all());
  EXPECT_FALSE(CalicoSelector::parse("has(a)", nullptr)->is_all());
}

TEST(CalicoSelector, Equality) {
  EXPECT_TRUE(sel("a == 'b'", kLabels));
  EXPECT_TRUE(sel("a == \"b\"", kLabels));
  EXPECT_FALSE(sel("a == 'c'", kLabels));
  EXPECT_FALSE(sel("missing == 'b'", kLabels));
  EXPECT_TRUE(sel("a != 'c'", kLabels));
  EXPECT_FALSE(sel("a != 'b'", kLabels));
  // != also matches when the label is absent.
  EXPECT_TRUE(sel("missing != 'b'", kLabels));
  EXPECT_TRUE(sel("x/y.z == '1'", kLabels));
}

TEST(CalicoSelector, Sets) {
  EXPECT_TRUE(sel("a in {'b', 'c'}", kLabels));
  EXPECT_FALSE(sel("a in {'c'}", kLabels));
  EXPECT_FALSE(sel("a in {}", kLabels));
  EXPECT_TRUE(sel("a not in {'c'}", kLabels));
  EXPECT_FALSE(sel("a not in {'b'}", kLabels));
  EXPECT_TRUE(sel("missing not in {'b'}", kLabels));  // absent: not in any set
  EXPECT_FALSE(sel("missing in {'b'}", kLabels));
}

TEST(CalicoSelector, HasAndNot) {
  EXPECT_TRUE(sel("has(a)", kLabels));
  EXPECT_FALSE(sel("has(missing)", kLabels));
  EXPECT_TRUE(sel("!has(missing)", kLabels));
  EXPECT_FALSE(sel("!has(a)", kLabels));
  EXPECT_TRUE(sel("!!has(a)", kLabels));
  EXPECT_FALSE(sel("!(a == 'b')", kLabels));
}

TEST(CalicoSelector, StringOperators) {
  EXPECT_TRUE(sel("app starts with 'web'", kLabels));
  EXPECT_FALSE(sel("app starts with 'front'", kLabels));
  EXPECT_TRUE(sel("app ends with 'end'", kLabels));
  EXPECT_TRUE(sel("app contains 'b-f'", kLabels));
  EXPECT_FALSE(sel("app contains 'x'", kLabels));
  EXPECT_FALSE(sel("missing contains ''", kLabels));
}

TEST(CalicoSelector, BooleanPrecedence) {
  // && binds tighter than ||.
  EXPECT_TRUE(sel("a == 'x' && c == 'x' || has(a)", kLabels));
  EXPECT_FALSE(sel("a == 'x' && (c == 'x' || has(a))", kLabels));
  EXPECT_TRUE(sel("((a == 'b')) && (c == 'd')", kLabels));
  EXPECT_TRUE(sel("a=='b'&&c=='d'", kLabels));  // no spaces needed
}

TEST(CalicoSelector, Global) {
  EXPECT_TRUE(sel("global()", {}, true));
  EXPECT_FALSE(sel("global()", {}, false));
  EXPECT_TRUE(CalicoSelector::parse("global()", nullptr)->is_global());
}

TEST(CalicoSelector, Mentions) {
  auto s = CalicoSelector::parse("a == 'b' || !has(projectcalico.org/serviceaccount)", nullptr);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->mentions("projectcalico.org/serviceaccount"));
  EXPECT_FALSE(s->mentions("c"));
}

TEST(CalicoSelector, CopiesAreDeep) {
  auto s = CalicoSelector::parse("a == 'b'", nullptr);
  ASSERT_TRUE(s);
  CalicoSelector copy = *s;
  s = CalicoSelector::parse("a == 'z'", nullptr);
  EXPECT_TRUE(copy.matches(kLabels));
  EXPECT_EQ(copy.text(), "a == 'b'");
}

TEST(CalicoSelector, BadInputIsOneLine) {
  for (const char* bad :
       {"a ==", "a == b", "a = 'b'", "(a == 'b'", "a == 'b')", "has(a", "has()", "a in {'b'",
        "a in {'b' 'c'}", "a not 'b'", "a starts 'x'", "&& a == 'b'", "a == 'b' &&", "all(",
        "a == 'unterminated", "!", "a == 'b' c == 'd'", "==", "a in 'b'"}) {
    std::string err = error_of(bad);
    EXPECT_FALSE(err.empty()) << bad;
    EXPECT_EQ(err.find('\n'), std::string::npos) << bad;
    EXPECT_NE(err.find("column"), std::string::npos) << bad << ": " << err;
  }
}

TEST(CalicoSelector, DeepNestingIsRefusedNotACrash) {
  std::string deep(100000, '(');
  EXPECT_NE(error_of(deep + "all()" + std::string(100000, ')')).find("nested too deeply"),
            std::string::npos);
  std::string nots(100000, '!');
  EXPECT_NE(error_of(nots + "has(a)").find("nested too deeply"), std::string::npos);
}

}  // namespace
}  // namespace stockade
