#include "input/flow_reader.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "core/hash.h"
#include "core/labels.h"
#include "core/mapped_file.h"

namespace stockade {

namespace {

using simdjson::error_code;
using simdjson::SUCCESS;

constexpr size_t kMaxLine = size_t{64} << 20;

// The small steps of the walk, inlined into every caller (the compiler's own choice keeps some
// of them out of line, at a call per token).
#define HOT [[gnu::always_inline]]

// Field handlers. Every one returns an error code; any error makes the line malformed.
#define TRY(expr)                 \
  do {                            \
    error_code e_ = (expr);       \
    if (e_ != SUCCESS) return e_; \
  } while (0)

// What the direct path returns when it leaves a line to the walk (any error does).
constexpr error_code kGiveUp = simdjson::UNEXPECTED_ERROR;
// A name in an endpoint that Kubernetes would never accept (a namespace, pod or workload
// with a newline, a quote, upper case…): the record is refused as malformed, since such a name
// can only come from a forged or corrupted record and would otherwise reach generated policies
// and every output. No JSON reading here gives this code (it is JSON Pointer's).
constexpr error_code kBadName = simdjson::INVALID_URI_FRAGMENT;

// Validated once per distinct endpoint text: on a walk, never on a remembered endpoint (which
// was walked, and so validated, when it was first seen).
error_code check_names(const FlowPeer& p) {
  if (!p.ns.empty() && !validate_dns1123_label(p.ns).empty()) return kBadName;
  if (!p.pod.empty() && !validate_dns1123_subdomain(p.pod).empty()) return kBadName;
  if (!p.workload.empty() && !validate_dns1123_subdomain(p.workload).empty()) return kBadName;
  for (char c : p.workload_kind)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
      return kBadName;
  return SUCCESS;
}

// Equality with a literal, inlined to a few compares (the hot path compares many keys).
template <size_t N>
bool is(std::string_view s, const char (&literal)[N]) {
  return s.size() == N - 1 && std::memcmp(s.data(), literal, N - 1) == 0;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Ends a scalar: whitespace, a structural character, or the end of the line.
bool ends_scalar(char c) {
  return is_space(c) || c == ',' || c == '}' || c == ']' || c == ':' || c == '\0';
}

// Whether n bytes at p hold a '\\', sixteen (or eight) at a time. The line is padded: reading
// up to fifteen bytes past its end is safe; they are masked off.
bool has_backslash(const char* p, size_t n) {
#if defined(__SSE2__)
  const __m128i backslash = _mm_set1_epi8('\\');
  for (size_t k = 0; k < n; k += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + k));
    unsigned hit = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash)));
    if (n - k < 16) hit &= (1u << (n - k)) - 1;
    if (hit) return true;
  }
  return false;
#else
  return std::memchr(p, '\\', n) != nullptr;
#endif
}

// One line as simdjson's stage 1 sees it: the position of every structural character
// ({ } [ ] : ,) and of the first character of every string and other value, with strings and
// UTF-8 already validated. A record needs a few of its ~60 fields, so it is walked here
// directly, token by token: the values it needs are read, the others skipped by counting
// brackets (as simdjson's On-Demand API skips them).
struct Tokens {
  // What a token's first character does to the depth of nesting.
  static constexpr std::array<int8_t, 256> kDepth = [] {
    std::array<int8_t, 256> d{};
    d['{'] = d['['] = 1;
    d['}'] = d[']'] = -1;
    return d;
  }();

  const char* buf = nullptr;
  size_t len = 0;
  const uint32_t* pos = nullptr;
  uint32_t n = 0;                                                       // tokens
  uint32_t i = 0;                                                       // the next one
  const simdjson::internal::dom_parser_implementation* impl = nullptr;  // unescapes strings
  char* scratch = nullptr;  // room for the unescaped strings of the line (at most its length)

  HOT char at(uint32_t k) const { return k < n ? buf[pos[k]] : '\0'; }
  HOT char peek() const { return at(i); }

  // Skips the value at the next token.
  HOT error_code skip() {
    char c = peek();
    if (c == '{' || c == '[') {
      // Counts brackets through the tokens, without a branch per token.
      // Locals: stores through `buf` (a char pointer) could otherwise change the members.
      int64_t depth = 0;
      uint32_t k = i;
      const uint32_t* const p = pos;
      const char* const b = buf;
      auto delta = [&](uint32_t j) __attribute__((always_inline))->int64_t {
        return kDepth[static_cast<uint8_t>(b[p[j]])];
      };
      // Four tokens at a time while four are left. The depth moves by one at most, so the
      // first of them where it is no longer positive closes the value.
      for (; k + 4 <= n; k += 4) {
        const int64_t d1 = depth + delta(k), d2 = d1 + delta(k + 1), d3 = d2 + delta(k + 2),
                      d4 = d3 + delta(k + 3);
        if ((d1 <= 0) | (d2 <= 0) | (d3 <= 0) | (d4 <= 0)) {
          i = k + (d1 <= 0 ? 1 : d2 <= 0 ? 2 : d3 <= 0 ? 3 : 4);
          return SUCCESS;
        }
        depth = d4;
      }
      do {
        if (k >= n) return simdjson::INCOMPLETE_ARRAY_OR_OBJECT;
        depth += delta(k++);
      } while (depth > 0);
      i = k;
      return SUCCESS;
    }
    if (c == '\0' || c == ',' || c == ':' || c == '}' || c == ']') return simdjson::TAPE_ERROR;
    ++i;
    return SUCCESS;
  }

  // The text of the string whose opening quote is at `open` as it is in the line, escapes and
  // all: up to the closing quote, which is the last one before the next token (only whitespace
  // may lie between them).
  HOT error_code raw_string_at(uint32_t open, uint32_t next_token, std::string_view& out) const {
    size_t q = next_token < n ? pos[next_token] : len;
    size_t begin = pos[open] + 1;
    do --q;
    while (q > begin && is_space(buf[q]));
    if (q < begin || buf[q] != '"') return simdjson::STRING_ERROR;
    out = {buf + begin, q - begin};
    return SUCCESS;
  }

  // The same string, unescaped.
  error_code string_at(uint32_t open, uint32_t next_token, std::string_view& out) {
    TRY(raw_string_at(open, next_token, out));
    if (!has_backslash(out.data(), out.size())) return SUCCESS;
    size_t begin = pos[open] + 1;
    // Escapes: unescaped (and checked) by simdjson into the line's scratch room.
    auto* end = impl->parse_string(reinterpret_cast<const uint8_t*>(buf + begin),
                                   reinterpret_cast<uint8_t*>(scratch));
    if (end == nullptr) return simdjson::STRING_ERROR;
    out = {scratch, static_cast<size_t>(reinterpret_cast<char*>(end) - scratch)};
    scratch = reinterpret_cast<char*>(end);
    return SUCCESS;
  }
};

// A value of the line: its first token. Reading it moves past it; a failed read moves nowhere.
class Value {
 public:
  static constexpr bool kDirect = false;
  Value(Tokens& t) : t_(&t) {}

  bool is_string() const { return t_->peek() == '"'; }

  HOT error_code get_string(std::string_view& out) {
    if (!is_string()) return simdjson::INCORRECT_TYPE;
    TRY(t_->string_at(t_->i, t_->i + 1, out));
    ++t_->i;
    return SUCCESS;
  }

  HOT error_code get_uint64(uint64_t& out) {
    const char* p = scalar();
    if (*p == '-') return simdjson::INCORRECT_TYPE;
    TRY(digits(p, out));
    ++t_->i;
    return SUCCESS;
  }

  error_code get_int64(int64_t& out) {
    const char* p = scalar();
    bool negative = *p == '-';
    uint64_t u;
    TRY(digits(p + negative, u));
    if (u > uint64_t{INT64_MAX} + negative) return simdjson::NUMBER_OUT_OF_RANGE;
    out = negative ? static_cast<int64_t>(0 - u) : static_cast<int64_t>(u);
    ++t_->i;
    return SUCCESS;
  }

  error_code get_bool(bool& out) {
    const char* p = scalar();
    if (std::memcmp(p, "true", 4) == 0 && ends_scalar(p[4])) {
      out = true;
    } else if (std::memcmp(p, "false", 5) == 0 && ends_scalar(p[5])) {
      out = false;
    } else {
      return simdjson::INCORRECT_TYPE;
    }
    ++t_->i;
    return SUCCESS;
  }

