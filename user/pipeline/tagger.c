// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/dlist.h"
#include "util/htab.h"
#include "pipeline/tagger.h"
#include "pipeline/tlshs.h"

#define BITMAP_BYTES	(GP_FIRST_PAYLOAD_MAX / 8)

/* An outcome waiting for its flow's tag; queued in arrival = deadline order. */
struct pending {
	struct gp_conn c;
	uint64_t deadline;
	struct uflow *flow;
	struct gp_dlink q;
};

/* The tag an outcome of this flow got, for crediting the flow's bytes. */
struct joined {
	int used;
	char alpn[GP_TAG_MAX + 1];
	char gray[GP_TAG_MAX + 1];
	unsigned gray_flags;
	uint64_t credited;
	int hs_credited;		/* the handshake's time was handed out */
};

/* Reassembly of the client's first bytes, while undecided. */
struct stream {
	uint8_t buf[GP_FIRST_PAYLOAD_MAX];
	uint8_t have[BITMAP_BYTES];
};

/* What outcomes joining a decided flow get: the labels, and the lists sized to fit. */
struct tagres {
	char alpn[GP_TAG_MAX + 1];
	char gray[GP_TAG_MAX + 1];
	char marker[GP_TAG_MAX + 1];
	unsigned gray_flags;
	char *offered;
	char *sni;
	int offered_truncated;
	int payload;			/* decided by the flow's own bytes */
	int hs;				/* a ClientHello at offset 0 without 0-RTT: time its handshake */
};

/* A server endpoint as a failure and an earlier flow to it share it; no padding. */
struct ep_key {
	uint8_t daddr[16];
	uint32_t netns;
	uint16_t dport;
	uint8_t family;
	uint8_t dir;
};

/* The tag of an endpoint's last established, payload-tagged outcome. */
struct endpoint {
	struct gp_hnode h;
	struct gp_dlink age;		/* by tagging time */
	struct ep_key key;
	uint64_t tagged_ns;
	char alpn[GP_TAG_MAX + 1];
	char gray[GP_TAG_MAX + 1];
	unsigned gray_flags;
};

struct uflow {
	struct gp_hnode h;
	struct gp_dlink e;		/* ended list, by end time */
	struct gp_flow_tuple key;	/* client -> server, _pad 0 */
	struct stream *st;		/* NULL once decided */
	size_t contig;			/* bytes present from offset 0 */
	struct tagres *res;		/* once decided, while outcomes may still join */
	struct pending *pend[GP_DIR_MAX];
	struct joined joined[GP_DIR_MAX];
	struct gp_tls_hs hs;
	uint64_t first_ts, ended_ns;
	uint64_t bytes_total;
	uint32_t isn;			/* client ISN: which connection on the 4-tuple */
	unsigned sweep_gen;
	uint8_t decided, ended, any_payload, on_elist;
};

struct gp_tagger {
	struct gp_tagger_ops ops;
	uint64_t tag_wait_ns, ep_memory_ns;
	uint64_t now_ns;		/* the caller's latest time */
	struct gp_htab eps;		/* struct endpoint */
	struct gp_dlist ep_age;		/* oldest tag first */
	const struct gp_rules *rules;
	struct gp_htab flows;		/* struct uflow */
	struct gp_dlist queue;		/* struct pending */
	struct gp_dlist ended;		/* struct uflow ended and decided: forgotten after the end grace */
	unsigned sweep_gen;
	struct gp_tagger_stats stats;
	/* try_decide's working space (~4 KB), allocated once rather than per record. */
	struct gp_payload_info info, inner;
	struct gp_flow_result result;
};

struct gp_tagger *gp_tagger_new(const struct gp_tagger_ops *ops,
				const struct gp_tagger_config *cfg)
{
	struct gp_tagger *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ops = *ops;
	t->tag_wait_ns = cfg->tag_wait_ns;
	t->ep_memory_ns = cfg->endpoint_memory_ns;
	if (gp_htab_init(&t->flows, 1024) || gp_htab_init(&t->eps, 64)) {
		gp_htab_release(&t->flows);
		free(t);
		return NULL;
	}
	return t;
}

