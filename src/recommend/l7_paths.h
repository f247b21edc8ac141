// HTTP paths observed by `recommend --l7`, generalised into a few anchored patterns: segments
// that are identifiers (numbers, UUIDs, hex and long alphanumeric hashes, inside a segment too:
// `main.3f2a9c1b.js`) become character classes, every other segment stays literal, and
// patterns that differ in one segment only merge into an alternation of what was observed
// there, which allows nothing more. Never a catch-all.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace stockade::l7 {

// One generalised request pattern: the methods that used it and the path as a regular
// expression (RE2 syntax, anchored: `^…$`), and an Istio path (exact, or with `{*}` for a
// generalised segment) when one can say the same.
struct HttpPattern {
  std::set<std::string> methods;
  std::string path_regex;
  std::vector<std::string> istio_paths;  // never empty (an empty list would be any path)
  uint64_t requests = 0;                 // observed requests it stands for
  uint64_t distinct_paths = 0;           // observed distinct paths it stands for
};

// The path and query of a request as Hubble's `http.url` holds it (`http://host:port/p?q`,
// or a path alone), and its host.
struct SplitUrl {
  std::string_view host;
  std::string path;  // with the query, starting with "/" (a URL with none: "/")
};
SplitUrl split_url(std::string_view url);

struct GeneraliseOptions {
  // At most this many observed values in one alternation (more: the patterns stay apart).
  size_t max_alternatives = 24;
  // Patterns used with the same methods join into one expression up to this length.
  size_t max_joined_length = 160;
};

// Patterns covering every (method, path) observed, and no method or path shape that was not:
// `requests` is (method, path with query, count).
struct ObservedRequest {
  std::string method;
  std::string path;
  uint64_t count = 0;
};
std::vector<HttpPattern> generalise(const std::vector<ObservedRequest>& requests,
                                    const GeneraliseOptions& options = {});

// The regular expression of one segment token class (exposed for tests).
std::string segment_pattern(std::string_view segment, bool& generalised);

}  // namespace stockade::l7
