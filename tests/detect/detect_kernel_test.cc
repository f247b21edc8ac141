// `stockade detect` over what the real agent saw: a port scan, a host sweep, a SYN flood and a
// UDP flood made by this test from a network namespace of its own (sockets of the test's
// threads, as a scanner's or a flooder's would be), among ordinary connections; the agent
// (`stockade agent`, eBPF) writes the events, `stockade detect` reads them. Needs root and a
// kernel where the agent loads (skipped otherwise; STOCKADE_REQUIRE_BPF=1 makes that a failure).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/netns_support.h"
#include "support/run_command.h"
#include "support/test_files.h"

namespace stockade {
namespace {

namespace fs = std::filesystem;
using testing::TestNetns;

sockaddr_in v4(const std::string& ip, uint16_t port) {
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

// Non-blocking connects to each (address, port), all given up after `wait_ms`: refused ones
// are answered by then, unanswered ones are closed before any answer (the agent: "timeout").
void connect_all(const std::vector<std::pair<std::string, uint16_t>>& to, int wait_ms) {
  std::vector<int> fds;
  for (const auto& [ip, port] : to) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    sockaddr_in a = v4(ip, port);
    connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  for (int fd : fds) close(fd);
}

size_t count_lines(const std::string& text, const std::string& a, const std::string& b) {
  std::istringstream in(text);
  size_t n = 0;
  for (std::string l; std::getline(in, l);)
    if (l.find(a) != std::string::npos && l.find(b) != std::string::npos) ++n;
  return n;
}

TEST(DetectKernel, AgentEventsOfAScanASweepAndTwoFloodsAreDetected) {
  if (geteuid() != 0 && !std::getenv("STOCKADE_REQUIRE_BPF")) GTEST_SKIP() << "needs root";
  const std::string tag = std::to_string(getpid());
  const fs::path dir = test::fresh_dir("stk-detect-kernel", "flood");
  // Names no other test uses: this test's own prefix and its process id.
  TestNetns a("stk-dka-" + tag), b("stk-dkb-" + tag);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(testing::link_veth(a, b, tag.substr(tag.size() > 5 ? tag.size() - 5 : 0) + "d"));

  const fs::path events = dir / "events.ndjson", err = dir / "agent.err", pidf = dir / "pid";
  // --duration bounds the agent should the test die; it is stopped with SIGINT below.
  const std::string cmd = std::string(STOCKADE_BINARY) + " agent --duration 600 --node n1 " +
                          "--output " + events.string() + " 2>" + err.string() + " & echo $! > " +
                          pidf.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const pid_t agent = std::stoi(test::slurp(pidf));
  struct Stop {
    pid_t pid;
    ~Stop() { ::kill(pid, SIGKILL); }
  } stop{agent};
  // A busy machine loads the programs slowly: wait up to two minutes.
  for (int i = 0; i < 1200 && test::slurp(err).find("tracing") == std::string::npos; ++i) {
    if (test::slurp(err).find("error") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::string started = test::slurp(err);
  if (started.find("tracing") == std::string::npos) {
    if (std::getenv("STOCKADE_REQUIRE_BPF")) FAIL() << started;
    GTEST_SKIP() << started;
  }
  const bool udp = started.find("UDP flows off") == std::string::npos;

  // Ordinary traffic first: 50 connections to a server in b, all established.
  std::thread server = b.spawn("stk-server", [] {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in at = v4("192.0.2.2", 8080);
    bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at);
    listen(fd, 64);
    for (int n = 0; n < 50; ++n) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 60000) != 1) break;
      int c = accept(fd, nullptr, nullptr);
      if (c >= 0) close(c);
    }
    close(fd);
  });
  a.spawn("stk-client", [] {
     for (int n = 0; n < 50; ++n) {
       int fd = socket(AF_INET, SOCK_STREAM, 0);
       sockaddr_in to = v4("192.0.2.2", 8080);
       for (int i = 0; i < 600 && connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0;
            ++i) {  // the server's thread may not listen yet
         close(fd);
         fd = socket(AF_INET, SOCK_STREAM, 0);
         std::this_thread::sleep_for(std::chrono::milliseconds(100));
       }
       close(fd);
     }
   }).join();
  server.join();

