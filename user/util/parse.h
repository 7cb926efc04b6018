/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_PARSE_H
#define GP_PARSE_H

#include <stddef.h>

/* Numbers and addresses as options and rules spell them; each 0 or -EINVAL / -ERANGE. */

/* A decimal integer in [min, max]: no sign, no blanks, nothing after it. */
int gp_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);
/* "2", "0.5", "1.250": seconds with up to 3 decimals, as ms in [0, max_ms]. */
int gp_parse_seconds_ms(const char *s, unsigned max_ms, unsigned *out);
/* "600", "90s", "10m", "1h": whole seconds in [0, max_s]. */
int gp_parse_duration_s(const char *s, unsigned max_s, unsigned *out);

#define GP_LISTEN_HOST_MAX	256	/* HOST of HOST:PORT */
/* "HOST:PORT", "[V6]:PORT", ":PORT" (port 1..65535) split. */
int gp_parse_listen(const char *s, char *host, size_t hlen, char *port, size_t plen);

#endif
