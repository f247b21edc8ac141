// Cheap checks on raw manifest text before it reaches a parser.
#pragma once

#include <cstddef>
#include <string_view>

namespace stockade::input {

// 1-based line of byte `offset` in `text`.
int line_of_offset(std::string_view text, size_t offset);

// True when the first non-blank character is '{' or '[' (JSON input).
bool looks_like_json(std::string_view text);

}  // namespace stockade::input
