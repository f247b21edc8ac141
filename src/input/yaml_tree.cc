#include "input/yaml_tree.h"

#include "input/text_scan.h"

#include <yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <unordered_set>

namespace stockade::input {

namespace {

bool is_null_scalar(const yaml_event_t& e) {
  if (e.data.scalar.tag) {
    std::string_view tag(reinterpret_cast<const char*>(e.data.scalar.tag));
    if (tag == "tag:yaml.org,2002:null") return true;
    return false;
  }
  if (e.data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  std::string_view v(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
  return v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL";
}

bool is_merge_scalar(const yaml_event_t& e) {
  std::string_view v(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
  if (v != "<<") return false;
  if (e.data.scalar.tag)
    return std::string_view(reinterpret_cast<const char*>(e.data.scalar.tag)) ==
           "tag:yaml.org,2002:merge";
  return e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

// Go's strconv.ParseInt(s, 0, 64): an optional sign, then 0x/0X (hex), 0o/0O (octal),
// 0b/0B (binary), a leading 0 (octal) or decimal digits; nothing else.
std::optional<int64_t> go_parse_int(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() >= 2 && s[0] == '0') {
    char p = static_cast<char>(s[1] | 0x20);
    if (p == 'x')
      base = 16, s.remove_prefix(2);
    else if (p == 'o')
      base = 8, s.remove_prefix(2);
    else if (p == 'b')
      base = 2, s.remove_prefix(2);
    else
      base = 8, s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'z' ? c - 'a' + 10
            : c >= 'A' && c <= 'Z' ? c - 'A' + 10
                                   : 99;
    if (d >= base) return std::nullopt;
    if (v > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base))
      return std::nullopt;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  if (!neg && v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  if (neg && v > static_cast<uint64_t>(INT64_MAX) + 1) return std::nullopt;
  return neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
}

// go-yaml's float syntax: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
bool yaml_style_float(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  } else {
    if (!digits()) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

}  // namespace

std::optional<int64_t> yaml11_int(std::string_view in) {
  if (in.empty()) return std::nullopt;
  char c = in[0];
  if (!((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')) return std::nullopt;
  std::string plain;
  plain.reserve(in.size());
  for (char ch : in)
    if (ch != '_') plain += ch;
  if (auto v = go_parse_int(plain)) return v;
  if (!yaml_style_float(plain)) return std::nullopt;
  // A float that is a whole number: Go's JSON encoder writes it without a fraction (up to
  // 1e21, then with an exponent, which no integer field takes).
  char* end = nullptr;
  double d = std::strtod(plain.c_str(), &end);
  if (end != plain.c_str() + plain.size() || !(std::fabs(d) < 1e21) || d != std::trunc(d) ||
      std::fabs(d) >= 9.2e18)
    return std::nullopt;
  return static_cast<int64_t>(d);
}

namespace {

// Go's strconv.ParseUint(s, 0, 64): no sign, then the prefixes of go_parse_int.
std::optional<uint64_t> go_parse_uint(std::string_view s) {
  if (s.empty() || s[0] == '+' || s[0] == '-') return std::nullopt;
  if (auto v = go_parse_int(s); v) return static_cast<uint64_t>(*v);
  int base = 10;
  if (s.size() >= 2 && s[0] == '0') {
    char p = static_cast<char>(s[1] | 0x20);
    base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 8;
    s.remove_prefix(p == 'x' || p == 'o' || p == 'b' ? 2 : 1);
  }
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'z' ? c - 'a' + 10
            : c >= 'A' && c <= 'Z' ? c - 'A' + 10
                                   : 99;
    if (d >= base) return std::nullopt;
    if (v > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base))
      return std::nullopt;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  return v;
}

bool yaml11_special_float(std::string_view s) {
  for (std::string_view f : {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf",
                             "-.INF", ".nan", ".NaN", ".NAN"})
    if (s == f) return true;
  return false;
}

// strconv.FormatFloat(f, 'g', -1, 32): the shortest digits that read back as the same float32,
// in %e form when the exponent is < -4 or >= 6 (two exponent digits at least), else %f form.
std::string go_format_float32(double d) {
  if (std::isnan(d)) return ".nan";
  if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
  char buf[64];
  auto r =
      std::to_chars(buf, buf + sizeof buf, static_cast<float>(d), std::chars_format::scientific);
  std::string sci(buf, r.ptr);  // [-]D[.DDD]e(+|-)XX
  std::string out;
  if (!sci.empty() && sci[0] == '-') {
    out = "-";
    sci.erase(0, 1);
  }
  size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  int exp = std::atoi(sci.c_str() + e + 1);
  if (digits == "0") return out + "0";
  if (exp < -4 || exp >= 6) {
    out += digits[0];
    if (digits.size() > 1) out += "." + digits.substr(1);
    std::string x = std::to_string(exp < 0 ? -exp : exp);
    return out + "e" + (exp < 0 ? "-" : "+") + (x.size() < 2 ? "0" : "") + x;
  }
  int dp = exp + 1;  // digits before the point
  if (dp <= 0) return out + "0." + std::string(static_cast<size_t>(-dp), '0') + digits;
  if (static_cast<size_t>(dp) >= digits.size())
    return out + digits + std::string(static_cast<size_t>(dp) - digits.size(), '0');
  return out + digits.substr(0, static_cast<size_t>(dp)) + "." +
         digits.substr(static_cast<size_t>(dp));
}

}  // namespace

Yaml11Type yaml11_type(std::string_view in) {
  if (in.empty()) return Yaml11Type::String;  // the null scalar is not a Scalar node
  if (yaml11_bool(in)) return Yaml11Type::Bool;
  if (yaml11_special_float(in)) return Yaml11Type::Float;
  char c = in[0];
  if (c == '.') return yaml_style_float(in) ? Yaml11Type::Float : Yaml11Type::String;
  if (!((c >= '0' && c <= '9') || c == '+' || c == '-')) return Yaml11Type::String;
  std::string plain;
  plain.reserve(in.size());
  for (char ch : in)
    if (ch != '_') plain += ch;
  if (go_parse_int(plain) || go_parse_uint(plain)) return Yaml11Type::Int;
  if (yaml_style_float(plain)) return Yaml11Type::Float;
  return Yaml11Type::String;
}

std::string yaml11_key(std::string_view in) {
  switch (yaml11_type(in)) {
    case Yaml11Type::String:
      return std::string(in);
    case Yaml11Type::Bool:
      return *yaml11_bool(in) ? "true" : "false";
    case Yaml11Type::Int:
    case Yaml11Type::Float:
      break;
  }
  std::string plain;
  for (char ch : in)
    if (ch != '_') plain += ch;
  if (auto v = go_parse_int(plain)) return std::to_string(*v);
  if (auto u = go_parse_uint(plain)) return std::to_string(*u);
  if (yaml11_special_float(plain)) {
    if (plain.find("nan") != std::string::npos || plain.find("NaN") != std::string::npos ||
        plain.find("NAN") != std::string::npos)
      return ".nan";
    return plain[0] == '-' ? "-.inf" : ".inf";
  }
  return go_format_float32(std::strtod(plain.c_str(), nullptr));
}

std::optional<double> yaml11_number(std::string_view in) {
  Yaml11Type t = yaml11_type(in);
  if (t != Yaml11Type::Int && t != Yaml11Type::Float) return std::nullopt;
  std::string plain;
  for (char ch : in)
    if (ch != '_') plain += ch;
  if (auto v = go_parse_int(plain)) return static_cast<double>(*v);
  if (auto u = go_parse_uint(plain)) return static_cast<double>(*u);
  if (yaml11_special_float(plain)) return std::nullopt;
  double d = std::strtod(plain.c_str(), nullptr);
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

namespace {

// Pairs a merge key may copy in one stream: merges of merges of growing maps are quadratic.
constexpr size_t kMaxMergedPairs = size_t{1} << 20;

std::string quoted_key(const std::string& k) {
  std::string out = "\"";
  for (unsigned char c : k) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// Expands the merge keys of a finished map (go-yaml v2: a merged map's pairs are set where
// the `<<` is; of a sequence of maps, the earlier ones take precedence) and refuses a key set
// twice, as go-yaml v2's strict mode does ("key \"x\" already set in map"), whether directly
// or through a merge.
Result<void> finish_map(YamlTreeNode& n, const std::string& file, size_t& merged_pairs) {
  bool has_merge = false;
  for (const auto& [k, v] : n.map) has_merge = has_merge || k->merge;
  std::vector<std::pair<const YamlTreeNode*, const YamlTreeNode*>> out;
  const auto& pairs = has_merge ? out : n.map;
  if (has_merge) {
    for (const auto& [k, v] : n.map) {
      if (!k->merge) {
        out.emplace_back(k, v);
        continue;
      }
      // Clang before 16 cannot capture a structured binding: the line is copied.
      const int line = k->line;
      auto add_map = [&](const YamlTreeNode* m) -> Result<void> {
        if (m->kind != YamlTreeNode::Kind::Map)
          return make_error(
              file, line, "invalid YAML: map merge requires map or sequence of maps as the value");
        merged_pairs += m->map.size();
        if (merged_pairs > kMaxMergedPairs)
          return make_error(file, line, "document too large after expanding YAML merge keys");
        out.insert(out.end(), m->map.begin(), m->map.end());
        return {};
      };
      if (v->kind == YamlTreeNode::Kind::Seq) {
        for (auto it = v->seq.rbegin(); it != v->seq.rend(); ++it)
          if (auto r = add_map(*it); !r) return r;
      } else if (auto r = add_map(v); !r) {
        return r;
      }
    }
  }
  auto dup = [&](const YamlTreeNode* k) {
    return make_error(file, k->line,
                      "invalid YAML: key " + quoted_key(k->scalar) + " already set in map");
  };
  if (pairs.size() <= 16) {
    for (size_t i = 1; i < pairs.size(); ++i) {
      const YamlTreeNode* k = pairs[i].first;
      if (k->kind != YamlTreeNode::Kind::Scalar) continue;
      for (size_t j = 0; j < i; ++j)
        if (pairs[j].first->kind == YamlTreeNode::Kind::Scalar &&
            pairs[j].first->scalar == k->scalar)
          return dup(k);
    }
  } else {
    std::unordered_set<std::string_view> seen;
    seen.reserve(pairs.size());
    for (const auto& [k, v] : pairs)
      if (k->kind == YamlTreeNode::Kind::Scalar && !seen.insert(k->scalar).second) return dup(k);
  }
  if (has_merge) n.map = std::move(out);
  return {};
}

}  // namespace

std::optional<bool> yaml11_bool(std::string_view s) {
  for (std::string_view t :
       {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})
    if (s == t) return true;
  for (std::string_view f :
       {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})
    if (s == f) return false;
  return std::nullopt;
}

namespace {

class TextSource final : public YamlSource {
 public:
  explicit TextSource(std::string_view text) : text_(text) {}
  Result<size_t> read(char* buf, size_t n) override {
    n = std::min(n, text_.size() - pos_);
    std::memcpy(buf, text_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  int line_of(size_t offset) const override { return line_of_offset(text_, offset); }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// Bytes the parser may read past the end of its last event: one token (a scalar, or a run of
// comments and blank lines) at most. libyaml holds a token whole (and grows its buffer by
// doubling), then we copy it: a 300 MB scalar would cost a gigabyte. No object holds one:
// etcd stores 1.5 MiB per object at most.
constexpr size_t kMaxTokenBytes = size_t{64} << 20;

struct ReadState {
  YamlSource* source;
  const std::string* file;
  int line_offset = 0;
  size_t given = 0;            // bytes the parser was given
  size_t event_end = 0;        // where its last event ended (libyaml's mark: characters)
  std::optional<Error> error;  // the source's own, reported instead of libyaml's "input error"
};

int read_handler(void* data, unsigned char* buffer, size_t size, size_t* size_read) {
  auto* st = static_cast<ReadState*>(data);
  if (st->given > st->event_end + kMaxTokenBytes) {
    int line = st->source->line_of(st->given);
    st->error = Error{*st->file, line > 0 ? line + st->line_offset : 0,
                      "a YAML scalar, comment or blank run longer than 64 MiB: no Kubernetes "
                      "object holds one (etcd stores 1.5 MiB per object at most)"};
    return 0;
  }
  auto n = st->source->read(reinterpret_cast<char*>(buffer), size);
  if (!n) {
    st->error = n.error();
    return 0;
  }
  st->given += *n;
  *size_read = *n;
  return 1;
}

}  // namespace

Result<YamlStream> YamlStream::parse(std::string_view text, const std::string& file,
                                     size_t max_depth) {
  YamlStream out;
  TextSource source(text);
  if (auto r = run(source, file, max_depth, 0, out, nullptr); !r) return tl::unexpected(r.error());
  return out;
}

Result<void> YamlStream::parse_each(YamlSource& source, const std::string& file, size_t max_depth,
                                    int line_offset, const DocumentFn& on_document) {
  YamlStream out;
  return run(source, file, max_depth, line_offset, out, &on_document);
}

namespace {

// libyaml's message for a stream it cannot parse, at the line the problem is on.
Error parse_error(const yaml_parser_t& parser, const YamlSource& source, const std::string& file,
                  int line_offset) {
  // Reader errors (bad UTF-8, control characters) give an offset, not a mark.
  int line = parser.error == YAML_READER_ERROR ? source.line_of(parser.problem_offset)
                                               : static_cast<int>(parser.problem_mark.line) + 1;
  if (parser.error != YAML_READER_ERROR || line > 0) line += line_offset;
  std::string msg = "invalid YAML: ";
  msg += parser.problem ? parser.problem : "syntax error";
  if (parser.context) {
    msg += " ";
    msg += parser.context;
  }
  return Error{file, line, msg};
}

// The trees of a stream's documents, built from libyaml's events one at a time: containers
// being filled (for maps, a pending key), the anchors of the current document.
class TreeBuilder {
 public:
  TreeBuilder(std::deque<YamlTreeNode>& nodes, std::vector<const YamlTreeNode*>& documents,
              const std::string& file, size_t max_depth, const YamlStream::DocumentFn* on_document)
      : nodes_(nodes),
        documents_(documents),
        file_(file),
        max_depth_(max_depth),
        on_document_(on_document) {}

  // One event at `line`; `done` is set at the end of the stream.
  Result<void> event(const yaml_event_t& e, int line, bool& done) {
    switch (e.type) {
      case YAML_STREAM_END_EVENT:
        done = true;
        return {};
      case YAML_DOCUMENT_START_EVENT:
        root_ = nullptr;
        anchors_.clear();  // anchors do not reach across documents
        doc_start_ = e.start_mark.index;
        return {};
      case YAML_DOCUMENT_END_EVENT:
        return document_end(e, line);
      case YAML_SCALAR_EVENT:
        scalar(e, line);
        return {};
      case YAML_ALIAS_EVENT: {
        auto it = anchors_.find(reinterpret_cast<const char*>(e.data.alias.anchor));
        if (it == anchors_.end())
          return make_error(file_, line,
                            std::string("invalid YAML: unknown alias *") +
                                reinterpret_cast<const char*>(e.data.alias.anchor));
        attach(it->second);
        return {};
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT:
        return open(e, line);
      case YAML_MAPPING_END_EVENT:
        if (!stack_.empty()) {
          if (auto r = finish_map(*stack_.back().node, file_, merged_pairs_); !r)
            return tl::unexpected(r.error());
          stack_.pop_back();
        }
        return {};
      case YAML_SEQUENCE_END_EVENT:
        if (!stack_.empty()) stack_.pop_back();
        return {};
      default:
        return {};
    }
  }

 private:
  struct Open {
    YamlTreeNode* node;
    const YamlTreeNode* key = nullptr;
  };
  std::deque<YamlTreeNode>& nodes_;
  std::vector<const YamlTreeNode*>& documents_;
  const std::string& file_;
  const size_t max_depth_;
  const YamlStream::DocumentFn* on_document_;
  size_t doc_start_ = 0;  // byte offset of the current document's start
  std::vector<Open> stack_;
  std::unordered_map<std::string, const YamlTreeNode*> anchors_;
  const YamlTreeNode* root_ = nullptr;
  size_t merged_pairs_ = 0;  // pairs copied by merge keys in the whole stream (bounded)

  void attach(const YamlTreeNode* n) {
    if (stack_.empty()) {
      root_ = n;
      return;
    }
    Open& top = stack_.back();
    if (top.node->kind == YamlTreeNode::Kind::Seq) {
      top.node->seq.push_back(n);
    } else if (!top.key) {
      top.key = n;
    } else {
      top.node->map.emplace_back(top.key, n);
      top.key = nullptr;
    }
  }
  void remember(const yaml_char_t* anchor, const YamlTreeNode* n) {
    if (anchor) anchors_[reinterpret_cast<const char*>(anchor)] = n;
  }

  Result<void> document_end(const yaml_event_t& e, int line) {
    if (!root_) {
      YamlTreeNode& n = nodes_.emplace_back();
      n.line = line;
      root_ = &n;
    }
    if (on_document_) {
      if (auto r = (*on_document_)(root_, e.end_mark.index - doc_start_); !r) return r;
      root_ = nullptr;
      nodes_.clear();
    } else {
      documents_.push_back(root_);
    }
    return {};
  }

  void scalar(const yaml_event_t& e, int line) {
    YamlTreeNode& n = nodes_.emplace_back();
    n.line = line;
    if (is_null_scalar(e)) {
      n.kind = YamlTreeNode::Kind::Null;
    } else {
      n.kind = YamlTreeNode::Kind::Scalar;
      n.scalar.assign(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
      n.plain = e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !e.data.scalar.tag;
      n.merge = is_merge_scalar(e);
    }
    remember(e.data.scalar.anchor, &n);
    attach(&n);
  }

  Result<void> open(const yaml_event_t& e, int line) {
    if (stack_.size() >= max_depth_)
      return make_error(file_, line,
                        "input nests deeper than " + std::to_string(max_depth_) + " levels");
    YamlTreeNode& n = nodes_.emplace_back();
    n.line = line;
    bool seq = e.type == YAML_SEQUENCE_START_EVENT;
    n.kind = seq ? YamlTreeNode::Kind::Seq : YamlTreeNode::Kind::Map;
    remember(seq ? e.data.sequence_start.anchor : e.data.mapping_start.anchor, &n);
    attach(&n);
    stack_.push_back({&n});
    return {};
  }
};

}  // namespace

Result<void> YamlStream::run(YamlSource& source, const std::string& file, size_t max_depth,
                             int line_offset, YamlStream& out, const DocumentFn* on_document) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return make_error(file, 0, "cannot initialize YAML parser");
  std::unique_ptr<yaml_parser_t, void (*)(yaml_parser_t*)> guard(&parser, yaml_parser_delete);
  ReadState read_state{&source, &file, line_offset, 0, 0, std::nullopt};
  yaml_parser_set_input(&parser, read_handler, &read_state);
  TreeBuilder builder(out.nodes_, out.documents_, file, max_depth, on_document);
  for (bool done = false; !done;) {
    yaml_event_t e;
    if (!yaml_parser_parse(&parser, &e)) {
      if (read_state.error) return tl::unexpected(*read_state.error);
      return tl::unexpected(parse_error(parser, source, file, line_offset));
    }
    std::unique_ptr<yaml_event_t, void (*)(yaml_event_t*)> event_guard(&e, yaml_event_delete);
    read_state.event_end = e.end_mark.index;
    int line = static_cast<int>(e.start_mark.line) + 1 + line_offset;
    if (auto r = builder.event(e, line, done); !r) return r;
  }
  return {};
}

}  // namespace stockade::input
