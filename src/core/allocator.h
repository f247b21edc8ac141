// What the programs ask of the allocator beyond malloc and free. The optimized programs link
// jemalloc (src/core/malloc_conf.cc configures it); the sanitizer builds and the tests use glibc's.
#pragma once

namespace stockade {

// Returns the memory the allocator holds free to the system now, instead of when it decides
// to: for a long-running process after a start-up that freed a lot (the agent's libbpf parses
// the kernel's BTF and frees it).
void release_free_memory();

}  // namespace stockade
