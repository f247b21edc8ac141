#include "input/loader.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <tuple>
#include <vector>

#include <fcntl.h>
#include <simdjson.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mapped_file.h"
#include "core/progress.h"
#include "core/read_text.h"
#include "core/side_by_side.h"
#include "input/decode.h"
#include "input/node_adapters.h"
#include "input/state_order.h"
#include "input/text_scan.h"
#include "input/yaml_tree.h"

namespace stockade {

namespace {

constexpr size_t kMaxNesting = 512;
constexpr uint64_t kMaxFileBytes = uint64_t{4} << 30;  // 4 GiB
// A YAML stream of at least this size (a file's, or a pipe's bytes so far) shows progress
// (LoadOptions::progress): smaller ones are decoded before a line would be worth drawing.
constexpr uint64_t kYamlProgressBytes = uint64_t{4} << 20;
// As main()'s new handler says it.
constexpr const char* kOutOfMemory =
    "out of memory (the input is too large for the memory available)";

void advise_huge_pages(void* p, size_t n) {
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  if (n < 4 * kHuge) return;
  uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

// A file's whole text, followed by simdjson::SIMDJSON_PADDING readable bytes (so that it is
// parsed where it is). A regular file is mapped: no copy, and its pages are the page cache's
// rather than the process's own. Anything else (a pipe, stdin, a pseudo-file) is read.
class FileText {
 public:
  FileText() = default;
  // `s` holds the text and then the padding (its size minus `size`).
  FileText(std::string s, size_t size) : read_(std::move(s)), size_(size) {}
  // A truncation while it is read is an error naming the file (MappedRegion).
  FileText(void* map, size_t map_len, size_t size, const std::string& path)
      : map_(map),
        map_len_(map_len),
        size_(size),
        region_(std::make_unique<MappedRegion>(map, size, path)) {}
  // Anonymous memory (GrownText): no file behind it to be truncated.
  FileText(void* map, size_t map_len, size_t size) : map_(map), map_len_(map_len), size_(size) {}
  FileText(FileText&& o) noexcept
      : read_(std::move(o.read_)),
        map_(o.map_),
        map_len_(o.map_len_),
        size_(o.size_),
        region_(std::move(o.region_)) {
    o.map_ = nullptr;
  }
  FileText& operator=(FileText&&) = delete;
  ~FileText() {
    region_.reset();
    if (map_) ::munmap(map_, map_len_);
  }
  simdjson::padded_string_view view() const {
    if (map_) return simdjson::padded_string_view(static_cast<const char*>(map_), size_, map_len_);
    return simdjson::padded_string_view(read_.data(), size_, read_.size());
  }

 private:
  std::string read_;
  void* map_ = nullptr;
  size_t map_len_ = 0, size_ = 0;
  std::unique_ptr<MappedRegion> region_;
};

// Maps a regular file of `size` bytes and the zero pages that pad it; nullopt when mapping
// fails (the caller reads it instead).
std::optional<FileText> map_file(int fd, size_t size, const std::string& path) {
  static const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t len = (size + simdjson::SIMDJSON_PADDING + kPage - 1) / kPage * kPage;
  // Anonymous zero pages first, then the file over their start: the padding past the file's
  // last page stays readable.
  void* region = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) return std::nullopt;
  if (::mmap(region, size, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, fd, 0) ==
      MAP_FAILED) {
    ::munmap(region, len);
    return std::nullopt;
  }
  return FileText(region, len, size, path);
}

// Anonymous memory grown with mremap as a pipe is read: growing moves page tables, never the
// bytes, so N bytes read cost N bytes (a std::string that doubles holds its old and new buffers
// while it copies: 1.5 times the input at the worst moment).
class GrownText {
 public:
  ~GrownText() {
    if (p_) ::munmap(p_, cap_);
  }
  // Room for `n` more bytes and the padding; false when the memory cannot be had.
  bool reserve(size_t n) {
    const size_t need = size_ + n + simdjson::SIMDJSON_PADDING;
    if (need <= cap_) return true;
    size_t cap = std::max<size_t>(need, cap_ ? cap_ * 2 : size_t{1} << 20);
    void* p = p_ ? ::mremap(p_, cap_, cap, MREMAP_MAYMOVE)
                 : ::mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    p_ = p;
    cap_ = cap;
    return true;
  }
  void append(const char* b, size_t n) {
    std::memcpy(static_cast<char*>(p_) + size_, b, n);
    size_ += n;
  }
  char* end() { return static_cast<char*>(p_) + size_; }
  void grew(size_t n) { size_ += n; }
  size_t size() const { return size_; }
  // The text, padded with zeros (fresh anonymous pages are zero).
  FileText release() {
    if (!p_) reserve(0);
    FileText t(p_, cap_, size_);
    p_ = nullptr;
    return t;
  }

