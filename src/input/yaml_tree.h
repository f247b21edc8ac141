// A YAML document tree built from libyaml's event stream. libyaml is a non-recursive,
// well-fuzzed parser; building the tree ourselves lets us bound nesting and keep aliases as
// shared nodes (never expanded: readers charge a visit budget instead).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
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

// What go-yaml v2's resolve() makes of a plain scalar (goyaml.v2/resolve.go): a boolean, an
// integer (ParseInt or ParseUint with base 0, '_' removed), a float (YAML's float syntax,
// .inf, .nan) or a string. sigs.k8s.io/yaml's YAMLToJSON, which the API server and kubectl read
// YAML with, passes no target type: a boolean or number stays one in the JSON, and decoding it
// into a Go string field fails ("cannot unmarshal bool into Go struct field ... of type string").
enum class Yaml11Type : uint8_t { String, Bool, Int, Float };
Yaml11Type yaml11_type(std::string_view plain);
// The JSON key sigs.k8s.io/yaml gives a plain map key (convertToJSONableObject): a boolean
// "true"/"false", an integer in decimal, a float as strconv.FormatFloat(f, 'g', -1, 32); a
// string as it is.
std::string yaml11_key(std::string_view plain);
// The value of a plain scalar go-yaml reads as an integer or a finite float (what a Go float64
// field such as Calico's `order` accepts); nullopt for anything else, .inf and .nan included.
std::optional<double> yaml11_number(std::string_view plain);

// Bytes for YamlStream::parse_each, read as the parser needs them.
class YamlSource {
 public:
  virtual ~YamlSource() = default;
  // Up to `n` bytes into `buf`; 0 at the end.
  virtual Result<size_t> read(char* buf, size_t n) = 0;
  // The 1-based line of a byte the source has given, counted from the source's first line
  // (0 when it is no longer known).
  virtual int line_of(size_t offset) const = 0;
};

class YamlStream {
 public:
  // One document at a time, read from `source` as it is parsed: only the document being
  // decoded is held (its tree is dropped once `on_document` returns), so memory is bounded by
  // the largest document, not by the stream. `on_document` gets the root and the document's
  // size in bytes; an error from it ends the parse. Lines are `line_offset` + the source's.
  using DocumentFn = std::function<Result<void>(const YamlTreeNode* root, size_t bytes)>;
  static Result<void> parse_each(YamlSource& source, const std::string& file, size_t max_depth,
                                 int line_offset, const DocumentFn& on_document);

  // Parses every document of `text`. Errors name `file` and the line. Merge keys (`<<`) are
  // expanded into their maps; a key given twice in one map, directly or through a merge, is
  // refused with its line (go-yaml v2's strict mode, as sigs.k8s.io/yaml's YAMLToJSONStrict
  // and the API server's strict field validation read YAML).
  static Result<YamlStream> parse(std::string_view text, const std::string& file,
                                  size_t max_depth = 512);
  const std::vector<const YamlTreeNode*>& documents() const { return documents_; }

 private:
  static Result<void> run(YamlSource& source, const std::string& file, size_t max_depth,
                          int line_offset, YamlStream& out, const DocumentFn* on_document);
  std::deque<YamlTreeNode> nodes_;  // stable addresses, no recursive destruction
  std::vector<const YamlTreeNode*> documents_;
};

}  // namespace stockade::input
