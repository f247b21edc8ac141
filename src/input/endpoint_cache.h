// Internal to the flow reader (input/record_parser.cc): Hubble endpoint objects (`source`,
// `destination`): reading one, and remembering the ones seen before by their text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/hash.h"
#include "core/labels.h"
#include "input/flow_reader.h"
#include "input/json_walker.h"

namespace stockade::input::flowjson {

// Internal linkage, as when this was part of one source file: only record_parser.cc includes
// it, and the compiler then inlines what is called from one place only (docs/notes/seams.md).
namespace {

// Validated once per distinct endpoint text: on a walk, never on a remembered endpoint (which
// was walked, and so validated, when it was first seen).
inline error_code check_names(const FlowPeer& p) {
  if (!p.ns.empty() && !validate_dns1123_label(p.ns).empty()) return kBadName;
  if (!p.pod.empty() && !validate_dns1123_subdomain(p.pod).empty()) return kBadName;
  if (!p.workload.empty() && !validate_dns1123_subdomain(p.workload).empty()) return kBadName;
  for (char c : p.workload_kind)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
      return kBadName;
  return SUCCESS;
}

// Hubble `source` / `destination` endpoint.
inline error_code read_endpoint(Value v, FlowPeer& p) {
  TRY(each_field(v, [&](std::string_view key, Value val) -> error_code {
    if (is(key, "namespace")) return get_str(val, p.ns);
    if (is(key, "pod_name")) return get_str(val, p.pod);
    if (is(key, "identity")) {
      uint64_t id;
      TRY(val.get_uint64(id));
      p.identity = static_cast<uint32_t>(id);
    } else if (is(key, "labels")) {
      // Only the reserved labels are read here; the array's text is kept for the others.
      Tokens& t = val.tokens();
      uint32_t open = t.i;
      TRY(each_item(val, [&](Value item) -> error_code {
        if (!item.is_string()) return simdjson::INCORRECT_TYPE;
        // Not a reserved label unless it starts with 'r' (or an escape of it); then the nine
        // bytes are checked (padded: they are readable; a shorter label ends in its quote).
        const char* text = t.buf + t.pos[t.i] + 1;
        if (*text != 'r' && *text != '\\') return SUCCESS;
        if (std::memcmp(text, "reserved:", 9) != 0 && !has_backslash(text, 9)) return SUCCESS;
        std::string_view label;
        TRY(get_str(item, label));
        // One peer can carry several reserved labels (host + kube-apiserver): the node ones
        // decide where it resolves.
        if (label.starts_with("reserved:")) {
          std::string_view r = label.substr(9);
          if (p.reserved.empty() || is(r, "host") || is(r, "remote-node")) p.reserved = r;
        }
        return SUCCESS;
      }));
      p.labels_json = {t.buf + t.pos[open], t.pos[t.i - 1] + 1 - t.pos[open]};
    } else if (is(key, "workloads")) {
      return each_item(val, [&](Value item) {
        return each_field(item, [&](std::string_view wk, Value wv) -> error_code {
          if (p.workload.empty() && is(wk, "name")) return get_str(wv, p.workload);
          if (p.workload_kind.empty() && is(wk, "kind")) return get_str(wv, p.workload_kind);
          return SUCCESS;
        });
      });
    }
    return SUCCESS;
  }));
  return check_names(p);
}

// Whether no endpoint field of `p` is set yet: what a remembered endpoint says replaces all
// of them, which equals reading the object into a peer such as this one only.
inline bool pristine(const FlowPeer& p) {
  return p.ns.empty() && p.pod.empty() && p.workload.empty() && p.workload_kind.empty() &&
         p.reserved.empty() && p.labels_json.empty() && p.identity == 0 && p.hint == 0;
}

// Source and destination objects repeat from record to record (the same pods talk again and
// again) and are about half of a record's text. A parser remembers what it read from each, by
// its exact text: a repeat costs a skip, a hash and a compare instead of a walk. An entry keeps
// the strings as offsets into the text, so a hit points them into the current record's own
// copy, which lives as long as the record; and the peer's hint (FlowReadOptions::peer_hint),
// which depends on nothing else. Objects with escaped strings are not remembered, and only what
// was read into a pristine peer is (what an entry says replaces all of a peer's fields).
//
// Lookups wait for the end of the line: the index slot is fetched when the object is skipped,
// and the slot says where the entry and its text are, so both are fetched together before the
// compare. The cache misses of both peers then overlap the walk and each other.
class EndpointCache {
 public:
  EndpointCache() : index_(kSlots) { entries_.reserve(kMaxEntries); }

