#include "input/loader.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <map>
#include <thread>
#include <tuple>

#include <simdjson.h>
#include <sys/mman.h>

#include "input/decode.h"
#include "input/node_adapters.h"
#include "input/text_scan.h"
#include "input/yaml_tree.h"

namespace stockade {

namespace {

constexpr size_t kMaxNesting = 512;
constexpr uint64_t kMaxFileBytes = uint64_t{4} << 30;  // 4 GiB

void advise_huge_pages(void* p, size_t n) {
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  if (n < 4 * kHuge) return;
  uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

// Reads a whole file into a buffer padded for simdjson (no copy needed before parsing).
Result<simdjson::padded_string> read_file(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxFileBytes) return make_error(path, 0, "file is larger than 4 GiB");
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return make_error(path, 0, std::string("cannot open file: ") + std::strerror(errno));
  std::string data;
  if (!ec) {
    simdjson::padded_string buf(size);
    advise_huge_pages(buf.data(), size);
    size_t got = std::fread(buf.data(), 1, size, f);
    int next = std::fgetc(f);
    if (got == size && next == EOF) {
      std::fclose(f);
      return buf;
    }
    // A pseudo-file that reports size 0, or a file that grew: read the rest in chunks.
    data.assign(buf.data(), got);
    if (next != EOF) data.push_back(static_cast<char>(next));
  }
  // Not a regular file (a pipe, /dev/stdin) or one that changed size: read in chunks.
  char chunk[1 << 16];
  for (size_t n; (n = std::fread(chunk, 1, sizeof chunk, f)) > 0;) {
    data.append(chunk, n);
    if (data.size() > kMaxFileBytes) {
      std::fclose(f);
      return make_error(path, 0, "file is larger than 4 GiB");
    }
  }
  bool failed = std::ferror(f);
  std::fclose(f);
  if (failed) return make_error(path, 0, "read error");
  return simdjson::padded_string(data);
}

Result<void> decode_yaml(std::string_view text, input::DecodeContext& ctx) {
  auto stream = input::YamlStream::parse(text, ctx.file, kMaxNesting);
  if (!stream) return tl::unexpected(stream.error());
  // Budget against alias expansion: plenty for any real manifest, bounded for hostile input.
  input::VisitBudget budget{text.size() * 4 + 100000};
  for (const input::YamlTreeNode* doc : stream->documents()) {
    auto r = input::decode_document(input::YamlNode(doc, &budget), ctx);
    if (!r) return r;
  }
  return {};
}

// Decodes an already parsed JSON element into a staging state (so that a failed document
// adds nothing), then appends it.
Result<void> decode_json_element(simdjson::dom::element root, std::string_view text,
                                 input::DecodeContext& ctx);

// JSON goes through simdjson. The DOM keeps no positions, so when a JSON file fails to
// decode, it is decoded once more through the YAML path (JSON is YAML) to name the line.
Result<void> decode_json(const simdjson::padded_string& padded, input::DecodeContext& ctx) {
  std::string_view text(padded.data(), padded.size());
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.allocate(padded.size()) == simdjson::SUCCESS) {
    // Large dumps fault in hundreds of MB of parse buffers: ask for huge pages.
    advise_huge_pages(parser.doc.tape.get(), (padded.size() + 3) * sizeof(uint64_t));
    advise_huge_pages(parser.doc.string_buf.get(), 5 * padded.size() / 3);
  }
  auto err = parser.parse(padded).get(root);
  if (err == simdjson::SUCCESS) return decode_json_element(root, text, ctx);

