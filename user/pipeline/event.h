/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_EVENT_H
#define GP_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/payload.h"
#include "grayprobe.h"

enum gp_result {
	GP_RES_ESTABLISHED,
	GP_RES_REFUSED,		/* RST in SYN_SENT */
	GP_RES_TIMEOUT,		/* SYN retries exhausted */
	GP_RES_UNREACHABLE,	/* ICMP unreachable / no neighbour */
	GP_RES_ABANDONED,	/* closed by its owner while connecting, no error seen */
	GP_RES_OTHER,		/* closed before established for another reason */
	GP_RES_MAX,
};

/* A finished connection attempt, decoded and normalized. */
struct gp_conn {
	uint64_t ts_ns;		/* CLOCK_MONOTONIC */
	uint64_t latency_ns;
	uint32_t pid;
	uint32_t netns;
	int family;		/* AF_INET or AF_INET6; v4-mapped v6 becomes AF_INET */
	uint8_t saddr[16];
	uint8_t daddr[16];
	uint16_t sport;
	uint16_t dport;
	int sk_err;
	enum gp_direction dir;
	enum gp_result result;
	char comm[GP_COMM_LEN + 1];
	int has_flow;		/* TC saw the SYN: a tag can follow */
	uint32_t flow_isn;	/* with has_flow: the client ISN, telling reused 4-tuples apart */
	/* The tag, and what decided it. */
	char alpn[GP_TAG_MAX + 1];
	char gray[GP_TAG_MAX + 1];
	char alpn_offered[GP_ALPN_OFFERED_MAX + 1];
	int alpn_offered_truncated;	/* names past GP_ALPN_OFFERED_MAX were dropped */
	char sni[GP_SNI_MAX + 1];
	char http_marker[GP_TAG_MAX + 1];	/* header that decided gray, "" if none */
	int tag_from_endpoint;	/* a failure given its server endpoint's last tag */
	unsigned gray_flags;			/* GP_GRAY_* of rules.h: how gray was decided */
};

const char *gp_result_name(enum gp_result r);
const char *gp_direction_name(enum gp_direction d);
enum gp_result gp_result_of(unsigned new_state, int sk_err);

/*
 * Decode one ring-buffer record. Returns 0, or -EINVAL when the record is
 * short, of an unknown type or carries out-of-range fields.
 */
int gp_conn_decode(const void *data, size_t len, struct gp_conn *out);

/* The record's type (enum gp_event_type), or -EINVAL when it is too short. */
int gp_event_type(const void *data, size_t len);
/*
 * Decode a GP_EV_PAYLOAD / GP_EV_FLOW_END record: header copied out,
 * *payload pointing at its hdr->len bytes inside data. 0 or -EINVAL.
 */
int gp_payload_decode(const void *data, size_t len, struct gp_payload_event *hdr,
		      const uint8_t **payload);

/* A GP_EV_L7 record: header copied out, *payload its hdr->len bytes inside data. 0 or -EINVAL. */
int gp_l7_event_decode(const void *data, size_t len, struct gp_l7_event *hdr,
		       const uint8_t **payload);
/*
 * A GP_EV_TLS record: header copied out, *payload its hdr->len bytes inside
 * data. 0 or -EINVAL (len past total or GP_TLS_DATA_MAX, a CLOSE with bytes).
 */
int gp_tls_event_decode(const void *data, size_t len, struct gp_tls_event *hdr,
			const uint8_t **payload);

/* "198.18.0.1" or "fd00:198:18::1". */
void gp_addr_str(int family, const uint8_t addr[16], char *buf, size_t len);

#endif
