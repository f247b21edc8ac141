#include "core/mapped_file.h"

#include "core/read_text.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

namespace stockade {

namespace {

constexpr int kSlots = 32;
constexpr size_t kMaxMessage = 512;

// Read by the signal handler: each slot's message is written before its range is published.
struct Slot {
  std::atomic<uintptr_t> lo{0}, hi{0};
  std::atomic<bool> taken{false};
  char message[kMaxMessage];
  size_t message_len = 0;
};
Slot g_slots[kSlots];
struct sigaction g_previous;

void on_sigbus(int sig, siginfo_t* info, void* context) {
  const auto at = reinterpret_cast<uintptr_t>(info->si_addr);
  for (Slot& s : g_slots) {
    const uintptr_t lo = s.lo.load(std::memory_order_acquire);
    if (lo != 0 && at >= lo && at < s.hi.load(std::memory_order_acquire)) {
      ssize_t ignored = ::write(STDERR_FILENO, s.message, s.message_len);
      (void)ignored;
      ::_exit(2);
    }
  }
  // Not a registered mapping: what it would have been without this handler.
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction != nullptr) return g_previous.sa_sigaction(sig, info, context);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    return g_previous.sa_handler(sig);
  }
  ::signal(SIGBUS, SIG_DFL);  // the fault repeats on return, and ends the process as before
}

void install_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa = {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, &g_previous);
  });
}

}  // namespace

MappedRegion::MappedRegion(const void* p, size_t len, const std::string& file) {
  if (p == nullptr || len == 0) return;
  install_handler();
  for (int i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (!g_slots[i].taken.compare_exchange_strong(expected, true)) continue;
    Slot& s = g_slots[i];
    std::string m = "stockade: error: " + file +
                    ": the file changed while it was read (truncated by another process?)\n";
    s.message_len = std::min(m.size(), kMaxMessage);
    std::memcpy(s.message, m.data(), s.message_len);
    s.hi.store(reinterpret_cast<uintptr_t>(p) + len, std::memory_order_release);
    s.lo.store(reinterpret_cast<uintptr_t>(p), std::memory_order_release);
    slot_ = i;
    return;
  }
}

MappedRegion::~MappedRegion() {
  if (slot_ < 0) return;
  Slot& s = g_slots[slot_];
  s.lo.store(0, std::memory_order_release);
  s.hi.store(0, std::memory_order_release);
  s.taken.store(false, std::memory_order_release);
}

}  // namespace stockade

namespace stockade {

int open_for_reading(const std::string& path, int fifo_timeout_s, std::string& error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISFIFO(st.st_mode)) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) error = open_error(errno);
    return fd;
  }
  if (const char* env = std::getenv("STOCKADE_FIFO_TIMEOUT"); env && *env)
    fifo_timeout_s = std::max(0, std::atoi(env));
  // open(2) of a FIFO blocks until a writer opens it. Past the timeout, a helper opens it for
  // writing itself (it can: a reader, this thread, is waiting) and closes it at once, which
  // ends the wait; the descriptor got that way is closed and the timeout reported.
  std::mutex mu;
  std::condition_variable cv;
  bool opened = false, fired = false;
  std::thread unblock([&] {
    std::unique_lock lock(mu);
    if (cv.wait_for(lock, std::chrono::seconds(fifo_timeout_s), [&] { return opened; })) return;
    fired = true;
    lock.unlock();
    int w = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NONBLOCK);
    if (w >= 0) ::close(w);
  });
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  int open_errno = errno;
  {
    std::lock_guard lock(mu);
    opened = true;
  }
  cv.notify_one();
  unblock.join();
  if (fd < 0) {
    error = open_error(open_errno);
    return -1;
  }
  if (fired) {
    ::close(fd);
    error = "a FIFO that no process opened for writing within " + std::to_string(fifo_timeout_s) +
            " s (STOCKADE_FIFO_TIMEOUT sets the seconds)";
    return -1;
  }
  return fd;
}

}  // namespace stockade