  // An endpoint object of the line, looked up once the line is walked: the lookups of both
  // peers (cache misses, mostly) then overlap with the walk and with each other.
  struct Pending {
    FlowPeer* peer = nullptr;  // null: nothing pending
    uint32_t open = 0;         // the object's first token
    std::string_view raw;      // its text
    uint64_t hash = 0;
    uint32_t entry = 0;  // the direct path: the candidate (see find())
  };

  // Skips the endpoint object at the next token and notes it in `out`, for finish() to read
  // into `p`, which must be pristine until then.
  error_code begin(Value v, FlowPeer& p, Pending& out) {
    Tokens& t = v.tokens();
    if (t.peek() != '{') return simdjson::INCORRECT_TYPE;
    uint32_t open = t.i;
    TRY(t.skip());
    out.raw = {t.buf + t.pos[open], t.pos[t.i - 1] + 1 - t.pos[open]};
    out.hash = key_hash(out.raw);
    out.open = open;
    out.peer = &p;
    __builtin_prefetch(&index_[out.hash & (kSlots - 1)]);
    return SUCCESS;
  }

  // The direct path: the remembered endpoint whose text starts at the cursor. Its length is
  // not known before it is found: the objects remembered with the same first bytes say which
  // it may have, and the cursor passes that many bytes (a length where a value cannot end is
  // passed over). Whether the text is the same is checked at the end of the line (verify()),
  // so that the cache misses of the compare overlap the rest of the line; kGiveUp when no
  // length fits.
  error_code find(Cursor& c, FlowPeer& p, Pending& out) {
    const char* s = c.p;
    const auto avail = static_cast<size_t>(c.end - s);
    if (avail < kPrefix) return kGiveUp;
    const uint64_t ph = hash_bytes(std::string_view(s, kPrefix));
    const auto tag = static_cast<uint32_t>(ph >> 32);
    for (const Candidate& way : candidates_[ph & (candidates_.size() - 1)]) {
      if (way.tag != tag || way.len == 0 || way.len > avail || s[way.len - 1] != '}') continue;
      // What follows must be able to follow a field's value: the `}` of an object nested in
      // a longer one (`}]}` near the end of `workloads`) is passed over, so that the way of
      // the right length, if any, is taken.
      const char* after = s + way.len;
      while (after < c.end && is_space(*after)) ++after;
      if (after < c.end && *after != ',' && *after != '}') continue;
      // verify() compares the text with what is remembered: fetched meanwhile.
      const char* text = text_.data() + text_at_[way.entry - 1];
      for (size_t off = 0; off < way.len; off += 64) __builtin_prefetch(text + off);
      out.peer = &p;
      out.raw = {s, way.len};
      out.entry = way.entry;
      c.p = s + way.len;
      c.ws();
      return SUCCESS;
    }
    return kGiveUp;
  }

  // Reads what find() found into its peers, if their text is what is remembered (that
  // candidate's, else another object's of the same length and ends); kGiveUp otherwise.
  error_code verify(Pending* pending, size_t n) {
    for (size_t k = 0; k < n; ++k) {
      Pending& pe = pending[k];
      if (pe.peer == nullptr) continue;
      uint32_t entry = pe.entry;
      if (std::memcmp(text_.data() + entries_[entry - 1].text, pe.raw.data(), pe.raw.size()) != 0) {
        const Slot* slot = find_slot(pe.raw, key_hash(pe.raw));
        if (slot == nullptr) return kGiveUp;
        entry = slot->entry;
      }
      apply(entries_[entry - 1], pe.raw.data(), *pe.peer);
      pe.peer = nullptr;
    }
    return SUCCESS;
  }

