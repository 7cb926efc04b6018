// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE	/* FNM_CASEFOLD */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pipeline/payload.h"
#include "util/parse.h"
#include "pipeline/rules.h"

enum cond_kind { C_HEADER, C_SNI, C_ALPN, C_DST, C_SRC, C_DPORT, C_SPORT, C_KINDS };

static const char *const kw_names[C_KINDS] = {
	"header", "sni", "alpn", "dst", "src", "dport", "sport",
};
static const char *const arg_names[C_KINDS] = {
	"NAME", "GLOB", "VALUE", "CIDR", "CIDR", "PORT[-PORT]", "PORT[-PORT]",
};

static const char *const default_headers[] = {
	"x-gray", "x-canary", "x-traffic-tag", "x-envoy-gray", "x-release-stage",
};

struct cond {
	enum cond_kind kind;
	union {
		struct {
			char *str;	/* C_HEADER (lowercase), C_SNI, C_ALPN */
			/* C_HEADER with '~': the accepted globs, each NUL-ended, then "" */
			char *accept;
		};
		struct {
			int family;
			unsigned prefix;
			uint8_t addr[16];	/* host bits cleared */
		} net;			/* C_DST, C_SRC */
		struct {
			uint16_t lo, hi;
		} port;			/* C_DPORT, C_SPORT */
	};
};

struct rule {
	struct cond cond[GP_RULE_CONDS_MAX];
	unsigned n;
	int label_from;		/* condition whose header value is the label, or -1 */
	int marker;		/* first header condition, or -1 */
	char label[GP_TAG_MAX + 1];
};

struct gp_rules_builder {
	struct rule *rule;
	size_t n, cap;
	int no_defaults;
};

struct gp_rules {
	struct rule *rule;
	size_t n;
	int want_headers;
};

/* Where a line came from, for "ORIGIN:LINE: message". */
struct ctx {
	const char *origin;
	unsigned line;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4)))
