#include "core/stop.h"

#include <signal.h>

namespace stockade {

namespace {

StopFlag* g_flag = nullptr;

void on_signal(int) {
  if (g_flag) g_flag->store(true);
}

}  // namespace

void stop_on_signals(StopFlag& flag) {
  g_flag = &flag;
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace stockade
