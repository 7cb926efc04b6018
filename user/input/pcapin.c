// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input/pcapin.h"

#define ETH_HDR_LEN	14
#define SLL_HDR_LEN	16	/* protocol at offset 14 */
#define SLL2_HDR_LEN	20	/* protocol at offset 0 */
#define NULL_HDR_LEN	4	/* address family */

#define ETHERTYPE_IPV4	0x0800
#define ETHERTYPE_IPV6	0x86dd

struct gp_pcap {
	pcap_t *pc;
	int dlt;
	char *path;
	uint8_t *buf;		/* built frames; unused for EN10MB */
	struct gp_pcap_stats st;
	int eof;
	int err;		/* sticky read error: negative errno */
	char reason[PCAP_ERRBUF_SIZE];
};

enum verdict { FRAME_OK, FRAME_UNSUPPORTED, FRAME_TOO_LONG };

/* "PATH: reason" on one line; err may be NULL. */
static void set_err(char *err, size_t errlen, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void set_err(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	va_list ap;
	size_t n;
	int w;
	char *c;

	if (!err || !errlen)
		return;
	w = snprintf(err, errlen, "%s: ", path);
	n = w < 0 ? 0 : (size_t)w < errlen ? (size_t)w : errlen - 1;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	for (c = err; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
}

/* libpcap's open errors often already start with "PATH: ". */
static const char *strip_path(const char *msg, const char *path)
{
	size_t n = strlen(path);

	if (!strncmp(msg, path, n) && msg[n] == ':' && msg[n + 1] == ' ')
		return msg + n + 2;
	return msg;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static int supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
		return 1;
	}
	return 0;
}

int gp_pcap_open(struct gp_pcap **out, const char *path, char *err, size_t errlen)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct gp_pcap *p;
	pcap_t *pc;
	int e, dlt;

	*out = NULL;
	errno = 0;
	pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pc) {
		/* An open failure is "PATH: strerror(errno)"; the rest is the format. */
		e = errno;
		set_err(err, errlen, path, "%s", strip_path(errbuf, path));
		return e > 0 && ends_with(errbuf, strerror(e)) ? -e : -EINVAL;
	}
	dlt = pcap_datalink(pc);
	if (!supported(dlt)) {
		const char *name = pcap_datalink_val_to_name(dlt);

		set_err(err, errlen, path, "link type %s (%d) is not supported (Ethernet, "
			"Linux cooked SLL/SLL2, raw IP, BSD loopback are)",
			name ? name : "unknown", dlt);
		pcap_close(pc);
		return -EPROTONOSUPPORT;
	}
	p = calloc(1, sizeof(*p));
	if (p) {
		p->path = strdup(path);
		if (dlt != DLT_EN10MB)
			p->buf = malloc(GP_PCAP_FRAME_MAX);
	}
	if (!p || !p->path || (dlt != DLT_EN10MB && !p->buf)) {
		if (p) {
			free(p->path);
			free(p->buf);
			free(p);
		}
		pcap_close(pc);
		set_err(err, errlen, path, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	p->pc = pc;
	p->dlt = dlt;
	*out = p;
	return 0;
}

static uint16_t be16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t bswap32(uint32_t v)
{
	return v >> 24 | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) | v << 24;
}

/* BSD loopback address family to ethertype; 0: not IP. */
static uint16_t family_type(uint32_t af)
{
	switch (af) {
	case 2:			/* AF_INET everywhere */
		return ETHERTYPE_IPV4;
	case 10:		/* Linux */
	case 24:		/* NetBSD, OpenBSD */
	case 28:		/* FreeBSD, DragonFly */
	case 30:		/* Darwin */
		return ETHERTYPE_IPV6;
	}
	return 0;
}