  // A number in a string ("123"), as the protobuf JSON mapping writes 64-bit integers.
  error_code get_uint64_in_string(uint64_t& out) {
    uint32_t at = t_->i;
    std::string_view s;
    TRY(get_string(s));
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || s[0] == '+') {
      t_->i = at;
      return simdjson::NUMBER_ERROR;
    }
    return SUCCESS;
  }

  Tokens& tokens() { return *t_; }

  // A JSON integer without sign: no leading zeros, no fraction or exponent (those are not
  // integers), at most 2^64 - 1.
  static error_code digits(const char* p, uint64_t& out, const char** end = nullptr) {
    if (*p < '0' || *p > '9') return simdjson::INCORRECT_TYPE;
    if (*p == '0' && p[1] >= '0' && p[1] <= '9') return simdjson::NUMBER_ERROR;
    uint64_t v = 0;
    for (; *p >= '0' && *p <= '9'; ++p) {
      unsigned d = static_cast<unsigned>(*p - '0');
      if (v > (UINT64_MAX - d) / 10) return simdjson::NUMBER_OUT_OF_RANGE;
      v = v * 10 + d;
    }
    if (*p == '.' || *p == 'e' || *p == 'E') return simdjson::INCORRECT_TYPE;
    if (!ends_scalar(*p)) return simdjson::NUMBER_ERROR;
    out = v;
    if (end != nullptr) *end = p;
    return SUCCESS;
  }

 private:
  // The value's text (the line is padded: reading a few bytes past its end is safe).
  const char* scalar() const { return t_->i < t_->n ? t_->buf + t_->pos[t_->i] : "\0\0\0\0\0"; }

  Tokens* t_;
};

// The direct path: a line read straight from its text, without stage 1's index, for the
// common shape of a record (ASCII, no escapes, endpoints remembered from earlier lines). It
// accepts a subset of what the token walk accepts and reads the same values from it; anything
// else (an escape, a byte outside printable ASCII, an L7 or agent record, an endpoint not
// remembered, any error) makes it give up, and the line is walked as before. Between reads the
// cursor stands on a token's first character (whitespace skipped), or at the end.
struct Cursor {
  const char* p = nullptr;
  const char* end = nullptr;  // the line's end; the text goes on readable (padded) past it
  // Strings with escapes that a handler reads are unescaped by simdjson (as the walk does)
  // into the parser's room, when it has room for the whole line (else the line is walked).
  struct Room {
    const simdjson::internal::dom_parser_implementation* impl = nullptr;
    char* begin = nullptr;
    size_t capacity = 0;  // room for lines shorter than this
  };
  const Room* room = nullptr;
  char* unescaped = nullptr;  // where the next unescaped string goes; null: none yet

  HOT char peek() const { return p < end ? *p : '\0'; }
  // The text is padded past `end`: *p is readable there too. JSON's whitespace is below '!',
  // and a record printed compact has none: one compare passes the common case.
  HOT void ws() {
    if (static_cast<unsigned char>(*p) > ' ') [[likely]]
      return;
    while (p < end && is_space(*p)) ++p;
  }

  // The string whose opening quote is at p, without escapes, control characters or bytes
  // outside ASCII (the walk unescapes and validates those). kUnescape: a string with escapes
  // is unescaped instead (the values that handlers read).
  template <bool kUnescape = false>
  HOT error_code string(std::string_view& out) {
    const char* s = p + 1;
    for (;;) {
#if defined(__SSE2__)
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
      // Signed compare: below 0x20 is a control character, and bytes from 0x80 are negative.
      __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                              _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                                 _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
      unsigned m = static_cast<unsigned>(_mm_movemask_epi8(hit));
      if (m != 0) {
        const char* q = s + std::countr_zero(m);
        if (*q != '"' || q >= end) {
          if constexpr (kUnescape) return unescaped_string(out);
          return simdjson::STRING_ERROR;
        }
        out = {p + 1, static_cast<size_t>(q - p - 1)};
        p = q + 1;
        ws();
        return SUCCESS;
      }
      s += 16;
#else
      char c = *s;
      if (c == '"') {
        if (s >= end) return simdjson::STRING_ERROR;
        out = {p + 1, static_cast<size_t>(s - p - 1)};
        p = s + 1;
        ws();
        return SUCCESS;
      }
      if (c == '\\' || static_cast<signed char>(c) < 0x20) {
        if constexpr (kUnescape) return unescaped_string(out);
        return simdjson::STRING_ERROR;
      }
      ++s;
#endif
      if (s >= end) return simdjson::STRING_ERROR;
    }
  }

  // Skips the value at p: as the walk does (a string, or brackets counted to the close), on
  // printable ASCII only.
  // Passes the string at p, escapes and all (a string that is skipped is not unescaped by the
  // walk either; its control characters and bytes outside ASCII give up).
  error_code skip_string() {
    const char* s = p + 1;
    for (; s < end; ++s) {
      const auto u = static_cast<unsigned char>(*s);
      if (u == '"') {
        p = s + 1;
        ws();
        return SUCCESS;
      }
      if (u < 0x20 || u > 0x7e) return simdjson::STRING_ERROR;
      if (u == '\\') {
        ++s;
        if (s >= end || static_cast<unsigned char>(*s) < 0x20 ||
            static_cast<unsigned char>(*s) > 0x7e)
          return simdjson::STRING_ERROR;
      }
    }
    return simdjson::STRING_ERROR;
  }

  // The string at p unescaped (its escapes checked) into the scratch room: for a string that
  // string() did not take.
  __attribute__((noinline)) error_code unescaped_string(std::string_view& out) {
    const char* at = p;
    if (room == nullptr || room->impl == nullptr) return kGiveUp;
    char* to = unescaped ? unescaped : room->begin;
    // What is unescaped is no longer than its text, which lies before the line's end.
    if (room->capacity <= static_cast<size_t>(to - room->begin) + static_cast<size_t>(end - at))
      return kGiveUp;
    TRY(skip_string());  // printable ASCII, and where it ends
    auto* e = room->impl->parse_string(reinterpret_cast<const uint8_t*>(at + 1),
                                       reinterpret_cast<uint8_t*>(to));
    if (e == nullptr) {
      p = at;
      return simdjson::STRING_ERROR;
    }
    out = {to, static_cast<size_t>(reinterpret_cast<char*>(e) - to)};
    unescaped = reinterpret_cast<char*>(e);
    return SUCCESS;
  }

  // A string that may have escapes: the fast scan first.
  error_code pass_string() {
    std::string_view s;
    const char* at = p;
    if (string(s) == SUCCESS) return SUCCESS;
    p = at;
    return skip_string();
  }

  error_code skip() {
    char c = peek();
    if (c == '"') return pass_string();
    if (c == '{' || c == '[') {
      int64_t depth = 0;
      while (p < end) {
        c = *p;
        if (c == '"') {
          TRY(pass_string());
          continue;
        }
        if (c == '{' || c == '[') {
          ++depth;
        } else if (c == '}' || c == ']') {
          if (--depth == 0) {
            ++p;
            ws();
            return SUCCESS;
          }
        } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
          if (!is_space(c)) return simdjson::UNEXPECTED_ERROR;
        } else if (c == '\\') {
          return simdjson::UNEXPECTED_ERROR;
        }
        ++p;
      }
      return simdjson::INCOMPLETE_ARRAY_OR_OBJECT;
    }
    if (c == '\0' || c == ',' || c == ':' || c == '}' || c == ']') return simdjson::TAPE_ERROR;
    // A scalar: up to what ends one (as one token of the walk).
    while (p < end && !ends_scalar(*p)) {
      auto u = static_cast<unsigned char>(*p);
      if (u < 0x20 || u > 0x7e || u == '"' || u == '{' || u == '[' || u == '\\')
        return simdjson::UNEXPECTED_ERROR;
      ++p;
    }
    ws();
    return SUCCESS;
  }
};

// A value of a line read directly: Value's reads, on a Cursor.
class Direct {
 public:
  static constexpr bool kDirect = true;
  Direct(Cursor& c) : c_(&c) {}

  bool is_string() const { return c_->peek() == '"'; }

  HOT error_code get_string(std::string_view& out) {
    if (!is_string()) return simdjson::INCORRECT_TYPE;
    return c_->string<true>(out);
  }

