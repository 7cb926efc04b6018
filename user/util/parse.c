// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse.h"

int gp_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	/* strtoul accepts leading blanks and a minus sign: we do not. */
	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int gp_parse_duration_s(const char *s, unsigned max_s, unsigned *out)
{
	static const char units[] = "smh";
	static const unsigned long unit_s[] = { 1, 60, 3600 };
	size_t n = strlen(s);
	const char *u = n ? strchr(units, s[n - 1]) : NULL;	/* s[n - 1] is not NUL */
	unsigned long v, mul = u ? unit_s[u - units] : 1;
	char buf[24];
	int err;

	if (u)
		n--;
	if (!n || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	err = gp_parse_uint(buf, 0, max_s, &v);
	if (err)
		return err;
	if (v > max_s / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

int gp_parse_seconds_ms(const char *s, unsigned max_ms, unsigned *out)
{
	unsigned long whole, ms = 0;
	const char *dot = strchr(s, '.');
	char buf[32];
	size_t n = dot ? (size_t)(dot - s) : strlen(s), i;

	if (!n || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (gp_parse_uint(buf, 0, max_ms / 1000, &whole))
		return -EINVAL;
	if (dot) {
		const char *frac = dot + 1;

		size_t nf = strlen(frac);

		if (!nf || nf > 3)
			return -EINVAL;
		for (i = 0; i < 3; i++) {
			if (i < nf && !isdigit((unsigned char)frac[i]))
				return -EINVAL;
			ms = ms * 10 + (i < nf ? (unsigned long)(frac[i] - '0') : 0);
		}
	}
	if (whole * 1000 + ms > max_ms)
		return -ERANGE;
	*out = whole * 1000 + ms;
	return 0;
}

int gp_parse_listen(const char *s, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon = strrchr(s, ':'), *h = s;
	size_t n = colon ? (size_t)(colon - s) : 0;
	unsigned long v;

	if (!colon || gp_parse_uint(colon + 1, 1, 65535, &v))
		return -EINVAL;
	/* An IPv6 literal is bracketed; anything else has no colon of its own. */
	if (n && s[0] == '[') {
		if (s[n - 1] != ']' || n < 3)
			return -EINVAL;
		h = s + 1;
		n -= 2;
	} else if (memchr(s, ':', n) || memchr(s, '[', n) || memchr(s, ']', n)) {
		return -EINVAL;
	}
	if (n >= hlen || (size_t)snprintf(port, plen, "%lu", v) >= plen)
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	return 0;
}