static void tagres_free(struct tagres *r)
{
	if (!r)
		return;
	free(r->offered);
	free(r->sni);
	free(r);
}

static void flow_free(struct uflow *f)
{
	int d;

	for (d = 0; d < GP_DIR_MAX; d++)
		free(f->pend[d]);
	free(f->st);
	tagres_free(f->res);
	free(f);
}

/* The oldest of each list, or NULL. */
static struct pending *queue_first(const struct gp_tagger *t)
{
	return t->queue.head ? gp_container_of(t->queue.head, struct pending, q) : NULL;
}

static struct uflow *ended_first(const struct gp_tagger *t)
{
	return t->ended.head ? gp_container_of(t->ended.head, struct uflow, e) : NULL;
}

static struct endpoint *ep_oldest(const struct gp_tagger *t)
{
	return t->ep_age.head ? gp_container_of(t->ep_age.head, struct endpoint, age) : NULL;
}

static void elist_del(struct gp_tagger *t, struct uflow *f)
{
	if (!f->on_elist)
		return;
	gp_dlist_del(&t->ended, &f->e);
	f->on_elist = 0;
}

/* Ends arrive in time order, so appending keeps the list sorted. */
static void elist_add(struct gp_tagger *t, struct uflow *f)
{
	if (f->on_elist)
		return;
	gp_dlist_append(&t->ended, &f->e);
	f->on_elist = 1;
}

static void free_node(void *ctx, struct gp_hnode *x)
{
	(void)ctx;
	flow_free(gp_container_of(x, struct uflow, h));
}

static void ep_forget(struct gp_tagger *t, struct endpoint *e)
{
	gp_dlist_del(&t->ep_age, &e->age);
	gp_htab_del(&t->eps, &e->h);
	free(e);
}

void gp_tagger_free(struct gp_tagger *t)
{
	if (!t)
		return;
	gp_htab_each(&t->flows, free_node, NULL);
	gp_htab_release(&t->flows);
	while (ep_oldest(t))
		ep_forget(t, ep_oldest(t));
	gp_htab_release(&t->eps);
	free(t);
}

void gp_tagger_set_rules(struct gp_tagger *t, const struct gp_rules *r)
{
	t->rules = r;
}

static struct uflow *lookup(const struct gp_tagger *t, const struct gp_flow_tuple *key,
			    uint32_t hash)
{
	struct gp_hnode *x;

	for (x = gp_htab_chain(&t->flows, hash); x; x = x->next) {
		struct uflow *f = gp_container_of(x, struct uflow, h);

		if (x->hash == hash && !memcmp(&f->key, key, sizeof(*key)))
			return f;
	}
	return NULL;
}

static struct uflow *find(struct gp_tagger *t, const struct gp_flow_tuple *key, int create)
{
	uint32_t hash = gp_hash_bytes(key, sizeof(*key));
	struct uflow *f = lookup(t, key, hash);

	if (f || !create)
		return f;
	if (t->flows.n >= GP_TAGGER_FLOWS_MAX) {
		t->stats.flows_dropped++;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		t->stats.flows_dropped++;
		return NULL;
	}
	f->key = *key;
	f->sweep_gen = t->sweep_gen;
	gp_htab_add(&t->flows, &f->h, hash);
	return f;
}

static void tuple_of_conn(const struct gp_conn *c, struct gp_flow_tuple *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->saddr, c->saddr, 16);
	memcpy(k->daddr, c->daddr, 16);
	k->sport = c->sport;
	k->dport = c->dport;
	k->family = c->family;
}

/* The handshake's time, once its end is seen and the flow's tag says it is TLS. */
static void credit_handshake(struct gp_tagger *t, struct uflow *f, unsigned d)
{
	struct joined *j = &f->joined[d];
	struct gp_tls_handshake h = {
		.flow = f->key, .dir = d, .alpn = j->alpn, .gray = j->gray,
		.gray_flags = j->gray_flags, .ts_ns = f->hs.end_ts,
	};

	if (j->hs_credited || f->hs.state != GP_TLS_HS_DONE || !f->res || !f->res->hs ||
	    f->hs.end_ts < f->hs.hello_ts)
		return;
	j->hs_credited = 1;
	h.duration_ns = f->hs.end_ts - f->hs.hello_ts;
	if (t->ops.handshake)
		t->ops.handshake(t->ops.ctx, &h);
}

