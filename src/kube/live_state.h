// A live ClusterState: one informer per kind the snapshot reads (the network-policy-api kinds
// only when the server serves them), each on its own thread, sharing one Client. At any moment
// the held objects become a ClusterState through the same loader that reads files, so live
// and file mode build the same model from the same objects.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/ip.h"
#include "input/loader.h"
#include "kube/client.h"
#include "kube/informer.h"

namespace stockade::kube {

struct LiveStateOptions {
  InformerOptions informer;
  std::vector<std::string> resources;  // "pods", "networkpolicies", ...; empty: every kind
  // resource -> a fieldSelector for its list and watch ("pods" -> "spec.nodeName=n1": a node
  // agent follows its own node's pods, never the whole cluster's).
  std::map<std::string, std::string> field_selectors;
  LoadOptions load;
  // Called (on the informer's thread) when an informer ends for good — its kind is no longer
  // followed (a credential refused for ever, a permission taken away).
  std::function<void(const std::string& resource, const Error& error)> on_stopped;
};

class LiveState {
 public:
  // Called on an informer's thread for every change (relists' synthesized deletions too).
  using Handler = std::function<void(Informer::Change, const std::string& resource,
                                     const std::string& key, const std::string& object)>;

  // Discovery, then an informer thread per served kind. Errors: discovery failed, or a kind
  // asked for by name is not served.
  static Result<std::unique_ptr<LiveState>> start(Client& client, LiveStateOptions options,
                                                  Handler handler = {});
  ~LiveState();  // stops the informers and waits for them
  LiveState(const LiveState&) = delete;
  LiveState& operator=(const LiveState&) = delete;

  // Waits until every informer has listed once. Errors: a kind the model needs could not be
  // read (403: the message names the permission), or `timeout` passed first. Optional kinds
  // that cannot be read are noted and left empty.
  Result<void> wait_synced(std::chrono::milliseconds timeout);

  // The objects held now as one ClusterState (each kind's store copied under its lock).
  Result<ClusterState> state() const;

  // resource -> "namespace/name" -> the object's JSON (tests compare it with the server).
  std::map<std::string, std::map<std::string, std::string>> objects() const;
  std::map<std::string, Informer::Stats> stats() const;
  std::vector<std::string> notes() const;  // kinds not served, or not readable and skipped

 private:
  struct Kind;
  LiveState() = default;
  std::vector<std::unique_ptr<Kind>> kinds_;
  StopFlag stop_{false};
  std::string server_;
  LoadOptions load_;
  mutable std::mutex mu_;
  std::vector<std::string> notes_;
};

// Objects of one kind (as an informer holds them: list items carry no kind) decoded into a
// ClusterState by the loader.
Result<ClusterState> decode_objects(const std::string& resource,
                                    const std::vector<const std::string*>& objects,
                                    const std::string& origin, const LoadOptions& load = {});

// Pods by UID and by IP, kept current from a live pod informer (or filled from files): how the
// node agent names the pod of each side of a connection. Thread-safe: the informer writes,
// the agent's event loop reads.
class PodDirectory {
 public:
  struct Name {
    std::string ns, name;
    bool operator==(const Name&) const = default;
  };
  // A pod as it is now; a pod that has finished (Succeeded, Failed) is removed.
  void put(const Pod& pod);
  void remove(const Pod& pod);
  std::optional<Name> by_uid(const std::string& uid) const;
  std::optional<Name> by_ip(const IpAddr& ip) const;
  // UID (or "namespace/name" for a pod without one) -> name.
  std::map<std::string, Name> pods() const;
  bool empty() const;

  // A LiveState handler that keeps this directory equal to the pods of the cluster.
  LiveState::Handler handler(std::string origin);

 private:
  struct Entry {
    Name name;
    std::vector<IpAddr> ips;
  };
  struct IpHash {
    size_t operator()(const IpAddr& ip) const;
  };
  void remove_locked(const std::string& key);
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Entry> by_key_;
  std::unordered_map<IpAddr, std::string, IpHash> by_ip_;  // -> key
};

}  // namespace stockade::kube
