// FlowReadOptions' settings as every command that reads flow files (and the server) takes them
// (core/settings.h): --strict and --max-gzip-ratio, described once.
#pragma once

#include <cstdint>

#include "core/settings.h"
#include "input/flow_reader.h"

namespace stockade {

// FlowReadOptions::strict.
inline Setting strict_setting(bool& strict) {
  return {"--strict", "A malformed flow line is an error (exit 2)", &strict};
}

// FlowReadOptions::max_gzip_ratio.
inline Setting gzip_ratio_setting(uint32_t& ratio) {
  return {"--max-gzip-ratio",
          "Refuse gzip input that inflates more than this many times once past 64 MiB "
          "(a decompression bomb; 0: no limit)",
          &ratio, true};
}

}  // namespace stockade