  HOT error_code get_uint64(uint64_t& out) {
    const char* p = c_->p;
    if (p >= c_->end || *p == '-') return simdjson::INCORRECT_TYPE;
    TRY(Value::digits(p, out, &c_->p));
    c_->ws();
    return SUCCESS;
  }

  error_code get_bool(bool& out) {
    const char* p = c_->p;
    if (p >= c_->end) return simdjson::INCORRECT_TYPE;
    if (std::memcmp(p, "true", 4) == 0 && ends_scalar(p[4])) {
      out = true;
      c_->p += 4;
    } else if (std::memcmp(p, "false", 5) == 0 && ends_scalar(p[5])) {
      out = false;
      c_->p += 5;
    } else {
      return simdjson::INCORRECT_TYPE;
    }
    c_->ws();
    return SUCCESS;
  }

  error_code get_int64(int64_t& out) {
    const char* p = c_->p;
    if (p >= c_->end) return simdjson::INCORRECT_TYPE;
    bool negative = *p == '-';
    uint64_t u;
    const char* after = nullptr;
    TRY(Value::digits(p + negative, u, &after));
    if (u > uint64_t{INT64_MAX} + negative) return simdjson::NUMBER_OUT_OF_RANGE;
    out = negative ? static_cast<int64_t>(0 - u) : static_cast<int64_t>(u);
    c_->p = after;
    c_->ws();
    return SUCCESS;
  }

  // As Value's.
  error_code get_uint64_in_string(uint64_t& out) {
    const char* at = c_->p;
    std::string_view s;
    TRY(get_string(s));
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || s[0] == '+') {
      c_->p = at;
      return simdjson::NUMBER_ERROR;
    }
    return SUCCESS;
  }

  Cursor& cursor() { return *c_; }

 private:
  Cursor* c_;
};

template <class V>
HOT inline error_code get_str(V v, std::string_view& out) {
  return v.get_string(out);
}

template <class V>
error_code read_ip(V v, std::optional<IpAddr>& out) {
  std::string_view s;
  TRY(get_str(v, s));
  if (s.empty()) return SUCCESS;
  out = IpAddr::parse(s);
  return out ? SUCCESS : simdjson::INCORRECT_TYPE;
}

template <class V>
error_code read_port(V v, uint16_t& out) {
  uint64_t n;
  TRY(v.get_uint64(n));
  if (n > 65535) return simdjson::NUMBER_OUT_OF_RANGE;
  out = static_cast<uint16_t>(n);
  return SUCCESS;
}

// Calls f(key, value) -> error_code for each field of the object at the next token; an error
// stops. Values the handler leaves unread are skipped.
//
// The handler first sees the key as it is in the line: the keys a handler reads have no
// escapes, so one that it reads is what it says. Only a key left unread whose text has an
// escape is unescaped, and the handler asked again.
template <class F>
error_code each_field(Value v, F&& f) {
  Tokens& t = v.tokens();
  if (t.peek() != '{') return simdjson::INCORRECT_TYPE;
  ++t.i;
  if (t.peek() == '}') {
    ++t.i;
    return SUCCESS;
  }
  for (;;) {
    if (t.peek() != '"' || t.at(t.i + 1) != ':') return simdjson::TAPE_ERROR;
    std::string_view key;
    TRY(t.raw_string_at(t.i, t.i + 1, key));
    const uint32_t key_token = t.i;
    t.i += 2;
    uint32_t start = t.i;
    if (start >= t.n) return simdjson::INCOMPLETE_ARRAY_OR_OBJECT;
    TRY(f(key, Value(t)));
    if (t.i == start && has_backslash(key.data(), key.size())) {
      TRY(t.string_at(key_token, key_token + 1, key));
      TRY(f(key, Value(t)));
    }
    if (t.i == start) TRY(t.skip());
    char c = t.peek();
    ++t.i;
    if (c == '}') return SUCCESS;
    if (c != ',') return simdjson::TAPE_ERROR;
  }
}

// each_field on a line read directly: keys with escapes give up (the walk unescapes them).
template <class F>
error_code each_field(Direct v, F&& f) {
  Cursor& c = v.cursor();
  if (c.peek() != '{') return simdjson::INCORRECT_TYPE;
  ++c.p;
  c.ws();
  if (c.peek() == '}') {
    ++c.p;
    c.ws();
    return SUCCESS;
  }
  for (;;) {
    if (c.peek() != '"') return simdjson::TAPE_ERROR;
    std::string_view key;
    TRY(c.string(key));
    if (c.peek() != ':') return simdjson::TAPE_ERROR;
    ++c.p;
    c.ws();
    const char* start = c.p;
    if (start >= c.end) return simdjson::INCOMPLETE_ARRAY_OR_OBJECT;
    TRY(f(key, Direct(c)));
    if (c.p == start) TRY(c.skip());
    char ch = c.peek();
    ++c.p;
    c.ws();
    if (ch == '}') return SUCCESS;
    if (ch != ',') return simdjson::TAPE_ERROR;
  }
}

template <class F>
error_code each_item(Direct v, F&& f) {
  Cursor& c = v.cursor();
  if (c.peek() != '[') return simdjson::INCORRECT_TYPE;
  ++c.p;
  c.ws();
  if (c.peek() == ']') {
    ++c.p;
    c.ws();
    return SUCCESS;
  }
  for (;;) {
    const char* start = c.p;
    if (start >= c.end) return simdjson::INCOMPLETE_ARRAY_OR_OBJECT;
    TRY(f(Direct(c)));
    if (c.p == start) TRY(c.skip());
    char ch = c.peek();
    ++c.p;
    c.ws();
    if (ch == ']') return SUCCESS;
    if (ch != ',') return simdjson::TAPE_ERROR;
  }
}

template <class F>
error_code each_item(Value v, F&& f) {
  Tokens& t = v.tokens();
  if (t.peek() != '[') return simdjson::INCORRECT_TYPE;
  ++t.i;
  if (t.peek() == ']') {
    ++t.i;
    return SUCCESS;
  }
  for (;;) {
    uint32_t start = t.i;
    if (start >= t.n) return simdjson::INCOMPLETE_ARRAY_OR_OBJECT;
    TRY(f(Value(t)));
    if (t.i == start) TRY(t.skip());
    char c = t.peek();
    ++t.i;
    if (c == ']') return SUCCESS;
    if (c != ',') return simdjson::TAPE_ERROR;
  }
}