/* What a flow owes the directions its outcomes joined: bytes, a handshake time. */
static void credit(struct gp_tagger *t, struct uflow *f)
{
	int d;

	for (d = 0; d < GP_DIR_MAX; d++) {
		struct joined *j = &f->joined[d];

		if (j->used)
			credit_handshake(t, f, d);

		if (j->used && f->bytes_total > j->credited) {
			if (t->ops.bytes)
				t->ops.bytes(t->ops.ctx, d, j->alpn, j->gray, j->gray_flags,
					     f->bytes_total - j->credited);
			j->credited = f->bytes_total;
		}
	}
}

/* Gray for a flow from the rules; 1 when a rule decided it, 0 for the "stable" default. */
static int eval_rules(const struct gp_tagger *t, const struct gp_flow_tuple *k, const char *alpn,
		       const char *sni, const uint8_t *hdrs, size_t hdrs_len, char *gray,
		       char *marker, unsigned *gray_flags)
{
	struct gp_flow_facts facts = {
		.family = k->family, .saddr = k->saddr, .daddr = k->daddr,
		.sport = k->sport, .dport = k->dport, .alpn = alpn, .sni = sni,
		.http_hdrs = hdrs, .http_hdrs_len = hdrs_len,
	};
	struct gp_gray g;

	gp_rules_eval(t->rules, &facts, &g);	/* no rules: "stable" */
	memcpy(gray, g.gray, sizeof(g.gray));
	memcpy(marker, g.marker, sizeof(g.marker));
	*gray_flags = g.flags;
	return g.rule >= 0;
}

/* The tagger's clock: the caller's latest time, never going back. */
static void clock_at(struct gp_tagger *t, uint64_t now_ns)
{
	if (now_ns > t->now_ns)
		t->now_ns = now_ns;
}

static void ep_key_of(const struct gp_conn *c, struct ep_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->daddr, c->daddr, 16);
	k->netns = c->netns;
	k->dport = c->dport;
	k->family = (uint8_t)c->family;
	k->dir = (uint8_t)c->dir;
}

static struct endpoint *ep_find(const struct gp_tagger *t, const struct ep_key *k, uint32_t hash)
{
	struct gp_hnode *x;

	for (x = gp_htab_chain(&t->eps, hash); x; x = x->next) {
		struct endpoint *e = gp_container_of(x, struct endpoint, h);

		if (x->hash == hash && !memcmp(&e->key, k, sizeof(*k)))
			return e;
	}
	return NULL;
}

/* Endpoints whose tag is older than the memory go; the list is in tagging order. */
static void ep_expire(struct gp_tagger *t)
{
	struct endpoint *e;

	while ((e = ep_oldest(t)) && t->now_ns - e->tagged_ns >= t->ep_memory_ns)
		ep_forget(t, e);
}

/* An established outcome tagged by its flow's bytes: its endpoint's tag from now on. */
static void ep_remember(struct gp_tagger *t, const struct gp_conn *c)
{
	struct ep_key k;
	struct endpoint *e;
	uint32_t hash;

	ep_key_of(c, &k);
	hash = gp_hash_bytes(&k, sizeof(k));
	e = ep_find(t, &k, hash);
	if (e) {
		gp_dlist_del(&t->ep_age, &e->age);
	} else {
		if (t->eps.n >= GP_TAGGER_ENDPOINTS_MAX)
			ep_forget(t, ep_oldest(t));
		e = calloc(1, sizeof(*e));
		if (!e)
			return;	/* its failures stay untagged */
		e->key = k;
		gp_htab_add(&t->eps, &e->h, hash);
	}
	memcpy(e->alpn, c->alpn, sizeof(e->alpn));
	memcpy(e->gray, c->gray, sizeof(e->gray));
	e->gray_flags = c->gray_flags;
	e->tagged_ns = t->now_ns;
	gp_dlist_append(&t->ep_age, &e->age);
}

