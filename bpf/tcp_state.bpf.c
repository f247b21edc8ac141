// TCP connection attempts and their results, from the sock:inet_sock_set_state tracepoint
// (IPv4 and IPv6): connect() -> SYN_SENT remembers the caller; SYN_SENT -> ESTABLISHED /
// CLOSE reports the result (classified by the socket error); SYN_RECV -> ESTABLISHED is an
// accepted inbound connection, attributed through the listening socket; a reset after
// establishment is reported too.
#include "maps.bpf.h"

#define STK_ECONNREFUSED 111
#define STK_ETIMEDOUT 110
#define STK_EHOSTUNREACH 113
#define STK_ENETUNREACH 101
#define STK_ECONNRESET 104
#define STK_EPIPE 32

static __always_inline __u8 classify_failure(int err) {
  switch (err) {
    case STK_ECONNREFUSED:
      return STK_OUT_REFUSED;
    case STK_ETIMEDOUT:
    case 0:  // the caller closed the socket before any answer came: unanswered
      return STK_OUT_TIMEOUT;
    case STK_EHOSTUNREACH:
    case STK_ENETUNREACH:
      return STK_OUT_UNREACHABLE;
    case STK_ECONNRESET:
      return STK_OUT_RESET;
    default:
      return STK_OUT_FAILED;
  }
}

// Copies the tracepoint's addresses: `local_first` puts the socket's own end in src. The
// addresses go through bpf_probe_read_kernel: clang folds the two layouts into one computed
// context pointer, which the verifier refuses to dereference.
static __always_inline void fill_addrs(struct stk_event* e,
                                       const struct trace_event_raw_inet_sock_set_state* ctx,
                                       int local_first) {
  __u8 local[16] = {}, remote[16] = {};
  e->family = ctx->family;
  e->protocol = STK_IPPROTO_TCP;
  if (ctx->family == STK_AF_INET6) {
    bpf_probe_read_kernel(local, 16, ctx->saddr_v6);
    bpf_probe_read_kernel(remote, 16, ctx->daddr_v6);
  } else {
    bpf_probe_read_kernel(local, 4, ctx->saddr);
    bpf_probe_read_kernel(remote, 4, ctx->daddr);
  }
  __u16 lport = ctx->sport, rport = ctx->dport;
  if (local_first) {
    __builtin_memcpy(e->saddr, local, 16);
    __builtin_memcpy(e->daddr, remote, 16);
    e->sport = lport;
    e->dport = rport;
  } else {
    __builtin_memcpy(e->saddr, remote, 16);
    __builtin_memcpy(e->daddr, local, 16);
    e->sport = rport;
    e->dport = lport;
  }
}

SEC("tracepoint/sock/inet_sock_set_state")
int stk_inet_sock_set_state(struct trace_event_raw_inet_sock_set_state* ctx) {
  if (ctx->protocol != STK_IPPROTO_TCP) return 0;
  int from = ctx->oldstate, to = ctx->newstate;
  __u64 skaddr = (__u64)ctx->skaddr;
  const struct sock* sk = (const struct sock*)ctx->skaddr;

  if (from == TCP_CLOSE && to == TCP_SYN_SENT) {  // connect(), in the caller's context
    struct stk_proc p = {};
    stk_current_proc(&p);
    bpf_map_update_elem(&stk_connecting, &skaddr, &p, BPF_ANY);
    return 0;
  }
  if (from == TCP_CLOSE && to == TCP_LISTEN) {  // listen(), in the caller's context
    struct stk_listen_key k = {.netns = stk_netns(sk), .port = ctx->sport};
    struct stk_proc p = {};
    stk_current_proc(&p);
    bpf_map_update_elem(&stk_listeners, &k, &p, BPF_ANY);
    return 0;
  }
  if (from == TCP_LISTEN && to == TCP_CLOSE) {
    struct stk_listen_key k = {.netns = stk_netns(sk), .port = ctx->sport};
    bpf_map_delete_elem(&stk_listeners, &k);
    return 0;
  }

  if (from == TCP_SYN_SENT && (to == TCP_ESTABLISHED || to == TCP_CLOSE)) {
    // The result arrives in softirq context: the caller is the one connect() recorded.
    struct stk_proc* p = bpf_map_lookup_elem(&stk_connecting, &skaddr);
    struct stk_event* e = stk_reserve();
    if (!e) {
      if (p) bpf_map_delete_elem(&stk_connecting, &skaddr);
      return 0;
    }
    fill_addrs(e, ctx, 1);
    e->direction = STK_DIR_OUTBOUND;
    e->netns = stk_netns(sk);
    if (to == TCP_ESTABLISHED) {
      e->outcome = STK_OUT_ESTABLISHED;
    } else {
      e->sk_err = BPF_CORE_READ(sk, sk_err);
      e->outcome = classify_failure(e->sk_err);
    }
    if (p) {
      stk_set_proc(e, p, 0);
      bpf_map_delete_elem(&stk_connecting, &skaddr);
    } else {
      stk_count(STK_CNT_NO_PROCESS);
      e->cgroup_id = stk_sock_cgroup(sk);
      if (e->cgroup_id) e->flags |= STK_F_CGROUP | STK_F_SOCKET;
    }
    stk_submit(e);
    return 0;
  }

  if (from == TCP_SYN_RECV && to == TCP_ESTABLISHED) {  // inbound, softirq context
    struct stk_event* e = stk_reserve();
    if (!e) return 0;
    fill_addrs(e, ctx, 0);
    e->direction = STK_DIR_INBOUND;
    e->outcome = STK_OUT_ACCEPTED;
    e->netns = stk_netns(sk);
    struct stk_listen_key k = {.netns = e->netns, .port = ctx->sport};
    struct stk_proc* p = bpf_map_lookup_elem(&stk_listeners, &k);
    if (p) stk_set_proc(e, p, 1);
    __u64 cg = stk_sock_cgroup(sk);  // the child inherits the listener's cgroup
    if (cg) {
      e->cgroup_id = cg;
      e->flags |= STK_F_CGROUP;
    }
    stk_submit(e);
    return 0;
  }

  if (to == TCP_CLOSE && from != TCP_SYN_SENT && from != TCP_SYN_RECV && from != TCP_LISTEN) {
    int err = BPF_CORE_READ(sk, sk_err);
    if (err != STK_ECONNRESET && err != STK_EPIPE) return 0;  // orderly or local close
    struct stk_event* e = stk_reserve();
    if (!e) return 0;
    e->netns = stk_netns(sk);
    struct stk_listen_key k = {.netns = e->netns, .port = ctx->sport};
    struct stk_proc* p = bpf_map_lookup_elem(&stk_listeners, &k);
    // A local port someone listens on: the connection came in.
    if (p)
      fill_addrs(e, ctx, 0);
    else
      fill_addrs(e, ctx, 1);
    e->direction = p ? STK_DIR_INBOUND : STK_DIR_OUTBOUND;
    e->outcome = STK_OUT_RESET;
    e->sk_err = err;
    if (p) stk_set_proc(e, p, 1);
    __u64 cg = stk_sock_cgroup(sk);
    if (cg) {
      e->cgroup_id = cg;
      e->flags |= STK_F_CGROUP;
    }
    stk_submit(e);
  }
  return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
