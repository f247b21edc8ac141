// Agent events in userspace: the kernel record decoded, attributed to a pod by cgroup path,
// and written as one NDJSON line (the format `stockade map --flows` reads).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/ip.h"

struct stk_event;  // bpf/stockade_agent.h
namespace stockade {
struct Flow;
}

namespace stockade::agent {

struct AgentEvent {
  int64_t time_ns = 0;  // since the Unix epoch
  bool udp = false;
  bool inbound = false;
  std::string_view outcome;  // established, accepted, refused, timeout, unreachable, reset, failed
  IpAddr src, dst;           // initiator, responder (IPv4-mapped IPv6 shown as IPv4)
  uint16_t src_port = 0, dst_port = 0;
  std::optional<uint32_t> pid;  // tgid
  std::string comm;
  bool via_socket = false;  // pid/comm are the listening socket's owner, not the current task
  std::optional<uint64_t> cgroup_id;
  uint32_t netns = 0;
  int sk_err = 0;
  std::string pod_uid;  // empty when the cgroup path names no pod
  // Set by callers that know the cluster (stockade agent -f): the pod of each side.
  std::string src_ns, src_pod, dst_ns, dst_pod;
};

// An agent event read back from its NDJSON line (flow reader's record): `stockade agent
// --events FILE` replays files this way. nullopt for a record that is no agent event.
std::optional<AgentEvent> event_from_flow(const Flow& f);

// `boot_to_real_ns` = CLOCK_REALTIME - CLOCK_BOOTTIME, both in ns.
AgentEvent decode_event(const stk_event& raw, int64_t boot_to_real_ns);

// One JSON object, without the newline.
std::string format_event_json(const AgentEvent& e, std::string_view node);

// A notice of events the kernel could not deliver (ring buffer full): type "lost".
std::string format_lost_json(int64_t time_ns, uint64_t lost, uint64_t total, std::string_view node);

// "2026-11-22T17:51:30.123456789Z".
std::string format_rfc3339_nano(int64_t ns);

// The pod UID a kubelet cgroup path names, with either cgroup driver:
//   systemd:
//   /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_with_underscores>.slice/cri-containerd-….scope
//   cgroupfs: /kubepods/burstable/pod<uid>/<container>
std::optional<std::string> pod_uid_from_cgroup_path(std::string_view path);

// Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on
// hybrid systems), from /proc/self/mounts; nullopt when it is not mounted.
std::optional<std::string> find_cgroup2_mount(const std::string& mounts = "/proc/self/mounts");

// cgroup v2 ids (the inode of each cgroup directory) to paths relative to the mount. Rescans
// the hierarchy on a miss, at most once per `rescan_interval_ns`.
class CgroupPaths {
 public:
  explicit CgroupPaths(std::string root, int64_t rescan_interval_ns = 1'000'000'000);
  // The path ("" for the root), or nullopt when unknown.
  std::optional<std::string> path(uint64_t id, int64_t now_ns);
  // The pod UID of a cgroup (cached per id, misses included).
  const std::string& pod_uid(uint64_t id, int64_t now_ns);

 private:
  void scan();
  std::string root_;
  int64_t interval_;
  int64_t last_scan_ = INT64_MIN / 2;
  std::unordered_map<uint64_t, std::string> paths_;
  std::unordered_map<uint64_t, std::string> uids_;
};

}  // namespace stockade::agent
