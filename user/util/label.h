/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_LABEL_H
#define GP_LABEL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Label sanitizer: bytes 0x20..0x7e are kept except backslash; any other byte
 * (and backslash) becomes \xHH (lowercase hex), so a label is printable ASCII
 * and the escape reversible. Writes at most max bytes plus a NUL (out holds
 * max + 1), stopping before an escape or byte that would not fit whole.
 * Returns the bytes written, NUL excluded.
 */
size_t gp_sanitize_label(const uint8_t *in, size_t n, char *out, size_t max);
/* The length gp_sanitize_label would give n bytes without a limit. */
size_t gp_sanitized_len(const uint8_t *in, size_t n);

#endif
