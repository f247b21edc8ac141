// Flow records from files, gzip files and stdin: one JSON object per line, format detected per
// line (Hubble `observe -o json` with the {"flow": …} wrapper, `-o jsonpb` without it, and
// Stockade agent events). Streams in constant memory: each record goes to the sink as soon as
// it is parsed.
#pragma once

#include <csignal>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/stop.h"
#include "model/flow.h"

namespace stockade {

inline constexpr uint32_t kDefaultMaxGzipRatio = 100;
inline constexpr uint64_t kGzipRatioFloor = uint64_t{64} << 20;

struct FlowReadOptions {
  bool strict = false;      // a malformed line is an error (exit 2) instead of being skipped
  size_t max_reported = 5;  // malformed lines named in FlowReadStats::problems
  // When set and it becomes true (e.g. from a SIGINT handler), reading stops after the current
  // line as if the input had ended: an endless `hubble observe --follow` stream can be ended.
  const StopFlag* stop = nullptr;
  // Threads that parse, the calling thread included (0: one per core, at most 8). Records
  // reach the sink in input order, on the calling thread, whatever the number.
  unsigned threads = 0;
  // Called on the thread that parsed a record, for both its peers, before the sink sees it; the
  // result is kept in FlowPeer::hint. Work that needs no shared mutable state (e.g.
  // EdgeGraph::hint) runs in parallel this way. It must never return 0 and must depend only on
  // the peer's pod_uid, ns and pod: a parser remembers it for endpoint objects seen before.
  using PeerHint = std::function<uint32_t(const FlowPeer&)>;
  PeerHint peer_hint;
  // Called on the delivering thread with a record a few ahead of the one the sink gets next
  // (e.g. EdgeGraph::prefetch): a hint that must not change what the sink does.
  std::function<void(const Flow&)> upcoming;
  // Lines of the common shape are read straight from their text, the others through
  // simdjson's index of them; both give the same records. False reads every line the second
  // way (tests compare the two).
  bool direct = true;
  // A gzip input that has inflated past kGzipRatioFloor bytes and more than this many times
  // the compressed bytes read is refused (a decompression bomb: 43 MB of gzip can hold 10 GB
  // of newlines). Real flow logs compress 10 to 30 times. 0: no limit.
  uint32_t max_gzip_ratio = kDefaultMaxGzipRatio;
  // For a progress display: called on the calling thread after each read, with the bytes read
  // from the source so far (compressed bytes for gzip), its size when it is a regular file
  // (else 0) and FlowReadStats::records; once more with `done` when the source ends.
  std::function<void(uint64_t read, uint64_t total, uint64_t records, bool done)> on_read;
};

struct FlowReadStats {
  uint64_t lines = 0;
  uint64_t records = 0;         // flows handed to the sink
  uint64_t malformed = 0;       // lines that are not valid JSON or not a record we understand
  uint64_t ignored = 0;         // valid lines that carry no flow (e.g. Hubble lost-events notices)
  uint64_t direct = 0;          // lines read by the direct path (FlowReadOptions::direct)
  std::vector<Error> problems;  // the first malformed lines, with file and line
};

using FlowSink = std::function<void(const Flow&)>;

// Reads one source: a path, or "-" for stdin. Errors: unreadable file, truncated gzip, a line
// longer than 64 MiB, or any malformed line with `strict`.
Result<void> read_flows(const std::string& path, const FlowReadOptions& options,
                        FlowReadStats& stats, const FlowSink& sink);

// Parses in-memory text (for tests and fuzzing); `name` stands for the file in errors.
Result<void> read_flows_text(std::string_view text, const std::string& name,
                             const FlowReadOptions& options, FlowReadStats& stats,
                             const FlowSink& sink);

}  // namespace stockade
