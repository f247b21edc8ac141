// The agent's maps and the helpers every program uses. Maps are __weak so that each program
// object can include this header and `bpftool gen object` links them into one set.
#pragma once

#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "stockade_agent.h"

#define STK_AF_INET 2
#define STK_AF_INET6 10
#define STK_IPPROTO_TCP 6
#define STK_IPPROTO_UDP 17

// The process behind a socket, remembered where the kernel context has it (connect(),
// listen()) for results raised later in softirq context.
struct stk_proc {
  __u64 cgroup_id;
  __u32 pid;
  __u32 tid;
  char comm[STK_COMM_LEN];
};

struct stk_listen_key {
  __u32 netns;
  __u16 port;
  __u16 pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 23);  // resized by the loader
} stk_events SEC(".maps") __weak;

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, STK_CNT_MAX);
  __type(key, __u32);
  __type(value, __u64);
} stk_counters SEC(".maps") __weak;

// Outbound TCP sockets between connect() and their result, by socket address. Every entry is
// removed by the socket's next state change (SYN_SENT always ends in ESTABLISHED or CLOSE),
// so a plain hash suffices: cheaper than an LRU on the hot path. Full: no attribution
// (counted as no_process), never a wrong one.
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __type(key, __u64);
  __type(value, struct stk_proc);
} stk_connecting SEC(".maps") __weak;

// Listening TCP sockets by (netns, port): who accepts inbound connections.
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, struct stk_listen_key);
  __type(value, struct stk_proc);
} stk_listeners SEC(".maps") __weak;

static __always_inline void stk_count(__u32 slot) {
  __u64* v = bpf_map_lookup_elem(&stk_counters, &slot);
  if (v) *v += 1;
}

static __always_inline void stk_current_proc(struct stk_proc* p) {
  __u64 id = bpf_get_current_pid_tgid();
  p->pid = id >> 32;
  p->tid = (__u32)id;
  p->cgroup_id = bpf_get_current_cgroup_id();
  bpf_get_current_comm(p->comm, sizeof(p->comm));
}

static __always_inline __u32 stk_netns(const struct sock* sk) {
  return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

// The cgroup the socket was created in (cgroup v2), 0 when the kernel keeps none.
static __always_inline __u64 stk_sock_cgroup(const struct sock* sk) {
  struct cgroup* cg = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
  if (!cg) return 0;
  return BPF_CORE_READ(cg, kn, id);
}

// Reserves an event with the common fields filled, or counts it lost.
static __always_inline struct stk_event* stk_reserve(void) {
  struct stk_event* e = bpf_ringbuf_reserve(&stk_events, sizeof(*e), 0);
  if (!e) {
    stk_count(STK_CNT_LOST);
    return 0;
  }
  __builtin_memset(e, 0, sizeof(*e));
  e->boot_ns = bpf_ktime_get_boot_ns();
  return e;
}

static __always_inline void stk_set_proc(struct stk_event* e, const struct stk_proc* p,
                                         __u8 via_socket) {
  e->pid = p->pid;
  e->tid = p->tid;
  __builtin_memcpy(e->comm, p->comm, STK_COMM_LEN);
  e->flags |= STK_F_PID | (via_socket ? STK_F_SOCKET : 0);
  if (p->cgroup_id) {
    e->cgroup_id = p->cgroup_id;
    e->flags |= STK_F_CGROUP;
  }
}

// Wakes the reader only once a quarter of the ring is filled: a wakeup per event costs the
// reader a context switch per event. The reader also polls on a timer (100 ms), which bounds
// the latency of a quiet ring.
static __always_inline void stk_submit(struct stk_event* e) {
  __u64 avail = bpf_ringbuf_query(&stk_events, BPF_RB_AVAIL_DATA);
  __u64 size = bpf_ringbuf_query(&stk_events, BPF_RB_RING_SIZE);
  bpf_ringbuf_submit(e, avail * 4 >= size ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
  stk_count(STK_CNT_PRODUCED);
}
