// The CVE table, embedded at build time from k8s_cves.json (cmake/EmbedText.cmake).
#pragma once

#include <cstddef>

namespace stockade::posture::data {
extern const char kK8sCves[];
extern const size_t kK8sCves_size;
}  // namespace stockade::posture::data
