// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmark producer for the agent's ring buffer: each BPF_PROG_TEST_RUN
 * of `produce` writes `batch` connection-outcome records (struct
 * gp_conn_event, exactly as the agent's own hooks write them) into
 * gp_events, which ringfeed points at the running agent's ring buffer
 * before loading. Reserve failures (ring full: the agent fell behind) are
 * counted in `failed`, never retried.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "grayprobe.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);	/* replaced by the agent's map */
} gp_events SEC(".maps");

__u32 batch = 0;		/* set by ringfeed before each run */
__u64 produced = 0;
__u64 failed = 0;
__u64 seq = 0;

static long one(__u64 i, void *ctx)
{
	struct gp_conn_event *e = bpf_ringbuf_reserve(&gp_events, sizeof(*e), 0);
	__u64 n = seq++;

	if (!e) {
		failed++;
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = GP_EV_CONN;
	e->pid = 4242;
	e->ts_ns = bpf_ktime_get_ns();
	/* 20 us .. 2 ms: outcomes spread over ~30 histogram buckets. */
	e->latency_ns = 20000 + (n * 7919) % 2000000;
	e->saddr[0] = 198;
	e->saddr[1] = 18;
	e->saddr[2] = 0;
	e->saddr[3] = 1;
	e->daddr[0] = 198;
	e->daddr[1] = 18;
	e->daddr[2] = (n >> 8) & 0xff;
	e->daddr[3] = n & 0xff;
	e->netns = 4026531840u;
	e->sport = 32768 + (n % 28000);
	e->dport = 443;
	e->family = 2;			/* AF_INET */
	e->direction = GP_DIR_OUTBOUND;
	/* One in 16 refused (RST in SYN_SENT), the rest established. */
	if ((n & 15) == 15) {
		e->new_state = 7;	/* TCP_CLOSE */
		e->sk_err = 111;	/* ECONNREFUSED */
	} else {
		e->new_state = 1;	/* TCP_ESTABLISHED */
	}
	__builtin_memcpy(e->comm, "ringfeed", 9);
	bpf_ringbuf_submit(e, 0);
	produced++;
	return 0;
}

SEC("syscall")
int produce(void *ctx)
{
	bpf_loop(batch, one, NULL, 0);
	return 0;
}
