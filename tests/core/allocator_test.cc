#include "core/allocator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "support/run_command.h"

namespace stockade {
namespace {

long resident_kb() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// Memory freed below the heap's top stays with the process (much of it) until it is released.
TEST(Allocator, FreeMemoryGoesBackToTheSystem) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "the sanitizer's allocator keeps freed memory in quarantine";
#endif
  constexpr size_t kBlock = 32 << 10;  // under the allocator's threshold for a mapping of its own
  std::vector<char*> blocks;
  for (int i = 0; i < 4096; ++i) {  // 128 MB
    char* b = static_cast<char*>(std::malloc(kBlock));
    ASSERT_NE(b, nullptr);
    std::memset(b, 1, kBlock);
    blocks.push_back(b);
  }
  // Carved from the top after them (too large for the allocator's caches of small blocks):
  // they are not the heap's top, which free() would return itself.
  char* pin = static_cast<char*>(std::malloc(kBlock));
  for (char* b : blocks) std::free(b);
  const long before = resident_kb();
  release_free_memory();
  const long after = resident_kb();
  EXPECT_LT(after, before - 32 * 1024) << "resident before " << before << " kB, after " << after;
  std::free(pin);
}

// The program's allocator is configured by the binary itself (src/core/malloc_conf.cc): asked to,
// jemalloc names each setting it applies, and where it came from. The heap follows the
// system's huge page setting (on the machine measured, fresh huge pages cost more than they
// save: docs/notes/engine-scale.md).
TEST(Allocator, TheProgramLeavesHugePagesToTheSystem) {
#if !defined(STOCKADE_JEMALLOC)
  GTEST_SKIP() << "this build's program uses the sanitizer's allocator";
#endif
  auto [out, status] = test::run_command(std::string("MALLOC_CONF=confirm_conf:true ") +
                                         STOCKADE_BINARY + " --version 2>&1");
  EXPECT_EQ(status, 0);
  EXPECT_NE(out.find("global variable malloc_conf): \"thp:default"), std::string::npos) << out;
  EXPECT_NE(out.find("Set conf value: thp:default"), std::string::npos) << out;
  EXPECT_NE(out.find("Set conf value: metadata_thp:disabled"), std::string::npos) << out;
}

}  // namespace
}  // namespace stockade
