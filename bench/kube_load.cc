// kube_load: how fast the API client lists and how well an informer keeps up, against a
// server that tests/kube/fake_apiserver.py runs (its /_test/churn modifies pods at a rate).
//
//   kube_load --kubeconfig FILE [--events N] [--rate R]
//
// Prints the time of one full paged list of pods, then has the server modify N pods at R per
// second while an informer watches, and prints the rate the informer applied them at, how
// long after the last modification it had them all, and whether its store equals the server's.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "kube/client.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"

using namespace stockade::kube;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  std::string kubeconfig;
  int events = 10000;
  double rate = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--kubeconfig")
      kubeconfig = argv[i + 1];
    else if (a == "--events")
      events = std::atoi(argv[i + 1]);
    else if (a == "--rate")
      rate = std::atof(argv[i + 1]);
  }
  if (kubeconfig.empty()) {
    std::fprintf(stderr, "usage: kube_load --kubeconfig FILE [--events N] [--rate R]\n");
    return 2;
  }
  KubeconfigOptions ko;
  ko.kubeconfig = kubeconfig;
  auto config = load_config(with_environment(ko));
  if (!config) {
    std::fprintf(stderr, "kube_load: %s\n", config.error().str().c_str());
    return 2;
  }
  ClientOptions co;
  co.qps = 1e6;  // measure the client, not its rate limiter
  co.burst = 1000000;
  auto lister = Client::create(*config, co);
  auto watcher = Client::create(*config, co);
  auto control = Client::create(*config, co);
  if (!lister || !watcher || !control) return 2;

  // Twice: the first list has the test server encode every pod (it keeps the bytes), the
  // second measures the client against a server that only sends.
  for (const char* pass : {"cold", "warm"}) {
    auto t0 = Clock::now();
    auto list = (*lister)->list("/api/v1/pods");
    double list_s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!list) {
      std::fprintf(stderr, "kube_load: %s\n", list.error().str().c_str());
      return 2;
    }
    size_t pods = 0, bytes = 0;
    for (const auto& p : list->pages) {
      pods += nlohmann::json::parse(p)["items"].size();
      bytes += p.size();
    }
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    std::printf(
        "list (%s server): %zu pods, %zu pages, %.1f MB in %.2f s (%.0f pods/s); "
        "client peak RSS %.0f MB\n",
        pass, pods, list->pages.size(), bytes / 1e6, list_s, pods / list_s, ru.ru_maxrss / 1024.0);
  }

  Informer informer(**watcher, "/api/v1/pods");
  std::atomic<bool> stop{false};
  std::thread t([&] { (void)informer.run(stop); });
  while (!informer.synced()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  uint64_t before = informer.stats().events;
  auto churn_start = Clock::now();
  auto r = (*control)->request(
      "POST", "/_test/churn?count=" + std::to_string(events) + "&rate=" + std::to_string(rate));
  if (!r || r->status != 200) {
    std::fprintf(stderr, "kube_load: the server has no /_test/churn\n");
    stop = true;
    t.join();
    return 2;
  }
  auto deadline = churn_start + std::chrono::duration<double>(events / rate + 60);
  while (informer.stats().events - before < static_cast<uint64_t>(events) &&
         Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  double took = std::chrono::duration<double>(Clock::now() - churn_start).count();
  uint64_t got = informer.stats().events - before;
  // The store against the server's own list.
  auto truth = (*control)->request("POST", "/_test/list?resource=pods");
  size_t same = 0, total = 0;
  if (truth && truth->status == 200) {
    auto snap = informer.snapshot();
    for (const auto& o : nlohmann::json::parse(truth->body)) {
      ++total;
      std::string key = o["metadata"]["namespace"].get<std::string>() + "/" +
                        o["metadata"]["name"].get<std::string>();
      auto it = snap.find(key);
      if (it != snap.end() && nlohmann::json::parse(it->second)["metadata"]["resourceVersion"] ==
                                  o["metadata"]["resourceVersion"])
        ++same;
    }
  }
  stop = true;
  t.join();
  std::printf(
      "informer: %llu of %d events at a target of %.0f/s: applied at %.0f/s, all in %.2f s "
      "(the server sends them over %.2f s); store equals the server for %zu of %zu pods\n",
      static_cast<unsigned long long>(got), events, rate, got / took, took, events / rate, same,
      total);
  return got == static_cast<uint64_t>(events) && same == total ? 0 : 1;
}
