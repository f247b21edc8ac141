// The project's one writer of a SARIF 2.1.0 log (OASIS SARIF 2.1.0, the format code-scanning
// services read): `scan` (posture) and `verify` (audit) describe their tool, rules and results
// as plain values and this writes the log, so the two outputs share one shape and one key order.
// One run; keys in the order written below (the spec's own order of properties).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace stockade::sarif {

// A property-bag entry (SARIF §3.8): a string, an integer or a list of strings (tags).
struct Property {
  std::string name;
  std::variant<std::string, int64_t, std::vector<std::string>> value;
};

struct Tool {
  std::string name;
  std::string version;
  std::string information_uri;  // empty: left out
};

// A reportingDescriptor (§3.49).
struct Rule {
  std::string id;
  std::string name;
  std::string short_description;
  std::string full_description;
  std::string help_text;      // empty: no "help"
  std::string help_markdown;  // with help_text; empty: left out
  std::string level;          // defaultConfiguration.level: "error", "warning" or "note"
  std::vector<Property> properties;
};

// A logicalLocation (§3.33).
struct LogicalLocation {
  std::string name;
  std::string fully_qualified_name;
  std::string kind;
};

// A location (§3.28): a file (written as a URI reference, escaped) and a line, and/or the
// logical places it names.
struct Location {
  std::string file;  // empty: no physicalLocation
  int64_t line = 0;  // 0: no region
  std::vector<LogicalLocation> logical;
};

// A suppression (§3.35).
struct Suppression {
  std::string kind;  // "inSource" or "external"
  std::string justification;
};

// A result (§3.27).
struct Result {
  std::string rule_id;
  std::optional<size_t> rule_index;  // the rule's index in the rules given
  std::string level;
  std::string message;
  std::vector<Location> locations;  // empty: left out
  std::vector<Property> properties;
  std::vector<Suppression> suppressions;  // empty: left out
};

// The log, indented by two, with a final newline. Text that is not UTF-8 is replaced (U+FFFD)
// rather than refused: names and messages come from the input.
std::string write_log(const Tool& tool, const std::vector<Rule>& rules,
                      const std::vector<Result>& results);

// A file path as a URI reference (RFC 3986): unreserved characters and '/' stay, the rest is
// %-escaped; an absolute path becomes a file:// URI.
std::string path_uri(const std::string& path);

}  // namespace stockade::sarif