/* Ethertype of the payload after a DLT_NULL or DLT_LOOP header. */
static uint16_t loopback_type(const struct gp_pcap *p, const uint8_t *d)
{
	uint32_t af;

	if (p->dlt == DLT_LOOP)
		return family_type((uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
				   (uint32_t)d[2] << 8 | d[3]);
	/* The capturing host's order: the file's, unless rewritten elsewhere. */
	memcpy(&af, d, sizeof(af));
	if (pcap_is_swapped(p->pc))
		af = bswap32(af);
	if (af > 0xffff)	/* families are small: the other order (as Wireshark) */
		af = bswap32(af);
	return family_type(af);
}

static enum verdict convert(struct gp_pcap *p, const struct pcap_pkthdr *h,
			    const uint8_t *d, struct gp_pcap_frame *f)
{
	size_t cap = h->caplen, wire = h->len > h->caplen ? h->len : h->caplen, hdr;
	uint16_t type;
	unsigned v;

	switch (p->dlt) {
	case DLT_EN10MB:
		if (cap < ETH_HDR_LEN)
			return FRAME_UNSUPPORTED;
		if (cap > GP_PCAP_FRAME_MAX)
			return FRAME_TOO_LONG;
		f->data = d;
		f->len = cap;
		f->wire_len = wire;
		return FRAME_OK;
	case DLT_LINUX_SLL:
		hdr = SLL_HDR_LEN;
		if (cap < hdr)
			return FRAME_UNSUPPORTED;
		type = be16(d + 14);
		break;
	case DLT_LINUX_SLL2:
		hdr = SLL2_HDR_LEN;
		if (cap < hdr)
			return FRAME_UNSUPPORTED;
		type = be16(d);
		break;
	case DLT_NULL:
	case DLT_LOOP:
		hdr = NULL_HDR_LEN;
		if (cap < hdr)
			return FRAME_UNSUPPORTED;
		type = loopback_type(p, d);
		if (!type)
			return FRAME_UNSUPPORTED;
		break;
	default:		/* DLT_RAW, DLT_IPV4, DLT_IPV6 */
		hdr = 0;
		if (cap < 1)
			return FRAME_UNSUPPORTED;
		v = d[0] >> 4;
		if ((v != 4 && v != 6) || (p->dlt == DLT_IPV4 && v != 4) ||
		    (p->dlt == DLT_IPV6 && v != 6))
			return FRAME_UNSUPPORTED;
		type = v == 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
		break;
	}
	if (cap - hdr > GP_PCAP_FRAME_MAX - ETH_HDR_LEN)
		return FRAME_TOO_LONG;
	memset(p->buf, 0, 12);
	p->buf[12] = (uint8_t)(type >> 8);
	p->buf[13] = (uint8_t)type;
	memcpy(p->buf + ETH_HDR_LEN, d + hdr, cap - hdr);
	f->data = p->buf;
	f->len = cap - hdr + ETH_HDR_LEN;
	f->wire_len = wire - hdr + ETH_HDR_LEN;
	return FRAME_OK;
}

int gp_pcap_next(struct gp_pcap *p, struct gp_pcap_frame *f, char *err, size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t sec;
	int r;

	for (;;) {
		if (p->err) {
			set_err(err, errlen, p->path, "%s", p->reason);
			return p->err;
		}
		if (p->eof)
			return 0;
		r = pcap_next_ex(p->pc, &h, &d);
		if (r == PCAP_ERROR_BREAK) {
			p->eof = 1;
			return 0;
		}
		if (r != 1) {
			/* Savefiles never time out (0): anything but a frame is an error. */
			if (r == PCAP_ERROR)
				snprintf(p->reason, sizeof(p->reason), "%s", pcap_geterr(p->pc));
			else
				snprintf(p->reason, sizeof(p->reason),
					 "unexpected pcap_next_ex result %d", r);
			p->err = -EIO;
			continue;
		}
		p->st.frames++;
		switch (convert(p, h, d, f)) {
		case FRAME_UNSUPPORTED:
			p->st.unsupported++;
			continue;
		case FRAME_TOO_LONG:
			p->st.too_long++;
			continue;
		case FRAME_OK:
			break;
		}
		/*
		 * pcap stores seconds as 32 unsigned bits, which libpcap 1.10
		 * reads as signed: from 2038 on they come back negative
		 * (tshark reads them unsigned). pcapng's are never negative.
		 */
		sec = h->ts.tv_sec < 0 ? (uint32_t)h->ts.tv_sec : (uint64_t)h->ts.tv_sec;
		f->ts_ns = sec * 1000000000u + (uint64_t)h->ts.tv_usec;
		f->index = p->st.frames;
		if (f->len < f->wire_len)
			p->st.truncated++;
		return 1;
	}
}

const char *gp_pcap_linktype(const struct gp_pcap *p)
{
	const char *name = pcap_datalink_val_to_name(p->dlt);

	return name ? name : "unknown";
}

void gp_pcap_stats(const struct gp_pcap *p, struct gp_pcap_stats *out)
{
	*out = p->st;
}

void gp_pcap_close(struct gp_pcap *p)
{
	if (!p)
		return;
	pcap_close(p->pc);
	free(p->buf);
	free(p->path);
	free(p);
}
