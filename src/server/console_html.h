// The web console page (web/console, built with esbuild and embedded at build time): what
// `stockade serve` answers at GET /. It holds no data; it reads the server's /api/v1.
#pragma once

#include <cstddef>

namespace stockade::web {
extern const char kConsoleHtml[];
extern const size_t kConsoleHtml_size;
}  // namespace stockade::web
