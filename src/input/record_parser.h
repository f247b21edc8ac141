// Flow records from text: one JSON object per line, Hubble (`observe -o json` with the
// {"flow": …} wrapper, `-o jsonpb` without it) or Stockade agent events, read straight from
// the text when the line has the common shape (the direct path) or through simdjson's stage 1
// and a walk of its tokens; both give the same records. One parser per thread.
#pragma once

#include <simdjson.h>

#include <memory>
#include <string>

#include "input/flow_chunk.h"
#include "input/flow_reader.h"

namespace stockade::input {

class RecordParser {
 public:
  // `direct`: FlowReadOptions::direct. `strict`: every escape in a line is checked
  // (--strict), not only those of the strings a record needs.
  RecordParser(bool direct, bool strict);
  ~RecordParser();
  RecordParser(const RecordParser&) = delete;
  RecordParser& operator=(const RecordParser&) = delete;

  // Reads every line of `c` (its `len` bytes of text, which must be followed by
  // SIMDJSON_PADDING writable bytes) into c.flows, c.bad and its counters. `hint` (may be
  // empty) sets FlowPeer::hint of both peers of every record.
  void parse(Chunk& c, const FlowReadOptions::PeerHint& hint);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// What a malformed line's error says ("not a flow record: ...").
std::string malformed_message(simdjson::error_code err);

}  // namespace stockade::input