  // Reads the pending objects of the line `t` (from what is remembered, else by walking their
  // tokens) and clears them. `hint`, when set, computes the peers' hints.
  error_code finish(Tokens& t, Pending* pending, size_t n, const FlowReadOptions::PeerHint* hint) {
    // Touch what the lookups need for all of them at once: the first candidate entry (its
    // slot was fetched during the walk), then its text.
    for (size_t k = 0; k < n && k < 2; ++k) {
      if (pending[k].peer == nullptr) continue;
      const auto tag = static_cast<uint32_t>(pending[k].hash >> 32);
      for (size_t i = pending[k].hash & (kSlots - 1); index_[i].entry != 0;
           i = (i + 1) & (kSlots - 1)) {
        const Slot& slot = index_[i];
        if (slot.tag != tag || slot.len != pending[k].raw.size()) continue;
        // The slot says where both are: the entry and its text are fetched at once.
        __builtin_prefetch(&entries_[slot.entry - 1]);
        for (size_t off = 0; off < slot.len && off < 1024; off += 64)
          __builtin_prefetch(text_.data() + slot.text + off);
        break;
      }
    }
    for (size_t k = 0; k < n; ++k) {
      if (pending[k].peer == nullptr) continue;
      TRY(lookup(t, pending[k], hint));
      pending[k].peer = nullptr;
    }
    return SUCCESS;
  }

 private:
  static constexpr size_t kSlots = size_t{1} << 16;
  static constexpr size_t kMaxEntries = kSlots / 2;
  static constexpr size_t kMaxText = size_t{16} << 20;
  // The direct path's table: remembered objects by their first kPrefix bytes and their
  // length (the newest object of each), in buckets of one cache line.
  static constexpr size_t kPrefix = 32;
  struct Candidate {
    uint32_t tag = 0;    // the prefix hash's high half
    uint16_t len = 0;    // 0: free
    uint16_t entry = 0;  // as in Slot
  };
  static_assert(kMaxEntries <= UINT16_MAX);
  static constexpr size_t kWays = 8;
  // Half as many buckets as entries (a quarter of the ways taken at most, so that a full
  // bucket is rare), so that the table is no larger than the cluster needs and stays in the
  // cache: it is read on every line.
  static constexpr size_t kMinBuckets = 64, kMaxBuckets = kMaxEntries / 4;
  using Bucket = std::array<Candidate, kWays>;
  struct Slot {
    uint32_t tag = 0;            // the hash's high half
    uint32_t entry = 0;          // 1 + the entry's index; 0: free
    uint32_t text = 0, len = 0;  // the entry's: compared without a wait for the entry
  };
  struct Span {
    uint16_t off = 0, len = 0;
  };
  struct Entry {
    uint32_t text = 0, len = 0;  // where its text is in text_
    uint32_t identity = 0, hint = 0;
    Span ns, pod, workload, workload_kind, reserved, labels_json;
  };

  // The slot's hash: of both ends of the text and its length (where objects of different pods
  // differ: the ID and identity come first, the pod's name and workload last). Objects that
  // differ only in between share it and are told apart by the compare.
  static uint64_t key_hash(std::string_view raw) {
    if (raw.size() <= 2 * kHashedEnd) return hash_bytes(raw);
    return hash_bytes(raw.substr(0, kHashedEnd),
                      hash_bytes(raw.substr(raw.size() - kHashedEnd), raw.size()));
  }
  static constexpr size_t kHashedEnd = 64;

  // The slot of the entry remembered for `raw` (whose key_hash is h), or null.
  HOT const Slot* find_slot(std::string_view raw, uint64_t h) const {
    const auto tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & (kSlots - 1); index_[i].entry != 0; i = (i + 1) & (kSlots - 1)) {
      const Slot& slot = index_[i];
      if (slot.tag == tag && slot.len == raw.size() &&
          std::memcmp(text_.data() + slot.text, raw.data(), raw.size()) == 0)
        return &slot;
    }
    return nullptr;
  }

  // Makes the remembered object at `slot` the direct path's candidate for its first bytes and
  // length: in a free way of its bucket, or the way it had, or else one chosen by its hash.
  void note_candidate(std::string_view raw, uint32_t entry) {
    if (raw.size() < kPrefix || raw.size() > UINT16_MAX) return;
    const uint64_t ph = hash_bytes(raw.substr(0, kPrefix));
    Bucket& b = candidates_[ph & (candidates_.size() - 1)];
    const auto tag = static_cast<uint32_t>(ph >> 32);
    Candidate* c = nullptr;
    for (Candidate& way : b)
      if (way.tag == tag && way.len == raw.size()) c = &way;
    for (Candidate& way : b)
      if (c == nullptr && way.len == 0) c = &way;
    if (c == nullptr) c = &b[(ph >> 16) % kWays];
    *c = Candidate{tag, static_cast<uint16_t>(raw.size()), static_cast<uint16_t>(entry)};
  }

