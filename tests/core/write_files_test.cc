// Writing a set of files all or nothing (src/core/write_files.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "core/write_files.h"

namespace stockade {
namespace {

std::filesystem::path fresh_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() /
           ("stockade-write-files-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

std::string read(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(WriteFiles, AllWrittenAndNoTemporaryLeft) {
  auto d = fresh_dir("all");
  std::string a = "first\n", b = "second\n";
  ASSERT_TRUE(write_files({{d / "a.yaml", &a}, {d / "b.yaml", &b}}));
  EXPECT_EQ(read(d / "a.yaml"), a);
  EXPECT_EQ(read(d / "b.yaml"), b);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(d), {}), 2);
  std::filesystem::remove_all(d);
}

TEST(WriteFiles, ADirectoryInTheWayLeavesEverythingAsItWas) {
  auto d = fresh_dir("dir");
  std::string old = "old\n", a = "new\n", b = "b\n";
  { std::ofstream(d / "a.yaml") << old; }
  std::filesystem::create_directory(d / "b.yaml");
  auto r = write_files({{d / "a.yaml", &a}, {d / "b.yaml", &b}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().str(), "cannot write " + (d / "b.yaml").string() + ": Is a directory");
  EXPECT_EQ(read(d / "a.yaml"), old);                                       // not replaced
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(d), {}), 2);  // no temporary
  std::filesystem::remove_all(d);
}

TEST(WriteFiles, AnUnwritablePlaceIsAnErrorNamingTheFile) {
  auto d = fresh_dir("missing");
  std::string a = "a\n";
  auto r = write_files({{d / "no-such-dir" / "a.yaml", &a}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().str().find("no-such-dir/a.yaml: No such file or directory"),
            std::string::npos);
  std::filesystem::remove_all(d);
}

}  // namespace
}  // namespace stockade
