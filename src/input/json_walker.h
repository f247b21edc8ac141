// Internal to the flow reader (input/record_parser.cc): reading one JSON line of a flow record
// without building a document. Two ways, which give the same values: simdjson's stage 1 index
// of the line walked token by token (Tokens, Value), and the direct path that reads the text
// itself (Cursor, Direct) and gives up (kGiveUp) at anything unusual. each_field / each_item
// walk objects and arrays either way.
#pragma once

#include <simdjson.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include "core/ip.h"
#include "model/flow.h"

namespace stockade::input::flowjson {

// Internal linkage, as when this was part of one source file: only record_parser.cc includes
// it, and the compiler then inlines what is called from one place only (docs/notes/seams.md).
namespace {

using simdjson::error_code;
using simdjson::SUCCESS;

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
inline constexpr error_code kGiveUp = simdjson::UNEXPECTED_ERROR;
// A name in an endpoint that Kubernetes would never accept (a namespace, pod or workload
// with a newline, a quote, upper case…): the record is refused as malformed, since such a name
// can only come from a forged or corrupted record and would otherwise reach generated policies
// and every output. No JSON reading here gives this code (it is JSON Pointer's).
inline constexpr error_code kBadName = simdjson::INVALID_URI_FRAGMENT;

// Equality with a literal, inlined to a few compares (the hot path compares many keys).
template <size_t N>
inline bool is(std::string_view s, const char (&literal)[N]) {
  return s.size() == N - 1 && std::memcmp(s.data(), literal, N - 1) == 0;
}

inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Ends a scalar: whitespace, a structural character, or the end of the line.
inline bool ends_scalar(char c) {
  return is_space(c) || c == ',' || c == '}' || c == ']' || c == ':' || c == '\0';
}

// Whether n bytes at p hold a '\\', sixteen (or eight) at a time. The line is padded: reading
// up to fifteen bytes past its end is safe; they are masked off.
inline bool has_backslash(const char* p, size_t n) {
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
inline error_code read_ip(V v, std::optional<IpAddr>& out) {
  std::string_view s;
  TRY(get_str(v, s));
  if (s.empty()) return SUCCESS;
  out = IpAddr::parse(s);
  return out ? SUCCESS : simdjson::INCORRECT_TYPE;
}

template <class V>
inline error_code read_port(V v, uint16_t& out) {
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
inline error_code each_field(Value v, F&& f) {
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
inline error_code each_field(Direct v, F&& f) {
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
inline error_code each_item(Direct v, F&& f) {
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
inline error_code each_item(Value v, F&& f) {
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

}  // namespace

}  // namespace stockade::input::flowjson
