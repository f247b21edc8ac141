#include "engine/reach_listing.h"

#include <fmt/format.h>

#include <map>
#include <tuple>

#include "core/display.h"
#include "core/json_text.h"

namespace stockade {

namespace {

// Text gathered into pieces of about 64 KiB for `write` (which may throw: nothing is written
// from a destructor).
class Pieces {
 public:
  explicit Pieces(const std::function<void(std::string_view)>& write) : write_(write) {
    buf_.reserve(1 << 16);
  }
  Pieces& operator<<(std::string_view s) {
    buf_.append(s);
    if (buf_.size() >= (1 << 16)) flush();
    return *this;
  }
  Pieces& operator<<(uint64_t v) { return *this << std::string_view(std::to_string(v)); }
  void flush() {
    if (!buf_.empty()) write_(buf_);
    buf_.clear();
  }

 private:
  const std::function<void(std::string_view)>& write_;
  std::string buf_;
};

std::string json_string(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  append_json_string(out, s);
  return out;
}

bool listed(VerdictFilter f, bool allowed) {
  return f == VerdictFilter::All || (f == VerdictFilter::Allowed) == allowed;
}

// One row per (group, group, port, verdict), with the pod pairs it stands for.
void list_grouped(Pieces& out, bool& first, const std::vector<Endpoint>& eps,
                  const ReachMatrix& matrix, const std::vector<uint8_t>& from,
                  const std::vector<uint8_t>& to, const ReachListing& l) {
  const GroupedReach grouped = group_connections(eps, matrix, from, to, l.by);
  for (const GroupedReach::Row& c : grouped.rows) {
    const std::string& src = grouped.names[c.src];
    const std::string& dst = grouped.names[c.dst];
    if (!listed(l.verdicts, c.allowed)) continue;
    std::string_view proto = to_string(c.protocol);
    if (l.format == ListingFormat::Json) {
      if (!first) out << ",";
      first = false;
      out << "{\"src\":" << json_string(src) << ",\"dst\":" << json_string(dst)
          << ",\"protocol\":\"" << proto << "\",\"port\":" << uint64_t{c.port}
          << ",\"allowed\":" << (c.allowed ? "true" : "false") << ",\"pairs\":" << c.pairs << "}";
    } else if (l.format == ListingFormat::Csv) {
      out << csv_field(src) << "," << csv_field(dst) << "," << proto << "," << uint64_t{c.port}
          << "," << (c.allowed ? "true" : "false") << "," << c.pairs << "\n";
    } else {
      out << fmt::format("{:<40} {:<40} {:<11} {:<8} {:>8}\n", display_text(src), display_text(dst),
                         fmt::format("{}/{}", proto, c.port), c.allowed ? "allowed" : "denied",
                         c.pairs);
    }
  }
}

// One row per (pod, pod, port).
void list_pods(Pieces& out, bool& first, const std::vector<Endpoint>& eps,
               const ReachMatrix& matrix, const std::vector<uint8_t>& from,
               const std::vector<uint8_t>& to, const ReachListing& l) {
  for (uint32_t s = 0; s < eps.size(); ++s) {
    if (!from[s]) continue;
    std::string src = eps[s].id();
    for (uint32_t d = 0; d < eps.size(); ++d) {
      if (!to[d]) continue;
      const auto& ports = matrix.ports(d);
      for (size_t k = 0; k < ports.size(); ++k) {
        bool ok = matrix.allowed(s, d, k);
        if (!listed(l.verdicts, ok)) continue;
        std::string_view proto = to_string(ports[k].protocol);
        if (l.format == ListingFormat::Json) {
          if (!first) out << ",";
          first = false;
          out << "{\"src\":" << json_string(src) << ",\"dst\":" << json_string(eps[d].id())
              << ",\"protocol\":\"" << proto << "\",\"port\":" << uint64_t{ports[k].port}
              << ",\"allowed\":" << (ok ? "true" : "false") << "}";
        } else if (l.format == ListingFormat::Csv) {
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
}

}  // namespace

GroupedReach group_connections(const std::vector<Endpoint>& eps, const ReachMatrix& matrix,
                               const std::vector<uint8_t>& from, const std::vector<uint8_t>& to,
                               Granularity by) {
  GroupedReach out;
  // Groups numbered in name order; the endpoints of each, for one source group at a time.
  std::vector<uint32_t> group(eps.size());
  {
    std::map<std::string, std::vector<uint32_t>> members;
    for (uint32_t e = 0; e < eps.size(); ++e) members[group_id(eps[e], by)].push_back(e);
    for (auto& [name, list] : members) {
      for (uint32_t e : list) group[e] = static_cast<uint32_t>(out.names.size());
      out.names.push_back(name);
    }
  }
  std::vector<std::vector<uint32_t>> sources(out.names.size());
  for (uint32_t e = 0; e < eps.size(); ++e)
    if (from.empty() || from[e]) sources[group[e]].push_back(e);
  // One source group's rows at a time: memory grows with its rows, not with the listing's.
  std::map<std::tuple<uint32_t, Protocol, uint16_t, bool>, uint64_t> rows;
  for (uint32_t g = 0; g < sources.size(); ++g) {
    rows.clear();
    for (uint32_t s : sources[g])
      for (uint32_t d = 0; d < eps.size(); ++d) {
        if (!to.empty() && !to[d]) continue;
        const auto& ports = matrix.ports(d);
        for (size_t k = 0; k < ports.size(); ++k)
          ++rows[{group[d], ports[k].protocol, ports[k].port, matrix.allowed(s, d, k)}];
      }
    for (const auto& [k, n] : rows) {
      const auto& [d, proto, port, ok] = k;
      out.rows.push_back({g, d, proto, port, ok, n});
    }
  }
  return out;
}

ReachListing reach_listing(std::string_view format, std::string_view by,
                           std::string_view verdicts) {
  ReachListing l;
  l.format = format == "json"  ? ListingFormat::Json
             : format == "csv" ? ListingFormat::Csv
                               : ListingFormat::Table;
  l.by = parse_granularity(by).value_or(Granularity::Pod);
  l.verdicts = verdicts == "allowed"  ? VerdictFilter::Allowed
               : verdicts == "denied" ? VerdictFilter::Denied
                                      : VerdictFilter::All;
  return l;
}

std::string reach_summary_json(const ReachCounts& c) {
  return fmt::format("{{\"endpoints\":{},\"pairs\":{},\"allowed\":{},\"denied\":{}}}", c.endpoints,
                     c.pairs, c.allowed, c.denied);
}

void list_connections(const std::vector<Endpoint>& eps, const ReachMatrix& matrix,
                      const std::vector<uint8_t>& from, const std::vector<uint8_t>& to,
                      const ReachCounts& counts, const ReachListing& l,
                      const std::function<void(std::string_view)>& write) {
  Pieces out(write);
  const bool pods = l.by == Granularity::Pod;
  if (l.format == ListingFormat::Json) out << "{\"connections\":[";
  if (l.format == ListingFormat::Csv)
    out << "src,dst,protocol,port,allowed" << (pods ? "\n" : ",pairs\n");
  if (l.format == ListingFormat::Table && pods)
    out << fmt::format("{:<40} {:<40} {:<11} {}\n", "SOURCE", "DESTINATION", "PORT", "VERDICT");
  if (l.format == ListingFormat::Table && !pods)
    out << fmt::format("{:<40} {:<40} {:<11} {:<8} {:>8}\n", "SOURCE", "DESTINATION", "PORT",
                       "VERDICT", "PAIRS");
  bool first = true;
  if (pods)
    list_pods(out, first, eps, matrix, from, to, l);
  else
    list_grouped(out, first, eps, matrix, from, to, l);
  if (l.format == ListingFormat::Json) {
    out << "],\"summary\":" << reach_summary_json(counts) << "}\n";
  } else if (l.format == ListingFormat::Table) {
    out << fmt::format("\n{} endpoints, {} connections: {} allowed, {} denied\n", counts.endpoints,
                       counts.pairs, counts.allowed, counts.denied);
  }
  out.flush();
}

}  // namespace stockade
