// Simulated node agents aggregating on the node and posting batches (docs/agent-batches.md):
// the load a server's POST /api/v1/agent/batches takes from a cluster, and what aggregation
// costs an agent. No eBPF, no root: events are generated, folded by the agent's own
// Aggregator, encoded and gzipped by the one encoder.
//
//   # the agent's CPU per 1,000 connections/s (aggregation + encode + gzip), simulated time
//   agent_batch_load --cost --rate 1000 --seconds 600
//   # N agents x R connections/s each, posting in real time to a server (issue 20's bar:
//   # 5,000 agents x 1,000/s); every batch is formed first (in simulated time), then each is
//   # posted when due, each agent's one at a time and in order, 429/503 sent again after 1 s
//   # (as the agent's sender does); prints answers, latency percentiles and, with
//   # --server-pid, the server's CPU over the run. bench/serve_load.sh runs it end to end.
//   agent_batch_load --server http://127.0.0.1:8080 --agents 5000 --rate 1000 --seconds 60
//     --window 10 --server-pid PID
//
// Each simulated node runs `--pods` pods, each talking to 5 of `--peers` destinations (pods
// elsewhere, Services) on a handful of ports, with `--new-edge-rate` of the connections going
// somewhere never seen (churn: a new edge, an early batch of the new edges).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "agent/aggregator.h"
#include "agent/event.h"
#include "core/curl_lib.h"
#include "flow/agent_batch.h"

