// YamlStream's tree builder (yaml_tree.cc: TreeBuilder, fed one libyaml event at a time, and
// parse_error): documents, aliases as shared nodes, anchors scoped to their document, the
// nesting bound, libyaml's errors at their line, and one document at a time.
#include "input/yaml_tree.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace stockade::input {
namespace {

TEST(YamlTree, DocumentsAliasesAndEmptyOnes) {
  auto s = YamlStream::parse("a: &x {k: v}\nb: *x\n---\n---\n- 1\n- two\n", "t.yaml");
  ASSERT_TRUE(s) << s.error().str();
  const auto& docs = s->documents();
  ASSERT_EQ(docs.size(), 3u);
  ASSERT_EQ(docs[0]->kind, YamlTreeNode::Kind::Map);
  ASSERT_EQ(docs[0]->map.size(), 2u);
  EXPECT_EQ(docs[0]->map[0].second, docs[0]->map[1].second);  // the alias is the same node
  EXPECT_EQ(docs[0]->map[1].first->line, 2);
  EXPECT_EQ(docs[1]->kind, YamlTreeNode::Kind::Null);  // an empty document
  ASSERT_EQ(docs[2]->kind, YamlTreeNode::Kind::Seq);
  EXPECT_EQ(docs[2]->seq[1]->scalar, "two");
  EXPECT_TRUE(docs[2]->seq[0]->plain);
  EXPECT_EQ(docs[2]->line, 5);
}

TEST(YamlTree, AnchorsDoNotReachAcrossDocuments) {
  auto s = YamlStream::parse("a: &x 1\n---\nb: *x\n", "t.yaml");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().str(), "t.yaml:3: invalid YAML: unknown alias *x");
}

TEST(YamlTree, NestingBoundAndSyntaxErrorsAtTheirLine) {
  auto deep = YamlStream::parse("a: [[[[1]]]]\n", "d.yaml", 4);
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error().str(), "d.yaml:1: input nests deeper than 4 levels");
  EXPECT_TRUE(YamlStream::parse("a: [[[[1]]]]\n", "d.yaml", 5));
  auto bad = YamlStream::parse("a: 1\nb: [\n", "b.yaml");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().str().starts_with("b.yaml:3: invalid YAML: ")) << bad.error().str();
}

class TextBytes : public YamlSource {
 public:
  explicit TextBytes(std::string t) : text_(std::move(t)) {}
  Result<size_t> read(char* buf, size_t n) override {
    n = std::min(n, text_.size() - at_);
    std::copy_n(text_.data() + at_, n, buf);
    at_ += n;
    return n;
  }
  int line_of(size_t offset) const override {
    return 1 + static_cast<int>(std::count(text_.begin(), text_.begin() + offset, '\n'));
  }

 private:
  std::string text_;
  size_t at_ = 0;
};

TEST(YamlTree, OneDocumentAtATimeWithTheLineOffset) {
  TextBytes src("a: 1\n---\nb: [2, 3]\n");
  std::vector<std::pair<int, size_t>> seen;  // (root line, children)
  auto r = YamlStream::parse_each(src, "s.yaml", 512, 10,
                                  [&](const YamlTreeNode* root, size_t bytes) -> Result<void> {
                                    EXPECT_GT(bytes, 0u);
                                    seen.push_back({root->line, root->map.size()});
                                    return {};
                                  });
  ASSERT_TRUE(r) << r.error().str();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, 11);
  EXPECT_EQ(seen[1].first, 13);
  // An error from the callback ends the parse with it.
  TextBytes again("a: 1\n---\nb: 2\n");
  int calls = 0;
  auto stop = YamlStream::parse_each(again, "s.yaml", 512, 0,
                                     [&](const YamlTreeNode*, size_t) -> Result<void> {
                                       ++calls;
                                       return make_error("s.yaml", 1, "stop here");
                                     });
  ASSERT_FALSE(stop);
  EXPECT_EQ(stop.error().message, "stop here");
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace stockade::input
