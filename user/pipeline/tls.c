// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode/plain.h"
#include "pipeline/tls.h"
#include "util/dlist.h"
#include "util/htab.h"

struct skey {
	uint32_t pid;
	uint32_t _pad;
	uint64_t sess;
};

struct fkey {
	struct gp_flow_tuple flow;	/* _pad zeroed */
	uint32_t isn;
};

struct sess {
	struct skey key;
	struct fkey fk;
	struct gp_hnode node;		/* t->sessions */
	struct gp_hnode fnode;		/* t->owners, with plain */
	struct gp_dlink lru;		/* t->lru, by last record */
	struct gp_plain *plain;		/* NULL: its records are not decoded */
	unsigned result;		/* without plain: what its records count as */
	uint64_t last_ns;
};

struct gp_tls {
	struct gp_l7 *l7;
	struct gp_htab sessions, owners;
	struct gp_dlist lru;
	struct gp_tls_stats st;
};

static const char *const result_names[GP_TLS_R_MAX] = {
	[GP_TLS_R_DECODED] = "decoded",
	[GP_TLS_R_OTHER_END] = "other_end",
	[GP_TLS_R_NO_FLOW] = "no_flow",
	[GP_TLS_R_NOT_HTTP] = "not_http",
	[GP_TLS_R_TABLE_FULL] = "table_full",
};

const char *gp_tls_result_name(unsigned r)
{
	return r < GP_TLS_R_MAX ? result_names[r] : "?";
}

struct gp_tls *gp_tls_new(struct gp_l7 *l7)
{
	struct gp_tls *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->l7 = l7;
	if (gp_htab_init(&t->sessions, 64) || gp_htab_init(&t->owners, 64)) {
		gp_tls_free(t);
		return NULL;
	}
	return t;
}

static void sess_drop(struct gp_tls *t, struct sess *s)
{
	gp_htab_del(&t->sessions, &s->node);
	if (s->plain) {
		gp_htab_del(&t->owners, &s->fnode);
		gp_plain_free(s->plain);
	}
	gp_dlist_del(&t->lru, &s->lru);
	free(s);
}

void gp_tls_free(struct gp_tls *t)
{
	if (!t)
		return;
	while (t->lru.head)
		sess_drop(t, gp_container_of(t->lru.head, struct sess, lru));
	gp_htab_release(&t->sessions);
	gp_htab_release(&t->owners);
	free(t);
}

static void skey_of(struct skey *k, const struct gp_tls_event *h)
{
	memset(k, 0, sizeof(*k));
	k->pid = h->pid;
	k->sess = h->sess;
}

static void fkey_of(struct fkey *k, const struct gp_tls_event *h)
{
	memset(k, 0, sizeof(*k));
	k->flow = h->flow;
	k->flow._pad = 0;
	k->isn = h->isn;
}

static struct sess *sess_find(const struct gp_tls *t, const struct skey *k, uint32_t hash)
{
	struct gp_hnode *n;

	for (n = gp_htab_chain(&t->sessions, hash); n; n = n->next) {
		struct sess *s = gp_container_of(n, struct sess, node);

		if (n->hash == hash && !memcmp(&s->key, k, sizeof(*k)))
			return s;
	}
	return NULL;
}

static int owned(const struct gp_tls *t, const struct fkey *k, uint32_t hash)
{
	struct gp_hnode *n;

	for (n = gp_htab_chain(&t->owners, hash); n; n = n->next) {
		struct sess *s = gp_container_of(n, struct sess, fnode);

		if (n->hash == hash && !memcmp(&s->fk, k, sizeof(*k)))
			return 1;
	}
	return 0;
}

/* A new session: decoded if it is joined and the first of its flow here. */
static struct sess *sess_new(struct gp_tls *t, const struct gp_tls_event *h,
			     const struct skey *k, uint32_t hash)
{
	struct sess *s;
	uint32_t fh;

	if (t->sessions.n >= GP_TLS_SESS_MAX || !(s = calloc(1, sizeof(*s))))
		return NULL;
	s->key = *k;
	fkey_of(&s->fk, h);
	fh = gp_hash_bytes(&s->fk, sizeof(s->fk));
	if (!(h->flags & GP_TLS_F_JOINED))
		s->result = GP_TLS_R_NO_FLOW;
	else if (owned(t, &s->fk, fh) || gp_l7_known(t->l7, &s->fk.flow, s->fk.isn))
		/* Another session decodes it, or did: its walk cannot be continued by this one. */
		s->result = GP_TLS_R_OTHER_END;
	else if ((s->plain = gp_plain_new()))
		gp_htab_add(&t->owners, &s->fnode, fh);
	else
		s->result = GP_TLS_R_TABLE_FULL;
	gp_htab_add(&t->sessions, &s->node, hash);
	gp_dlist_append(&t->lru, &s->lru);
	return s;
}

static void to_l7(void *ctx, const struct gp_l7_event *h, const uint8_t *data)
{
	struct gp_tls *t = ctx;
	struct gp_l7_event e = *h;

	e.flags |= GP_L7_F_TLS;
	gp_l7_record(t->l7, &e, data);
}

static unsigned feed(struct gp_tls *t, struct sess *s, const struct gp_tls_event *h,
		     const uint8_t *data, uint64_t ts_ns)
{
	struct gp_l7_event tmpl = {
		.type = GP_EV_L7, .ts_ns = ts_ns, .flow = s->fk.flow, .isn = s->fk.isn,
		.dir = h->dir,
	};

	if (gp_plain_feed(s->plain, &tmpl, h->off, data, h->len, h->total,
			  !!(h->flags & GP_TLS_F_FIRST), to_l7, t))
		return GP_TLS_R_TABLE_FULL;
	return gp_plain_proto(s->plain, h->dir) == GP_L7P_NONE ? GP_TLS_R_NOT_HTTP :
								  GP_TLS_R_DECODED;
}

void gp_tls_record(struct gp_tls *t, const struct gp_tls_event *h, const uint8_t *data,
		   uint64_t ts_ns)
{
	struct skey k;
	uint32_t hash;
	struct sess *s;
	struct fkey fk;

	skey_of(&k, h);
	hash = gp_hash_bytes(&k, sizeof(k));
	s = sess_find(t, &k, hash);
	if (h->flags & GP_TLS_F_CLOSE) {
		if (s)
			sess_drop(t, s);
		return;
	}
	fkey_of(&fk, h);
	/* The kernel starts a session afresh when its SSL * meets another socket. */
	if (s && (h->flags & GP_TLS_F_FIRST) && memcmp(&fk, &s->fk, sizeof(fk))) {
		sess_drop(t, s);
		s = NULL;
	}
	if (!s && !(s = sess_new(t, h, &k, hash))) {
		t->st.records[GP_TLS_R_TABLE_FULL]++;
		return;
	}
	gp_dlist_del(&t->lru, &s->lru);
	gp_dlist_append(&t->lru, &s->lru);
	if (ts_ns > s->last_ns)
		s->last_ns = ts_ns;
	t->st.records[s->plain ? feed(t, s, h, data, ts_ns) : s->result]++;
}

void gp_tls_expire(struct gp_tls *t, uint64_t now_ns, uint64_t idle_ns)
{
	while (t->lru.head) {
		struct sess *s = gp_container_of(t->lru.head, struct sess, lru);

		if (s->last_ns + idle_ns > now_ns)
			break;
		sess_drop(t, s);
	}
}

void gp_tls_stats(const struct gp_tls *t, struct gp_tls_stats *out)
{
	*out = t->st;
	out->sessions = t->sessions.n;
}
