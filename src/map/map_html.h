// The map page template (web/map, built with esbuild and embedded at build time).
#pragma once

#include <cstddef>

namespace stockade::web {
extern const char kMapHtml[];
extern const size_t kMapHtml_size;
}  // namespace stockade::web
