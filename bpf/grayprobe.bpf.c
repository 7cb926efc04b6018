// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Connect latency: a start stamp when a socket begins connecting, an event
 * when it leaves SYN_SENT. The loader loads exactly one start hook and one
 * state hook of the flavours below, whichever this kernel really attaches.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "grayprobe.h"
#include "sock.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader before load. */
const volatile __u32 target_netns = 0;		/* 0: every namespace */
const volatile __u8 start_from_state = 0;	/* CLOSE->SYN_SENT is the start */

struct conn_start {
	__u64 ts_ns;
	__u32 pid;
	char comm[GP_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GP_TRACK_MAX);
	__type(key, __u64);	/* struct sock * */
	__type(value, struct conn_start);
} gp_starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, GP_RINGBUF_KB_DEFAULT * 1024);
} gp_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GP_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} gp_stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&gp_stats, &idx);

	if (v)
		*v += 1;
}

/* Runs in the connect() caller's context, so pid and comm are the caller's. */
static __always_inline void track_start(const struct sock *sk)
{
	struct conn_start st = {};
	__u64 key = (__u64)sk;

	if (target_netns && gp_sk_netns(sk) != target_netns)
		return;
	st.ts_ns = bpf_ktime_get_ns();
	st.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(st.comm, sizeof(st.comm));
	if (bpf_map_update_elem(&gp_starts, &key, &st, BPF_ANY))
		stat_inc(GP_STAT_LOST_TRACK);
}

static __always_inline void on_state(const struct sock *sk, int oldstate, int newstate)
{
	struct gp_conn_event *e;
	struct conn_start *st;
	__u64 key = (__u64)sk;

	if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT) {
		if (start_from_state)
			track_start(sk);
		return;
	}
	if (oldstate != TCP_SYN_SENT ||
	    (newstate != TCP_ESTABLISHED && newstate != TCP_CLOSE))
		return;

	st = bpf_map_lookup_elem(&gp_starts, &key);
	if (!st)
		return;	/* began before we attached, or another netns */

	e = bpf_ringbuf_reserve(&gp_events, sizeof(*e), 0);
	if (!e) {
		stat_inc(GP_STAT_LOST_RINGBUF);
		bpf_map_delete_elem(&gp_starts, &key);
		return;
	}
	e->type = GP_EV_CONN;
	e->ts_ns = bpf_ktime_get_ns();
	e->latency_ns = e->ts_ns - st->ts_ns;
	e->pid = st->pid;
	__builtin_memcpy(e->comm, st->comm, sizeof(e->comm));
	e->family = gp_sk_addrs(sk, e->saddr, e->daddr, &e->sport, &e->dport);
	e->netns = gp_sk_netns(sk);
	e->sk_err = BPF_CORE_READ(sk, sk_err);
	e->direction = GP_DIR_OUTBOUND;
	e->new_state = newstate;
	bpf_ringbuf_submit(e, 0);
	bpf_map_delete_elem(&gp_starts, &key);
}

SEC("fentry/tcp_connect")
int BPF_PROG(gp_conn_fentry, struct sock *sk)
{
	track_start(sk);
	return 0;
}

SEC("kprobe/tcp_connect")
int BPF_KPROBE(gp_conn_kprobe, struct sock *sk)
{
	track_start(sk);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(gp_state_btf, const struct sock *sk, int oldstate, int newstate)
{
	if (gp_sk_protocol(sk) == IPPROTO_TCP)
		on_state(sk, oldstate, newstate);
	return 0;
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(gp_state_raw, const struct sock *sk, int oldstate, int newstate)
{
	if (gp_sk_protocol(sk) == IPPROTO_TCP)
		on_state(sk, oldstate, newstate);
	return 0;
}

SEC("tracepoint/sock/inet_sock_set_state")
int gp_state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol == IPPROTO_TCP)
		on_state(ctx->skaddr, ctx->oldstate, ctx->newstate);
	return 0;
}
