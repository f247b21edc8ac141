// The agent's settings checked and turned into AgentOptions (agent/agent_settings.h).
#include "agent/agent_settings.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <limits>

namespace stockade::agent {
namespace {

std::string refusal(const AgentSettings& s) {
  auto r = agent_options(s);
  if (r) return "";
  EXPECT_EQ(r.error().code, ErrorCode::Usage);
  return r.error().str();
}

TEST(AgentSettings, SecondsBecomeNanosecondsAndTheNodeDefaultsToTheHost) {
  AgentSettings s;
  s.batch_window = 2.5;
  s.udp_interval = 0.5;
  s.ring_size = 1u << 16;
  s.server = "https://stockade:7080";
  s.spool = "/var/spool/stockade";
  auto o = agent_options(s);
  ASSERT_TRUE(o) << o.error().str();
  EXPECT_EQ(o->window_ns, 2'500'000'000);
  EXPECT_EQ(o->probe.udp_interval_ns, 500'000'000u);
  EXPECT_EQ(o->probe.ring_bytes, 1u << 16);
  EXPECT_EQ(o->server, "https://stockade:7080");
  EXPECT_EQ(o->spool, "/var/spool/stockade");
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
  EXPECT_EQ(o->node, host);
  s.node = "node-7";
  EXPECT_EQ(agent_options(s)->node, "node-7");
}

TEST(AgentSettings, RefusedAsTheCommandLineSaysIt) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  AgentSettings s;
  s.duration = nan;
  EXPECT_EQ(refusal(s), "--duration: must be 0 (until stopped) or more seconds");
  s = {};
  s.udp_interval = 0;
  EXPECT_EQ(refusal(s), "--udp-interval: must be more than 0 seconds");
  s = {};
  s.ring_size = 12288;  // not a power of two
  EXPECT_EQ(refusal(s), "--ring-size: must be a power of two of at least 4096 bytes");
  s = {};
  s.server = "stockade:7080";
  EXPECT_EQ(refusal(s), "--server: expected an http:// or https:// URL, got \"stockade:7080\"");
  s = {};
  s.batch_window = std::numeric_limits<double>::infinity();
  EXPECT_EQ(refusal(s), "--batch-window: must be 1 to 300 seconds");
  s = {};
  s.spool = "/tmp/x";
  EXPECT_EQ(refusal(s), "--spool: keeps batches for --server, which is not given");
  s = {};
  s.server_token_file = "/tmp/t";
  EXPECT_EQ(refusal(s), "--server-token-file: a token for --server, which is not given");
}

}  // namespace
}  // namespace stockade::agent