  // Twice the buckets once there are twice as many entries, the entries noted again in the
  // order they came.
  void grow_candidates() {
    if (entries_.size() <= candidates_.size() * 2 || candidates_.size() >= kMaxBuckets) return;
    candidates_.assign(candidates_.size() * 2, Bucket{});
    for (size_t i = 0; i < entries_.size(); ++i)
      note_candidate(std::string_view(text_).substr(entries_[i].text, entries_[i].len),
                     static_cast<uint32_t>(i + 1));
  }

  error_code lookup(Tokens& t, const Pending& pe, const FlowReadOptions::PeerHint* hint) {
    const std::string_view raw = pe.raw;
    const uint64_t h = pe.hash;
    if (const Slot* slot = find_slot(raw, h)) {
      apply(entries_[slot->entry - 1], raw.data(), *pe.peer);
      note_candidate(raw, slot->entry);  // its way may have been taken over since
      return SUCCESS;
    }
    size_t i = h & (kSlots - 1);  // the free slot it will take
    while (index_[i].entry != 0) i = (i + 1) & (kSlots - 1);
    // First seen: walk it.
    const uint32_t after = t.i;
    t.i = pe.open;
    TRY(read_endpoint(Value(t), *pe.peer));
    t.i = after;
    if (hint != nullptr && *hint) pe.peer->hint = (*hint)(*pe.peer);
    remember(i, h, raw, *pe.peer);
    return SUCCESS;
  }

  static void apply(const Entry& e, const char* base, FlowPeer& p) {
    auto at = [&](Span s) {
      return s.len ? std::string_view(base + s.off, s.len) : std::string_view();
    };
    p.identity = e.identity;
    p.hint = e.hint;
    p.ns = at(e.ns);
    p.pod = at(e.pod);
    p.workload = at(e.workload);
    p.workload_kind = at(e.workload_kind);
    p.reserved = at(e.reserved);
    p.labels_json = at(e.labels_json);
  }

  // Stores what `p` says about `raw` in the free slot `i`, unless a string is not in the text
  // (it had escapes) or the text is too long for 16-bit offsets.
  void remember(size_t i, uint64_t h, std::string_view raw, const FlowPeer& p) {
    if (raw.size() > UINT16_MAX) return;
    Entry e;
    bool inside = true;
    auto span = [&](std::string_view s) {
      Span out;
      if (s.empty()) return out;
      auto lo = reinterpret_cast<uintptr_t>(raw.data());
      auto at = reinterpret_cast<uintptr_t>(s.data());
      if (at < lo || at + s.size() > lo + raw.size()) {
        inside = false;
        return out;
      }
      out.off = static_cast<uint16_t>(at - lo);
      out.len = static_cast<uint16_t>(s.size());
      return out;
    };
    e.identity = p.identity;
    e.hint = p.hint;
    e.ns = span(p.ns);
    e.pod = span(p.pod);
    e.workload = span(p.workload);
    e.workload_kind = span(p.workload_kind);
    e.reserved = span(p.reserved);
    e.labels_json = span(p.labels_json);
    if (!inside) return;
    if (entries_.size() == kMaxEntries || text_.size() + raw.size() > kMaxText) {
      // Full: start over (no probe sequence survives).
      std::fill(index_.begin(), index_.end(), Slot{});
      candidates_.assign(kMinBuckets, Bucket{});
      entries_.clear();
      text_at_.clear();
      text_.clear();
      i = h & (kSlots - 1);
    }
    e.text = static_cast<uint32_t>(text_.size());
    e.len = static_cast<uint32_t>(raw.size());
    text_.append(raw);
    entries_.push_back(e);
    text_at_.push_back(e.text);
    index_[i] =
        Slot{static_cast<uint32_t>(h >> 32), static_cast<uint32_t>(entries_.size()), e.text, e.len};
    note_candidate(raw, index_[i].entry);
    grow_candidates();
  }

  std::vector<Slot> index_;
  std::vector<Bucket> candidates_ = std::vector<Bucket>(kMinBuckets);
  std::vector<Entry> entries_;
  std::vector<uint32_t> text_at_;  // entries_[i].text, in a small array that stays in the cache
  std::string text_;
};

}  // namespace

}  // namespace stockade::input::flowjson
