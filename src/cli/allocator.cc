// The optimized binary's allocator: jemalloc (linked in CMakeLists.txt; not in the sanitizer and
// fuzzing builds, whose runtimes bring their own), configured here.
//
// Fresh pages are the dearest part of memory: in a virtual machine a page fault leaves the
// guest. Transparent huge pages for the heap (`thp:always`: MADV_HUGEPAGE on jemalloc's
// extents, which takes effect where the system's THP mode is `always` or `madvise`) fault
// 2 MiB at a time, so a large input takes a fraction of the faults. docs/notes/flows.md has
// the figures.

// Read by jemalloc at its first allocation (the documented compile-time configuration); the
// MALLOC_CONF environment variable still overrides it.
extern "C" {
__attribute__((used)) const char* malloc_conf = "thp:always,metadata_thp:auto";
}