  // Several JSON documents one after another (concatenated `kubectl get -o json` outputs).
  simdjson::dom::parser many_parser;
  simdjson::dom::document_stream stream;
  if (many_parser.parse_many(padded, std::max<size_t>(padded.size(), 1 << 16)).get(stream) ==
      simdjson::SUCCESS) {
    std::vector<std::string> docs;
    bool ok = true;
    for (auto it = stream.begin(); it != stream.end(); ++it) {
      simdjson::dom::element e;
      if ((*it).get(e) != simdjson::SUCCESS) {
        ok = false;
        break;
      }
      docs.push_back(simdjson::minify(e));
    }
    if (ok && docs.size() > 1) {
      for (const std::string& d : docs) {
        simdjson::dom::parser p;
        simdjson::dom::element e;
        if (p.parse(d).get(e) != simdjson::SUCCESS) break;
        auto r = decode_json_element(e, text, ctx);
        if (!r) return r;
      }
      return {};
    }
  }
  // Let the YAML parser find where the text breaks; JSON-like YAML (flow style, comments)
  // is accepted that way too.
  auto y = decode_yaml(text, ctx);
  if (y || y.error().line > 0) return y;
  return make_error(ctx.file, 0, std::string("invalid JSON: ") + simdjson::error_message(err));
}

void append_state(ClusterState& from, ClusterState& to) {
  auto move_all = [](auto& src, auto& dst) {
    if (dst.empty()) {
      dst = std::move(src);
    } else {
      dst.insert(dst.end(), std::make_move_iterator(src.begin()),
                 std::make_move_iterator(src.end()));
    }
  };
  move_all(from.namespaces, to.namespaces);
  move_all(from.nodes, to.nodes);
  move_all(from.pods, to.pods);
  move_all(from.workloads, to.workloads);
  move_all(from.services, to.services);
  move_all(from.endpoint_slices, to.endpoint_slices);
  move_all(from.network_policies, to.network_policies);
  move_all(from.cluster_policies, to.cluster_policies);
  move_all(from.ingresses, to.ingresses);
  move_all(from.routes, to.routes);
  move_all(from.service_accounts, to.service_accounts);
  move_all(from.secrets, to.secrets);
  move_all(from.roles, to.roles);
  move_all(from.bindings, to.bindings);
  for (auto& [k, n] : from.skipped_kinds) to.skipped_kinds[k] += n;
}

// Decodes `items[begin, end)` of a List into `out`.
Result<void> decode_items(const std::vector<simdjson::dom::element>& items, size_t begin,
                          size_t end, const input::DecodeContext& ctx, ClusterState& out) {
  input::DecodeContext c = ctx;
  c.state = &out;
  for (size_t i = begin; i < end; ++i) {
    auto r = input::decode_document(input::JsonNode(items[i]), c);
    if (!r) return r;
  }
  return {};
}

Result<void> decode_json_element(simdjson::dom::element root, std::string_view text,
                                 input::DecodeContext& ctx) {
  ClusterState staged;
  Result<void> r;
  // A large List (a cluster dump) is decoded by two threads, each into its own state; the
  // halves are appended in order, so the result is the same as one pass.
  simdjson::dom::array items_array;
  std::string_view kind;
  std::vector<simdjson::dom::element> items;
  if (root["kind"].get(kind) == simdjson::SUCCESS && kind == "List" &&
      root["items"].get(items_array) == simdjson::SUCCESS && items_array.size() >= 2048) {
    items.reserve(items_array.size());
    for (simdjson::dom::element e : items_array) items.push_back(e);
    ClusterState second;
    Result<void> r2;
    size_t half = items.size() / 2;
    std::thread worker([&] { r2 = decode_items(items, half, items.size(), ctx, second); });
    r = decode_items(items, 0, half, ctx, staged);
    worker.join();
    if (r && !r2) r = r2;
    if (r) append_state(second, staged);
  } else {
    input::DecodeContext staged_ctx = ctx;
    staged_ctx.state = &staged;
    r = input::decode_document(input::JsonNode(root), staged_ctx);
  }
  if (!r) {
    input::DecodeContext again = ctx;
    ClusterState scratch;
    again.state = &scratch;
    auto y = decode_yaml(text, again);
    if (!y && y.error().line > 0 && y.error().message == r.error().message) return y;
    return r;
  }
  append_state(staged, *ctx.state);
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
  simdjson::padded_string padded(text);
  return add_padded(padded, name);
}

Result<void> ClusterLoader::add_padded(const simdjson::padded_string& text,
                                       const std::string& name) {
  input::DecodeContext ctx{name, &options_, &state_};
  std::string_view view(text.data(), text.size());
  if (size_t nul = view.find('\0'); nul != std::string_view::npos)
    return make_error(name, input::line_of_offset(view, nul), "binary data (NUL byte) in manifest");
  if (input::looks_like_json(view)) return decode_json(text, ctx);
  return decode_yaml(view, ctx);
}

Result<void> ClusterLoader::add_path(const std::string& path) {
  if (path == "-") {
    auto text = read_file("/dev/stdin");
    if (!text) return make_error("<stdin>", 0, text.error().message);
    return add_padded(*text, "<stdin>");
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
  return add_padded(*text, path);
}

ClusterState ClusterLoader::finish() && {
  ClusterState& s = state_;
  dedup_sort(s.namespaces, [](const Namespace& n) { return n.name; });
  dedup_sort(s.nodes, [](const Node& n) { return n.name; });
  dedup_sort(s.pods, [](const Pod& p) { return std::make_tuple(p.ns, p.name); });
  dedup_sort(s.workloads, [](const Workload& w) { return std::make_tuple(w.ns, w.name, w.kind); });
  dedup_sort(s.services, [](const Service& v) { return std::make_tuple(v.ns, v.name); });
  dedup_sort(s.endpoint_slices,
             [](const EndpointSlice& v) { return std::make_tuple(v.ns, v.name); });
  dedup_sort(s.network_policies,
             [](const NetworkPolicy& p) { return std::make_tuple(p.ns, p.name); });
  dedup_sort(s.cluster_policies,
             [](const ClusterPolicy& p) { return std::make_tuple(p.kind, p.name); });
  dedup_sort(s.ingresses, [](const Ingress& v) { return std::make_tuple(v.ns, v.name); });
  dedup_sort(s.routes, [](const GatewayRoute& v) { return std::make_tuple(v.kind, v.ns, v.name); });
  dedup_sort(s.service_accounts,
             [](const ServiceAccount& v) { return std::make_tuple(v.ns, v.name); });
  dedup_sort(s.secrets, [](const Secret& v) { return std::make_tuple(v.ns, v.name); });
  dedup_sort(s.roles,
             [](const RbacRole& v) { return std::make_tuple(v.cluster_scoped, v.ns, v.name); });
  dedup_sort(s.bindings,
             [](const RbacBinding& v) { return std::make_tuple(v.cluster_scoped, v.ns, v.name); });
  return std::move(state_);
}

}  // namespace stockade
