// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "decode/h1.h"
#include "util/label.h"

/* A byte range of buf. */
struct span {
	size_t s, e;
};

/* RFC 9110 5.6.2 tchar: "!#$%&'*+-.^_`|~", digits, letters; a bit per ASCII byte. */
static int tchar(uint8_t c)
{
	static const uint64_t set[2] = { 0x03ff6cfa00000000ull, 0x57ffffffc7fffffeull };

	return c < 128 && (set[c >> 6] >> (c & 63) & 1);
}

static int span_is(const uint8_t *buf, struct span x, const char *lit)
{
	size_t n = strlen(lit);

	return x.e - x.s == n && !strncasecmp((const char *)buf + x.s, lit, n);
}

/* The line at p: its bytes in *ln (CR of CRLF excluded), the next line's start in *next. */
static int line_at(const uint8_t *buf, size_t len, size_t p, struct span *ln, size_t *next)
{
	const uint8_t *nl = memchr(buf + p, '\n', len - p);
	size_t e;

	if (!nl)
		return -EAGAIN;
	e = (size_t)(nl - buf);
	*next = e + 1;
	if (e > p && buf[e - 1] == '\r')
		e--;
	*ln = (struct span){ p, e };
	return 0;
}

/* No bare CR (RFC 9112 2.2) and no NUL (RFC 9110 5.5) in a line. */
static int line_ok(const uint8_t *buf, struct span ln)
{
	return !memchr(buf + ln.s, '\r', ln.e - ln.s) && !memchr(buf + ln.s, '\0', ln.e - ln.s);
}

/*
 * From the header block at p: obs-folds overwritten with SP, the block's
 * end (the blank line's start) in *end, the head's length in *total.
 */
static int unfold(uint8_t *buf, size_t len, size_t p, size_t *end, size_t *total)
{
	struct span ln;
	size_t next;
	int first = 1, err;

	for (;;) {
		err = line_at(buf, len, p, &ln, &next);
		if (err)
			return err;
		if (ln.s == ln.e) {
			*end = p;
			*total = next;
			return 0;
		}
		if (!line_ok(buf, ln))
			return -EBADMSG;
		if (buf[p] == ' ' || buf[p] == '\t') {
			if (first)
				return -EBADMSG;
			/* The previous line's CRLF or LF, just before p. */
			buf[p - 1] = ' ';
			if (p >= 2 && buf[p - 2] == '\r')
				buf[p - 2] = ' ';
		}
		first = 0;
		p = next;
	}
}

/* "HTTP/1.x" at p: the minor version (1 for any x >= 1), or -EBADMSG. */
static int version_at(const uint8_t *buf, size_t e, size_t p)
{
	if (e - p < 8 || memcmp(buf + p, "HTTP/1.", 7) || buf[p + 7] < '0' || buf[p + 7] > '9')
		return -EBADMSG;
	return buf[p + 7] == '0' ? 0 : 1;
}

static void put(const uint8_t *buf, struct span x, char *out, size_t max)
{
	gp_sanitize_label(buf + x.s, x.e - x.s, out, max);
}

