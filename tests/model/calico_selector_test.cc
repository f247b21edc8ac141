// Calico's selector expressions: the operators libcalico-go's lib/selector documents and tests
// (shapes taken from its parser tests and Calico's NetworkPolicy reference), and bad input.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

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
  // A run of '!' is counted, not nested (Calico's parser accepts any number of them).
  std::string nots(100000, '!');
  EXPECT_TRUE(sel(nots + "has(a)", kLabels));
  EXPECT_FALSE(sel("!" + nots + "has(a)", kLabels));
}

// tests/conformance/selectors/calico.yaml: what libcalico-go's selector tests assert.
YAML::Node upstream_cases() {
  return YAML::LoadFile(std::string(STOCKADE_SOURCE_DIR) +
                        "/tests/conformance/selectors/calico.yaml");
}

Labels labels_of(const YAML::Node& n) {
  Labels l;
  for (const auto& kv : n) l[kv.first.as<std::string>()] = kv.second.as<std::string>();
  return l;
}

TEST(CalicoSelectorConformance, UpstreamSelectorsMatchAsUpstream) {
  YAML::Node doc = upstream_cases();
  ASSERT_GE(doc["cases"].size(), 70u);
  for (const YAML::Node& c : doc["cases"]) {
    const std::string text = c["selector"].as<std::string>();
    std::string err;
    auto s = CalicoSelector::parse(text, &err);
    ASSERT_TRUE(s) << "[" << text << "]: " << err;
    // libcalico-go's evaluator takes global() as true wherever it stands (Calico's validation
    // admits it in a rule's namespaceSelector only, see NamespaceSelectorAllAndGlobal): the
    // label sets are evaluated as a non-namespaced thing's, the one case where Stockade's
    // global() holds too. No other operator depends on it.
    for (const YAML::Node& l : c["match"])
      EXPECT_TRUE(s->matches(labels_of(l), true)) << "[" << text << "] should match " << l;
    for (const YAML::Node& l : c["no_match"])
      EXPECT_FALSE(s->matches(labels_of(l), true)) << "[" << text << "] should not match " << l;
  }
}

TEST(CalicoSelectorConformance, UpstreamBadSelectorsAreRefused) {
  YAML::Node doc = upstream_cases();
  ASSERT_GE(doc["bad"].size(), 40u);
  for (const YAML::Node& b : doc["bad"]) {
    const std::string text = b.as<std::string>();
    std::string err;
    EXPECT_FALSE(CalicoSelector::parse(text, &err)) << "[" << text << "] parsed";
    EXPECT_EQ(err.find('\n'), std::string::npos) << text;
  }
}

TEST(CalicoSelectorConformance, LabelLengthLimit) {
  YAML::Node doc = upstream_cases();
  for (const char* which : {"long_label", "too_long_label"}) {
    const size_t len = doc[which]["length"].as<size_t>();
    const std::string key(len, 'a');
    std::string err;
    auto s = CalicoSelector::parse(key + " == 'v'", &err);
    EXPECT_EQ(s.has_value(), doc[which]["ok"].as<bool>()) << len << ": " << err;
    auto h = CalicoSelector::parse("has(" + key + ")", &err);
    EXPECT_EQ(h.has_value(), doc[which]["ok"].as<bool>()) << len << ": " << err;
  }
}

// A rule's namespaceSelector as Calico rewrites it: all() holds for namespaced things only,
// global() for the others (libcalico-go updateprocessors/rules.go).
TEST(CalicoSelector, NamespaceSelectorAllAndGlobal) {
  auto all = CalicoSelector::parse("all()", nullptr);
  auto global = CalicoSelector::parse("global()", nullptr);
  auto absent = CalicoSelector::parse("!has(team)", nullptr);
  auto either = CalicoSelector::parse("global() || team == 'a'", nullptr);
  ASSERT_TRUE(all && global && absent && either);
  EXPECT_TRUE(all->matches_namespace({{"team", "a"}}, true));
  EXPECT_FALSE(all->matches_namespace({}, false));
  EXPECT_FALSE(global->matches_namespace({{"team", "a"}}, true));
  EXPECT_TRUE(global->matches_namespace({}, false));
  EXPECT_TRUE(absent->matches_namespace({}, false));  // no namespace labels at all
  EXPECT_TRUE(either->matches_namespace({{"team", "a"}}, true));
  EXPECT_FALSE(either->matches_namespace({{"team", "b"}}, true));
  EXPECT_TRUE(either->matches_namespace({}, false));
}

}  // namespace
}  // namespace stockade
