// The connections of a reach matrix as rows: JSON (one object with the connections and the
// summary), CSV or a table, per pod or per workload/namespace pair (`stockade reach`, and the
// server's reach queries). Written in pieces, so that a listing of millions of rows never has to
// be held whole.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace stockade {

enum class ListingFormat { Json, Csv, Table };
enum class VerdictFilter { All, Allowed, Denied };  // the rows listed (the summary counts all)

// Past this many connections a listing is no longer something a person or a pipeline reads
// (10^7 rows is about a gigabyte of JSON); a whole large cluster is 10^10 and more.
inline constexpr uint64_t kMaxListedConnections = 10'000'000;

struct ReachListing {
  ListingFormat format = ListingFormat::Table;
  Granularity by = Granularity::Pod;
  VerdictFilter verdicts = VerdictFilter::All;
};

// A listing by the names `reach` takes: format json, csv or table, `by` pod, workload or
// namespace, verdicts all, allowed or denied (an unknown name: the first of each).
ReachListing reach_listing(std::string_view format, std::string_view by, std::string_view verdicts);

// {"endpoints":N,"pairs":N,"allowed":N,"denied":N}
std::string reach_summary_json(const ReachCounts& c);

// The listing of `from` x `to` (masks over `eps`) with `counts` their summary. `write` is given
// the text in order, in pieces of about 64 KiB.
void list_connections(const std::vector<Endpoint>& eps, const ReachMatrix& matrix,
                      const std::vector<uint8_t>& from, const std::vector<uint8_t>& to,
                      const ReachCounts& counts, const ReachListing& listing,
                      const std::function<void(std::string_view)>& write);

}  // namespace stockade