// Hubble `source` / `destination` endpoint.
error_code read_endpoint(Value v, FlowPeer& p) {
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
bool pristine(const FlowPeer& p) {
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

template <class V>
error_code read_service(V v, FlowPeer& p) {
  return each_field(v, [&](std::string_view key, V val) -> error_code {
    if (is(key, "name")) return get_str(val, p.service_name);
    if (is(key, "namespace")) return get_str(val, p.service_ns);
    return SUCCESS;
  });
}

template <class V>
error_code read_l4(V v, Flow& f) {
  return each_field(v, [&](std::string_view key, V val) -> error_code {
    if (is(key, "ICMPv4") || is(key, "ICMPv6")) {
      f.l4 = is(key, "ICMPv4") ? L4Protocol::ICMPv4 : L4Protocol::ICMPv6;
      return SUCCESS;
    }
    if (!is(key, "TCP") && !is(key, "UDP") && !is(key, "SCTP")) return SUCCESS;
    f.l4 = is(key, "TCP") ? L4Protocol::TCP : is(key, "UDP") ? L4Protocol::UDP : L4Protocol::SCTP;
    return each_field(val, [&](std::string_view pk, V pv) -> error_code {
      if (is(pk, "source_port")) return read_port(pv, f.src.port);
      if (is(pk, "destination_port")) return read_port(pv, f.dst.port);
      if (!is(pk, "flags")) return SUCCESS;
      return each_field(pv, [&](std::string_view fk, V fv) -> error_code {
        bool b = false;
        TRY(fv.get_bool(b));
        if (is(fk, "SYN")) f.tcp.syn = b;
        if (is(fk, "ACK")) f.tcp.ack = b;
        if (is(fk, "FIN")) f.tcp.fin = b;
        if (is(fk, "RST")) f.tcp.rst = b;
        return SUCCESS;
      });
    });
  });
}

// Hubble `l7`: {"type", "latency_ns", "dns": {...}, "http": {...}} (Kafka and others are
// recognised as L7 and otherwise skipped).
template <class V>
error_code read_l7(V v, L7Info& l7) {
  return each_field(v, [&](std::string_view key, V val) -> error_code {
    std::string_view s;
    if (is(key, "type")) {
      TRY(get_str(val, s));
      l7.type = is(s, "REQUEST")    ? L7Info::Type::Request
                : is(s, "RESPONSE") ? L7Info::Type::Response
                : is(s, "SAMPLE")   ? L7Info::Type::Sample
                                    : L7Info::Type::Unknown;
    } else if (is(key, "latency_ns")) {  // a string in the protobuf JSON mapping
      if (val.is_string()) return val.get_uint64_in_string(l7.latency_ns);
      return val.get_uint64(l7.latency_ns);
    } else if (is(key, "dns")) {
      return each_field(val, [&](std::string_view dk, V dv) -> error_code {
        if (is(dk, "query")) return get_str(dv, l7.dns_query);
        if (is(dk, "rcode")) {
          int64_t rc;
          TRY(dv.get_int64(rc));
          l7.dns_rcode = static_cast<int32_t>(std::clamp<int64_t>(rc, 0, INT32_MAX));
        } else if (is(dk, "ips")) {
          return each_item(dv, [&](V ip) -> error_code {
            std::string_view a;
            TRY(get_str(ip, a));
            if (l7.dns_ip_count < l7.dns_ips.size()) l7.dns_ips[l7.dns_ip_count++] = a;
            return SUCCESS;
          });
        }
        return SUCCESS;
      });
    } else if (is(key, "http")) {
      return each_field(val, [&](std::string_view hk, V hv) -> error_code {
        if (is(hk, "method")) return get_str(hv, l7.http_method);
        if (is(hk, "url")) return get_str(hv, l7.http_url);
        if (is(hk, "protocol")) return get_str(hv, l7.http_protocol);
        if (is(hk, "code")) {
          uint64_t code;
          TRY(hv.get_uint64(code));
          l7.http_code = static_cast<uint32_t>(std::min<uint64_t>(code, UINT32_MAX));
        }
        return SUCCESS;
      });
    }
    return SUCCESS;
  });
}

FlowVerdict parse_verdict(std::string_view s) {
  if (is(s, "FORWARDED")) return FlowVerdict::Forwarded;
  if (is(s, "DROPPED")) return FlowVerdict::Dropped;
  if (is(s, "ERROR")) return FlowVerdict::Error;
  if (is(s, "AUDIT")) return FlowVerdict::Audit;
  if (is(s, "REDIRECTED")) return FlowVerdict::Redirected;
  if (is(s, "TRACED")) return FlowVerdict::Traced;
  if (is(s, "TRANSLATED")) return FlowVerdict::Translated;
  return FlowVerdict::Unknown;
}

// Agent `src` / `dst`: {"ip": "...", "port": N}.
error_code read_agent_peer(Value v, FlowPeer& p) {
  TRY(each_field(v, [&](std::string_view key, Value val) -> error_code {
    if (is(key, "ip")) return read_ip(val, p.ip);
    if (is(key, "port")) return read_port(val, p.port);
    if (is(key, "namespace")) return get_str(val, p.ns);  // set by `agent -f`
    if (is(key, "pod")) return get_str(val, p.pod);
    return SUCCESS;
  }));
  return check_names(p);
}

class KeyMemo;

struct Seen {
  bool flow = false;           // a Hubble flow (IP, l4, source/destination, verdict)
  bool agent = false;          // a Stockade agent event
  std::string_view pod_uid;    // agent: the pod of the process (the local side)
  std::string_view time_text;  // the last time read, and what it says
  int64_t time_ns = 0;
  EndpointCache* endpoints = nullptr;  // the parser's
  EndpointCache::Pending pending[2];   // source, destination: read at the end of the line
  const FlowReadOptions::PeerHint* hint = nullptr;
  Rfc3339Parser* times = nullptr;          // the parser's
  L7Info* l7 = nullptr;                    // the parser's: where the record's `l7` goes
  bool endpoint_read[2] = {false, false};  // source, destination (a repeated key is walked)
  KeyMemo* keys = nullptr;                 // the parser's: of the record, of the wrapped flow

  // Reads the pending endpoint of a side now (before something else writes that peer).
  error_code finish(Tokens& t, int side) {
    if (pending[side].peer == nullptr) return SUCCESS;
    return endpoints->finish(t, &pending[side], 1, hint);
  }
};

// The fields of a record we read, found by one switch on the key's length (a record has
// dozens of fields; most are skipped).
enum class Key : uint8_t {
  Other,
  Flow,
  Time,
  Verdict,
  DropReason,
  IP,
  L4,
  Source,
  Destination,
  SourceService,
  DestinationService,
  Type,
  L7,
  EventType,
  IsReply,
  TrafficDirection,
  NodeName,
  AgentType,
  Protocol,
  Direction,
  Outcome,
  Src,
  Dst,
  Process,
  PodUid
};

Key record_key(std::string_view k) {
  switch (k.size()) {
    case 2:
      return is(k, "IP") ? Key::IP : is(k, "l4") ? Key::L4 : is(k, "l7") ? Key::L7 : Key::Other;
    case 3:
      return is(k, "src") ? Key::Src : is(k, "dst") ? Key::Dst : Key::Other;
    case 4:
      return is(k, "time")   ? Key::Time
             : is(k, "flow") ? Key::Flow
             : is(k, "Type") ? Key::Type
             : is(k, "node") ? Key::NodeName
             : is(k, "type") ? Key::AgentType
                             : Key::Other;
    case 6:
      return is(k, "source") ? Key::Source : Key::Other;
    case 7:
      return is(k, "verdict")   ? Key::Verdict
             : is(k, "outcome") ? Key::Outcome
             : is(k, "process") ? Key::Process
             : is(k, "pod_uid") ? Key::PodUid
                                : Key::Other;
    case 8:
      return is(k, "is_reply") ? Key::IsReply : is(k, "protocol") ? Key::Protocol : Key::Other;
    case 9:
      return is(k, "node_name") ? Key::NodeName : is(k, "direction") ? Key::Direction : Key::Other;
    case 10:
      return is(k, "event_type") ? Key::EventType : Key::Other;
    case 11:
      return is(k, "destination") ? Key::Destination : Key::Other;
    case 14:
      return is(k, "source_service") ? Key::SourceService : Key::Other;
    case 16:
      return is(k, "drop_reason_desc") ? Key::DropReason : Key::Other;
    case 17:
      return is(k, "traffic_direction") ? Key::TrafficDirection : Key::Other;
    case 19:
      return is(k, "destination_service") ? Key::DestinationService : Key::Other;
    default:
      return Key::Other;
  }
}

// The keys of a record's objects as the lines before had them, for the direct path: a key
// written as it was before (`"verdict":`, byte for byte) is known without scanning it and
// finding what it is. Each key remembers the key that followed it last time, and the one
// before that: where records of two shapes differ (a dropped flow has `drop_reason`), both
// successors are known.
class KeyMemo {
 public:
  static constexpr size_t kKeys = 48;
  static constexpr size_t kText = 32;  // `"key":` at most this long
  static constexpr uint8_t kNone = 0xff;

  struct Known {
    alignas(16) char text[kText] = {};  // `"key":`, zeros after
    uint32_t mask = 0;                  // one bit per byte of the text
    uint8_t len = 0;
    Key key = Key::Other;
    uint8_t next[2] = {kNone, kNone};  // the keys that followed it (the latest first)
  };

  // The known key whose text is at p (p + 32 is readable), tried among the successors of
  // `prev` (kNone: the object's first key), or null.
  HOT const Known* match(uint8_t prev, const char* p, const char* end) const {
    const uint8_t* next = prev == kNone ? first_ : known_[prev].next;
    for (int i = 0; i < 2; ++i) {
      if (next[i] == kNone) return nullptr;
      const Known& k = known_[next[i]];
      if (k.len <= end - p && (bytes_equal(p, k.text) & k.mask) == k.mask) return &k;
    }
    return nullptr;
  }

  uint8_t index(const Known* k) const { return static_cast<uint8_t>(k - known_.data()); }

  // After the key `text` (record_key: `key`) was scanned, following `prev`: its index, known
  // from now on (kNone if it cannot be: too long, or no room).
  uint8_t learn(uint8_t prev, std::string_view text, Key key) {
    uint8_t at = kNone;
    for (size_t i = 0; i < count_; ++i)
      if (known_[i].len == text.size() &&
          std::memcmp(known_[i].text, text.data(), text.size()) == 0)
        at = static_cast<uint8_t>(i);
    if (at == kNone) {
      if (text.size() > kText || count_ == kKeys) return kNone;
      at = static_cast<uint8_t>(count_++);
      Known& k = known_[at];
      std::memcpy(k.text, text.data(), text.size());
      k.len = static_cast<uint8_t>(text.size());
      k.mask = text.size() == 32 ? ~uint32_t{0} : (uint32_t{1} << text.size()) - 1;
      k.key = key;
    }
    uint8_t* next = prev == kNone ? first_ : known_[prev].next;
    if (next[0] != at) {
      next[1] = next[0];
      next[0] = at;
    }
    return at;
  }

 private:
  // One bit per byte of the 32 at p and at `text`: set where they are equal.
  HOT static uint32_t bytes_equal(const char* p, const char* text) {
#if defined(__SSE2__)
    auto eq = [&](int off) {
      __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + off));
      __m128i b = _mm_load_si128(reinterpret_cast<const __m128i*>(text + off));
      return static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(a, b)));
    };
    return eq(0) | eq(16) << 16;
