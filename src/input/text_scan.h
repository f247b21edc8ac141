// Cheap checks on raw manifest text before it reaches a parser.
#pragma once

#include <cstddef>
#include <string_view>

namespace stockade::input {

// A conservative upper bound of how deeply a YAML text nests (flow brackets, block
// indentation and "- " sequence entries on one line). yaml-cpp parses recursively, so a
// hostile text like "[[[[…" or "- - - - …" must be refused before it overflows the stack.
size_t yaml_nesting_estimate(std::string_view text);

// 1-based line of byte `offset` in `text`.
int line_of_offset(std::string_view text, size_t offset);

// True when the first non-blank character is '{' or '[' (JSON input).
bool looks_like_json(std::string_view text);

}  // namespace stockade::input
