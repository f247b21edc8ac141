// Simulated node agents aggregating on the node and posting batches (docs/agent-batches.md):
// the load a server's POST /api/v1/agent/batches takes from a cluster, and what aggregation
// costs an agent. No eBPF, no root: events are generated, folded by the agent's own
// Aggregator, encoded and gzipped by the one encoder.
//
//   # the agent's CPU per 1,000 connections/s (aggregation + encode + gzip), simulated time
//   agent_batch_load --cost --rate 1000 --seconds 600
//   # N agents x R connections/s each, posting in real time to a server (the lead's bar:
//   # 5,000 agents x 1,000/s); prints batches/s, edges/s, answers, latency percentiles
//   agent_batch_load --server http://127.0.0.1:8080 --agents 5000 --rate 1000 --seconds 60
//
// Each simulated node runs `--pods` pods, each talking to 5 of `--peers` destinations (pods
// elsewhere, Services) on a handful of ports, with `--new-edge-rate` of the connections going
// somewhere never seen (churn: a new edge, an early batch of the new edges).
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
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
  int workers = 8;  // posting threads
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

size_t discard(char*, size_t s, size_t n, void*) {
  return s * n;
}

int run_load(const Args& a) {
  auto lib = curl_lib();
  if (!lib) {
    std::fprintf(stderr, "agent_batch_load: %s\n", lib.error().str().c_str());
    return 2;
  }
  const CurlLib& cu = **lib;
  const std::string url = a.server + "/api/v1/agent/batches";
  // Each agent: its own aggregator; events generated in simulated time as the clock passes.
  struct Agent {
    Node node;
    agent::Aggregator agg;
    int64_t t;  // events generated up to here
  };
  int64_t start = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  std::vector<std::unique_ptr<Agent>> agents;
  for (int i = 0; i < a.agents; ++i) {
    agent::AggregatorOptions o;
    o.node = "node-" + std::to_string(i);
    o.boot_id = agent::new_boot_id();
    o.window_ns = static_cast<int64_t>(a.window * kSec);
    // Staggered windows, as agents started at different times.
    int64_t phase = static_cast<int64_t>(o.window_ns * (double(i) / a.agents));
    agents.push_back(
        std::make_unique<Agent>(Agent{Node(i, a), agent::Aggregator(o, start - phase), start}));
  }
  std::mutex mu;
  std::deque<std::string> queue;
  std::atomic<bool> done{false};
  std::atomic<uint64_t> posted{0}, ok{0}, backoff{0}, failed{0};
  std::vector<double> latencies;
  std::vector<std::thread> workers;
  for (int w = 0; w < a.workers; ++w)
    workers.emplace_back([&] {
      CURL* c = cu.easy_init();
      curl_slist* h = cu.slist_append(nullptr, "Content-Type: application/json");
      h = cu.slist_append(h, "Content-Encoding: gzip");
      for (;;) {
        std::string body;
        {
          std::lock_guard<std::mutex> lock(mu);
          if (queue.empty()) {
            if (done) break;
          } else {
            body = std::move(queue.front());
            queue.pop_front();
          }
        }
        if (body.empty()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          continue;
        }
        cu.easy_setopt(c, CURLOPT_URL, url.c_str());
        cu.easy_setopt(c, CURLOPT_HTTPHEADER, h);
        cu.easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
        cu.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
        cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        cu.easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
        cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        auto t0 = std::chrono::steady_clock::now();
        CURLcode rc = cu.easy_perform(c);
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                        .count();
        long status = 0;
        cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        ++posted;
        if (rc == CURLE_OK && status >= 200 && status < 300)
          ++ok;
        else if (status == 429 || status == 503)
          ++backoff;
        else
          ++failed;
        std::lock_guard<std::mutex> lock(mu);
        latencies.push_back(ms);
      }
      cu.slist_free_all(h);
      cu.easy_cleanup(c);
    });
  const int64_t step = static_cast<int64_t>(kSec / a.rate);
  uint64_t batches = 0, edges = 0, events = 0;
  double gen_cpu = 0;
  const int64_t end = start + static_cast<int64_t>(a.seconds * kSec);
  for (;;) {
    int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    if (now >= end) break;
    double c0 = cpu_seconds();
    for (auto& ag : agents) {
      for (; ag->t + step <= now; ag->t += step) {
        ag->agg.add(ag->node.next(ag->t, a.new_edge_rate), ag->t);
        ++events;
      }
      if (auto b = ag->agg.poll(now)) {
        ++batches;
        edges += b->edges.size();
        std::string body = batch::gzip(batch::encode_json(*b));
        std::lock_guard<std::mutex> lock(mu);
        queue.push_back(std::move(body));
      }
    }
    gen_cpu += cpu_seconds() - c0;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  done = true;
  for (auto& w : workers) w.join();
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies.empty()
               ? 0.0
               : latencies[std::min(latencies.size() - 1, size_t(p * latencies.size()))];
  };
  std::printf(
      "%d agents x %.0f connections/s for %.0f s: %llu events -> %llu batches (%.1f/s), %.1f "
      "edges/batch\nposted %llu: %llu 2xx, %llu 429/503, %llu failed; POST latency ms p50 %.1f "
      "p99 %.1f max %.1f\ngenerator CPU %.1f s (simulating the agents, not the server)\n",
      a.agents, a.rate, a.seconds, static_cast<unsigned long long>(events),
      static_cast<unsigned long long>(batches), batches / a.seconds,
      batches ? double(edges) / batches : 0.0, static_cast<unsigned long long>(posted.load()),
      static_cast<unsigned long long>(ok.load()), static_cast<unsigned long long>(backoff.load()),
      static_cast<unsigned long long>(failed.load()), pct(0.5), pct(0.99),
      latencies.empty() ? 0.0 : latencies.back(), gen_cpu);
  return failed ? 1 : 0;
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