#else
    uint32_t m = 0;
    for (size_t i = 0; i < kText; ++i) m |= uint32_t{p[i] == text[i]} << i;
    return m;
#endif
  }

  std::array<Known, kKeys> known_{};
  size_t count_ = 0;
  uint8_t first_[2] = {kNone, kNone};
};

// each_field on a line read directly, for the handler of a record's objects, which takes
// record_key(key) too: keys written as before are known from `memo`.
template <class H>
HOT inline error_code each_record_field(Direct v, KeyMemo& memo, H&& handle) {
  Cursor& c = v.cursor();
  if (c.peek() != '{') return simdjson::INCORRECT_TYPE;
  ++c.p;
  c.ws();
  if (c.peek() == '}') {
    ++c.p;
    c.ws();
    return SUCCESS;
  }
  uint8_t prev = KeyMemo::kNone;
  for (;;) {
    if (c.peek() != '"') return simdjson::TAPE_ERROR;
    std::string_view key;
    Key k;
    if (const KeyMemo::Known* known = memo.match(prev, c.p, c.end)) {
      key = {c.p + 1, known->len - 3u};
      k = known->key;
      prev = memo.index(known);
      c.p += known->len;
      c.ws();
    } else {
      const char* open = c.p;
      TRY(c.string(key));
      if (c.peek() != ':') return simdjson::TAPE_ERROR;
      k = record_key(key);
      // Only `"key":` without spaces is remembered.
      prev = c.p == key.data() + key.size() + 1
                 ? memo.learn(prev, std::string_view(open, key.size() + 3), k)
                 : KeyMemo::kNone;
      ++c.p;
      c.ws();
    }
    const char* start = c.p;
    if (start >= c.end) return simdjson::INCOMPLETE_ARRAY_OR_OBJECT;
    TRY(handle(k, key, Direct(c)));
    if (c.p == start) TRY(c.skip());
    char ch = c.peek();
    ++c.p;
    c.ws();
    if (ch == '}') return SUCCESS;
    if (ch != ',') return simdjson::TAPE_ERROR;
  }
}

// One object: a Hubble flow, the {"flow": …} wrapper around one, or an agent event. The
// field sets do not overlap in meaning, so one pass handles all three.
template <class V>
error_code read_object(V o, Flow& f, Seen& seen, int depth) {
  auto handle = [&](Key which, std::string_view key, V val) __attribute__((always_inline))
                    ->error_code {
    std::string_view s;
    switch (which) {
      case Key::Other:
        return SUCCESS;
      case Key::Flow: {
        if (depth > 0) return simdjson::TAPE_ERROR;
        return read_object(val, f, seen, depth + 1);
      }
      case Key::Time: {
        TRY(get_str(val, s));
        if (s != seen.time_text) {  // the wrapper repeats the flow's time: parsed once
          auto ns = seen.times->parse(s);
          if (!ns) return simdjson::INCORRECT_TYPE;
          seen.time_text = s;
          seen.time_ns = *ns;
        }
        if (f.time_ns == 0 || depth > 0) f.time_ns = seen.time_ns;
        return SUCCESS;
      }
      case Key::Verdict:
        TRY(get_str(val, s));
        f.verdict = parse_verdict(s);
        seen.flow = true;
        return SUCCESS;
      case Key::DropReason:
        return get_str(val, f.drop_reason);
      case Key::IP:
        seen.flow = true;
        return each_field(val, [&](std::string_view ik, V iv) -> error_code {
          if (is(ik, "source")) return read_ip(iv, f.src.ip);
          if (is(ik, "destination")) return read_ip(iv, f.dst.ip);
          return SUCCESS;
        });
      case Key::L4:
        seen.flow = true;
        return read_l4(val, f);
      case Key::Source:
      case Key::Destination: {
        seen.flow = true;
        const int side = key.size() == 6 ? 0 : 1;
        FlowPeer& p = side == 0 ? f.src : f.dst;
        const bool first = !seen.endpoint_read[side];
        seen.endpoint_read[side] = true;
        if constexpr (V::kDirect) {
          // Only a remembered endpoint, read into a pristine peer.
          if (seen.endpoints == nullptr || !first || !pristine(p)) return kGiveUp;
          return seen.endpoints->find(val.cursor(), p, seen.pending[side]);
        } else {
          if (seen.endpoints == nullptr || !first || !pristine(p)) {
            // A repeated key, or the peer named already (an agent's "src"): the peer is
            // what they say, in order; its hint is found later.
            TRY(seen.finish(val.tokens(), side));
            p.hint = 0;
            return read_endpoint(val, p);
          }
          return seen.endpoints->begin(val, p, seen.pending[side]);
        }
      }
      case Key::SourceService:
        return read_service(val, f.src);
      case Key::DestinationService:
        return read_service(val, f.dst);
      case Key::Type:
        TRY(get_str(val, s));
        f.l7 = f.l7 || is(s, "L7");
        f.sock = is(s, "SOCK");
        return SUCCESS;
      case Key::L7:
        f.l7 = true;
        if (f.l7_info == nullptr) {  // the parser's, until the chunk keeps a copy
          *seen.l7 = L7Info{};
          f.l7_info = seen.l7;
        }
        return read_l7(val, *seen.l7);
      case Key::EventType:
        return each_field(val, [&](std::string_view ek, V ev) -> error_code {
          uint64_t type;
          if (is(ek, "type") && ev.get_uint64(type) == SUCCESS && type == 5)
            f.policy_verdict = true;
          return SUCCESS;
        });
      case Key::IsReply: {
        bool b;
        if (val.get_bool(b) == SUCCESS) f.is_reply = b;
        return SUCCESS;
      }
      case Key::TrafficDirection:
        TRY(get_str(val, s));
        f.direction = is(s, "INGRESS")  ? TrafficDirection::Ingress
                      : is(s, "EGRESS") ? TrafficDirection::Egress
                                        : TrafficDirection::Unknown;
        return SUCCESS;
      case Key::NodeName:
        TRY(get_str(val, s));
        if (f.node.empty() || depth > 0) f.node = s;
        return SUCCESS;
      case Key::AgentType:
        TRY(get_str(val, s));
        if (is(s, "lost")) return SUCCESS;  // the agent's notice of lost events: no flow
        if (!is(s, "connect")) return simdjson::INCORRECT_TYPE;
        seen.agent = true;
        f.verdict = FlowVerdict::Forwarded;
        return SUCCESS;
      case Key::Protocol:
        TRY(get_str(val, s));
        f.l4 = is(s, "TCP")   ? L4Protocol::TCP
               : is(s, "UDP") ? L4Protocol::UDP
                              : L4Protocol::Unknown;
        return SUCCESS;
      case Key::Direction:
        TRY(get_str(val, s));
        f.direction = is(s, "inbound") ? TrafficDirection::Ingress : TrafficDirection::Egress;
        return SUCCESS;
      case Key::Outcome:
        return get_str(val, f.agent_outcome);
      case Key::Src:  // after a pending "source": in order
        if constexpr (V::kDirect) {
          return kGiveUp;
        } else {
          TRY(seen.finish(val.tokens(), 0));
          return read_agent_peer(val, f.src);
        }
      case Key::Dst:
        if constexpr (V::kDirect) {
          return kGiveUp;
        } else {
          TRY(seen.finish(val.tokens(), 1));
          return read_agent_peer(val, f.dst);
        }
      case Key::PodUid:
        return get_str(val, seen.pod_uid);
      case Key::Process:
        if constexpr (V::kDirect) {
          return kGiveUp;
        } else {
          return each_field(val, [&](std::string_view pk, Value pv) -> error_code {
            if (is(pk, "pid")) return pv.get_int64(f.pid);
            if (is(pk, "comm")) return get_str(pv, f.comm);
            return SUCCESS;
          });
        }
    }
    return SUCCESS;
  };
  if constexpr (V::kDirect) {
    return each_record_field(o, seen.keys[depth], handle);
  } else {
    return each_field(
        o, [&](std::string_view key, V val) __attribute__((always_inline))->error_code {
          return handle(record_key(key), key, val);
        });
  }
}