namespace {

using namespace stockade;
constexpr int64_t kSec = 1000000000;
constexpr size_t kPeersPerPod = 5;

struct Args {
  std::string server;
  int agents = 1;
  double rate = 1000;  // connections per second per agent
  double seconds = 60;
  int pods = 30, peers = 40;
  double new_edge_rate = 0.001;
  double window = 10;
  int workers = 8;      // posting threads
  int gen_threads = 2;  // planning the batches before the run
  int server_pid = 0;   // its CPU is measured over the run
  bool cost = false;
};

double cpu_seconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

IpAddr v4(uint32_t a) {
  IpAddr ip;
  ip.lo = a;
  return ip;
}

// One node's traffic: its pods connect to peers on a few ports.
struct Node {
  int index;
  std::mt19937_64 rng;
  std::vector<agent::AgentEvent> pods;  // templates: src side
  std::vector<std::pair<IpAddr, uint16_t>> peers;
  uint32_t next_new = 0;
  Node(int i, const Args& a) : index(i), rng(static_cast<uint64_t>(i) * 7919 + 1) {
    static const uint16_t kPorts[] = {80, 443, 5432, 6379, 8080, 53};
    for (int p = 0; p < a.pods; ++p) {
      agent::AgentEvent e;
      e.src = v4(0x0A000000u | (static_cast<uint32_t>(i) << 8) | static_cast<uint32_t>(p + 2));
      char uid[40];
      std::snprintf(uid, sizeof uid, "6b1f2a4e-%04x-4000-8000-%012x", i & 0xffff, p);
      e.pod_uid = uid;
      e.src_ns = "ns" + std::to_string(p % 5);
      e.src_pod = "app" + std::to_string(p) + "-7d9f8c6b5d-n" + std::to_string(i);
      e.comm = p % 3 ? "java" : "python3";
      e.outcome = "established";
      e.pid = 1000 + p;
      pods.push_back(e);
    }
    for (int q = 0; q < a.peers; ++q)
      peers.push_back({v4(0x0A600000u | static_cast<uint32_t>(q)), kPorts[q % 6]});
  }
  agent::AgentEvent next(int64_t t, double new_edge_rate) {
    const size_t pod = rng() % pods.size();
    agent::AgentEvent e = pods[pod];
    e.time_ns = t;
    std::uniform_real_distribution<double> u(0, 1);
    if (u(rng) < new_edge_rate) {
      e.dst = v4(0xCB007100u + (next_new++ & 0xffffff));  // somewhere never seen
      e.dst_port = 443;
    } else {
      // Each pod talks to a few peers of its own (its dependencies), the first most often.
      size_t j = static_cast<size_t>(kPeersPerPod * std::pow(u(rng), 2));
      const auto& peer = peers[(pod * 3 + j) % peers.size()];
      e.dst = peer.first;
      e.dst_port = peer.second;
    }
    e.src_port = static_cast<uint16_t>(32768 + rng() % 28000);
    if (rng() % 100 == 0) e.outcome = "refused";
    return e;
  }
};

int run_cost(const Args& a) {
  Node node(0, a);
  agent::AggregatorOptions o;
  o.node = "node-0";
  o.boot_id = agent::new_boot_id();
  o.window_ns = static_cast<int64_t>(a.window * kSec);
  int64_t t0 = int64_t{1767225600} * kSec;
  agent::Aggregator agg(o, t0);
  const int64_t events = static_cast<int64_t>(a.rate * a.seconds);
  const int64_t step = static_cast<int64_t>(kSec / a.rate);
  uint64_t batches = 0, edges = 0, json_bytes = 0, gz_bytes = 0;
  double agg_cpu = 0, enc_cpu = 0, dec_cpu = 0;
  // The generator's own CPU (the same events, not aggregated), subtracted from aggregation.
  double gen_cpu = 0;
  {
    Node same(0, a);
    uint64_t sink = 0;
    double g0 = cpu_seconds();
    for (int64_t i = 0, tg = t0; i < static_cast<int64_t>(a.rate * a.seconds); ++i)
      sink += same.next(tg += static_cast<int64_t>(kSec / a.rate), a.new_edge_rate).dst_port;
    gen_cpu = cpu_seconds() - g0;
    if (sink == 1) std::printf(" ");
  }
  // What the agent's --server sent before it aggregated: every event as its NDJSON object
  // (measured over the first 100,000 events, scaled).
  double raw_bytes_per_event = 0;
  {
    Node same(0, a);
    const int64_t n = std::min<int64_t>(100000, static_cast<int64_t>(a.rate * a.seconds));
    uint64_t bytes = 0;
    for (int64_t i = 0, tg = t0; i < n; ++i)
      bytes += agent::format_event_json(
                   same.next(tg += static_cast<int64_t>(kSec / a.rate), a.new_edge_rate), o.node)
                   .size() +
               1;
    raw_bytes_per_event = n ? double(bytes) / n : 0;
  }
  double c0 = cpu_seconds();
  int64_t t = t0;
  for (int64_t i = 0; i < events; ++i) {
    t += step;
    agg.add(node.next(t, a.new_edge_rate), t);
    if ((i & 63) == 0) {
      if (auto b = agg.poll(t)) {
        double c1 = cpu_seconds();
        agg_cpu += c1 - c0;
        std::string json = batch::encode_json(*b);
        std::string gz = batch::gzip(json);
        ++batches;
        edges += b->edges.size();
        json_bytes += json.size();
        gz_bytes += gz.size();
        double c2 = cpu_seconds();
        enc_cpu += c2 - c1;
        // What the server's decoder spends on it (gunzip, parse, validate).
        auto back = batch::decode(gz);
        if (!back || back->edges.size() != b->edges.size()) {
          std::fprintf(stderr, "agent_batch_load: a batch did not decode back\n");
          return 1;
        }
        c0 = cpu_seconds();
        dec_cpu += c0 - c2;
      }
    }
  }
  agg_cpu += cpu_seconds() - c0;
  agg_cpu = std::max(0.0, agg_cpu - gen_cpu);
  std::printf(
      "simulated %.0f s at %.0f connections/s (%lld events, window %.0f s, new-edge rate %g)\n"
      "batches %llu, edges per batch %.1f, JSON %.1f KB and gzip %.1f KB per batch\n"
      "CPU: aggregation %.3f s, encode+gzip %.3f s -> %.2f ms of CPU per second of traffic "
      "(%.3f%% of one core per 1,000 connections/s)\n"
      "server side: decode %.3f s for %llu batches -> %.1f us per batch (%.0f batches/s on one "
      "core); generator %.3f s (not counted)\n"
      "on the wire: %.2f KB/s of gzip batches; raw events as NDJSON would be %.1f KB/s\n",
      a.seconds, a.rate, static_cast<long long>(events), a.window, a.new_edge_rate,
      static_cast<unsigned long long>(batches), batches ? double(edges) / batches : 0.0,
      batches ? json_bytes / 1024.0 / batches : 0.0, batches ? gz_bytes / 1024.0 / batches : 0.0,
      agg_cpu, enc_cpu, (agg_cpu + enc_cpu) * 1000 / a.seconds,
      (agg_cpu + enc_cpu) / a.seconds * 100 * 1000 / a.rate, dec_cpu,
      static_cast<unsigned long long>(batches), batches ? dec_cpu * 1e6 / batches : 0.0,
      dec_cpu > 0 ? batches / dec_cpu : 0.0, gen_cpu, gz_bytes / 1024.0 / a.seconds,
      raw_bytes_per_event * a.rate / 1024.0);
  return 0;
}

size_t collect(char* p, size_t s, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, s * n);
  return s * n;
}

