// UDP flows, outbound, from the cgroup egress hook (no kprobes or trampolines needed).
// One event per 5-tuple per interval: the rest are counted, not reported.
#include "maps.bpf.h"

#include <bpf/bpf_endian.h>

// Nanoseconds between two reports of the same UDP flow (set by the loader before load).
const volatile __u64 stk_udp_interval_ns = 10ull * 1000 * 1000 * 1000;

struct stk_udp_key {
  __u32 netns;
  __u16 sport;
  __u16 dport;
  __u8 saddr[16];
  __u8 daddr[16];
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct stk_udp_key);
  __type(value, __u64);  // boot_ns of the last report
} stk_udp_seen SEC(".maps");

// True when the flow was not reported within the interval (and marks it reported now).
static __always_inline int udp_first_in_interval(const struct stk_udp_key* k, __u64 now) {
  __u64* last = bpf_map_lookup_elem(&stk_udp_seen, k);
  if (last && now - *last < stk_udp_interval_ns) {
    stk_count(STK_CNT_UDP_DEDUP);
    return 0;
  }
  bpf_map_update_elem(&stk_udp_seen, k, &now, BPF_ANY);
  return 1;
}

#define STK_ETH_P_IP 0x0800
#define STK_ETH_P_IPV6 0x86DD

// Every packet a local socket sends passes the cgroup egress hook, in the sender's context for
// UDP (udp_sendmsg runs the output path synchronously): the packet gives the full 5-tuple
// after routing, the current task gives the process. Attached to the root cgroup.
SEC("cgroup_skb/egress")
int stk_udp_egress(struct __sk_buff* skb) {
  struct stk_udp_key k = {};
  __u16 family;
  if (skb->protocol == bpf_htons(STK_ETH_P_IP)) {
    struct iphdr ip;
    if (bpf_skb_load_bytes(skb, 0, &ip, sizeof ip) < 0) return 1;
    if (ip.protocol != STK_IPPROTO_UDP) return 1;
    struct udphdr udp;
    if (bpf_skb_load_bytes(skb, ip.ihl * 4, &udp, sizeof udp) < 0) return 1;
    __builtin_memcpy(k.saddr, &ip.saddr, 4);
    __builtin_memcpy(k.daddr, &ip.daddr, 4);
    k.sport = bpf_ntohs(udp.source);
    k.dport = bpf_ntohs(udp.dest);
    family = STK_AF_INET;
  } else if (skb->protocol == bpf_htons(STK_ETH_P_IPV6)) {
    struct ipv6hdr ip6;
    if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof ip6) < 0) return 1;
    if (ip6.nexthdr != STK_IPPROTO_UDP) return 1;  // extension headers: not followed
    struct udphdr udp;
    if (bpf_skb_load_bytes(skb, sizeof ip6, &udp, sizeof udp) < 0) return 1;
    __builtin_memcpy(k.saddr, &ip6.saddr, 16);
    __builtin_memcpy(k.daddr, &ip6.daddr, 16);
    k.sport = bpf_ntohs(udp.source);
    k.dport = bpf_ntohs(udp.dest);
    family = STK_AF_INET6;
  } else {
    return 1;
  }
  struct task_struct* task = bpf_get_current_task_btf();
  k.netns = BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
  if (!udp_first_in_interval(&k, bpf_ktime_get_boot_ns())) return 1;
  struct stk_event* e = stk_reserve();
  if (!e) return 1;
  e->family = family;
  e->protocol = STK_IPPROTO_UDP;
  e->direction = STK_DIR_OUTBOUND;
  e->outcome = STK_OUT_ESTABLISHED;
  e->netns = k.netns;
  e->sport = k.sport;
  e->dport = k.dport;
  __builtin_memcpy(e->saddr, k.saddr, 16);
  __builtin_memcpy(e->daddr, k.daddr, 16);
  e->pid = BPF_CORE_READ(task, tgid);
  e->tid = BPF_CORE_READ(task, pid);
  BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
  e->flags = STK_F_PID;
  e->cgroup_id = bpf_skb_cgroup_id(skb);
  if (e->cgroup_id) e->flags |= STK_F_CGROUP;
  stk_submit(e);
  return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
