/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_AGG_H
#define GP_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/event.h"
#include "pipeline/hist.h"
#include "pipeline/tls.h"

#define GP_MAX_TAGS_DEFAULT	64
#define GP_MAX_TAGS_LIMIT	4096
#define GP_OVERFLOW_TAG		"other"
/* Pinned tags per direction at most: 512 fixed grays with each pinned ALPN. */
#define GP_PINNED_TAGS_MAX	4096
#define GP_PINNED_ALPNS		8	/* ALPN labels a pinned tag may have (agg.c) */
#define GP_TAG_IDLE_DEFAULT_S	600	/* --tag-idle */
#define GP_TAG_IDLE_MAX_S	(7 * 86400)
/* Reasons of grayprobe_requests_undecoded_total: enum gp_http_lost (decode/http.h). */
#define GP_REQ_UNDECODED_MAX	16

/* Everything grayprobe knows about one (direction, alpn, gray). */
struct gp_tag_stats {
	uint8_t dir;			/* enum gp_direction */
	char alpn[GP_TAG_MAX + 1];
	char gray[GP_TAG_MAX + 1];
	uint64_t buckets[GP_HIST_SLOTS];	/* non-cumulative, established only */
	uint64_t sum_ns;
	uint64_t results[GP_RES_MAX];
	uint64_t bytes;			/* TCP payload bytes of the tag's flows */
	uint64_t hs_buckets[GP_HIST_SLOTS];	/* TLS handshakes (gp_agg_add_handshake) */
	uint64_t hs_sum_ns;
	uint8_t pinned;			/* never retired, outside --max-tags (see below) */
};

/*
 * Request outcomes: the `code` label of grayprobe_http_requests_total. A
 * status class, reset (stream or connection reset, or closed, before a
 * response), or none (no response within --request-timeout).
 */
enum gp_req_code {
	GP_CODE_1XX, GP_CODE_2XX, GP_CODE_3XX, GP_CODE_4XX, GP_CODE_5XX,
	GP_CODE_RESET, GP_CODE_NONE, GP_CODE_MAX,
};
/* gRPC status codes 0 (OK) .. 16 (UNAUTHENTICATED); reset/none as for HTTP. */
#define GP_GRPC_STATUS_N	17
enum gp_grpc_slot {
	GP_GRPC_RESET = GP_GRPC_STATUS_N,	/* the call's stream reset, no status */
	GP_GRPC_NONE,				/* no status within --request-timeout */
	GP_GRPC_SLOTS,
};
const char *gp_req_code_name(unsigned code);		/* "2xx", "reset", "none" */
const char *gp_grpc_slot_name(unsigned slot);		/* "OK", "UNAVAILABLE", "reset", "none" */

/*
 * Everything known about the requests of one (direction, alpn, gray), or
 * with grpc set, of the gRPC calls of one (direction, gray): alpn is then
 * "". Latency is request's first byte -> its response's first byte.
 */
struct gp_req_stats {
	uint8_t dir;			/* enum gp_direction */
	uint8_t grpc;
	uint8_t pinned;
	char alpn[GP_TAG_MAX + 1];
	char gray[GP_TAG_MAX + 1];
	uint64_t codes[GP_CODE_MAX];		/* !grpc */
	uint64_t grpc_status[GP_GRPC_SLOTS];	/* grpc */
	uint64_t buckets[GP_HIST_SLOTS];	/* requests that got a response */
	uint64_t sum_ns;
};

struct gp_agg;

/*
 * Tags per direction:
 * - dynamic: at most max_tags (--max-tags) distinct (alpn, gray) whose gray
 *   a client chose (a header's value). Past the cap an outcome is folded
 *   into the overflow tag (other, other) and counted. A dynamic tag unused
 *   (no outcome, no bytes) for the idle time gp_agg_retire is given is
 *   removed: its series leave the textfile, and a new tag can take its
 *   place, so a burst of made-up values does not hold the cap for good.
 * - pinned: the gray is fixed by the rule set (GP_GRAY_FIXED: "= LABEL",
 *   a literal "~" entry, "stable"), and the ALPN is one of GP_PINNED_ALPNS
 *   labels (h2, http/1.1, http/1.0, h2c, tls, unknown, none, other). Never
 *   retired, never counted against max_tags, at most GP_PINNED_TAGS_MAX. A
 *   fixed gray with another ALPN is a dynamic tag while the cap has room,
 *   else it is folded into (other, GRAY): random ALPN offers cannot keep a
 *   fixed-gray canary out either. So pinned tags per direction are at most
 *   GP_PINNED_ALPNS x the fixed grays the rules can produce (and the rules
 *   a reload replaced: pinned stays pinned).
 * - the overflow tag, once something was folded; never retired.
 */
struct gp_agg *gp_agg_new(unsigned max_tags);
void gp_agg_free(struct gp_agg *agg);
void gp_agg_record(struct gp_agg *agg, const struct gp_conn *c);
/*
 * A finished request (pipeline/request.h): its (dir, alpn, gray) series and,
 * for gRPC, its (dir, gray) one; undecoded ones counted by reason, those
 * without a knowable status only there. Requests are tags of their own set
 * under the same rules: max_tags dynamic ones per direction (HTTP and gRPC
 * series together), pinned ones, folding into (other, other), or for gRPC
 * ("", other), counted in req_overflow.
 */
struct gp_request;
void gp_agg_record_request(struct gp_agg *agg, const struct gp_request *r);
/* Flow bytes for the tag an outcome got (gray_flags: its GP_GRAY_*), folded the same way. */
void gp_agg_add_bytes(struct gp_agg *agg, unsigned dir, const char *alpn, const char *gray,
		      unsigned gray_flags, uint64_t bytes);
/* A TLS handshake's time (tagger.h) for the tag its outcome got, folded as bytes are. */
void gp_agg_add_handshake(struct gp_agg *agg, unsigned dir, const char *alpn, const char *gray,
			  unsigned gray_flags, uint64_t ns);
/*
 * The clock is the caller's (now_ns, e.g. CLOCK_MONOTONIC): a tag used since
 * the last call was seen now; dynamic tags not seen for idle_ns or more are
 * removed (idle_ns 0: none). Call it periodically, at least a few times
 * per idle_ns; never from a snapshot. Returns how many were removed.
 */
size_t gp_agg_retire(struct gp_agg *agg, uint64_t now_ns, uint64_t idle_ns);

/* The last outcome folded, for a warning; count is 0 while none was. */
struct gp_agg_fold {
	uint64_t count;			/* outcomes folded so far */
	unsigned dir, max_tags;
	char alpn[GP_TAG_MAX + 1], gray[GP_TAG_MAX + 1];	/* its tag */
	char to_alpn[GP_TAG_MAX + 1], to_gray[GP_TAG_MAX + 1];	/* where it was counted */
};
void gp_agg_last_fold(const struct gp_agg *agg, struct gp_agg_fold *out);

/* What a renderer sees: a consistent copy, tags sorted by (dir, alpn, gray). */
struct gp_snapshot {
	const char *version;
	const char *connect_hook;
	const char *state_hook;
	uint64_t events;		/* outcomes received from the kernel */
	uint64_t lost_ringbuf;
	uint64_t lost_track;
	uint64_t lost_malformed;	/* records the loader could not decode */
	uint64_t lost_payload;		/* payload records the ring buffer refused */
	uint64_t lost_l7;		/* HTTP records the ring buffer refused */
	uint64_t pkt_malformed;		/* packets the classifier skipped */
	uint64_t tags_overflow;		/* outcomes folded into alpn "other" (struct gp_agg_fold) */
	uint64_t tags_retired;		/* tags removed by gp_agg_retire */
	uint64_t gray_rejected;		/* outcomes whose header value a "~" list refused */
	uint64_t textfile_errors;	/* failed textfile rewrites so far */
	size_t n_tags;
	struct gp_tag_stats *tags;
	/* Requests: sorted by (dir, grpc, alpn, gray); same --max-tags cap and overflow. */
	size_t n_reqs;
	struct gp_req_stats *reqs;
	/* Requests counted under gray "unknown", by direction and GP_HTTP_LOST_* reason. */
	uint64_t req_undecoded[GP_DIR_MAX][GP_REQ_UNDECODED_MAX];
	uint64_t req_overflow;		/* requests folded into the overflow tag */
	uint64_t req_unattributed;	/* requests of flows no socket outcome claims */
	/* Not followed, not counted elsewhere: the pipeline's, not the aggregate's. */
	uint64_t l7_conns_dropped;	/* HTTP records of connections the L7 table had no room for */
	uint64_t l7_bad_records;	/* HTTP records that contradicted their unit */
	uint64_t req_open_dropped;	/* requests not followed: GP_REQ_OPEN_MAX open already */
	/* TLS plaintext: the kernel's losses, the pipeline's sessions. */
	uint64_t lost_tls;		/* records the ring buffer refused */
	struct gp_tls_stats tls;
};

/* qsort order of struct gp_tag_stats: direction, then alpn, then gray. */
int gp_tag_cmp(const void *a, const void *b);

/* qsort order of struct gp_req_stats: direction, grpc, alpn, gray. */
int gp_req_cmp(const void *a, const void *b);

/* Fills snap (tags allocated); the caller sets version/hooks/lost counts. */
int gp_agg_snapshot(const struct gp_agg *agg, struct gp_snapshot *snap);
void gp_snapshot_release(struct gp_snapshot *snap);

#endif
