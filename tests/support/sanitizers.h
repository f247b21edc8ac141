// STOCKADE_ASAN is defined when this test program is built with AddressSanitizer (gcc's
// __SANITIZE_ADDRESS__, clang's __has_feature): tests that limit the address space (ulimit -v,
// RLIMIT_AS) cannot run there, ASan reserves terabytes of it for its shadow memory.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define STOCKADE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STOCKADE_ASAN 1
#endif
#endif
