// The server's write-ahead journal of accepted flow records: each POST /api/v1/flows body is
// appended as one framed batch and made durable (fdatasync) before the request is answered, so
// a kill -9 right after the answer loses nothing; on start the batches are read back in order,
// which gives a restarted server the same map as `stockade map` over the same records.
//
// Frame: "STKB" magic, body length and CRC-32 (zlib's) of the body (little-endian uint32 each),
// then the body. A frame that is cut short or fails its CRC ends the journal: it was never
// acknowledged (the answer waits for the sync), so opening truncates it away.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace stockade::server {

class FlowJournal {
 public:
  FlowJournal() = default;
  ~FlowJournal();
  FlowJournal(const FlowJournal&) = delete;
  FlowJournal& operator=(const FlowJournal&) = delete;

  // Opens (creating it when absent) the journal at `path`; a torn last frame is truncated away
  // and counted in torn_bytes().
  Result<void> open(const std::string& path);

  // Appends one batch and syncs it to disk. On error nothing of it remains in the journal.
  Result<void> append(std::string_view body);
  // Appends several batches with one write and one sync (group commit). On error nothing of
  // them remains.
  Result<void> append_many(const std::vector<std::string_view>& bodies);

  // Removes the batch(es) the last append() or append_many() added (durably), when what had to
  // follow it failed: the request is then refused, and a batch refused must not be replayed.
  Result<void> drop_last();

  // Calls f with every batch body, in the order they were appended.
  Result<void> replay(const std::function<void(std::string_view)>& f) const;

  uint64_t bytes() const { return size_; }
  uint64_t batches() const { return batches_; }
  uint64_t torn_bytes() const { return torn_; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
  uint64_t size_ = 0;
  uint64_t batches_ = 0;
  uint64_t torn_ = 0;
  uint64_t before_last_ = 0;  // size_ before the last append
  uint64_t last_count_ = 0;   // batches the last append added
};

}  // namespace stockade::server
