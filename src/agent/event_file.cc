#include "agent/event_file.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "input/flow_reader.h"

namespace stockade::agent {

namespace {

// One line: its event, if it holds one.
Result<void> take_line(std::string_view line, const std::string& name, size_t line_no,
                       const std::function<void(AgentEvent&)>& emit) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return {};
  FlowReadOptions ro;
  ro.threads = 1;
  ro.strict = true;
  FlowReadStats st;
  bool other = false;  // a flow record, but no agent event (a Hubble flow)
  auto r = read_flows_text(line, name, ro, st, [&](const Flow& f) {
    if (auto e = event_from_flow(f))
      emit(*e);
    else
      other = true;
  });
  if (!r) return make_error(name, static_cast<int>(line_no), r.error().message);
  if (other)  // dropping it quietly would send batches short of what the file holds
    return make_error(name, static_cast<int>(line_no),
                      "not an agent event (--events reads what the agent writes)");
  return {};
}

Result<void> read_events(const std::string& path, const std::function<void(AgentEvent&)>& emit,
                         const std::atomic<bool>& stop) {
  const std::string name = path == "-" ? "<stdin>" : path;
  int fd = path == "-" ? 0 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(path, 0, std::string("cannot open: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() {
      if (fd > 0) ::close(fd);
    }
  } closer{fd};
  std::string buf;
  char chunk[65536];
  size_t line_no = 0;
  while (!stop) {
    // Waits at most 100 ms at a time, so a stopped agent never hangs on a silent pipe.
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 100) == 0) continue;
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(path, 0, std::string("read error: ") + std::strerror(errno));
    if (n == 0) break;
    buf.append(chunk, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1)
      if (auto r =
              take_line(std::string_view(buf).substr(start, nl - start), name, ++line_no, emit);
          !r)
        return r;
    buf.erase(0, start);
    if (buf.size() > (size_t{64} << 20))
      return make_error(path, static_cast<int>(line_no + 1), "a line longer than 64 MiB");
  }
  if (!buf.empty()) return take_line(buf, name, ++line_no, emit);
  return {};
}

}  // namespace

EventSource events_from_file(const std::string& path) {
  return [path](const std::function<void(AgentEvent&)>& emit, const std::atomic<bool>& stop) {
    return read_events(path, emit, stop);
  };
}

}  // namespace stockade::agent