static int fail(const struct ctx *x, int rc, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (!x->err || !x->errlen)
		return rc;
	if (x->origin && x->origin[0])
		n = x->line ? snprintf(x->err, x->errlen, "%s:%u: ", x->origin, x->line)
			    : snprintf(x->err, x->errlen, "%s: ", x->origin);
	if (n < 0 || (size_t)n >= x->errlen)
		return rc;
	va_start(ap, fmt);
	vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- parsing ------------------------------------------------------------ */

static void rule_free(struct rule *r)
{
	unsigned i;

	for (i = 0; i < r->n; i++) {
		struct cond *c = &r->cond[i];

		if (c->kind == C_HEADER || c->kind == C_SNI || c->kind == C_ALPN) {
			free(c->str);
			free(c->accept);
		}
	}
	r->n = 0;
}

/*
 * The next token of *pp, NUL-terminated in place: 1, 0 at the end of the
 * line (or at a comment), or -EINVAL for a byte that is not printable ASCII.
 */
static int next_tok(char **pp, char **tok, const struct ctx *x)
{
	char *p = *pp;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p || *p == '#') {
		*pp = p;
		return 0;
	}
	*tok = p;
	for (; *p && *p != ' ' && *p != '\t'; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			return fail(x, -EINVAL, "byte 0x%02x is not allowed outside a comment",
				    (unsigned char)*p);
	if (*p)
		*p++ = '\0';
	*pp = p;
	return 1;
}

/* ASCII whatever the locale. */
static int alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int label_char(char c)
{
	return alnum(c) || (c && strchr("._:/+-", c));
}

static int check_label(const char *l, const struct ctx *x)
{
	const char *p;

	if (strlen(l) > GP_TAG_MAX)
		return fail(x, -EINVAL, "label '%s' is longer than %d bytes", l, GP_TAG_MAX);
	for (p = l; *p; p++)
		if (!label_char(*p))
			return fail(x, -EINVAL,
				    "label '%s': '%c' is not allowed (only A-Z a-z 0-9 . _ : / + -)",
				    l, *p);
	if (!strcmp(l, "other"))
		return fail(x, -EINVAL,
			    "label 'other' is reserved (it tags what overflows --max-tags)");
	return 0;
}

/* RFC 9110 tchar. */
static int tchar(char c)
{
	return alnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int parse_header(char *a, struct cond *c, const struct ctx *x)
{
	char *p;

	for (p = a; *p; p++)
		if (!tchar(*p))
			return fail(x, -EINVAL, "header: '%s' is not a header name ('%c')", a, *p);
	/* The name is reported as the marker, which holds a tag. */
	if (p - a > GP_TAG_MAX)
		return fail(x, -EINVAL, "header: name '%s' is longer than %d bytes", a,
			    GP_TAG_MAX);
	c->str = strdup(a);
	if (!c->str)
		return fail(x, -ENOMEM, "out of memory");
	for (p = c->str; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

/* The character classes fnmatch(3) knows in "[[:NAME:]]". */
static const char *const glob_classes[] = {
	"alnum", "alpha", "blank", "cntrl", "digit", "graph",
	"lower", "print", "punct", "space", "upper", "xdigit",
};

/* A bracket character, backslash escapes included: its value, *pp moved past it; -1 at the end. */
static int bracket_char(const char **pp)
{
	const char *p = *pp;

	if (*p == '\\')
		p++;
	if (!*p)
		return -1;
	*pp = p + 1;
	return (unsigned char)*p;
}

/* "[[:NAME:]]" at p (just past '[:'): 1 and *pp past ":]" if NAME is a class, else 0. */
static int bracket_class(const char **pp)
{
	const char *p = *pp, *end = strstr(p, ":]");
	size_t i;

	for (i = 0; end && i < sizeof(glob_classes) / sizeof(*glob_classes); i++)
		if ((size_t)(end - p) == strlen(glob_classes[i]) &&
		    !strncmp(p, glob_classes[i], (size_t)(end - p))) {
			*pp = end + 2;
			return 1;
		}
	return 0;
}

/* The bracket expression at *pp ('['), *pp moved past its ']'. */
static int check_bracket(const char *what, const char *pat, const char **pp,
			 const struct ctx *x)
{
	const char *p = *pp + 1;
	int lo, hi, first = 1;

	if (*p == '!' || *p == '^')
		p++;
	for (;; first = 0) {
		if (!*p)
			return fail(x, -EINVAL, "%s: '%s' has a '[' that is never closed", what, pat);
		if (*p == ']' && !first)
			break;
		if (p[0] == '[' && (p[1] == '=' || p[1] == '.'))
			return fail(x, -EINVAL, "%s: '%s': '[%c' is not supported", what, pat, p[1]);
		if (p[0] == '[' && p[1] == ':') {
			p += 2;
			if (!bracket_class(&p))
				return fail(x, -EINVAL, "%s: '%s' has an unknown or unclosed '[:class:]'",
					    what, pat);
			continue;
		}
		lo = bracket_char(&p);
		if (lo < 0)
			return fail(x, -EINVAL, "%s: '%s' ends in a lone backslash", what, pat);
		if (p[0] != '-' || !p[1] || p[1] == ']')
			continue;
		p++;
		hi = bracket_char(&p);
		if (hi < 0)
			return fail(x, -EINVAL, "%s: '%s' ends in a lone backslash", what, pat);
		if (hi < lo)
			return fail(x, -EINVAL, "%s: '%s' has a reversed range %c-%c", what, pat, lo, hi);
	}
	*pp = p + 1;
	return 0;
}

/*
 * What fnmatch(3) would take silently but surely not mean: a '[' never
 * closed (it would match a literal '['), a final lone backslash, an
 * unknown character class, a reversed range (it matches nothing).
 */
static int check_glob(const char *what, const char *pat, const struct ctx *x)
{
	const char *p = pat;
	int rc;

	while (*p) {
		if (*p == '\\') {
			if (!p[1])
				return fail(x, -EINVAL, "%s: '%s' ends in a lone backslash", what, pat);
			p += 2;
		} else if (*p == '[') {
			rc = check_bracket(what, pat, &p, x);
			if (rc)
				return rc;
		} else {
			p++;
		}
	}
	return 0;
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static int parse_cidr(const char *kw, char *a, struct cond *c, const struct ctx *x)
{
	char addr[INET6_ADDRSTRLEN];
	char *slash = strchr(a, '/');
	size_t alen = slash ? (size_t)(slash - a) : strlen(a);
	unsigned long prefix, max;
	unsigned i;
	int rc;

	if (alen >= sizeof(addr))
		return fail(x, -EINVAL, "%s: '%.*s' is not an IPv4 or IPv6 address", kw,
			    (int)alen, a);
	memcpy(addr, a, alen);
	addr[alen] = '\0';
	c->net.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	memset(c->net.addr, 0, sizeof(c->net.addr));
	if (inet_pton(c->net.family, addr, c->net.addr) != 1)
		return fail(x, -EINVAL, "%s: '%s' is not an IPv4 or IPv6 address", kw, addr);
	max = c->net.family == AF_INET ? 32 : 128;
	prefix = max;
	if (slash) {
		if (!slash[1])
			return fail(x, -EINVAL, "%s: '%s' has no prefix length after '/'", kw, a);
		rc = gp_parse_uint(slash + 1, 0, max, &prefix);
		if (rc == -ERANGE)
			return fail(x, -EINVAL, "%s: prefix length %s is longer than %lu (%s)", kw,
				    slash + 1, max, max == 32 ? "IPv4" : "IPv6");
		if (rc)
			return fail(x, -EINVAL, "%s: '%s' is not a prefix length", kw, slash + 1);
	}
	/* Mapped addresses reach the rules as IPv4: say it the way they arrive. */
	if (c->net.family == AF_INET6 && prefix >= 96 && !memcmp(c->net.addr, v4mapped, 12)) {
		memmove(c->net.addr, c->net.addr + 12, 4);
		memset(c->net.addr + 4, 0, 12);
		c->net.family = AF_INET;
		prefix -= 96;
	}
	c->net.prefix = (unsigned)prefix;
	for (i = 0; i < 16; i++) {
		unsigned bits = prefix > 8 * i ? (unsigned)prefix - 8 * i : 0;

		if (bits < 8)
			c->net.addr[i] &= (uint8_t)(0xff00u >> bits);
	}
	return 0;
}

static int parse_ports(const char *kw, char *a, struct cond *c, const struct ctx *x)
{
	char *dash = strchr(a, '-');
	unsigned long lo, hi;

	if (!dash) {
		if (gp_parse_uint(a, 1, 65535, &lo))
			return fail(x, -EINVAL, "%s: %s is not a port 1..65535", kw, a);
		c->port.lo = c->port.hi = (uint16_t)lo;
		return 0;
	}
	if (dash == a || !dash[1])
		return fail(x, -EINVAL, "%s: %s is not a port or a range PORT-PORT", kw, a);
	*dash = '\0';
	if (gp_parse_uint(a, 1, 65535, &lo))
		return fail(x, -EINVAL, "%s: %s is not a port 1..65535", kw, a);
	if (gp_parse_uint(dash + 1, 1, 65535, &hi))
		return fail(x, -EINVAL, "%s: %s is not a port 1..65535", kw, dash + 1);
	if (lo > hi)
		return fail(x, -EINVAL, "%s: range %lu-%lu is reversed", kw, lo, hi);
	c->port.lo = (uint16_t)lo;
	c->port.hi = (uint16_t)hi;
	return 0;
}

static int parse_arg(enum cond_kind k, char *a, struct cond *c, const struct ctx *x)
{
	c->kind = k;
	switch (k) {
	case C_HEADER:
		return parse_header(a, c, x);
	case C_ALPN:
		/* Longer can never equal an alpn label. */
		if (strlen(a) > GP_TAG_MAX)
			return fail(x, -EINVAL, "alpn: '%s' is longer than %d bytes", a,
				    GP_TAG_MAX);
		/* fallthrough */
	case C_SNI:
		if (k == C_SNI && check_glob("sni", a, x))
			return -EINVAL;
		c->str = strdup(a);
		return c->str ? 0 : fail(x, -ENOMEM, "out of memory");
	case C_DST:
	case C_SRC:
		return parse_cidr(kw_names[k], a, c, x);
	case C_DPORT:
	case C_SPORT:
		return parse_ports(kw_names[k], a, c, x);
	default:
		return fail(x, -EINVAL, "internal error: condition %d", k);
	}
}

/* A '~' entry without glob characters: it accepts exactly one value. */
static int literal(const char *glob)
{
	return !strpbrk(glob, "*?[\\");
}

/* "header NAME ~ GLOB[,GLOB...]": the list, checked, into c->accept. */
static int parse_accept(struct cond *c, const char *a, const struct ctx *x)
{
	char what[GP_TAG_MAX + 16];
	size_t n = strlen(a);
	char *p, *e;

	snprintf(what, sizeof(what), "header %s ~", c->str);
	if (c->accept)
		return fail(x, -EINVAL, "%s: one '~' list per header condition", what);
	c->accept = malloc(n + 2);
	if (!c->accept)
		return fail(x, -ENOMEM, "out of memory");
	memcpy(c->accept, a, n + 1);
	c->accept[n + 1] = '\0';	/* the empty glob that ends the list */
	for (p = c->accept;; p = e + 1) {
		e = strchr(p, ',');
		if (e)
			*e = '\0';
		if (!*p)
			return fail(x, -EINVAL, "%s: '%s' has an empty entry", what, a);
		if (check_glob(what, p, x))
			return -EINVAL;
		/* Values are cut to GP_TAG_MAX bytes: a longer literal never matches. */
		if (literal(p) && strlen(p) > GP_TAG_MAX)
			return fail(x, -EINVAL, "%s: '%s' is longer than %d bytes, a value's most",
				    what, p, GP_TAG_MAX);
		if (!e)
			return 0;
	}
}

static int lookup_kw(const char *t)
{
	int k;

	for (k = 0; k < C_KINDS; k++)
		if (!strcmp(t, kw_names[k]))
			return k;
	return -1;
}

static int unknown_kw(const char *t, const struct ctx *x)
{
	char low[16];
	size_t i, n = strlen(t);

	if (!strcmp(t, "no-defaults"))
		return fail(x, -EINVAL, "no-defaults must be alone on its line");
	if (n < sizeof(low)) {
		for (i = 0; i <= n; i++)
			low[i] = (char)tolower((unsigned char)t[i]);
		if (lookup_kw(low) >= 0 || !strcmp(low, "no-defaults"))
			return fail(x, -EINVAL, "unknown condition '%s' (keywords are lowercase)",
				    t);
	}
	return fail(x, -EINVAL, "unknown condition '%s'", t);
}

/* After "header NAME", a "~" token: its list, the next token. */
static int accept_list(char **pp, struct rule *r, const struct ctx *x)
{
	struct cond *c = r->n ? &r->cond[r->n - 1] : NULL;
	char *a;
	int rc;

	if (!c || c->kind != C_HEADER)
		return fail(x, -EINVAL, "'~' must follow header NAME");
	rc = next_tok(pp, &a, x);
	if (rc < 0)
		return rc;
	if (!rc || !strcmp(a, "=") || !strcmp(a, "~"))
		return fail(x, -EINVAL, "header %s ~: missing GLOB[,GLOB...]", c->str);
	return parse_accept(c, a, x);
}

/* A condition keyword t (or "~" after a header) and its argument, into r. */
static int parse_cond(char **pp, const char *t, struct rule *r, const struct ctx *x)
{
	char *a;
	int rc, k;

	if (!strcmp(t, "~"))
		return accept_list(pp, r, x);
	k = lookup_kw(t);
	if (k < 0)
		return unknown_kw(t, x);
	if (r->n == GP_RULE_CONDS_MAX)
		return fail(x, -EINVAL, "more than %d conditions in one rule", GP_RULE_CONDS_MAX);
	rc = next_tok(pp, &a, x);
	if (rc < 0)
		return rc;
	if (!rc || !strcmp(a, "=") || (k == C_HEADER && !strcmp(a, "~")))
		return fail(x, -EINVAL, "%s: missing %s", t, arg_names[k]);
	rc = parse_arg(k, a, &r->cond[r->n], x);
	if (rc)
		return rc;
	if (k == C_HEADER && r->marker < 0)
		r->marker = (int)r->n;
	r->n++;
	return 0;
}

/* What follows "=": the label, and nothing after it. */
static int parse_label(char **pp, struct rule *r, const struct ctx *x)
{
	char *a;
	int rc = next_tok(pp, &a, x);

	if (rc < 0)
		return rc;
	if (!rc)
		return fail(x, -EINVAL, "missing label after '='");
	rc = check_label(a, x);
	if (rc)
		return rc;
	strcpy(r->label, a);
	rc = next_tok(pp, &a, x);
	if (rc < 0)
		return rc;
	return rc ? fail(x, -EINVAL, "unexpected '%s' after the label", a) : 0;
}

/*
 * One line into *r. Returns 1 for a rule, 0 for nothing (blank, comment),
 * 2 for no-defaults, or a negative errno with the message written.
 */
static int parse_line(const char *text, size_t len, struct rule *r, const struct ctx *x)
{
	char buf[GP_RULE_LINE_MAX + 1];
	char *p = buf, *t;
	int rc;

	memset(r, 0, sizeof(*r));
	r->label_from = r->marker = -1;
	if (memchr(text, '\0', len))
		return fail(x, -EINVAL, "NUL byte in line");
	if (len && text[len - 1] == '\r')
		len--;
	if (len > GP_RULE_LINE_MAX)
		return fail(x, -EINVAL, "line longer than %d bytes", GP_RULE_LINE_MAX);
	memcpy(buf, text, len);
	buf[len] = '\0';

	rc = next_tok(&p, &t, x);
	if (rc <= 0)
		return rc;
	if (!strcmp(t, "no-defaults")) {
		rc = next_tok(&p, &t, x);
		if (rc < 0)
			return rc;
		return rc ? fail(x, -EINVAL, "no-defaults must be alone on its line") : 2;
	}
	while (rc > 0 && strcmp(t, "=")) {
		rc = parse_cond(&p, t, r, x);
		if (!rc)
			rc = next_tok(&p, &t, x);
		if (rc < 0)
			goto out;
	}
	if (!r->n)
		rc = fail(x, -EINVAL, "rule has no condition before '='");
	else if (rc > 0)		/* t is "=" */
		rc = parse_label(&p, r, x);
	else if (r->marker < 0)
		rc = fail(x, -EINVAL, "rule has no '= LABEL' and no header to take it from");
	else
		r->label_from = r->marker;
	if (!rc)
		return 1;
out:
	rule_free(r);
	return rc;
}

static int push(struct gp_rules_builder *b, struct rule *r)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 16;
		struct rule *n = realloc(b->rule, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		b->rule = n;
		b->cap = cap;
	}
	b->rule[b->n++] = *r;
	return 0;
}

static int add(struct gp_rules_builder *b, const char *text, size_t len, const struct ctx *x)
{
	struct rule r;
	int rc = parse_line(text, len, &r, x);

	if (rc == 2)
		b->no_defaults = 1;
	if (rc != 1)
		return rc < 0 ? rc : 0;
	if (b->n >= GP_RULES_MAX)
		rc = fail(x, -EINVAL, "more than %d rules", GP_RULES_MAX);
	else if (push(b, &r))
		rc = fail(x, -ENOMEM, "out of memory");
	else
		return 0;
	rule_free(&r);
	return rc;
}

/* ---- builder ------------------------------------------------------------ */

struct gp_rules_builder *gp_rules_builder_new(void)
{
	return calloc(1, sizeof(struct gp_rules_builder));
}

void gp_rules_builder_free(struct gp_rules_builder *b)
{
	if (!b)
		return;
	while (b->n)
		rule_free(&b->rule[--b->n]);
	free(b->rule);
	free(b);
}

int gp_rules_add_line(struct gp_rules_builder *b, const char *text, const char *origin,
		      unsigned line, char *err, size_t errlen)
{
	struct ctx x = { origin, line, err, errlen };

	if (!b || !text)
		return fail(&x, -EINVAL, "no rules builder or no text");
	return add(b, text, strlen(text), &x);
}

/* A file's error list in the caller's buffer: '\n'-separated, whole lines only. */
struct errlist {
	char *buf;
	size_t len, used;
	size_t reserve;		/* kept free for the "N more errors" line */
	unsigned n, shown;
};

/* The last line ("N more errors") goes in whatever the limit, cut if need be. */
static void note(struct errlist *e, const char *msg, int last)
{
	size_t n = strlen(msg), sep = e->used ? 1 : 0;

	if (!e->buf || !e->len)
		return;
	/* The first one is written even cut, as a single line's error would be. */
	if (!last && (e->shown >= GP_RULES_ERRORS_MAX ||
		      (e->shown && e->used + sep + n + e->reserve >= e->len)))
		return;
	snprintf(e->buf + e->used, e->len - e->used, "%s%s", sep ? "\n" : "", msg);
	e->used += strnlen(e->buf + e->used, e->len - e->used);
	e->shown += !last;
}

/* One line of f into buf (its '\n' dropped): its end (EOF or '\n'); *over if it did not fit. */
static int read_line(FILE *f, char *buf, size_t size, size_t *len, int *over)
{
	int c;

	*len = 0;
	*over = 0;
	while ((c = getc(f)) != EOF && c != '\n') {
		if (*len < size)
			buf[(*len)++] = (char)c;
		else
			*over = 1;
	}
	return c;
}

/* Every line of f into b, each error noted in e; the first error's code or 0. */
static int add_lines(struct gp_rules_builder *b, FILE *f, struct ctx *x, struct errlist *e)
{
	/* Room for the longest line, its CR, and one byte to see it is too long. */
	char buf[GP_RULE_LINE_MAX + 2];
	int rc = 0, lrc, c, over;
	size_t len;

	/* Every bad line is reported, so that one edit can fix them all. */
	for (;;) {
		x->line++;
		c = read_line(f, buf, sizeof(buf), &len, &over);
		if (c == EOF && ferror(f)) {
			struct ctx nx = { NULL, 0, x->err, x->errlen };	/* "PATH: why" */

			lrc = errno ? -errno : -EIO;
			fail(&nx, lrc, "%s: %s", x->origin, strerror(-lrc));
		} else if (c == EOF && !len && !over) {
			break;
		} else if (over) {
			lrc = fail(x, -EINVAL, "line longer than %d bytes", GP_RULE_LINE_MAX);
		} else {
			lrc = add(b, buf, len, x);
		}
		if (lrc) {
			rc = rc ? rc : lrc;
			e->n++;
			note(e, x->err, 0);
		}
		if (c == EOF)
			break;
	}
	return rc;
}

int gp_rules_add_file(struct gp_rules_builder *b, const char *path, char *err, size_t errlen)
{
	char msg[GP_RULES_ERR_MAX];
	struct ctx x = { path, 0, msg, sizeof(msg) };
	struct errlist e = { err, errlen, 0, 0, 0, 0 };
	size_t n0;
	int nd0, rc;
	FILE *f;

	if (err && errlen)
		err[0] = '\0';
	if (!b || !path) {
		x.err = err;
		x.errlen = errlen;
		return fail(&x, -EINVAL, "no rules builder or no path");
	}
	e.reserve = strlen(path) + 32;
	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		x.origin = NULL;
		fail(&x, rc, "%s: %s", path, strerror(-rc));
		note(&e, msg, 1);
		return rc;
	}
	n0 = b->n;
	nd0 = b->no_defaults;
	rc = add_lines(b, f, &x, &e);
	fclose(f);
	if (e.n > e.shown && e.shown) {
		snprintf(msg, sizeof(msg), "%s: %u more errors", path, e.n - e.shown);
		note(&e, msg, 1);
	}
	if (rc) {
		/* Nothing from a bad file: the builder is as before the call. */
		while (b->n > n0)
			rule_free(&b->rule[--b->n]);
		b->no_defaults = nd0;
	}
	return rc;
}

/* Whether a rule of b restricts the values of header name with '~'. */
static int restricted(const struct gp_rules_builder *b, const char *name)
{
	size_t i;
	unsigned j;

	for (i = 0; i < b->n; i++)
		for (j = 0; j < b->rule[i].n; j++)
			if (b->rule[i].cond[j].kind == C_HEADER && b->rule[i].cond[j].accept &&
			    !strcmp(b->rule[i].cond[j].str, name))
				return 1;
	return 0;
}

struct gp_rules *gp_rules_build(struct gp_rules_builder *b)
{
	struct gp_rules *r;
	size_t i;

	if (!b) {
		errno = EINVAL;
		return NULL;
	}
	for (i = 0; !b->no_defaults && i < sizeof(default_headers) / sizeof(*default_headers);
	     i++) {
		struct ctx x = { NULL, 0, NULL, 0 };
		char line[64];
		struct rule rl;
		int rc;

		/* It would take as a label every value the restricted rule refused. */
		if (restricted(b, default_headers[i]))
			continue;
		snprintf(line, sizeof(line), "header %s", default_headers[i]);
		rc = parse_line(line, strlen(line), &rl, &x);
		if (rc == 1 && push(b, &rl)) {
			rule_free(&rl);
			rc = -ENOMEM;
		}
		if (rc != 1) {
			gp_rules_builder_free(b);
			errno = rc == -ENOMEM ? ENOMEM : EINVAL;
			return NULL;
		}
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		gp_rules_builder_free(b);
		errno = ENOMEM;
		return NULL;
	}
	r->rule = b->rule;
	r->n = b->n;
	for (i = 0; i < r->n; i++)
		if (r->rule[i].marker >= 0)
			r->want_headers = 1;
	free(b);
	return r;
}

void gp_rules_free(struct gp_rules *r)
{
	if (!r)
		return;
	while (r->n)
		rule_free(&r->rule[--r->n]);
	free(r->rule);
	free(r);
}

size_t gp_rules_count(const struct gp_rules *r)
{
	return r ? r->n : 0;
}

int gp_rules_want_headers(const struct gp_rules *r)
{
	return r ? r->want_headers : 0;
}

/* ---- evaluation --------------------------------------------------------- */

static int net_match(const struct cond *c, int family, const uint8_t *a)
{
	unsigned full = c->net.prefix / 8, rest = c->net.prefix % 8;

	if (!a || family != c->net.family)
		return 0;
	if (memcmp(a, c->net.addr, full))
		return 0;
	return !rest || (a[full] & (uint8_t)(0xff00u >> rest)) == c->net.addr[full];
}

/* Everything but headers, which are looked up last as they scan the request. */
static int cond_match(const struct cond *c, const struct gp_flow_facts *f)
{
	switch (c->kind) {
	case C_SNI:
		/* No FNM_PERIOD/FNM_PATHNAME: '*' crosses dots. glibc's fnmatch
		 * backtracks only to the last '*', so a long name cannot make a
		 * pattern with many '*' blow up. */
		return f->sni && f->sni[0] && !fnmatch(c->str, f->sni, FNM_CASEFOLD);
	case C_ALPN:
		return f->alpn && !strcmp(f->alpn, c->str);
	case C_DST:
		return net_match(c, f->family, f->daddr);
	case C_SRC:
		return net_match(c, f->family, f->saddr);
	case C_DPORT:
		return f->dport >= c->port.lo && f->dport <= c->port.hi;
	case C_SPORT:
		return f->sport >= c->port.lo && f->sport <= c->port.hi;
	default:
		return 0;
	}
}

/* -1: val is not accepted; 1: a literal entry is val; 0: a glob matched. */
static int accepted(const char *accept, const char *val)
{
	const char *p;
	int got = -1;

	for (p = accept; *p; p += strlen(p) + 1) {
		if (literal(p)) {
			if (!strcmp(p, val))
				return 1;
		} else if (got < 0 && !fnmatch(p, val, 0)) {
			got = 0;
		}
	}
	return got;
}

/* Whether r matches; label and GP_GRAY_FIXED in *flags if so, GP_GRAY_REJECTED either way. */
static int rule_match(const struct rule *r, const struct gp_flow_facts *f, char *label,
		      unsigned *flags)
{
	char val[GP_TAG_MAX + 1];
	unsigned i;
	int fixed = r->label_from < 0, acc = 0;

	for (i = 0; i < r->n; i++)
		if (r->cond[i].kind != C_HEADER && !cond_match(&r->cond[i], f))
			return 0;
	strcpy(label, r->label);
	for (i = 0; i < r->n; i++) {
		const struct cond *c = &r->cond[i];

		if (c->kind != C_HEADER)
			continue;
		if (!f->http_hdrs ||
		    !gp_http1_header(f->http_hdrs, f->http_hdrs_len, c->str, val, sizeof(val)) ||
		    !val[0])
			return 0;
		if (c->accept) {
			acc = accepted(c->accept, val);
			if (acc < 0) {
				*flags |= GP_GRAY_REJECTED;
				return 0;
			}
		}
		if ((int)i == r->label_from) {
			/* As a label it would pass for the --max-tags overflow. */
			if (!strcmp(val, "other"))
				return 0;
			strcpy(label, val);
			/* One value a literal names: as bounded as a fixed label. */
			fixed = c->accept && acc == 1;
		}
	}
	if (fixed)
		*flags |= GP_GRAY_FIXED;
	return 1;
}

void gp_rules_eval(const struct gp_rules *r, const struct gp_flow_facts *f, struct gp_gray *out)
{
	char label[GP_TAG_MAX + 1];
	size_t i;

	strcpy(out->gray, "stable");
	out->marker[0] = '\0';
	out->rule = -1;
	out->flags = GP_GRAY_FIXED;
	if (!r || !f)
		return;
	for (i = 0; i < r->n; i++) {
		const struct rule *rl = &r->rule[i];
		unsigned flags = out->flags & GP_GRAY_REJECTED;

		if (!rule_match(rl, f, label, &flags)) {
			out->flags |= flags & GP_GRAY_REJECTED;
			continue;
		}
		out->flags = flags;
		strcpy(out->gray, label);
		if (rl->marker >= 0)
			strcpy(out->marker, rl->cond[rl->marker].str);
		out->rule = (int)i;
		return;
	}
}

static void print_accept(const char *accept, FILE *f)
{
	const char *p;

	if (!accept)
		return;
	fputs(" ~ ", f);
	for (p = accept; *p; p += strlen(p) + 1)
		fprintf(f, "%s%s", p == accept ? "" : ",", p);
}

void gp_rules_print(const struct gp_rules *r, FILE *f)
{
	char addr[INET6_ADDRSTRLEN];
	size_t i;
	unsigned j;

	for (i = 0; r && i < r->n; i++) {
		const struct rule *rl = &r->rule[i];

		fprintf(f, "%zu:", i + 1);
		for (j = 0; j < rl->n; j++) {
			const struct cond *c = &rl->cond[j];

			fprintf(f, " %s ", kw_names[c->kind]);
			switch (c->kind) {
			case C_HEADER:
			case C_SNI:
			case C_ALPN:
				fputs(c->str, f);
				print_accept(c->kind == C_HEADER ? c->accept : NULL, f);
				break;
			case C_DST:
			case C_SRC:
				inet_ntop(c->net.family, c->net.addr, addr, sizeof(addr));
				fprintf(f, "%s/%u", addr, c->net.prefix);
				break;
			case C_DPORT:
			case C_SPORT:
				if (c->port.lo == c->port.hi)
					fprintf(f, "%u", c->port.lo);
				else
					fprintf(f, "%u-%u", c->port.lo, c->port.hi);
				break;
			default:
				break;
			}
		}
		if (rl->label_from < 0)
			fprintf(f, " = %s", rl->label);
		fputc('\n', f);
	}
}
