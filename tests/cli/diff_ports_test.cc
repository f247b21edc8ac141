// `diff` with --before/--after that change a pod's declared ports: a clear error, never a
// crash (the reach matrices of the two sides would disagree on the ports).
#include <gtest/gtest.h>
#include <unistd.h>

#include <sys/wait.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace {

namespace fs = std::filesystem;

TEST(CliDiffInput, ChangedPortsAreRefusedNotACrash) {
  fs::path dir = fs::temp_directory_path() / ("stockade_diff_ports_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "b");
  fs::create_directories(dir / "a");
  std::ofstream(dir / "cluster.yaml")
      << "apiVersion: v1\nkind: Pod\nmetadata: {name: zz, namespace: x}\n";
  std::ofstream(dir / "b" / "p.yaml")
      << "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: x}\nspec:\n  containers:\n"
         "  - name: c\n    ports: [{containerPort: 80}, {containerPort: 81}]\n";
  std::ofstream(dir / "a" / "p.yaml")
      << "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: x}\n";
  std::string err = (dir / "err.txt").string();
  std::string cmd = std::string(STOCKADE_BINARY) + " diff -f " + (dir / "cluster.yaml").string() +
                    " --before " + (dir / "b").string() + " --after " + (dir / "a").string() +
                    " > /dev/null 2> " + err;
  int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  std::ifstream in(err);
  std::string line;
  std::getline(in, line);
  EXPECT_NE(line.find("stockade: error:"), std::string::npos) << line;
  EXPECT_NE(line.find("ports of x/web differ"), std::string::npos) << line;
  fs::remove_all(dir);
}

}  // namespace
