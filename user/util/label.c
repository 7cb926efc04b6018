// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "util/label.h"

static int printable(uint8_t c)
{
	return c >= 0x20 && c <= 0x7e && c != '\\';
}

size_t gp_sanitized_len(const uint8_t *in, size_t n)
{
	size_t i, len = 0;

	for (i = 0; i < n; i++)
		len += printable(in[i]) ? 1 : 4;
	return len;
}

size_t gp_sanitize_label(const uint8_t *in, size_t n, char *out, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		uint8_t c = in[i];

		if (printable(c)) {
			if (max - o < 1)
				break;
			out[o++] = (char)c;
		} else {
			if (max - o < 4)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	out[o] = '\0';
	return o;
}
