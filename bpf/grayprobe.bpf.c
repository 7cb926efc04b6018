// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Connect latency: a start stamp when a socket begins connecting, an event
 * when it leaves SYN_SENT. The loader loads exactly one start hook and one
 * state hook of the flavours below, whichever this kernel really attaches.
 *
 * Flows: a TC classifier notes each TCP SYN in gp_flows, counts payload
 * bytes per flow and copies the client's first bytes (a ClientHello or a
 * request head, up to GP_FIRST_PAYLOAD_MAX) to user space, which reassembles
 * and classifies them. A passive open's SYN time there gives inbound latency.
 * For HTTP flows it forwards request-level units both ways: bpf/l7.bpf.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "grayprobe.h"
#include "sock.bpf.h"
#include "pkt.bpf.h"
#include "flow.bpf.h"
#include "maps.bpf.h"

#define TC_ACT_UNSPEC	(-1)	/* tcx: TCX_NEXT; clsact: go on to the next filter */

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader before load. */
const volatile __u32 target_netns = 0;		/* 0: every namespace */
/*
 * CLOSE->SYN_SENT is the start. Set after load, before the state hook
 * attaches: whether a loaded kprobe attaches is only known then, and
 * probing it in an object of its own would parse the kernel's BTF again.
 */
volatile __u8 start_from_state = 0;
/* Flows whose SYN was not seen: enum gp_adopt. */
const volatile __u8 adopt_midstream = GP_ADOPT_NONE;

struct conn_start {
	__u64 ts_ns;
	__u32 pid;
	char comm[GP_COMM_LEN];
	__u8 simopen;	/* SYN_SENT -> SYN_RECV seen: a simultaneous open */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GP_TRACK_MAX);
	__type(key, __u64);	/* struct sock * */
	__type(value, struct conn_start);
} gp_starts SEC(".maps");

/*
 * Twice the largest copy: the length reaches bpf_skb_load_bytes() through a
 * mask (see flow_record), whose bound is the next power of two.
 */
struct payload_buf {
	union {
		struct gp_payload_event hdr;
		struct gp_l7_event l7;	/* same size: data follows either */
	};
	__u8 data[GP_FIRST_PAYLOAD_MAX * 2];
	/*
	 * The HTTP walkers' arguments and state: global functions take
	 * scalars only (see bpf/l7.bpf.h).
	 */
	struct {
		struct gp_flow_key key;
		struct gp_flow_tuple flow;	/* client -> server */
		__u32 isn, s, e, poff;
		__u8 dir;
		__u8 _pad[3];
	} seg;
	struct gp_l7_h1 scan;
	struct gp_flow_val nv;	/* a new flow entry: see flow_new() */
	__u8 tls_hdr[9];	/* tls_walk(): a record header, with a handshake's */
};

/* Staging for variable-size records: bpf_ringbuf_reserve() wants a constant size. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct payload_buf);
} gp_payload_buf SEC(".maps");

/* The flow's tuple, client -> server, from packet p sent by the server when reverse. */
static __always_inline void flow_tuple(struct gp_flow_tuple *t, const struct pkt *p, int reverse)
{
	t->family = p->family;
	t->_pad = 0;
	if (reverse) {
		__builtin_memcpy(t->saddr, p->daddr, 16);
		__builtin_memcpy(t->daddr, p->saddr, 16);
		t->sport = p->dport;
		t->dport = p->sport;
	} else {
		__builtin_memcpy(t->saddr, p->saddr, 16);
		__builtin_memcpy(t->daddr, p->daddr, 16);
		t->sport = p->sport;
		t->dport = p->dport;
	}
}

#include "l7.bpf.h"

