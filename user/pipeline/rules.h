/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_RULES_H
#define GP_RULES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "grayprobe.h"	/* GP_TAG_MAX (32) */

/*
 * Gray rules: which "gray" label (canary, stable, ...) a TCP flow gets, from
 * what is known about it (addresses, ports, ALPN, SNI, HTTP/1 headers). Pure
 * user space: no BPF, no root, no output (errors go to the caller's buffer).
 *
 * Rules text format (--rule flags and rules files):
 *
 * # comment to end of line; blank lines ignored; one rule per line.
 * # A rule is one or more conditions, all of which must match, then "= LABEL".
 * # The first rule that matches decides; no match -> gray="stable".
 * header NAME [~ GLOB[,GLOB...]] [= LABEL]
 *                         HTTP/1 request header NAME (case-insensitive); gray is LABEL,
 *                         or, without "= LABEL", the header's value (sanitized, <= 32 bytes).
 *                         A header with an empty value does not match. With "~", only a
 *                         value that one GLOB matches (fnmatch(3), case-sensitive) does:
 *                         any other value is rejected (counted) and the next rule decides.
 * sni GLOB = LABEL        TLS server_name matches GLOB (fnmatch(3) with FNM_CASEFOLD, '*' also
 *                         matches dots), e.g. *.canary.example.com
 * alpn VALUE = LABEL      the flow's alpn label equals VALUE exactly (h2, http/1.1, h2c, tls, unknown, none)
 * dst CIDR = LABEL        server address in CIDR (IPv4 or IPv6; a bare address is /32 or /128)
 * src CIDR = LABEL        client address in CIDR
 * dport PORT[-PORT] = LABEL   server port or inclusive range 1..65535
 * sport PORT[-PORT] = LABEL   client port or range
 * no-defaults             (alone on a line) do not append the default header rules
 *
 * Conditions combine on one line, e.g. `dst 198.18.0.0/15 dport 443 = canary`,
 * or `sni *.canary.example.com header x-user = beta`. A rule without
 * "= LABEL" is valid only when it contains a header condition: the label is
 * that header's value (the first header condition's, if several).
 * LABEL is 1..32 bytes of [A-Za-z0-9._:/+-]; `other` is reserved, as it is
 * the tag outcomes are folded into past --max-tags. Keywords are lowercase.
 * At most GP_RULES_MAX rules (the defaults not counted) of at most
 * GP_RULE_CONDS_MAX conditions; lines of at most GP_RULE_LINE_MAX bytes.
 *
 * Unless `no-defaults` appears anywhere (a file or a --rule flag), these
 * rules follow the user's, in this order:
 *   header x-gray, header x-canary, header x-traffic-tag, header x-envoy-gray,
 *   header x-release-stage
 *
 * Details:
 * - Tokens are separated by spaces and tabs; "=" is a token of its own. A
 *   '#' that starts a token starts a comment. Outside comments only
 *   printable ASCII is allowed; a final CR (CRLF files) is ignored.
 * - header: NAME is an HTTP token (RFC 9110) of at most 32 bytes, kept in
 *   lowercase. Only complete header lines count (gp_http1_header). A value
 *   that would become the label and is exactly "other" does not match:
 *   it would be indistinguishable from the --max-tags overflow.
 * - header ~: the list is one token (no blanks), entries separated by ','
 *   and never empty; an entry without * ? [ \ is a literal, longer than 32
 *   bytes is refused (it could never match a value). A default header rule
 *   (see above) is left out when a rule restricts that header with '~':
 *   it would take as the label every value the restricted rule rejected.
 * - sni: a flow without server_name never matches (not even `*`). The
 *   server_name is the sanitized one: a non-printable byte is \xHH.
 * - GLOB (sni, header ~) is checked as fnmatch(3) would read it: a '['
 *   never closed, a final lone backslash, an unknown [:class:], [= and [.
 *   and a reversed range (z-a) are errors, not silently literal or empty.
 * - Pinned tags: a gray from "= LABEL", from a literal '~' entry, or
 *   "stable" (no rule matched) is fixed by the rule set, not chosen by a
 *   client, and gp_rules_eval says so (GP_GRAY_FIXED): the aggregation
 *   never retires such tags and admits them past --max-tags (agg.h).
 * - dst/src: host bits are cleared (198.18.0.1/15 is 198.18.0.0/15); an
 *   IPv4-mapped ::ffff:a.b.c.d/96+N is the IPv4 CIDR a.b.c.d/N, since
 *   mapped addresses arrive as IPv4. An IPv4 CIDR never matches an IPv6
 *   address and vice versa.
 * - PORT is decimal, 1..65535; a range is inclusive and not reversed.
 */

