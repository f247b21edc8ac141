// The agent's userspace run without the kernel (src/agent/agent.h, event_file.h, pod_names.h):
// events from a file, named from pods, written as NDJSON, and the summary it ends with.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/agent.h"
#include "agent/event_file.h"
#include "agent/pod_names.h"
#include "input/loader.h"

namespace stockade::agent {
namespace {

namespace fs = std::filesystem;

fs::path temp(const std::string& name) {
  return fs::temp_directory_path() /
         ("stockade-agent-run-" + name + "-" + std::to_string(::getpid()));
}

std::string read(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// An event as the agent writes it.
std::string event_line(const char* src, const char* dst, int dport) {
  AgentEvent e;
  e.time_ns = 1767225600'000000000LL;
  e.src = *IpAddr::parse(src);
  e.dst = *IpAddr::parse(dst);
  e.outcome = "established";
  e.src_port = 40000;
  e.dst_port = static_cast<uint16_t>(dport);
  return format_event_json(e, "n1") + "\n";
}

TEST(AgentRun, EventsFromAFileNamedAndWritten) {
  const fs::path in = temp("events-in"), out = temp("events-out");
  {
    std::ofstream(in) << event_line("10.0.0.1", "10.0.0.2", 8080) << "\n"
                      << event_line("10.0.0.2", "192.0.2.9", 443);
  }
  ClusterLoader l;
  ASSERT_TRUE(l.add_text(R"(
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, uid: u-web}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.0.0.1}
)",
                         "pods.yaml"));
  PodNames pods;
  for (const Pod& p : std::move(l).finish().pods) pods.add(p);
  EXPECT_EQ(pods.size(), 1u);

  AgentOptions o;
  o.output = out;
  o.node = "n1";
  o.events = events_from_file(in);
  o.enrich = [&pods](AgentEvent& e) { pods.name(e); };
  std::vector<AgentEvent> seen;
  o.on_event = [&](const AgentEvent& e) { seen.push_back(e); };
  auto r = run_agent(o);
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(r->events, 2u);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].src_ns + "/" + seen[0].src_pod, "shop/web");  // by address
  EXPECT_TRUE(seen[0].dst_pod.empty());
  EXPECT_EQ(seen[1].dst_pod, "");
  const std::string written = read(out);
  EXPECT_EQ(std::count(written.begin(), written.end(), '\n'), 2);
  EXPECT_NE(written.find("web"), std::string::npos) << written;

  auto lines = describe_summary(*r, false, false);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0].first, LogLevel::Info);
  EXPECT_EQ(lines[0].second.rfind("2 events; kernel: ", 0), 0u);
  for (const auto& [level, text] : lines) EXPECT_NE(level, LogLevel::Warning) << text;
  fs::remove(in);
  fs::remove(out);
}

TEST(AgentRun, ALineThatIsNotAnAgentEventIsAnErrorWithItsLine) {
  const fs::path in = temp("hubble-in");
  {
    std::ofstream(in)
        << event_line("10.0.0.1", "10.0.0.2", 8080)
        << R"({"flow":{"time":"2026-01-01T00:00:00Z","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"source_port":1,"destination_port":2}}}})"
        << "\n";
  }
  AgentOptions o;
  o.output = "";
  o.events = events_from_file(in);
  auto r = run_agent(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().str(), in.string() +
                                 ":2: not an agent event (--events reads what the "
                                 "agent writes)");
  fs::remove(in);
}

TEST(AgentRun, SummaryWarnsOfLossesAndUndeliveredBatches) {
  AgentSummary s;
  s.kernel.lost = 7;
  s.post_failures = 2;
  s.post_error = "connection refused";
  auto lines = describe_summary(s, true, true);
  std::vector<std::string> warnings;
  for (const auto& [level, text] : lines)
    if (level == LogLevel::Warning) warnings.push_back(text);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0], "7 events lost in the kernel (ring buffer full)");
  EXPECT_EQ(warnings[1],
            "--server: 2 failed attempts, 0 batches dropped, 0 rejected, 0 not yet acknowledged "
            "(kept in --spool) (last error: connection refused)");
}

}  // namespace
}  // namespace stockade::agent
