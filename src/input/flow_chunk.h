// A chunk of flow-record text (whole lines) and, once a RecordParser has read it, its records:
// the unit the flow pipeline hands between the reading thread and the parsing threads. The
// strings of the records point into the chunk's text or its arena.
#pragma once

#include <simdjson.h>

#include <cstring>
#include <deque>
#include <memory>
#include <string_view>
#include <vector>

#include "model/flow.h"

namespace stockade::input {

// The longest line a flow file may have.
inline constexpr size_t kMaxFlowLine = size_t{64} << 20;

// Copies of the strings that parsed records point to, in blocks that never move.
class Arena {
 public:
  // Strings inside [lo, hi) (the chunk's own text) stay where they are.
  std::string_view keep(std::string_view s) {
    if (s.empty() || (s.data() >= lo_ && s.data() + s.size() <= hi_)) return s;
    if (blocks_.empty() || blocks_[block_].size - used_ < s.size()) next_block(s.size());
    char* p = blocks_[block_].data.get() + used_;
    std::memcpy(p, s.data(), s.size());
    used_ += s.size();
    return {p, s.size()};
  }
  void clear(const char* lo, const char* hi) {
    block_ = 0;
    used_ = 0;
    lo_ = lo;
    hi_ = hi;
  }

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    size_t size;
  };
  void next_block(size_t need) {
    if (!blocks_.empty()) ++block_;
    while (block_ < blocks_.size() && blocks_[block_].size < need) ++block_;
    if (block_ == blocks_.size()) {
      size_t size = std::max<size_t>(need, size_t{256} << 10);
      blocks_.push_back({std::make_unique<char[]>(size), size});
    }
    used_ = 0;
  }
  std::vector<Block> blocks_;
  size_t block_ = 0, used_ = 0;
  const char *lo_ = nullptr, *hi_ = nullptr;
};

inline void keep_strings(FlowPeer& p, Arena& a) {
  for (std::string_view* s : {&p.ns, &p.pod, &p.pod_uid, &p.workload, &p.workload_kind,
                              &p.service_ns, &p.service_name, &p.reserved, &p.labels_json})
    *s = a.keep(*s);
}

inline void keep_strings(Flow& f, Arena& a) {
  keep_strings(f.src, a);
  keep_strings(f.dst, a);
  f.drop_reason = a.keep(f.drop_reason);
  f.node = a.keep(f.node);
  f.agent_outcome = a.keep(f.agent_outcome);
  f.comm = a.keep(f.comm);
}

inline void keep_strings(L7Info& l7, Arena& a) {
  for (std::string_view* s : {&l7.dns_query, &l7.http_method, &l7.http_url, &l7.http_protocol})
    *s = a.keep(*s);
  for (size_t i = 0; i < l7.dns_ip_count; ++i) l7.dns_ips[i] = a.keep(l7.dns_ips[i]);
}

// Whole lines of the input and, once parsed, their records.
struct Chunk {
  std::vector<char> text;  // `len` bytes of whole lines, then SIMDJSON_PADDING readable bytes
  size_t len = 0;
  // Results, in line order.
  std::vector<Flow> flows;  // strings kept in `arena`
  std::deque<L7Info> l7s;   // what flows[…].l7_info points to
  Arena arena;
  struct Bad {
    uint64_t line;        // index of the line in the chunk
    size_t flows_before;  // records of the chunk before it
    simdjson::error_code err;
  };
  std::vector<Bad> bad;
  uint64_t lines = 0, ignored = 0, direct = 0;
  bool ready = false;

  size_t capacity() const { return text.size() - simdjson::SIMDJSON_PADDING; }
};

}  // namespace stockade::input
