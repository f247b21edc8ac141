#include "kube/connect.h"

#include <algorithm>
#include <cctype>

#include "kube/kubeconfig.h"

namespace stockade::kube {

Result<std::chrono::seconds> parse_request_timeout(const std::string& t, const std::string& what) {
  size_t digits = 0;
  while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits]))) ++digits;
  std::string unit = t.substr(digits);
  if (digits == 0 || digits > 6 || !(unit.empty() || unit == "s" || unit == "m" || unit == "h"))
    return make_error(ErrorCode::Usage, what, 0,
                      "expected a duration such as 30s, 2m or 0, got \"" + t + "\"");
  long seconds = std::stol(t.substr(0, digits)) * (unit == "m" ? 60 : unit == "h" ? 3600 : 1);
  return std::chrono::seconds(seconds);
}

Result<std::unique_ptr<Client>> connect(const ConnectOptions& o) {
  KubeconfigOptions ko;
  ko.kubeconfig = o.kubeconfig;
  ko.context = o.context;
  ko = with_environment(ko);
  if (o.in_cluster_only) {
    ko.kubeconfig_env = "";
    ko.home.reset();
  }
  auto config = load_config(ko);
  if (!config) return tl::unexpected(config.error());
  ClientOptions co;
  co.verbose = o.verbose;
  auto timeout = parse_request_timeout(o.request_timeout, "--request-timeout");
  if (!timeout) return tl::unexpected(timeout.error());
  if (timeout->count() > 0) {
    co.request_timeout = *timeout;
    co.stall_timeout = std::min(co.stall_timeout, co.request_timeout);
  }
  return Client::create(std::move(*config), co);
}

}  // namespace stockade::kube
