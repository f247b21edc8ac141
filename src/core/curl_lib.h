// libcurl, loaded on first use (dlopen) instead of at every start: only the commands that talk
// to an API server or post agent events need it, and loading libcurl with the libraries it
// depends on (TLS, Kerberos, LDAP, ...) at start-up was a visible part of every run of every
// command (docs/notes/seams.md has the figure).
//
// The functions are called through pointers, so curl's compile-time checks of
// curl_easy_setopt / curl_easy_getinfo arguments do not apply: pass exactly the type an
// option documents (long, curl_off_t, a pointer, a callback).
#pragma once

#include <curl/curl.h>

#include "core/error.h"

namespace stockade {

struct CurlLib {
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_reset) easy_reset;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_perform) easy_perform;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_easy_escape) easy_escape;
  decltype(&::curl_free) free;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
};

// libcurl (libcurl.so.4), loaded and globally initialised by the first call; thread-safe.
// An error says why it could not be loaded (every later call returns the same error).
Result<const CurlLib*> curl_lib();

}  // namespace stockade
