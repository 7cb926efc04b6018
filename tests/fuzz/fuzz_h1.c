// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The HTTP/1 head parser on any bytes: no crash, a head's length within
 * the input and its parts within the head, strings printable and bounded,
 * the same answer from a copy cut right after the head, and "incomplete"
 * from one cut a byte short of it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode/h1.h"
#include "pipeline/payload.h"
#include "fuzz.h"

static void check_head(const struct gp_h1_head *h, const uint8_t *buf, size_t n)
{
	struct gp_http_msg m;
	char val[GP_TAG_MAX + 1];

	if (h->hdr_off > n || h->hdr_len > n - h->hdr_off || h->minor < 0 || h->minor > 1)
		abort();
	if (!h->request && (h->status < 100 || h->status > 599))
		abort();
	if (h->chunked && h->content_length != -1)
		abort();
	printable(h->method, GP_HTTP_METHOD_LEN);
	printable(h->authority, GP_HTTP_AUTHORITY_LEN);
	printable(h->path, GP_HTTP_PATH_LEN);
	if (gp_http1_header(buf + h->hdr_off, h->hdr_len, "x-gray", val, sizeof(val)))
		printable(val, GP_TAG_MAX);
	gp_h1_msg(h, buf, h->request ? 0 : 1, 1, &m);
	if (m.hdrs != buf + h->hdr_off || m.ev != (h->request ? GP_HTTP_REQUEST : GP_HTTP_RESPONSE))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1), *cut = malloc(size ? size : 1);
	struct gp_h1_head h, h2;
	ssize_t n;

	if (!buf || !cut)
		goto out;
	memcpy(buf, data, size);
	n = gp_h1_parse(buf, size, &h);
	if (n == -EAGAIN || n == -EBADMSG)
		goto out;
	if (n <= 0 || (size_t)n > size)
		abort();
	check_head(&h, buf, (size_t)n);
	memcpy(cut, data, (size_t)n);
	if (gp_h1_parse(cut, (size_t)n, &h2) != n || memcmp(&h, &h2, sizeof(h)))
		abort();
	memcpy(cut, data, (size_t)n);
	if (gp_h1_parse(cut, (size_t)n - 1, &h2) != -EAGAIN)
		abort();
out:
	free(buf);
	free(cut);
	return 0;
}
