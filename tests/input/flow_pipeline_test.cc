// input/flow_pipeline: records reach the sink in input order whatever the number of threads
// and however the reads cut the lines; malformed lines are counted with their line numbers.
#include "input/flow_pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace {

using stockade::Flow;
using stockade::FlowReadOptions;
using stockade::FlowReadStats;
using stockade::input::Pipeline;

std::string record(int port) {
  return "{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"10.0.0.1\",\"destination\":"
         "\"10.0.0.2\"},\"l4\":{\"TCP\":{\"source_port\":40000,\"destination_port\":" +
         std::to_string(port) + ",\"flags\":{\"SYN\":true}}}}}\n";
}

// The ports of the records delivered, reading `text` `step` bytes at a time.
std::vector<int> ports(const std::string& text, unsigned threads, size_t step,
                       FlowReadStats& stats) {
  FlowReadOptions o;
  o.threads = threads;
  std::vector<int> out;
  stockade::FlowSink sink = [&](const Flow& f) { out.push_back(f.dst.port); };
  std::string name = "test";
  Pipeline p(name, o, stats, sink);
  size_t pos = 0;
  auto r = p.run([&](char* dst, size_t max) -> long {
    size_t n = std::min({max, step, text.size() - pos});
    std::copy_n(text.data() + pos, n, dst);
    pos += n;
    return static_cast<long>(n);
  });
  EXPECT_TRUE(r) << r.error().str();
  return out;
}

TEST(FlowPipeline, InputOrderWhateverTheThreadsAndReads) {
  std::string text;
  std::vector<int> want;
  // More than one 1 MiB chunk, so that workers parse.
  for (int i = 0; i < 12000; ++i) {
    text += record(1000 + i % 50000);
    want.push_back(1000 + i % 50000);
  }
  for (unsigned threads : {1u, 2u, 4u})
    for (size_t step : {size_t{7}, size_t{4096}, size_t{1} << 22}) {
      FlowReadStats stats;
      EXPECT_EQ(ports(text, threads, step, stats), want) << threads << " " << step;
      EXPECT_EQ(stats.records, want.size());
      EXPECT_EQ(stats.lines, want.size());
    }
}

TEST(FlowPipeline, MalformedLinesNamedByLine) {
  std::string text = record(80) + "{not json\n" + record(81) + "\n" + "[1]\n" + record(82);
  FlowReadStats stats;
  EXPECT_EQ(ports(text, 1, 5, stats), (std::vector<int>{80, 81, 82}));
  EXPECT_EQ(stats.malformed, 2u);
  ASSERT_EQ(stats.problems.size(), 2u);
  EXPECT_EQ(stats.problems[0].line, 2);
  EXPECT_EQ(stats.problems[1].line, 5);
  EXPECT_EQ(stats.problems[0].file, "test");
}

}  // namespace
