// Shared by the kernel programs (bpf/*.bpf.c) and the agent's userspace (src/agent/): the
// event record written to the ring buffer and the counter slots. Plain C, fixed widths.
#ifndef STOCKADE_AGENT_H
#define STOCKADE_AGENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define STK_COMM_LEN 16

enum stk_direction {
  STK_DIR_OUTBOUND = 1,
  STK_DIR_INBOUND = 2,
};

enum stk_outcome {
  STK_OUT_ESTABLISHED = 1,
  STK_OUT_ACCEPTED = 2,
  STK_OUT_REFUSED = 3,
  STK_OUT_TIMEOUT = 4,
  STK_OUT_UNREACHABLE = 5,
  STK_OUT_RESET = 6,
  STK_OUT_FAILED = 7,
};

// stk_event.flags
#define STK_F_PID 0x1     // pid/tid/comm are the calling process's
#define STK_F_CGROUP 0x2  // cgroup_id is known (of the process, else of the socket)
#define STK_F_SOCKET 0x4  // attribution came through the socket (softirq context)

// Per-CPU counters (one array slot each).
enum stk_counter {
  STK_CNT_PRODUCED = 0,   // events written to the ring buffer
  STK_CNT_LOST = 1,       // events dropped: ring buffer full
  STK_CNT_UDP_DEDUP = 2,  // UDP datagrams folded into a flow already reported this interval
  STK_CNT_NO_PROCESS =
      3,  // outbound TCP results whose connect() was not seen (agent started later)
  STK_CNT_MAX = 4,
};

struct stk_event {
  __u64 boot_ns;    // CLOCK_BOOTTIME
  __u64 cgroup_id;  // cgroup v2 id (inode of the cgroup directory)
  __u32 netns;      // network namespace inode
  __u32 pid;        // tgid
  __u32 tid;
  __s32 sk_err;    // socket error of a failure, 0 otherwise
  __u8 saddr[16];  // initiator (IPv4 in the first 4 bytes)
  __u8 daddr[16];  // responder
  __u16 sport;     // host byte order
  __u16 dport;
  __u16 family;    // AF_INET / AF_INET6
  __u8 protocol;   // IPPROTO_TCP / IPPROTO_UDP
  __u8 direction;  // enum stk_direction
  __u8 outcome;    // enum stk_outcome
  __u8 flags;      // STK_F_*
  __u8 pad[2];
  char comm[STK_COMM_LEN];
};

#endif
