// A YAML document tree built from libyaml's event stream. libyaml is a non-recursive,
// well-fuzzed parser; building the tree ourselves lets us bound nesting and keep aliases as
// shared nodes (never expanded: readers charge a visit budget instead).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace stockade::input {

struct YamlTreeNode {
  enum class Kind : uint8_t { Null, Scalar, Map, Seq } kind = Kind::Null;
  bool plain = false;  // an unquoted scalar (may be a number, bool or null)
  int line = 0;        // 1-based
  std::string scalar;
  std::vector<std::pair<const YamlTreeNode*, const YamlTreeNode*>> map;
  std::vector<const YamlTreeNode*> seq;
};

class YamlStream {
 public:
  // Parses every document of `text`. Errors name `file` and the line.
  static Result<YamlStream> parse(std::string_view text, const std::string& file,
                                  size_t max_depth = 512);
  const std::vector<const YamlTreeNode*>& documents() const { return documents_; }

 private:
  std::deque<YamlTreeNode> nodes_;  // stable addresses, no recursive destruction
  std::vector<const YamlTreeNode*> documents_;
};

}  // namespace stockade::input
