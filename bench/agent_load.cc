// Connection rate on loopback with and without `stockade agent` running, alternating in one
// run, at fixed target rates (0 = as fast as possible); the agent's lost events and, with
// --cost, the kernel programs' time per run (kernel.bpf_stats_enabled) and the agent's CPU
// time per event. Runs in its own network namespace (root). See docs/agent.md.
//
//   agent_load --stockade build/release/stockade --rates 20000 --seconds 5 --rounds 5
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string stockade;
  std::vector<double> rates{20000};
  double seconds = 5;
  int rounds = 5;
  int threads = 2;
  bool cost = false;
  bool udp_flood = false;
  std::string ring_size;
};

void write_file(const char* path, const char* value) {
  std::ofstream(path) << value;
}

// A loopback server that accepts and closes, in its own thread.
struct Server {
  int fd;
  uint16_t port;
  std::atomic<bool> stop{false};
  std::thread thread;
  Server() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd, 4096);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    thread = std::thread([this] {
      while (!stop) {
        int c = accept(fd, nullptr, nullptr);
        if (c >= 0) close(c);
      }
    });
  }
  ~Server() {
    stop = true;
    shutdown(fd, SHUT_RDWR);
    thread.join();
    close(fd);
  }
};

// Connections per second achieved for `seconds` at `rate` (0: unpaced).
double load(uint16_t port, double rate, double seconds, int threads, uint64_t* failures) {
  std::atomic<uint64_t> done{0}, failed{0};
  auto start = Clock::now();
  auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      sockaddr_in a = {};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(port);
      double interval = rate > 0 ? threads / rate : 0;  // seconds between this thread's connects
      auto next = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(interval * t / threads));
      uint64_t n = 0;
      for (;;) {
        auto now = Clock::now();
        if (now >= end) break;
        if (rate > 0) {
          if (now < next) {
            std::this_thread::sleep_until(std::min(next, end));
            continue;
          }
          next +=
              std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval));
        }
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0)
          ++n;
        else
          ++failed;
        close(fd);
      }
      done += n;
    });
  for (auto& t : ts) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  *failures += failed;
  return static_cast<double>(done) / elapsed;
}

// UDP datagrams to a new 5-tuple each (rotating destination ports, a new socket every 60,000):
// every datagram is a new flow and one event, so this drives the event rate far above what
// TCP connections reach. Returns datagrams per second.
double udp_flood(double seconds, int threads, uint64_t* sent_total) {
  std::atomic<uint64_t> sent{0};
  auto start = Clock::now();
  auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      sockaddr_in a = {};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + t);  // 127.0.0.2, .3, ...
      uint64_t n = 0;
      int fd = -1;
      while (Clock::now() < end) {
        if (n % 60000 == 0) {
          if (fd >= 0) close(fd);
          fd = socket(AF_INET, SOCK_DGRAM, 0);
        }
        for (int i = 0; i < 256; ++i, ++n) {
          a.sin_port = htons(static_cast<uint16_t>(1024 + n % 60000));
          sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
        }
      }
      if (fd >= 0) close(fd);
      sent += n;
    });
  for (auto& t : ts) t.join();
  *sent_total = sent;
  return static_cast<double>(sent) / std::chrono::duration<double>(Clock::now() - start).count();
}

struct AgentRun {
  pid_t pid = -1;
  std::string err_path;
};

