#include "agent/probe.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "agent/event.h"
#include "stockade.skel.h"
#include "stockade_agent.h"

namespace stockade::agent {

namespace {

// libbpf's own messages are kept, not printed: the last one explains a failed load.
thread_local std::string* g_libbpf_log = nullptr;
int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG || !g_libbpf_log) return 0;
  va_list copy;
  va_copy(copy, args);
  int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0 || g_libbpf_log->size() > (1u << 20)) return n;
  std::string buf(static_cast<size_t>(n) + 1, '\0');
  std::vsnprintf(buf.data(), buf.size(), fmt, args);
  buf.resize(static_cast<size_t>(n));
  g_libbpf_log->append(buf);
  return n;
}

std::string last_line(const std::string& log) {
  std::string s = log;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  size_t nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

bool has_cap(const __user_cap_data_struct (&d)[2], int cap) {
  return d[cap / 32].effective & (1u << (cap % 32));
}

// The privileges the agent needs: CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON (5.8+).
Result<void> check_privileges() {
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2] = {};
  if (syscall(SYS_capget, &h, d) != 0) return {};  // cannot tell: let bpf() decide
#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
  if (has_cap(d, CAP_SYS_ADMIN) || (has_cap(d, CAP_BPF) && has_cap(d, CAP_PERFMON))) return {};
  return make_error(
      ErrorCode::Unavailable,
      "the agent needs root (CAP_SYS_ADMIN, or CAP_BPF and CAP_PERFMON) to load its eBPF "
      "programs");
}

}  // namespace

struct Probe::Impl {
  stockade_bpf* skel = nullptr;
  ring_buffer* ring = nullptr;
  EventHandler handler;
  std::string log;

  ~Impl() {
    if (ring) ring_buffer__free(ring);
    if (skel) stockade_bpf__destroy(skel);
  }

  static int on_event(void* ctx, void* data, size_t size) {
    if (size < sizeof(stk_event)) return 0;  // impossible with our programs; never trust it
    static_cast<Impl*>(ctx)->handler(*static_cast<const stk_event*>(data));
    return 0;
  }
};

Probe::Probe(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Probe::~Probe() = default;

int64_t boot_to_realtime_ns() {
  timespec real, boot;
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_BOOTTIME, &boot);
  return (int64_t{real.tv_sec} - boot.tv_sec) * 1'000'000'000 + (real.tv_nsec - boot.tv_nsec);
}

