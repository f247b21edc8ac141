#include "detect/report.h"

#include <chrono>

#include "core/display.h"
#include "core/progress.h"

namespace stockade::detect {

Result<DetectRun> detect_files(const std::vector<std::string>& paths, FlowReadOptions read,
                               const Thresholds& t,
                               const std::vector<std::pair<IpAddr, std::string>>& names,
                               bool progress) {
  const auto start = std::chrono::steady_clock::now();
  Detector d(t);
  for (const auto& [ip, name] : names) d.name_address(ip, name);
  DetectRun run;
  for (const std::string& path : paths) {
    ProgressMeter meter(path == "-" ? "<stdin>" : path, progress);
    read.on_read = [&meter](uint64_t bytes, uint64_t total, uint64_t records, bool done) {
      meter.on_read(bytes, total, records, done);
    };
    auto r = read_flows(path, read, run.stats, [&d](const Flow& f) { d.add(f); });
    if (!r) return tl::unexpected<Error>(r.error());
  }
  run.counted = d.records();
  run.signals = d.finish();
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

std::vector<std::pair<IpAddr, std::string>> endpoint_names(const std::vector<Endpoint>& eps) {
  std::vector<std::pair<IpAddr, std::string>> out;
  for (const Endpoint& ep : eps)
    for (const IpAddr& ip : ep.ips) out.emplace_back(ip, ep.id());
  return out;
}

nlohmann::json signal_json(const Signal& s) {
  nlohmann::json j = {{"type", std::string(to_string(s.type))},
                      {"src", s.src},
                      {"dst", s.dst},
                      {"protocol", std::string(to_string(s.protocol))},
                      {"ports", s.ports},
                      {"targets", s.targets},
                      {"count", s.count},
                      {"first_seen", s.first_seen ? format_rfc3339(s.first_seen) : ""},
                      {"last_seen", s.last_seen ? format_rfc3339(s.last_seen) : ""},
                      {"evidence", s.evidence}};
  if (s.port) j["port"] = s.port;
  if (s.type == SignalType::SynFlood || s.type == SignalType::UdpFlood ||
      s.type == SignalType::IcmpFlood)
    j["sources"] = s.sources;
  return j;
}

nlohmann::json detect_json(const DetectRun& run) {
  nlohmann::json list = nlohmann::json::array();
  nlohmann::json summary = {{"records", run.stats.records},
                            {"counted", run.counted},
                            {"malformed", run.stats.malformed},
                            {"signals", run.signals.size()}};
  for (SignalType t : {SignalType::PortScan, SignalType::HostSweep, SignalType::SynFlood,
                       SignalType::UdpFlood, SignalType::IcmpFlood})
    summary[std::string(to_string(t))] = 0;
  for (const Signal& s : run.signals) {
    list.push_back(signal_json(s));
    summary[std::string(to_string(s.type))] =
        summary[std::string(to_string(s.type))].get<int>() + 1;
  }
  return {{"signals", std::move(list)}, {"summary", std::move(summary)}};
}

std::string detect_table(const DetectRun& run) {
  std::string out;
  if (run.signals.empty()) {
    out = "no signals in " + std::to_string(run.stats.records) + " records\n";
    return out;
  }
  out = "TYPE        SOURCE -> TARGET    FIRST SEEN -> LAST SEEN\n";
  for (const Signal& s : run.signals) {
    std::string type(to_string(s.type));
    type.resize(std::max<size_t>(type.size(), 11), ' ');
    out += type + " " + display_text(s.src) + " -> " + display_text(s.dst) + "    " +
           (s.first_seen ? format_rfc3339(s.first_seen) : "-") + " -> " +
           (s.last_seen ? format_rfc3339(s.last_seen) : "-") + "\n            " +
           display_text(s.evidence) + "\n";
  }
  out += std::to_string(run.signals.size()) + " signal(s) in " + std::to_string(run.stats.records) +
         " records\n";
  return out;
}

}  // namespace stockade::detect
