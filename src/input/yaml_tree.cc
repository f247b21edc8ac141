#include "input/yaml_tree.h"

#include "input/text_scan.h"

#include <yaml.h>

#include <memory>
#include <unordered_map>

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

}  // namespace

Result<YamlStream> YamlStream::parse(std::string_view text, const std::string& file,
                                     size_t max_depth) {
  YamlStream out;
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return make_error(file, 0, "cannot initialize YAML parser");
  std::unique_ptr<yaml_parser_t, void (*)(yaml_parser_t*)> guard(&parser, yaml_parser_delete);
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());

  // Containers being filled; for maps, a pending key.
  struct Open {
    YamlTreeNode* node;
    const YamlTreeNode* key = nullptr;
  };
  std::vector<Open> stack;
  std::unordered_map<std::string, const YamlTreeNode*> anchors;
  const YamlTreeNode* root = nullptr;

  auto attach = [&](const YamlTreeNode* n) -> bool {
    if (stack.empty()) {
      root = n;
      return true;
    }
    Open& top = stack.back();
    if (top.node->kind == YamlTreeNode::Kind::Seq) {
      top.node->seq.push_back(n);
    } else if (!top.key) {
      top.key = n;
    } else {
      top.node->map.emplace_back(top.key, n);
      top.key = nullptr;
    }
    return true;
  };
  auto remember = [&](const yaml_char_t* anchor, const YamlTreeNode* n) {
    if (anchor) anchors[reinterpret_cast<const char*>(anchor)] = n;
  };

  for (;;) {
    yaml_event_t e;
    if (!yaml_parser_parse(&parser, &e)) {
      // Reader errors (bad UTF-8, control characters) give an offset, not a mark.
      int line = parser.error == YAML_READER_ERROR ? line_of_offset(text, parser.problem_offset)
                                                   : static_cast<int>(parser.problem_mark.line) + 1;
      std::string msg = "invalid YAML: ";
      msg += parser.problem ? parser.problem : "syntax error";
      if (parser.context) {
        msg += " ";
        msg += parser.context;
      }
      return make_error(file, line, msg);
    }
    std::unique_ptr<yaml_event_t, void (*)(yaml_event_t*)> event_guard(&e, yaml_event_delete);
    int line = static_cast<int>(e.start_mark.line) + 1;
    switch (e.type) {
      case YAML_STREAM_END_EVENT:
        return out;
      case YAML_DOCUMENT_START_EVENT:
        root = nullptr;
        anchors.clear();  // anchors do not reach across documents
        break;
      case YAML_DOCUMENT_END_EVENT:
        if (!root) {
          YamlTreeNode& n = out.nodes_.emplace_back();
          n.line = line;
          root = &n;
        }
        out.documents_.push_back(root);
        break;
      case YAML_SCALAR_EVENT: {
        YamlTreeNode& n = out.nodes_.emplace_back();
        n.line = line;
        if (is_null_scalar(e)) {
          n.kind = YamlTreeNode::Kind::Null;
        } else {
          n.kind = YamlTreeNode::Kind::Scalar;
          n.scalar.assign(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
          n.plain = e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !e.data.scalar.tag;
        }
        remember(e.data.scalar.anchor, &n);
        attach(&n);
        break;
      }
      case YAML_ALIAS_EVENT: {
        auto it = anchors.find(reinterpret_cast<const char*>(e.data.alias.anchor));
        if (it == anchors.end())
          return make_error(file, line,
                            std::string("invalid YAML: unknown alias *") +
                                reinterpret_cast<const char*>(e.data.alias.anchor));
        attach(it->second);
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        if (stack.size() >= max_depth)
          return make_error(file, line,
                            "input nests deeper than " + std::to_string(max_depth) + " levels");
        YamlTreeNode& n = out.nodes_.emplace_back();
        n.line = line;
        bool seq = e.type == YAML_SEQUENCE_START_EVENT;
        n.kind = seq ? YamlTreeNode::Kind::Seq : YamlTreeNode::Kind::Map;
        remember(seq ? e.data.sequence_start.anchor : e.data.mapping_start.anchor, &n);
        attach(&n);
        stack.push_back({&n});
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        if (!stack.empty()) stack.pop_back();
        break;
      default:
        break;
    }
  }
}

}  // namespace stockade::input
