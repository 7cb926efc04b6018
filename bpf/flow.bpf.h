/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The gp_flows key, built the same way by the classifier and the socket hooks. */
#ifndef GP_FLOW_BPF_H
#define GP_FLOW_BPF_H

#include "sock.bpf.h"

#include <bpf/bpf_endian.h>

/* 0 when (a, pa) sorts before (b, pb): the order gp_flow_key documents. */
static __always_inline int endpoint_after(const __u8 *a, __u16 pa, const __u8 *b, __u16 pb)
{
	__u64 a0, a1, b0, b1;

	__builtin_memcpy(&a0, a, 8);
	__builtin_memcpy(&a1, a + 8, 8);
	__builtin_memcpy(&b0, b, 8);
	__builtin_memcpy(&b1, b + 8, 8);
	if (a0 != b0)
		return a0 > b0;
	if (a1 != b1)
		return a1 > b1;
	return pa > pb;
}

/*
 * Fills the key from endpoints x and y; returns x's index in it. Branches,
 * not addr[idx]: the verifier refuses the pointer arithmetic clang makes of
 * a variable index into a stack array.
 */
static __always_inline __u8 flow_key(struct gp_flow_key *k, __u16 family, const __u8 *x,
				     __u16 px, const __u8 *y, __u16 py)
{
	__u8 swap = endpoint_after(x, px, y, py);

	k->family = family;
	k->_pad = 0;
	if (swap) {
		__builtin_memcpy(k->addr[0], y, 16);
		__builtin_memcpy(k->addr[1], x, 16);
		k->port[0] = py;
		k->port[1] = px;
	} else {
		__builtin_memcpy(k->addr[0], x, 16);
		__builtin_memcpy(k->addr[1], y, 16);
		k->port[0] = px;
		k->port[1] = py;
	}
	return swap;
}

/*
 * TC sees a dual-stack socket's IPv4 peer as IPv4; the socket holds it as
 * v4-mapped IPv6. The key uses what the wire has.
 */
static __always_inline __u16 unmap_v4(__u16 family, __u8 a[16], __u8 b[16])
{
	__u32 w0, w1, w2, v0, v1, v2;

	if (family != AF_INET6)
		return family;
	__builtin_memcpy(&w0, a, 4);
	__builtin_memcpy(&w1, a + 4, 4);
	__builtin_memcpy(&w2, a + 8, 4);
	__builtin_memcpy(&v0, b, 4);
	__builtin_memcpy(&v1, b + 4, 4);
	__builtin_memcpy(&v2, b + 8, 4);
	if (w0 || w1 || w2 != bpf_htonl(0xffff) || v0 || v1 || v2 != bpf_htonl(0xffff))
		return family;
	__builtin_memcpy(a, a + 12, 4);
	__builtin_memcpy(b, b + 12, 4);
	__builtin_memset(a + 4, 0, 12);
	__builtin_memset(b + 4, 0, 12);
	return AF_INET;
}

#endif /* GP_FLOW_BPF_H */
