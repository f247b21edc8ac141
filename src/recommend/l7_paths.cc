#include "recommend/l7_paths.h"

#include <re2/re2.h>

#include <algorithm>
#include <map>
#include <tuple>

namespace stockade::l7 {

namespace {

constexpr int kEnvoyProgramSize = 100;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// RE2 syntax: every character that is not plainly itself is escaped.
void append_literal(std::string& out, std::string_view s) {
  for (char c : s) {
    if (std::string_view(".^$|?*+()[]{}\\").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_hex(s[i])) return false;
  }
  return true;
}

// A token between delimiters: an identifier's class, or "" when it is a word to keep.
std::string token_class(std::string_view t) {
  if (t.empty()) return "";
  bool digits = true, hex = true, alnum = true, digit = false, letter = false;
  bool lower = false, upper = false;
  for (char c : t) {
    digits &= is_digit(c);
    hex &= is_hex(c);
    alnum &= is_digit(c) || is_alpha(c);
    digit |= is_digit(c);
    letter |= is_alpha(c);
    lower |= c >= 'a' && c <= 'z';
    upper |= c >= 'A' && c <= 'Z';
  }
  const std::string n = std::to_string(t.size());
  if (digits) return "[0-9]+";
  if (hex && digit && letter && t.size() >= 8) {
    std::string cls = upper && lower ? "[0-9a-fA-F]" : upper ? "[0-9A-F]" : "[0-9a-f]";
    return cls + "{" + n + "}";
  }
  if (alnum && digit && letter && t.size() >= 16) return "[A-Za-z0-9]{" + n + "}";
  return "";
}

// A segment position: the alternatives observed there, each as (regex, Istio form).
struct Seg {
  std::string regex;
  std::string istio;  // the literal segment, or "{*}" when generalised
  friend auto operator<=>(const Seg&, const Seg&) = default;
};

struct Pattern {
  std::vector<std::set<Seg>> pos;
  bool query = false;
  std::set<std::string> methods;
  uint64_t requests = 0, distinct = 0;
};

std::string position_text(const std::set<Seg>& alts) {
  if (alts.size() == 1) return alts.begin()->regex;
  std::string s = "(";
  bool first = true;
  for (const Seg& a : alts) {
    if (!first) s += '|';  // an empty value (a trailing slash, "/") is an alternative too
    first = false;
    s += a.regex;
  }
  return s + ")";
}

// The pattern without position `skip` (and its methods and query), as a merge key.
std::string key_without(const Pattern& p, size_t skip) {
  std::string k = std::to_string(p.pos.size()) + (p.query ? "?" : "") + "|";
  for (const std::string& m : p.methods) k += m + ",";
  for (size_t i = 0; i < p.pos.size(); ++i) {
    k += '/';
    if (i != skip) k += position_text(p.pos[i]);
  }
  return k;
}

// Merges patterns equal everywhere but at one position: the union of what was observed
// there, exact (the other positions are the same sets). Until nothing merges.
void merge_alternatives(std::vector<Pattern>& ps, size_t max_alternatives) {
  for (bool changed = true; changed;) {
    changed = false;
    size_t longest = 0;
    for (const Pattern& p : ps) longest = std::max(longest, p.pos.size());
    for (size_t i = 0; i < longest; ++i) {
      std::map<std::string, size_t> first;
      std::vector<Pattern> out;
      for (Pattern& p : ps) {
        if (i >= p.pos.size()) {
          out.push_back(std::move(p));
          continue;
        }
        auto [it, fresh] = first.emplace(key_without(p, i), out.size());
        if (!fresh) {
          Pattern& q = out[it->second];
          std::set<Seg> u = q.pos[i];
          u.insert(p.pos[i].begin(), p.pos[i].end());
          if (u.size() <= max_alternatives) {
            q.pos[i] = std::move(u);
            q.requests += p.requests;
            q.distinct += p.distinct;
            changed = true;
            continue;
          }
          it->second = out.size();  // full: later ones merge into this one
        }
        out.push_back(std::move(p));
      }
      ps = std::move(out);
    }
  }
}

// Istio paths: every combination of the values observed at each position, at most 64; past
// that, the positions with the most values become `{*}` (any one segment) until it fits.
std::vector<std::string> istio_paths(Pattern p) {
  auto count = [&] {
    size_t n = 1;
    for (const auto& alts : p.pos) n = std::min<size_t>(n * alts.size(), 1 << 20);
    return n;
  };
  while (count() > 64) {
    auto widest = std::max_element(p.pos.begin(), p.pos.end(), [](const auto& a, const auto& b) {
      return a.size() < b.size();
    });
    *widest = {Seg{"", "{*}"}};
  }
  std::vector<std::string> paths{""};
  for (size_t i = 0; i < p.pos.size(); ++i) {
    std::vector<std::string> next;
    for (const std::string& prefix : paths)
      for (const Seg& s : p.pos[i]) next.push_back(i == 0 ? s.istio : prefix + "/" + s.istio);
    paths = std::move(next);
  }
  return paths;
}

// Patterns used with the same methods (and no query) as one rule: `^(A|B)$` allows exactly
// what `^A$` and `^B$` do. Up to `max_length` characters per expression.
void join_same_methods(std::vector<HttpPattern>& ps, size_t max_length) {
  std::vector<HttpPattern> out;
  std::map<std::set<std::string>, size_t> open;  // methods -> the pattern being joined into
  auto body = [](const std::string& re) { return re.substr(1, re.size() - 2); };
  for (HttpPattern& p : ps) {
    bool query = p.path_regex.ends_with("(\\?.*)?$");
    auto it = query ? open.end() : open.find(p.methods);
    if (it != open.end()) {
      HttpPattern& q = out[it->second];
      std::string joined =
          q.path_regex.starts_with("^(?:") ? body(q.path_regex).substr(3) : body(q.path_regex);
      if (q.path_regex.starts_with("^(?:")) joined.pop_back();
      joined = "^(?:" + joined + "|" + body(p.path_regex) + ")$";
      // Envoy refuses expressions past its RE2 program size limit (runtime key
      // re2.max_program_size.error_level, 100 by default): a join never passes it.
      if (joined.size() <= max_length && RE2(joined).ProgramSize() <= kEnvoyProgramSize) {
        q.path_regex = std::move(joined);
        q.istio_paths.insert(q.istio_paths.end(), p.istio_paths.begin(), p.istio_paths.end());
        q.requests += p.requests;
        q.distinct_paths += p.distinct_paths;
        continue;
      }
    }
    if (!query) open[p.methods] = out.size();
    out.push_back(std::move(p));
  }
  ps = std::move(out);
}

}  // namespace

SplitUrl split_url(std::string_view url) {
  SplitUrl out;
  if (size_t scheme = url.find("://"); scheme != std::string_view::npos && scheme < 16) {
    std::string_view rest = url.substr(scheme + 3);
    size_t slash = rest.find_first_of("/?");
    out.host = rest.substr(0, slash);
    out.path = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  } else {
    out.path = url.empty() ? std::string_view("/") : url;
  }
  if (size_t hash = out.path.find('#'); hash != std::string::npos) out.path.resize(hash);
  if (out.path.empty() || out.path.front() == '?') out.path.insert(0, "/");
  return out;
}

std::string segment_pattern(std::string_view seg, bool& generalised) {
  generalised = false;
  if (is_uuid(seg)) {
    generalised = true;
    return "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
  }
  std::string out;
  size_t start = 0;
  for (size_t i = 0; i <= seg.size(); ++i) {
    if (i < seg.size() && std::string_view(".-_~").find(seg[i]) == std::string_view::npos) continue;
    std::string_view tok = seg.substr(start, i - start);
    std::string cls = token_class(tok);
    if (cls.empty()) {
      append_literal(out, tok);
    } else {
      out += cls;
      generalised = true;
    }
    if (i < seg.size()) append_literal(out, seg.substr(i, 1));
    start = i + 1;
  }
  return out;
}

std::vector<HttpPattern> generalise(const std::vector<ObservedRequest>& requests,
                                    const GeneraliseOptions& options) {
  // (segments, query) -> pattern; methods merged per shape first.
  std::map<std::vector<Seg>, Pattern> shapes;
  std::set<std::pair<const Pattern*, std::string_view>> seen;  // distinct paths per shape
  for (const ObservedRequest& r : requests) {
    std::string_view path = r.path;
    size_t q = path.find('?');
    std::string_view base = path.substr(0, q);
    std::vector<Seg> segs;
    size_t start = 0;
    for (size_t i = 0; i <= base.size(); ++i) {
      if (i < base.size() && base[i] != '/') continue;
      std::string_view s = base.substr(start, i - start);
      bool gen = false;
      std::string re = segment_pattern(s, gen);
      segs.push_back(Seg{re, gen ? "{*}" : std::string(s)});
      start = i + 1;
    }
    Pattern& p = shapes[segs];
    if (p.pos.empty())
      for (Seg& s : segs) p.pos.push_back({std::move(s)});
    // A query seen on a shape: any query is allowed on it (the proxy matches the path with
    // its query; queries are not generalised).
    p.query |= q != std::string_view::npos;
    p.methods.insert(r.method);
    p.requests += r.count;
    if (seen.emplace(&p, base).second) ++p.distinct;
  }
  // A shape's methods are every method used on it (an identifier's class does not tell one
  // id from another); shapes used with different method sets never merge.
  std::vector<Pattern> ps;
  for (auto& [key, p] : shapes) ps.push_back(std::move(p));
  merge_alternatives(ps, options.max_alternatives);
  std::vector<HttpPattern> out;
  for (const Pattern& p : ps) {
    HttpPattern h;
    h.methods = p.methods;
    h.path_regex = "^";
    for (size_t i = 0; i < p.pos.size(); ++i) {
      if (i) h.path_regex += '/';
      h.path_regex += position_text(p.pos[i]);
    }
    if (p.query) h.path_regex += "(\\?.*)?";
    h.path_regex += "$";
    h.istio_paths = istio_paths(p);
    h.requests = p.requests;
    h.distinct_paths = p.distinct;
    out.push_back(std::move(h));
  }
  join_same_methods(out, options.max_joined_length);
  std::sort(out.begin(), out.end(), [](const HttpPattern& a, const HttpPattern& b) {
    return std::tie(a.path_regex, a.methods) < std::tie(b.path_regex, b.methods);
  });
  return out;
}

}  // namespace stockade::l7