/* The flow entry TC made for a socket's connection, client being caddr. */
static __always_inline struct gp_flow_val *sock_flow(__u16 family, const __u8 *caddr, __u16 cport,
						      const __u8 *saddr, __u16 sport)
{
	struct gp_flow_key k = {};
	__u8 a[16], b[16], c;
	struct gp_flow_val *v;

	__builtin_memcpy(a, caddr, 16);
	__builtin_memcpy(b, saddr, 16);
	family = unmap_v4(family, a, b);
	c = flow_key(&k, family, a, cport, b, sport);
	v = bpf_map_lookup_elem(&gp_flows, &k);
	return v && v->client == c ? v : NULL;
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

/* Passive open done: SYN seen at TC -> ESTABLISHED. */
static __always_inline void on_passive_established(const struct sock *sk)
{
	struct gp_conn_event *e;
	struct gp_flow_val *v;
	__u8 laddr[16] = {}, raddr[16] = {};
	__u16 lport, rport, family;
	__u32 netns = gp_sk_netns(sk);

	if (target_netns && netns != target_netns)
		return;
	family = gp_sk_addrs(sk, laddr, raddr, &lport, &rport);
	v = sock_flow(family, raddr, rport, laddr, lport);
	if (!v || !v->syn_ts || v->inbound_done)
		return;
	v->inbound_done = 1;
	e = bpf_ringbuf_reserve(&gp_events, sizeof(*e), 0);
	if (!e) {
		stat_inc(GP_STAT_LOST_RINGBUF);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = GP_EV_CONN;
	e->ts_ns = bpf_ktime_get_ns();
	e->latency_ns = e->ts_ns - v->syn_ts;
	__builtin_memcpy(e->saddr, raddr, 16);
	__builtin_memcpy(e->daddr, laddr, 16);
	e->sport = rport;
	e->dport = lport;
	e->family = family;
	e->netns = netns;
	e->direction = GP_DIR_INBOUND;
	e->new_state = TCP_ESTABLISHED;
	e->flags = GP_CONN_F_FLOW;
	e->flow_isn = v->isn;
	bpf_ringbuf_submit(e, rb_flags());
}

/*
 * check_proto: the hook does not know the protocol yet. Only transitions out
 * of SYN_SENT or SYN_RECV (and CLOSE->SYN_SENT as a start) matter; testing
 * them before the protocol spares its probe read on every other change.
 */
static __always_inline void on_state(const struct sock *sk, int oldstate, int newstate,
				     int check_proto)
{
	struct gp_conn_event *e;
	struct conn_start *st;
	__u64 key = (__u64)sk;

	if (oldstate != TCP_SYN_SENT && oldstate != TCP_SYN_RECV &&
	    !(oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT && start_from_state))
		return;
	if (check_proto && gp_sk_protocol(sk) != IPPROTO_TCP)
		return;

	/*
	 * Simultaneous open (the peer answered our SYN with a bare SYN, or a
	 * self-connect): SYN_SENT -> SYN_RECV -> ESTABLISHED, or else. The
	 * attempt is still ours, and ends when SYN_RECV does.
	 */
	if (oldstate == TCP_SYN_SENT && newstate == TCP_SYN_RECV) {
		st = bpf_map_lookup_elem(&gp_starts, &key);
		if (st)
			st->simopen = 1;
		return;
	}
	if (oldstate == TCP_SYN_RECV) {
		st = bpf_map_lookup_elem(&gp_starts, &key);
		if (st && st->simopen) {
			oldstate = TCP_SYN_SENT;
			if (newstate != TCP_ESTABLISHED)
				newstate = TCP_CLOSE;
		}
	}
	if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED) {
		on_passive_established(sk);
		return;
	}
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
	e->sk_err = newstate == TCP_CLOSE ? gp_sk_conn_err(sk) : BPF_CORE_READ(sk, sk_err);
	e->direction = GP_DIR_OUTBOUND;
	e->new_state = newstate;
	e->flags = 0;
	e->flow_isn = 0;
	if (newstate == TCP_ESTABLISHED) {
		struct gp_flow_val *v = sock_flow(e->family, e->saddr, e->sport, e->daddr, e->dport);

		if (v) {
			e->flags = GP_CONN_F_FLOW;
			e->flow_isn = v->isn;
		}
	}
	bpf_ringbuf_submit(e, rb_flags());
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
	on_state(sk, oldstate, newstate, 1);
	return 0;
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(gp_state_raw, const struct sock *sk, int oldstate, int newstate)
{
	on_state(sk, oldstate, newstate, 1);
	return 0;
}

SEC("tracepoint/sock/inet_sock_set_state")
int gp_state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol == IPPROTO_TCP)
		on_state(ctx->skaddr, ctx->oldstate, ctx->newstate, 0);
	return 0;
}

/* A payload or end record for flow v, seen in packet p; data from the skb. */
static __always_inline void flow_record(struct __sk_buff *skb, const struct pkt *p,
					struct gp_flow_val *v, __u8 sender, __u32 type,
					__u32 off, __u64 n)
{
	struct payload_buf *b;
	__u32 zero = 0;
	__u64 m, size = sizeof(b->hdr);

	b = bpf_map_lookup_elem(&gp_payload_buf, &zero);
	if (!b)
		return;
	b->hdr.type = type;
	b->hdr.ifindex = skb->ifindex;
	b->hdr.ts_ns = bpf_ktime_get_ns();
	flow_tuple(&b->hdr.flow, p, sender != v->client);
	b->hdr.off = off;
	b->hdr.bytes = v->bytes;
	b->hdr.isn = v->isn;
	b->hdr._pad = 0;
	b->hdr.len = 0;
	if (n) {
		if (n > GP_FIRST_PAYLOAD_MAX)
			return;
		/*
		 * clang checks a zero-extended copy of n and passes the
		 * original, whose bounds the verifier then does not know; a
		 * mask it cannot drop bounds the register that is passed.
		 */
		m = n - 1;
		asm volatile("%[m] &= %[mask]" : [m] "+r"(m) : [mask] "i"(GP_FIRST_PAYLOAD_MAX * 2 - 1));
		if (bpf_skb_load_bytes(skb, p->payload_off, b->data, m + 1)) {
			stat_inc(GP_STAT_PKT_MALFORMED);
			return;
		}
		b->hdr.len = n;
		size += m + 1;
	}
	if (bpf_ringbuf_output(&gp_events, b, size, rb_flags()))
		stat_inc(GP_STAT_LOST_PAYLOAD);
}

/* v->cap raised to at least cap, within what user space keeps. */
static __always_inline void cap_at_least(struct gp_flow_val *v, __u32 cap)
{
	if (cap > GP_FIRST_PAYLOAD_MAX)
		cap = GP_FIRST_PAYLOAD_MAX;
	if (cap > v->cap)
		v->cap = cap;
}

/*
 * The client's TLS records, before its segment [off, off + held) is
 * captured. A ClientHello at offset 0 bounds the capture by its own length
 * (the client then waits for the server), this segment's included; from
 * there each record header
 * in the segment moves the capture past the next one, until the first
 * application-data (23) header is in: the handshake's end, for user space
 * to time. A header split across segments, or more than GP_TLS_WALK_MAX in
 * one, ends the walk where it is.
 */
static __always_inline void tls_walk(struct __sk_buff *skb, const struct pkt *p,
				     struct gp_flow_val *v, __u32 off, __u32 held)
{
	struct payload_buf *b;
	__u32 zero = 0, next, i;
	__u8 *h;

	if (v->tls_walk == GP_TLS_WALK_OFF || (v->tls_walk == GP_TLS_WALK_UNSEEN && off))
		return;
	b = bpf_map_lookup_elem(&gp_payload_buf, &zero);
	if (!b)
		return;
	h = b->tls_hdr;
	if (v->tls_walk == GP_TLS_WALK_UNSEEN) {
		/* Too short to tell: a retransmission may say more. */
		if (held < 9 || bpf_skb_load_bytes(skb, p->payload_off, h, 9))
			return;
		v->tls_walk = GP_TLS_WALK_OFF;
		if (h[0] != 0x16 || h[5] != 0x01)
			return;
		v->cap = 0;
		cap_at_least(v, 9 + ((h[6] << 16) | (h[7] << 8) | h[8]) + GP_TLS_RECORD_SLACK);
		v->tls_walk = GP_TLS_WALK_ON;
		v->tls_next = 0;
	}
	next = v->tls_next;
	for (i = 0; i < GP_TLS_WALK_MAX; i++) {
		if (next < off || next - off + 5 > held ||
		    bpf_skb_load_bytes(skb, p->payload_off + (next - off), h, 5))
			break;
		if (h[0] == 23 || h[1] != 3) {
			v->tls_walk = GP_TLS_WALK_OFF;
			break;
		}
		next += 5 + ((h[3] << 8) | h[4]);
	}
	v->tls_next = next;
	cap_at_least(v, next + 5);
}

/*
 * A flow entry, made in the staging buffer: 160 bytes on the stack would
 * leave the HTTP walkers' calls too little of the 512 the verifier allows
 * a call chain. syn_ts 0: adopted mid-stream.
 */
static __always_inline void flow_new(struct __sk_buff *skb, const struct gp_flow_key *k, __u32 isn,
				     __u8 sender, __u64 syn_ts, __u64 how)
{
	struct payload_buf *b;
	struct gp_flow_val *nv;
	__u32 zero = 0;

	b = bpf_map_lookup_elem(&gp_payload_buf, &zero);
	if (!b)
		return;
	nv = &b->nv;
	__builtin_memset(nv, 0, sizeof(*nv));
	nv->syn_ts = syn_ts;
	nv->isn = isn;
	nv->cap = syn_ts || adopt_midstream == GP_ADOPT_ALL ? GP_FIRST_PAYLOAD_MAX : 0;
	nv->client = sender;
	nv->ifindex = skb->ifindex;
	nv->l7[0].isn = isn;
	nv->l7[0].mode = syn_ts ? L7M_WAIT : L7M_MID;
	nv->l7[1].mode = syn_ts ? L7M_NOISN : L7M_MID;
	bpf_map_update_elem(&gp_flows, k, nv, how);
}

static __always_inline void on_packet(struct __sk_buff *skb, const struct pkt *p)
{
	struct gp_flow_key k;	/* every byte set by flow_key(): no memset per packet */
	struct gp_flow_val *v;
	int syn = (p->flags & (TCP_FL_SYN | TCP_FL_ACK)) == TCP_FL_SYN;
	__u8 sender = flow_key(&k, p->family, p->saddr, p->sport, p->daddr, p->dport);
	__u32 off, n;

	v = bpf_map_lookup_elem(&gp_flows, &k);
	if (syn && (!v || v->isn != p->seq || v->client != sender)) {
		/* A new connection (or a reused 4-tuple); a retransmitted SYN keeps its time. */
		flow_new(skb, &k, p->seq, sender, bpf_ktime_get_ns(), BPF_ANY);
		if (!p->payload_len)
			return;
		v = bpf_map_lookup_elem(&gp_flows, &k);
	} else if (!v) {
		if (!adopt_midstream || !p->payload_len || (p->flags & TCP_FL_SYN) ||
		    (adopt_midstream == GP_ADOPT_HTTP && !l7_joinable(skb, p->payload_off)))
			return;
		flow_new(skb, &k, p->seq - 1, sender, 0, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&gp_flows, &k);
	}
	if (!v)
		return;
	/* The SYN-ACK gives the server direction its offsets. */
	if ((p->flags & (TCP_FL_SYN | TCP_FL_ACK)) == (TCP_FL_SYN | TCP_FL_ACK) &&
	    sender != v->client && v->l7[1].mode == L7M_NOISN) {
		v->l7[1].isn = p->seq;
		v->l7[1].mode = L7M_WAIT;
	}

	if (p->payload_len) {
		/*
		 * Bytes the packet really holds: an IP length that lies (the
		 * stack drops the packet later) or a capture cut short by its
		 * snap length must not inflate the count or the copy.
		 */
		__u32 held = skb->len > p->payload_off ? skb->len - p->payload_off : 0;

		if (held > p->payload_len)
			held = p->payload_len;
		if (skb->ifindex == v->ifindex)
			__sync_fetch_and_add(&v->bytes, held);
		/* Payload in a SYN (TFO) starts right after the ISN all the same. */
		off = p->seq - v->isn - !(p->flags & TCP_FL_SYN);
		if (sender == v->client && v->segs < GP_CAPTURE_SEGS_MAX)
			tls_walk(skb, p, v, off, held);
		if (sender == v->client && off < v->cap && v->segs < GP_CAPTURE_SEGS_MAX) {
			n = v->cap - off;
			if (n > held)
				n = held;
			v->segs++;
			if (n)
				flow_record(skb, p, v, sender, GP_EV_PAYLOAD, off, n);
		}
		l7_packet(skb, p, &k, v, sender, held);
	}
	if (p->flags & (TCP_FL_FIN | TCP_FL_RST))
		l7_flow_end(skb, p, &k, v, sender);
	if ((p->flags & (TCP_FL_FIN | TCP_FL_RST)) && !v->ended) {
		v->ended = 1;
		flow_record(skb, p, v, sender, GP_EV_FLOW_END, 0, 0);
	}
}

SEC("tc")
int gp_tc(struct __sk_buff *skb)
{
	struct pkt p = {};	/* IPv4 fills 4 of the 16 address bytes: the rest must be 0 */
	int ret;

	ret = parse_pkt(skb, &p);
	if (ret == PKT_SHORT) {
		/* Headers in paged data: make them linear once, then look again. */
		if (bpf_skb_pull_data(skb, skb->len < 256 ? skb->len : 256))
			return TC_ACT_UNSPEC;
		ret = parse_pkt(skb, &p);
	}
	if (ret == PKT_TCP)
		on_packet(skb, &p);
	else if (ret != PKT_OTHER)
		stat_inc(GP_STAT_PKT_MALFORMED);
	return TC_ACT_UNSPEC;
}
