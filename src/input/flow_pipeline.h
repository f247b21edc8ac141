// The flow pipeline: cuts the input into chunks of whole lines, has them parsed (by worker
// threads when the input is larger than one chunk) and hands the records to the sink in input
// order, so the result is the same as reading line by line.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "input/flow_chunk.h"
#include "input/flow_reader.h"
#include "input/record_parser.h"

namespace stockade::input {

// The calling thread is one of the `threads_` that parse: while the oldest chunk is not ready
// it parses a queued one rather than wait. With a worker per core besides it, a worker
// preempted in the middle of the oldest chunk held up the rest and left the cores idle
// (docs/notes/seams.md).
class Pipeline {
 public:
  // `name` stands for the input in errors; all four must outlive the pipeline.
  Pipeline(const std::string& name, const FlowReadOptions& options, FlowReadStats& stats,
           const FlowSink& sink);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Feeds whatever `read(dst, max)` returns until it returns 0; negative is an I/O error
  // (-1 with errno EINTR: read on). Called on the calling thread, once per read.
  Result<void> run(const std::function<long(char*, size_t)>& read);

 private:
  static constexpr size_t kChunk = size_t{1} << 20;
  static constexpr size_t kUpcoming = 8;  // how far ahead FlowReadOptions::upcoming looks

  bool stopped() const { return options_.stop && options_.stop->load(std::memory_order_relaxed); }
  std::unique_ptr<Chunk> take_chunk();
  Result<void> submit(std::unique_ptr<Chunk> c, bool last);
  Result<void> deliver_front();
  void start_workers();
  void work();
  void stop_workers();

  const std::string& name_;
  const FlowReadOptions& options_;
  FlowReadStats& stats_;
  const FlowSink& sink_;
  unsigned threads_ = 1;
  uint64_t line_base_ = 0;
  std::unique_ptr<RecordParser> local_parser_;
  std::deque<std::unique_ptr<Chunk>> pending_;  // submitted, in input order
  std::vector<std::unique_ptr<Chunk>> spare_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<Chunk*> queue_;  // waiting for a worker
  bool shutdown_ = false;
};

}  // namespace stockade::input