// One line → one record. Each thread that parses owns one (the parser's buffers are reused
// from line to line; the strings of a record point into them until the next line).
// Whether every backslash escape of a JSON line is one JSON allows: \" \\ \/ \b \f \n \r \t
// or \u with four hex digits, a high surrogate followed by a low one and no low one alone.
// (Outside strings a backslash is a syntax error, which the parse reports anyway.)
bool escapes_valid(const char* p, size_t len) {
  const char* end = p + len;
  auto hex4 = [&](const char* q, unsigned& v) {
    if (end - q < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = q[i];
      int d = c >= '0' && c <= '9'                     ? c - '0'
              : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                                                       : -1;
      if (d < 0) return false;
      v = v * 16 + static_cast<unsigned>(d);
    }
    return true;
  };
  while (const char* b =
             static_cast<const char*>(std::memchr(p, '\\', static_cast<size_t>(end - p)))) {
    if (b + 1 >= end) return false;
    char c = b[1];
    if (c == 'u') {
      unsigned v;
      if (!hex4(b + 2, v)) return false;
      p = b + 6;
      if (v >= 0xDC00 && v <= 0xDFFF) return false;
      if (v >= 0xD800 && v <= 0xDBFF) {
        unsigned lo;
        if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, lo) || lo < 0xDC00 ||
            lo > 0xDFFF)
          return false;
        p += 6;
      }
      continue;
    }
    if (c != '"' && c != '\\' && c != '/' && c != 'b' && c != 'f' && c != 'n' && c != 'r' &&
        c != 't')
      return false;
    p = b + 2;
  }
  return true;
}

class RecordParser {
 public:
  enum class Kind { Blank, Record, Ignored, Malformed };

  // `strict`: every escape in the line is checked (--strict), not only those of the strings
  // a record needs (a skipped string's escapes are never decoded, so never checked).
  RecordParser(bool direct, bool strict) : direct_(direct), strict_(strict) {}

  uint64_t direct_lines = 0;  // read by the direct path so far
  // Whether a string of the last record was unescaped into the parser's room (else they all
  // point into the line).
  bool unescaped() const { return unescaped_; }

  // `data` must be followed by at least SIMDJSON_PADDING readable bytes; `f` must be new.
  // `hint` (may be null) sets the hint of peers read from a remembered endpoint.
  Kind line(const char* data, size_t len, Flow& f, error_code& err,
            const FlowReadOptions::PeerHint* hint) {
    while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == ' ' || data[len - 1] == '\t'))
      --len;
    size_t start = 0;
    while (start < len && (data[start] == ' ' || data[start] == '\t')) ++start;
    unescaped_ = false;
    if (start == len) return Kind::Blank;
    if (strict_ && !escapes_valid(data + start, len - start)) {
      err = simdjson::STRING_ERROR;
      return Kind::Malformed;
    }
    Seen seen;
    auto reset = [&] {
      seen = Seen{};
      seen.endpoints = &endpoints_;
      seen.hint = hint;
      seen.times = &times_;
      seen.l7 = &l7_;
      seen.keys = keys_;
    };
    reset();
    err = direct_ ? parse_direct(data + start, data + len, f, seen) : kGiveUp;
    if (err == SUCCESS) {
      ++direct_lines;
    } else {  // the walk decides, from the start
      f = Flow{};
      reset();
      err = parse(data + start, len - start, f, seen);
    }
    if (err == SUCCESS && !seen.flow && !seen.agent)
      return Kind::Ignored;  // valid JSON without a flow (lost events, node status)
    if (err == SUCCESS && seen.agent && (!f.src.ip || !f.dst.ip)) err = simdjson::INCORRECT_TYPE;
    if (seen.agent && !seen.pod_uid.empty()) {  // the process runs on the connection's own side
      FlowPeer& local = f.direction == TrafficDirection::Ingress ? f.dst : f.src;
      local.pod_uid = seen.pod_uid;
      local.hint = 0;  // found later, with the UID
    }
    return err == SUCCESS ? Kind::Record : Kind::Malformed;
  }

 private:
  // The direct path (see Cursor): an error leaves the line to parse().
  error_code parse_direct(const char* begin, const char* end, Flow& f, Seen& seen) {
    Cursor c{begin, end, &room_};
    TRY(read_object(Direct(c), f, seen, 0));
    if (c.p != c.end) return kGiveUp;
    TRY(endpoints_.verify(seen.pending, 2));
    unescaped_ = c.unescaped != nullptr;
    return SUCCESS;
  }

  // simdjson's stage 1 and room for the unescaped strings of a line of `len` bytes.
  error_code make_room(size_t len) {
    if (!stage1_ || stage1_->capacity() <= len) {
      size_t capacity = std::max<size_t>(std::bit_ceil(len + 1), size_t{64} << 10);
      if (!stage1_) {
        TRY(simdjson::get_active_implementation()->create_dom_parser_implementation(
            capacity, simdjson::DEFAULT_MAX_DEPTH, stage1_));
      } else {
        TRY(stage1_->set_capacity(capacity));
      }
      scratch_.reset(new char[capacity + simdjson::SIMDJSON_PADDING]);
      room_ = {stage1_.get(), scratch_.get(), capacity};
    }
    return SUCCESS;
  }

  error_code parse(const char* data, size_t len, Flow& f, Seen& seen) {
    TRY(make_room(len));
    TRY(stage1_->stage1(reinterpret_cast<const uint8_t*>(data), len,
                        simdjson::stage1_mode::regular));
    Tokens t;
    t.buf = data;
    t.len = len;
    t.pos = stage1_->structural_indexes.get();
    t.n = stage1_->n_structural_indexes;
    t.impl = stage1_.get();
    t.scratch = scratch_.get();
    error_code err = read_object(Value(t), f, seen, 0);
    if (err == SUCCESS) err = endpoints_.finish(t, seen.pending, 2, seen.hint);
    unescaped_ = t.scratch != scratch_.get();
    TRY(err);
    // The object must be the whole line: `{…}{…}` or `{…} x` is not one record.
    return t.i == t.n ? SUCCESS : simdjson::TRAILING_CONTENT;
  }

  std::unique_ptr<simdjson::internal::dom_parser_implementation> stage1_;
  std::unique_ptr<char[]> scratch_;  // unescaped strings of the current line
  Cursor::Room room_;                // the same, for the direct path
  bool direct_;
  bool strict_;
  bool unescaped_ = false;
  EndpointCache endpoints_;
  Rfc3339Parser times_;
  L7Info l7_;
  KeyMemo keys_[2];  // the record's, the wrapped flow's
};

#undef TRY
#undef HOT

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

void keep_strings(FlowPeer& p, Arena& a) {
  for (std::string_view* s : {&p.ns, &p.pod, &p.pod_uid, &p.workload, &p.workload_kind,
                              &p.service_ns, &p.service_name, &p.reserved, &p.labels_json})
    *s = a.keep(*s);
}

void keep_strings(Flow& f, Arena& a) {
  keep_strings(f.src, a);
  keep_strings(f.dst, a);
  f.drop_reason = a.keep(f.drop_reason);
  f.node = a.keep(f.node);
  f.agent_outcome = a.keep(f.agent_outcome);
  f.comm = a.keep(f.comm);
}

