// Two independent pieces of work on the machine's two cores: `a` on the calling thread, `b`
// beside it on a second thread (one after the other when the machine has a single core).
// Both always finish; an exception from either is rethrown on the calling thread once both
// are done (the first's when both throw). What each piece writes must be its own: the
// results are the same whichever finishes first.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <thread>

#include <time.h>

namespace stockade {

// CPU time (user + sys) of the calling thread, in nanoseconds.
inline int64_t thread_cpu_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec;
}

// How long calling threads of side_by_side would have waited for the second thread on an idle
// machine: the second piece's CPU time beyond the first's, summed, in nanoseconds. With the
// calling thread's own CPU time it estimates the wall time of a process on an idle two-core
// machine, which a shared machine's wall time does not show (reach -v prints it).
inline std::atomic<int64_t>& side_by_side_wait_ns() {
  static std::atomic<int64_t> ns{0};
  return ns;
}

template <class A, class B>
void side_by_side(A&& a, B&& b) {
  if (std::thread::hardware_concurrency() < 2) {
    a();
    b();
    return;
  }
  std::exception_ptr failure_b;
  int64_t cpu_b = 0;
  std::thread worker([&] {
    const int64_t start = thread_cpu_ns();
    try {
      b();
    } catch (...) {
      failure_b = std::current_exception();
    }
    cpu_b = thread_cpu_ns() - start;
  });
  const int64_t start = thread_cpu_ns();
  try {
    a();
  } catch (...) {
    worker.join();
    throw;
  }
  const int64_t cpu_a = thread_cpu_ns() - start;
  worker.join();
  if (cpu_b > cpu_a) side_by_side_wait_ns() += cpu_b - cpu_a;
  if (failure_b) std::rethrow_exception(failure_b);
}

// side_by_side when the work is large enough to pay for a thread (`worth_it`), else `a` then
// `b` on the calling thread.
template <class A, class B>
void side_by_side_if(bool worth_it, A&& a, B&& b) {
  if (!worth_it) {
    a();
    b();
    return;
  }
  side_by_side(a, b);
}

}  // namespace stockade
