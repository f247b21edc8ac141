#include "input/loader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <tuple>

#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include "input/decode.h"
#include "input/node_adapters.h"
#include "input/text_scan.h"

namespace stockade {

namespace {

constexpr size_t kMaxNesting = 1000;
constexpr uint64_t kMaxFileBytes = uint64_t{4} << 30;  // 4 GiB

Result<std::string> read_file(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxFileBytes) return make_error(path, 0, "file is larger than 4 GiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(path, 0, "cannot open file");
  std::string text;
  if (!ec) text.reserve(size);
  text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return make_error(path, 0, "read error");
  return text;
}

std::string yaml_message(const YAML::Exception& e) {
  // yaml-cpp prefixes "yaml-cpp: error at line L, column C: msg"; keep only msg.
  std::string m = e.msg;
  return m.empty() ? std::string("invalid YAML") : "invalid YAML: " + m;
}

Result<void> decode_yaml(std::string_view text, input::DecodeContext& ctx) {
  if (input::yaml_nesting_estimate(text) > kMaxNesting)
    return make_error(ctx.file, 0,
                      "input nests deeper than " + std::to_string(kMaxNesting) + " levels");
  std::vector<YAML::Node> docs;
  try {
    std::string s(text);
    std::istringstream in(s);
    docs = YAML::LoadAll(in);
  } catch (const YAML::Exception& e) {
    return make_error(ctx.file, e.mark.line >= 0 ? e.mark.line + 1 : 0, yaml_message(e));
  }
  // Budget against alias expansion: plenty for any real manifest, bounded for hostile input.
  input::VisitBudget budget{text.size() * 4 + 100000};
  for (const YAML::Node& doc : docs) {
    try {
      auto r = input::decode_document(input::YamlNode(doc, &budget), ctx);
      if (!r) return r;
    } catch (const YAML::Exception& e) {
      return make_error(ctx.file, e.mark.line >= 0 ? e.mark.line + 1 : 0, yaml_message(e));
    }
  }
  return {};
}

// JSON goes through simdjson. The DOM keeps no positions, so when a JSON file fails to
// decode, it is decoded once more through the YAML path (JSON is YAML) to name the line.
Result<void> decode_json(std::string_view text, input::DecodeContext& ctx) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  auto err = parser.parse(padded).get(root);
  std::vector<simdjson::dom::element> docs;
  simdjson::dom::document_stream stream;
  if (err == simdjson::TRAILING_CONTENT) {
    // Several JSON documents one after another (e.g. concatenated `kubectl get -o json`).
    if (parser.parse_many(padded, std::max<size_t>(padded.size(), 1 << 20)).get(stream) ==
        simdjson::SUCCESS) {
      err = simdjson::SUCCESS;
      for (auto it = stream.begin(); it != stream.end(); ++it) {
        simdjson::dom::element e;
        if ((*it).get(e) != simdjson::SUCCESS) {
          err = (*it).error();
          break;
        }
        input::DecodeContext sub = ctx;
        auto r = input::decode_document(input::JsonNode(e), sub);
        if (!r) {
          err = simdjson::SUCCESS;
          // Find the line through the YAML path; fall back to the line-less error.
          input::DecodeContext again = ctx;
          ClusterState scratch;
          again.state = &scratch;
          auto y = decode_yaml(text, again);
          if (!y && y.error().line > 0) return y;
          return r;
        }
      }
      if (err == simdjson::SUCCESS) return {};
    }
  }
  if (err != simdjson::SUCCESS) {
    // Let the YAML parser find where the text breaks; JSON-like YAML (flow style, comments)
    // is accepted that way too.
    auto y = decode_yaml(text, ctx);
    if (y) return y;
    if (y.error().line > 0) return y;
    return make_error(ctx.file, 0, std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  ClusterState staged;
  input::DecodeContext staged_ctx = ctx;
  staged_ctx.state = &staged;
  auto r = input::decode_document(input::JsonNode(root), staged_ctx);
  if (!r) {
    input::DecodeContext again = ctx;
    ClusterState scratch;
    again.state = &scratch;
    auto y = decode_yaml(text, again);
    if (!y && y.error().line > 0) return y;
    return r;
  }
  auto move_all = [](auto& from, auto& to) {
    if (to.empty()) {
      to = std::move(from);
    } else {
      to.insert(to.end(), std::make_move_iterator(from.begin()),
                std::make_move_iterator(from.end()));
    }
  };
  ClusterState& s = *ctx.state;
  move_all(staged.namespaces, s.namespaces);
  move_all(staged.nodes, s.nodes);
  move_all(staged.pods, s.pods);
  move_all(staged.workloads, s.workloads);
  move_all(staged.services, s.services);
  move_all(staged.network_policies, s.network_policies);
  move_all(staged.cluster_policies, s.cluster_policies);
  for (auto& [k, n] : staged.skipped_kinds) s.skipped_kinds[k] += n;
  return {};
}

bool manifest_extension(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

// Keeps the last object of each key, in first-seen order, then sorts.
template <class T, class KeyFn>
void dedup_sort(std::vector<T>& v, KeyFn key) {
  std::map<decltype(key(v[0])), size_t> last;
  for (size_t i = 0; i < v.size(); ++i) last[key(v[i])] = i;
  std::vector<T> out;
  out.reserve(last.size());
  for (auto& [k, i] : last) out.push_back(std::move(v[i]));
  v = std::move(out);  // std::map iteration order is the sort order of the key
}

}  // namespace

ClusterLoader::ClusterLoader(LoadOptions options) : options_(std::move(options)) {}

Result<void> ClusterLoader::add_text(std::string_view text, const std::string& name) {
  input::DecodeContext ctx{name, &options_, &state_};
  if (text.find('\0') != std::string_view::npos)
    return make_error(name, input::line_of_offset(text, text.find('\0')),
                      "binary data (NUL byte) in manifest");
  if (input::looks_like_json(text)) return decode_json(text, ctx);
  return decode_yaml(text, ctx);
}

Result<void> ClusterLoader::add_path(const std::string& path) {
  if (path == "-") {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return add_text(text, "<stdin>");
  }
  std::error_code ec;
  auto st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) return make_error(path, 0, "no such file or directory");
  if (std::filesystem::is_directory(st)) {
    std::vector<std::filesystem::path> files;
    std::filesystem::recursive_directory_iterator it(
        path, std::filesystem::directory_options::skip_permission_denied, ec);
    if (ec) return make_error(path, 0, "cannot read directory: " + ec.message());
    for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) return make_error(path, 0, "cannot read directory: " + ec.message());
      if (it->is_regular_file(ec) && manifest_extension(it->path())) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      auto r = add_path(f.string());
      if (!r) return r;
    }
    return {};
  }
  auto text = read_file(path);
  if (!text) return tl::unexpected(text.error());
  return add_text(*text, path);
}

ClusterState ClusterLoader::finish() && {
  ClusterState& s = state_;
  dedup_sort(s.namespaces, [](const Namespace& n) { return n.name; });
  dedup_sort(s.nodes, [](const Node& n) { return n.name; });
  dedup_sort(s.pods, [](const Pod& p) { return std::make_tuple(p.ns, p.name); });
  dedup_sort(s.workloads, [](const Workload& w) { return std::make_tuple(w.ns, w.name, w.kind); });
  dedup_sort(s.services, [](const Service& v) { return std::make_tuple(v.ns, v.name); });
  dedup_sort(s.network_policies,
             [](const NetworkPolicy& p) { return std::make_tuple(p.ns, p.name); });
  dedup_sort(s.cluster_policies,
             [](const ClusterPolicy& p) { return std::make_tuple(p.kind, p.name); });
  return std::move(state_);
}

}  // namespace stockade
