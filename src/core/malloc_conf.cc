// The optimized binary's allocator: jemalloc (linked in CMakeLists.txt; not in the sanitizer and
// fuzzing builds, whose runtimes bring their own), configured here.
//
// Fresh pages are the dearest part of memory in a virtual machine, and which page size is
// cheaper depends on the hypervisor: on the PVM guest that the flow work was measured on, 2 MiB
// transparent huge pages (`thp:always`) took a fraction of the faults' time; on the KVM guest
// of the engine-scale work, a fresh huge page costs more than the same memory in 4 KiB pages,
// and `reach` and `map` both spend less CPU without them. So the heap follows
// the system's setting (`thp:default`: no MADV_HUGEPAGE from jemalloc); MALLOC_CONF=thp:always
// brings huge pages back. docs/notes/engine-scale.md and docs/notes/flows.md have the figures.

// Read by jemalloc at its first allocation (the documented compile-time configuration); the
// MALLOC_CONF environment variable still overrides it.
extern "C" {
__attribute__((used)) const char* malloc_conf = "thp:default,metadata_thp:disabled";
}
