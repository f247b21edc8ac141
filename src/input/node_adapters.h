// Two views of a parsed document behind one duck-typed interface, so that object decoding is
// written once: YAML (libyaml events built into a tree, with line numbers) and JSON (simdjson
// DOM, the fast path).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "input/yaml_tree.h"

namespace stockade::input {

// Bounds the work done on one document: YAML aliases can make a small text expand into a huge
// tree ("billion laughs"); every visited node is charged here.
struct VisitBudget {
  uint64_t remaining = 0;
  bool exhausted = false;
  bool charge() {
    if (remaining == 0) {
      exhausted = true;
      return false;
    }
    --remaining;
    return true;
  }
};

class YamlNode {
 public:
  YamlNode(const YamlTreeNode* n, VisitBudget* budget) : n_(n), budget_(budget) {}

  bool is_null() const { return n_->kind == YamlTreeNode::Kind::Null; }
  bool is_map() const { return n_->kind == YamlTreeNode::Kind::Map; }
  bool is_seq() const { return n_->kind == YamlTreeNode::Kind::Seq; }
  bool is_scalar() const { return n_->kind == YamlTreeNode::Kind::Scalar; }
  int line() const { return n_->line; }

  // A quoted scalar, or a plain one that go-yaml resolves to a string: an unquoted `true`,
  // `1.0` or `0x1F` is a boolean or a number to the API server (sigs.k8s.io/yaml converts
  // YAML to JSON without the target's types), which a string field refuses.
  std::optional<std::string_view> as_string() const {
    if (!is_scalar()) return std::nullopt;
    if (n_->plain && yaml11_type(n_->scalar) != Yaml11Type::String) return std::nullopt;
    return std::string_view(n_->scalar);
  }
  // What a value is, for messages: "a string", "a boolean", "a number", "a map"...
  const char* type_name() const {
    switch (n_->kind) {
      case YamlTreeNode::Kind::Null:
        return "null";
      case YamlTreeNode::Kind::Map:
        return "a map";
      case YamlTreeNode::Kind::Seq:
        return "a list";
      case YamlTreeNode::Kind::Scalar:
        break;
    }
    if (!n_->plain) return "a string";
    switch (yaml11_type(n_->scalar)) {
      case Yaml11Type::Bool:
        return "a boolean";
      case Yaml11Type::Int:
      case Yaml11Type::Float:
        return "a number";
      case Yaml11Type::String:
        break;
    }
    return "a string";
  }
  // Only plain (unquoted) scalars that are integers as YAML 1.1 reads them (yaml11_int).
  std::optional<int64_t> as_int() const {
    if (!is_scalar() || !n_->plain) return std::nullopt;
    return yaml11_int(n_->scalar);
  }
  std::optional<bool> as_bool() const {
    if (!is_scalar() || !n_->plain) return std::nullopt;
    return yaml11_bool(n_->scalar);
  }
  // An integer or a finite float, as a Go float64 field reads it (a quoted one is a string).
  std::optional<double> as_number() const {
    if (!is_scalar() || !n_->plain) return std::nullopt;
    return yaml11_number(n_->scalar);
  }

  std::optional<YamlNode> get(std::string_view key) const {
    if (!is_map()) return std::nullopt;
    for (const auto& [k, v] : n_->map) {
      if (!budget_->charge()) return std::nullopt;
      if (k->kind == YamlTreeNode::Kind::Scalar && k->scalar == key) return YamlNode(v, budget_);
    }
    return std::nullopt;
  }
  // f(std::string_view key, YamlNode value) -> bool (false stops)
  template <class F>
  bool fields(F&& f) const {
    if (!is_map()) return true;
    std::string converted;
    for (const auto& [k, v] : n_->map) {
      if (!budget_->charge()) return false;
      std::string_view key =
          k->kind == YamlTreeNode::Kind::Scalar ? std::string_view(k->scalar) : "";
      // A plain key go-yaml reads as a boolean or a number becomes its JSON text (`on` is the
      // label key "true", `0x1F` is "31"), as sigs.k8s.io/yaml converts it.
      if (k->plain && !key.empty() && yaml11_type(key) != Yaml11Type::String) {
        converted = yaml11_key(key);
        key = converted;
      }
      if (!f(key, YamlNode(v, budget_))) return false;
    }
    return true;
  }
  template <class F>
  bool items(F&& f) const {
    if (!is_seq()) return true;
    for (const YamlTreeNode* v : n_->seq) {
      if (!budget_->charge()) return false;
      if (!f(YamlNode(v, budget_))) return false;
    }
    return true;
  }
  bool budget_exhausted() const { return budget_->exhausted; }

 private:
  const YamlTreeNode* n_;
  VisitBudget* budget_;
};

class JsonNode {
 public:
  explicit JsonNode(simdjson::dom::element e) : e_(e) {}

  bool is_null() const { return e_.is_null(); }
  bool is_map() const { return e_.is_object(); }
  bool is_seq() const { return e_.is_array(); }
  bool is_scalar() const { return !e_.is_object() && !e_.is_array() && !e_.is_null(); }
  int line() const { return 0; }  // the DOM keeps no positions; see loader.cc

  std::optional<std::string_view> as_string() const {
    std::string_view s;
    if (e_.get_string().get(s) != simdjson::SUCCESS) return std::nullopt;
    return s;
  }
  const char* type_name() const {
    switch (e_.type()) {
      case simdjson::dom::element_type::ARRAY:
        return "a list";
      case simdjson::dom::element_type::OBJECT:
        return "a map";
      case simdjson::dom::element_type::STRING:
        return "a string";
      case simdjson::dom::element_type::BOOL:
        return "a boolean";
      case simdjson::dom::element_type::NULL_VALUE:
        return "null";
      default:
        return "a number";
    }
  }
  std::optional<int64_t> as_int() const {
    int64_t v;
    if (e_.get_int64().get(v) != simdjson::SUCCESS) return std::nullopt;
    return v;
  }
  std::optional<bool> as_bool() const {
    bool v;
    if (e_.get_bool().get(v) != simdjson::SUCCESS) return std::nullopt;
    return v;
  }
  std::optional<double> as_number() const {
    double v;
    if (e_.get_double().get(v) != simdjson::SUCCESS) return std::nullopt;
    return v;
  }
  bool is_int_like() const { return as_int().has_value(); }

  std::optional<JsonNode> get(std::string_view key) const {
    simdjson::dom::object o;
    if (e_.get_object().get(o) != simdjson::SUCCESS) return std::nullopt;
    simdjson::dom::element v;
    if (o.at_key(key).get(v) != simdjson::SUCCESS) return std::nullopt;
    return JsonNode(v);
  }
  template <class F>
  bool fields(F&& f) const {
    simdjson::dom::object o;
    if (e_.get_object().get(o) != simdjson::SUCCESS) return true;
    for (auto kv : o)
      if (!f(kv.key, JsonNode(kv.value))) return false;
    return true;
  }
  template <class F>
  bool items(F&& f) const {
    simdjson::dom::array a;
    if (e_.get_array().get(a) != simdjson::SUCCESS) return true;
    for (simdjson::dom::element v : a)
      if (!f(JsonNode(v))) return false;
    return true;
  }
  bool budget_exhausted() const { return false; }

 private:
  simdjson::dom::element e_;
};

}  // namespace stockade::input
