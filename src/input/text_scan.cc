#include "input/text_scan.h"

#include <algorithm>

namespace stockade::input {

size_t yaml_nesting_estimate(std::string_view text) {
  size_t max_depth = 0;
  size_t flow = 0;
  char quote = 0;
  bool line_start = true;
  size_t indent = 0;
  size_t dashes = 0;
  bool in_comment = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') {
      line_start = true;
      indent = 0;
      dashes = 0;
      in_comment = false;
      if (quote == '\'' || quote == '"') {
        // multi-line quoted scalars are allowed; keep the quote open
      }
      continue;
    }
    if (in_comment) continue;
    if (quote) {
      if (c == '\\' && quote == '"') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (line_start) {
      if (c == ' ') {
        ++indent;
        continue;
      }
      if ((c == '-' || c == '?' || c == ':') && i + 1 < text.size() &&
          (text[i + 1] == ' ' || text[i + 1] == '\n')) {
        ++dashes;
        ++indent;
        continue;
      }
      line_start = false;
    }
    switch (c) {
      case '#':
        if (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t') in_comment = true;
        break;
      case '"':
      case '\'':
        quote = c;
        break;
      case '[':
      case '{':
        ++flow;
        break;
      case ']':
      case '}':
        if (flow) --flow;
        break;
      default:
        break;
    }
    // Indentation counts at most one level per column; "- " entries one level each.
    max_depth = std::max(max_depth, flow + dashes + indent / 1);
  }
  return max_depth;
}

int line_of_offset(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + offset, '\n'));
}

bool looks_like_json(std::string_view text) {
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    return c == '{' || c == '[';
  }
  return false;
}

}  // namespace stockade::input