Result<std::unique_ptr<Probe>> Probe::start(const ProbeOptions& options, EventHandler handler) {
  if (auto r = check_privileges(); !r) return tl::unexpected(r.error());
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
    return make_error(
        ErrorCode::Unavailable,
        "no kernel BTF at /sys/kernel/btf/vmlinux: the agent needs a kernel built with "
        "CONFIG_DEBUG_INFO_BTF (5.8 or later)");
  // libbpf finds the tracepoint's id in tracefs: mount it where the host has not.
  if (access("/sys/kernel/tracing/events", F_OK) != 0 &&
      access("/sys/kernel/debug/tracing/events", F_OK) != 0 &&
      mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0)
    return make_error(ErrorCode::Unavailable,
                      std::string("tracefs is not mounted and cannot be (") + std::strerror(errno) +
                          "): mount -t tracefs tracefs /sys/kernel/tracing");
  auto impl = std::make_unique<Impl>();
  impl->handler = std::move(handler);
  g_libbpf_log = &impl->log;
  libbpf_set_print(libbpf_print);
  struct LogReset {
    ~LogReset() { g_libbpf_log = nullptr; }
  } log_reset;

  int rb = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr);
  if (rb < 0 && (rb == -EPERM || rb == -EACCES))
    return make_error(ErrorCode::Unavailable,
                      std::string("bpf() refused: ") + std::strerror(-rb) +
                          " (a seccomp profile or kernel.unprivileged_bpf_disabled?)");
  if (rb == 0)
    return make_error(ErrorCode::Unavailable,
                      "the kernel has no BPF ring buffer (Linux 5.8 or later needed)");
  if (rb < 0)
    return make_error(ErrorCode::Unavailable, std::string("bpf() failed: ") + std::strerror(-rb));

  std::vector<std::string> degraded;
  bool udp = options.udp;
  for (int attempt = 0; attempt < 2; ++attempt) {
    impl->skel = stockade_bpf__open();
    if (!impl->skel)
      return make_error(ErrorCode::Unavailable,
                        std::string("cannot open the BPF object: ") + std::strerror(errno));
    impl->skel->rodata->stk_udp_interval_ns = options.udp_interval_ns;
    bpf_map__set_max_entries(impl->skel->maps.stk_events, options.ring_bytes);
    if (!udp) {
      bpf_program__set_autoload(impl->skel->progs.stk_udp_egress, false);
    }
    int err = stockade_bpf__load(impl->skel);
    if (err == 0) break;
    std::string why = last_line(impl->log);
    // The verifier's full log, for whoever changes the programs.
    if (std::getenv("STOCKADE_AGENT_BPF_LOG")) std::fputs(impl->log.c_str(), stderr);
    impl->log.clear();
    stockade_bpf__destroy(impl->skel);
    impl->skel = nullptr;
    if (udp) {  // the UDP hooks need more of the kernel: retry without them
      udp = false;
      degraded.push_back("UDP flows off: " + (why.empty() ? std::strerror(-err) : why));
      continue;
    }
    if ((err == -EPERM || err == -EACCES) && why.empty())
      return make_error(ErrorCode::Unavailable,
                        std::string("bpf() refused: ") + std::strerror(-err));
    return make_error(ErrorCode::Unavailable,
                      "cannot load the BPF programs: " + (why.empty() ? std::strerror(-err) : why));
  }
  if (!impl->skel) return make_error(ErrorCode::Unavailable, "cannot load the BPF programs");
  // Links kept in the skeleton are destroyed with it.
  auto& links = impl->skel->links;
  links.stk_inet_sock_set_state = bpf_program__attach(impl->skel->progs.stk_inet_sock_set_state);
  if (!links.stk_inet_sock_set_state)
    return make_error(ErrorCode::Unavailable,
                      std::string("cannot attach to tracepoint sock:inet_sock_set_state: ") +
                          std::strerror(errno));
  std::string cg_root = options.cgroup_root;
  if (cg_root.empty()) cg_root = find_cgroup2_mount().value_or("");
  if (udp && cg_root.empty()) {
    degraded.push_back("UDP flows off: no cgroup v2 hierarchy is mounted");
  } else if (udp) {  // on the root of the cgroup v2 hierarchy: every socket of the node
    int cg = open(cg_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cg < 0) {
      degraded.push_back("UDP flows off: cannot open " + cg_root + ": " + std::strerror(errno));
    } else {
      links.stk_udp_egress = bpf_program__attach_cgroup(impl->skel->progs.stk_udp_egress, cg);
      if (!links.stk_udp_egress)
        degraded.push_back("UDP flows off: cannot attach to the cgroup " + cg_root + ": " +
                           std::strerror(errno));
      close(cg);
    }
  }
  impl->ring = ring_buffer__new(bpf_map__fd(impl->skel->maps.stk_events), &Impl::on_event,
                                impl.get(), nullptr);
  if (!impl->ring)
    return make_error(ErrorCode::Unavailable,
                      std::string("cannot open the ring buffer: ") + std::strerror(errno));
  auto probe = std::unique_ptr<Probe>(new Probe(std::move(impl)));
  probe->degraded_ = std::move(degraded);
  return probe;
}

Result<int> Probe::poll(int timeout_ms) {
  // The programs wake the reader only when the ring fills up (see stk_submit): after the wait,
  // read whatever is there, notified or not.
  int n = ring_buffer__poll(impl_->ring, timeout_ms);
  if (n < 0 && n != -EINTR)
    return make_error(ErrorCode::Unavailable,
                      std::string("reading the ring buffer: ") + std::strerror(-n));
  int m = ring_buffer__consume(impl_->ring);
  if (m < 0)
    return make_error(ErrorCode::Unavailable,
                      std::string("reading the ring buffer: ") + std::strerror(-m));
  return std::max(n, 0) + m;
}

ProbeCounters Probe::counters() const {
  ProbeCounters c;
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return c;
  std::vector<uint64_t> values(static_cast<size_t>(ncpu));
  int fd = bpf_map__fd(impl_->skel->maps.stk_counters);
  uint64_t* slots[STK_CNT_MAX] = {&c.produced, &c.lost, &c.udp_dedup, &c.no_process};
  for (uint32_t k = 0; k < STK_CNT_MAX; ++k) {
    if (bpf_map_lookup_elem(fd, &k, values.data()) != 0) continue;
    for (uint64_t v : values) *slots[k] += v;
  }
  return c;
}

std::vector<ProgramStats> Probe::program_stats() const {
  std::vector<ProgramStats> out;
  bpf_program* prog;
  bpf_object__for_each_program(prog, impl_->skel->obj) {
    int fd = bpf_program__fd(prog);
    if (fd < 0) continue;
    bpf_prog_info info = {};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) continue;
    out.push_back({bpf_program__name(prog), info.run_cnt, info.run_time_ns});
  }
  return out;
}

}  // namespace stockade::agent