// One batch an agent formed: due (ns after the start) and its gzip body.
struct Planned {
  int64_t due;
  int agent;
  std::string body;
  size_t edges;
};

// Every batch each agent forms over the run, in simulated time, before anything is sent: the
// generator's CPU (5,000 aggregators at 1,000 events/s each is most of a core) is then not
// taken from the server during the measurement.
std::vector<Planned> plan(const Args& a, uint64_t& events) {
  const int64_t step = static_cast<int64_t>(kSec / a.rate);
  const int64_t t0 = int64_t{1767225600} * kSec, span = static_cast<int64_t>(a.seconds * kSec);
  std::vector<Planned> out;
  std::mutex mu;
  std::atomic<int> next{0};
  std::atomic<uint64_t> ev{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < std::max(1, a.gen_threads); ++th)
    threads.emplace_back([&] {
      std::vector<Planned> mine;
      uint64_t n = 0;
      for (int i; (i = next++) < a.agents;) {
        agent::AggregatorOptions o;
        o.node = "node-" + std::to_string(i);
        o.boot_id = agent::new_boot_id();
        o.window_ns = static_cast<int64_t>(a.window * kSec);
        // Staggered windows, as agents started at different times.
        const int64_t phase = static_cast<int64_t>(o.window_ns * (double(i) / a.agents));
        Node node(i, a);
        agent::Aggregator agg(o, t0 - phase);
        for (int64_t t = t0 + step; t <= t0 + span; t += step) {
          agg.add(node.next(t, a.new_edge_rate), t);
          ++n;
          if ((n & 63) != 0) continue;
          if (auto b = agg.poll(t))
            mine.push_back({t - t0, i, batch::gzip(batch::encode_json(*b)), b->edges.size()});
        }
      }
      ev += n;
      std::lock_guard lock(mu);
      for (auto& p : mine) out.push_back(std::move(p));
    });
  for (auto& t : threads) t.join();
  std::sort(out.begin(), out.end(), [](const Planned& x, const Planned& y) {
    return x.due != y.due ? x.due < y.due : x.agent < y.agent;
  });
  events = ev;
  return out;
}

// utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15).
double process_cpu(int pid) {
  if (pid <= 0) return 0;
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (!f) return 0;
  char buf[2048];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');
  if (!p) return 0;
  unsigned long long ut = 0, st = 0;
  // After ")": state (3) ... utime is field 14, stime 15.
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
    return 0;
  return double(ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int64_t now_ns_steady() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The percentile of a sorted vector.
double pct(const std::vector<double>& v, double p) {
  return v.empty() ? 0 : v[std::min(v.size() - 1, size_t(p * v.size()))];
}

// Real-time delivery of the planned batches as the agent's sender does it: each agent's
// batches one at a time and in order, a 429/503 or a failure sent again after Retry-After (1 s).
struct Delivery {
  const Args& a;
  const CurlLib& cu;
  std::vector<Planned>& planned;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::deque<size_t>> queue;  // per agent: planned indexes due, not yet acked
  std::vector<char> busy;
  std::vector<int64_t> not_before;
  std::deque<int> ready;
  bool done = false;
  uint64_t posts = 0, acked = 0, stored = 0, replays = 0, backoff = 0, failed = 0;
  uint64_t wrong_interval = 0;
  std::vector<double> post_ms, due_ms;  // one POST; from the batch's formation to its ack
  std::vector<double> steady_ms;        // the same for batches formed after the first window

  Delivery(const Args& args, const CurlLib& c, std::vector<Planned>& p)
      : a(args), cu(c), planned(p), queue(a.agents), busy(a.agents), not_before(a.agents) {}

  void enqueue_ready(int agent, int64_t now) {
    if (!busy[agent] && !queue[agent].empty() && now >= not_before[agent]) {
      busy[agent] = 1;
      ready.push_back(agent);
      cv.notify_one();
    }
  }
  void worker(int64_t start) {
    const std::string url = a.server + "/api/v1/agent/batches";
    CURL* c = cu.easy_init();
    curl_slist* h = cu.slist_append(nullptr, "Content-Type: application/json");
    h = cu.slist_append(h, "Content-Encoding: gzip");
    for (;;) {
      int agent;
      size_t idx;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return done || !ready.empty(); });
        if (done) break;  // what is left is counted as never acknowledged
        agent = ready.front();
        ready.pop_front();
        idx = queue[agent].front();
      }
      const Planned& b = planned[idx];
      std::string answer;
      cu.easy_setopt(c, CURLOPT_URL, url.c_str());
      cu.easy_setopt(c, CURLOPT_HTTPHEADER, h);
      cu.easy_setopt(c, CURLOPT_POSTFIELDS, b.body.data());
      cu.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(b.body.size()));
      cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
      cu.easy_setopt(c, CURLOPT_WRITEDATA, &answer);
      cu.easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
      cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
      auto t0 = std::chrono::steady_clock::now();
      CURLcode rc = cu.easy_perform(c);
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      long status = 0;
      cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
      const int64_t now = now_ns_steady() - start;
      std::lock_guard lock(mu);
      ++posts;
      busy[agent] = 0;
      if (rc == CURLE_OK && status >= 200 && status < 300) {
        ++acked;
        if (answer.find("\"stored\":true") != std::string::npos)
          ++stored;
        else
          ++replays;
        const std::string want =
            "\"next_interval_ms\":" + std::to_string(static_cast<int64_t>(a.window * 1000));
        if (answer.find(want) == std::string::npos) ++wrong_interval;
        post_ms.push_back(ms);
        due_ms.push_back(double(now - b.due) / 1e6);
        if (b.due >= static_cast<int64_t>(a.window * kSec)) steady_ms.push_back(due_ms.back());
        queue[agent].pop_front();
      } else {
        (status == 429 || status == 503 ? backoff : failed) += 1;
        not_before[agent] = now + kSec;  // Retry-After: 1
      }
      enqueue_ready(agent, now);
    }
    cu.slist_free_all(h);
    cu.easy_cleanup(c);
  }
};