  a.spawn("stk-attacker", [] {
     std::vector<std::pair<std::string, uint16_t>> scan, sweep, flood;
     for (uint16_t p = 1000; p < 1100; ++p) scan.emplace_back("192.0.2.2", p);  // refused
     for (int h = 10; h < 50; ++h) sweep.emplace_back("192.0.2." + std::to_string(h), 22);
     connect_all(scan, 500);
     connect_all(sweep, 500);
     // 1,200 SYNs to an address nobody holds, 200 sockets at a time.
     for (int round = 0; round < 6; ++round) {
       std::vector<std::pair<std::string, uint16_t>> batch(200, {"192.0.2.99", 443});
       connect_all(batch, 100);
     }
     // 2,500 datagrams to b's UDP/5353, each from a socket of its own (a port of its own).
     for (int i = 0; i < 2500; ++i) {
       int fd = socket(AF_INET, SOCK_DGRAM, 0);
       sockaddr_in to = v4("192.0.2.2", 5353);
       sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
       close(fd);
     }
   }).join();

  // Wait until the agent has written what it saw: the counts past the thresholds and still for
  // two seconds (generously: up to two minutes on a busy machine), then stop it.
  const std::string ns = "\"netns\":" + std::to_string(a.inode());
  size_t last = 0;
  int still = 0;
  for (int i = 0; i < 1200 && still < 20; ++i) {
    const std::string text = test::slurp(events);
    const size_t syn = count_lines(text, ns, "\"ip\":\"192.0.2.99\"");
    const size_t dgrams = udp ? count_lines(text, ns, "\"port\":5353") : 0;
    const bool enough = syn >= 1000 && (!udp || dgrams >= 2000);
    still = enough && syn + dgrams == last ? still + 1 : 0;
    last = syn + dgrams;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(agent, SIGINT);
  for (int i = 0; i < 600 && ::kill(agent, 0) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));

  // The agent traces the whole host: keep this test's namespace's events.
  std::istringstream in(test::slurp(events));
  std::ofstream mine(dir / "mine.ndjson");
  for (std::string l; std::getline(in, l);)
    if (l.find(ns) != std::string::npos) mine << l << "\n";
  mine.close();
  auto r = test::run_command(std::string(STOCKADE_BINARY) + " detect --flows " +
                             (dir / "mine.ndjson").string() + " -o json 2>&1");
  ASSERT_EQ(WEXITSTATUS(r.status), 1) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  std::map<std::string, nlohmann::json> by;
  for (const auto& s : j["signals"]) {
    EXPECT_FALSE(by.contains(s["type"])) << j.dump(1);
    by[s["type"]] = s;
  }
  ASSERT_TRUE(by.contains("port-scan")) << j.dump(1);
  EXPECT_EQ(by["port-scan"]["src"], "192.0.2.1");
  EXPECT_EQ(by["port-scan"]["dst"], "192.0.2.2");
  EXPECT_EQ(by["port-scan"]["ports"], 100);
  ASSERT_TRUE(by.contains("host-sweep")) << j.dump(1);
  EXPECT_EQ(by["host-sweep"]["src"], "192.0.2.1");
  EXPECT_EQ(by["host-sweep"]["dst"], "192.0.2.0/26");
  EXPECT_EQ(by["host-sweep"]["port"], 22);
  EXPECT_EQ(by["host-sweep"]["targets"], 40);
  ASSERT_TRUE(by.contains("syn-flood")) << j.dump(1);
  EXPECT_EQ(by["syn-flood"]["dst"], "192.0.2.99");
  EXPECT_EQ(by["syn-flood"]["port"], 443);
  EXPECT_EQ(by["syn-flood"]["src"], "192.0.2.1");
  if (udp) {
    ASSERT_TRUE(by.contains("udp-flood")) << j.dump(1);
    EXPECT_EQ(by["udp-flood"]["dst"], "192.0.2.2");
    EXPECT_EQ(by["udp-flood"]["port"], 5353);
  }
  EXPECT_EQ(j["signals"].size(), udp ? 4u : 3u) << j.dump(1);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stockade
