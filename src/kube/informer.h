// An informer: one list, then a watch from the list's resourceVersion, keeping a store equal
// to what the server holds — through dropped connections (reconnect with backoff and jitter
// from the last resourceVersion seen, bookmarks included), 410 Gone (relist, and objects
// that vanished meanwhile are removed as deletions), and server restarts.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "core/error.h"
#include "kube/client.h"

namespace stockade::kube {

struct InformerOptions {
  std::chrono::seconds watch_timeout{300};  // timeoutSeconds of each watch request
  std::chrono::seconds idle{90};            // a watch silent this long is dead
  std::chrono::milliseconds backoff_min{100}, backoff_max{5000};
  int page_limit = 500;
};

class Informer {
 public:
  enum class Change { Added, Modified, Deleted };
  // Called (on the informer's thread) for every change applied to the store, relists'
  // synthesized deletions included.
  using Handler = std::function<void(Change, const std::string& key, const std::string& object)>;

  Informer(Client& client, std::string resource_path, InformerOptions options = {},
           Handler handler = {});

  // Lists, then watches until `stop` becomes true. Errors end it only when retrying cannot
  // help (403, a server that does not serve the resource).
  Result<void> run(const StopFlag& stop);

  // The store: "namespace/name" (or "name") -> the object's JSON.
  std::map<std::string, std::string> snapshot() const;
  bool synced() const { return synced_.load(); }
  std::string resource_version() const;

  struct Stats {
    uint64_t lists = 0, watches = 0, events = 0, bookmarks = 0, expired = 0, reconnects = 0,
             synthesized_deletions = 0;
  };
  Stats stats() const;

 private:
  Result<void> relist();
  // One watch request; returns whether a relist is needed.
  Result<bool> watch_once(const StopFlag& stop);
  void apply(Change change, const std::string& key, std::string object);

  Client& client_;
  std::string path_;
  InformerOptions options_;
  Handler handler_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> store_;
  std::string rv_;
  Stats stats_;
  std::atomic<bool> synced_{false};
};

}  // namespace stockade::kube
