/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CO-RE readers for struct sock, shared by every hook flavour. */
#ifndef GP_SOCK_BPF_H
#define GP_SOCK_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#ifndef AF_INET
#define AF_INET		2
#endif
#ifndef AF_INET6
#define AF_INET6	10
#endif
#ifndef IPPROTO_TCP
#define IPPROTO_TCP	6
#endif

/*
 * sk_protocol was an 8-bit bitfield until 5.6, commit bf9765145b85
 * ("sock: Make sk_protocol a 16-bit value"); the probed bitfield read
 * relocates to either layout.
 */
static __always_inline __u16 gp_sk_protocol(const struct sock *sk)
{
	return (__u16)BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
}

static __always_inline __u32 gp_sk_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/* Fill local/remote address and port; returns the socket's family. */
static __always_inline __u16 gp_sk_addrs(const struct sock *sk, __u8 laddr[16],
					 __u8 raddr[16], __u16 *lport, __u16 *rport)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	if (family == AF_INET6) {
		BPF_CORE_READ_INTO((struct in6_addr *)laddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO((struct in6_addr *)raddr, sk, __sk_common.skc_v6_daddr);
	} else {
		BPF_CORE_READ_INTO((__u32 *)laddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)raddr, sk, __sk_common.skc_daddr);
	}
	*lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	/*
	 * A failed connect has already given its port back (inet_put_port()
	 * zeroes skc_num) by the time CLOSE is traced; inet_sport keeps it.
	 */
	if (!*lport)
		*lport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	*rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return family;
}

/* SO_EE_ORIGIN_* of include/uapi/linux/errqueue.h */
#define GP_EE_ORIGIN_ICMP	2
#define GP_EE_ORIGIN_ICMP6	3
/* Error-queue entries looked at: timestamps may sit before an ICMP error. */
#define GP_ERRQ_SCAN		4

/*
 * Why a connect ended, as an errno (0: no error seen). sk_err when the
 * kernel ended it. sk_err_soft when the owner closed after an ICMP error
 * that arrived while it held the socket lock (tcp_v4_err() only notes those
 * there). getsockopt(SO_ERROR) takes and clears either, and non-blocking
 * clients read it before they close. The ICMP error ip_icmp_error() queued
 * on sk_error_queue (6.18 does so without IP_RECVERR too: that wakes the
 * poller with POLLERR) stays until the socket is freed.
 */
static __always_inline int gp_sk_conn_err(const struct sock *sk)
{
	const struct sk_buff *skb;
	__u32 i, qlen;
	int err = BPF_CORE_READ(sk, sk_err);

	if (!err)
		err = BPF_CORE_READ(sk, sk_err_soft);
	if (err)
		return err;
	qlen = BPF_CORE_READ(sk, sk_error_queue.qlen);
	skb = BPF_CORE_READ(sk, sk_error_queue.next);
	for (i = 0; i < GP_ERRQ_SCAN && i < qlen && skb; i++) {
		const struct sock_exterr_skb *x = (const void *)skb->cb;
		__u8 origin = BPF_CORE_READ(x, ee.ee_origin);

		if (origin == GP_EE_ORIGIN_ICMP || origin == GP_EE_ORIGIN_ICMP6)
			return BPF_CORE_READ(x, ee.ee_errno);
		skb = BPF_CORE_READ(skb, next);
	}
	return 0;
}

#endif /* GP_SOCK_BPF_H */
