// stockade reach: reachability under the loaded policies.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <sys/resource.h>

#include "cli/commands.h"
#include "cli/common.h"

namespace stockade::cli {

namespace {

struct ReachOptions {
  CommonOptions common;
  std::string from = "*";
  std::string to = "*";
  std::vector<std::string> ports;
  std::string verdict = "all";  // rows listed: all, allowed or denied
  std::string by = "pod";
  bool force = false;
};

// Past this many connections a listing is no longer something a person or a pipeline reads
// (10^7 rows is about a gigabyte of JSON); a whole large cluster is 10^10 and more.
constexpr uint64_t kMaxListedConnections = 10'000'000;

void print_summary_object(Out& out, const ReachCounts& c) {
  out << "{\"endpoints\":" << c.endpoints << ",\"pairs\":" << c.pairs
      << ",\"allowed\":" << c.allowed << ",\"denied\":" << c.denied << "}";
}

// "; 380 MB resident, peak 412 MB; cpu 2.10 s user, 0.40 s sys": the process's memory now and
// at its peak (Linux) and its CPU time so far, for -v (on a shared machine CPU time is what a
// phase costs; wall time is also what the other processes take).
std::string memory_use() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  const std::string cpu =
      fmt::format("; cpu {:.2f} s user, {:.2f} s sys", secs(ru.ru_utime), secs(ru.ru_stime));
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return cpu;
  char line[256];
  unsigned long long rss = 0, hwm = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) rss = std::strtoull(line + 6, nullptr, 10);
    if (std::strncmp(line, "VmHWM:", 6) == 0) hwm = std::strtoull(line + 6, nullptr, 10);
  }
  std::fclose(f);
  return fmt::format("; {} MB resident, peak {} MB", rss / 1024, hwm / 1024) + cpu;
}

