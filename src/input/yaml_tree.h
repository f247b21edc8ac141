// A YAML document tree built from libyaml's event stream. libyaml is a non-recursive,
// well-fuzzed parser; building the tree ourselves lets us bound nesting and keep aliases as
// shared nodes (never expanded: readers charge a visit budget instead).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace stockade::input {

struct YamlTreeNode {
  enum class Kind : uint8_t { Null, Scalar, Map, Seq } kind = Kind::Null;
  bool plain = false;  // an unquoted scalar (may be a number, bool or null)
  bool merge = false;  // the merge key `<<` (plain, or tagged !!merge)
  int line = 0;        // 1-based
  std::string scalar;
  std::vector<std::pair<const YamlTreeNode*, const YamlTreeNode*>> map;
  std::vector<const YamlTreeNode*> seq;
};

// YAML 1.1 as go-yaml v2 resolves a plain scalar (sigs.k8s.io/yaml, which kubectl and the API
// server read manifests with): an integer is whatever Go's strconv.ParseInt(s, 0, 64) takes once
// '_' are removed (`0x50`, `0o120`, `0120` octal, `0b101`, `+80`), else a float of YAML's float
// syntax that is a whole number (`8e1`: JSON 80 after the conversion, an int to the API server).
std::optional<int64_t> yaml11_int(std::string_view plain);
// y Y yes Yes YES true True TRUE on On ON / n N no No NO false False FALSE off Off OFF.
std::optional<bool> yaml11_bool(std::string_view plain);

class YamlStream {
 public:
  // Parses every document of `text`. Errors name `file` and the line. Merge keys (`<<`) are
  // expanded into their maps; a key given twice in one map, directly or through a merge, is
  // refused with its line (go-yaml v2's strict mode, as sigs.k8s.io/yaml's YAMLToJSONStrict
  // and the API server's strict field validation read YAML).
  static Result<YamlStream> parse(std::string_view text, const std::string& file,
                                  size_t max_depth = 512);
  const std::vector<const YamlTreeNode*>& documents() const { return documents_; }

 private:
  std::deque<YamlTreeNode> nodes_;  // stable addresses, no recursive destruction
  std::vector<const YamlTreeNode*> documents_;
};

}  // namespace stockade::input
