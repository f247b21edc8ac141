#include "kube/informer.h"

#include <random>
#include <thread>

#include <nlohmann/json.hpp>

namespace stockade::kube {

using json = nlohmann::json;

namespace {

std::string key_of(const json& obj) {
  const json& meta = obj.at("metadata");
  std::string ns = meta.value("namespace", "");
  std::string name = meta.value("name", "");
  return ns.empty() ? name : ns + "/" + name;
}

// Sleeps up to `d`, waking early when `stop` is set.
void nap(std::chrono::milliseconds d, const StopFlag& stop) {
  auto until = std::chrono::steady_clock::now() + d;
  while (!stop.load() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

}  // namespace

Informer::Informer(Client& client, std::string resource_path, InformerOptions options,
                   Handler handler)
    : client_(client),
      path_(std::move(resource_path)),
      options_(options),
      handler_(std::move(handler)) {}

std::map<std::string, std::string> Informer::snapshot() const {
  std::lock_guard lock(mu_);
  return store_;
}

std::string Informer::resource_version() const {
  std::lock_guard lock(mu_);
  return rv_;
}

Informer::Stats Informer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Informer::apply(Change change, const std::string& key, std::string object) {
  {
    std::lock_guard lock(mu_);
    if (change == Change::Deleted)
      store_.erase(key);
    else
      store_[key] = object;
  }
  if (handler_) handler_(change, key, object);
}

Result<void> Informer::relist() {
  auto list = client_.list(path_, options_.page_limit);
  if (!list) return tl::unexpected(list.error());
  std::map<std::string, std::string> fresh;
  for (const auto& page : list->pages) {
    json j = json::parse(page, nullptr, false);
    if (!j.is_object() || !j.contains("items") || !j["items"].is_array())
      return make_error("GET " + path_ + ": the answer is not a Kubernetes list");
    for (const auto& item : j["items"]) {
      if (!item.contains("metadata")) continue;
      fresh[key_of(item)] = item.dump();
    }
  }
  std::map<std::string, std::string> old = snapshot();
  // Objects that vanished while we were not watching are deletions; the rest adds or updates.
  for (const auto& [key, obj] : old)
    if (!fresh.count(key)) {
      apply(Change::Deleted, key, obj);
      std::lock_guard lock(mu_);
      ++stats_.synthesized_deletions;
    }
  for (auto& [key, obj] : fresh) {
    auto it = old.find(key);
    if (it == old.end())
      apply(Change::Added, key, obj);
    else if (it->second != obj)
      apply(Change::Modified, key, obj);
  }
  std::lock_guard lock(mu_);
  rv_ = list->resource_version;
  ++stats_.lists;
  synced_ = true;
  return {};
}

Result<bool> Informer::watch_once(const StopFlag& stop) {
  std::string rv = resource_version();
  std::string q = path_ + (path_.find('?') == std::string::npos ? "?" : "&") +
                  "watch=1&allowWatchBookmarks=true&timeoutSeconds=" +
                  std::to_string(options_.watch_timeout.count()) + "&resourceVersion=" + rv;
  std::string pending;
  bool expired = false, broken = false;
  auto on_data = [&](std::string_view data) {
    pending.append(data);
    size_t start = 0;
    for (;;) {
      size_t nl = pending.find('\n', start);
      if (nl == std::string::npos) break;
      std::string_view line(pending.data() + start, nl - start);
      start = nl + 1;
      if (line.empty()) continue;
      json ev = json::parse(line, nullptr, false);
      if (!ev.is_object() || !ev.contains("type") || !ev.contains("object") ||
          !ev["object"].is_object()) {
        broken = true;  // garbage on the stream: reconnect from the last good version
        return false;
      }
      std::string type = ev["type"].is_string() ? ev["type"].get<std::string>() : "";
      const json& obj = ev["object"];
      if (type == "ERROR") {
        if (obj.value("code", 0) == 410)
          expired = true;
        else
          broken = true;
        return false;
      }
      if (!obj.contains("metadata") || !obj["metadata"].is_object()) {
        broken = true;
        return false;
      }
      std::string new_rv = obj["metadata"].value("resourceVersion", "");
      if (type == "BOOKMARK") {
        std::lock_guard lock(mu_);
        if (!new_rv.empty()) rv_ = new_rv;
        ++stats_.bookmarks;
        continue;
      }
      Change change = type == "ADDED"      ? Change::Added
                      : type == "MODIFIED" ? Change::Modified
                      : type == "DELETED"  ? Change::Deleted
                                           : Change::Modified;
      if (type != "ADDED" && type != "MODIFIED" && type != "DELETED") {
        broken = true;
        return false;
      }
      apply(change, key_of(obj), obj.dump());
      std::lock_guard lock(mu_);
      if (!new_rv.empty()) rv_ = new_rv;
      ++stats_.events;
    }
    pending.erase(0, start);
    return !stop.load();
  };
  {
    std::lock_guard lock(mu_);
    ++stats_.watches;
  }
  auto r = client_.stream(q, on_data, &stop, options_.idle);
  if (!r) return tl::unexpected(r.error());
  if (r->status == 410)
    expired = true;
  else if (r->status == 403 || r->status == 404 || r->status == 401)
    return make_error(error_code_for_status(r->status), Client::describe("GET", q, *r));
  else if (r->status != 200 && !expired)
    return make_error(error_code_for_status(r->status), Client::describe("GET", q, *r));
  if (broken) return make_error("GET " + q + ": the watch stream broke");
  if (expired) {
    std::lock_guard lock(mu_);
    ++stats_.expired;
  }
  return expired;
}

Result<void> Informer::run(const StopFlag& stop) {
  std::mt19937_64 rng(std::random_device{}());
  auto backoff = options_.backoff_min;
  bool need_list = true;
  while (!stop.load()) {
    if (need_list) {
      auto r = relist();
      if (!r) {
        if (r.error().message.find("HTTP 403") != std::string::npos ||
            r.error().message.find("HTTP 404") != std::string::npos)
          return r;
        {
          std::lock_guard lock(mu_);
          ++stats_.reconnects;
        }
        nap(backoff + std::chrono::milliseconds(rng() % (backoff.count() / 2 + 1)), stop);
        backoff = std::min(backoff * 2, options_.backoff_max);
        continue;
      }
      need_list = false;
      backoff = options_.backoff_min;
    }
    auto w = watch_once(stop);
    if (w && *w) {
      need_list = true;  // 410: the version is gone; list again
      continue;
    }
    if (w) {  // the server ended the watch (timeoutSeconds): watch again
      backoff = options_.backoff_min;
      continue;
    }
    if (w.error().message.find("HTTP 403") != std::string::npos ||
        w.error().message.find("HTTP 401") != std::string::npos)
      return tl::unexpected(w.error());
    {
      std::lock_guard lock(mu_);
      ++stats_.reconnects;
    }
    // A dropped connection, a restarting server, garbage: reconnect with backoff and jitter.
    nap(backoff + std::chrono::milliseconds(rng() % (backoff.count() / 2 + 1)), stop);
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
  return {};
}

}  // namespace stockade::kube