static int alpha(uint8_t c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/* RFC 3986 3.1 scheme, then "://": where the absolute-form's authority starts, else 0. */
static size_t absolute_form(const uint8_t *buf, struct span t)
{
	size_t i = t.s;

	if (i == t.e || !alpha(buf[i]))
		return 0;
	while (i < t.e && (alpha(buf[i]) || (buf[i] >= '0' && buf[i] <= '9') ||
			   buf[i] == '+' || buf[i] == '-' || buf[i] == '.'))
		i++;
	if (t.e - i < 3 || memcmp(buf + i, "://", 3))
		return 0;
	return i + 3;
}

/* The request-target as authority and path (RFC 9112 3.2). */
static void target(const uint8_t *buf, struct span t, struct gp_h1_head *h)
{
	size_t a = absolute_form(buf, t), i, at;

	if (!strcmp(h->method, "CONNECT")) {
		put(buf, t, h->authority, GP_HTTP_AUTHORITY_LEN);
		return;
	}
	if (!a) {
		put(buf, t, h->path, GP_HTTP_PATH_LEN);
		return;
	}
	for (i = at = a; i < t.e && !strchr("/?#", buf[i]); i++)
		if (buf[i] == '@')
			at = i + 1;
	put(buf, (struct span){ at, i }, h->authority, GP_HTTP_AUTHORITY_LEN);
	/* As :path would be: "/" for an empty path, before a bare query too. */
	if (i < t.e && buf[i] == '/') {
		put(buf, (struct span){ i, t.e }, h->path, GP_HTTP_PATH_LEN);
		return;
	}
	h->path[0] = '/';
	put(buf, (struct span){ i, t.e }, h->path + 1, GP_HTTP_PATH_LEN - 1);
}

/* RFC 9112 3: method SP request-target SP HTTP-version. */
static int request_line(const uint8_t *buf, struct span ln, struct gp_h1_head *h)
{
	size_t i = ln.s, ts;
	int minor;

	while (i < ln.e && tchar(buf[i]))
		i++;
	if (i == ln.s || i == ln.e || buf[i] != ' ')
		return -EBADMSG;
	put(buf, (struct span){ ln.s, i }, h->method, GP_HTTP_METHOD_LEN);
	ts = ++i;
	while (i < ln.e && buf[i] > 0x20 && buf[i] != 0x7f)
		i++;
	if (i == ts || i == ln.e || buf[i] != ' ')
		return -EBADMSG;
	minor = version_at(buf, ln.e, i + 1);
	if (minor < 0 || ln.e != i + 9)
		return -EBADMSG;
	h->request = 1;
	h->minor = minor;
	target(buf, (struct span){ ts, i }, h);
	return 0;
}

/* RFC 9112 4: HTTP-version SP 3DIGIT SP [reason]; the SP before an empty reason optional. */
static int status_line(const uint8_t *buf, struct span ln, struct gp_h1_head *h)
{
	size_t p = ln.s + 9;
	int minor = version_at(buf, ln.e, ln.s), i, st = 0;

	if (minor < 0 || ln.e - ln.s < 12 || buf[ln.s + 8] != ' ')
		return -EBADMSG;
	for (i = 0; i < 3; i++, p++) {
		if (buf[p] < '0' || buf[p] > '9')
			return -EBADMSG;
		st = st * 10 + (buf[p] - '0');
	}
	if ((p < ln.e && buf[p] != ' ') || st < 100 || st > 599)
		return -EBADMSG;
	h->minor = minor;
	h->status = st;
	return 0;
}

/* The next non-empty element of a comma list at *pos (RFC 9110 5.6.1), OWS trimmed. */
static int next_elem(const uint8_t *buf, struct span v, size_t *pos, struct span *x)
{
	while (*pos < v.e) {
		size_t s = *pos, e;

		while (*pos < v.e && buf[*pos] != ',')
			(*pos)++;
		e = *pos;
		if (*pos < v.e)
			(*pos)++;
		while (s < e && (buf[s] == ' ' || buf[s] == '\t'))
			s++;
		while (e > s && (buf[e - 1] == ' ' || buf[e - 1] == '\t'))
			e--;
		if (e > s) {
			*x = (struct span){ s, e };
			return 1;
		}
	}
	return 0;
}

static int list_has(const uint8_t *buf, struct span v, const char *tok)
{
	struct span x;
	size_t pos = v.s;

	while (next_elem(buf, v, &pos, &x))
		if (span_is(buf, x, tok))
			return 1;
	return 0;
}

/* Every element a decimal that fits, all equal to each other and to *cl if set. */
static int content_length(const uint8_t *buf, struct span v, int64_t *cl)
{
	struct span x;
	size_t pos = v.s, i;
	int any = 0;

	while (next_elem(buf, v, &pos, &x)) {
		int64_t n = 0;

		for (i = x.s; i < x.e; i++) {
			if (buf[i] < '0' || buf[i] > '9' || n > (INT64_MAX - (buf[i] - '0')) / 10)
				return -EBADMSG;
			n = n * 10 + (buf[i] - '0');
		}
		if (*cl >= 0 && n != *cl)
			return -EBADMSG;
		*cl = n;
		any = 1;
	}
	return any ? 0 : -EBADMSG;
}

/* What the head's parser keeps between fields. */
struct fields {
	int host, te, keep_alive;
};

static int field(const uint8_t *buf, struct span n, struct span v, struct gp_h1_head *h,
		 struct fields *f)
{
	struct span x;
	size_t pos = v.s;

	if (span_is(buf, n, "content-length"))
		return content_length(buf, v, &h->content_length);
	if (span_is(buf, n, "transfer-encoding")) {
		f->te = 1;
		h->chunked = 0;
		while (next_elem(buf, v, &pos, &x))
			h->chunked = span_is(buf, x, "chunked");
	} else if (span_is(buf, n, "connection")) {
		h->conn_close |= list_has(buf, v, "close");
		f->keep_alive |= list_has(buf, v, "keep-alive");
	} else if (span_is(buf, n, "upgrade")) {
		h->upgrade_h2c |= list_has(buf, v, "h2c");
	} else if (span_is(buf, n, "host") && h->request && !f->host) {
		f->host = 1;
		if (!h->authority[0])
			put(buf, v, h->authority, GP_HTTP_AUTHORITY_LEN);
	}
	return 0;
}

/* RFC 9112 5: field-name ":" OWS field-value OWS, per line of [p, end). */
static int fields(const uint8_t *buf, size_t p, size_t end, struct gp_h1_head *h)
{
	struct fields f = { 0 };
	struct span ln, n, v;
	size_t next;
	int err;

	for (; p < end; p = next) {
		if (line_at(buf, end, p, &ln, &next))
			return -EBADMSG;	/* never: unfold() found and checked every line */
		for (n.s = n.e = ln.s; n.e < ln.e && tchar(buf[n.e]); n.e++)
			;
		if (n.e == n.s || n.e == ln.e || buf[n.e] != ':')
			return -EBADMSG;
		v = (struct span){ n.e + 1, ln.e };
		while (v.s < v.e && (buf[v.s] == ' ' || buf[v.s] == '\t'))
			v.s++;
		while (v.e > v.s && (buf[v.e - 1] == ' ' || buf[v.e - 1] == '\t'))
			v.e--;
		err = field(buf, n, v, h, &f);
		if (err)
			return err;
	}
	if (f.te) {
		if (h->request && !h->chunked)
			return -EBADMSG;
		h->content_length = -1;
	}
	if (!h->minor && !f.keep_alive)
		h->conn_close = 1;
	return 0;
}

ssize_t gp_h1_parse(uint8_t *buf, size_t len, struct gp_h1_head *out)
{
	struct span ln;
	size_t p = 0, next, end, total;
	int err;

	memset(out, 0, sizeof(*out));
	out->content_length = -1;
	for (;;) {
		err = line_at(buf, len, p, &ln, &next);
		if (err)
			return err;
		if (ln.s != ln.e)
			break;
		p = next;
	}
	err = unfold(buf, len, next, &end, &total);
	if (err)
		return err;
	if (!line_ok(buf, ln))
		return -EBADMSG;
	if (ln.e - ln.s >= 5 && !memcmp(buf + ln.s, "HTTP/", 5))
		err = status_line(buf, ln, out);
	else
		err = request_line(buf, ln, out);
	if (!err)
		err = fields(buf, next, end, out);
	if (err) {
		memset(out, 0, sizeof(*out));
		out->content_length = -1;
		return err;
	}
	out->hdr_off = next;
	out->hdr_len = end - next;
	return (ssize_t)total;
}

void gp_h1_msg(const struct gp_h1_head *h, const uint8_t *buf, unsigned dir, uint64_t ts_ns,
	       struct gp_http_msg *m)
{
	gp_http_msg_init(m, h->request ? GP_HTTP_REQUEST : GP_HTTP_RESPONSE, GP_L7P_H1, dir, ts_ns);
	m->method = h->method;
	m->authority = h->authority;
	m->path = h->path;
	m->hdrs = buf + h->hdr_off;
	m->hdrs_len = h->hdr_len;
	m->status = h->status;
	m->interim = h->status >= 100 && h->status < 200 && h->status != 101;
	m->http10 = h->request && !h->minor;
	m->conn_close = h->conn_close;
	m->end_stream = h->request && !h->chunked && h->content_length <= 0;
}
