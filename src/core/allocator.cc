#include "core/allocator.h"

#include <malloc.h>
#include <sys/prctl.h>

#include <cstddef>

// jemalloc's control interface when the program links jemalloc, else null (a weak reference:
// the library is not needed to link or to run).
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen)
    __attribute__((weak));

namespace stockade {

void release_free_memory() {
  if (mallctl != nullptr) {
    // Every arena's unused dirty pages (MALLCTL_ARENAS_ALL is 4096).
    mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
    return;
  }
  malloc_trim(0);
}

void no_transparent_huge_pages() {
  ::prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
}

}  // namespace stockade