 private:
  void* p_ = nullptr;
  size_t cap_ = 0, size_ = 0;
};

Result<size_t> read_some(int fd, char* buf, size_t n, const std::string& name) {
  for (;;) {
    ssize_t r = ::read(fd, buf, n);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno != EINTR)
      return make_error(name, 0, std::string("read error: ") + std::strerror(errno));
  }
}

// A pipe's bytes for the YAML parser, as it asks for them: first the part already read (the
// start of the first line that is not blank), then the rest of the pipe. It remembers the last
// two pieces it gave, so that a reader error's offset still finds its line.
class PipeSource final : public input::YamlSource {
 public:
  PipeSource(int fd, std::string name, std::string head, int skipped_lines)
      : fd_(fd), name_(std::move(name)), head_(std::move(head)), skipped_(skipped_lines) {}
  Result<size_t> read(char* buf, size_t n) override {
    size_t got = 0;
    if (head_pos_ < head_.size()) {
      got = std::min(n, head_.size() - head_pos_);
      std::memcpy(buf, head_.data() + head_pos_, got);
      head_pos_ += got;
    } else {
      auto r = read_some(fd_, buf, n, name_);
      if (!r) return r;
      got = *r;
      read_ += got;
      if (on_read_) on_read_(read_);
    }
    std::string_view piece(buf, got);
    if (size_t nul = piece.find('\0'); nul != std::string_view::npos)
      return make_error(name_, skipped_ + lines_ + input::line_of_offset(piece, nul),
                        "binary data (NUL byte) in manifest");
    prev_ = std::move(cur_);
    cur_ = Piece{given_, lines_, std::string(piece)};
    lines_ += static_cast<int>(std::count(piece.begin(), piece.end(), '\n'));
    given_ += got;
    return got;
  }
  // Called after each read of the pipe with the bytes read from it so far (progress).
  void on_read(std::function<void(uint64_t)> f) { on_read_ = std::move(f); }
  int line_of(size_t offset) const override {
    for (const Piece* p : {&cur_, &prev_})
      if (offset >= p->start && offset <= p->start + p->bytes.size())
        return p->lines_before + input::line_of_offset(p->bytes, offset - p->start);
    return 0;
  }

 private:
  struct Piece {
    size_t start = 0;
    int lines_before = 0;
    std::string bytes;
  };
  int fd_;
  std::string name_, head_;
  size_t head_pos_ = 0, given_ = 0;
  uint64_t read_ = 0;
  std::function<void(uint64_t)> on_read_;
  int skipped_ = 0, lines_ = 0;
  Piece prev_, cur_;
};

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

bool decode_large_list(simdjson::padded_string_view text, input::DecodeContext& ctx, bool mapped);

// JSON goes through simdjson. The DOM keeps no positions, so when a JSON file fails to
// decode, it is decoded once more through the YAML path (JSON is YAML) to name the line.
// `mapped`: the text is a file's mapping (decode_large_list).
Result<void> decode_json(simdjson::padded_string_view padded, input::DecodeContext& ctx,
                         bool mapped) {
  std::string_view text = padded;
  if (decode_large_list(padded, ctx, mapped)) return {};
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.allocate(padded.size()) == simdjson::SUCCESS) {
    // Large dumps fault in hundreds of MB of parse buffers: ask for huge pages.
    advise_huge_pages(parser.doc.tape.get(), (padded.size() + 3) * sizeof(uint64_t));
    advise_huge_pages(parser.doc.string_buf.get(), 5 * padded.size() / 3);
  }
  auto err = parser.parse(padded.data(), padded.size(), false).get(root);
  if (err == simdjson::SUCCESS) return decode_json_element(root, text, ctx);

