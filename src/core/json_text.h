// Writing JSON text directly (for large outputs, where building a document first costs more
// than the output itself).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace stockade {

// Appends `s` as a JSON string literal: quotes, backslashes and control characters escaped,
// other UTF-8 as is; bytes that are not valid UTF-8 become U+FFFD.
void append_json_string(std::string& out, std::string_view s);

// Appends an unsigned / signed integer in decimal.
void append_json_number(std::string& out, uint64_t n);
void append_json_number(std::string& out, int64_t n);

}  // namespace stockade