/* A failure no rule tagged takes its endpoint's remembered tag, if there is one. */
static void ep_recall(struct gp_tagger *t, struct gp_conn *c)
{
	struct endpoint *e;
	struct ep_key k;

	if (!t->ep_memory_ns)
		return;
	ep_expire(t);
	ep_key_of(c, &k);
	e = ep_find(t, &k, gp_hash_bytes(&k, sizeof(k)));
	if (!e)
		return;
	memcpy(c->alpn, e->alpn, sizeof(c->alpn));
	memcpy(c->gray, e->gray, sizeof(c->gray));
	c->gray_flags = e->gray_flags;
	c->tag_from_endpoint = 1;
	t->stats.endpoint_tags++;
}

static void emit(struct gp_tagger *t, struct uflow *f, struct gp_conn *c,
		 const struct tagres *r)
{
	if (r) {
		memcpy(c->alpn, r->alpn, sizeof(c->alpn));
		snprintf(c->alpn_offered, sizeof(c->alpn_offered), "%s", r->offered);
		c->alpn_offered_truncated = r->offered_truncated;
		snprintf(c->sni, sizeof(c->sni), "%s", r->sni);
		memcpy(c->gray, r->gray, sizeof(c->gray));
		memcpy(c->http_marker, r->marker, sizeof(c->http_marker));
		c->gray_flags = r->gray_flags;
		if (r->payload && c->result == GP_RES_ESTABLISHED && t->ep_memory_ns)
			ep_remember(t, c);
	}
	if (f && c->dir < GP_DIR_MAX) {
		struct joined *j = &f->joined[c->dir];

		j->used = 1;
		memcpy(j->alpn, c->alpn, sizeof(j->alpn));
		memcpy(j->gray, c->gray, sizeof(j->gray));
		j->gray_flags = c->gray_flags;
		j->credited = 0;
		j->hs_credited = 0;
	}
	if (t->ops.conn)
		t->ops.conn(t->ops.ctx, c);
	if (f)
		credit(t, f);
}

static void dequeue(struct gp_tagger *t, struct pending *p)
{
	gp_dlist_del(&t->queue, &p->q);
}

/* Client bytes [off, off + len) arrive; contig grows over what is now present. */
static void reassemble(struct uflow *f, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct stream *st = f->st;
	uint32_t i;

	memcpy(st->buf + off, data, len);
	for (i = off; i < off + len; i++)
		st->have[i / 8] |= 1u << (i % 8);
	while (f->contig < GP_FIRST_PAYLOAD_MAX &&
	       (st->have[f->contig / 8] & (1u << (f->contig % 8))))
		f->contig++;
}

/*
 * Decide now if the bytes so far settle it, or unconditionally when force.
 * An HTTP CONNECT whose tunnel starts within the captured bytes is judged by
 * what the tunnel carries, the gray rules still seeing the CONNECT headers.
 */