  // Several JSON documents one after another (concatenated `kubectl get -o json` outputs).
  simdjson::dom::parser many_parser;
  simdjson::dom::document_stream stream;
  if (many_parser.parse_many(padded.data(), padded.size(), std::max<size_t>(padded.size(), 1 << 16))
          .get(stream) == simdjson::SUCCESS) {
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

template <class MoveAll>
void append_all_but_pods(ClusterState& from, ClusterState& to, MoveAll& move_all) {
  move_all(from.namespaces, to.namespaces);
  move_all(from.nodes, to.nodes);
  move_all(from.workloads, to.workloads);
  move_all(from.services, to.services);
  move_all(from.endpoint_slices, to.endpoint_slices);
  move_all(from.network_policies, to.network_policies);
  move_all(from.cluster_policies, to.cluster_policies);
  move_all(from.cilium_policies, to.cilium_policies);
  move_all(from.calico_policies, to.calico_policies);
  move_all(from.calico_tiers, to.calico_tiers);
  move_all(from.calico_network_sets, to.calico_network_sets);
  move_all(from.ingresses, to.ingresses);
  move_all(from.routes, to.routes);
  move_all(from.monitors, to.monitors);
  move_all(from.service_accounts, to.service_accounts);
  move_all(from.secrets, to.secrets);
  move_all(from.roles, to.roles);
  move_all(from.bindings, to.bindings);
  for (auto& [k, n] : from.skipped_kinds) to.skipped_kinds[k] += n;
  for (auto& [k, n] : from.unevaluated_policies) to.unevaluated_policies[k] += n;
  for (auto& [k, n] : from.unknown_fields) to.unknown_fields[k] += n;
}

// `two_threads`: the pods (most of a large cluster's objects, whose vector grows and moves
// them) are moved beside the rest.
void append_state(ClusterState& from, ClusterState& to, bool two_threads = false) {
  auto move_all = [](auto& src, auto& dst) {
    if (dst.empty()) {
      dst = std::move(src);
    } else {
      dst.insert(dst.end(), std::make_move_iterator(src.begin()),
                 std::make_move_iterator(src.end()));
    }
  };
  side_by_side_if(
      two_threads, [&] { move_all(from.pods, to.pods); },
      [&] { append_all_but_pods(from, to, move_all); });
}

// Decodes `items[begin, end)` of a List into `out`.
Result<void> decode_items(const std::vector<simdjson::dom::element>& items, size_t begin,
                          size_t end, const input::DecodeContext& ctx, ClusterState& out) {
  input::DecodeContext c = ctx;
  c.state = &out;
  for (size_t i = begin; i < end; ++i) {
    auto r = input::decode_document(input::JsonNode(items[i]), c, 1);
    if (!r) return r;
  }
  return {};
}

// The items of a large List: each item's span, from its first structural character to the
// comma or bracket after it, and the offsets of the items array's brackets.
struct ListItems {
  std::vector<std::pair<uint32_t, uint32_t>> spans;
  uint32_t open = 0, close = 0;
};

// Follows the structural characters of a List's text, a window at a time, to find the root's
// "items" array and its items. Inside an item only the nesting is followed. feed() returns
// false once the text is not of the shape this path reads (an error, `[]`, a second "items",
// text after the root): the whole-document path then decides.
class ListWalker {
 public:
  explicit ListWalker(const uint8_t* buf) : buf_(buf) {}

  // `pos`: the window's `n` structural characters, at offsets relative to `base`.
  bool feed(const uint32_t* pos, uint32_t n, uint32_t base) {
    static constexpr auto kNesting = [] {
      std::array<int8_t, 256> t{};
      t['{'] = t['['] = 1;
      t['}'] = t[']'] = -1;
      return t;
    }();
    const uint8_t* buf = buf_ + base;
    uint32_t k = 0;
    if (key_ != kNoKey && n > 0) {  // a root key ended the last window: is it "items"?
      if (!items_key(key_, base + pos[0])) return false;
      key_ = kNoKey;
    }
    for (; k < n; ++k) {
      if (depth_ > 2) {  // inside an item, or another value of the root: only the nesting
        do depth_ += kNesting[buf[pos[k++]]];
        while (depth_ > 2 && k < n);
        if (k == n) break;
      }
      const uint8_t c = buf[pos[k]];
      if (depth_ == 0 && started_) return false;  // text after the root
      if (!started_ && c != '{') return false;
      started_ = true;
      if (items_ == kInside && depth_ == 2) {
        if (want_item_) {
          if (c == ',' || c == ']') return false;  // `[]`, `[,` or `,]`: not for this path
          start_ = base + pos[k];
          want_item_ = false;
        } else if (c == ',' || c == ']') {
          out_.spans.emplace_back(start_, base + pos[k]);
          want_item_ = c == ',';
          if (c == ']') {
            out_.close = base + pos[k];
            items_ = kAfter;
            depth_ = 1;
          }
          continue;
        }
      }
      if (!step(c, base + pos[k], k + 1 < n ? int64_t{base} + pos[k + 1] : -1)) return false;
    }
    return true;
  }

  // The items, when the text was a List of at least `min_items` items.
  bool finish(size_t min_items, ListItems& out) {
    if (depth_ != 0 || items_ != kAfter || key_ != kNoKey ||
        out_.spans.size() < std::max<size_t>(min_items, 1))
      return false;
    out = std::move(out_);
    return true;
  }

 private:
  static constexpr uint32_t kNoKey = UINT32_MAX;

  // One structural character outside the items (`next`: the offset of the one after it in
  // this window, -1 when it is the window's last).
  bool step(uint8_t c, uint32_t at, int64_t next) {
    switch (c) {
      case '{':
      case '[':
        if (items_ == kOpening) {
          if (c != '[') return false;
          items_ = kInside;
          want_item_ = true;
          out_.open = at;
        }
        ++depth_;
        break;
      case '}':
      case ']':
        if (--depth_ < 0) return false;
        break;
      case '"':
        if (depth_ != 1) break;
        if (next < 0) {  // the key's colon is in the next window
          key_ = at;
          break;
        }
        return items_key(at, static_cast<uint32_t>(next));
      default:
        if (items_ == kOpening && c != ':') return false;
        break;
    }
    return true;
  }

  // A string of the root at `at`, followed by the structural character at `next`: when it is
  // the key "items" (seven bytes: no escape can hide in them), the items array comes next.
  bool items_key(uint32_t at, uint32_t next) {
    if (buf_[next] == ':' && std::memcmp(buf_ + at, "\"items\"", 7) == 0 && at + 7 <= next) {
      if (items_ != kBefore) return false;
      items_ = kOpening;
    }
    return true;
  }

  const uint8_t* buf_;
  ListItems out_;
  enum { kBefore, kOpening, kInside, kAfter } items_ = kBefore;
  bool want_item_ = false, started_ = false;
  uint32_t start_ = 0, key_ = kNoKey;
  int64_t depth_ = 0;
};

// Finds a large List's items with simdjson's stage 1 run over one window of the text at a time:
// the structural index (4 bytes per structural character, a fifth of the text's size) is a
// window's, reused, rather than the whole file's. A window ends after a newline, which valid
// JSON holds only between tokens; a newline inside a string (invalid JSON) leaves that window
// with an unclosed string, an error like any other.
bool find_list_items(simdjson::padded_string_view text, const LoadOptions& options,
                     ListItems& out) {
  const size_t kWindow = std::max<size_t>(options.list_window_bytes, 1);
  const auto* buf = reinterpret_cast<const uint8_t*>(text.data());
  const size_t size = text.size();
  std::unique_ptr<simdjson::internal::dom_parser_implementation> index;
  if (simdjson::get_active_implementation()->create_dom_parser_implementation(
          std::min(size, kWindow), simdjson::DEFAULT_MAX_DEPTH, index) != simdjson::SUCCESS)
    return false;
  ListWalker walker(buf);
  for (size_t begin = 0; begin < size;) {
    size_t end = size;
    if (size - begin > kWindow) {
      const void* nl = ::memrchr(buf + begin, '\n', kWindow);
      if (!nl) nl = std::memchr(buf + begin + kWindow, '\n', size - begin - kWindow);
      if (nl) end = static_cast<size_t>(static_cast<const uint8_t*>(nl) - buf) + 1;
    }
    if (end - begin > index->capacity() && index->set_capacity(end - begin) != simdjson::SUCCESS)
      return false;
    const auto err = index->stage1(buf + begin, end - begin, simdjson::stage1_mode::regular);
    if (err == simdjson::EMPTY) {  // only blanks
      begin = end;
      continue;
    }
    if (err != simdjson::SUCCESS ||
        !walker.feed(index->structural_indexes.get(), index->n_structural_indexes,
                     static_cast<uint32_t>(begin)))
      return false;
    begin = end;
  }
  return walker.finish(options.split_list_items, out);
}

// Gives the pages of a mapped file back as a decoding thread leaves them behind (they are
// the page cache's: reading them again maps them again), so that the text and the objects
// decoded from it are not all resident at once. Only for text mapped from a file: anonymous
// memory would read back as zeros.
class PageRelease {
 public:
  PageRelease(const char* text, size_t from, bool enabled)
      : text_(text), done_(from), enabled_(enabled) {}
  // Everything before `offset` has been read for the last time.
  void upto(size_t offset, bool last = false) {
    static const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    constexpr size_t kBatch = size_t{16} << 20;
    if (!enabled_ || (offset < done_ + kBatch && !last)) return;
    const auto base = reinterpret_cast<uintptr_t>(text_);
    const uintptr_t lo = (base + done_ + kPage - 1) / kPage * kPage;
    const uintptr_t hi = (base + offset) / kPage * kPage;
    if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
    done_ = offset;
  }

 private:
  const char* text_;
  size_t done_;
  bool enabled_;
};

// A large List (a cluster dump) without a DOM of the whole file: its items are found window
// by window (find_list_items), and two threads parse and decode them one at a time, each into
// its own state (the halves are appended in order, as one pass would). The file's tape and
// strings are never built at once, and the parse runs on both threads. The text outside the
// items is parsed on its own and must be a List.
//
// Anything else (an error anywhere, fewer items, a second "items" key, text after the root)
// returns false with nothing added: the whole-document path then decides, and names errors.
// `mapped`: the text is a file's mapping, whose pages can be given back as they are read.
bool decode_large_list(simdjson::padded_string_view text, input::DecodeContext& ctx, bool mapped) {
  const LoadOptions& options = *ctx.options;
  if (text.size() < options.split_list_bytes || text.size() >= UINT32_MAX) return false;
  ListItems list;
  if (!find_list_items(text, options, list)) return false;
  const auto& spans = list.spans;

  // The rest of the document, with the items taken out.
  std::string_view view = text;
  simdjson::padded_string rest(std::string(view.substr(0, list.open + 1)) +
                               std::string(view.substr(list.close)));
  simdjson::dom::parser rest_parser;
  simdjson::dom::element root;
  simdjson::dom::array emptied;
  std::string_view kind;
  if (rest_parser.parse(rest).get(root) != simdjson::SUCCESS ||
      root["kind"].get(kind) != simdjson::SUCCESS || kind != "List" ||
      root["items"].get(emptied) != simdjson::SUCCESS || emptied.size() != 0)
    return false;

  // The root and the items array are two levels of the whole document's nesting.
  constexpr size_t kItemDepth = simdjson::DEFAULT_MAX_DEPTH - 2;
  // Progress (LoadOptions::progress): both threads count, the calling thread (the first half)
  // draws; the meter is not shared between threads.
  ProgressMeter meter(ctx.file, options.progress);
  std::atomic<uint64_t> done_bytes{0}, done_items{0};
  auto decode_range = [&](size_t begin, size_t end, ClusterState& out) {
    simdjson::dom::parser parser;
    if (parser.allocate(size_t{1} << 16, kItemDepth) != simdjson::SUCCESS) return false;
    input::DecodeContext c = ctx;
    c.state = &out;
    PageRelease release(text.data(), spans[begin].first, mapped);
    for (size_t i = begin; i < end; ++i) {
      simdjson::dom::element item;
      if (parser.parse(text.data() + spans[i].first, spans[i].second - spans[i].first, false)
              .get(item) != simdjson::SUCCESS)
        return false;
      if (!input::decode_document(input::JsonNode(item), c, 1)) return false;
      release.upto(spans[i].second, i + 1 == end);
      if (meter.enabled()) {
        const uint64_t bytes = done_bytes += spans[i].second - spans[i].first;
        const uint64_t items = ++done_items;
        if (begin == 0) meter.update(bytes, text.size(), items);
      }
    }
    return true;
  };
  ClusterState first, second;
  bool ok1 = false, ok2 = false;
  const size_t half = spans.size() / 2;
  side_by_side([&] { ok1 = decode_range(0, half, first); },
               [&] { ok2 = decode_range(half, spans.size(), second); });
  meter.finish();
  if (!ok1 || !ok2) return false;
  append_state(second, first, true);
  append_state(first, *ctx.state);
  ctx.split_items += spans.size();
  return true;
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
    side_by_side([&] { r = decode_items(items, 0, half, ctx, staged); },
                 [&] { r2 = decode_items(items, half, items.size(), ctx, second); });
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

}  // namespace

ClusterLoader::ClusterLoader(LoadOptions options) : options_(std::move(options)) {}

Result<void> ClusterLoader::add_text(std::string_view text, const std::string& name) {
  simdjson::padded_string padded(text);
  return add_padded(padded, name);
}

Result<void> ClusterLoader::add_padded(simdjson::padded_string_view text, const std::string& name,
                                       bool mapped) {
  input::DecodeContext ctx{name, &options_, &state_};
  std::string_view view = text;
  if (size_t nul = view.find('\0'); nul != std::string_view::npos)
    return make_error(name, input::line_of_offset(view, nul), "binary data (NUL byte) in manifest");
  if (!input::looks_like_json(view)) return decode_yaml(view, ctx);
  auto r = decode_json(text, ctx, mapped);
  split_items_ += ctx.split_items;
  return r;
}

Result<void> ClusterLoader::add_path(const std::string& path) {
  if (path == "-") {
    int fd = ::open("/dev/stdin", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return make_error("<stdin>", 0, std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      // `< file`: as a file given by name (JSON mapped, YAML read as it is parsed).
      if (static_cast<uint64_t>(st.st_size) > kMaxFileBytes) {
        ::close(fd);
        return make_error("<stdin>", 0, "file is larger than 4 GiB");
      }
      char start[4096];
      ssize_t n = ::pread(fd, start, sizeof start, 0);
      bool json = n > 0 && input::looks_like_json(std::string_view(start, static_cast<size_t>(n)));
      auto mapped = json ? map_file(fd, static_cast<size_t>(st.st_size), "<stdin>") : std::nullopt;
      if (mapped) {
        ::close(fd);
        return add_padded(mapped->view(), "<stdin>", true);
      }
    }
    return add_stream(fd, "<stdin>");
  }
  std::error_code ec;
  auto st = std::filesystem::status(path, ec);
  // The system's own words: "Too many levels of symbolic links" for a loop, "Permission
  // denied"... rather than a blanket "no such file".
  if (ec && ec != std::errc::no_such_file_or_directory)
    return make_error(path, 0, "cannot open: " + open_error(ec.value()));
  if (ec || !std::filesystem::exists(st)) return make_error(path, 0, "no such file or directory");
  if (std::filesystem::is_directory(st)) {
    std::vector<std::filesystem::path> files;
    // Every subdirectory is read (an unreadable one is an error, not a silent gap); directory
    // symlinks are not followed (as kubectl -R), so a loop cannot recur.
    std::filesystem::recursive_directory_iterator it(path, ec);
    if (ec) return make_error(path, 0, "cannot read directory: " + ec.message());
    // An increment that fails (a subdirectory that cannot be opened) also ends the
    // iteration: its error is checked before the end is.
    for (; it != std::filesystem::recursive_directory_iterator();) {
      std::filesystem::path p = it->path();
      if (manifest_extension(p)) {
        bool regular = it->is_regular_file(ec);
        // A manifest name that cannot be resolved (a symlink loop, a dangling link) is named,
        // not skipped.
        if (ec) return make_error(p.string(), 0, "cannot open: " + open_error(ec.value()));
        if (regular) files.push_back(p);
      }
      it.increment(ec);
      if (ec) {  // most often the subdirectory just listed, which could not be opened
        std::error_code ignored;
        bool dir = std::filesystem::is_directory(std::filesystem::symlink_status(p, ignored));
        return make_error(dir ? p.string() : path, 0,
                          "cannot read directory: " + open_error(ec.value()));
      }
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      auto r = add_path(f.string());
      if (!r) return r;
    }
    return {};
  }
  std::string why;
  int fd = open_for_reading(path, kFifoWriterTimeoutS, why);
  if (fd < 0)
    return make_error(
        path, 0, "cannot open file: " + (why.empty() ? std::string(std::strerror(errno)) : why));
  struct stat fst {};
  if (::fstat(fd, &fst) == 0 && S_ISREG(fst.st_mode) && fst.st_size > 0) {
    if (static_cast<uint64_t>(fst.st_size) > kMaxFileBytes) {
      ::close(fd);
      return make_error(path, 0, "file is larger than 4 GiB");
    }
    // JSON is parsed where it lies (mapped, no copy); YAML is read as it is parsed, one
    // document at a time, like a pipe (a mapping would hold the whole file's pages).
    char start[4096];
    ssize_t n = ::pread(fd, start, sizeof start, 0);
    if (n > 0 && input::looks_like_json(std::string_view(start, static_cast<size_t>(n)))) {
      auto mapped = map_file(fd, static_cast<size_t>(fst.st_size), path);
      if (mapped) {
        ::close(fd);
        return add_padded(mapped->view(), path, true);
      }
    }
  }
  // YAML, not a regular file (a pipe, a pseudo-file that reports size 0), or not mapped.
  return add_stream(fd, path);
}

Result<void> ClusterLoader::add_stream(int fd, const std::string& name) {
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  // Blank lines before the first character are counted, not kept: 700 MB of whitespace on
  // stdin is no object and costs no memory. The blanks before that character on its own line
  // are kept (they are its indentation), up to a bound.
  constexpr size_t kMaxIndent = size_t{1} << 16;
  std::string head;
  size_t indent = 0;  // blanks since the last newline
  int skipped_lines = 0;
  uint64_t total = 0;
  std::vector<char> chunk((size_t{1} << 16) + 1);
  for (;;) {
    auto n = read_some(fd, chunk.data(), chunk.size() - 1, name);
    if (!n) return tl::unexpected(n.error());
    if (*n == 0) return {};  // only whitespace: no object, as an empty file
    total += *n;
    if (total > kMaxFileBytes) return make_error(name, 0, "file is larger than 4 GiB");
    chunk[*n] = '\0';  // strspn's end (the chunk has a byte more than is read)
    const size_t i = std::strspn(chunk.data(), " \t\r\n");
    const char* begin = chunk.data();
    if (const void* nl = ::memrchr(begin, '\n', i)) {
      skipped_lines += static_cast<int>(std::count(begin, begin + i, '\n'));
      head.clear();
      indent = 0;
      begin = static_cast<const char*>(nl) + 1;
    }
    // The blanks after the last newline: the indentation of what follows (kept, bounded).
    const size_t blanks = static_cast<size_t>(chunk.data() + i - begin);
    if (indent + blanks <= kMaxIndent) head.append(begin, blanks);
    indent += blanks;
    if (i >= *n) continue;
    if (indent > kMaxIndent)
      return make_error(name, skipped_lines + 1,
                        "more than " + std::to_string(kMaxIndent) +
                            " blanks before the first character of a line");
    head.append(chunk.data() + i, *n - i);
    break;
  }
  auto shift = [&](Result<void> r) -> Result<void> {
    if (!r && r.error().line > 0) r.error().line += skipped_lines;
    return r;
  };
  if (input::looks_like_json(head)) {
    // JSON is parsed whole (simdjson): the rest of the pipe is read into memory that grows
    // without copies.
    GrownText text;
    if (!text.reserve(head.size())) return make_error(std::string(kOutOfMemory));
    text.append(head.data(), head.size());
    std::string().swap(head);
    for (;;) {
      if (!text.reserve(chunk.size())) return make_error(std::string(kOutOfMemory));
      auto n = read_some(fd, text.end(), chunk.size(), name);
      if (!n) return tl::unexpected(n.error());
      if (*n == 0) break;
      text.grew(*n);
      if ((total += *n) > kMaxFileBytes) return make_error(name, 0, "file is larger than 4 GiB");
    }
    FileText t = text.release();
    return shift(add_padded(t.view(), name));
  }
  // YAML: one document at a time, as the pipe is read.
  PipeSource source(fd, name, std::move(head), skipped_lines);
  input::DecodeContext ctx{name, &options_, &state_};
  // Progress by bytes read (of a file's size; a pipe's is not known) and documents decoded,
  // from the start for a large file, once kYamlProgressBytes were read for a pipe.
  ProgressMeter meter(name, options_.progress);
  uint64_t documents = 0;
  if (meter.enabled()) {
    meter.count_as("documents");
    struct stat st {};
    const uint64_t size =
        ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
    const uint64_t from = size >= kYamlProgressBytes ? 0 : kYamlProgressBytes;
    source.on_read([&meter, &documents, size, from, before = total](uint64_t read) {
      if (before + read >= from) meter.update(before + read, size, documents);
    });
  }
  return input::YamlStream::parse_each(
      source, name, kMaxNesting, skipped_lines,
      [&](const input::YamlTreeNode* doc, size_t bytes) -> Result<void> {
        // Budget against alias expansion, per document (see decode_yaml).
        input::VisitBudget budget{bytes * 4 + 100000};
        ++documents;
        return input::decode_document(input::YamlNode(doc, &budget), ctx);
      });
}

ClusterState ClusterLoader::finish() && {
  ClusterState& s = state_;
  // Pods are most of a large cluster's objects: sorted beside the rest.
  side_by_side([&] { input::sort_all_but_pods(s); }, [&] { input::sort_pods(s.pods); });
  return std::move(state_);
}

}  // namespace stockade
