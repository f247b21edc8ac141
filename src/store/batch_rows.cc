#include "store/batch_rows.h"

#include <algorithm>

namespace stockade::store::rows {

L4Protocol parse_l4(std::string_view s) {
  for (int i = 0; i <= static_cast<int>(L4Protocol::Unknown); ++i) {
    auto p = static_cast<L4Protocol>(i);
    if (to_string(p) == s) return p;
  }
  return L4Protocol::Unknown;
}

bool storable(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += n;
  }
  return true;
}

int64_t floor_to(int64_t t, int64_t width) {
  int64_t q = t / width;
  if (t % width < 0) --q;
  return q * width;
}

void merge(EdgeStats& into, const EdgeStats& s) {
  into.count += s.count;
  into.established += s.established;
  into.failed += s.failed;
  into.dropped += s.dropped;
  if (s.first_seen && (!into.first_seen || s.first_seen < into.first_seen)) {
    into.first_seen = s.first_seen;
  }
  into.last_seen = std::max(into.last_seen, s.last_seen);
}

std::string upsert_stats_tail(std::string_view table, std::string_view key) {
  std::string t(table);
  std::string out = "ON CONFLICT (" + std::string(key) + ") DO UPDATE SET ";
  for (const char* c : {"count", "established", "failed", "dropped"}) {
    out += std::string(c) + " = " + t + "." + c + " + excluded." + c + ", ";
  }
  out += "first_seen = CASE WHEN " + t + ".first_seen = 0 OR (excluded.first_seen <> 0 AND " +
         "excluded.first_seen < " + t + ".first_seen) THEN excluded.first_seen ELSE " + t +
         ".first_seen END, ";
  out += "last_seen = CASE WHEN excluded.last_seen > " + t + ".last_seen THEN excluded.last_seen " +
         "ELSE " + t + ".last_seen END";
  return out;
}

Column int_column(std::string name) {
  return Column{std::move(name), {}, {}, false};
}
Column text_column(std::string name) {
  return Column{std::move(name), {}, {}, true};
}

void push_stats(std::vector<Column>& cols, size_t first, const EdgeStats& s) {
  cols[first].ints.push_back(static_cast<int64_t>(s.count));
  cols[first + 1].ints.push_back(static_cast<int64_t>(s.established));
  cols[first + 2].ints.push_back(static_cast<int64_t>(s.failed));
  cols[first + 3].ints.push_back(static_cast<int64_t>(s.dropped));
  cols[first + 4].ints.push_back(s.first_seen);
  cols[first + 5].ints.push_back(s.last_seen);
}

std::vector<Column> stats_columns(std::vector<Column> head) {
  for (const char* c : {"count", "established", "failed", "dropped", "first_seen", "last_seen"}) {
    head.push_back(int_column(c));
  }
  return head;
}

bool edge_less(const StoredEdge& a, const StoredEdge& b) {
  return std::tie(a.src, a.dst, a.protocol, a.port) < std::tie(b.src, b.dst, b.protocol, b.port);
}

Result<void> check_edges(const std::vector<StoredEdge>& edges) {
  for (const auto& e : edges) {
    if (e.src.empty() || e.dst.empty() || !storable(e.src) || !storable(e.dst)) {
      return make_error("an edge's endpoints must be non-empty UTF-8 text");
    }
    for (const auto& p : e.processes) {
      if (!storable(p)) return make_error("a process name must be UTF-8 text");
    }
    for (uint64_t n : {e.stats.count, e.stats.established, e.stats.failed, e.stats.dropped}) {
      if (n > static_cast<uint64_t>(kMaxCount)) return make_error("an edge count is out of range");
    }
    if (e.stats.first_seen < 0 || e.stats.last_seen < 0) {
      return make_error("an edge's first and last seen must not be before 1970");
    }
  }
  return {};
}

Result<void> check_batch(const EdgeBatch& batch) {
  if (batch.agent) {
    const auto& a = *batch.agent;
    if (a.node.empty() || a.boot_id.empty() || !storable(a.node) || !storable(a.boot_id)) {
      return make_error("a batch's node and boot id must be non-empty UTF-8 text");
    }
    if (a.sequence > static_cast<uint64_t>(kMaxCount)) {
      return make_error("a batch's sequence number is out of range");
    }
  }
  if (auto r = check_edges(batch.edges); !r) return r;
  if (auto r = check_edges(batch.observed); !r) return r;
  for (const RecordTally& t : batch.records) {
    if (t.time < 0) return make_error("a record's time must not be before 1970");
    for (uint64_t n : {t.records, t.malformed, t.unresolved})
      if (n > static_cast<uint64_t>(kMaxCount)) return make_error("a record count is out of range");
  }
  return {};
}

Result<MergedBatch> merge_batch(const std::vector<StoredEdge>& edges, int64_t now) {
  MergedBatch m;
  for (const auto& e : edges) {
    EdgeName key{e.src, e.dst, std::string(to_string(e.protocol)), e.port};
    int64_t t = e.stats.last_seen ? e.stats.last_seen : now;
    merge(m.lifetime[key], e.stats);
    merge(m.minutes[{key, floor_to(t, kMinuteNs)}], e.stats);
    merge(m.hours[{key, floor_to(t, kHourNs)}], e.stats);
    for (const auto& p : e.processes) m.processes.emplace(key, p);
    m.names.insert(e.src);
    m.names.insert(e.dst);
  }
  for (const auto& [key, s] : m.lifetime) {
    if (s.count > static_cast<uint64_t>(kMaxCount))
      return make_error("an edge count is out of range");
  }
  return m;
}

Result<int64_t> stored_sequence(Connection& c, const AgentSequence& a, int64_t now) {
  auto ins = c.query(
      "INSERT INTO agent_sequences (node, boot_id, last_sequence, updated) "
      "VALUES ($1, $2, -1, $3) ON CONFLICT (node, boot_id) DO NOTHING",
      {Value{a.node}, Value{a.boot_id}, Value{now}});
  if (!ins) return tl::unexpected(ins.error());
  auto last = c.query("SELECT last_sequence FROM agent_sequences WHERE node = $1 AND boot_id = $2" +
                          std::string(c.for_update()),
                      {Value{a.node}, Value{a.boot_id}});
  if (!last) return tl::unexpected(last.error());
  return last->empty() ? int64_t{-1} : as_int(last->front().front());
}

}  // namespace stockade::store::rows
