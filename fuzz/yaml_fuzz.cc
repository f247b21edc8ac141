// Fuzzes the YAML side of the manifest loader as Kubernetes reads YAML (go-yaml v2 through
// sigs.k8s.io/yaml): merge keys, duplicate keys, YAML 1.1 integers and booleans, aliases,
// tags; run with fuzz/yaml.dict (YAML 1.1 tokens). Any crash, hang, sanitizer report or leak
// is a bug, and so is a loaded tree that breaks what the loader promises: no map holds a key
// twice once merges are expanded, and an integer reads the same however it is written.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "input/loader.h"
#include "input/yaml_tree.h"

namespace {

void check_tree(const stockade::input::YamlTreeNode* n, size_t& budget) {
  using Kind = stockade::input::YamlTreeNode::Kind;
  if (budget == 0) return;
  --budget;
  if (n->kind == Kind::Map) {
    std::set<std::string_view> keys;
    for (const auto& [k, v] : n->map) {
      if (k->kind == Kind::Scalar && !keys.insert(k->scalar).second) __builtin_trap();
      if (k->merge) __builtin_trap();  // expanded, never left in a map
      check_tree(v, budget);
    }
  } else if (n->kind == Kind::Seq) {
    for (const auto* v : n->seq) check_tree(v, budget);
  } else if (n->kind == Kind::Scalar && n->plain) {
    // An integer written in decimal reads back as itself.
    if (auto i = stockade::input::yaml11_int(n->scalar)) {
      if (stockade::input::yaml11_int(std::to_string(*i)) != *i) __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto stream = stockade::input::YamlStream::parse(text, "fuzz.yaml", 64);
  if (stream) {
    size_t budget = 100000;  // aliases are shared nodes: bound the walk
    for (const auto* doc : stream->documents()) check_tree(doc, budget);
  } else if (stream.error().file != "fuzz.yaml") {
    __builtin_trap();
  }
  stockade::LoadOptions o;
  o.report_unknown_fields = true;
  stockade::ClusterLoader loader(o);
  auto r = loader.add_text(text, "fuzz.yaml");
  if (!r && r.error().file != "fuzz.yaml") __builtin_trap();
  return 0;
}
