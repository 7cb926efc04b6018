/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Header walk for the TC classifier: Ethernet, up to two VLAN tags, IPv4 or
 * IPv6 (with extension headers), TCP. Direct packet access; every bound is
 * checked, and lengths come from the IP headers (not skb->len, which
 * includes Ethernet padding).
 */
#ifndef GP_PKT_BPF_H
#define GP_PKT_BPF_H

#include <bpf/bpf_endian.h>

#define ETH_HLEN	14
#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define ETH_P_8021Q	0x8100
#define ETH_P_8021AD	0x88A8
#define GP_VLAN_MAX	2
#define GP_IPV6_EXT_MAX	6

#define NEXTHDR_HOP	0
#define NEXTHDR_TCP	6
#define NEXTHDR_ROUTING	43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH	51
#define NEXTHDR_DEST	60

#define TCP_FL_FIN	0x01
#define TCP_FL_SYN	0x02
#define TCP_FL_RST	0x04
#define TCP_FL_ACK	0x10

enum pkt_verdict {
	PKT_TCP = 0,		/* p is filled */
	PKT_OTHER,		/* not TCP, or a non-first fragment: not ours */
	PKT_MALFORMED,		/* cut short or inconsistent */
	PKT_SHORT,		/* headers beyond the linear area: pull, then retry */
};

struct pkt {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;		/* host order */
	__u16 dport;
	__u16 family;
	__u8 flags;		/* TCP_FL_* */
	__u8 _pad;
	__u32 seq;		/* host order */
	__u32 payload_off;	/* from the start of the frame */
	__u32 payload_len;	/* per the IP length fields */
};

static __always_inline int parse_tcp(void *data, void *end, __u32 off, __u32 l4_len, struct pkt *p)
{
	struct tcphdr *th = data + off;
	__u32 doff;

	if ((void *)(th + 1) > end)
		return PKT_SHORT;
	doff = th->doff * 4;
	if (doff < sizeof(*th) || doff > l4_len)
		return PKT_MALFORMED;
	p->sport = bpf_ntohs(th->source);
	p->dport = bpf_ntohs(th->dest);
	p->seq = bpf_ntohl(th->seq);
	p->flags = ((__u8 *)th)[13];
	p->payload_off = off + doff;
	p->payload_len = l4_len - doff;
	return PKT_TCP;
}

static __always_inline int parse_ipv4(void *data, void *end, __u32 off, __u32 skb_len, struct pkt *p)
{
	struct iphdr *ip = data + off;
	__u32 ihl, tot;

	if ((void *)(ip + 1) > end)
		return PKT_SHORT;
	if (ip->version != 4)
		return PKT_MALFORMED;
	if (ip->protocol != IPPROTO_TCP)
		return PKT_OTHER;
	/* A non-first fragment has no TCP header. */
	if (ip->frag_off & bpf_htons(0x1fff))
		return PKT_OTHER;
	ihl = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	/* GSO packets over 64 KiB (BIG TCP) carry tot_len 0. */
	if (!tot && skb_len > off)
		tot = skb_len - off;
	if (ihl < sizeof(*ip) || tot < ihl)
		return PKT_MALFORMED;
	p->family = AF_INET;
	__builtin_memcpy(p->saddr, &ip->saddr, 4);
	__builtin_memcpy(p->daddr, &ip->daddr, 4);
	return parse_tcp(data, end, off + ihl, tot - ihl, p);
}

static __always_inline int parse_ipv6(void *data, void *end, __u32 off, __u32 skb_len, struct pkt *p)
{
	struct ipv6hdr *ip6 = data + off;
	__u32 l4_len, hlen;
	__u8 nh;
	int i;

	if ((void *)(ip6 + 1) > end)
		return PKT_SHORT;
	if (ip6->version != 6)
		return PKT_MALFORMED;
	l4_len = bpf_ntohs(ip6->payload_len);
	if (!l4_len && skb_len > off + sizeof(*ip6))
		l4_len = skb_len - off - sizeof(*ip6);
	nh = ip6->nexthdr;
	p->family = AF_INET6;
	__builtin_memcpy(p->saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->daddr, &ip6->daddr, 16);
	off += sizeof(*ip6);

	for (i = 0; i < GP_IPV6_EXT_MAX; i++) {
		__u8 *ext = data + off;

		if (nh == NEXTHDR_TCP)
			return parse_tcp(data, end, off, l4_len, p);
		if (nh != NEXTHDR_HOP && nh != NEXTHDR_ROUTING && nh != NEXTHDR_DEST &&
		    nh != NEXTHDR_FRAGMENT && nh != NEXTHDR_AUTH)
			return PKT_OTHER;
		if ((void *)(ext + 8) > end)
			return PKT_SHORT;
		if (nh == NEXTHDR_FRAGMENT) {
			/* Offset in the top 13 bits of bytes 2-3. */
			if (((ext[2] << 8) | ext[3]) & 0xfff8)
				return PKT_OTHER;
			hlen = 8;
		} else if (nh == NEXTHDR_AUTH) {
			hlen = (ext[1] + 2) * 4;
		} else {
			hlen = (ext[1] + 1) * 8;
		}
		if (hlen > l4_len)
			return PKT_MALFORMED;
		l4_len -= hlen;
		nh = ext[0];
		off += hlen;
	}
	return nh == NEXTHDR_TCP ? parse_tcp(data, end, off, l4_len, p) : PKT_OTHER;
}

static __always_inline int parse_pkt(struct __sk_buff *skb, struct pkt *p)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u32 off = ETH_HLEN;
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > end)
		return skb->len >= ETH_HLEN ? PKT_SHORT : PKT_MALFORMED;
	proto = eth->h_proto;
	for (i = 0; i < GP_VLAN_MAX; i++) {
		__u16 *vlan = data + off;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vlan + 2) > end)
			return PKT_SHORT;
		proto = vlan[1];
		off += 4;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(data, end, off, skb->len, p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(data, end, off, skb->len, p);
	return PKT_OTHER;
}

#endif /* GP_PKT_BPF_H */