static void try_decide(struct gp_tagger *t, struct uflow *f, int force)
{
	struct gp_payload_info *info = &t->info, *inner = &t->inner;
	struct gp_flow_result *r = &t->result;
	struct tagres *res;
	const struct gp_payload_info *show;
	const uint8_t *buf = f->st ? f->st->buf : NULL;
	size_t n = f->contig;
	int full = n >= GP_FIRST_PAYLOAD_MAX, d;
	unsigned gray_flags = 0;

	if (f->decided || (!n && !force))
		return;
	memset(info, 0, sizeof(*info));
	memset(inner, 0, sizeof(*inner));
	memset(r, 0, sizeof(*r));
	if (n)
		gp_payload_parse(buf, n, info);
	else
		info->kind = GP_PL_NEED_MORE;
	show = info;
	if (!force && !full) {
		if (info->kind == GP_PL_NEED_MORE)
			return;
		/* Headers still arriving, and a rule may want one, or a tunnel follows them. */
		if (info->kind == GP_PL_HTTP1 && !info->body_off &&
		    ((t->rules && gp_rules_want_headers(t->rules)) ||
		     !strcmp(info->http_method, "CONNECT")))
			return;
	}
	if (info->kind == GP_PL_HTTP1 && !strcmp(info->http_method, "CONNECT") && info->body_off) {
		if (n > info->body_off)
			gp_payload_parse(buf + info->body_off, n - info->body_off, inner);
		else
			inner->kind = GP_PL_NEED_MORE;
		if (inner->kind == GP_PL_NEED_MORE && !force && !full)
			return;
		if (inner->kind == GP_PL_TLS || inner->kind == GP_PL_H2C) {
			show = inner;
			r->tunnel = 1;
		}
	}

	r->flow = f->key;
	r->first_ts_ns = f->first_ts;
	r->bytes_seen = n;
	if (show->kind == GP_PL_NEED_MORE) {
		/* Cut off by close, the wait or the 8 KiB bound. */
		snprintf(r->alpn, sizeof(r->alpn), "%s", f->any_payload ? "unknown" : "none");
		r->kind = f->any_payload ? GP_PL_UNKNOWN : GP_PL_NEED_MORE;
	} else {
		memcpy(r->alpn, show->alpn, sizeof(r->alpn));
		memcpy(r->alpn_offered, show->alpn_offered, sizeof(r->alpn_offered));
		r->alpn_offered_truncated = show->alpn_offered_truncated;
		memcpy(r->sni, show->sni, sizeof(r->sni));
		r->kind = show->kind;
	}
	if (info->kind == GP_PL_HTTP1)
		memcpy(r->http_method, info->http_method, sizeof(r->http_method));
	eval_rules(t, &f->key, r->alpn, r->sni,
		   info->kind == GP_PL_HTTP1 ? buf + info->hdr_off : NULL,
		   info->kind == GP_PL_HTTP1 ? info->hdr_len : 0, r->gray, r->http_marker,
		   &gray_flags);

	res = calloc(1, sizeof(*res));
	if (res) {
		res->offered = strdup(r->alpn_offered);
		res->sni = strdup(r->sni);
	}
	if (!res || !res->offered || !res->sni) {
		tagres_free(res);
		return;	/* decided at the next call or at the wait's end */
	}
	memcpy(res->alpn, r->alpn, sizeof(res->alpn));
	res->offered_truncated = r->alpn_offered_truncated;
	memcpy(res->gray, r->gray, sizeof(res->gray));
	memcpy(res->marker, r->http_marker, sizeof(res->marker));
	res->payload = f->any_payload;
	res->hs = show == info && info->kind == GP_PL_TLS && !info->early_data;
	res->gray_flags = gray_flags;
	f->decided = 1;
	f->res = res;
	free(f->st);
	f->st = NULL;
	if (t->ops.flow)
		t->ops.flow(t->ops.ctx, r);
	for (d = 0; d < GP_DIR_MAX; d++) {
		struct pending *p = f->pend[d];

		if (!p)
			continue;
		f->pend[d] = NULL;
		dequeue(t, p);
		emit(t, f, &p->c, f->res);
		free(p);
	}
}

static void emit_untracked(struct gp_tagger *t, const struct gp_conn *in)
{
	struct gp_flow_tuple k;
	struct gp_conn c = *in;

	tuple_of_conn(&c, &k);
	strcpy(c.alpn, "none");
	c.alpn_offered[0] = c.sni[0] = '\0';
	c.alpn_offered_truncated = 0;
	if (!eval_rules(t, &k, c.alpn, "", NULL, 0, c.gray, c.http_marker, &c.gray_flags) &&
	    c.result != GP_RES_ESTABLISHED)
		ep_recall(t, &c);
	emit(t, NULL, &c, NULL);
}

/*
 * A new connection on a 4-tuple still in the table (the kernel saw a new
 * SYN): the old one is decided with what it had, then the entry starts over.
 */
static struct uflow *flow_for(struct gp_tagger *t, const struct gp_flow_tuple *k, uint32_t isn)
{
	struct uflow *f = find(t, k, 1);
	int d;

	if (!f)
		return NULL;
	if (f->isn == isn || (!f->decided && !f->any_payload && !f->ended &&
			      !f->pend[GP_DIR_OUTBOUND] && !f->pend[GP_DIR_INBOUND])) {
		f->isn = isn;
		return f;
	}
	try_decide(t, f, 1);
	credit(t, f);
	for (d = 0; d < GP_DIR_MAX; d++) {
		struct pending *p = f->pend[d];

		/* Only when try_decide ran out of memory. */
		if (p) {
			f->pend[d] = NULL;
			dequeue(t, p);
			emit_untracked(t, &p->c);
			free(p);
		}
	}
	elist_del(t, f);
	free(f->st);
	tagres_free(f->res);
	f->st = NULL;
	f->res = NULL;
	f->contig = 0;
	memset(f->joined, 0, sizeof(f->joined));
	memset(&f->hs, 0, sizeof(f->hs));
	f->first_ts = f->ended_ns = f->bytes_total = 0;
	f->decided = f->ended = f->any_payload = 0;
	f->isn = isn;
	return f;
}

