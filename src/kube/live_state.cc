#include "kube/live_state.h"

#include <algorithm>
#include <cctype>

#include "kube/kinds.h"

namespace stockade::kube {

namespace {
// Percent-encodes all but RFC 3986's unreserved characters.
std::string query_escape(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}
}  // namespace

struct LiveState::Kind {
  const KindPath* kind;
  std::unique_ptr<Informer> informer;
  std::thread thread;
  std::atomic<bool> done{false};  // run() returned
  Result<void> result;            // its outcome, read after `done`
};

Result<std::unique_ptr<LiveState>> LiveState::start(Client& client, LiveStateOptions options,
                                                    Handler handler) {
  auto served = client.group_versions();
  if (!served) return tl::unexpected(served.error());
  std::unique_ptr<LiveState> s(new LiveState());
  s->server_ = client.config().server;
  s->load_ = options.load;
  for (const std::string& r : options.resources)
    if (std::none_of(std::begin(kKinds), std::end(kKinds),
                     [&](const KindPath& k) { return r == k.resource; }))
      return make_error(ErrorCode::Usage, "live state: \"" + r + "\" is not a kind Stockade reads");
  for (const KindPath& k : kKinds) {
    if (!options.resources.empty() && std::find(options.resources.begin(), options.resources.end(),
                                                k.resource) == options.resources.end())
      continue;
    if (!read_at(k, *served)) {
      if (any_version_served(k, *served)) continue;  // read at another version
      if (!options.resources.empty())
        return make_error(client.config().server + ": " + k.group_version + " " + k.resource +
                          " is not served");
      s->notes_.push_back(std::string(k.group_version) + " " + k.resource + ": not served");
      continue;
    }
    auto kind = std::make_unique<Kind>();
    kind->kind = &k;
    Informer::Handler h;
    if (handler)
      h = [handler, resource = std::string(k.resource)](Informer::Change c, const std::string& key,
                                                        const std::string& obj) {
        handler(c, resource, key, obj);
      };
    std::string path = list_path(k);
    if (auto fs = options.field_selectors.find(k.resource); fs != options.field_selectors.end())
      path += "?fieldSelector=" + query_escape(fs->second);
    kind->informer = std::make_unique<Informer>(client, path, options.informer, std::move(h));
    s->kinds_.push_back(std::move(kind));
  }
  for (auto& kind : s->kinds_) {
    Kind* kp = kind.get();
    StopFlag* stop = &s->stop_;
    kp->thread = std::thread([kp, stop, on_stopped = options.on_stopped] {
      kp->result = kp->informer->run(*stop);
      if (!kp->result && on_stopped) on_stopped(kp->kind->resource, kp->result.error());
      kp->done = true;
    });
  }
  return s;
}

LiveState::~LiveState() {
  stop_ = true;
  for (auto& k : kinds_)
    if (k->thread.joinable()) k->thread.join();
}

Result<void> LiveState::wait_synced(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<bool> noted(kinds_.size(), false);
  for (;;) {
    bool all = true;
    for (size_t i = 0; i < kinds_.size(); ++i) {
      Kind& k = *kinds_[i];
      if (k.informer->synced()) continue;
      if (k.done) {
        if (k.result && k.kind->required)  // stopped before its first list: not an error
          return make_error(ErrorCode::Unavailable,
                            list_path(*k.kind) + ": stopped before it was listed");
        if (!k.result && k.kind->required) return tl::unexpected(k.result.error());
        if (!noted[i]) {
          noted[i] = true;
          std::lock_guard lock(mu_);
          notes_.push_back(list_path(*k.kind) + ": " +
                           (k.result ? std::string("stopped") : k.result.error().str()) +
                           ", skipped");
        }
        continue;
      }
      all = false;
    }
    if (all) return {};
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string pending;
      for (const auto& k : kinds_)
        if (!k->informer->synced() && !k->done)
          pending += (pending.empty() ? "" : ", ") + std::string(k->kind->resource);
      return make_error(
          ErrorCode::Unavailable,
          server_ + ": not every kind was listed in time (still waiting for " + pending + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

namespace {

// A typed list, as the server lists a kind: items without a kind take the list's.
std::string typed_list(const KindPath& kind, const std::vector<const std::string*>& objects) {
  size_t size = 64;
  for (const std::string* o : objects) size += o->size() + 1;
  std::string text;
  text.reserve(size);
  text += std::string("{\"kind\":\"") + kind.kind + "List\",\"apiVersion\":\"" +
          kind.group_version + "\",\"items\":[";
  for (size_t i = 0; i < objects.size(); ++i) {
    if (i) text += ',';
    text += *objects[i];
  }
  text += "]}";
  return text;
}

}  // namespace

Result<ClusterState> decode_objects(const std::string& resource,
                                    const std::vector<const std::string*>& objects,
                                    const std::string& origin, const LoadOptions& load) {
  const KindPath* kind = nullptr;
  for (const KindPath& k : kKinds)
    if (resource == k.resource) kind = &k;
  if (!kind)
    return make_error(ErrorCode::Usage, "\"" + resource + "\" is not a kind Stockade reads");
  ClusterLoader loader(load);
  if (auto r = loader.add_text(typed_list(*kind, objects), origin); !r)
    return tl::unexpected(r.error());
  return std::move(loader).finish();
}

Result<ClusterState> LiveState::state() const {
  ClusterLoader loader(load_);
  for (const auto& k : kinds_) {
    if (!k->informer->synced()) continue;
    auto store = k->informer->snapshot();
    std::vector<const std::string*> objects;
    objects.reserve(store.size());
    for (const auto& [key, obj] : store) objects.push_back(&obj);
    if (auto r = loader.add_text(typed_list(*k->kind, objects),
                                 server_ + list_path(*k->kind) + " (live)");
        !r)
      return tl::unexpected(r.error());
  }
  return std::move(loader).finish();
}

std::map<std::string, std::map<std::string, std::string>> LiveState::objects() const {
  std::map<std::string, std::map<std::string, std::string>> out;
  for (const auto& k : kinds_) out[k->kind->resource] = k->informer->snapshot();
  return out;
}

std::map<std::string, Informer::Stats> LiveState::stats() const {
  std::map<std::string, Informer::Stats> out;
  for (const auto& k : kinds_) out[k->kind->resource] = k->informer->stats();
  return out;
}

std::vector<std::string> LiveState::notes() const {
  std::lock_guard lock(mu_);
  return notes_;
}

// ---- PodDirectory --------------------------------------------------------------------------

size_t PodDirectory::IpHash::operator()(const IpAddr& ip) const {
  return std::hash<uint64_t>()(ip.hi * 0x9E3779B97F4A7C15ULL ^ ip.lo ^ (ip.v6 ? 1 : 0));
}

namespace {
std::string key_of(const Pod& p) {
  return p.uid.empty() ? p.ns + "/" + p.name : p.uid;  // a cgroup's pod UID holds no '/'
}
}  // namespace

void PodDirectory::remove_locked(const std::string& key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return;
  for (const IpAddr& ip : it->second.ips)
    if (auto i = by_ip_.find(ip); i != by_ip_.end() && i->second == key) by_ip_.erase(i);
  by_key_.erase(it);
}

void PodDirectory::put(const Pod& pod) {
  std::string key = key_of(pod);
  std::unique_lock lock(mu_);
  remove_locked(key);
  if (pod.phase == "Succeeded" || pod.phase == "Failed") return;
  Entry& e = by_key_[key];
  e.name = {pod.ns, pod.name};
  if (!pod.spec.host_network) {  // a host-network pod's address is its node's
    e.ips = pod.ips;
    for (const IpAddr& ip : pod.ips) by_ip_[ip] = key;  // the newest pod holding an address
  }
}

void PodDirectory::remove(const Pod& pod) {
  std::unique_lock lock(mu_);
  remove_locked(key_of(pod));
}

std::optional<PodDirectory::Name> PodDirectory::by_uid(const std::string& uid) const {
  std::shared_lock lock(mu_);
  auto it = by_key_.find(uid);
  if (it == by_key_.end()) return std::nullopt;
  return it->second.name;
}

std::optional<PodDirectory::Name> PodDirectory::by_ip(const IpAddr& ip) const {
  std::shared_lock lock(mu_);
  auto it = by_ip_.find(ip);
  if (it == by_ip_.end()) return std::nullopt;
  return by_key_.at(it->second).name;
}

std::map<std::string, PodDirectory::Name> PodDirectory::pods() const {
  std::shared_lock lock(mu_);
  std::map<std::string, Name> out;
  for (const auto& [k, e] : by_key_) out[k] = e.name;
  return out;
}

bool PodDirectory::empty() const {
  std::shared_lock lock(mu_);
  return by_key_.empty();
}

LiveState::Handler PodDirectory::handler(std::string origin) {
  return [this, origin = std::move(origin)](Informer::Change change, const std::string& resource,
                                            const std::string&, const std::string& object) {
    if (resource != "pods") return;
    auto decoded = decode_objects(resource, {&object}, origin);
    if (!decoded) return;  // an object the loader refuses names no pod
    for (const Pod& p : decoded->pods) {
      if (change == Informer::Change::Deleted)
        remove(p);
      else
        put(p);
    }
  };
}

}  // namespace stockade::kube