int run(const ReachOptions& o) {
  std::vector<PortQuery> queries;
  for (const std::string& p : o.ports) queries.push_back(parse_port(p, "--port"));
  Stopwatch clock;
  ClusterState state = load_cluster(o.common);
  verbose_log(o.common, "load: " + clock.lap() + memory_use());
  auto endpoints = resolve_endpoints(state, o.common);
  verbose_log(o.common, "endpoints: " + clock.lap() + memory_use());
  auto engine = PolicyEngine::compile(state, std::move(endpoints));
  verbose_log(o.common, "compile: " + clock.lap() + " (" +
                            std::to_string(engine->identity_count()) + " identities" +
                            memory_use() + ")");
  const auto& eps = engine->endpoints();
  std::vector<uint8_t> from = select_endpoints(eps, o.from, "--from");
  std::vector<uint8_t> to = select_endpoints(eps, o.to, "--to");
  auto matrix = engine->reach(queries);
  verbose_log(o.common,
              "reach matrix: " + clock.lap() + " (" + matrix->describe() + memory_use() + ")");
  ReachCounts counts = matrix->counts(from, to);
  verbose_log(o.common, "count: " + clock.lap() + memory_use());

  Out out;
  const std::string& fmt = o.common.output;
  if (fmt != "summary" && counts.pairs > kMaxListedConnections && !o.force)
    throw UsageError{fmt::format(
        "-o {} would list {} connections (more than {}): narrow it with --from, --to or "
        "--port, use -o summary, or pass --force",
        fmt, counts.pairs, kMaxListedConnections)};
  if (fmt == "summary") {
    print_summary_object(out, counts);
    out << "\n";
    out.flush();
    return verdict_exit(o.common, {&state}, kExitOk);
  }
  if (fmt == "json") out << "{\"connections\":[";
  if (fmt == "csv") out << "src,dst,protocol,port,allowed" << (o.by == "pod" ? "\n" : ",pairs\n");
  if (fmt == "table" && o.by == "pod")
    out << fmt::format("{:<40} {:<40} {:<11} {}\n", "SOURCE", "DESTINATION", "PORT", "VERDICT");
  if (fmt == "table" && o.by != "pod")
    out << fmt::format("{:<40} {:<40} {:<11} {:<8} {:>8}\n", "SOURCE", "DESTINATION", "PORT",
                       "VERDICT", "PAIRS");
  bool first = true;
  // --by workload|namespace: one row per (group, group, port, verdict), with its pod pairs.
  if (const Granularity by = *parse_granularity(o.by); by != Granularity::Pod) {
    const GroupedReach grouped = group_connections(eps, *matrix, from, to, by);
    for (const GroupedReach::Row& c : grouped.rows) {
      const std::string& src = grouped.names[c.src];
      const std::string& dst = grouped.names[c.dst];
      if ((o.verdict == "allowed" && !c.allowed) || (o.verdict == "denied" && c.allowed)) continue;
      std::string_view proto = to_string(c.protocol);
      if (fmt == "json") {
        if (!first) out << ",";
        first = false;
        out << "{\"src\":" << json_escape(src) << ",\"dst\":" << json_escape(dst)
            << ",\"protocol\":\"" << proto << "\",\"port\":" << uint64_t{c.port}
            << ",\"allowed\":" << (c.allowed ? "true" : "false") << ",\"pairs\":" << c.pairs << "}";
      } else if (fmt == "csv") {
        out << csv_field(src) << "," << csv_field(dst) << "," << proto << "," << uint64_t{c.port}
            << "," << (c.allowed ? "true" : "false") << "," << c.pairs << "\n";
      } else {
        out << fmt::format("{:<40} {:<40} {:<11} {:<8} {:>8}\n", display_text(src),
                           display_text(dst), fmt::format("{}/{}", proto, c.port),
                           c.allowed ? "allowed" : "denied", c.pairs);
      }
    }
  }
  for (uint32_t s = 0; s < eps.size() && o.by == "pod"; ++s) {
    if (!from[s]) continue;
    std::string src = eps[s].id();
    for (uint32_t d = 0; d < eps.size(); ++d) {
      if (!to[d]) continue;
      const auto& ports = matrix->ports(d);
      for (size_t k = 0; k < ports.size(); ++k) {
        bool ok = matrix->allowed(s, d, k);
        if ((o.verdict == "allowed" && !ok) || (o.verdict == "denied" && ok)) continue;
        std::string_view proto = to_string(ports[k].protocol);
        if (fmt == "json") {
          if (!first) out << ",";
          first = false;
          out << "{\"src\":" << json_escape(src) << ",\"dst\":" << json_escape(eps[d].id())
              << ",\"protocol\":\"" << proto << "\",\"port\":" << uint64_t{ports[k].port}
              << ",\"allowed\":" << (ok ? "true" : "false") << "}";
        } else if (fmt == "csv") {
          out << csv_field(src) << "," << csv_field(eps[d].id()) << "," << proto << ","
              << uint64_t{ports[k].port} << "," << (ok ? "true" : "false") << "\n";
        } else {
          out << fmt::format("{:<40} {:<40} {:<11} {}\n", display_text(src),
                             display_text(eps[d].id()), fmt::format("{}/{}", proto, ports[k].port),
                             ok ? "allowed" : "denied");
        }
      }
    }
  }
  if (fmt == "json") {
    out << "],\"summary\":";
    print_summary_object(out, counts);
    out << "}\n";
  } else if (fmt == "table") {
    out << fmt::format("\n{} endpoints, {} connections: {} allowed, {} denied\n", counts.endpoints,
                       counts.pairs, counts.allowed, counts.denied);
  }
  out.flush();
  return verdict_exit(o.common, {&state}, kExitOk);
}

}  // namespace

Runner register_reach(CLI::App& app) {
  auto opts = std::make_shared<ReachOptions>();
  CLI::App* cmd = app.add_subcommand(
      "reach", "Reachability under the loaded policies: every (source, destination, port)");
  add_common_flags(*cmd, opts->common, {"table", "json", "csv", "summary"}, "table");
  opts->common.workload_security = false;  // no posture checks here
  cmd->add_option("--from", opts->from, "Sources: NS/NAME, NS/* or * (default *)");
  cmd->add_option("--to", opts->to, "Destinations: NS/NAME, NS/* or * (default *)");
  cmd->add_option("--port", opts->ports,
                  "PROTO/PORT (tcp/80, udp/53, sctp/9000, tcp/http); repeatable. Default: "
                  "every port each destination declares; a bare port (5432) is TCP");
  cmd->add_option("--verdict", opts->verdict,
                  "List only the allowed or the denied connections (the summary counts all)")
      ->check(CLI::IsMember({"all", "allowed", "denied"}))
      ->default_str("all");
  cmd->add_option("--by", opts->by,
                  "One row per pod (default), or per workload or namespace pair with the pod "
                  "pairs it stands for (a pair whose pods differ gets a row per verdict)")
      ->check(CLI::IsMember({"pod", "workload", "namespace"}))
      ->default_str("pod");
  cmd->add_flag("--force", opts->force,
                "List the connections (-o table|json|csv) even when there are more than "
                "10,000,000 of them");
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli
