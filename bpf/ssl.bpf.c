// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TLS plaintext from OpenSSL (GP_EV_TLS). A uprobe on SSL_read/SSL_write
 * (and the _ex forms) notes the call's buffer per thread; its uretprobe
 * copies what the call returned. The session (SSL * in a process) is
 * joined to its TCP flow by the socket the same thread sends or receives on
 * inside the call (sock_send_length / sock_recv_length, Linux 6.3's
 * 6e6eda44b939): the socket's tuple finds the classifier's gp_flows entry,
 * which says which end is the client and holds the client's ISN. A call
 * that needs no syscall (bytes already decrypted and buffered) uses what the
 * session last learned. Loaded by the loader after grayprobe.bpf.c, whose
 * gp_events, gp_flows and gp_stats it shares (bpf_map__reuse_fd).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "grayprobe.h"
#include "sock.bpf.h"
#include "flow.bpf.h"
#include "maps.bpf.h"

/* BPF_KPROBE/BPF_KRETPROBE read a uprobe's registers the same way (libbpf 1.1 has no BPF_UPROBE). */

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader before load. */
const volatile __u32 target_netns = 0;		/* 0: every namespace */

/* Threads inside a read or write call at once; past it, the call is not seen. */
#define SSL_CALLS_MAX	16384

/* What a socket said of a session: its flow as gp_tls_event carries it. */
struct ssl_join {
	struct gp_flow_tuple flow;
	__u64 sk;		/* the socket; 0: none seen */
	__u32 isn;
	__u8 joined;		/* GP_TLS_F_JOINED */
	__u8 side;		/* joined: 0 client, 1 server */
	__u8 foreign;		/* another network namespace than target_netns */
	__u8 _pad;
};

/* A call between its uprobe and its uretprobe, per thread. */
struct ssl_call {
	__u64 sess;
	__u64 buf;
	__u64 outlen;		/* _ex: where the library stores the byte count */
	__u8 local;		/* 0 a write, 1 a read */
	__u8 _pad[7];
	struct ssl_join j;	/* sk 0: no syscall seen in this call */
};

struct ssl_sess_key {
	__u32 tgid;
	__u32 _pad;
	__u64 sess;
};

struct ssl_sess {
	struct ssl_join j;
	__u64 off[2];		/* bytes so far, written and read */
	__u8 first[2];		/* the next record of the direction is its first */
	__u8 _pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SSL_CALLS_MAX);
	__type(key, __u64);	/* pid_tgid */
	__type(value, struct ssl_call);
} gp_ssl_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, GP_TLS_SESS_MAX);
	__type(key, struct ssl_sess_key);
	__type(value, struct ssl_sess);
} gp_ssl_sess SEC(".maps");

struct ssl_buf {
	struct gp_tls_event hdr;
	__u8 data[GP_TLS_DATA_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ssl_buf);
} gp_ssl_buf SEC(".maps");

static __always_inline int call_in(void *sess, const void *buf, void *outlen, __u8 local)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ssl_call c = {
		.sess = (__u64)sess, .buf = (__u64)buf, .outlen = (__u64)outlen, .local = local,
	};

	bpf_map_update_elem(&gp_ssl_calls, &id, &c, BPF_ANY);
	return 0;
}

/* The socket's tuple, client -> server when TC knows the flow. */
static __noinline int learn_sock(struct ssl_join *j, const struct sock *sk)
{
	struct gp_flow_key k = {};
	struct gp_flow_val *v;
	__u8 l[16] = {}, r[16] = {}, li;
	__u16 lp, rp, family;

	if (!sk)
		return 0;
	j->sk = (__u64)sk;
	j->foreign = target_netns && gp_sk_netns(sk) != target_netns;
	family = gp_sk_addrs(sk, l, r, &lp, &rp);
	family = unmap_v4(family, l, r);
	li = flow_key(&k, family, l, lp, r, rp);
	v = bpf_map_lookup_elem(&gp_flows, &k);
	j->flow.family = family;
	j->flow._pad = 0;
	j->joined = v && v->isn;
	j->side = j->joined && v->client != li;
	j->isn = j->joined ? v->isn : 0;
	if (j->side) {
		__builtin_memcpy(j->flow.saddr, r, 16);
		__builtin_memcpy(j->flow.daddr, l, 16);
		j->flow.sport = rp;
		j->flow.dport = lp;
	} else {
		__builtin_memcpy(j->flow.saddr, l, 16);
		__builtin_memcpy(j->flow.daddr, r, 16);
		j->flow.sport = lp;
		j->flow.dport = rp;
	}
	return 0;
}

static __always_inline int sock_seen(const struct sock *sk)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ssl_call *c = bpf_map_lookup_elem(&gp_ssl_calls, &id);

	if (c && c->j.sk != (__u64)sk)
		learn_sock(&c->j, sk);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(gp_ssl_sock_send, struct sock *sk, int ret, int flags)
{
	return sock_seen(sk);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(gp_ssl_sock_recv, struct sock *sk, int ret, int flags)
{
	return sock_seen(sk);
}

/*
 * The session, made or brought up to date by what call c learned; a new
 * socket (the SSL * reused, or joined late) starts the session afresh.
 */
static __always_inline struct ssl_sess *sess_of(const struct ssl_call *c, struct ssl_sess_key *k)
{
	struct ssl_sess *s, ns = {};

	k->tgid = bpf_get_current_pid_tgid() >> 32;
	k->_pad = 0;
	k->sess = c->sess;
	s = bpf_map_lookup_elem(&gp_ssl_sess, k);
	if (s && (!c->j.sk || (c->j.sk == s->j.sk && c->j.joined == s->j.joined)))
		return s;
	ns.j = c->j;
	ns.first[0] = ns.first[1] = 1;
	if (bpf_map_update_elem(&gp_ssl_sess, k, &ns, BPF_ANY))
		return NULL;
	return bpf_map_lookup_elem(&gp_ssl_sess, k);
}

/* Record n bytes the call moved; its first GP_TLS_DATA_MAX are copied. */
static __noinline int emit(const struct ssl_call *c, __u64 n)
{
	struct ssl_sess_key k;
	struct ssl_sess *s = sess_of(c, &k);
	__u32 zero = 0, len;
	struct ssl_buf *b;
	__u8 ld = c->local & 1;

	if (!s || s->j.foreign)
		return 0;
	stat_inc(GP_STAT_TLS_CALLS);
	if (!s->j.joined) {
		stat_inc(GP_STAT_TLS_NO_FLOW);
		return 0;
	}
	b = bpf_map_lookup_elem(&gp_ssl_buf, &zero);
	if (!b)
		return 0;
	len = n < GP_TLS_DATA_MAX ? n : GP_TLS_DATA_MAX;
	b->hdr.type = GP_EV_TLS;
	b->hdr.pid = k.tgid;
	b->hdr.ts_ns = bpf_ktime_get_ns();
	b->hdr.flow = s->j.flow;
	b->hdr.isn = s->j.isn;
	b->hdr.sess = c->sess;
	b->hdr.off = s->off[ld];
	b->hdr.total = n;
	b->hdr.dir = ld ^ s->j.side;
	b->hdr.side = s->j.side;
	b->hdr.source = GP_TLS_SRC_OPENSSL;
	b->hdr.flags = GP_TLS_F_JOINED | (s->first[ld] ? GP_TLS_F_FIRST : 0);
	s->off[ld] += n;
	s->first[ld] = 0;
	if (bpf_probe_read_user(b->data, len, (const void *)c->buf))
		len = 0;
	b->hdr.len = len;
	if (bpf_ringbuf_output(&gp_events, b, sizeof(b->hdr) + len, rb_flags()))
		stat_inc(GP_STAT_TLS_LOST);
	return 0;
}

/* ex: the byte count is at c->outlen when the call returned 1. */
static __always_inline int call_out(long ret, int ex)
{
	__u64 id = bpf_get_current_pid_tgid(), n = 0;
	struct ssl_call *c = bpf_map_lookup_elem(&gp_ssl_calls, &id);

	if (!c)
		return 0;
	if (ex) {
		if (ret == 1 && bpf_probe_read_user(&n, sizeof(n), (const void *)c->outlen))
			n = 0;
	} else if (ret > 0) {
		n = ret;
	}
	if (n && n <= 0x7fffffff)
		emit(c, n);
	bpf_map_delete_elem(&gp_ssl_calls, &id);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(gp_ssl_write_in, void *ssl, const void *buf, int num)
{
	return call_in(ssl, buf, NULL, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(gp_ssl_write_out, int ret)
{
	return call_out(ret, 0);
}

SEC("uprobe")
int BPF_KPROBE(gp_ssl_read_in, void *ssl, void *buf, int num)
{
	return call_in(ssl, buf, NULL, 1);
}

SEC("uretprobe")
int BPF_KRETPROBE(gp_ssl_read_out, int ret)
{
	return call_out(ret, 0);
}

SEC("uprobe")
int BPF_KPROBE(gp_ssl_write_ex_in, void *ssl, const void *buf, size_t num, size_t *written)
{
	return call_in(ssl, buf, written, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(gp_ssl_write_ex_out, int ret)
{
	return call_out(ret, 1);
}

SEC("uprobe")
int BPF_KPROBE(gp_ssl_read_ex_in, void *ssl, void *buf, size_t num, size_t *readbytes)
{
	return call_in(ssl, buf, readbytes, 1);
}

SEC("uretprobe")
int BPF_KRETPROBE(gp_ssl_read_ex_out, int ret)
{
	return call_out(ret, 1);
}

/* The session ends here: an SSL * reused by malloc must not inherit it. */
SEC("uprobe")
int BPF_KPROBE(gp_ssl_free, void *ssl)
{
	struct ssl_sess_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .sess = (__u64)ssl };
	struct ssl_sess *s = bpf_map_lookup_elem(&gp_ssl_sess, &k);
	struct gp_tls_event *e;

	if (!s)
		return 0;
	/* Only a session whose records were sent has an end to tell. */
	e = s->j.foreign || !s->j.joined ? NULL : bpf_ringbuf_reserve(&gp_events, sizeof(*e), 0);
	if (e) {
		__builtin_memset(e, 0, sizeof(*e));
		e->type = GP_EV_TLS;
		e->pid = k.tgid;
		e->ts_ns = bpf_ktime_get_ns();
		e->flow = s->j.flow;
		e->isn = s->j.isn;
		e->sess = k.sess;
		e->side = s->j.side;
		e->source = GP_TLS_SRC_OPENSSL;
		e->flags = GP_TLS_F_CLOSE | (s->j.joined ? GP_TLS_F_JOINED : 0);
		bpf_ringbuf_submit(e, rb_flags());
	} else if (!s->j.foreign && s->j.joined) {
		stat_inc(GP_STAT_TLS_LOST);
	}
	bpf_map_delete_elem(&gp_ssl_sess, &k);
	return 0;
}