void gp_tagger_conn(struct gp_tagger *t, const struct gp_conn *c, uint64_t now_ns)
{
	struct gp_flow_tuple k;
	struct pending *p;
	struct uflow *f;
	unsigned dir = c->dir < GP_DIR_MAX ? c->dir : GP_DIR_OUTBOUND;

	clock_at(t, now_ns);
	/* No SYN at TC (or no connection at all): nothing will come to wait for. */
	if (!c->has_flow || c->result != GP_RES_ESTABLISHED) {
		emit_untracked(t, c);
		return;
	}
	tuple_of_conn(c, &k);
	f = flow_for(t, &k, c->flow_isn);
	if (!f) {
		emit_untracked(t, c);
		return;
	}
	f->sweep_gen = t->sweep_gen;
	if (f->decided) {
		struct gp_conn copy = *c;

		emit(t, f, &copy, f->res);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		emit_untracked(t, c);
		return;
	}
	/* The same 4-tuple again in the same direction: the older one waited long enough. */
	if (f->pend[dir]) {
		struct pending *old = f->pend[dir];

		f->pend[dir] = NULL;
		dequeue(t, old);
		emit_untracked(t, &old->c);
		free(old);
	}
	p->c = *c;
	p->flow = f;
	p->deadline = now_ns + t->tag_wait_ns;
	gp_dlist_append(&t->queue, &p->q);
	f->pend[dir] = p;
}

void gp_tagger_payload(struct gp_tagger *t, const struct gp_payload_event *h,
		       const uint8_t *data, uint64_t now_ns)
{
	struct gp_flow_tuple k = h->flow;
	struct uflow *f;

	clock_at(t, now_ns);
	k._pad = 0;
	f = flow_for(t, &k, h->isn);
	if (!f)
		return;
	f->sweep_gen = t->sweep_gen;
	if (h->bytes > f->bytes_total)
		f->bytes_total = h->bytes;
	if (h->type == GP_EV_FLOW_END) {
		if (!f->ended)
			f->ended_ns = now_ns;
		f->ended = 1;
		try_decide(t, f, 1);
		credit(t, f);
		if (f->decided)
			elist_add(t, f);
		return;
	}
	if (!f->first_ts)
		f->first_ts = h->ts_ns;
	f->any_payload = 1;
	if (!f->decided && h->len && h->off < GP_FIRST_PAYLOAD_MAX) {
		uint32_t len = h->len;

		if (len > GP_FIRST_PAYLOAD_MAX - h->off)
			len = GP_FIRST_PAYLOAD_MAX - h->off;
		if (!f->st)
			f->st = calloc(1, sizeof(*f->st));
		if (f->st) {
			reassemble(f, h->off, data, len);
			try_decide(t, f, 0);
		}
	}
	gp_tls_hs_feed(&f->hs, h->off, data, h->len, h->ts_ns);
	credit(t, f);
}

void gp_tagger_flow_bytes(struct gp_tagger *t, const struct gp_flow_tuple *ft, uint32_t isn,
			  uint64_t total)
{
	struct gp_flow_tuple k = *ft;
	struct uflow *f;

	k._pad = 0;
	f = find(t, &k, 0);
	/* Another connection on the same 4-tuple: its records will say so. */
	if (!f || f->isn != isn)
		return;
	f->sweep_gen = t->sweep_gen;
	if (total > f->bytes_total)
		f->bytes_total = total;
	credit(t, f);
}