void keep_strings(L7Info& l7, Arena& a) {
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
    error_code err;
  };
  std::vector<Bad> bad;
  uint64_t lines = 0, ignored = 0, direct = 0;
  bool ready = false;

  size_t capacity() const { return text.size() - simdjson::SIMDJSON_PADDING; }

  void parse(RecordParser& parser, const FlowReadOptions::PeerHint& hint) {
    const char* p = text.data();
    flows.clear();
    l7s.clear();
    arena.clear(p, p + len);
    bad.clear();
    lines = ignored = 0;
    const uint64_t direct_before = parser.direct_lines;
    std::memset(text.data() + len, 0, simdjson::SIMDJSON_PADDING);
    const char* end = p + len;
    while (p < end) {
      if (*p == '\n') {  // an empty line: no record to set up (a stream of them costs nothing)
        ++lines;
        ++p;
        continue;
      }
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      const char* line_end = nl ? nl : end;
      Flow& f = flows.emplace_back();
      error_code err = SUCCESS;
      switch (parser.line(p, static_cast<size_t>(line_end - p), f, err, &hint)) {
        case RecordParser::Kind::Record:
          if (parser.unescaped()) keep_strings(f, arena);
          if (!f.node.empty()) f.node_hash = hash_bytes(f.node);
          if (f.l7_info != nullptr) {
            L7Info& kept = l7s.emplace_back(*f.l7_info);
            if (parser.unescaped()) keep_strings(kept, arena);
            f.l7_info = &kept;
          }
          if (hint) {
            if (f.src.hint == 0) f.src.hint = hint(f.src);
            if (f.dst.hint == 0) f.dst.hint = hint(f.dst);
          }
          break;
        case RecordParser::Kind::Malformed:
          flows.pop_back();
          bad.push_back({lines, flows.size(), err});
          break;
        case RecordParser::Kind::Ignored:
          ++ignored;
          flows.pop_back();
          break;
        case RecordParser::Kind::Blank:
          flows.pop_back();
          break;
      }
      ++lines;
      p = line_end + 1;
    }
    direct = parser.direct_lines - direct_before;
  }
};

// Cuts the input into chunks of whole lines, has them parsed (by worker threads when the
// input is larger than one chunk) and hands the records to the sink in input order, so the
// result is the same as reading line by line. The calling thread is one of the `threads_` that
// parse: while the oldest chunk is not ready it parses a queued one rather than wait. With a
// worker per core besides it, a worker preempted in the middle of the oldest chunk held up the
// rest, and the cores were idle 14% of the time.
class Pipeline {
 public:
  Pipeline(const std::string& name, const FlowReadOptions& options, FlowReadStats& stats,
           const FlowSink& sink)
      : name_(name), options_(options), stats_(stats), sink_(sink) {
    unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    threads_ = options.threads > 0 ? options.threads : std::min(hw, 8u);
  }
  ~Pipeline() { stop_workers(); }
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Feeds whatever `read(dst, max)` returns until it returns 0; negative is an I/O error.
  template <class Read>
  Result<void> run(Read&& read) {
    std::unique_ptr<Chunk> cur = take_chunk();
    for (;;) {
      if (cur->len == cur->capacity()) {
        // Full: pass on the whole lines, keep the last partial one for the next chunk.
        const char* last_nl = static_cast<const char*>(memrchr(cur->text.data(), '\n', cur->len));
        if (!last_nl) {
          if (cur->capacity() >= kMaxLine)
            return make_error(name_, 0, "a line is longer than 64 MiB: not a flow file?");
          cur->text.resize(cur->capacity() * 2 + simdjson::SIMDJSON_PADDING);
          continue;
        }
        std::unique_ptr<Chunk> next = take_chunk();
        size_t whole = static_cast<size_t>(last_nl - cur->text.data()) + 1;
        size_t rest = cur->len - whole;
        if (next->capacity() < rest) next->text.resize(rest + kChunk + simdjson::SIMDJSON_PADDING);
        std::memcpy(next->text.data(), cur->text.data() + whole, rest);
        next->len = rest;
        cur->len = whole;
        if (auto r = submit(std::move(cur), false); !r) return r;
        cur = std::move(next);
      }
      if (stopped()) break;
      long n = read(cur->text.data() + cur->len, cur->capacity() - cur->len);
      if (n < 0 && stopped()) break;
      if (n == -1 && errno == EINTR) continue;               // another signal: read on
      if (n < 0) return make_error(name_, 0, "read error");  // the caller names the cause
      if (n == 0) break;
      cur->len += static_cast<size_t>(n);
    }
    if (stopped()) {  // a last line without newline may be cut off: drop it
      const char* last_nl = static_cast<const char*>(memrchr(cur->text.data(), '\n', cur->len));
      cur->len = last_nl ? static_cast<size_t>(last_nl - cur->text.data()) + 1 : 0;
    }
    if (auto r = submit(std::move(cur), true); !r) return r;
    while (!pending_.empty())
      if (auto r = deliver_front(); !r) return r;
    return {};
  }

 private:
  static constexpr size_t kChunk = size_t{1} << 20;
  static constexpr size_t kUpcoming = 8;  // how far ahead FlowReadOptions::upcoming looks

  bool stopped() const { return options_.stop && *options_.stop; }

  std::unique_ptr<Chunk> take_chunk() {
    std::unique_ptr<Chunk> c;
    if (!spare_.empty()) {
      c = std::move(spare_.back());
      spare_.pop_back();
    } else {
      c = std::make_unique<Chunk>();
      c->text.resize(kChunk + simdjson::SIMDJSON_PADDING);
    }
    c->len = 0;
    c->ready = false;
    return c;
  }

  // Parses the chunk here when it is the whole input or there is one thread, else queues it
  // for the workers; delivers finished chunks so that no more than a few are in flight.
  Result<void> submit(std::unique_ptr<Chunk> c, bool last) {
    if (c->len == 0) {
      spare_.push_back(std::move(c));
      return {};
    }
    if (threads_ <= 1 || (last && workers_.empty() && pending_.empty())) {
      c->parse(local_parser_, options_.peer_hint);
      c->ready = true;
      pending_.push_back(std::move(c));
      return deliver_front();
    }
    start_workers();
    {
      std::lock_guard lock(mu_);
      queue_.push_back(c.get());
    }
    work_cv_.notify_one();
    pending_.push_back(std::move(c));
    while (pending_.size() > 2 * threads_ + 2)
      if (auto r = deliver_front(); !r) return r;
    return {};
  }

  // Hands the oldest chunk's records to the sink; until a worker has parsed it, parses the
  // queued chunks here (the oldest one itself, when no worker has taken it yet).
  Result<void> deliver_front() {
    Chunk& c = *pending_.front();
    for (;;) {
      Chunk* queued = nullptr;
      {
        std::unique_lock lock(mu_);
        if (c.ready) break;
        if (queue_.empty()) {
          done_cv_.wait(lock, [&] { return c.ready; });
          break;
        }
        queued = queue_.front();
        queue_.pop_front();
      }
      queued->parse(local_parser_, options_.peer_hint);
      std::lock_guard lock(mu_);
      queued->ready = true;
    }
    size_t fi = 0;
    auto deliver = [&](size_t i) {
      if (options_.upcoming && i + kUpcoming < c.flows.size())
        options_.upcoming(c.flows[i + kUpcoming]);
      ++stats_.records;
      sink_(c.flows[i]);
    };
    for (const Chunk::Bad& b : c.bad) {
      for (; fi < b.flows_before; ++fi) deliver(fi);
      ++stats_.malformed;
      uint64_t line = line_base_ + b.line + 1;
      Error e{name_, static_cast<int>(std::min<uint64_t>(line, INT32_MAX)),
              b.err == kBadName
                  ? std::string("not a flow record: an endpoint's namespace, pod or workload "
                                "name is not a valid Kubernetes name")
                  : std::string("not a flow record: ") + simdjson::error_message(b.err)};
      if (options_.strict) return tl::unexpected(e);
      if (stats_.problems.size() < options_.max_reported) stats_.problems.push_back(std::move(e));
    }
    for (; fi < c.flows.size(); ++fi) deliver(fi);
    stats_.lines += c.lines;
    stats_.ignored += c.ignored;
    stats_.direct += c.direct;
    line_base_ += c.lines;
    spare_.push_back(std::move(pending_.front()));
    pending_.pop_front();
    return {};
  }