int run_load(const Args& a) {
  auto lib = curl_lib();
  if (!lib) {
    std::fprintf(stderr, "agent_batch_load: %s\n", lib.error().str().c_str());
    return 2;
  }
  uint64_t events = 0, edges = 0;
  auto g0 = std::chrono::steady_clock::now();
  std::vector<Planned> planned = plan(a, events);
  for (const auto& p : planned) edges += p.edges;
  std::fprintf(stderr, "agent_batch_load: %zu batches planned in %.1f s; sending for %.0f s\n",
               planned.size(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - g0).count(),
               a.seconds);
  Delivery d(a, **lib, planned);
  const int64_t start = now_ns_steady();
  std::vector<std::thread> workers;
  for (int w = 0; w < a.workers; ++w) workers.emplace_back([&] { d.worker(start); });
  const double cpu0 = process_cpu(a.server_pid);
  size_t next = 0;
  int64_t drained_at = 0;
  for (;;) {
    const int64_t now = now_ns_steady() - start;
    {
      std::lock_guard lock(d.mu);
      for (; next < planned.size() && planned[next].due <= now; ++next)
        d.queue[planned[next].agent].push_back(next);
      bool idle = next == planned.size();
      for (int i = 0; i < a.agents; ++i) {
        d.enqueue_ready(i, now);
        if (!d.queue[i].empty()) idle = false;
      }
      if (idle || now > static_cast<int64_t>((a.seconds + 60) * kSec)) {
        drained_at = now;
        d.done = true;
        d.cv.notify_all();
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const double cpu1 = process_cpu(a.server_pid);
  for (auto& w : workers) w.join();
  uint64_t unacked = 0;
  for (const auto& q : d.queue) unacked += q.size();
  for (auto* v : {&d.post_ms, &d.due_ms, &d.steady_ms}) std::sort(v->begin(), v->end());
  const double span = double(drained_at) / kSec;
  std::printf(
      "%d agents x %.0f connections/s for %.0f s (window %.0f s, new-edge rate %g): %llu events "
      "-> %zu batches (%.1f/s), %.1f edges/batch\n"
      "posts %llu: %llu acknowledged (%llu stored, %llu replays), %llu 429/503, %llu failed; "
      "%llu never acknowledged; %llu answers with another next_interval_ms\n"
      "POST latency ms p50 %.1f p99 %.1f max %.1f; formed -> acknowledged ms p50 %.1f p99 %.1f "
      "max %.1f (after the first window: p50 %.1f p99 %.1f)\n",
      a.agents, a.rate, a.seconds, a.window, a.new_edge_rate,
      static_cast<unsigned long long>(events), planned.size(), planned.size() / a.seconds,
      planned.empty() ? 0.0 : double(edges) / planned.size(),
      static_cast<unsigned long long>(d.posts), static_cast<unsigned long long>(d.acked),
      static_cast<unsigned long long>(d.stored), static_cast<unsigned long long>(d.replays),
      static_cast<unsigned long long>(d.backoff), static_cast<unsigned long long>(d.failed),
      static_cast<unsigned long long>(unacked), static_cast<unsigned long long>(d.wrong_interval),
      pct(d.post_ms, 0.5), pct(d.post_ms, 0.99), d.post_ms.empty() ? 0.0 : d.post_ms.back(),
      pct(d.due_ms, 0.5), pct(d.due_ms, 0.99), d.due_ms.empty() ? 0.0 : d.due_ms.back(),
      pct(d.steady_ms, 0.5), pct(d.steady_ms, 0.99));
  if (a.server_pid > 0)
    std::printf("server CPU %.1f s over %.1f s: %.1f%% of one core\n", cpu1 - cpu0, span,
                span > 0 ? 100 * (cpu1 - cpu0) / span : 0.0);
  return d.failed || unacked ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "agent_batch_load: %s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--server")
      a.server = val();
    else if (k == "--agents")
      a.agents = std::atoi(val().c_str());
    else if (k == "--rate")
      a.rate = std::atof(val().c_str());
    else if (k == "--seconds")
      a.seconds = std::atof(val().c_str());
    else if (k == "--pods")
      a.pods = std::atoi(val().c_str());
    else if (k == "--peers")
      a.peers = std::atoi(val().c_str());
    else if (k == "--new-edge-rate")
      a.new_edge_rate = std::atof(val().c_str());
    else if (k == "--window")
      a.window = std::atof(val().c_str());
    else if (k == "--workers")
      a.workers = std::atoi(val().c_str());
    else if (k == "--server-pid")
      a.server_pid = std::atoi(val().c_str());
    else if (k == "--gen-threads")
      a.gen_threads = std::atoi(val().c_str());
    else if (k == "--cost")
      a.cost = true;
    else {
      std::fprintf(stderr, "agent_batch_load: unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  if (a.agents < 1 || a.rate <= 0 || a.seconds <= 0 || a.pods < 1 || a.peers < 1 || a.workers < 1) {
    std::fprintf(stderr,
                 "agent_batch_load: --agents, --rate, --seconds, --pods, --peers, --workers must "
                 "be positive\n");
    return 2;
  }
  if (a.cost) return run_cost(a);
  if (a.server.empty()) {
    std::fprintf(stderr, "agent_batch_load: --server URL or --cost\n");
    return 2;
  }
  return run_load(a);
}
