// stockade serve: the loop that keeps running. This parses and checks the flags; the server
// itself is put together and run by src/server/serve.h.

#include <cstdio>
#include <mutex>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/observe_flags.h"
#include "server/serve.h"
#include "server/serve_settings.h"

namespace stockade::cli {

namespace {

// The server's settings (server/serve_settings.h) and the objects' source.
struct ServeOptions : server::ServeSettings {
  CommonOptions common;
  bool in_cluster = false;
};

int run(const ServeOptions& o) {
  const bool live = !o.common.kubeconfig.empty() || !o.common.context.empty() || o.in_cluster;
  value_or_usage_error(server::check_object_source(o.common.files, live));
  server::ServeConfig c;
  value_or_usage_error(server::apply_settings(o, live, c));
  c.files = o.common.files;
  c.load = load_options(o.common);
  c.load.workload_security = true;  // GET /api/v1/posture (the scan) reads the posture fields
  if (live) c.cluster = connect_cluster(o.common, o.in_cluster);
  if (!o.common.quiet) {
    auto log_mutex = std::make_shared<std::mutex>();
    c.log = [log_mutex](const std::string& line) {
      std::lock_guard lock(*log_mutex);
      std::fprintf(stderr, "%s\n", line.c_str());
    };
  }
  value_or_usage_error(server::serve(std::move(c)));
  return kExitOk;
}

}  // namespace

Runner register_serve(CLI::App& app) {
  auto opts = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "The loop that keeps running: ingest flows, keep the map, answer over HTTP");
  cmd->add_option("-f,--filename", opts->common.files,
                  "Kubernetes objects: file or directory (recursive); repeatable; read again "
                  "on SIGHUP and when they change");
  cmd->add_option("-n,--namespace", opts->common.ns,
                  "Namespace for namespaced objects that name none (default \"default\")");
  cmd->add_option("--kubeconfig", opts->common.kubeconfig,
                  "Follow a live cluster (kubeconfig): list and watch its objects");
  cmd->add_option("--context", opts->common.context, "kubeconfig context");
  cmd->add_flag("--in-cluster", opts->in_cluster,
                "Follow the cluster this pod runs in (its service account)");
  add_request_timeout_flag(*cmd, opts->common);
  add_settings(*cmd, server::settings(*opts));  // --listen … --max-gzip-ratio
  cmd->add_flag("-v,--verbose", opts->common.verbose, "More on stderr");
  cmd->add_flag("-q,--quiet", opts->common.quiet, "No log lines on stderr");
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli
