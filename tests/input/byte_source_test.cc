// input/byte_source: the bytes of a descriptor, plain or gzip (one member or several), and its
// errors: corrupt data, data cut short, a decompression bomb.
#include "input/byte_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "input/flow_reader.h"

namespace {

namespace fs = std::filesystem;
using stockade::input::ByteSource;

class ByteSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("stockade_byte_source_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& bytes) {
    std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  std::string gzip(const std::string& text) {
    std::string p = (dir_ / "tmp.gz").string();
    gzFile f = gzopen(p.c_str(), "wb");
    gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
    gzclose(f);
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // Everything the source gives, in small reads; the last result in `last`.
  static std::string drain(const std::string& path, uint32_t max_ratio, long& last) {
    int fd = ::open(path.c_str(), O_RDONLY);
    ByteSource s(fd, max_ratio);
    std::string out;
    char buf[1000];
    while ((last = s.read(buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(last));
    ::close(fd);
    return out;
  }

  fs::path dir_;
};

TEST_F(ByteSourceTest, PlainBytesAsTheyAre) {
  std::string text(5000, 'x');
  text[0] = 0x1f;  // one byte of the gzip magic is not gzip
  long last = 0;
  EXPECT_EQ(drain(write("plain", text), 100, last), text);
  EXPECT_EQ(last, 0);
  EXPECT_EQ(drain(write("empty", ""), 100, last), "");
  EXPECT_EQ(last, 0);
}

TEST_F(ByteSourceTest, GzipMembersOneAfterAnother) {
  std::string a(30000, 'a'), b = "second member\n";
  long last = 0;
  EXPECT_EQ(drain(write("two.gz", gzip(a) + gzip(b)), 100, last), a + b);
  EXPECT_EQ(last, 0);
}

TEST_F(ByteSourceTest, GzipCutShortOrCorrupt) {
  std::string gz = gzip(std::string(100000, 'q') + "tail");
  long last = 0;
  drain(write("cut.gz", gz.substr(0, gz.size() / 2)), 100, last);
  EXPECT_EQ(last, -3);
  std::string bad = gz;
  for (size_t i = 20; i < 40 && i < bad.size(); ++i) bad[i] = static_cast<char>(~bad[i]);
  drain(write("bad.gz", bad), 100, last);
  EXPECT_EQ(last, -2);
}

TEST_F(ByteSourceTest, DecompressionBombPastTheFloor) {
  // Zeros compress about 1000 times: past kGzipRatioFloor (64 MiB) inflated, a ratio of 100 is
  // exceeded; with no limit (0) the whole stream reads.
  std::string zeros(stockade::kGzipRatioFloor + (1 << 20), '\0');
  std::string path = write("bomb.gz", gzip(zeros));
  zeros.clear();
  long last = 0;
  drain(path, 100, last);
  EXPECT_EQ(last, -4);
  std::string all = drain(path, 0, last);
  EXPECT_EQ(last, 0);
  EXPECT_EQ(all.size(), stockade::kGzipRatioFloor + (1 << 20));
}

}  // namespace