#define GP_RULES_MAX		4096
#define GP_RULE_CONDS_MAX	16
#define GP_RULE_LINE_MAX	4096
#define GP_RULES_ERRORS_MAX	20	/* errors of one file listed one by one */
#define GP_RULES_ERR_MAX	1024	/* one error message, longer ones are cut */

struct gp_rules;	/* opaque, immutable once built */

/* What the rules see about one flow. Addresses in network order, IPv4 in the first 4 bytes. */
struct gp_flow_facts {
	int family;			/* AF_INET or AF_INET6 */
	const uint8_t *saddr;		/* client */
	const uint8_t *daddr;		/* server */
	uint16_t sport, dport;		/* host order */
	const char *alpn;		/* the alpn label, never NULL */
	const char *sni;		/* "" if none */
	const uint8_t *http_hdrs;	/* HTTP/1 header block (see gp_http1_header in payload.h) or NULL */
	size_t http_hdrs_len;
};

struct gp_gray {
	char gray[GP_TAG_MAX + 1];	/* "stable" when no rule matched */
	/*
	 * The header name (lowercase, as written in the rule) that decided: the
	 * deciding rule's first header condition, "" if it has none.
	 */
	char marker[GP_TAG_MAX + 1];
	int rule;			/* 0-based index of the deciding rule, -1 for none */
	unsigned flags;			/* GP_GRAY_* */
};

/* gray is bounded by the rule set: a fixed label, a literal '~' entry or "stable". */
#define GP_GRAY_FIXED		1u
/* A header value was outside a rule's '~' list (that rule did not match). */
#define GP_GRAY_REJECTED	2u

struct gp_rules_builder;
/* NULL (errno ENOMEM) when out of memory. */
struct gp_rules_builder *gp_rules_builder_new(void);
/*
 * Add one line (from a --rule flag or a file). origin/line are used only in
 * the error text: "ORIGIN:LINE: message" (e.g. "/etc/grayprobe/rules:7:
 * dport: 70000 is not a port 1..65535"; line 0 gives "ORIGIN: message", as
 * for origin "--rule"). Returns 0, or -EINVAL (-ENOMEM) with err filled; a
 * failed line leaves the builder as it was.
 */
int gp_rules_add_line(struct gp_rules_builder *b, const char *text, const char *origin,
		      unsigned line, char *err, size_t errlen);
/*
 * Every line of a file (1-based line numbers in errors; the last line may
 * lack its '\n'; a NUL byte is an error). Every line is checked, and every
 * bad one is listed in err, one "PATH:LINE: message" per line, separated by
 * '\n' (no final one): the first GP_RULES_ERRORS_MAX that fit whole (the
 * first one always, cut if need be), then "PATH: N more errors" for the
 * rest. One bad line fails the whole file and nothing from it is kept: the
 * builder is left as before the call. An unreadable file gives
 * "PATH: strerror". Returns 0 or the first error's negative errno.
 */
int gp_rules_add_file(struct gp_rules_builder *b, const char *path, char *err, size_t errlen);
/*
 * Appends the defaults unless no-defaults was seen; consumes b (freed even
 * on failure). NULL (errno set) on failure.
 */
struct gp_rules *gp_rules_build(struct gp_rules_builder *b);
void gp_rules_builder_free(struct gp_rules_builder *b);	/* NULL-safe */
void gp_rules_free(struct gp_rules *r);				/* NULL-safe */
size_t gp_rules_count(const struct gp_rules *r);
/* Whether any rule needs HTTP headers (so callers can skip header work otherwise). */
int gp_rules_want_headers(const struct gp_rules *r);
/* r NULL behaves as no rules: gray "stable". */
void gp_rules_eval(const struct gp_rules *r, const struct gp_flow_facts *f, struct gp_gray *out);
/*
 * One rule per line, numbered from 1, normalized, e.g. for `grayprobe run -v`:
 * "1: dst 198.18.0.0/15 dport 443 = canary". Defaults are listed too.
 */
void gp_rules_print(const struct gp_rules *r, FILE *f);

#endif
