#include "detect/detect_settings.h"

#include "model/duration.h"

namespace stockade::detect {

Result<Thresholds> thresholds(const DetectSettings& s) {
  Thresholds t = s.thresholds;
  const auto window = parse_duration_setting(s.window, "--window");
  if (!window) return tl::unexpected(window.error());
  if (*window <= 0) return make_error(ErrorCode::Usage, "--window: expected a positive duration");
  t.window_ns = *window;
  return t;
}

std::vector<Setting> settings(DetectSettings& s) {
  using B = Setting::Bound;
  Thresholds& t = s.thresholds;
  return {
      {.name = "--window",
       .help = "Counting window (each judged with the one before)",
       .field = &s.window,
       .show_default = true},
      {.name = "--scan-ports",
       .help = "Port scan: unanswered ports of one target",
       .field = &t.scan_ports,
       .show_default = true,
       .bound = B::Positive},
      {.name = "--sweep-hosts",
       .help = "Host sweep: unanswered targets on one port",
       .field = &t.sweep_hosts,
       .show_default = true,
       .bound = B::Positive},
      {.name = "--syn-flood",
       .help = "SYN flood: unanswered TCP attempts, one target port",
       .field = &t.syn_flood,
       .show_default = true,
       .bound = B::Positive},
      {.name = "--udp-flood",
       .help = "UDP flood: unanswered datagrams, one target port",
       .field = &t.udp_flood,
       .show_default = true,
       .bound = B::Positive},
      {.name = "--icmp-flood",
       .help = "ICMP flood: unanswered requests, one target",
       .field = &t.icmp_flood,
       .show_default = true,
       .bound = B::Positive},
      {.name = "--flood-unanswered",
       .help = "Floods: least share of the target port's attempts unanswered",
       .field = &t.flood_unanswered,
       .show_default = true,
       .bound = B::Range,
       .min = 0,
       .max = 1},
  };
}

}  // namespace stockade::detect
