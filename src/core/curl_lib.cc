#include "core/curl_lib.h"

#include <dlfcn.h>

#include <string>

namespace stockade {
namespace {

constexpr const char* kSoname = "libcurl.so.4";

template <class F>
bool bind(void* handle, const char* name, F& out, std::string& missing) {
  void* sym = dlsym(handle, name);
  if (sym == nullptr) {
    if (!missing.empty()) missing += ", ";
    missing += name;
    return false;
  }
  out = reinterpret_cast<F>(sym);
  return true;
}

Result<const CurlLib*> load() {
  // Never closed: handles and callbacks may live until the process exits.
  void* handle = dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return make_error(ErrorCode::Unavailable,
                      std::string("cannot load ") + kSoname +
                          " (libcurl, needed to talk HTTP): " + (why ? why : "unknown error"));
  }
  static CurlLib lib;
  std::string missing;
  decltype(&::curl_global_init) global_init = nullptr;
  bool ok = bind(handle, "curl_global_init", global_init, missing);
  ok &= bind(handle, "curl_easy_init", lib.easy_init, missing);
  ok &= bind(handle, "curl_easy_cleanup", lib.easy_cleanup, missing);
  ok &= bind(handle, "curl_easy_reset", lib.easy_reset, missing);
  ok &= bind(handle, "curl_easy_setopt", lib.easy_setopt, missing);
  ok &= bind(handle, "curl_easy_getinfo", lib.easy_getinfo, missing);
  ok &= bind(handle, "curl_easy_perform", lib.easy_perform, missing);
  ok &= bind(handle, "curl_easy_strerror", lib.easy_strerror, missing);
  ok &= bind(handle, "curl_easy_escape", lib.easy_escape, missing);
  ok &= bind(handle, "curl_free", lib.free, missing);
  ok &= bind(handle, "curl_slist_append", lib.slist_append, missing);
  ok &= bind(handle, "curl_slist_free_all", lib.slist_free_all, missing);
  if (!ok)
    return make_error(ErrorCode::Unavailable,
                      std::string(kSoname) + " lacks " + missing + " (too old a libcurl?)");
  if (CURLcode rc = global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK)
    return make_error(ErrorCode::Unavailable, std::string(kSoname) + ": curl_global_init failed (" +
                                                  lib.easy_strerror(rc) + ")");
  return &lib;
}

}  // namespace

Result<const CurlLib*> curl_lib() {
  static const Result<const CurlLib*> lib = load();
  return lib;
}

}  // namespace stockade
