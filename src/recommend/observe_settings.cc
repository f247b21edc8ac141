#include "recommend/observe_settings.h"

#include "input/flow_read_settings.h"
#include "model/duration.h"

namespace stockade {

Result<ObserveOptions> observe_options(const ObserveSettings& s, int64_t now_ns) {
  ObserveOptions oo = s.options;
  std::string error;
  const auto since = parse_time_or_age(s.since, now_ns, &error);
  if (!since) return make_error(ErrorCode::Usage, "--since: " + error);
  const auto until = parse_time_or_age(s.until, now_ns, &error);
  if (!until) return make_error(ErrorCode::Usage, "--until: " + error);
  if (*since && *until && *until <= *since)
    return make_error(ErrorCode::Usage, "--until must be after --since");
  oo.since_ns = *since;
  oo.until_ns = *until;
  return oo;
}

std::vector<Setting> settings(ObserveSettings& s, bool flows_required) {
  return {
      {.name = "--flows",
       .help = "Flow records: Hubble JSON (hubble observe -o json|jsonpb) or Stockade agent "
               "events; file, gzip file or - for stdin; repeatable",
       .field = &s.flows,
       .required = flows_required},
      {.name = "--since",
       .help = "Only flows at or after this time: RFC 3339, or a duration before now (24h, "
               "1h30m, 90s, 7d) as hubble observe takes it",
       .field = &s.since},
      {.name = "--until",
       .help = "Only flows before this time: RFC 3339, or a duration before now",
       .field = &s.until},
      strict_setting(s.options.read.strict),
      gzip_ratio_setting(s.options.read.max_gzip_ratio),
      {.name = "--max-external-nodes",
       .help = "Refuse flows naming more than this many distinct external addresses (each is "
               "a peer of its own; 0: no limit)",
       .field = &s.options.max_external_nodes,
       .show_default = true},
  };
}

}  // namespace stockade