unsigned gp_tagger_dirs(const struct gp_tagger *t, const struct gp_flow_tuple *ft, uint32_t isn)
{
	struct gp_flow_tuple k = *ft;
	const struct uflow *f;
	unsigned d, mask = 0;

	k._pad = 0;
	f = lookup(t, &k, gp_hash_bytes(&k, sizeof(k)));
	if (!f || f->isn != isn)
		return 0;
	for (d = 0; d < GP_DIR_MAX; d++)
		if (f->pend[d] || f->joined[d].used)
			mask |= 1u << d;
	return mask;
}

const char *gp_tagger_sni(const struct gp_tagger *t, const struct gp_flow_tuple *ft, uint32_t isn)
{
	struct gp_flow_tuple k = *ft;
	const struct uflow *f;

	k._pad = 0;
	f = lookup(t, &k, gp_hash_bytes(&k, sizeof(k)));
	return f && f->isn == isn && f->res && f->res->sni ? f->res->sni : "";
}

void gp_tagger_sweep_begin(struct gp_tagger *t)
{
	t->sweep_gen++;
}

static void expire(struct gp_tagger *t, uint64_t now_ns)
{
	struct pending *p;

	while ((p = queue_first(t)) && p->deadline <= now_ns) {
		struct uflow *f = p->flow;

		t->stats.waited_out++;
		try_decide(t, f, 1);
		/* Out of memory in try_decide: let this one go untagged. */
		p = queue_first(t);
		if (p && p->flow == f && !f->decided) {
			f->pend[p->c.dir < GP_DIR_MAX ? p->c.dir : 0] = NULL;
			dequeue(t, p);
			emit_untracked(t, &p->c);
			free(p);
		}
	}
}

struct sweep {
	struct gp_tagger *t;
	uint64_t now_ns;
};

/* Undecided flows nobody waits for: the kernel forgot them or they ended. */
static void sweep_node(void *ctx, struct gp_hnode *x)
{
	struct sweep *s = ctx;
	struct gp_tagger *t = s->t;
	struct uflow *f = gp_container_of(x, struct uflow, h);
	int waiting = f->pend[GP_DIR_OUTBOUND] || f->pend[GP_DIR_INBOUND];
	int gone = f->sweep_gen != t->sweep_gen;
	int closed = f->ended && s->now_ns - f->ended_ns >= t->tag_wait_ns;

	if (waiting || !(gone || closed))
		return;
	gp_htab_del(&t->flows, x);
	elist_del(t, f);
	credit(t, f);
	flow_free(f);
}

void gp_tagger_tick(struct gp_tagger *t, uint64_t now_ns, int after_sweep)
{
	struct sweep s = { t, now_ns };
	struct uflow *f;

	clock_at(t, now_ns);
	expire(t, now_ns);
	ep_expire(t);
	/*
	 * Ended flows go after a short grace for an outcome racing their end
	 * (the ring buffer keeps order, so it is rare): memory follows live
	 * flows, not the last sweep.
	 */
	while ((f = ended_first(t)) && now_ns - f->ended_ns >= GP_TAGGER_END_GRACE_NS) {
		elist_del(t, f);
		if (f->pend[GP_DIR_OUTBOUND] || f->pend[GP_DIR_INBOUND])
			continue;
		gp_htab_del(&t->flows, &f->h);
		credit(t, f);
		flow_free(f);
	}
	if (after_sweep)
		gp_htab_each(&t->flows, sweep_node, &s);
}

static void decide_node(void *ctx, struct gp_hnode *x)
{
	try_decide(ctx, gp_container_of(x, struct uflow, h), 1);
}

void gp_tagger_flush(struct gp_tagger *t)
{
	gp_htab_each(&t->flows, decide_node, t);
	expire(t, UINT64_MAX);
}

void gp_tagger_stats(const struct gp_tagger *t, struct gp_tagger_stats *out)
{
	*out = t->stats;
	out->flows = t->flows.n;
	out->endpoints = t->eps.n;
}

void gp_flow_tuple_from_key(const struct gp_flow_key *k, const struct gp_flow_val *v,
			    struct gp_flow_tuple *out)
{
	int c = v->client ? 1 : 0;

	memset(out, 0, sizeof(*out));
	memcpy(out->saddr, k->addr[c], 16);
	memcpy(out->daddr, k->addr[!c], 16);
	out->sport = k->port[c];
	out->dport = k->port[!c];
	out->family = k->family;
}