AgentRun start_agent(const Args& a, bool verbose) {
  AgentRun r;
  char tmpl[] = "/tmp/agent-load-XXXXXX";
  int fd = mkstemp(tmpl);
  r.err_path = tmpl;
  r.pid = fork();
  if (r.pid == 0) {
    dup2(fd, 2);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    std::vector<std::string> argv{a.stockade, "agent", "--output", "-"};
    if (verbose) argv.push_back("-v");
    if (!a.ring_size.empty()) {
      argv.push_back("--ring-size");
      argv.push_back(a.ring_size);
    }
    std::vector<char*> cargv;
    for (auto& s : argv) cargv.push_back(s.data());
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  close(fd);
  for (int i = 0; i < 200; ++i) {  // until the programs are attached
    std::ifstream in(r.err_path);
    std::string s((std::istreambuf_iterator<char>(in)), {});
    if (s.find("tracing") != std::string::npos) break;
    if (s.find("error") != std::string::npos) {
      std::fprintf(stderr, "agent_load: %s", s.c_str());
      std::exit(2);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return r;
}

std::string stop_agent(AgentRun& r) {
  kill(r.pid, SIGINT);
  int st;
  waitpid(r.pid, &st, 0);
  std::ifstream in(r.err_path);
  std::string s((std::istreambuf_iterator<char>(in)), {});
  unlink(r.err_path.c_str());
  return s;
}

uint64_t number_before(const std::string& s, const std::string& what) {
  size_t p = s.find(what);
  if (p == std::string::npos) return 0;
  size_t b = s.rfind(' ', p - 2);
  return std::strtoull(s.c_str() + (b == std::string::npos ? 0 : b + 1), nullptr, 10);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (k == "--stockade")
      a.stockade = val();
    else if (k == "--rates") {
      a.rates.clear();
      std::stringstream ss(val());
      for (std::string r; std::getline(ss, r, ',');) a.rates.push_back(std::atof(r.c_str()));
    } else if (k == "--seconds")
      a.seconds = std::atof(val().c_str());
    else if (k == "--rounds")
      a.rounds = std::atoi(val().c_str());
    else if (k == "--threads")
      a.threads = std::atoi(val().c_str());
    else if (k == "--ring-size")
      a.ring_size = val();
    else if (k == "--cost")
      a.cost = true;
    else if (k == "--udp-flood")
      a.udp_flood = true;
    else {
      std::fprintf(stderr,
                   "usage: agent_load --stockade PATH [--rates R,R,...] [--seconds S] "
                   "[--rounds N] [--threads T] [--ring-size BYTES] [--cost] [--udp-flood]\n");
      return 2;
    }
  }
  if (a.stockade.empty() || geteuid() != 0) {
    std::fprintf(stderr, "agent_load: needs --stockade PATH and root\n");
    return 2;
  }
  // A namespace of our own: a wide port range, no effect on the host's tables.
  if (unshare(CLONE_NEWNET) != 0 || std::system("ip link set lo up") != 0) {
    std::perror("agent_load: unshare");
    return 2;
  }
  write_file("/proc/sys/net/ipv4/ip_local_port_range", "1024 65535");
  write_file("/proc/sys/net/ipv4/tcp_tw_reuse", "1");
  signal(SIGPIPE, SIG_IGN);
  Server server;

  std::printf("%-10s %-6s %14s %14s %8s %10s %10s\n", "target/s", "round", "without/s", "with/s",
              "ratio", "events", "lost");
  for (double rate : a.rates) {
    std::vector<double> ratios, without_v, with_v;
    uint64_t lost_all = 0, failures = 0;
    for (int r = 0; r < a.rounds; ++r) {
      double without = load(server.port, rate, a.seconds, a.threads, &failures);
      AgentRun agent = start_agent(a, true);
      double with = load(server.port, rate, a.seconds, a.threads, &failures);
      std::string err = stop_agent(agent);
      uint64_t events = number_before(err, "events;");
      uint64_t lost = 0;
      if (size_t p = err.find("warning: ");
          p != std::string::npos && err.find("lost in the kernel") != std::string::npos)
        lost = std::strtoull(err.c_str() + p + 9, nullptr, 10);
      lost_all += lost;
      ratios.push_back(with / without);
      without_v.push_back(without);
      with_v.push_back(with);
      std::printf("%-10.0f %-6d %14.0f %14.0f %8.3f %10llu %10llu\n", rate, r, without, with,
                  with / without, static_cast<unsigned long long>(events),
                  static_cast<unsigned long long>(lost));
      std::fflush(stdout);
    }
    std::printf("%-10.0f median %13.0f %14.0f %8.3f %21llu  (connect failures %llu)\n", rate,
                median(without_v), median(with_v), median(ratios),
                static_cast<unsigned long long>(lost_all),
                static_cast<unsigned long long>(failures));
  }

  if (a.udp_flood) {  // the event rate the agent sustains without loss
    for (int r = 0; r < a.rounds; ++r) {
      AgentRun agent = start_agent(a, true);
      uint64_t sent = 0;
      double rate = udp_flood(a.seconds, a.threads, &sent);
      std::string err = stop_agent(agent);
      uint64_t events = number_before(err, "events;");
      uint64_t lost = 0;
      if (size_t p = err.find("warning: ");
          p != std::string::npos && err.find("lost in the kernel") != std::string::npos)
        lost = std::strtoull(err.c_str() + p + 9, nullptr, 10);
      std::printf(
          "udp flood round %d: %.0f datagrams/s (new flows), %llu events written, %llu lost\n", r,
          rate, static_cast<unsigned long long>(events), static_cast<unsigned long long>(lost));
      std::fflush(stdout);
    }
  }

  if (a.cost) {  // per-run cost of the programs, and the agent's CPU per event
    write_file("/proc/sys/kernel/bpf_stats_enabled", "1");
    AgentRun agent = start_agent(a, true);
    uint64_t failures = 0;
    double rate = load(server.port, a.rates.front(), a.seconds, a.threads, &failures);
    std::string err = stop_agent(agent);
    write_file("/proc/sys/kernel/bpf_stats_enabled", "0");
    std::printf("\ncost run at %.0f connections/s:\n%s", rate, err.c_str());
    uint64_t events = number_before(err, "events;");
    std::istringstream in(err);
    for (std::string l; std::getline(in, l);) {
      size_t p = l.find("program ");
      if (p == std::string::npos) continue;
      char name[128];
      unsigned long long runs = 0, ns = 0;
      if (std::sscanf(l.c_str() + p, "program %127[^:]: %llu runs, %llu ns", name, &runs, &ns) ==
              3 &&
          runs)
        std::printf("  %s: %llu runs, %.0f ns per run, %.0f ns per event\n", name, runs,
                    double(ns) / runs, events ? double(ns) / events : 0.0);
    }
    size_t c = err.find("after start-up");
    size_t open = err.rfind('(', c);
    if (c != std::string::npos && open != std::string::npos && events)
      std::printf("  agent userspace after start-up: %.2f us CPU per event (%llu events)\n",
                  std::atof(err.c_str() + open + 1) * 1e6 / events,
                  static_cast<unsigned long long>(events));
  }
  return 0;
}