  void start_workers() {
    if (!workers_.empty()) return;
    // Signals (SIGINT ending a stream) stay with the reading thread; the faults a thread
    // causes itself reach it.
    sigset_t all, old;
    sigfillset(&all);
    for (int fault : {SIGBUS, SIGSEGV, SIGFPE, SIGILL}) sigdelset(&all, fault);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (unsigned i = 1; i < threads_; ++i) workers_.emplace_back([this] { work(); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }

  void work() {
    RecordParser parser(options_.direct, options_.strict);
    std::unique_lock lock(mu_);
    for (;;) {
      work_cv_.wait(lock, [&] { return shutdown_ || !queue_.empty(); });
      if (shutdown_) return;
      Chunk* c = queue_.front();
      queue_.pop_front();
      lock.unlock();
      c->parse(parser, options_.peer_hint);
      lock.lock();
      c->ready = true;
      done_cv_.notify_all();
    }
  }

  void stop_workers() {
    {
      std::lock_guard lock(mu_);
      shutdown_ = true;
      queue_.clear();
    }
    work_cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  const std::string& name_;
  const FlowReadOptions& options_;
  FlowReadStats& stats_;
  const FlowSink& sink_;
  unsigned threads_ = 1;
  uint64_t line_base_ = 0;
  RecordParser local_parser_{options_.direct, options_.strict};
  std::deque<std::unique_ptr<Chunk>> pending_;  // submitted, in input order
  std::vector<std::unique_ptr<Chunk>> spare_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<Chunk*> queue_;  // waiting for a worker
  bool shutdown_ = false;
};

}  // namespace

namespace {

// Bytes of a file descriptor, inflated when the stream starts with the gzip magic (several
// gzip members one after another too). read(2) returns whatever is available, so a live
// stream is parsed as it arrives and a signal loses nothing already read.
class ByteSource {
 public:
  ByteSource(int fd, uint32_t max_ratio) : fd_(fd), max_ratio_(max_ratio), in_(1 << 20) {}
  ~ByteSource() {
    if (gzip_) inflateEnd(&z_);
  }

  // > 0 bytes, 0 at the end, -1 on a read error (errno set), -2 on corrupt gzip data,
  // -3 on gzip data cut short, -4 past FlowReadOptions::max_gzip_ratio.
  long read(char* dst, size_t max) {
    if (!started_) {
      started_ = true;
      long n = fill();
      if (n < 0) return -1;
      gzip_ = in_len_ >= 2 && static_cast<uint8_t>(in_[0]) == 0x1f &&
              static_cast<uint8_t>(in_[1]) == 0x8b;
      if (gzip_ && inflateInit2(&z_, 15 + 32) != Z_OK) return -2;
    }
    if (!gzip_) {
      if (in_pos_ == in_len_) {  // plain text: straight into the caller's buffer
        ssize_t n = ::read(fd_, dst, max);
        if (n > 0) consumed_ += static_cast<uint64_t>(n);
        return n < 0 ? -1 : static_cast<long>(n);
      }
      size_t n = std::min(max, in_len_ - in_pos_);
      std::memcpy(dst, in_.data() + in_pos_, n);
      in_pos_ += n;
      return static_cast<long>(n);
    }
    for (;;) {
      if (in_pos_ == in_len_) {
        long n = fill();
        if (n < 0) return -1;
        if (n == 0) return member_done_ ? 0 : -3;
      }
      if (member_done_) {  // another gzip member follows
        inflateReset(&z_);
        member_done_ = false;
      }
      z_.next_in = reinterpret_cast<Bytef*>(in_.data() + in_pos_);
      z_.avail_in = static_cast<uInt>(in_len_ - in_pos_);
      z_.next_out = reinterpret_cast<Bytef*>(dst);
      z_.avail_out = static_cast<uInt>(std::min<size_t>(max, 1u << 30));
      int rc = inflate(&z_, Z_NO_FLUSH);
      in_pos_ = in_len_ - z_.avail_in;
      long produced = static_cast<long>(std::min<size_t>(max, 1u << 30) - z_.avail_out);
      if (rc == Z_STREAM_END) {
        member_done_ = true;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        error_ = z_.msg ? z_.msg : "corrupt data";
        return -2;
      }
      if (produced > 0) {
        inflated_ += static_cast<uint64_t>(produced);
        if (max_ratio_ && inflated_ > kGzipRatioFloor && inflated_ / max_ratio_ > consumed_)
          return -4;
        return produced;
      }
    }
  }
  uint64_t inflated() const { return inflated_; }
  const std::string& error() const { return error_; }
  uint64_t consumed() const { return consumed_; }  // bytes read from the descriptor

 private:
  long fill() {
    in_pos_ = in_len_ = 0;
    for (;;) {
      ssize_t n = ::read(fd_, in_.data(), in_.size());
      if (n >= 0) {
        in_len_ = static_cast<size_t>(n);
        consumed_ += static_cast<uint64_t>(n);
        return n;
      }
      if (errno != EINTR) return -1;
      return -1;  // interrupted: the caller decides (a stop request ends the input)
    }
  }

  int fd_;
  uint32_t max_ratio_;
  uint64_t inflated_ = 0;
  std::vector<char> in_;
  size_t in_pos_ = 0, in_len_ = 0;
  bool started_ = false, gzip_ = false, member_done_ = true;
  uint64_t consumed_ = 0;
  z_stream z_{};
  std::string error_;
};

}  // namespace

Result<void> read_flows(const std::string& path, const FlowReadOptions& options,
                        FlowReadStats& stats, const FlowSink& sink) {
  std::string name = path == "-" ? "<stdin>" : path;
  std::string why;
  int fd = path == "-" ? 0 : open_for_reading(path, kFifoWriterTimeoutS, why);
  if (fd < 0) return make_error(name, 0, "cannot open: " + why);
  struct Closer {
    int fd;
    ~Closer() {
      if (fd > 0) ::close(fd);
    }
  } closer{fd};
  Pipeline pipeline(name, options, stats, sink);
  // A regular file is read, not mapped: its text is copied into the chunks, whose pages are
  // the process's own and reused, where a mapping faults on every page of the file (in a
  // virtual machine, a trip out of the guest per 4 KiB: docs/notes/flows.md).
  struct stat st {};
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  // What a regular file holds from where reading starts (stdin may be a file read partly).
  uint64_t expected = 0;
  if (regular) {
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    off_t at = ::lseek(fd, 0, SEEK_CUR);
    if (at >= 0 && at < st.st_size) expected = static_cast<uint64_t>(st.st_size - at);
  }
  ByteSource source(fd, options.max_gzip_ratio);
  long failure = 0;
  int read_errno = 0;
  auto r = pipeline.run([&](char* dst, size_t max) -> long {
    long n = source.read(dst, max);
    if (n < 0) {
      failure = n;
      read_errno = errno;
    }
    return n;
  });
  if (options.stop && *options.stop) return {};  // interrupted on purpose: what was read counts
  if (failure == -3)
    return make_error(name, 0, "truncated gzip file (unexpected end of compressed data)");
  if (failure == -2) return make_error(name, 0, "corrupt gzip data: " + source.error());
  if (failure == -4)
    return make_error(name, 0,
                      "gzip data inflates more than " + std::to_string(options.max_gzip_ratio) +
                          " times (" + std::to_string(source.inflated() >> 20) + " MiB from " +
                          std::to_string(source.consumed() >> 10) +
                          " KiB read): a decompression bomb? --max-gzip-ratio 0 reads it anyway");
  if (failure == -1)
    return make_error(name, 0, std::string("read error: ") + std::strerror(read_errno));
  // Another process cut the file short while it was read: what was read is not the file.
  if (r && source.consumed() < expected)
    return make_error(name, 0, "the file changed while it was read");
  return r;
}

Result<void> read_flows_text(std::string_view text, const std::string& name,
                             const FlowReadOptions& options, FlowReadStats& stats,
                             const FlowSink& sink) {
  Pipeline pipeline(name, options, stats, sink);
  size_t pos = 0;
  return pipeline.run([&](char* dst, size_t max) -> long {
    size_t n = std::min(max, text.size() - pos);
    std::memcpy(dst, text.data() + pos, n);
    pos += n;
    return static_cast<long>(n);
  });
}

}  // namespace stockade
