// What the programs ask of the allocator beyond malloc and free. The optimized programs link
// jemalloc (src/core/malloc_conf.cc configures it); the sanitizer builds and the tests use glibc's.
#pragma once

namespace stockade {

// Returns the memory the allocator holds free to the system now, instead of when it decides
// to: for a long-running process after a start-up that freed a lot (the agent's libbpf parses
// the kernel's BTF and frees it).
void release_free_memory();

// No transparent huge pages for this process from here on (the allocator may ask for them:
// src/core/malloc_conf.cc), so that it grows 4 KiB at a time, not 2 MiB: for a process that
// runs as long as its node does (the agent), whose footprint counts more than its start-up.
void no_transparent_huge_pages();

}  // namespace stockade
