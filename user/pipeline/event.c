// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "pipeline/event.h"

/* From include/net/tcp_states.h; part of the tracepoint's ABI. */
#define TCP_ESTABLISHED	1
#define TCP_CLOSE	7

static const char *const result_names[GP_RES_MAX] = {
	[GP_RES_ESTABLISHED] = "established",
	[GP_RES_REFUSED] = "refused",
	[GP_RES_TIMEOUT] = "timeout",
	[GP_RES_UNREACHABLE] = "unreachable",
	[GP_RES_ABANDONED] = "abandoned",
	[GP_RES_OTHER] = "other",
};

const char *gp_result_name(enum gp_result r)
{
	return (unsigned)r < GP_RES_MAX ? result_names[r] : "other";
}

const char *gp_direction_name(enum gp_direction d)
{
	return d == GP_DIR_INBOUND ? "inbound" : "outbound";
}

enum gp_result gp_result_of(unsigned new_state, int sk_err)
{
	if (new_state == TCP_ESTABLISHED)
		return GP_RES_ESTABLISHED;
	switch (sk_err) {
	case 0:
		/* The kernel sets an errno whenever it ends a connect itself. */
		return GP_RES_ABANDONED;
	case ECONNREFUSED:
		return GP_RES_REFUSED;
	case ETIMEDOUT:
		return GP_RES_TIMEOUT;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
		return GP_RES_UNREACHABLE;
	default:
		return GP_RES_OTHER;
	}
}

static int is_v4_mapped(const uint8_t a[16])
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

static void unmap(uint8_t a[16])
{
	memmove(a, a + 12, 4);
	memset(a + 4, 0, 12);
}

int gp_conn_decode(const void *data, size_t len, struct gp_conn *out)
{
	struct gp_conn_event e;

	if (len < sizeof(e))
		return -EINVAL;
	memcpy(&e, data, sizeof(e));
	if (e.type != GP_EV_CONN || e.direction >= GP_DIR_MAX ||
	    (e.family != AF_INET && e.family != AF_INET6) ||
	    (e.new_state != TCP_ESTABLISHED && e.new_state != TCP_CLOSE))
		return -EINVAL;

	memset(out, 0, sizeof(*out));
	out->ts_ns = e.ts_ns;
	out->latency_ns = e.latency_ns;
	out->pid = e.pid;
	out->netns = e.netns;
	out->family = e.family;
	memcpy(out->saddr, e.saddr, sizeof(out->saddr));
	memcpy(out->daddr, e.daddr, sizeof(out->daddr));
	/* A v6 socket talking to ::ffff:a.b.c.d is IPv4 on the wire. */
	if (out->family == AF_INET6 && is_v4_mapped(out->saddr) && is_v4_mapped(out->daddr)) {
		unmap(out->saddr);
		unmap(out->daddr);
		out->family = AF_INET;
	}
	out->sport = e.sport;
	out->dport = e.dport;
	out->sk_err = e.sk_err;
	out->dir = e.direction;
	out->result = gp_result_of(e.new_state, e.sk_err);
	memcpy(out->comm, e.comm, GP_COMM_LEN);
	out->comm[strnlen(out->comm, GP_COMM_LEN)] = '\0';
	out->has_flow = !!(e.flags & GP_CONN_F_FLOW);
	out->flow_isn = e.flow_isn;
	strcpy(out->alpn, "none");
	strcpy(out->gray, "stable");
	return 0;
}

int gp_event_type(const void *data, size_t len)
{
	uint32_t type;

	if (len < sizeof(type))
		return -EINVAL;
	memcpy(&type, data, sizeof(type));
	return type;
}

int gp_payload_decode(const void *data, size_t len, struct gp_payload_event *hdr,
		      const uint8_t **payload)
{
	if (len < sizeof(*hdr))
		return -EINVAL;
	memcpy(hdr, data, sizeof(*hdr));
	if ((hdr->type != GP_EV_PAYLOAD && hdr->type != GP_EV_FLOW_END) ||
	    (hdr->flow.family != AF_INET && hdr->flow.family != AF_INET6) ||
	    hdr->len > GP_FIRST_PAYLOAD_MAX || hdr->off >= GP_FIRST_PAYLOAD_MAX ||
	    hdr->off + hdr->len > GP_FIRST_PAYLOAD_MAX ||
	    len < sizeof(*hdr) + hdr->len || (hdr->type == GP_EV_FLOW_END && hdr->len))
		return -EINVAL;
	*payload = (const uint8_t *)data + sizeof(*hdr);
	return 0;
}

int gp_l7_event_decode(const void *data, size_t len, struct gp_l7_event *hdr,
		       const uint8_t **payload)
{
	if (len < sizeof(*hdr))
		return -EINVAL;
	memcpy(hdr, data, sizeof(*hdr));
	if (hdr->type != GP_EV_L7 || hdr->dir > 1 ||
	    (hdr->flow.family != AF_INET && hdr->flow.family != AF_INET6) ||
	    hdr->len > GP_L7_FRAME_MAX || len < sizeof(*hdr) + hdr->len)
		return -EINVAL;
	*payload = (const uint8_t *)data + sizeof(*hdr);
	return 0;
}

int gp_tls_event_decode(const void *data, size_t len, struct gp_tls_event *hdr,
			const uint8_t **payload)
{
	if (len < sizeof(*hdr))
		return -EINVAL;
	memcpy(hdr, data, sizeof(*hdr));
	if (hdr->type != GP_EV_TLS || hdr->dir > 1 || hdr->side > 1 ||
	    (hdr->flow.family && hdr->flow.family != AF_INET && hdr->flow.family != AF_INET6) ||
	    hdr->len > GP_TLS_DATA_MAX || hdr->len > hdr->total ||
	    len < sizeof(*hdr) + hdr->len || ((hdr->flags & GP_TLS_F_CLOSE) && hdr->total))
		return -EINVAL;
	*payload = (const uint8_t *)data + sizeof(*hdr);
	return 0;
}

void gp_addr_str(int family, const uint8_t addr[16], char *buf, size_t len)
{
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, buf, len) && len)
		buf[0] = '\0';
}
